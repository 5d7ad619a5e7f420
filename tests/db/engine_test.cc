// Initialize's contract on real PostgreSQL: idempotence, history, dry run,
// fingerprints, serialization across callers and replicas, bounded waits,
// and identifiers of every shape.
#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "db/pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/common/identifier.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using testing::DescribeDifferences;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Deadline(int seconds = 60) { return absl::Now() + absl::Seconds(seconds); }

Registry Docbot() { return *LoadEmbeddedRegistry(); }

int HistoryRows(testing::TestDb& db) {
  pqxx::result r = db.Query("SELECT count(*) FROM schemad.history");
  return r[0][0].as<int>();
}

bool TableExists(testing::TestDb& db, const std::string& name) {
  return !db.Query(absl::StrCat("SELECT to_regclass('public.", name, "')"))[0][0].is_null();
}

TEST(EngineTest, InitializeIsIdempotentAndRecordsOneHistoryRow) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<InitializeResult> first =
      engine.Initialize({.caller = "test (admin)"}, Deadline());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, Outcome::kApplied);
  EXPECT_FALSE(first->executed.empty());
  EXPECT_THAT(first->remaining, IsEmpty());
  EXPECT_EQ(HistoryRows(*db), 1);
  pqxx::result row = db->Query(
      "SELECT caller, registry_fingerprint, jsonb_array_length(steps), duration_ms >= 0, "
      "finished_at >= started_at FROM schemad.history");
  EXPECT_EQ(row[0][0].as<std::string>(), "test (admin)");
  EXPECT_EQ(row[0][1].as<std::string>(), engine.registry().fingerprint);
  EXPECT_EQ(row[0][2].as<size_t>(), first->executed.size());
  EXPECT_TRUE(row[0][3].as<bool>());
  EXPECT_TRUE(row[0][4].as<bool>());

  absl::StatusOr<InitializeResult> second = engine.Initialize({}, Deadline());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, Outcome::kAlreadyInSync);
  EXPECT_THAT(second->executed, IsEmpty());
  EXPECT_EQ(HistoryRows(*db), 1) << "a no-op appends nothing";

  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(status->last_applied_fingerprint, engine.registry().fingerprint);
  EXPECT_TRUE(status->last_applied_at.has_value());
}

TEST(EngineTest, StatusSurvivesTheHistoryTableBeingDropped) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  absl::StatusOr<StatusResult> before = engine.Status(Deadline());
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->last_applied_fingerprint.empty());
  db->Exec("DROP SCHEMA schemad CASCADE");
  absl::StatusOr<StatusResult> after = engine.Status(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->last_applied_fingerprint.empty());
  EXPECT_EQ(after->state, SyncState::kInSync);
}

TEST(EngineTest, StatusOfEmptyDatabaseIsPendingWithCounts) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kPending);
  EXPECT_EQ(status->missing, 16);  // 12 tables and 4 enum types
  EXPECT_EQ(status->extra, 0);
  EXPECT_TRUE(status->last_applied_fingerprint.empty());
}

TEST(EngineTest, ExtraObjectsMakeStatusDriftedButInitializeLeavesThem) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec("CREATE TABLE scratch (id int); ALTER TABLE users ADD COLUMN nickname text");
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, SyncState::kDrifted);
  EXPECT_EQ(status->extra, 2);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kAlreadyInSync) << "extras alone are not PARTIAL";
  EXPECT_THAT(
      DescribeDifferences(init->remaining),
      ::testing::UnorderedElementsAre("EXTRA table scratch", "EXTRA column users.nickname"));
  EXPECT_EQ(init->skipped.size(), 2u);
  EXPECT_TRUE(TableExists(*db, "scratch")) << "a default Initialize never drops anything";
}

TEST(EngineTest, CreateAllGapsAreFilledOnExistingTables) {
  // create_all never adds a missing column or index to a table that exists.
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec("ALTER TABLE documents DROP COLUMN error; DROP INDEX ix_documents_in_progress");
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(init->executed.size(), 2u);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok());
  EXPECT_THAT(diff->differences, IsEmpty());
}

TEST(EngineTest, DryRunChangesNothing) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<InitializeResult> dry = engine.Initialize({.dry_run = true}, Deadline());
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->outcome, Outcome::kDryRun);
  EXPECT_EQ(dry->executed.size(), 40u);
  EXPECT_FALSE(TableExists(*db, "users"));
  EXPECT_TRUE(db->Query("SELECT to_regnamespace('schemad')")[0][0].is_null())
      << "a dry run does not even create the history table";
}

TEST(EngineTest, StaleExpectedFingerprintIsRefusedAndChangesNothing) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<DiffResult> reviewed = engine.Diff(Deadline());
  ASSERT_TRUE(reviewed.ok());
  db->Exec("CREATE TABLE moved (id int)");
  absl::StatusOr<InitializeResult> refused =
      engine.Initialize({.expected_fingerprint = reviewed->fingerprint}, Deadline());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr(reviewed->fingerprint));
  EXPECT_FALSE(TableExists(*db, "users"));

  absl::StatusOr<DiffResult> again = engine.Diff(Deadline());
  ASSERT_TRUE(again.ok());
  absl::StatusOr<InitializeResult> applied =
      engine.Initialize({.expected_fingerprint = again->fingerprint}, Deadline());
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->outcome, Outcome::kApplied);
}

TEST(EngineTest, ThirtyTwoConcurrentCallersAcrossFourReplicasApplyOnce) {
  auto db = testing::TestDb::Create();
  // Four "replicas", each its own engine and connection pool.
  std::vector<std::unique_ptr<Database>> pools;
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < 4; ++i) {
    DatabaseOptions options;
    options.url = db->url();
    options.max_connections = 4;
    pools.push_back(*Database::Create(options));
    engines.push_back(std::make_unique<Engine>(pools.back().get(), Docbot()));
  }
  std::vector<absl::StatusOr<InitializeResult>> results(32, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] { results[i] = engines[i % 4]->Initialize({}, Deadline(120)); });
  }
  for (std::thread& t : threads) t.join();
  int applied = 0, in_sync = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    applied += r->outcome == Outcome::kApplied;
    in_sync += r->outcome == Outcome::kAlreadyInSync;
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(in_sync, 31);
  EXPECT_EQ(HistoryRows(*db), 1);
  absl::StatusOr<DiffResult> diff = engines[0]->Diff(Deadline());
  ASSERT_TRUE(diff.ok());
  EXPECT_THAT(diff->differences, IsEmpty());
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                      "(SELECT oid FROM pg_database WHERE datname = current_database())")[0][0]
                .as<int>(),
            0);
}

TEST(EngineTest, ALockTimeoutWhileApplyingIsRetriedUntilTheLockIsFree) {
  auto db = testing::TestDb::Create();
  {
    Engine setup(db->pool(), Docbot());
    ASSERT_TRUE(setup.Initialize({}, Deadline()).ok());
  }
  db->Exec("ALTER TABLE documents DROP COLUMN error");
  // SHARE: the read under the lock goes through, ADD COLUMN waits.
  pqxx::connection other(db->url());
  auto holder = std::make_unique<pqxx::work>(other);
  holder->exec("LOCK TABLE documents IN SHARE MODE");
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(1500));
    holder->commit();
  });
  DatabaseOptions options;
  options.url = db->url();
  options.lock_timeout = absl::Milliseconds(200);
  std::unique_ptr<Database> pool = *Database::Create(options);
  EngineOptions engine_options;
  engine_options.lock_retry_backoff = absl::Milliseconds(100);
  engine_options.lock_retry_max_backoff = absl::Milliseconds(400);
  engine_options.lock_retries = 50;
  Engine engine(pool.get(), Docbot(), engine_options);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline(30));
  release.join();
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(db->Query("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                      "'documents' AND column_name = 'error'")[0][0]
                .as<int>(),
            1);
  EXPECT_EQ(HistoryRows(*db), 2) << "one history row, however many attempts";
}

TEST(EngineTest, LockedTableMakesInitializeAbortWithinLockTimeoutAndApplyNothing) {
  auto db = testing::TestDb::Create();
  {
    Engine setup(db->pool(), Docbot());
    ASSERT_TRUE(setup.Initialize({}, Deadline()).ok());
  }
  db->Exec("DROP INDEX ix_documents_owner_id; DROP TABLE tool_runs");
  // Another session holds a lock on a table the plan touches.
  pqxx::connection other(db->url());
  pqxx::work holder(other);
  holder.exec("INSERT INTO users (email, hashed_password) VALUES ('a@b', 'x')");
  holder.exec("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");

  DatabaseOptions options;
  options.url = db->url();
  options.lock_timeout = absl::Milliseconds(300);
  std::unique_ptr<Database> pool = *Database::Create(options);
  Engine engine(pool.get(), Docbot());
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline(30));
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kAborted) << init.status();
  EXPECT_THAT(init.status().message(), HasSubstr("lock"));
  // The other session's work is unaffected and commits.
  holder.commit();
  EXPECT_EQ(db->Query("SELECT count(*) FROM users")[0][0].as<int>(), 1);
  // Nothing of the plan was applied: tool_runs still missing, as is the index.
  EXPECT_FALSE(TableExists(*db, "tool_runs"));
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.ix_documents_owner_id')")[0][0].is_null());
  EXPECT_EQ(HistoryRows(*db), 1);
}

TEST(EngineTest, DiffDoesNotWaitForALockedTableToTellIfItIsEmpty) {
  auto db = testing::TestDb::Create();
  {
    Engine setup(db->pool(), Docbot());
    ASSERT_TRUE(setup.Initialize({}, Deadline()).ok());
  }
  db->Exec("DROP INDEX ix_messages_chat_id_created_at");
  pqxx::connection other(db->url());
  pqxx::work holder(other);
  holder.exec("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE");
  DatabaseOptions options;
  options.url = db->url();
  options.lock_timeout = absl::Seconds(60);
  std::unique_ptr<Database> pool = *Database::Create(options);
  Engine engine(pool.get(), Docbot());
  const absl::Time start = absl::Now();
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(120));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(30)) << "must not wait out the 60 s lock_timeout";
  ASSERT_EQ(diff->plan.steps.size(), 1u);
  ASSERT_EQ(diff->plan.steps[0].hazards.size(), 1u);
  EXPECT_EQ(diff->plan.steps[0].hazards[0].kind, HazardKind::kLongLock)
      << "a table whose emptiness could not be checked is assumed to hold rows";
  holder.abort();
}

TEST(EngineTest, AnotherReplicaHoldingTheLockMakesCallersWaitUntilTheirDeadline) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  auto other = std::make_unique<pqxx::connection>(db->url());
  {
    pqxx::nontransaction tx(*other);
    tx.exec(
        "SELECT pg_advisory_lock(hashtextextended('schemad:' || current_database() || ':' || "
        "'public', 0))");
  }
  absl::StatusOr<InitializeResult> waited = engine.Initialize({}, Deadline(1));
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded) << waited.status();
  EXPECT_FALSE(TableExists(*db, "users"));
  // The holder dies (a killed replica): its lock dies with its connection.
  other.reset();
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
}

TEST(EngineTest, InSyncCallersDoNotQueueBehindAnotherReplicasLock) {
  // A fleet starting up: every replica calls Initialize; once the schema is
  // in sync, none of them waits for the lock another one holds.
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  pqxx::connection other(db->url());
  pqxx::nontransaction tx(other);
  tx.exec(
      "SELECT pg_advisory_lock(hashtextextended('schemad:' || current_database() || ':' || "
      "'public', 0))");
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline(5));
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kAlreadyInSync);
  EXPECT_FALSE(init->fingerprint.empty());
  absl::StatusOr<InitializeResult> stale =
      engine.Initialize({.expected_fingerprint = "0123"}, Deadline(5));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EngineTest, NewEnumLabelUsedAsDefaultInTheSameInitialize) {
  // The label must be committed before the default that uses it (55P04).
  auto db = testing::TestDb::Create();
  const std::string before = R"pb(
    registry { enum { name: "mood" label: "calm" } }
    table { name: "people" column { name: "id" type: "integer" not_null: true }
            primary_key { name: "pk_people" column: "id" } })pb";
  const std::string after = R"pb(
    registry { enum { name: "mood" label: "calm" label: "happy" } }
    table { name: "people" column { name: "id" type: "integer" not_null: true }
            column { name: "mood" type: "mood" not_null: true default: "'happy'" }
            primary_key { name: "pk_people" column: "id" }
            index { name: "ix_people_happy" key { column: "id" } where: "mood = 'happy'" } })pb";
  {
    Engine first(db->pool(), testing::MustLoadRegistry(before));
    ASSERT_TRUE(first.Initialize({}, Deadline()).ok());
  }
  Engine second(db->pool(), testing::MustLoadRegistry(after));
  absl::StatusOr<InitializeResult> init = second.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  ASSERT_FALSE(init->executed.empty());
  EXPECT_TRUE(init->executed[0].own_transaction);
  EXPECT_THAT(init->executed[0].sql, HasSubstr("ADD VALUE 'happy'"));
  absl::StatusOr<DiffResult> diff = second.Diff(Deadline());
  ASSERT_TRUE(diff.ok());
  EXPECT_THAT(diff->differences, IsEmpty());
}

TEST(EngineTest, IdentifiersOfEveryShapeRoundTrip) {
  auto db = testing::TestDb::Create();
  const std::string name63(63, 'n');
  const std::string registry = absl::StrCat(R"pb(
    registry { schema: "My App" enum { name: "Weird \"Type\"" label: "it's" label: "Ünï" } }
    table {
      name: "Order Items"
      column { name: "select" type: "integer" not_null: true }
      column { name: "MixedCase" type: "\"Weird \"\"Type\"\"\"" default: "'it''s'" }
      column { name: "naïve ünïcode" type: "text" }
      column { name: ")pb",
                                            name63, R"pb(" type: "text" }
      column { name: "x\"; DROP TABLE victims; --" type: "text" }
      primary_key { name: "pk \"order items\"" column: "select" }
      check { name: "ck'quote" expression: "\"select\" > 0" }
      index { name: "ix Order Items lower" key { expression: "lower(\"naïve ünïcode\")" } }
    })pb");
  db->Exec("CREATE TABLE victims (id int)");
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), IsEmpty());
  EXPECT_TRUE(TableExists(*db, "victims")) << "no identifier was spliced into SQL";
  pqxx::result cols = db->Query(
      "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'My App' AND "
      "table_name = 'Order Items'");
  EXPECT_EQ(cols[0][0].as<int>(), 5);
}

TEST(EngineTest, RegistrySqlRejectedByPostgresNamesTheFileAndLine) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry({{"things.textproto", R"pb(table {
  name: "things"
  column { name: "id" type: "integer" }
  check { name: "ck_bad" expression: "id >>> 0" }
})pb"}}));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_FALSE(diff.ok());
  // The request is fine; the served registry does not fit the database.
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(diff.status().message(), HasSubstr("things.textproto:1:1: table[0]"));
  EXPECT_THAT(diff.status().message(), HasSubstr("table things"));
  EXPECT_FALSE(TableExists(*db, "things"));
}

TEST(EngineTest, UnreachableDatabaseIsUnavailableWithoutThePassword) {
  DatabaseOptions options;
  options.url = "postgresql://postgres:hunter2-secret@127.0.0.1:1/nowhere";
  std::unique_ptr<Database> pool = *Database::Create(options);
  Engine engine(pool.get(), Docbot());
  const absl::Time start = absl::Now();
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.status().message(), ::testing::Not(HasSubstr("hunter2")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(EngineTest, LockTableExhaustionIsResourceExhaustedWithTheFix) {
  // A private cluster with a tiny lock table, stopped by RAII whatever
  // happens below.
  testing::PrivateCluster cluster("-c max_locks_per_transaction=10 -c max_connections=20");
  auto db = testing::TestDb::Create(cluster.server_url());
  // The shared lock table holds max_locks_per_transaction x (max_connections
  // + max_prepared_transactions) locks, plus slack from shared memory
  // rounding. Size the plan from the settings, far beyond both: each new
  // table holds at least one lock until commit.
  const int slots = db->Query(
                          "SELECT current_setting('max_locks_per_transaction')::int * "
                          "(current_setting('max_connections')::int + "
                          "current_setting('max_prepared_transactions')::int)")[0][0]
                        .as<int>();
  const int tables = 20 * slots;
  std::string registry;
  for (int i = 0; i < tables; ++i) {
    absl::StrAppend(&registry, "table { name: \"t", i,
                    "\" column { name: \"id\" type: \"integer\" } }\n");
  }
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline(300));
  ASSERT_FALSE(init.ok()) << tables << " tables fit a lock table of " << slots << " slots";
  EXPECT_EQ(init.status().code(), absl::StatusCode::kResourceExhausted) << init.status();
  EXPECT_THAT(init.status().message(), HasSubstr("max_locks_per_transaction"));
  EXPECT_EQ(SqlStateOf(init.status()), "53200");
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// PostgreSQL 15 has no transaction timeout: the caller's deadline and
// cancellation must bound Initialize themselves (a 3 s deadline used to
// commit at 4.1 s; a call cancelled at 0.3 s committed at 7.5 s).
class BoundedInitializeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::TestDb::Create();
    db_->Exec("CREATE TABLE t (id integer)");
    // A long lock_timeout: only the caller's deadline can end the wait.
    pool_ = *Database::Create({.url = db_->url(), .lock_timeout = absl::Seconds(60)});
    engine_ = std::make_unique<Engine>(pool_.get(), testing::MustLoadRegistry(R"reg(table {
  name: "t"
  column { name: "id" type: "integer" }
  column { name: "added" type: "integer" }
})reg"));
    ASSERT_TRUE(engine_->Prepare(Deadline()).ok());
    holder_ = std::make_unique<pqxx::connection>(db_->url());
    lock_ = std::make_unique<pqxx::work>(*holder_);
    lock_->exec("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
  }
  void TearDown() override {
    lock_.reset();
    holder_.reset();
    engine_.reset();
    pool_.reset();
  }
  bool Applied() {
    lock_->abort();
    return db_->Query(
                  "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND "
                  "attname = 'added'")[0][0]
               .as<int>() > 0;
  }

  std::unique_ptr<testing::TestDb> db_;
  std::unique_ptr<Database> pool_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<pqxx::connection> holder_;
  std::unique_ptr<pqxx::work> lock_;
};

TEST_F(BoundedInitializeTest, TheCallersDeadlineEndsABlockedInitializeAndNothingCommits) {
  const absl::Time start = absl::Now();
  absl::StatusOr<InitializeResult> init =
      engine_->Initialize({.request_id = "deadline-1"}, start + absl::Seconds(2));
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kDeadlineExceeded) << init.status();
  EXPECT_LT(took, absl::Seconds(5)) << "a 2 s deadline, with a generous margin";
  EXPECT_FALSE(Applied());
  absl::StatusOr<RequestOutcome> outcome = engine_->LookupRequest("deadline-1", Deadline());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_FALSE(outcome->committed);
}

TEST_F(BoundedInitializeTest, CancellationStopsABlockedInitializeAndNothingCommits) {
  const absl::Time start = absl::Now();
  absl::StatusOr<InitializeResult> init = engine_->Initialize(
      {.cancelled = [start] { return absl::Now() - start > absl::Milliseconds(300); }},
      start + absl::Seconds(60));
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kCancelled) << init.status();
  EXPECT_LT(took, absl::Seconds(5)) << "cancelled at 0.3 s, with a generous margin";
  EXPECT_FALSE(Applied());
}

TEST(EngineTest, RequestIdIsRecordedAndLookedUp) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(
                                "table { name: \"t\" column { name: \"id\" type: \"integer\" } }"));
  absl::StatusOr<InitializeResult> init =
      engine.Initialize({.request_id = "req-0123456789abcdef"}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(db->Query("SELECT request_id FROM schemad.history")[0][0].as<std::string>(),
            "req-0123456789abcdef");
  absl::StatusOr<RequestOutcome> found = engine.LookupRequest("req-0123456789abcdef", Deadline());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->committed);
  EXPECT_EQ(found->steps, static_cast<int>(init->executed.size()));
  EXPECT_EQ(found->registry_fingerprint, engine.registry().fingerprint);
  absl::StatusOr<RequestOutcome> missing = engine.LookupRequest("other", Deadline());
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->committed);
  EXPECT_EQ(engine.LookupRequest("", Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// A connection lost after planning (the backend terminated while a step
// waits) is retried once on a fresh connection; the retried call reports
// each skipped step once, not once per attempt.
TEST(EngineTest, ARetriedInitializeReportsEachSkippedStepOnce) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE TABLE t (id integer, legacy integer); INSERT INTO t VALUES (1, 1)");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "t"
  column { name: "id" type: "integer" }
  column { name: "added" type: "integer" }
})reg"));
  ASSERT_TRUE(engine.Status(Deadline()).ok());  // the pool now holds a reused connection
  pqxx::connection holder(db->url());
  pqxx::work lock(holder);
  // Reads go on (the plan is made); ALTER TABLE waits.
  lock.exec("LOCK TABLE t IN SHARE MODE");
  std::thread killer([&] {
    pqxx::connection admin(db->url());
    for (int i = 0; i < 600; ++i) {
      pqxx::nontransaction tx(admin);
      const pqxx::result r = tx.exec(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
          "'schemad' AND wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%' "
          "AND datname = current_database()");  // not a parallel test's session
      if (!r.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    lock.abort();
  });
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  killer.join();
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied) << "the extra column is not the registry's";
  ASSERT_EQ(init->skipped.size(), 1u);
  EXPECT_EQ(init->skipped[0].sql, "ALTER TABLE public.t DROP COLUMN legacy");
  EXPECT_EQ(init->executed.size(), 1u);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// CREATE TABLE silently drops a unique constraint on the key of the primary
// key (or of an earlier unique constraint); a foreign key may reference
// columns unique only through a unique index. Both are legal, and both
// round-trip.
TEST(EngineTest, DuplicateKeysAndForeignKeysToUniqueIndexesRoundTrip) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "a"
  column { name: "id" type: "integer" not_null: true }
  column { name: "code" type: "integer" }
  primary_key { name: "a_pkey" column: "id" }
  unique { name: "a_id_key" column: "id" }
  unique { name: "a_code_key" column: "code" }
  unique { name: "a_code_key2" column: "code" }
}
table {
  name: "c"
  column { name: "x" type: "integer" }
  index { name: "c_x_unique" unique: true key { column: "x" } }
}
table {
  name: "d"
  column { name: "c_x" type: "integer" }
  foreign_key { name: "d_c_x_fkey" column: "c_x" references_table: "c" references_column: "x" }
})reg"));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), IsEmpty());
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_constraint WHERE conrelid = 'a'::regclass AND "
                      "contype IN ('p', 'u')")[0][0]
                .as<int>(),
            4);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Identifiers are quoted exactly as the server's quote_ident() does, for
// every keyword the server knows and a few names of other shapes: the
// keyword list cannot drift from the PostgreSQL schemad runs against.
TEST(EngineTest, QuotesIdentifiersExactlyAsTheServerDoes) {
  auto db = testing::TestDb::Create();
  pqxx::result rows = db->Query(
      "SELECT w, quote_ident(w) FROM (SELECT word FROM pg_get_keywords() UNION ALL "
      "SELECT unnest(ARRAY['users', 'Users', 'a b', 'x\"y', '_x1', '1x', 'naïve'])) k(w)");
  ASSERT_GT(rows.size(), 400u);
  int checked = 0;
  for (const auto& row : rows) {
    const std::string word = row[0].as<std::string>();
    EXPECT_EQ(QuoteIdent(word), row[1].as<std::string>()) << word;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(rows.size()));
}

// ArrayLiteral (a text[] parameter) and ArrayField read the same values
// back through the server, whatever the text holds.
TEST(EngineTest, ArrayLiteralsRoundTripThroughTheServer) {
  auto db = testing::TestDb::Create();
  const std::vector<std::string> values = {"plain",       "",     "a,b",  "{x}",       "q\"uote",
                                           "back\\slash", "NULL", " sp ", "na\u00efve"};
  ConnectionPool& pool = PoolOf(*db->pool());
  absl::StatusOr<std::unique_ptr<ConnectionPool::Lease>> lease =
      pool.Acquire(absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(lease.ok()) << lease.status();
  pqxx::work tx((*lease)->conn());
  const pqxx::result r = ExecParams(pool, tx, "SELECT $1::pg_catalog.text[]", ArrayLiteral(values));
  EXPECT_EQ(ArrayField(r[0][0]), values);
  EXPECT_TRUE(
      ArrayField(ExecParams(pool, tx, "SELECT $1::pg_catalog.text[]", ArrayLiteral({}))[0][0])
          .empty());
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// `schemad inspect` of the database, loaded back as a registry, is in sync
// with the same database.
void ExpectInspectRoundTrips(testing::TestDb& db, Engine& engine) {
  absl::StatusOr<Schema> live = engine.Inspect(Deadline());
  ASSERT_TRUE(live.ok()) << live.status();
  for (RegistryFormat format : {RegistryFormat::kTextproto, RegistryFormat::kSql}) {
    const std::string dir = testing::TempDir() + "/inspected";
    ASSERT_TRUE(WriteRegistryDir(*live, dir, {.format = format}).ok());
    absl::StatusOr<Registry> inspected = LoadRegistryDir(dir);
    ASSERT_TRUE(inspected.ok()) << inspected.status();
    Engine again(db.pool(), *inspected);
    absl::StatusOr<DiffResult> round = again.Diff(Deadline());
    ASSERT_TRUE(round.ok()) << round.status();
    EXPECT_THAT(DescribeDifferences(round->differences), IsEmpty())
        << (format == RegistryFormat::kSql ? "as SQL" : "as textproto");
  }
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// NOT VALID checks and foreign keys, NO INHERIT checks and deferrable
// primary keys and unique constraints can be declared: a database holding
// them is in sync (adopting it no longer validates, re-creates or makes
// deferred uniqueness immediate), and adding a NOT VALID constraint to a
// table with rows scans nothing, so it needs no hazard.
TEST(EngineTest, NotValidNoInheritAndDeferrableKeysRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE parent (id integer PRIMARY KEY DEFERRABLE INITIALLY DEFERRED,
                     code integer CONSTRAINT parent_code_key UNIQUE DEFERRABLE);
CREATE TABLE ref (id integer PRIMARY KEY);
CREATE TABLE child (parent_id integer, score integer);
INSERT INTO child VALUES (42, -1);
ALTER TABLE child ADD CONSTRAINT child_parent_fkey FOREIGN KEY (parent_id) REFERENCES ref(id) NOT VALID;
ALTER TABLE child ADD CONSTRAINT child_local CHECK (parent_id IS NOT NULL) NO INHERIT;
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "parent"
  column { name: "id" type: "integer" not_null: true }
  column { name: "code" type: "integer" }
  primary_key { name: "parent_pkey" column: "id" deferrable: true initially_deferred: true }
  unique { name: "parent_code_key" column: "code" deferrable: true }
}
table {
  name: "ref"
  column { name: "id" type: "integer" not_null: true }
  primary_key { name: "ref_pkey" column: "id" }
}
table {
  name: "child"
  column { name: "parent_id" type: "integer" }
  column { name: "score" type: "integer" }
  foreign_key { name: "child_parent_fkey" column: "parent_id" references_table: "ref"
                references_column: "id" not_valid: true }
  check { name: "child_local" expression: "parent_id IS NOT NULL" no_inherit: true }
  check { name: "child_score_check" expression: "score >= 0" not_valid: true }
})reg"));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::ElementsAre("MISSING constraint child.child_score_check"));
  ASSERT_EQ(diff->plan.steps.size(), 1u);
  EXPECT_EQ(diff->plan.steps[0].sql,
            "ALTER TABLE public.child ADD CONSTRAINT child_score_check CHECK ((score >= 0)) "
            "NOT VALID");
  EXPECT_THAT(diff->plan.steps[0].hazards, IsEmpty()) << "NOT VALID scans no row";
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_FALSE(db->Query("SELECT convalidated FROM pg_constraint WHERE conname = "
                         "'child_score_check'")[0][0]
                   .as<bool>());

  // inspect writes them back as declared, and the result is in sync too.
  ExpectInspectRoundTrips(*db, engine);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Identity options (a descending one, a cycling one with a custom range) are
// read as PostgreSQL stores them, compared with the registry's, and written
// back by inspect, in both formats, with only what differs from the
// defaults.
TEST(EngineTest, IdentityOptionsAreDeclaredComparedAndRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE tickets (
  id bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 10 CACHE 5) PRIMARY KEY,
  countdown integer GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY -1),
  ring smallint GENERATED BY DEFAULT AS IDENTITY (MINVALUE 5 MAXVALUE 50 CYCLE));
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "tickets"
  column { name: "id" type: "bigint" not_null: true identity: IDENTITY_ALWAYS
           identity_options { start: 1000 increment: 10 cache: 5 } }
  column { name: "countdown" type: "integer" not_null: true identity: IDENTITY_BY_DEFAULT
           identity_options { increment: -1 } }
  column { name: "ring" type: "smallint" not_null: true identity: IDENTITY_BY_DEFAULT
           identity_options { min_value: 5 max_value: 50 cycle: true } }
  primary_key { name: "tickets_pkey" column: "id" }
})reg"));
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  absl::StatusOr<Schema> live = engine.Inspect(Deadline());
  ASSERT_TRUE(live.ok()) << live.status();
  const Table* t = live->FindTable("tickets");
  ASSERT_NE(t, nullptr);
  // Only what differs from the defaults is kept.
  EXPECT_EQ(IdentityOptionsSql(t->FindColumn("id")->identity_options),
            "START WITH 1000 INCREMENT BY 10 CACHE 5");
  EXPECT_EQ(IdentityOptionsSql(t->FindColumn("countdown")->identity_options), "INCREMENT BY -1");
  EXPECT_EQ(IdentityOptionsSql(t->FindColumn("ring")->identity_options),
            "MINVALUE 5 MAXVALUE 50 CYCLE");
  ExpectInspectRoundTrips(*db, engine);
}

// Column collations (a built-in one, one of another schema, an array's,
// one in a domain-free varchar) are read where they differ from the type's,
// declared as SQL names them, compared, and written back by inspect in both
// formats; the type's own collation named explicitly is no difference.
TEST(EngineTest, ColumnCollationsAreDeclaredComparedAndRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE SCHEMA colls;
CREATE COLLATION colls.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE words (
  id integer PRIMARY KEY,
  code varchar(20) COLLATE "C" NOT NULL DEFAULT 'a',
  tags text[] COLLATE "POSIX",
  plain text COLLATE "default",
  folded text COLLATE colls.ci);
CREATE INDEX words_code ON words (code);
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "words"
  column { name: "id" type: "integer" not_null: true }
  column { name: "code" type: "character varying(20)" collation: "\"C\"" not_null: true
           default: "'a'::character varying" }
  column { name: "tags" type: "text[]" collation: "\"POSIX\"" }
  column { name: "plain" type: "text" }
  column { name: "folded" type: "text" collation: "colls.ci" }
  primary_key { name: "words_pkey" column: "id" }
  index { name: "words_code" key { column: "code" } }
})reg"));
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  absl::StatusOr<Schema> live = engine.Inspect(Deadline());
  ASSERT_TRUE(live.ok()) << live.status();
  const Table* t = live->FindTable("words");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->FindColumn("code")->collation, "\"C\"");
  EXPECT_EQ(t->FindColumn("tags")->collation, "\"POSIX\"");
  EXPECT_EQ(t->FindColumn("plain")->collation, "");
  EXPECT_EQ(t->FindColumn("folded")->collation, "colls.ci");
  ExpectInspectRoundTrips(*db, engine);

  // A collation changed in the database is a difference of its own, planned
  // as ALTER COLUMN ... TYPE with the same type.
  db->Exec(R"sql(ALTER TABLE words ALTER COLUMN code TYPE varchar(20) COLLATE "POSIX")sql");
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::ElementsAre("CHANGED column words.code collation"));
  ASSERT_EQ(diff->plan.steps.size(), 1u);
  EXPECT_EQ(diff->plan.steps[0].sql,
            "ALTER TABLE public.words ALTER COLUMN code TYPE character varying(20) COLLATE \"C\"");
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(
      db->Query("SELECT collname FROM pg_attribute a JOIN pg_collation c ON c.oid = "
                "a.attcollation WHERE attrelid = 'words'::regclass AND attname = 'code'")[0][0]
          .as<std::string>(),
      "C");
}

// Unlogged tables and row level security (enabled, forced) are read,
// declared in both formats, created with the table, and written back by
// inspect.
TEST(EngineTest, UnloggedTablesAndRowLevelSecurityRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE UNLOGGED TABLE cache (k text PRIMARY KEY, v text);
CREATE TABLE secrets (id integer PRIMARY KEY, owner text NOT NULL);
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
)sql");
  const Registry registry = testing::MustLoadRegistry(R"reg(table {
  name: "cache"
  unlogged: true
  column { name: "k" type: "text" not_null: true }
  column { name: "v" type: "text" }
  primary_key { name: "cache_pkey" column: "k" }
}
table {
  name: "secrets"
  row_level_security: true
  force_row_level_security: true
  column { name: "id" type: "integer" not_null: true }
  column { name: "owner" type: "text" not_null: true }
  primary_key { name: "secrets_pkey" column: "id" }
})reg");
  Engine engine(db->pool(), registry);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  ExpectInspectRoundTrips(*db, engine);

  // Storage parameters of a table and of a materialized view round-trip
  // too.
  db->Exec(R"sql(
ALTER TABLE cache SET (fillfactor = 60, autovacuum_enabled = off);
CREATE MATERIALIZED VIEW cache_keys WITH (fillfactor = 70) AS SELECT k FROM cache;
)sql");
  absl::StatusOr<Schema> live = engine.Inspect(Deadline());
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_THAT(live->FindTable("cache")->storage,
              ::testing::ElementsAre("autovacuum_enabled=off", "fillfactor=60"));
  ASSERT_NE(live->FindView("cache_keys"), nullptr);
  EXPECT_THAT(live->FindView("cache_keys")->storage, ::testing::ElementsAre("fillfactor=70"));
  ExpectInspectRoundTrips(*db, engine);

  // Created on an empty database with both properties.
  auto fresh = testing::TestDb::Create();
  Engine creating(fresh->pool(), registry);
  absl::StatusOr<InitializeResult> init = creating.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(fresh
                ->Query("SELECT relpersistence::text || relrowsecurity::text || "
                        "relforcerowsecurity::text FROM pg_class WHERE relname = 'cache'")[0][0]
                .as<std::string>(),
            "ufalsefalse");
  EXPECT_EQ(fresh
                ->Query("SELECT relpersistence::text || relrowsecurity::text || "
                        "relforcerowsecurity::text FROM pg_class WHERE relname = 'secrets'")[0][0]
                .as<std::string>(),
            "ptruetrue");
}

// REPLICA IDENTITY (FULL, NOTHING, USING INDEX of a unique index or of a
// unique constraint) is read, declared in both formats, set when the table
// is created, and written back by inspect.
TEST(EngineTest, ReplicaIdentitiesRoundTripAndAreCreatedWithTheirTables) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE events (id integer PRIMARY KEY, body text);
ALTER TABLE events REPLICA IDENTITY FULL;
CREATE TABLE audit (id integer);
ALTER TABLE audit REPLICA IDENTITY NOTHING;
CREATE TABLE accounts (id integer NOT NULL, email text NOT NULL, CONSTRAINT accounts_email_key UNIQUE (email));
CREATE UNIQUE INDEX accounts_id ON accounts (id);
ALTER TABLE accounts REPLICA IDENTITY USING INDEX accounts_id;
CREATE TABLE users (id integer NOT NULL, email text NOT NULL, CONSTRAINT users_email_key UNIQUE (email));
ALTER TABLE users REPLICA IDENTITY USING INDEX users_email_key;
)sql");
  const std::string textproto = R"reg(table {
  name: "events"
  replica_identity: REPLICA_IDENTITY_FULL
  column { name: "id" type: "integer" not_null: true }
  column { name: "body" type: "text" }
  primary_key { name: "events_pkey" column: "id" }
}
table {
  name: "audit"
  replica_identity: REPLICA_IDENTITY_NOTHING
  column { name: "id" type: "integer" }
}
table {
  name: "accounts"
  replica_identity: REPLICA_IDENTITY_USING_INDEX
  replica_identity_index: "accounts_id"
  column { name: "id" type: "integer" not_null: true }
  column { name: "email" type: "text" not_null: true }
  unique { name: "accounts_email_key" column: "email" }
  index { name: "accounts_id" unique: true key { column: "id" } }
}
table {
  name: "users"
  replica_identity: REPLICA_IDENTITY_USING_INDEX
  replica_identity_index: "users_email_key"
  column { name: "id" type: "integer" not_null: true }
  column { name: "email" type: "text" not_null: true }
  unique { name: "users_email_key" column: "email" }
})reg";
  const Registry registry = testing::MustLoadRegistry(textproto);
  Engine engine(db->pool(), registry);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  ExpectInspectRoundTrips(*db, engine);

  // A registry naming an index the table does not have is refused with
  // its place.
  absl::StatusOr<Registry> unknown =
      LoadRegistry({{"r.textproto", absl::StrReplaceAll(textproto, {{"replica_identity_index: "
                                                                     "\"accounts_id\"",
                                                                     "replica_identity_index: "
                                                                     "\"nope\""}})}},
                   "test");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("replica_identity_index: \"nope\" is not a unique index"));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("r.textproto:"));

  // Created on an empty database, from the textproto and from SQL.
  const std::string sql = R"sql(
CREATE TABLE accounts (id integer NOT NULL, email text NOT NULL);
ALTER TABLE accounts REPLICA IDENTITY USING INDEX accounts_id;
CREATE UNIQUE INDEX accounts_id ON accounts (id);
CREATE TABLE events (id integer PRIMARY KEY, body text);
ALTER TABLE events REPLICA IDENTITY FULL;
)sql";
  absl::StatusOr<Registry> from_sql = LoadRegistry({{"schema.sql", sql}}, "test");
  ASSERT_TRUE(from_sql.ok()) << from_sql.status();
  for (const Registry* r : std::vector<const Registry*>{&registry, &*from_sql}) {
    auto fresh = testing::TestDb::Create();
    Engine creating(fresh->pool(), *r);
    absl::StatusOr<InitializeResult> init = creating.Initialize({}, Deadline());
    ASSERT_TRUE(init.ok()) << init.status();
    EXPECT_EQ(init->outcome, Outcome::kApplied);
    EXPECT_EQ(fresh->Query("SELECT relreplident::text FROM pg_class WHERE relname = 'events'")[0][0]
                  .as<std::string>(),
              "f");
    EXPECT_EQ(fresh
                  ->Query("SELECT c.relreplident::text || i.indexrelid::regclass::text "
                          "FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid "
                          "WHERE c.relname = 'accounts' AND i.indisreplident")[0][0]
                  .as<std::string>(),
              "iaccounts_id");
    absl::StatusOr<DiffResult> after = creating.Diff(Deadline());
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty());
  }
}

// A fresh database and an engine for the registry of one file, brought to
// it by a default Initialize (asserted to apply).
struct Fresh {
  std::unique_ptr<testing::TestDb> db;
  std::unique_ptr<Engine> engine;
};
void InitializeFresh(const std::string& file, const std::string& text, Fresh* out) {
  absl::StatusOr<Registry> registry = LoadRegistry({{file, text}}, "test");
  ASSERT_TRUE(registry.ok()) << registry.status();
  out->db = testing::TestDb::Create();
  out->engine = std::make_unique<Engine>(out->db->pool(), *registry);
  absl::StatusOr<InitializeResult> init = out->engine->Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied) << file;
}

// Exclusion constraints are read, declared (textproto and SQL), created
// with their tables and written back by inspect; a definition that is not
// one EXCLUDE constraint is refused at its field.
TEST(EngineTest, ExclusionConstraintsRoundTripAndAreCreatedWithTheirTables) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE bookings (room integer NOT NULL, during tsrange NOT NULL, note text,
  CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (room > 0) DEFERRABLE);
COMMENT ON CONSTRAINT no_overlap ON bookings IS 'one booking per room at a time';
)sql");
  const std::string textproto = R"reg(registry { extension { name: "btree_gist" } }
table {
  name: "bookings"
  column { name: "room" type: "integer" not_null: true }
  column { name: "during" type: "tsrange" not_null: true }
  column { name: "note" type: "text" }
  exclude { name: "no_overlap" definition: "EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (room > 0) DEFERRABLE" comment: "one booking per room at a time" }
})reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(textproto));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), IsEmpty());
  ExpectInspectRoundTrips(*db, engine);

  // Dropped in the database: reported and planned, not silently in sync.
  db->Exec("ALTER TABLE bookings DROP CONSTRAINT no_overlap");
  absl::StatusOr<DiffResult> missing = engine.Diff(Deadline());
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_THAT(DescribeDifferences(missing->differences),
              ::testing::ElementsAre("MISSING constraint bookings.no_overlap"));

  // Created with the table on an empty database, from textproto and SQL.
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"r.textproto", textproto},
           {"r.sql",
            "CREATE EXTENSION IF NOT EXISTS btree_gist;\n"
            "CREATE TABLE bookings (room integer NOT NULL, during tsrange NOT NULL, note text);\n"
            "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, "
            "during "
            "WITH &&) WHERE (room > 0) DEFERRABLE;\n"
            "COMMENT ON CONSTRAINT no_overlap ON bookings IS 'one booking per room at a "
            "time';\n"}}) {
    Fresh created;
    ASSERT_NO_FATAL_FAILURE(InitializeFresh(file, text, &created));
    testing::TestDb* fresh = created.db.get();
    EXPECT_EQ(fresh
                  ->Query("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = "
                          "'no_overlap'")[0][0]
                  .as<std::string>(),
              "EXCLUDE USING gist (room WITH =, during WITH &&) WHERE ((room > 0)) DEFERRABLE");
    fresh->Exec("INSERT INTO bookings VALUES (1, '[2026-01-01,2026-01-05)')");
    EXPECT_THROW(fresh->Exec("INSERT INTO bookings VALUES (1, '[2026-01-03,2026-01-04)')"),
                 std::exception);
  }

  // Not one EXCLUDE constraint: refused at its field, nothing run.
  absl::StatusOr<Registry> hostile = LoadRegistry(
      {{"r.textproto",
        absl::StrReplaceAll(textproto, {{"WHERE (room > 0) DEFERRABLE",
                                         "WHERE (room > 0)); DROP TABLE bookings; --"}})}},
      "test");
  ASSERT_FALSE(hostile.ok());
  EXPECT_THAT(std::string(hostile.status().message()), HasSubstr("r.textproto:"));
  EXPECT_THAT(std::string(hostile.status().message()), HasSubstr("is not one EXCLUDE constraint"));
}

// LEAKPROOF, COST, ROWS and SQL-standard bodies of functions, and the
// transition tables of triggers, are read, compared and written back by
// inspect in both formats: a database holding them round-trips, and a
// registry without them is not in sync.
TEST(EngineTest, FunctionEstimatesLeakproofAndTransitionTablesRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE t (a integer);
CREATE FUNCTION same(x integer) RETURNS integer LANGUAGE sql IMMUTABLE LEAKPROOF COST 5
  RETURN x;
CREATE FUNCTION many(VARIADIC xs integer[]) RETURNS SETOF integer LANGUAGE sql STABLE ROWS 10
  AS 'SELECT unnest(xs)';
CREATE FUNCTION atomic_sum(x integer, y integer) RETURNS integer LANGUAGE sql
  BEGIN ATOMIC SELECT x + y; END;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER t_batch AFTER UPDATE ON t REFERENCING OLD TABLE AS gone NEW TABLE AS "New Rows"
  FOR EACH STATEMENT EXECUTE FUNCTION trg();
)sql");
  Engine engine(db->pool(),
                testing::MustLoadRegistry(
                    R"reg(table { name: "t" column { name: "a" type: "integer" } })reg"));
  ExpectInspectRoundTrips(*db, engine);
  absl::StatusOr<Schema> live = engine.Inspect(Deadline());
  ASSERT_TRUE(live.ok()) << live.status();
  const Function* same = live->FindFunction("same(integer)");
  ASSERT_NE(same, nullptr);
  EXPECT_TRUE(same->leakproof);
  EXPECT_EQ(same->cost, 5);
  EXPECT_TRUE(same->sql_body);
  ASSERT_NE(live->FindFunction("many(integer[])"), nullptr);
  EXPECT_EQ(live->FindFunction("many(integer[])")->rows, 10);
  EXPECT_EQ(live->FindFunction("many(integer[])")->cost, 0) << "the default reads as unset";

  // Declared without them: differences, not a silent IN_SYNC.
  Engine plain(db->pool(), testing::MustLoadRegistry(R"reg(
function { name: "same" arguments: "x integer" returns: "integer" language: "sql" body: "RETURN x" sql_body: true volatility: VOLATILITY_IMMUTABLE }
function { name: "many" arguments: "VARIADIC xs integer[]" returns: "SETOF integer" language: "sql" body: "SELECT unnest(xs)" volatility: VOLATILITY_STABLE }
function { name: "atomic_sum" arguments: "x integer, y integer" returns: "integer" language: "sql" body: "BEGIN ATOMIC\n SELECT (x + y);\nEND" sql_body: true }
function { name: "trg" returns: "trigger" language: "plpgsql" body: "BEGIN RETURN NULL; END" }
table {
  name: "t"
  column { name: "a" type: "integer" }
  trigger { name: "t_batch" timing: TRIGGER_TIMING_AFTER event: TRIGGER_EVENT_UPDATE function: "trg" }
})reg"));
  absl::StatusOr<DiffResult> diff = plain.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::UnorderedElementsAre("CHANGED function same(integer) definition",
                                              "CHANGED function many(integer[]) definition",
                                              "CHANGED trigger t.t_batch definition"));
}

// A SQL-standard body binds the functions it calls when it is created: they
// are created before it (not in name order), so that it binds to the
// registry's function and not to a same-named one of the target schema.
TEST(EngineTest, FunctionsAreCreatedAfterTheFunctionsTheirBodiesCall) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE FUNCTION add(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE FUNCTION "zz inc"(i integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN i + 1;
CREATE FUNCTION combined(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE
  RETURN add(a, b) + "zz inc"(a);
)sql");
  const std::string registry = R"reg(
function { name: "combined" arguments: "a integer, b integer" returns: "integer" language: "sql" body: "RETURN (add(a, b) + \"zz inc\"(a))" sql_body: true volatility: VOLATILITY_IMMUTABLE }
function { name: "add" arguments: "a integer, b integer" returns: "integer" language: "sql" body: "RETURN (a + b)" sql_body: true volatility: VOLATILITY_IMMUTABLE }
function { name: "zz inc" arguments: "i integer" returns: "integer" language: "sql" body: "RETURN (i + 1)" sql_body: true volatility: VOLATILITY_IMMUTABLE }
)reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), IsEmpty());
  ExpectInspectRoundTrips(*db, engine);

  // On an empty database: created callee first, and the result computes.
  auto fresh = testing::TestDb::Create();
  Engine creating(fresh->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<InitializeResult> init = creating.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(fresh->Query("SELECT combined(2, 3)")[0][0].as<int>(), 8);
  absl::StatusOr<DiffResult> after = creating.Diff(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty());
}

// A materialized view's storage parameters are created with it and, when
// they drift, set back with ALTER MATERIALIZED VIEW (no re-creation).
TEST(EngineTest, MaterializedViewStorageParametersAreAlteredInPlace) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "t"
  column { name: "k" type: "text" }
}
view {
  name: "mv"
  materialized: true
  query: "SELECT k FROM t"
  storage_parameter: "fillfactor=70"
})reg"));
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec("ALTER MATERIALIZED VIEW mv SET (fillfactor = 50, autovacuum_enabled = false)");
  const int64_t oid = db->Query("SELECT 'mv'::regclass::oid")[0][0].as<int64_t>();
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::ElementsAre("CHANGED materialized_view mv options"));
  std::vector<std::string> sql;
  for (const PlanStep& s : diff->plan.steps) sql.push_back(s.sql);
  EXPECT_THAT(sql, ::testing::ElementsAre("ALTER MATERIALIZED VIEW public.mv SET (fillfactor=70)",
                                          "ALTER MATERIALIZED VIEW public.mv RESET "
                                          "(autovacuum_enabled)"));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(db->Query("SELECT 'mv'::regclass::oid")[0][0].as<int64_t>(), oid) << "not re-created";
}

// Sequences of their own (options, OWNED BY without a default, one a
// column default calls) are declared, kept, compared, and written back by
// inspect exactly.
TEST(EngineTest, StandaloneSequencesAreDeclaredComparedAndRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE invoices (id bigint PRIMARY KEY, number bigint, code integer);
CREATE SEQUENCE invoice_numbers START WITH 1000 INCREMENT BY 10 CACHE 5;
ALTER TABLE invoices ALTER COLUMN number SET DEFAULT nextval('invoice_numbers');
CREATE SEQUENCE countdown AS integer INCREMENT BY -1 CYCLE OWNED BY invoices.code;
SELECT nextval('invoice_numbers');
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(registry {
  sequence { name: "invoice_numbers" start: 1000 increment: 10 cache: 5 }
  sequence { name: "countdown" type: "integer" increment: -1 cycle: true
             owned_by_table: "invoices" owned_by_column: "code" }
}
table {
  name: "invoices"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "number" type: "bigint" default: "nextval('invoice_numbers')" }
  column { name: "code" type: "integer" }
  primary_key { name: "invoices_pkey" column: "id" }
})reg"));
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync) << "declared sequences are not extra";
  ExpectInspectRoundTrips(*db, engine);
  // A changed option is a difference, fixed without touching the value.
  db->Exec("ALTER SEQUENCE countdown NO CYCLE");
  const int64_t before = db->Query("SELECT last_value FROM invoice_numbers")[0][0].as<int64_t>();
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_TRUE(
      db->Query("SELECT seqcycle FROM pg_sequence WHERE seqrelid = 'countdown'::regclass")[0][0]
          .as<bool>());
  EXPECT_EQ(db->Query("SELECT last_value FROM invoice_numbers")[0][0].as<int64_t>(), before);
}

// A new default of a new type waits for its column's type change: when that
// is blocked (no cast), the default is blocked too instead of failing at
// apply time (42804); with a `using`, both apply.
TEST(EngineTest, ADefaultOfANewTypeWaitsForTheBlockedTypeChange) {
  auto db = testing::TestDb::Create();
  db->Exec(
      "CREATE TABLE events (id integer PRIMARY KEY, happened bigint DEFAULT 0); "
      "INSERT INTO events VALUES (1, 1700000000)");
  const std::string table = R"reg(table {
  name: "events"
  column { name: "id" type: "integer" not_null: true }
  column { name: "happened" type: "timestamp with time zone" default: "CURRENT_TIMESTAMP" USING }
  primary_key { name: "events_pkey" column: "id" }
})reg";
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  Engine blocked(db->pool(),
                 testing::MustLoadRegistry(absl::StrReplaceAll(table, {{" USING", ""}})));
  absl::StatusOr<DiffResult> diff = blocked.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  for (const PlanStep& s : diff->plan.steps) {
    if (absl::StrContains(s.sql, "SET DEFAULT")) {
      EXPECT_THAT(s.blocked, HasSubstr("whose type change cannot run")) << s.sql;
    }
  }
  absl::StatusOr<InitializeResult> init = blocked.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kPartial);
  EXPECT_EQ(db->Query("SELECT happened FROM events")[0][0].as<int64_t>(), 1700000000);
  EXPECT_EQ(db->Query("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = "
                      "'events'::regclass")[0][0]
                .as<std::string>(),
            "0")
      << "the old default stays while the type cannot change";

  Engine converting(db->pool(), testing::MustLoadRegistry(absl::StrReplaceAll(
                                    table, {{" USING", " using: \"to_timestamp(happened)\""}})));
  init = converting.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = converting.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
}

// A type change PostgreSQL has no cast for is reported when planning, with
// what to declare, and never attempted; with a `using` it applies.
TEST(EngineTest, ATypeChangeWithoutACastIsBlockedUntilTheRegistrySaysHowToConvert) {
  auto db = testing::TestDb::Create();
  db->Exec(
      "CREATE TABLE events (id integer PRIMARY KEY, happened bigint); "
      "INSERT INTO events VALUES (1, 1700000000)");
  const std::string table = R"reg(table {
  name: "events"
  column { name: "id" type: "integer" not_null: true }
  column { name: "happened" type: "timestamp with time zone" USING }
  primary_key { name: "events_pkey" column: "id" }
})reg";
  Engine blocked(db->pool(),
                 testing::MustLoadRegistry(absl::StrReplaceAll(table, {{" USING", ""}})));
  absl::StatusOr<DiffResult> diff = blocked.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->plan.steps.size(), 1u);
  EXPECT_THAT(diff->plan.steps[0].blocked, HasSubstr("no cast from bigint to timestamp"));
  EXPECT_THAT(diff->plan.steps[0].blocked, HasSubstr("using"));
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<InitializeResult> init = blocked.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status() << " (never attempted, so never failed)";
  EXPECT_EQ(init->outcome, Outcome::kPartial);
  EXPECT_THAT(init->cause, HasSubstr("no cast"));
  absl::StatusOr<StatusResult> status = blocked.Status(Deadline());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, SyncState::kDrifted);

  Engine converting(db->pool(), testing::MustLoadRegistry(absl::StrReplaceAll(
                                    table, {{" USING", " using: \"to_timestamp(happened)\""}})));
  init = converting.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(
      db->Query("SELECT extract(epoch FROM happened)::bigint FROM events")[0][0].as<int64_t>(),
      1700000000);
}

// Objects of kinds schemad does not manage are reported as UNMANAGED,
// never planned or dropped, and leave Status's verdict alone.
TEST(EngineTest, UnmanagedObjectsAreReportedNeverDroppedAndLeaveTheVerdictAlone) {
  auto db = testing::TestDb::Create();
  const std::string registry = R"reg(table {
  name: "items"
  column { name: "id" type: "integer" not_null: true }
  column { name: "title" type: "text" }
  primary_key { name: "items_pkey" column: "id" }
})reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec(R"sql(
CREATE AGGREGATE total(integer) (SFUNC = int4pl, STYPE = integer);
CREATE POLICY p_all ON items USING (true);
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
)sql");
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(
      DescribeDifferences(diff->differences),
      ::testing::UnorderedElementsAre("UNMANAGED function total(integer)",
                                      "UNMANAGED policy items.p_all", "UNMANAGED domain positive"));
  EXPECT_THAT(diff->plan.steps, IsEmpty());
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<InitializeResult> init = engine.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kAlreadyInSync);
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_proc WHERE proname = 'total'")[0][0].as<int>(), 1);
  // An ignore pattern silences them like any other object.
  Engine ignoring(db->pool(),
                  testing::MustLoadRegistry(absl::StrCat("registry { ignore: \"total\" "
                                                         "ignore: \"p_*\" ignore: \"positive\" }\n",
                                                         registry)));
  diff = ignoring.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::ElementsAre("UNMANAGED function total(integer)"))
      << "a function's name carries its arguments";
}

// Columns of an unmanaged type of the schema (a domain, a composite type)
// and intervals restricted to some fields: inspect's output loads back in
// both formats and differs only by the unmanaged objects themselves.
// `schemad inspect` of the database: through an engine whose registry
// declares an unrelated table.
absl::StatusOr<Schema> InspectLive(testing::TestDb& db) {
  Engine engine(db.pool(),
                testing::MustLoadRegistry(
                    R"reg(table { name: "x" column { name: "a" type: "integer" } })reg"));
  return engine.Inspect(Deadline());
}

// Inspect's policy lives in the engine (not in `schemad inspect`): what a
// registry of the schema would declare. Alembic's table is ignored, and of
// the database-wide extensions only the schema's own are kept, named as a
// registry declares them; a registry written from it is in sync.
TEST(EngineTest, InspectReturnsWhatARegistryOfTheSchemaDeclares) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE SCHEMA other;
CREATE EXTENSION pg_trgm SCHEMA other;
CREATE EXTENSION btree_gist SCHEMA public;
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);
)sql");
  absl::StatusOr<Schema> live = InspectLive(*db);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_THAT(live->ignore, ::testing::ElementsAre("alembic_version"));
  ASSERT_EQ(live->extensions.size(), 1u);
  EXPECT_EQ(live->extensions[0].name, "btree_gist");
  EXPECT_EQ(live->extensions[0].schema, "");
  const std::string dir = testing::TempDir() + "/inspected";
  ASSERT_TRUE(WriteRegistryDir(*live, dir, {}).ok());
  absl::StatusOr<Registry> inspected = LoadRegistryDir(dir);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  Engine again(db->pool(), *inspected);
  absl::StatusOr<StatusResult> status = again.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
}

TEST(EngineTest, ColumnsOfUnmanagedTypesRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE TABLE t (p positive, ps positive[], q pair, i interval day to second(3));
)sql");
  absl::StatusOr<Schema> live = InspectLive(*db);
  ASSERT_TRUE(live.ok()) << live.status();
  for (RegistryFormat format : {RegistryFormat::kTextproto, RegistryFormat::kSql}) {
    const std::string dir = testing::TempDir() + "/inspected";
    ASSERT_TRUE(WriteRegistryDir(*live, dir, {.format = format}).ok());
    absl::StatusOr<Registry> inspected = LoadRegistryDir(dir);
    ASSERT_TRUE(inspected.ok()) << inspected.status();
    Engine again(db->pool(), *inspected);
    absl::StatusOr<DiffResult> round = again.Diff(Deadline());
    ASSERT_TRUE(round.ok()) << round.status();
    EXPECT_THAT(DescribeDifferences(round->differences),
                ::testing::UnorderedElementsAre("UNMANAGED domain positive",
                                                "UNMANAGED composite_type pair"))
        << (format == RegistryFormat::kSql ? "as SQL" : "as textproto");
    EXPECT_THAT(round->plan.steps, IsEmpty());
  }
}

// Triggers of views (an updatable view's INSTEAD OF trigger, a statement
// trigger) are managed: declared in both formats, created with the view,
// written back by inspect; a disabled one or one on a materialized view is
// refused at its field.
TEST(EngineTest, TriggersOfViewsRoundTripAndWorkThroughTheView) {
  const std::string textproto = R"reg(
function { name: "write_through" returns: "trigger" language: "plpgsql" body: "BEGIN INSERT INTO t VALUES (NEW.a); RETURN NEW; END" }
table { name: "t" column { name: "a" type: "integer" } }
view {
  name: "v"
  query: "SELECT a FROM t"
  trigger { name: "v_insert" timing: TRIGGER_TIMING_INSTEAD_OF event: TRIGGER_EVENT_INSERT for_each_row: true function: "write_through" comment: "writes to t" }
})reg";
  const std::string sql = R"sql(
CREATE TABLE t (a integer);
CREATE FUNCTION write_through() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN INSERT INTO t VALUES (NEW.a); RETURN NEW; END';
CREATE VIEW v AS SELECT a FROM t;
CREATE TRIGGER v_insert INSTEAD OF INSERT ON v FOR EACH ROW EXECUTE FUNCTION write_through();
COMMENT ON TRIGGER v_insert ON v IS 'writes to t';
)sql";
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"r.textproto", textproto}, {"r.sql", sql}}) {
    Fresh created;
    ASSERT_NO_FATAL_FAILURE(InitializeFresh(file, text, &created));
    testing::TestDb* db = created.db.get();
    Engine& engine = *created.engine;
    db->Exec("INSERT INTO v VALUES (7)");
    EXPECT_EQ(db->Query("SELECT a FROM t")[0][0].as<int>(), 7);
    absl::StatusOr<DiffResult> after = engine.Diff(Deadline());
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty()) << file;
    ExpectInspectRoundTrips(*db, engine);
    // Dropped in the database: MISSING, and planned back.
    db->Exec("DROP TRIGGER v_insert ON v");
    absl::StatusOr<DiffResult> missing = engine.Diff(Deadline());
    ASSERT_TRUE(missing.ok()) << missing.status();
    EXPECT_THAT(DescribeDifferences(missing->differences),
                ::testing::ElementsAre("MISSING trigger v.v_insert"));
  }
  for (const auto& [from, to, message] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"comment: \"writes to t\"", "enabled: TRIGGER_DISABLED", "cannot be disabled"},
           {"query: \"SELECT a FROM t\"", "query: \"SELECT a FROM t\" materialized: true",
            "cannot have triggers"}}) {
    absl::StatusOr<Registry> bad =
        LoadRegistry({{"r.textproto", absl::StrReplaceAll(textproto, {{from, to}})}}, "test");
    ASSERT_FALSE(bad.ok()) << to;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr("r.textproto:")) << to;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(message)) << to;
  }
}

// A column's physical settings (storage, compression, statistics target)
// are read, declared in both formats, set when the table is created, and
// written back by inspect.
TEST(EngineTest, ColumnPhysicalSettingsRoundTripAndAreCreatedWithTheirTables) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE docs (id integer, body text COMPRESSION lz4, raw bytea, title text);
ALTER TABLE docs ALTER COLUMN raw SET STORAGE EXTERNAL;
ALTER TABLE docs ALTER COLUMN title SET STATISTICS 1000;
ALTER TABLE docs ALTER COLUMN id SET (n_distinct = -0.5);
)sql");
  const std::string textproto = R"reg(table {
  name: "docs"
  column { name: "id" type: "integer" option: "n_distinct=-0.5" }
  column { name: "body" type: "text" compression: "lz4" }
  column { name: "raw" type: "bytea" storage: "external" }
  column { name: "title" type: "text" statistics: 1000 }
})reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(textproto));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), IsEmpty());
  ExpectInspectRoundTrips(*db, engine);
  const std::string settings =
      "SELECT string_agg(attname || ':' || attstorage::text || ':' || attcompression::text || ':' "
      "|| "
      "attstattarget || ':' || coalesce(attoptions::text, ''), ' ' ORDER BY attnum) FROM "
      "pg_attribute WHERE attrelid = 'docs'::regclass "
      "AND attnum > 0";
  const std::string want = db->Query(settings)[0][0].as<std::string>();
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"r.textproto", textproto},
           {"r.sql",
            "CREATE TABLE docs (id integer, body text COMPRESSION lz4, raw bytea, title text);\n"
            "ALTER TABLE docs ALTER COLUMN raw SET STORAGE EXTERNAL;\n"
            "ALTER TABLE docs ALTER COLUMN title SET STATISTICS 1000;\n"
            "ALTER TABLE docs ALTER COLUMN id SET (n_distinct = -0.5);\n"}}) {
    Fresh created;
    ASSERT_NO_FATAL_FAILURE(InitializeFresh(file, text, &created));
    EXPECT_EQ(created.db->Query(settings)[0][0].as<std::string>(), want) << file;
  }
  absl::StatusOr<Registry> bad = LoadRegistry(
      {{"r.textproto",
        absl::StrReplaceAll(textproto, {{"storage: \"external\"", "storage: \"sideways\""}})}},
      "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("storage \"sideways\" is not plain, external, extended or main"));
}

// Table inheritance (INHERITS) and partitioning are not managed: reported
// as UNMANAGED, not silently in sync, and never undone.
TEST(EngineTest, TableInheritanceAndPartitioningAreReportedAsUnmanaged) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "parent"
  column { name: "id" type: "integer" }
}
table {
  name: "child"
  column { name: "id" type: "integer" }
  column { name: "x" type: "integer" }
})reg"));
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec("ALTER TABLE child INHERIT parent");
  // Partitioning too: the partitioned table's PARTITION BY and its
  // partitions.
  db->Exec(R"sql(
CREATE TABLE events (id integer, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
)sql");
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::UnorderedElementsAre("UNMANAGED inheritance child.public.parent",
                                              "EXTRA table events", "UNMANAGED partitioning events",
                                              "UNMANAGED partition events.events_2026"));
  // The table declared (as a plain table): only the unmanaged parts remain.
  Engine declared(db->pool(), testing::MustLoadRegistry(R"reg(
table { name: "parent" column { name: "id" type: "integer" } }
table { name: "child" column { name: "id" type: "integer" } column { name: "x" type: "integer" } }
table { name: "events" column { name: "id" type: "integer" } column { name: "at" type: "date" } })reg"));
  diff = declared.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences),
              ::testing::UnorderedElementsAre("UNMANAGED inheritance child.public.parent",
                                              "UNMANAGED partitioning events",
                                              "UNMANAGED partition events.events_2026"));
  EXPECT_THAT(diff->plan.steps, IsEmpty());
  absl::StatusOr<StatusResult> status = declared.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
}

// A drop or type change that an unmanaged object (here a view the registry
// ignores) depends on is reported when planning, naming it, instead of
// failing at apply time.
TEST(EngineTest, ADropOrTypeChangeAViewDependsOnIsBlockedNamingTheView) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE items (id integer PRIMARY KEY, a integer, legacy text);
CREATE TABLE old_items (id integer PRIMARY KEY);
CREATE VIEW v_legacy AS SELECT id, a, legacy FROM items;
CREATE SCHEMA other;
CREATE TABLE other.refs (item integer REFERENCES public.old_items(id));
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(registry { ignore: "v_*" }
table {
  name: "items"
  column { name: "id" type: "integer" not_null: true }
  column { name: "a" type: "bigint" }
  primary_key { name: "items_pkey" column: "id" }
})reg"));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  std::map<std::string, std::string> blocked;
  for (const PlanStep& s : diff->plan.steps) blocked[s.sql] = s.blocked;
  EXPECT_THAT(blocked["ALTER TABLE public.items DROP COLUMN legacy"],
              HasSubstr("view public.v_legacy depends on items.legacy"));
  EXPECT_THAT(blocked["ALTER TABLE public.items ALTER COLUMN a TYPE bigint USING a::bigint"],
              HasSubstr("view public.v_legacy"));
  EXPECT_THAT(blocked["DROP TABLE public.old_items"],
              HasSubstr("foreign key refs_item_fkey of other.refs depends on old_items"));
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<InitializeResult> init = engine.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status() << " (reported, not attempted)";
  EXPECT_THAT(init->cause, HasSubstr("v_legacy"));
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_class WHERE relname = 'old_items'")[0][0].as<int>(),
            1);
  // Once the dependents are gone, the same plan applies.
  db->Exec("DROP VIEW v_legacy; DROP TABLE other.refs");
  init = engine.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, SyncState::kInSync);
}

// A policy (unmanaged) on a column blocks that column's drop and type
// change at plan time, naming it; a policy of a table that is dropped whole
// goes with it and blocks nothing.
TEST(EngineTest, APolicyOnAColumnBlocksItsDropAndTypeChange) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE docs (id integer PRIMARY KEY, owner text, level integer);
CREATE POLICY docs_owner ON docs USING (owner = current_user AND level > 0);
CREATE TABLE scratch (id integer PRIMARY KEY, who text);
CREATE POLICY scratch_who ON scratch USING (who = current_user);
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "docs"
  column { name: "id" type: "integer" not_null: true }
  column { name: "level" type: "bigint" }
  primary_key { name: "docs_pkey" column: "id" }
})reg"));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  std::map<std::string, std::string> blocked;
  for (const PlanStep& s : diff->plan.steps) blocked[s.sql] = s.blocked;
  EXPECT_THAT(blocked["ALTER TABLE public.docs DROP COLUMN owner"],
              HasSubstr("policy docs_owner on public.docs depends on docs.owner"));
  EXPECT_THAT(blocked["ALTER TABLE public.docs ALTER COLUMN level TYPE bigint USING level::bigint"],
              HasSubstr("policy docs_owner"));
  ASSERT_TRUE(blocked.count("DROP TABLE public.scratch"));
  EXPECT_EQ(blocked["DROP TABLE public.scratch"], "");
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<InitializeResult> init = engine.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status() << " (reported, not attempted)";
  EXPECT_EQ(init->outcome, Outcome::kPartial);
  EXPECT_THAT(init->cause, HasSubstr("docs_owner"));
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_class WHERE relname = 'scratch'")[0][0].as<int>(),
            0);
}

// A sequence whose owning column or table is dropped by the same plan is
// released first (OWNED BY NONE), then owned by its new column if it has
// one: dropping the old owner would otherwise drop the sequence.
TEST(EngineTest, ASequenceOutlivesTheOwnerThePlanDrops) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE SEQUENCE "foobar sequence" AS bigint INCREMENT BY 2 START WITH 10;
CREATE TABLE "some foobar" ("some id" bigint);
ALTER SEQUENCE "foobar sequence" OWNED BY "some foobar"."some id";
CREATE SEQUENCE moved;
CREATE TABLE a (id bigint, old_id bigint);
ALTER SEQUENCE moved OWNED BY a.old_id;
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(registry {
  sequence { name: "foobar sequence" type: "bigint" increment: 2 start: 10 }
  sequence { name: "moved" owned_by_table: "a" owned_by_column: "id" }
}
table {
  name: "a"
  column { name: "id" type: "bigint" }
})reg"));
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<InitializeResult> init = engine.Initialize({.allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(db->Query("SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relnamespace = "
                      "'public'::regnamespace")[0][0]
                .as<int>(),
            2);
}

// A foreign key to a table of another schema (which the registry does not
// manage) can be declared, is compared, and inspect writes it back.
TEST(EngineTest, ForeignKeysToAnotherSchemaRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE SCHEMA auth; CREATE TABLE auth.accounts (id integer PRIMARY KEY)");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "notes"
  column { name: "account_id" type: "integer" }
  foreign_key { name: "notes_account_fkey" column: "account_id" references_schema: "auth"
                references_table: "accounts" references_column: "id" on_delete: REFERENTIAL_ACTION_CASCADE }
})reg"));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(db->Query("SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = "
                      "'notes_account_fkey'")[0][0]
                .as<std::string>(),
            "auth.accounts");
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);

  ExpectInspectRoundTrips(*db, engine);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// integer -> serial used to plan a default on a sequence it never created
// (INTERNAL); serial -> integer left the owned sequence behind.
TEST(EngineTest, IntegerToSerialAndBackManageTheOwnedSequence) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE TABLE t (id integer NOT NULL, note text); INSERT INTO t VALUES (5, 'a')");
  Engine to_serial(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "t"
  column { name: "id" type: "serial" }
  column { name: "note" type: "text" }
})reg"));
  absl::StatusOr<InitializeResult> init = to_serial.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  db->Exec("INSERT INTO t (note) VALUES ('b')");
  EXPECT_EQ(db->Query("SELECT id FROM t WHERE note = 'b'")[0][0].as<int>(), 6)
      << "the new sequence starts after the largest value";
  absl::StatusOr<StatusResult> status = to_serial.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);

  Engine to_integer(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "t"
  column { name: "id" type: "integer" not_null: true }
  column { name: "note" type: "text" }
})reg"));
  absl::StatusOr<InitializeResult> refused = to_integer.Initialize({}, Deadline());
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->outcome, Outcome::kPartial) << "dropping the sequence needs DROPS_OBJECT";
  absl::StatusOr<InitializeResult> dropped =
      to_integer.Initialize({.allow_hazards = {HazardKind::kDropsObject}}, Deadline());
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->outcome, Outcome::kApplied);
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.t_id_seq')")[0][0].is_null());
  absl::StatusOr<StatusResult> after = to_integer.Status(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->state, SyncState::kInSync);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Views (over views), a materialized view with an index, options and
// comments on every kind: created in dependency order, in sync afterwards,
// and inspect writes them back to a registry that is in sync too.
// Canonicalizing creates the materialized view WITH NO DATA: its query
// (which advances a sequence) never runs before Initialize.
TEST(EngineTest, ViewsMaterializedViewsAndCommentsRoundTrip) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE SCHEMA probe; CREATE SEQUENCE probe.canary");
  const std::string registry = R"reg(registry {
  enum { name: "channel" label: "web" label: "shop" comment: "where orders come from" }
  sequence { name: "order_numbers" comment: "printed on invoices" }
}
table {
  name: "orders"
  comment: "one row per order"
  column { name: "id" type: "bigint" not_null: true comment: "the order's number" }
  column { name: "total" type: "numeric(12,2)" not_null: true }
  column { name: "placed_at" type: "timestamp with time zone" not_null: true default: "now()" }
  primary_key { name: "pk_orders" column: "id" comment: "the order's key" }
  check { name: "ck_orders_total" expression: "total >= 0" comment: "no negative totals" }
  index { name: "ix_orders_placed_at" key { column: "placed_at" } comment: "by day" }
}
view {
  name: "big_order_ids"
  query: "SELECT id FROM big_orders"
  check_option: VIEW_CHECK_OPTION_CASCADED
}
view {
  name: "big_orders"
  query: "SELECT id, total FROM orders WHERE total > 100"
  security_invoker: true
  security_barrier: true
  comment: "orders worth a look"
  column_comment { column: "total" comment: "with tax" }
}
view {
  name: "daily_totals"
  materialized: true
  query: "SELECT date_trunc('day', placed_at) AS day, sum(total) AS total FROM orders GROUP BY 1"
  comment: "refreshed nightly"
  index { name: "ux_daily_totals_day" unique: true key { column: "day" } comment: "one row a day" }
  column_comment { column: "day" comment: "midnight UTC" }
}
view { name: "canary_probe" materialized: true query: "SELECT nextval('probe.canary') AS n" }
)reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(db->Query("SELECT is_called FROM probe.canary")[0][0].as<bool>(), false)
      << "canonicalization ran the materialized view's query";
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  EXPECT_EQ(db->Query("SELECT is_called FROM probe.canary")[0][0].as<bool>(), true)
      << "Initialize creates materialized views WITH DATA";
  EXPECT_EQ(db->Query("SELECT obj_description('big_orders'::regclass, 'pg_class')")[0][0]
                .as<std::string>(),
            "orders worth a look");
  EXPECT_EQ(db->Query("SELECT col_description('big_orders'::regclass, 2)")[0][0].as<std::string>(),
            "with tax");
  EXPECT_EQ(
      db->Query("SELECT col_description('daily_totals'::regclass, 1)")[0][0].as<std::string>(),
      "midnight UTC");
  EXPECT_EQ(db->Query("SELECT col_description('orders'::regclass, 1)")[0][0].as<std::string>(),
            "the order's number");
  EXPECT_EQ(db->Query("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = "
                      "'big_orders'")[0][0]
                .as<std::string>(),
            "security_barrier=true,security_invoker=true");
  absl::StatusOr<DiffResult> after = engine.Diff(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty());
  ExpectInspectRoundTrips(*db, engine);
}

// A column type change under a view, in ONLINE mode: the view is dropped
// and re-created in the same phase as the change, so no reader ever finds
// it missing between phases.
TEST(EngineTest, OnlineColumnChangeUnderAViewKeepsTheViewInOnePhase) {
  auto db = testing::TestDb::Create();
  const std::string base = R"reg(table {
  name: "accounts"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "handle" type: "character varying(20)" }
  primary_key { name: "pk_accounts" column: "id" }
  index { name: "ix_accounts_id_handle" key { column: "id" } key { column: "handle" } }
}
view { name: "handles" query: "SELECT id, handle FROM accounts" }
)reg";
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  {
    Engine engine(db->pool(), testing::MustLoadRegistry(base));
    ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  }
  db->Exec("INSERT INTO accounts VALUES (1, 'a'), (2, 'b')");
  Engine engine(db->pool(), testing::MustLoadRegistry(absl::StrReplaceAll(
                                base, {{"character varying(20)", "character varying(40)"}})));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(diff.ok()) << diff.status();
  int drop_phase = 0, alter_phase = 0, create_phase = 0;
  for (const PlanStep& s : diff->plan.steps) {
    if (absl::StartsWith(s.sql, "DROP VIEW")) drop_phase = s.phase;
    if (absl::StrContains(s.sql, "ALTER COLUMN handle TYPE")) alter_phase = s.phase;
    if (absl::StartsWith(s.sql, "CREATE VIEW")) create_phase = s.phase;
  }
  EXPECT_NE(drop_phase, 0);
  EXPECT_EQ(drop_phase, alter_phase);
  EXPECT_EQ(alter_phase, create_phase);
  absl::StatusOr<InitializeResult> init =
      engine.Initialize({.mode = ApplyMode::kOnline, .allow_hazards = all}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(db->Query("SELECT count(*) FROM handles")[0][0].as<int>(), 2);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Functions (overloads, a procedure, settings, SECURITY DEFINER) and
// triggers of every form round trip through inspect; a body PostgreSQL
// rejects is reported at its declaration, once everything it reads
// exists, and nothing is created.
TEST(EngineTest, FunctionsAndTriggersRoundTripAndBadBodiesNameTheirDeclaration) {
  auto db = testing::TestDb::Create();
  const std::string registry = R"reg(function {
  name: "touch"
  returns: "trigger"
  language: "plpgsql"
  body: "BEGIN NEW.seen := now(); RETURN NEW; END"
  config: "search_path = pg_catalog, pg_temp"
  security_definer: true
  comment: "stamps seen"
}
function { name: "half" arguments: "x integer" returns: "integer" language: "sql" body: "SELECT x / 2" volatility: VOLATILITY_IMMUTABLE parallel: PARALLEL_SAFE }
function { name: "half" arguments: "x numeric DEFAULT 1" returns: "numeric" language: "sql" body: "SELECT x / 2" strict: true }
function { name: "event_count" returns: "bigint" language: "sql" body: "SELECT count(*) FROM events" volatility: VOLATILITY_STABLE }
function { name: "purge" arguments: "keep integer" procedure: true language: "plpgsql" body: "BEGIN DELETE FROM events WHERE id > keep; END" }
table {
  name: "events"
  column { name: "id" type: "integer" not_null: true }
  column { name: "kind" type: "text" }
  column { name: "seen" type: "timestamp with time zone" }
  primary_key { name: "pk_events" column: "id" }
  trigger { name: "trg_touch" timing: TRIGGER_TIMING_BEFORE event: TRIGGER_EVENT_INSERT event: TRIGGER_EVENT_UPDATE update_column: "kind" for_each_row: true when: "NEW.kind IS NOT NULL" function: "touch" comment: "on insert and kind changes" }
  trigger { name: "trg_stmt" timing: TRIGGER_TIMING_AFTER event: TRIGGER_EVENT_TRUNCATE function: "touch" argument: "it's" argument: "b" enabled: TRIGGER_DISABLED }
  trigger { name: "trg_deferred" constraint: true deferrable: true initially_deferred: true timing: TRIGGER_TIMING_AFTER event: TRIGGER_EVENT_DELETE for_each_row: true function: "touch" enabled: TRIGGER_ENABLED_ALWAYS }
}
)reg";
  Engine engine(db->pool(), testing::MustLoadRegistry(registry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> after = engine.Diff(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty());
  EXPECT_EQ(db->Query("SELECT tgenabled FROM pg_trigger WHERE tgname = 'trg_stmt'")[0][0]
                .as<std::string>(),
            "D");
  ExpectInspectRoundTrips(*db, engine);

  // A body that reads a column no table has: refused at its declaration.
  auto fresh = testing::TestDb::Create();
  Engine bad(fresh->pool(),
             testing::MustLoadRegistry(absl::StrReplaceAll(
                 registry, {{"SELECT count(*) FROM events", "SELECT count(nope) FROM events"}})));
  absl::StatusOr<InitializeResult> refused = bad.Initialize({}, Deadline());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(
      std::string(refused.status().message()),
      HasSubstr("test.textproto:12:1: function[3]: PostgreSQL rejected the body of function "
                "event_count"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("nope"));
  EXPECT_EQ(fresh->Query("SELECT count(*) FROM pg_class WHERE relname = 'events'")[0][0].as<int>(),
            0);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// An enum type re-created (a label removed) under a view that reads a
// column of that type: the view is dropped before the recast and
// re-created after it, in the re-creation's group, in both modes.
TEST(EngineTest, AnEnumRecreatedUnderAViewRecreatesTheView) {
  for (ApplyMode mode : {ApplyMode::kTransactional, ApplyMode::kOnline}) {
    SCOPED_TRACE(ApplyModeName(mode));
    auto db = testing::TestDb::Create();
    const std::string base =
        R"reg(registry { enum { name: "tier" label: "free" label: "gold" label: "paid" } }
table {
  name: "accounts"
  column { name: "id" type: "integer" not_null: true }
  column { name: "tier" type: "tier" not_null: true default: "'free'" }
  primary_key { name: "pk_accounts" column: "id" }
}
view { name: "paying" query: "SELECT id, tier FROM accounts WHERE tier <> 'free'" }
)reg";
    {
      Engine engine(db->pool(), testing::MustLoadRegistry(base));
      ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
    }
    db->Exec("INSERT INTO accounts VALUES (1, 'free'), (2, 'paid')");
    Engine engine(db->pool(),
                  testing::MustLoadRegistry(absl::StrReplaceAll(base, {{" label: \"gold\"", ""}})));
    std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
    absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(), mode);
    ASSERT_TRUE(diff.ok()) << diff.status();
    int view_group = -1, recast_group = -2;
    for (const PlanStep& s : diff->plan.steps) {
      if (absl::StartsWith(s.sql, "DROP VIEW")) view_group = s.group;
      if (absl::StrContains(s.sql, "ALTER COLUMN tier TYPE")) recast_group = s.group;
    }
    EXPECT_EQ(view_group, recast_group);
    absl::StatusOr<InitializeResult> init =
        engine.Initialize({.mode = mode, .allow_hazards = all}, Deadline());
    ASSERT_TRUE(init.ok()) << init.status();
    absl::StatusOr<DiffResult> after = engine.Diff(Deadline(), mode);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_THAT(DescribeDifferences(after->differences), IsEmpty());
    EXPECT_EQ(db->Query("SELECT count(*) FROM paying")[0][0].as<int>(), 1);
  }
}

}  // namespace
}  // namespace schemad
