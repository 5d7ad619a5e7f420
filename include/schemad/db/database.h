// A bounded pool of PostgreSQL connections, the only owner of libpq state.
//
//   auto db = Database::Create({.url = "postgresql://...", .max_connections = 4});
//   absl::Status ok = (*db)->Ping(absl::Now() + absl::Seconds(1));
//
// Connections are opened lazily, at most `max_connections` at once; a
// broken one is discarded and replaced on the next use, so the service
// recovers by itself when the database comes back. Every connection runs
// with the configured lock and statement timeouts. Thread-safe.
#ifndef SCHEMAD_DB_DATABASE_H_
#define SCHEMAD_DB_DATABASE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace schemad {

struct DatabaseOptions {
  // libpq connection string or URL. Never logged or put in messages.
  std::string url;
  int max_connections = 4;
  // How long opening a connection may take.
  absl::Duration connect_timeout = absl::Seconds(2);
  // lock_timeout: how long one statement waits for a table lock.
  absl::Duration lock_timeout = absl::Seconds(5);
  // statement_timeout; a request's own deadline lowers it further.
  absl::Duration statement_timeout = absl::Minutes(5);
};

class ConnectionPool;  // defined in src/db
class Connection;      // session.h

// Statuses made from a PostgreSQL error carry its SQLSTATE ("42501") as a
// payload under this type URL, so that callers branch on the code, never
// on message text.
inline constexpr char kSqlStatePayload[] = "type.schemad.dev/sqlstate";

// Returns the SQLSTATE carried by `status`, or "" when it has none.
std::string SqlStateOf(const absl::Status& status);

// Whether retrying the same call later may succeed: the database or a lock
// was unavailable, a deadline passed, a resource ran out. Decided once,
// here, from the status code (which the SQLSTATE decided).
bool IsTransient(const absl::Status& status);

class Database {
 public:
  // Returns a pool; opens no connection yet. INVALID_ARGUMENT for bad
  // options.
  static absl::StatusOr<std::unique_ptr<Database>> Create(const DatabaseOptions& options);
  ~Database();

  // Opens or reuses a connection and runs SELECT 1. UNAVAILABLE with the
  // cause when the database cannot be reached.
  absl::Status Ping(absl::Time deadline);

  // Lends a connection: an idle one, or a new one while fewer than
  // max_connections are open; waits until `deadline` for one to free.
  // `force_new` closes the idle ones instead of reusing them (after the
  // server restarted). UNAVAILABLE when the database cannot be reached,
  // DEADLINE_EXCEEDED when none frees in time.
  absl::StatusOr<std::unique_ptr<Connection>> Acquire(absl::Time deadline, bool force_new = false);
  // A connection that is open and idle right now, or null. Never opens one.
  std::unique_ptr<Connection> AcquireIdle();
  // Connections on loan right now.
  int leased_connections() const;

  // Statements sent to PostgreSQL so far (BEGIN and COMMIT included).
  int64_t statements_sent() const;
  // Connections currently open.
  int open_connections() const;

  const DatabaseOptions& options() const;

 private:
  friend ConnectionPool& PoolOf(Database& db);
  explicit Database(std::unique_ptr<ConnectionPool> pool);
  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace schemad

#endif  // SCHEMAD_DB_DATABASE_H_
