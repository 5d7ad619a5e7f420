// The planner's tables: sequences, new tables, table properties (storage,
// persistence, row-level security, replica identity) and table drops in
// foreign-key order.
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
