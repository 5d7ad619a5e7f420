// The one schema model that both sides of a comparison become: the registry
// (after canonicalization by PostgreSQL) and the live database (read from
// its catalog). The differ sees only this type.
//
//   Schema s;  s.name = "public";
//   Table& t = s.tables.emplace_back();  t.name = "users";
//   SortSchema(s);  // collections by name: output is deterministic
//
// Definitions (`Constraint::definition`, `Index::definition`) are SQL text:
// from the registry, as its author wrote them; from the catalog, as
// PostgreSQL prints them (pg_get_constraintdef, pg_get_indexdef after
// "USING "). Plain values; thread-compatible.
#ifndef SCHEMAD_MODEL_MODEL_H_
#define SCHEMAD_MODEL_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schemad {

enum class Identity { kNone, kAlways, kByDefault };

// The options of an identity column's sequence. Unset: PostgreSQL's
// default for the column's type and the increment's sign (the catalog
// reader leaves defaults unset, so both sides compare alike).
struct IdentityOptions {
  std::optional<int64_t> increment;
  std::optional<int64_t> min_value;
  std::optional<int64_t> max_value;
  std::optional<int64_t> start;
  std::optional<int64_t> cache;
  bool cycle = false;
};

struct Column {
  std::string name;
  // As PostgreSQL spells it ("character varying(320)"); from the registry
  // possibly "bigserial", which canonicalization turns into bigint with an
  // owned sequence.
  std::string type;
  // COLLATE as SQL names it ("\"C\"", "public.german"); "" for the type's
  // own collation.
  std::string collation;
  bool not_null = false;
  std::string default_expr;
  Identity identity = Identity::kNone;
  // Identity columns only.
  IdentityOptions identity_options;
  // Expression of a stored generated column; empty when not generated.
  std::string generated;
  // Catalog only: the sequence owned by this column and used by its default
  // (serial/bigserial). Empty otherwise.
  std::string serial_sequence;
  // Registry only: how existing values convert on a type change (the
  // expression of ALTER COLUMN ... TYPE ... USING); empty: a cast.
  std::string using_expr;
  // COMMENT ON COLUMN; "" for none.
  std::string comment;
  // Catalog only: whether the default calls a volatile function (nextval,
  // gen_random_uuid, ...), which makes ADD COLUMN rewrite the table.
  bool volatile_default = false;
  // Where the registry declares it ("file:line:col"); empty from catalog.
  std::string source;
  // ALTER COLUMN ... SET STORAGE ("plain", "external", "extended", "main";
  // "" for the type's), SET COMPRESSION ("pglz", "lz4"; "" for the server's
  // default) and SET STATISTICS (-1 for the default target).
  std::string storage;
  std::string compression;
  int64_t statistics = -1;
  // ALTER COLUMN ... SET (...): "n_distinct=100", sorted (NormalizedStorage).
  std::vector<std::string> options;
  // Catalog only: the type's own storage (what SET STORAGE goes back to:
  // PostgreSQL 15 has no SET STORAGE DEFAULT).
  std::string type_storage;
};

enum class ConstraintKind { kPrimaryKey, kUnique, kForeignKey, kCheck, kExclusion };

// A referential action as SQL spells it: "NO ACTION", "CASCADE", ...
// What a foreign key does when its referenced row is deleted or updated.
enum class ReferentialAction { kNoAction, kRestrict, kCascade, kSetNull, kSetDefault };
// As SQL writes it: "NO ACTION", "SET NULL".
const char* ReferentialActionSql(ReferentialAction action);

struct Constraint {
  std::string name;
  ConstraintKind kind = ConstraintKind::kCheck;
  std::vector<std::string> columns;
  // "PRIMARY KEY (id)", "FOREIGN KEY (a) REFERENCES t(id) ON DELETE CASCADE",
  // "CHECK ((x >= 0))"; never carries NOT VALID (see `validated`).
  std::string definition;
  bool validated = true;
  // Foreign keys.
  std::string ref_table;
  // The referenced table's schema when it is not the constraint's own;
  // empty otherwise.
  std::string ref_schema;
  std::vector<std::string> ref_columns;
  ReferentialAction on_delete = ReferentialAction::kNoAction;
  ReferentialAction on_update = ReferentialAction::kNoAction;
  bool deferrable = false;
  bool initially_deferred = false;
  // Unique constraints.
  bool nulls_not_distinct = false;
  // Check constraints: the boolean expression, and NO INHERIT.
  std::string check_expr;
  bool no_inherit = false;
  std::string source;
  // COMMENT ON CONSTRAINT; "" for none.
  std::string comment;
  // Primary keys and unique constraints: their index's INCLUDE columns and
  // storage parameters ("fillfactor=70", sorted).
  std::vector<std::string> include;
  std::vector<std::string> storage;
  // Foreign keys: MATCH FULL, and the columns ON DELETE SET NULL / SET
  // DEFAULT sets (all of them when empty).
  bool match_full = false;
  std::vector<std::string> delete_set_columns;
  // Exclusion constraints: everything after CONSTRAINT name, as
  // pg_get_constraintdef prints it ("EXCLUDE USING gist (...)").
  std::string exclusion;
};

struct IndexKey {
  // Exactly one of column and expression is set.
  std::string column;
  std::string expression;
  std::string opclass;
  bool descending = false;
  enum class Nulls { kDefault, kFirst, kLast } nulls = Nulls::kDefault;
  // COLLATE when not the column's (an expression's: its type's); "" else.
  std::string collation;
};

struct Index {
  std::string name;
  bool unique = false;
  std::string method = "btree";
  std::vector<IndexKey> keys;
  std::vector<std::string> include;
  std::string predicate;
  // Everything after "USING ": "btree (lower((email)::text)) WHERE ...".
  std::string definition;
  bool valid = true;
  // Catalog only: the table's columns the index depends on (keys,
  // expressions, predicate), sorted.
  std::vector<std::string> columns;
  std::string source;
  // COMMENT ON INDEX; "" for none.
  std::string comment;
  bool nulls_not_distinct = false;
  // WITH (...): "fillfactor=70", sorted (NormalizedStorage).
  std::vector<std::string> storage;
};

enum class TriggerTiming { kBefore, kAfter, kInsteadOf };
enum class TriggerEnabled { kEnabled, kDisabled, kReplica, kAlways };

// A trigger on a table. From the registry its parts are declared and
// `definition` is composed from them; from the catalog (and after
// canonicalization) `definition` is pg_get_triggerdef's and the parts are
// not read: compare definitions only.
struct Trigger {
  std::string name;
  std::string table;
  std::string definition;
  bool constraint = false;
  TriggerEnabled enabled = TriggerEnabled::kEnabled;
  std::string comment;
  // Registry only: the declared parts.
  TriggerTiming timing = TriggerTiming::kBefore;
  std::vector<std::string> events;  // "INSERT", "UPDATE", "DELETE", "TRUNCATE"
  std::vector<std::string> update_columns;
  bool for_each_row = false;
  std::string when;
  std::string function;  // possibly qualified, as declared
  std::vector<std::string> arguments;
  bool deferrable = false;
  bool initially_deferred = false;
  // REFERENCING OLD TABLE AS / NEW TABLE AS ("" for none).
  std::string old_table;
  std::string new_table;
  // Catalog only: the columns it reads ("table.column") and the function
  // it calls ("name(identity arguments)", when in the same schema).
  std::vector<std::string> depends_on;
  std::string source;
};

enum class ReplicaIdentity { kDefault, kFull, kNothing, kUsingIndex };

struct Table {
  std::string name;
  std::vector<Column> columns;  // in declaration (attnum) order
  std::vector<Constraint> constraints;
  std::vector<Index> indexes;
  std::vector<Trigger> triggers;
  // COMMENT ON TABLE; "" for none.
  std::string comment;
  // CREATE UNLOGGED TABLE.
  bool unlogged = false;
  // ALTER TABLE ... ENABLE / FORCE ROW LEVEL SECURITY.
  bool row_security = false;
  bool force_row_security = false;
  // Storage parameters, WITH (...): "fillfactor=70", sorted.
  std::vector<std::string> storage;
  // ALTER TABLE ... REPLICA IDENTITY; the index's name with kUsingIndex (""
  // when the database's index is gone).
  ReplicaIdentity replica_identity = ReplicaIdentity::kDefault;
  std::string replica_identity_index;
  std::string source;

  const Column* FindColumn(const std::string& column_name) const;
  const Trigger* FindTrigger(const std::string& trigger_name) const;
  const Constraint* FindConstraint(const std::string& constraint_name) const;
  const Index* FindIndex(const std::string& index_name) const;
};

struct EnumType {
  std::string name;
  std::vector<std::string> labels;  // in sort order
  std::string source;
  // COMMENT ON TYPE; "" for none.
  std::string comment = "";
};

struct Extension {
  std::string name;
  std::string schema;  // empty: the server's choice
  std::string source;
};

// A sequence of its own: not a serial column's (part of its column) nor an
// identity's. From the registry, options not declared are unset (and
// PostgreSQL's defaults after canonicalization); from the catalog, all set.
struct Sequence {
  std::string name;
  std::string type = "bigint";
  std::optional<int64_t> increment;
  std::optional<int64_t> min_value;
  std::optional<int64_t> max_value;
  std::optional<int64_t> start;
  std::optional<int64_t> cache;
  bool cycle = false;
  // The column that owns it (OWNED BY), or "" for both.
  std::string owned_by_table;
  std::string owned_by_column;
  std::string source;
  // COMMENT ON SEQUENCE; "" for none.
  std::string comment;
};

enum class CheckOption { kNone, kLocal, kCascaded };

// A view or materialized view. `query` is the registry's text, and from
// the catalog (and after canonicalization) pg_get_viewdef's: compare the
// canonical forms only.
struct View {
  std::string name;
  bool materialized = false;
  std::string query;
  bool security_invoker = false;
  bool security_barrier = false;
  CheckOption check_option = CheckOption::kNone;
  std::string comment;
  // Materialized views: storage parameters ("fillfactor=70"), sorted.
  std::vector<std::string> storage;
  // Materialized views: their indexes.
  std::vector<Index> indexes;
  // Catalog only: the output columns (name and type, in order).
  std::vector<Column> columns;
  // What the query reads in the same schema: from the catalog "table" for
  // a relation (table or view) and "table.column" for each of its columns;
  // from the registry the relation names its query uses unqualified.
  std::vector<std::string> depends_on;
  std::string source;
  // Triggers on the view (INSTEAD OF ..., statement-level BEFORE / AFTER).
  std::vector<Trigger> triggers;

  const Index* FindIndex(const std::string& index_name) const;
  const Trigger* FindTrigger(const std::string& trigger_name) const;
};

enum class Volatility { kVolatile, kStable, kImmutable };
enum class ParallelSafety { kUnsafe, kRestricted, kSafe };

// A function or procedure, known by its name and argument types.
struct Function {
  std::string name;
  // The argument list: from the registry as declared, from the catalog as
  // pg_get_function_arguments prints it (names, modes and defaults).
  std::string arguments;
  // Catalog only: the input argument types alone ("integer, text", as
  // oidvectortypes prints proargtypes), which with the name identify it.
  std::string identity;
  // The return type ("integer", "SETOF users", "TABLE(a integer)"); "" for
  // a procedure.
  std::string returns;
  std::string language;
  std::string body;
  // The body is SQL-standard (BEGIN ATOMIC ... END or RETURN ...), written
  // after the attributes rather than as a string.
  bool sql_body = false;
  Volatility volatility = Volatility::kVolatile;
  bool strict = false;
  bool security_definer = false;
  ParallelSafety parallel = ParallelSafety::kUnsafe;
  // SET clauses: from the registry as declared ("search_path = a, b"), from
  // the catalog as proconfig stores them ("search_path=a, b").
  std::vector<std::string> config;
  bool procedure = false;
  std::string comment;
  std::string source;
  bool leakproof = false;
  // COST and ROWS; 0 where PostgreSQL's default (the catalog's values are
  // read that way too).
  double cost = 0;
  double rows = 0;

  // "name(identity)": the key of a function read from the catalog.
  std::string Key() const { return name + "(" + identity + ")"; }
};

// An object of a kind schemad does not manage yet, read so that it can be
// reported (never dropped): "view", "function", "trigger", ...
// Kinds of objects schemad reports but does not manage (Change::kUnmanaged
// differences).
enum class UnmanagedKind {
  kFunction,  // aggregates and window functions
  kTrigger,   // of relations other than tables
  kPolicy,
  kRule,
  kForeignTable,
  kDomain,
  kCompositeType,
  kStatistics,
  kInheritance,   // a table's INHERITS (not a partition's parent)
  kPartitioning,  // a table's PARTITION BY
  kPartition,
};

// The catalog's name of each kind ("foreign_table", "composite_type").
const char* UnmanagedKindName(UnmanagedKind kind);
// The kind the catalog names `name`; nothing for a name of no kind.
std::optional<UnmanagedKind> UnmanagedKindFromName(std::string_view name);

struct UnmanagedObject {
  UnmanagedKind kind = UnmanagedKind::kFunction;
  // Within the schema: "v_items", "items.trg_touch", "lower_email(text)".
  std::string name;
  // The table it belongs to (triggers, policies, rules), or "".
  std::string table;
};

struct Schema {
  std::string name = "public";
  // False when the catalog found no such schema.
  bool exists = true;
  std::vector<Table> tables;
  std::vector<EnumType> enums;
  std::vector<Extension> extensions;
  std::vector<Sequence> sequences;
  std::vector<View> views;
  // By Key() (sorted); from the registry, by name and declared arguments.
  std::vector<Function> functions;
  // Catalog only.
  std::vector<UnmanagedObject> unmanaged;
  // Glob patterns of database objects the registry ignores.
  std::vector<std::string> ignore;

  const Table* FindTable(const std::string& table_name) const;
  const EnumType* FindEnum(const std::string& enum_name) const;
  const Extension* FindExtension(const std::string& extension_name) const;
  const Sequence* FindSequence(const std::string& sequence_name) const;
  const View* FindView(const std::string& view_name) const;
  // By Key(): "name(identity arguments)".
  const Function* FindFunction(const std::string& key) const;
};

// Sorts tables, enums, extensions, sequences, views, and each table's (and
// materialized view's) constraints and indexes by name. Column order is kept (it is not a
// difference, but it is how a new table is created).
void SortSchema(Schema& schema);

// Returns a canonical text serialization of everything the differ compares
// (used for fingerprints): equal schemas serialize equally.
std::string SerializeForFingerprint(const Schema& schema);

// Whether the function's arguments or result name a table or view of
// `schema` (its row type), or its SQL-standard body (RETURN ..., BEGIN
// ATOMIC), which PostgreSQL binds when the function is created, names one:
// it is then created after them.
bool UsesRelationTypes(const Function& function, const Schema& schema);

// For functions given as (name, SQL text naming what it calls), the place
// (1..n) of each in an order where a function comes after the others its
// text names, in the given order otherwise (a cycle stays as it is). A
// SQL-standard body (RETURN ..., BEGIN ATOMIC) binds its calls when it is
// created, so what it calls must exist first.
std::vector<int> CallOrder(const std::vector<std::pair<std::string, std::string>>& functions);

// The schema's views, each after the views it reads (`depends_on`), in
// declaration order otherwise; a cycle is left as it is, for PostgreSQL to
// refuse.
std::vector<const View*> ViewsInDependencyOrder(const Schema& schema);

// Returns the referential action for pg_constraint's confdeltype/confupdtype
// character ('a' -> "NO ACTION", 'c' -> "CASCADE", ...).
ReferentialAction ReferentialActionFromCode(char code);

}  // namespace schemad

#endif  // SCHEMAD_MODEL_MODEL_H_
