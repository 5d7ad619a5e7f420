// The planner's internals, shared by the files that define its parts:
// plan.cc (the run, phases, groups, dispatch), plan_tables.cc (enum types,
// sequences, tables, columns, constraints, indexes) and plan_routines.cc
// (functions, triggers, views, comments). Private to src/plan.
#ifndef SCHEMAD_PLAN_PLANNER_H_
#define SCHEMAD_PLAN_PLANNER_H_

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "schemad/common/identifier.h"
#include "schemad/plan/plan.h"

namespace schemad::plan_internal {

enum Stage {
  kSchemaStage,
  kExtensionStage,
  kEnumStage,
  // Views go before what they read is dropped or changed.
  kDropViewsStage,
  kDropForeignKeysStage,
  kDropIndexesStage,
  kEnumRecreateStage,
  kDropColumnsStage,
  kDropTablesStage,
  // Before tables: defaults, checks and indexes may call them.
  kCreateFunctionsStage,
  // Before tables: a column default may call a sequence.
  kCreateSequencesStage,
  kCreateTablesStage,
  // Existing columns change before new ones are added: a new generated
  // column may read a column whose type changes.
  kAlterColumnsStage,
  kAddColumnsStage,
  kAddConstraintsStage,
  kCreateIndexesStage,
  kAddForeignKeysStage,
  // Functions whose arguments or result name a table's row type.
  kCreateLateFunctionsStage,
  // Views once everything they read exists; triggers once their functions
  // do; what an IMMUTABLE function's replacement invalidates; comments on
  // anything created.
  kCreateViewsStage,
  kCreateTriggersStage,
  kRebuildStage,
  kCommentsStage,
  // ONLINE mode: NOT VALID constraints added above are validated, each in a
  // phase of its own, once every brief change is done.
  kValidateStage,
  kDropFunctionsStage,
  kDropTypesStage,
};

// Parses "character varying(255)" into ("character varying", {255}).
struct ParsedType {
  std::string base;
  std::vector<int> mods;
  bool array = false;
};

inline ParsedType ParseType(std::string type) {
  ParsedType out;
  while (absl::EndsWith(type, "[]")) {
    out.array = true;
    type.resize(type.size() - 2);
  }
  const size_t open = type.find('(');
  const size_t close = type.find(')');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    for (absl::string_view part : absl::StrSplit(type.substr(open + 1, close - open - 1), ',')) {
      int value = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &value)) out.mods.push_back(value);
    }
    type = absl::StrCat(absl::StripAsciiWhitespace(type.substr(0, open)), type.substr(close + 1));
  }
  out.base = std::string(absl::StripAsciiWhitespace(type));
  return out;
}

inline int IntegerRank(const std::string& base) {
  if (base == "smallint") return 1;
  if (base == "integer") return 2;
  if (base == "bigint") return 3;
  return 0;
}

// Whether every value of `from` converts to `to` unchanged.
inline bool IsWidening(const std::string& from_text, const std::string& to_text) {
  const ParsedType from = ParseType(from_text);
  const ParsedType to = ParseType(to_text);
  if (from.array != to.array) return false;
  const bool from_varchar = from.base == "character varying";
  if (from_varchar && to.base == "text") return true;
  if (from_varchar && to.base == "character varying") {
    return to.mods.empty() || (!from.mods.empty() && to.mods[0] >= from.mods[0]);
  }
  if (IntegerRank(from.base) && IntegerRank(to.base)) {
    return IntegerRank(to.base) >= IntegerRank(from.base);
  }
  if (IntegerRank(from.base) && to.base == "numeric" && to.mods.empty()) return true;
  if (from.base == "real" && to.base == "double precision") return true;
  if (from.base == "numeric" && to.base == "numeric") {
    if (to.mods.empty()) return true;
    if (from.mods.size() == 2 && to.mods.size() == 2) {
      return to.mods[1] == from.mods[1] && to.mods[0] >= from.mods[0];
    }
  }
  return false;
}

inline std::string OldTypeName(const std::string& name) {
  std::string out = absl::StrCat("schemad_old_", name);
  if (out.size() > kMaxIdentifierBytes) out.resize(kMaxIdentifierBytes);
  return out;
}

inline bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class Planner {
 public:
  Planner(const Schema& desired, const Schema& actual, const std::vector<Difference>& diffs,
          const PlanOptions& options)
      : desired_(desired), actual_(actual), diffs_(diffs), options_(options), s_(desired.name) {}

  Plan Run() {
    PlanEnumRecreations();
    PlanGeneratedColumnRebuilds();
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      if (handled_.count(i)) continue;
      PlanDifference(i, diffs_[i]);
    }
    PlanReplicaIdentityRestores();
    PlanTableDrops();
    PlanViews();
    PlanTriggers();
    PlanCommentsOfCreatedObjects();
    PlanLeftoverCleanup();
    OrderEntries();
    MergeGroups();
    AssignPhases();
    Plan plan;
    plan.mode = options_.mode;
    for (Entry& e : entries_) plan.steps.push_back(std::move(e.step));
    plan.phases = plan.steps.empty() ? 0 : plan.steps.back().phase;
    return plan;
  }

 private:
  // How a step is emitted: what it does and to which table (for its
  // locks), its hazards, what it resolves, its group and its place within
  // its stage.
  struct StepSpec {
    StatementKind statement = StatementKind::kCreateTable;
    // The table the statement locks; "" for none.
    std::string table;
    std::vector<Hazard> hazards;
    std::vector<int> resolves;
    int group = 0;
    int suborder = 0;
    // Foreign keys: the referenced table ("" when in another schema).
    std::string referenced;
    // ADD CONSTRAINT ... NOT VALID: brief, no scan.
    bool not_valid = false;
    // Overrides LocksOf's hold (SET NOT NULL with a validated check).
    std::optional<LockHold> hold;
    // Overrides LocksOf's mode (storage parameters: by parameter).
    std::optional<LockMode> mode;
    // The relation locked instead of `table` (ALTER INDEX ... RENAME).
    std::string lock_on;
    // ONLINE mode: a phase of its own (validations).
    bool isolated = false;
    // See PlanStep::undo.
    std::string undo;
    bool undo_on_any_failure = false;
    // See PlanStep::blocked.
    std::string blocked;
    // The column this step drops or retypes (with `table`): views reading
    // it are re-created around it.
    std::string column;
    // The relation this step creates (a table or view the database lacks):
    // every step that locks or references it follows it in the plan.
    std::string creates;
  };

  struct Entry {
    Stage stage;
    int suborder;
    bool isolated = false;
    // Whether the step locks a relation that exists before the plan runs.
    bool touches_existing = false;
    // What the step drops or retypes that a view may read: "table" (a
    // dropped table) or "table.column"; "" for nothing.
    std::string breaks;
    // See StepSpec::creates; and the relations the step locks or
    // references (not those it drops).
    std::string creates;
    std::vector<std::string> uses;
    PlanStep step;
  };

  // Orders entries_ by the dependency graph of the objects they create and
  // use (OrderSteps), ties broken by stage and suborder.
  void OrderEntries();

  bool online() const { return options_.mode == ApplyMode::kOnline; }
  bool HasRows(const std::string& table) const {
    return options_.tables_with_rows.count(table) > 0;
  }
  bool Exists(const std::string& relation) const {
    return actual_.FindTable(relation) != nullptr || actual_.FindView(relation) != nullptr;
  }
  std::string T(const std::string& table) const { return QualifiedName(s_, table); }

  PlanStep& Emit(Stage stage, std::string sql, StepSpec spec);

  // Phases: TRANSACTIONAL runs enum labels (phase 1) and then everything
  // else (one transaction). ONLINE gives each step on an existing table a
  // phase of its own (its group's transactional neighbours join it), each
  // statement that runs outside a transaction its own, and lets steps that
  // lock nothing that exists (new tables, types, extensions) share one.
  void AssignPhases();

  // Why a step that drops or retypes `key` ("table" or "table.column")
  // cannot run: unmanaged objects depend on it. "" when none does.
  std::string BlockedByDependents(const std::string& key, const char* what) const;

  StatementKind AddStatement(const Constraint& c) const;

  // --- temporary objects of online recipes ----------------------------------

  // The temporary index `name` on `table`, when it exists, is valid and has
  // `definition` (everything after USING) and `unique`: a recipe reuses it
  // (and it is not cleaned up).
  const Index* ClaimTemporaryIndex(const std::string& table, const std::string& name, bool unique,
                                   const std::string& definition);

  const Constraint* ClaimTemporaryCheck(const std::string& table, const std::string& name);

  // Temporary objects no recipe reuses (an interrupted run's INVALID
  // build, a replacement whose target changed, a NOT NULL check whose
  // column is done) are dropped before anything is built.
  void PlanLeftoverCleanup();

  int NewGroup() { return next_group_++; }

  // Finds the differences about one object (by type, table and name).
  std::vector<int> DiffsFor(ObjectKind kind, const std::string& table,
                            const std::string& object) const;

  void MarkHandled(const std::vector<int>& indexes, std::vector<int>* resolves);

  // --- whole-object plans ---------------------------------------------------

  void PlanEnumRecreations();

  void PlanLabelAdditions(const EnumType& want, const EnumType& have);

  void PlanEnumRecreate(const EnumType& want, const EnumType& have,
                        const std::vector<int>& label_diffs);

  // A generated column whose expression changed (or a plain column that
  // becomes generated) is dropped and re-added: PostgreSQL 15 has no
  // ALTER COLUMN ... SET EXPRESSION.
  void PlanGeneratedColumnRebuilds();

  // --- one difference at a time --------------------------------------------

  void PlanDifference(int i, const Difference& d);

  void PlanSequence(const Difference& d, const std::vector<int>& r);

  void PlanCreateTable(const Table& table, std::vector<int> resolves);
  // LOGGED / UNLOGGED and row level security of an existing table.
  void PlanTableProperty(const Difference& d, std::vector<int> resolves);
  // ALTER ... SET (...) / RESET (...) of a relation's storage parameters.
  void EmitReplicaIdentity(const Table& want, std::vector<int> r);
  void EmitColumnSettings(const std::string& table, const Column& column);
  static bool OnlyStorageDiffers(const Constraint& want, const Constraint& have);
  static bool OnlyStorageDiffers(const Index& want, const Index& have);
  void EmitIndexStorageChange(const std::string& table, const std::string& index,
                              const std::vector<std::string>& want,
                              const std::vector<std::string>& have, std::vector<int> r);
  void PlanReplicaIdentityRestores();
  // SET (...) / RESET (...) after `alter` ("ALTER TABLE public.t "), taking
  // `relation` from `have` to `want`; `lock_on`: the index they alter
  // instead (ALTER INDEX).
  void EmitStorageChange(const std::string& alter, const std::vector<std::string>& want,
                         const std::vector<std::string>& have, const std::string& relation,
                         std::vector<int> r, const std::string& lock_on = "");

  // COMMENT ON <what> <target>: a brief SHARE UPDATE EXCLUSIVE lock on
  // `relation`.
  void EmitComment(const char* what, const std::string& target, const std::string& comment,
                   const std::string& relation, std::vector<int> resolves, int group = 0);

  void PlanColumn(const Difference& d, std::vector<int> r);

  // ONLINE SET NOT NULL: a CHECK (col IS NOT NULL) added NOT VALID, then
  // validated (writers go on), lets SET NOT NULL skip its scan: its ACCESS
  // EXCLUSIVE lock is brief. The check is dropped in the same phase. A check
  // left by an interrupted run is reused.
  void PlanSetNotNullOnline(const Difference& d, const std::vector<int>& r);

  std::vector<Hazard> AddConstraintHazards(const std::string& table, const Constraint& c);

  static std::string Referenced(const Constraint& c);

  std::string UniqueBuildHazardText(const std::string& what, const std::string& table) const;

  Hazard IndexBuildHazard(const std::string& index, const std::string& table) const;

  // ONLINE: a foreign key or CHECK on an existing table is added NOT VALID
  // (a brief lock; new rows are checked from then on) and validated in a
  // phase of its own (SHARE UPDATE EXCLUSIVE: writers go on). When
  // validation fails on existing rows the constraint is dropped again.
  void AddValidatedLater(const Table& table, const Constraint& want, std::vector<int> resolves,
                         int group);

  // The index a constraint's online recipe builds: its shape after USING.
  static std::string ConstraintIndexDefinition(const Constraint& want);

  // Whether a valid temporary index for `want` is left by an online run.
  bool ConstraintIndexReady(const Table& table, const Constraint& want) const;

  // ONLINE: a primary key or unique constraint on an existing table: its
  // index is built concurrently under a temporary name, then attached
  // (ADD CONSTRAINT ... USING INDEX renames it; a brief lock, given the
  // columns are already NOT NULL).
  void AddUsingIndex(const Table& table, const Constraint& want, std::vector<int> resolves,
                     int group);

  void PlanConstraint(const Difference& d, std::vector<int> r);

  void PlanIndex(const Difference& d, std::vector<int> r);

  // Extra tables are dropped referencing-first, so foreign keys between
  // them never block a drop. A foreign key closing a cycle among them is
  // dropped first, in the same group as the drops.
  void PlanTableDrops();

  // --- comments of indexes, constraints, sequences and enum types ------------

  // A changed comment of an index, constraint, sequence or enum type;
  // false for other kinds.
  bool PlanObjectComment(const Difference& d, const std::vector<int>& r);

  const Index* FindDesiredIndex(const std::string& relation, const std::string& name) const;

  // An object the plan creates (or re-creates) starts without a comment:
  // its declared comment follows, in the creating step's group.
  void PlanCommentsOfCreatedObjects();

  // --- functions and triggers -----------------------------------------------

  std::string FunctionTarget(const Function& f) const;

  Stage FunctionStage(const Function& f) const;
  // The function's place among the desired functions' creations (see
  // CallOrder).
  int CreationOrder(const Function& f);
  // The trigger `name` of table or view `relation` in `schema`, or null.
  static const Trigger* FindTriggerOf(const Schema& schema, const std::string& relation,
                                      const std::string& name);

  void EmitFunctionComment(const Function& f, std::vector<int> resolves, int group = 0);

  void PlanFunction(const Difference& d, std::vector<int> r);

  // After an IMMUTABLE function an index or check uses is replaced: the
  // index is rebuilt, the check dropped and added again (checking every
  // row with the new body).
  void PlanRebuildAfterReplace(const std::string& dependent, int group);

  // CREATE TRIGGER (as PostgreSQL printed the canonical one), its enabled
  // state and comment.
  void EmitCreateTrigger(const Trigger& t, std::vector<int> resolves, int group,
                         bool or_replace = false);

  // Triggers are planned after views: like a view, a trigger that reads a
  // column a step drops or retypes (or calls a function that is dropped
  // and re-created) is dropped before it and re-created after it.
  void PlanTriggers();

  // --- views ----------------------------------------------------------------

  bool IsView(const std::string& name) const;

  static std::string ViewWhat(const View& view);

  // Whether CREATE OR REPLACE VIEW turns `have` into `want`: plain views
  // both, and every column `have` has kept, by name and type, in its place
  // (new ones may follow).
  static bool ReplaceCompatible(const View& want, const View& have);

  static bool ViewColumnsEqual(const View& a, const View& b);

  // How many views of `schema` the view reads through, at most: 0 for one
  // that reads only tables. Views are created in increasing depth and
  // dropped in decreasing depth.
  static int ViewDepth(const Schema& schema, const std::string& name,
                       std::map<std::string, int>* memo, int guard = 0);

  // The view's own differences and its indexes' (materialized views).
  std::vector<int> ViewDiffs(const std::string& name) const;

  Hazard AuthzHazard(const View& want) const;

  // CREATE [MATERIALIZED] VIEW with its indexes and comment.
  void EmitCreateView(const View& want, std::vector<int> resolves, int group, int depth,
                      std::vector<Hazard> hazards = {});

  // Views are planned once everything else is: a view that reads what a
  // step drops or retypes (or a view that is re-created) is dropped before
  // it and re-created after it, in its group.
  void PlanViews();

  static ObjectKind ViewKind(const View& view);

  // A kept materialized view's index differences.
  void PlanViewIndexes(const View& want, const View& have);

  // Groups joined by PlanViews (a view re-created around a column change
  // shares the change's group).
  int Find(int g) {
    auto it = parent_.find(g);
    if (it == parent_.end() || it->second == g) return g;
    return it->second = Find(it->second);
  }
  void Union(int a, int b);

  // Applies the unions to every step; in ONLINE mode, moves the steps of a
  // group that re-creates views next to each other (at its last step), so
  // that they share one phase: the view is never missing between phases.
  void MergeGroups();

  const Schema& desired_;
  const Schema& actual_;
  const std::vector<Difference>& diffs_;
  const PlanOptions& options_;
  const std::string s_;
  std::vector<Entry> entries_;
  std::set<int> handled_;
  std::vector<int> extra_tables_;
  // Drops that an enum re-creation depends on (it does not recast columns
  // the plan drops): they run in its group or not at all.
  std::map<std::string, int> group_of_dropped_table_;
  std::map<std::string, int> group_of_dropped_column_;  // "table.column"
  int next_group_ = 1;
  // "table.name" of temporary objects a recipe reuses.
  std::set<std::string> claimed_;
  std::map<int, int> parent_;
  // Objects whose comment the plan sets ("index:<name>", "type:<name>", ...).
  std::set<std::string> commented_;
  // Views and triggers ("table.name") that call a function the plan drops
  // and re-creates, with the groups of those steps.
  std::map<std::string, std::vector<int>> forced_views_;
  std::map<std::string, std::vector<int>> forced_triggers_;
  // Groups (before Find) that re-create views: one phase in ONLINE mode.
  std::set<int> cohesive_;
  // Function key -> CreationOrder, computed on first use.
  std::map<std::string, int> function_order_;
  // Views the plan drops (their triggers go with them).
  std::set<std::string> dropped_views_;
};

}  // namespace schemad::plan_internal

#endif  // SCHEMAD_PLAN_PLANNER_H_
