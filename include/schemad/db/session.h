// Connections, transactions and results without libpqxx: what the modules
// above the database layer (apply) use to talk to PostgreSQL.
//
//   SCHEMAD_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, db.Acquire(deadline));
//   Transaction tx(*conn, Transaction::Kind::kReadWrite, "recording the run");
//   SCHEMAD_ASSIGN_OR_RETURN(Rows rows, tx.Exec("SELECT $1::int8", {id}));
//   int64_t n = rows[0].Int(0);
//   SCHEMAD_RETURN_IF_ERROR(tx.Commit());
//
// Every call returns its failure as a status: libpqxx's exceptions are
// caught inside the database layer and classified once, by SQLSTATE (see
// SqlStateOf and IsTransient in database.h). Each Exec sends exactly one
// statement through the extended protocol (PostgreSQL refuses more than
// one there), refuses NUL bytes in the text and in parameters, and counts
// the statement. An error's message starts with the transaction's `what`.
#ifndef SCHEMAD_DB_SESSION_H_
#define SCHEMAD_DB_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace schemad {

// One statement parameter: text (PostgreSQL converts it to the parameter's
// type) or NULL.
class Param {
 public:
  Param(const std::string& text) : value_(text) {}
  Param(std::string&& text) : value_(std::move(text)) {}
  Param(std::string_view text) : value_(std::string(text)) {}
  Param(const char* text) : value_(std::string(text)) {}
  Param(bool value) : value_(value ? "true" : "false") {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Param(T value) : value_(std::to_string(value)) {}
  Param(std::nullopt_t) {}
  Param(const std::optional<std::string>& value) : value_(value) {}

  const std::optional<std::string>& value() const { return value_; }

 private:
  std::optional<std::string> value_;
};

// The rows a statement returned. Cheap to copy (shared). Values are read
// by column number as text, integer or boolean; a NULL reads as "", the
// given default or false (check IsNull where that matters).
class Rows {
 public:
  class Row {
   public:
    bool IsNull(int column) const;
    std::string Text(int column) const;
    // 0 (or `if_null`) for NULL; 0 for text that is not an integer.
    int64_t Int(int column, int64_t if_null = 0) const;
    bool Bool(int column) const;

   private:
    friend class Rows;
    Row(const Rows* rows, size_t index) : rows_(rows), index_(index) {}
    const Rows* rows_;
    size_t index_;
  };

  class iterator {
   public:
    Row operator*() const { return (*rows_)[index_]; }
    iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const iterator& other) const { return index_ != other.index_; }

   private:
    friend class Rows;
    iterator(const Rows* rows, size_t index) : rows_(rows), index_(index) {}
    const Rows* rows_;
    size_t index_;
  };

  Rows();
  ~Rows();
  Rows(const Rows&);
  Rows& operator=(const Rows&);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;

  size_t size() const;
  bool empty() const { return size() == 0; }
  Row operator[](size_t index) const { return Row(this, index); }
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size()); }
  // Rows an INSERT, UPDATE or DELETE touched.
  int64_t affected() const;

  struct Impl;  // the database layer's

 private:
  friend struct RowsAccess;
  std::shared_ptr<const Impl> impl_;
};

// A pooled connection on loan (Database::Acquire); returned to the pool
// when destroyed.
class Connection {
 public:
  struct Impl;  // the database layer's
  explicit Connection(std::unique_ptr<Impl> impl);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Whether it was opened for this loan (not reused from the pool).
  bool fresh() const;
  // Closes it instead of returning it (after an error that may have left
  // the session unusable).
  void Discard();
  // The PostgreSQL backend's process id.
  int BackendPid() const;
  // Asks the server to cancel the statement in flight (libpq's cancel
  // request). Called from another thread while a statement runs (the
  // watchdog does); best effort.
  void CancelQuery() noexcept;

  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A transaction on a connection (or, kNone, statements in autocommit).
// Rolled back when destroyed uncommitted. One at a time per connection.
class Transaction {
 public:
  enum class Kind {
    kReadWrite,  // READ COMMITTED
    kReadOnly,   // READ COMMITTED, READ ONLY
    kSnapshot,   // REPEATABLE READ, READ ONLY: one snapshot for every read
    kNone,       // no transaction: each statement commits by itself
  };

  // Sends BEGIN (not for kNone); a failure is returned by the first Exec
  // or Commit. `what` starts every error's message ("applying the plan").
  // Once a statement of a real transaction failed, PostgreSQL has aborted
  // it: later calls, Commit included, return that first failure.
  Transaction(Connection& connection, Kind kind, std::string what);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  absl::StatusOr<Rows> Exec(const std::string& sql, std::initializer_list<Param> params = {});
  absl::Status Commit();
  // OK while statements may be sent: BEGIN succeeded and none failed.
  absl::Status status() const;
  // Adopts a snapshot exported by pg_export_snapshot() on another
  // connection (kSnapshot, before any other statement).
  absl::Status ImportSnapshot(const std::string& snapshot_id);

  const std::string& what() const { return what_; }
  Connection& connection() { return connection_; }

  struct Impl;  // the database layer's
  Impl& impl() { return *impl_; }

 private:
  Connection& connection_;
  const std::string what_;
  std::unique_ptr<Impl> impl_;
};

// Schemas at least this large are read with plan_cache_mode =
// force_custom_plan: catalog sizes change by orders of magnitude within one
// session (canonicalizing creates thousands of tables) while catalog
// statistics lag, and a generic plan made for a small catalog was measured
// 8x slower on 3,000 tables. Below it, generic plans save ~3 ms of planning
// per read.
inline constexpr size_t kLargeSchemaTables = 200;

// The plan_cache_mode for reading a schema of `tables` tables.
inline const char* PlanCacheMode(size_t tables) {
  return tables >= kLargeSchemaTables ? "force_custom_plan" : "auto";
}

// A text[] literal of `values`, for one parameter ($n::pg_catalog.text[]):
// each element double-quoted, its backslashes and double quotes escaped.
std::string ArrayLiteral(const std::vector<std::string>& values);

// Formats a duration as a PostgreSQL interval in milliseconds ("1500ms"),
// at least 1ms (0 would disable the timeout).
std::string TimeoutSetting(absl::Duration d);

}  // namespace schemad

#endif  // SCHEMAD_DB_SESSION_H_
