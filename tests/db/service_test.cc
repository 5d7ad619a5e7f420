// The gRPC service end to end over a real loopback port and real
// PostgreSQL: every RPC and outcome, auth, health, TLS, database outages,
// concurrency, deadlines, hostile requests and the schemad binary itself.
#include "service.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "schemad/v1/schema_service.grpc.pb.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
using ::testing::HasSubstr;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kReader[] = "reader-token-0123456789";

using testing::PrivateCluster;
using testing::TempDir;
using testing::WriteFile;

class ServiceTest : public ::testing::Test {
 protected:
  // `registry` defaults to the embedded docbot registry.
  void StartWith(testing::TestDb* db, ServerOptions options = {}, bool tokens = true,
                 std::optional<Registry> registry = std::nullopt) {
    dir_ = TempDir();
    if (tokens) {
      options.tokens_file =
          WriteFile(dir_, "tokens",
                    absl::StrCat("# test tokens\nadmin ", kAdmin, "\n\nreader ", kReader, "\n"));
    }
    options.listen = options.listen == ServerOptions().listen ? "127.0.0.1:0" : options.listen;
    options.log_requests = false;
    options.readiness_interval = absl::Milliseconds(200);
    engine_ = std::make_unique<Engine>(db->pool(),
                                       registry.has_value() ? *registry : *LoadEmbeddedRegistry());
    absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, engine_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = pb::SchemaService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }

  // The fixture owns the databases (and a private cluster) so that they
  // outlive the server, whose readiness thread pings them until TearDown.
  testing::TestDb* UseDb(const std::string& server_url = "") {
    dbs_.push_back(testing::TestDb::Create(server_url));
    return dbs_.back().get();
  }
  PrivateCluster* UseCluster() {
    cluster_ = std::make_unique<PrivateCluster>();
    return cluster_.get();
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(2));
    server_.reset();
    engine_.reset();
  }

  static void Auth(grpc::ClientContext& ctx, const std::string& token, int seconds = 60) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }

  grpc::Status Status(pb::StatusResponse* out, const std::string& token = kReader) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    return stub_->Status(&ctx, pb::StatusRequest(), out);
  }
  grpc::Status Diff(pb::DiffResponse* out, const std::string& token = kReader) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    return stub_->Diff(&ctx, pb::DiffRequest(), out);
  }
  grpc::Status Initialize(const pb::InitializeRequest& request, pb::InitializeResponse* out,
                          const std::string& token = kAdmin, int seconds = 60) {
    grpc::ClientContext ctx;
    Auth(ctx, token, seconds);
    return stub_->Initialize(&ctx, request, out);
  }
  HealthResponse::ServingStatus Health(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthResponse response;
    grpc::Status status = health_->Check(&ctx, request, &response);
    return status.ok() ? response.status() : HealthResponse::UNKNOWN;
  }
  // Polls health until it reports `want` or `timeout` passes.
  bool HealthBecomes(const std::string& service, HealthResponse::ServingStatus want,
                     absl::Duration timeout) {
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      if (Health(service) == want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<PrivateCluster> cluster_;
  std::vector<std::unique_ptr<testing::TestDb>> dbs_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RunningServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::SchemaService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(ServiceTest, EveryRpcAndOutcomeOverLoopback) {
  testing::TestDb* db = UseDb();
  StartWith(db);

  pb::StatusResponse status;
  ASSERT_TRUE(Status(&status).ok());
  EXPECT_EQ(status.state(), pb::StatusResponse::PENDING);
  EXPECT_EQ(status.missing(), 16u);
  EXPECT_FALSE(status.registry_fingerprint().empty());
  EXPECT_FALSE(status.has_last_applied_at());

  pb::DiffResponse diff;
  ASSERT_TRUE(Diff(&diff).ok());
  EXPECT_EQ(diff.differences_size(), 16);
  EXPECT_EQ(diff.differences(0).change(), pb::MISSING);
  EXPECT_EQ(diff.plan().steps_size(), 40);
  EXPECT_EQ(diff.plan().schema(), "public");
  EXPECT_EQ(diff.plan().fingerprint(), status.fingerprint());

  pb::InitializeRequest dry;
  dry.set_dry_run(true);
  pb::InitializeResponse response;
  ASSERT_TRUE(Initialize(dry, &response).ok());
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::DRY_RUN);
  EXPECT_EQ(response.executed_size(), 40);
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.users')")[0][0].is_null());

  ASSERT_TRUE(Initialize(pb::InitializeRequest(), &response).ok());
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
  ASSERT_TRUE(Initialize(pb::InitializeRequest(), &response).ok());
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::ALREADY_IN_SYNC);

  ASSERT_TRUE(Status(&status).ok());
  EXPECT_EQ(status.state(), pb::StatusResponse::IN_SYNC);
  EXPECT_EQ(status.last_applied_fingerprint(), status.registry_fingerprint());
  EXPECT_GT(status.last_applied_at().seconds(), 0);

  // A changed index needs DROPS_OBJECT: PARTIAL by default, APPLIED when allowed.
  db->Exec(
      "DROP INDEX ix_documents_owner_id; CREATE INDEX ix_documents_owner_id ON documents (owner_id "
      "DESC)");
  ASSERT_TRUE(Status(&status).ok());
  EXPECT_EQ(status.state(), pb::StatusResponse::DRIFTED);
  ASSERT_TRUE(Initialize(pb::InitializeRequest(), &response).ok());
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::PARTIAL);
  ASSERT_EQ(response.skipped_size(), 2);
  EXPECT_EQ(response.skipped(0).hazards(0).kind(), pb::DROPS_OBJECT);
  ASSERT_EQ(response.remaining_size(), 1);
  EXPECT_EQ(response.remaining(0).name(), "documents.ix_documents_owner_id");
  pb::InitializeRequest allow;
  allow.add_allow_hazards("HAZARD_KIND_DROPS_OBJECT");
  ASSERT_TRUE(Initialize(allow, &response).ok());
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
  EXPECT_EQ(db->Query("SELECT count(*) FROM schemad.history")[0][0].as<int>(), 2);
}

TEST_F(ServiceTest, InitializeStreamReportsProgressWithHeartbeatsAndTheResultLast) {
  testing::TestDb* db = UseDb();
  {
    Engine setup(db->pool(), *LoadEmbeddedRegistry());
    ASSERT_TRUE(setup.Initialize({}, absl::Now() + absl::Seconds(60)).ok());
  }
  db->Exec("DROP INDEX ix_chats_user_id");
  ServerOptions options;
  options.default_mode = ApplyMode::kOnline;  // requests leave the mode unspecified
  // Shorter than the 1 s between index progress events: heartbeats fill
  // the gaps.
  options.stream_heartbeat = absl::Milliseconds(300);
  StartWith(db, options);

  // Readers may not run it; an unknown mode is refused naming the field.
  {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    auto reader = stub_->InitializeStream(&ctx, pb::InitializeRequest());
    pb::InitializeEvent event;
    while (reader->Read(&event)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    Auth(ctx, kAdmin);
    pb::InitializeRequest bad;
    bad.set_mode(static_cast<pb::ApplyMode>(7));
    auto reader = stub_->InitializeStream(&ctx, bad);
    pb::InitializeEvent event;
    while (reader->Read(&event)) {
    }
    grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("mode"));
  }

  // A concurrent build pinned by an old snapshot: the stream stays alive
  // with heartbeats and index progress until it finishes.
  pqxx::connection blocker_conn(db->url());
  auto blocker = std::make_unique<pqxx::work>(blocker_conn);
  blocker->exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  blocker->exec("SELECT count(*) FROM chats");
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(3500));
    blocker->commit();
  });
  grpc::ClientContext ctx;
  Auth(ctx, kAdmin);
  auto reader = stub_->InitializeStream(&ctx, pb::InitializeRequest());
  std::vector<pb::InitializeEvent> events;
  pb::InitializeEvent event;
  while (reader->Read(&event)) events.push_back(event);
  grpc::Status status = reader->Finish();
  release.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 4u);
  EXPECT_TRUE(events.front().has_run_started());
  int heartbeats = 0, progress = 0;
  for (const pb::InitializeEvent& e : events) {
    heartbeats += e.has_heartbeat();
    progress += e.has_index_progress();
    EXPECT_TRUE(e.has_at());
  }
  EXPECT_GE(heartbeats, 1);
  EXPECT_GE(progress, 1);
  ASSERT_TRUE(events.back().has_result());
  EXPECT_EQ(events.back().result().outcome(), pb::InitializeResponse::APPLIED);
  EXPECT_EQ(events.back().result().mode(), pb::APPLY_MODE_ONLINE);
  EXPECT_EQ(events.back().result().run_id(), events.front().run_started().run_id());
}

TEST_F(ServiceTest, RequestErrorsAreInvalidArgumentAndStaleFingerprintFailedPrecondition) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  pb::InitializeRequest bad;
  bad.add_allow_hazards("DROP_EVERYTHING");
  pb::InitializeResponse response;
  grpc::Status status = Initialize(bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("allow_hazards[0]"));

  pb::InitializeRequest stale;
  stale.set_expected_fingerprint("'; DROP TABLE users; --");
  status = Initialize(stale, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.users')")[0][0].is_null());

  pb::InitializeRequest huge;
  for (int i = 0; i < 20000; ++i) huge.add_allow_hazards(std::string(64, 'x'));
  status = Initialize(huge, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST_F(ServiceTest, MalformedRequestBytesAreRejectedAndTheServerStaysUp) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  grpc::GenericStub generic(channel_);
  // Not a protobuf message: a field with wire type 7 (invalid), then junk.
  const std::vector<std::string> payloads = {std::string("\x0f\xff\xff\xff", 4),
                                             std::string(1, '\x12') + std::string(10, '\xff'),
                                             std::string(64 * 1024, '\x80')};
  for (const std::string& bytes : payloads) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdmin));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::Status status;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    generic.UnaryCall(&ctx, "/schemad.v1.SchemaService/Initialize", grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_one();
                      });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.users')")[0][0].is_null());
  pb::StatusResponse alive;
  EXPECT_TRUE(Status(&alive).ok()) << "the server survives malformed input";
}

TEST_F(ServiceTest, AuthenticationAndRoleMatrix) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  struct Row {
    std::string token;
    grpc::StatusCode read;
    grpc::StatusCode write;
  };
  const std::vector<Row> rows = {
      {"", grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::UNAUTHENTICATED},
      {"not-a-known-token", grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::UNAUTHENTICATED},
      {kReader, grpc::StatusCode::OK, grpc::StatusCode::PERMISSION_DENIED},
      {kAdmin, grpc::StatusCode::OK, grpc::StatusCode::OK},
  };
  pb::InitializeRequest dry;
  dry.set_dry_run(true);
  for (const Row& row : rows) {
    pb::StatusResponse s;
    pb::DiffResponse d;
    pb::InitializeResponse i;
    EXPECT_EQ(Status(&s, row.token).error_code(), row.read) << row.token;
    EXPECT_EQ(Diff(&d, row.token).error_code(), row.read) << row.token;
    EXPECT_EQ(Initialize(dry, &i, row.token).error_code(), row.write) << row.token;
  }
  // Malformed metadata.
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Basic ", kAdmin));
  pb::StatusResponse s;
  EXPECT_EQ(stub_->Status(&ctx, pb::StatusRequest(), &s).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Health needs no token (Kubernetes probes cannot send one).
  EXPECT_EQ(Health(""), HealthResponse::SERVING);
}

TEST_F(ServiceTest, ThirtyTwoConcurrentInitializeCallsAllSucceedWithOneHistoryRow) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  std::vector<grpc::Status> statuses(32);
  std::vector<pb::InitializeResponse> responses(32);
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = Initialize(pb::InitializeRequest(), &responses[i]); });
  }
  for (auto& t : threads) t.join();
  int applied = 0;
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    applied += responses[i].outcome() == pb::InitializeResponse::APPLIED;
    EXPECT_TRUE(responses[i].outcome() == pb::InitializeResponse::APPLIED ||
                responses[i].outcome() == pb::InitializeResponse::ALREADY_IN_SYNC);
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(db->Query("SELECT count(*) FROM schemad.history")[0][0].as<int>(), 1);
  pb::StatusResponse status;
  ASSERT_TRUE(Status(&status).ok());
  EXPECT_EQ(status.state(), pb::StatusResponse::IN_SYNC);
}

TEST_F(ServiceTest, DatabaseDownIsUnavailableFastAndServiceRecoversWithoutRestart) {
  PrivateCluster& cluster = *UseCluster();
  testing::TestDb* db = UseDb(cluster.server_url());
  StartWith(db);
  pb::StatusResponse status;
  ASSERT_TRUE(Status(&status).ok());
  EXPECT_TRUE(HealthBecomes("schemad.v1.SchemaService", HealthResponse::SERVING, absl::Seconds(5)));

  cluster.Stop();
  const absl::Time start = absl::Now();
  grpc::Status down = Status(&status);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  // "UNAVAILABLE within 2 s" is the promise; asserted with a generous margin
  // (the test's own deadline is 60 s, so this still tells "fast" from "waited").
  EXPECT_LT(took, absl::Seconds(6));
  EXPECT_THAT(down.error_message(), HasSubstr("database unreachable"));
  EXPECT_THAT(down.error_message(), ::testing::Not(HasSubstr("schemad-test-secret")));
  EXPECT_TRUE(
      HealthBecomes("schemad.v1.SchemaService", HealthResponse::NOT_SERVING, absl::Seconds(5)));
  EXPECT_EQ(Health(""), HealthResponse::SERVING) << "liveness stays up";

  cluster.Start();
  bool recovered = false;
  for (absl::Time until = absl::Now() + absl::Seconds(15); absl::Now() < until && !recovered;) {
    recovered = Status(&status).ok();
    if (!recovered) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(HealthBecomes("schemad.v1.SchemaService", HealthResponse::SERVING, absl::Seconds(5)));
}

TEST_F(ServiceTest, CallerDeadlineIsHonouredWhileAnotherReplicaHoldsTheLock) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  pqxx::connection other(db->url());
  pqxx::nontransaction tx(other);
  tx.exec(
      "SELECT pg_advisory_lock(hashtextextended('schemad:' || current_database() || ':public', "
      "0))");
  pb::InitializeResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = Initialize(pb::InitializeRequest(), &response, kAdmin, /*seconds=*/1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.users')")[0][0].is_null());
}

TEST_F(ServiceTest, RefusesToServeTheNetworkWithoutCredentials) {
  testing::TestDb* db = UseDb();
  Engine engine(db->pool(), *LoadEmbeddedRegistry());
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, &engine);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("--tokens-file"));
  options.allow_unauthenticated_remote = true;
  server = StartServer(options, &engine);
  EXPECT_TRUE(server.ok()) << server.status();
}

// --- TLS ---------------------------------------------------------------------

struct Pki {
  std::string dir;
  std::string Read(const std::string& name) const {
    std::ifstream in(absl::StrCat(dir, "/", name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

Pki MakePki() {
  Pki pki{TempDir()};
  const std::string script = absl::StrCat(
      "set -e; cd ", pki.dir, "; ",
      "for ca in ca other; do openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out "
      "$ca.pem "
      "-days 2 -subj /CN=$ca-test-ca >/dev/null 2>&1; done; ",
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost "
      ">/dev/null 2>&1; ",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext; ",
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days 2 -extfile san.ext >/dev/null 2>&1; ",
      "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client "
      ">/dev/null 2>&1; ",
      "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem "
      "-days 2 >/dev/null 2>&1");
  testing::CommandResult r = testing::RunCommand(absl::StrCat("bash -c '", script, "'"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return pki;
}

grpc::Status TlsStatus(int port, const Pki& pki, const std::string& ca, bool client_cert) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pki.Read(ca);
  if (client_cert) {
    ssl.pem_cert_chain = pki.Read("client.pem");
    ssl.pem_private_key = pki.Read("client.key");
  }
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl));
  auto stub = pb::SchemaService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kReader));
  pb::StatusResponse response;
  return stub->Status(&ctx, pb::StatusRequest(), &response);
}

TEST_F(ServiceTest, MutualTlsAcceptsTheRightCaAndRefusesTheWrongOne) {
  testing::TestDb* db = UseDb();
  Pki pki = MakePki();
  ServerOptions options;
  options.tls_cert = absl::StrCat(pki.dir, "/server.pem");
  options.tls_key = absl::StrCat(pki.dir, "/server.key");
  options.tls_client_ca = absl::StrCat(pki.dir, "/ca.pem");
  StartWith(db, options);
  EXPECT_TRUE(TlsStatus(server_->port(), pki, "ca.pem", true).ok());
  EXPECT_EQ(TlsStatus(server_->port(), pki, "other.pem", true).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a server certificate from another CA is refused";
  EXPECT_EQ(TlsStatus(server_->port(), pki, "ca.pem", false).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "mutual TLS requires a client certificate";
  pb::StatusResponse plain;
  EXPECT_EQ(Status(&plain).error_code(), grpc::StatusCode::UNAVAILABLE) << "no plaintext";

  // The client certificate names the caller in history (its token has no
  // name): CN=client.
  {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pki.Read("ca.pem");
    ssl.pem_cert_chain = pki.Read("client.pem");
    ssl.pem_private_key = pki.Read("client.key");
    auto stub = pb::SchemaService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::SslCredentials(ssl)));
    grpc::ClientContext ctx;
    Auth(ctx, kAdmin);
    pb::InitializeResponse response;
    ASSERT_TRUE(stub->Initialize(&ctx, pb::InitializeRequest(), &response).ok());
    EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
    EXPECT_THAT(db->Query("SELECT caller FROM schemad.history")[0][0].as<std::string>(),
                ::testing::StartsWith("client (admin, ipv4:127.0.0.1:"));
  }

  // The same through schemactl's TLS flags (a statically linked OpenSSL).
  const std::string ctl =
      absl::StrCat(testing::BinaryPath("schemactl"), " --server 127.0.0.1:", server_->port(),
                   " --token ", kReader, " --timeout 5s", " --tls-ca ", pki.dir, "/ca.pem");
  testing::CommandResult ok = testing::RunCommand(absl::StrCat(
      ctl, " --tls-cert ", pki.dir, "/client.pem --tls-key ", pki.dir, "/client.key status"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("state"));
  testing::CommandResult no_cert = testing::RunCommand(absl::StrCat(ctl, " status"));
  EXPECT_EQ(no_cert.exit_code, 6) << no_cert.output;
}

// --- the schemad binary --------------------------------------------------------

TEST(SchemadBinaryTest, ServesLogsOneLinePerRpcAndStopsGracefullyOnSigterm) {
  auto db = testing::TestDb::Create();
  testing::ServerProcess server({"--database-url", db->url()});
  ASSERT_GT(server.port(), 0);
  auto stub = pb::SchemaService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pb::StatusResponse response;
  ASSERT_TRUE(stub->Status(&ctx, pb::StatusRequest(), &response).ok());
  const int wstatus = server.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  const std::string text = server.Log();
  EXPECT_THAT(text, HasSubstr("rpc=Status caller=ipv4:127.0.0.1:"));
  EXPECT_THAT(text, HasSubstr("code=OK duration_ms="));
  EXPECT_THAT(text, HasSubstr("schemad: stopped"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("schemad-test-secret")));
}

TEST(SchemadBinaryTest, BadRegistryRefusesToStartAndTouchesNoDatabase) {
  auto db = testing::TestDb::Create();
  const std::string dir = TempDir();
  WriteFile(dir, "users.textproto", "table {\n  name: \"users\"\n  colum { name: \"id\" }\n}\n");
  testing::CommandResult r = testing::RunCommand(
      absl::StrCat(testing::BinaryPath("schemad"), " serve --listen 127.0.0.1:0 --registry ", dir,
                   " --database-url '", db->url(), "'"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("refusing to start"));
  EXPECT_THAT(r.output, HasSubstr("users.textproto:3:3"));
  EXPECT_EQ(
      db->Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'schemad%'")[0][0].as<int>(),
      0);

  testing::CommandResult check =
      testing::RunCommand(absl::StrCat(testing::BinaryPath("schemad"), " check --registry ", dir));
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_THAT(check.output, HasSubstr("users.textproto:3:3"));
  testing::CommandResult docbot =
      testing::RunCommand(absl::StrCat(testing::BinaryPath("schemad"), " check --registry ",
                                       testing::SourcePath("deploy/registry/docbot")));
  EXPECT_EQ(docbot.exit_code, 0) << docbot.output;
  EXPECT_THAT(docbot.output, HasSubstr("12 tables, 4 enum types"));
}

TEST(SchemadBinaryTest, RefusesToListenBeyondLoopbackWithoutTokens) {
  testing::CommandResult r = testing::RunCommand(
      absl::StrCat(testing::BinaryPath("schemad"),
                   " serve --listen 0.0.0.0:0 --database-url postgresql://x@127.0.0.1:1/x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--allow-unauthenticated-remote"));
}

TEST(SchemadBinaryTest, InspectWritesARegistryThatRoundTrips) {
  auto db = testing::TestDb::Create();
  ASSERT_EQ(testing::RunCommand(absl::StrCat("/usr/bin/python3 ",
                                             testing::SourcePath("tests/parity/docbot_parity.py"),
                                             " create_all '", db->url(), "'"))
                .exit_code,
            0);
  const std::string out = absl::StrCat(TempDir(), "/inspected");
  testing::CommandResult r = testing::RunCommand(absl::StrCat(
      testing::BinaryPath("schemad"), " inspect --database-url '", db->url(), "' --out ", out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("12 tables, 4 enum types"));
  absl::StatusOr<Registry> inspected = LoadRegistryDir(out);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  Engine engine(db->pool(), *inspected);
  absl::StatusOr<DiffResult> diff = engine.Diff(absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), ::testing::IsEmpty());
  // The inspected registry also builds an identical database from nothing.
  auto fresh = testing::TestDb::Create();
  Engine rebuild(fresh->pool(), *inspected);
  ASSERT_TRUE(rebuild.Initialize({}, absl::Now() + absl::Seconds(60)).ok());
  Engine docbot(fresh->pool(), *LoadEmbeddedRegistry());
  absl::StatusOr<DiffResult> against_docbot = docbot.Diff(absl::Now() + absl::Seconds(60));
  ASSERT_TRUE(against_docbot.ok());
  EXPECT_THAT(testing::DescribeDifferences(against_docbot->differences), ::testing::IsEmpty());
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// A stray '%' in the URL used to put the password into every RPC error and
// the log: the URL is parsed at start and a bad one stops serve without it.
TEST(SchemadBinaryTest, MalformedDatabaseUrlStopsServeWithoutShowingThePassword) {
  testing::CommandResult r = testing::RunCommand(absl::StrCat(
      testing::BinaryPath("schemad"),
      " serve --listen 127.0.0.1:0 --database-url 'postgresql://app:hunter2%zz@127.0.0.1:1/db'"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the database URL is malformed"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("hunter2")));
  r = testing::RunCommand(absl::StrCat(testing::BinaryPath("schemad"),
                                       " serve --listen 127.0.0.1:0 --database-url "
                                       "'host=127.0.0.1 password=hunter2 port'"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("hunter2")));
}

// The URL can come from a file (a command line is visible to every local
// user); serve warns when it runs as a superuser.
TEST(SchemadBinaryTest, ServesFromADatabaseUrlFileAndWarnsAboutSuperuser) {
  auto db = testing::TestDb::Create();
  const std::string dir = TempDir();
  const std::string file = WriteFile(dir, "database-url", db->url() + "\n");
  testing::ServerProcess server({"--database-url-file", file});
  ASSERT_GT(server.port(), 0);
  auto stub = pb::SchemaService::NewStub(
      grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pb::StatusResponse response;
  grpc::Status status = stub->Status(&ctx, pb::StatusRequest(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(server.Log(), HasSubstr("warning: connected as superuser \"postgres\""));
  EXPECT_THAT(server.Log(), ::testing::Not(HasSubstr("schemad-test-secret")));

  testing::CommandResult both = testing::RunCommand(
      absl::StrCat(testing::BinaryPath("schemad"), " serve --listen 127.0.0.1:0 --database-url '",
                   db->url(), "' --database-url-file ", file));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.output, HasSubstr("both given"));
}

// schemad always bounds its waits, and never targets a system schema.
TEST(SchemadBinaryTest, RefusesUnboundedTimeoutsAndSystemSchemas) {
  auto db = testing::TestDb::Create();
  for (const char* flags : {"--statement-timeout 0s", "--lock-timeout -1s", "--schema pg_catalog",
                            "--schema information_schema"}) {
    testing::CommandResult r = testing::RunCommand(
        absl::StrCat(testing::BinaryPath("schemad"), " serve --listen 127.0.0.1:0 --database-url '",
                     db->url(), "' ", flags));
    EXPECT_EQ(r.exit_code, 1) << flags << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("refusing to start")) << flags;
  }
}

// The registry store's bounds, from flags and from SCHEMAD_<FLAG> alike.
TEST(SchemadBinaryTest, RefusesRegistryStoreBoundsBelowOne) {
  auto db = testing::TestDb::Create();
  for (const char* how : {"--keep-registries 0", "--registry-cache 0",
                          "ENV:SCHEMAD_KEEP_REGISTRIES", "ENV:SCHEMAD_REGISTRY_CACHE"}) {
    const std::string spec = how;
    const bool env = spec.rfind("ENV:", 0) == 0;
    testing::CommandResult r = testing::RunCommand(absl::StrCat(
        env ? absl::StrCat("env ", spec.substr(4), "=0 ") : "", testing::BinaryPath("schemad"),
        " serve --listen 127.0.0.1:0 --database-url '", db->url(), "' ", env ? "" : spec));
    EXPECT_EQ(r.exit_code, 1) << how << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("--keep-registries and --registry-cache must be at least 1"))
        << how;
  }
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Whoever can write the tokens file can grant themselves admin.
TEST_F(ServiceTest, TokensFileWritableByOthersIsRefused) {
  testing::TestDb* db = UseDb();
  const std::string dir = TempDir();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tokens_file = WriteFile(dir, "tokens", "admin 0123456789abcdef0123\n");
  chmod(options.tokens_file.c_str(), 0666);
  Engine engine(db->pool(), *LoadEmbeddedRegistry());
  absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, &engine);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(), HasSubstr("mode 0666"));
  EXPECT_THAT(server.status().message(), HasSubstr("chmod go-w"));
}

TEST_F(ServiceTest, TlsClientCaWithoutACertificateRefusesToStart) {
  testing::TestDb* db = UseDb();
  Pki pki = MakePki();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_cert = absl::StrCat(pki.dir, "/server.pem");
  options.tls_key = absl::StrCat(pki.dir, "/server.key");
  options.tls_client_ca = WriteFile(pki.dir, "empty-ca.pem", "# no certificate here\n");
  Engine engine(db->pool(), *LoadEmbeddedRegistry());
  absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, &engine);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("holds no PEM certificate"));
}

// Calls beyond --max-concurrent-calls are refused at once, and health
// checks keep working: liveness never fails under load.
TEST_F(ServiceTest, CallsBeyondTheConcurrencyBoundAreRefusedWhileHealthAnswers) {
  testing::TestDb* db = UseDb();
  ServerOptions options;
  options.max_concurrent_calls = 1;
  StartWith(db, options);
  pb::InitializeResponse init;
  ASSERT_TRUE(Initialize(pb::InitializeRequest(), &init).ok());
  ASSERT_TRUE(
      HealthBecomes("schemad.v1.SchemaService", HealthResponse::SERVING, absl::Seconds(10)));
  db->Exec("ALTER TABLE users DROP COLUMN full_name");
  // Another session holds users: the next Initialize waits for it.
  pqxx::connection holder(db->url());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  std::thread busy([&] {
    pb::InitializeResponse ignored;
    (void)Initialize(pb::InitializeRequest(), &ignored);
  });
  absl::SleepFor(absl::Milliseconds(1500));
  pb::StatusResponse status;
  grpc::Status refused = Status(&status);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("--max-concurrent-calls"));
  EXPECT_EQ(Health(""), HealthResponse::SERVING);
  lock.abort();
  busy.join();
}

TEST_F(ServiceTest, GetInitializeOutcomeTellsWhetherARequestCommitted) {
  testing::TestDb* db = UseDb();
  StartWith(db);
  pb::InitializeRequest request;
  request.set_request_id("ci-run-42");
  pb::InitializeResponse init;
  ASSERT_TRUE(Initialize(request, &init).ok());
  for (const auto& [id, want] :
       std::vector<std::pair<std::string, pb::GetInitializeOutcomeResponse::Outcome>>{
           {"ci-run-42", pb::GetInitializeOutcomeResponse::COMMITTED},
           {"never-sent", pb::GetInitializeOutcomeResponse::NOT_COMMITTED}}) {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    pb::GetInitializeOutcomeRequest lookup;
    lookup.set_request_id(id);
    pb::GetInitializeOutcomeResponse outcome;
    grpc::Status status = stub_->GetInitializeOutcome(&ctx, lookup, &outcome);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(outcome.outcome(), want) << id;
    if (want == pb::GetInitializeOutcomeResponse::COMMITTED) {
      EXPECT_EQ(outcome.steps(), static_cast<uint32_t>(init.executed_size()));
    }
  }
  request.set_request_id(std::string(65, 'x'));
  EXPECT_EQ(Initialize(request, &init).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// A registry PostgreSQL rejects keeps serve up and NOT_SERVING, calls answer
// FAILED_PRECONDITION with the file and line, and canonicalization is
// retried: fixing the database needs no restart.
TEST_F(ServiceTest, ARegistryTheDatabaseRejectsIsRetriedUntilTheDatabaseIsFixed) {
  testing::TestDb* db = UseDb();
  StartWith(db, {}, /*tokens=*/false, testing::MustLoadRegistry({{"ext.textproto", R"reg(registry {
  extension { name: "pg_trgm" schema: "extensions" }
}
table { name: "t" column { name: "id" type: "integer" } })reg"}}));

  EXPECT_FALSE(
      HealthBecomes("schemad.v1.SchemaService", HealthResponse::SERVING, absl::Seconds(2)));
  pb::StatusResponse status;
  grpc::Status refused = Status(&status, "");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("ext.textproto:2:3: registry.extension[0]"));

  db->Exec("CREATE SCHEMA extensions");
  EXPECT_TRUE(
      HealthBecomes("schemad.v1.SchemaService", HealthResponse::SERVING, absl::Seconds(10)));
  EXPECT_TRUE(Status(&status, "").ok());
}

}  // namespace
}  // namespace schemad
