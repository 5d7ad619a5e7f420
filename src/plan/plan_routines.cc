// The planner's parts for functions, triggers, views (and their
// indexes) and comments.
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

void Planner::EmitComment(const char* what, const std::string& target, const std::string& comment,
                          const std::string& relation, std::vector<int> resolves, int group) {
  Emit(kCommentsStage, CommentSql(what, target, comment),
       {.statement = StatementKind::kComment,
        .table = relation,
        .resolves = std::move(resolves),
        .group = group});
}

bool Planner::PlanObjectComment(const Difference& d, const std::vector<int>& r) {
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
    case ObjectKind::kSchema:
    case ObjectKind::kExtension:
    case ObjectKind::kEnumLabel:
    case ObjectKind::kTable:
    case ObjectKind::kColumn:
    case ObjectKind::kView:
    case ObjectKind::kMaterializedView:
    case ObjectKind::kFunction:
    case ObjectKind::kTrigger:
    case ObjectKind::kPolicy:
    case ObjectKind::kRule:
    case ObjectKind::kForeignTable:
    case ObjectKind::kDomain:
    case ObjectKind::kCompositeType:
    case ObjectKind::kStatistics:
    case ObjectKind::kInheritance:
    case ObjectKind::kPartitioning:
    case ObjectKind::kPartition:
      return false;
  }
  return false;
}

void Planner::PlanCommentsOfCreatedObjects() {
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
      case StatementKind::kCreateSchema:
      case StatementKind::kCreateExtension:
      case StatementKind::kDropExtension:
      case StatementKind::kAddEnumValue:
      case StatementKind::kRenameType:
      case StatementKind::kDropType:
      case StatementKind::kDropTable:
      case StatementKind::kAddColumn:
      case StatementKind::kDropColumn:
      case StatementKind::kAlterColumnType:
      case StatementKind::kSetDefault:
      case StatementKind::kSetNotNull:
      case StatementKind::kDropNotNull:
      case StatementKind::kAlterIdentity:
      case StatementKind::kDropExpression:
      case StatementKind::kValidateConstraint:
      case StatementKind::kDropConstraint:
      case StatementKind::kDropIndex:
      case StatementKind::kDropIndexConcurrently:
      case StatementKind::kSetSequenceValue:
      case StatementKind::kDropSequence:
      case StatementKind::kCreateView:
      case StatementKind::kReplaceView:
      case StatementKind::kDropView:
      case StatementKind::kComment:
      case StatementKind::kCreateFunction:
      case StatementKind::kDropFunction:
      case StatementKind::kCreateTrigger:
      case StatementKind::kDropTrigger:
      case StatementKind::kAlterTriggerEnabled:
      case StatementKind::kReindex:
      case StatementKind::kAlterRowSecurity:
      case StatementKind::kSetPersistence:
      case StatementKind::kSetStorage:
      case StatementKind::kSetReplicaIdentity:
      case StatementKind::kSetColumnStorage:
      case StatementKind::kSetStatistics:
        break;
    }
  }
}

std::string Planner::FunctionTarget(const Function& f) const {
  return absl::StrCat(T(f.name), "(", f.identity, ")");
}

Stage Planner::FunctionStage(const Function& f) const {
  return UsesRelationTypes(f, desired_) ? kCreateLateFunctionsStage : kCreateFunctionsStage;
}

int Planner::CreationOrder(const Function& f) {
  if (function_order_.empty() && !desired_.functions.empty()) {
    std::vector<std::pair<std::string, std::string>> texts;
    for (const Function& g : desired_.functions) texts.emplace_back(g.name, g.body);
    const std::vector<int> order = CallOrder(texts);
    for (size_t i = 0; i < order.size(); ++i) {
      function_order_[desired_.functions[i].Key()] = order[i];
    }
  }
  const auto it = function_order_.find(f.Key());
  return it == function_order_.end() ? 0 : it->second;
}

void Planner::EmitFunctionComment(const Function& f, std::vector<int> resolves, int group) {
  EmitComment(f.procedure ? "PROCEDURE" : "FUNCTION", FunctionTarget(f), f.comment, "",
              std::move(resolves), group);
}

void Planner::PlanFunction(const Difference& d, std::vector<int> r) {
  const Function* want = desired_.FindFunction(d.object);
  const Function* have = actual_.FindFunction(d.object);
  if (d.change == Change::kExtra) {
    Emit(kDropFunctionsStage, DropFunctionSql(s_, *have),
         {.statement = StatementKind::kDropFunction,
          .hazards = {{HazardKind::kDropsObject,
                       absl::StrCat("drops ", have->procedure ? "procedure " : "function ", d.name,
                                    ", which the registry does not declare")}},
          .resolves = r});
    return;
  }
  if (d.change == Change::kMissing) {
    Emit(FunctionStage(*want), FunctionSql(s_, *want, false, true),
         {.statement = StatementKind::kCreateFunction,
          .resolves = r,
          .suborder = CreationOrder(*want)});
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
          .group = group,
          .suborder = CreationOrder(*want)});
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
       {.statement = StatementKind::kCreateFunction,
        .group = group,
        .suborder = CreationOrder(*want)});
  if (!want->comment.empty()) EmitFunctionComment(*want, {}, group);
}

void Planner::PlanRebuildAfterReplace(const std::string& dependent, int group) {
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

void Planner::EmitCreateTrigger(const Trigger& t, std::vector<int> resolves, int group,
                                bool or_replace) {
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
    EmitComment("TRIGGER", absl::StrCat(QuoteIdent(t.name), " ON ", T(t.table)), t.comment, t.table,
                {}, group);
  }
}

const Trigger* Planner::FindTriggerOf(const Schema& schema, const std::string& relation,
                                      const std::string& name) {
  if (const Table* t = schema.FindTable(relation)) return t->FindTrigger(name);
  if (const View* v = schema.FindView(relation)) return v->FindTrigger(name);
  return nullptr;
}

void Planner::PlanTriggers() {
  std::map<std::string, const Trigger*> managed;  // "relation.name"
  auto manage = [&](const std::string& relation, const std::vector<Trigger>& triggers) {
    for (const Trigger& g : triggers) {
      if (FindTriggerOf(desired_, relation, g.name) != nullptr ||
          !IsIgnored(desired_, g.name, relation)) {
        managed[absl::StrCat(relation, ".", g.name)] = &g;
      }
    }
  };
  for (const Table& t : actual_.tables) {
    // DROP TABLE takes its triggers.
    if (desired_.FindTable(t.name) != nullptr) manage(t.name, t.triggers);
  }
  for (const View& v : actual_.views) {
    // So does DROP VIEW; a view re-created has its triggers created with it.
    if (desired_.FindView(v.name) != nullptr && !dropped_views_.count(v.name)) {
      manage(v.name, v.triggers);
    }
  }
  std::map<std::string, int> rebuild;  // key -> group
  auto join = [&](const std::string& key, int group) {
    int& g = rebuild[key];
    if (g == 0) g = NewGroup();
    if (group != 0) Union(g, group);
  };
  for (const auto& [key, have] : managed) {
    const Trigger* want = FindTriggerOf(desired_, have->table, have->name);
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
    const Trigger* want = FindTriggerOf(desired_, have.table, have.name);
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
    const Trigger* want = FindTriggerOf(desired_, d.table, d.object);
    const Trigger* have = FindTriggerOf(actual_, d.table, d.object);
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

bool Planner::IsView(const std::string& name) const {
  return desired_.FindView(name) != nullptr || actual_.FindView(name) != nullptr;
}

std::string Planner::ViewWhat(const View& view) {
  return view.materialized ? "materialized view" : "view";
}

bool Planner::ReplaceCompatible(const View& want, const View& have) {
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

bool Planner::ViewColumnsEqual(const View& a, const View& b) {
  if (a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    if (a.columns[i].name != b.columns[i].name || a.columns[i].type != b.columns[i].type) {
      return false;
    }
  }
  return true;
}

int Planner::ViewDepth(const Schema& schema, const std::string& name,
                       std::map<std::string, int>* memo, int guard) {
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

std::vector<int> Planner::ViewDiffs(const std::string& name) const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(diffs_.size()); ++i) {
    const Difference& d = diffs_[i];
    const bool own =
        (d.kind == ObjectKind::kView || d.kind == ObjectKind::kMaterializedView) && d.name == name;
    // Its indexes and triggers go and come with it.
    const bool part =
        (d.kind == ObjectKind::kIndex || d.kind == ObjectKind::kTrigger) && d.table == name;
    if (own || part) out.push_back(i);
  }
  return out;
}

Hazard Planner::AuthzHazard(const View& want) const {
  return {HazardKind::kAuthz,
          absl::StrCat("view ", want.name,
                       " stops being security_invoker: it then reads its "
                       "tables with its owner's privileges, bypassing callers' row-level "
                       "security and grants")};
}

void Planner::EmitCreateView(const View& want, std::vector<int> resolves, int group, int depth,
                             std::vector<Hazard> hazards) {
  Emit(kCreateViewsStage, CreateViewSql(s_, want),
       {.statement = StatementKind::kCreateView,
        .hazards = std::move(hazards),
        .resolves = std::move(resolves),
        .group = group,
        .suborder = depth * 2,
        .creates = want.name});
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
  for (const Column& c : want.columns) {
    if (c.comment.empty() ||
        !commented_.insert(absl::StrCat("column:", want.name, ".", c.name)).second) {
      continue;
    }
    EmitComment("COLUMN", absl::StrCat(T(want.name), ".", QuoteIdent(c.name)), c.comment, want.name,
                {}, group);
  }
  // A new view has no triggers yet: they come with it.
  for (const Trigger& t : want.triggers) {
    std::vector<int> r;
    MarkHandled(DiffsFor(ObjectKind::kTrigger, want.name, t.name), &r);
    EmitCreateTrigger(t, std::move(r), group);
  }
}

void Planner::PlanViews() {
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
          name,
          absl::StrCat("it reads ", e.breaks, ", which this plan ",
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
    dropped_views_.insert(name);
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
    bool options_only = true;
    for (int i : own) options_only = options_only && diffs_[i].attribute == Attribute::kOptions;
    if (!own.empty() && want.materialized && options_only) {
      // A materialized view has only storage parameters for options, and
      // no CREATE OR REPLACE: ALTER MATERIALIZED VIEW ... SET / RESET.
      std::vector<int> resolves;
      MarkHandled(own, &resolves);
      EmitStorageChange(absl::StrCat("ALTER MATERIALIZED VIEW ", T(want.name), " "), want.storage,
                        have->storage, want.name, std::move(resolves));
    } else if (!own.empty()) {
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

ObjectKind Planner::ViewKind(const View& view) {
  return view.materialized ? ObjectKind::kMaterializedView : ObjectKind::kView;
}

void Planner::PlanViewIndexes(const View& want, const View& have) {
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

}  // namespace schemad::plan_internal
