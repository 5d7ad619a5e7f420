#include "catalog/catalog.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "catalog/queries.h"
#include "db/pool.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"
#include "schemad/ddl/ddl.h"

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

// Every catalog field PostgreSQL allows to be NULL is read as optional
// (conkey of a CHECK that names no column, an expression of a dropped
// object, ...): NULL reads as "", false or 0.
bool Bool(const pqxx::field& f) { return !f.is_null() && f.as<bool>(); }
std::string Text(const pqxx::field& f) {
  return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
}
int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

}  // namespace

namespace {

// Sets search_path for this transaction only.
void SetSearchPath(ConnectionPool& pool, pqxx::transaction_base& tx,
                   const std::vector<std::string>& schemas) {
  std::vector<std::string> quoted;
  for (const std::string& s : schemas) quoted.push_back(QuoteIdent(s));
  ExecParams(pool, tx, "SELECT pg_catalog.set_config('search_path', $1, true)",
             absl::StrJoin(quoted, ", "));
}

// An integer array field (int2[], oid[]: int2vector and oidvector are cast
// to arrays in SQL) -> numbers; NULL -> none.
std::vector<int64_t> Numbers(const pqxx::field& field) {
  std::vector<int64_t> out;
  for (const std::string& value : ArrayField(field)) {
    if (int64_t n = 0; absl::SimpleAtoi(value, &n)) out.push_back(n);
  }
  return out;
}

struct TableInfo {
  Table* table = nullptr;
  std::map<int64_t, std::string> names;   // attnum -> column name
  std::map<int64_t, int64_t> collations;  // attnum -> attcollation
};

std::vector<std::string> ColumnNames(const TableInfo& info, const std::vector<int64_t>& attnums) {
  std::vector<std::string> out;
  for (int64_t n : attnums) {
    auto it = info.names.find(n);
    out.push_back(it == info.names.end() ? absl::StrCat("#", n) : it->second);
  }
  return out;
}

// A result's columns by name (each query names every column it returns).
// A name the query lacks throws, so a query and its reader cannot drift
// apart as positions could. Names are string literals: each is looked up
// once per result, then found by its address.
class Fields {
 public:
  explicit Fields(const pqxx::result& result) : result_(result) {}
  pqxx::row::size_type operator()(const char* name) {
    for (const auto& [known, index] : seen_) {
      if (known == name) return index;
    }
    const pqxx::row::size_type index = result_.column_number(name);
    seen_.emplace_back(name, index);
    return index;
  }

 private:
  const pqxx::result& result_;
  std::vector<std::pair<const char*, pqxx::row::size_type>> seen_;
};

// Finds the table a row belongs to. Rows come ordered by table name, so the
// table found last is usually the next row's too (the map lookup was a tenth
// of a 1,000-table read's CPU).
class TableFinder {
 public:
  using Map = std::map<std::string, TableInfo>;
  explicit TableFinder(Map& tables) : tables_(tables), last_(tables.end()) {}
  Map::iterator operator()(const pqxx::field& name) {
    const std::string_view text(name.c_str(), name.size());
    if (last_ != tables_.end() && last_->first == text) return last_;
    last_ = tables_.find(std::string(text));
    return last_;
  }

 private:
  Map& tables_;
  Map::iterator last_;
};

}  // namespace

std::shared_ptr<const DeparseCache::Map> DeparseCache::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return map_;
}

void DeparseCache::Add(const Map& entries) {
  if (entries.empty()) return;
  absl::MutexLock lock(&mu_);
  // Copy on write: readers keep the snapshot they took. Bounded: past the
  // limit, start again from what this read found.
  auto next = std::make_shared<Map>(map_->size() + entries.size() > kMaxEntries ? Map() : *map_);
  for (const auto& [key, texts] : entries) (*next)[key] = texts;
  map_ = std::move(next);
}

void RegisterQueries(Database& db) {
  std::vector<ConnectionPool::Prepared> statements;
  for (const queries::NamedQuery& q : queries::kPrepared) statements.push_back({q.name, q.sql});
  PoolOf(db).Register(statements);
}

namespace {

// ReadSchema on libpqxx's transactions. Throws libpqxx exceptions.
Schema ReadSchemaIn(ConnectionPool& pool, pqxx::transaction_base& tx,
                    const std::string& schema_name, pqxx::transaction_base* helper,
                    DeparseCache* cache) {
  Schema schema;
  schema.name = schema_name;
  // Expressions deparsed before (and unchanged since: see queries.h) are
  // not deparsed again, so a locked table never makes the read wait.
  const std::shared_ptr<const DeparseCache::Map> known =
      cache != nullptr ? cache->Snapshot() : std::make_shared<const DeparseCache::Map>();
  std::vector<std::string> keys;
  keys.reserve(known->size());
  for (const auto& [key, texts] : *known) keys.push_back(key);
  const std::string known_keys = ArrayLiteral(keys);
  DeparseCache::Map fresh;
  // The cached texts for `key`, or nothing.
  auto cached = [&](const pqxx::field& key) -> const std::vector<std::string>* {
    if (key.is_null()) return nullptr;
    auto it = known->find(key.as<std::string>());
    return it == known->end() ? nullptr : &it->second;
  };
  // The queries, longest first (measured at docbot's size and at 1,000
  // tables). With a helper transaction (same snapshot, another connection),
  // both connections take the next query whenever they finish one, so the
  // work splits evenly at any size; assembly is sequential.
  pqxx::result exists_rows, table_rows, columns_rows, constraint_rows, index_rows, lookup_rows,
      enum_rows, extension_rows, sequence_rows, unmanaged_rows, view_rows, function_rows,
      trigger_rows;
  struct Fetch {
    const char* name;
    bool with_keys;  // takes the known deparse keys as $2
    pqxx::result* out;
  };
  const Fetch fetches[] = {
      {"schemad_columns", true, &columns_rows},
      {"schemad_constraints", true, &constraint_rows},
      {"schemad_indexes", true, &index_rows},
      {"schemad_sequences", false, &sequence_rows},
      {"schemad_tables", false, &table_rows},
      {"schemad_functions", false, &function_rows},
      {"schemad_unmanaged", false, &unmanaged_rows},
      {"schemad_index_lookups", false, &lookup_rows},
      {"schemad_views", true, &view_rows},
      {"schemad_triggers", true, &trigger_rows},
      {"schemad_enums", false, &enum_rows},
      {"schemad_extensions", false, &extension_rows},
      {"schemad_schema_exists", false, &exists_rows},
  };
  std::atomic<size_t> next_fetch{0};
  auto fetch_all = [&](pqxx::transaction_base& on) {
    for (size_t k = next_fetch++; k < std::size(fetches); k = next_fetch++) {
      const Fetch& f = fetches[k];
      *f.out = f.with_keys ? ExecPrepared(pool, on, f.name, schema_name, known_keys)
                           : ExecPrepared(pool, on, f.name, schema_name);
    }
  };
  std::exception_ptr helper_error;
  std::thread helper_thread;
  if (helper != nullptr) {
    helper_thread = std::thread([&] {
      try {
        fetch_all(*helper);
      } catch (...) {
        helper_error = std::current_exception();
        next_fetch = std::size(fetches);  // the main connection stops too
      }
    });
  }
  absl::Cleanup join = [&] {
    if (helper_thread.joinable()) helper_thread.join();
  };
  try {
    fetch_all(tx);
  } catch (...) {
    next_fetch = std::size(fetches);  // the helper stops after its query
    throw;
  }
  if (helper_thread.joinable()) {
    helper_thread.join();
    if (helper_error) std::rethrow_exception(helper_error);
  }
  schema.exists = exists_rows[0][0].as<bool>();

  Fields ef(extension_rows);
  for (const auto& row : extension_rows) {
    schema.extensions.push_back({Text(row[ef("name")]), Text(row[ef("schema")]), ""});
  }
  if (!schema.exists) return schema;
  std::map<std::string, TableInfo> tables;
  schema.tables.reserve(table_rows.size());
  Fields tf(table_rows);
  for (const auto& row : table_rows) {
    Table& t = schema.tables.emplace_back();
    t.name = Text(row[tf("name")]);
    t.comment = Text(row[tf("comment")]);
    t.unlogged = Bool(row[tf("unlogged")]);
    t.row_security = Bool(row[tf("row_security")]);
    t.force_row_security = Bool(row[tf("force_row_security")]);
    t.storage = NormalizedStorage(ArrayField(row[tf("storage")]));
    const std::string replident = Text(row[tf("replica_identity")]);
    t.replica_identity = replident == "f"   ? ReplicaIdentity::kFull
                         : replident == "n" ? ReplicaIdentity::kNothing
                         : replident == "i" ? ReplicaIdentity::kUsingIndex
                                            : ReplicaIdentity::kDefault;
    t.replica_identity_index = Text(row[tf("replica_identity_index")]);
    // USING INDEX whose index was dropped: PostgreSQL then writes no old
    // key at all, as with NOTHING.
    if (t.replica_identity == ReplicaIdentity::kUsingIndex && t.replica_identity_index.empty()) {
      t.replica_identity = ReplicaIdentity::kNothing;
    }
  }
  for (Table& t : schema.tables) tables[t.name].table = &t;
  // Views' columns and (materialized views') indexes are read as a table's
  // are, into a stand-in table each, then moved to their view.
  std::deque<Table> view_tables;
  Fields vf(view_rows);
  for (const auto& row : view_rows) {
    View& view = schema.views.emplace_back();
    view.name = Text(row[vf("name")]);
    view.materialized = Bool(row[vf("materialized")]);
    // pg_get_viewdef ends the query with a semicolon: the model's query
    // is the query alone, as a registry writes it.
    view.query = std::string(absl::StripSuffix(Text(row[vf("query")]), ";"));
    if (const std::vector<std::string>* hit = cached(row[vf("query_key")]);
        hit != nullptr && row[vf("query")].is_null()) {
      view.query = hit->at(0);
    } else if (!row[vf("query_key")].is_null()) {
      fresh[row[vf("query_key")].as<std::string>()] = {view.query};
    }
    for (const std::string& option : ArrayField(row[vf("options")])) {
      const size_t eq = option.find('=');
      const std::string name = absl::AsciiStrToLower(option.substr(0, eq));
      const std::string value =
          eq == std::string::npos ? "true" : absl::AsciiStrToLower(option.substr(eq + 1));
      const bool on = value == "true" || value == "on" || value == "1" || value == "yes";
      if (name == "security_invoker") view.security_invoker = on;
      if (name == "security_barrier") view.security_barrier = on;
      if (name != "security_invoker" && name != "security_barrier" && name != "check_option") {
        view.storage.push_back(option);
      }
      if (name == "check_option") {
        view.check_option = value == "local"      ? CheckOption::kLocal
                            : value == "cascaded" ? CheckOption::kCascaded
                                                  : CheckOption::kNone;
      }
    }
    view.storage = NormalizedStorage(view.storage);
    view.comment = Text(row[vf("comment")]);
    view.depends_on = ArrayField(row[vf("depends_on")]);
    view_tables.emplace_back().name = view.name;
    tables[view.name].table = &view_tables.back();
  }

  std::map<int64_t, std::string> opclasses, collations;
  Fields lf(lookup_rows);
  for (const auto& row : lookup_rows) {
    (Text(row[lf("kind")]) == "o" ? opclasses : collations)[Int(row[lf("oid")])] =
        Text(row[lf("name")]);
  }
  TableFinder table_of(tables);
  Fields cf(columns_rows);
  for (const auto& row : columns_rows) {
    auto it = table_of(row[cf("table_name")]);
    if (it == tables.end()) continue;
    Column& c = it->second.table->columns.emplace_back();
    c.name = Text(row[cf("name")]);
    c.type = Text(row[cf("type")]);
    // Named where it is not the database default (100) or none (0): a
    // column of type "name" shows "C", alike in the registry's canonical
    // form and in the database.
    if (const int64_t collation = Int(row[cf("collation_oid")]);
        collation != 0 && collation != 100) {
      c.collation = row[cf("collation")].is_null() ? absl::StrCat("#", collation)
                                                   : Text(row[cf("collation")]);
    }
    c.not_null = Bool(row[cf("not_null")]);
    c.comment = Text(row[cf("comment")]);
    std::string expr = Text(row[cf("expression")]);
    if (const std::vector<std::string>* hit = cached(row[cf("expression_key")]);
        hit != nullptr && row[cf("expression")].is_null()) {
      expr = hit->at(0);
    } else if (!row[cf("expression_key")].is_null()) {
      fresh[row[cf("expression_key")].as<std::string>()] = {expr};
    }
    const std::string identity = Text(row[cf("identity")]);
    const std::string generated = Text(row[cf("generated")]);
    if (generated == "s") {
      c.generated = expr;
    } else {
      c.default_expr = expr;
    }
    c.identity = identity == "a"   ? Identity::kAlways
                 : identity == "d" ? Identity::kByDefault
                                   : Identity::kNone;
    const std::vector<int64_t> options = Numbers(row[cf("identity_options")]);
    if (c.identity != Identity::kNone && options.size() == 6) {
      IdentityOptions o;
      o.increment = options[0];
      o.min_value = options[1];
      o.max_value = options[2];
      o.start = options[3];
      o.cache = options[4];
      o.cycle = options[5] != 0;
      // Defaults left unset, on both sides alike: a registry may leave them
      // out, and inspect writes only what differs.
      c.identity_options = WithoutDefaultIdentityOptions(c.type, o);
    }
    auto storage_name = [](const std::string& code) -> std::string {
      return code == "p"   ? "plain"
             : code == "e" ? "external"
             : code == "x" ? "extended"
             : code == "m" ? "main"
                           : "";
    };
    c.storage = storage_name(Text(row[cf("storage")]));
    c.type_storage = storage_name(Text(row[cf("type_storage")]));
    c.options = NormalizedStorage(ArrayField(row[cf("options")]));
    const std::string compression = Text(row[cf("compression")]);
    c.compression = compression == "p" ? "pglz" : compression == "l" ? "lz4" : "";
    c.statistics = Int(row[cf("statistics")]);
    const int64_t attnum = Int(row[cf("attnum")]);
    it->second.names[attnum] = c.name;
    it->second.collations[attnum] = Int(row[cf("collation_oid")]);
  }

  Fields kf(constraint_rows);
  for (const auto& row : constraint_rows) {
    auto it = table_of(row[kf("table_name")]);
    if (it == tables.end()) continue;
    const TableInfo& info = it->second;
    Constraint& c = info.table->constraints.emplace_back();
    c.name = Text(row[kf("name")]);
    const std::string type = Text(row[kf("type")]);
    c.kind = type == "p"   ? ConstraintKind::kPrimaryKey
             : type == "u" ? ConstraintKind::kUnique
             : type == "f" ? ConstraintKind::kForeignKey
             : type == "x" ? ConstraintKind::kExclusion
                           : ConstraintKind::kCheck;
    c.validated = Bool(row[kf("validated")]);
    c.columns = ColumnNames(info, Numbers(row[kf("columns")]));
    c.ref_table = Text(row[kf("ref_table")]);
    const std::string ref_schema = Text(row[kf("ref_schema")]);
    if (!row[kf("ref_column_names")].is_null()) {
      c.ref_columns = ArrayField(row[kf("ref_column_names")]);
    } else if (c.kind == ConstraintKind::kForeignKey) {
      auto ref = tables.find(c.ref_table);
      if (ref != tables.end())
        c.ref_columns = ColumnNames(ref->second, Numbers(row[kf("ref_attnums")]));
    }
    c.on_delete = ReferentialActionFromCode(Text(row[kf("on_delete")])[0]);
    c.on_update = ReferentialActionFromCode(Text(row[kf("on_update")])[0]);
    const std::string match = Text(row[kf("match")]);
    c.deferrable = Bool(row[kf("deferrable")]);
    c.initially_deferred = Bool(row[kf("deferred")]);
    c.check_expr = Text(row[kf("definition")]);
    if (const std::vector<std::string>* hit = cached(row[kf("definition_key")]);
        hit != nullptr && row[kf("definition")].is_null()) {
      c.check_expr = hit->at(0);
    } else if (!row[kf("definition_key")].is_null()) {
      fresh[row[kf("definition_key")].as<std::string>()] = {c.check_expr};
    }
    c.no_inherit = Bool(row[kf("no_inherit")]);
    c.comment = Text(row[kf("comment")]);
    if (c.kind == ConstraintKind::kExclusion) {
      c.exclusion = c.check_expr;
      c.check_expr.clear();
      // Expression elements have no column (attnum 0).
      c.columns.erase(std::remove_if(c.columns.begin(), c.columns.end(),
                                     [](const std::string& n) { return absl::StartsWith(n, "#"); }),
                      c.columns.end());
    }
    c.nulls_not_distinct = Bool(row[kf("nulls_not_distinct")]);
    const std::vector<int64_t> index_keys = Numbers(row[kf("index_attnums")]);
    const size_t key_count = static_cast<size_t>(Int(row[kf("index_key_count")]));
    // The definition, composed the same way for every schema read.
    if (index_keys.size() > key_count) {
      c.include =
          ColumnNames(info, std::vector<int64_t>(index_keys.begin() + key_count, index_keys.end()));
    }
    c.storage = NormalizedStorage(ArrayField(row[kf("storage")]));
    if (c.kind == ConstraintKind::kForeignKey && ref_schema != schema_name) {
      c.ref_schema = ref_schema;
    }
    c.match_full = match == "f";
    c.delete_set_columns = ColumnNames(info, Numbers(row[kf("delete_set_attnums")]));
    c.definition = ConstraintDefinition(c);
  }

  Fields xf(index_rows);
  for (const auto& row : index_rows) {
    auto it = table_of(row[xf("table_name")]);
    if (it == tables.end()) continue;
    const TableInfo& info = it->second;
    Index& index = info.table->indexes.emplace_back();
    index.name = Text(row[xf("name")]);
    index.unique = Bool(row[xf("is_unique")]);
    index.method = Text(row[xf("method")]);
    index.valid = Bool(row[xf("valid")]);
    const std::vector<int64_t> attnums = Numbers(row[xf("attnums")]);
    const size_t nkeys = static_cast<size_t>(Int(row[xf("key_count")]));
    std::vector<std::string> expressions = ArrayField(row[xf("expressions")]);
    const std::vector<int64_t> classes = Numbers(row[xf("opclasses")]);
    const std::vector<int64_t> options = Numbers(row[xf("key_options")]);
    const std::vector<int64_t> key_collations = Numbers(row[xf("collations")]);
    index.predicate = Text(row[xf("predicate")]);
    // Cached as {predicate, expression of each key...}.
    if (const std::vector<std::string>* hit = cached(row[xf("expression_key")]);
        hit != nullptr && (row[xf("expressions")].is_null() || row[xf("predicate")].is_null())) {
      index.predicate = hit->at(0);
      expressions.assign(hit->begin() + 1, hit->end());
    } else if (!row[xf("expression_key")].is_null()) {
      std::vector<std::string> texts = {index.predicate};
      texts.insert(texts.end(), expressions.begin(), expressions.end());
      fresh[row[xf("expression_key")].as<std::string>()] = std::move(texts);
    }
    index.columns = ArrayField(row[xf("referenced")]);
    index.nulls_not_distinct = Bool(row[xf("nulls_not_distinct")]);
    index.storage = NormalizedStorage(ArrayField(row[xf("storage")]));
    index.comment = Text(row[xf("comment")]);

    std::set<std::string> referenced(index.columns.begin(), index.columns.end());
    for (size_t k = 0; k < nkeys && k < attnums.size(); ++k) {
      IndexKey& key = index.keys.emplace_back();
      if (attnums[k] != 0) {
        key.column = ColumnNames(info, {attnums[k]})[0];
        referenced.insert(key.column);
      } else {
        key.expression = k < expressions.size() ? expressions[k] : "";
      }
      // A collation is spelled out only where it is not the column's (or,
      // for an expression, the default).
      const int64_t collation = k < key_collations.size() ? key_collations[k] : 0;
      const auto column_collation = info.collations.find(attnums[k]);
      const int64_t expected_collation =
          attnums[k] != 0 && column_collation != info.collations.end() ? column_collation->second
                                                                       : 100;
      if (collation != 0 && collation != expected_collation) {
        auto name = collations.find(collation);
        key.collation = name == collations.end() ? absl::StrCat("#", collation) : name->second;
      }
      if (k < classes.size()) {
        auto name = opclasses.find(classes[k]);
        if (name != opclasses.end()) key.opclass = name->second;
      }
      // NULLS FIRST/LAST only when it is not the direction's default.
      const int64_t option = k < options.size() ? options[k] : 0;
      key.descending = (option & 1) != 0;
      const bool nulls_first = (option & 2) != 0;
      if (key.descending && !nulls_first) key.nulls = IndexKey::Nulls::kLast;
      if (!key.descending && nulls_first) key.nulls = IndexKey::Nulls::kFirst;
    }
    for (size_t k = nkeys; k < attnums.size(); ++k) {
      index.include.push_back(ColumnNames(info, {attnums[k]})[0]);
      referenced.insert(index.include.back());
    }
    index.columns.assign(referenced.begin(), referenced.end());
    index.definition = IndexDefinition(index);
  }

  for (size_t i = 0; i < schema.views.size(); ++i) {
    schema.views[i].columns = std::move(view_tables[i].columns);
    schema.views[i].indexes = std::move(view_tables[i].indexes);
  }

  Fields nf(enum_rows);
  for (const auto& row : enum_rows) {
    schema.enums.push_back(
        {Text(row[nf("name")]), ArrayField(row[nf("labels")]), "", Text(row[nf("comment")])});
  }
  // A serial column's sequence is part of its column: the first sequence
  // (by name) the column owns, if its default calls nextval.
  std::set<std::string> serial;
  Fields sf(sequence_rows);
  for (const auto& row : sequence_rows) {
    auto it = row[sf("owned_by_table")].is_null() ? tables.end()
                                                  : tables.find(Text(row[sf("owned_by_table")]));
    if (it == tables.end()) continue;
    for (Column& c : it->second.table->columns) {
      if (c.name == Text(row[sf("owned_by_column")]) && c.serial_sequence.empty() &&
          absl::StartsWith(c.default_expr, "nextval(")) {
        c.serial_sequence = Text(row[sf("name")]);
        serial.insert(c.serial_sequence);
      }
    }
  }
  for (const auto& row : sequence_rows) {
    if (serial.count(Text(row[sf("name")]))) continue;
    Sequence& s = schema.sequences.emplace_back();
    s.name = Text(row[sf("name")]);
    s.type = Text(row[sf("type")]);
    s.increment = row[sf("increment")].as<int64_t>();
    s.min_value = row[sf("min_value")].as<int64_t>();
    s.max_value = row[sf("max_value")].as<int64_t>();
    s.start = row[sf("start")].as<int64_t>();
    s.cache = row[sf("cache")].as<int64_t>();
    s.cycle = row[sf("cycle")].as<bool>();
    s.owned_by_table = Text(row[sf("owned_by_table")]);
    s.owned_by_column = Text(row[sf("owned_by_column")]);
    s.comment = Text(row[sf("comment")]);
  }
  Fields pf(function_rows);
  for (const auto& row : function_rows) {
    const std::string kind = Text(row[pf("kind")]);
    if (kind == "a" || kind == "w") {  // aggregates, window functions
      schema.unmanaged.push_back(
          {UnmanagedKind::kFunction,
           absl::StrCat(Text(row[pf("name")]), "(", Text(row[pf("identity")]), ")"), ""});
      continue;
    }
    Function& f = schema.functions.emplace_back();
    f.name = Text(row[pf("name")]);
    f.arguments = Text(row[pf("arguments")]);
    f.identity = Text(row[pf("identity")]);
    f.returns = Text(row[pf("returns")]);
    f.language = Text(row[pf("language")]);
    f.sql_body = Bool(row[pf("sql_body")]);
    f.body = Text(row[pf("body")]);
    const std::string volatility = Text(row[pf("volatility")]);
    f.volatility = volatility == "i"   ? Volatility::kImmutable
                   : volatility == "s" ? Volatility::kStable
                                       : Volatility::kVolatile;
    f.strict = Bool(row[pf("strict")]);
    f.security_definer = Bool(row[pf("security_definer")]);
    const std::string parallel = Text(row[pf("parallel")]);
    f.parallel = parallel == "s"   ? ParallelSafety::kSafe
                 : parallel == "r" ? ParallelSafety::kRestricted
                                   : ParallelSafety::kUnsafe;
    f.config = ArrayField(row[pf("config")]);
    f.procedure = Bool(row[pf("procedure")]);
    f.comment = Text(row[pf("comment")]);
    f.leakproof = Bool(row[pf("leakproof")]);
    // Defaults read as 0, as a registry leaves them out.
    const double cost = row[pf("cost")].as<double>();
    const bool compiled = f.language == "c" || f.language == "internal";
    f.cost = cost == (compiled ? 1.0 : 100.0) ? 0 : cost;
    const double rows = row[pf("rows")].as<double>();
    f.rows = rows == (Bool(row[pf("returns_set")]) ? 1000.0 : 0.0) ? 0 : rows;
  }
  Fields gf(trigger_rows);
  for (const auto& row : trigger_rows) {
    auto it = table_of(row[gf("table_name")]);
    if (it == tables.end()) continue;
    Trigger& t = it->second.table->triggers.emplace_back();
    t.table = Text(row[gf("table_name")]);
    t.name = Text(row[gf("name")]);
    t.definition = Text(row[gf("definition")]);
    if (const std::vector<std::string>* hit = cached(row[gf("definition_key")]);
        hit != nullptr && row[gf("definition")].is_null()) {
      t.definition = hit->at(0);
    } else if (!row[gf("definition_key")].is_null()) {
      fresh[row[gf("definition_key")].as<std::string>()] = {t.definition};
    }
    t.constraint = Bool(row[gf("is_constraint")]);
    const std::string enabled = Text(row[gf("enabled")]);
    t.enabled = enabled == "D"   ? TriggerEnabled::kDisabled
                : enabled == "R" ? TriggerEnabled::kReplica
                : enabled == "A" ? TriggerEnabled::kAlways
                                 : TriggerEnabled::kEnabled;
    t.comment = Text(row[gf("comment")]);
    t.depends_on = ArrayField(row[gf("depends_on")]);
  }
  // Triggers of views were read into their stand-in tables, as the rest.
  for (size_t i = 0; i < schema.views.size(); ++i) {
    schema.views[i].triggers = std::move(view_tables[i].triggers);
  }
  Fields uf(unmanaged_rows);
  for (const auto& row : unmanaged_rows) {
    const std::string kind = Text(row[uf("kind")]);
    const std::optional<UnmanagedKind> known = UnmanagedKindFromName(kind);
    // The query and the enum disagree: a bug, not a schema to report.
    if (!known.has_value())
      throw std::logic_error("the catalog read an unmanaged kind \"" + kind + "\"");
    schema.unmanaged.push_back({*known, Text(row[uf("name")]), Text(row[uf("table_name")])});
  }
  if (cache != nullptr) cache->Add(fresh);
  SortSchema(schema);
  return schema;
}

// Adds to `out` those of `tables` that hold a row: one statement per 200
// tables; the numbers are ours, the table names quoted identifiers.
void ProbeRows(ConnectionPool& pool, pqxx::transaction_base& tx, const std::string& schema_name,
               const std::vector<std::string>& tables, std::set<std::string>* out) {
  constexpr size_t kBatch = 200;
  for (size_t start = 0; start < tables.size(); start += kBatch) {
    std::vector<std::string> parts;
    for (size_t i = start; i < tables.size() && i < start + kBatch; ++i) {
      parts.push_back(absl::StrCat("SELECT ", i, " WHERE EXISTS (SELECT 1 FROM ",
                                   QualifiedName(schema_name, tables[i]), ")"));
    }
    for (const auto& row : Exec(pool, tx, absl::StrJoin(parts, " UNION ALL "))) {
      out->insert(tables[static_cast<size_t>(Int(row[0]))]);
    }
  }
}

// Runs `fn(pool, native transaction)` for one of the functions below:
// a failed BEGIN is returned as it is; what fn throws becomes a status
// that starts with tx's what().
template <typename Fn>
absl::Status InTransaction(Transaction& tx, Fn&& fn) {
  SCHEMAD_RETURN_IF_ERROR(tx.status());
  absl::Status status =
      Guard(tx.what(), [&]() -> absl::Status { return fn(PoolOf(tx), NativeOf(tx)); });
  // A statement failed: the transaction is aborted (see Transaction).
  if (!status.ok() && tx.impl().db != nullptr) tx.impl().failed = status;
  return status;
}

}  // namespace

absl::StatusOr<Schema> ReadSchema(Transaction& tx, const std::string& schema_name,
                                  Transaction* helper, DeparseCache* cache) {
  Schema out;
  if (helper != nullptr && !helper->status().ok()) helper = nullptr;
  SCHEMAD_RETURN_IF_ERROR(
      InTransaction(tx, [&](ConnectionPool& pool, pqxx::transaction_base& native) {
        out = ReadSchemaIn(pool, native, schema_name,
                           helper != nullptr ? &NativeOf(*helper) : nullptr, cache);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::vector<std::string>> Dependents(Transaction& tx, const std::string& schema_name,
                                                    const std::string& table,
                                                    const std::string& column) {
  std::vector<std::string> out;
  SCHEMAD_RETURN_IF_ERROR(InTransaction(tx, [&](ConnectionPool& pool, pqxx::transaction_base& tx) {
    for (const auto& row : ExecParams(pool, tx, queries::kDependents, schema_name,
                                      QualifiedName(schema_name, table), column)) {
      if (!row[0].is_null()) out.push_back(row[0].as<std::string>());
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::string>> FunctionDependents(Transaction& tx,
                                                            const std::string& schema_name,
                                                            const Function& function) {
  std::vector<std::string> out;
  const std::string signature =
      absl::StrCat(QualifiedName(schema_name, function.name), "(", function.identity, ")");
  SCHEMAD_RETURN_IF_ERROR(InTransaction(tx, [&](ConnectionPool& pool, pqxx::transaction_base& tx) {
    for (const auto& row : ExecParams(pool, tx, queries::kFunctionDependents, signature)) {
      out.push_back(Text(row[0]));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::set<std::string>> TablesWithRows(Transaction& transaction,
                                                     const std::string& schema_name,
                                                     const std::vector<std::string>& tables,
                                                     bool wait) {
  std::set<std::string> out;
  SCHEMAD_RETURN_IF_ERROR(InTransaction(transaction, [&](ConnectionPool& pool,
                                                         pqxx::transaction_base&) {
    pqxx::dbtransaction& tx = NativeDbOf(transaction);
    if (wait) {
      // Initialize is about to change these tables: waiting for them (up to
      // lock_timeout, then ABORTED) is the right answer when one is locked.
      ProbeRows(pool, tx, schema_name, tables, &out);
      return absl::OkStatus();
    }
    // Otherwise a short lock_timeout, in a subtransaction: a table another
    // session has locked is assumed to hold rows (the answer that shows more
    // hazards) rather than making Status or Diff wait for it.
    try {
      pqxx::subtransaction probe(tx, "schemad_probe");
      pool.Count(2);
      const std::string previous =
          Exec(pool, probe,
               "SELECT pg_catalog.current_setting('lock_timeout'), "
               "pg_catalog.set_config('lock_timeout', '200ms', true)")[0][0]
              .as<std::string>();
      ProbeRows(pool, probe, schema_name, tables, &out);
      ExecParams(pool, probe, "SELECT pg_catalog.set_config('lock_timeout', $1, true)", previous);
      probe.commit();
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55P03") throw;
      out.insert(tables.begin(), tables.end());
    }
    return absl::OkStatus();
  }));
  return out;
}

namespace {

// A scratch schema name no other process can predict or share: 128 random
// bits from the kernel.
std::string ScratchSchemaName() {
  std::random_device random;
  std::string out = "schemad_scratch_";
  for (int i = 0; i < 4; ++i) absl::StrAppend(&out, absl::Hex(random(), absl::kZeroPad8));
  return out;
}

// The registry as it is rendered for PostgreSQL: defaults and predicates
// parenthesized, so that each stays one expression wherever the grammar
// would accept more after it (DEFAULT takes a restricted expression that a
// COLLATE or constraint clause may follow).
Schema RenderedForScratch(const Schema& want) {
  Schema out = want;
  for (Table& t : out.tables) {
    for (Column& c : t.columns) {
      if (!c.default_expr.empty()) c.default_expr = absl::StrCat("(", c.default_expr, ")");
    }
    for (Index& i : t.indexes) {
      if (i.predicate.empty()) continue;
      i.predicate = absl::StrCat("(", i.predicate, ")");
      i.definition = IndexDefinition(i);
    }
  }
  for (View& v : out.views) {
    for (Index& i : v.indexes) {
      if (i.predicate.empty()) continue;
      i.predicate = absl::StrCat("(", i.predicate, ")");
      i.definition = IndexDefinition(i);
    }
  }
  return out;
}

// Names of every object in `schema` the registry declares one by one:
// "table t", "column t.c", "constraint t.c", "index i", "enum e".
std::set<std::string> DeclaredObjects(const Schema& schema) {
  std::set<std::string> out;
  for (const Table& t : schema.tables) {
    out.insert(absl::StrCat("table ", QuoteIdent(t.name)));
    for (const Column& c : t.columns) {
      out.insert(absl::StrCat("column ", QuoteIdent(t.name), ".", QuoteIdent(c.name)));
    }
    for (const Constraint& c : t.constraints) {
      out.insert(absl::StrCat("constraint ", QuoteIdent(t.name), ".", QuoteIdent(c.name)));
    }
    for (const Index& i : t.indexes) out.insert(absl::StrCat("index ", QuoteIdent(i.name)));
  }
  for (const EnumType& e : schema.enums) out.insert(absl::StrCat("enum ", QuoteIdent(e.name)));
  for (const Sequence& s : schema.sequences) {
    out.insert(absl::StrCat("sequence ", QuoteIdent(s.name)));
  }
  for (const Table& t : schema.tables) {
    for (const Trigger& g : t.triggers) {
      out.insert(absl::StrCat("trigger ", QuoteIdent(t.name), ".", QuoteIdent(g.name)));
    }
  }
  for (const View& v : schema.views) {
    out.insert(absl::StrCat(v.materialized ? "materialized view " : "view ", QuoteIdent(v.name)));
    for (const Index& i : v.indexes) out.insert(absl::StrCat("index ", QuoteIdent(i.name)));
    for (const Trigger& g : v.triggers) {
      out.insert(absl::StrCat("trigger ", QuoteIdent(v.name), ".", QuoteIdent(g.name)));
    }
  }
  return out;
}

// Defence in depth: what PostgreSQL created must be exactly what was
// declared, object for object. Anything else means a declaration did more
// (or less) than its field says, and the registry is refused.
absl::Status VerifyCanonical(const Schema& declared, const Schema& created,
                             const std::vector<RegistryStatement>& sql) {
  const std::set<std::string> want = DeclaredObjects(declared);
  std::set<std::string> got = DeclaredObjects(created);
  // What SQL files declare is what their statements create: each ran alone
  // and was classified by PostgreSQL's grammar, and the names PostgreSQL
  // gives unnamed constraints are not known offline. Their objects (and a
  // SQL table's columns, constraints and indexes) are not compared.
  std::set<std::string> sql_tables;
  for (const RegistryStatement& rs : sql) {
    const SqlStatement& st = rs.statement;
    const std::string name = QuoteIdent(st.name);
    switch (st.kind) {
      case SqlStatementKind::kTable:
        sql_tables.insert(name);
        got.erase(absl::StrCat("table ", name));
        break;
      case SqlStatementKind::kIndex:
        got.erase(absl::StrCat("index ", name));
        break;
      case SqlStatementKind::kSequence:
        got.erase(absl::StrCat("sequence ", name));
        break;
      case SqlStatementKind::kView:
        got.erase(absl::StrCat("view ", name));
        break;
      case SqlStatementKind::kMaterializedView:
        got.erase(absl::StrCat("materialized view ", name));
        break;
      case SqlStatementKind::kTrigger:
        got.erase(absl::StrCat("trigger ", QuoteIdent(st.table), ".", name));
        break;
      case SqlStatementKind::kExtension:
      case SqlStatementKind::kEnum:
      case SqlStatementKind::kSequenceOwner:
      case SqlStatementKind::kFunction:
      case SqlStatementKind::kConstraint:
      case SqlStatementKind::kForeignKey:
      case SqlStatementKind::kTableProperty:
      case SqlStatementKind::kReplicaIdentity:
      case SqlStatementKind::kComment:
        break;
    }
  }
  for (auto it = got.begin(); it != got.end();) {
    bool of_sql_table = false;
    for (const char* kind : {"column ", "constraint ", "trigger "}) {
      for (const std::string& t : sql_tables) {
        of_sql_table = of_sql_table || absl::StartsWith(*it, absl::StrCat(kind, t, "."));
      }
    }
    it = of_sql_table ? got.erase(it) : std::next(it);
  }
  std::vector<std::string> problems;
  for (const std::string& name : want) {
    if (!got.count(name)) problems.push_back(absl::StrCat(name, " was declared but not created"));
  }
  for (const std::string& name : got) {
    if (!want.count(name)) problems.push_back(absl::StrCat(name, " was created but not declared"));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "canonicalizing the registry: PostgreSQL did not create exactly what the registry "
      "declares, so the registry is refused: ",
      absl::StrJoin(problems, "; ")));
}

}  // namespace

namespace {

// `status` (its message "<source>: ...") carrying the error as registry
// data too, at the place of `source` (RegistryErrorsOf).
absl::Status WithPlace(const Registry& registry, const std::string& source, absl::Status status) {
  if (source.empty()) return status;
  std::string message(status.message());
  if (absl::StartsWith(message, absl::StrCat(source, ": "))) message.erase(0, source.size() + 2);
  return AttachRegistryErrors(std::move(status), {{PlaceOf(registry, source), message}});
}

}  // namespace

absl::StatusOr<Schema> Canonicalize(Connection& connection, const Registry& registry) {
  ConnectionPool& pool = PoolOf(connection);
  pqxx::connection& conn = NativeOf(connection);
  const std::string scratch = ScratchSchemaName();
  const Schema& declared = registry.schema;
  const Schema want = RenderedForScratch(declared);

  // Statements run by kind, whatever the file or format that declares them:
  // each kind after what it may use (see Rank).
  enum Rank {
    kSetup,
    kExtensions,
    kEnums,
    kFunctions,
    kSequences,
    kTables,
    kSequenceOwners,
    // Every index before any foreign key: a foreign key may reference
    // columns that are unique only through another table's unique index.
    kIndexes,
    kConstraints,
    kForeignKeys,
    // Functions whose arguments or result name a table's row type.
    kLateFunctions,
    // Views in dependency order (`order`), each followed by its indexes.
    kViews,
    kTriggers,
    kComments,
  };
  struct Statement {
    std::string sql;
    std::string source;
    std::string what;
    Rank rank = kSetup;
    int order = 0;
    // Creates one function: the declared one (null for a SQL statement).
    bool creates_function = false;
    const Function* function = nullptr;
    std::string function_name;
  };
  std::vector<Statement> statements;
  auto add = [&](Rank rank, std::string sql, std::string source, std::string what,
                 int order = 0) -> Statement& {
    Statement& s = statements.emplace_back();
    s.sql = std::move(sql);
    s.source = std::move(source);
    s.what = std::move(what);
    s.rank = rank;
    s.order = order;
    return s;
  };
  add(kSetup, absl::StrCat("CREATE SCHEMA ", QuoteIdent(scratch)), "",
      "scratch schema (schemad needs CREATE on the database)");
  // Function bodies are checked once everything exists (as pg_dump does).
  add(kSetup, "SELECT pg_catalog.set_config('check_function_bodies', 'off', true)", "", "settings");
  if (!want.extensions.empty()) {
    // Two canonicalizations creating the same not-yet-installed extension
    // block each other on PostgreSQL's catalog index until one rolls back:
    // serialize that part per database (released with the transaction).
    add(kExtensions,
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
        "pg_catalog.concat('schemad:extensions:', pg_catalog.current_database()), 0))",
        "", "lock serializing extension creation");
  }
  for (const Extension& e : want.extensions) {
    add(kExtensions, CreateExtensionSql(e), e.source, absl::StrCat("extension ", e.name));
  }
  for (const EnumType& e : want.enums) {
    add(kEnums, CreateEnumSql(scratch, e), e.source, absl::StrCat("enum type ", e.name));
  }
  // Relations declared anywhere (a function naming one's row type comes
  // after them), and the views' dependency order across both formats.
  std::set<std::string> relations;
  std::map<std::string, std::vector<std::string>> view_reads;
  std::vector<std::string> view_names;
  for (const Table& t : want.tables) relations.insert(t.name);
  for (const View& v : want.views) {
    relations.insert(v.name);
    view_reads[v.name] = v.depends_on;
    view_names.push_back(v.name);
  }
  for (const RegistryStatement& rs : registry.sql) {
    const SqlStatement& st = rs.statement;
    if (st.kind == SqlStatementKind::kTable) relations.insert(st.name);
    if (st.kind == SqlStatementKind::kView || st.kind == SqlStatementKind::kMaterializedView) {
      relations.insert(st.name);
      view_reads[st.name] = st.reads;
      view_names.push_back(st.name);
    }
  }
  std::map<std::string, int> view_order;
  int placed = 0;
  std::function<void(const std::string&, int)> place = [&](const std::string& name, int depth) {
    if (view_order.count(name) || depth > 1000) return;
    view_order[name] = -1;  // being placed: a cycle stops here
    for (const std::string& dep : view_reads[name]) {
      if (view_reads.count(dep) && dep != name) place(dep, depth + 1);
    }
    view_order[name] = ++placed;
  };
  for (const std::string& name : view_names) place(name, 0);

  for (const Function& f : want.functions) {
    Statement& s = add(UsesRelationTypes(f, want) ? kLateFunctions : kFunctions,
                       FunctionSql(scratch, f, false, false), f.source,
                       absl::StrCat(f.procedure ? "procedure " : "function ", f.name));
    s.creates_function = true;
    s.function = &f;
    s.function_name = f.name;
  }
  // Sequences before tables: a column default may call one.
  for (const Sequence& q : want.sequences) {
    add(kSequences, CreateSequenceSql(scratch, q), q.source, absl::StrCat("sequence ", q.name));
  }
  for (const Table& t : want.tables) {
    add(kTables, CreateTableSql(scratch, t), t.source, absl::StrCat("table ", t.name));
    for (const std::string& sql : RowSecuritySql(scratch, t)) {
      add(kConstraints, sql, t.source, absl::StrCat("row level security of ", t.name));
    }
    for (const Column& c : t.columns) {
      for (std::string& sql : ColumnSettingsSql(scratch, t.name, c)) {
        add(kConstraints, std::move(sql), c.source,
            absl::StrCat("settings of column ", t.name, ".", c.name));
      }
    }
  }
  for (const Sequence& q : want.sequences) {
    if (q.owned_by_table.empty()) continue;
    add(kSequenceOwners, SequenceOwnedBySql(scratch, q), q.source,
        absl::StrCat("owner of sequence ", q.name));
  }
  for (const Table& t : want.tables) {
    for (const Index& i : t.indexes) {
      add(kIndexes, CreateIndexSql(scratch, t.name, i), i.source, absl::StrCat("index ", i.name));
    }
  }
  for (const Table& t : want.tables) {
    for (const Constraint& c : t.constraints) {
      if (c.kind == ConstraintKind::kForeignKey) {
        add(kForeignKeys, AddConstraintSql(scratch, t.name, c), c.source,
            absl::StrCat("foreign key ", c.name));
      } else if (AddedAfterCreateTable(t, c)) {
        add(kConstraints, AddConstraintSql(scratch, t.name, c), c.source,
            absl::StrCat("constraint ", c.name));
      }
    }
    // After the indexes and constraints USING INDEX may name.
    if (t.replica_identity != ReplicaIdentity::kDefault) {
      add(kForeignKeys, ReplicaIdentitySql(scratch, t), t.source,
          absl::StrCat("replica identity of ", t.name));
    }
  }
  // Materialized views WITH NO DATA (a rolled back creation would still
  // run the query).
  for (const View& view : want.views) {
    const int order = view_order[view.name] * 2;
    add(kViews, CreateViewSql(scratch, view, /*or_replace=*/false, /*with_data=*/false),
        view.source, absl::StrCat(view.materialized ? "materialized view " : "view ", view.name),
        order);
    for (const Index& i : view.indexes) {
      add(kViews, CreateIndexSql(scratch, view.name, i), i.source, absl::StrCat("index ", i.name),
          order + 1);
    }
  }
  // Triggers of tables and views, after both.
  auto add_triggers = [&](const std::string& relation, const std::vector<Trigger>& triggers) {
    for (const Trigger& g : triggers) {
      Trigger in_scratch = g;
      in_scratch.table = relation;
      add(kTriggers, CreateTriggerSql(scratch, in_scratch), g.source,
          absl::StrCat("trigger ", g.name));
      if (g.enabled != TriggerEnabled::kEnabled) {
        add(kTriggers, TriggerEnabledSql(scratch, in_scratch), g.source,
            absl::StrCat("trigger ", g.name));
      }
      if (!g.comment.empty()) {
        add(kComments,
            CommentSql("TRIGGER",
                       absl::StrCat(QuoteIdent(g.name), " ON ", QualifiedName(scratch, relation)),
                       g.comment),
            g.source, absl::StrCat("comment of trigger ", g.name));
      }
    }
  };
  for (const Table& t : want.tables) add_triggers(t.name, t.triggers);
  for (const View& v : want.views) add_triggers(v.name, v.triggers);
  // COMMENT ON COLUMN of a table's or a view's columns.
  auto add_column_comments = [&](const std::string& relation, const std::vector<Column>& columns) {
    for (const Column& c : columns) {
      if (c.comment.empty()) continue;
      add(kComments,
          CommentSql("COLUMN",
                     absl::StrCat(QualifiedName(scratch, relation), ".", QuoteIdent(c.name)),
                     c.comment),
          c.source, absl::StrCat("comment of column ", relation, ".", c.name));
    }
  };
  for (const Table& t : want.tables) {
    if (!t.comment.empty()) {
      add(kComments, CommentSql("TABLE", QualifiedName(scratch, t.name), t.comment), t.source,
          absl::StrCat("comment of table ", t.name));
    }
    add_column_comments(t.name, t.columns);
  }
  for (const EnumType& e : want.enums) {
    if (e.comment.empty()) continue;
    add(kComments, CommentSql("TYPE", QualifiedName(scratch, e.name), e.comment), e.source,
        absl::StrCat("comment of type ", e.name));
  }
  for (const Sequence& q : want.sequences) {
    if (q.comment.empty()) continue;
    add(kComments, CommentSql("SEQUENCE", QualifiedName(scratch, q.name), q.comment), q.source,
        absl::StrCat("comment of sequence ", q.name));
  }
  for (const Table& t : want.tables) {
    for (const Index& i : t.indexes) {
      if (i.comment.empty()) continue;
      add(kComments, CommentSql("INDEX", QualifiedName(scratch, i.name), i.comment), i.source,
          absl::StrCat("comment of index ", i.name));
    }
    for (const Constraint& k : t.constraints) {
      if (k.comment.empty()) continue;
      add(kComments,
          CommentSql("CONSTRAINT",
                     absl::StrCat(QuoteIdent(k.name), " ON ", QualifiedName(scratch, t.name)),
                     k.comment),
          k.source, absl::StrCat("comment of constraint ", k.name));
    }
  }
  for (const View& v : want.views) {
    for (const Index& i : v.indexes) {
      if (i.comment.empty()) continue;
      add(kComments, CommentSql("INDEX", QualifiedName(scratch, i.name), i.comment), i.source,
          absl::StrCat("comment of index ", i.name));
    }
  }
  for (const View& v : want.views) {
    add_column_comments(v.name, v.columns);
    if (v.comment.empty()) continue;
    add(kComments,
        CommentSql(v.materialized ? "MATERIALIZED VIEW" : "VIEW", QualifiedName(scratch, v.name),
                   v.comment),
        v.source, absl::StrCat("comment of view ", v.name));
  }
  // SQL files: each statement as written (its names resolve to the scratch
  // schema, first in search_path), by kind.
  for (const RegistryStatement& rs : registry.sql) {
    const SqlStatement& st = rs.statement;
    const std::string what = absl::StrCat("statement");
    switch (st.kind) {
      case SqlStatementKind::kExtension:
      case SqlStatementKind::kEnum:
        break;  // in the model (above)
      case SqlStatementKind::kSequence:
        add(kSequences, st.text, rs.source, absl::StrCat("sequence ", st.name));
        break;
      case SqlStatementKind::kSequenceOwner:
        add(kSequenceOwners, st.text, rs.source, absl::StrCat("owner of sequence ", st.name));
        break;
      case SqlStatementKind::kFunction: {
        bool late = false;
        for (const std::string& type : st.reads) late = late || relations.count(type) > 0;
        Statement& s = add(late ? kLateFunctions : kFunctions, st.text, rs.source,
                           absl::StrCat("function ", st.name));
        s.creates_function = true;
        s.function_name = st.name;
        break;
      }
      case SqlStatementKind::kTable:
        add(kTables, st.text, rs.source, absl::StrCat("table ", st.name));
        break;
      case SqlStatementKind::kIndex:
        if (view_order.count(st.table)) {
          add(kViews, st.text, rs.source, absl::StrCat("index ", st.name),
              view_order[st.table] * 2 + 1);
        } else {
          add(kIndexes, st.text, rs.source, absl::StrCat("index ", st.name));
        }
        break;
      case SqlStatementKind::kConstraint:
        add(kConstraints, st.text, rs.source, absl::StrCat("constraint on ", st.table));
        break;
      case SqlStatementKind::kForeignKey:
        add(kForeignKeys, st.text, rs.source, absl::StrCat("foreign key on ", st.table));
        break;
      case SqlStatementKind::kView:
      case SqlStatementKind::kMaterializedView:
        add(kViews, st.text, rs.source,
            absl::StrCat(st.kind == SqlStatementKind::kView ? "view " : "materialized view ",
                         st.name),
            view_order[st.name] * 2);
        break;
      case SqlStatementKind::kTrigger:
        add(kTriggers, st.text, rs.source, absl::StrCat("trigger ", st.name));
        break;
      case SqlStatementKind::kTableProperty:
        add(kConstraints, st.text, rs.source, absl::StrCat("row level security of ", st.table));
        break;
      case SqlStatementKind::kReplicaIdentity:
        add(kForeignKeys, st.text, rs.source, absl::StrCat("replica identity of ", st.table));
        break;
      case SqlStatementKind::kComment:
        add(kComments, st.text, rs.source, "comment");
        break;
    }
  }
  {
    std::vector<Statement*> creating;
    std::vector<std::pair<std::string, std::string>> texts;
    for (Statement& s : statements) {
      if (!s.creates_function) continue;
      creating.push_back(&s);
      texts.emplace_back(s.function_name, s.function != nullptr ? s.function->body : s.sql);
    }
    const std::vector<int> order = CallOrder(texts);
    for (size_t i = 0; i < creating.size(); ++i) creating[i]->order = order[i];
  }
  std::stable_sort(statements.begin(), statements.end(),
                   [](const Statement& a, const Statement& b) {
                     return std::make_pair(a.rank, a.order) < std::make_pair(b.rank, b.order);
                   });
  // The functions in the order they are created: matched, after creation,
  // with the functions PostgreSQL made (in oid order).
  std::vector<const Statement*> function_order;
  for (const Statement& s : statements) {
    if (s.creates_function) function_order.push_back(&s);
  }

  Schema result;
  std::map<const Statement*, std::string> function_keys;
  std::vector<std::string> volatile_functions;
  absl::Status status = Guard("canonicalizing the registry", [&]() -> absl::Status {
    pqxx::work tx(conn);
    pool.Count(2);  // BEGIN, ROLLBACK
    // Scratch objects first; the target schema next, so that objects the
    // registry uses from it (extension functions) print as they do there.
    SetSearchPath(pool, tx, {scratch, want.name});
    ExecParams(pool, tx,
               "SELECT pg_catalog.set_config('plan_cache_mode', $1, true), "
               "pg_catalog.set_config('jit', 'off', true), "
               "pg_catalog.set_config('max_parallel_workers_per_gather', '0', true)",
               PlanCacheMode(want.tables.size()));
    // One statement per call (the executor's extended protocol refuses
    // more), so a declaration that PostgreSQL rejects is named at once and
    // nothing is ever sent twice.
    for (const Statement& s : statements) {
      try {
        Exec(pool, tx, s.sql);
      } catch (...) {
        const std::string where = s.source.empty() ? "" : absl::StrCat(s.source, ": ");
        return WithPlace(registry, s.source,
                         StatusFromCurrentException(
                             absl::StrCat(where, "PostgreSQL rejected the registry's ", s.what),
                             absl::StatusCode::kInvalidArgument));
      }
    }
    result = ReadSchemaIn(pool, tx, scratch, nullptr, nullptr);
    // Bodies are checked now that everything they may use exists.
    Exec(pool, tx, "SELECT pg_catalog.set_config('check_function_bodies', 'on', true)");
    struct Created {
      std::string key, language, oid;
    };
    std::vector<Created> created;
    const pqxx::result by_oid = ExecParams(pool, tx, queries::kFunctionsByOid, scratch);
    Fields bf(by_oid);
    for (const auto& row : by_oid) {
      created.push_back({Text(row[bf("key")]), Text(row[bf("language")]), Text(row[bf("oid")])});
    }
    if (created.size() != function_order.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "canonicalizing the registry: PostgreSQL created ", created.size(),
          " functions for the registry's ", function_order.size(), ", so the registry is refused"));
    }
    for (size_t i = 0; i < created.size(); ++i) {
      function_keys[function_order[i]] = created[i].key;
      const std::string rejected = absl::StrCat(
          function_order[i]->source, ": PostgreSQL rejected the body of ", function_order[i]->what);
      const char* validator = created[i].language == "sql"       ? "pg_catalog.fmgr_sql_validator"
                              : created[i].language == "plpgsql" ? "pg_catalog.plpgsql_validator"
                                                                 : nullptr;
      if (validator == nullptr) continue;
      // A savepoint of its own (libpqxx 6.4's subtransaction sent none
      // here), so that a body skipped below leaves the transaction usable.
      Exec(pool, tx, "SAVEPOINT schemad_function_body");
      try {
        // By oid: a name that needs quoting does not parse as regprocedure
        // text unquoted.
        ExecParams(pool, tx, absl::StrCat("SELECT ", validator, "($1::pg_catalog.oid)"),
                   created[i].oid);
        Exec(pool, tx, "RELEASE SAVEPOINT schemad_function_body");
      } catch (...) {
        absl::Status status =
            StatusFromCurrentException(rejected, absl::StatusCode::kInvalidArgument);
        Exec(pool, tx, "ROLLBACK TO SAVEPOINT schemad_function_body");
        // A body that names the target schema's own objects qualified
        // ("public.orders") cannot resolve them here, where they are
        // created in the scratch schema: PostgreSQL checks it when it runs
        // (Initialize creates functions with check_function_bodies off).
        const std::string sqlstate = SqlStateOf(status);
        const std::string target = declared.name;
        const absl::string_view message = status.message();
        const bool undefined = sqlstate == "42P01" || sqlstate == "42704" || sqlstate == "42883";
        if (undefined && !target.empty() &&
            (absl::StrContains(message, absl::StrCat("\"", target, ".")) ||
             absl::StrContains(message, absl::StrCat(" ", target, ".")))) {
          continue;
        }
        return WithPlace(registry, function_order[i]->source, std::move(status));
      }
    }
    for (const auto& row : Exec(pool, tx, queries::kVolatileFunctions)) {
      volatile_functions.push_back(Text(row[0]));
    }
    tx.abort();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  SCHEMAD_RETURN_IF_ERROR(VerifyCanonical(declared, result, registry.sql));

  const std::set<std::string> volatile_set(volatile_functions.begin(), volatile_functions.end());
  result.name = want.name;
  result.exists = true;
  result.extensions = want.extensions;
  result.ignore = want.ignore;
  for (Sequence& q : result.sequences) {
    if (const Sequence* source = want.FindSequence(q.name)) q.source = source->source;
  }
  for (const auto& [statement, key] : function_keys) {
    for (Function& f : result.functions) {
      if (f.Key() != key) continue;
      f.source = statement->source;
      // A registry function's comment is its own field (a SQL file's is
      // read back from COMMENT ON).
      if (statement->function != nullptr) f.comment = statement->function->comment;
    }
  }
  // Objects of SQL files: their statements' locations, for later errors.
  for (const RegistryStatement& rs : registry.sql) {
    const SqlStatement& st = rs.statement;
    for (Table& t : result.tables) {
      if (st.kind == SqlStatementKind::kTable && t.name == st.name) t.source = rs.source;
    }
    for (View& v : result.views) {
      if ((st.kind == SqlStatementKind::kView || st.kind == SqlStatementKind::kMaterializedView) &&
          v.name == st.name) {
        v.source = rs.source;
      }
    }
  }
  for (Table& t : result.tables) {
    const Table* source_table = want.FindTable(t.name);
    for (Trigger& g : t.triggers) {
      const Trigger* declared = source_table ? source_table->FindTrigger(g.name) : nullptr;
      if (declared != nullptr) g.source = declared->source;
    }
  }
  for (View& v : result.views) {
    const View* source = want.FindView(v.name);
    if (source == nullptr) continue;
    v.source = source->source;
    for (Index& i : v.indexes) {
      if (const Index* declared = source->FindIndex(i.name)) i.source = declared->source;
    }
    for (Trigger& g : v.triggers) {
      if (const Trigger* declared = source->FindTrigger(g.name)) g.source = declared->source;
    }
  }
  for (Table& t : result.tables) {
    const Table* source_table = want.FindTable(t.name);
    if (source_table != nullptr) t.source = source_table->source;
    for (Column& c : t.columns) {
      if (source_table != nullptr) {
        if (const Column* declared = source_table->FindColumn(c.name)) {
          c.using_expr = declared->using_expr;
        }
      }
      for (const std::string& fn : CalledFunctions(c.default_expr)) {
        if (volatile_set.count(fn)) c.volatile_default = true;
      }
    }
  }
  return result;
}

}  // namespace schemad
