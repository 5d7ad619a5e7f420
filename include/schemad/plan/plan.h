// Turns differences into an ordered DDL plan with hazards. Pure code.
//
//   std::vector<Difference> diffs = DiffSchemas(desired, actual);
//   Plan plan = BuildPlan(desired, actual, diffs, {.tables_with_rows = {"users"}});
//   for (const PlanStep& s : plan.steps) std::cout << s.sql << ";\n";
//
// Order: schema, extensions, enum types and labels, drops of foreign keys,
// indexes and constraints, enum re-creations, drops of columns and tables,
// new tables, column changes, new columns, constraints, indexes, foreign
// keys, then drops of enum types, extensions and sequences. Within a phase,
// steps follow the differences' (sorted) order, so plans are deterministic.
// Statements name tables schema-qualified; expressions are unqualified and
// resolve through search_path = the target schema.
// Thread-safe (pure function).
#ifndef SCHEMAD_PLAN_PLAN_H_
#define SCHEMAD_PLAN_PLAN_H_

#include <set>
#include <string>
#include <vector>

#include "schemad/ddl/ddl.h"
#include "schemad/diff/diff.h"
#include "schemad/model/model.h"

namespace schemad {

enum class HazardKind { kDataLoss, kDropsObject, kTableRewrite, kLongLock, kValidation };

// "DATA_LOSS", "DROPS_OBJECT", ...
const char* HazardName(HazardKind kind);
// Parses "DATA_LOSS" or "HAZARD_KIND_DATA_LOSS" (any case). False if unknown.
bool ParseHazardKind(std::string text, HazardKind* kind);

struct Hazard {
  HazardKind kind;
  std::string message;
};

struct PlanStep {
  std::string sql;
  std::vector<Hazard> hazards;
  // Steps with the same non-zero group run together or not at all.
  int group = 0;
  // Runs in a transaction of its own, committed before the others
  // (ALTER TYPE ... ADD VALUE: the label is unusable until committed).
  bool own_transaction = false;
  // Indexes into the differences this step (with its group) resolves.
  std::vector<int> resolves;
};

struct PlanOptions {
  // Existing tables known to hold rows. Index builds, validations and
  // rewrites on other existing tables are cheap and carry no such hazard;
  // drops and changes of existing objects always carry one.
  std::set<std::string> tables_with_rows;
};

struct Plan {
  std::vector<PlanStep> steps;
};

Plan BuildPlan(const Schema& desired, const Schema& actual,
               const std::vector<Difference>& differences, const PlanOptions& options);

}  // namespace schemad

#endif  // SCHEMAD_PLAN_PLAN_H_
