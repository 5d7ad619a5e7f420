// Hostile and careless input against a real PostgreSQL 15: registry text
// never runs as SQL beyond its own statement, a NUL byte cannot drop a
// declared table, objects schemad did not create are never trusted, and
// legal oddities of a database never break a call.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

absl::Time Deadline(int seconds = 60) { return absl::Now() + absl::Seconds(seconds); }

std::vector<HazardKind> AllHazards() {
  return {HazardKind::kDataLoss, HazardKind::kDropsObject, HazardKind::kTableRewrite,
          HazardKind::kLongLock, HazardKind::kValidation};
}

constexpr char kSmallRegistry[] = R"reg(table {
  name: "t"
  column { name: "id" type: "integer" not_null: true }
  column { name: "a" type: "integer" default: "0" }
  column { name: "b" type: "integer" generated: "a + 1" }
  primary_key { name: "t_pkey" column: "id" }
  check { name: "t_a_check" expression: "a >= 0" }
  index { name: "t_expr_idx" key { expression: "a + 1" } }
  index { name: "t_partial_idx" key { column: "a" opclass: "int4_ops" } where: "a > 0" }
})reg";

// Planted by every test of stacked statements: a table that must survive,
// and a sequence whose nextval() would show a stacked statement even after
// the transaction that ran it rolled back.
void PlantCanaries(testing::TestDb& db) {
  db.Exec(
      "CREATE TABLE public.victims (id int); INSERT INTO public.victims VALUES (1); "
      "CREATE SEQUENCE public.canary");
}

void ExpectNothingRan(testing::TestDb& db, const std::string& what) {
  EXPECT_EQ(db.Query("SELECT count(*) FROM public.victims")[0][0].as<int>(), 1) << what;
  EXPECT_FALSE(db.Query("SELECT is_called FROM public.canary")[0][0].as<bool>()) << what;
  EXPECT_EQ(
      db.Query("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'schemad_scratch%'")[0][0]
          .as<int>(),
      0)
      << what << ": the scratch schema leaked";
  EXPECT_TRUE(db.Query("SELECT to_regclass('public.zz')")[0][0].is_null()) << what;
}

// The loader refuses all of these (registry_test.cc); here the loader is
// bypassed, as a future code path might, to show that the executor alone
// never sends more than one statement and never lets registry text add
// anything to the statement it belongs to.
TEST(HardeningTest, StackedStatementsNeverRunEvenWhenTheLoaderIsBypassed) {
  struct Payload {
    const char* name;
    void (*inject)(Table& t);
  };
  const std::vector<Payload> payloads = {
      {"check",
       [](Table& t) {
         for (Constraint& c : t.constraints) {
           if (c.kind != ConstraintKind::kCheck) continue;
           c.check_expr = "true)); SELECT nextval('canary'); DROP TABLE public.victims; SELECT ((1";
           c.definition = ConstraintDefinition(c);
         }
       }},
      {"default", [](Table& t) { t.columns[1].default_expr = "0; SELECT nextval('canary')"; }},
      {"generated",
       [](Table& t) {
         t.columns[2].generated =
             "a + 1) STORED); SELECT nextval('canary'); CREATE TABLE zz (y int "
             "GENERATED ALWAYS AS (1";
       }},
      {"type",
       [](Table& t) {
         t.columns[1].type = "int); SELECT nextval('canary'); CREATE TABLE zz (y int";
       }},
      {"predicate",
       [](Table& t) {
         for (Index& i : t.indexes) {
           if (i.predicate.empty()) continue;
           i.predicate = "a > 0; SELECT nextval('canary')";
           i.definition = IndexDefinition(i);
         }
       }},
      {"opclass",
       [](Table& t) {
         for (Index& i : t.indexes) {
           for (IndexKey& k : i.keys) {
             if (k.opclass.empty()) continue;
             k.opclass = "int4_ops); SELECT nextval('canary'); CREATE INDEX zz ON t (id";
           }
           i.definition = IndexDefinition(i);
         }
       }},
      {"index expression",
       [](Table& t) {
         for (Index& i : t.indexes) {
           for (IndexKey& k : i.keys) {
             if (k.expression.empty()) continue;
             k.expression = "a)); SELECT nextval('canary'); SELECT ((1";
           }
           i.definition = IndexDefinition(i);
         }
       }},
      {"one statement with a comment",
       [](Table& t) {
         for (Constraint& c : t.constraints) {
           if (c.kind != ConstraintKind::kCheck) continue;
           c.check_expr = "(1) FROM pg_sleep(10) --";
           c.definition = ConstraintDefinition(c);
         }
       }},
      {"NUL byte",
       [](Table& t) {
         for (Constraint& c : t.constraints) {
           if (c.kind != ConstraintKind::kCheck) continue;
           c.check_expr = std::string("a >= 0\0); SELECT nextval('canary'); --", 38);
           c.definition = ConstraintDefinition(c);
         }
       }},
  };
  for (const Payload& payload : payloads) {
    auto db = testing::TestDb::Create();
    PlantCanaries(*db);
    Registry registry = testing::MustLoadRegistry(kSmallRegistry);
    payload.inject(registry.schema.tables[0]);
    Engine engine(db->pool(), registry);
    absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
    EXPECT_FALSE(diff.ok()) << payload.name;
    EXPECT_EQ(diff.status().code(), absl::StatusCode::kFailedPrecondition)
        << payload.name << ": " << diff.status();
    absl::StatusOr<InitializeResult> init =
        engine.Initialize({.allow_hazards = AllHazards()}, Deadline());
    EXPECT_FALSE(init.ok()) << payload.name;
    ExpectNothingRan(*db, payload.name);
    EXPECT_TRUE(db->Query("SELECT to_regclass('public.t')")[0][0].is_null()) << payload.name;
  }
}

// A NUL byte inside an expression used to cut the batch short: the desired
// schema lost every later table, and an Initialize accepting every hazard
// dropped the declared `users` table and its row.
TEST(HardeningTest, ANulByteNeverDropsADeclaredTable) {
  auto db = testing::TestDb::Create();
  Registry registry = testing::MustLoadRegistry(R"reg(table {
  name: "a"
  column { name: "x" type: "integer" }
  check { name: "a_x_check" expression: "x > 0" }
}
table { name: "users" column { name: "id" type: "integer" } })reg");
  Engine good(db->pool(), registry);
  ASSERT_TRUE(good.Initialize({}, Deadline()).ok());
  db->Exec("INSERT INTO users VALUES (42)");

  Registry hostile = registry;
  for (Table& t : hostile.schema.tables) {
    for (Constraint& c : t.constraints) {
      c.check_expr = std::string("x > 0\0", 6);
      c.definition = ConstraintDefinition(c);
    }
  }
  Engine engine(db->pool(), hostile);
  absl::StatusOr<InitializeResult> init =
      engine.Initialize({.allow_hazards = AllHazards()}, Deadline());
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kFailedPrecondition) << init.status();
  EXPECT_THAT(init.status().message(), HasSubstr("NUL"));
  EXPECT_EQ(db->Query("SELECT count(*) FROM users")[0][0].as<int>(), 1);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  EXPECT_FALSE(status.ok()) << "a registry PostgreSQL cannot hold is never IN_SYNC";
}

std::string Role(testing::TestDb& db) { return absl::StrCat("intruder_", db.name()); }

void CreateIntruder(testing::TestDb& db) {
  db.Exec(absl::StrCat("DROP ROLE IF EXISTS ", Role(db), "; CREATE ROLE ", Role(db),
                       " LOGIN PASSWORD 'x'; GRANT CREATE ON DATABASE \"", db.name(), "\" TO ",
                       Role(db)));
}

void DropIntruder(testing::TestDb& db) {
  db.Exec(absl::StrCat("DROP SCHEMA IF EXISTS schemad CASCADE; DROP OWNED BY ", Role(db),
                       "; DROP ROLE ", Role(db)));
}

// A non-superuser pre-created schemad.history with a trigger; one Initialize
// used to make that user superuser.
TEST(HardeningTest, ASchemadSchemaOfAnotherRoleIsRefusedAndStatusWarns) {
  auto db = testing::TestDb::Create();
  CreateIntruder(*db);
  db->Exec(absl::StrCat(
      "CREATE SCHEMA schemad AUTHORIZATION ", Role(*db), "; SET ROLE ", Role(*db),
      "; CREATE TABLE schemad.history (id bigserial PRIMARY KEY, started_at timestamptz NOT "
      "NULL, finished_at timestamptz NOT NULL, caller text NOT NULL, registry_fingerprint text "
      "NOT NULL, steps jsonb NOT NULL, duration_ms integer NOT NULL); "
      "CREATE FUNCTION schemad.escalate() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN EXECUTE 'ALTER ROLE ",
      Role(*db),
      " SUPERUSER'; RETURN NEW; END$$; "
      "CREATE TRIGGER t BEFORE INSERT ON schemad.history FOR EACH ROW EXECUTE FUNCTION "
      "schemad.escalate(); RESET ROLE"));
  Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kFailedPrecondition) << init.status();
  EXPECT_THAT(init.status().message(),
              HasSubstr(absl::StrCat("schema \"schemad\" is owned by role \"", Role(*db), "\"")));
  EXPECT_THAT(init.status().message(), HasSubstr("ALTER SCHEMA schemad OWNER TO"));
  EXPECT_FALSE(db->Query(absl::StrCat("SELECT rolsuper FROM pg_roles WHERE rolname = '", Role(*db),
                                      "'"))[0][0]
                   .as<bool>());
  EXPECT_TRUE(db->Query("SELECT to_regclass('public.t')")[0][0].is_null()) << "nothing applied";

  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kPending);
  ASSERT_EQ(status->warnings.size(), 1u);
  EXPECT_THAT(status->warnings[0], HasSubstr("is owned by role"));
  ASSERT_TRUE(engine.Diff(Deadline()).ok());
  DropIntruder(*db);
}

TEST(HardeningTest, AHistoryTableOfAnotherShapeIsRefusedNotFailedInternally) {
  for (const char* tamper :
       {"CREATE TABLE schemad.history (id int)",
        "CREATE TABLE schemad.history (id bigserial PRIMARY KEY, started_at timestamptz NOT "
        "NULL, finished_at timestamptz NOT NULL, caller text NOT NULL, registry_fingerprint "
        "text NOT NULL, steps jsonb NOT NULL, duration_ms integer NOT NULL); CREATE RULE r AS "
        "ON INSERT TO schemad.history DO ALSO NOTIFY x",
        "CREATE VIEW schemad.history AS SELECT 1 AS id"}) {
    auto db = testing::TestDb::Create();
    db->Exec(absl::StrCat("CREATE SCHEMA schemad; ", tamper));
    Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
    absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
    ASSERT_FALSE(init.ok()) << tamper;
    EXPECT_EQ(init.status().code(), absl::StatusCode::kFailedPrecondition)
        << tamper << ": " << init.status();
    EXPECT_THAT(init.status().message(), HasSubstr("does not have the shape schemad gives it"));
    EXPECT_TRUE(db->Query("SELECT to_regclass('public.t')")[0][0].is_null()) << tamper;
    absl::StatusOr<StatusResult> status = engine.Status(Deadline());
    ASSERT_TRUE(status.ok()) << tamper << ": " << status.status();
    EXPECT_THAT(status->warnings, Not(IsEmpty())) << tamper;
  }
}

// Databases initialized by a release without schemad.version keep their
// history: the table is verified and migrated, additively.
TEST(HardeningTest, AHistoryTableALaterReleaseExtendedIsStillSchemads) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *LoadEmbeddedRegistry());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  // What a later release's additive migration would do.
  db->Exec(
      "ALTER TABLE schemad.history ADD COLUMN registry_version text; "
      "INSERT INTO schemad.version VALUES (99, now());");
  db->Exec("DROP INDEX ix_documents_owner_id");
  Engine older(db->pool(), *LoadEmbeddedRegistry());
  absl::StatusOr<StatusResult> status = older.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_THAT(status->warnings, IsEmpty());
  absl::StatusOr<InitializeResult> init = older.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  // A column no additive migration adds (NOT NULL) is not schemad's doing.
  db->Exec("ALTER TABLE schemad.history ADD COLUMN forged text NOT NULL DEFAULT 'x'");
  Engine third(db->pool(), *LoadEmbeddedRegistry());
  db->Exec("DROP INDEX ix_documents_owner_id");
  absl::StatusOr<InitializeResult> refused = third.Initialize({}, Deadline());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HardeningTest, AnOlderHistoryTableIsAdoptedAndMigratedAdditively) {
  auto db = testing::TestDb::Create();
  db->Exec(
      "CREATE SCHEMA schemad; CREATE TABLE schemad.history (id bigserial PRIMARY KEY, "
      "started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL, caller text NOT "
      "NULL, registry_fingerprint text NOT NULL, steps jsonb NOT NULL, duration_ms integer NOT "
      "NULL); INSERT INTO schemad.history (started_at, finished_at, caller, "
      "registry_fingerprint, steps, duration_ms) VALUES (now(), now(), 'old', 'f', '[]', 1)");
  Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({.caller = "new"}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  pqxx::result rows =
      db->Query("SELECT caller, request_id IS NULL FROM schemad.history ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "old");
  EXPECT_EQ(rows[1][0].as<std::string>(), "new");
  EXPECT_EQ(
      db->Query("SELECT string_agg(version::text, ',' ORDER BY version) FROM schemad.version")[0][0]
          .as<std::string>(),
      "1,2,3,4,5");
  EXPECT_EQ(db->Query("SELECT nspowner = (SELECT oid FROM pg_roles WHERE rolname = "
                      "current_user) FROM pg_namespace WHERE nspname = 'schemad'")[0][0]
                .as<bool>(),
            true);
}

// Functions and operators planted in the target schema that would be picked
// over pg_catalog's (better-matching argument types) are never called.
TEST(HardeningTest, ShadowingFunctionsAndOperatorsInTheTargetSchemaAreNeverCalled) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE FUNCTION public.trap() RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow called'; END$$;
CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow format_type'; END$$;
CREATE FUNCTION public.pg_get_expr(pg_node_tree, integer) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow pg_get_expr'; END$$;
CREATE FUNCTION public.quote_ident(name) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow quote_ident'; END$$;
CREATE FUNCTION public.unnest(oid[]) RETURNS SETOF oid LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow unnest'; END$$;
CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow set_config'; END$$;
CREATE FUNCTION public.shadow_eq(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow ='; END$$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.shadow_eq);
CREATE FUNCTION public.shadow_eq2(oid, integer) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow = int'; END$$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = integer, FUNCTION = public.shadow_eq2);
CREATE FUNCTION public.shadow_eq3(name, text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'shadow = name'; END$$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = text, FUNCTION = public.shadow_eq3);
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  // The planted functions are read (never called) and reported as extra:
  // nothing else differs.
  EXPECT_EQ(status->state, SyncState::kDrifted);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->differences.size(), 9u);
  for (const Difference& d : diff->differences) {
    EXPECT_EQ(d.kind, ObjectKind::kFunction) << d.name;
    EXPECT_EQ(d.change, Change::kExtra) << d.name;
  }
}

// Every legal oddity of a database is compared or reported, and never
// breaks a call (a column-less CHECK used to fail every call INTERNAL with
// "Attempt to convert null to string").
TEST(HardeningTest, AZooOfLegalOdditiesNeverAnswersInternal) {
  auto db = testing::TestDb::Create();
  db->Exec(R"sql(
CREATE TABLE users (id int);
ALTER TABLE users ADD CONSTRAINT c CHECK (now() > '2000-01-01');
CREATE TABLE z1 (a int); CREATE INDEX z1_one ON z1 ((1));
CREATE TABLE empty_t ();
CREATE TABLE nv (a int); ALTER TABLE nv ADD CONSTRAINT nv_a CHECK (a > 0) NOT VALID;
CREATE TABLE ex (r int4range, EXCLUDE USING gist (r WITH &&));
CREATE TABLE p (a int) PARTITION BY RANGE (a);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE inh_parent (a int); CREATE TABLE inh_child () INHERITS (inh_parent);
)sql");
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "users"
  column { name: "id" type: "integer" }
})reg"));
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kDrifted);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences),
              ::testing::Contains(HasSubstr("EXTRA constraint users.c")));
  absl::StatusOr<InitializeResult> init =
      engine.Initialize({.allow_hazards = AllHazards()}, Deadline());
  EXPECT_NE(init.status().code(), absl::StatusCode::kInternal) << init.status();
  absl::StatusOr<StatusResult> after = engine.Status(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
}

// A column-less CHECK declared in a registry round-trips.
TEST(HardeningTest, AColumnlessCheckRoundTrips) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(table {
  name: "users"
  column { name: "id" type: "integer" }
  check { name: "c" expression: "now() > '2000-01-01'::timestamptz" }
})reg"));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
}

// Another schema's extension is not the target's business: it neither
// keeps the target DRIFTED nor gets dropped.
TEST(HardeningTest, ExtensionsOfOtherSchemasAreNeitherReportedNorDropped) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE SCHEMA other; CREATE EXTENSION pg_trgm SCHEMA other");
  Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init =
      engine.Initialize({.allow_hazards = AllHazards()}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
  EXPECT_EQ(
      db->Query("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")[0][0].as<int>(), 1);
}

// Scratch schemas are named with 128 random bits: a schema planted under
// the old predictable name blocks nothing.
TEST(HardeningTest, APlantedScratchSchemaBlocksNothing) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE SCHEMA schemad_scratch_1_0; CREATE SCHEMA schemad_scratch_1_1");
  Engine engine(db->pool(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
}

// SQLSTATE 42501 is PERMISSION_DENIED naming the privilege, and the status
// carries the code as data.
TEST(HardeningTest, MissingPrivilegeIsPermissionDeniedWithItsSqlState) {
  auto db = testing::TestDb::Create();
  CreateIntruder(*db);
  db->Exec("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  const std::string url = db->url();
  const std::string server = url.substr(0, url.rfind('/'));
  const std::string role_url = absl::StrCat("postgresql://", Role(*db), ":x@",
                                            server.substr(server.find('@') + 1), "/", db->name());
  absl::StatusOr<std::unique_ptr<Database>> pool = Database::Create({.url = role_url});
  ASSERT_TRUE(pool.ok()) << pool.status();
  Engine engine(pool->get(), testing::MustLoadRegistry(kSmallRegistry));
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.status().code(), absl::StatusCode::kPermissionDenied) << init.status();
  EXPECT_EQ(SqlStateOf(init.status()), "42501");
  pool->reset();
  DropIntruder(*db);
}

// Deparsing an expression takes a lock on its table: an ACCESS EXCLUSIVE
// lock on docbot's tables used to fail Status and Diff after 5 s. A warm
// engine reuses what it deparsed (keyed by the expression and the current
// names of what it depends on), so it answers without waiting, and a rename
// is never served stale.
TEST(HardeningTest, AWarmEngineAnswersWhileATableIsLockedAndNeverServesAStaleDeparse) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *LoadEmbeddedRegistry());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  absl::StatusOr<StatusResult> warm = engine.Status(Deadline());
  ASSERT_TRUE(warm.ok()) << warm.status();
  ASSERT_EQ(warm->state, SyncState::kInSync);

  pqxx::connection holder(db->url());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE users, documents, chunks IN ACCESS EXCLUSIVE MODE");
  absl::Time start = absl::Now();
  absl::StatusOr<StatusResult> locked = engine.Status(Deadline());
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(locked->state, SyncState::kInSync);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(diff->differences, IsEmpty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "no lock wait (lock_timeout is 5 s)";

  // A rename changes how documents' partial index predicate prints
  // ('pending'::doc_status) without touching the index's own catalog row.
  db->Exec("ALTER TYPE document_status RENAME TO doc_status");
  start = absl::Now();
  absl::StatusOr<StatusResult> renamed = engine.Status(Deadline());
  EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << "fails fast";
  ASSERT_FALSE(renamed.ok() && renamed->state == SyncState::kInSync)
      << "a stale deparse was served";
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kAborted) << renamed.status();
  EXPECT_THAT(std::string(renamed.status().message()),
              HasSubstr("table documents (AccessExclusiveLock, pid"));

  // A cold engine fails fast too, and names the table.
  Engine cold(db->pool(), *LoadEmbeddedRegistry());
  start = absl::Now();
  absl::StatusOr<DiffResult> cold_diff = cold.Diff(Deadline());
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  ASSERT_FALSE(cold_diff.ok());
  EXPECT_THAT(std::string(cold_diff.status().message()),
              HasSubstr("held by another session: table"));

  lock.abort();
  absl::StatusOr<StatusResult> after = engine.Status(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->state, SyncState::kDrifted);
}

// View and trigger definitions lock their tables when deparsed
// (pg_get_viewdef, pg_get_triggerdef with a WHEN condition): a warm engine
// reuses them under the same keys, so a locked table does not make Status
// or Diff wait, and renaming the trigger's function is never served stale.
TEST(HardeningTest, AWarmEngineReadsViewsAndTriggersOfALockedTableWithoutWaiting) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), testing::MustLoadRegistry(R"reg(
function { name: "touch" returns: "trigger" language: "plpgsql" body: "BEGIN RETURN NEW; END" }
table {
  name: "items"
  column { name: "id" type: "integer" not_null: true }
  column { name: "price" type: "integer" }
  primary_key { name: "pk_items" column: "id" }
  trigger { name: "trg_price" timing: TRIGGER_TIMING_BEFORE event: TRIGGER_EVENT_UPDATE for_each_row: true when: "OLD.price IS DISTINCT FROM NEW.price" function: "touch" }
}
view { name: "priced" query: "SELECT id, price FROM items WHERE price IS NOT NULL" }
)reg"));
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  absl::StatusOr<StatusResult> warm = engine.Status(Deadline());
  ASSERT_TRUE(warm.ok()) << warm.status();
  ASSERT_EQ(warm->state, SyncState::kInSync);

  pqxx::connection holder(db->url());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
  absl::Time start = absl::Now();
  absl::StatusOr<StatusResult> locked = engine.Status(Deadline());
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(locked->state, SyncState::kInSync);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(diff->differences, IsEmpty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "no lock wait (lock_timeout is 5 s)";

  // The trigger now prints another function name: its key changes, so the
  // read deparses again (and fails fast on the lock) instead of answering
  // from the old text.
  db->Exec("ALTER FUNCTION touch() RENAME TO touch_renamed");
  absl::StatusOr<StatusResult> renamed = engine.Status(Deadline());
  ASSERT_FALSE(renamed.ok() && renamed->state == SyncState::kInSync)
      << "a stale trigger definition was served";
  lock.abort();
  absl::StatusOr<DiffResult> after = engine.Diff(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(testing::DescribeDifferences(after->differences),
              ::testing::Contains("CHANGED trigger items.trg_price definition"));
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Two replicas canonicalizing a registry whose extension is not installed
// yet used to block each other on PostgreSQL's catalog index: that part is
// serialized, and both succeed.
TEST(HardeningTest, ConcurrentCanonicalizationsOfANewExtensionBothSucceed) {
  auto db = testing::TestDb::Create();
  const Registry registry = testing::MustLoadRegistry(R"reg(registry {
  extension { name: "pg_trgm" }
}
table {
  name: "t"
  column { name: "name" type: "text" }
  index { name: "t_name_trgm" method: "gin" key { column: "name" opclass: "gin_trgm_ops" } }
})reg");
  std::vector<std::unique_ptr<Engine>> engines;
  for (int i = 0; i < 4; ++i) engines.push_back(std::make_unique<Engine>(db->pool(), registry));
  std::vector<absl::Status> results(engines.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < engines.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = engines[i]->Prepare(Deadline()); });
  }
  for (std::thread& t : threads) t.join();
  for (const absl::Status& r : results) EXPECT_TRUE(r.ok()) << r;
  EXPECT_EQ(
      db->Query("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")[0][0].as<int>(), 0)
      << "canonicalization rolls back";
}

}  // namespace
}  // namespace schemad
