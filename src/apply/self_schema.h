// schemad's own schema in the target database: `schemad`, holding the
// history of Initialize calls and the version of this layout.
//
//   SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(tx));   // Initialize
//   SCHEMAD_RETURN_IF_ERROR(RecordHistory(tx, {.caller = "...", .steps = executed}));
//
// schemad trusts nothing in it that it did not create: the schema and its
// tables must be owned by the role schemad connects as, and each table must
// have exactly the shape schemad gives it (a plain table with exactly its
// columns, constraints and indexes; no triggers, rules, policies,
// inheritance or partitions). Migrations of the layout are additive only,
// so an older replica keeps working beside a newer one during an upgrade.
// Every statement is schema-qualified (pg_catalog included), so objects
// planted in the target schema's search_path are never called. Private to
// the engine; thread-compatible. Every function runs its statements in the
// caller's transaction and returns their failure as a status.
#ifndef SCHEMAD_APPLY_SELF_SCHEMA_H_
#define SCHEMAD_APPLY_SELF_SCHEMA_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "schemad/db/session.h"
#include "schemad/plan/plan.h"
#include "schemad/registry/registry.h"

namespace schemad {

// The layout version this build creates and understands.
inline constexpr int kSelfSchemaVersion = 5;

// Creates the schema (AUTHORIZATION CURRENT_USER) and its tables when
// missing, applies pending migrations, and verifies ownership and shape.
// FAILED_PRECONDITION naming the owner or the odd table and the fix. Call
// inside Initialize's transaction, under its advisory lock.
absl::Status EnsureSelfSchema(Transaction& tx);

// Read-only: OK when the schema is missing or is schemad's own (sets
// `*history_usable` when schemad.history exists and may be read, and
// `*history_version` to its layout version, 1 to kSelfSchemaVersion);
// FAILED_PRECONDITION as EnsureSelfSchema otherwise.
// `*tables` (when given) gets the names of schemad's verified tables.
absl::Status VerifySelfSchema(Transaction& tx, bool* history_usable, int* history_version = nullptr,
                              std::set<std::string>* tables = nullptr);

struct HistoryRecord {
  absl::Time started;
  absl::Time finished;
  std::string caller;
  std::string registry_fingerprint;
  // The caller's request id, when it sent one (empty: none).
  std::string request_id;
  std::vector<PlanStep> steps;
  // The number of phases of the plan.
  int phases = 0;
  // schemad.registries' row of the registry applied (0: not stored), and
  // for a rollback, of the one applied before.
  int64_t registry_id = 0;
  bool rollback = false;
  int64_t from_registry_id = 0;
};

// Inserts the row of a TRANSACTIONAL Initialize: state "completed", or
// "failed: <why>" for a run that failed (recorded in a transaction of its
// own, with the steps it would have run).
absl::Status RecordHistory(Transaction& tx, const HistoryRecord& record,
                           const std::string& state = "completed");

// Stores `registry`'s files in schemad.registries unless they are stored
// (by files id), and returns the row's id. Call after EnsureSelfSchema.
absl::StatusOr<int64_t> StoreRegistry(Transaction& tx, const Registry& registry,
                                      const std::string& publisher);
// The stored row of files id `files_id`, or 0. Requires layout 4.
absl::StatusOr<int64_t> FindStoredRegistry(Transaction& tx, const std::string& files_id);
// What a canonical model depends on besides the codec: bump when
// canonicalization changes what it produces for the same registry.
inline constexpr char kCanonicalFormVersion[] = "schemad canonical form 1";
// The key of a registry's canonical model on this server: its fingerprint,
// server_version_num, every installed extension's version, the codec's and
// the canonical form's versions.
absl::StatusOr<std::string> CanonicalKey(Transaction& tx, const std::string& registry_fingerprint);
// The stored model of `key` when its hash matches (layout 5), else nothing.
absl::StatusOr<std::optional<std::string>> ReadCanonical(Transaction& tx, const std::string& key);
// Stores a model (kept: the newest 100). Requires layout 5.
absl::Status WriteCanonical(Transaction& tx, const std::string& key,
                            const std::string& registry_fingerprint, const std::string& model);
// The registry row of the newest completed run that recorded one, or 0.
// Requires layout 4.
absl::StatusOr<int64_t> LastAppliedRegistryId(Transaction& tx);

// ONLINE runs: the row is inserted when the run starts (state "running",
// no steps) and returns its id; each phase appends its steps in the
// transaction that commits it (or right after a statement that runs
// outside one); the run ends with its final state: "completed", "failed at
// phase k: ...", "cancelled", or "interrupted" (set by the next run for a
// row still "running" under the lock: its schemad died).
struct PhaseRecord {
  int phase = 0;
  absl::Duration duration;
  int retries = 0;
  std::vector<PlanStep> steps;
};
absl::StatusOr<int64_t> StartRun(Transaction& tx, const HistoryRecord& record);
absl::Status RecordPhase(Transaction& tx, int64_t run_id, const PhaseRecord& phase);
// `failed_on_data`: the statement that failed because existing rows
// violate it (SQLSTATE class 23), or "".
absl::Status FinishRun(Transaction& tx, int64_t run_id, const std::string& state,
                       const std::string& failed_on_data = "");
// Statements that failed on the data in runs since the last completed one,
// with the run's id: not retried on every start, only on request.
absl::StatusOr<std::map<std::string, int64_t>> ReadDataFailures(Transaction& tx);
// Rows "running" (under the Initialize lock: all of them belong to dead
// runs).
absl::StatusOr<int> CountRunning(Transaction& tx);
// Marks rows still "running" as "interrupted"; returns how many. Call under
// the Initialize lock.
absl::StatusOr<int> MarkInterrupted(Transaction& tx);

// The online run in progress (the newest row "running" whose backend is
// alive and holds an advisory lock), if any.
struct RunningRun {
  int64_t id = 0;
  int phases = 0;
  int phases_done = 0;
  std::string caller;
};
absl::StatusOr<std::optional<RunningRun>> ReadRunningRun(Transaction& tx);

// One row of schemad.history, as the readers below return it.
struct HistoryRow {
  std::string registry_fingerprint;
  absl::Time finished_at;
  int steps = 0;
  // "completed" (rows before layout 3 too), "running", "failed at phase
  // k: ...", "cancelled", "interrupted".
  std::string state;
};

// The newest row of schemad.history, if any. Call only once the table is
// known to be schemad's own (VerifySelfSchema). 42P01 (SqlStateOf) when it
// was dropped since.
// `version`: the layout's (VerifySelfSchema); from 3 on, only completed
// runs count.
absl::StatusOr<std::optional<HistoryRow>> ReadLastApplied(Transaction& tx, int version);

// The newest row recorded with `request_id`, if any. Requires layout 2.
absl::StatusOr<std::optional<HistoryRow>> ReadRequest(Transaction& tx,
                                                      const std::string& request_id, int version);

}  // namespace schemad

#endif  // SCHEMAD_APPLY_SELF_SCHEMA_H_
