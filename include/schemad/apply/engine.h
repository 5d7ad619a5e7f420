// The engine behind every RPC: compares the registry with the live database
// (Diff, Status) and brings the database to the registry (Initialize).
//
//   auto db = Database::Create({.url = url});
//   Engine engine(db->get(), *LoadEmbeddedRegistry());
//   absl::StatusOr<InitializeResult> r =
//       engine.Initialize({.caller = "cli"}, absl::Now() + absl::Seconds(30));
//
// Initialize is serialized: within a process by a mutex, across processes
// and replicas by a PostgreSQL advisory lock (keyed by database and target
// schema) held on the connection that runs the DDL, so it dies with it.
// TRANSACTIONAL mode: all steps run in one transaction with the history
// row (enum labels added with ADD VALUE commit first, in their own), and
// the result is read back and compared with what the plan promised before
// COMMIT. ONLINE mode: the plan's phases commit one by one, each recorded
// in the run's history row as it commits; a phase that takes a lock
// stronger than SHARE UPDATE EXCLUSIVE runs under a short lock_timeout and
// is retried with back-off; a run that fails after committing phases ends
// INCOMPLETE, and the next run finishes it.
// Thread-safe.
#ifndef SCHEMAD_APPLY_ENGINE_H_
#define SCHEMAD_APPLY_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "schemad/db/database.h"
#include "schemad/diff/diff.h"
#include "schemad/plan/plan.h"
#include "schemad/registry/registry.h"

namespace schemad {

struct DiffResult {
  std::vector<Difference> differences;
  Plan plan;
  // Hash of the registry and the live schema the plan was computed from.
  std::string fingerprint;
  std::string schema;
};

enum class SyncState { kInSync, kPending, kDrifted };

struct StatusResult {
  SyncState state = SyncState::kInSync;
  std::string registry_fingerprint;
  std::string fingerprint;
  std::string last_applied_fingerprint;
  std::optional<absl::Time> last_applied_at;
  int missing = 0;
  int extra = 0;
  int changed = 0;
  // Conditions that did not stop the check but need an operator, e.g. a
  // `schemad` schema owned by another role (its history is not read).
  std::vector<std::string> warnings;
};

// What an ONLINE run reports while it runs (InitializeStream).
struct InitializeEvent {
  enum class Kind {
    kRunStarted,
    kPhaseStarted,
    // A phase's lock request timed out (lock_timeout) and is retried.
    kLockWait,
    // pg_stat_progress_create_index of a concurrent build, every second.
    kIndexProgress,
    kPhaseFinished,
  };
  Kind kind = Kind::kRunStarted;
  int64_t run_id = 0;
  int phase = 0;
  int phases = 0;
  // kPhaseStarted: the phase's statements.
  std::vector<std::string> statements;
  // kLockWait.
  std::vector<std::string> relations;
  std::vector<int> blocking_pids;
  int attempt = 0;
  absl::Duration retry_in;
  // kIndexProgress.
  std::string index;
  std::string progress_phase;
  int64_t blocks_done = 0, blocks_total = 0, tuples_done = 0, tuples_total = 0;
  // kPhaseFinished.
  absl::Duration duration;
  int retries = 0;
};

struct InitializeOptions {
  bool dry_run = false;
  ApplyMode mode = ApplyMode::kTransactional;
  // ONLINE: a step that failed because existing rows violate it (a unique
  // build, a validation) is held back on later calls until one sets this:
  // a pod restart must not rescan a big table every time.
  bool retry_failed = false;
  // ONLINE runs report their progress here (from the calling thread and
  // from a progress thread, never at once). Empty: not reported.
  std::function<void(const InitializeEvent&)> on_event;
  // Hazard kinds the caller accepts; a step runs only if all of its are.
  std::vector<HazardKind> allow_hazards;
  // When set, refuse unless the current plan fingerprint equals it.
  std::string expected_fingerprint;
  // Recorded in history: peer address and role.
  std::string caller = "unknown";
  // Recorded in history; GetInitializeOutcome looks it up after an
  // ambiguous failure. Empty: none.
  std::string request_id;
  // Polled while the change runs: true stops it (the statement in flight
  // is cancelled, the transaction rolled back). Empty: never.
  std::function<bool()> cancelled;
  // Runs steps of a registry stored before the one applied last (see
  // Initialize).
  bool allow_downgrade = false;
  // A rollback: recorded as one (with the registry applied before), older
  // registries allowed, and objects the registry lacks keep the outcome
  // PARTIAL.
  bool rollback = false;
};

enum class Outcome {
  kApplied,
  kAlreadyInSync,
  kDryRun,
  kPartial,
  // ONLINE: the run failed (or was cancelled) after committing phases; the
  // next Initialize finishes it.
  kIncomplete,
  // An ONLINE run of another caller holds the schema and this caller has
  // steps it could run: the answer is immediate, with that run's progress.
  kInProgress,
};

struct InitializeResult {
  Outcome outcome = Outcome::kAlreadyInSync;
  ApplyMode mode = ApplyMode::kTransactional;
  // Steps that committed (ONLINE INCOMPLETE: those of committed phases).
  std::vector<PlanStep> executed;
  std::vector<PlanStep> skipped;
  std::vector<Difference> remaining;
  std::string fingerprint;
  // ONLINE runs: the history row's id, the plan's phases, how many
  // committed; for INCOMPLETE the phase that failed and why.
  int64_t run_id = 0;
  int phases = 0;
  int phases_committed = 0;
  int failed_phase = 0;
  std::string cause;
  // kInProgress: the running run's caller.
  std::string running_caller;
};

// Whether an Initialize that carried a request id committed.
struct RequestOutcome {
  bool committed = false;
  // ONLINE runs: false when the run committed some phases but not all
  // (failed, cancelled or interrupted).
  bool complete = true;
  absl::Time finished_at;
  int steps = 0;
  std::string registry_fingerprint;
};

struct EngineOptions {
  // Schemas with at least this many tables are read over two connections
  // at once, sharing one snapshot, when a second connection is free.
  size_t parallel_read_tables = 200;
  // Smaller schemas too, when no other call holds a connection and one is
  // open and idle: a lone caller's Diff of docbot took 20% less; under
  // concurrent calls the second connection serves another call better
  // (Status throughput at 16 clients fell 11% when every read took two),
  // and a small read gains less than opening a connection costs.
  bool parallel_when_idle = true;
  // ONLINE phases that take a lock stronger than SHARE UPDATE EXCLUSIVE
  // wait at most this long for it (so writers never queue behind a waiting
  // DDL for longer), and are retried up to `lock_retries` times with
  // exponential back-off from `lock_retry_backoff` (jittered, at most
  // `lock_retry_max_backoff`).
  absl::Duration online_lock_timeout = absl::Seconds(2);
  int lock_retries = 10;
  absl::Duration lock_retry_backoff = absl::Milliseconds(200);
  absl::Duration lock_retry_max_backoff = absl::Seconds(10);
  // statement_timeout of a concurrent index build (it runs with
  // lock_timeout = 0); zero: none.
  absl::Duration index_build_timeout = absl::Hours(6);
  // max_parallel_maintenance_workers of a concurrent build: 0 keeps it to
  // one core, leaving the others to the application's writers.
  int index_build_workers = 0;
};

// How the canonical model was obtained, over the engine's life.
struct CanonicalStats {
  // Computed in the scratch schema.
  std::atomic<int64_t> canonicalized{0};
  // Read back from schemad.canonical (a restart, another replica).
  std::atomic<int64_t> loaded{0};
};

class DeparseCache;  // src/catalog

class Engine {
 public:
  // `db` must outlive the engine.
  Engine(Database* db, Registry registry, EngineOptions options = {});
  ~Engine();

  // Every difference and the full plan. Reads only.
  absl::StatusOr<DiffResult> Diff(absl::Time deadline, ApplyMode mode = ApplyMode::kTransactional);
  // IN_SYNC / PENDING / DRIFTED with counts and the newest completed
  // history row. PENDING depends on the mode (its plan's hazards).
  absl::StatusOr<StatusResult> Status(absl::Time deadline,
                                      ApplyMode mode = ApplyMode::kTransactional);
  // See the header comment. Every run that executes steps records the
  // registry's files in schemad.registries (the registry store); a registry
  // stored before the one applied last is FAILED_PRECONDITION when it has
  // steps to run, unless allow_downgrade or rollback. FAILED_PRECONDITION
  // for a stale expected_fingerprint; ABORTED on lock timeout; DEADLINE_EXCEEDED when
  // the deadline passes first; INTERNAL when the read-back check fails.
  absl::StatusOr<InitializeResult> Initialize(const InitializeOptions& options,
                                              absl::Time deadline);
  // The live schema as a registry would declare it (`schemad inspect`):
  // Alembic's bookkeeping table `alembic_version` ignored, and of the
  // database-wide extensions only those installed into the schema (named
  // without their schema and version, as a registry declares them).
  absl::StatusOr<Schema> Inspect(absl::Time deadline);
  // Canonicalizes the registry now unless it is cached (serve calls it at
  // start-up and retries it until it succeeds). FAILED_PRECONDITION naming
  // the file and line when PostgreSQL rejects a declaration; UNAVAILABLE
  // when the database cannot be reached.
  absl::Status Prepare(absl::Time deadline);
  // Looks `request_id` up in schemad.history, after waiting for any
  // Initialize of the schema in progress (the advisory lock; ABORTED when
  // lock_timeout passes first), so that "not committed" is final.
  absl::StatusOr<RequestOutcome> LookupRequest(const std::string& request_id, absl::Time deadline);
  // Returns what an operator should fix about the privileges of the role
  // schemad connects as (superuser, missing CREATE on the database or the
  // target schema); empty when it has exactly what it needs.
  absl::StatusOr<std::vector<std::string>> CheckPrivileges(absl::Time deadline);
  // Whether the canonical registry is cached.
  bool prepared() const;
  const CanonicalStats& canonical_stats() const { return stats_; }
  // Stores the canonical model in schemad.canonical when it is not there
  // (after the schema schemad owns was created: Initialize, publish).
  // Best effort.
  void SaveCanonical(absl::Time deadline);
  // The registry as PostgreSQL canonicalizes it (cached).
  absl::StatusOr<Schema> Desired(absl::Time deadline);
  // Fingerprint of the canonical model: equal for every spelling of the
  // same schema (SQL or textproto files, any formatting). Canonicalizes
  // when not cached.
  absl::StatusOr<std::string> CanonicalFingerprint(absl::Time deadline);

  const Registry& registry() const { return registry_; }
  const EngineOptions& options() const { return options_; }
  Database& database() { return *db_; }

 private:
  Database* const db_;
  const Registry registry_;
  const EngineOptions options_;

  // Expressions deparsed by earlier reads of the live schema: a warm read
  // never waits for a locked table.
  std::unique_ptr<DeparseCache> deparse_cache_;

  mutable absl::Mutex cache_mu_;
  std::shared_ptr<const Schema> canonical_ ABSL_GUARDED_BY(cache_mu_);
  std::string canonical_fingerprint_ ABSL_GUARDED_BY(cache_mu_);
  CanonicalStats stats_;

  absl::StatusOr<StatusResult> StatusOnce(absl::Time deadline, ApplyMode mode);

  // The layout version of schemad.history once seen to exist and be
  // schemad's (it is never dropped by us); 0 until then.
  std::atomic<int> history_version_{0};

  absl::Mutex init_mu_;
  bool init_busy_ ABSL_GUARDED_BY(init_mu_) = false;
};

// What takes a database at `from`'s registry to `to`'s registry: the
// differences and plan between their canonical forms, every table assumed
// to hold rows (hazards as for a live database). Reads nothing of the live
// schema (canonicalizing a registry not yet cached uses the database's
// scratch schema).
absl::StatusOr<DiffResult> DiffRegistries(Engine& from, Engine& to, ApplyMode mode,
                                          absl::Time deadline);

const char* OutcomeName(Outcome outcome);
const char* InitializeEventKindName(InitializeEvent::Kind kind);
const char* SyncStateName(SyncState state);

// OK when `request_id` may name a request: 1 to 64 printable characters
// (an empty one is OK where `optional`); INVALID_ARGUMENT naming the field
// otherwise (a NUL byte would fail only when written to schemad.history).
absl::Status CheckRequestId(absl::string_view request_id, bool optional);

}  // namespace schemad

#endif  // SCHEMAD_APPLY_ENGINE_H_
