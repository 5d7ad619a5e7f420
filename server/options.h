// How `schemad serve` is configured, independent of flag parsing.
#ifndef SCHEMAD_SERVER_OPTIONS_H_
#define SCHEMAD_SERVER_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "schemad/plan/plan.h"

namespace schemad {

struct ServerOptions {
  // host:port; port 0 picks a free one (tests).
  std::string listen = "127.0.0.1:50051";
  std::string tokens_file;
  bool allow_unauthenticated_remote = false;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Deadline for calls that arrive without one.
  absl::Duration default_deadline = absl::Minutes(10);
  // How often readiness re-checks the database.
  absl::Duration readiness_interval = absl::Seconds(1);
  // Most SchemaService calls served at once; beyond it a call is answered
  // RESOURCE_EXHAUSTED at once. gRPC's thread quota leaves room above it
  // for health checks, so liveness never fails under load.
  int max_concurrent_calls = 64;
  // Whether to print one log line per RPC on stderr.
  bool log_requests = true;
  // The mode of requests that leave it unspecified (--default-mode).
  ApplyMode default_mode = ApplyMode::kTransactional;
  // InitializeStream sends a heartbeat when nothing else went out for this
  // long.
  absl::Duration stream_heartbeat = absl::Seconds(10);
  // --schema: published registries are retargeted at it too.
  std::string schema;
  // Unlabelled published registries kept besides labelled ones and the one
  // applied last (--keep-registries).
  int keep_registries = 50;
  // Engines of published registries kept in memory (--registry-cache).
  int registry_cache = 8;
};

// Whether `listen` names only the loopback interface (127.0.0.0/8,
// localhost, ::1) or a unix socket.
bool IsLoopbackAddress(const std::string& listen);

// Refuses a configuration that would serve the network without
// credentials or with half a TLS setup. INVALID_ARGUMENT / FAILED_PRECONDITION.
absl::Status ValidateServerOptions(const ServerOptions& options);

}  // namespace schemad

#endif  // SCHEMAD_SERVER_OPTIONS_H_
