// Reads a schema from the live catalog, and canonicalizes a registry by
// letting PostgreSQL itself create it in a scratch schema that is rolled
// back. Private to the engine (takes libpqxx types).
#ifndef SCHEMAD_CATALOG_CATALOG_H_
#define SCHEMAD_CATALOG_CATALOG_H_

#include <set>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "db/pool.h"
#include "schemad/model/model.h"
#include "schemad/registry/registry.h"

namespace schemad {

// Reads schema `schema_name` in `tx`: a fixed number of queries whatever
// the number of tables. The caller sets search_path (names in it print
// unqualified). With `helper` (a transaction on another connection that
// shares tx's snapshot and settings), part of the queries run on it
// concurrently. Throws libpqxx exceptions (call under Guard).
Schema ReadSchema(ConnectionPool& pool, pqxx::transaction_base& tx,
                  const std::string& schema_name, pqxx::transaction_base* helper = nullptr);

// Sets search_path for this transaction only.
void SetSearchPath(ConnectionPool& pool, pqxx::transaction_base& tx,
                   const std::vector<std::string>& schemas);

// Returns the registry as PostgreSQL spells it: every object created in a
// scratch schema on `conn`, read back with ReadSchema, rolled back. The
// result is named after the registry's target schema. INVALID_ARGUMENT
// naming the registry file and line when PostgreSQL rejects a declaration.
absl::StatusOr<Schema> Canonicalize(ConnectionPool& pool, pqxx::connection& conn,
                                    const Registry& registry);

// Returns which of `tables` (in schema `schema_name`) hold at least one
// row: one query per 200 tables. With `wait`, a locked table is waited for
// (lock_timeout applies); without, it counts as holding rows. Throws
// libpqxx exceptions.
std::set<std::string> TablesWithRows(ConnectionPool& pool, pqxx::dbtransaction& tx,
                                     const std::string& schema_name,
                                     const std::vector<std::string>& tables, bool wait);

}  // namespace schemad

#endif  // SCHEMAD_CATALOG_CATALOG_H_
