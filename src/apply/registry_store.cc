#include "schemad/apply/registry_store.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "apply/engine_internal.h"
#include "apply/self_schema.h"
#include "db/pool.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "schemad/common/status_macros.h"

namespace schemad {
namespace {

using Lease = ConnectionPool::Lease;

// Every store statement runs with an empty search_path (only pg_catalog is
// searched for functions and operators: nothing planted elsewhere is
// called) and a statement timeout within the caller's deadline.
void Settings(ConnectionPool& pool, pqxx::transaction_base& tx, absl::Time deadline) {
  const absl::Duration left = std::min(deadline - absl::Now(), pool.options().statement_timeout);
  ExecParams(pool, tx,
             "SELECT pg_catalog.set_config('search_path', '', true), "
             "pg_catalog.set_config('statement_timeout', $1, true), "
             "pg_catalog.set_config('lock_timeout', $2, true)",
             TimeoutSetting(left), TimeoutSetting(pool.options().lock_timeout));
}

// The engine's connection handling (a broken connection replaced once, a
// suspect session discarded), with `fn` under Guard.
template <typename Fn>
absl::Status WithLease(ConnectionPool& pool, absl::Time deadline, const char* what, Fn&& fn) {
  SCHEMAD_RETURN_IF_ERROR(apply_internal::CheckDeadline(deadline, what));
  return apply_internal::WithConnection(pool, deadline, [&](Lease& lease) {
    return Guard(what, [&]() -> absl::Status { return fn(lease); });
  });
}

// Whether schemad's store exists and is schemad's own (layout 4 or later).
absl::StatusOr<bool> StoreReadable(ConnectionPool& pool, pqxx::transaction_base& tx) {
  bool usable = false;
  int version = 0;
  SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(pool, tx, &usable, &version));
  if (!usable || version < 4) return false;
  // The store's tables are verified with the history (Verify checks every
  // table schemad knows that exists); they exist from layout 4 on.
  const pqxx::result r = Exec(pool, tx,
                              "SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c "
                              "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = 'schemad' AND c.relkind = 'r' AND c.relname IN "
                              "('registries', 'registry_files', 'registry_labels')");
  return r[0][0].as<int>() == 3;
}

// The current label rows: the newest per label.
constexpr char kCurrentLabels[] =
    "(SELECT DISTINCT ON (label) label, registry_id FROM schemad.registry_labels "
    "ORDER BY label, id DESC)";

constexpr char kInfoColumns[] =
    "r.id, r.files_id, r.fingerprint, r.schema_name, r.publisher, "
    "pg_catalog.int8(EXTRACT(epoch FROM r.published_at) * 1000000), r.file_count, r.byte_count, "
    "COALESCE((SELECT pg_catalog.string_agg(l.label, E'\\n' ORDER BY l.label) FROM ";

std::string InfoQuery(const std::string& where) {
  return absl::StrCat("SELECT ", kInfoColumns, kCurrentLabels,
                      " l WHERE l.registry_id = r.id), '') FROM schemad.registries r ", where);
}

std::vector<std::string> SplitLines(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, '\n');
}

StoredRegistryInfo InfoFromRow(const pqxx::row& row) {
  StoredRegistryInfo info;
  info.row = row[0].as<int64_t>();
  info.id = row[1].as<std::string>();
  info.fingerprint = row[2].as<std::string>();
  info.schema = row[3].as<std::string>();
  info.publisher = row[4].as<std::string>();
  info.published_at = absl::FromUnixMicros(row[5].as<int64_t>());
  info.files = row[6].as<int>();
  info.bytes = row[7].as<int64_t>();
  info.labels = SplitLines(row[8].as<std::string>());
  return info;
}

std::vector<RegistrySource> ReadFiles(ConnectionPool& pool, pqxx::transaction_base& tx,
                                      int64_t row) {
  std::vector<RegistrySource> files;
  for (const auto& f : ExecParams(pool, tx,
                                  "SELECT name, pg_catalog.encode(content, 'hex') FROM "
                                  "schemad.registry_files WHERE registry_id = $1 ORDER BY name",
                                  row)) {
    files.push_back({f[0].as<std::string>(), absl::HexStringToBytes(f[1].as<std::string>())});
  }
  return files;
}

// Deletes what retention does not keep: registries without a current label,
// older than the newest `keep_last`, and not the one applied last.
void Prune(ConnectionPool& pool, pqxx::transaction_base& tx, int keep_last) {
  const std::string doomed = absl::StrCat(
      "SELECT r.id FROM schemad.registries r WHERE r.id NOT IN (SELECT id FROM "
      "schemad.registries ORDER BY id DESC LIMIT ",
      keep_last, ") AND r.id NOT IN (SELECT registry_id FROM ", kCurrentLabels,
      " c) AND r.id <> $1");
  const int64_t applied = LastAppliedRegistryId(pool, tx);
  ExecParams(pool, tx,
             absl::StrCat("DELETE FROM schemad.registry_files WHERE registry_id IN (", doomed, ")"),
             applied);
  ExecParams(
      pool, tx,
      absl::StrCat("DELETE FROM schemad.registry_labels WHERE registry_id IN (", doomed, ")"),
      applied);
  ExecParams(pool, tx, absl::StrCat("DELETE FROM schemad.registries WHERE id IN (", doomed, ")"),
             applied);
}

}  // namespace

absl::Status CheckLabel(const std::string& label) {
  if (label.empty() || label.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("label \"", label.substr(0, 64), "\": 1 to 128 characters"));
  }
  if (label[0] == '@' || label[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("label \"", label,
                     "\": labels starting with '@' are reserved (@default, @applied), "
                     "and may not start with '.'"));
  }
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("label \"", absl::CEscape(label.substr(0, 64)),
                       "\": only letters, digits, '.', '_', '-' and '/' are allowed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PublishResult> RegistryStore::Publish(const Registry& registry,
                                                     const std::vector<std::string>& labels,
                                                     bool move, const std::string& publisher,
                                                     absl::Time deadline) {
  for (const std::string& label : labels) SCHEMAD_RETURN_IF_ERROR(CheckLabel(label));
  std::vector<std::string> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  ConnectionPool& pool = PoolOf(*db_);
  PublishResult result;
  SCHEMAD_RETURN_IF_ERROR(WithLease(pool, deadline, "publishing the registry", [&](Lease& lease) {
    pqxx::work tx(lease.conn());
    pool.Count(2);
    Settings(pool, tx, deadline);
    SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(pool, tx));
    const int64_t before = FindStoredRegistry(pool, tx, registry.id);
    const int64_t row = before != 0 ? before : StoreRegistry(pool, tx, registry, publisher);
    result.created = before == 0;
    for (const std::string& label : sorted) {
      // One publisher at a time per label, until commit.
      ExecParams(pool, tx,
                 "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
                 "pg_catalog.concat('schemad:label:', $1::pg_catalog.text), 0))",
                 label);
      const pqxx::result current = ExecParams(
          pool, tx,
          "SELECT l.registry_id, r.files_id FROM schemad.registry_labels l LEFT JOIN "
          "schemad.registries r ON r.id = l.registry_id WHERE l.label = $1 ORDER BY l.id DESC "
          "LIMIT 1",
          label);
      if (!current.empty() && current[0][0].as<int64_t>() == row) continue;
      if (!current.empty() && !move) {
        return absl::AlreadyExistsError(absl::StrCat(
            "label \"", label, "\" names registry ",
            current[0][1].is_null() ? "(pruned)" : current[0][1].as<std::string>(),
            "; labels are immutable: publish under a new label, or move an environment label "
            "explicitly (move, schemactl publish --move)"));
      }
      ExecParams(pool, tx,
                 "INSERT INTO schemad.registry_labels (label, registry_id, assigned_at, "
                 "assigned_by) VALUES ($1, $2, pg_catalog.clock_timestamp(), $3)",
                 label, row, publisher);
    }
    Prune(pool, tx, keep_last_);
    const pqxx::result info = ExecParams(pool, tx, InfoQuery("WHERE r.id = $1"), row);
    if (info.empty()) return absl::InternalError("the published registry was not stored");
    result.info = InfoFromRow(info[0]);
    tx.commit();
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<StoredRegistry> RegistryStore::Find(const RegistrySelection& selection,
                                                   absl::Time deadline) {
  ConnectionPool& pool = PoolOf(*db_);
  const std::string what = selection.label.empty()
                               ? absl::StrCat("fingerprint \"", selection.fingerprint, "\"")
                               : absl::StrCat("label \"", selection.label, "\"");
  StoredRegistry out;
  bool found = false;
  SCHEMAD_RETURN_IF_ERROR(
      WithLease(pool, deadline, "reading the registry store", [&](Lease& lease) {
        pqxx::read_transaction tx(lease.conn());
        pool.Count(2);
        Settings(pool, tx, deadline);
        SCHEMAD_ASSIGN_OR_RETURN(bool readable, StoreReadable(pool, tx));
        if (!readable) return absl::OkStatus();
        pqxx::result r;
        if (selection.label == "@applied") {
          r = ExecParams(pool, tx, InfoQuery("WHERE r.id = $1"), LastAppliedRegistryId(pool, tx));
        } else if (!selection.label.empty()) {
          r = ExecParams(pool, tx,
                         InfoQuery(absl::StrCat("WHERE r.id = (SELECT registry_id FROM ",
                                                kCurrentLabels, " c WHERE c.label = $1)")),
                         selection.label);
        } else {
          r = ExecParams(pool, tx,
                         InfoQuery("WHERE r.files_id = $1 OR r.fingerprint = $1 "
                                   "ORDER BY r.files_id = $1 DESC, r.id DESC LIMIT 1"),
                         selection.fingerprint);
        }
        if (r.empty()) return absl::OkStatus();
        found = true;
        out.info = InfoFromRow(r[0]);
        out.files = ReadFiles(pool, tx, out.info.row);
        tx.commit();
        return absl::OkStatus();
      }));
  if (!found) {
    return absl::NotFoundError(absl::StrCat(
        "no published registry has ", what,
        selection.label == "@applied" ? " (no run has applied a stored registry yet)" : ""));
  }
  return out;
}

absl::StatusOr<std::vector<StoredRegistryInfo>> RegistryStore::List(int limit, int64_t before_row,
                                                                    absl::Time deadline) {
  ConnectionPool& pool = PoolOf(*db_);
  std::vector<StoredRegistryInfo> out;
  SCHEMAD_RETURN_IF_ERROR(WithLease(pool, deadline, "listing registries", [&](Lease& lease) {
    pqxx::read_transaction tx(lease.conn());
    pool.Count(2);
    Settings(pool, tx, deadline);
    SCHEMAD_ASSIGN_OR_RETURN(bool readable, StoreReadable(pool, tx));
    if (!readable) return absl::OkStatus();
    for (const auto& row :
         ExecParams(pool, tx, InfoQuery("WHERE $1 = 0 OR r.id < $1 ORDER BY r.id DESC LIMIT $2"),
                    before_row, limit)) {
      out.push_back(InfoFromRow(row));
    }
    tx.commit();
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> RegistryStore::History(int limit, int64_t before_id,
                                                                 int64_t only,
                                                                 absl::Time deadline) {
  ConnectionPool& pool = PoolOf(*db_);
  std::vector<HistoryEntry> out;
  SCHEMAD_RETURN_IF_ERROR(WithLease(pool, deadline, "reading the history", [&](Lease& lease) {
    pqxx::read_transaction tx(lease.conn());
    pool.Count(2);
    Settings(pool, tx, deadline);
    bool usable = false;
    int version = 0;
    SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(pool, tx, &usable, &version));
    if (!usable) return absl::OkStatus();
    // Columns of later layouts read as NULL before them.
    auto col = [&](int since, const char* expr, const char* otherwise) {
      return version >= since ? std::string(expr) : std::string(otherwise);
    };
    const std::string registry_cols =
        version >= 4 ? absl::StrCat(
                           "r.files_id, f.files_id, COALESCE((SELECT pg_catalog.string_agg("
                           "l.label, E'\\n' ORDER BY l.label) FROM ",
                           kCurrentLabels, " l WHERE l.registry_id = h.registry_id), '')")
                     : "NULL::text, NULL::text, ''";
    const std::string joins = version >= 4
                                  ? " LEFT JOIN schemad.registries r ON r.id = h.registry_id "
                                    "LEFT JOIN schemad.registries f ON f.id = h.from_registry_id"
                                  : "";
    const std::string sql = absl::StrCat(
        "SELECT h.id, ", col(4, "COALESCE(h.kind, 'initialize')", "'initialize'"),
        ", pg_catalog.int8(EXTRACT(epoch FROM h.started_at) * 1000000), "
        "pg_catalog.int8(EXTRACT(epoch FROM h.finished_at) * 1000000), h.duration_ms, h.caller, ",
        col(3, "COALESCE(h.mode, 'TRANSACTIONAL')", "'TRANSACTIONAL'"), ", ",
        col(3, "COALESCE(h.state, 'completed')", "'completed'"),
        ", pg_catalog.jsonb_array_length(h.steps), h.registry_fingerprint, ", registry_cols, ", ",
        col(2, "COALESCE(h.request_id, '')", "''"), ", ",
        only != 0 ? "h.steps::pg_catalog.text" : "NULL::text", " FROM schemad.history h", joins,
        only != 0 ? " WHERE h.id = $1"
                  : " WHERE ($1 = 0 OR h.id < $1) ORDER BY h.id DESC LIMIT $2");
    const pqxx::result rows =
        only != 0 ? ExecParams(pool, tx, sql, only) : ExecParams(pool, tx, sql, before_id, limit);
    for (const auto& row : rows) {
      HistoryEntry e;
      e.id = row[0].as<int64_t>();
      e.kind = row[1].as<std::string>();
      e.started_at = absl::FromUnixMicros(row[2].as<int64_t>());
      e.finished_at = absl::FromUnixMicros(row[3].as<int64_t>());
      e.duration_ms = row[4].as<int>();
      e.caller = row[5].as<std::string>();
      e.mode = row[6].as<std::string>();
      e.state = row[7].as<std::string>();
      e.steps = row[8].as<int>();
      e.registry_fingerprint = row[9].as<std::string>();
      if (!row[10].is_null()) e.registry_id = row[10].as<std::string>();
      if (!row[11].is_null()) e.from_registry_id = row[11].as<std::string>();
      e.registry_labels = SplitLines(row[12].as<std::string>());
      e.request_id = row[13].as<std::string>();
      if (!row[14].is_null()) {
        google::protobuf::ListValue steps;
        if (!google::protobuf::util::JsonStringToMessage(row[14].as<std::string>(), &steps).ok()) {
          return absl::InternalError("schemad.history holds steps that are not JSON");
        }
        for (const auto& v : steps.values()) {
          const auto& fields = v.struct_value().fields();
          const auto it = fields.find("sql");
          if (it != fields.end()) e.sql.push_back(it->second.string_value());
        }
      }
      out.push_back(std::move(e));
    }
    tx.commit();
    return absl::OkStatus();
  }));
  if (only != 0 && out.empty()) {
    return absl::NotFoundError(absl::StrCat("schemad.history has no run ", only));
  }
  return out;
}

}  // namespace schemad
