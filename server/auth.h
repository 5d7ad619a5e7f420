// Bearer-token authentication for the service.
//
//   absl::StatusOr<TokenStore> tokens = TokenStore::LoadFile("/run/secrets/tokens");
//   absl::StatusOr<Role> role = tokens->Authenticate("Bearer abc123");
//
// The tokens file holds one `ROLE TOKEN` pair a line (roles: reader,
// admin); `#` comments and blank lines are ignored. Without a file every
// caller is admin. Thread-safe after construction.
#ifndef SCHEMAD_SERVER_AUTH_H_
#define SCHEMAD_SERVER_AUTH_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace schemad {

enum class Role { kReader, kAdmin };

const char* RoleName(Role role);

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

 private:
  bool enabled_ = false;
  std::vector<std::pair<std::string, Role>> tokens_;
};

}  // namespace schemad

#endif  // SCHEMAD_SERVER_AUTH_H_
