// BuildPlan: hand-built desired and actual schemas, diffed, planned; exact
// DDL, order, groups and hazards out. Definitions are SQL text as the
// catalog prints them.
#include "schemad/plan/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/diff/diff.h"
#include "schemad/model/model.h"

namespace schemad {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Ne;
using ::testing::Not;

struct Planned {
  std::vector<Difference> diffs;
  Plan plan;
};

Planned PlanFor(Schema desired, Schema actual, std::set<std::string> tables_with_rows = {}) {
  SortSchema(desired);
  SortSchema(actual);
  Planned out;
  out.diffs = DiffSchemas(desired, actual);
  out.plan = BuildPlan(desired, actual, out.diffs,
                       PlanOptions{.tables_with_rows = std::move(tables_with_rows)});
  return out;
}

std::vector<std::string> Sqls(const Plan& plan) {
  std::vector<std::string> out;
  for (const PlanStep& s : plan.steps) out.push_back(s.sql);
  return out;
}

std::vector<std::string> Kinds(const PlanStep& step) {
  std::vector<std::string> out;
  for (const Hazard& h : step.hazards) out.push_back(HazardName(h.kind));
  return out;
}

// Every field of a step, for comparing whole plans.
std::string Show(const PlanStep& s) {
  std::vector<std::string> hazards;
  for (const Hazard& h : s.hazards) {
    hazards.push_back(absl::StrCat(HazardName(h.kind), ":", h.message));
  }
  return absl::StrCat(s.sql, " | hazards=[", absl::StrJoin(hazards, "; "), "] group=", s.group,
                      " own_transaction=", s.own_transaction, " resolves=[",
                      absl::StrJoin(s.resolves, ","), "]");
}

std::vector<std::string> ShowPlan(const Plan& plan) {
  std::vector<std::string> out;
  for (const PlanStep& s : plan.steps) out.push_back(Show(s));
  return out;
}

// The step whose SQL is exactly `sql`; fails the test if there is none.
const PlanStep& Step(const Plan& plan, const std::string& sql) {
  for (const PlanStep& s : plan.steps) {
    if (s.sql == sql) return s;
  }
  ADD_FAILURE() << "no step " << sql << "\nplan:\n" << absl::StrJoin(Sqls(plan), "\n");
  static const PlanStep kNone;
  return kNone;
}

// Checks that every difference is resolved by exactly one step.
void ExpectResolvesEachDifferenceOnce(const Planned& p) {
  std::map<int, int> seen;
  for (const PlanStep& s : p.plan.steps) {
    for (int i : s.resolves) ++seen[i];
  }
  for (int i = 0; i < static_cast<int>(p.diffs.size()); ++i) {
    EXPECT_EQ(seen[i], 1) << "difference " << i << " (" << p.diffs[i].Key() << ") is resolved by "
                          << seen[i] << " steps";
  }
  for (const auto& [i, count] : seen) {
    EXPECT_TRUE(i >= 0 && i < static_cast<int>(p.diffs.size())) << "resolves " << i;
  }
}

// Replays the plan's table and foreign-key drops against `actual` and
// returns every DROP TABLE that PostgreSQL would refuse because a table not
// (yet) dropped still references it through a foreign key.
std::vector<std::string> BlockedTableDrops(const Schema& actual, const Plan& plan) {
  struct Fk {
    std::string table, name, ref_table;
  };
  std::vector<Fk> fks;
  std::set<std::string> live;
  for (const Table& t : actual.tables) {
    live.insert(t.name);
    for (const Constraint& c : t.constraints) {
      if (c.kind == ConstraintKind::kForeignKey) fks.push_back({t.name, c.name, c.ref_table});
    }
  }
  std::vector<std::string> problems;
  for (const PlanStep& s : plan.steps) {
    absl::string_view sql = s.sql;
    if (absl::ConsumePrefix(&sql, "DROP TABLE ")) {
      const bool cascade = absl::ConsumeSuffix(&sql, " CASCADE");
      std::set<std::string> dropped;
      for (absl::string_view name : absl::StrSplit(sql, ", ")) {
        absl::ConsumePrefix(&name, "public.");
        dropped.insert(std::string(name));
      }
      for (const Fk& fk : fks) {
        if (!cascade && dropped.count(fk.ref_table) && !dropped.count(fk.table) &&
            live.count(fk.table)) {
          problems.push_back(
              absl::StrCat(s.sql, ": ", fk.table, ".", fk.name, " references ", fk.ref_table));
        }
      }
      for (const std::string& t : dropped) live.erase(t);
      fks.erase(std::remove_if(fks.begin(), fks.end(),
                               [&](const Fk& fk) { return dropped.count(fk.table) > 0; }),
                fks.end());
      continue;
    }
    for (auto it = fks.begin(); it != fks.end(); ++it) {
      if (s.sql == absl::StrCat("ALTER TABLE public.", it->table, " DROP CONSTRAINT ", it->name)) {
        fks.erase(it);
        break;
      }
    }
  }
  return problems;
}

// --- Model builders ----------------------------------------------------------------

Column Id() { return Column{.name = "id", .type = "bigint", .not_null = true}; }

Constraint PrimaryKey(const std::string& table) {
  return Constraint{.name = absl::StrCat(table, "_pkey"),
                    .kind = ConstraintKind::kPrimaryKey,
                    .columns = {"id"},
                    .definition = "PRIMARY KEY (id)"};
}

Constraint ForeignKey(const std::string& table, const std::string& column,
                      const std::string& ref_table) {
  return Constraint{
      .name = absl::StrCat(table, "_", column, "_fkey"),
      .kind = ConstraintKind::kForeignKey,
      .columns = {column},
      .definition = absl::StrCat("FOREIGN KEY (", column, ") REFERENCES ", ref_table, "(id)"),
      .ref_table = ref_table,
      .ref_columns = {"id"}};
}

Constraint Check(const std::string& name, const std::string& column, const std::string& expr) {
  return Constraint{.name = name,
                    .kind = ConstraintKind::kCheck,
                    .columns = {column},
                    .definition = absl::StrCat("CHECK ((", expr, "))"),
                    .check_expr = absl::StrCat("(", expr, ")")};
}

Index BtreeIndex(const std::string& name, const std::string& column) {
  return Index{
      .name = name, .definition = absl::StrCat("btree (", column, ")"), .columns = {column}};
}

Table TeamsTable() {
  Table t{.name = "teams"};
  t.columns = {Id(), Column{.name = "title", .type = "text"}};
  t.constraints = {PrimaryKey("teams")};
  return t;
}

// An existing table with columns of the common kinds.
Table ExistingUsers() {
  Table t{.name = "users"};
  t.columns = {Id(), Column{.name = "email", .type = "text", .not_null = true},
               Column{.name = "name", .type = "character varying(200)"},
               Column{.name = "score", .type = "integer", .default_expr = "0"}};
  t.constraints = {PrimaryKey("users")};
  t.indexes = {BtreeIndex("users_email_idx", "email")};
  return t;
}

Schema WithTables(std::vector<Table> tables) {
  Schema s;
  s.tables = std::move(tables);
  return s;
}

// --- New tables ------------------------------------------------------------------------

TEST(PlanTest, CreatesTableWithInlineConstraintsThenIndexesThenForeignKeys) {
  Table users{.name = "users"};
  users.columns = {
      Column{.name = "id", .type = "bigint", .not_null = true, .identity = Identity::kAlways},
      Column{.name = "email", .type = "text", .not_null = true},
      Column{.name = "score", .type = "integer", .not_null = true, .default_expr = "0"},
      Column{.name = "team_id", .type = "bigint"}};
  users.constraints = {PrimaryKey("users"), ForeignKey("users", "team_id", "teams"),
                       Check("users_score_check", "score", "score >= 0"),
                       Constraint{.name = "users_email_key",
                                  .kind = ConstraintKind::kUnique,
                                  .columns = {"email"},
                                  .definition = "UNIQUE (email)"}};
  users.indexes = {BtreeIndex("users_team_id_idx", "team_id")};
  const Planned p =
      PlanFor(WithTables({TeamsTable(), users}), WithTables({TeamsTable()}), {"teams"});
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("CREATE TABLE public.users (\n"
                          "    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,\n"
                          "    email text NOT NULL,\n"
                          "    score integer DEFAULT 0 NOT NULL,\n"
                          "    team_id bigint,\n"
                          "    CONSTRAINT users_email_key UNIQUE (email),\n"
                          "    CONSTRAINT users_pkey PRIMARY KEY (id),\n"
                          "    CONSTRAINT users_score_check CHECK ((score >= 0))\n"
                          ")",
                          "CREATE INDEX users_team_id_idx ON public.users USING btree (team_id)",
                          "ALTER TABLE public.users ADD CONSTRAINT users_team_id_fkey "
                          "FOREIGN KEY (team_id) REFERENCES teams(id)"));
  // Nothing exists yet, so nothing is hazardous; not even the foreign key
  // into `teams`, which has rows (a new table has none).
  for (const PlanStep& s : p.plan.steps) {
    EXPECT_THAT(s.hazards, IsEmpty()) << s.sql;
    EXPECT_EQ(s.group, 0) << s.sql;
    EXPECT_FALSE(s.own_transaction) << s.sql;
  }
  ASSERT_EQ(p.diffs.size(), 1u);
  EXPECT_THAT(p.plan.steps[0].resolves, ElementsAre(0));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, AddsForeignKeysAfterAllNewTablesSoACycleWorks) {
  Table a{.name = "a"};
  a.columns = {Id(), Column{.name = "b_id", .type = "bigint"}};
  a.constraints = {PrimaryKey("a"), ForeignKey("a", "b_id", "b")};
  a.indexes = {BtreeIndex("a_b_id_idx", "b_id")};
  Table b{.name = "b"};
  b.columns = {Id(), Column{.name = "a_id", .type = "bigint"}};
  b.constraints = {PrimaryKey("b"), ForeignKey("b", "a_id", "a")};
  const Planned p = PlanFor(WithTables({b, a}), WithTables({}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("CREATE TABLE public.a (\n"
                          "    id bigint NOT NULL,\n"
                          "    b_id bigint,\n"
                          "    CONSTRAINT a_pkey PRIMARY KEY (id)\n"
                          ")",
                          "CREATE TABLE public.b (\n"
                          "    id bigint NOT NULL,\n"
                          "    a_id bigint,\n"
                          "    CONSTRAINT b_pkey PRIMARY KEY (id)\n"
                          ")",
                          "CREATE INDEX a_b_id_idx ON public.a USING btree (b_id)",
                          "ALTER TABLE public.a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) "
                          "REFERENCES b(id)",
                          "ALTER TABLE public.b ADD CONSTRAINT b_a_id_fkey FOREIGN KEY (a_id) "
                          "REFERENCES a(id)"));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, CreatesMissingSchemaFirst) {
  Schema want = WithTables({TeamsTable()});
  want.name = "app";
  Schema have;
  have.name = "app";
  have.exists = false;
  const Planned p = PlanFor(want, have);
  ASSERT_EQ(p.plan.steps.size(), 2u);
  EXPECT_EQ(p.plan.steps[0].sql, "CREATE SCHEMA IF NOT EXISTS app");
  EXPECT_TRUE(absl::StartsWith(p.plan.steps[1].sql, "CREATE TABLE app.teams ("));
  ExpectResolvesEachDifferenceOnce(p);
}

// --- Dropping tables ---------------------------------------------------------------------

TEST(PlanTest, DropsExtraTablesReferencingFirst) {
  // c -> b -> a, and d on its own.
  Table a{.name = "a"};
  a.columns = {Id()};
  a.constraints = {PrimaryKey("a")};
  Table b{.name = "b"};
  b.columns = {Id(), Column{.name = "a_id", .type = "bigint"}};
  b.constraints = {PrimaryKey("b"), ForeignKey("b", "a_id", "a")};
  Table c{.name = "c"};
  c.columns = {Id(), Column{.name = "b_id", .type = "bigint"}};
  c.constraints = {PrimaryKey("c"), ForeignKey("c", "b_id", "b")};
  Table d{.name = "d"};
  d.columns = {Id()};
  Schema have = WithTables({a, b, c, d});
  const Planned p = PlanFor(WithTables({}), have);
  EXPECT_THAT(Sqls(p.plan), ElementsAre("DROP TABLE public.c", "DROP TABLE public.b",
                                        "DROP TABLE public.a", "DROP TABLE public.d"));
  for (const PlanStep& s : p.plan.steps) {
    EXPECT_THAT(Kinds(s), ElementsAre("DATA_LOSS")) << s.sql;
    EXPECT_THAT(s.hazards[0].message, Ne("")) << s.sql;
  }
  SortSchema(have);
  EXPECT_THAT(BlockedTableDrops(have, p.plan), IsEmpty());
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, DropsExtraTablesInAForeignKeyCycle) {
  Table a{.name = "a"};
  a.columns = {Id(), Column{.name = "b_id", .type = "bigint"}};
  a.constraints = {PrimaryKey("a"), ForeignKey("a", "b_id", "b")};
  Table b{.name = "b"};
  b.columns = {Id(), Column{.name = "a_id", .type = "bigint"}};
  b.constraints = {PrimaryKey("b"), ForeignKey("b", "a_id", "a")};
  Schema have = WithTables({a, b});
  const Planned p = PlanFor(WithTables({}), have);
  // PostgreSQL refuses "DROP TABLE b" while a.a_b_id_fkey still references
  // it: a foreign key closing the cycle must be dropped first (or the
  // tables dropped in one statement).
  SortSchema(have);
  EXPECT_THAT(BlockedTableDrops(have, p.plan), IsEmpty()) << absl::StrJoin(Sqls(p.plan), "\n");
  ExpectResolvesEachDifferenceOnce(p);
}

// --- Enums -----------------------------------------------------------------------------

TEST(PlanTest, CreatesEnumBeforeTheTablesUsingIt) {
  Schema want;
  want.enums = {EnumType{.name = "mood", .labels = {"happy", "it's ok"}}};
  Table person{.name = "person"};
  person.columns = {
      Id(),
      Column{.name = "mood", .type = "mood", .not_null = true, .default_expr = "'happy'::mood"}};
  want.tables = {person};
  const Planned p = PlanFor(want, Schema{});
  EXPECT_THAT(Sqls(p.plan), ElementsAre("CREATE TYPE public.mood AS ENUM ('happy', 'it''s ok')",
                                        "CREATE TABLE public.person (\n"
                                        "    id bigint NOT NULL,\n"
                                        "    mood mood DEFAULT 'happy'::mood NOT NULL\n"
                                        ")"));
  ExpectResolvesEachDifferenceOnce(p);
}

Schema WithEnum(const std::string& name, std::vector<std::string> labels) {
  Schema s;
  s.enums = {EnumType{.name = name, .labels = std::move(labels)}};
  return s;
}

TEST(PlanTest, AddsEnumLabelsInPlaceEachInItsOwnTransaction) {
  const Planned p = PlanFor(WithEnum("priority", {"none", "low", "medium", "high", "critical"}),
                            WithEnum("priority", {"low", "high"}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TYPE public.priority ADD VALUE 'none' BEFORE 'low'",
                          "ALTER TYPE public.priority ADD VALUE 'medium' AFTER 'low'",
                          "ALTER TYPE public.priority ADD VALUE 'critical' AFTER 'high'"));
  ASSERT_EQ(p.diffs.size(), 3u);
  for (size_t i = 0; i < p.plan.steps.size(); ++i) {
    const PlanStep& s = p.plan.steps[i];
    EXPECT_TRUE(s.own_transaction) << s.sql;
    EXPECT_THAT(s.hazards, IsEmpty()) << s.sql;
    EXPECT_EQ(s.group, 0) << s.sql;
    EXPECT_THAT(s.resolves, ElementsAre(static_cast<int>(i))) << s.sql;
  }
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, AddsLabelsAfterEarlierAddedLabels) {
  const Planned p = PlanFor(WithEnum("priority", {"low", "mid1", "mid2", "high"}),
                            WithEnum("priority", {"low", "high"}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TYPE public.priority ADD VALUE 'mid1' AFTER 'low'",
                          "ALTER TYPE public.priority ADD VALUE 'mid2' AFTER 'mid1'"));
}

// `status` loses "deleted"; `accounts.state` uses it, with a default and an
// index.
std::pair<Schema, Schema> StatusLosesALabel() {
  Table accounts{.name = "accounts"};
  accounts.columns = {
      Id(),
      Column{
          .name = "state", .type = "status", .not_null = true, .default_expr = "'active'::status"}};
  accounts.constraints = {PrimaryKey("accounts")};
  accounts.indexes = {BtreeIndex("accounts_state_idx", "state")};
  Schema want = WithEnum("status", {"active", "archived"});
  want.tables = {accounts};
  Schema have = WithEnum("status", {"active", "deleted", "archived"});
  have.tables = {accounts};
  return {want, have};
}

TEST(PlanTest, RecreatesEnumWhenALabelIsRemoved) {
  auto [want, have] = StatusLosesALabel();
  const Planned p = PlanFor(want, have, {"accounts"});
  EXPECT_THAT(
      Sqls(p.plan),
      ElementsAre("ALTER TYPE public.status RENAME TO schemad_old_status",
                  "CREATE TYPE public.status AS ENUM ('active', 'archived')",
                  "DROP INDEX public.accounts_state_idx",
                  "ALTER TABLE public.accounts ALTER COLUMN state DROP DEFAULT",
                  "ALTER TABLE public.accounts ALTER COLUMN state TYPE status USING "
                  "state::text::status",
                  "ALTER TABLE public.accounts ALTER COLUMN state SET DEFAULT 'active'::status",
                  "CREATE INDEX accounts_state_idx ON public.accounts USING btree (state)",
                  "DROP TYPE public.schemad_old_status"));
  const int group = p.plan.steps[0].group;
  EXPECT_NE(group, 0);
  for (const PlanStep& s : p.plan.steps) EXPECT_EQ(s.group, group) << s.sql;
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DATA_LOSS", "TABLE_REWRITE"));
  for (const Hazard& h : p.plan.steps[0].hazards) EXPECT_THAT(h.message, Ne(""));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, RecreatesEnumWhenLabelsAreReorderedWithoutDataLoss) {
  const Planned p = PlanFor(WithEnum("priority", {"low", "medium", "high"}),
                            WithEnum("priority", {"low", "high", "medium"}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TYPE public.priority RENAME TO schemad_old_priority",
                          "CREATE TYPE public.priority AS ENUM ('low', 'medium', 'high')",
                          "DROP TYPE public.schemad_old_priority"));
  const int group = p.plan.steps[0].group;
  EXPECT_NE(group, 0);
  for (const PlanStep& s : p.plan.steps) EXPECT_EQ(s.group, group) << s.sql;
  // No column uses it: nothing is rewritten and nothing is lost.
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DROPS_OBJECT"));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, RecreatesEnumWhenLabelsAreAddedAndRemovedTogether) {
  const Planned p =
      PlanFor(WithEnum("priority", {"low", "urgent"}), WithEnum("priority", {"low", "high"}));
  EXPECT_THAT(Sqls(p.plan), ElementsAre("ALTER TYPE public.priority RENAME TO schemad_old_priority",
                                        "CREATE TYPE public.priority AS ENUM ('low', 'urgent')",
                                        "DROP TYPE public.schemad_old_priority"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DATA_LOSS", "DROPS_OBJECT"));
  // The missing and the extra label both resolve with the group.
  ASSERT_EQ(p.diffs.size(), 2u);
  EXPECT_THAT(p.plan.steps[0].resolves, ElementsAre(0, 1));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, DoesNotRecastColumnsThatThePlanDrops) {
  // users.old_state and the whole old_log table go away in the same plan; a
  // row of theirs holding 'deleted' must not make the recast fail (nor should
  // they be rewritten just before being dropped).
  auto [want, have] = StatusLosesALabel();
  Table have_users{.name = "users"};
  have_users.columns = {Id(), Column{.name = "old_state", .type = "status"}};
  Table want_users{.name = "users"};
  want_users.columns = {Id()};
  Table old_log{.name = "old_log"};
  old_log.columns = {Id(), Column{.name = "state", .type = "status"}};
  want.tables.push_back(want_users);
  have.tables.push_back(have_users);
  have.tables.push_back(old_log);
  const Planned p = PlanFor(want, have);
  for (const PlanStep& s : p.plan.steps) {
    // The recast covers only columns the plan keeps (recreation runs before
    // the column and table drops).
    EXPECT_FALSE(absl::StartsWith(s.sql, "ALTER TABLE public.old_log ALTER COLUMN")) << s.sql;
    EXPECT_FALSE(absl::StartsWith(s.sql, "ALTER TABLE public.users ALTER COLUMN old_state"))
        << s.sql;
  }
  // The old type goes only after the columns still using it, and with them:
  // if their drops do not run, neither can DROP TYPE.
  const std::vector<std::string> sqls = Sqls(p.plan);
  auto pos = [&](const std::string& sql) {
    auto it = std::find(sqls.begin(), sqls.end(), sql);
    EXPECT_NE(it, sqls.end()) << "missing: " << sql << "\nplan:\n" << absl::StrJoin(sqls, "\n");
    return it - sqls.begin();
  };
  const auto drop_table = pos("DROP TABLE public.old_log");
  const auto drop_column = pos("ALTER TABLE public.users DROP COLUMN old_state");
  const auto drop_old_type = pos("DROP TYPE public.schemad_old_status");
  EXPECT_LT(drop_table, drop_old_type);
  EXPECT_LT(drop_column, drop_old_type);
  const int group = Step(p.plan, "ALTER TYPE public.status RENAME TO schemad_old_status").group;
  EXPECT_NE(group, 0);
  EXPECT_EQ(Step(p.plan, "DROP TABLE public.old_log").group, group);
  EXPECT_EQ(Step(p.plan, "ALTER TABLE public.users DROP COLUMN old_state").group, group);
  EXPECT_EQ(Step(p.plan, "DROP TYPE public.schemad_old_status").group, group);
  ExpectResolvesEachDifferenceOnce(p);
}

// --- Changed indexes and constraints ----------------------------------------------------

TEST(PlanTest, ReplacesChangedIndexWithDropAndCreateInOneGroup) {
  Table want = ExistingUsers();
  want.indexes[0].definition = "btree (lower(email))";
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(p.plan), ElementsAre("DROP INDEX public.users_email_idx",
                                        "CREATE INDEX users_email_idx ON public.users USING btree "
                                        "(lower(email))"));
  EXPECT_NE(p.plan.steps[0].group, 0);
  EXPECT_EQ(p.plan.steps[0].group, p.plan.steps[1].group);
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DROPS_OBJECT"));
  EXPECT_THAT(p.plan.steps[1].hazards, IsEmpty());  // the table is empty
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, ReplacesIndexThatBecomesUniqueOnTableWithRows) {
  Table want = ExistingUsers();
  want.indexes[0].unique = true;
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("DROP INDEX public.users_email_idx",
                          "CREATE UNIQUE INDEX users_email_idx ON public.users USING btree "
                          "(email)"));
  EXPECT_NE(p.plan.steps[0].group, 0);
  EXPECT_EQ(p.plan.steps[0].group, p.plan.steps[1].group);
  EXPECT_THAT(Kinds(p.plan.steps[1]), ElementsAre("LONG_LOCK", "VALIDATION"));
}

TEST(PlanTest, RebuildsInvalidIndex) {
  Table have = ExistingUsers();
  have.indexes[0].valid = false;
  const Planned p = PlanFor(WithTables({ExistingUsers()}), WithTables({have}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("DROP INDEX public.users_email_idx",
                          "CREATE INDEX users_email_idx ON public.users USING btree (email)"));
  EXPECT_NE(p.plan.steps[0].group, 0);
  EXPECT_EQ(p.plan.steps[0].group, p.plan.steps[1].group);
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DROPS_OBJECT"));
}

TEST(PlanTest, ReplacesChangedConstraintsWithDropAndAddPairs) {
  Table want = ExistingUsers();
  want.columns.push_back(Column{.name = "team_id", .type = "bigint"});
  want.constraints.push_back(Check("users_score_check", "score", "score >= 1"));
  Constraint fk = ForeignKey("users", "team_id", "teams");
  fk.definition += " ON DELETE CASCADE";
  fk.on_delete = ReferentialAction::kCascade;
  want.constraints.push_back(fk);
  Table have = ExistingUsers();
  have.columns.push_back(Column{.name = "team_id", .type = "bigint"});
  have.constraints.push_back(Check("users_score_check", "score", "score >= 0"));
  have.constraints.push_back(ForeignKey("users", "team_id", "teams"));
  const Planned p = PlanFor(WithTables({TeamsTable(), want}), WithTables({TeamsTable(), have}));
  // Foreign keys are dropped first and added last.
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.users DROP CONSTRAINT users_team_id_fkey",
                          "ALTER TABLE public.users DROP CONSTRAINT users_score_check",
                          "ALTER TABLE public.users ADD CONSTRAINT users_score_check "
                          "CHECK ((score >= 1))",
                          "ALTER TABLE public.users ADD CONSTRAINT users_team_id_fkey "
                          "FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE"));
  const std::vector<PlanStep>& s = p.plan.steps;
  EXPECT_NE(s[0].group, 0);
  EXPECT_NE(s[1].group, 0);
  EXPECT_NE(s[0].group, s[1].group);
  EXPECT_EQ(s[0].group, s[3].group);
  EXPECT_EQ(s[1].group, s[2].group);
  EXPECT_THAT(Kinds(s[0]), ElementsAre("DROPS_OBJECT"));
  EXPECT_THAT(Kinds(s[1]), ElementsAre("DROPS_OBJECT"));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, ValidatesNotValidConstraint) {
  Table want = ExistingUsers();
  want.constraints.push_back(Check("users_score_check", "score", "score >= 0"));
  Table have = ExistingUsers();
  have.constraints.push_back(Check("users_score_check", "score", "score >= 0"));
  have.constraints.back().validated = false;
  const Planned p = PlanFor(WithTables({want}), WithTables({have}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.users VALIDATE CONSTRAINT users_score_check"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("VALIDATION"));
}

// --- Drops ------------------------------------------------------------------------------

TEST(PlanTest, DropsExtraObjectsInPhaseOrderWithHazards) {
  Table have = ExistingUsers();
  have.columns.push_back(Column{.name = "legacy", .type = "text"});
  have.columns.push_back(Column{.name = "team_id", .type = "bigint"});
  have.constraints.push_back(Check("users_legacy_check", "legacy", "legacy <> ''::text"));
  have.constraints.push_back(ForeignKey("users", "team_id", "teams"));
  have.indexes.push_back(BtreeIndex("users_legacy_idx", "legacy"));
  Table want = ExistingUsers();
  want.columns.push_back(Column{.name = "team_id", .type = "bigint"});
  Schema actual = WithTables({TeamsTable(), have, Table{.name = "old_events"}});
  actual.enums = {EnumType{.name = "old_enum", .labels = {"a"}}};
  actual.extensions = {Extension{.name = "hstore", .schema = "public"}};
  actual.sequences = {Sequence{.name = "orphan_seq"}};
  const Planned p = PlanFor(WithTables({TeamsTable(), want}), actual);
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.users DROP CONSTRAINT users_team_id_fkey",
                          "ALTER TABLE public.users DROP CONSTRAINT users_legacy_check",
                          "DROP INDEX public.users_legacy_idx",
                          "ALTER TABLE public.users DROP COLUMN legacy",
                          "DROP TABLE public.old_events", "DROP TYPE public.old_enum",
                          "DROP EXTENSION hstore", "DROP SEQUENCE public.orphan_seq"));
  std::vector<std::vector<std::string>> kinds;
  for (const PlanStep& s : p.plan.steps) {
    kinds.push_back(Kinds(s));
    for (const Hazard& h : s.hazards) EXPECT_THAT(h.message, Ne("")) << s.sql;
    EXPECT_EQ(s.group, 0) << s.sql;
  }
  using K = std::vector<std::string>;
  EXPECT_THAT(kinds,
              ElementsAre(K{"DROPS_OBJECT"}, K{"DROPS_OBJECT"}, K{"DROPS_OBJECT"}, K{"DATA_LOSS"},
                          K{"DATA_LOSS"}, K{"DROPS_OBJECT"}, K{"DROPS_OBJECT"}, K{"DROPS_OBJECT"}));
  ExpectResolvesEachDifferenceOnce(p);
}

// --- Column changes ---------------------------------------------------------------------

TEST(PlanTest, NarrowingTypeChangeRewritesAndMayLoseData) {
  Table want = ExistingUsers();
  want.columns[2].type = "character varying(100)";  // from varchar(200)
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(p.plan), ElementsAre("ALTER TABLE public.users ALTER COLUMN name TYPE character "
                                        "varying(100) USING name::character varying(100)"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("TABLE_REWRITE", "DATA_LOSS"));
  for (const Hazard& h : p.plan.steps[0].hazards) EXPECT_THAT(h.message, Ne(""));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, WideningVarcharRewritesWithoutDataLoss) {
  Table want = ExistingUsers();
  Table have = ExistingUsers();
  want.columns[2].type = "character varying(100)";
  have.columns[2].type = "character varying(50)";
  const Planned p = PlanFor(WithTables({want}), WithTables({have}));
  EXPECT_THAT(Sqls(p.plan), ElementsAre("ALTER TABLE public.users ALTER COLUMN name TYPE character "
                                        "varying(100) USING name::character varying(100)"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("TABLE_REWRITE"));
}

TEST(PlanTest, WideningIntegerToBigintDropsAndRestoresTheDefault) {
  Table want = ExistingUsers();
  want.columns[3].type = "bigint";  // score integer DEFAULT 0
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.users ALTER COLUMN score DROP DEFAULT",
                          "ALTER TABLE public.users ALTER COLUMN score TYPE bigint USING "
                          "score::bigint",
                          "ALTER TABLE public.users ALTER COLUMN score SET DEFAULT 0"));
  EXPECT_THAT(Kinds(p.plan.steps[1]), ElementsAre("TABLE_REWRITE"));
  EXPECT_THAT(p.plan.steps[0].hazards, IsEmpty());
  EXPECT_THAT(p.plan.steps[2].hazards, IsEmpty());
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, BigintToIntegerMayLoseData) {
  Table want = ExistingUsers();
  Table have = ExistingUsers();
  want.columns[3] = Column{.name = "score", .type = "integer"};
  have.columns[3] = Column{.name = "score", .type = "bigint"};
  const Planned p = PlanFor(WithTables({want}), WithTables({have}));
  ASSERT_EQ(p.plan.steps.size(), 1u);
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("TABLE_REWRITE", "DATA_LOSS"));
}

TEST(PlanTest, SetNotNullIsAValidation) {
  Table want = ExistingUsers();
  want.columns[2].not_null = true;
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(p.plan), ElementsAre("ALTER TABLE public.users ALTER COLUMN name SET NOT NULL"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("VALIDATION"));
  EXPECT_THAT(p.plan.steps[0].hazards[0].message, Ne(""));
}

TEST(PlanTest, DropNotNullAndDefaultChangesCarryNoHazard) {
  Table want = ExistingUsers();
  want.columns[1].not_null = false;                                 // email
  want.columns[2].default_expr = "'anonymous'::character varying";  // name
  want.columns[3].default_expr = "";                                // score
  const Planned p = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.users ALTER COLUMN name SET DEFAULT "
                          "'anonymous'::character varying",
                          "ALTER TABLE public.users ALTER COLUMN score DROP DEFAULT",
                          "ALTER TABLE public.users ALTER COLUMN email DROP NOT NULL"));
  for (const PlanStep& s : p.plan.steps) EXPECT_THAT(s.hazards, IsEmpty()) << s.sql;
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, ChangesIdentityWithHazards) {
  Table want = ExistingUsers();
  want.columns[0].identity = Identity::kAlways;
  const Planned added = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(added.plan),
              ElementsAre("ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS "
                          "IDENTITY"));
  EXPECT_THAT(Kinds(added.plan.steps[0]), ElementsAre("VALIDATION"));

  Table have = ExistingUsers();
  have.columns[0].identity = Identity::kByDefault;
  const Planned switched = PlanFor(WithTables({want}), WithTables({have}));
  EXPECT_THAT(Sqls(switched.plan),
              ElementsAre("ALTER TABLE public.users ALTER COLUMN id SET GENERATED ALWAYS"));
  EXPECT_THAT(Kinds(switched.plan.steps[0]), ElementsAre("DROPS_OBJECT"));

  const Planned dropped = PlanFor(WithTables({ExistingUsers()}), WithTables({have}));
  EXPECT_THAT(Sqls(dropped.plan),
              ElementsAre("ALTER TABLE public.users ALTER COLUMN id DROP IDENTITY"));
  EXPECT_THAT(Kinds(dropped.plan.steps[0]), ElementsAre("DROPS_OBJECT"));
}

Table Items(const std::string& total_expression) {
  Table t{.name = "items"};
  t.columns = {Id(), Column{.name = "price", .type = "bigint"},
               Column{.name = "total", .type = "bigint", .generated = total_expression}};
  return t;
}

TEST(PlanTest, RebuildsColumnWhoseGeneratedExpressionChanges) {
  const Planned p =
      PlanFor(WithTables({Items("(price * 2)")}), WithTables({Items("price")}), {"items"});
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.items DROP COLUMN total",
                          "ALTER TABLE public.items ADD COLUMN total bigint GENERATED ALWAYS AS "
                          "((price * 2)) STORED"));
  EXPECT_NE(p.plan.steps[0].group, 0);
  EXPECT_EQ(p.plan.steps[0].group, p.plan.steps[1].group);
  // Generated values are recomputed: nothing is lost, but the table is
  // rewritten.
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("TABLE_REWRITE"));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, StopsGeneratingAColumn) {
  const Planned p = PlanFor(WithTables({Items("")}), WithTables({Items("(price * 2)")}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.items ALTER COLUMN total DROP EXPRESSION"));
  EXPECT_THAT(Kinds(p.plan.steps[0]), ElementsAre("DROPS_OBJECT"));
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, AddsGeneratedColumnAfterTypeChangesOfTheColumnsItReads) {
  // PostgreSQL refuses ALTER COLUMN price TYPE once a generated column reads
  // price ("cannot alter type of a column used by a generated column"), so
  // the type must change before the generated column is added.
  Table have{.name = "items"};
  have.columns = {Id(), Column{.name = "price", .type = "integer"}};
  const Planned p = PlanFor(WithTables({Items("(price * 2)")}), WithTables({have}));
  const std::vector<std::string> sqls = Sqls(p.plan);
  const auto type_change =
      std::find(sqls.begin(), sqls.end(),
                "ALTER TABLE public.items ALTER COLUMN price TYPE bigint USING price::bigint");
  const auto add = std::find(
      sqls.begin(), sqls.end(),
      "ALTER TABLE public.items ADD COLUMN total bigint GENERATED ALWAYS AS ((price * 2)) STORED");
  ASSERT_NE(type_change, sqls.end()) << absl::StrJoin(sqls, "\n");
  ASSERT_NE(add, sqls.end()) << absl::StrJoin(sqls, "\n");
  EXPECT_LT(type_change - sqls.begin(), add - sqls.begin()) << absl::StrJoin(sqls, "\n");
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, RebuildsGeneratedColumnAroundATypeChangeOfTheColumnItReads) {
  Table have = Items("price");
  have.columns[1].type = "integer";
  const Planned p = PlanFor(WithTables({Items("(price * 2)")}), WithTables({have}));
  EXPECT_THAT(Sqls(p.plan),
              ElementsAre("ALTER TABLE public.items DROP COLUMN total",
                          "ALTER TABLE public.items ALTER COLUMN price TYPE bigint USING "
                          "price::bigint",
                          "ALTER TABLE public.items ADD COLUMN total bigint GENERATED ALWAYS AS "
                          "((price * 2)) STORED"));
  ExpectResolvesEachDifferenceOnce(p);
}

// --- New indexes and columns on existing tables -------------------------------------------

TEST(PlanTest, NewIndexLocksATableWithRowsOnly) {
  Table want = ExistingUsers();
  want.indexes.push_back(BtreeIndex("users_name_idx", "name"));
  const std::string sql = "CREATE INDEX users_name_idx ON public.users USING btree (name)";
  const Planned with_rows = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(with_rows.plan), ElementsAre(sql));
  EXPECT_THAT(Kinds(with_rows.plan.steps[0]), ElementsAre("LONG_LOCK"));
  EXPECT_THAT(with_rows.plan.steps[0].hazards[0].message, Ne(""));

  const Planned empty = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"teams"});
  EXPECT_THAT(Sqls(empty.plan), ElementsAre(sql));
  EXPECT_THAT(empty.plan.steps[0].hazards, IsEmpty());
}

TEST(PlanTest, NewColumnWithVolatileDefaultRewritesATableWithRowsOnly) {
  Table want = ExistingUsers();
  want.columns.push_back(Column{.name = "token",
                                .type = "uuid",
                                .default_expr = "gen_random_uuid()",
                                .volatile_default = true});
  const std::string sql =
      "ALTER TABLE public.users ADD COLUMN token uuid DEFAULT gen_random_uuid()";
  const Planned with_rows = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(with_rows.plan), ElementsAre(sql));
  EXPECT_THAT(Kinds(with_rows.plan.steps[0]), ElementsAre("TABLE_REWRITE"));

  const Planned empty = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(Sqls(empty.plan), ElementsAre(sql));
  EXPECT_THAT(empty.plan.steps[0].hazards, IsEmpty());
}

TEST(PlanTest, NewNotNullColumnWithoutDefaultFailsOnATableWithRows) {
  Table want = ExistingUsers();
  want.columns.push_back(Column{.name = "region", .type = "text", .not_null = true});
  const std::string sql = "ALTER TABLE public.users ADD COLUMN region text NOT NULL";
  const Planned with_rows = PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(with_rows.plan), ElementsAre(sql));
  EXPECT_THAT(Kinds(with_rows.plan.steps[0]), ElementsAre("VALIDATION"));

  const Planned empty = PlanFor(WithTables({want}), WithTables({ExistingUsers()}));
  EXPECT_THAT(empty.plan.steps[0].hazards, IsEmpty());

  // A constant default fills existing rows without a rewrite.
  want.columns.back().default_expr = "'eu'::text";
  const Planned with_default =
      PlanFor(WithTables({want}), WithTables({ExistingUsers()}), {"users"});
  EXPECT_THAT(Sqls(with_default.plan),
              ElementsAre("ALTER TABLE public.users ADD COLUMN region text DEFAULT 'eu'::text "
                          "NOT NULL"));
  EXPECT_THAT(with_default.plan.steps[0].hazards, IsEmpty());
}

// --- Whole-plan properties ----------------------------------------------------------------

// A desired and an actual schema with something of nearly every kind to do.
std::pair<Schema, Schema> EverythingChanges() {
  Schema want;
  want.extensions = {Extension{.name = "pgcrypto"}};
  want.enums = {EnumType{.name = "mood", .labels = {"happy", "ok", "sad"}},
                EnumType{.name = "status", .labels = {"active", "archived"}},
                EnumType{.name = "color", .labels = {"red"}}};
  Table users{.name = "users"};
  users.columns = {
      Column{.name = "id", .type = "bigint", .not_null = true, .identity = Identity::kAlways},
      Column{.name = "email", .type = "character varying(320)", .not_null = true},
      Column{.name = "name", .type = "character varying(100)"},
      Column{.name = "age", .type = "bigint"},
      Column{.name = "nickname", .type = "text"},
      Column{.name = "created_at",
             .type = "timestamp with time zone",
             .not_null = true,
             .default_expr = "now()"},
      Column{
          .name = "state", .type = "status", .not_null = true, .default_expr = "'active'::status"},
      Column{.name = "token",
             .type = "uuid",
             .default_expr = "gen_random_uuid()",
             .volatile_default = true},
      Column{.name = "total", .type = "bigint", .generated = "(id * 2)"},
      Column{.name = "team_id", .type = "bigint"}};
  users.constraints = {PrimaryKey("users"), Check("users_age_check", "age", "age >= 0"),
                       Check("users_email_check", "email", "email <> ''::text"),
                       ForeignKey("users", "team_id", "teams")};
  users.indexes = {BtreeIndex("users_name_idx", "name"),
                   Index{.name = "users_email_idx",
                         .definition = "btree (lower((email)::text))",
                         .columns = {"email"}},
                   BtreeIndex("users_state_idx", "state"), BtreeIndex("users_total_idx", "total")};
  Table posts{.name = "posts"};
  posts.columns = {Id(), Column{.name = "author_id", .type = "bigint", .not_null = true},
                   Column{.name = "mood", .type = "mood"}};
  posts.constraints = {PrimaryKey("posts"), ForeignKey("posts", "author_id", "users")};
  posts.indexes = {BtreeIndex("posts_author_id_idx", "author_id")};
  want.tables = {users, TeamsTable(), posts};

  Schema have;
  have.extensions = {Extension{.name = "hstore", .schema = "public"}};
  have.enums = {EnumType{.name = "mood", .labels = {"happy", "sad"}},
                EnumType{.name = "status", .labels = {"active", "deleted", "archived"}},
                EnumType{.name = "unused_enum", .labels = {"x"}}};
  Table have_users{.name = "users"};
  have_users.columns = {
      Column{.name = "id", .type = "bigint", .not_null = true, .identity = Identity::kAlways},
      Column{.name = "email", .type = "text", .not_null = true},
      Column{.name = "name", .type = "character varying(200)"},
      Column{.name = "age", .type = "integer"},
      Column{.name = "nickname", .type = "text", .not_null = true},
      Column{.name = "created_at", .type = "timestamp with time zone"},
      Column{
          .name = "state", .type = "status", .not_null = true, .default_expr = "'active'::status"},
      Column{.name = "total", .type = "bigint"},
      Column{.name = "team_id", .type = "bigint"},
      Column{.name = "legacy", .type = "text"}};
  Constraint age_check = Check("users_age_check", "age", "age >= 0");
  age_check.validated = false;
  have_users.constraints = {PrimaryKey("users"), age_check,
                            Check("users_email_check", "email", "length(email) > 0"),
                            Check("users_legacy_check", "legacy", "legacy <> ''::text")};
  have_users.indexes = {
      BtreeIndex("users_email_idx", "email"), BtreeIndex("users_state_idx", "state"),
      BtreeIndex("users_total_idx", "total"), BtreeIndex("users_legacy_idx", "legacy")};
  Table old_a{.name = "old_a"};
  old_a.columns = {Id(), Column{.name = "b_id", .type = "bigint"}};
  old_a.constraints = {PrimaryKey("old_a"), ForeignKey("old_a", "b_id", "old_b")};
  Table old_b{.name = "old_b"};
  old_b.columns = {Id()};
  old_b.constraints = {PrimaryKey("old_b")};
  have.tables = {have_users, TeamsTable(), old_b, old_a};
  have.sequences = {Sequence{.name = "orphan_seq"}};
  return {want, have};
}

// Whether the step drops or changes something that exists. Steps that
// create or add something, or only drop or set a default or drop NOT NULL,
// lose nothing and lock briefly.
bool TouchesExistingObject(const PlanStep& s) {
  if (absl::StartsWith(s.sql, "CREATE ")) return false;
  for (const char* harmless : {" DROP DEFAULT", " SET DEFAULT ", " DROP NOT NULL", " ADD VALUE ",
                               " ADD COLUMN ", " ADD CONSTRAINT "}) {
    if (absl::StrContains(s.sql, harmless)) return false;
  }
  if (absl::StartsWith(s.sql, "DROP ")) return true;
  for (const char* change :
       {" DROP COLUMN ", " DROP CONSTRAINT ", " RENAME TO ", " TYPE ", " SET NOT NULL",
        " VALIDATE CONSTRAINT ", " DROP EXPRESSION", " IDENTITY", " SET GENERATED "}) {
    if (absl::StrContains(s.sql, change)) return true;
  }
  return false;
}

TEST(PlanTest, EveryDropOrChangeOfAnExistingObjectCarriesAHazard) {
  auto [want, have] = EverythingChanges();
  const Planned p = PlanFor(want, have, {"users", "teams"});
  // Hazards are accepted group-wise (a group runs whole or not at all), so
  // a grouped step is covered by a hazard on any step of its group: the
  // enum re-creation carries its hazards on the RENAME that starts it.
  std::set<int> hazardous_groups;
  for (const PlanStep& s : p.plan.steps) {
    if (s.group != 0 && !s.hazards.empty()) hazardous_groups.insert(s.group);
    for (const Hazard& h : s.hazards) EXPECT_THAT(h.message, Ne("")) << s.sql;
  }
  int touching = 0;
  for (const PlanStep& s : p.plan.steps) {
    if (!TouchesExistingObject(s)) continue;
    ++touching;
    if (s.group == 0) {
      EXPECT_THAT(s.hazards, Not(IsEmpty())) << s.sql;
    } else {
      EXPECT_TRUE(hazardous_groups.count(s.group)) << s.sql;
    }
  }
  EXPECT_GT(touching, 15) << absl::StrJoin(Sqls(p.plan), "\n");
}

TEST(PlanTest, EveryDifferenceIsResolvedByExactlyOneStep) {
  auto [want, have] = EverythingChanges();
  const Planned p = PlanFor(want, have, {"users"});
  ASSERT_GT(p.diffs.size(), 20u);
  ExpectResolvesEachDifferenceOnce(p);
}

TEST(PlanTest, IsDeterministic) {
  auto [want, have] = EverythingChanges();
  const Planned first = PlanFor(want, have, {"users", "teams"});
  const Planned second = PlanFor(want, have, {"users", "teams"});
  EXPECT_EQ(ShowPlan(first.plan), ShowPlan(second.plan));

  // The same schemas built in another order plan the same.
  for (Schema* s : {&want, &have}) {
    std::reverse(s->tables.begin(), s->tables.end());
    std::reverse(s->enums.begin(), s->enums.end());
    for (Table& t : s->tables) {
      std::reverse(t.constraints.begin(), t.constraints.end());
      std::reverse(t.indexes.begin(), t.indexes.end());
    }
  }
  const Planned reordered = PlanFor(want, have, {"teams", "users"});
  EXPECT_EQ(ShowPlan(reordered.plan), ShowPlan(first.plan));
}

TEST(PlanTest, PlansTheWholeScenarioInPhaseOrder) {
  auto [want, have] = EverythingChanges();
  const Planned p = PlanFor(want, have, {"users"});
  const std::vector<std::string> sqls = Sqls(p.plan);
  auto pos = [&](const std::string& sql) {
    auto it = std::find(sqls.begin(), sqls.end(), sql);
    EXPECT_NE(it, sqls.end()) << "missing: " << sql << "\nplan:\n" << absl::StrJoin(sqls, "\n");
    return it - sqls.begin();
  };
  const auto ext = pos("CREATE EXTENSION IF NOT EXISTS pgcrypto");
  const auto color = pos("CREATE TYPE public.color AS ENUM ('red')");
  const auto label = pos("ALTER TYPE public.mood ADD VALUE 'ok' AFTER 'happy'");
  const auto rename = pos("ALTER TYPE public.status RENAME TO schemad_old_status");
  const auto recast =
      pos("ALTER TABLE public.users ALTER COLUMN state TYPE status USING state::text::status");
  const auto drop_col = pos("ALTER TABLE public.users DROP COLUMN legacy");
  const auto drop_a = pos("DROP TABLE public.old_a");
  const auto drop_b = pos("DROP TABLE public.old_b");
  const auto posts =
      pos("CREATE TABLE public.posts (\n    id bigint NOT NULL,\n    author_id bigint NOT NULL,\n"
          "    mood mood,\n    CONSTRAINT posts_pkey PRIMARY KEY (id)\n)");
  const auto token =
      pos("ALTER TABLE public.users ADD COLUMN token uuid DEFAULT gen_random_uuid()");
  const auto set_not_null = pos("ALTER TABLE public.users ALTER COLUMN created_at SET NOT NULL");
  const auto validate = pos("ALTER TABLE public.users VALIDATE CONSTRAINT users_age_check");
  const auto name_idx = pos("CREATE INDEX users_name_idx ON public.users USING btree (name)");
  const auto posts_fk =
      pos("ALTER TABLE public.posts ADD CONSTRAINT posts_author_id_fkey FOREIGN KEY (author_id) "
          "REFERENCES users(id)");
  const auto drop_enum = pos("DROP TYPE public.unused_enum");
  const auto drop_ext = pos("DROP EXTENSION hstore");
  const auto drop_seq = pos("DROP SEQUENCE public.orphan_seq");
  EXPECT_LT(ext, color);
  EXPECT_LT(color, label);
  EXPECT_LT(label, rename);
  EXPECT_LT(rename, recast);
  EXPECT_LT(recast, drop_col);
  EXPECT_LT(drop_col, drop_a);
  EXPECT_LT(drop_a, drop_b);  // old_a references old_b
  EXPECT_LT(drop_b, posts);
  // New columns and column changes are independent here: only their order
  // against the neighbouring phases is fixed.
  EXPECT_LT(posts, token);
  EXPECT_LT(posts, set_not_null);
  EXPECT_LT(token, validate);
  EXPECT_LT(set_not_null, validate);
  EXPECT_LT(validate, name_idx);
  EXPECT_LT(name_idx, posts_fk);
  EXPECT_LT(posts_fk, drop_enum);
  EXPECT_LT(drop_enum, drop_ext);
  EXPECT_LT(drop_ext, drop_seq);
  EXPECT_TRUE(p.plan.steps[label].own_transaction);

  // users.total becomes generated: dropped and re-added (losing its values)
  // with its index, in one group.
  const PlanStep& drop_total = Step(p.plan, "ALTER TABLE public.users DROP COLUMN total");
  EXPECT_THAT(Kinds(drop_total), ElementsAre("DATA_LOSS", "TABLE_REWRITE"));
  EXPECT_NE(drop_total.group, 0);
  EXPECT_EQ(Step(p.plan,
                 "ALTER TABLE public.users ADD COLUMN total bigint GENERATED ALWAYS AS "
                 "((id * 2)) STORED")
                .group,
            drop_total.group);
  EXPECT_EQ(Step(p.plan, "CREATE INDEX users_total_idx ON public.users USING btree (total)").group,
            drop_total.group);
  SortSchema(have);
  EXPECT_THAT(BlockedTableDrops(have, p.plan), IsEmpty());
}

// --- Hazard names ---------------------------------------------------------------------------

// The plan's order is a topological sort of what steps create and use,
// ties broken by stage: without an edge against the stages it is the
// stages' stable order; an edge moves a step after what it needs.
TEST(PlanTest, OrderStepsSortsTopologicallyWithStagesAsTieBreak) {
  const std::vector<std::pair<int, int>> keys = {{2, 0}, {1, 0}, {1, 0}, {0, 5}, {3, 0}};
  EXPECT_EQ(OrderSteps(keys, {}), (std::vector<int>{3, 1, 2, 0, 4}));
  // Edges that agree with the keys change nothing.
  EXPECT_EQ(OrderSteps(keys, {{3, 1}, {1, 0}, {2, 4}}), (std::vector<int>{3, 1, 2, 0, 4}));
  // Step 3 must follow step 4 (say, a new kind whose object step 4
  // creates): it moves after it, and the rest keep their order.
  EXPECT_EQ(OrderSteps(keys, {{4, 3}}), (std::vector<int>{1, 2, 0, 4, 3}));
  // A cycle loses no step.
  std::vector<int> cycle = OrderSteps(keys, {{0, 1}, {1, 0}});
  std::sort(cycle.begin(), cycle.end());
  EXPECT_EQ(cycle, (std::vector<int>{0, 1, 2, 3, 4}));
}

// New tables and what hangs off them: every step on a table (or
// referencing it) follows its CREATE TABLE.
TEST(PlanTest, StepsOnANewTableFollowItsCreation) {
  Table users = ExistingUsers();
  users.columns.push_back(Column{.name = "team_id", .type = "bigint"});
  users.constraints.push_back(ForeignKey("users", "team_id", "teams"));
  users.indexes.push_back(BtreeIndex("users_team_idx", "team_id"));
  const Planned p = PlanFor(WithTables({TeamsTable(), users}), Schema{});
  std::map<std::string, size_t> created;
  for (size_t i = 0; i < p.plan.steps.size(); ++i) {
    for (const char* table : {"teams", "users"}) {
      if (absl::StartsWith(p.plan.steps[i].sql, absl::StrCat("CREATE TABLE public.", table, " "))) {
        created[table] = i;
      }
    }
  }
  ASSERT_EQ(created.size(), 2u) << absl::StrJoin(Sqls(p.plan), "\n");
  int checked = 0;
  for (size_t i = 0; i < p.plan.steps.size(); ++i) {
    const std::string& sql = p.plan.steps[i].sql;
    if (absl::StrContains(sql, "users_team_idx") || absl::StrContains(sql, "users_email_idx")) {
      EXPECT_GT(i, created["users"]) << sql;
      ++checked;
    }
    if (absl::StrContains(sql, "REFERENCES teams")) {
      EXPECT_GT(i, created["teams"]) << sql;
      EXPECT_GT(i, created["users"]) << sql;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3) << absl::StrJoin(Sqls(p.plan), "\n");
}

TEST(PlanTest, HazardNamesRoundTrip) {
  for (HazardKind kind :
       {HazardKind::kDataLoss, HazardKind::kDropsObject, HazardKind::kTableRewrite,
        HazardKind::kLongLock, HazardKind::kValidation}) {
    HazardKind parsed =
        kind == HazardKind::kDataLoss ? HazardKind::kValidation : HazardKind::kDataLoss;
    ASSERT_TRUE(ParseHazardKind(HazardName(kind), &parsed)) << HazardName(kind);
    EXPECT_EQ(parsed, kind);
  }
  EXPECT_STREQ(HazardName(HazardKind::kDataLoss), "DATA_LOSS");
  EXPECT_STREQ(HazardName(HazardKind::kDropsObject), "DROPS_OBJECT");
  EXPECT_STREQ(HazardName(HazardKind::kTableRewrite), "TABLE_REWRITE");
  EXPECT_STREQ(HazardName(HazardKind::kLongLock), "LONG_LOCK");
  EXPECT_STREQ(HazardName(HazardKind::kValidation), "VALIDATION");
}

TEST(PlanTest, ParsesHazardKindInEverySpelling) {
  HazardKind kind = HazardKind::kValidation;
  ASSERT_TRUE(ParseHazardKind("DATA_LOSS", &kind));
  EXPECT_EQ(kind, HazardKind::kDataLoss);
  kind = HazardKind::kValidation;
  ASSERT_TRUE(ParseHazardKind("hazard_kind_data_loss", &kind));
  EXPECT_EQ(kind, HazardKind::kDataLoss);
  ASSERT_TRUE(ParseHazardKind(" LONG_LOCK ", &kind));
  EXPECT_EQ(kind, HazardKind::kLongLock);
  ASSERT_TRUE(ParseHazardKind("HAZARD_KIND_TABLE_REWRITE", &kind));
  EXPECT_EQ(kind, HazardKind::kTableRewrite);
}

TEST(PlanTest, RejectsUnknownHazardKind) {
  HazardKind kind = HazardKind::kLongLock;
  EXPECT_FALSE(ParseHazardKind("BOGUS", &kind));
  EXPECT_FALSE(ParseHazardKind("", &kind));
  EXPECT_FALSE(ParseHazardKind("HAZARD_KIND_", &kind));
  EXPECT_FALSE(ParseHazardKind("HAZARD_KIND_UNSPECIFIED", &kind));
  EXPECT_EQ(kind, HazardKind::kLongLock);  // untouched
}

}  // namespace
}  // namespace schemad
