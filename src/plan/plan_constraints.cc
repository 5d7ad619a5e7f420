// The planner's constraints and indexes: their hazards, the online
// recipes (NOT VALID then VALIDATE, a concurrent unique index then ADD
// CONSTRAINT ... USING INDEX, build-swap-rename), storage-only changes.
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

}  // namespace schemad::plan_internal
