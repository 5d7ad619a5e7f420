// The database layer's private half: pooled pqxx connections, the one
// function that turns libpqxx exceptions into absl::Status, and counted
// statement execution. Nothing outside src/ sees libpqxx.
#ifndef SCHEMAD_DB_POOL_H_
#define SCHEMAD_DB_POOL_H_

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "schemad/db/database.h"
#include "schemad/db/session.h"

namespace schemad {

// Converts the exception in flight (call only inside a catch block) to a
// status: credentials or a database name the server refuses (28xxx,
// 3D000) -> FAILED_PRECONDITION, other connection failures -> UNAVAILABLE, lock timeout, deadlock
// and serialization failures -> ABORTED, statement timeout -> DEADLINE_EXCEEDED, lock table
// exhaustion (53200) -> RESOURCE_EXHAUSTED, integrity violations -> FAILED_PRECONDITION, other SQL
// errors -> INTERNAL (or `sql_code` for errors in SQL the caller supplied). `what` is prefixed.
absl::Status StatusFromCurrentException(const std::string& what,
                                        absl::StatusCode sql_code = absl::StatusCode::kInternal);

// The SQLSTATE of the exception in flight, or "". Where libpqxx 6.4 drops
// the code (42501, 40001, 40P01, 53300, connection errors) it is recovered
// from the exception's type.
std::string CurrentSqlState();

// Thrown instead of sending text that holds a NUL byte (libpq would cut
// the text there and run a prefix of it). Becomes INVALID_ARGUMENT.
class NulInStatement : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws NulInStatement if `text` holds a NUL byte.
void RefuseNul(const std::string& text);

// Runs `fn` and returns its status, or the status of what it threw.
template <typename Fn>
absl::Status Guard(const std::string& what, Fn&& fn) {
  try {
    return fn();
  } catch (...) {
    return StatusFromCurrentException(what);
  }
}

class ConnectionPool {
 public:
  explicit ConnectionPool(DatabaseOptions options);
  ~ConnectionPool();

  // A connection on loan; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn, bool fresh);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    pqxx::connection& conn() { return *conn_; }
    // Whether the connection was opened for this lease (not reused).
    bool fresh() const { return fresh_; }
    // Closes the connection instead of returning it (after an error that
    // may have left it unusable).
    void Discard() { discard_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool fresh_;
    bool discard_ = false;
  };

  // Waits until `deadline` for a free slot. `force_new` closes an idle
  // connection instead of reusing it. UNAVAILABLE when the database cannot
  // be reached, DEADLINE_EXCEEDED when no slot frees in time.
  absl::StatusOr<std::unique_ptr<Lease>> Acquire(absl::Time deadline, bool force_new = false);
  // A lease on a connection that is open and idle right now; none (null)
  // when there is none. Never opens one.
  std::unique_ptr<Lease> AcquireIdle();

  // Named statements that every connection registers with libpqxx
  // (PostgreSQL prepares each on its first use there). A module registers
  // its statements before it runs them; registering a name again is a
  // no-op. A connection opened earlier registers the newer ones when it is
  // next leased.
  struct Prepared {
    const char* name;
    const char* sql;
  };
  void Register(const std::vector<Prepared>& statements);

  // Counts one statement sent.
  void Count(int n = 1) { statements_.fetch_add(n, std::memory_order_relaxed); }
  int64_t statements() const { return statements_.load(std::memory_order_relaxed); }
  int open() const;
  // Connections on loan right now.
  int leased() const;
  const DatabaseOptions& options() const { return options_; }

 private:
  void Return(std::unique_ptr<pqxx::connection> conn, bool discard);
  // Registers on `conn` the statements registered with the pool since it
  // last did.
  absl::Status RegisterOn(pqxx::connection& conn);
  // Opens a connection (bounded by PGCONNECT_TIMEOUT, set from
  // DatabaseOptions::connect_timeout).
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect();

  const DatabaseOptions options_;
  std::atomic<int64_t> statements_{0};
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Prepared> prepared_ ABSL_GUARDED_BY(mu_);
  // How many of prepared_ each open connection has registered.
  std::unordered_map<const pqxx::connection*, size_t> registered_ ABSL_GUARDED_BY(mu_);
};

// The pool behind a Database: for the modules below the public API only.
ConnectionPool& PoolOf(Database& db);

// session.h's types, as the database layer (and the catalog, which reads
// through libpqxx directly) sees them.
struct Connection::Impl {
  ConnectionPool* pool;
  std::unique_ptr<ConnectionPool::Lease> lease;
};

struct Transaction::Impl {
  std::unique_ptr<pqxx::transaction_base> tx;
  // The same object when it is a real transaction (not kNone).
  pqxx::dbtransaction* db = nullptr;
  // Why BEGIN failed, returned by every later call.
  absl::Status begin;
  // The first statement that failed in a real transaction: PostgreSQL has
  // aborted it, so Commit returns this instead of sending COMMIT (which
  // the server would answer with ROLLBACK, and libpqxx take for success).
  absl::Status failed;
};

struct Rows::Impl {
  pqxx::result result;
};

struct RowsAccess {
  static Rows Make(pqxx::result result);
  static const pqxx::result& Of(const Rows& rows) { return rows.impl_->result; }
};

inline ConnectionPool& PoolOf(Connection& conn) { return *conn.impl().pool; }
inline pqxx::connection& NativeOf(Connection& conn) { return conn.impl().lease->conn(); }
inline ConnectionPool& PoolOf(Transaction& tx) { return PoolOf(tx.connection()); }
// The libpqxx transaction of `tx`; call only when tx.status() is OK
// (throws std::logic_error when BEGIN failed).
pqxx::transaction_base& NativeOf(Transaction& tx);
// The same, for a real transaction (savepoints need one): throws
// std::logic_error for Kind::kNone.
pqxx::dbtransaction& NativeDbOf(Transaction& tx);

// The executor: every statement schemad sends goes through these. Each
// call sends exactly one statement through the extended protocol (libpq's
// PQexecParams, which PostgreSQL refuses to run with more than one
// statement in it), refuses NUL bytes in the text and in string values,
// and counts the statement. Throws libpqxx exceptions (call under Guard).
pqxx::result Exec(ConnectionPool& pool, pqxx::transaction_base& tx, const std::string& sql);

namespace internal {
inline void RefuseNulValue(const std::string& value) { RefuseNul(value); }
inline void RefuseNulValue(const char* value) {}
template <typename T>
void RefuseNulValue(const T&) {}
}  // namespace internal

template <typename... Args>
pqxx::result ExecParams(ConnectionPool& pool, pqxx::transaction_base& tx, const std::string& sql,
                        Args&&... args) {
  RefuseNul(sql);
  (internal::RefuseNulValue(args), ...);
  pool.Count();
  return tx.exec_params(sql, std::forward<Args>(args)...);
}

// Runs a statement registered with ConnectionPool::Register by name.
template <typename... Args>
pqxx::result ExecPrepared(ConnectionPool& pool, pqxx::transaction_base& tx, const char* name,
                          Args&&... args) {
  (internal::RefuseNulValue(args), ...);
  pool.Count();
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// Reads a text[] field.
std::vector<std::string> ArrayField(const pqxx::field& field);

}  // namespace schemad

#endif  // SCHEMAD_DB_POOL_H_
