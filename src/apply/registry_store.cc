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
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "schemad/common/status_macros.h"

namespace schemad {
namespace {

// Every store statement runs with an empty search_path (only pg_catalog is
// searched for functions and operators: nothing planted elsewhere is
// called) and a statement timeout within the caller's deadline.
absl::Status Settings(Database& db, Transaction& tx, absl::Time deadline) {
  const absl::Duration left = std::min(deadline - absl::Now(), db.options().statement_timeout);
  return tx
      .Exec(
          "SELECT pg_catalog.set_config('search_path', '', true), "
          "pg_catalog.set_config('statement_timeout', $1, true), "
          "pg_catalog.set_config('lock_timeout', $2, true)",
          {TimeoutSetting(left), TimeoutSetting(db.options().lock_timeout)})
      .status();
}

// The engine's connection handling (a broken connection replaced once, a
// suspect session discarded); `fn` gets a transaction of `kind` whose
// errors start with `what`, with its settings made.
template <typename Fn>
absl::Status WithTransaction(Database& db, absl::Time deadline, const char* what,
                             Transaction::Kind kind, Fn&& fn) {
  SCHEMAD_RETURN_IF_ERROR(apply_internal::CheckDeadline(deadline, what));
  return apply_internal::WithConnection(db, deadline, [&](Connection& conn) -> absl::Status {
    Transaction tx(conn, kind, what);
    SCHEMAD_RETURN_IF_ERROR(Settings(db, tx, deadline));
    SCHEMAD_RETURN_IF_ERROR(fn(tx));
    return tx.Commit();
  });
}

// Whether schemad's store exists and is schemad's own (layout 4 or later).
absl::StatusOr<bool> StoreReadable(Transaction& tx) {
  bool usable = false;
  int version = 0;
  SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(tx, &usable, &version));
  if (!usable || version < 4) return false;
  // The store's tables are verified with the history (Verify checks every
  // table schemad knows that exists); they exist from layout 4 on.
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r, tx.Exec("SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c "
                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'schemad' AND c.relkind = 'r' AND c.relname IN "
                            "('registries', 'registry_files', 'registry_labels')"));
  return r[0].Int(0) == 3;
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

StoredRegistryInfo InfoFromRow(const Rows::Row& row) {
  StoredRegistryInfo info;
  info.row = row.Int(0);
  info.id = row.Text(1);
  info.fingerprint = row.Text(2);
  info.schema = row.Text(3);
  info.publisher = row.Text(4);
  info.published_at = absl::FromUnixMicros(row.Int(5));
  info.files = static_cast<int>(row.Int(6));
  info.bytes = row.Int(7);
  info.labels = SplitLines(row.Text(8));
  return info;
}

absl::StatusOr<std::vector<RegistrySource>> ReadFiles(Transaction& tx, int64_t row) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows rows,
                           tx.Exec("SELECT name, pg_catalog.encode(content, 'hex') FROM "
                                   "schemad.registry_files WHERE registry_id = $1 ORDER BY name",
                                   {row}));
  std::vector<RegistrySource> files;
  for (const Rows::Row f : rows) files.push_back({f.Text(0), absl::HexStringToBytes(f.Text(1))});
  return files;
}

// Deletes what retention does not keep: registries without a current label,
// older than the newest `keep_last`, and not the one applied last.
absl::Status Prune(Transaction& tx, int keep_last) {
  const std::string doomed = absl::StrCat(
      "SELECT r.id FROM schemad.registries r WHERE r.id NOT IN (SELECT id FROM "
      "schemad.registries ORDER BY id DESC LIMIT ",
      keep_last, ") AND r.id NOT IN (SELECT registry_id FROM ", kCurrentLabels,
      " c) AND r.id <> $1");
  SCHEMAD_ASSIGN_OR_RETURN(const int64_t applied, LastAppliedRegistryId(tx));
  for (const char* table : {"registry_files", "registry_labels"}) {
    SCHEMAD_RETURN_IF_ERROR(
        tx.Exec(absl::StrCat("DELETE FROM schemad.", table, " WHERE registry_id IN (", doomed, ")"),
                {applied})
            .status());
  }
  return tx
      .Exec(absl::StrCat("DELETE FROM schemad.registries WHERE id IN (", doomed, ")"), {applied})
      .status();
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
  PublishResult result;
  SCHEMAD_RETURN_IF_ERROR(WithTransaction(
      *db_, deadline, "publishing the registry", Transaction::Kind::kReadWrite,
      [&](Transaction& tx) -> absl::Status {
        SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(tx));
        SCHEMAD_ASSIGN_OR_RETURN(const int64_t before, FindStoredRegistry(tx, registry.id));
        int64_t row = before;
        if (row == 0) {
          SCHEMAD_ASSIGN_OR_RETURN(row, StoreRegistry(tx, registry, publisher));
        }
        result.created = before == 0;
        for (const std::string& label : sorted) {
          // One publisher at a time per label, until commit.
          SCHEMAD_RETURN_IF_ERROR(
              tx.Exec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
                      "pg_catalog.concat('schemad:label:', $1::pg_catalog.text), 0))",
                      {label})
                  .status());
          SCHEMAD_ASSIGN_OR_RETURN(
              const Rows current,
              tx.Exec("SELECT l.registry_id, r.files_id FROM schemad.registry_labels l LEFT "
                      "JOIN schemad.registries r ON r.id = l.registry_id WHERE l.label = $1 "
                      "ORDER BY l.id DESC LIMIT 1",
                      {label}));
          if (!current.empty() && current[0].Int(0) == row) continue;
          if (!current.empty() && !move) {
            return absl::AlreadyExistsError(absl::StrCat(
                "label \"", label, "\" names registry ",
                current[0].IsNull(1) ? "(pruned)" : current[0].Text(1),
                "; labels are immutable: publish under a new label, or move an environment "
                "label explicitly (move, schemactl publish --move)"));
          }
          SCHEMAD_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO schemad.registry_labels (label, registry_id, assigned_at, "
                      "assigned_by) VALUES ($1, $2, pg_catalog.clock_timestamp(), $3)",
                      {label, row, publisher})
                  .status());
        }
        SCHEMAD_RETURN_IF_ERROR(Prune(tx, keep_last_));
        SCHEMAD_ASSIGN_OR_RETURN(const Rows info, tx.Exec(InfoQuery("WHERE r.id = $1"), {row}));
        if (info.empty()) return absl::InternalError("the published registry was not stored");
        result.info = InfoFromRow(info[0]);
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<StoredRegistry> RegistryStore::Find(const RegistrySelection& selection,
                                                   absl::Time deadline) {
  const std::string what = selection.label.empty()
                               ? absl::StrCat("fingerprint \"", selection.fingerprint, "\"")
                               : absl::StrCat("label \"", selection.label, "\"");
  StoredRegistry out;
  bool found = false;
  SCHEMAD_RETURN_IF_ERROR(WithTransaction(
      *db_, deadline, "reading the registry store", Transaction::Kind::kReadOnly,
      [&](Transaction& tx) -> absl::Status {
        SCHEMAD_ASSIGN_OR_RETURN(bool readable, StoreReadable(tx));
        if (!readable) return absl::OkStatus();
        absl::StatusOr<Rows> r;
        if (selection.label == "@applied") {
          SCHEMAD_ASSIGN_OR_RETURN(const int64_t applied, LastAppliedRegistryId(tx));
          r = tx.Exec(InfoQuery("WHERE r.id = $1"), {applied});
        } else if (!selection.label.empty()) {
          r = tx.Exec(InfoQuery(absl::StrCat("WHERE r.id = (SELECT registry_id FROM ",
                                             kCurrentLabels, " c WHERE c.label = $1)")),
                      {selection.label});
        } else {
          r = tx.Exec(InfoQuery("WHERE r.files_id = $1 OR r.fingerprint = $1 "
                                "ORDER BY r.files_id = $1 DESC, r.id DESC "
                                "LIMIT 1"),
                      {selection.fingerprint});
        }
        if (!r.ok()) return r.status();
        if (r->empty()) return absl::OkStatus();
        found = true;
        out.info = InfoFromRow((*r)[0]);
        SCHEMAD_ASSIGN_OR_RETURN(out.files, ReadFiles(tx, out.info.row));
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
  std::vector<StoredRegistryInfo> out;
  SCHEMAD_RETURN_IF_ERROR(WithTransaction(
      *db_, deadline, "listing registries", Transaction::Kind::kReadOnly,
      [&](Transaction& tx) -> absl::Status {
        SCHEMAD_ASSIGN_OR_RETURN(bool readable, StoreReadable(tx));
        if (!readable) return absl::OkStatus();
        SCHEMAD_ASSIGN_OR_RETURN(
            const Rows rows,
            tx.Exec(InfoQuery("WHERE $1 = 0 OR r.id < $1 ORDER BY r.id DESC LIMIT $2"),
                    {before_row, limit}));
        for (const Rows::Row row : rows) out.push_back(InfoFromRow(row));
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::vector<HistoryEntry>> RegistryStore::History(int limit, int64_t before_id,
                                                                 int64_t only,
                                                                 absl::Time deadline) {
  std::vector<HistoryEntry> out;
  SCHEMAD_RETURN_IF_ERROR(WithTransaction(
      *db_, deadline, "reading the history", Transaction::Kind::kReadOnly,
      [&](Transaction& tx) -> absl::Status {
        bool usable = false;
        int version = 0;
        SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(tx, &usable, &version));
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
        const std::string joins =
            version >= 4 ? " LEFT JOIN schemad.registries r ON r.id = h.registry_id "
                           "LEFT JOIN schemad.registries f ON f.id = h.from_registry_id"
                         : "";
        const std::string sql = absl::StrCat(
            "SELECT h.id, ", col(4, "COALESCE(h.kind, 'initialize')", "'initialize'"),
            ", pg_catalog.int8(EXTRACT(epoch FROM h.started_at) * 1000000), "
            "pg_catalog.int8(EXTRACT(epoch FROM h.finished_at) * 1000000), h.duration_ms, "
            "h.caller, ",
            col(3, "COALESCE(h.mode, 'TRANSACTIONAL')", "'TRANSACTIONAL'"), ", ",
            col(3, "COALESCE(h.state, 'completed')", "'completed'"),
            ", pg_catalog.jsonb_array_length(h.steps), h.registry_fingerprint, ", registry_cols,
            ", ", col(2, "COALESCE(h.request_id, '')", "''"), ", ",
            only != 0 ? "h.steps::pg_catalog.text" : "NULL::text", " FROM schemad.history h", joins,
            only != 0 ? " WHERE h.id = $1"
                      : " WHERE ($1 = 0 OR h.id < $1) ORDER BY h.id DESC LIMIT $2");
        SCHEMAD_ASSIGN_OR_RETURN(
            const Rows rows, only != 0 ? tx.Exec(sql, {only}) : tx.Exec(sql, {before_id, limit}));
        for (const Rows::Row row : rows) {
          HistoryEntry e;
          e.id = row.Int(0);
          e.kind = row.Text(1);
          e.started_at = absl::FromUnixMicros(row.Int(2));
          e.finished_at = absl::FromUnixMicros(row.Int(3));
          e.duration_ms = static_cast<int>(row.Int(4));
          e.caller = row.Text(5);
          e.mode = row.Text(6);
          e.state = row.Text(7);
          e.steps = static_cast<int>(row.Int(8));
          e.registry_fingerprint = row.Text(9);
          if (!row.IsNull(10)) e.registry_id = row.Text(10);
          if (!row.IsNull(11)) e.from_registry_id = row.Text(11);
          e.registry_labels = SplitLines(row.Text(12));
          e.request_id = row.Text(13);
          if (!row.IsNull(14)) {
            google::protobuf::ListValue steps;
            if (!google::protobuf::util::JsonStringToMessage(row.Text(14), &steps).ok()) {
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
        return absl::OkStatus();
      }));
  if (only != 0 && out.empty()) {
    return absl::NotFoundError(absl::StrCat("schemad.history has no run ", only));
  }
  return out;
}

}  // namespace schemad
