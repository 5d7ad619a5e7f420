#include "schemad/plan/plan.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "schemad/common/identifier.h"

namespace schemad {
namespace {

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

ParsedType ParseType(std::string type) {
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

int IntegerRank(const std::string& base) {
  if (base == "smallint") return 1;
  if (base == "integer") return 2;
  if (base == "bigint") return 3;
  return 0;
}

// Whether every value of `from` converts to `to` unchanged.
bool IsWidening(const std::string& from_text, const std::string& to_text) {
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

std::string OldTypeName(const std::string& name) {
  std::string out = absl::StrCat("schemad_old_", name);
  if (out.size() > kMaxIdentifierBytes) out.resize(kMaxIdentifierBytes);
  return out;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class Planner {
 public:
  Planner(const Schema& desired, const Schema& actual, const std::vector<Difference>& diffs,
          const PlanOptions& options)
      : desired_(desired), actual_(actual), diffs_(diffs), options_(options),
        s_(desired.name) {}

  Plan Run() {
    PlanEnumRecreations();
    PlanGeneratedColumnRebuilds();
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      if (handled_.count(i)) continue;
      PlanDifference(i, diffs_[i]);
    }
    PlanTableDrops();
    PlanViews();
    PlanTriggers();
    PlanCommentsOfCreatedObjects();
    PlanLeftoverCleanup();
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return std::make_pair(a.stage, a.suborder) < std::make_pair(b.stage, b.suborder);
    });
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
    PlanStep step;
  };

  bool online() const { return options_.mode == ApplyMode::kOnline; }
  bool HasRows(const std::string& table) const {
    return options_.tables_with_rows.count(table) > 0;
  }
  bool Exists(const std::string& relation) const {
    return actual_.FindTable(relation) != nullptr || actual_.FindView(relation) != nullptr;
  }
  std::string T(const std::string& table) const { return QualifiedName(s_, table); }

  PlanStep& Emit(Stage stage, std::string sql, StepSpec spec) {
    Entry& e = entries_.emplace_back();
    e.stage = stage;
    e.suborder = spec.suborder;
    e.isolated = spec.isolated;
    if (spec.statement == StatementKind::kDropTable) e.breaks = spec.table;
    if (!spec.column.empty()) e.breaks = absl::StrCat(spec.table, ".", spec.column);
    PlanStep& step = e.step;
    step.sql = std::move(sql);
    step.statement = spec.statement;
    step.hazards = std::move(spec.hazards);
    step.resolves = std::move(spec.resolves);
    step.group = spec.group;
    const LockSpec locks = LocksOf(spec.statement, spec.not_valid);
    step.transactional = locks.transactional;
    step.undo = std::move(spec.undo);
    step.undo_transactional = locks.transactional;
    step.undo_on_any_failure = spec.undo_on_any_failure;
    step.blocked = std::move(spec.blocked);
    auto hold_on = [&](const std::string& table, LockHold scanning) {
      if (!online()) return LockHold::kUntilCommit;
      // An empty table, or one this plan creates, is scanned at once.
      if (!Exists(table) || !HasRows(table)) return LockHold::kBrief;
      return spec.hold.value_or(scanning);
    };
    const std::string relation = spec.lock_on.empty() ? spec.table : spec.lock_on;
    if (locks.on_table && !relation.empty()) {
      step.locks.push_back({relation, locks.mode, hold_on(spec.table, locks.hold)});
      e.touches_existing = Exists(spec.table);
    }
    if (locks.on_referenced && !spec.referenced.empty() && spec.referenced != spec.table) {
      step.locks.push_back({spec.referenced, locks.referenced_mode,
                            online() ? LockHold::kBrief : LockHold::kUntilCommit});
      e.touches_existing = e.touches_existing || Exists(spec.referenced);
    }
    return step;
  }

  // Phases: TRANSACTIONAL runs enum labels (phase 1) and then everything
  // else (one transaction). ONLINE gives each step on an existing table a
  // phase of its own (its group's transactional neighbours join it), each
  // statement that runs outside a transaction its own, and lets steps that
  // lock nothing that exists (new tables, types, extensions) share one.
  void AssignPhases() {
    if (!online()) {
      bool labels = false;
      for (const Entry& e : entries_) labels = labels || e.step.own_transaction;
      for (Entry& e : entries_) e.step.phase = labels && !e.step.own_transaction ? 2 : 1;
      return;
    }
    int phase = 0;
    const Entry* prev = nullptr;
    for (Entry& e : entries_) {
      bool joins = prev != nullptr && prev->step.transactional && e.step.transactional &&
                   !prev->isolated && !e.isolated &&
                   prev->step.own_transaction == e.step.own_transaction;
      if (joins && !e.step.own_transaction) {
        const bool same_group = e.step.group != 0 && e.step.group == prev->step.group;
        joins = same_group || (!prev->touches_existing && !e.touches_existing);
      }
      if (!joins) ++phase;
      e.step.phase = phase;
      prev = &e;
    }
  }

  // Why a step that drops or retypes `key` ("table" or "table.column")
  // cannot run: unmanaged objects depend on it. "" when none does.
  std::string BlockedByDependents(const std::string& key, const char* what) const {
    const auto it = options_.dependents.find(key);
    if (it == options_.dependents.end() || it->second.empty()) return "";
    return absl::StrCat(absl::StrJoin(it->second, ", "), " depend",
                        it->second.size() == 1 ? "s" : "", " on ", key, ", which this step ", what,
                        "; schemad does not manage ", it->second.size() == 1 ? "it" : "them",
                        ": change or drop ", it->second.size() == 1 ? "it" : "them",
                        " first, then run again");
  }

  StatementKind AddStatement(const Constraint& c) const {
    switch (c.kind) {
      case ConstraintKind::kForeignKey:
        return StatementKind::kAddForeignKey;
      case ConstraintKind::kCheck:
        return StatementKind::kAddCheck;
      case ConstraintKind::kPrimaryKey:
      case ConstraintKind::kUnique:
        return StatementKind::kAddUniqueOrPrimaryKey;
    }
    return StatementKind::kAddCheck;
  }

  // --- temporary objects of online recipes ----------------------------------

  // The temporary index `name` on `table`, when it exists, is valid and has
  // `definition` (everything after USING) and `unique`: a recipe reuses it
  // (and it is not cleaned up).
  const Index* ClaimTemporaryIndex(const std::string& table, const std::string& name, bool unique,
                                   const std::string& definition) {
    const Table* have = actual_.FindTable(table);
    const Index* index = have ? have->FindIndex(name) : nullptr;
    if (index == nullptr || !index->valid || index->unique != unique ||
        index->definition != definition) {
      return nullptr;
    }
    claimed_.insert(absl::StrCat(table, ".", name));
    return index;
  }

  const Constraint* ClaimTemporaryCheck(const std::string& table, const std::string& name) {
    const Table* have = actual_.FindTable(table);
    const Constraint* c = have ? have->FindConstraint(name) : nullptr;
    if (c == nullptr || c->kind != ConstraintKind::kCheck) return nullptr;
    claimed_.insert(absl::StrCat(table, ".", name));
    return c;
  }

  // Temporary objects no recipe reuses (an interrupted run's INVALID
  // build, a replacement whose target changed, a NOT NULL check whose
  // column is done) are dropped before anything is built.
  void PlanLeftoverCleanup() {
    for (const Table& table : actual_.tables) {
      for (const Index& index : table.indexes) {
        if (!IsTemporaryName(index.name) ||
            claimed_.count(absl::StrCat(table.name, ".", index.name))) {
          continue;
        }
        Emit(kDropIndexesStage, DropIndexSql(s_, index.name, online(), /*if_exists=*/true),
             {.statement =
                  online() ? StatementKind::kDropIndexConcurrently : StatementKind::kDropIndex,
              .table = table.name,
              .suborder = -1});
      }
      for (const Constraint& c : table.constraints) {
        if (!IsTemporaryName(c.name) || claimed_.count(absl::StrCat(table.name, ".", c.name))) {
          continue;
        }
        Emit(kDropIndexesStage,
             absl::StrCat("ALTER TABLE ", T(table.name), " DROP CONSTRAINT IF EXISTS ",
                          QuoteIdent(c.name)),
             {.statement = StatementKind::kDropConstraint, .table = table.name, .suborder = -1});
      }
    }
  }

  int NewGroup() { return next_group_++; }

  // Finds the differences about one object (by type, table and name).
  std::vector<int> DiffsFor(ObjectKind kind, const std::string& table,
                            const std::string& object) const {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      if (d.kind == kind && d.table == table && d.object == object) out.push_back(i);
    }
    return out;
  }

  void MarkHandled(const std::vector<int>& indexes, std::vector<int>* resolves) {
    for (int i : indexes) {
      if (handled_.insert(i).second) resolves->push_back(i);
    }
  }

  // --- whole-object plans ---------------------------------------------------

  void PlanEnumRecreations() {
    for (const EnumType& want : desired_.enums) {
      const EnumType* have = actual_.FindEnum(want.name);
      if (have == nullptr) continue;
      std::vector<int> label_diffs;
      bool needs_recreate = false;
      for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
        const Difference& d = diffs_[i];
        const bool about_labels =
            (d.kind == ObjectKind::kEnumLabel && d.table == want.name) ||
            (d.kind == ObjectKind::kEnum && d.name == want.name && d.change == Change::kChanged &&
             d.attribute == Attribute::kLabels);
        if (!about_labels) continue;
        label_diffs.push_back(i);
        if (d.change != Change::kMissing) needs_recreate = true;
      }
      if (label_diffs.empty()) continue;
      if (!needs_recreate) {
        PlanLabelAdditions(want, *have);
        continue;
      }
      PlanEnumRecreate(want, *have, label_diffs);
    }
  }

  void PlanLabelAdditions(const EnumType& want, const EnumType& have) {
    std::set<std::string> present(have.labels.begin(), have.labels.end());
    for (size_t i = 0; i < want.labels.size(); ++i) {
      const std::string& label = want.labels[i];
      if (present.count(label)) continue;
      std::string position;
      if (i > 0) {
        position = absl::StrCat(" AFTER ", QuoteLiteral(want.labels[i - 1]));
      } else {
        for (size_t j = 1; j < want.labels.size(); ++j) {
          if (present.count(want.labels[j])) {
            position = absl::StrCat(" BEFORE ", QuoteLiteral(want.labels[j]));
            break;
          }
        }
      }
      std::vector<int> resolves;
      MarkHandled(DiffsFor(ObjectKind::kEnumLabel, want.name, label), &resolves);
      PlanStep& step = Emit(
          kEnumStage,
          absl::StrCat("ALTER TYPE ", T(want.name), " ADD VALUE ", QuoteLiteral(label), position),
          {.statement = StatementKind::kAddEnumValue, .resolves = resolves, .suborder = 1});
      step.own_transaction = true;
      present.insert(label);
    }
  }

  void PlanEnumRecreate(const EnumType& want, const EnumType& have,
                        const std::vector<int>& label_diffs) {
    const int group = NewGroup();
    std::vector<int> resolves;
    MarkHandled(label_diffs, &resolves);
    std::vector<Hazard> hazards;
    std::vector<std::string> removed;
    for (const std::string& l : have.labels) {
      if (!Contains(want.labels, l)) removed.push_back(l);
    }
    if (!removed.empty()) {
      hazards.push_back({HazardKind::kDataLoss,
                         absl::StrCat("removes enum label(s) ", absl::StrJoin(removed, ", "),
                                      " of ", want.name,
                                      ": rows holding them make the recast fail; update those "
                                      "rows to a kept label first")});
    }
    const std::string old_name = OldTypeName(want.name);
    const std::string quoted = QuoteIdent(want.name);
    bool used = false;
    for (const Table& table : actual_.tables) {
      for (const Column& c : table.columns) {
        used = used || c.type == quoted || c.type == absl::StrCat(quoted, "[]");
      }
    }
    hazards.push_back(
        used ? Hazard{HazardKind::kTableRewrite,
                      absl::StrCat("recreates enum type ", want.name,
                                   " and recasts every column using it: each such table is "
                                   "rewritten under an ACCESS EXCLUSIVE lock")}
             : Hazard{HazardKind::kDropsObject,
                      absl::StrCat("recreates enum type ", want.name, " with its labels in the "
                                   "declared order")});
    Emit(kEnumRecreateStage,
         absl::StrCat("ALTER TYPE ", T(want.name), " RENAME TO ", QuoteIdent(old_name)),
         {.statement = StatementKind::kRenameType,
          .hazards = hazards,
          .resolves = resolves,
          .group = group});
    Emit(kEnumRecreateStage, CreateEnumSql(s_, want),
         {.statement = StatementKind::kCreateType, .group = group});
    for (const Table& table : actual_.tables) {
      const Table* kept = desired_.FindTable(table.name);
      std::vector<const Column*> typed;
      for (const Column& c : table.columns) {
        if (c.type != quoted && c.type != absl::StrCat(quoted, "[]")) continue;
        // A column (or table) this plan drops is not recast: its drop joins
        // the group instead, and the old type goes only after it.
        if (kept == nullptr) {
          group_of_dropped_table_[table.name] = group;
        } else if (kept->FindColumn(c.name) == nullptr) {
          group_of_dropped_column_[absl::StrCat(table.name, ".", c.name)] = group;
        } else {
          typed.push_back(&c);
        }
      }
      if (typed.empty()) continue;
      std::vector<std::string> typed_names;
      for (const Column* c : typed) typed_names.push_back(c->name);
      auto depends = [&](const std::vector<std::string>& cols, const std::string& def) {
        for (const std::string& c : cols) {
          if (Contains(typed_names, c)) return true;
        }
        return absl::StrContains(def, absl::StrCat("::", quoted));
      };
      const Table* want_table = desired_.FindTable(table.name);
      std::vector<const Index*> rebuild_indexes;
      std::vector<const Constraint*> rebuild_checks;
      for (const Index& index : table.indexes) {
        if (!depends(index.columns, index.definition)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kIndex, table.name, index.name), &r);
        std::vector<Hazard> h;
        const Index* wanted = want_table ? want_table->FindIndex(index.name) : nullptr;
        if (wanted == nullptr) {
          h.push_back({HazardKind::kDropsObject,
                       absl::StrCat("drops index ", index.name, ", which the registry does not "
                                    "declare, while recasting ", want.name)});
        }
        Emit(kEnumRecreateStage, absl::StrCat("DROP INDEX ", T(index.name)),
             {.statement = StatementKind::kDropIndex,
              .table = table.name,
              .hazards = h,
              .resolves = r,
              .group = group,
              .suborder = 1});
        if (wanted != nullptr) rebuild_indexes.push_back(wanted);
      }
      for (const Constraint& con : table.constraints) {
        if (con.kind != ConstraintKind::kCheck || !depends(con.columns, con.definition)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kConstraint, table.name, con.name), &r);
        std::vector<Hazard> h;
        const Constraint* wanted = want_table ? want_table->FindConstraint(con.name) : nullptr;
        if (wanted == nullptr) {
          h.push_back({HazardKind::kDropsObject,
                       absl::StrCat("drops check constraint ", con.name,
                                    ", which the registry does not declare")});
        }
        Emit(kEnumRecreateStage,
             absl::StrCat("ALTER TABLE ", T(table.name), " DROP CONSTRAINT ", QuoteIdent(con.name)),
             {.statement = StatementKind::kDropConstraint,
              .table = table.name,
              .hazards = h,
              .resolves = r,
              .group = group,
              .suborder = 1});
        if (wanted != nullptr) rebuild_checks.push_back(wanted);
      }
      for (const Column* c : typed) {
        const std::string col = QuoteIdent(c->name);
        const bool array = absl::EndsWith(c->type, "[]");
        if (!c->default_expr.empty()) {
          Emit(kEnumRecreateStage,
               absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col, " DROP DEFAULT"),
               {.statement = StatementKind::kSetDefault,
                .table = table.name,
                .group = group,
                .suborder = 2});
        }
        Emit(kEnumRecreateStage,
             absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col, " TYPE ", c->type,
                          " USING ", col, array ? "::text[]::" : "::text::", c->type),
             {.statement = StatementKind::kAlterColumnType,
              .table = table.name,
              .group = group,
              .suborder = 3,
              .column = c->name});
        const Column* wanted = want_table ? want_table->FindColumn(c->name) : nullptr;
        const std::string def = wanted ? wanted->default_expr : c->default_expr;
        if (!def.empty()) {
          Emit(kEnumRecreateStage,
               absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col, " SET DEFAULT ",
                            def),
               {.statement = StatementKind::kSetDefault,
                .table = table.name,
                .group = group,
                .suborder = 4});
        }
      }
      for (const Constraint* con : rebuild_checks) {
        Emit(kEnumRecreateStage, AddConstraintSql(s_, table.name, *con),
             {.statement = StatementKind::kAddCheck,
              .table = table.name,
              .group = group,
              .suborder = 5});
      }
      for (const Index* index : rebuild_indexes) {
        Emit(kEnumRecreateStage, CreateIndexSql(s_, table.name, *index),
             {.statement = StatementKind::kCreateIndex,
              .table = table.name,
              .group = group,
              .suborder = 5});
      }
    }
    // Last of all: columns of the old type that the plan drops go first.
    Emit(kDropTypesStage, absl::StrCat("DROP TYPE ", T(old_name)),
         {.statement = StatementKind::kDropType, .group = group});
  }

  // A generated column whose expression changed (or a plain column that
  // becomes generated) is dropped and re-added: PostgreSQL 15 has no
  // ALTER COLUMN ... SET EXPRESSION.
  void PlanGeneratedColumnRebuilds() {
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      if (d.kind != ObjectKind::kColumn || d.attribute != Attribute::kGenerated ||
          handled_.count(i)) {
        continue;
      }
      const Table* want_table = desired_.FindTable(d.table);
      const Table* have_table = actual_.FindTable(d.table);
      const Column* want = want_table->FindColumn(d.object);
      const Column* have = have_table->FindColumn(d.object);
      std::vector<int> resolves;
      if (want->generated.empty()) {
        MarkHandled({i}, &resolves);
        Emit(kAlterColumnsStage,
             absl::StrCat("ALTER TABLE ", T(d.table), " ALTER COLUMN ", QuoteIdent(d.object),
                          " DROP EXPRESSION"),
             {.statement = StatementKind::kDropExpression,
              .table = d.table,
              .hazards = {{HazardKind::kDropsObject,
                           absl::StrCat("column ", d.name,
                                        " stops being generated: its values stay but are "
                                        "no longer computed")}},
              .resolves = resolves,
              .column = d.object});
        continue;
      }
      const int group = NewGroup();
      MarkHandled(DiffsFor(ObjectKind::kColumn, d.table, d.object), &resolves);
      std::vector<Hazard> hazards;
      if (have->generated.empty()) {
        hazards.push_back({HazardKind::kDataLoss,
                           absl::StrCat("column ", d.name, " becomes generated: it is dropped and "
                                        "re-added, losing its stored values")});
      }
      hazards.push_back({HazardKind::kTableRewrite,
                         absl::StrCat("PostgreSQL 15 cannot change a generated expression: ",
                                      d.name, " is dropped and re-added, rewriting ", d.table,
                                      " and rebuilding what depends on it")});
      Emit(kDropColumnsStage,
           absl::StrCat("ALTER TABLE ", T(d.table), " DROP COLUMN ", QuoteIdent(d.object)),
           {.statement = StatementKind::kDropColumn,
            .table = d.table,
            .hazards = hazards,
            .resolves = resolves,
            .group = group,
            .column = d.object});
      Emit(kAddColumnsStage,
           absl::StrCat("ALTER TABLE ", T(d.table), " ADD COLUMN ", ColumnDefinitionSql(*want)),
           {.statement = StatementKind::kAddColumn, .table = d.table, .group = group});
      if (!want->comment.empty()) {
        EmitComment("COLUMN", absl::StrCat(T(d.table), ".", QuoteIdent(d.object)), want->comment,
                    d.table, {}, group);
      }
      // DROP COLUMN takes the column's indexes and constraints with it.
      for (const Index& index : have_table->indexes) {
        if (!Contains(index.columns, d.object)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kIndex, d.table, index.name), &r);
        const Index* wanted = want_table->FindIndex(index.name);
        if (wanted != nullptr) {
          Emit(kCreateIndexesStage, CreateIndexSql(s_, d.table, *wanted),
               {.statement = StatementKind::kCreateIndex,
                .table = d.table,
                .resolves = r,
                .group = group});
        } else {
          entries_.back().step.resolves.insert(entries_.back().step.resolves.end(), r.begin(),
                                               r.end());
        }
      }
      for (const Index& index : want_table->indexes) {
        if (Contains(index.columns, d.object) && have_table->FindIndex(index.name) == nullptr) {
          std::vector<int> r;
          MarkHandled(DiffsFor(ObjectKind::kIndex, d.table, index.name), &r);
          Emit(kCreateIndexesStage, CreateIndexSql(s_, d.table, index),
               {.statement = StatementKind::kCreateIndex,
                .table = d.table,
                .resolves = r,
                .group = group});
        }
      }
      for (const Constraint& con : want_table->constraints) {
        if (!Contains(con.columns, d.object)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kConstraint, d.table, con.name), &r);
        Emit(con.kind == ConstraintKind::kForeignKey ? kAddForeignKeysStage : kAddConstraintsStage,
             AddConstraintSql(s_, d.table, con),
             {.statement = AddStatement(con), .table = d.table, .resolves = r, .group = group});
      }
    }
  }

  // --- one difference at a time --------------------------------------------

  void PlanDifference(int i, const Difference& d) {
    std::vector<int> r = {i};
    handled_.insert(i);
    if (d.change == Change::kUnmanaged) return;
    if (d.change == Change::kChanged && d.attribute == Attribute::kComment &&
        PlanObjectComment(d, r)) {
      return;
    }
    switch (d.kind) {
      case ObjectKind::kSchema:
        Emit(kSchemaStage, absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(d.name)),
             {.statement = StatementKind::kCreateSchema, .resolves = r});
        return;
      case ObjectKind::kExtension:
        if (d.change == Change::kMissing) {
          Emit(kExtensionStage, CreateExtensionSql(*desired_.FindExtension(d.name)),
               {.statement = StatementKind::kCreateExtension, .resolves = r});
        } else {
          Emit(
              kDropTypesStage, absl::StrCat("DROP EXTENSION ", QuoteIdent(d.name)),
              {.statement = StatementKind::kDropExtension,
               .hazards = {{HazardKind::kDropsObject, absl::StrCat("drops extension ", d.name,
                                                                   " and everything it provides")}},
               .resolves = r,
               .suborder = 1});
        }
        return;
      case ObjectKind::kEnum:
        if (d.change == Change::kMissing) {
          Emit(kEnumStage, CreateEnumSql(s_, *desired_.FindEnum(d.name)),
               {.statement = StatementKind::kCreateType, .resolves = r});
        } else if (d.change == Change::kExtra) {
          Emit(kDropTypesStage, absl::StrCat("DROP TYPE ", T(d.name)),
               {.statement = StatementKind::kDropType,
                .hazards = {{HazardKind::kDropsObject, absl::StrCat("drops enum type ", d.name)}},
                .resolves = r});
        }
        return;
      case ObjectKind::kEnumLabel:
        return;  // planned with their enum type (PlanEnumRecreations)
      case ObjectKind::kTable:
        if (d.change == Change::kMissing) {
          PlanCreateTable(*desired_.FindTable(d.name), r);
        } else if (d.change == Change::kExtra) {
          extra_tables_.push_back(i);
        } else {
          EmitComment("TABLE", T(d.name), desired_.FindTable(d.name)->comment, d.name, r);
        }
        return;
      case ObjectKind::kColumn:
        PlanColumn(d, r);
        return;
      case ObjectKind::kConstraint:
        PlanConstraint(d, r);
        return;
      case ObjectKind::kIndex:
        if (IsView(d.table)) {
          handled_.erase(i);  // with its materialized view (PlanViews)
          return;
        }
        PlanIndex(d, r);
        return;
      case ObjectKind::kSequence:
        PlanSequence(d, r);
        return;
      case ObjectKind::kView:
      case ObjectKind::kMaterializedView:
        handled_.erase(i);  // PlanViews, once what they read is planned
        return;
      case ObjectKind::kFunction:
        PlanFunction(d, r);
        return;
      case ObjectKind::kTrigger:
        handled_.erase(i);  // PlanTriggers, once what they read is planned
        return;
      case ObjectKind::kPolicy:
      case ObjectKind::kRule:
      case ObjectKind::kForeignTable:
      case ObjectKind::kDomain:
      case ObjectKind::kCompositeType:
      case ObjectKind::kStatistics:
        return;  // unmanaged: reported, never planned
    }
  }

  void PlanSequence(const Difference& d, const std::vector<int>& r) {
    const Sequence* want = desired_.FindSequence(d.name);
    const Sequence* have = actual_.FindSequence(d.name);
    switch (d.change) {
      case Change::kUnmanaged:
        return;
      case Change::kExtra:
        Emit(kDropTypesStage, absl::StrCat("DROP SEQUENCE ", T(d.name)),
             {.statement = StatementKind::kDropSequence,
              .hazards = {{HazardKind::kDropsObject,
                           absl::StrCat("drops sequence ", d.name, " and its current value")}},
              .resolves = r,
              .suborder = 2});
        return;
      case Change::kMissing:
        Emit(kCreateSequencesStage, CreateSequenceSql(s_, *want),
             {.statement = StatementKind::kCreateSequence, .resolves = r});
        if (!want->owned_by_table.empty()) {
          // Once the column exists.
          Emit(kAddConstraintsStage, SequenceOwnedBySql(s_, *want),
               {.statement = StatementKind::kCreateSequence, .suborder = 5});
        }
        return;
      case Change::kChanged: {
        Sequence options = *want;
        options.owned_by_table = have->owned_by_table;
        options.owned_by_column = have->owned_by_column;
        const int group = NewGroup();
        if (SequenceOptionsSql(*want) != SequenceOptionsSql(*have)) {
          std::vector<Hazard> hazards;
          auto type_rank = [](const std::string& t) {
            return t == "smallint" ? 1 : t == "integer" ? 2 : 3;
          };
          if (type_rank(want->type) < type_rank(have->type) ||
              want->min_value.value_or(0) > have->min_value.value_or(0) ||
              want->max_value.value_or(0) < have->max_value.value_or(0)) {
            hazards.push_back({HazardKind::kValidation,
                               absl::StrCat("narrows the range of sequence ", d.name,
                                            ": fails if its current value lies outside it")});
          }
          Emit(kCreateSequencesStage, AlterSequenceSql(s_, *want),
               {.statement = StatementKind::kCreateSequence,
                .hazards = std::move(hazards),
                .resolves = r,
                .group = group,
                .suborder = 1});
        }
        if (want->owned_by_table != have->owned_by_table ||
            want->owned_by_column != have->owned_by_column) {
          std::vector<Hazard> hazards;
          if (want->owned_by_table.empty()) {
            hazards.push_back({HazardKind::kDropsObject,
                               absl::StrCat("sequence ", d.name, " is no longer dropped with ",
                                            have->owned_by_table, ".", have->owned_by_column)});
          }
          Emit(kAddConstraintsStage, SequenceOwnedBySql(s_, *want),
               {.statement = StatementKind::kCreateSequence,
                .hazards = std::move(hazards),
                .resolves = r,
                .group = group,
                .suborder = 5});
        }
        return;
      }
    }
  }

  void PlanCreateTable(const Table& table, std::vector<int> resolves) {
    Emit(kCreateTablesStage, CreateTableSql(s_, table),
         {.statement = StatementKind::kCreateTable, .resolves = std::move(resolves)});
    for (const Index& index : table.indexes) {
      Emit(kCreateIndexesStage, CreateIndexSql(s_, table.name, index),
           {.statement = StatementKind::kCreateIndex, .table = table.name});
    }
    for (const Constraint& c : table.constraints) {
      if (c.kind == ConstraintKind::kForeignKey) {
        Emit(kAddForeignKeysStage, AddConstraintSql(s_, table.name, c),
             {.statement = AddStatement(c), .table = table.name, .referenced = Referenced(c)});
      } else if (AddedAfterCreateTable(table, c)) {
        Emit(kAddConstraintsStage, AddConstraintSql(s_, table.name, c),
             {.statement = AddStatement(c), .table = table.name});
      }
    }
    for (const Trigger& t : table.triggers) EmitCreateTrigger(t, {}, 0);
    if (!table.comment.empty()) EmitComment("TABLE", T(table.name), table.comment, table.name, {});
    for (const Column& c : table.columns) {
      if (!c.comment.empty()) {
        EmitComment("COLUMN", absl::StrCat(T(table.name), ".", QuoteIdent(c.name)), c.comment,
                    table.name, {});
      }
    }
  }

  // COMMENT ON <what> <target>: a brief SHARE UPDATE EXCLUSIVE lock on
  // `relation`.
  void EmitComment(const char* what, const std::string& target, const std::string& comment,
                   const std::string& relation, std::vector<int> resolves, int group = 0) {
    Emit(kCommentsStage, CommentSql(what, target, comment),
         {.statement = StatementKind::kComment,
          .table = relation,
          .resolves = std::move(resolves),
          .group = group});
  }

  void PlanColumn(const Difference& d, std::vector<int> r) {
    const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
    const std::string col = QuoteIdent(d.object);
    if (d.change == Change::kExtra) {
      const auto joined = group_of_dropped_column_.find(d.name);
      Emit(kDropColumnsStage, absl::StrCat(alter, "DROP COLUMN ", col),
           {.statement = StatementKind::kDropColumn,
            .table = d.table,
            .hazards = {{HazardKind::kDataLoss,
                         absl::StrCat("drops column ", d.name, " and every value stored in it")}},
            .resolves = r,
            .group = joined != group_of_dropped_column_.end() ? joined->second : 0,
            .blocked = BlockedByDependents(d.name, "drops"),
            .column = d.object});
      return;
    }
    const Column* want = desired_.FindTable(d.table)->FindColumn(d.object);
    if (d.change == Change::kMissing) {
      std::vector<Hazard> hazards;
      const bool computes = want->volatile_default || !want->generated.empty() ||
                            want->identity != Identity::kNone ||
                            !want->serial_sequence.empty();
      if (computes && HasRows(d.table)) {
        hazards.push_back({HazardKind::kTableRewrite,
                           absl::StrCat("adds ", d.name,
                                        " with a value computed per row (volatile default, "
                                        "sequence, identity or generated expression): ",
                                        d.table, " is rewritten under an ACCESS EXCLUSIVE lock")});
      }
      if (want->not_null && want->default_expr.empty() && !computes && HasRows(d.table)) {
        hazards.push_back({HazardKind::kValidation,
                           absl::StrCat("adds NOT NULL column ", d.name, " without a default to ",
                                        d.table, ", which has rows: the step fails; add a "
                                        "default or fill the column first")});
      }
      Emit(kAddColumnsStage, absl::StrCat(alter, "ADD COLUMN ", ColumnDefinitionSql(*want)),
           {.statement = StatementKind::kAddColumn,
            .table = d.table,
            .hazards = hazards,
            .resolves = r});
      if (!want->comment.empty()) {
        EmitComment("COLUMN", absl::StrCat(T(d.table), ".", col), want->comment, d.table, {});
      }
      return;
    }
    const Column* have = actual_.FindTable(d.table)->FindColumn(d.object);
    const std::string alter_col = absl::StrCat(alter, "ALTER COLUMN ", col, " ");
    switch (d.attribute) {
      case Attribute::kType: {
        std::vector<Hazard> hazards;
        const bool widening = IsWidening(have->type, want->type);
        hazards.push_back({HazardKind::kTableRewrite,
                           widening ? absl::StrCat("changes the type of ", d.name,
                                                   " under an ACCESS EXCLUSIVE lock (a widening "
                                                   "change: no rewrite for varchar/text, a rewrite "
                                                   "otherwise)")
                                    : absl::StrCat("changes the type of ", d.name, " from ",
                                                   have->type, " to ", want->type, ": ", d.table,
                                                   " and its indexes are rewritten under an ACCESS "
                                                   "EXCLUSIVE lock")});
        if (!widening) {
          hazards.push_back({HazardKind::kDataLoss,
                             absl::StrCat("converting ", d.name, " from ", have->type, " to ",
                                          want->type, " may truncate or fail on existing values")});
        }
        const bool via_text = desired_.FindEnum(ParseType(want->type).base) != nullptr ||
                              actual_.FindEnum(ParseType(have->type).base) != nullptr;
        std::string using_expr = want->using_expr.empty()
                                     ? absl::StrCat(col, "::", via_text ? "text::" : "", want->type)
                                     : absl::StrCat("(", want->using_expr, ")");
        std::string blocked = BlockedByDependents(d.name, "retypes");
        if (blocked.empty() && want->using_expr.empty() && options_.uncastable.count(d.name)) {
          blocked = absl::StrCat("PostgreSQL has no cast from ", have->type, " to ", want->type,
                                 " for ", d.name,
                                 ": declare how existing values convert, "
                                 "e.g. column { name: \"",
                                 d.object, "\" using: \"...\" }");
        }
        if (!have->default_expr.empty()) {
          // The old default may not cast to the new type; the default step
          // (if any) sets the wanted one afterwards.
          Emit(kAlterColumnsStage, absl::StrCat(alter_col, "DROP DEFAULT"),
               {.statement = StatementKind::kSetDefault, .table = d.table, .suborder = 1});
          if (want->default_expr == have->default_expr && !want->default_expr.empty()) {
            Emit(kAlterColumnsStage, absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
                 {.statement = StatementKind::kSetDefault, .table = d.table, .suborder = 3});
          }
        }
        Emit(kAlterColumnsStage,
             absl::StrCat(alter_col, "TYPE ", want->type, " USING ", using_expr),
             {.statement = StatementKind::kAlterColumnType,
              .table = d.table,
              .hazards = hazards,
              .resolves = r,
              .suborder = 2,
              .blocked = blocked,
              .column = d.object});
        return;
      }
      case Attribute::kDefault: {
        // integer -> serial: the sequence the default calls does not exist
        // yet. Create it owned by the column, started after the largest
        // value, before the default that uses it.
        const bool becomes_serial =
            !want->serial_sequence.empty() && want->serial_sequence != have->serial_sequence;
        if (becomes_serial) {
          Emit(kAlterColumnsStage,
               absl::StrCat("CREATE SEQUENCE ", T(want->serial_sequence), " AS ", want->type,
                            " OWNED BY ", T(d.table), ".", col),
               {.statement = StatementKind::kCreateSequence, .suborder = 1});
          Emit(kAlterColumnsStage,
               absl::StrCat("SELECT pg_catalog.setval(", QuoteLiteral(T(want->serial_sequence)),
                            "::pg_catalog.regclass, COALESCE(pg_catalog.max(", col,
                            "), 0) OPERATOR(pg_catalog.+) 1, false) FROM ", T(d.table)),
               {.statement = StatementKind::kSetSequenceValue, .table = d.table, .suborder = 2});
        }
        // serial -> integer: the sequence the column owned would be left
        // behind, unused and invisible; it goes with the default.
        const bool stops_serial =
            !have->serial_sequence.empty() && want->serial_sequence != have->serial_sequence;
        const int group = stops_serial ? NewGroup() : 0;
        Emit(kAlterColumnsStage,
             want->default_expr.empty()
                 ? absl::StrCat(alter_col, "DROP DEFAULT")
                 : absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
             {.statement = StatementKind::kSetDefault,
              .table = d.table,
              .resolves = r,
              .group = group,
              .suborder = 3});
        if (stops_serial) {
          Emit(kDropTypesStage, absl::StrCat("DROP SEQUENCE ", T(have->serial_sequence)),
               {.statement = StatementKind::kDropSequence,
                .hazards = {{HazardKind::kDropsObject,
                             absl::StrCat("drops sequence ", have->serial_sequence, ", which ",
                                          d.name, " owned, and its current value")}},
                .group = group,
                .suborder = 2});
        }
        return;
      }
      case Attribute::kNullable:
        if (want->not_null && online()) {
          PlanSetNotNullOnline(d, r);
        } else if (want->not_null) {
          Emit(kAlterColumnsStage, absl::StrCat(alter_col, "SET NOT NULL"),
               {.statement = StatementKind::kSetNotNull,
                .table = d.table,
                .hazards = {{HazardKind::kValidation,
                             absl::StrCat("sets NOT NULL on ", d.name, ": scans ", d.table,
                                          " under an ACCESS EXCLUSIVE lock and fails if any row "
                                          "holds NULL")}},
                .resolves = r,
                .suborder = 4});
        } else {
          Emit(kAlterColumnsStage, absl::StrCat(alter_col, "DROP NOT NULL"),
               {.statement = StatementKind::kDropNotNull,
                .table = d.table,
                .resolves = r,
                .suborder = 4});
        }
        return;
      case Attribute::kIdentity:
        if (want->identity == Identity::kNone) {
          Emit(kAlterColumnsStage, absl::StrCat(alter_col, "DROP IDENTITY"),
               {.statement = StatementKind::kAlterIdentity,
                .table = d.table,
                .hazards = {{HazardKind::kDropsObject,
                             absl::StrCat("drops the identity of ", d.name,
                                          " and its sequence: inserts must then supply values")}},
                .resolves = r});
        } else if (have->identity == Identity::kNone) {
          const std::string options = IdentityOptionsSql(want->identity_options);
          Emit(
              kAlterColumnsStage,
              absl::StrCat(alter_col, "ADD GENERATED ",
                           want->identity == Identity::kAlways ? "ALWAYS" : "BY DEFAULT",
                           " AS IDENTITY", options.empty() ? "" : absl::StrCat(" (", options, ")")),
              {.statement = StatementKind::kAlterIdentity,
               .table = d.table,
               .hazards = {{HazardKind::kValidation,
                            absl::StrCat("makes ", d.name,
                                         " an identity column: it must be NOT NULL and its "
                                         "new sequence starts at 1, below existing values")}},
               .resolves = r,
               .suborder = 5});
        } else {
          Emit(kAlterColumnsStage,
               absl::StrCat(alter_col, "SET GENERATED ",
                            want->identity == Identity::kAlways ? "ALWAYS" : "BY DEFAULT"),
               {.statement = StatementKind::kAlterIdentity,
                .table = d.table,
                .hazards = {{HazardKind::kDropsObject,
                             absl::StrCat("changes how ", d.name,
                                          " accepts explicit values on insert")}},
                .resolves = r,
                .suborder = 5});
        }
        return;
      case Attribute::kComment:
        EmitComment("COLUMN", absl::StrCat(T(d.table), ".", col), want->comment, d.table, r);
        return;
      case Attribute::kOptions: {
        // The identity's sequence options, every one spelled out (an unset
        // one goes back to its default). A narrower range fails when the
        // sequence's current value lies outside it.
        const IdentityOptions w = WithDefaultIdentityOptions(want->type, want->identity_options);
        const IdentityOptions h = WithDefaultIdentityOptions(have->type, have->identity_options);
        std::vector<Hazard> hazards;
        if (*w.min_value > *h.min_value || *w.max_value < *h.max_value) {
          hazards.push_back({HazardKind::kValidation,
                             absl::StrCat("narrows the range of the identity of ", d.name,
                                          ": fails if its sequence's current value lies outside "
                                          "it")});
        }
        Emit(kAlterColumnsStage, absl::StrCat(alter_col, SetIdentityOptionsSql(w)),
             {.statement = StatementKind::kAlterIdentity,
              .table = d.table,
              .hazards = std::move(hazards),
              .resolves = r,
              .suborder = 6});
        return;
      }
      case Attribute::kNone:
      case Attribute::kEnabled:
      case Attribute::kGenerated:  // planned with dependents (PlanGeneratedColumns)
      case Attribute::kDefinition:
      case Attribute::kValid:
      case Attribute::kLabels:
        return;
    }
  }

  // ONLINE SET NOT NULL: a CHECK (col IS NOT NULL) added NOT VALID, then
  // validated (writers go on), lets SET NOT NULL skip its scan: its ACCESS
  // EXCLUSIVE lock is brief. The check is dropped in the same phase. A check
  // left by an interrupted run is reused.
  void PlanSetNotNullOnline(const Difference& d, const std::vector<int>& r) {
    const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
    const std::string check = TemporaryName("nn", d.table, d.object);
    const Constraint* left = ClaimTemporaryCheck(d.table, check);
    const int group = NewGroup();
    if (left == nullptr) {
      Emit(kAlterColumnsStage,
           absl::StrCat(alter, "ADD CONSTRAINT ", QuoteIdent(check), " CHECK (",
                        QuoteIdent(d.object), " IS NOT NULL) NOT VALID"),
           {.statement = StatementKind::kAddCheck,
            .table = d.table,
            .group = group,
            .suborder = 4,
            .not_valid = true});
    }
    if (left == nullptr || !left->validated) {
      std::vector<Hazard> hazards;
      if (HasRows(d.table)) {
        hazards.push_back({HazardKind::kValidation,
                           absl::StrCat("sets NOT NULL on ", d.name, ": checks every row of ",
                                        d.table, " (writers go on) and fails if any holds NULL")});
      }
      Emit(kAlterColumnsStage, absl::StrCat(alter, "VALIDATE CONSTRAINT ", QuoteIdent(check)),
           {.statement = StatementKind::kValidateConstraint,
            .table = d.table,
            .hazards = std::move(hazards),
            .group = group,
            .suborder = 4,
            .isolated = true,
            .undo = absl::StrCat(alter, "DROP CONSTRAINT IF EXISTS ", QuoteIdent(check))});
    }
    Emit(kAlterColumnsStage,
         absl::StrCat(alter, "ALTER COLUMN ", QuoteIdent(d.object), " SET NOT NULL"),
         {.statement = StatementKind::kSetNotNull,
          .table = d.table,
          .resolves = r,
          .group = group,
          .suborder = 4,
          .hold = LockHold::kBrief});
    Emit(kAlterColumnsStage, absl::StrCat(alter, "DROP CONSTRAINT ", QuoteIdent(check)),
         {.statement = StatementKind::kDropConstraint,
          .table = d.table,
          .group = group,
          .suborder = 4});
  }

  std::vector<Hazard> AddConstraintHazards(const std::string& table, const Constraint& c) {
    std::vector<Hazard> hazards;
    // NOT VALID: existing rows are not scanned; the lock is brief.
    if (!HasRows(table) || !c.validated) return hazards;
    hazards.push_back({HazardKind::kValidation,
                       absl::StrCat("adds constraint ", c.name, " to ", table,
                                    ", which has rows: the step fails if any row violates it")});
    hazards.push_back({HazardKind::kLongLock,
                       absl::StrCat("adding ", c.name, " scans ", table,
                                    c.kind == ConstraintKind::kUnique ||
                                            c.kind == ConstraintKind::kPrimaryKey
                                        ? " and builds its index"
                                        : "",
                                    " while holding a lock that blocks writes")});
    return hazards;
  }

  static std::string Referenced(const Constraint& c) {
    return c.kind == ConstraintKind::kForeignKey && c.ref_schema.empty() ? c.ref_table : "";
  }

  std::string UniqueBuildHazardText(const std::string& what, const std::string& table) const {
    return absl::StrCat(what, " fails to build if existing rows of ", table, " hold duplicates");
  }

  Hazard IndexBuildHazard(const std::string& index, const std::string& table) const {
    return {HazardKind::kIndexBuild,
            absl::StrCat("builds index ", index, " concurrently on ", table,
                         ", which has rows: writes go on, but the build scans the table (twice) "
                         "and may run long and load the server")};
  }

  // ONLINE: a foreign key or CHECK on an existing table is added NOT VALID
  // (a brief lock; new rows are checked from then on) and validated in a
  // phase of its own (SHARE UPDATE EXCLUSIVE: writers go on). When
  // validation fails on existing rows the constraint is dropped again.
  void AddValidatedLater(const Table& table, const Constraint& want, std::vector<int> resolves,
                         int group) {
    Constraint not_valid = want;
    not_valid.validated = false;
    const Stage stage =
        want.kind == ConstraintKind::kForeignKey ? kAddForeignKeysStage : kAddConstraintsStage;
    Emit(stage, AddConstraintSql(s_, table.name, not_valid),
         {.statement = AddStatement(want),
          .table = table.name,
          .resolves = std::move(resolves),
          .group = group,
          .referenced = Referenced(want),
          .not_valid = true});
    std::vector<Hazard> hazards;
    if (HasRows(table.name)) {
      hazards.push_back({HazardKind::kValidation,
                         absl::StrCat("validates ", table.name, ".", want.name,
                                      " against every existing row (writers go on): fails if "
                                      "any row violates it, and the constraint is then dropped "
                                      "again")});
    }
    Emit(
        kValidateStage,
        absl::StrCat("ALTER TABLE ", T(table.name), " VALIDATE CONSTRAINT ", QuoteIdent(want.name)),
        {.statement = StatementKind::kValidateConstraint,
         .table = table.name,
         .hazards = std::move(hazards),
         .group = group,
         .referenced = Referenced(want),
         .isolated = true,
         .undo = absl::StrCat("ALTER TABLE ", T(table.name), " DROP CONSTRAINT IF EXISTS ",
                              QuoteIdent(want.name))});
  }

  // The index a constraint's online recipe builds: its shape after USING.
  static std::string ConstraintIndexDefinition(const Constraint& want) {
    Index shape;
    shape.method = "btree";
    for (const std::string& c : want.columns) shape.keys.push_back({.column = c});
    IndexExtras extras;
    extras.nulls_not_distinct = want.nulls_not_distinct;
    return IndexDefinition(shape, extras);
  }

  // Whether a valid temporary index for `want` is left by an online run.
  bool ConstraintIndexReady(const Table& table, const Constraint& want) const {
    const Table* have = actual_.FindTable(table.name);
    const Index* index =
        have ? have->FindIndex(TemporaryName("uq", table.name, want.name)) : nullptr;
    return index != nullptr && index->valid && index->unique &&
           index->definition == ConstraintIndexDefinition(want);
  }

  // ONLINE: a primary key or unique constraint on an existing table: its
  // index is built concurrently under a temporary name, then attached
  // (ADD CONSTRAINT ... USING INDEX renames it; a brief lock, given the
  // columns are already NOT NULL).
  void AddUsingIndex(const Table& table, const Constraint& want, std::vector<int> resolves,
                     int group) {
    const std::string temp = TemporaryName("uq", table.name, want.name);
    Constraint built = want;
    built.name = temp;
    if (ClaimTemporaryIndex(table.name, temp, true, ConstraintIndexDefinition(want)) == nullptr) {
      std::vector<Hazard> hazards;
      if (HasRows(table.name)) {
        hazards.push_back(IndexBuildHazard(temp, table.name));
        hazards.push_back(
            {HazardKind::kValidation,
             UniqueBuildHazardText(absl::StrCat("the index of ", want.name), table.name)});
      }
      Emit(kCreateIndexesStage, CreateConstraintIndexSql(s_, table.name, built, true),
           {.statement = StatementKind::kCreateIndexConcurrently,
            .table = table.name,
            .hazards = std::move(hazards),
            .group = group,
            .undo = DropIndexSql(s_, temp, true, true),
            .undo_on_any_failure = true});
    }
    // After every concurrent build (suborder 0), drop (1) and rename (2).
    Emit(kCreateIndexesStage, AddConstraintUsingIndexSql(s_, table.name, want, temp),
         {.statement = StatementKind::kAddConstraintUsingIndex,
          .table = table.name,
          .resolves = std::move(resolves),
          .group = group,
          .suborder = 3});
  }

  void PlanConstraint(const Difference& d, std::vector<int> r) {
    const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
    const Table* have_table = actual_.FindTable(d.table);
    const Constraint* have = have_table ? have_table->FindConstraint(d.object) : nullptr;
    const Table* want_table = desired_.FindTable(d.table);
    const Constraint* want = want_table ? want_table->FindConstraint(d.object) : nullptr;
    auto drop = [&](std::vector<int> resolves, int group) {
      Emit(have->kind == ConstraintKind::kForeignKey ? kDropForeignKeysStage : kDropIndexesStage,
           absl::StrCat(alter, "DROP CONSTRAINT ", QuoteIdent(d.object)),
           {.statement = StatementKind::kDropConstraint,
            .table = d.table,
            .hazards = {{HazardKind::kDropsObject,
                         absl::StrCat("drops constraint ", d.name, ": ", have->definition,
                                      " is no longer enforced")}},
            .resolves = std::move(resolves),
            .group = group,
            .referenced = Referenced(*have)});
    };
    auto add = [&](std::vector<int> resolves, int group) {
      if (online() && have_table != nullptr && want->validated) {
        if (want->kind == ConstraintKind::kForeignKey || want->kind == ConstraintKind::kCheck) {
          AddValidatedLater(*want_table, *want, std::move(resolves),
                            group != 0 ? group : NewGroup());
          return;
        }
        if (CanAttachConstraintIndex(*want)) {
          AddUsingIndex(*want_table, *want, std::move(resolves), group != 0 ? group : NewGroup());
          return;
        }
      }
      // TRANSACTIONAL: an interrupted online run's finished index for this
      // constraint is attached rather than rebuilt.
      if (!online() && have_table != nullptr && CanAttachConstraintIndex(*want) &&
          ConstraintIndexReady(*want_table, *want)) {
        AddUsingIndex(*want_table, *want, std::move(resolves), group != 0 ? group : NewGroup());
        return;
      }
      Emit(want->kind == ConstraintKind::kForeignKey ? kAddForeignKeysStage : kAddConstraintsStage,
           AddConstraintSql(s_, d.table, *want),
           {.statement = AddStatement(*want),
            .table = d.table,
            .hazards = AddConstraintHazards(d.table, *want),
            .resolves = std::move(resolves),
            .group = group,
            .referenced = Referenced(*want),
            .not_valid = !want->validated});
    };
    if (d.change == Change::kExtra) {
      drop(r, 0);
    } else if (d.change == Change::kMissing) {
      add(r, 0);
    } else if (d.attribute == Attribute::kValid) {
      Emit(online() ? kValidateStage : kAddConstraintsStage,
           absl::StrCat(alter, "VALIDATE CONSTRAINT ", QuoteIdent(d.object)),
           {.statement = StatementKind::kValidateConstraint,
            .table = d.table,
            .hazards = {{HazardKind::kValidation,
                         absl::StrCat("validates ", d.name,
                                      " against every existing row: fails if any "
                                      "row violates it")}},
            .resolves = r,
            .referenced = Referenced(*want),
            .isolated = true});
    } else {
      const int group = NewGroup();
      drop(r, group);
      add({}, group);
    }
  }

  void PlanIndex(const Difference& d, std::vector<int> r) {
    const Table* have_table = actual_.FindTable(d.table);
    const Index* have = have_table ? have_table->FindIndex(d.object) : nullptr;
    const Table* want_table = desired_.FindTable(d.table);
    const Index* want = want_table ? want_table->FindIndex(d.object) : nullptr;
    // ONLINE applies to tables that exist; a new table's indexes are built
    // with it.
    const bool concurrently = online() && have_table != nullptr;
    auto drop = [&](std::vector<int> resolves, int group, bool hazard) {
      std::vector<Hazard> hazards;
      if (hazard) {
        hazards.push_back(
            {HazardKind::kDropsObject,
             absl::StrCat("drops index ", d.name,
                          have->unique ? ": its uniqueness is no longer enforced and queries "
                                         "using it slow down"
                                       : ": queries using it slow down")});
      }
      Emit(kDropIndexesStage, DropIndexSql(s_, d.object, concurrently),
           {.statement =
                concurrently ? StatementKind::kDropIndexConcurrently : StatementKind::kDropIndex,
            .table = d.table,
            .hazards = std::move(hazards),
            .resolves = std::move(resolves),
            .group = group});
    };
    auto build_hazards = [&](const std::string& name) {
      std::vector<Hazard> hazards;
      if (!HasRows(d.table)) return hazards;
      if (concurrently) {
        hazards.push_back(IndexBuildHazard(name, d.table));
      } else {
        hazards.push_back({HazardKind::kLongLock,
                           absl::StrCat("builds index ", d.object, " on ", d.table,
                                        ", which has rows, holding a SHARE lock that blocks "
                                        "writes until the build ends")});
      }
      if (want->unique) {
        hazards.push_back(
            {HazardKind::kValidation,
             concurrently ? UniqueBuildHazardText(absl::StrCat("unique index ", d.object), d.table)
                          : absl::StrCat("unique index ", d.object,
                                         " fails to build if existing rows hold duplicates")});
      }
      return hazards;
    };
    auto create = [&](std::vector<int> resolves, int group) {
      Emit(kCreateIndexesStage, CreateIndexSql(s_, d.table, *want, concurrently),
           {.statement = concurrently ? StatementKind::kCreateIndexConcurrently
                                      : StatementKind::kCreateIndex,
            .table = d.table,
            .hazards = build_hazards(d.object),
            .resolves = std::move(resolves),
            .group = group,
            .undo = concurrently ? DropIndexSql(s_, d.object, true, true) : "",
            .undo_on_any_failure = concurrently});
    };
    if (d.change == Change::kExtra) {
      drop(r, 0, true);
      return;
    }
    const std::string temp = TemporaryName("ix", d.table, d.object);
    const bool redefined = d.change == Change::kChanged && d.attribute == Attribute::kDefinition;
    const bool replace = concurrently && redefined;
    // An interrupted online replacement left its finished build: keep it,
    // in either mode (renaming is cheap; rebuilding may take hours).
    if (have_table != nullptr && (d.change == Change::kMissing || redefined) &&
        ClaimTemporaryIndex(d.table, temp, want->unique, want->definition) != nullptr) {
      const int group = redefined ? NewGroup() : 0;
      if (redefined) drop(r, group, true);
      Emit(kCreateIndexesStage,
           absl::StrCat("ALTER INDEX ", T(temp), " RENAME TO ", QuoteIdent(d.object)),
           {.statement = StatementKind::kRenameIndex,
            .table = d.table,
            .resolves = redefined ? std::vector<int>{} : r,
            .group = group,
            .suborder = 1,
            .lock_on = temp});
      return;
    }
    if (d.change == Change::kMissing) {
      create(r, 0);
      return;
    }
    const int group = NewGroup();
    if (!replace) {
      // TRANSACTIONAL, or an INVALID index (unused: nothing to keep
      // queries on while it is rebuilt).
      drop(r, group, !(concurrently && d.attribute == Attribute::kValid));
      create({}, group);
      return;
    }
    // ONLINE replacement: queries always have an index. Build the new one
    // under a temporary name, drop the old one, rename.
    Index replacement = *want;
    replacement.name = temp;
    Emit(kCreateIndexesStage, CreateIndexSql(s_, d.table, replacement, true),
         {.statement = StatementKind::kCreateIndexConcurrently,
          .table = d.table,
          .hazards = build_hazards(temp),
          .resolves = r,
          .group = group,
          .undo = DropIndexSql(s_, temp, true, true),
          .undo_on_any_failure = true});
    Emit(kCreateIndexesStage, DropIndexSql(s_, d.object, true),
         {.statement = StatementKind::kDropIndexConcurrently,
          .table = d.table,
          .hazards = {{HazardKind::kDropsObject,
                       absl::StrCat("replaces index ", d.name, " (", have->definition,
                                    ") with its declared definition")}},
          .group = group,
          .suborder = 1});
    Emit(kCreateIndexesStage,
         absl::StrCat("ALTER INDEX ", T(temp), " RENAME TO ", QuoteIdent(d.object)),
         {.statement = StatementKind::kRenameIndex,
          .table = d.table,
          .group = group,
          .suborder = 2,
          .lock_on = temp});
  }

  // Extra tables are dropped referencing-first, so foreign keys between
  // them never block a drop. A foreign key closing a cycle among them is
  // dropped first, in the same group as the drops.
  void PlanTableDrops() {
    std::map<std::string, int> pending;
    for (int i : extra_tables_) pending[diffs_[i].name] = i;
    std::set<std::string> done, visiting;
    std::vector<std::pair<std::string, std::string>> cycle_keys;  // table, constraint
    std::vector<std::string> order;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
      if (done.count(name)) return;
      visiting.insert(name);
      // Tables that reference `name` go first.
      for (const Table& t : actual_.tables) {
        if (!pending.count(t.name) || t.name == name) continue;
        for (const Constraint& c : t.constraints) {
          if (c.kind != ConstraintKind::kForeignKey || c.ref_table != name) continue;
          if (visiting.count(t.name)) {
            cycle_keys.emplace_back(t.name, c.name);
          } else {
            visit(t.name);
          }
        }
      }
      visiting.erase(name);
      done.insert(name);
      order.push_back(name);
    };
    for (const auto& [name, index] : pending) visit(name);
    const int group = cycle_keys.empty() ? 0 : NewGroup();
    for (const auto& [table, constraint] : cycle_keys) {
      Emit(kDropForeignKeysStage,
           absl::StrCat("ALTER TABLE ", T(table), " DROP CONSTRAINT ", QuoteIdent(constraint)),
           {.statement = StatementKind::kDropConstraint,
            .table = table,
            .hazards = {{HazardKind::kDropsObject,
                         absl::StrCat("drops foreign key ", table, ".", constraint,
                                      ", which closes a cycle among tables this plan drops")}},
            .group = group});
    }
    int suborder = 0;
    for (const std::string& name : order) {
      const auto joined = group_of_dropped_table_.find(name);
      Emit(kDropTablesStage, absl::StrCat("DROP TABLE ", T(name)),
           {.statement = StatementKind::kDropTable,
            .table = name,
            .hazards = {{HazardKind::kDataLoss,
                         absl::StrCat("drops table ", name, " and every row in it")}},
            .resolves = {pending[name]},
            .group = joined != group_of_dropped_table_.end() ? joined->second : group,
            .suborder = ++suborder,
            .blocked = BlockedByDependents(name, "drops")});
    }
  }

  // --- comments of indexes, constraints, sequences and enum types ------------

  // A changed comment of an index, constraint, sequence or enum type;
  // false for other kinds.
  bool PlanObjectComment(const Difference& d, const std::vector<int>& r) {
    switch (d.kind) {
      case ObjectKind::kIndex: {
        const Index* want = FindDesiredIndex(d.table, d.object);
        if (want == nullptr) return false;
        EmitComment("INDEX", T(d.object), want->comment, d.table, r);
        commented_.insert(absl::StrCat("index:", d.object));
        return true;
      }
      case ObjectKind::kConstraint: {
        const Table* t = desired_.FindTable(d.table);
        const Constraint* want = t ? t->FindConstraint(d.object) : nullptr;
        if (want == nullptr) return false;
        EmitComment("CONSTRAINT", absl::StrCat(QuoteIdent(d.object), " ON ", T(d.table)),
                    want->comment, d.table, r);
        commented_.insert(absl::StrCat("constraint:", d.table, ".", d.object));
        return true;
      }
      case ObjectKind::kSequence: {
        const Sequence* want = desired_.FindSequence(d.name);
        if (want == nullptr) return false;
        EmitComment("SEQUENCE", T(d.name), want->comment, "", r);
        commented_.insert(absl::StrCat("sequence:", d.name));
        return true;
      }
      case ObjectKind::kEnum: {
        const EnumType* want = desired_.FindEnum(d.name);
        if (want == nullptr) return false;
        EmitComment("TYPE", T(d.name), want->comment, "", r);
        commented_.insert(absl::StrCat("type:", d.name));
        return true;
      }
      default:
        return false;
    }
  }

  const Index* FindDesiredIndex(const std::string& relation, const std::string& name) const {
    if (const Table* t = desired_.FindTable(relation)) return t->FindIndex(name);
    if (const View* v = desired_.FindView(relation)) return v->FindIndex(name);
    return nullptr;
  }

  // An object the plan creates (or re-creates) starts without a comment:
  // its declared comment follows, in the creating step's group.
  void PlanCommentsOfCreatedObjects() {
    // Most registries comment none of these: then there is nothing to match
    // (and no step's SQL to copy).
    bool any = false;
    for (const Table& t : desired_.tables) {
      for (const Index& i : t.indexes) any = any || !i.comment.empty();
      for (const Constraint& k : t.constraints) any = any || !k.comment.empty();
    }
    for (const View& v : desired_.views) {
      for (const Index& i : v.indexes) any = any || !i.comment.empty();
    }
    for (const Sequence& q : desired_.sequences) any = any || !q.comment.empty();
    for (const EnumType& e : desired_.enums) any = any || !e.comment.empty();
    if (!any) return;
    struct Created {
      std::string sql;
      StatementKind statement;
      int group;
    };
    std::vector<Created> created;
    for (const Entry& e : entries_) created.push_back({e.step.sql, e.step.statement, e.step.group});
    auto once = [&](const std::string& key) { return commented_.insert(key).second; };
    for (const Created& c : created) {
      switch (c.statement) {
        case StatementKind::kCreateIndex:
        case StatementKind::kCreateIndexConcurrently:
        case StatementKind::kRenameIndex: {
          auto comment_index = [&](const std::string& relation, const Index& index) {
            if (index.comment.empty()) return;
            const std::string q = QuoteIdent(index.name);
            const bool creates =
                absl::StrContains(c.sql, absl::StrCat(" INDEX ", q, " ON ")) ||
                absl::StrContains(c.sql, absl::StrCat(" CONCURRENTLY ", q, " ON ")) ||
                absl::EndsWith(c.sql, absl::StrCat(" RENAME TO ", q));
            if (creates && once(absl::StrCat("index:", index.name))) {
              EmitComment("INDEX", T(index.name), index.comment, relation, {}, c.group);
            }
          };
          for (const Table& t : desired_.tables) {
            for (const Index& i : t.indexes) comment_index(t.name, i);
          }
          for (const View& v : desired_.views) {
            for (const Index& i : v.indexes) comment_index(v.name, i);
          }
          break;
        }
        case StatementKind::kCreateTable:
        case StatementKind::kAddCheck:
        case StatementKind::kAddForeignKey:
        case StatementKind::kAddUniqueOrPrimaryKey:
        case StatementKind::kAddConstraintUsingIndex:
          for (const Table& t : desired_.tables) {
            for (const Constraint& k : t.constraints) {
              if (k.comment.empty()) continue;
              const bool creates =
                  c.statement == StatementKind::kCreateTable
                      ? absl::StartsWith(c.sql, absl::StrCat("CREATE TABLE ", T(t.name), " (")) &&
                            !AddedAfterCreateTable(t, k)
                      : absl::StartsWith(c.sql,
                                         absl::StrCat("ALTER TABLE ", T(t.name), " ADD CONSTRAINT ",
                                                      QuoteIdent(k.name), " "));
              if (creates && once(absl::StrCat("constraint:", t.name, ".", k.name))) {
                EmitComment("CONSTRAINT", absl::StrCat(QuoteIdent(k.name), " ON ", T(t.name)),
                            k.comment, t.name, {}, c.group);
              }
            }
          }
          break;
        case StatementKind::kCreateSequence:
          for (const Sequence& q : desired_.sequences) {
            if (!q.comment.empty() &&
                absl::StartsWith(c.sql, absl::StrCat("CREATE SEQUENCE ", T(q.name), " ")) &&
                once(absl::StrCat("sequence:", q.name))) {
              EmitComment("SEQUENCE", T(q.name), q.comment, "", {}, c.group);
            }
          }
          break;
        case StatementKind::kCreateType:
          for (const EnumType& e : desired_.enums) {
            if (!e.comment.empty() &&
                absl::StartsWith(c.sql, absl::StrCat("CREATE TYPE ", T(e.name), " ")) &&
                once(absl::StrCat("type:", e.name))) {
              EmitComment("TYPE", T(e.name), e.comment, "", {}, c.group);
            }
          }
          break;
        default:
          break;
      }
    }
  }

  // --- functions and triggers -----------------------------------------------

  std::string FunctionTarget(const Function& f) const {
    return absl::StrCat(T(f.name), "(", f.identity, ")");
  }

  Stage FunctionStage(const Function& f) const {
    return UsesRelationTypes(f, desired_) ? kCreateLateFunctionsStage : kCreateFunctionsStage;
  }

  void EmitFunctionComment(const Function& f, std::vector<int> resolves, int group = 0) {
    EmitComment(f.procedure ? "PROCEDURE" : "FUNCTION", FunctionTarget(f), f.comment, "",
                std::move(resolves), group);
  }

  void PlanFunction(const Difference& d, std::vector<int> r) {
    const Function* want = desired_.FindFunction(d.object);
    const Function* have = actual_.FindFunction(d.object);
    if (d.change == Change::kExtra) {
      Emit(kDropFunctionsStage, DropFunctionSql(s_, *have),
           {.statement = StatementKind::kDropFunction,
            .hazards = {{HazardKind::kDropsObject,
                         absl::StrCat("drops ", have->procedure ? "procedure " : "function ",
                                      d.name, ", which the registry does not declare")}},
            .resolves = r});
      return;
    }
    if (d.change == Change::kMissing) {
      Emit(FunctionStage(*want), FunctionSql(s_, *want, false, true),
           {.statement = StatementKind::kCreateFunction, .resolves = r});
      if (!want->comment.empty()) EmitFunctionComment(*want, {});
      return;
    }
    if (d.attribute == Attribute::kComment) {
      EmitFunctionComment(*want, r);
      return;
    }
    std::vector<Hazard> hazards;
    if (want->security_definer && !have->security_definer) {
      hazards.push_back(
          {HazardKind::kAuthz, absl::StrCat("function ", d.name,
                                            " becomes SECURITY DEFINER: it runs "
                                            "with its owner's privileges for every caller")});
    }
    const bool replaceable = want->returns == have->returns && want->arguments == have->arguments &&
                             want->procedure == have->procedure;
    const int group = NewGroup();
    const auto found = options_.function_dependents.find(d.object);
    const std::vector<std::string> none;
    const std::vector<std::string>& dependents =
        found == options_.function_dependents.end() ? none : found->second;
    if (replaceable) {
      std::vector<std::string> stored;  // what keeps values the old body computed
      for (const std::string& dep : dependents) {
        if (absl::StartsWith(dep, "index:") || absl::StartsWith(dep, "constraint:") ||
            absl::StartsWith(dep, "column:")) {
          stored.push_back(dep);
        }
      }
      const bool immutable =
          have->volatility == Volatility::kImmutable || want->volatility == Volatility::kImmutable;
      if (immutable && !stored.empty()) {
        hazards.push_back(
            {HazardKind::kCorrectness,
             absl::StrCat("replaces IMMUTABLE function ", d.name, ", which ",
                          absl::StrJoin(stored, ", "),
                          " use: what they stored with the old body may not match the new one; "
                          "the plan rebuilds the indexes and re-checks the constraints, but a "
                          "generated column or default keeps the values it stored")});
      }
      Emit(FunctionStage(*want), FunctionSql(s_, *want, true, true),
           {.statement = StatementKind::kCreateFunction,
            .hazards = std::move(hazards),
            .resolves = r,
            .group = group});
      if (!immutable) return;
      for (const std::string& dep : stored) PlanRebuildAfterReplace(dep, group);
      return;
    }
    // The signature changes in a way CREATE OR REPLACE cannot: drop and
    // re-create, with the views and triggers that call it around it.
    std::vector<std::string> blockers;
    for (const std::string& dep : dependents) {
      if (absl::StartsWith(dep, "view:")) {
        forced_views_[dep.substr(5)].push_back(group);
      } else if (absl::StartsWith(dep, "trigger:")) {
        forced_triggers_[dep.substr(8)].push_back(group);
      } else {
        blockers.push_back(dep);
      }
    }
    std::string blocked;
    if (!blockers.empty()) {
      blocked = absl::StrCat(absl::StrJoin(blockers, ", "), " use ", d.name,
                             ", whose arguments or result change, which needs DROP FUNCTION: "
                             "change them first (or give the new signature another name)");
    }
    cohesive_.insert(group);
    hazards.push_back({HazardKind::kDropsObject,
                       absl::StrCat("drops and re-creates ", d.name,
                                    " (its argument names, defaults or result change, which "
                                    "CREATE OR REPLACE cannot do): privileges granted on it are "
                                    "not restored")});
    Emit(kDropColumnsStage, DropFunctionSql(s_, *have),
         {.statement = StatementKind::kDropFunction,
          .hazards = std::move(hazards),
          .resolves = r,
          .group = group,
          .suborder = -1,
          .blocked = blocked});
    Emit(FunctionStage(*want), FunctionSql(s_, *want, false, true),
         {.statement = StatementKind::kCreateFunction, .group = group});
    if (!want->comment.empty()) EmitFunctionComment(*want, {}, group);
  }

  // After an IMMUTABLE function an index or check uses is replaced: the
  // index is rebuilt, the check dropped and added again (checking every
  // row with the new body).
  void PlanRebuildAfterReplace(const std::string& dependent, int group) {
    if (absl::StartsWith(dependent, "index:")) {
      const std::string name = dependent.substr(6);
      for (const Table& t : actual_.tables) {
        if (t.FindIndex(name) == nullptr) continue;
        Emit(kRebuildStage, absl::StrCat("REINDEX INDEX ", T(name)),
             {.statement = StatementKind::kReindex, .table = t.name, .group = group});
      }
      return;
    }
    if (!absl::StartsWith(dependent, "constraint:")) return;
    const std::string key = dependent.substr(11);
    const size_t dot = key.find('.');
    if (dot == std::string::npos) return;
    const std::string table = key.substr(0, dot);
    const Table* want_table = desired_.FindTable(table);
    const Constraint* want = want_table ? want_table->FindConstraint(key.substr(dot + 1)) : nullptr;
    const Table* have_table = actual_.FindTable(table);
    const Constraint* have = have_table ? have_table->FindConstraint(key.substr(dot + 1)) : nullptr;
    if (want == nullptr || have == nullptr || want->kind != ConstraintKind::kCheck ||
        want->definition != have->definition) {
      return;  // its own difference re-creates it (or drops it)
    }
    Emit(kRebuildStage,
         absl::StrCat("ALTER TABLE ", T(table), " DROP CONSTRAINT ", QuoteIdent(want->name)),
         {.statement = StatementKind::kDropConstraint, .table = table, .group = group});
    Emit(kRebuildStage, AddConstraintSql(s_, table, *want),
         {.statement = StatementKind::kAddCheck, .table = table, .group = group, .suborder = 1});
  }

  // CREATE TRIGGER (as PostgreSQL printed the canonical one), its enabled
  // state and comment.
  void EmitCreateTrigger(const Trigger& t, std::vector<int> resolves, int group,
                         bool or_replace = false) {
    std::string sql = t.definition;
    if (or_replace && absl::StartsWith(sql, "CREATE TRIGGER ")) {
      sql = absl::StrCat("CREATE OR REPLACE TRIGGER ", sql.substr(15));
    }
    Emit(kCreateTriggersStage, sql,
         {.statement = StatementKind::kCreateTrigger,
          .table = t.table,
          .resolves = std::move(resolves),
          .group = group});
    if (t.enabled != TriggerEnabled::kEnabled) {
      Emit(kCreateTriggersStage, TriggerEnabledSql(s_, t),
           {.statement = StatementKind::kAlterTriggerEnabled,
            .table = t.table,
            .group = group,
            .suborder = 1});
    }
    if (!t.comment.empty()) {
      EmitComment("TRIGGER", absl::StrCat(QuoteIdent(t.name), " ON ", T(t.table)), t.comment,
                  t.table, {}, group);
    }
  }

  // Triggers are planned after views: like a view, a trigger that reads a
  // column a step drops or retypes (or calls a function that is dropped
  // and re-created) is dropped before it and re-created after it.
  void PlanTriggers() {
    std::map<std::string, const Trigger*> managed;  // "table.name"
    for (const Table& t : actual_.tables) {
      const Table* want_table = desired_.FindTable(t.name);
      if (want_table == nullptr) continue;  // DROP TABLE takes its triggers
      for (const Trigger& g : t.triggers) {
        if (want_table->FindTrigger(g.name) != nullptr || !IsIgnored(desired_, g.name, t.name)) {
          managed[absl::StrCat(t.name, ".", g.name)] = &g;
        }
      }
    }
    std::map<std::string, int> rebuild;  // key -> group
    auto join = [&](const std::string& key, int group) {
      int& g = rebuild[key];
      if (g == 0) g = NewGroup();
      if (group != 0) Union(g, group);
    };
    for (const auto& [key, have] : managed) {
      const Table* want_table = desired_.FindTable(have->table);
      const Trigger* want = want_table->FindTrigger(have->name);
      if (want == nullptr) continue;
      if (want->definition != have->definition && (want->constraint || have->constraint)) {
        join(key, 0);
      }
      auto forced = forced_triggers_.find(key);
      if (forced != forced_triggers_.end()) {
        for (int g : forced->second) join(key, g);
      }
    }
    for (Entry& e : entries_) {
      if (e.breaks.empty()) continue;
      for (const auto& [key, have] : managed) {
        if (!Contains(have->depends_on, e.breaks)) continue;
        if (e.step.group == 0) e.step.group = NewGroup();
        join(key, e.step.group);
        cohesive_.insert(e.step.group);
      }
    }
    for (const auto& [key, group] : rebuild) {
      const Trigger& have = *managed[key];
      const Trigger* want = desired_.FindTable(have.table)->FindTrigger(have.name);
      cohesive_.insert(group);
      std::vector<int> resolves;
      MarkHandled(DiffsFor(ObjectKind::kTrigger, have.table, have.name), &resolves);
      Emit(kDropViewsStage, DropTriggerSql(s_, have),
           {.statement = StatementKind::kDropTrigger,
            .table = have.table,
            .resolves = std::move(resolves),
            .group = group});
      if (want != nullptr) EmitCreateTrigger(*want, {}, group);
    }
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      if (d.kind != ObjectKind::kTrigger || d.change == Change::kUnmanaged || handled_.count(i)) {
        continue;
      }
      std::vector<int> r;
      MarkHandled({i}, &r);
      const Table* want_table = desired_.FindTable(d.table);
      const Trigger* want = want_table ? want_table->FindTrigger(d.object) : nullptr;
      const Table* have_table = actual_.FindTable(d.table);
      const Trigger* have = have_table ? have_table->FindTrigger(d.object) : nullptr;
      switch (d.change) {
        case Change::kMissing:
          EmitCreateTrigger(*want, r, 0);
          break;
        case Change::kExtra:
          Emit(kDropViewsStage, DropTriggerSql(s_, *have),
               {.statement = StatementKind::kDropTrigger,
                .table = d.table,
                .hazards = {{HazardKind::kDropsObject,
                             absl::StrCat("drops trigger ", d.name,
                                          ", which the registry does not declare")}},
                .resolves = r});
          break;
        case Change::kChanged:
          if (d.attribute == Attribute::kDefinition) {
            Emit(kCreateTriggersStage,
                 absl::StrCat("CREATE OR REPLACE TRIGGER ", want->definition.substr(15)),
                 {.statement = StatementKind::kCreateTrigger, .table = d.table, .resolves = r});
          } else if (d.attribute == Attribute::kEnabled) {
            Emit(kCreateTriggersStage, TriggerEnabledSql(s_, *want),
                 {.statement = StatementKind::kAlterTriggerEnabled,
                  .table = d.table,
                  .resolves = r,
                  .suborder = 1});
          } else {
            EmitComment("TRIGGER", absl::StrCat(QuoteIdent(want->name), " ON ", T(d.table)),
                        want->comment, d.table, r);
          }
          break;
        case Change::kUnmanaged:
          break;
      }
    }
  }

  // --- views ----------------------------------------------------------------

  bool IsView(const std::string& name) const {
    return desired_.FindView(name) != nullptr || actual_.FindView(name) != nullptr;
  }

  static std::string ViewWhat(const View& view) {
    return view.materialized ? "materialized view" : "view";
  }

  // Whether CREATE OR REPLACE VIEW turns `have` into `want`: plain views
  // both, and every column `have` has kept, by name and type, in its place
  // (new ones may follow).
  static bool ReplaceCompatible(const View& want, const View& have) {
    if (want.materialized || have.materialized || want.columns.size() < have.columns.size()) {
      return false;
    }
    for (size_t i = 0; i < have.columns.size(); ++i) {
      if (want.columns[i].name != have.columns[i].name ||
          want.columns[i].type != have.columns[i].type) {
        return false;
      }
    }
    return true;
  }

  static bool ViewColumnsEqual(const View& a, const View& b) {
    if (a.columns.size() != b.columns.size()) return false;
    for (size_t i = 0; i < a.columns.size(); ++i) {
      if (a.columns[i].name != b.columns[i].name || a.columns[i].type != b.columns[i].type) {
        return false;
      }
    }
    return true;
  }

  // How many views of `schema` the view reads through, at most: 0 for one
  // that reads only tables. Views are created in increasing depth and
  // dropped in decreasing depth.
  static int ViewDepth(const Schema& schema, const std::string& name,
                       std::map<std::string, int>* memo, int guard = 0) {
    auto it = memo->find(name);
    if (it != memo->end()) return it->second;
    const View* view = schema.FindView(name);
    int depth = 0;
    if (view != nullptr && guard < 1000) {
      for (const std::string& dep : view->depends_on) {
        if (dep.find('.') == std::string::npos && schema.FindView(dep) != nullptr && dep != name) {
          depth = std::max(depth, 1 + ViewDepth(schema, dep, memo, guard + 1));
        }
      }
    }
    (*memo)[name] = depth;
    return depth;
  }

  // The view's own differences and its indexes' (materialized views).
  std::vector<int> ViewDiffs(const std::string& name) const {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      const bool own = (d.kind == ObjectKind::kView || d.kind == ObjectKind::kMaterializedView) &&
                       d.name == name;
      const bool index = d.kind == ObjectKind::kIndex && d.table == name;
      if (own || index) out.push_back(i);
    }
    return out;
  }

  Hazard AuthzHazard(const View& want) const {
    return {HazardKind::kAuthz,
            absl::StrCat("view ", want.name,
                         " stops being security_invoker: it then reads its "
                         "tables with its owner's privileges, bypassing callers' row-level "
                         "security and grants")};
  }

  // CREATE [MATERIALIZED] VIEW with its indexes and comment.
  void EmitCreateView(const View& want, std::vector<int> resolves, int group, int depth,
                      std::vector<Hazard> hazards = {}) {
    Emit(kCreateViewsStage, CreateViewSql(s_, want),
         {.statement = StatementKind::kCreateView,
          .hazards = std::move(hazards),
          .resolves = std::move(resolves),
          .group = group,
          .suborder = depth * 2});
    for (const Index& index : want.indexes) {
      Emit(kCreateViewsStage, CreateIndexSql(s_, want.name, index),
           {.statement = StatementKind::kCreateIndex,
            .table = want.name,
            .group = group,
            .suborder = depth * 2 + 1});
    }
    if (!want.comment.empty()) {
      EmitComment(want.materialized ? "MATERIALIZED VIEW" : "VIEW", T(want.name), want.comment,
                  want.name, {}, group);
    }
  }

  // Views are planned once everything else is: a view that reads what a
  // step drops or retypes (or a view that is re-created) is dropped before
  // it and re-created after it, in its group.
  void PlanViews() {
    // Views of the live schema that schemad manages: declared, or not
    // ignored (an ignored one is left alone, and blocks what it reads).
    std::map<std::string, const View*> managed;
    for (const View& v : actual_.views) {
      if (desired_.FindView(v.name) != nullptr || !IsIgnored(desired_, v.name)) {
        managed[v.name] = &v;
      }
    }
    std::map<std::string, std::string> rebuild;  // name -> why
    std::map<std::string, int> group;
    auto group_of = [&](const std::string& name) {
      int& g = group[name];
      if (g == 0) g = NewGroup();
      return g;
    };
    for (const auto& [name, have] : managed) {
      const View* want = desired_.FindView(name);
      if (want == nullptr) {
        rebuild[name] = "";
      } else if (want->materialized != have->materialized) {
        rebuild[name] = "it changes between a view and a materialized view";
      } else if ((want->query != have->query || !ViewColumnsEqual(*want, *have)) &&
                 !ReplaceCompatible(*want, *have)) {
        rebuild[name] = want->materialized
                            ? "a materialized view's query cannot be replaced"
                            : "its new query drops, renames, reorders or retypes columns, which "
                              "CREATE OR REPLACE VIEW cannot do";
      }
    }
    for (const auto& [name, groups] : forced_views_) {
      if (!managed.count(name)) continue;
      rebuild.emplace(name, "it calls a function that is dropped and re-created");
      for (int g : groups) Union(group_of(name), g);
    }
    for (Entry& e : entries_) {
      if (e.breaks.empty()) continue;
      for (const auto& [name, have] : managed) {
        if (!Contains(have->depends_on, e.breaks)) continue;
        rebuild.emplace(
            name, absl::StrCat(
                      "it reads ", e.breaks, ", which this plan ",
                      e.step.statement == StatementKind::kAlterColumnType ? "retypes" : "drops"));
        if (e.step.group == 0) e.step.group = NewGroup();
        Union(group_of(name), e.step.group);
        cohesive_.insert(e.step.group);
      }
    }
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [name, have] : managed) {
        for (const std::string& dep : have->depends_on) {
          if (dep == name || !rebuild.count(dep)) continue;
          if (rebuild.emplace(name, absl::StrCat("it reads view ", dep, ", which is dropped"))
                  .second) {
            grew = true;
          }
          Union(group_of(name), group_of(dep));
        }
      }
    }
    std::map<std::string, int> have_depth, want_depth;
    for (const auto& [name, why] : rebuild) {
      const View& have = *managed[name];
      const View* want = desired_.FindView(name);
      const int g = group_of(name);
      cohesive_.insert(g);
      std::vector<int> resolves;
      MarkHandled(ViewDiffs(name), &resolves);
      std::vector<Hazard> hazards;
      if (want == nullptr) {
        hazards.push_back(
            {HazardKind::kDropsObject, absl::StrCat("drops ", ViewWhat(have), " ", name,
                                                    ", which the registry does not declare")});
      } else {
        hazards.push_back(
            {HazardKind::kDropsObject,
             absl::StrCat("drops and re-creates ", ViewWhat(have), " ", name, " (", why,
                          "): privileges granted on it are not restored",
                          have.materialized ? ", and its query runs again to fill it" : "")});
        if (have.security_invoker && !want->security_invoker) {
          hazards.push_back(AuthzHazard(*want));
        }
      }
      Emit(kDropViewsStage, DropViewSql(s_, have),
           {.statement = StatementKind::kDropView,
            .table = name,
            .hazards = std::move(hazards),
            .resolves = std::move(resolves),
            .group = g,
            .suborder = -ViewDepth(actual_, name, &have_depth)});
      if (want != nullptr) EmitCreateView(*want, {}, g, ViewDepth(desired_, name, &want_depth));
    }
    for (const View& want : desired_.views) {
      if (rebuild.count(want.name)) continue;
      const View* have = actual_.FindView(want.name);
      const int depth = ViewDepth(desired_, want.name, &want_depth);
      if (have == nullptr) {
        std::vector<int> resolves;
        MarkHandled(ViewDiffs(want.name), &resolves);
        EmitCreateView(want, std::move(resolves), 0, depth);
        continue;
      }
      std::vector<int> own;
      for (int i : DiffsFor(ViewKind(want), "", want.name)) {
        const Attribute a = diffs_[i].attribute;
        if (a == Attribute::kDefinition || a == Attribute::kOptions) own.push_back(i);
      }
      if (!own.empty()) {
        std::vector<int> resolves;
        MarkHandled(own, &resolves);
        std::vector<Hazard> hazards;
        if (have->security_invoker && !want.security_invoker) hazards.push_back(AuthzHazard(want));
        Emit(kCreateViewsStage, CreateViewSql(s_, want, /*or_replace=*/true),
             {.statement = StatementKind::kReplaceView,
              .table = want.name,
              .hazards = std::move(hazards),
              .resolves = std::move(resolves),
              .suborder = depth * 2});
      }
      for (int i : DiffsFor(ViewKind(want), "", want.name)) {
        if (diffs_[i].attribute != Attribute::kComment || handled_.count(i)) continue;
        std::vector<int> resolves;
        MarkHandled({i}, &resolves);
        EmitComment(want.materialized ? "MATERIALIZED VIEW" : "VIEW", T(want.name), want.comment,
                    want.name, std::move(resolves));
      }
      PlanViewIndexes(want, *have);
    }
  }

  static ObjectKind ViewKind(const View& view) {
    return view.materialized ? ObjectKind::kMaterializedView : ObjectKind::kView;
  }

  // A kept materialized view's index differences.
  void PlanViewIndexes(const View& want, const View& have) {
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      if (d.kind != ObjectKind::kIndex || d.table != want.name || handled_.count(i)) continue;
      std::vector<int> r;
      MarkHandled({i}, &r);
      const Index* wanted = want.FindIndex(d.object);
      const int g = d.change == Change::kChanged ? NewGroup() : 0;
      if (d.change != Change::kMissing) {
        Emit(kDropIndexesStage, DropIndexSql(s_, d.object, /*concurrently=*/false),
             {.statement = StatementKind::kDropIndex,
              .table = want.name,
              .hazards = {{HazardKind::kDropsObject,
                           absl::StrCat(wanted ? "re-creates" : "drops", " index ", d.object,
                                        " of materialized view ", want.name)}},
              .resolves = r,
              .group = g});
        r.clear();
      }
      if (wanted != nullptr) {
        Emit(kCreateViewsStage, CreateIndexSql(s_, want.name, *wanted),
             {.statement = StatementKind::kCreateIndex,
              .table = want.name,
              .resolves = r,
              .group = g,
              .suborder = 1000});
      }
    }
    (void)have;
  }

  // Groups joined by PlanViews (a view re-created around a column change
  // shares the change's group).
  int Find(int g) {
    auto it = parent_.find(g);
    if (it == parent_.end() || it->second == g) return g;
    return it->second = Find(it->second);
  }
  void Union(int a, int b) {
    a = Find(a);
    b = Find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

  // Applies the unions to every step; in ONLINE mode, moves the steps of a
  // group that re-creates views next to each other (at its last step), so
  // that they share one phase: the view is never missing between phases.
  void MergeGroups() {
    for (Entry& e : entries_) {
      if (e.step.group != 0) e.step.group = Find(e.step.group);
    }
    if (!online() || cohesive_.empty()) return;
    std::set<int> cohesive;
    for (int g : cohesive_) cohesive.insert(Find(g));
    std::map<int, size_t> last;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (cohesive.count(entries_[i].step.group)) last[entries_[i].step.group] = i;
    }
    std::vector<Entry> ordered;
    ordered.reserve(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      const int g = entries_[i].step.group;
      if (!cohesive.count(g)) {
        ordered.push_back(std::move(entries_[i]));
      } else if (last[g] == i) {
        for (size_t j = 0; j <= i; ++j) {
          if (entries_[j].step.group == g) ordered.push_back(std::move(entries_[j]));
        }
      }
    }
    entries_ = std::move(ordered);
  }

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
};

}  // namespace

const char* ApplyModeName(ApplyMode mode) {
  switch (mode) {
    case ApplyMode::kTransactional:
      return "TRANSACTIONAL";
    case ApplyMode::kOnline:
      return "ONLINE";
  }
  return "?";
}

const char* HazardName(HazardKind kind) {
  switch (kind) {
    case HazardKind::kDataLoss:
      return "DATA_LOSS";
    case HazardKind::kDropsObject:
      return "DROPS_OBJECT";
    case HazardKind::kTableRewrite:
      return "TABLE_REWRITE";
    case HazardKind::kLongLock:
      return "LONG_LOCK";
    case HazardKind::kValidation:
      return "VALIDATION";
    case HazardKind::kIndexBuild:
      return "INDEX_BUILD";
    case HazardKind::kAuthz:
      return "AUTHZ";
    case HazardKind::kCorrectness:
      return "CORRECTNESS";
  }
  return "?";
}

bool ParseHazardKind(std::string text, HazardKind* kind) {
  text = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (absl::StartsWith(text, "HAZARD_KIND_")) text = text.substr(12);
  for (HazardKind k : kHazardKinds) {
    if (text == HazardName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

std::string HazardNames() {
  std::vector<std::string> names;
  for (HazardKind k : kHazardKinds) names.push_back(HazardName(k));
  return absl::StrJoin(names, ", ");
}

const char* LockModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kAccessShare:
      return "AccessShareLock";
    case LockMode::kRowShare:
      return "RowShareLock";
    case LockMode::kRowExclusive:
      return "RowExclusiveLock";
    case LockMode::kShareUpdateExclusive:
      return "ShareUpdateExclusiveLock";
    case LockMode::kShare:
      return "ShareLock";
    case LockMode::kShareRowExclusive:
      return "ShareRowExclusiveLock";
    case LockMode::kExclusive:
      return "ExclusiveLock";
    case LockMode::kAccessExclusive:
      return "AccessExclusiveLock";
  }
  return "?";
}

bool BlocksWriters(LockMode mode) { return mode >= LockMode::kShare; }

const char* LockHoldName(LockHold hold) {
  switch (hold) {
    case LockHold::kBrief:
      return "BRIEF";
    case LockHold::kScan:
      return "SCAN";
    case LockHold::kRewrite:
      return "REWRITE";
    case LockHold::kUntilCommit:
      return "UNTIL_COMMIT";
  }
  return "?";
}

// The one table of what each statement locks (PostgreSQL 15's
// AlterTableGetLockLevel, index_create, index_drop, RenameRelation).
LockSpec LocksOf(StatementKind kind, bool not_valid) {
  constexpr LockMode kAccessExclusive = LockMode::kAccessExclusive;
  auto table = [](LockMode mode, LockHold hold) {
    LockSpec spec;
    spec.on_table = true;
    spec.mode = mode;
    spec.hold = hold;
    return spec;
  };
  switch (kind) {
    case StatementKind::kCreateSchema:
    case StatementKind::kCreateExtension:
    case StatementKind::kDropExtension:
    case StatementKind::kCreateType:
    case StatementKind::kAddEnumValue:
    case StatementKind::kRenameType:
    case StatementKind::kDropType:
    case StatementKind::kCreateTable:
    case StatementKind::kCreateSequence:
    case StatementKind::kDropSequence:
      return {};
    case StatementKind::kDropTable:
    case StatementKind::kAddColumn:
    case StatementKind::kDropColumn:
    case StatementKind::kSetDefault:
    case StatementKind::kDropNotNull:
    case StatementKind::kAlterIdentity:
    case StatementKind::kDropExpression:
    case StatementKind::kAddConstraintUsingIndex:
    case StatementKind::kDropIndex:
      return table(kAccessExclusive, LockHold::kBrief);
    case StatementKind::kDropConstraint: {
      // A foreign key's triggers on the referenced table go with it.
      LockSpec spec = table(kAccessExclusive, LockHold::kBrief);
      spec.on_referenced = true;
      spec.referenced_mode = kAccessExclusive;
      return spec;
    }
    case StatementKind::kAlterColumnType:
      return table(kAccessExclusive, LockHold::kRewrite);
    case StatementKind::kSetNotNull:
      return table(kAccessExclusive, LockHold::kScan);
    case StatementKind::kAddCheck:
    case StatementKind::kAddUniqueOrPrimaryKey:
      return table(kAccessExclusive, not_valid ? LockHold::kBrief : LockHold::kScan);
    case StatementKind::kAddForeignKey: {
      LockSpec spec =
          table(LockMode::kShareRowExclusive, not_valid ? LockHold::kBrief : LockHold::kScan);
      spec.on_referenced = true;
      spec.referenced_mode = LockMode::kShareRowExclusive;
      return spec;
    }
    case StatementKind::kValidateConstraint: {
      LockSpec spec = table(LockMode::kShareUpdateExclusive, LockHold::kScan);
      spec.on_referenced = true;
      spec.referenced_mode = LockMode::kRowShare;
      return spec;
    }
    case StatementKind::kCreateIndex:
      return table(LockMode::kShare, LockHold::kScan);
    case StatementKind::kCreateIndexConcurrently: {
      LockSpec spec = table(LockMode::kShareUpdateExclusive, LockHold::kScan);
      spec.transactional = false;
      return spec;
    }
    case StatementKind::kDropIndexConcurrently: {
      LockSpec spec = table(LockMode::kShareUpdateExclusive, LockHold::kBrief);
      spec.transactional = false;
      return spec;
    }
    case StatementKind::kRenameIndex:
      return table(LockMode::kShareUpdateExclusive, LockHold::kBrief);
    case StatementKind::kSetSequenceValue:
      return table(LockMode::kAccessShare, LockHold::kScan);
    case StatementKind::kCreateView:
      // A new view: the tables it reads are only looked up (ACCESS SHARE);
      // a materialized view's query reads them.
      return {};
    case StatementKind::kReplaceView:
    case StatementKind::kDropView:
      return table(kAccessExclusive, LockHold::kBrief);
    case StatementKind::kComment:
      return table(LockMode::kShareUpdateExclusive, LockHold::kBrief);
    case StatementKind::kCreateFunction:
    case StatementKind::kDropFunction:
      return {};
    case StatementKind::kCreateTrigger:
    case StatementKind::kAlterTriggerEnabled:
      return table(LockMode::kShareRowExclusive, LockHold::kBrief);
    case StatementKind::kDropTrigger:
      return table(kAccessExclusive, LockHold::kBrief);
    case StatementKind::kReindex:
      return table(LockMode::kShare, LockHold::kScan);
  }
  return {};
}

Plan BuildPlan(const Schema& desired, const Schema& actual,
               const std::vector<Difference>& differences, const PlanOptions& options) {
  return Planner(desired, actual, differences, options).Run();
}

}  // namespace schemad
