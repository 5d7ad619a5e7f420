#include "options.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace schemad {

bool IsLoopbackAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  std::string host = listen;
  const size_t colon = listen.rfind(':');
  if (colon != std::string::npos) host = listen.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  if (absl::StartsWith(host, "ipv4:")) host = host.substr(5);
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 as a literal address only: "127.example.com" is a name.
  if (!absl::StartsWith(host, "127.")) return false;
  return host.find_first_not_of("0123456789.") == std::string::npos;
}

absl::Status ValidateServerOptions(const ServerOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!options.tls_client_ca.empty() && options.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (options.max_concurrent_calls < 1) {
    return absl::InvalidArgumentError("--max-concurrent-calls must be at least 1");
  }
  if (options.tokens_file.empty() && !options.allow_unauthenticated_remote &&
      !IsLoopbackAddress(options.listen)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to listen on ", options.listen,
                     " without credentials: every caller would be admin. Pass --tokens-file (or "
                     "SCHEMAD_TOKENS_FILE), listen on 127.0.0.1, or accept the risk with "
                     "--allow-unauthenticated-remote"));
  }
  return absl::OkStatus();
}

}  // namespace schemad
