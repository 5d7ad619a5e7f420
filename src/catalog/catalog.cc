#include "catalog/catalog.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "catalog/queries.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"
#include "schemad/plan/plan.h"

namespace schemad {
namespace {

// Function names called in `expr` (identifiers followed by '('), outside
// string literals.
std::set<std::string> CalledFunctions(const std::string& expr) {
  std::set<std::string> out;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '\'') {
      for (++i; i < expr.size(); ++i) {
        if (expr[i] == '\'') {
          if (i + 1 < expr.size() && expr[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < expr.size() && (std::isalnum(static_cast<unsigned char>(expr[j])) ||
                                 expr[j] == '_' || expr[j] == '.')) {
        ++j;
      }
      std::string name = expr.substr(i, j - i);
      size_t k = j;
      while (k < expr.size() && expr[k] == ' ') ++k;
      if (k < expr.size() && expr[k] == '(') {
        const size_t dot = name.rfind('.');
        out.insert(dot == std::string::npos ? name : name.substr(dot + 1));
      }
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

bool Bool(const pqxx::field& f) { return f.as<bool>(); }

}  // namespace

void SetSearchPath(ConnectionPool& pool, pqxx::transaction_base& tx,
                   const std::vector<std::string>& schemas) {
  std::vector<std::string> quoted;
  for (const std::string& s : schemas) quoted.push_back(QuoteIdent(s));
  ExecParams(pool, tx, "SELECT set_config('search_path', $1, true)",
             absl::StrJoin(quoted, ", "));
}

Schema ReadSchema(ConnectionPool& pool, pqxx::transaction_base& tx,
                  const std::string& schema_name) {
  Schema schema;
  schema.name = schema_name;
  schema.exists = ExecParams(pool, tx, queries::kSchemaExists, schema_name)[0][0].as<bool>();
  if (!schema.exists) {
    for (const auto& row : ExecParams(pool, tx, queries::kExtensions, schema_name)) {
      schema.extensions.push_back({row[0].as<std::string>(), row[1].as<std::string>(), ""});
    }
    return schema;
  }
  std::map<std::string, Table*> tables;
  const pqxx::result table_rows = ExecParams(pool, tx, queries::kTables, schema_name);
  schema.tables.reserve(table_rows.size());
  for (const auto& row : table_rows) {
    Table& t = schema.tables.emplace_back();
    t.name = row[0].as<std::string>();
  }
  for (Table& t : schema.tables) tables[t.name] = &t;

  for (const auto& row : ExecParams(pool, tx, queries::kColumns, schema_name)) {
    auto it = tables.find(row[0].as<std::string>());
    if (it == tables.end()) continue;
    Column& c = it->second->columns.emplace_back();
    c.name = row[1].as<std::string>();
    c.type = row[2].as<std::string>();
    c.not_null = Bool(row[3]);
    const std::string expr = row[4].as<std::string>();
    const std::string identity = row[5].as<std::string>();
    const std::string generated = row[6].as<std::string>();
    if (generated == "s") {
      c.generated = expr;
    } else {
      c.default_expr = expr;
    }
    c.identity = identity == "a"   ? Identity::kAlways
                 : identity == "d" ? Identity::kByDefault
                                   : Identity::kNone;
    const std::string sequence = row[7].as<std::string>();
    if (!sequence.empty() && absl::StartsWith(c.default_expr, "nextval(")) {
      c.serial_sequence = sequence;
    }
  }

  for (const auto& row : ExecParams(pool, tx, queries::kConstraints, schema_name)) {
    auto it = tables.find(row[0].as<std::string>());
    if (it == tables.end()) continue;
    Constraint& c = it->second->constraints.emplace_back();
    c.name = row[1].as<std::string>();
    const std::string type = row[2].as<std::string>();
    c.kind = type == "p"   ? ConstraintKind::kPrimaryKey
             : type == "u" ? ConstraintKind::kUnique
             : type == "f" ? ConstraintKind::kForeignKey
                           : ConstraintKind::kCheck;
    std::string def = row[3].as<std::string>();
    if (absl::EndsWith(def, " NOT VALID")) def.resize(def.size() - 10);
    c.definition = def;
    c.validated = Bool(row[4]);
    c.columns = ArrayField(row[5]);
    c.ref_table = row[6].as<std::string>();
    c.ref_columns = ArrayField(row[7]);
    c.on_delete = ReferentialActionFromCode(row[8].as<std::string>()[0]);
    c.on_update = ReferentialActionFromCode(row[9].as<std::string>()[0]);
    c.deferrable = Bool(row[10]);
    c.initially_deferred = Bool(row[11]);
    c.check_expr = row[12].as<std::string>();
    c.nulls_not_distinct = absl::StartsWith(def, "UNIQUE NULLS NOT DISTINCT");
  }

  for (const auto& row : ExecParams(pool, tx, queries::kIndexes, schema_name)) {
    auto it = tables.find(row[0].as<std::string>());
    if (it == tables.end()) continue;
    Index& index = it->second->indexes.emplace_back();
    index.name = row[1].as<std::string>();
    index.unique = Bool(row[2]);
    index.method = row[3].as<std::string>();
    index.valid = Bool(row[4]);
    index.definition = row[5].as<std::string>();
    const std::vector<std::string> keys = ArrayField(row[6]);
    const std::vector<std::string> key_columns = ArrayField(row[7]);
    const std::vector<std::string> opclasses = ArrayField(row[8]);
    const std::vector<std::string> options = ArrayField(row[9]);
    index.predicate = row[10].as<std::string>();
    index.columns = ArrayField(row[11]);
    const size_t nkeys = row[12].as<size_t>();
    for (size_t k = 0; k < nkeys && k < keys.size(); ++k) {
      IndexKey& key = index.keys.emplace_back();
      if (k < key_columns.size() && !key_columns[k].empty()) {
        key.column = key_columns[k];
      } else {
        key.expression = keys[k];
      }
      if (k < opclasses.size()) key.opclass = opclasses[k];
      const int option = k < options.size() ? std::atoi(options[k].c_str()) : 0;
      key.descending = (option & 1) != 0;
      const bool nulls_first = (option & 2) != 0;
      if (key.descending && !nulls_first) key.nulls = IndexKey::Nulls::kLast;
      if (!key.descending && nulls_first) key.nulls = IndexKey::Nulls::kFirst;
    }
    for (size_t k = nkeys; k < key_columns.size(); ++k) index.include.push_back(key_columns[k]);
  }

  for (const auto& row : ExecParams(pool, tx, queries::kEnums, schema_name)) {
    schema.enums.push_back({row[0].as<std::string>(), ArrayField(row[1]), ""});
  }
  for (const auto& row : ExecParams(pool, tx, queries::kExtensions, schema_name)) {
    schema.extensions.push_back({row[0].as<std::string>(), row[1].as<std::string>(), ""});
  }
  for (const auto& row : ExecParams(pool, tx, queries::kSequences, schema_name)) {
    schema.sequences.push_back({row[0].as<std::string>()});
  }
  SortSchema(schema);
  return schema;
}

std::set<std::string> TablesWithRows(ConnectionPool& pool, pqxx::transaction_base& tx,
                                     const std::string& schema_name,
                                     const std::vector<std::string>& tables) {
  std::set<std::string> out;
  // Batches keep each statement a reasonable size; the numbers are ours,
  // the table names quoted identifiers.
  constexpr size_t kBatch = 200;
  for (size_t start = 0; start < tables.size(); start += kBatch) {
    std::vector<std::string> parts;
    for (size_t i = start; i < tables.size() && i < start + kBatch; ++i) {
      parts.push_back(absl::StrCat("SELECT ", i, " WHERE EXISTS (SELECT 1 FROM ",
                                   QualifiedName(schema_name, tables[i]), ")"));
    }
    for (const auto& row : Exec(pool, tx, absl::StrJoin(parts, " UNION ALL "))) {
      out.insert(tables[row[0].as<size_t>()]);
    }
  }
  return out;
}

absl::StatusOr<Schema> Canonicalize(ConnectionPool& pool, pqxx::connection& conn,
                                    const Registry& registry) {
  static std::atomic<int> counter{0};
  const std::string scratch = absl::StrCat("schemad_scratch_", getpid(), "_", counter++);
  const Schema& want = registry.schema;

  struct Statement {
    std::string sql;
    std::string source;
    std::string what;
  };
  std::vector<Statement> statements;
  statements.push_back({absl::StrCat("CREATE SCHEMA ", QuoteIdent(scratch)), "", "scratch schema"});
  for (const Extension& e : want.extensions) {
    statements.push_back({CreateExtensionSql(e), e.source, absl::StrCat("extension ", e.name)});
  }
  for (const EnumType& e : want.enums) {
    statements.push_back({CreateEnumSql(scratch, e), e.source, absl::StrCat("enum type ", e.name)});
  }
  for (const Table& t : want.tables) {
    statements.push_back({CreateTableSql(scratch, t), t.source, absl::StrCat("table ", t.name)});
  }
  for (const Table& t : want.tables) {
    for (const Index& i : t.indexes) {
      statements.push_back({CreateIndexSql(scratch, t.name, i), i.source,
                            absl::StrCat("index ", i.name)});
    }
    for (const Constraint& c : t.constraints) {
      if (c.kind != ConstraintKind::kForeignKey) continue;
      statements.push_back({AddConstraintSql(scratch, t.name, c), c.source,
                            absl::StrCat("foreign key ", c.name)});
    }
  }

  Schema result;
  std::vector<std::string> volatile_functions;
  bool batch_failed = false;
  absl::Status status = Guard("canonicalizing the registry", [&]() -> absl::Status {
    pqxx::work tx(conn);
    pool.Count(2);  // BEGIN, ROLLBACK
    // Scratch objects first; the target schema next, so that objects the
    // registry uses from it (extension functions) print as they do there.
    SetSearchPath(pool, tx, {scratch, want.name});
    try {
      pqxx::subtransaction batch(tx, "schemad_batch");
      std::vector<std::string> sql;
      for (const Statement& s : statements) sql.push_back(s.sql);
      Exec(pool, batch, absl::StrJoin(sql, ";\n"));
      batch.commit();
    } catch (const pqxx::sql_error&) {
      batch_failed = true;
    }
    if (batch_failed) {
      // Run the statements one by one to name the declaration at fault.
      for (const Statement& s : statements) {
        try {
          Exec(pool, tx, s.sql);
        } catch (...) {
          const std::string where = s.source.empty() ? "" : absl::StrCat(s.source, ": ");
          return StatusFromCurrentException(
              absl::StrCat(where, "PostgreSQL rejected the registry's ", s.what),
              absl::StatusCode::kInvalidArgument);
        }
      }
      return absl::InternalError("the registry failed to apply as a batch but not alone");
    }
    result = ReadSchema(pool, tx, scratch);
    for (const auto& row : Exec(pool, tx, queries::kVolatileFunctions)) {
      volatile_functions.push_back(row[0].as<std::string>());
    }
    tx.abort();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;

  const std::set<std::string> volatile_set(volatile_functions.begin(), volatile_functions.end());
  result.name = want.name;
  result.exists = true;
  result.extensions = want.extensions;
  result.ignore = want.ignore;
  for (Table& t : result.tables) {
    const Table* source_table = want.FindTable(t.name);
    if (source_table != nullptr) t.source = source_table->source;
    for (Column& c : t.columns) {
      for (const std::string& fn : CalledFunctions(c.default_expr)) {
        if (volatile_set.count(fn)) c.volatile_default = true;
      }
    }
  }
  return result;
}

}  // namespace schemad
