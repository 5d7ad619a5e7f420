// ONLINE mode on real PostgreSQL: every recipe on a table with rows under
// concurrent writers, the locks each step declares against pg_locks, lock
// timeouts retried without queueing writers, failures that end INCOMPLETE
// and leave nothing behind, leftovers of interrupted runs finished by the
// next run, and callers that arrive during a run.
#include <atomic>
#include <csignal>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/common/identifier.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Deadline(int seconds = 120) { return absl::Now() + absl::Seconds(seconds); }

std::vector<HazardKind> AllHazards() {
  return std::vector<HazardKind>(std::begin(kHazardKinds), std::end(kHazardKinds));
}

constexpr char kDocuments[] = R"pb(
table {
  name: "documents"
  column { name: "id" type: "bigint" not_null: true }
  primary_key { name: "documents_pkey" column: "id" }
}
)pb";

// chunks as the application has it today.
constexpr char kChunksBefore[] = R"pb(
table {
  name: "chunks"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "document_id" type: "bigint" not_null: true }
  column { name: "seq" type: "integer" not_null: true }
  column { name: "body" type: "text" }
  column { name: "tokens" type: "integer" }
  column { name: "code" type: "text" }
  primary_key { name: "chunks_pkey" column: "id" }
  index { name: "ix_chunks_old" key { column: "tokens" } }
  index { name: "ix_chunks_changed" key { column: "seq" } }
}
)pb";

// chunks as the registry now declares it: every online recipe at once.
constexpr char kChunksAfter[] = R"pb(
table {
  name: "chunks"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "document_id" type: "bigint" not_null: true }
  column { name: "seq" type: "integer" not_null: true }
  column { name: "body" type: "text" }
  column { name: "tokens" type: "integer" not_null: true }
  column { name: "code" type: "text" }
  primary_key { name: "chunks_pkey" column: "id" }
  unique { name: "uq_chunks_code" column: "code" }
  foreign_key {
    name: "fk_chunks_document"
    column: "document_id"
    references_table: "documents"
    references_column: "id"
  }
  check { name: "ck_chunks_tokens" expression: "tokens >= 0" }
  index { name: "ix_chunks_changed" key { column: "seq" } key { column: "id" } }
  index { name: "ix_chunks_document" key { column: "document_id" } }
  index { name: "ux_chunks_doc_seq" unique: true key { column: "document_id" } key { column: "seq" } }
}
)pb";

constexpr int kRows = 20000;

// A database at kChunksBefore with kRows chunks over 100 documents.
std::unique_ptr<testing::TestDb> ChunksDatabase(const std::string& server_url = "") {
  auto db = testing::TestDb::Create(server_url);
  Engine before(db->pool(), testing::MustLoadRegistry(absl::StrCat(kDocuments, kChunksBefore)));
  absl::StatusOr<InitializeResult> r = before.Initialize({}, Deadline());
  EXPECT_TRUE(r.ok()) << r.status();
  db->Exec("INSERT INTO documents SELECT g FROM generate_series(1, 100) g");
  db->Exec(
      absl::StrCat("INSERT INTO chunks SELECT g, 1 + g % 100, g, repeat('x', 40), g % 50, 'c' || g "
                   "FROM generate_series(1, ",
                   kRows, ") g"));
  db->Exec("ANALYZE chunks");
  return db;
}

Registry After() { return testing::MustLoadRegistry(absl::StrCat(kDocuments, kChunksAfter)); }

// Clients inserting and updating chunks as fast as they can, each on a
// connection of its own, until stopped; every error is kept.
class Writers {
 public:
  Writers(const std::string& url, int clients) {
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, url, c] { Run(url, c); });
    }
  }
  ~Writers() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t commits() const { return commits_; }
  std::vector<std::string> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }
  absl::Duration max_latency() {
    absl::MutexLock lock(&mu_);
    return max_latency_;
  }

 private:
  void Run(const std::string& url, int client) {
    std::mt19937 random(client);
    try {
      pqxx::connection conn(url);
      for (int64_t i = 0; !stop_; ++i) {
        const int64_t id = 10000000 + client * 1000000 + i;
        const absl::Time start = absl::Now();
        try {
          pqxx::work tx(conn);
          tx.exec_params(
              "INSERT INTO chunks (id, document_id, seq, body, tokens, code) "
              "VALUES ($1, $2, $3, 'w', $4, $5)",
              id, 1 + id % 100, static_cast<int>(id % 1000000000), static_cast<int>(i % 50),
              absl::StrCat("w", id));
          tx.exec_params("UPDATE chunks SET body = 'u' WHERE id = $1",
                         static_cast<int64_t>(1 + random() % kRows));
          tx.commit();
          ++commits_;
        } catch (const std::exception& e) {
          absl::MutexLock lock(&mu_);
          errors_.push_back(e.what());
        }
        absl::MutexLock lock(&mu_);
        max_latency_ = std::max(max_latency_, absl::Now() - start);
      }
    } catch (const std::exception& e) {
      absl::MutexLock lock(&mu_);
      errors_.push_back(absl::StrCat("connection: ", e.what()));
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> commits_{0};
  absl::Mutex mu_;
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
  absl::Duration max_latency_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::vector<std::thread> threads_;
};

int Count(testing::TestDb& db, const std::string& sql) { return db.Query(sql)[0][0].as<int>(); }

int TemporaryObjects(testing::TestDb& db) {
  return Count(db,
               "SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'schemad\\_tmp\\_%') + "
               "(SELECT count(*) FROM pg_constraint WHERE conname LIKE 'schemad\\_tmp\\_%')");
}

int InvalidIndexes(testing::TestDb& db) {
  return Count(db, "SELECT count(*) FROM pg_index WHERE NOT indisvalid");
}

TEST(OnlineTest, PlanUsesTheOnlineRecipesAndNoStepHoldsAWriteBlockingLockLong) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), After());
  absl::StatusOr<DiffResult> online = engine.Diff(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(online.ok()) << online.status();
  absl::StatusOr<DiffResult> txn = engine.Diff(Deadline(), ApplyMode::kTransactional);
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_NE(online->fingerprint, txn->fingerprint) << "the fingerprint covers the mode";
  EXPECT_EQ(online->plan.mode, ApplyMode::kOnline);
  std::vector<std::string> sql;
  for (const PlanStep& s : online->plan.steps) {
    sql.push_back(s.sql);
    for (const Hazard& h : s.hazards) {
      EXPECT_NE(h.kind, HazardKind::kLongLock) << s.sql;
    }
    for (const LockTaken& l : s.locks) {
      if (BlocksWriters(l.mode)) {
        EXPECT_EQ(l.hold, LockHold::kBrief) << s.sql << " holds " << LockModeName(l.mode);
      }
    }
    EXPECT_EQ(s.transactional, s.sql.find("CONCURRENTLY") == std::string::npos) << s.sql;
    // Steps that block no writer (concurrent builds, validations) run under
    // the index-build timeout; the others under the bounded one.
    const bool long_running =
        !s.transactional || s.sql.find("VALIDATE CONSTRAINT") != std::string::npos;
    const bool blocks = std::any_of(s.locks.begin(), s.locks.end(),
                                    [](const LockTaken& l) { return BlocksWriters(l.mode); });
    if (long_running) {
      EXPECT_EQ(s.timeout, StepTimeout::kLongRunning) << s.sql;
    }
    if (blocks) {
      EXPECT_EQ(s.timeout, StepTimeout::kBounded) << s.sql;
    }
  }
  const std::string all = absl::StrJoin(sql, "\n");
  EXPECT_THAT(all, HasSubstr("CREATE INDEX CONCURRENTLY ix_chunks_document"));
  EXPECT_THAT(all, HasSubstr("CREATE UNIQUE INDEX CONCURRENTLY ux_chunks_doc_seq"));
  EXPECT_THAT(all, HasSubstr("DROP INDEX CONCURRENTLY public.ix_chunks_old"));
  EXPECT_THAT(all, HasSubstr("FOREIGN KEY (document_id) REFERENCES documents(id) NOT VALID"));
  EXPECT_THAT(all, HasSubstr("VALIDATE CONSTRAINT fk_chunks_document"));
  EXPECT_THAT(all, HasSubstr("CHECK ((tokens >= 0)) NOT VALID"));
  EXPECT_THAT(all, HasSubstr(absl::StrCat("CHECK (tokens IS NOT NULL) NOT VALID")));
  EXPECT_THAT(all, HasSubstr("ALTER COLUMN tokens SET NOT NULL"));
  EXPECT_THAT(all, HasSubstr("ADD CONSTRAINT uq_chunks_code UNIQUE USING INDEX"));
  EXPECT_THAT(all, HasSubstr(absl::StrCat("RENAME TO ix_chunks_changed")));
  // The changed index: build the replacement, drop the old one, rename.
  const size_t build = all.find(TemporaryName("ix", "chunks", "ix_chunks_changed"));
  const size_t drop = all.find("DROP INDEX CONCURRENTLY public.ix_chunks_changed");
  const size_t rename = all.find("RENAME TO ix_chunks_changed");
  ASSERT_NE(build, std::string::npos);
  ASSERT_NE(drop, std::string::npos);
  EXPECT_LT(build, drop);
  EXPECT_LT(drop, rename);
  // Concurrent builds on a table with rows carry INDEX_BUILD.
  bool index_build = false;
  for (const PlanStep& s : online->plan.steps) {
    for (const Hazard& h : s.hazards) index_build |= h.kind == HazardKind::kIndexBuild;
  }
  EXPECT_TRUE(index_build);
  // Phases are increasing, each non-transactional step alone in its phase.
  int last = 0;
  for (size_t i = 0; i < online->plan.steps.size(); ++i) {
    const PlanStep& s = online->plan.steps[i];
    EXPECT_GE(s.phase, last);
    if (!s.transactional) {
      EXPECT_GT(s.phase, last) << s.sql;
      if (i + 1 < online->plan.steps.size()) {
        EXPECT_GT(online->plan.steps[i + 1].phase, s.phase);
      }
    }
    last = s.phase;
  }
  EXPECT_EQ(online->plan.phases, last);
  // TRANSACTIONAL: one phase, every lock until commit.
  for (const PlanStep& s : txn->plan.steps) {
    EXPECT_EQ(s.phase, 1);
    for (const LockTaken& l : s.locks) EXPECT_EQ(l.hold, LockHold::kUntilCommit);
  }
}

TEST(OnlineTest, EveryRecipeAppliesUnderConcurrentWritersWithNoWriterError) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), After());
  // A plain initialize (an API pod's start-up) launches nothing: every
  // online step on a table with rows needs a hazard it does not accept.
  absl::StatusOr<InitializeResult> pod =
      engine.Initialize({.mode = ApplyMode::kOnline}, Deadline());
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->outcome, Outcome::kPartial);
  EXPECT_EQ(InvalidIndexes(*db), 0);

  Writers writers(db->url(), 4);
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<InitializeEvent> events;
  absl::Mutex mu;
  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  options.caller = "online test";
  options.on_event = [&](const InitializeEvent& e) {
    absl::MutexLock lock(&mu);
    events.push_back(e);
  };
  absl::StatusOr<InitializeResult> r = engine.Initialize(options, Deadline());
  absl::SleepFor(absl::Milliseconds(300));
  const int64_t commits_during = writers.commits();
  writers.Stop();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kApplied) << r->cause;
  EXPECT_THAT(testing::DescribeDifferences(r->remaining), IsEmpty());
  EXPECT_THAT(writers.errors(), IsEmpty());
  EXPECT_GT(commits_during, 0);
  EXPECT_GT(r->run_id, 0);
  EXPECT_EQ(r->phases_committed, r->phases);
  EXPECT_EQ(TemporaryObjects(*db), 0);
  EXPECT_EQ(InvalidIndexes(*db), 0);

  // In sync in both modes; the history row tells the run's story.
  absl::StatusOr<StatusResult> status = engine.Status(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(status->last_applied_fingerprint, engine.registry().fingerprint);
  pqxx::result row = db->Query(absl::StrCat(
      "SELECT mode, state, phase_count, jsonb_array_length(phases), jsonb_array_length(steps) "
      "FROM schemad.history WHERE id = ",
      r->run_id));
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "ONLINE");
  EXPECT_EQ(row[0][1].as<std::string>(), "completed");
  EXPECT_EQ(row[0][2].as<int>(), r->phases);
  EXPECT_EQ(row[0][3].as<int>(), r->phases);
  EXPECT_EQ(row[0][4].as<size_t>(), r->executed.size());

  // The events: the run, every phase started and finished, in order.
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, InitializeEvent::Kind::kRunStarted);
  EXPECT_EQ(events.front().run_id, r->run_id);
  int started = 0, finished = 0;
  for (const InitializeEvent& e : events) {
    started += e.kind == InitializeEvent::Kind::kPhaseStarted;
    finished += e.kind == InitializeEvent::Kind::kPhaseFinished;
  }
  EXPECT_EQ(started, r->phases);
  EXPECT_EQ(finished, r->phases);
  // What the registry declares holds for the rows written meanwhile too.
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM chunks WHERE tokens IS NULL"), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), 0);
}

// The strongest lock each session holds per relation of the schema.
std::map<std::string, std::string> HeldLocks(testing::TestDb& db, int pid) {
  static const std::vector<std::string> kOrder = {
      "AccessShareLock", "RowShareLock",          "RowExclusiveLock", "ShareUpdateExclusiveLock",
      "ShareLock",       "ShareRowExclusiveLock", "ExclusiveLock",    "AccessExclusiveLock"};
  std::map<std::string, std::string> out;
  for (const auto& row : db.Query(absl::StrCat(
           "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
           "JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'v', 'm') AND l.granted AND "
           "l.pid = ",
           pid))) {
    const std::string relation = row[0].as<std::string>();
    const std::string mode = row[1].as<std::string>();
    auto rank = [&](const std::string& m) {
      return std::find(kOrder.begin(), kOrder.end(), m) - kOrder.begin();
    };
    if (!out.count(relation) || rank(mode) > rank(out[relation])) out[relation] = mode;
  }
  return out;
}

TEST(OnlineTest, DeclaredLocksAreTheLocksPostgresTakes) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), After());
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(diff.ok()) << diff.status();
  pqxx::connection runner(db->url());
  const int pid = runner.backendpid();
  {
    pqxx::nontransaction set(runner);
    set.exec("SET search_path = public");
  }
  for (const PlanStep& step : diff->plan.steps) {
    SCOPED_TRACE(step.sql);
    std::map<std::string, std::string> declared;
    for (const LockTaken& l : step.locks) declared[l.relation] = LockModeName(l.mode);
    std::map<std::string, std::string> held;
    if (step.transactional) {
      pqxx::work tx(runner);
      tx.exec(step.sql);
      held = HeldLocks(*db, pid);
      tx.commit();
    } else {
      // Pinned mid-statement by an older snapshot that touched the table:
      // concurrent builds and drops wait for it, holding their locks.
      pqxx::connection blocker_conn(db->url());
      pqxx::work blocker(blocker_conn, "blocker");
      blocker.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      blocker.exec("SELECT count(*) FROM public.chunks WHERE id = 1");
      std::thread run([&] {
        pqxx::nontransaction tx(runner);
        tx.exec(step.sql);
      });
      bool waiting = false;
      for (int i = 0; i < 200 && !waiting; ++i) {
        absl::SleepFor(absl::Milliseconds(50));
        waiting = Count(*db, absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE pid = ", pid,
                                          " AND wait_event_type = 'Lock'")) > 0;
      }
      EXPECT_TRUE(waiting) << "the concurrent statement never waited for the blocker";
      held = HeldLocks(*db, pid);
      blocker.commit();
      run.join();
    }
    // Every declared lock is taken, and no table is locked more strongly
    // than declared.
    for (const auto& [relation, mode] : declared) {
      EXPECT_EQ(held[relation], mode) << "on " << relation;
    }
    for (const auto& [relation, mode] : held) {
      if (declared.count(relation)) continue;
      const bool table = Count(*db, absl::StrCat("SELECT count(*) FROM pg_class WHERE relkind = "
                                                 "'r' AND relname = '",
                                                 relation, "'")) > 0;
      if (table) {
        EXPECT_TRUE(mode == "AccessShareLock" || mode == "RowShareLock")
            << relation << " held in " << mode << " but not declared";
      }
    }
  }
  EXPECT_EQ(TemporaryObjects(*db), 0);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync) << "the plan's SQL, run by hand, converges";
}

// Runs each step of `plan` in a transaction of its own on one connection
// and checks, before it commits, that the locks it holds are those the
// step declares (beyond ACCESS SHARE / ROW SHARE lookups, and `unchecked`).
// Returns the statement kinds seen.
std::set<StatementKind> RunStepsCheckingLocks(testing::TestDb& db, const Plan& plan,
                                              const std::string& unchecked = "") {
  std::set<StatementKind> kinds;
  pqxx::connection runner(db.url());
  const int pid = runner.backendpid();
  {
    pqxx::nontransaction set(runner);
    set.exec("SET search_path = public");
  }
  for (const PlanStep& step : plan.steps) {
    SCOPED_TRACE(step.sql);
    kinds.insert(step.statement);
    std::map<std::string, std::string> declared;
    for (const LockTaken& l : step.locks) declared[l.relation] = LockModeName(l.mode);
    pqxx::work tx(runner);
    tx.exec(step.sql);
    std::map<std::string, std::string> held = HeldLocks(db, pid);
    tx.commit();
    for (const auto& [relation, mode] : declared) {
      EXPECT_EQ(held[relation], mode) << "on " << relation;
    }
    for (const auto& [relation, mode] : held) {
      if (declared.count(relation) || relation == unchecked) continue;
      EXPECT_TRUE(mode == "AccessShareLock" || mode == "RowShareLock")
          << relation << " held in " << mode << " but not declared";
    }
  }
  return kinds;
}

// The statements of views, functions, triggers and comments take the locks
// their steps declare (CREATE TRIGGER: SHARE ROW EXCLUSIVE; COMMENT: SHARE
// UPDATE EXCLUSIVE; replacing or dropping a view: ACCESS EXCLUSIVE on it;
// a function: none; REINDEX after an IMMUTABLE function changes: SHARE).
TEST(OnlineTest, DeclaredLocksOfViewsFunctionsTriggersAndCommentsAreTheLocksPostgresTakes) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(t)';
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE items (id integer PRIMARY KEY, name text);
CREATE INDEX ix_items_norm ON items (norm(name));
CREATE VIEW v_items AS SELECT id FROM items;
CREATE VIEW v_old AS SELECT name FROM items;
CREATE TRIGGER trg_old BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION stamp();
CREATE TRIGGER trg_on BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION stamp();
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(
function { name: "norm" arguments: "t text" returns: "text" language: "sql" body: "SELECT upper(t)" volatility: VOLATILITY_IMMUTABLE }
function { name: "stamp" returns: "trigger" language: "plpgsql" body: "BEGIN RETURN NEW; END" }
table {
  name: "items"
  comment: "things"
  column { name: "id" type: "integer" not_null: true }
  column { name: "name" type: "text" }
  primary_key { name: "items_pkey" column: "id" }
  index { name: "ix_items_norm" key { expression: "norm(name)" } }
  trigger { name: "trg_new" timing: TRIGGER_TIMING_AFTER event: TRIGGER_EVENT_DELETE function: "stamp" }
  trigger { name: "trg_on" timing: TRIGGER_TIMING_BEFORE event: TRIGGER_EVENT_UPDATE for_each_row: true function: "stamp" enabled: TRIGGER_DISABLED }
}
view { name: "v_items" query: "SELECT id, name FROM items" comment: "all items" }
)reg"));
  std::vector<HazardKind> all(std::begin(kHazardKinds), std::end(kHazardKinds));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  const std::set<StatementKind> kinds = RunStepsCheckingLocks(*db, diff->plan, "ix_items_norm");
  for (StatementKind k :
       {StatementKind::kCreateTrigger, StatementKind::kDropTrigger,
        StatementKind::kAlterTriggerEnabled, StatementKind::kComment, StatementKind::kReplaceView,
        StatementKind::kDropView, StatementKind::kCreateFunction, StatementKind::kReindex}) {
    EXPECT_TRUE(kinds.count(k)) << "no step of kind " << static_cast<int>(k);
  }
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync) << "the plan's SQL, run by hand, converges";
}

// The same for table-level properties, exclusion constraints and triggers
// of views: each step's declared locks are the ones PostgreSQL takes.
TEST(OnlineTest, DeclaredLocksOfTablePropertiesAndExclusionConstraintsAreTheLocksPostgresTakes) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE items (id integer NOT NULL, name text, CONSTRAINT items_pkey PRIMARY KEY (id));
CREATE UNIQUE INDEX ix_items_name ON items (name);
CREATE VIEW v_items AS SELECT id FROM items;
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(
function { name: "stamp" returns: "trigger" language: "plpgsql" body: "BEGIN RETURN NEW; END" }
table {
  name: "items"
  replica_identity: REPLICA_IDENTITY_FULL
  row_level_security: true
  storage_parameter: "fillfactor=80"
  column { name: "id" type: "integer" not_null: true statistics: 300 }
  column { name: "name" type: "text" storage: "main" }
  primary_key { name: "items_pkey" column: "id" storage_parameter: "fillfactor=70" }
  exclude { name: "ex_items_name" definition: "EXCLUDE USING btree (name WITH =)" }
  index { name: "ix_items_name" unique: true key { column: "name" } storage_parameter: "deduplicate_items=off" }
}
view {
  name: "v_items"
  query: "SELECT id FROM items"
  trigger { name: "v_items_insert" timing: TRIGGER_TIMING_INSTEAD_OF event: TRIGGER_EVENT_INSERT for_each_row: true function: "stamp" }
}
)reg"));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  const std::set<StatementKind> kinds = RunStepsCheckingLocks(*db, diff->plan);
  for (StatementKind k : {StatementKind::kSetReplicaIdentity, StatementKind::kAlterRowSecurity,
                          StatementKind::kSetStorage, StatementKind::kAddUniqueOrPrimaryKey,
                          StatementKind::kCreateTrigger, StatementKind::kSetColumnStorage,
                          StatementKind::kSetStatistics}) {
    EXPECT_TRUE(kinds.count(k)) << "no step of kind " << static_cast<int>(k);
  }
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync) << "the plan's SQL, run by hand, converges";
}

TEST(OnlineTest, AUniqueBuildFailingOnDuplicatesEndsIncompleteAndLeavesNoInvalidIndex) {
  auto db = ChunksDatabase();
  db->Exec("UPDATE chunks SET seq = 1 WHERE id IN (1, 101)");  // same document, same seq
  Engine engine(db->pool(), After());
  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  absl::StatusOr<InitializeResult> r = engine.Initialize(options, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kIncomplete);
  EXPECT_GT(r->phases_committed, 0);
  EXPECT_LT(r->phases_committed, r->phases);
  EXPECT_EQ(r->failed_phase, r->phases_committed + 1);
  EXPECT_THAT(r->cause, HasSubstr("ux_chunks_doc_seq"));
  EXPECT_EQ(InvalidIndexes(*db), 0) << "the failed build's INVALID index is dropped";
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM pg_class WHERE relname = 'ux_chunks_doc_seq'"), 0);
  pqxx::result row =
      db->Query(absl::StrCat("SELECT state FROM schemad.history WHERE id = ", r->run_id));
  EXPECT_THAT(row[0][0].as<std::string>(),
              HasSubstr(absl::StrCat("failed at phase ", r->failed_phase)));
  // Status does not count an incomplete run as applied.
  absl::StatusOr<StatusResult> status = engine.Status(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->state, SyncState::kInSync);
  EXPECT_NE(status->last_applied_fingerprint, engine.registry().fingerprint);

  // The next start does not rescan the table for the same failure: the
  // build is held back, with the reason, until a caller asks to retry it.
  absl::StatusOr<InitializeResult> again = engine.Initialize(options, Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome, Outcome::kPartial);
  EXPECT_THAT(again->cause, HasSubstr("failed on existing rows"));
  EXPECT_THAT(again->cause, HasSubstr("ux_chunks_doc_seq"));
  for (const PlanStep& s : again->executed) {
    EXPECT_THAT(s.sql, ::testing::Not(HasSubstr("ux_chunks_doc_seq")));
  }
  // Fixed data and a retry: the run finishes what is left.
  db->Exec("UPDATE chunks SET seq = 100001 WHERE id = 101");
  options.retry_failed = true;
  absl::StatusOr<InitializeResult> next = engine.Initialize(options, Deadline());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->outcome, Outcome::kApplied) << next->cause;
  EXPECT_EQ(TemporaryObjects(*db), 0);
  EXPECT_EQ(InvalidIndexes(*db), 0);
}

TEST(OnlineTest, AValidationFailingOnRowsDropsTheConstraintAgain) {
  auto db = ChunksDatabase();
  db->Exec("UPDATE chunks SET tokens = -1 WHERE id = 7");
  Engine engine(db->pool(), After());
  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  absl::StatusOr<InitializeResult> r = engine.Initialize(options, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcome, Outcome::kIncomplete);
  EXPECT_THAT(r->cause, HasSubstr("ck_chunks_tokens"));
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM pg_constraint WHERE conname = 'ck_chunks_tokens'"), 0)
      << "the NOT VALID constraint whose validation failed is dropped again";
}

TEST(OnlineTest, LeftoversOfAnInterruptedRunAreFinishedNotRedone) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), After());
  // As a run killed at various points would leave them: the replacement of
  // ix_chunks_changed built and the old one dropped, not yet renamed; the
  // NOT NULL check validated; a failed build's INVALID index; a row still
  // "running".
  const std::string replacement = TemporaryName("ix", "chunks", "ix_chunks_changed");
  const std::string check = TemporaryName("nn", "chunks", "tokens");
  db->Exec(absl::StrCat("CREATE INDEX ", replacement, " ON chunks (seq, id)"));
  db->Exec("DROP INDEX ix_chunks_changed");
  db->Exec(
      absl::StrCat("ALTER TABLE chunks ADD CONSTRAINT ", check, " CHECK (tokens IS NOT NULL)"));
  db->Exec("UPDATE chunks SET document_id = 1, seq = 1 WHERE id IN (1, 2)");
  try {
    db->Exec("CREATE UNIQUE INDEX CONCURRENTLY ux_chunks_doc_seq ON chunks (document_id, seq)");
    FAIL() << "the duplicate should have failed the build";
  } catch (const std::exception&) {
  }
  db->Exec("UPDATE chunks SET document_id = 2, seq = 2 WHERE id = 2");
  ASSERT_EQ(InvalidIndexes(*db), 1);
  db->Exec("CREATE SCHEMA IF NOT EXISTS schemad");  // created by the earlier Initialize already
  db->Exec(
      "INSERT INTO schemad.history (started_at, finished_at, caller, registry_fingerprint, "
      "steps, duration_ms, mode, state, phase_count, phases) VALUES (now(), now(), 'killed', "
      "'x', '[]', 0, 'ONLINE', 'running', 9, '[]')");

  // The temporary objects are not differences.
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(diff.ok()) << diff.status();
  for (const Difference& d : diff->differences) {
    EXPECT_FALSE(IsTemporaryName(d.object)) << testing::DescribeDifference(d);
  }
  std::vector<std::string> sql;
  for (const PlanStep& s : diff->plan.steps) sql.push_back(s.sql);
  const std::string all = absl::StrJoin(sql, "\n");
  EXPECT_THAT(all, HasSubstr(absl::StrCat("ALTER INDEX public.", replacement,
                                          " RENAME TO ix_chunks_changed")));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("ON public.chunks USING btree (seq, id)")))
      << "the finished replacement is renamed, not rebuilt";
  EXPECT_THAT(all, ::testing::Not(HasSubstr("CHECK (tokens IS NOT NULL) NOT VALID")))
      << "the validated check is reused";
  EXPECT_THAT(all, HasSubstr("DROP INDEX CONCURRENTLY public.ux_chunks_doc_seq"));

  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  absl::StatusOr<InitializeResult> r = engine.Initialize(options, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kApplied) << r->cause;
  EXPECT_EQ(TemporaryObjects(*db), 0);
  EXPECT_EQ(InvalidIndexes(*db), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM schemad.history WHERE state = 'interrupted'"), 1);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, SyncState::kInSync);
}

TEST(OnlineTest, ATransactionalRunKeepsAFinishedReplacementInsteadOfRebuildingIt) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), After());
  const std::string replacement = TemporaryName("ix", "chunks", "ix_chunks_changed");
  db->Exec(absl::StrCat("CREATE INDEX ", replacement, " ON chunks (seq, id)"));
  db->Exec("DROP INDEX ix_chunks_changed");
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline(), ApplyMode::kTransactional);
  ASSERT_TRUE(diff.ok()) << diff.status();
  std::vector<std::string> sql;
  for (const PlanStep& s : diff->plan.steps) sql.push_back(s.sql);
  const std::string all = absl::StrJoin(sql, "\n");
  EXPECT_THAT(all, HasSubstr(absl::StrCat("ALTER INDEX public.", replacement,
                                          " RENAME TO ix_chunks_changed")));
  EXPECT_THAT(all, ::testing::Not(HasSubstr("INDEX ix_chunks_changed ON")));
  EXPECT_THAT(all, ::testing::Not(HasSubstr(absl::StrCat("DROP INDEX public.", replacement))));
}

TEST(OnlineTest, TemporaryNamesAreRefusedInRegistries) {
  const std::string text = absl::StrCat(
      "table {\n  name: \"t\"\n  column { name: \"id\" type: \"integer\" }\n"
      "  index { name: \"",
      TemporaryName("ix", "t", "x"), "\" key { column: \"id\" } }\n}\n");
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"bad.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("reserves"));
  EXPECT_THAT(r.status().message(), HasSubstr("bad.textproto"));
}

// A session that keeps an old snapshot open after touching `table`: a
// concurrent build waits for it.
class SnapshotBlocker {
 public:
  SnapshotBlocker(const std::string& url, const std::string& table)
      : conn_(url), tx_(std::make_unique<pqxx::work>(conn_, "blocker")) {
    tx_->exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    tx_->exec(absl::StrCat("SELECT count(*) FROM ", table, " WHERE false"));
  }
  void Release() {
    if (tx_ != nullptr) tx_->commit();
    tx_.reset();
  }
  ~SnapshotBlocker() { tx_.reset(); }

 private:
  pqxx::connection conn_;
  std::unique_ptr<pqxx::work> tx_;
};

// Waits (up to 30 s) until some session of `db` runs `fragment` and waits
// on a lock. Of `db` only: tests running in parallel share the server, and
// another test's session running the same statement must not count.
bool SeenWaiting(testing::TestDb& db, const std::string& fragment) {
  for (int i = 0; i < 600; ++i) {
    pqxx::result r = db.Query(
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND datname = current_database() AND query LIKE '%",
                     fragment, "%'"));
    if (r[0][0].as<int>() > 0) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// The documents and chunks of kChunksBefore, with `declarations` added to
// chunks.
std::string ChunksBeforeWith(const std::string& declarations) {
  std::string chunks = kChunksBefore;
  chunks.insert(chunks.rfind('}'), declarations);
  return absl::StrCat(kDocuments, chunks);
}

// chunks with one new index: a one-phase online run.
std::string NewIndexOnlyText() {
  return ChunksBeforeWith(R"pb(index { name: "ix_chunks_document" key { column: "document_id" } }
)pb");
}

Registry NewIndexOnly() { return testing::MustLoadRegistry(NewIndexOnlyText()); }

TEST(OnlineTest, CallersArrivingDuringARunAreAnsweredAtOnce) {
  auto db = ChunksDatabase();
  Registry registry = NewIndexOnly();
  Engine deploy(db->pool(), registry);
  std::unique_ptr<Database> replica_db = *Database::Create({.url = db->url()});
  Engine pod(replica_db.get(), registry);

  SnapshotBlocker blocker(db->url(), "chunks");
  std::vector<InitializeEvent> events;
  absl::Mutex mu;
  absl::StatusOr<InitializeResult> run = absl::UnknownError("not run");
  std::thread deploying([&] {
    InitializeOptions options;
    options.mode = ApplyMode::kOnline;
    options.allow_hazards = {HazardKind::kIndexBuild};
    options.on_event = [&](const InitializeEvent& e) {
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
    run = deploy.Initialize(options, Deadline());
  });
  ASSERT_TRUE(SeenWaiting(*db, "CREATE INDEX CONCURRENTLY ix_chunks_document"));
  // Mid-build: the build holds SHARE UPDATE EXCLUSIVE, which blocks no writer.
  EXPECT_EQ(Count(*db,
                  "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                  "WHERE c.relname = 'chunks' AND l.mode = 'ShareUpdateExclusiveLock' AND "
                  "l.granted AND l.database = (SELECT oid FROM pg_database "
                  "WHERE datname = current_database())"),
            1);
  db->Exec("INSERT INTO chunks VALUES (99999999, 1, 99999999, 'mid-build', 1, 'mid')");

  // A pod's plain start-up: nothing it may run, answered without waiting.
  absl::Time start = absl::Now();
  absl::StatusOr<InitializeResult> plain = pod.Initialize({}, Deadline());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->outcome, Outcome::kPartial);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20)) << "answered while the build still runs";
  // A caller who could run the steps: IN_PROGRESS with the run's progress.
  absl::StatusOr<InitializeResult> eager = pod.Initialize(
      {.mode = ApplyMode::kOnline, .allow_hazards = {HazardKind::kIndexBuild}}, Deadline());
  ASSERT_TRUE(eager.ok()) << eager.status();
  EXPECT_EQ(eager->outcome, Outcome::kInProgress);
  EXPECT_GT(eager->run_id, 0);
  EXPECT_EQ(eager->phases, 1);
  EXPECT_FALSE(eager->skipped.empty());
  // Progress of the waiting build is reported.
  absl::SleepFor(absl::Milliseconds(1500));
  blocker.Release();
  deploying.join();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->outcome, Outcome::kApplied);
  EXPECT_EQ(run->run_id, eager->run_id);
  absl::MutexLock lock(&mu);
  int progress = 0;
  for (const InitializeEvent& e : events) {
    if (e.kind == InitializeEvent::Kind::kIndexProgress) {
      ++progress;
      EXPECT_FALSE(e.progress_phase.empty());
    }
  }
  EXPECT_GT(progress, 0);
}

TEST(OnlineTest, ALockTimeoutIsRetriedAndWritersNeverQueueBehindTheWaitingDdl) {
  auto db = ChunksDatabase();
  Registry registry = testing::MustLoadRegistry(
      ChunksBeforeWith("check { name: \"ck_chunks_tokens\" expression: \"tokens >= 0\" }\n"));
  EngineOptions engine_options;
  engine_options.online_lock_timeout = absl::Milliseconds(200);
  engine_options.lock_retry_backoff = absl::Milliseconds(100);
  engine_options.lock_retries = 100;
  Engine engine(db->pool(), registry, engine_options);
  // A long transaction holding a lock that conflicts with ADD CONSTRAINT.
  pqxx::connection holder_conn(db->url());
  auto holder = std::make_unique<pqxx::work>(holder_conn);
  holder->exec("SELECT count(*) FROM chunks WHERE id = 1");
  Writers writers(db->url(), 2);
  std::vector<InitializeEvent> events;
  absl::Mutex mu;
  absl::StatusOr<InitializeResult> run = absl::UnknownError("not run");
  std::thread applying([&] {
    InitializeOptions options;
    options.mode = ApplyMode::kOnline;
    options.allow_hazards = AllHazards();
    options.on_event = [&](const InitializeEvent& e) {
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
    run = engine.Initialize(options, Deadline());
  });
  absl::SleepFor(absl::Seconds(4));
  holder->commit();
  holder.reset();
  applying.join();
  writers.Stop();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->outcome, Outcome::kApplied) << run->cause;
  EXPECT_THAT(writers.errors(), IsEmpty());
  // Writers queued behind the waiting ACCESS EXCLUSIVE request for at most
  // its lock_timeout (200 ms) each time, never for the 4 s the holder held.
  EXPECT_LT(writers.max_latency(), absl::Seconds(2));
  absl::MutexLock lock(&mu);
  int waits = 0;
  for (const InitializeEvent& e : events) {
    if (e.kind != InitializeEvent::Kind::kLockWait) continue;
    ++waits;
    EXPECT_THAT(e.relations, ::testing::Contains("chunks"));
    EXPECT_FALSE(e.blocking_pids.empty());
  }
  EXPECT_GT(waits, 1);
}

TEST(OnlineTest, CancellingARunningBuildDropsItsInvalidIndexAndRecordsCancelled) {
  auto db = ChunksDatabase();
  Engine engine(db->pool(), NewIndexOnly());
  auto blocker = std::make_unique<SnapshotBlocker>(db->url(), "chunks");
  std::atomic<bool> cancel{false};
  absl::StatusOr<InitializeResult> run = absl::UnknownError("not run");
  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  std::thread applying([&] {
    InitializeOptions cancellable = options;
    cancellable.cancelled = [&] { return cancel.load(); };
    run = engine.Initialize(cancellable, Deadline());
  });
  ASSERT_TRUE(SeenWaiting(*db, "CREATE INDEX CONCURRENTLY ix_chunks_document"));
  cancel = true;
  // The cancelled build's INVALID index is dropped (concurrently: once the
  // old snapshot is gone).
  absl::SleepFor(absl::Milliseconds(300));
  blocker->Release();
  applying.join();
  ASSERT_FALSE(run.ok()) << "no phase committed before the build";
  EXPECT_EQ(run.status().code(), absl::StatusCode::kCancelled) << run.status();
  EXPECT_THAT(run.status().message(), HasSubstr("nothing was applied"));
  EXPECT_EQ(InvalidIndexes(*db), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM pg_class WHERE relname = 'ix_chunks_document'"), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM schemad.history WHERE state = 'cancelled'"), 1);
  // And the next run finishes.
  absl::StatusOr<InitializeResult> next = engine.Initialize(options, Deadline());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->outcome, Outcome::kApplied) << next->cause;
  EXPECT_EQ(TemporaryObjects(*db), 0);
  EXPECT_EQ(InvalidIndexes(*db), 0);
}

// Crashes mid-phase: schemad killed (-9) or PostgreSQL crashed while a
// concurrent build, or a validation, runs (pinned by a blocker and seen in
// pg_stat_activity at the crash). The next Initialize converges with no
// leftover object; writers commit throughout when PostgreSQL stays up.
struct CrashCase {
  const char* name;
  bool crash_postgres;
  bool validate;
};

class OnlineCrashTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(OnlineCrashTest, TheNextInitializeConvergesWithNoLeftover) {
  const CrashCase& c = GetParam();
  std::unique_ptr<testing::PrivateCluster> cluster;
  if (c.crash_postgres) cluster = std::make_unique<testing::PrivateCluster>();
  auto db = ChunksDatabase(cluster ? cluster->server_url() : "");
  std::string text = NewIndexOnlyText();
  if (c.validate) {
    // A NOT VALID foreign key, as the first phase of an online run leaves
    // it: the plan is its validation alone.
    db->Exec(
        "ALTER TABLE chunks ADD CONSTRAINT fk_chunks_document FOREIGN KEY (document_id) "
        "REFERENCES documents(id) NOT VALID");
    text = ChunksBeforeWith(R"pb(foreign_key {
                                   name: "fk_chunks_document"
                                   column: "document_id"
                                   references_table: "documents"
                                   references_column: "id"
                                 }
    )pb");
  }
  const Registry registry = testing::MustLoadRegistry(text);
  const std::string dir = testing::TempDir();
  testing::WriteFile(dir, "chunks.textproto", text);
  auto server = std::make_unique<testing::ServerProcess>(std::vector<std::string>{
      "--database-url", db->url(), "--registry", dir, "--lock-timeout", "60s"});
  std::unique_ptr<Writers> writers;
  if (!c.crash_postgres) writers = std::make_unique<Writers>(db->url(), 2);
  // The blocker: an old snapshot for a build; SHARE UPDATE EXCLUSIVE (no
  // writer waits for it) for a validation.
  std::unique_ptr<SnapshotBlocker> snapshot;
  std::unique_ptr<pqxx::connection> lock_conn;
  std::unique_ptr<pqxx::work> lock_tx;
  if (c.validate) {
    lock_conn = std::make_unique<pqxx::connection>(db->url());
    lock_tx = std::make_unique<pqxx::work>(*lock_conn);
    lock_tx->exec("LOCK TABLE chunks IN SHARE UPDATE EXCLUSIVE MODE");
  } else {
    snapshot = std::make_unique<SnapshotBlocker>(db->url(), "chunks");
  }
  testing::CommandResult client;
  std::thread calling([&] {
    client = testing::RunCommand(absl::StrCat(
        testing::BinaryPath("schemactl"), " --server ", server->address(),
        " --timeout 60s initialize --online --allow-hazards INDEX_BUILD,VALIDATION 2>&1"));
  });
  ASSERT_TRUE(SeenWaiting(*db, c.validate ? "VALIDATE CONSTRAINT" : "CREATE INDEX CONCURRENTLY"));
  if (c.crash_postgres) {
    cluster->Stop("immediate");
    cluster->Start();
  } else {
    server->Kill(SIGKILL);
  }
  // The old snapshot or lock goes away (with the crash, or now).
  try {
    if (lock_tx) lock_tx->commit();
  } catch (const std::exception&) {
  }
  lock_tx.reset();
  try {
    if (snapshot) snapshot->Release();
  } catch (const std::exception&) {
  }
  snapshot.reset();
  calling.join();
  EXPECT_NE(client.exit_code, 0) << client.output;
  server.reset();

  // The next Initialize (another schemad) finishes the job. The killed
  // schemad's backend may still hold the lock for a moment (until it
  // notices its client is gone): waited for, within the deadline.
  std::unique_ptr<Database> pool = *Database::Create({.url = db->url()});
  Engine engine(pool.get(), registry);
  InitializeOptions options;
  options.mode = ApplyMode::kOnline;
  options.allow_hazards = AllHazards();
  absl::StatusOr<InitializeResult> next = engine.Initialize(options, Deadline(60));
  if (writers) writers->Stop();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->outcome == Outcome::kApplied || next->outcome == Outcome::kAlreadyInSync)
      << OutcomeName(next->outcome) << " " << next->cause;
  absl::StatusOr<StatusResult> status = engine.Status(Deadline(), ApplyMode::kOnline);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(TemporaryObjects(*db), 0);
  EXPECT_EQ(InvalidIndexes(*db), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"), 0);
  EXPECT_EQ(Count(*db, "SELECT count(*) FROM schemad.history WHERE state = 'running'"), 0)
      << "the crashed run's row is marked, not left running";
  if (writers) {
    EXPECT_THAT(writers->errors(), IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(Crashes, OnlineCrashTest,
                         ::testing::Values(CrashCase{"SchemadKilledMidBuild", false, false},
                                           CrashCase{"SchemadKilledMidValidate", false, true},
                                           CrashCase{"PostgresCrashedMidBuild", true, false},
                                           CrashCase{"PostgresCrashedMidValidate", true, true}),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace schemad
