// Turns differences into an ordered DDL plan with hazards. Pure code.
//
//   std::vector<Difference> diffs = DiffSchemas(desired, actual);
//   Plan plan = BuildPlan(desired, actual, diffs, {.tables_with_rows = {"users"}});
//   for (const PlanStep& s : plan.steps) std::cout << s.sql << ";\n";
//
// In ONLINE mode, changes to existing tables follow the online recipes
// (see PlanOptions::mode and docs) and every step gets its phase; temporary
// objects left by an interrupted online run are finished or removed.
//
// Order: schema, extensions, enum types and labels, drops of views (those
// that read a view dropped first), drops of foreign keys, indexes and
// constraints, enum re-creations, drops of columns and tables,
// new tables, column changes, new columns, constraints, indexes, foreign
// keys, views (each after those it reads) and comments, then drops of enum
// types, extensions and sequences. A view that reads a column or table the
// plan drops or retypes, or a view that must be re-created, is dropped
// first and re-created after, in one group with the step that needs it (in
// ONLINE mode, one phase). Within a phase,
// steps follow the differences' (sorted) order, so plans are deterministic.
// Statements name tables schema-qualified; expressions are unqualified and
// resolve through search_path = the target schema.
// Thread-safe (pure function).
#ifndef SCHEMAD_PLAN_PLAN_H_
#define SCHEMAD_PLAN_PLAN_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "schemad/ddl/ddl.h"
#include "schemad/diff/diff.h"
#include "schemad/model/model.h"

namespace schemad {

// How a plan runs. TRANSACTIONAL: every step in one transaction (enum
// labels in one of their own first), all or nothing, every lock held until
// COMMIT. ONLINE: changes to existing tables take the forms that do not
// block their writers (concurrent index builds, NOT VALID constraints
// validated later, NOT NULL through a validated check), in phases that
// each commit on their own; not all or nothing.
enum class ApplyMode { kTransactional, kOnline };

// "TRANSACTIONAL", "ONLINE".
const char* ApplyModeName(ApplyMode mode);

enum class HazardKind {
  kDataLoss,
  kDropsObject,
  kTableRewrite,
  kLongLock,
  kValidation,
  // A concurrent index build on a table with rows: it blocks no writer but
  // may run for a long time and load the server.
  kIndexBuild,
  // A view stops checking permissions and row-level security as its caller
  // (security_invoker turned off).
  kAuthz,
  // An IMMUTABLE function that indexes, checks or generated columns use is
  // replaced: what they stored with the old body may no longer match.
  kCorrectness,
};

// Every hazard kind, in the proto's order.
inline constexpr HazardKind kHazardKinds[] = {HazardKind::kDataLoss,     HazardKind::kDropsObject,
                                              HazardKind::kTableRewrite, HazardKind::kLongLock,
                                              HazardKind::kValidation,   HazardKind::kIndexBuild,
                                              HazardKind::kAuthz,        HazardKind::kCorrectness};

// "DATA_LOSS", "DROPS_OBJECT", ...
const char* HazardName(HazardKind kind);
// Parses "DATA_LOSS" or "HAZARD_KIND_DATA_LOSS" (any case). False if unknown.
bool ParseHazardKind(std::string text, HazardKind* kind);
// "DATA_LOSS, DROPS_OBJECT, ...": for help texts and error messages.
std::string HazardNames();

struct Hazard {
  HazardKind kind;
  std::string message;
};

// PostgreSQL's table lock modes, weakest first.
enum class LockMode {
  kAccessShare,
  kRowShare,
  kRowExclusive,
  kShareUpdateExclusive,
  kShare,
  kShareRowExclusive,
  kExclusive,
  kAccessExclusive,
};

// As pg_locks.mode spells it: "AccessExclusiveLock", ...
const char* LockModeName(LockMode mode);
// Whether `mode` conflicts with the ROW EXCLUSIVE lock every INSERT,
// UPDATE and DELETE takes: such a lock blocks writers while held.
bool BlocksWriters(LockMode mode);

// The statement timeout a step runs under in ONLINE mode.
enum class StepTimeout {
  // --statement-timeout, within the caller's deadline: the step holds a
  // lock that writers queue behind (stronger than SHARE UPDATE EXCLUSIVE).
  kBounded,
  // --index-build-timeout, independent of the caller's deadline: the step
  // blocks no writer and may scan the whole table (a concurrent build, a
  // validation).
  kLongRunning,
};

// How long a lock is held.
enum class LockHold {
  // A catalog change: milliseconds, once granted.
  kBrief,
  // While the table (or index) is scanned or built: grows with its rows.
  kScan,
  // While the table is rewritten.
  kRewrite,
  // Until the transaction commits (every lock in TRANSACTIONAL mode).
  kUntilCommit,
};

const char* LockHoldName(LockHold hold);

struct LockTaken {
  // Table (or index) name within the plan's schema.
  std::string relation;
  LockMode mode = LockMode::kAccessExclusive;
  LockHold hold = LockHold::kBrief;
};

// What a step's statement does: the static table of locks (LocksOf) is
// keyed by it.
enum class StatementKind {
  kCreateSchema,
  kCreateExtension,
  kDropExtension,
  kCreateType,
  kAddEnumValue,
  kRenameType,
  kDropType,
  kCreateTable,
  kDropTable,
  kAddColumn,
  kDropColumn,
  kAlterColumnType,
  kSetDefault,
  kSetNotNull,
  kDropNotNull,
  kAlterIdentity,
  kDropExpression,
  kAddCheck,
  kAddForeignKey,
  kAddUniqueOrPrimaryKey,
  kAddConstraintUsingIndex,
  kValidateConstraint,
  kDropConstraint,
  kCreateIndex,
  kCreateIndexConcurrently,
  kDropIndex,
  kDropIndexConcurrently,
  kRenameIndex,
  kCreateSequence,
  kSetSequenceValue,
  kDropSequence,
  kCreateView,
  kReplaceView,
  kDropView,
  kComment,
  kCreateFunction,
  kDropFunction,
  kCreateTrigger,
  kDropTrigger,
  kAlterTriggerEnabled,
  kReindex,
  // ALTER TABLE ... ENABLE / DISABLE / FORCE / NO FORCE ROW LEVEL SECURITY.
  kAlterRowSecurity,
  // ALTER TABLE ... SET LOGGED / UNLOGGED: rewrites the table.
  kSetPersistence,
  // ALTER TABLE ... SET (...) / RESET (...): storage parameters.
  kSetStorage,
  // ALTER TABLE ... REPLICA IDENTITY.
  kSetReplicaIdentity,
  // ALTER COLUMN ... SET STORAGE / SET COMPRESSION (later writes only).
  kSetColumnStorage,
  // ALTER COLUMN ... SET STATISTICS, and SET (...) / RESET (...) of its
  // attribute options.
  kSetStatistics,
};

// The lock a statement kind takes on its table (and, for foreign keys, on
// the referenced table), and for how long when the table has rows. One
// table, checked against pg_locks by a test.
struct LockSpec {
  bool on_table = false;
  LockMode mode = LockMode::kAccessShare;
  LockHold hold = LockHold::kBrief;
  // Foreign keys: the referenced table's lock.
  bool on_referenced = false;
  LockMode referenced_mode = LockMode::kAccessShare;
  // Whether it can run inside a transaction block.
  bool transactional = true;
};
LockSpec LocksOf(StatementKind kind, bool not_valid = false);

struct PlanStep {
  std::string sql;
  std::vector<Hazard> hazards;
  // Steps with the same non-zero group run together or not at all.
  int group = 0;
  // Runs in a transaction of its own, committed before the others
  // (ALTER TYPE ... ADD VALUE: the label is unusable until committed).
  bool own_transaction = false;
  // Indexes into the differences this step (with its group) resolves.
  std::vector<int> resolves;
  StatementKind statement = StatementKind::kCreateTable;
  // 1-based. Steps of one phase share a transaction; a phase that is not
  // `transactional` is one statement outside any transaction
  // (CREATE/DROP INDEX CONCURRENTLY). Phases run in order.
  int phase = 1;
  bool transactional = true;
  // The table locks the step takes, strongest per relation.
  std::vector<LockTaken> locks;
  // Derived from `locks`; a phase runs under the shortest of its steps'.
  StepTimeout timeout = StepTimeout::kBounded;
  // Run when this step fails: removes what a failed step leaves behind (the
  // INVALID index of a failed concurrent build, a NOT VALID constraint
  // whose validation failed on existing rows). `undo_transactional` says
  // how it runs. Empty: nothing to undo.
  std::string undo;
  bool undo_transactional = true;
  // Why the step cannot run as planned (e.g. a type change PostgreSQL has
  // no cast for and the registry gives no `using`): Initialize never runs
  // it (nor its group), whatever hazards the caller accepts. Empty: it can.
  std::string blocked;
  // Whether the undo runs after any failure (a concurrent build, also when
  // cancelled) or only when existing rows violated the step (SQLSTATE class
  // 23).
  bool undo_on_any_failure = false;
};

struct PlanOptions {
  // Existing tables known to hold rows. Index builds, validations and
  // rewrites on other existing tables are cheap and carry no such hazard;
  // drops and changes of existing objects always carry one.
  std::set<std::string> tables_with_rows;
  ApplyMode mode = ApplyMode::kTransactional;
  // "table.column" of type changes PostgreSQL has no cast for (checked
  // against pg_cast when planning).
  std::set<std::string> uncastable;
  // Objects schemad does not manage (views, other schemas' foreign keys)
  // that depend on a table ("table") or column ("table.column") the plan
  // would drop or retype: those steps are blocked, naming them.
  std::map<std::string, std::vector<std::string>> dependents;
  // For each function whose definition changes (by Key()): what in the
  // schema uses it ("index:<name>", "constraint:<table>.<name>",
  // "column:<table>.<column>", "view:<name>", "trigger:<table>.<name>").
  std::map<std::string, std::vector<std::string>> function_dependents;
};

struct Plan {
  std::vector<PlanStep> steps;
  ApplyMode mode = ApplyMode::kTransactional;
  // The number of phases (the last step's phase; 0 for an empty plan).
  int phases = 0;
};

// The order of n steps: a topological sort of `edges` ({first, then}: step
// `then` follows step `first`), ties broken by `keys` (smaller first), then
// by index. When every edge goes from a smaller key to a larger one, the
// result is the keys' stable order. Steps on a cycle (a bug in the edges)
// follow the rest, in key order.
std::vector<int> OrderSteps(const std::vector<std::pair<int, int>>& keys,
                            const std::vector<std::pair<int, int>>& edges);

Plan BuildPlan(const Schema& desired, const Schema& actual,
               const std::vector<Difference>& differences, const PlanOptions& options);

}  // namespace schemad

#endif  // SCHEMAD_PLAN_PLAN_H_
