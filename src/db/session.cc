#include "schemad/db/session.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "db/pool.h"

namespace schemad {

// --- Rows --------------------------------------------------------------------

Rows::Rows() = default;
Rows::~Rows() = default;
Rows::Rows(const Rows&) = default;
Rows& Rows::operator=(const Rows&) = default;
Rows::Rows(Rows&&) noexcept = default;
Rows& Rows::operator=(Rows&&) noexcept = default;

Rows RowsAccess::Make(pqxx::result result) {
  Rows rows;
  rows.impl_ = std::make_shared<const Rows::Impl>(Rows::Impl{std::move(result)});
  return rows;
}

size_t Rows::size() const { return impl_ == nullptr ? 0 : impl_->result.size(); }

int64_t Rows::affected() const {
  return impl_ == nullptr ? 0 : static_cast<int64_t>(impl_->result.affected_rows());
}

bool Rows::Row::IsNull(int column) const {
  return RowsAccess::Of(*rows_)[static_cast<pqxx::result::size_type>(index_)][column].is_null();
}

std::string Rows::Row::Text(int column) const {
  const pqxx::field f =
      RowsAccess::Of(*rows_)[static_cast<pqxx::result::size_type>(index_)][column];
  return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
}

int64_t Rows::Row::Int(int column, int64_t if_null) const {
  if (IsNull(column)) return if_null;
  int64_t out = 0;
  return absl::SimpleAtoi(Text(column), &out) ? out : 0;
}

bool Rows::Row::Bool(int column) const {
  // PostgreSQL's text form of boolean: "t" or "f".
  return !IsNull(column) && Text(column) == "t";
}

// --- Connection --------------------------------------------------------------

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

bool Connection::fresh() const { return impl_->lease->fresh(); }
void Connection::Discard() { impl_->lease->Discard(); }
int Connection::BackendPid() const { return impl_->lease->conn().backendpid(); }

void Connection::CancelQuery() noexcept {
  try {
    impl_->lease->conn().cancel_query();
  } catch (...) {
    // The session is going away anyway.
  }
}

absl::StatusOr<std::unique_ptr<Connection>> Database::Acquire(absl::Time deadline, bool force_new) {
  absl::StatusOr<std::unique_ptr<ConnectionPool::Lease>> lease =
      pool_->Acquire(deadline, force_new);
  if (!lease.ok()) return lease.status();
  return std::make_unique<Connection>(
      std::make_unique<Connection::Impl>(Connection::Impl{pool_.get(), *std::move(lease)}));
}

std::unique_ptr<Connection> Database::AcquireIdle() {
  std::unique_ptr<ConnectionPool::Lease> lease = pool_->AcquireIdle();
  if (lease == nullptr) return nullptr;
  return std::make_unique<Connection>(
      std::make_unique<Connection::Impl>(Connection::Impl{pool_.get(), std::move(lease)}));
}

int Database::leased_connections() const { return pool_->leased(); }

// --- Transaction -------------------------------------------------------------

namespace {

using SnapshotTx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

}  // namespace

Transaction::Transaction(Connection& connection, Kind kind, std::string what)
    : connection_(connection), what_(std::move(what)), impl_(std::make_unique<Impl>()) {
  pqxx::connection& conn = NativeOf(connection_);
  try {
    switch (kind) {
      case Kind::kReadWrite: {
        auto tx = std::make_unique<pqxx::work>(conn);
        impl_->db = tx.get();
        impl_->tx = std::move(tx);
        break;
      }
      case Kind::kReadOnly: {
        auto tx = std::make_unique<pqxx::read_transaction>(conn);
        impl_->db = tx.get();
        impl_->tx = std::move(tx);
        break;
      }
      case Kind::kSnapshot: {
        auto tx = std::make_unique<SnapshotTx>(conn);
        impl_->db = tx.get();
        impl_->tx = std::move(tx);
        break;
      }
      case Kind::kNone:
        impl_->tx = std::make_unique<pqxx::nontransaction>(conn);
        break;
    }
    // BEGIN now, COMMIT (or ROLLBACK) later.
    if (impl_->db != nullptr) PoolOf(connection_).Count(2);
  } catch (...) {
    impl_->tx.reset();
    impl_->begin = StatusFromCurrentException(what_);
  }
}

Transaction::~Transaction() {
  try {
    impl_->tx.reset();  // rolls back what was not committed
  } catch (...) {
  }
}

absl::StatusOr<Rows> Transaction::Exec(const std::string& sql,
                                       std::initializer_list<Param> params) {
  if (!impl_->begin.ok()) return impl_->begin;
  if (!impl_->failed.ok()) return impl_->failed;
  try {
    RefuseNul(sql);
    // NULL as a null pointer: libpqxx sends it as a NULL parameter.
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& p : params) {
      if (p.value().has_value()) RefuseNul(*p.value());
      values.push_back(p.value().has_value() ? p.value()->c_str() : nullptr);
    }
    PoolOf(connection_).Count();
    return RowsAccess::Make(
        impl_->tx->exec_params(sql, pqxx::prepare::make_dynamic_params(values)));
  } catch (...) {
    absl::Status status = StatusFromCurrentException(what_);
    if (impl_->db != nullptr) impl_->failed = status;
    return status;
  }
}

absl::Status Transaction::Commit() {
  if (!impl_->begin.ok()) return impl_->begin;
  if (!impl_->failed.ok()) return impl_->failed;
  try {
    impl_->tx->commit();
    return absl::OkStatus();
  } catch (...) {
    return StatusFromCurrentException(what_);
  }
}

absl::Status Transaction::status() const {
  if (!impl_->begin.ok()) return impl_->begin;
  return impl_->failed;
}

absl::Status Transaction::ImportSnapshot(const std::string& snapshot_id) {
  if (!impl_->begin.ok()) return impl_->begin;
  if (!impl_->failed.ok()) return impl_->failed;
  try {
    RefuseNul(snapshot_id);
    // SET TRANSACTION takes no parameters: the id, from PostgreSQL, is
    // quoted as a literal.
    PoolOf(connection_).Count();
    impl_->tx->exec_params("SET TRANSACTION SNAPSHOT " + impl_->tx->quote(snapshot_id));
    return absl::OkStatus();
  } catch (...) {
    impl_->failed = StatusFromCurrentException(what_);
    return impl_->failed;
  }
}

pqxx::transaction_base& NativeOf(Transaction& tx) {
  if (!tx.impl().begin.ok()) throw std::logic_error("BEGIN failed: check Transaction::status()");
  return *tx.impl().tx;
}

pqxx::dbtransaction& NativeDbOf(Transaction& tx) {
  NativeOf(tx);
  if (tx.impl().db == nullptr) throw std::logic_error("a savepoint needs a transaction");
  return *tx.impl().db;
}

}  // namespace schemad
