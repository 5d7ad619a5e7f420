// The gRPC face of the engine: SchemaService adapters, authentication,
// health (liveness "" and readiness "schemad.v1.SchemaService"),
// reflection, and one log line per RPC.
//
//   absl::StatusOr<std::unique_ptr<RunningServer>> s = StartServer(options, &engine);
//   (*s)->port();        // the bound port (listen on ":0" in tests)
//   (*s)->Shutdown();    // lets in-flight RPCs finish
//
// Thread-safe.
#ifndef SCHEMAD_SERVER_SERVICE_H_
#define SCHEMAD_SERVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "auth.h"
#include "options.h"
#include "schemad/apply/engine.h"
#include "schemad/v1/schema_service.pb.h"

namespace schemad {

// The one conversion from absl::Status to grpc::Status (messages capped).
grpc::Status ToGrpcStatus(const absl::Status& status);

// InitializeRequest -> engine options (caller and cancellation aside):
// INVALID_ARGUMENT naming the field for unknown hazard kinds and modes,
// oversized ids and fingerprints.
absl::StatusOr<InitializeOptions> InitializeOptionsFromProto(
    const schemad::v1::InitializeRequest& request, ApplyMode default_mode);

// The lines of a registry's INVALID_ARGUMENT message ("file:line:col:
// field: message") as structured errors; `files` are the registry's file
// names.
schemad::v1::RegistryErrors ParseRegistryErrors(absl::string_view message,
                                                const std::vector<std::string>& files);

class RunningServer {
 public:
  ~RunningServer();
  int port() const { return port_; }
  // Stops accepting calls, lets in-flight ones finish (up to `grace`).
  void Shutdown(absl::Duration grace = absl::Seconds(10));
  void Wait();

 private:
  friend absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(const ServerOptions&, Engine*);
  class Impl;
  RunningServer() = default;
  std::unique_ptr<Impl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread readiness_;
  absl::Notification stop_;
  std::atomic<bool> shut_down_{false};
};

// Validates `options`, loads the tokens file, builds and starts the server.
absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(const ServerOptions& options,
                                                           Engine* engine);

}  // namespace schemad

#endif  // SCHEMAD_SERVER_SERVICE_H_
