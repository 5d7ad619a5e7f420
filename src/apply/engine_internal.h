// The engine's internals shared by engine.cc and online.cc: transaction
// settings, snapshots, connections, step selection, and the state of an
// ONLINE run. Private to src/apply.
#ifndef SCHEMAD_APPLY_ENGINE_INTERNAL_H_
#define SCHEMAD_APPLY_ENGINE_INTERNAL_H_

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "apply/self_schema.h"
#include "catalog/catalog.h"
#include "db/watchdog.h"
#include "schemad/apply/engine.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"
#include "schemad/db/database.h"
#include "schemad/db/session.h"
#include "schemad/model/codec.h"

namespace schemad::apply_internal {

struct Snapshot {
  Schema actual;
  std::vector<Difference> differences;
  Plan plan;
  std::string fingerprint;
};

// The advisory lock key: per database and target schema, so unrelated
// schemas never wait for each other.
inline constexpr char kLockKey[] =
    "pg_catalog.hashtextextended(pg_catalog.concat('schemad:', pg_catalog.current_database(), "
    "':', $1::pg_catalog.text), 0)";

// FAILED_PRECONDITION when a reviewed plan's fingerprint is stale.
inline absl::Status CheckFingerprint(const std::string& expected, const std::string& current) {
  if (expected.empty() || expected == current) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the schema changed since the plan was reviewed: expected fingerprint ",
                   expected, ", current ", current, "; run Diff again and review the new plan"));
}

// COMMIT is sent only with this much of the caller's deadline left: a
// COMMIT whose acknowledgement is lost leaves the caller in doubt.
inline constexpr absl::Duration kCommitMargin = absl::Milliseconds(250);

inline absl::Status CommitMarginLeft(absl::Time deadline, const char* what) {
  if (deadline - absl::Now() >= kCommitMargin) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrCat("too little of the caller's deadline left to commit ", what,
                   " safely; rolled back, nothing applied"));
}

// A statement the watchdog cancelled fails with 57014: report why.
inline absl::Status StoppedOr(Watchdog& watchdog, const absl::Status& status, const char* what) {
  const absl::Status stopped = watchdog.Check(what);
  // 57014 (query_canceled) is DEADLINE_EXCEEDED: decided once, in src/db.
  if (!stopped.ok() && status.code() == absl::StatusCode::kDeadlineExceeded) {
    return stopped;
  }
  return status;
}

inline absl::Status CheckDeadline(absl::Time deadline, const char* what) {
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(absl::StrCat("deadline expired before ", what));
  }
  return absl::OkStatus();
}

// Per-transaction settings: search_path and a statement timeout no longer
// than what is left of the caller's deadline. `catalog_read`: a transaction
// that only reads the schema (no parallel workers for it).
inline absl::Status BeginSettings(Transaction& tx, const DatabaseOptions& db,
                                  const std::vector<std::string>& search_path, absl::Time deadline,
                                  size_t tables, absl::Duration lock_timeout,
                                  bool catalog_read = false) {
  std::vector<std::string> quoted;
  for (const std::string& s : search_path) quoted.push_back(QuoteIdent(s));
  const absl::Duration left = deadline - absl::Now();
  const absl::Duration timeout = std::min(left, db.statement_timeout);
  return tx
      .Exec(
          "SELECT pg_catalog.set_config('search_path', $1, true), "
          "pg_catalog.set_config('statement_timeout', $2, true), "
          "pg_catalog.set_config('plan_cache_mode', $3, true), "
          "pg_catalog.set_config('lock_timeout', $4, true), "
          // Function bodies are checked when canonicalizing, once
          // everything exists; a plan creates a function before the
          // tables its body reads (as pg_dump does).
          "pg_catalog.set_config('check_function_bodies', 'off', true), "
          // Catalog queries' estimates reach jit_above_cost; compiling
          // them costs far more than running them.
          "pg_catalog.set_config('jit', 'off', true), "
          // Nor do catalog reads gain from parallel workers: right after
          // a large Initialize each worker rebuilds its relation cache
          // first (0.5 s measured at 1,000 tables, for a 10 ms query).
          // Other transactions keep the server's setting (a planned
          // materialized view fills with them).
          "pg_catalog.set_config('max_parallel_workers_per_gather', "
          "COALESCE(NULLIF($5, ''), "
          "pg_catalog.current_setting('max_parallel_workers_per_gather')), true)",
          {absl::StrJoin(quoted, ", "), TimeoutSetting(timeout), PlanCacheMode(tables),
           TimeoutSetting(lock_timeout), catalog_read ? "0" : ""})
      .status();
}

// Reads for Status and Diff never queue behind a locked table for long: a
// read that must deparse an expression of a locked table (a cold cache, or
// a name it depends on changed) fails fast, naming the table.
inline constexpr absl::Duration kReadLockWait = absl::Seconds(1);

// Which second connection a schema read may use.
enum class SecondConnection {
  kNone,
  kIfIdle,  // one that is open and idle right now
  kIfFree,  // also one opened for it, when the pool has room
};

// Runs fn(tx, helper) in a read-only REPEATABLE READ transaction. When
// `second` allows and a second connection is free right now, `helper` is a
// transaction on it that shares tx's snapshot (pg_export_snapshot, as
// pg_dump -j does), so that catalog queries can run concurrently; otherwise
// it is null. Errors start with `what`.
template <typename Fn>
inline absl::Status InSnapshot(Database& db, Connection& conn, const char* what,
                               const std::string& schema, absl::Time deadline, size_t tables,
                               SecondConnection second_kind, absl::Duration lock_timeout, Fn&& fn) {
  Transaction tx(conn, Transaction::Kind::kSnapshot, what);
  // A failed BEGIN (a stale connection) is reported before a second
  // connection is taken.
  SCHEMAD_RETURN_IF_ERROR(tx.status());
  std::unique_ptr<Connection> second;
  std::unique_ptr<Transaction> helper;
  if (second_kind != SecondConnection::kNone) {
    absl::StatusOr<std::unique_ptr<Connection>> free_now =
        second_kind == SecondConnection::kIfFree ? db.Acquire(absl::Now()) : db.AcquireIdle();
    if (free_now.ok() && *free_now != nullptr) {
      SCHEMAD_ASSIGN_OR_RETURN(const Rows snapshot,
                               tx.Exec("SELECT pg_catalog.pg_export_snapshot()"));
      second = *std::move(free_now);
      helper = std::make_unique<Transaction>(*second, Transaction::Kind::kSnapshot, what);
      absl::Status shared = helper->ImportSnapshot(snapshot[0].Text(0));
      if (shared.ok()) {
        shared = BeginSettings(*helper, db.options(), {schema}, deadline, tables, lock_timeout,
                               /*catalog_read=*/true);
      }
      if (!shared.ok()) {
        // Reading sequentially is always correct: fall back to it.
        helper.reset();
        second->Discard();
        second.reset();
      }
    }
  }
  SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db.options(), {schema}, deadline, tables, lock_timeout,
                                        /*catalog_read=*/true));
  SCHEMAD_RETURN_IF_ERROR(fn(tx, helper.get()));
  if (helper != nullptr) SCHEMAD_RETURN_IF_ERROR(helper->Commit());
  return tx.Commit();
}

// Runs `fn` on a pooled connection. A reused connection that turns out to
// be broken (the server restarted) is replaced once by a fresh one.
template <typename Fn>
inline absl::Status WithConnection(Database& db, absl::Time deadline, Fn&& fn) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<Connection>> lease = db.Acquire(deadline, attempt > 0);
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

inline std::set<std::string> Keys(const std::vector<Difference>& diffs) {
  std::set<std::string> out;
  for (const Difference& d : diffs) out.insert(d.Key());
  return out;
}

// Whether what remains keeps the outcome PARTIAL: a difference in what the
// registry declares; for a rollback, also an object the version lacks
// (removing those is its purpose).
inline bool DeclaredStillDiffers(const std::vector<Difference>& remaining, bool rollback) {
  for (const Difference& d : remaining) {
    if (d.change == Change::kUnmanaged) continue;
    if (d.change != Change::kExtra || rollback) return true;
  }
  return false;
}

// Which steps run for a caller: those whose every hazard is accepted,
// group-wise (a group runs whole or not at all).
struct Selection {
  std::vector<PlanStep> runs;  // in plan order
  std::vector<PlanStep> skipped;
  std::vector<Difference> expected_remaining;
  // Why steps were held back although their hazards were accepted.
  std::string held_back;
};

// `held`: statements that failed on the data in an earlier run (with its
// id); they, and their groups, wait until the caller asks to retry them.
inline Selection Select(const Snapshot& snapshot, const std::vector<HazardKind>& allow,
                        const std::map<std::string, int64_t>& held = {}) {
  std::set<HazardKind> allowed(allow.begin(), allow.end());
  auto step_allowed = [&](const PlanStep& s) {
    if (held.count(s.sql) || !s.blocked.empty()) return false;
    for (const Hazard& h : s.hazards) {
      if (!allowed.count(h.kind)) return false;
    }
    return true;
  };
  std::set<int> blocked_groups;
  for (const PlanStep& s : snapshot.plan.steps) {
    if (s.group != 0 && !step_allowed(s)) blocked_groups.insert(s.group);
  }
  Selection out;
  std::set<int> resolved;
  for (const PlanStep& s : snapshot.plan.steps) {
    const bool runs = step_allowed(s) && (s.group == 0 || !blocked_groups.count(s.group));
    if (!runs) {
      out.skipped.push_back(s);
      continue;
    }
    out.runs.push_back(s);
    resolved.insert(s.resolves.begin(), s.resolves.end());
  }
  for (int i = 0; i < static_cast<int>(snapshot.differences.size()); ++i) {
    if (!resolved.count(i)) out.expected_remaining.push_back(snapshot.differences[i]);
  }
  for (const PlanStep& s : snapshot.plan.steps) {
    if (!s.blocked.empty()) {
      absl::StrAppend(&out.held_back, out.held_back.empty() ? "" : "; ", s.blocked);
    }
    const auto it = held.find(s.sql);
    if (it == held.end()) continue;
    absl::StrAppend(&out.held_back, out.held_back.empty() ? "" : "; ", "`", s.sql.substr(0, 200),
                    "` failed on existing rows in run ", it->second,
                    ": fix the rows, then retry it (retry_failed, schemactl --retry-failed)");
  }
  return out;
}

inline bool InSync(const Snapshot& snapshot) {
  for (const Difference& d : snapshot.differences) {
    if (d.change != Change::kUnmanaged) return false;
  }
  return snapshot.plan.steps.empty();
}

// Consecutive steps of one plan phase, renumbered 1..n for the run.
struct PhaseRun {
  int number = 0;
  bool transactional = true;
  std::vector<PlanStep> steps;
  // Whether a lock stronger than SHARE UPDATE EXCLUSIVE is taken (the
  // short lock_timeout and retries apply).
  bool strong_lock = false;
  std::vector<std::string> relations;
};

inline std::vector<PhaseRun> PhasesOf(const std::vector<PlanStep>& steps) {
  std::vector<PhaseRun> out;
  int current = -1;
  for (const PlanStep& s : steps) {
    if (out.empty() || s.phase != current) {
      current = s.phase;
      PhaseRun& p = out.emplace_back();
      p.number = static_cast<int>(out.size());
      p.transactional = s.transactional;
    }
    PhaseRun& p = out.back();
    p.steps.push_back(s);
    for (const LockTaken& l : s.locks) {
      p.strong_lock = p.strong_lock || l.mode > LockMode::kShareUpdateExclusive;
      if (std::find(p.relations.begin(), p.relations.end(), l.relation) == p.relations.end()) {
        p.relations.push_back(l.relation);
      }
    }
  }
  return out;
}

// "0" (no timeout) for a zero duration, else TimeoutSetting.
// Serializes events from the run's thread and the progress thread.
class EventSink {
 public:
  explicit EventSink(std::function<void(const InitializeEvent&)> fn) : fn_(std::move(fn)) {}
  bool enabled() const { return static_cast<bool>(fn_); }
  void Emit(const InitializeEvent& event) {
    if (!fn_) return;
    absl::MutexLock lock(&mu_);
    fn_(event);
  }

 private:
  std::function<void(const InitializeEvent&)> fn_;
  absl::Mutex mu_;
};

// Everything an ONLINE run needs.
struct OnlineRun {
  Database& db;
  Connection& conn;
  Watchdog& watchdog;
  const EngineOptions& engine;
  const Registry& registry;
  const Schema& desired;
  DeparseCache* cache;
  const InitializeOptions& options;
  absl::Time started;
  absl::Time deadline;
  EventSink& sink;
};

// The pauses between retries after a lock timeout (55P03): each one drawn
// in [b/2, b] (jitter), b doubling from --lock-retry-backoff up to
// --lock-retry-max-backoff. Writers that queued behind the timed-out
// request run meanwhile.
class LockRetryBackoff {
 public:
  explicit LockRetryBackoff(const EngineOptions& options)
      : next_(options.lock_retry_backoff),
        max_(options.lock_retry_max_backoff),
        retries_(options.lock_retries),
        random_(std::random_device{}()) {}

  // Whether `attempt` (from 1), which failed with `status`, may be retried.
  bool Retryable(const absl::Status& status, int attempt) const {
    return SqlStateOf(status) == "55P03" && attempt <= retries_;
  }

  // The next pause.
  absl::Duration Next() {
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    const absl::Duration wait = next_ * jitter(random_);
    next_ = std::min(next_ * 2, max_);
    return wait;
  }

 private:
  absl::Duration next_;
  const absl::Duration max_;
  const int retries_;
  std::mt19937 random_;
};

// Runs an ONLINE plan's phases (see engine.h); fills `result`.
absl::Status RunOnlinePhases(OnlineRun& run, const std::vector<PlanStep>& steps,
                             InitializeResult* result);

}  // namespace schemad::apply_internal

#endif  // SCHEMAD_APPLY_ENGINE_INTERNAL_H_
