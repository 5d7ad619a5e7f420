// The planner's table parts: enum types (labels added, types re-created),
// sequences, tables, columns, constraints, indexes and table drops.
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
#include "plan/planner.h"
#include "schemad/common/identifier.h"

namespace schemad::plan_internal {
namespace {

// Whether an index (or a primary key or unique constraint) of `table`
// covers `column`: changing the column's collation rebuilds them.
bool ColumnIndexed(const Table& table, const std::string& column) {
  for (const Index& index : table.indexes) {
    if (std::find(index.columns.begin(), index.columns.end(), column) != index.columns.end()) {
      return true;
    }
  }
  for (const Constraint& c : table.constraints) {
    if ((c.kind == ConstraintKind::kPrimaryKey || c.kind == ConstraintKind::kUnique) &&
        std::find(c.columns.begin(), c.columns.end(), column) != c.columns.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

void Planner::PlanEnumRecreations() {
  for (const EnumType& want : desired_.enums) {
    const EnumType* have = actual_.FindEnum(want.name);
    if (have == nullptr) continue;
    std::vector<int> label_diffs;
    bool needs_recreate = false;
    for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
      const Difference& d = diffs_[i];
      const bool about_labels = (d.kind == ObjectKind::kEnumLabel && d.table == want.name) ||
                                (d.kind == ObjectKind::kEnum && d.name == want.name &&
                                 d.change == Change::kChanged && d.attribute == Attribute::kLabels);
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

void Planner::PlanLabelAdditions(const EnumType& want, const EnumType& have) {
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

void Planner::PlanEnumRecreate(const EnumType& want, const EnumType& have,
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
    hazards.push_back(
        {HazardKind::kDataLoss,
         absl::StrCat("removes enum label(s) ", absl::StrJoin(removed, ", "), " of ", want.name,
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
           : Hazard{HazardKind::kDropsObject, absl::StrCat("recreates enum type ", want.name,
                                                           " with its labels in the "
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
        h.push_back({HazardKind::kDropsObject, absl::StrCat("drops index ", index.name,
                                                            ", which the registry does not "
                                                            "declare, while recasting ",
                                                            want.name)});
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
        h.push_back(
            {HazardKind::kDropsObject, absl::StrCat("drops check constraint ", con.name,
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

void Planner::PlanGeneratedColumnRebuilds() {
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
      hazards.push_back(
          {HazardKind::kDataLoss, absl::StrCat("column ", d.name,
                                               " becomes generated: it is dropped and "
                                               "re-added, losing its stored values")});
    }
    hazards.push_back({HazardKind::kTableRewrite,
                       absl::StrCat("PostgreSQL 15 cannot change a generated expression: ", d.name,
                                    " is dropped and re-added, rewriting ", d.table,
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

void Planner::PlanSequence(const Difference& d, const std::vector<int>& r) {
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
        // When the old owner goes in this plan, the sequence is released
        // first: dropping its owner would drop it too.
        const Table* old_owner = desired_.FindTable(have->owned_by_table);
        const bool owner_dropped =
            !have->owned_by_table.empty() &&
            (old_owner == nullptr || old_owner->FindColumn(have->owned_by_column) == nullptr);
        if (owner_dropped) {
          Sequence released = *want;
          released.owned_by_table.clear();
          released.owned_by_column.clear();
          Emit(
              kDropForeignKeysStage, SequenceOwnedBySql(s_, released),
              {.statement = StatementKind::kCreateSequence,
               .hazards = want->owned_by_table.empty() ? std::move(hazards) : std::vector<Hazard>{},
               .resolves = r,
               .group = group,
               .suborder = 5});
        }
        if (!owner_dropped || !want->owned_by_table.empty()) {
          Emit(kAddConstraintsStage, SequenceOwnedBySql(s_, *want),
               {.statement = StatementKind::kCreateSequence,
                .hazards = std::move(hazards),
                .resolves = owner_dropped ? std::vector<int>{} : r,
                .group = group,
                .suborder = 5});
        }
      }
      return;
    }
  }
}

void Planner::PlanCreateTable(const Table& table, std::vector<int> resolves) {
  Emit(kCreateTablesStage, CreateTableSql(s_, table),
       {.statement = StatementKind::kCreateTable,
        .resolves = std::move(resolves),
        .creates = table.name});
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
  for (std::string& sql : RowSecuritySql(s_, table)) {
    Emit(kAddConstraintsStage, std::move(sql),
         {.statement = StatementKind::kAlterRowSecurity, .table = table.name});
  }
  if (table.replica_identity != ReplicaIdentity::kDefault) EmitReplicaIdentity(table, {});
  for (const Column& c : table.columns) EmitColumnSettings(table.name, c);
  if (!table.comment.empty()) EmitComment("TABLE", T(table.name), table.comment, table.name, {});
  for (const Column& c : table.columns) {
    if (!c.comment.empty()) {
      EmitComment("COLUMN", absl::StrCat(T(table.name), ".", QuoteIdent(c.name)), c.comment,
                  table.name, {});
    }
  }
}

void Planner::PlanTableProperty(const Difference& d, std::vector<int> r) {
  const Table& want = *desired_.FindTable(d.name);
  const Table& have = *actual_.FindTable(d.name);
  const std::string alter = absl::StrCat("ALTER TABLE ", T(d.name), " ");
  if (d.attribute == Attribute::kPersistence) {
    std::vector<Hazard> hazards;
    if (HasRows(d.name)) {
      hazards.push_back({HazardKind::kTableRewrite,
                         absl::StrCat("SET ", want.unlogged ? "UNLOGGED" : "LOGGED", " rewrites ",
                                      d.name, " under an ACCESS EXCLUSIVE lock")});
    }
    if (want.unlogged) {
      hazards.push_back(
          {HazardKind::kDataLoss, absl::StrCat(d.name,
                                               " becomes UNLOGGED: its rows are lost after a crash "
                                               "and are not replicated to standbys")});
    }
    Emit(kAlterColumnsStage, absl::StrCat(alter, want.unlogged ? "SET UNLOGGED" : "SET LOGGED"),
         {.statement = StatementKind::kSetPersistence,
          .table = d.name,
          .hazards = hazards,
          .resolves = std::move(r)});
    return;
  }
  if (d.attribute == Attribute::kReplicaIdentity) {
    EmitReplicaIdentity(want, std::move(r));
    return;
  }
  if (d.attribute == Attribute::kStorage) {
    // A catalog change: new values apply to pages written from now on.
    EmitStorageChange(alter, want.storage, have.storage, d.name, std::move(r));
    return;
  }
  // Row level security changes who sees which rows: an authorization
  // change, accepted like one.
  std::vector<std::string> statements;
  if (want.row_security != have.row_security) {
    statements.push_back(
        absl::StrCat(alter, want.row_security ? "ENABLE" : "DISABLE", " ROW LEVEL SECURITY"));
  }
  if (want.force_row_security != have.force_row_security) {
    statements.push_back(
        absl::StrCat(alter, want.force_row_security ? "FORCE" : "NO FORCE", " ROW LEVEL SECURITY"));
  }
  const int group = statements.size() > 1 ? NewGroup() : 0;
  for (std::string& sql : statements) {
    // One difference, resolved by the first step of the group.
    if (&sql != &statements.front()) r.clear();
    Emit(kAlterColumnsStage, std::move(sql),
         {.statement = StatementKind::kAlterRowSecurity,
          .table = d.name,
          .hazards = {{HazardKind::kAuthz,
                       absl::StrCat("changes row level security of ", d.name, " to ", d.expected,
                                    ": which rows callers see changes")}},
          .resolves = r,
          .group = group});
  }
}

// A new column's physical settings, after it is added.
void Planner::EmitColumnSettings(const std::string& table, const Column& column) {
  ColumnSettingsStatements settings = ColumnSettingsByLock(s_, table, column);
  for (std::string& sql : settings.storage) {
    Emit(kAddColumnsStage, std::move(sql),
         {.statement = StatementKind::kSetColumnStorage, .table = table, .suborder = 1});
  }
  for (std::string& sql : settings.estimates) {
    Emit(kAddColumnsStage, std::move(sql),
         {.statement = StatementKind::kSetStatistics, .table = table, .suborder = 1});
  }
}

// After the indexes and constraints it may name are (re)built; changes only
// what logical decoding writes of old rows.
void Planner::EmitReplicaIdentity(const Table& want, std::vector<int> r) {
  Emit(kAddForeignKeysStage, ReplicaIdentitySql(s_, want),
       {.statement = StatementKind::kSetReplicaIdentity,
        .table = want.name,
        .resolves = std::move(r),
        .suborder = 1});
}

// An index re-created by the plan loses its mark as the table's replica
// identity: the identity is set again after it, when no difference of the
// identity itself does so already.
void Planner::PlanReplicaIdentityRestores() {
  for (const Table& want : desired_.tables) {
    if (want.replica_identity != ReplicaIdentity::kUsingIndex) continue;
    if (actual_.FindTable(want.name) == nullptr) continue;
    bool rebuilt = false, planned = false;
    for (const Difference& d : diffs_) {
      if (d.table != want.name) continue;
      if (d.kind == ObjectKind::kTable && d.attribute == Attribute::kReplicaIdentity) {
        planned = true;
      }
      if ((d.kind == ObjectKind::kIndex || d.kind == ObjectKind::kConstraint) &&
          d.change == Change::kChanged && d.object == want.replica_identity_index) {
        rebuilt = true;
      }
    }
    if (rebuilt && !planned) EmitReplicaIdentity(want, {});
  }
}

// PostgreSQL's lock for changing storage parameters is the strongest any of
// them needs: SHARE UPDATE EXCLUSIVE for those that only affect later
// writes, vacuum or planning (its reloptions table), ACCESS EXCLUSIVE for
// the rest.
static LockMode StorageChangeLock(const std::vector<std::string>& want,
                                  const std::vector<std::string>& have) {
  static const std::set<std::string>* const kShareUpdateExclusive = new std::set<std::string>{
      "fillfactor",           "toast_tuple_target",     "parallel_workers",
      "vacuum_index_cleanup", "vacuum_truncate",        "log_autovacuum_min_duration",
      "deduplicate_items",    "gin_pending_list_limit", "autosummarize"};
  std::set<std::string> changed;
  auto name_of = [](const std::string& option) { return option.substr(0, option.find('=')); };
  for (const std::string& w : want) {
    if (!Contains(have, w)) changed.insert(name_of(w));
  }
  for (const std::string& h : have) {
    if (!Contains(want, h)) changed.insert(name_of(h));
  }
  for (const std::string& name : changed) {
    const std::string base = absl::StartsWith(name, "toast.") ? name.substr(6) : name;
    if (!kShareUpdateExclusive->count(base) && !absl::StartsWith(base, "autovacuum_")) {
      return LockMode::kAccessExclusive;
    }
  }
  return LockMode::kShareUpdateExclusive;
}

void Planner::EmitStorageChange(const std::string& alter, const std::vector<std::string>& want,
                                const std::vector<std::string>& have, const std::string& relation,
                                std::vector<int> r, const std::string& lock_on) {
  std::vector<std::string> statements = StorageChangeSql(alter, want, have);
  const LockMode mode = StorageChangeLock(want, have);
  const int group = statements.size() > 1 ? NewGroup() : 0;
  for (std::string& sql : statements) {
    Emit(kAlterColumnsStage, std::move(sql),
         {.statement = StatementKind::kSetStorage,
          .table = relation,
          .resolves = r,
          .group = group,
          .mode = mode,
          .lock_on = lock_on});
    r.clear();  // one difference, resolved by the first step
  }
}

void Planner::PlanColumn(const Difference& d, std::vector<int> r) {
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
                          want->identity != Identity::kNone || !want->serial_sequence.empty();
    if (computes && HasRows(d.table)) {
      hazards.push_back({HazardKind::kTableRewrite,
                         absl::StrCat("adds ", d.name,
                                      " with a value computed per row (volatile default, "
                                      "sequence, identity or generated expression): ",
                                      d.table, " is rewritten under an ACCESS EXCLUSIVE lock")});
    }
    if (want->not_null && want->default_expr.empty() && !computes && HasRows(d.table)) {
      hazards.push_back(
          {HazardKind::kValidation,
           absl::StrCat("adds NOT NULL column ", d.name, " without a default to ", d.table,
                        ", which has rows: the step fails; add a "
                        "default or fill the column first")});
    }
    Emit(kAddColumnsStage, absl::StrCat(alter, "ADD COLUMN ", ColumnDefinitionSql(*want)),
         {.statement = StatementKind::kAddColumn,
          .table = d.table,
          .hazards = hazards,
          .resolves = r});
    EmitColumnSettings(d.table, *want);
    if (!want->comment.empty()) {
      EmitComment("COLUMN", absl::StrCat(T(d.table), ".", col), want->comment, d.table, {});
    }
    return;
  }
  const Column* have = actual_.FindTable(d.table)->FindColumn(d.object);
  const std::string alter_col = absl::StrCat(alter, "ALTER COLUMN ", col, " ");
  // ALTER COLUMN ... TYPE sets the collation too: the type's own unless
  // named.
  const std::string collate =
      want->collation.empty() ? "" : absl::StrCat(" COLLATE ", want->collation);
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
        // Both wait for the type change when it cannot run.
        Emit(kAlterColumnsStage, absl::StrCat(alter_col, "DROP DEFAULT"),
             {.statement = StatementKind::kSetDefault,
              .table = d.table,
              .suborder = 1,
              .blocked = blocked});
        if (want->default_expr == have->default_expr && !want->default_expr.empty()) {
          Emit(kAlterColumnsStage, absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
               {.statement = StatementKind::kSetDefault,
                .table = d.table,
                .suborder = 3,
                .blocked = blocked});
        }
      }
      Emit(kAlterColumnsStage,
           absl::StrCat(alter_col, "TYPE ", want->type, collate, " USING ", using_expr),
           {.statement = StatementKind::kAlterColumnType,
            .table = d.table,
            .hazards = hazards,
            .resolves = r,
            .suborder = 2,
            .blocked = blocked,
            .column = d.object});
      return;
    }
    case Attribute::kColumnOptions: {
      // Planner estimates: SHARE UPDATE EXCLUSIVE, no scan.
      std::vector<std::string> statements =
          StorageChangeSql(alter_col, want->options, have->options);
      const int group = statements.size() > 1 ? NewGroup() : 0;
      for (std::string& sql : statements) {
        Emit(kAlterColumnsStage, std::move(sql),
             {.statement = StatementKind::kSetStatistics,
              .table = d.table,
              .resolves = r,
              .group = group,
              .suborder = 7});
        r.clear();
      }
      return;
    }
    case Attribute::kColumnStorage:
    case Attribute::kCompression:
    case Attribute::kStatistics: {
      // Catalog changes: they apply to values written from now on
      // (storage, compression) or to the next ANALYZE (statistics).
      const bool statistics = d.attribute == Attribute::kStatistics;
      Emit(kAlterColumnsStage,
           ColumnSettingSql(s_, d.table, *want,
                            statistics                               ? "statistics"
                            : d.attribute == Attribute::kCompression ? "compression"
                                                                     : "storage",
                            have->type_storage),
           {.statement =
                statistics ? StatementKind::kSetStatistics : StatementKind::kSetColumnStorage,
            .table = d.table,
            .resolves = r,
            .suborder = 7});
      return;
    }
    case Attribute::kCollation: {
      // The same type: no rewrite, but the indexes on the column are
      // rebuilt under the ACCESS EXCLUSIVE lock.
      std::vector<Hazard> hazards;
      if (HasRows(d.table) && ColumnIndexed(*actual_.FindTable(d.table), d.object)) {
        hazards.push_back(
            {HazardKind::kLongLock, absl::StrCat("changes the collation of ", d.name,
                                                 ": the indexes on it are rebuilt under an ACCESS "
                                                 "EXCLUSIVE lock on ",
                                                 d.table)});
      }
      Emit(kAlterColumnsStage, absl::StrCat(alter_col, "TYPE ", want->type, collate),
           {.statement = StatementKind::kAlterColumnType,
            .table = d.table,
            .hazards = hazards,
            .resolves = r,
            .suborder = 2,
            .blocked = BlockedByDependents(d.name, "changes the collation of"),
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
      // A new default of a new type waits for the type change: when that
      // cannot run, neither can this.
      std::string blocked;
      if (!want->default_expr.empty() && want->type != have->type) {
        std::string type_blocked = BlockedByDependents(d.name, "retypes");
        if (type_blocked.empty() && want->using_expr.empty() && options_.uncastable.count(d.name)) {
          type_blocked = absl::StrCat("PostgreSQL has no cast from ", have->type, " to ",
                                      want->type, " for ", d.name);
        }
        if (!type_blocked.empty()) {
          blocked = absl::StrCat("the new default is of the new type of ", d.name,
                                 ", whose type change cannot run: ", type_blocked);
        }
      }
      Emit(kAlterColumnsStage,
           want->default_expr.empty() ? absl::StrCat(alter_col, "DROP DEFAULT")
                                      : absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
           {.statement = StatementKind::kSetDefault,
            .table = d.table,
            .resolves = r,
            .group = group,
            .suborder = 3,
            .blocked = blocked});
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
        Emit(kAlterColumnsStage,
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
    case Attribute::kPersistence:  // tables' (PlanTableProperty)
    case Attribute::kRowSecurity:
    case Attribute::kStorage:
    case Attribute::kReplicaIdentity:
    case Attribute::kEnabled:
    case Attribute::kGenerated:  // planned with dependents (PlanGeneratedColumns)
    case Attribute::kDefinition:
    case Attribute::kValid:
    case Attribute::kLabels:
      return;
  }
}

void Planner::PlanSetNotNullOnline(const Difference& d, const std::vector<int>& r) {
  const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
  const std::string check = TemporaryName("nn", d.table, d.object);
  const Constraint* left = ClaimTemporaryCheck(d.table, check);
  const int group = NewGroup();
  if (left == nullptr) {
    Emit(kAlterColumnsStage,
         absl::StrCat(alter, "ADD CONSTRAINT ", QuoteIdent(check), " CHECK (", QuoteIdent(d.object),
                      " IS NOT NULL) NOT VALID"),
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

std::vector<Hazard> Planner::AddConstraintHazards(const std::string& table, const Constraint& c) {
  std::vector<Hazard> hazards;
  // NOT VALID: existing rows are not scanned; the lock is brief.
  if (!HasRows(table) || !c.validated) return hazards;
  hazards.push_back({HazardKind::kValidation,
                     absl::StrCat("adds constraint ", c.name, " to ", table,
                                  ", which has rows: the step fails if any row violates it")});
  hazards.push_back(
      {HazardKind::kLongLock,
       absl::StrCat("adding ", c.name, " scans ", table,
                    c.kind == ConstraintKind::kUnique || c.kind == ConstraintKind::kPrimaryKey ||
                            c.kind == ConstraintKind::kExclusion
                        ? " and builds its index"
                        : "",
                    " while holding a lock that blocks writes")});
  return hazards;
}

std::string Planner::Referenced(const Constraint& c) {
  return c.kind == ConstraintKind::kForeignKey && c.ref_schema.empty() ? c.ref_table : "";
}

std::string Planner::UniqueBuildHazardText(const std::string& what,
                                           const std::string& table) const {
  return absl::StrCat(what, " fails to build if existing rows of ", table, " hold duplicates");
}

Hazard Planner::IndexBuildHazard(const std::string& index, const std::string& table) const {
  return {HazardKind::kIndexBuild,
          absl::StrCat("builds index ", index, " concurrently on ", table,
                       ", which has rows: writes go on, but the build scans the table (twice) "
                       "and may run long and load the server")};
}

void Planner::AddValidatedLater(const Table& table, const Constraint& want,
                                std::vector<int> resolves, int group) {
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
  Emit(kValidateStage,
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

std::string Planner::ConstraintIndexDefinition(const Constraint& want) {
  Index shape;
  shape.method = "btree";
  for (const std::string& c : want.columns) shape.keys.push_back({.column = c});
  shape.include = want.include;
  shape.storage = want.storage;
  shape.nulls_not_distinct = want.nulls_not_distinct;
  return IndexDefinition(shape);
}

bool Planner::ConstraintIndexReady(const Table& table, const Constraint& want) const {
  const Table* have = actual_.FindTable(table.name);
  const Index* index = have ? have->FindIndex(TemporaryName("uq", table.name, want.name)) : nullptr;
  return index != nullptr && index->valid && index->unique &&
         index->definition == ConstraintIndexDefinition(want);
}

void Planner::AddUsingIndex(const Table& table, const Constraint& want, std::vector<int> resolves,
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

void Planner::PlanConstraint(const Difference& d, std::vector<int> r) {
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
        AddValidatedLater(*want_table, *want, std::move(resolves), group != 0 ? group : NewGroup());
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
  } else if (d.attribute == Attribute::kValid && !want->validated) {
    // Declared NOT VALID, validated in the database: PostgreSQL cannot
    // un-validate, so it is re-added NOT VALID (brief locks, no scan).
    const int group = NewGroup();
    drop(r, group);
    add({}, group);
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
  } else if (OnlyStorageDiffers(*want, *have)) {
    // A key's index options: set on its index, which has its name.
    EmitIndexStorageChange(d.table, d.object, want->storage, have->storage, std::move(r));
  } else {
    const int group = NewGroup();
    drop(r, group);
    add({}, group);
  }
}

// Whether two definitions of one object differ in their storage
// parameters alone.
bool Planner::OnlyStorageDiffers(const Constraint& want, const Constraint& have) {
  if (want.storage == have.storage || want.kind != have.kind) return false;
  Constraint a = want, b = have;
  a.storage.clear();
  b.storage.clear();
  return ConstraintDefinition(a) == ConstraintDefinition(b);
}

bool Planner::OnlyStorageDiffers(const Index& want, const Index& have) {
  if (want.storage == have.storage || want.unique != have.unique || !have.valid) return false;
  Index a = want, b = have;
  a.storage.clear();
  b.storage.clear();
  return IndexDefinition(a) == IndexDefinition(b);
}

// ALTER INDEX ... SET (...) / RESET (...): a catalog change; new values
// apply to pages written from now on (REINDEX applies them to all).
void Planner::EmitIndexStorageChange(const std::string& table, const std::string& index,
                                     const std::vector<std::string>& want,
                                     const std::vector<std::string>& have, std::vector<int> r) {
  EmitStorageChange(absl::StrCat("ALTER INDEX ", T(index), " "), want, have, table, std::move(r),
                    index);
}

void Planner::PlanIndex(const Difference& d, std::vector<int> r) {
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
      hazards.push_back(
          {HazardKind::kLongLock, absl::StrCat("builds index ", d.object, " on ", d.table,
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
         {.statement =
              concurrently ? StatementKind::kCreateIndexConcurrently : StatementKind::kCreateIndex,
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
  if (redefined && OnlyStorageDiffers(*want, *have)) {
    EmitIndexStorageChange(d.table, d.object, want->storage, have->storage, std::move(r));
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

void Planner::PlanTableDrops() {
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

}  // namespace schemad::plan_internal
