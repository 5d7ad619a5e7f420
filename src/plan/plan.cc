#include "schemad/plan/plan.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <tuple>
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

PlanStep& Planner::Emit(Stage stage, std::string sql, StepSpec spec) {
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
    step.locks.push_back(
        {relation, spec.mode.value_or(locks.mode), hold_on(spec.table, locks.hold)});
    e.touches_existing = Exists(spec.table);
  }
  if (locks.on_referenced && !spec.referenced.empty() && spec.referenced != spec.table) {
    step.locks.push_back({spec.referenced, locks.referenced_mode,
                          online() ? LockHold::kBrief : LockHold::kUntilCommit});
    e.touches_existing = e.touches_existing || Exists(spec.referenced);
  }
  bool blocks_writers = false;
  for (const LockTaken& l : step.locks) {
    blocks_writers = blocks_writers || l.mode > LockMode::kShareUpdateExclusive;
  }
  step.timeout = blocks_writers ? StepTimeout::kBounded : StepTimeout::kLongRunning;
  if (!spec.creates.empty() && !Exists(spec.creates)) e.creates = spec.creates;
  // What a step drops (or drops from) is not what it needs.
  static const std::set<StatementKind> kDrops = {
      StatementKind::kDropTable,      StatementKind::kDropView,
      StatementKind::kDropIndex,      StatementKind::kDropIndexConcurrently,
      StatementKind::kDropConstraint, StatementKind::kDropColumn,
      StatementKind::kDropTrigger};
  if (!kDrops.count(spec.statement)) {
    for (const std::string* r : {&spec.table, &spec.lock_on, &spec.referenced}) {
      if (!r->empty()) e.uses.push_back(*r);
    }
  }
  return step;
}

void Planner::OrderEntries() {
  std::map<std::string, int> creator;
  for (int i = 0; i < static_cast<int>(entries_.size()); ++i) {
    if (!entries_[i].creates.empty()) creator.emplace(entries_[i].creates, i);
  }
  std::vector<std::pair<int, int>> keys, edges;
  for (int i = 0; i < static_cast<int>(entries_.size()); ++i) {
    keys.emplace_back(entries_[i].stage, entries_[i].suborder);
    for (const std::string& used : entries_[i].uses) {
      const auto it = creator.find(used);
      if (it != creator.end() && it->second != i) edges.emplace_back(it->second, i);
    }
  }
  std::vector<Entry> ordered;
  ordered.reserve(entries_.size());
  for (int i : OrderSteps(keys, edges)) ordered.push_back(std::move(entries_[i]));
  entries_ = std::move(ordered);
}

void Planner::AssignPhases() {
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

std::string Planner::BlockedByDependents(const std::string& key, const char* what) const {
  const auto it = options_.dependents.find(key);
  if (it == options_.dependents.end() || it->second.empty()) return "";
  return absl::StrCat(absl::StrJoin(it->second, ", "), " depend", it->second.size() == 1 ? "s" : "",
                      " on ", key, ", which this step ", what, "; schemad does not manage ",
                      it->second.size() == 1 ? "it" : "them", ": change or drop ",
                      it->second.size() == 1 ? "it" : "them", " first, then run again");
}

StatementKind Planner::AddStatement(const Constraint& c) const {
  switch (c.kind) {
    case ConstraintKind::kForeignKey:
      return StatementKind::kAddForeignKey;
    case ConstraintKind::kCheck:
      return StatementKind::kAddCheck;
    case ConstraintKind::kPrimaryKey:
    case ConstraintKind::kUnique:
    case ConstraintKind::kExclusion:
      return StatementKind::kAddUniqueOrPrimaryKey;
  }
  return StatementKind::kAddCheck;
}

const Index* Planner::ClaimTemporaryIndex(const std::string& table, const std::string& name,
                                          bool unique, const std::string& definition) {
  const Table* have = actual_.FindTable(table);
  const Index* index = have ? have->FindIndex(name) : nullptr;
  if (index == nullptr || !index->valid || index->unique != unique ||
      index->definition != definition) {
    return nullptr;
  }
  claimed_.insert(absl::StrCat(table, ".", name));
  return index;
}

const Constraint* Planner::ClaimTemporaryCheck(const std::string& table, const std::string& name) {
  const Table* have = actual_.FindTable(table);
  const Constraint* c = have ? have->FindConstraint(name) : nullptr;
  if (c == nullptr || c->kind != ConstraintKind::kCheck) return nullptr;
  claimed_.insert(absl::StrCat(table, ".", name));
  return c;
}

void Planner::PlanLeftoverCleanup() {
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

std::vector<int> Planner::DiffsFor(ObjectKind kind, const std::string& table,
                                   const std::string& object) const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
    const Difference& d = diffs_[i];
    if (d.kind == kind && d.table == table && d.object == object) out.push_back(i);
  }
  return out;
}

void Planner::MarkHandled(const std::vector<int>& indexes, std::vector<int>* resolves) {
  for (int i : indexes) {
    if (handled_.insert(i).second) resolves->push_back(i);
  }
}

void Planner::PlanDifference(int i, const Difference& d) {
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
        Emit(kDropTypesStage, absl::StrCat("DROP EXTENSION ", QuoteIdent(d.name)),
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
      } else if (d.attribute == Attribute::kPersistence || d.attribute == Attribute::kRowSecurity ||
                 d.attribute == Attribute::kStorage || d.attribute == Attribute::kReplicaIdentity) {
        PlanTableProperty(d, r);
      } else {
        EmitComment("TABLE", T(d.name), desired_.FindTable(d.name)->comment, d.name, r);
      }
      return;
    case ObjectKind::kColumn:
      if (desired_.FindTable(d.table) == nullptr && desired_.FindView(d.table) != nullptr) {
        // A view's column: only its comment is ever planned (once: a view
        // re-created by this plan has its column comments emitted with it).
        if (commented_.insert(absl::StrCat("column:", d.name)).second) {
          const Column* want = nullptr;
          for (const Column& c : desired_.FindView(d.table)->columns) {
            if (c.name == d.object) want = &c;
          }
          EmitComment("COLUMN", absl::StrCat(T(d.table), ".", QuoteIdent(d.object)),
                      want != nullptr ? want->comment : "", d.table, r);
        }
        return;
      }
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
    case ObjectKind::kInheritance:
    case ObjectKind::kPartitioning:
    case ObjectKind::kPartition:
      return;  // unmanaged: reported, never planned
  }
}

const Index* Planner::FindDesiredIndex(const std::string& relation, const std::string& name) const {
  if (const Table* t = desired_.FindTable(relation)) return t->FindIndex(name);
  if (const View* v = desired_.FindView(relation)) return v->FindIndex(name);
  return nullptr;
}

void Planner::Union(int a, int b) {
  a = Find(a);
  b = Find(b);
  if (a != b) parent_[std::max(a, b)] = std::min(a, b);
}

void Planner::MergeGroups() {
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

}  // namespace schemad::plan_internal

namespace schemad {

using plan_internal::Planner;

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
    case StatementKind::kAlterRowSecurity:
      return table(kAccessExclusive, LockHold::kBrief);
    case StatementKind::kSetPersistence:
      return table(kAccessExclusive, LockHold::kRewrite);
    case StatementKind::kSetReplicaIdentity:
    case StatementKind::kSetColumnStorage:
      return table(kAccessExclusive, LockHold::kBrief);
    case StatementKind::kSetStatistics:
      return table(LockMode::kShareUpdateExclusive, LockHold::kBrief);
    case StatementKind::kSetStorage:
      // SHARE UPDATE EXCLUSIVE for fillfactor and autovacuum parameters,
      // ACCESS EXCLUSIVE for others: the stronger one is declared.
      return table(kAccessExclusive, LockHold::kBrief);
  }
  return {};
}

std::vector<int> OrderSteps(const std::vector<std::pair<int, int>>& keys,
                            const std::vector<std::pair<int, int>>& edges) {
  const int n = static_cast<int>(keys.size());
  std::vector<std::vector<int>> next(n);
  std::vector<int> waiting(n, 0);
  for (const auto& [first, then] : edges) {
    next[first].push_back(then);
    ++waiting[then];
  }
  // Smallest (key, index) first.
  auto later = [&](int a, int b) { return std::tie(keys[a], a) > std::tie(keys[b], b); };
  std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
  for (int i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.push(i);
  }
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : next[i]) {
      if (--waiting[j] == 0) ready.push(j);
    }
  }
  if (static_cast<int>(order.size()) < n) {
    std::vector<int> rest;
    for (int i = 0; i < n; ++i) {
      if (waiting[i] > 0) rest.push_back(i);
    }
    std::sort(rest.begin(), rest.end(),
              [&](int a, int b) { return std::tie(keys[a], a) < std::tie(keys[b], b); });
    order.insert(order.end(), rest.begin(), rest.end());
  }
  return order;
}

Plan BuildPlan(const Schema& desired, const Schema& actual,
               const std::vector<Difference>& differences, const PlanOptions& options) {
  return Planner(desired, actual, differences, options).Run();
}

}  // namespace schemad
