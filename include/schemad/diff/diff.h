// Differences between a desired schema (the canonical registry) and an
// actual one (the live catalog). Pure code: no SQL, no database.
//
//   std::vector<Difference> d = DiffSchemas(desired, actual);
//   // d[0]: {kind ObjectKind::kColumn, name "users.email", change kChanged,
//   //        attribute Attribute::kType, expected "character varying(320)", ...}
//
// Output order is deterministic: schema, extensions, enums, tables (and,
// per table, columns, constraints, indexes), sequences, views (and their
// indexes). Objects the actual
// side has and the desired side neither declares nor ignores are kExtra.
// Thread-safe (pure function).
#ifndef SCHEMAD_DIFF_DIFF_H_
#define SCHEMAD_DIFF_DIFF_H_

#include <string>
#include <vector>

#include "schemad/model/model.h"

namespace schemad {

// kUnmanaged: an object of a kind schemad does not manage yet (a view, a
// function, ...): reported, never dropped, and no part of Status's verdict.
enum class Change { kMissing, kExtra, kChanged, kUnmanaged };

// What kind of object a difference is about. Dispatch on it with a switch
// without `default:` (-Werror=switch): a new kind must be handled
// everywhere.
enum class ObjectKind {
  kSchema,
  kExtension,
  kEnum,
  kEnumLabel,
  kTable,
  kColumn,
  kConstraint,
  kIndex,
  kSequence,
  kView,
  kMaterializedView,
  // Functions and procedures; aggregates and window functions are only
  // ever Change::kUnmanaged.
  kFunction,
  // Triggers of tables; those of other relations are only ever
  // Change::kUnmanaged.
  kTrigger,
  // Kinds schemad does not manage yet: only ever Change::kUnmanaged.
  kPolicy,
  kRule,
  kForeignTable,
  kDomain,
  kCompositeType,
  kStatistics,
  // A table's INHERITS (a parent other than a partitioned table's).
  kInheritance,
  // A table's PARTITION BY, and each partition of a partitioned table.
  kPartitioning,
  kPartition,
};

// For kChanged: the attribute that differs.
enum class Attribute {
  kNone,
  kType,
  kNullable,
  kDefault,
  kIdentity,
  kGenerated,
  kDefinition,
  kValid,
  kLabels,
  // A view's WITH (...) options.
  kOptions,
  kComment,
  // A trigger's ENABLE / DISABLE / ENABLE REPLICA / ENABLE ALWAYS state.
  kEnabled,
  // A column's COLLATE (its type unchanged).
  kCollation,
  // A table's LOGGED / UNLOGGED.
  kPersistence,
  // A table's ENABLE / FORCE ROW LEVEL SECURITY.
  kRowSecurity,
  // A table's storage parameters, WITH (...).
  kStorage,
  // A table's REPLICA IDENTITY.
  kReplicaIdentity,
  // A column's SET STORAGE / SET COMPRESSION / SET STATISTICS.
  kColumnStorage,
  kCompression,
  kStatistics,
  // A column's attribute options, ALTER COLUMN ... SET (...).
  kColumnOptions,
};

struct Difference {
  ObjectKind kind = ObjectKind::kTable;
  // Qualified within the schema: "users", "users.email", "user_role.admin".
  std::string name;
  Change change = Change::kMissing;
  std::string expected;
  std::string actual;
  std::string detail;
  // For the planner: the table (when the object lives in one), the object's
  // own name, and for kChanged the attribute that differs.
  std::string table;
  std::string object;
  Attribute attribute = Attribute::kNone;

  // A stable identity used to compare difference sets.
  std::string Key() const;
};

const char* ChangeName(Change change);
// The wire names of the API ("schema", "enum_label", ...; "type",
// "nullable", ...; "" for Attribute::kNone).
const char* ObjectKindName(ObjectKind kind);
const char* AttributeName(Attribute attribute);

// Returns every difference between `desired` and `actual`. `desired.ignore`
// names objects that are never reported as kExtra.
std::vector<Difference> DiffSchemas(const Schema& desired, const Schema& actual);

// Returns whether `name` (or "table.name") matches an ignore pattern.
bool IsIgnored(const Schema& desired, const std::string& name, const std::string& table = "");

// Describes a column as DDL would ("uuid NOT NULL DEFAULT gen_random_uuid()").
std::string DescribeColumn(const Column& column);

}  // namespace schemad

#endif  // SCHEMAD_DIFF_DIFF_H_
