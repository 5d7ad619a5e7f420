// Registries in plain SQL: docbot's SQL registry (written from the
// SQLAlchemy models by scripts/models-to-sql) is the same schema as its
// textproto registry; formatting changes nothing; statements off the
// allowlist are refused offline, naming file and line; pg_dump's output
// does not load (its names are schema-qualified) and says why.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

TEST(SqlRegistryTest, DocbotAsSqlIsTheSameSchemaAsDocbotAsTextproto) {
  absl::StatusOr<Registry> sql = LoadRegistryDir(testing::SourcePath("deploy/registry/docbot-sql"));
  ASSERT_TRUE(sql.ok()) << sql.status();
  absl::StatusOr<Registry> textproto = LoadEmbeddedRegistry();
  ASSERT_TRUE(textproto.ok()) << textproto.status();

  auto db = testing::TestDb::Create();
  Engine from_sql(db->pool(), *sql);
  Engine from_textproto(db->pool(), *textproto);
  absl::StatusOr<Schema> a = from_sql.Desired(Deadline());
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Schema> b = from_textproto.Desired(Deadline());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(SerializeForFingerprint(*a), SerializeForFingerprint(*b));

  absl::StatusOr<InitializeResult> init = from_sql.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> diff = from_textproto.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), IsEmpty());
}

// The fingerprint is taken from the statements' parse trees: whitespace,
// comments, keyword case and moving a statement to another file change
// nothing; a changed default does.
TEST(SqlRegistryTest, FingerprintIgnoresFormattingButNotMeaning) {
  const std::string table =
      "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL DEFAULT '');\n"
      "CREATE INDEX ix_notes_body ON notes (body);\n";
  absl::StatusOr<Registry> a = LoadRegistry({{"notes.sql", table}}, "a");
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Registry> b = LoadRegistry(
      {{"indexes.sql", "-- indexes\ncreate   index ix_notes_body\n  on notes(body)"},
       {"notes.sql",
        "/* the notes */ create table notes (\n  id bigint primary key,\n  body text not null "
        "default ''\n);"}},
      "b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  absl::StatusOr<Registry> c = LoadRegistry(
      {{"notes.sql", absl::StrReplaceAll(table, {{"DEFAULT ''", "DEFAULT 'x'"}})}}, "c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(a->fingerprint, c->fingerprint);
}

// Statements off the allowlist, and objects named with a schema, are
// refused before anything runs, each at its file, line and column.
TEST(SqlRegistryTest, RefusesWhatIsNotADeclarationAtItsFileAndLine) {
  const std::string text = R"sql(CREATE TABLE t (id int);
DO $$ BEGIN PERFORM pg_sleep(10); END $$;
COPY t FROM '/etc/passwd';
COMMIT;
SET search_path = evil;
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t;
CREATE TABLE public.q (id int);
CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'libc', 'abs';
DROP TABLE t;
INSERT INTO t VALUES (1);
CREATE INDEX CONCURRENTLY ix_t ON t (id);
CREATE TEMP TABLE tmp (id int);
SELECT pg_catalog.set_config('search_path', '', false);
CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f();
)sql";
  absl::StatusOr<Registry> r = LoadRegistry({{"bad.sql", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("(13 errors)"));
  EXPECT_THAT(message, HasSubstr("bad.sql:2:1: DO is not allowed: a registry file holds only "
                                 "CREATE TABLE"));
  EXPECT_THAT(message, HasSubstr("bad.sql:3:1: COPY is not allowed"));
  EXPECT_THAT(message, HasSubstr("bad.sql:4:1: transaction control"));
  EXPECT_THAT(message, HasSubstr("bad.sql:5:1: SET is not allowed"));
  EXPECT_THAT(message, HasSubstr("bad.sql:6:1: materialized view \"mv\" must be declared WITH NO "
                                 "DATA"));
  EXPECT_THAT(message, HasSubstr("bad.sql:7:1: table \"public.q\" is qualified with a schema"));
  EXPECT_THAT(message, HasSubstr("bad.sql:8:1: function \"f\" is in language \"c\""));
  EXPECT_THAT(message, HasSubstr("bad.sql:9:1: DROP is not allowed"));
  EXPECT_THAT(message, HasSubstr("bad.sql:10:1: INSERT is not allowed"));
  EXPECT_THAT(message, HasSubstr("bad.sql:11:1: CREATE INDEX CONCURRENTLY"));
  EXPECT_THAT(message, HasSubstr("bad.sql:12:1: table \"tmp\" is temporary"));
  EXPECT_THAT(message, HasSubstr("bad.sql:13:1: SELECT is not allowed"));
  EXPECT_THAT(message, HasSubstr("bad.sql:14:1: CREATE EVENT TRIGGER is not allowed"));

  absl::StatusOr<Registry> syntax =
      LoadRegistry({{"s.sql", "CREATE TABLE t (\n  id int,,\n)"}}, "test");
  ASSERT_FALSE(syntax.ok());
  EXPECT_THAT(std::string(syntax.status().message()), HasSubstr("s.sql:2:10: syntax error"));
}

// SQL files and textproto files mix: a view in SQL over a textproto table,
// a trigger in SQL calling a textproto function, a comment; the same name
// in both formats is refused. PostgreSQL's own errors name the statement's
// file and line.
TEST(SqlRegistryTest, MixesWithTextprotoAndNamesTheStatementPostgresRejects) {
  const std::vector<RegistrySource> files = {{"items.textproto", R"pb(table {
  name: "items"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "price" type: "numeric(10,2)" }
  primary_key { name: "pk_items" column: "id" }
}
function { name: "noop" returns: "trigger" language: "plpgsql" body: "BEGIN RETURN NEW; END" }
)pb"},
                                             {"views.sql", R"sql(
CREATE VIEW expensive AS SELECT id, price FROM cheap WHERE price > 100;
CREATE VIEW cheap AS SELECT id, price FROM items WHERE price IS NOT NULL;
CREATE MATERIALIZED VIEW price_stats AS SELECT max(price) AS top FROM items WITH NO DATA;
CREATE UNIQUE INDEX ux_price_stats ON price_stats (top);
CREATE TRIGGER trg_items_noop BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION noop();
COMMENT ON VIEW cheap IS 'priced items';
)sql"}};
  absl::StatusOr<Registry> registry = LoadRegistry(files, "mixed");
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *registry);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), IsEmpty());
  EXPECT_EQ(
      db->Query("SELECT obj_description('cheap'::regclass, 'pg_class')")[0][0].as<std::string>(),
      "priced items");

  std::vector<RegistrySource> twice = files;
  twice.push_back({"more.sql", "CREATE TABLE items (id bigint)"});
  absl::StatusOr<Registry> duplicate = LoadRegistry(twice, "twice");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_THAT(std::string(duplicate.status().message()),
              HasSubstr("more.sql:1:1: duplicate table name \"items\" (already used at "
                        "items.textproto:1:1: table[0])"));

  std::vector<RegistrySource> broken = files;
  broken[1].content = absl::StrReplaceAll(broken[1].content, {{"FROM cheap", "FROM nowhere"}});
  absl::StatusOr<Registry> loads = LoadRegistry(broken, "broken");
  ASSERT_TRUE(loads.ok()) << loads.status();
  auto fresh = testing::TestDb::Create();
  Engine rejected(fresh->pool(), *loads);
  absl::StatusOr<InitializeResult> refused = rejected.Initialize({}, Deadline());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("views.sql:2:1: PostgreSQL rejected the registry's view expensive"));
  EXPECT_EQ(fresh->Query("SELECT count(*) FROM pg_class WHERE relname = 'items'")[0][0].as<int>(),
            0);
}

// A SQL-standard body (BEGIN ATOMIC, RETURN) is bound when the function
// is created: one naming a table is created after the tables, in SQL and in
// textproto, when canonicalizing and when applying (before, both failed
// with 'relation "tb" does not exist').
TEST(SqlRegistryTest, SqlStandardBodiesNamingTablesComeAfterThem) {
  const std::vector<RegistrySource> files = {{"a.sql", R"sql(
CREATE FUNCTION add_note(b text) RETURNS void LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO notes (body) VALUES (b);
END;
CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql STABLE RETURN (SELECT count(*) FROM notes);
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);
)sql"},
                                             {"b.textproto", R"pb(table {
  name: "tags"
  column { name: "name" type: "text" not_null: true }
  primary_key { name: "pk_tags" column: "name" }
}
function {
  name: "tag_count"
  returns: "bigint"
  language: "sql"
  volatility: VOLATILITY_STABLE
  body: "RETURN (SELECT count(*) FROM tags)"
  sql_body: true
}
)pb"}};
  absl::StatusOr<Registry> registry = LoadRegistry(files, "bodies");
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *registry);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  db->Exec("SELECT add_note('hello')");
  EXPECT_EQ(db->Query("SELECT note_count()")[0][0].as<int>(), 1);
  EXPECT_EQ(db->Query("SELECT tag_count()")[0][0].as<int>(), 0);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), IsEmpty());
}

// Canonicalizing runs the registry's statements, and PostgreSQL may run
// a registry function among them (an IMMUTABLE call with constant
// arguments in an index expression is folded when the index is built,
// even on an empty table). The caller's deadline bounds that: before, a
// published registry's slow function ran on for the whole statement
// timeout after its caller had gone.
TEST(SqlRegistryTest, TheCallersDeadlineBoundsTheRegistrysOwnStatements) {
  const std::vector<RegistrySource> files = {{"slow.sql", R"sql(
CREATE FUNCTION slow(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_sleep(60); RETURN x; END $$;
CREATE TABLE t (a int);
CREATE INDEX ix_t ON t ((a + slow(1)));
)sql"}};
  absl::StatusOr<Registry> registry = LoadRegistry(files, "slow");
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *registry);
  const absl::Time start = absl::Now();
  absl::StatusOr<DiffResult> diff = engine.Diff(absl::Now() + absl::Seconds(1));
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kDeadlineExceeded) << diff.status();
  EXPECT_LT(took, absl::Seconds(15)) << "the statement ran on after the deadline";
  EXPECT_EQ(
      db->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE '%ix_t%' AND state = 'active' AND pid <> pg_backend_pid()")[0][0]
          .as<int>(),
      0);
}

// Functions, triggers and tables whose names need quoting canonicalize
// (function bodies are checked by oid, not by a signature parsed from
// text), apply, and are in sync afterwards, also when the objects already
// exist in the target schema.
TEST(SqlRegistryTest, NamesThatNeedQuotingCanonicalizeAndConverge) {
  absl::StatusOr<Registry> registry = LoadRegistry({{"quoted.sql", R"sql(
CREATE TABLE "some foo" (id integer PRIMARY KEY, author text, version integer NOT NULL DEFAULT 0);
CREATE FUNCTION "increment version"() RETURNS trigger AS $$
  BEGIN NEW.version = OLD.version + 1; RETURN NEW; END;
$$ LANGUAGE plpgsql;
CREATE FUNCTION "Add One"(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x + 1';
CREATE TRIGGER "some trigger" BEFORE UPDATE ON "some foo" FOR EACH ROW
  WHEN (NEW.author IS DISTINCT FROM 'fizz') EXECUTE PROCEDURE "increment version"();
)sql"}},
                                                   "quoted");
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *registry);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  Engine again(db->pool(), *registry);
  absl::StatusOr<DiffResult> diff = again.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), IsEmpty());
  EXPECT_EQ(
      db->Query("SELECT count(*) FROM pg_trigger WHERE tgname = 'some trigger'")[0][0].as<int>(),
      1);
}

// A function body that names the registry's own tables qualified with the
// target schema ("public.orders") cannot be checked in the scratch schema:
// it is accepted, applied (tables first for a SQL-standard body, which
// binds at creation), and in sync afterwards; an unknown relation of
// another schema is still refused.
TEST(SqlRegistryTest, BodiesNamingTheTargetSchemaQualifiedAreAccepted) {
  const std::string sql = R"sql(
CREATE TABLE orders (id integer PRIMARY KEY, amount numeric NOT NULL);
CREATE FUNCTION sum_orders() RETURNS numeric LANGUAGE sql STABLE
  AS $$ SELECT COALESCE(sum(amount), 0) FROM public.orders $$;
CREATE FUNCTION last_order() RETURNS integer LANGUAGE plpgsql AS $$
  DECLARE r public.orders%ROWTYPE;
  BEGIN SELECT * INTO r FROM public.orders ORDER BY id DESC LIMIT 1; RETURN r.id; END $$;
)sql";
  absl::StatusOr<Registry> registry = LoadRegistry({{"orders.sql", sql}}, "orders");
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), *registry);
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(testing::DescribeDifferences(diff->differences), IsEmpty());
  db->Exec("INSERT INTO orders VALUES (1, 2.5), (2, 4)");
  EXPECT_EQ(db->Query("SELECT sum_orders()::text")[0][0].as<std::string>(), "6.5");

  absl::StatusOr<Registry> elsewhere = LoadRegistry(
      {{"orders.sql",
        absl::StrReplaceAll(sql, {{"FROM public.orders $$", "FROM other.orders $$"}})}},
      "elsewhere");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  auto fresh = testing::TestDb::Create();
  Engine refused(fresh->pool(), *elsewhere);
  absl::StatusOr<InitializeResult> no = refused.Initialize({}, Deadline());
  ASSERT_FALSE(no.ok());
  EXPECT_THAT(std::string(no.status().message()),
              HasSubstr("PostgreSQL rejected the body of function sum_orders"));
}

// The SQL registry in the repository is what scripts/models-to-sql writes
// from the models: regenerate it when the models change.
TEST(SqlRegistryTest, DocbotSqlRegistryIsWhatTheModelsGenerate) {
  const std::string out = testing::TempDir() + "/generated";
  const testing::CommandResult run = testing::RunCommand(
      absl::StrCat("/usr/bin/python3 ", testing::SourcePath("scripts/models-to-sql"), " ",
                   testing::SourcePath("tests/parity/docbot_models.py"), " ", out,
                   " --ignore alembic_version 2>&1"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  absl::StatusOr<std::vector<RegistrySource>> generated = ReadRegistryDir(out);
  ASSERT_TRUE(generated.ok()) << generated.status();
  absl::StatusOr<std::vector<RegistrySource>> committed =
      ReadRegistryDir(testing::SourcePath("deploy/registry/docbot-sql"));
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(generated->size(), committed->size());
  for (size_t i = 0; i < generated->size(); ++i) {
    EXPECT_EQ((*generated)[i].content, (*committed)[i].content) << (*committed)[i].path;
  }
}

// pg_dump --schema-only output does not load, even without its SET and
// set_config lines and psql meta-commands (\restrict): pg_dump qualifies
// every name with its schema, and the refusal names them.
TEST(SqlRegistryTest, PgDumpOutputIsRefusedNamingTheQualifiedNames) {
  auto db = testing::TestDb::Create();
  absl::StatusOr<Registry> docbot = LoadEmbeddedRegistry();
  ASSERT_TRUE(docbot.ok());
  Engine engine(db->pool(), *docbot);
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  const testing::CommandResult dump = testing::RunCommand(
      absl::StrCat("/usr/lib/postgresql/15/bin/pg_dump --schema-only --no-owner --schema=public '",
                   db->url(), "' 2>&1"));
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  std::string kept;
  for (absl::string_view line : absl::StrSplit(dump.output, '\n')) {
    if (absl::StartsWith(line, "SET ") || absl::StrContains(line, "set_config(") ||
        absl::StartsWith(line, "\\")) {
      continue;
    }
    absl::StrAppend(&kept, line, "\n");
  }
  absl::StatusOr<Registry> r = LoadRegistry({{"dump.sql", kept}}, "dump");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("is qualified with a schema"));
  EXPECT_THAT(message, HasSubstr("\"public.users\""));
}

}  // namespace
}  // namespace schemad
