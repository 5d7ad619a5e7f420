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
// All steps run in one transaction with the history row (enum labels added
// with ADD VALUE commit first, in their own), and the result is read back
// and compared with what the plan promised before COMMIT.
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
#include "schemad/apply/database.h"
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

struct InitializeOptions {
  bool dry_run = false;
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
};

enum class Outcome { kApplied, kAlreadyInSync, kDryRun, kPartial };

struct InitializeResult {
  Outcome outcome = Outcome::kAlreadyInSync;
  std::vector<PlanStep> executed;
  std::vector<PlanStep> skipped;
  std::vector<Difference> remaining;
  std::string fingerprint;
};

// Whether an Initialize that carried a request id committed.
struct RequestOutcome {
  bool committed = false;
  absl::Time finished_at;
  int steps = 0;
  std::string registry_fingerprint;
};

struct EngineOptions {
  // Schemas with at least this many tables are read over two connections
  // at once, sharing one snapshot, when a second connection is free.
  size_t parallel_read_tables = 200;
};

class DeparseCache;  // src/catalog

class Engine {
 public:
  // `db` must outlive the engine.
  Engine(Database* db, Registry registry, EngineOptions options = {});
  ~Engine();

  // Every difference and the full plan. Reads only.
  absl::StatusOr<DiffResult> Diff(absl::Time deadline);
  // IN_SYNC / PENDING / DRIFTED with counts and the newest history row.
  absl::StatusOr<StatusResult> Status(absl::Time deadline);
  // See the header comment. FAILED_PRECONDITION for a stale
  // expected_fingerprint; ABORTED on lock timeout; DEADLINE_EXCEEDED when
  // the deadline passes first; INTERNAL when the read-back check fails.
  absl::StatusOr<InitializeResult> Initialize(const InitializeOptions& options,
                                              absl::Time deadline);
  // The live schema as a model (for `schemad inspect`).
  absl::StatusOr<Schema> Inspect(absl::Time deadline);
  // Canonicalizes the registry now unless it is cached (serve calls it at
  // start-up and retries it until it succeeds). FAILED_PRECONDITION naming
  // the file and line when PostgreSQL rejects a declaration; UNAVAILABLE
  // when the database cannot be reached.
  absl::Status Prepare(absl::Time deadline);
  // Looks `request_id` up in schemad.history, after waiting for any
  // Initialize of the schema in progress (the advisory lock; ABORTED when
  // lock_timeout passes first), so that "not committed" is final.
  absl::StatusOr<RequestOutcome> LookupRequest(const std::string& request_id,
                                               absl::Time deadline);
  // Returns what an operator should fix about the privileges of the role
  // schemad connects as (superuser, missing CREATE on the database or the
  // target schema); empty when it has exactly what it needs.
  absl::StatusOr<std::vector<std::string>> CheckPrivileges(absl::Time deadline);
  // Whether the canonical registry is cached.
  bool prepared() const;
  // The registry as PostgreSQL canonicalizes it (cached).
  absl::StatusOr<Schema> Desired(absl::Time deadline);

  const Registry& registry() const { return registry_; }
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

  absl::StatusOr<StatusResult> StatusOnce(absl::Time deadline);

  // Whether schemad.history was seen to exist (it is never dropped by us).
  std::atomic<bool> history_exists_{false};

  absl::Mutex init_mu_;
  bool init_busy_ ABSL_GUARDED_BY(init_mu_) = false;
};

const char* OutcomeName(Outcome outcome);
const char* SyncStateName(SyncState state);

}  // namespace schemad

#endif  // SCHEMAD_APPLY_ENGINE_H_
