#include "schemad/apply/engine.h"

#include <algorithm>
#include <optional>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "apply/self_schema.h"
#include "catalog/catalog.h"
#include "db/pool.h"
#include "db/watchdog.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"

namespace schemad {

namespace {

struct Snapshot {
  Schema actual;
  std::vector<Difference> differences;
  Plan plan;
  std::string fingerprint;
};

using Lease = ConnectionPool::Lease;

// The advisory lock key: per database and target schema, so unrelated
// schemas never wait for each other.
constexpr char kLockKey[] =
    "pg_catalog.hashtextextended(pg_catalog.concat('schemad:', pg_catalog.current_database(), "
    "':', $1::pg_catalog.text), 0)";

// FAILED_PRECONDITION when a reviewed plan's fingerprint is stale.
absl::Status CheckFingerprint(const std::string& expected, const std::string& current) {
  if (expected.empty() || expected == current) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the schema changed since the plan was reviewed: expected fingerprint ",
                   expected, ", current ", current, "; run Diff again and review the new plan"));
}

// COMMIT is sent only with this much of the caller's deadline left: a
// COMMIT whose acknowledgement is lost leaves the caller in doubt.
constexpr absl::Duration kCommitMargin = absl::Milliseconds(250);

absl::Status CommitMarginLeft(absl::Time deadline, const char* what) {
  if (deadline - absl::Now() >= kCommitMargin) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "too little of the caller's deadline left to commit ", what,
      " safely; rolled back, nothing applied"));
}

// A statement the watchdog cancelled fails with 57014: report why.
absl::Status StoppedOr(Watchdog& watchdog, const absl::Status& status, const char* what) {
  const absl::Status stopped = watchdog.Check(what);
  if (!stopped.ok() && (status.code() == absl::StatusCode::kDeadlineExceeded ||
                        SqlStateOf(status) == "57014")) {
    return stopped;
  }
  return status;
}

absl::Status CheckDeadline(absl::Time deadline, const char* what) {
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(absl::StrCat("deadline expired before ", what));
  }
  return absl::OkStatus();
}

// Per-transaction settings: search_path and a statement timeout no longer
// than what is left of the caller's deadline.
void BeginSettings(ConnectionPool& pool, pqxx::transaction_base& tx,
                   const std::vector<std::string>& search_path, absl::Time deadline, size_t tables,
                   absl::Duration lock_timeout) {
  std::vector<std::string> quoted;
  for (const std::string& s : search_path) quoted.push_back(QuoteIdent(s));
  const absl::Duration left = deadline - absl::Now();
  const absl::Duration timeout = std::min(left, pool.options().statement_timeout);
  ExecParams(pool, tx,
             "SELECT pg_catalog.set_config('search_path', $1, true), "
             "pg_catalog.set_config('statement_timeout', $2, true), "
             "pg_catalog.set_config('plan_cache_mode', $3, true), "
             "pg_catalog.set_config('lock_timeout', $4, true)",
             absl::StrJoin(quoted, ", "), TimeoutSetting(timeout), PlanCacheMode(tables),
             TimeoutSetting(lock_timeout));
}

// Reads for Status and Diff never queue behind a locked table for long: a
// read that must deparse an expression of a locked table (a cold cache, or
// a name it depends on changed) fails fast, naming the table.
constexpr absl::Duration kReadLockWait = absl::Seconds(1);

using SnapshotTx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

// Runs fn(tx, helper) in a read-only REPEATABLE READ transaction. When
// `parallel` and a second connection is free right now, `helper` is a
// transaction on it that shares tx's snapshot (pg_export_snapshot, as
// pg_dump -j does), so that catalog queries can run concurrently; otherwise
// it is null. Throws libpqxx exceptions (call under Guard).
template <typename Fn>
void InSnapshot(ConnectionPool& pool, Lease& lease, const std::string& schema, absl::Time deadline,
                size_t tables, bool parallel, absl::Duration lock_timeout, Fn&& fn) {
  SnapshotTx tx(lease.conn());
  pool.Count(2);
  std::unique_ptr<Lease> second;
  std::unique_ptr<SnapshotTx> helper;
  if (parallel) {
    absl::StatusOr<std::unique_ptr<Lease>> free_now = pool.Acquire(absl::Now());
    if (free_now.ok()) {
      const std::string snapshot =
          Exec(pool, tx, "SELECT pg_catalog.pg_export_snapshot()")[0][0].as<std::string>();
      second = std::move(*free_now);
      try {
        helper = std::make_unique<SnapshotTx>(second->conn());
        pool.Count(2);
        // The snapshot id comes from PostgreSQL and is quoted as a literal.
        Exec(pool, *helper, "SET TRANSACTION SNAPSHOT " + helper->quote(snapshot));
        BeginSettings(pool, *helper, {schema}, deadline, tables, lock_timeout);
      } catch (...) {
        // Reading sequentially is always correct: fall back to it.
        helper.reset();
        second->Discard();
        second.reset();
      }
    }
  }
  BeginSettings(pool, tx, {schema}, deadline, tables, lock_timeout);
  fn(tx, helper.get());
  if (helper != nullptr) helper->commit();
  tx.commit();
}

// Runs `fn` on a pooled connection. A reused connection that turns out to
// be broken (the server restarted) is replaced once by a fresh one.
template <typename Fn>
absl::Status WithConnection(ConnectionPool& pool, absl::Time deadline, Fn&& fn) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<Lease>> lease = pool.Acquire(deadline, attempt > 0);
    if (!lease.ok()) return lease.status();
    absl::Status status = fn(**lease);
    if (status.ok()) return status;
    if (IsTransient(status) || status.code() == absl::StatusCode::kInternal ||
        status.code() == absl::StatusCode::kCancelled) {
      // After a timeout or failure mid-statement the session state is not
      // worth trusting: open a new one next time.
      (*lease)->Discard();
    }
    if ((*lease)->fresh() || status.code() != absl::StatusCode::kUnavailable) return status;
  }
  return absl::UnavailableError("database unreachable");
}

std::set<std::string> Keys(const std::vector<Difference>& diffs) {
  std::set<std::string> out;
  for (const Difference& d : diffs) out.insert(d.Key());
  return out;
}

bool DeclaredStillDiffers(const std::vector<Difference>& remaining) {
  for (const Difference& d : remaining) {
    if (d.change != Change::kExtra) return true;
  }
  return false;
}

}  // namespace

Engine::Engine(Database* db, Registry registry, EngineOptions options)
    : db_(db),
      registry_(std::move(registry)),
      options_(options),
      deparse_cache_(std::make_unique<DeparseCache>()) {}

Engine::~Engine() = default;

// Returns the canonical desired schema, computing it on `conn` if needed.
// Shared, not copied: a 5,000-table model is megabytes.
static absl::StatusOr<std::shared_ptr<const Schema>> CachedCanonical(
    absl::Mutex& mu, std::shared_ptr<const Schema>& cache, ConnectionPool& pool, Lease& lease,
    const Registry& registry) {
  absl::MutexLock lock(&mu);
  if (cache != nullptr) return cache;
  absl::StatusOr<Schema> canonical = Canonicalize(pool, lease.conn(), registry);
  // Another replica canonicalizing at the same moment (extensions are
  // created in a serialized section): retry rather than fail.
  for (int attempt = 1; attempt < 3 && canonical.status().code() == absl::StatusCode::kAborted;
       ++attempt) {
    canonical = Canonicalize(pool, lease.conn(), registry);
  }
  if (!canonical.ok()) {
    // The caller's request is fine; the served registry does not fit this
    // database (a missing extension, a type PostgreSQL rejects): an
    // operator must fix one or the other.
    if (canonical.status().code() == absl::StatusCode::kInvalidArgument) {
      absl::Status status = Annotate(canonical.status(),
                                     "the served registry cannot be created on this database");
      return absl::Status(absl::StatusCode::kFailedPrecondition, status.message());
    }
    return canonical.status();
  }
  cache = std::make_shared<const Schema>(*std::move(canonical));
  return cache;
}

absl::Status Engine::Prepare(absl::Time deadline) {
  {
    absl::MutexLock lock(&cache_mu_);
    if (canonical_ != nullptr) return absl::OkStatus();
  }
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "canonicalizing the registry"));
  return WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    return CachedCanonical(cache_mu_, canonical_, db_->pool(), lease, registry_).status();
  });
}

absl::StatusOr<RequestOutcome> Engine::LookupRequest(const std::string& request_id,
                                                     absl::Time deadline) {
  if (request_id.empty() || request_id.size() > 64) {
    return absl::InvalidArgumentError("request_id: 1 to 64 characters");
  }
  RequestOutcome out;
  SCHEMAD_RETURN_IF_ERROR(WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    return Guard("looking up the request in schemad.history", [&]() -> absl::Status {
      pqxx::work tx(lease.conn());
      db_->pool().Count(2);
      BeginSettings(db_->pool(), tx, {registry_.schema.name}, deadline, 0,
                    db_->pool().options().lock_timeout);
      // An Initialize of this schema in progress holds the advisory lock:
      // wait for it (lock_timeout bounds the wait), so that the answer is
      // final rather than "not yet".
      ExecParams(db_->pool(), tx,
                 absl::StrCat("SELECT pg_catalog.pg_advisory_xact_lock_shared(", kLockKey, ")"),
                 registry_.schema.name);
      bool usable = false;
      int version = 0;
      SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(db_->pool(), tx, &usable, &version));
      if (usable && version >= 2) {
        if (std::optional<HistoryRow> row = ReadRequest(db_->pool(), tx, request_id)) {
          out.committed = true;
          out.finished_at = row->finished_at;
          out.steps = row->steps;
          out.registry_fingerprint = row->registry_fingerprint;
        }
      }
      tx.commit();
      return absl::OkStatus();
    });
  }));
  return out;
}

absl::StatusOr<std::vector<std::string>> Engine::CheckPrivileges(absl::Time deadline) {
  std::vector<std::string> warnings;
  SCHEMAD_RETURN_IF_ERROR(WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    return Guard("checking schemad's privileges", [&]() -> absl::Status {
      pqxx::read_transaction tx(lease.conn());
      db_->pool().Count(2);
      const pqxx::result r = ExecParams(
          db_->pool(), tx,
          "SELECT CURRENT_USER::pg_catalog.text, r.rolsuper, "
          "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'), "
          "(SELECT pg_catalog.has_schema_privilege(n.oid, 'CREATE') "
          " FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1) "
          "FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER",
          registry_.schema.name);
      if (r.empty()) return absl::OkStatus();
      const std::string role = r[0][0].as<std::string>();
      if (r[0][1].as<bool>()) {
        warnings.push_back(absl::StrCat(
            "connected as superuser \"", role,
            "\": schemad needs only CREATE on the database and on schema \"",
            registry_.schema.name,
            "\" and ownership of what it alters; run it as a role that owns the application's "
            "schema (README: \"Database privileges\")"));
      }
      if (!r[0][2].as<bool>()) {
        warnings.push_back(absl::StrCat(
            "role \"", role,
            "\" lacks CREATE on the database: schemad cannot create its scratch schema "
            "(canonicalization) or its own schema \"schemad\" (GRANT CREATE ON DATABASE ... TO ",
            QuoteIdent(role), ")"));
      }
      if (!r[0][3].is_null() && !r[0][3].as<bool>()) {
        warnings.push_back(absl::StrCat("role \"", role, "\" lacks CREATE on schema \"",
                                        registry_.schema.name,
                                        "\": Initialize cannot create tables there (GRANT CREATE "
                                        "ON SCHEMA ",
                                        QuoteIdent(registry_.schema.name), " TO ",
                                        QuoteIdent(role), ")"));
      }
      tx.commit();
      return absl::OkStatus();
    });
  }));
  return warnings;
}

bool Engine::prepared() const {
  absl::MutexLock lock(&cache_mu_);
  return canonical_ != nullptr;
}

absl::StatusOr<Schema> Engine::Desired(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "reading the registry"));
  Schema out;
  absl::Status status = WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Schema> canonical,
                             CachedCanonical(cache_mu_, canonical_, db_->pool(), lease, registry_));
    out = *canonical;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

// Reads the live schema and plans against `desired` inside `tx`.
static Snapshot* TakeSnapshot(ConnectionPool& pool, pqxx::dbtransaction& tx,
                              pqxx::transaction_base* helper, const Registry& registry,
                              const Schema& desired, Snapshot* out, bool wait_for_locks,
                              DeparseCache* cache);

// Names the tables of `schema` that other sessions hold in a mode that
// blocks reading their definitions (55P03 does not say which).
static std::string LockedTables(ConnectionPool& pool, Lease& lease, const std::string& schema) {
  std::string out;
  absl::Status ignored = Guard("finding locked tables", [&]() -> absl::Status {
    pqxx::nontransaction tx(lease.conn());
    const pqxx::result rows = ExecParams(
        pool, tx,
        "SELECT DISTINCT c.relname::pg_catalog.text, l.mode, l.pid FROM pg_catalog.pg_locks l "
        "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation "
        "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
        "AND l.mode OPERATOR(pg_catalog.=) 'AccessExclusiveLock' "
        "AND n.nspname OPERATOR(pg_catalog.=) $1 ORDER BY 1, 3",
        schema);
    std::vector<std::string> named;
    for (const auto& row : rows) {
      named.push_back(absl::StrCat("table ", QuoteIdent(row[0].as<std::string>()), " (",
                                   row[1].as<std::string>(), ", pid ", row[2].as<std::string>(),
                                   ")"));
    }
    if (!named.empty()) {
      out = absl::StrCat("; held by another session: ", absl::StrJoin(named, ", "));
    }
    return absl::OkStatus();
  });
  return out;
}

// Takes one snapshot of the live schema and plans against `desired`; then
// runs `extra(tx)` in the same transaction (e.g. reading history).
template <typename Extra>
static absl::Status ReadAndPlan(ConnectionPool& pool, Lease& lease, const Registry& registry,
                                const Schema& desired, const EngineOptions& options,
                                absl::Time deadline, bool wait_for_locks, Snapshot* snapshot,
                                DeparseCache* cache, Extra&& extra) {
  const absl::Duration lock_timeout = wait_for_locks
                                          ? pool.options().lock_timeout
                                          : std::min(pool.options().lock_timeout, kReadLockWait);
  absl::Status status = Guard("reading the database schema", [&]() -> absl::Status {
    InSnapshot(pool, lease, desired.name, deadline, desired.tables.size(),
               desired.tables.size() >= options.parallel_read_tables, lock_timeout,
               [&](pqxx::dbtransaction& tx, pqxx::transaction_base* helper) {
                 TakeSnapshot(pool, tx, helper, registry, desired, snapshot, wait_for_locks,
                              cache);
                 extra(tx);
               });
    return absl::OkStatus();
  });
  if (SqlStateOf(status) == "55P03") {
    return absl::Status(status.code(), absl::StrCat(status.message(),
                                                    LockedTables(pool, lease, desired.name)));
  }
  return status;
}

absl::StatusOr<DiffResult> Engine::Diff(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the diff"));
  DiffResult result;
  absl::Status status = WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Schema> canonical,
                             CachedCanonical(cache_mu_, canonical_, db_->pool(), lease, registry_));
    const Schema& desired = *canonical;
    Snapshot snapshot;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(db_->pool(), lease, registry_, desired, options_, deadline,
                                        /*wait_for_locks=*/false, &snapshot, deparse_cache_.get(),
                                        [](pqxx::dbtransaction&) {}));
    result.differences = std::move(snapshot.differences);
    result.plan = std::move(snapshot.plan);
    result.fingerprint = snapshot.fingerprint;
    result.schema = desired.name;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<StatusResult> Engine::Status(absl::Time deadline) {
  absl::StatusOr<StatusResult> result = StatusOnce(deadline);
  if (!result.ok() && history_exists_ == false && SqlStateOf(result.status()) == "42P01") {
    // schemad.history was dropped under us: read again, checking for it.
    result = StatusOnce(deadline);
  }
  return result;
}

absl::StatusOr<StatusResult> Engine::StatusOnce(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the status check"));
  StatusResult result;
  absl::Status status = WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Schema> canonical,
                             CachedCanonical(cache_mu_, canonical_, db_->pool(), lease, registry_));
    const Schema& desired = *canonical;
    result = StatusResult{};  // a retried attempt starts afresh
    Snapshot snapshot;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(
        db_->pool(), lease, registry_, desired, options_, deadline, /*wait_for_locks=*/false,
        &snapshot, deparse_cache_.get(), [&](pqxx::dbtransaction& tx) {
          // Once the history table is known to be schemad's own, read it
          // directly (one round trip less); if it was dropped since, Status
          // tries again. A schema or table schemad did not create is never
          // read: Status still answers, with a warning, so that nobody can
          // block the CI gate this way.
          bool has_history = history_exists_.load();
          if (!has_history) {
            absl::Status trusted = VerifySelfSchema(db_->pool(), tx, &has_history);
            if (!trusted.ok()) {
              has_history = false;
              result.warnings.push_back(std::string(trusted.message()));
            }
            history_exists_.store(has_history);
          }
          if (has_history) {
            std::optional<HistoryRow> last;
            try {
              last = ReadLastApplied(db_->pool(), tx);
            } catch (const pqxx::sql_error& e) {
              if (e.sqlstate() == "42P01") history_exists_.store(false);
              throw;
            }
            if (last.has_value()) {
              result.last_applied_fingerprint = last->registry_fingerprint;
              result.last_applied_at = last->finished_at;
            }
          }
        }));
    result.registry_fingerprint = registry_.fingerprint;
    result.fingerprint = snapshot.fingerprint;
    bool hazard_free = true;
    for (const PlanStep& step : snapshot.plan.steps) hazard_free &= step.hazards.empty();
    for (const Difference& d : snapshot.differences) {
      if (d.change == Change::kMissing) ++result.missing;
      if (d.change == Change::kExtra) ++result.extra;
      if (d.change == Change::kChanged) ++result.changed;
    }
    if (snapshot.differences.empty()) {
      result.state = SyncState::kInSync;
    } else if (result.extra == 0 && hazard_free) {
      result.state = SyncState::kPending;
    } else {
      result.state = SyncState::kDrifted;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Schema> Engine::Inspect(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the inspection"));
  Schema result;
  absl::Status status = WithConnection(db_->pool(), deadline, [&](Lease& lease) -> absl::Status {
    return Guard("reading the database schema", [&]() -> absl::Status {
      pqxx::read_transaction tx(lease.conn());
      db_->pool().Count(2);
      BeginSettings(db_->pool(), tx, {registry_.schema.name}, deadline, kLargeSchemaTables,
                    db_->pool().options().lock_timeout);
      result = ReadSchema(db_->pool(), tx, registry_.schema.name, nullptr, deparse_cache_.get());
      tx.commit();
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  return result;
}

static Snapshot* TakeSnapshot(ConnectionPool& pool, pqxx::dbtransaction& tx,
                              pqxx::transaction_base* helper, const Registry& registry,
                              const Schema& desired, Snapshot* out, bool wait_for_locks,
                              DeparseCache* cache) {
  out->actual = ReadSchema(pool, tx, desired.name, helper, cache);
  out->differences = DiffSchemas(desired, out->actual);
  // Tables that exist and that the plan touches: are they empty? That
  // decides whether index builds, validations and rewrites are hazards.
  std::set<std::string> touched;
  for (const Difference& d : out->differences) {
    if (!d.table.empty() && d.kind != ObjectKind::kEnumLabel &&
        out->actual.FindTable(d.table) != nullptr) {
      touched.insert(d.table);
    }
  }
  PlanOptions options;
  if (!touched.empty()) {
    options.tables_with_rows =
        TablesWithRows(pool, tx, desired.name,
                       std::vector<std::string>(touched.begin(), touched.end()), wait_for_locks);
  }
  out->plan = BuildPlan(desired, out->actual, out->differences, options);
  Fingerprinter fp;
  fp.Add(registry.fingerprint);
  fp.Add(SerializeForFingerprint(out->actual));
  for (const std::string& t : options.tables_with_rows) fp.Add(t);
  out->fingerprint = fp.Hex();
  return out;
}

absl::StatusOr<InitializeResult> Engine::Initialize(const InitializeOptions& options,
                                                    absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "Initialize"));
  // Most calls (every replica's start-up) find nothing to do. When no other
  // Initialize of the schema runs, the call takes the locks at once and
  // reads once, under them. When one runs (in this process or another
  // replica), it answers from one snapshot without queueing for the locks:
  // in sync at that snapshot is a true answer whatever else runs; anything
  // else waits for the locks and reads and plans again under them.
  InitializeResult quick;
  bool quick_done = false;
  bool quick_in_sync = false;
  auto quick_read = [&](Lease& lease) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Schema> canonical,
                             CachedCanonical(cache_mu_, canonical_, db_->pool(), lease, registry_));
    Snapshot snapshot;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(db_->pool(), lease, registry_, *canonical, options_,
                                        deadline, /*wait_for_locks=*/false, &snapshot,
                                        deparse_cache_.get(), [](pqxx::dbtransaction&) {}));
    quick_done = true;
    quick_in_sync = snapshot.differences.empty();
    quick.fingerprint = snapshot.fingerprint;
    quick.outcome = Outcome::kAlreadyInSync;
    return absl::OkStatus();
  };
  auto quick_answer = [&]() -> absl::StatusOr<InitializeResult> {
    SCHEMAD_RETURN_IF_ERROR(CheckFingerprint(options.expected_fingerprint, quick.fingerprint));
    return quick;
  };
  // One Initialize per process at a time; the advisory lock below does the
  // same across processes.
  bool slot = false;
  {
    absl::MutexLock lock(&init_mu_);
    if (!init_busy_) slot = init_busy_ = true;
  }
  if (!slot) {
    SCHEMAD_RETURN_IF_ERROR(WithConnection(db_->pool(), deadline, quick_read));
    if (quick_in_sync) return quick_answer();
    absl::MutexLock lock(&init_mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(init_mu_) { return !init_busy_; };
    if (!init_mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
      return absl::DeadlineExceededError(
          "deadline expired waiting for another Initialize in this server to finish");
    }
    init_busy_ = true;
  }
  absl::Cleanup release = [this] {
    absl::MutexLock lock(&init_mu_);
    init_busy_ = false;
  };

  const absl::Time started = absl::Now();
  ConnectionPool& pool = db_->pool();
  InitializeResult result;
  absl::Status status = WithConnection(pool, deadline, [&](Lease& lease) -> absl::Status {
    const std::string& schema_name = registry_.schema.name;
    if (quick_in_sync) return absl::OkStatus();
    result = InitializeResult{};  // a retried attempt (a fresh connection) starts afresh
    // The caller's deadline and cancellation bound the whole call, from the
    // lock wait to COMMIT: a statement in flight is cancelled, the next one
    // is not sent, and COMMIT starts only with a margin left (its
    // acknowledgement can be lost; the request id answers that case).
    Watchdog watchdog(lease.conn(), deadline, options.cancelled);
    auto stopped = [&](const char* what) { return watchdog.Check(what); };
    // Advisory lock, polled outside any transaction with backoff.
    absl::Duration backoff = absl::Milliseconds(5);
    for (;;) {
      bool locked = false;
      SCHEMAD_RETURN_IF_ERROR(Guard("taking the Initialize lock", [&]() -> absl::Status {
        pqxx::nontransaction tx(lease.conn());
        locked = ExecParams(pool, tx, absl::StrCat("SELECT pg_catalog.pg_try_advisory_lock(", kLockKey, ")"),
                            schema_name)[0][0]
                     .as<bool>();
        return absl::OkStatus();
      }));
      if (locked) break;
      if (!quick_done) {
        // Another replica holds the lock: answer now if in sync.
        SCHEMAD_RETURN_IF_ERROR(quick_read(lease));
        if (quick_in_sync) return absl::OkStatus();
      }
      SCHEMAD_RETURN_IF_ERROR(stopped("waiting for another Initialize"));
      if (absl::Now() + backoff >= deadline) {
        return absl::DeadlineExceededError(
            "deadline expired waiting for another schemad's Initialize of this schema "
            "(advisory lock)");
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(200));
    }
    absl::Cleanup unlock = [&] {
      absl::Status ignored = Guard("releasing the Initialize lock", [&]() -> absl::Status {
        pqxx::nontransaction tx(lease.conn());
        ExecParams(pool, tx, absl::StrCat("SELECT pg_catalog.pg_advisory_unlock(", kLockKey, ")"),
                   schema_name);
        return absl::OkStatus();
      });
      if (!ignored.ok()) lease.Discard();  // closing the session releases it
    };

    SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<const Schema> canonical,
                             CachedCanonical(cache_mu_, canonical_, pool, lease, registry_));
    const Schema& desired = *canonical;
    Snapshot snapshot;
    absl::Status planned = ReadAndPlan(pool, lease, registry_, desired, options_, deadline,
                                       /*wait_for_locks=*/true, &snapshot, deparse_cache_.get(),
                                       [](pqxx::dbtransaction&) {});
    if (!planned.ok()) return StoppedOr(watchdog, planned, "Initialize");
    result.fingerprint = snapshot.fingerprint;
    SCHEMAD_RETURN_IF_ERROR(CheckFingerprint(options.expected_fingerprint, snapshot.fingerprint));

    // Which steps run: those whose every hazard is accepted, group-wise.
    std::set<HazardKind> allowed(options.allow_hazards.begin(), options.allow_hazards.end());
    std::set<int> blocked_groups;
    auto step_allowed = [&](const PlanStep& s) {
      for (const Hazard& h : s.hazards) {
        if (!allowed.count(h.kind)) return false;
      }
      return true;
    };
    for (const PlanStep& s : snapshot.plan.steps) {
      if (s.group != 0 && !step_allowed(s)) blocked_groups.insert(s.group);
    }
    std::vector<PlanStep> label_steps, main_steps;
    std::set<int> resolved;
    for (const PlanStep& s : snapshot.plan.steps) {
      const bool runs = step_allowed(s) && (s.group == 0 || !blocked_groups.count(s.group));
      if (!runs) {
        result.skipped.push_back(s);
        continue;
      }
      (s.own_transaction ? label_steps : main_steps).push_back(s);
      resolved.insert(s.resolves.begin(), s.resolves.end());
    }
    std::vector<Difference> expected_remaining;
    for (int i = 0; i < static_cast<int>(snapshot.differences.size()); ++i) {
      if (!resolved.count(i)) expected_remaining.push_back(snapshot.differences[i]);
    }
    result.executed = label_steps;
    result.executed.insert(result.executed.end(), main_steps.begin(), main_steps.end());
    result.remaining = expected_remaining;
    if (snapshot.differences.empty()) {
      result.outcome = Outcome::kAlreadyInSync;
      return absl::OkStatus();
    }
    if (options.dry_run) {
      result.outcome = Outcome::kDryRun;
      return absl::OkStatus();
    }
    if (result.executed.empty()) {
      result.outcome =
          DeclaredStillDiffers(expected_remaining) ? Outcome::kPartial : Outcome::kAlreadyInSync;
      return absl::OkStatus();
    }

    std::string labels_committed;
    if (!label_steps.empty()) {
      // ALTER TYPE ... ADD VALUE: committed on its own, because a label is
      // unusable in the transaction that adds it (SQLSTATE 55P04).
      absl::Status labels = Guard("adding enum labels", [&]() -> absl::Status {
        pqxx::work tx(lease.conn());
        pool.Count(2);
        BeginSettings(pool, tx, {desired.name}, deadline, desired.tables.size(),
                      pool.options().lock_timeout);
        for (const PlanStep& s : label_steps) {
          SCHEMAD_RETURN_IF_ERROR(stopped("adding enum labels"));
          Exec(pool, tx, s.sql);
        }
        SCHEMAD_RETURN_IF_ERROR(CommitMarginLeft(deadline, "adding enum labels"));
        SCHEMAD_RETURN_IF_ERROR(stopped("adding enum labels"));
        tx.commit();
        return absl::OkStatus();
      });
      if (!labels.ok()) return StoppedOr(watchdog, labels, "adding enum labels");
      std::vector<std::string> sql;
      for (const PlanStep& s : label_steps) sql.push_back(s.sql);
      labels_committed = absl::StrCat(
          "; note: ", label_steps.size(),
          " enum label step(s) had already committed on their own before the main "
          "transaction: ",
          absl::StrJoin(sql, "; "));
    }

    // Each step is sent alone (one statement per call, extended protocol);
    // a failing step is named from the statement that failed, and nothing
    // is ever sent twice.
    std::string failed_step;
    absl::Status applied = Guard("applying the plan", [&]() -> absl::Status {
      pqxx::work tx(lease.conn());
      pool.Count(2);
      BeginSettings(pool, tx, {desired.name}, deadline, desired.tables.size(),
                    pool.options().lock_timeout);
      SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(pool, tx));
      for (const PlanStep& s : main_steps) {
        SCHEMAD_RETURN_IF_ERROR(stopped("the plan"));
        failed_step = s.sql;
        Exec(pool, tx, s.sql);
      }
      failed_step.clear();
      // Read back and hold the result to what the plan promised.
      Schema after = ReadSchema(pool, tx, desired.name, nullptr, deparse_cache_.get());
      std::vector<Difference> now = DiffSchemas(desired, after);
      const std::set<std::string> allowed_keys = Keys(expected_remaining);
      for (const Difference& d : now) {
        if (!allowed_keys.count(d.Key())) {
          return absl::InternalError(
              absl::StrCat("read-back check failed, rolled back: after the plan, ",
                           ObjectKindName(d.kind), " ", d.name, " is ", ChangeName(d.change), " (",
                           d.detail, "; expected ", d.expected, ", found ", d.actual, ")"));
        }
      }
      result.remaining = now;
      const absl::Time finished = absl::Now();
      RecordHistory(pool, tx,
                    {.started = started,
                     .finished = finished,
                     .caller = options.caller,
                     .registry_fingerprint = registry_.fingerprint,
                     .request_id = options.request_id,
                     .steps = result.executed});
      SCHEMAD_RETURN_IF_ERROR(CommitMarginLeft(deadline, "the plan"));
      SCHEMAD_RETURN_IF_ERROR(stopped("the plan"));
      tx.commit();
      return absl::OkStatus();
    });
    if (!applied.ok()) {
      applied = StoppedOr(watchdog, applied, "the plan");
      if (!failed_step.empty()) {
        applied = Annotate(applied, absl::StrCat("step `", failed_step.substr(0, 200), "`"));
      }
      if (!labels_committed.empty()) {
        applied = absl::Status(applied.code(), absl::StrCat(applied.message(), labels_committed));
      }
      return applied;
    }
    result.outcome = DeclaredStillDiffers(result.remaining) ? Outcome::kPartial : Outcome::kApplied;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (quick_in_sync) return quick_answer();
  return result;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied:
      return "APPLIED";
    case Outcome::kAlreadyInSync:
      return "ALREADY_IN_SYNC";
    case Outcome::kDryRun:
      return "DRY_RUN";
    case Outcome::kPartial:
      return "PARTIAL";
  }
  return "?";
}

const char* SyncStateName(SyncState state) {
  switch (state) {
    case SyncState::kInSync:
      return "IN_SYNC";
    case SyncState::kPending:
      return "PENDING";
    case SyncState::kDrifted:
      return "DRIFTED";
  }
  return "?";
}

}  // namespace schemad
