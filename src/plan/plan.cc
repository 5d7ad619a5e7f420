#include "schemad/plan/plan.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
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

enum Phase {
  kSchemaPhase,
  kExtensionPhase,
  kEnumPhase,
  kDropForeignKeysPhase,
  kDropIndexesPhase,
  kEnumRecreatePhase,
  kDropColumnsPhase,
  kDropTablesPhase,
  kCreateTablesPhase,
  // Existing columns change before new ones are added: a new generated
  // column may read a column whose type changes.
  kAlterColumnsPhase,
  kAddColumnsPhase,
  kAddConstraintsPhase,
  kCreateIndexesPhase,
  kAddForeignKeysPhase,
  kDropTypesPhase,
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
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return std::make_pair(a.phase, a.suborder) < std::make_pair(b.phase, b.suborder);
    });
    Plan plan;
    for (Entry& e : entries_) plan.steps.push_back(std::move(e.step));
    return plan;
  }

 private:
  struct Entry {
    Phase phase;
    int suborder;
    PlanStep step;
  };

  bool HasRows(const std::string& table) const {
    return options_.tables_with_rows.count(table) > 0;
  }
  std::string T(const std::string& table) const { return QualifiedName(s_, table); }

  PlanStep& Emit(Phase phase, std::string sql, std::vector<Hazard> hazards = {},
                 std::vector<int> resolves = {}, int group = 0, int suborder = 0) {
    Entry& e = entries_.emplace_back();
    e.phase = phase;
    e.suborder = suborder;
    e.step.sql = std::move(sql);
    e.step.hazards = std::move(hazards);
    e.step.resolves = std::move(resolves);
    e.step.group = group;
    return e.step;
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
            (d.kind == ObjectKind::kEnum && d.name == want.name && d.change == Change::kChanged);
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
      PlanStep& step = Emit(kEnumPhase,
                            absl::StrCat("ALTER TYPE ", T(want.name), " ADD VALUE ",
                                         QuoteLiteral(label), position),
                            {}, resolves, 0, 1);
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
    Emit(kEnumRecreatePhase,
         absl::StrCat("ALTER TYPE ", T(want.name), " RENAME TO ", QuoteIdent(old_name)), hazards,
         resolves, group);
    Emit(kEnumRecreatePhase, CreateEnumSql(s_, want), {}, {}, group);
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
        Emit(kEnumRecreatePhase, absl::StrCat("DROP INDEX ", T(index.name)), h, r, group, 1);
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
        Emit(kEnumRecreatePhase,
             absl::StrCat("ALTER TABLE ", T(table.name), " DROP CONSTRAINT ", QuoteIdent(con.name)),
             h, r, group, 1);
        if (wanted != nullptr) rebuild_checks.push_back(wanted);
      }
      for (const Column* c : typed) {
        const std::string col = QuoteIdent(c->name);
        const bool array = absl::EndsWith(c->type, "[]");
        if (!c->default_expr.empty()) {
          Emit(kEnumRecreatePhase,
               absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col, " DROP DEFAULT"),
               {}, {}, group, 2);
        }
        Emit(kEnumRecreatePhase,
             absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col, " TYPE ",
                          c->type, " USING ", col, array ? "::text[]::" : "::text::", c->type),
             {}, {}, group, 3);
        const Column* wanted = want_table ? want_table->FindColumn(c->name) : nullptr;
        const std::string def = wanted ? wanted->default_expr : c->default_expr;
        if (!def.empty()) {
          Emit(kEnumRecreatePhase,
               absl::StrCat("ALTER TABLE ", T(table.name), " ALTER COLUMN ", col,
                            " SET DEFAULT ", def),
               {}, {}, group, 4);
        }
      }
      for (const Constraint* con : rebuild_checks) {
        Emit(kEnumRecreatePhase, AddConstraintSql(s_, table.name, *con), {}, {}, group, 5);
      }
      for (const Index* index : rebuild_indexes) {
        Emit(kEnumRecreatePhase, CreateIndexSql(s_, table.name, *index), {}, {}, group, 5);
      }
    }
    // Last of all: columns of the old type that the plan drops go first.
    Emit(kDropTypesPhase, absl::StrCat("DROP TYPE ", T(old_name)), {}, {}, group, 0);
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
        Emit(kAlterColumnsPhase,
             absl::StrCat("ALTER TABLE ", T(d.table), " ALTER COLUMN ", QuoteIdent(d.object),
                          " DROP EXPRESSION"),
             {{HazardKind::kDropsObject,
               absl::StrCat("column ", d.name, " stops being generated: its values stay but are "
                            "no longer computed")}},
             resolves);
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
      Emit(kDropColumnsPhase,
           absl::StrCat("ALTER TABLE ", T(d.table), " DROP COLUMN ", QuoteIdent(d.object)),
           hazards, resolves, group);
      Emit(kAddColumnsPhase,
           absl::StrCat("ALTER TABLE ", T(d.table), " ADD COLUMN ", ColumnDefinitionSql(*want)),
           {}, {}, group);
      // DROP COLUMN takes the column's indexes and constraints with it.
      for (const Index& index : have_table->indexes) {
        if (!Contains(index.columns, d.object)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kIndex, d.table, index.name), &r);
        const Index* wanted = want_table->FindIndex(index.name);
        if (wanted != nullptr) {
          Emit(kCreateIndexesPhase, CreateIndexSql(s_, d.table, *wanted), {}, r, group);
        } else {
          entries_.back().step.resolves.insert(entries_.back().step.resolves.end(), r.begin(),
                                               r.end());
        }
      }
      for (const Index& index : want_table->indexes) {
        if (Contains(index.columns, d.object) && have_table->FindIndex(index.name) == nullptr) {
          std::vector<int> r;
          MarkHandled(DiffsFor(ObjectKind::kIndex, d.table, index.name), &r);
          Emit(kCreateIndexesPhase, CreateIndexSql(s_, d.table, index), {}, r, group);
        }
      }
      for (const Constraint& con : want_table->constraints) {
        if (!Contains(con.columns, d.object)) continue;
        std::vector<int> r;
        MarkHandled(DiffsFor(ObjectKind::kConstraint, d.table, con.name), &r);
        Emit(con.kind == ConstraintKind::kForeignKey ? kAddForeignKeysPhase : kAddConstraintsPhase,
             AddConstraintSql(s_, d.table, con), {}, r, group);
      }
    }
  }

  // --- one difference at a time --------------------------------------------

  void PlanDifference(int i, const Difference& d) {
    std::vector<int> r = {i};
    handled_.insert(i);
    switch (d.kind) {
      case ObjectKind::kSchema:
        Emit(kSchemaPhase, absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(d.name)), {}, r);
        return;
      case ObjectKind::kExtension:
        if (d.change == Change::kMissing) {
          Emit(kExtensionPhase, CreateExtensionSql(*desired_.FindExtension(d.name)), {}, r);
        } else {
          Emit(kDropTypesPhase, absl::StrCat("DROP EXTENSION ", QuoteIdent(d.name)),
               {{HazardKind::kDropsObject,
                 absl::StrCat("drops extension ", d.name, " and everything it provides")}},
               r, 0, 1);
        }
        return;
      case ObjectKind::kEnum:
        if (d.change == Change::kMissing) {
          Emit(kEnumPhase, CreateEnumSql(s_, *desired_.FindEnum(d.name)), {}, r);
        } else if (d.change == Change::kExtra) {
          Emit(kDropTypesPhase, absl::StrCat("DROP TYPE ", T(d.name)),
               {{HazardKind::kDropsObject, absl::StrCat("drops enum type ", d.name)}}, r);
        }
        return;
      case ObjectKind::kEnumLabel:
        return;  // planned with their enum type (PlanEnumRecreations)
      case ObjectKind::kTable:
        if (d.change == Change::kMissing) {
          PlanCreateTable(*desired_.FindTable(d.name), r);
        } else {
          extra_tables_.push_back(i);
        }
        return;
      case ObjectKind::kColumn:
        PlanColumn(d, r);
        return;
      case ObjectKind::kConstraint:
        PlanConstraint(d, r);
        return;
      case ObjectKind::kIndex:
        PlanIndex(d, r);
        return;
      case ObjectKind::kSequence:
        Emit(kDropTypesPhase, absl::StrCat("DROP SEQUENCE ", T(d.name)),
             {{HazardKind::kDropsObject,
               absl::StrCat("drops sequence ", d.name, " and its current value")}},
             r, 0, 2);
        return;
    }
  }

  void PlanCreateTable(const Table& table, std::vector<int> resolves) {
    Emit(kCreateTablesPhase, CreateTableSql(s_, table), {}, std::move(resolves));
    for (const Index& index : table.indexes) {
      Emit(kCreateIndexesPhase, CreateIndexSql(s_, table.name, index));
    }
    for (const Constraint& c : table.constraints) {
      if (c.kind == ConstraintKind::kForeignKey) {
        Emit(kAddForeignKeysPhase, AddConstraintSql(s_, table.name, c));
      } else if (AddedAfterCreateTable(table, c)) {
        Emit(kAddConstraintsPhase, AddConstraintSql(s_, table.name, c));
      }
    }
  }

  void PlanColumn(const Difference& d, std::vector<int> r) {
    const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
    const std::string col = QuoteIdent(d.object);
    if (d.change == Change::kExtra) {
      const auto joined = group_of_dropped_column_.find(d.name);
      Emit(kDropColumnsPhase, absl::StrCat(alter, "DROP COLUMN ", col),
           {{HazardKind::kDataLoss,
             absl::StrCat("drops column ", d.name, " and every value stored in it")}},
           r, joined != group_of_dropped_column_.end() ? joined->second : 0);
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
      Emit(kAddColumnsPhase, absl::StrCat(alter, "ADD COLUMN ", ColumnDefinitionSql(*want)),
           hazards, r);
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
        std::string using_expr = absl::StrCat(col, "::", via_text ? "text::" : "", want->type);
        if (!have->default_expr.empty()) {
          // The old default may not cast to the new type; the default step
          // (if any) sets the wanted one afterwards.
          Emit(kAlterColumnsPhase, absl::StrCat(alter_col, "DROP DEFAULT"), {}, {}, 0, 1);
          if (want->default_expr == have->default_expr && !want->default_expr.empty()) {
            Emit(kAlterColumnsPhase, absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
                 {}, {}, 0, 3);
          }
        }
        Emit(kAlterColumnsPhase,
             absl::StrCat(alter_col, "TYPE ", want->type, " USING ", using_expr), hazards, r, 0, 2);
        return;
      }
      case Attribute::kDefault: {
        // integer -> serial: the sequence the default calls does not exist
        // yet. Create it owned by the column, started after the largest
        // value, before the default that uses it.
        const bool becomes_serial =
            !want->serial_sequence.empty() && want->serial_sequence != have->serial_sequence;
        if (becomes_serial) {
          Emit(kAlterColumnsPhase,
               absl::StrCat("CREATE SEQUENCE ", T(want->serial_sequence), " AS ", want->type,
                            " OWNED BY ", T(d.table), ".", col),
               {}, {}, 0, 1);
          Emit(kAlterColumnsPhase,
               absl::StrCat("SELECT pg_catalog.setval(", QuoteLiteral(T(want->serial_sequence)),
                            "::pg_catalog.regclass, COALESCE(pg_catalog.max(", col,
                            "), 0) OPERATOR(pg_catalog.+) 1, false) FROM ", T(d.table)),
               {}, {}, 0, 2);
        }
        // serial -> integer: the sequence the column owned would be left
        // behind, unused and invisible; it goes with the default.
        const bool stops_serial =
            !have->serial_sequence.empty() && want->serial_sequence != have->serial_sequence;
        const int group = stops_serial ? NewGroup() : 0;
        Emit(kAlterColumnsPhase,
             want->default_expr.empty()
                 ? absl::StrCat(alter_col, "DROP DEFAULT")
                 : absl::StrCat(alter_col, "SET DEFAULT ", want->default_expr),
             {}, r, group, 3);
        if (stops_serial) {
          Emit(kDropTypesPhase, absl::StrCat("DROP SEQUENCE ", T(have->serial_sequence)),
               {{HazardKind::kDropsObject,
                 absl::StrCat("drops sequence ", have->serial_sequence, ", which ", d.name,
                              " owned, and its current value")}},
               {}, group, 2);
        }
        return;
      }
      case Attribute::kNullable:
        if (want->not_null) {
          Emit(kAlterColumnsPhase, absl::StrCat(alter_col, "SET NOT NULL"),
               {{HazardKind::kValidation,
                 absl::StrCat("sets NOT NULL on ", d.name, ": scans ", d.table,
                              " under an ACCESS EXCLUSIVE lock and fails if any row holds NULL")}},
               r, 0, 4);
        } else {
          Emit(kAlterColumnsPhase, absl::StrCat(alter_col, "DROP NOT NULL"), {}, r, 0, 4);
        }
        return;
      case Attribute::kIdentity:
        if (want->identity == Identity::kNone) {
          Emit(kAlterColumnsPhase, absl::StrCat(alter_col, "DROP IDENTITY"),
               {{HazardKind::kDropsObject,
                 absl::StrCat("drops the identity of ", d.name,
                              " and its sequence: inserts must then supply values")}},
               r, 0, 0);
        } else if (have->identity == Identity::kNone) {
          Emit(kAlterColumnsPhase,
               absl::StrCat(alter_col, "ADD GENERATED ",
                            want->identity == Identity::kAlways ? "ALWAYS" : "BY DEFAULT",
                            " AS IDENTITY"),
               {{HazardKind::kValidation,
                 absl::StrCat("makes ", d.name,
                              " an identity column: it must be NOT NULL and its "
                              "new sequence starts at 1, below existing values")}},
               r, 0, 5);
        } else {
          Emit(kAlterColumnsPhase,
               absl::StrCat(alter_col, "SET GENERATED ",
                            want->identity == Identity::kAlways ? "ALWAYS" : "BY DEFAULT"),
               {{HazardKind::kDropsObject,
                 absl::StrCat("changes how ", d.name, " accepts explicit values on insert")}},
               r, 0, 5);
        }
        return;
      case Attribute::kNone:
      case Attribute::kGenerated:  // planned with dependents (PlanGeneratedColumns)
      case Attribute::kDefinition:
      case Attribute::kValid:
      case Attribute::kLabels:
        return;
    }
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

  void PlanConstraint(const Difference& d, std::vector<int> r) {
    const std::string alter = absl::StrCat("ALTER TABLE ", T(d.table), " ");
    const Table* have_table = actual_.FindTable(d.table);
    const Constraint* have = have_table ? have_table->FindConstraint(d.object) : nullptr;
    const Constraint* want = desired_.FindTable(d.table)
                                 ? desired_.FindTable(d.table)->FindConstraint(d.object)
                                 : nullptr;
    auto drop = [&](std::vector<int> resolves, int group) {
      Emit(have->kind == ConstraintKind::kForeignKey ? kDropForeignKeysPhase : kDropIndexesPhase,
           absl::StrCat(alter, "DROP CONSTRAINT ", QuoteIdent(d.object)),
           {{HazardKind::kDropsObject,
             absl::StrCat("drops constraint ", d.name, ": ", have->definition,
                          " is no longer enforced")}},
           std::move(resolves), group);
    };
    auto add = [&](std::vector<int> resolves, int group) {
      Emit(want->kind == ConstraintKind::kForeignKey ? kAddForeignKeysPhase : kAddConstraintsPhase,
           AddConstraintSql(s_, d.table, *want), AddConstraintHazards(d.table, *want),
           std::move(resolves), group);
    };
    if (d.change == Change::kExtra) {
      drop(r, 0);
    } else if (d.change == Change::kMissing) {
      add(r, 0);
    } else if (d.attribute == Attribute::kValid) {
      Emit(kAddConstraintsPhase, absl::StrCat(alter, "VALIDATE CONSTRAINT ", QuoteIdent(d.object)),
           {{HazardKind::kValidation,
             absl::StrCat("validates ", d.name, " against every existing row: fails if any "
                          "row violates it")}},
           r);
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
    auto drop = [&](std::vector<int> resolves, int group) {
      Emit(kDropIndexesPhase, absl::StrCat("DROP INDEX ", T(d.object)),
           {{HazardKind::kDropsObject,
             absl::StrCat("drops index ", d.name,
                          have->unique ? ": its uniqueness is no longer enforced and queries "
                                         "using it slow down"
                                       : ": queries using it slow down")}},
           std::move(resolves), group);
    };
    auto create = [&](std::vector<int> resolves, int group) {
      std::vector<Hazard> hazards;
      if (HasRows(d.table)) {
        hazards.push_back({HazardKind::kLongLock,
                           absl::StrCat("builds index ", d.object, " on ", d.table,
                                        ", which has rows, holding a SHARE lock that blocks "
                                        "writes until the build ends")});
        if (want->unique) {
          hazards.push_back({HazardKind::kValidation,
                             absl::StrCat("unique index ", d.object,
                                          " fails to build if existing rows hold duplicates")});
        }
      }
      Emit(kCreateIndexesPhase, CreateIndexSql(s_, d.table, *want), hazards,
           std::move(resolves), group);
    };
    if (d.change == Change::kExtra) {
      drop(r, 0);
    } else if (d.change == Change::kMissing) {
      create(r, 0);
    } else {
      const int group = NewGroup();
      drop(r, group);
      create({}, group);
    }
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
      Emit(kDropForeignKeysPhase,
           absl::StrCat("ALTER TABLE ", T(table), " DROP CONSTRAINT ", QuoteIdent(constraint)),
           {{HazardKind::kDropsObject,
             absl::StrCat("drops foreign key ", table, ".", constraint,
                          ", which closes a cycle among tables this plan drops")}},
           {}, group);
    }
    int suborder = 0;
    for (const std::string& name : order) {
      const auto joined = group_of_dropped_table_.find(name);
      Emit(kDropTablesPhase, absl::StrCat("DROP TABLE ", T(name)),
           {{HazardKind::kDataLoss, absl::StrCat("drops table ", name, " and every row in it")}},
           {pending[name]},
           joined != group_of_dropped_table_.end() ? joined->second : group, ++suborder);
    }
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
};

}  // namespace

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
  }
  return "?";
}

bool ParseHazardKind(std::string text, HazardKind* kind) {
  text = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (absl::StartsWith(text, "HAZARD_KIND_")) text = text.substr(12);
  for (HazardKind k : {HazardKind::kDataLoss, HazardKind::kDropsObject, HazardKind::kTableRewrite,
                       HazardKind::kLongLock, HazardKind::kValidation}) {
    if (text == HazardName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

Plan BuildPlan(const Schema& desired, const Schema& actual,
               const std::vector<Difference>& differences, const PlanOptions& options) {
  return Planner(desired, actual, differences, options).Run();
}

}  // namespace schemad
