#include "apply/self_schema.h"

#include <map>
#include <set>
#include <stdexcept>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/status_macros.h"
#include "schemad/model/codec.h"

namespace schemad {
namespace {

// One migration of schemad's own layout. Additive only: new tables and
// nullable columns, never a drop or a type change, so an older replica
// keeps working beside a newer one.
struct Migration {
  int version;
  std::vector<const char*> statements;
};

// Version 1 is the history table of schemad releases that had no version
// table (IF NOT EXISTS adopts it once its shape is verified); version 2 adds
// the request id that lets a caller learn whether its Initialize committed;
// version 3 the mode, the state of a run (NULL for rows written before:
// completed) and the phases of online runs, recorded as each commits;
// version 4 the registry store (published registries, their files and
// labels) and, in the history, the stored registry a run applied and
// whether it was a rollback; version 5 the canonical models of registries,
// keyed by everything they depend on.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration>* const kMigrations = new std::vector<Migration>{
      {1,
       {"CREATE TABLE IF NOT EXISTS schemad.history (\n"
        "    id bigserial PRIMARY KEY,\n"
        "    started_at timestamptz NOT NULL,\n"
        "    finished_at timestamptz NOT NULL,\n"
        "    caller text NOT NULL,\n"
        "    registry_fingerprint text NOT NULL,\n"
        "    steps jsonb NOT NULL,\n"
        "    duration_ms integer NOT NULL\n"
        ")"}},
      {2, {"ALTER TABLE schemad.history ADD COLUMN IF NOT EXISTS request_id text"}},
      {3,
       {"ALTER TABLE schemad.history ADD COLUMN IF NOT EXISTS mode text, "
        "ADD COLUMN IF NOT EXISTS state text, ADD COLUMN IF NOT EXISTS phase_count integer, "
        "ADD COLUMN IF NOT EXISTS phases jsonb, ADD COLUMN IF NOT EXISTS pid integer, "
        "ADD COLUMN IF NOT EXISTS failed_step text"}},
      {4,
       {"CREATE TABLE IF NOT EXISTS schemad.registries (\n"
        "    id bigserial PRIMARY KEY,\n"
        "    files_id text NOT NULL UNIQUE,\n"
        "    fingerprint text NOT NULL,\n"
        "    schema_name text NOT NULL,\n"
        "    published_at timestamptz NOT NULL,\n"
        "    publisher text NOT NULL,\n"
        "    file_count integer NOT NULL,\n"
        "    byte_count bigint NOT NULL\n"
        ")",
        "CREATE INDEX IF NOT EXISTS registries_fingerprint_idx ON schemad.registries (fingerprint)",
        "CREATE TABLE IF NOT EXISTS schemad.registry_files (\n"
        "    registry_id bigint NOT NULL,\n"
        "    name text NOT NULL,\n"
        "    content bytea NOT NULL,\n"
        "    PRIMARY KEY (registry_id, name)\n"
        ")",
        // Append-only: a label's registry is its newest row; older rows
        // record its moves.
        "CREATE TABLE IF NOT EXISTS schemad.registry_labels (\n"
        "    id bigserial PRIMARY KEY,\n"
        "    label text NOT NULL,\n"
        "    registry_id bigint NOT NULL,\n"
        "    assigned_at timestamptz NOT NULL,\n"
        "    assigned_by text NOT NULL\n"
        ")",
        "CREATE INDEX IF NOT EXISTS registry_labels_label_idx ON schemad.registry_labels (label, "
        "id)",
        "CREATE INDEX IF NOT EXISTS registry_labels_registry_idx ON schemad.registry_labels "
        "(registry_id)",
        "ALTER TABLE schemad.history ADD COLUMN IF NOT EXISTS registry_id bigint, "
        "ADD COLUMN IF NOT EXISTS kind text, ADD COLUMN IF NOT EXISTS from_registry_id bigint"}},
      {5,
       {"CREATE TABLE IF NOT EXISTS schemad.canonical (\n"
        "    key text PRIMARY KEY,\n"
        "    registry_fingerprint text NOT NULL,\n"
        "    model bytea NOT NULL,\n"
        "    model_hash text NOT NULL,\n"
        "    created_at timestamptz NOT NULL\n"
        ")"}},
  };
  return *kMigrations;
}

constexpr char kVersionTableDdl[] =
    "CREATE TABLE IF NOT EXISTS schemad.version (\n"
    "    version integer PRIMARY KEY,\n"
    "    applied_at timestamptz NOT NULL\n"
    ")";

// The exact shape of each table schemad owns, as kShapes prints it. A
// table of any other shape was not made by schemad (or was altered) and is
// not trusted.
const std::map<std::string, std::string>& ExpectedShapes() {
  static const std::map<std::string, std::string>* const kShapes =
      new std::map<std::string, std::string>{
          {"version",
           "kind r; columns version integer not null, applied_at timestamp with time zone not "
           "null; constraints version_pkey PRIMARY KEY (version); indexes 1; triggers 0; rules "
           "0; policies 0; inheritance 0"},
          {"history",
           "kind r; columns id bigint not null default "
           "nextval('schemad.history_id_seq'::regclass), started_at timestamp with time zone "
           "not null, finished_at timestamp with time zone not null, caller text not null, "
           "registry_fingerprint text not null, steps jsonb not null, duration_ms integer not "
           "null, request_id text, mode text, state text, phase_count integer, phases jsonb, pid "
           "integer, failed_step text, registry_id bigint, kind text, "
           "from_registry_id bigint; "
           "constraints history_pkey PRIMARY KEY (id); indexes 1; triggers 0; rules 0; "
           "policies 0; inheritance 0"},
          {"registries",
           "kind r; columns id bigint not null default "
           "nextval('schemad.registries_id_seq'::regclass), files_id text not null, fingerprint "
           "text not null, schema_name text not null, published_at timestamp with time zone not "
           "null, publisher text not null, file_count integer not null, byte_count bigint not "
           "null; constraints registries_files_id_key UNIQUE (files_id), registries_pkey PRIMARY "
           "KEY (id); indexes 3; triggers 0; rules 0; policies 0; inheritance 0"},
          {"canonical",
           "kind r; columns key text not null, registry_fingerprint text not null, model bytea "
           "not null, model_hash text not null, created_at timestamp with time zone not null; "
           "constraints canonical_pkey PRIMARY KEY (key); indexes 1; triggers 0; rules 0; "
           "policies 0; inheritance 0"},
          {"registry_files",
           "kind r; columns registry_id bigint not null, name text not null, content bytea not "
           "null; constraints registry_files_pkey PRIMARY KEY (registry_id, name); indexes 1; "
           "triggers 0; rules 0; policies 0; inheritance 0"},
          {"registry_labels",
           "kind r; columns id bigint not null default "
           "nextval('schemad.registry_labels_id_seq'::regclass), label text not null, "
           "registry_id bigint not null, assigned_at timestamp with time zone not null, "
           "assigned_by text not null; constraints registry_labels_pkey PRIMARY KEY (id); "
           "indexes 3; triggers 0; rules 0; policies 0; inheritance 0"},
          // Earlier layouts: still schemad's own, migrated on the next
          // Initialize.
          {"history@3",
           "kind r; columns id bigint not null default "
           "nextval('schemad.history_id_seq'::regclass), started_at timestamp with time zone "
           "not null, finished_at timestamp with time zone not null, caller text not null, "
           "registry_fingerprint text not null, steps jsonb not null, duration_ms integer not "
           "null, request_id text, mode text, state text, phase_count integer, phases jsonb, pid "
           "integer, failed_step text; "
           "constraints history_pkey PRIMARY KEY (id); indexes 1; triggers 0; rules 0; "
           "policies 0; inheritance 0"},
          {"history@2",
           "kind r; columns id bigint not null default "
           "nextval('schemad.history_id_seq'::regclass), started_at timestamp with time zone "
           "not null, finished_at timestamp with time zone not null, caller text not null, "
           "registry_fingerprint text not null, steps jsonb not null, duration_ms integer not "
           "null, request_id text; constraints history_pkey PRIMARY KEY (id); indexes 1; "
           "triggers 0; rules 0; policies 0; inheritance 0"},
          {"history@1",
           "kind r; columns id bigint not null default "
           "nextval('schemad.history_id_seq'::regclass), started_at timestamp with time zone "
           "not null, finished_at timestamp with time zone not null, caller text not null, "
           "registry_fingerprint text not null, steps jsonb not null, duration_ms integer not "
           "null; constraints history_pkey PRIMARY KEY (id); indexes 1; triggers 0; rules 0; "
           "policies 0; inheritance 0"},
      };
  return *kShapes;
}

// Owner of the schema and of every relation in it, and the shape of each
// relation, everything qualified so that nothing in search_path is called.
constexpr char kSchemaOwner[] = R"sql(
SELECT pg_catalog.pg_get_userbyid(n.nspowner),
       n.nspowner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                          WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'schemad')sql";

constexpr char kShapes[] = R"sql(
SELECT c.relname::pg_catalog.text, pg_catalog.pg_get_userbyid(c.relowner),
       c.relowner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                          WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER),
       pg_catalog.concat_ws('; ',
         'kind ' OPERATOR(pg_catalog.||) c.relkind::pg_catalog.text,
         'columns ' OPERATOR(pg_catalog.||) COALESCE((
           SELECT pg_catalog.string_agg(pg_catalog.concat(a.attname::pg_catalog.text, ' ',
                    pg_catalog.format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                    CASE WHEN d.adbin IS NULL THEN ''
                         ELSE ' default ' OPERATOR(pg_catalog.||)
                              pg_catalog.pg_get_expr(d.adbin, d.adrelid) END), ', '
                  ORDER BY a.attnum)
           FROM pg_catalog.pg_attribute a
           LEFT JOIN pg_catalog.pg_attrdef d
             ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid
            AND d.adnum OPERATOR(pg_catalog.=) a.attnum
           WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
             AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped), ''),
         'constraints ' OPERATOR(pg_catalog.||) COALESCE((
           SELECT pg_catalog.string_agg(pg_catalog.concat(k.conname::pg_catalog.text, ' ',
                    pg_catalog.pg_get_constraintdef(k.oid)), ', ' ORDER BY k.conname)
           FROM pg_catalog.pg_constraint k WHERE k.conrelid OPERATOR(pg_catalog.=) c.oid), ''),
         'indexes ' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_index x
           WHERE x.indrelid OPERATOR(pg_catalog.=) c.oid)::pg_catalog.text,
         'triggers ' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*)
           FROM pg_catalog.pg_trigger t
           WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid)::pg_catalog.text,
         'rules ' OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM pg_catalog.pg_rewrite w
           WHERE w.ev_class OPERATOR(pg_catalog.=) c.oid)::pg_catalog.text,
         'policies ' OPERATOR(pg_catalog.||) ((SELECT pg_catalog.count(*)
           FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid)
           OPERATOR(pg_catalog.+) CASE WHEN c.relrowsecurity THEN 1 ELSE 0 END)::pg_catalog.text,
         'inheritance ' OPERATOR(pg_catalog.||) ((SELECT pg_catalog.count(*)
           FROM pg_catalog.pg_inherits i WHERE i.inhrelid OPERATOR(pg_catalog.=) c.oid
              OR i.inhparent OPERATOR(pg_catalog.=) c.oid)
           OPERATOR(pg_catalog.+) CASE WHEN c.relispartition THEN 1 ELSE 0 END)::pg_catalog.text)
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n
                                             WHERE n.nspname OPERATOR(pg_catalog.=) 'schemad')
  AND c.relkind OPERATOR(pg_catalog.<>) 'i'
ORDER BY 1)sql";

// Whether `shape` is `expected` with columns appended (a later layout).
bool ExtendsShape(const std::string& shape, const std::string& expected) {
  const std::vector<std::string> have = absl::StrSplit(shape, "; ");
  const std::vector<std::string> want = absl::StrSplit(expected, "; ");
  if (have.size() != want.size()) return false;
  for (size_t i = 0; i < have.size(); ++i) {
    if (have[i] == want[i]) continue;
    if (!absl::StartsWith(want[i], "columns ") ||
        !absl::StartsWith(have[i], absl::StrCat(want[i], ", "))) {
      return false;
    }
    // Added columns are nullable and have no default.
    for (absl::string_view added : absl::StrSplit(have[i].substr(want[i].size() + 2), ", ")) {
      if (absl::StrContains(added, " not null") || absl::StrContains(added, " default ")) {
        return false;
      }
    }
  }
  return true;
}

absl::Status Untrusted(const std::string& what, const std::string& owner) {
  return absl::FailedPreconditionError(absl::StrCat(
      what, " is owned by role \"", owner,
      "\", not by the role schemad connects as; schemad does not trust objects it did not "
      "create. If it is schemad's, give it back (ALTER SCHEMA schemad OWNER TO <schemad's "
      "role>, and the same for its tables); otherwise drop or rename it"));
}

// Verifies the schema's and its relations' owner and shape. `*present` gets
// the names of schemad's tables that exist; `*history_version` 1 or 2.
absl::Status Verify(Transaction& tx, bool* schema_exists, std::set<std::string>* present,
                    int* history_version) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows owner, tx.Exec(kSchemaOwner));
  *schema_exists = !owner.empty();
  if (owner.empty()) return absl::OkStatus();
  if (!owner[0].Bool(1)) return Untrusted("schema \"schemad\"", owner[0].Text(0));
  SCHEMAD_ASSIGN_OR_RETURN(const Rows shapes, tx.Exec(kShapes));
  for (const Rows::Row row : shapes) {
    const std::string name = row.Text(0);
    if (name == "history_id_seq" || name == "registries_id_seq" ||
        name == "registry_labels_id_seq") {
      if (!row.Bool(2)) return Untrusted(absl::StrCat("sequence schemad.", name), row.Text(1));
      continue;
    }
    const auto expected = ExpectedShapes().find(name);
    if (expected == ExpectedShapes().end()) continue;  // not schemad's: never read
    if (!row.Bool(2)) return Untrusted(absl::StrCat("table schemad.", name), row.Text(1));
    const std::string shape = row.Text(3);
    int version = kSelfSchemaVersion;
    if (shape != expected->second) {
      version = 0;
      for (int older = kSelfSchemaVersion - 1; older >= 1 && version == 0; --older) {
        const auto it = ExpectedShapes().find(absl::StrCat(name, "@", older));
        if (it != ExpectedShapes().end() && shape == it->second) version = older;
      }
      // A newer release's layout: this one's columns first, then the ones
      // it added (migrations are additive), everything else the same.
      if (version == 0 && ExtendsShape(shape, expected->second)) version = kSelfSchemaVersion;
      if (version == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "table schemad.", name, " does not have the shape schemad gives it (found: ", shape,
            "; expected: ", expected->second,
            "); it was made or altered by someone else. Drop or rename it, and schemad creates "
            "its own on the next Initialize"));
      }
    }
    present->insert(name);
    if (name == "history") *history_version = version;
  }
  return absl::OkStatus();
}

// Runs `statements` in order; the first failure stops them.
absl::Status ExecAll(Transaction& tx, const std::vector<const char*>& statements) {
  for (const char* sql : statements) SCHEMAD_RETURN_IF_ERROR(tx.Exec(sql).status());
  return absl::OkStatus();
}

// The newest version in schemad.version, or 0.
absl::StatusOr<int> LayoutVersion(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows v,
                           tx.Exec("SELECT pg_catalog.max(version) FROM schemad.version"));
  return static_cast<int>(v[0].Int(0));
}

}  // namespace

absl::Status EnsureSelfSchema(Transaction& tx) {
  bool exists = false;
  std::set<std::string> present;
  int history_version = 0;
  SCHEMAD_RETURN_IF_ERROR(Verify(tx, &exists, &present, &history_version));
  if (exists && history_version == kSelfSchemaVersion && present.count("version") &&
      present.count("registries") && present.count("registry_files") &&
      present.count("registry_labels") && present.count("canonical")) {
    SCHEMAD_ASSIGN_OR_RETURN(const int version, LayoutVersion(tx));
    if (version >= kSelfSchemaVersion) return absl::OkStatus();
  }
  // Creating or migrating: one transaction at a time, whatever its target
  // schema (Initialize of two schemas, PublishRegistry), until it commits.
  SCHEMAD_RETURN_IF_ERROR(
      tx.Exec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
              "pg_catalog.concat('schemad:self:', pg_catalog.current_database()), 0))")
          .status());
  present.clear();
  SCHEMAD_RETURN_IF_ERROR(Verify(tx, &exists, &present, &history_version));
  if (!exists) {
    // A database schemad never touched (every fresh Initialize): the
    // current layout at once, made in this transaction, so its shape is
    // known without reading it back.
    SCHEMAD_RETURN_IF_ERROR(
        ExecAll(tx, {"CREATE SCHEMA schemad AUTHORIZATION CURRENT_USER", kVersionTableDdl}));
    for (const Migration& m : Migrations()) SCHEMAD_RETURN_IF_ERROR(ExecAll(tx, m.statements));
    return tx
        .Exec(
            "INSERT INTO schemad.version (version, applied_at) "
            "SELECT v, pg_catalog.clock_timestamp() FROM pg_catalog.generate_series(1, $1) v",
            {kSelfSchemaVersion})
        .status();
  }
  if (!present.count("version")) SCHEMAD_RETURN_IF_ERROR(ExecAll(tx, {kVersionTableDdl}));
  SCHEMAD_ASSIGN_OR_RETURN(const int current, LayoutVersion(tx));
  if (current > kSelfSchemaVersion) {
    // A newer schemad migrated it; migrations are additive, so this
    // release's tables and columns are all there.
    return absl::OkStatus();
  }
  bool migrated = !present.count("version");
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    SCHEMAD_RETURN_IF_ERROR(ExecAll(tx, m.statements));
    SCHEMAD_RETURN_IF_ERROR(tx.Exec("INSERT INTO schemad.version (version, applied_at) "
                                    "VALUES ($1, pg_catalog.clock_timestamp())",
                                    {m.version})
                                .status());
    migrated = true;
  }
  if (!migrated) {
    // Verified above and unchanged since; the history must be at this
    // release's layout (schemad.version says it was migrated).
    if (current >= kSelfSchemaVersion && history_version != kSelfSchemaVersion) {
      return absl::FailedPreconditionError(
          "schemad.history lacks columns that schemad.version says were added (it was altered "
          "by someone else); drop or rename schema schemad and schemad recreates it");
    }
    for (const auto& [table, since] : std::vector<std::pair<const char*, int>>{
             {"registries", 4}, {"registry_files", 4}, {"registry_labels", 4}, {"canonical", 5}}) {
      if (current >= since && !present.count(table)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "schemad.", table,
            " is missing although schemad.version says it was created (it "
            "was dropped by someone else); drop or rename schema schemad and schemad recreates "
            "it (published registries and history are lost)"));
      }
    }
    return absl::OkStatus();
  }
  // What exists now must be schemad's, whatever was there before.
  present.clear();
  SCHEMAD_RETURN_IF_ERROR(Verify(tx, &exists, &present, &history_version));
  if (history_version != kSelfSchemaVersion) {
    return absl::InternalError("schemad.history was not migrated to this release's layout");
  }
  return absl::OkStatus();
}

absl::Status VerifySelfSchema(Transaction& tx, bool* history_usable, int* history_version_out,
                              std::set<std::string>* tables) {
  bool exists = false;
  std::set<std::string> present;
  int history_version = 0;
  *history_usable = false;
  SCHEMAD_RETURN_IF_ERROR(Verify(tx, &exists, &present, &history_version));
  *history_usable = present.count("history") > 0;
  if (history_version_out != nullptr) *history_version_out = history_version;
  if (tables != nullptr) *tables = present;
  return absl::OkStatus();
}

namespace {

// Steps as JSON ([{"sql": ..., "hazards": ["DATA_LOSS"]}]), written by
// Protobuf's printer (no hand-written escaping).
absl::StatusOr<std::string> StepsJson(const Transaction& tx, const std::vector<PlanStep>& steps) {
  google::protobuf::ListValue list;
  for (const PlanStep& s : steps) {
    google::protobuf::Struct* step = list.add_values()->mutable_struct_value();
    (*step->mutable_fields())["sql"].set_string_value(s.sql);
    google::protobuf::ListValue* hazards =
        (*step->mutable_fields())["hazards"].mutable_list_value();
    for (const Hazard& h : s.hazards) hazards->add_values()->set_string_value(HazardName(h.kind));
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(list, &json).ok()) {
    return absl::InternalError(absl::StrCat(tx.what(), ": writing the history's steps as JSON"));
  }
  return json;
}

}  // namespace

absl::Status RecordHistory(Transaction& tx, const HistoryRecord& record, const std::string& state) {
  SCHEMAD_ASSIGN_OR_RETURN(const std::string steps, StepsJson(tx, record.steps));
  return tx
      .Exec(
          "INSERT INTO schemad.history (started_at, finished_at, caller, "
          "registry_fingerprint, steps, duration_ms, request_id, mode, state, phase_count, "
          "registry_id, kind, from_registry_id) "
          "VALUES (pg_catalog.to_timestamp($1::pg_catalog.float8 OPERATOR(pg_catalog./) "
          "1000000), pg_catalog.clock_timestamp(), $2, $3, $4::pg_catalog.jsonb, $5, "
          "NULLIF($6, ''), 'TRANSACTIONAL', $7, $8, NULLIF($9::pg_catalog.int8, 0), $10, "
          "NULLIF($11::pg_catalog.int8, 0))",
          {absl::ToUnixMicros(record.started), record.caller, record.registry_fingerprint, steps,
           absl::ToInt64Milliseconds(record.finished - record.started), record.request_id, state,
           record.phases, record.registry_id, record.rollback ? "rollback" : "initialize",
           record.from_registry_id})
      .status();
}

absl::StatusOr<int64_t> StartRun(Transaction& tx, const HistoryRecord& record) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r,
      tx.Exec("INSERT INTO schemad.history (started_at, finished_at, caller, "
              "registry_fingerprint, steps, duration_ms, request_id, mode, state, "
              "phase_count, phases, pid, registry_id, kind, from_registry_id) "
              "VALUES (pg_catalog.to_timestamp($1::pg_catalog.float8 "
              "OPERATOR(pg_catalog./) 1000000), pg_catalog.clock_timestamp(), $2, $3, "
              "'[]', 0, NULLIF($4, ''), 'ONLINE', 'running', $5, '[]', "
              "pg_catalog.pg_backend_pid(), NULLIF($6::pg_catalog.int8, 0), $7, "
              "NULLIF($8::pg_catalog.int8, 0)) RETURNING id",
              {absl::ToUnixMicros(record.started), record.caller, record.registry_fingerprint,
               record.request_id, record.phases, record.registry_id,
               record.rollback ? "rollback" : "initialize", record.from_registry_id}));
  return r[0].Int(0);
}

absl::Status RecordPhase(Transaction& tx, int64_t run_id, const PhaseRecord& phase) {
  google::protobuf::Struct entry;
  (*entry.mutable_fields())["phase"].set_number_value(phase.phase);
  (*entry.mutable_fields())["duration_ms"].set_number_value(
      static_cast<double>(absl::ToInt64Milliseconds(phase.duration)));
  (*entry.mutable_fields())["retries"].set_number_value(phase.retries);
  std::string entry_json;
  if (!google::protobuf::util::MessageToJsonString(entry, &entry_json).ok()) {
    return absl::InternalError(absl::StrCat(tx.what(), ": writing the history's phase as JSON"));
  }
  SCHEMAD_ASSIGN_OR_RETURN(const std::string steps, StepsJson(tx, phase.steps));
  return tx
      .Exec(
          "UPDATE schemad.history SET steps = steps OPERATOR(pg_catalog.||) "
          "$2::pg_catalog.jsonb, phases = phases OPERATOR(pg_catalog.||) "
          "pg_catalog.jsonb_build_array($3::pg_catalog.jsonb), "
          "finished_at = pg_catalog.clock_timestamp(), duration_ms = "
          "pg_catalog.int4(pg_catalog.\"extract\"('epoch', pg_catalog.clock_timestamp() "
          "OPERATOR(pg_catalog.-) started_at) OPERATOR(pg_catalog.*) 1000) "
          "WHERE id OPERATOR(pg_catalog.=) $1",
          {run_id, steps, entry_json})
      .status();
}

absl::Status FinishRun(Transaction& tx, int64_t run_id, const std::string& state,
                       const std::string& failed_on_data) {
  return tx
      .Exec(
          "UPDATE schemad.history SET state = $2, failed_step = NULLIF($3, ''), "
          "finished_at = pg_catalog.clock_timestamp(), "
          "duration_ms = pg_catalog.int4(pg_catalog.\"extract\"('epoch', "
          "pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) started_at) "
          "OPERATOR(pg_catalog.*) 1000) WHERE id OPERATOR(pg_catalog.=) $1",
          {run_id, state, failed_on_data})
      .status();
}

absl::StatusOr<std::map<std::string, int64_t>> ReadDataFailures(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows rows,
      tx.Exec("SELECT failed_step, id FROM schemad.history WHERE failed_step IS NOT NULL "
              "AND id OPERATOR(pg_catalog.>) COALESCE((SELECT pg_catalog.max(id) FROM "
              "schemad.history WHERE state OPERATOR(pg_catalog.=) 'completed'), 0) ORDER BY id"));
  std::map<std::string, int64_t> out;
  for (const Rows::Row row : rows) out[row.Text(0)] = row.Int(1);
  return out;
}

absl::StatusOr<int64_t> FindStoredRegistry(Transaction& tx, const std::string& files_id) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r,
      tx.Exec("SELECT id FROM schemad.registries WHERE files_id OPERATOR(pg_catalog.=) $1",
              {files_id}));
  return r.empty() ? 0 : r[0].Int(0);
}

absl::StatusOr<int64_t> StoreRegistry(Transaction& tx, const Registry& registry,
                                      const std::string& publisher) {
  int64_t bytes = 0;
  for (const RegistrySource& f : registry.sources) bytes += static_cast<int64_t>(f.content.size());
  // A concurrent store of the same files waits on the unique key, then
  // finds its row.
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows inserted,
      tx.Exec("INSERT INTO schemad.registries (files_id, fingerprint, schema_name, published_at, "
              "publisher, file_count, byte_count) VALUES ($1, $2, $3, "
              "pg_catalog.clock_timestamp(), $4, $5, $6) ON CONFLICT (files_id) DO NOTHING "
              "RETURNING id",
              {registry.id, registry.fingerprint, registry.schema.name, publisher,
               registry.sources.size(), bytes}));
  if (inserted.empty()) return FindStoredRegistry(tx, registry.id);
  const int64_t id = inserted[0].Int(0);
  // Every file in one statement (docbot's 13 were 13 round trips). Bytes
  // as hex text: exact, whatever they hold.
  std::vector<std::string> names, contents;
  for (const RegistrySource& f : registry.sources) {
    const size_t slash = f.path.rfind('/');
    names.push_back(slash == std::string::npos ? f.path : f.path.substr(slash + 1));
    contents.push_back(absl::BytesToHexString(f.content));
  }
  SCHEMAD_RETURN_IF_ERROR(tx.Exec("INSERT INTO schemad.registry_files (registry_id, name, content) "
                                  "SELECT $1, f.name, pg_catalog.decode(f.content, 'hex') "
                                  "FROM ROWS FROM (pg_catalog.unnest($2::pg_catalog.text[]), "
                                  "pg_catalog.unnest($3::pg_catalog.text[])) AS f(name, content)",
                                  {id, ArrayLiteral(names), ArrayLiteral(contents)})
                              .status());
  return id;
}

absl::StatusOr<int64_t> LastAppliedRegistryId(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r,
      tx.Exec("SELECT registry_id FROM schemad.history WHERE registry_id IS NOT NULL AND (state "
              "IS NULL OR state OPERATOR(pg_catalog.=) 'completed' OR "
              "pg_catalog.jsonb_array_length(steps) OPERATOR(pg_catalog.>) 0 AND mode "
              "OPERATOR(pg_catalog.=) 'ONLINE') ORDER BY id DESC LIMIT 1"));
  return r.empty() ? 0 : r[0].Int(0);
}

absl::StatusOr<std::string> CanonicalKey(Transaction& tx, const std::string& registry_fingerprint) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r,
      tx.Exec("SELECT pg_catalog.current_setting('server_version_num'), COALESCE((SELECT "
              "pg_catalog.string_agg(e.extname OPERATOR(pg_catalog.||) '=' "
              "OPERATOR(pg_catalog.||) e.extversion, ',' ORDER BY e.extname) FROM "
              "pg_catalog.pg_extension e), '')"));
  Fingerprinter fp;
  fp.Add(kCanonicalFormVersion);
  fp.Add(absl::StrCat(kModelCodecVersion));
  fp.Add(registry_fingerprint);
  fp.Add(r[0].Text(0));
  fp.Add(r[0].Text(1));
  return fp.Hex();
}

absl::StatusOr<std::optional<std::string>> ReadCanonical(Transaction& tx, const std::string& key) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows r,
                           tx.Exec("SELECT pg_catalog.encode(model, 'hex'), model_hash FROM "
                                   "schemad.canonical WHERE key OPERATOR(pg_catalog.=) $1",
                                   {key}));
  if (r.empty()) return std::optional<std::string>();
  std::string model = absl::HexStringToBytes(r[0].Text(0));
  Fingerprinter fp;
  fp.Add(model);
  // It becomes DDL: a model that does not match its hash is not used.
  if (fp.Hex() != r[0].Text(1)) return std::optional<std::string>();
  return std::optional<std::string>(std::move(model));
}

absl::Status WriteCanonical(Transaction& tx, const std::string& key,
                            const std::string& registry_fingerprint, const std::string& model) {
  Fingerprinter fp;
  fp.Add(model);
  SCHEMAD_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO schemad.canonical (key, registry_fingerprint, model, model_hash, "
              "created_at) VALUES ($1, $2, pg_catalog.decode($3, 'hex'), $4, "
              "pg_catalog.clock_timestamp()) ON CONFLICT (key) DO NOTHING",
              {key, registry_fingerprint, absl::BytesToHexString(model), fp.Hex()})
          .status());
  // Bounded: the newest 100 models.
  return tx
      .Exec(
          "DELETE FROM schemad.canonical WHERE key OPERATOR(pg_catalog.<>) ALL (SELECT key FROM "
          "schemad.canonical ORDER BY created_at DESC LIMIT 100)")
      .status();
}

absl::StatusOr<int> CountRunning(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows r,
                           tx.Exec("SELECT pg_catalog.count(*)::pg_catalog.int4 FROM "
                                   "schemad.history WHERE state OPERATOR(pg_catalog.=) 'running'"));
  return static_cast<int>(r[0].Int(0));
}

absl::StatusOr<int> MarkInterrupted(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(const Rows r, tx.Exec("UPDATE schemad.history SET state = 'interrupted' "
                                                 "WHERE state OPERATOR(pg_catalog.=) 'running'"));
  return static_cast<int>(r.affected());
}

absl::StatusOr<std::optional<RunningRun>> ReadRunningRun(Transaction& tx) {
  SCHEMAD_ASSIGN_OR_RETURN(
      const Rows r,
      tx.Exec("SELECT id, COALESCE(phase_count, 0), pg_catalog.jsonb_array_length(COALESCE("
              "phases, '[]')), caller FROM schemad.history h WHERE state "
              "OPERATOR(pg_catalog.=) 'running' "
              // Alive: its backend still holds an advisory lock (the row of
              // a schemad that died is not a run in progress).
              "AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.locktype "
              "OPERATOR(pg_catalog.=) 'advisory' AND l.granted AND l.pid "
              "OPERATOR(pg_catalog.=) h.pid) ORDER BY id DESC LIMIT 1"));
  if (r.empty()) return std::optional<RunningRun>();
  return std::optional<RunningRun>(RunningRun{r[0].Int(0), static_cast<int>(r[0].Int(1)),
                                              static_cast<int>(r[0].Int(2)), r[0].Text(3)});
}

namespace {

// Finish time as microseconds, steps and fingerprint, from schemad.history.
constexpr char kHistoryColumns[] =
    "SELECT registry_fingerprint, pg_catalog.int8(pg_catalog.\"extract\"('epoch', finished_at) "
    "OPERATOR(pg_catalog.*) 1000000), pg_catalog.jsonb_array_length(steps), ";

// Layout 3 has the run's state; earlier rows are complete.
std::string HistoryQuery(int version, const std::string& where) {
  return absl::StrCat(kHistoryColumns,
                      version >= 3 ? "COALESCE(state, 'completed')" : "'completed'",
                      " FROM schemad.history ", where);
}

absl::StatusOr<std::optional<HistoryRow>> FirstRow(const absl::StatusOr<Rows>& r) {
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<HistoryRow>();
  const Rows::Row row = (*r)[0];
  return std::optional<HistoryRow>(HistoryRow{row.Text(0), absl::FromUnixMicros(row.Int(1)),
                                              static_cast<int>(row.Int(2)), row.Text(3)});
}

}  // namespace

absl::StatusOr<std::optional<HistoryRow>> ReadLastApplied(Transaction& tx, int version) {
  // Runs that did not complete (an online run in progress, failed or
  // interrupted) are not what was last applied.
  return FirstRow(
      tx.Exec(HistoryQuery(version, absl::StrCat(version >= 3 ? "WHERE state IS NULL OR state "
                                                                "OPERATOR(pg_catalog.=) "
                                                                "'completed' "
                                                              : "",
                                                 "ORDER BY id DESC LIMIT 1"))));
}

absl::StatusOr<std::optional<HistoryRow>> ReadRequest(Transaction& tx,
                                                      const std::string& request_id, int version) {
  return FirstRow(tx.Exec(
      HistoryQuery(version, "WHERE request_id OPERATOR(pg_catalog.=) $1 ORDER BY id DESC LIMIT 1"),
      {request_id}));
}

}  // namespace schemad
