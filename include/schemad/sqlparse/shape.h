// Offline checks of SQL text from a registry, with PostgreSQL's own grammar
// (libpg_query 15): each field must have exactly the shape its place in the
// DDL expects, before any SQL runs, so that no field can close its
// parenthesis and add clauses, columns or statements.
//
//   std::optional<ShapeError> e = CheckShape("size_bytes >= 0", SqlShape::kExpression);
//   if (e) { LineColumn at = OffsetToLineColumn(text, e->offset); ... }
//
// Thread-safe (libpg_query keeps its state per thread).
#ifndef SCHEMAD_SQLPARSE_SHAPE_H_
#define SCHEMAD_SQLPARSE_SHAPE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace schemad {

enum class SqlShape {
  // Exactly one value expression: the one target of a SELECT with no FROM,
  // WHERE or other clause, no subquery, as `SELECT (<text>)` parses it.
  kExpression,
  // A type name, as `SELECT NULL::<text>` parses it and nothing else.
  kTypeName,
  // A plain identifier (an index access method): [A-Za-z_][A-Za-z0-9_$]*.
  kIdentifier,
  // A possibly schema-qualified name (an operator class), each part plain
  // or double-quoted.
  kQualifiedName,
  // A view's query: exactly one SELECT (VALUES, set operations and WITH
  // included), as `CREATE VIEW v AS <text> WITH CASCADED CHECK OPTION`
  // parses it and nothing else (no trailing semicolon, no comment that
  // would swallow what follows it).
  kQuery,
  // One SET clause of a function: "search_path = pg_catalog, pg_temp", as
  // `SET <text>` parses it (a value, not FROM CURRENT or a reset).
  kSetting,
  // A SQL-standard routine body, `RETURN expression` or `BEGIN ATOMIC ...
  // END`, as CREATE FUNCTION ends with it, and nothing after it (a comment
  // that would swallow what follows included).
  kRoutineBody,
  // An exclusion constraint after CONSTRAINT name: "EXCLUDE USING gist (room
  // WITH =, during WITH &&)", as `ALTER TABLE t ADD CONSTRAINT c <text>`
  // parses it, and nothing after it.
  kExclusionConstraint,
};

struct ShapeError {
  std::string message;
  // 0-based byte offset into the checked text where the problem is, or -1.
  int offset = -1;
};

// Returns nothing when `text` has the shape, else what is wrong (an
// identifier PostgreSQL would shorten included, see OverlongIdentifiers).
std::optional<ShapeError> CheckShape(absl::string_view text, SqlShape shape);

// The identifiers in `text` (bare or double-quoted, as PostgreSQL's scanner
// reads them) longer than the 63 bytes PostgreSQL keeps: it would shorten
// each one silently, so that the object created or referred to is not the
// one written. One error per identifier, at its offset; text the scanner
// cannot read gives none (parsing it reports why).
std::vector<ShapeError> OverlongIdentifiers(absl::string_view text);

// Checks a function's argument list and return type together, as
// `CREATE FUNCTION f(<arguments>) RETURNS <returns> LANGUAGE sql AS ''`
// (or a procedure, without RETURNS) parses them and nothing else.
std::optional<ShapeError> CheckFunctionSignature(absl::string_view arguments,
                                                 absl::string_view returns, bool procedure);

// A CREATE [CONSTRAINT] TRIGGER statement taken apart (as
// pg_get_triggerdef prints one), for writing it back as a registry.
struct TriggerParts {
  std::string timing;               // "BEFORE", "AFTER", "INSTEAD OF"
  std::vector<std::string> events;  // "INSERT", "DELETE", "UPDATE", "TRUNCATE"
  std::vector<std::string> update_columns;
  bool for_each_row = false;
  std::string when;      // the condition, without its parentheses
  std::string function;  // name parts joined with ".", each quoted as needed
  std::vector<std::string> arguments;
  bool constraint = false;
  bool deferrable = false;
  bool initially_deferred = false;
  // REFERENCING OLD / NEW TABLE AS.
  std::string old_table;
  std::string new_table;
};
std::optional<TriggerParts> ParseTriggerDefinition(absl::string_view definition);

// The relations a query (kQuery's shape) reads by unqualified name:
// "users", "v_active" (CTE names included), sorted and unique. Empty when
// the text does not parse.
std::vector<std::string> UnqualifiedRelations(absl::string_view query);

// --- registry files in SQL ---------------------------------------------------

// What a statement of a SQL registry file declares: the allowlist.
enum class SqlStatementKind {
  kExtension,
  kEnum,
  kSequence,
  // ALTER SEQUENCE ... OWNED BY.
  kSequenceOwner,
  kFunction,
  kTable,
  kIndex,
  // ALTER TABLE ... ADD CONSTRAINT (other than a foreign key).
  kConstraint,
  kForeignKey,
  kView,
  kMaterializedView,
  // CREATE TRIGGER, and ALTER TABLE ... ENABLE / DISABLE TRIGGER.
  kTrigger,
  // ALTER TABLE ... ENABLE / DISABLE / FORCE / NO FORCE ROW LEVEL SECURITY,
  // and ALTER COLUMN ... SET STORAGE / COMPRESSION / STATISTICS.
  kTableProperty,
  // ALTER TABLE ... REPLICA IDENTITY.
  kReplicaIdentity,
  kComment,
};

// One statement of a SQL file, classified by PostgreSQL's grammar.
struct SqlStatement {
  // Byte offset of its first character in the file, and its text (without
  // the terminating semicolon).
  int offset = 0;
  std::string text;
  SqlStatementKind kind = SqlStatementKind::kTable;
  // The object it creates (for constraints, comments: "").
  std::string name;
  // The table an index, constraint or trigger belongs to; the relation a
  // comment is on (a column's, trigger's or constraint's table).
  std::string table;
  // Views: the relations the query reads unqualified. Functions: the type
  // names their arguments and result use, and the relations a SQL-standard
  // body reads unqualified.
  std::vector<std::string> reads;
  // Tables and constraints: the tables their foreign keys reference
  // unqualified (in the target schema).
  std::vector<std::string> references;
  // Its parse tree without locations, keys sorted: equal for statements
  // that differ only in formatting and comments (the registry fingerprint
  // takes it), from the parse that classified it.
  std::string normalized;
  // Enums: their labels. Extensions: [schema] when one is named.
  // Comments on a type or routine: [its object type, "OBJECT_TYPE", ...].
  std::vector<std::string> values;
};

struct SqlFileError {
  std::string message;
  int offset = -1;  // into the file; -1 when none
};

// Splits and classifies `text` (a registry's .sql file). Statements off the
// allowlist, objects named with a schema, temporary tables, concurrent
// index builds, materialized views not declared WITH NO DATA and functions
// in languages other than sql and plpgsql are errors (every one is
// reported); nothing is run.
std::vector<SqlStatement> ClassifySqlFile(absl::string_view text,
                                          std::vector<SqlFileError>* errors);

struct LineColumn {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

// Maps a 0-based byte offset into `text` to its 1-based line and column
// (offsets past the end map to the end). One mapping for every parser
// offset schemad reports, registry fields and SQL files alike.
LineColumn OffsetToLineColumn(absl::string_view text, int offset);

// The same mapping for many offsets into one text: the line starts are
// found once, and each offset is then a binary search (a SQL file of
// 10,000 statements maps each of them).
class LineIndex {
 public:
  explicit LineIndex(absl::string_view text);
  LineColumn At(int offset) const;

 private:
  std::vector<size_t> starts_;  // offset of each line's first byte
  size_t size_ = 0;
};

}  // namespace schemad

#endif  // SCHEMAD_SQLPARSE_SHAPE_H_
