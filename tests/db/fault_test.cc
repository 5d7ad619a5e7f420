// Faults: PostgreSQL crashing and schemad killed in the middle of a large
// Initialize, and 200 concurrent clients through a database restart.
// Afterwards the database holds all or nothing of the run, history agrees,
// no advisory lock is left, and schemad recovers by itself.
// Slow (about two minutes in all): ctest label "slow".
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/v1/schema_service.grpc.pb.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
using testing::PrivateCluster;
using testing::ServerProcess;

constexpr int kTables = 1000;

std::unique_ptr<pb::SchemaService::Stub> Stub(const std::string& address) {
  return pb::SchemaService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

grpc::Status Call(pb::SchemaService::Stub& stub, pb::InitializeResponse* out, int seconds = 300) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return stub.Initialize(&ctx, pb::InitializeRequest(), out);
}

grpc::Status Diff(pb::SchemaService::Stub& stub, pb::DiffResponse* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
  return stub.Diff(&ctx, pb::DiffRequest(), out);
}

int Scalar(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec(sql)[0][0].as<int>();
}

int PublicTables(const std::string& url) {
  return Scalar(url,
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relkind = 'r'");
}

int HistoryRows(const std::string& url) {
  return Scalar(url,
                "SELECT CASE WHEN to_regclass('schemad.history') IS NULL THEN 0 ELSE "
                "(xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM "
                "schemad.history', false, true, '')))[1]::text::int END");
}

int AdvisoryLocks(const std::string& url) {
  return Scalar(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
}

// Waits until a schemad backend is inside the main transaction's DDL.
bool WaitForDdl(const std::string& admin_url, absl::Duration timeout) {
  for (absl::Time until = absl::Now() + timeout; absl::Now() < until;) {
    try {
      // Steps go one statement at a time: the main transaction is the one
      // creating tables in the target schema (canonicalization creates them
      // in its scratch schema).
      if (Scalar(admin_url,
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                 "'schemad' AND state IN ('active', 'idle in transaction') AND "
                 "query LIKE 'CREATE TABLE public.%'") > 0) {
        return true;
      }
    } catch (const std::exception&) {
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<PrivateCluster>("-c max_locks_per_transaction=1024");
    dir_ = testing::TempDir();
    testing::WriteFile(dir_, "registry.textproto", testing::SyntheticRegistry(kTables));
  }

  std::unique_ptr<ServerProcess> Serve(const std::string& db_url) {
    return std::make_unique<ServerProcess>(std::vector<std::string>{
        "--database-url", db_url, "--registry", dir_, "--lock-timeout", "60s"});
  }

  std::string NewDatabase(const std::string& name) {
    pqxx::connection admin(cluster_->server_url() + "/postgres");
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + name);
    return cluster_->server_url() + "/" + name;
  }

  // After the fault: all or nothing, history agrees, no lock; then a new
  // Initialize converges and the diff is empty.
  void ExpectAllOrNothingThenConverges(const std::string& url, pb::SchemaService::Stub& stub) {
    const int tables = PublicTables(url);
    EXPECT_TRUE(tables == 0 || tables == kTables) << tables << " tables: a partial apply";
    EXPECT_EQ(HistoryRows(url), tables == 0 ? 0 : 1);
    EXPECT_EQ(AdvisoryLocks(url), 0);
    pb::InitializeResponse again;
    grpc::Status status = Call(stub, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(again.outcome(), tables == 0 ? pb::InitializeResponse::APPLIED
                                           : pb::InitializeResponse::ALREADY_IN_SYNC);
    EXPECT_EQ(PublicTables(url), kTables);
    EXPECT_EQ(HistoryRows(url), 1);
    pb::DiffResponse diff;
    ASSERT_TRUE(Diff(stub, &diff).ok());
    EXPECT_EQ(diff.differences_size(), 0);
    EXPECT_EQ(AdvisoryLocks(url), 0);
  }

  std::unique_ptr<PrivateCluster> cluster_;
  std::string dir_;
};

TEST_F(FaultTest, PostgresCrashDuringLargeInitializeLeavesAllOrNothing) {
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string url = NewDatabase(absl::StrCat("crash_", round));
    auto server = Serve(url);
    auto stub = Stub(server->address());
    pb::DiffResponse warm;  // canonicalize first: the crash lands in the apply
    ASSERT_TRUE(Diff(*stub, &warm).ok());
    grpc::Status result;
    pb::InitializeResponse response;
    std::thread caller([&] { result = Call(*stub, &response); });
    absl::Cleanup join = [&] {
      if (caller.joinable()) caller.join();
    };
    ASSERT_TRUE(WaitForDdl(cluster_->server_url() + "/postgres", absl::Seconds(60)));
    absl::SleepFor(absl::Milliseconds(300 * round));
    cluster_->Stop("immediate");
    caller.join();
    EXPECT_FALSE(result.ok()) << "a crash mid-transaction cannot report success";
    EXPECT_EQ(result.error_code(), grpc::StatusCode::UNAVAILABLE) << result.error_message();
    cluster_->Start();
    EXPECT_TRUE(server->Alive());
    ExpectAllOrNothingThenConverges(url, *stub);
  }
}

TEST_F(FaultTest, SchemadKilledDuringLargeInitializeLeavesNothingAndNoLock) {
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string url = NewDatabase(absl::StrCat("kill_", round));
    auto server = Serve(url);
    {
      auto stub = Stub(server->address());
      pb::DiffResponse warm;
      ASSERT_TRUE(Diff(*stub, &warm).ok());
      std::thread caller([&] {
        pb::InitializeResponse ignored;
        Call(*stub, &ignored, 60);
      });
      absl::Cleanup join = [&] {
        if (caller.joinable()) caller.join();
      };
      ASSERT_TRUE(WaitForDdl(cluster_->server_url() + "/postgres", absl::Seconds(60)));
      absl::SleepFor(absl::Milliseconds(200 * round));
      server->Kill(SIGKILL);
      caller.join();
    }
    // The server notices the vanished client (client_connection_check_interval)
    // and rolls back; the advisory lock dies with the session.
    bool gone = false;
    for (absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until && !gone;) {
      gone = Scalar(cluster_->server_url() + "/postgres",
                    absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = 'kill_",
                                 round, "' AND application_name = 'schemad'")) == 0;
      if (!gone) absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_TRUE(gone) << "schemad's sessions outlived it";
    auto restarted = Serve(url);
    auto stub = Stub(restarted->address());
    ExpectAllOrNothingThenConverges(url, *stub);
  }
}

TEST(LoadTest, TwoHundredClientsThroughADatabaseRestart) {
  PrivateCluster cluster;
  auto db = testing::TestDb::Create(cluster.server_url());
  const int max_connections = 4;
  ServerProcess server(
      {"--database-url", db->url(), "--max-connections", absl::StrCat(max_connections)});
  {
    auto stub = Stub(server.address());
    pb::InitializeResponse init;
    ASSERT_TRUE(Call(*stub, &init).ok());
  }
  // 200 clients, mixed RPCs, 30 s; PostgreSQL restarts after 10 s.
  testing::CommandResult load;
  std::thread loader([&] {
    load = testing::RunCommand(absl::StrCat(testing::BinaryPath("schemad_loadgen"), " --server ",
                                            server.address(),
                                            " --method mixed --concurrency 200 --seconds 30 "
                                            "--deadline 10"));
  });
  int most = 0;
  const absl::Time start = absl::Now();
  bool restarted = false;
  while (absl::Now() - start < absl::Seconds(31)) {
    if (!restarted && absl::Now() - start > absl::Seconds(10)) {
      cluster.Stop("fast");
      absl::SleepFor(absl::Seconds(2));
      cluster.Start();
      restarted = true;
    }
    try {
      most = std::max(most, Scalar(cluster.server_url() + "/postgres",
                                   absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE "
                                                "datname = '",
                                                db->name(), "' AND application_name = 'schemad'")));
    } catch (const std::exception&) {
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  loader.join();
  ASSERT_EQ(load.exit_code, 0) << load.output;
  EXPECT_TRUE(server.Alive()) << server.Log();
  EXPECT_LE(most, max_connections) << "schemad held more connections than --max-connections";
  EXPECT_GT(most, 0);
  // Every request got an answer, and every failure is a status a caller can
  // act on: OK, UNAVAILABLE (database restarting), DEADLINE_EXCEEDED.
  EXPECT_THAT(load.output, ::testing::HasSubstr("\"codes\": {\"0\": "));
  for (const char* unexpected : {"\"2\":", "\"13\":", "\"12\":", "\"3\":"}) {
    EXPECT_THAT(load.output, ::testing::Not(::testing::HasSubstr(unexpected))) << load.output;
  }
  // Back to baseline, and serving: a Status right now succeeds.
  auto stub = Stub(server.address());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  pb::StatusResponse status;
  grpc::Status s = stub->Status(&ctx, pb::StatusRequest(), &status);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.state(), pb::StatusResponse::IN_SYNC);
  EXPECT_LE(Scalar(cluster.server_url() + "/postgres",
                   absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = '",
                                db->name(), "' AND application_name = 'schemad'")),
            max_connections);
  std::cerr << "load: " << load.output;
  server.Kill(SIGTERM);
  db.reset();
}

}  // namespace
}  // namespace schemad
