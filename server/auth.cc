#include "auth.h"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace schemad {
namespace {

// Compares without an early exit, so timing does not reveal a prefix.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kPublisher:
      return "publisher";
    case Role::kReader:
      return "reader";
  }
  return "reader";
}

TokenStore TokenStore::AllowAll() { return TokenStore(); }

absl::StatusOr<TokenStore> TokenStore::LoadFile(const std::string& path) {
  // Whoever can write the tokens file can grant themselves admin.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tokens file ", path, " is writable by its group or by others (mode ",
                     absl::StrFormat("%04o", st.st_mode & 07777),
                     "); anyone who can write it can grant themselves "
                     "admin: chmod go-w ",
                     path));
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Parse(path, buffer.str());
}

absl::StatusOr<TokenStore> TokenStore::Parse(absl::string_view path, absl::string_view content) {
  TokenStore store;
  store.enabled_ = true;
  std::set<std::string> seen;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat(path, ":", line_number, ": ");
    if (parts.size() != 2 && parts.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected `ROLE TOKEN [NAME]` (roles: reader, publisher, admin)"));
    }
    Role role;
    if (parts[0] == "admin") {
      role = Role::kAdmin;
    } else if (parts[0] == "publisher") {
      role = Role::kPublisher;
    } else if (parts[0] == "reader") {
      role = Role::kReader;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "unknown role \"", parts[0], "\" (roles: reader, publisher, admin)"));
    }
    std::string name;
    if (parts.size() == 3) {
      name = std::string(parts[2]);
      for (char c : name) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
            c != '-' && c != '@' && c != '/' && c != ':') {
          return absl::InvalidArgumentError(
              absl::StrCat(where, "NAME may hold letters, digits and . _ - @ / : only"));
        }
      }
      if (name.size() > 64) {
        return absl::InvalidArgumentError(absl::StrCat(where, "NAME is longer than 64 characters"));
      }
    }
    if (parts[1].size() < 8) {
      return absl::InvalidArgumentError(absl::StrCat(where, "token is shorter than 8 characters"));
    }
    if (!seen.insert(std::string(parts[1])).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "duplicate token"));
    }
    store.tokens_.push_back({std::string(parts[1]), {role, name}});
  }
  if (store.tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no tokens"));
  }
  return store;
}

absl::StatusOr<Role> TokenStore::Authenticate(absl::string_view authorization) const {
  absl::StatusOr<CallerIdentity> identity = Identify(authorization);
  if (!identity.ok()) return identity.status();
  return identity->role;
}

absl::StatusOr<CallerIdentity> TokenStore::Identify(absl::string_view authorization) const {
  if (!enabled_) return CallerIdentity{Role::kAdmin, ""};
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing `authorization: Bearer <token>` metadata");
  }
  absl::string_view token = authorization;
  if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
    return absl::UnauthenticatedError(
        "malformed authorization metadata: expected `Bearer <token>`");
  }
  token = absl::StripAsciiWhitespace(token);
  bool found = false;
  CallerIdentity identity;
  for (const Token& known : tokens_) {
    if (ConstantTimeEquals(token, known.token) && !found) {
      found = true;
      identity = known.identity;
    }
  }
  if (!found) return absl::UnauthenticatedError("unknown token");
  return identity;
}

}  // namespace schemad
