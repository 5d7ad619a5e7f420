// ONLINE runs: phases committed one by one under a short lock_timeout with
// retries, concurrent index builds with progress events, undo of a
// statement that failed outside a transaction, the run's history row.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "apply/engine_internal.h"
#include "apply/self_schema.h"
#include "catalog/catalog.h"
#include "db/watchdog.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"
#include "schemad/model/codec.h"

namespace schemad::apply_internal {
namespace {

std::string TimeoutOrNone(absl::Duration d) {
  return d <= absl::ZeroDuration() ? "0" : TimeoutSetting(d);
}

// Polls pg_stat_progress_create_index for `pid` every second on a pooled
// connection of its own (skipped when none is free) while it lives.
class IndexProgress {
 public:
  IndexProgress(Database& db, int pid, InitializeEvent base, EventSink& sink)
      : db_(db), pid_(pid), base_(std::move(base)), sink_(sink) {
    if (sink_.enabled()) thread_ = std::thread([this] { Run(); });
  }
  ~IndexProgress() {
    stop_.Notify();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      absl::StatusOr<std::unique_ptr<Connection>> conn =
          db_.Acquire(absl::Now() + absl::Milliseconds(100));
      if (!conn.ok()) continue;
      InitializeEvent event = base_;
      bool found = false;
      Transaction tx(**conn, Transaction::Kind::kNone, "reading index build progress");
      const absl::StatusOr<Rows> r = tx.Exec(
          "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
          "FROM pg_catalog.pg_stat_progress_create_index WHERE pid OPERATOR(pg_catalog.=) $1",
          {pid_});
      if (r.ok() && !r->empty()) {
        found = true;
        const Rows::Row row = (*r)[0];
        event.progress_phase = row.Text(0);
        event.blocks_done = row.Int(1);
        event.blocks_total = row.Int(2);
        event.tuples_done = row.Int(3);
        event.tuples_total = row.Int(4);
      }
      if (!r.ok()) (*conn)->Discard();
      if (found) sink_.Emit(event);
    }
  }

  Database& db_;
  const int pid_;
  const InitializeEvent base_;
  EventSink& sink_;
  absl::Notification stop_;
  std::thread thread_;
};

// Sessions that hold a lock on any of `relations` (for lock-wait events).
std::vector<int> LockHolders(OnlineRun& run, const std::vector<std::string>& relations) {
  std::set<int> pids;
  for (const std::string& relation : relations) {
    Transaction tx(run.conn, Transaction::Kind::kNone, "finding lock holders");
    const absl::StatusOr<Rows> rows = tx.Exec(
        "SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l "
        "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation "
        "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
        "AND n.nspname OPERATOR(pg_catalog.=) $1 AND c.relname OPERATOR(pg_catalog.=) $2",
        {run.desired.name, relation});
    if (!rows.ok()) continue;
    for (const Rows::Row row : *rows) pids.insert(static_cast<int>(row.Int(0)));
  }
  return std::vector<int>(pids.begin(), pids.end());
}

// Sets search_path, statement_timeout and lock_timeout for the
// transaction (`local`) or the session; returns the previous search_path.
absl::StatusOr<std::string> PhaseSettings(Transaction& tx, const OnlineRun& run,
                                          absl::Duration statement, absl::Duration lock,
                                          bool local) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows r,
                           tx.Exec("SELECT pg_catalog.current_setting('search_path'), "
                                   "pg_catalog.set_config('search_path', $1, $4), "
                                   "pg_catalog.set_config('statement_timeout', $2, $4), "
                                   "pg_catalog.set_config('lock_timeout', $3, $4), "
                                   "pg_catalog.set_config('check_function_bodies', 'off', true), "
                                   // Catalog queries' estimates reach jit_above_cost; compiling
                                   // them costs far more than running them.
                                   "pg_catalog.set_config('jit', 'off', true)",
                                   {QuoteIdent(run.desired.name), TimeoutOrNone(statement),
                                    TimeoutOrNone(lock), local}));
  return r[0].Text(0);
}

// Runs one statement outside any transaction (CREATE/DROP INDEX
// CONCURRENTLY): lock_timeout 0 (its waits block no writer; a short one
// would cancel the build whenever an older transaction exists), its own
// statement timeout; the session's settings are restored afterwards.
absl::Status RunOutsideTransaction(OnlineRun& run, const std::string& sql,
                                   absl::Duration lock_timeout = absl::ZeroDuration()) {
  std::string previous_path;
  std::string previous_workers;
  absl::Status status = [&]() -> absl::Status {
    Transaction tx(run.conn, Transaction::Kind::kNone, "running a statement outside a transaction");
    SCHEMAD_ASSIGN_OR_RETURN(previous_path,
                             PhaseSettings(tx, run, run.engine.index_build_timeout, lock_timeout,
                                           /*local=*/false));
    // The build shares the server with the application: by default it
    // takes no parallel workers, leaving the other cores to the writers.
    SCHEMAD_ASSIGN_OR_RETURN(
        const Rows workers,
        tx.Exec("SELECT pg_catalog.current_setting('max_parallel_maintenance_workers'), "
                "pg_catalog.set_config('max_parallel_maintenance_workers', $1, false)",
                {run.engine.index_build_workers}));
    previous_workers = workers[0].Text(0);
    return tx.Exec(sql).status();
  }();
  Transaction tx(run.conn, Transaction::Kind::kNone, "restoring session settings");
  absl::Status restored =
      tx.Exec(
            "SELECT pg_catalog.set_config('search_path', $1, false), "
            "pg_catalog.set_config('statement_timeout', $2, false), "
            "pg_catalog.set_config('lock_timeout', $3, false), "
            "pg_catalog.set_config('max_parallel_maintenance_workers', $4, false)",
            {previous_path, TimeoutSetting(run.db.options().statement_timeout),
             TimeoutSetting(run.db.options().lock_timeout),
             previous_workers.empty() ? "2" : previous_workers})
          .status();
  if (status.ok() && !restored.ok()) return restored;
  return status;
}

// The statement timeout of a transactional phase: a phase that blocks no
// writer (a validation) may scan as long as an index build; others are
// bounded like any statement.
absl::Duration PhaseStatementTimeout(OnlineRun& run, const PhaseRun& phase) {
  const bool long_running =
      std::all_of(phase.steps.begin(), phase.steps.end(),
                  [](const PlanStep& s) { return s.timeout == StepTimeout::kLongRunning; });
  if (long_running) return run.engine.index_build_timeout;
  // At least 1 ms: zero would mean no timeout at all.
  return std::max(absl::Milliseconds(1),
                  std::min(run.deadline - absl::Now(), run.db.options().statement_timeout));
}

// Runs one transactional phase, retrying lock timeouts with jittered
// exponential back-off. Records the phase in the run's row before COMMIT.
absl::Status RunTransactionalPhase(OnlineRun& run, const PhaseRun& phase, int64_t run_id,
                                   int* retries, std::string* failed_sql) {
  LockRetryBackoff backoff(run.engine);
  const absl::Time phase_started = absl::Now();
  for (int attempt = 1;; ++attempt) {
    absl::Status status = [&]() -> absl::Status {
      Transaction tx(run.conn, Transaction::Kind::kReadWrite, "running a phase");
      SCHEMAD_RETURN_IF_ERROR(PhaseSettings(tx, run, PhaseStatementTimeout(run, phase),
                                            phase.strong_lock ? run.engine.online_lock_timeout
                                                              : run.db.options().lock_timeout,
                                            /*local=*/true)
                                  .status());
      for (const PlanStep& s : phase.steps) {
        *failed_sql = s.sql;
        SCHEMAD_RETURN_IF_ERROR(tx.Exec(s.sql).status());
      }
      failed_sql->clear();
      SCHEMAD_RETURN_IF_ERROR(RecordPhase(tx, run_id,
                                          {.phase = phase.number,
                                           .duration = absl::Now() - phase_started,
                                           .retries = attempt - 1,
                                           .steps = phase.steps}));
      return tx.Commit();
    }();
    if (status.ok() || !backoff.Retryable(status, attempt) ||
        run.watchdog.reason() != Watchdog::Reason::kNone) {
      *retries = attempt - 1;
      return status;
    }
    const absl::Duration wait = backoff.Next();
    InitializeEvent event;
    event.kind = InitializeEvent::Kind::kLockWait;
    event.run_id = run_id;
    event.phase = phase.number;
    event.relations = phase.relations;
    event.blocking_pids = LockHolders(run, phase.relations);
    event.attempt = attempt;
    event.retry_in = wait;
    run.sink.Emit(event);
    if (absl::Now() + wait >= run.deadline) {
      *retries = attempt - 1;
      return status;
    }
    absl::SleepFor(wait);
    // A cancellation that arrived during the pause (no statement was in
    // flight for the watchdog to cancel) stops the run here.
    if (run.watchdog.reason() != Watchdog::Reason::kNone) {
      *retries = attempt - 1;
      return run.watchdog.Check("the phase");
    }
  }
}

// Removes what a failed step left (see PlanStep::undo). Best effort: the
// next run repairs what this leaves.
void Undo(OnlineRun& run, const PlanStep& step, const absl::Status& failure) {
  if (step.undo.empty()) return;
  const bool on_data = SqlStateOf(failure).substr(0, 2) == "23";
  if (!step.undo_on_any_failure && !on_data) return;
  if (!step.undo_transactional) {
    // DROP INDEX CONCURRENTLY waits for every transaction using the table:
    // bounded, so that a cancelled run stops promptly (the next run drops
    // what is left).
    absl::Status ignored = RunOutsideTransaction(
        run, step.undo, std::max(run.engine.online_lock_timeout, absl::Seconds(5)));
    return;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::Status status = [&]() -> absl::Status {
      Transaction tx(run.conn, Transaction::Kind::kReadWrite, "undoing a failed step");
      SCHEMAD_RETURN_IF_ERROR(PhaseSettings(tx, run, run.db.options().statement_timeout,
                                            run.engine.online_lock_timeout, true)
                                  .status());
      SCHEMAD_RETURN_IF_ERROR(tx.Exec(step.undo).status());
      return tx.Commit();
    }();
    if (status.ok() || SqlStateOf(status) != "55P03") return;
  }
}

}  // namespace

// Runs `phases` one by one (see engine.h). Fills `result`; returns an error
// only when nothing was committed.
absl::Status RunOnlinePhases(OnlineRun& run, const std::vector<PlanStep>& steps,
                             InitializeResult* result) {
  const std::vector<PhaseRun> phases = PhasesOf(steps);
  result->phases = static_cast<int>(phases.size());
  int64_t run_id = 0;
  absl::Status started = [&]() -> absl::Status {
    Transaction tx(run.conn, Transaction::Kind::kReadWrite, "starting the online run");
    SCHEMAD_RETURN_IF_ERROR(PhaseSettings(tx, run, run.db.options().statement_timeout,
                                          run.db.options().lock_timeout, true)
                                .status());
    SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(tx));
    // Under the lock: a row still "running" belongs to a schemad that died.
    SCHEMAD_RETURN_IF_ERROR(MarkInterrupted(tx).status());
    SCHEMAD_ASSIGN_OR_RETURN(const int64_t from, LastAppliedRegistryId(tx));
    SCHEMAD_ASSIGN_OR_RETURN(const int64_t stored,
                             StoreRegistry(tx, run.registry, run.options.caller));
    SCHEMAD_ASSIGN_OR_RETURN(run_id,
                             StartRun(tx, {.started = run.started,
                                           .caller = run.options.caller,
                                           .registry_fingerprint = run.registry.fingerprint,
                                           .request_id = run.options.request_id,
                                           .phases = static_cast<int>(phases.size()),
                                           .registry_id = stored,
                                           .rollback = run.options.rollback,
                                           .from_registry_id = run.options.rollback ? from : 0}));
    return tx.Commit();
  }();
  SCHEMAD_RETURN_IF_ERROR(started);
  result->run_id = run_id;
  {
    InitializeEvent event;
    event.kind = InitializeEvent::Kind::kRunStarted;
    event.run_id = run_id;
    event.phases = result->phases;
    run.sink.Emit(event);
  }
  absl::Status failure;
  std::string state = "completed";
  std::string failed_on_data;
  for (const PhaseRun& phase : phases) {
    if (run.watchdog.reason() != Watchdog::Reason::kNone) {
      failure = run.watchdog.reason() == Watchdog::Reason::kCancelled
                    ? absl::CancelledError("the caller cancelled the call")
                    : absl::DeadlineExceededError("the caller's deadline passed");
      state = "cancelled";
      result->failed_phase = phase.number;
      break;
    }
    InitializeEvent begin;
    begin.kind = InitializeEvent::Kind::kPhaseStarted;
    begin.run_id = run_id;
    begin.phase = phase.number;
    begin.phases = result->phases;
    for (const PlanStep& s : phase.steps) begin.statements.push_back(s.sql);
    run.sink.Emit(begin);
    const absl::Time phase_started = absl::Now();
    int retries = 0;
    absl::Status status;
    std::string failed_sql;
    if (phase.transactional) {
      status = RunTransactionalPhase(run, phase, run_id, &retries, &failed_sql);
    } else {
      failed_sql = phase.steps.front().sql;
      const PlanStep& step = phase.steps.front();
      {
        InitializeEvent base;
        base.kind = InitializeEvent::Kind::kIndexProgress;
        base.run_id = run_id;
        base.phase = phase.number;
        base.phases = result->phases;
        base.index = step.sql;
        std::optional<IndexProgress> progress;
        if (step.statement == StatementKind::kCreateIndexConcurrently) {
          progress.emplace(run.db, run.conn.BackendPid(), base, run.sink);
        }
        status = RunOutsideTransaction(run, step.sql);
      }
      if (status.ok()) {
        Transaction tx(run.conn, Transaction::Kind::kReadWrite, "recording the phase");
        status = RecordPhase(
            tx, run_id,
            {.phase = phase.number, .duration = absl::Now() - phase_started, .steps = phase.steps});
        if (status.ok()) status = tx.Commit();
      }
    }
    if (!status.ok()) {
      status = StoppedOr(run.watchdog, status, "the phase");
      for (const PlanStep& s : phase.steps) Undo(run, s, status);
      failure = status;
      result->failed_phase = phase.number;
      if (SqlStateOf(status).substr(0, 2) == "23") failed_on_data = failed_sql;
      state = run.watchdog.reason() != Watchdog::Reason::kNone
                  ? "cancelled"
                  : absl::StrCat("failed at phase ", phase.number, ": ",
                                 std::string(status.message()).substr(0, 500));
      break;
    }
    ++result->phases_committed;
    result->executed.insert(result->executed.end(), phase.steps.begin(), phase.steps.end());
    InitializeEvent end;
    end.kind = InitializeEvent::Kind::kPhaseFinished;
    end.run_id = run_id;
    end.phase = phase.number;
    end.phases = result->phases;
    end.duration = absl::Now() - phase_started;
    end.retries = retries;
    run.sink.Emit(end);
  }
  // The final state; if even this fails, the next run marks the row
  // "interrupted".
  absl::Status ignored = [&]() -> absl::Status {
    Transaction tx(run.conn, Transaction::Kind::kReadWrite, "finishing the online run");
    SCHEMAD_RETURN_IF_ERROR(FinishRun(tx, run_id, state, failed_on_data));
    return tx.Commit();
  }();
  // What is left, read back (best effort: the phases are committed).
  absl::Status read = [&]() -> absl::Status {
    Transaction tx(run.conn, Transaction::Kind::kReadOnly, "reading the schema back");
    SCHEMAD_RETURN_IF_ERROR(PhaseSettings(tx, run, run.db.options().statement_timeout,
                                          run.db.options().lock_timeout, true)
                                .status());
    SCHEMAD_ASSIGN_OR_RETURN(const Schema after,
                             ReadSchema(tx, run.desired.name, nullptr, run.cache));
    result->remaining = DiffSchemas(run.desired, after);
    return tx.Commit();
  }();
  if (!failure.ok()) {
    if (result->phases_committed == 0) {
      return Annotate(failure,
                      absl::StrCat("online run ", run_id, ", phase ", result->failed_phase, " of ",
                                   result->phases, "; no phase committed, nothing was applied"));
    }
    result->outcome = Outcome::kIncomplete;
    result->cause = std::string(failure.message());
    if (!failed_on_data.empty()) {
      absl::StrAppend(&result->cause,
                      "; existing rows violate it: it is not retried on every start; fix the "
                      "rows, then retry it (retry_failed, schemactl --retry-failed)");
    }
    return absl::OkStatus();
  }
  if (!read.ok()) {
    result->cause =
        absl::StrCat("the run completed, but reading the schema back failed: ", read.message());
  }
  result->outcome = DeclaredStillDiffers(result->remaining, run.options.rollback)
                        ? Outcome::kPartial
                        : Outcome::kApplied;
  return absl::OkStatus();
}

}  // namespace schemad::apply_internal
