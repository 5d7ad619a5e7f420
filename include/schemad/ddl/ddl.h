// How every object schemad manages is written as SQL: one composer per
// form, used by the registry (definitions of what it declares), the catalog
// (definitions of what it reads, with the details only the catalog knows)
// and the planner (whole statements). One place writes `FOREIGN KEY (`,
// `INCLUDE (`, `CREATE TABLE`, ...; definitions compare equal only when
// they are composed the same way.
//
//   Constraint c = ...;
//   std::string def = ConstraintDefinition(c);       // "UNIQUE (a, b)"
//   std::string sql = AddConstraintSql("public", "t", c);
//
// Identifiers go through QuoteIdent; expressions and types are inserted as
// given (the registry checks their shape offline; the catalog's come from
// PostgreSQL's deparser). Thread-safe (pure functions).
#ifndef SCHEMAD_DDL_DDL_H_
#define SCHEMAD_DDL_DDL_H_

#include <string>
#include <vector>

#include "schemad/model/model.h"

namespace schemad {

// "PRIMARY KEY (id)", "FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE",
// "CHECK ((x >= 0))": everything after CONSTRAINT name.
std::string ConstraintDefinition(const Constraint& constraint);

// One key as an index definition spells it: `"col"` or `(expr)`, then
// COLLATE, operator class, DESC and NULLS FIRST/LAST when not the default.
std::string IndexKeySql(const IndexKey& key);

// Everything after "USING ": "btree (lower((email)::text)) WHERE ...".
std::string IndexDefinition(const Index& index);

// The column as it appears in CREATE TABLE / ADD COLUMN.
std::string ColumnDefinitionSql(const Column& column);

// CREATE TABLE with the table's columns and the constraints it keeps; the
// others (AddedAfterCreateTable) follow as ALTER TABLE ... ADD CONSTRAINT.
std::string CreateTableSql(const std::string& schema, const Table& table);
// Storage parameters as the model keeps them: "name=value" with the name
// lowercased, sorted.
std::vector<std::string> NormalizedStorage(const std::vector<std::string>& options);
// `alter` ("ALTER TABLE public.t ") followed by SET (...) for parameters set
// anew or changed, and by RESET (...) for those no longer wanted: the
// statements that take a relation from `have` to `want` (normalized).
std::vector<std::string> StorageChangeSql(const std::string& alter,
                                          const std::vector<std::string>& want,
                                          const std::vector<std::string>& have);
// ALTER TABLE ... ENABLE / FORCE ROW LEVEL SECURITY for a table that has
// them (none for one that has neither).
std::vector<std::string> RowSecuritySql(const std::string& schema, const Table& table);
// The table's replica identity as REPLICA IDENTITY writes it: "DEFAULT",
// "FULL", "NOTHING", "USING INDEX name" ("USING INDEX" alone: the index is
// gone).
std::string ReplicaIdentityText(const Table& table);
// ALTER TABLE ... ALTER COLUMN ... SET STORAGE / SET COMPRESSION / SET
// STATISTICS for each physical setting of `column` that is not the default
// (none when all are).
std::vector<std::string> ColumnSettingsSql(const std::string& schema, const std::string& table,
                                           const Column& column);
// The same, split by the lock they take: SET STORAGE / COMPRESSION (ACCESS
// EXCLUSIVE) in `storage`, SET STATISTICS and SET (...) (SHARE UPDATE
// EXCLUSIVE) in `estimates`.
struct ColumnSettingsStatements {
  std::vector<std::string> storage;
  std::vector<std::string> estimates;
};
ColumnSettingsStatements ColumnSettingsByLock(const std::string& schema, const std::string& table,
                                              const Column& column);
// The one statement that sets `what` ("storage", "compression",
// "statistics") of `column` to its value (a default resets it; storage to
// `type_storage`, the type's own).
std::string ColumnSettingSql(const std::string& schema, const std::string& table,
                             const Column& column, const std::string& what,
                             const std::string& type_storage = "");

// ALTER TABLE ... REPLICA IDENTITY ..., setting the table's.
std::string ReplicaIdentitySql(const std::string& schema, const Table& table);

// Whether `c` is added after CREATE TABLE: foreign keys, NOT VALID
// constraints, and unique constraints on the key of the primary key or of
// an earlier unique constraint, which CREATE TABLE would silently drop.
bool AddedAfterCreateTable(const Table& table, const Constraint& c);

// CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON schema.table USING ...
std::string CreateIndexSql(const std::string& schema, const std::string& table, const Index& index,
                           bool concurrently = false);
// DROP INDEX [CONCURRENTLY] [IF EXISTS] schema.name
std::string DropIndexSql(const std::string& schema, const std::string& name, bool concurrently,
                         bool if_exists = false);
// The unique index a primary key or unique constraint would build, as a
// statement of its own (CREATE UNIQUE INDEX [CONCURRENTLY] <constraint's
// name> ON ... (columns)), for ADD CONSTRAINT ... USING INDEX.
std::string CreateConstraintIndexSql(const std::string& schema, const std::string& table,
                                     const Constraint& constraint, bool concurrently);
// ALTER TABLE ... ADD CONSTRAINT name PRIMARY KEY|UNIQUE USING INDEX index
// [DEFERRABLE [INITIALLY DEFERRED]] (PostgreSQL renames the index to the
// constraint's name).
std::string AddConstraintUsingIndexSql(const std::string& schema, const std::string& table,
                                       const Constraint& constraint, const std::string& index);
// Whether a constraint's index can be built on its own and attached with
// USING INDEX (a primary key or unique constraint with no detail only
// CREATE INDEX could not reproduce).
bool CanAttachConstraintIndex(const Constraint& constraint);
// ALTER TABLE ... ADD CONSTRAINT, with NOT VALID when not `validated`.
std::string AddConstraintSql(const std::string& schema, const std::string& table,
                             const Constraint& constraint);
std::string CreateEnumSql(const std::string& schema, const EnumType& type);
// "AS bigint INCREMENT BY 1 MINVALUE 1 ... [NO] CYCLE": the options that are
// set (all of them for a sequence read from the catalog), without OWNED BY.
std::string SequenceOptionsSql(const Sequence& sequence);
// An identity's options as CREATE takes them ("START WITH 10 INCREMENT BY
// 5 NO CYCLE"), only those set but CYCLE; "" when none is set.
std::string IdentityOptionsSql(const IdentityOptions& options);
// The same as ALTER COLUMN takes them ("SET START WITH 10 SET NO CYCLE");
// pass WithDefaultIdentityOptions' result, so unset options are reset.
std::string SetIdentityOptionsSql(const IdentityOptions& options);
// `options` with every unset value set to PostgreSQL's default.
IdentityOptions WithDefaultIdentityOptions(const std::string& type, IdentityOptions options);
// `options` with the values PostgreSQL would choose for an identity column
// of `type` unset (the increment's sign decides the defaults).
IdentityOptions WithoutDefaultIdentityOptions(const std::string& type, IdentityOptions options);
// CREATE SEQUENCE schema.name <options> (OWNED BY follows separately, once
// the table exists: SequenceOwnedBySql).
std::string CreateSequenceSql(const std::string& schema, const Sequence& sequence);
// ALTER SEQUENCE schema.name <options>.
std::string AlterSequenceSql(const std::string& schema, const Sequence& sequence);
// ALTER SEQUENCE schema.name OWNED BY schema.table.column | NONE.
std::string SequenceOwnedBySql(const std::string& schema, const Sequence& sequence);
std::string CreateExtensionSql(const Extension& extension);

// "security_invoker=true, check_option=local": a view's options, "" for none.
std::string ViewOptionsSql(const View& view);
// CREATE [OR REPLACE] [MATERIALIZED] VIEW schema.name [WITH (options)] AS
// query [WITH [NO] DATA]. A materialized view is created WITH NO DATA when
// not `with_data` (its query does not run).
std::string CreateViewSql(const std::string& schema, const View& view, bool or_replace = false,
                          bool with_data = true);
// DROP [MATERIALIZED] VIEW schema.name
std::string DropViewSql(const std::string& schema, const View& view);
// COMMENT ON <what> <target> IS 'text' | NULL. `what`: "TABLE", "COLUMN",
// "VIEW", "MATERIALIZED VIEW"; `target` already quoted and qualified.
std::string CommentSql(const std::string& what, const std::string& target,
                       const std::string& comment);

// CREATE [OR REPLACE] FUNCTION|PROCEDURE schema.name(arguments) RETURNS
// ... LANGUAGE ... <attributes> AS 'body' (or the SQL-standard body).
// `config` entries are SET clauses as declared ("search_path = a, b"), or
// with `catalog_config` as pg_proc.proconfig stores them ("name=value").
std::string FunctionSql(const std::string& schema, const Function& function, bool or_replace,
                        bool catalog_config);
// DROP FUNCTION|PROCEDURE schema.name(identity arguments).
std::string DropFunctionSql(const std::string& schema, const Function& function);
// CREATE [CONSTRAINT] TRIGGER from a registry trigger's declared parts.
std::string CreateTriggerSql(const std::string& schema, const Trigger& trigger);
// DROP TRIGGER name ON schema.table.
std::string DropTriggerSql(const std::string& schema, const Trigger& trigger);
// ALTER TABLE schema.table ENABLE|DISABLE|ENABLE REPLICA|ENABLE ALWAYS
// TRIGGER name.
std::string TriggerEnabledSql(const std::string& schema, const Trigger& trigger);

// "a", "b" quoted and comma-separated.
std::string QuotedList(const std::vector<std::string>& names);

}  // namespace schemad

#endif  // SCHEMAD_DDL_DDL_H_
