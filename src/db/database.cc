#include "schemad/db/database.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "db/pool.h"

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

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

std::string SqlStateOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kSqlStatePayload);
  return payload.has_value() ? std::string(*payload) : "";
}

namespace {

// libpq reports a refused connection without a SQLSTATE: the server's
// FATAL message is all there is. Decided here, once: credentials or a
// database name the server refuses are configuration errors, which waiting
// does not fix; anything else is the database being unreachable.
std::string ConnectFailureState(const std::string& message) {
  if (absl::StrContains(message, "password authentication failed") ||
      absl::StrContains(message, "no password supplied") ||
      absl::StrContains(message, "authentication failed for user")) {
    return "28P01";
  }
  if (absl::StrContains(message, "no pg_hba.conf entry") ||
      (absl::StrContains(message, "role \"") && absl::StrContains(message, "does not exist"))) {
    return "28000";
  }
  if (absl::StrContains(message, "database \"") && absl::StrContains(message, "does not exist")) {
    return "3D000";
  }
  return "08006";
}

}  // namespace

std::string CurrentSqlState() {
  try {
    throw;
  } catch (const pqxx::too_many_connections&) {
    return "53300";
  } catch (const pqxx::broken_connection& e) {
    return ConnectFailureState(e.what());
  } catch (const pqxx::in_doubt_error&) {
    return "08007";
  } catch (const pqxx::serialization_failure&) {
    return "40001";
  } catch (const pqxx::deadlock_detected&) {
    return "40P01";
  } catch (const pqxx::statement_completion_unknown&) {
    return "40003";
  } catch (const pqxx::transaction_rollback&) {
    return "40000";
  } catch (const pqxx::sql_error& e) {
    // libpqxx 6.4 throws some subclasses without the code: recover it from
    // the type.
    if (!e.sqlstate().empty()) return e.sqlstate();
    if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) return "42501";
    if (dynamic_cast<const pqxx::out_of_memory*>(&e) != nullptr) return "53200";
    if (dynamic_cast<const pqxx::disk_full*>(&e) != nullptr) return "53100";
    if (dynamic_cast<const pqxx::undefined_table*>(&e) != nullptr) return "42P01";
    if (dynamic_cast<const pqxx::undefined_column*>(&e) != nullptr) return "42703";
    if (dynamic_cast<const pqxx::undefined_function*>(&e) != nullptr) return "42883";
    if (dynamic_cast<const pqxx::syntax_error*>(&e) != nullptr) return "42601";
    if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) return "23505";
    if (dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr) return "23503";
    if (dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr) return "23502";
    if (dynamic_cast<const pqxx::check_violation*>(&e) != nullptr) return "23514";
    if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e) != nullptr) return "23000";
    if (dynamic_cast<const pqxx::feature_not_supported*>(&e) != nullptr) return "0A000";
    return "";
  } catch (...) {
    return "";
  }
}

namespace {

absl::Status WithSqlState(absl::Status status, const std::string& state) {
  if (!state.empty()) status.SetPayload(kSqlStatePayload, absl::Cord(state));
  return status;
}

// The status for an error PostgreSQL (or libpq) reported with `state`.
absl::Status StatusForSqlState(const std::string& what, const std::string& state,
                               const std::string& detail, absl::StatusCode sql_code) {
  const std::string message = absl::StrCat(
      what, ": ", detail, state.empty() ? "" : absl::StrCat(" (SQLSTATE ", state, ")"));
  if (state == "08007") {
    return absl::UnavailableError(absl::StrCat(
        what, ": connection lost during COMMIT; whether it committed is unknown: ", detail));
  }
  if (absl::StartsWith(state, "28") || state == "3D000") {
    return absl::FailedPreconditionError(absl::StrCat(
        message,
        "; the server refused schemad's connection settings: check --database-url's user, "
        "password and database name"));
  }
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") || state == "53300") {
    return absl::UnavailableError(absl::StrCat(what, ": database unreachable: ", detail));
  }
  if (absl::StartsWith(state, "40")) {
    return absl::AbortedError(absl::StrCat(message,
                                           "; transaction rolled back (deadlock or "
                                           "serialization failure), nothing applied"));
  }
  if (state == "55P03") {
    return absl::AbortedError(absl::StrCat(message,
                                           "; lock_timeout expired waiting for a lock "
                                           "held by another session, nothing applied"));
  }
  if (state == "57014") {
    return absl::DeadlineExceededError(
        absl::StrCat(message, "; statement_timeout or the request deadline expired"));
  }
  if (state == "53200") {
    return absl::ResourceExhaustedError(
        absl::StrCat(message,
                     "; the plan takes more locks than the server's lock table holds: raise "
                     "max_locks_per_transaction in postgresql.conf and restart PostgreSQL"));
  }
  if (absl::StartsWith(state, "53")) return absl::ResourceExhaustedError(message);
  // Data that violates the change (23) or objects that depend on what the
  // plan drops (2BP01): the server tried and rolled back.
  if (absl::StartsWith(state, "23") || absl::StartsWith(state, "2B")) {
    return absl::FailedPreconditionError(message);
  }
  if (state == "42501") {
    return absl::PermissionDeniedError(
        absl::StrCat(message,
                     "; the database role schemad connects as lacks this privilege (README: "
                     "\"Database privileges\")"));
  }
  return absl::Status(sql_code, message);
}

}  // namespace

absl::Status StatusFromCurrentException(const std::string& what, absl::StatusCode sql_code) {
  const std::string state = CurrentSqlState();
  try {
    throw;
  } catch (const NulInStatement& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  } catch (const pqxx::failure& e) {
    return WithSqlState(StatusForSqlState(what, state, FirstLine(e.what()), sql_code), state);
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

void RefuseNul(const std::string& text) {
  if (text.find('\0') != std::string::npos) {
    throw NulInStatement(
        "a statement or value holds a NUL byte, which PostgreSQL would "
        "silently truncate; nothing was sent");
  }
}

pqxx::result Exec(ConnectionPool& pool, pqxx::transaction_base& tx, const std::string& sql) {
  RefuseNul(sql);
  pool.Count();
  // The extended protocol: PostgreSQL refuses more than one statement.
  return tx.exec_params(sql);
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

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& value : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : value) {
      if (c == '\\' || c == '"') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
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

int ConnectionPool::leased() const {
  absl::MutexLock lock(&mu_);
  return open_ - static_cast<int>(idle_.size());
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
    {
      absl::MutexLock lock(&mu_);
      registered_.erase(conn.get());
    }
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
    pqxx::nontransaction tx(*conn);
    Count();
    // Session settings, bound as parameters. Initialize's concurrent-safe
    // contract relies on lock_timeout; client_connection_check_interval
    // lets the server notice a vanished client during a long statement.
    tx.exec_params(
        "SELECT pg_catalog.set_config('application_name', 'schemad', false), "
        "pg_catalog.set_config('lock_timeout', $1, false), "
        "pg_catalog.set_config('statement_timeout', $2, false), "
        "pg_catalog.set_config('client_connection_check_interval', '1000', false)",
        TimeoutSetting(options_.lock_timeout), TimeoutSetting(options_.statement_timeout));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;  // classified once, by SQLSTATE (connect failures: 08006)
  return conn;
}

std::unique_ptr<ConnectionPool::Lease> ConnectionPool::AcquireIdle() {
  std::unique_ptr<pqxx::connection> reused;
  {
    absl::MutexLock lock(&mu_);
    if (idle_.empty()) return nullptr;
    reused = std::move(idle_.back());
    idle_.pop_back();
  }
  auto lease = std::make_unique<Lease>(this, std::move(reused), false);
  if (!RegisterOn(lease->conn()).ok()) {
    lease->Discard();
    return nullptr;
  }
  return lease;
}

absl::StatusOr<std::unique_ptr<ConnectionPool::Lease>> ConnectionPool::Acquire(absl::Time deadline,
                                                                               bool force_new) {
  std::unique_ptr<pqxx::connection> reused;
  std::vector<std::unique_ptr<pqxx::connection>> to_close;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    if (!mu_.AwaitWithDeadline(absl::Condition(&available), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("all ", options_.max_connections,
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
  for (const auto& conn : to_close) {
    absl::MutexLock lock(&mu_);
    registered_.erase(conn.get());
  }
  to_close.clear();
  if (reused != nullptr) {
    auto lease = std::make_unique<Lease>(this, std::move(reused), false);
    absl::Status status = RegisterOn(lease->conn());
    if (!status.ok()) {
      lease->Discard();
      return status;
    }
    return lease;
  }
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  auto lease = std::make_unique<Lease>(this, std::move(*conn), true);
  absl::Status status = RegisterOn(lease->conn());
  if (!status.ok()) {
    lease->Discard();
    return status;
  }
  return lease;
}

void ConnectionPool::Register(const std::vector<Prepared>& statements) {
  absl::MutexLock lock(&mu_);
  for (const Prepared& p : statements) {
    bool known = false;
    for (const Prepared& q : prepared_) known = known || std::string_view(q.name) == p.name;
    if (!known) prepared_.push_back(p);
  }
}

absl::Status ConnectionPool::RegisterOn(pqxx::connection& conn) {
  std::vector<Prepared> missing;
  {
    absl::MutexLock lock(&mu_);
    size_t& done = registered_[&conn];
    missing.assign(prepared_.begin() + static_cast<std::ptrdiff_t>(done), prepared_.end());
    done = prepared_.size();
  }
  if (missing.empty()) return absl::OkStatus();
  // Registered with libpqxx; PostgreSQL prepares each on its first use.
  return Guard("registering prepared statements", [&]() -> absl::Status {
    for (const Prepared& p : missing) conn.prepare(p.name, p.sql);
    return absl::OkStatus();
  });
}

ConnectionPool& PoolOf(Database& db) { return *db.pool_; }

absl::StatusOr<std::unique_ptr<Database>> Database::Create(const DatabaseOptions& options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError("no database URL: pass --database-url or set DATABASE_URL");
  }
  // Parsed now, so that a malformed URL stops start-up instead of failing
  // every call. libpq's own message may quote the password: never pass it on.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr) {
    return absl::InvalidArgumentError(
        "the database URL is malformed (it is not shown: it may hold a password); check its "
        "syntax and percent-encoding: a '%' in a password is written %25");
  }
  PQconninfoFree(parsed);
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
    if (!lease.ok()) {
      // Every connection open and in use: the database is reachable, the
      // pool merely busy (readiness must not flip under load).
      if (lease.status().code() == absl::StatusCode::kDeadlineExceeded &&
          pool_->open() >= pool_->options().max_connections) {
        return absl::OkStatus();
      }
      return lease.status();
    }
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
