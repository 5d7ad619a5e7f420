// The planner's enum types: labels added in place, types re-created
// (and the columns using them converted) when labels go or move.
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

}  // namespace schemad::plan_internal
