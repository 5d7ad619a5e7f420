#include <cstdlib>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catalog/queries.h"
#include "db/pool.h"
#include "schemad/apply/database.h"

namespace schemad {
namespace {

// libpq messages may quote the connection target but never the password;
// still, keep them to their first line.
std::string FirstLine(const std::string& text) {
  std::string out = text.substr(0, text.find('\n'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

std::string CurrentSqlState() {
  try {
    throw;
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate();
  } catch (...) {
    return "";
  }
}

absl::Status StatusFromCurrentException(const std::string& what, absl::StatusCode sql_code) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat(what, ": database unreachable: ", FirstLine(e.what())));
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError(absl::StrCat(what, ": transaction rolled back (deadlock or "
                                                 "serialization failure), nothing applied: ",
                                           FirstLine(e.what())));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(
        what, ": connection lost during COMMIT; whether it committed is unknown: ",
        FirstLine(e.what())));
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    const std::string message = absl::StrCat(what, ": ", FirstLine(e.what()),
                                             state.empty() ? "" : absl::StrCat(" (SQLSTATE ", state, ")"));
    if (state == "55P03") {
      return absl::AbortedError(absl::StrCat(message, "; lock_timeout expired waiting for a lock "
                                                      "held by another session, nothing applied"));
    }
    if (state == "40P01" || state == "40001") return absl::AbortedError(message);
    if (state == "57014") {
      return absl::DeadlineExceededError(
          absl::StrCat(message, "; statement_timeout or the request deadline expired"));
    }
    if (state == "53200") {
      return absl::ResourceExhaustedError(absl::StrCat(
          message, "; the plan takes more locks than the server's lock table holds: raise "
                   "max_locks_per_transaction in postgresql.conf and restart PostgreSQL"));
    }
    if (state == "53300") return absl::UnavailableError(message);
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
      return absl::UnavailableError(absl::StrCat(what, ": database unreachable: ",
                                                 FirstLine(e.what())));
    }
    if (absl::StartsWith(state, "23")) return absl::FailedPreconditionError(message);
    if (state == "42501") {
      return absl::PermissionDeniedError(
          absl::StrCat(message, "; the database role lacks a privilege schemad needs"));
    }
    return absl::Status(sql_code, message);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", FirstLine(e.what())));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

std::string TimeoutSetting(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms < 1) ms = 1;
  return absl::StrCat(ms, "ms");
}

pqxx::result Exec(ConnectionPool& pool, pqxx::transaction_base& tx, const std::string& sql) {
  pool.Count();
  return tx.exec(sql);
}

std::vector<std::string> ArrayField(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  pqxx::array_parser parser = field.as_array();
  for (;;) {
    auto [kind, value] = parser.get_next();
    if (kind == pqxx::array_parser::done) break;
    if (kind == pqxx::array_parser::string_value) out.push_back(std::move(value));
    if (kind == pqxx::array_parser::null_value) out.emplace_back();
  }
  return out;
}

ConnectionPool::ConnectionPool(DatabaseOptions options) : options_(std::move(options)) {}
ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn,
                             bool fresh)
    : pool_(pool), conn_(std::move(conn)), fresh_(fresh) {}

ConnectionPool::Lease::~Lease() { pool_->Return(std::move(conn_), discard_); }

int ConnectionPool::open() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> conn, bool discard) {
  bool usable = !discard;
  if (usable) {
    try {
      usable = conn->is_open();
    } catch (...) {
      usable = false;
    }
  }
  if (!usable) {
    try {
      conn.reset();
    } catch (...) {
    }
  }
  absl::MutexLock lock(&mu_);
  if (usable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Connect() {
  std::unique_ptr<pqxx::connection> conn;
  absl::Status status = Guard("connecting to PostgreSQL", [&]() -> absl::Status {
    conn = std::make_unique<pqxx::connection>(options_.url);
    // Registered here, prepared by libpqxx on first use on this connection.
    for (const queries::NamedQuery& q : queries::kPrepared) conn->prepare(q.name, q.sql);
    pqxx::nontransaction tx(*conn);
    Count();
    // Session settings, bound as parameters. Initialize's concurrent-safe
    // contract relies on lock_timeout; client_connection_check_interval
    // lets the server notice a vanished client during a long statement.
    tx.exec_params(
        "SELECT set_config('application_name', 'schemad', false), "
        "set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), "
        "set_config('client_connection_check_interval', '1000', false)",
        TimeoutSetting(options_.lock_timeout), TimeoutSetting(options_.statement_timeout));
    return absl::OkStatus();
  });
  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kUnavailable &&
        status.code() != absl::StatusCode::kPermissionDenied) {
      // Authentication and configuration errors at connect time also mean
      // the database is not usable right now.
      return absl::UnavailableError(std::string(status.message()));
    }
    return status;
  }
  return conn;
}

absl::StatusOr<std::unique_ptr<ConnectionPool::Lease>> ConnectionPool::Acquire(
    absl::Time deadline, bool force_new) {
  std::unique_ptr<pqxx::connection> reused;
  std::vector<std::unique_ptr<pqxx::connection>> to_close;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::DeadlineExceededError(absl::StrCat(
          "all ", options_.max_connections,
          " database connections stayed busy until the deadline (--max-connections)"));
    }
    if (force_new) {
      // Idle connections are suspect (the server may have restarted).
      open_ -= static_cast<int>(idle_.size());
      to_close = std::move(idle_);
      idle_.clear();
    }
    if (!idle_.empty()) {
      reused = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  to_close.clear();
  if (reused != nullptr) return std::make_unique<Lease>(this, std::move(reused), false);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  return std::make_unique<Lease>(this, std::move(*conn), true);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Create(const DatabaseOptions& options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError(
        "no database URL: pass --database-url or set DATABASE_URL");
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("--max-connections must be at least 1");
  }
  // libpq reads the connect timeout from the environment unless the URL
  // sets one; whole seconds, at least 1.
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(options.connect_timeout));
  setenv("PGCONNECT_TIMEOUT", absl::StrCat(seconds).c_str(), /*overwrite=*/0);
  return std::unique_ptr<Database>(new Database(std::make_unique<ConnectionPool>(options)));
}

Database::Database(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}
Database::~Database() = default;

absl::Status Database::Ping(absl::Time deadline) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<ConnectionPool::Lease>> lease =
        pool_->Acquire(deadline, /*force_new=*/attempt > 0);
    if (!lease.ok()) return lease.status();
    absl::Status status = Guard("checking the database", [&]() -> absl::Status {
      pqxx::nontransaction tx((*lease)->conn());
      Exec(*pool_, tx, "SELECT 1");
      return absl::OkStatus();
    });
    if (status.ok()) return status;
    (*lease)->Discard();
    // A pooled connection may have died with a restarted server: retry
    // once on a fresh one before reporting the database unreachable.
    if ((*lease)->fresh() || status.code() != absl::StatusCode::kUnavailable) return status;
  }
  return absl::UnavailableError("database unreachable");
}

int64_t Database::statements_sent() const { return pool_->statements(); }
int Database::open_connections() const { return pool_->open(); }
const DatabaseOptions& Database::options() const { return pool_->options(); }

}  // namespace schemad
