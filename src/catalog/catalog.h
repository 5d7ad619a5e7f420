// Reads a schema from the live catalog, and canonicalizes a registry by
// letting PostgreSQL itself create it in a scratch schema that is rolled
// back. Private to the engine. Its API names no libpqxx type (it reads
// through libpqxx inside): transactions come as session.h's Transaction,
// failures as statuses whose messages start with the transaction's what().
#ifndef SCHEMAD_CATALOG_CATALOG_H_
#define SCHEMAD_CATALOG_CATALOG_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "schemad/db/database.h"
#include "schemad/db/session.h"
#include "schemad/model/model.h"
#include "schemad/registry/registry.h"

namespace schemad {

// Deparsed expression texts by key (see queries.h), shared by the reads of
// one engine so that a warm read never deparses, and so never waits for a
// locked table. Thread-safe.
class DeparseCache {
 public:
  using Map = std::map<std::string, std::vector<std::string>>;
  // Entries kept at most (a key per CHECK, generated column and index with
  // expressions).
  static constexpr size_t kMaxEntries = 200000;

  std::shared_ptr<const Map> Snapshot() const;
  void Add(const Map& entries);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Map> map_ ABSL_GUARDED_BY(mu_) = std::make_shared<const Map>();
};

// Registers the catalog's prepared queries with `db`'s pool: call before
// any function below runs on its connections (the engine does, when built).
void RegisterQueries(Database& db);

// Reads schema `schema_name` in `tx`: a fixed number of queries whatever
// the number of tables. The caller sets search_path (names in it print
// unqualified). With `helper` (a transaction on another connection that
// shares tx's snapshot and settings), part of the queries run on it
// concurrently. With `cache`, expressions deparsed by earlier reads are
// reused (and new ones added).
absl::StatusOr<Schema> ReadSchema(Transaction& tx, const std::string& schema_name,
                                  Transaction* helper = nullptr, DeparseCache* cache = nullptr);

// Returns the registry as PostgreSQL spells it: every object created in a
// scratch schema on `conn`, read back with ReadSchema, rolled back. The
// result is named after the registry's target schema. INVALID_ARGUMENT
// naming the registry file and line when PostgreSQL rejects a declaration.
absl::StatusOr<Schema> Canonicalize(Connection& conn, const Registry& registry);

// Objects schemad does not manage that depend on `table` (or its `column`;
// "" for the whole table) and would stop a DROP or a type change: views and
// rules, foreign keys of tables in other schemas. "view public.v_items".
absl::StatusOr<std::vector<std::string>> Dependents(Transaction& tx, const std::string& schema_name,
                                                    const std::string& table,
                                                    const std::string& column);

// What in schema `schema_name` uses `function` (a function read from it):
// "index:<name>", "constraint:<table>.<name>", "column:<table>.<column>",
// "view:<name>", "trigger:<table>.<name>".
absl::StatusOr<std::vector<std::string>> FunctionDependents(Transaction& tx,
                                                            const std::string& schema_name,
                                                            const Function& function);

// Returns which of `tables` (in schema `schema_name`) hold at least one
// row: one query per 200 tables. With `wait`, a locked table is waited for
// (lock_timeout applies); without, it counts as holding rows. `tx` is a
// real transaction (not Kind::kNone): the probe uses a savepoint.
absl::StatusOr<std::set<std::string>> TablesWithRows(Transaction& tx,
                                                     const std::string& schema_name,
                                                     const std::vector<std::string>& tables,
                                                     bool wait);

}  // namespace schemad

#endif  // SCHEMAD_CATALOG_CATALOG_H_
