#include "schemad/apply/engine.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "apply/engine_internal.h"
#include "apply/self_schema.h"
#include "catalog/catalog.h"
#include "db/watchdog.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"
#include "schemad/common/status_macros.h"
#include "schemad/model/codec.h"

namespace schemad {

// The engine's internals (engine_internal.h).
using apply_internal::BeginSettings;
using apply_internal::CheckDeadline;
using apply_internal::CheckFingerprint;
using apply_internal::CommitMarginLeft;
using apply_internal::DeclaredStillDiffers;
using apply_internal::EventSink;
using apply_internal::InSnapshot;
using apply_internal::InSync;
using apply_internal::kCommitMargin;
using apply_internal::Keys;
using apply_internal::kLockKey;
using apply_internal::kReadLockWait;
using apply_internal::LockRetryBackoff;
using apply_internal::OnlineRun;
using apply_internal::PhaseRun;
using apply_internal::PhasesOf;
using apply_internal::RunOnlinePhases;
using apply_internal::SecondConnection;
using apply_internal::Select;
using apply_internal::Selection;
using apply_internal::Snapshot;
using apply_internal::StoppedOr;
using apply_internal::WithConnection;

Engine::Engine(Database* db, Registry registry, EngineOptions options)
    : db_(db),
      registry_(std::move(registry)),
      options_(options),
      deparse_cache_(std::make_unique<DeparseCache>()) {
  RegisterQueries(*db_);
}

Engine::~Engine() = default;

// What a canonical model depends on in the registry: every field of its
// model (the codec writes them all; its size checks stop the build when
// one is added) and its SQL statements, so that no field the fingerprint
// leaves out can serve a stale model.
static std::string RegistryContentKey(const Registry& registry) {
  Fingerprinter fp;
  fp.Add(EncodeSchema(registry.schema));
  for (const RegistryStatement& rs : registry.sql) {
    fp.Add(rs.statement.text);
    fp.Add(rs.source);
  }
  return fp.Hex();
}

// The stored canonical model of `registry` on this server (schemad.canonical,
// layout 5), if any; sets `*key` to its key. Best effort: any failure is
// "none" (canonicalizing is always correct, only slower).
static std::optional<Schema> LoadStoredCanonical(Connection& conn, const Registry& registry) {
  std::optional<Schema> out;
  absl::Status ignored = [&]() -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadOnly, "reading the stored canonical model");
    bool usable = false;
    std::set<std::string> tables;
    SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(tx, &usable, nullptr, &tables));
    if (!tables.count("canonical")) return absl::OkStatus();
    // Keyed by every field of what the registry declares, not by its
    // fingerprint field.
    SCHEMAD_ASSIGN_OR_RETURN(const std::string key, CanonicalKey(tx, RegistryContentKey(registry)));
    SCHEMAD_ASSIGN_OR_RETURN(const std::optional<std::string> model, ReadCanonical(tx, key));
    SCHEMAD_RETURN_IF_ERROR(tx.Commit());
    if (!model.has_value()) return absl::OkStatus();
    absl::StatusOr<Schema> decoded = DecodeSchema(*model);
    if (decoded.ok() && decoded->name == registry.schema.name) out = *std::move(decoded);
    return absl::OkStatus();
  }();
  return out;
}

// Stores a freshly canonicalized model when schemad's schema has its table
// (created by Initialize or PublishRegistry; never by a read). Best effort.
static void StoreCanonical(Connection& conn, const Registry& registry, const Schema& canonical) {
  absl::Status ignored = [&]() -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadWrite, "storing the canonical model");
    bool usable = false;
    std::set<std::string> tables;
    SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(tx, &usable, nullptr, &tables));
    if (!tables.count("canonical")) return absl::OkStatus();
    // The key as of now: canonicalizing may have created the registry's
    // extensions, which a restarted schemad then finds installed.
    SCHEMAD_ASSIGN_OR_RETURN(const std::string key, CanonicalKey(tx, RegistryContentKey(registry)));
    SCHEMAD_ASSIGN_OR_RETURN(
        const Rows stored,
        tx.Exec("SELECT 1 FROM schemad.canonical WHERE key OPERATOR(pg_catalog.=) $1", {key}));
    if (!stored.empty()) return absl::OkStatus();
    SCHEMAD_RETURN_IF_ERROR(WriteCanonical(tx, key, registry.fingerprint, EncodeSchema(canonical)));
    return tx.Commit();
  }();
}

// Returns the canonical desired schema: cached in memory, else stored in
// the database for this registry and server, else computed on `conn`
// (and stored). Shared, not copied: a 5,000-table model is megabytes.
static absl::StatusOr<std::shared_ptr<const Schema>> CachedCanonical(
    absl::Mutex& mu, std::shared_ptr<const Schema>& cache, Connection& conn,
    const Registry& registry, CanonicalStats* stats, absl::Time deadline) {
  absl::MutexLock lock(&mu);
  if (cache != nullptr) return cache;
  if (std::optional<Schema> stored = LoadStoredCanonical(conn, registry)) {
    ++stats->loaded;
    cache = std::make_shared<const Schema>(*std::move(stored));
    return cache;
  }
  // The caller's deadline bounds the registry's statements too: a slow
  // one (a published registry's, say) is cancelled when the call ends.
  Watchdog watchdog(conn, deadline, nullptr);
  absl::StatusOr<Schema> canonical = Canonicalize(conn, registry);
  // Another replica canonicalizing at the same moment (extensions are
  // created in a serialized section): retry rather than fail.
  for (int attempt = 1; attempt < 3 && canonical.status().code() == absl::StatusCode::kAborted;
       ++attempt) {
    canonical = Canonicalize(conn, registry);
  }
  if (!canonical.ok()) {
    // The caller's request is fine; the served registry does not fit this
    // database (a missing extension, a type PostgreSQL rejects): an
    // operator must fix one or the other.
    if (canonical.status().code() == absl::StatusCode::kInvalidArgument) {
      // Published and selected registries are loaded with an origin of
      // "published <id>" or "store:<id>"; the served one with its path.
      const bool published = absl::StartsWith(registry.origin, "published ") ||
                             absl::StartsWith(registry.origin, "store:");
      absl::Status status =
          Annotate(canonical.status(),
                   published ? "the published registry cannot be created on this database"
                             : "the served registry cannot be created on this database");
      return absl::Status(absl::StatusCode::kFailedPrecondition, status.message());
    }
    return canonical.status();
  }
  ++stats->canonicalized;
  cache = std::make_shared<const Schema>(*std::move(canonical));
  StoreCanonical(conn, registry, *cache);
  return cache;
}

void Engine::SaveCanonical(absl::Time deadline) {
  std::shared_ptr<const Schema> canonical;
  {
    absl::MutexLock lock(&cache_mu_);
    canonical = canonical_;
  }
  if (canonical == nullptr) return;
  absl::Status ignored = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    StoreCanonical(conn, registry_, *canonical);
    return absl::OkStatus();
  });
}

absl::Status Engine::Prepare(absl::Time deadline) {
  {
    absl::MutexLock lock(&cache_mu_);
    if (canonical_ != nullptr) return absl::OkStatus();
  }
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "canonicalizing the registry"));
  return WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    return CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline).status();
  });
}

absl::StatusOr<RequestOutcome> Engine::LookupRequest(const std::string& request_id,
                                                     absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckRequestId(request_id, /*optional=*/false));
  RequestOutcome out;
  SCHEMAD_RETURN_IF_ERROR(WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadWrite,
                   "looking up the request in schemad.history");
    SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db_->options(), {registry_.schema.name}, deadline, 0,
                                          db_->options().lock_timeout));
    // An Initialize of this schema in progress holds the advisory lock:
    // wait for it (lock_timeout bounds the wait), so that the answer is
    // final rather than "not yet".
    SCHEMAD_RETURN_IF_ERROR(
        tx.Exec(absl::StrCat("SELECT pg_catalog.pg_advisory_xact_lock_shared(", kLockKey, ")"),
                {registry_.schema.name})
            .status());
    bool usable = false;
    int version = 0;
    SCHEMAD_RETURN_IF_ERROR(VerifySelfSchema(tx, &usable, &version));
    {
      if (usable && version >= 2) {
        SCHEMAD_ASSIGN_OR_RETURN(const std::optional<HistoryRow> row,
                                 ReadRequest(tx, request_id, version));
        // An ONLINE run's row exists from its start: only phases that
        // committed count.
        if (row.has_value() && (row->state == "completed" || row->steps > 0)) {
          out.committed = true;
          out.complete = row->state == "completed";
          out.finished_at = row->finished_at;
          out.steps = row->steps;
          out.registry_fingerprint = row->registry_fingerprint;
        }
      }
    }
    return tx.Commit();
  }));
  return out;
}

absl::StatusOr<std::vector<std::string>> Engine::CheckPrivileges(absl::Time deadline) {
  std::vector<std::string> warnings;
  SCHEMAD_RETURN_IF_ERROR(WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadOnly, "checking schemad's privileges");
    SCHEMAD_ASSIGN_OR_RETURN(
        const Rows r,
        tx.Exec("SELECT CURRENT_USER::pg_catalog.text, r.rolsuper, "
                "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'), "
                "(SELECT pg_catalog.has_schema_privilege(n.oid, 'CREATE') "
                " FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1) "
                "FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER",
                {registry_.schema.name}));
    {
      if (r.empty()) return absl::OkStatus();
      const std::string role = r[0].Text(0);
      if (r[0].Bool(1)) {
        warnings.push_back(absl::StrCat(
            "connected as superuser \"", role,
            "\": schemad needs only CREATE on the database and on schema \"", registry_.schema.name,
            "\" and ownership of what it alters; run it as a role that owns the application's "
            "schema (README: \"Database privileges\")"));
      }
      if (!r[0].Bool(2)) {
        warnings.push_back(absl::StrCat(
            "role \"", role,
            "\" lacks CREATE on the database: schemad cannot create its scratch schema "
            "(canonicalization) or its own schema \"schemad\" (GRANT CREATE ON DATABASE ... TO ",
            QuoteIdent(role), ")"));
      }
      if (!r[0].IsNull(3) && !r[0].Bool(3)) {
        warnings.push_back(
            absl::StrCat("role \"", role, "\" lacks CREATE on schema \"", registry_.schema.name,
                         "\": Initialize cannot create tables there (GRANT CREATE "
                         "ON SCHEMA ",
                         QuoteIdent(registry_.schema.name), " TO ", QuoteIdent(role), ")"));
      }
    }
    return tx.Commit();
  }));
  return warnings;
}

bool Engine::prepared() const {
  absl::MutexLock lock(&cache_mu_);
  return canonical_ != nullptr;
}

absl::StatusOr<Schema> Engine::Desired(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "reading the registry"));
  Schema out;
  absl::Status status = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(
        std::shared_ptr<const Schema> canonical,
        CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline));
    out = *canonical;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> Engine::CanonicalFingerprint(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(Prepare(deadline));
  absl::MutexLock lock(&cache_mu_);
  if (canonical_ == nullptr) return absl::InternalError("the canonical model is not cached");
  // Computed once per model (Status returns it on every call).
  if (canonical_fingerprint_.empty()) {
    Fingerprinter fp;
    fp.Add("canonical");
    fp.Add(SerializeForFingerprint(*canonical_));
    for (const std::string& pattern : canonical_->ignore) fp.Add(pattern);
    canonical_fingerprint_ = fp.Hex();
  }
  return canonical_fingerprint_;
}

// Reads the live schema and plans against `desired` inside `tx`.
static absl::Status TakeSnapshot(Transaction& tx, Transaction* helper, const Registry& registry,
                                 const Schema& desired, Snapshot* out, bool wait_for_locks,
                                 DeparseCache* cache, ApplyMode mode);

// Names the tables of `schema` that other sessions hold in a mode that
// blocks reading their definitions (55P03 does not say which).
static std::string LockedTables(Connection& conn, const std::string& schema) {
  std::string out;
  absl::Status ignored = [&]() -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kNone, "finding locked tables");
    SCHEMAD_ASSIGN_OR_RETURN(
        const Rows rows,
        tx.Exec(
            "SELECT DISTINCT c.relname::pg_catalog.text, l.mode, l.pid FROM pg_catalog.pg_locks l "
            "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) l.relation "
            "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
            "WHERE l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
            "AND l.mode OPERATOR(pg_catalog.=) 'AccessExclusiveLock' "
            "AND n.nspname OPERATOR(pg_catalog.=) $1 ORDER BY 1, 3",
            {schema}));
    std::vector<std::string> named;
    for (const Rows::Row row : rows) {
      named.push_back(absl::StrCat("table ", QuoteIdent(row.Text(0)), " (", row.Text(1), ", pid ",
                                   row.Text(2), ")"));
    }
    if (!named.empty()) {
      out = absl::StrCat("; held by another session: ", absl::StrJoin(named, ", "));
    }
    return absl::OkStatus();
  }();
  return out;
}

// Takes one snapshot of the live schema and plans against `desired`; then
// runs `extra(tx)` in the same transaction (e.g. reading history).
template <typename Extra>
static absl::Status ReadAndPlan(Database& db, Connection& conn, const Registry& registry,
                                const Schema& desired, const EngineOptions& options,
                                absl::Time deadline, bool wait_for_locks, ApplyMode mode,
                                Snapshot* snapshot, DeparseCache* cache, Extra&& extra) {
  const absl::Duration lock_timeout = wait_for_locks
                                          ? db.options().lock_timeout
                                          : std::min(db.options().lock_timeout, kReadLockWait);
  // Idle: this call holds the only lease, and another connection is open
  // and idle (opening one for a small read costs more than it saves).
  const SecondConnection second =
      desired.tables.size() >= options.parallel_read_tables        ? SecondConnection::kIfFree
      : options.parallel_when_idle && db.leased_connections() == 1 ? SecondConnection::kIfIdle
                                                                   : SecondConnection::kNone;
  absl::Status status = InSnapshot(
      db, conn, "reading the database schema", desired.name, deadline, desired.tables.size(),
      second, lock_timeout, [&](Transaction& tx, Transaction* helper) -> absl::Status {
        SCHEMAD_RETURN_IF_ERROR(
            TakeSnapshot(tx, helper, registry, desired, snapshot, wait_for_locks, cache, mode));
        return extra(tx);
      });
  if (SqlStateOf(status) == "55P03") {
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), LockedTables(conn, desired.name)));
  }
  return status;
}

absl::StatusOr<DiffResult> Engine::Diff(absl::Time deadline, ApplyMode mode) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the diff"));
  DiffResult result;
  absl::Status status = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(
        std::shared_ptr<const Schema> canonical,
        CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline));
    const Schema& desired = *canonical;
    Snapshot snapshot;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(*db_, conn, registry_, desired, options_, deadline,
                                        /*wait_for_locks=*/false, mode, &snapshot,
                                        deparse_cache_.get(),
                                        [](Transaction&) { return absl::OkStatus(); }));
    result.differences = std::move(snapshot.differences);
    result.plan = std::move(snapshot.plan);
    result.fingerprint = snapshot.fingerprint;
    result.schema = desired.name;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<StatusResult> Engine::Status(absl::Time deadline, ApplyMode mode) {
  absl::StatusOr<StatusResult> result = StatusOnce(deadline, mode);
  if (!result.ok() && history_version_ == 0 && SqlStateOf(result.status()) == "42P01") {
    // schemad.history was dropped under us: read again, checking for it.
    result = StatusOnce(deadline, mode);
  }
  return result;
}

absl::StatusOr<StatusResult> Engine::StatusOnce(absl::Time deadline, ApplyMode mode) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the status check"));
  StatusResult result;
  absl::Status status = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(
        std::shared_ptr<const Schema> canonical,
        CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline));
    const Schema& desired = *canonical;
    result = StatusResult{};  // a retried attempt starts afresh
    Snapshot snapshot;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(
        *db_, conn, registry_, desired, options_, deadline, /*wait_for_locks=*/false, mode,
        &snapshot, deparse_cache_.get(), [&](Transaction& tx) -> absl::Status {
          // Once the history table is known to be schemad's own, read it
          // directly (one round trip less); if it was dropped since, Status
          // tries again. A schema or table schemad did not create is never
          // read: Status still answers, with a warning, so that nobody can
          // block the CI gate this way.
          int version = history_version_.load();
          if (version == 0) {
            bool has_history = false;
            absl::Status trusted = VerifySelfSchema(tx, &has_history, &version);
            // A statement that failed (not a verdict on the schema) fails
            // the read.
            if (!SqlStateOf(trusted).empty() || IsTransient(trusted)) return trusted;
            if (!trusted.ok()) {
              has_history = false;
              result.warnings.push_back(std::string(trusted.message()));
            }
            if (!has_history) version = 0;
            history_version_.store(version);
          }
          if (version > 0) {
            absl::StatusOr<std::optional<HistoryRow>> last = ReadLastApplied(tx, version);
            if (!last.ok()) {
              if (SqlStateOf(last.status()) == "42P01") history_version_.store(0);
              return last.status();
            }
            if (last->has_value()) {
              result.last_applied_fingerprint = (*last)->registry_fingerprint;
              result.last_applied_at = (*last)->finished_at;
            }
          }
          return absl::OkStatus();
        }));
    result.registry_fingerprint = registry_.fingerprint;
    result.fingerprint = snapshot.fingerprint;
    bool hazard_free = true;
    for (const PlanStep& step : snapshot.plan.steps) {
      hazard_free &= step.hazards.empty() && step.blocked.empty();
    }
    for (const Difference& d : snapshot.differences) {
      if (d.change == Change::kMissing) ++result.missing;
      if (d.change == Change::kExtra) ++result.extra;
      if (d.change == Change::kChanged) ++result.changed;
    }
    // Unmanaged objects are reported, not part of the verdict.
    const bool only_unmanaged =
        std::all_of(snapshot.differences.begin(), snapshot.differences.end(),
                    [](const Difference& d) { return d.change == Change::kUnmanaged; });
    if (only_unmanaged && snapshot.plan.steps.empty()) {
      result.state = SyncState::kInSync;
    } else if (result.extra == 0 && hazard_free) {
      result.state = SyncState::kPending;
    } else {
      result.state = SyncState::kDrifted;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Schema> Engine::Inspect(absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "the inspection"));
  Schema result;
  absl::Status status = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadOnly, "reading the database schema");
    SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db_->options(), {registry_.schema.name}, deadline,
                                          kLargeSchemaTables, db_->options().lock_timeout,
                                          /*catalog_read=*/true));
    SCHEMAD_ASSIGN_OR_RETURN(result,
                             ReadSchema(tx, registry_.schema.name, nullptr, deparse_cache_.get()));
    return tx.Commit();
  });
  if (!status.ok()) return status;
  result.ignore = {"alembic_version"};
  std::vector<Extension> own;
  for (const Extension& e : result.extensions) {
    if (e.schema == result.name) own.push_back({e.name, "", ""});
  }
  result.extensions = std::move(own);
  return result;
}

// Whether PostgreSQL can convert `from` to `to` with a cast (col::to): a
// cast in pg_cast (of the types or, for arrays, their elements; domains by
// their base types), a string or enum type on either side (I/O conversion;
// enums are planned through text), or the same type. Types PostgreSQL does
// not know yet (created by the plan) count as castable.
constexpr char kCastable[] = R"sql(
SELECT CASE WHEN s IS NULL OR t IS NULL THEN true ELSE
  (SELECT s2.oid OPERATOR(pg_catalog.=) t2.oid
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c
                  WHERE c.castsource OPERATOR(pg_catalog.=) s2.oid
                    AND c.casttarget OPERATOR(pg_catalog.=) t2.oid)
       OR s2.typcategory OPERATOR(pg_catalog.=) ANY ('{S,E}'::pg_catalog."char"[])
       OR t2.typcategory OPERATOR(pg_catalog.=) ANY ('{S,E}'::pg_catalog."char"[])
       OR (s2.typelem OPERATOR(pg_catalog.<>) 0 AND t2.typelem OPERATOR(pg_catalog.<>) 0
           AND s2.typcategory OPERATOR(pg_catalog.=) 'A' AND t2.typcategory OPERATOR(pg_catalog.=) 'A'
           AND (s2.typelem OPERATOR(pg_catalog.=) t2.typelem
                OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c
                           WHERE c.castsource OPERATOR(pg_catalog.=) s2.typelem
                             AND c.casttarget OPERATOR(pg_catalog.=) t2.typelem)
                OR (SELECT e.typcategory FROM pg_catalog.pg_type e
                    WHERE e.oid OPERATOR(pg_catalog.=) s2.typelem)
                   OPERATOR(pg_catalog.=) ANY ('{S,E}'::pg_catalog."char"[])
                OR (SELECT e.typcategory FROM pg_catalog.pg_type e
                    WHERE e.oid OPERATOR(pg_catalog.=) t2.typelem)
                   OPERATOR(pg_catalog.=) ANY ('{S,E}'::pg_catalog."char"[])))
   FROM pg_catalog.pg_type s1, pg_catalog.pg_type t1, pg_catalog.pg_type s2, pg_catalog.pg_type t2
   WHERE s1.oid OPERATOR(pg_catalog.=) s AND t1.oid OPERATOR(pg_catalog.=) t
     AND s2.oid OPERATOR(pg_catalog.=) CASE WHEN s1.typtype OPERATOR(pg_catalog.=) 'd'
                                            THEN s1.typbasetype ELSE s1.oid END
     AND t2.oid OPERATOR(pg_catalog.=) CASE WHEN t1.typtype OPERATOR(pg_catalog.=) 'd'
                                            THEN t1.typbasetype ELSE t1.oid END)
END
FROM (SELECT pg_catalog.to_regtype($1)::pg_catalog.oid AS s,
             pg_catalog.to_regtype($2)::pg_catalog.oid AS t) x)sql";

// "table.column" of the type changes among `diffs` that PostgreSQL cannot
// cast and the registry gives no `using` for.
static absl::StatusOr<std::set<std::string>> Uncastable(Transaction& tx,
                                                        const std::vector<Difference>& diffs,
                                                        const Schema& desired,
                                                        const Schema& actual) {
  std::set<std::string> out;
  for (const Difference& d : diffs) {
    if (d.kind != ObjectKind::kColumn || d.change != Change::kChanged ||
        d.attribute != Attribute::kType) {
      continue;
    }
    const Table* want_table = desired.FindTable(d.table);
    const Table* have_table = actual.FindTable(d.table);
    const Column* want = want_table ? want_table->FindColumn(d.object) : nullptr;
    const Column* have = have_table ? have_table->FindColumn(d.object) : nullptr;
    if (want == nullptr || have == nullptr || !want->using_expr.empty()) continue;
    SCHEMAD_ASSIGN_OR_RETURN(const Rows r, tx.Exec(kCastable, {have->type, want->type}));
    if (!r.empty() && !r[0].IsNull(0) && !r[0].Bool(0)) out.insert(d.name);
  }
  return out;
}

static absl::Status TakeSnapshot(Transaction& tx, Transaction* helper, const Registry& registry,
                                 const Schema& desired, Snapshot* out, bool wait_for_locks,
                                 DeparseCache* cache, ApplyMode mode) {
  SCHEMAD_ASSIGN_OR_RETURN(out->actual, ReadSchema(tx, desired.name, helper, cache));
  out->differences = DiffSchemas(desired, out->actual);
  // Tables that exist and that the plan touches: are they empty? That
  // decides whether index builds, validations and rewrites are hazards.
  std::set<std::string> touched;
  for (const Difference& d : out->differences) {
    if (!d.table.empty() && d.kind != ObjectKind::kEnumLabel &&
        out->actual.FindTable(d.table) != nullptr) {
      touched.insert(d.table);
    }
  }
  PlanOptions options;
  options.mode = mode;
  SCHEMAD_ASSIGN_OR_RETURN(options.uncastable,
                           Uncastable(tx, out->differences, desired, out->actual));
  // What schemad does not manage but depends on a table or column the plan
  // would drop or retype: those steps are blocked at plan time, naming it,
  // rather than failing at apply time.
  for (const Difference& d : out->differences) {
    const bool drops_table = d.kind == ObjectKind::kTable && d.change == Change::kExtra;
    const bool drops_or_retypes_column =
        d.kind == ObjectKind::kColumn &&
        (d.change == Change::kExtra ||
         (d.change == Change::kChanged && d.attribute == Attribute::kType));
    if (!drops_table && !drops_or_retypes_column) continue;
    SCHEMAD_ASSIGN_OR_RETURN(
        std::vector<std::string> found,
        Dependents(tx, desired.name, drops_table ? d.name : d.table, drops_table ? "" : d.object));
    // Views schemad manages (declared, or not ignored) are the plan's to
    // drop and re-create around the change.
    found.erase(std::remove_if(found.begin(), found.end(),
                               [&](const std::string& dependent) {
                                 for (const View& v : out->actual.views) {
                                   const std::string name =
                                       absl::StrCat(v.materialized ? "materialized view " : "view ",
                                                    desired.name, ".", v.name);
                                   if (dependent == name) {
                                     return desired.FindView(v.name) != nullptr ||
                                            !IsIgnored(desired, v.name);
                                   }
                                 }
                                 return false;
                               }),
                found.end());
    if (!found.empty()) options.dependents[d.name] = std::move(found);
  }
  // What uses a function the plan replaces or re-creates.
  for (const Difference& d : out->differences) {
    if (d.kind != ObjectKind::kFunction || d.change != Change::kChanged ||
        d.attribute != Attribute::kDefinition) {
      continue;
    }
    if (const Function* have = out->actual.FindFunction(d.object)) {
      SCHEMAD_ASSIGN_OR_RETURN(options.function_dependents[d.object],
                               FunctionDependents(tx, desired.name, *have));
    }
  }
  if (!touched.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(
        options.tables_with_rows,
        TablesWithRows(tx, desired.name, std::vector<std::string>(touched.begin(), touched.end()),
                       wait_for_locks));
  }
  out->plan = BuildPlan(desired, out->actual, out->differences, options);
  Fingerprinter fp;
  fp.Add(registry.fingerprint);
  fp.Add(SerializeForFingerprint(out->actual));
  for (const std::string& t : options.tables_with_rows) fp.Add(t);
  // A reviewed ONLINE plan is not the TRANSACTIONAL one.
  if (mode == ApplyMode::kOnline) fp.Add("mode=ONLINE");
  out->fingerprint = fp.Hex();
  return absl::OkStatus();
}

// Records a TRANSACTIONAL run that failed, in a transaction of its own
// (best effort: the connection may be what failed). No steps: nothing of
// it committed.
static void RecordFailedRun(Database& db, Connection& conn, const InitializeOptions& options,
                            const Registry& registry, absl::Time started,
                            const absl::Status& failure) {
  absl::Status recorded = [&]() -> absl::Status {
    Transaction tx(conn, Transaction::Kind::kReadWrite, "recording the failed run");
    SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db.options(), {registry.schema.name},
                                          absl::Now() + absl::Seconds(5), 0,
                                          db.options().lock_timeout));
    SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(tx));
    SCHEMAD_ASSIGN_OR_RETURN(const int64_t from, LastAppliedRegistryId(tx));
    SCHEMAD_ASSIGN_OR_RETURN(const int64_t stored, StoreRegistry(tx, registry, options.caller));
    SCHEMAD_RETURN_IF_ERROR(
        RecordHistory(tx,
                      {.started = started,
                       .finished = absl::Now(),
                       .caller = options.caller,
                       .registry_fingerprint = registry.fingerprint,
                       .request_id = options.request_id,
                       .phases = 1,
                       .registry_id = stored,
                       .rollback = options.rollback,
                       .from_registry_id = options.rollback ? from : 0},
                      absl::StrCat("failed: ", absl::StatusCodeToString(failure.code()), ": ",
                                   failure.message().substr(0, 1000))));
    return tx.Commit();
  }();
  if (!recorded.ok()) conn.Discard();
}

absl::StatusOr<InitializeResult> Engine::Initialize(const InitializeOptions& options,
                                                    absl::Time deadline) {
  SCHEMAD_RETURN_IF_ERROR(CheckDeadline(deadline, "Initialize"));
  // Most calls (every replica's start-up) find nothing to do. When no other
  // Initialize of the schema runs, the call takes the locks at once and
  // reads once, under them. When one runs (in this process or another
  // replica), it answers from one snapshot without queueing for the locks
  // whenever that answer is final: in sync, or nothing this caller could
  // run (its hazards are not accepted): PARTIAL at that snapshot. When an
  // ONLINE run holds the schema, the answer is IN_PROGRESS with its
  // progress, at once. Anything else waits for the locks and reads and
  // plans again under them.
  InitializeResult quick;
  bool quick_done = false;
  bool quick_final = false;
  auto quick_read = [&](Connection& conn) -> absl::Status {
    SCHEMAD_ASSIGN_OR_RETURN(
        std::shared_ptr<const Schema> canonical,
        CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline));
    Snapshot snapshot;
    std::optional<RunningRun> running;
    SCHEMAD_RETURN_IF_ERROR(ReadAndPlan(*db_, conn, registry_, *canonical, options_, deadline,
                                        /*wait_for_locks=*/false, options.mode, &snapshot,
                                        deparse_cache_.get(), [&](Transaction& tx) -> absl::Status {
                                          bool usable = false;
                                          int version = 0;
                                          // A schema schemad did not make is not read (a failed
                                          // statement fails the read at COMMIT).
                                          if (VerifySelfSchema(tx, &usable, &version).ok() &&
                                              usable && version >= 3) {
                                            SCHEMAD_ASSIGN_OR_RETURN(running, ReadRunningRun(tx));
                                          }
                                          return absl::OkStatus();
                                        }));
    quick_done = true;
    quick = InitializeResult{};
    quick.mode = options.mode;
    quick.fingerprint = snapshot.fingerprint;
    const Selection selection = Select(snapshot, options.allow_hazards);
    if (InSync(snapshot)) {
      quick.outcome = Outcome::kAlreadyInSync;
      quick_final = true;
    } else if (selection.runs.empty() && !options.dry_run) {
      quick.skipped = selection.skipped;
      quick.remaining = selection.expected_remaining;
      quick.outcome = DeclaredStillDiffers(quick.remaining, options.rollback)
                          ? Outcome::kPartial
                          : Outcome::kAlreadyInSync;
      quick_final = true;
    } else if (running.has_value()) {
      quick.outcome = Outcome::kInProgress;
      quick.run_id = running->id;
      quick.phases = running->phases;
      quick.phases_committed = running->phases_done;
      quick.running_caller = running->caller;
      quick.skipped = selection.runs;  // what remains for this caller
      quick.remaining = snapshot.differences;
      quick_final = true;
    }
    return absl::OkStatus();
  };
  auto quick_answer = [&]() -> absl::StatusOr<InitializeResult> {
    SCHEMAD_RETURN_IF_ERROR(CheckFingerprint(options.expected_fingerprint, quick.fingerprint));
    return quick;
  };
  // One Initialize per process at a time; the advisory lock below does the
  // same across processes.
  bool slot = false;
  {
    absl::MutexLock lock(&init_mu_);
    if (!init_busy_) slot = init_busy_ = true;
  }
  if (!slot) {
    SCHEMAD_RETURN_IF_ERROR(WithConnection(*db_, deadline, quick_read));
    if (quick_final) return quick_answer();
    absl::MutexLock lock(&init_mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(init_mu_) { return !init_busy_; };
    if (!init_mu_.AwaitWithDeadline(absl::Condition(&free), deadline)) {
      return absl::DeadlineExceededError(
          "deadline expired waiting for another Initialize in this server to finish");
    }
    init_busy_ = true;
  }
  absl::Cleanup release = [this] {
    absl::MutexLock lock(&init_mu_);
    init_busy_ = false;
  };

  const absl::Time started = absl::Now();
  InitializeResult result;
  absl::Status status = WithConnection(*db_, deadline, [&](Connection& conn) -> absl::Status {
    const std::string& schema_name = registry_.schema.name;
    if (quick_final) return absl::OkStatus();
    result = InitializeResult{};  // a retried attempt (a fresh connection) starts afresh
    result.mode = options.mode;
    // The caller's deadline and cancellation bound the whole call, from the
    // lock wait to COMMIT: a statement in flight is cancelled, the next one
    // is not sent, and COMMIT starts only with a margin left (its
    // acknowledgement can be lost; the request id answers that case).
    Watchdog watchdog(conn, deadline, options.cancelled);
    auto stopped = [&](const char* what) { return watchdog.Check(what); };
    // Advisory lock, session-level, on the connection that runs the DDL:
    // it stays held while this backend lives (after a crash of schemad,
    // until a concurrent build it started ends). Polled with backoff.
    absl::Duration backoff = absl::Milliseconds(5);
    for (;;) {
      bool locked = false;
      {
        Transaction tx(conn, Transaction::Kind::kNone, "taking the Initialize lock");
        SCHEMAD_ASSIGN_OR_RETURN(
            const Rows rows,
            tx.Exec(absl::StrCat("SELECT pg_catalog.pg_try_advisory_lock(", kLockKey, ")"),
                    {schema_name}));
        locked = rows[0].Bool(0);
      }
      if (locked) break;
      if (!quick_done) {
        // Another replica holds the lock: answer now if that answer is final.
        SCHEMAD_RETURN_IF_ERROR(quick_read(conn));
        if (quick_final) return absl::OkStatus();
      }
      SCHEMAD_RETURN_IF_ERROR(stopped("waiting for another Initialize"));
      if (absl::Now() + backoff >= deadline) {
        return absl::DeadlineExceededError(
            "deadline expired waiting for another schemad's Initialize of this schema "
            "(advisory lock)");
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Milliseconds(200));
    }
    absl::Cleanup unlock = [&] {
      Transaction tx(conn, Transaction::Kind::kNone, "releasing the Initialize lock");
      absl::Status released =
          tx.Exec(absl::StrCat("SELECT pg_catalog.pg_advisory_unlock(", kLockKey, ")"),
                  {schema_name})
              .status();
      if (!released.ok()) conn.Discard();  // closing the session releases it
    };

    SCHEMAD_ASSIGN_OR_RETURN(
        std::shared_ptr<const Schema> canonical,
        CachedCanonical(cache_mu_, canonical_, conn, registry_, &stats_, deadline));
    const Schema& desired = *canonical;
    Snapshot snapshot;
    // Rows of online runs still "running": under the lock, their schemad
    // died; marked "interrupted" by whichever Initialize comes next.
    int stale_runs = 0;
    std::map<std::string, int64_t> failed_on_data;
    // The registry rows of the last applied registry and of this one (0:
    // none, not stored).
    int64_t last_applied_id = 0, stored_id = 0;
    absl::Status planned =
        ReadAndPlan(*db_, conn, registry_, desired, options_, deadline,
                    /*wait_for_locks=*/true, options.mode, &snapshot, deparse_cache_.get(),
                    [&](Transaction& tx) -> absl::Status {
                      int version = history_version_.load();
                      if (version == 0) {
                        bool usable = false;
                        if (VerifySelfSchema(tx, &usable, &version).ok() && usable) {
                          history_version_.store(version);
                        } else {
                          version = 0;
                        }
                      }
                      if (version >= 3) {
                        SCHEMAD_ASSIGN_OR_RETURN(stale_runs, CountRunning(tx));
                        if (!options.retry_failed) {
                          SCHEMAD_ASSIGN_OR_RETURN(failed_on_data, ReadDataFailures(tx));
                        }
                      }
                      if (version >= 4) {
                        SCHEMAD_ASSIGN_OR_RETURN(last_applied_id, LastAppliedRegistryId(tx));
                        SCHEMAD_ASSIGN_OR_RETURN(stored_id, FindStoredRegistry(tx, registry_.id));
                      }
                      return absl::OkStatus();
                    });
    if (!planned.ok()) return StoppedOr(watchdog, planned, "Initialize");
    if (stale_runs > 0 && !options.dry_run) {
      Transaction tx(conn, Transaction::Kind::kReadWrite, "marking interrupted runs");
      SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db_->options(), {desired.name}, deadline, 0,
                                            db_->options().lock_timeout));
      SCHEMAD_RETURN_IF_ERROR(MarkInterrupted(tx).status());
      SCHEMAD_RETURN_IF_ERROR(tx.Commit());
    }
    result.fingerprint = snapshot.fingerprint;
    SCHEMAD_RETURN_IF_ERROR(CheckFingerprint(options.expected_fingerprint, snapshot.fingerprint));

    Selection selection = Select(snapshot, options.allow_hazards, failed_on_data);
    result.skipped = selection.skipped;
    result.cause = selection.held_back;
    result.remaining = selection.expected_remaining;
    const std::vector<Difference> expected_remaining = selection.expected_remaining;
    std::vector<PlanStep> label_steps, main_steps;
    for (const PlanStep& s : selection.runs) {
      (s.own_transaction ? label_steps : main_steps).push_back(s);
    }
    result.executed = label_steps;
    result.executed.insert(result.executed.end(), main_steps.begin(), main_steps.end());
    if (InSync(snapshot)) {
      result.outcome = Outcome::kAlreadyInSync;
      return absl::OkStatus();
    }
    // Two versions live at once (a rolling deploy) must not flip a
    // conflicting change back and forth: an older version than the one
    // applied last runs steps only when asked to.
    if (!selection.runs.empty() && stored_id != 0 && stored_id < last_applied_id &&
        !options.allow_downgrade && !options.rollback) {
      return absl::FailedPreconditionError(absl::StrCat(
          "registry ", registry_.id, " (fingerprint ", registry_.fingerprint,
          ") was published before the registry applied last; it has ", selection.runs.size(),
          " step(s) to run, which could undo that version's changes. Roll back to it "
          "(schemactl rollback), or pass allow_downgrade (--allow-downgrade) if this is meant"));
    }
    if (options.dry_run) {
      result.outcome = Outcome::kDryRun;
      return absl::OkStatus();
    }
    if (result.executed.empty()) {
      result.outcome = DeclaredStillDiffers(expected_remaining, options.rollback)
                           ? Outcome::kPartial
                           : Outcome::kAlreadyInSync;
      return absl::OkStatus();
    }
    if (options.mode == ApplyMode::kOnline) {
      result.executed.clear();
      EventSink sink(options.on_event);
      OnlineRun run{*db_,    conn,    watchdog, options_, registry_, desired, deparse_cache_.get(),
                    options, started, deadline, sink};
      return RunOnlinePhases(run, selection.runs, &result);
    }

    std::string labels_committed;
    if (!label_steps.empty()) {
      // ALTER TYPE ... ADD VALUE: committed on its own, because a label is
      // unusable in the transaction that adds it (SQLSTATE 55P04).
      absl::Status labels = [&]() -> absl::Status {
        Transaction tx(conn, Transaction::Kind::kReadWrite, "adding enum labels");
        SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db_->options(), {desired.name}, deadline,
                                              desired.tables.size(), db_->options().lock_timeout));
        for (const PlanStep& s : label_steps) {
          SCHEMAD_RETURN_IF_ERROR(stopped("adding enum labels"));
          SCHEMAD_RETURN_IF_ERROR(tx.Exec(s.sql).status());
        }
        SCHEMAD_RETURN_IF_ERROR(CommitMarginLeft(deadline, "adding enum labels"));
        SCHEMAD_RETURN_IF_ERROR(stopped("adding enum labels"));
        return tx.Commit();
      }();
      if (!labels.ok()) return StoppedOr(watchdog, labels, "adding enum labels");
      std::vector<std::string> sql;
      for (const PlanStep& s : label_steps) sql.push_back(s.sql);
      labels_committed =
          absl::StrCat("; note: ", label_steps.size(),
                       " enum label step(s) had already committed on their own before the main "
                       "transaction: ",
                       absl::StrJoin(sql, "; "));
    }

    // Each step is sent alone (one statement per call, extended protocol);
    // a failing step is named from the statement that failed, and nothing
    // is ever sent twice.
    std::string failed_step;
    // A lock timeout rolls the transaction back whole: it is retried with
    // jittered exponential back-off (--lock-retries), so that writers queue
    // behind the waiting DDL for at most --lock-timeout at a time.
    absl::Status applied;
    LockRetryBackoff lock_retry(options_);
    for (int attempt = 1;; ++attempt) {
      applied = [&]() -> absl::Status {
        Transaction tx(conn, Transaction::Kind::kReadWrite, "applying the plan");
        SCHEMAD_RETURN_IF_ERROR(BeginSettings(tx, db_->options(), {desired.name}, deadline,
                                              desired.tables.size(), db_->options().lock_timeout));
        SCHEMAD_RETURN_IF_ERROR(EnsureSelfSchema(tx));
        for (const PlanStep& s : main_steps) {
          SCHEMAD_RETURN_IF_ERROR(stopped("the plan"));
          failed_step = s.sql;
          SCHEMAD_RETURN_IF_ERROR(tx.Exec(s.sql).status());
        }
        failed_step.clear();
        // Read back and hold the result to what the plan promised.
        SCHEMAD_ASSIGN_OR_RETURN(const Schema after,
                                 ReadSchema(tx, desired.name, nullptr, deparse_cache_.get()));
        std::vector<Difference> now = DiffSchemas(desired, after);
        const std::set<std::string> allowed_keys = Keys(expected_remaining);
        for (const Difference& d : now) {
          if (!allowed_keys.count(d.Key())) {
            return absl::InternalError(
                absl::StrCat("read-back check failed, rolled back: after the plan, ",
                             ObjectKindName(d.kind), " ", d.name, " is ", ChangeName(d.change),
                             " (", d.detail, "; expected ", d.expected, ", found ", d.actual, ")"));
          }
        }
        result.remaining = now;
        const absl::Time finished = absl::Now();
        // The registry applied before: read while planning, under the same
        // advisory lock, so it has not changed.
        SCHEMAD_ASSIGN_OR_RETURN(const int64_t stored,
                                 StoreRegistry(tx, registry_, options.caller));
        SCHEMAD_RETURN_IF_ERROR(
            RecordHistory(tx, {.started = started,
                               .finished = finished,
                               .caller = options.caller,
                               .registry_fingerprint = registry_.fingerprint,
                               .request_id = options.request_id,
                               .steps = result.executed,
                               .phases = label_steps.empty() ? 1 : 2,
                               .registry_id = stored,
                               .rollback = options.rollback,
                               .from_registry_id = options.rollback ? last_applied_id : 0}));
        SCHEMAD_RETURN_IF_ERROR(CommitMarginLeft(deadline, "the plan"));
        SCHEMAD_RETURN_IF_ERROR(stopped("the plan"));
        return tx.Commit();
      }();
      if (applied.ok() || !lock_retry.Retryable(applied, attempt) ||
          watchdog.reason() != Watchdog::Reason::kNone) {
        break;
      }
      const absl::Duration wait = lock_retry.Next();
      if (absl::Now() + wait + kCommitMargin >= deadline) break;
      absl::SleepFor(wait);
    }
    if (!applied.ok()) {
      applied = StoppedOr(watchdog, applied, "the plan");
      if (!failed_step.empty()) {
        applied = Annotate(applied, absl::StrCat("step `", failed_step.substr(0, 200), "`"));
      }
      if (!labels_committed.empty()) {
        applied = absl::Status(applied.code(), absl::StrCat(applied.message(), labels_committed));
      }
      RecordFailedRun(*db_, conn, options, registry_, started, applied);
      return applied;
    }
    result.outcome = DeclaredStillDiffers(result.remaining, options.rollback) ? Outcome::kPartial
                                                                              : Outcome::kApplied;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (quick_final) return quick_answer();
  // The run may have created schemad's schema: keep the canonical model
  // there for the next start.
  if (!result.executed.empty()) SaveCanonical(absl::Now() + absl::Seconds(5));
  return result;
}

absl::StatusOr<DiffResult> DiffRegistries(Engine& from, Engine& to, ApplyMode mode,
                                          absl::Time deadline) {
  SCHEMAD_ASSIGN_OR_RETURN(Schema before, from.Desired(deadline));
  SCHEMAD_ASSIGN_OR_RETURN(Schema after, to.Desired(deadline));
  DiffResult out;
  out.schema = after.name;
  out.differences = DiffSchemas(after, before);
  PlanOptions options;
  options.mode = mode;
  for (const Table& t : before.tables) options.tables_with_rows.insert(t.name);
  out.plan = BuildPlan(after, before, out.differences, options);
  Fingerprinter fp;
  fp.Add("registry diff");
  fp.Add(from.registry().fingerprint);
  fp.Add(to.registry().fingerprint);
  fp.Add(ApplyModeName(mode));
  out.fingerprint = fp.Hex();
  return out;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kApplied:
      return "APPLIED";
    case Outcome::kAlreadyInSync:
      return "ALREADY_IN_SYNC";
    case Outcome::kDryRun:
      return "DRY_RUN";
    case Outcome::kPartial:
      return "PARTIAL";
    case Outcome::kIncomplete:
      return "INCOMPLETE";
    case Outcome::kInProgress:
      return "IN_PROGRESS";
  }
  return "?";
}

const char* InitializeEventKindName(InitializeEvent::Kind kind) {
  switch (kind) {
    case InitializeEvent::Kind::kRunStarted:
      return "run_started";
    case InitializeEvent::Kind::kPhaseStarted:
      return "phase_started";
    case InitializeEvent::Kind::kLockWait:
      return "lock_wait";
    case InitializeEvent::Kind::kIndexProgress:
      return "index_progress";
    case InitializeEvent::Kind::kPhaseFinished:
      return "phase_finished";
  }
  return "?";
}

const char* SyncStateName(SyncState state) {
  switch (state) {
    case SyncState::kInSync:
      return "IN_SYNC";
    case SyncState::kPending:
      return "PENDING";
    case SyncState::kDrifted:
      return "DRIFTED";
  }
  return "?";
}

absl::Status CheckRequestId(absl::string_view request_id, bool optional) {
  if (request_id.empty() && optional) return absl::OkStatus();
  if (request_id.empty() || request_id.size() > 64) {
    return absl::InvalidArgumentError("request_id: 1 to 64 characters");
  }
  for (const char c : request_id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return absl::InvalidArgumentError(
          "request_id: printable characters only (a control character or NUL byte was sent)");
    }
  }
  return absl::OkStatus();
}

}  // namespace schemad
