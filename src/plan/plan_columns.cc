// The planner's columns: added, dropped, retyped (with the type-change
// rules), defaults, identity, generated expressions (rebuilt around the
// columns they read), collations, NOT NULL (online: through a validated
// check).
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

}  // namespace schemad::plan_internal
