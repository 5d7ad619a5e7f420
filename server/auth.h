// Bearer-token authentication for the service.
//
//   absl::StatusOr<TokenStore> tokens = TokenStore::LoadFile("/run/secrets/tokens");
//   absl::StatusOr<Role> role = tokens->Authenticate("Bearer abc123");
//
// The tokens file holds one `ROLE TOKEN [NAME]` a line (roles: reader,
// publisher, admin; NAME, optional, is recorded as the caller and
// publisher); `#` comments and blank lines are ignored. Without a file
// every caller is admin. Thread-safe after construction.
#ifndef SCHEMAD_SERVER_AUTH_H_
#define SCHEMAD_SERVER_AUTH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace schemad {

// Ordered: each role may do what the ones before it may. reader: Status,
// Diff, history and registries; publisher: also PublishRegistry (never
// Initialize or Rollback, so a pull request's job cannot change a
// database); admin: everything.
enum class Role { kReader, kPublisher, kAdmin };

const char* RoleName(Role role);

struct CallerIdentity {
  Role role = Role::kReader;
  // The token's NAME; empty when it has none (or without a tokens file).
  std::string name;
};

class TokenStore {
 public:
  // Every caller is admin.
  static TokenStore AllowAll();
  // INVALID_ARGUMENT naming file and line for a malformed line, an unknown
  // role, a duplicate token or an empty file; NOT_FOUND when unreadable.
  static absl::StatusOr<TokenStore> LoadFile(const std::string& path);
  static absl::StatusOr<TokenStore> Parse(absl::string_view path, absl::string_view content);

  bool enabled() const { return enabled_; }

  // Returns the role of the caller presenting `authorization` (the
  // metadata value; empty when absent). UNAUTHENTICATED when it is missing,
  // malformed or unknown.
  absl::StatusOr<Role> Authenticate(absl::string_view authorization) const;
  // The same, with the token's name.
  absl::StatusOr<CallerIdentity> Identify(absl::string_view authorization) const;

 private:
  struct Token {
    std::string token;
    CallerIdentity identity;
  };
  bool enabled_ = false;
  std::vector<Token> tokens_;
};

}  // namespace schemad

#endif  // SCHEMAD_SERVER_AUTH_H_
