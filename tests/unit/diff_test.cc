// DiffSchemas: hand-built model values on both sides, exact differences
// out. Definitions are SQL text as the catalog prints them
// (pg_get_constraintdef, pg_get_indexdef after "USING ").
#include "schemad/diff/diff.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/model/model.h"

namespace schemad {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// One line per difference with every field the planner reads.
std::string Show(const Difference& d) {
  return absl::StrCat(
      ObjectKindName(d.kind), " ", d.name, " ", ChangeName(d.change),
      d.attribute == Attribute::kNone ? "" : absl::StrCat(" ", AttributeName(d.attribute)),
      " expected=[", d.expected, "] actual=[", d.actual, "] table=[", d.table, "] object=[",
      d.object, "]");
}

std::vector<std::string> Diff(Schema desired, Schema actual) {
  SortSchema(desired);
  SortSchema(actual);
  std::vector<std::string> out;
  for (const Difference& d : DiffSchemas(desired, actual)) out.push_back(Show(d));
  return out;
}

Schema WithTables(std::vector<Table> tables) {
  Schema s;
  s.tables = std::move(tables);
  return s;
}

Table UsersTable() {
  Table t{.name = "users"};
  t.columns = {
      Column{.name = "id", .type = "bigint", .not_null = true, .identity = Identity::kAlways},
      Column{.name = "email", .type = "character varying(320)", .not_null = true},
      Column{.name = "created_at",
             .type = "timestamp with time zone",
             .not_null = true,
             .default_expr = "now()"},
  };
  t.constraints = {
      Constraint{.name = "users_pkey",
                 .kind = ConstraintKind::kPrimaryKey,
                 .columns = {"id"},
                 .definition = "PRIMARY KEY (id)"},
  };
  t.indexes = {
      Index{.name = "users_email_idx", .definition = "btree (email)", .columns = {"email"}},
  };
  return t;
}

// --- Equal schemas ---------------------------------------------------------------

TEST(DiffTest, ReportsNothingForEqualSchemas) {
  Schema s = WithTables({UsersTable()});
  s.enums = {EnumType{.name = "mood", .labels = {"happy", "sad"}}};
  s.extensions = {Extension{.name = "pgcrypto"}};
  EXPECT_THAT(Diff(s, s), IsEmpty());
}

TEST(DiffTest, IgnoresColumnOrder) {
  Table want = UsersTable();
  Table have = UsersTable();
  std::swap(have.columns[0], have.columns[2]);
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})), IsEmpty());
}

// --- Schema --------------------------------------------------------------------------

TEST(DiffTest, ReportsMissingSchemaFirst) {
  Schema want = WithTables({Table{.name = "t"}});
  want.name = "app";
  Schema have;
  have.name = "app";
  have.exists = false;
  EXPECT_THAT(Diff(want, have),
              ElementsAre("schema app MISSING expected=[app] actual=[] table=[] object=[]",
                          "table t MISSING expected=[t] actual=[] table=[t] object=[]"));
}

// --- Tables ----------------------------------------------------------------------------

TEST(DiffTest, ReportsMissingTable) {
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({})),
              ElementsAre("table users MISSING expected=[users] actual=[] table=[users] "
                          "object=[]"));
}

TEST(DiffTest, ReportsExtraTable) {
  EXPECT_THAT(Diff(WithTables({}), WithTables({UsersTable()})),
              ElementsAre("table users EXTRA expected=[] actual=[users] table=[users] object=[]"));
}

// --- Columns ---------------------------------------------------------------------------

TEST(DiffTest, ReportsMissingColumnDescribedAsDdl) {
  Table want = UsersTable();
  want.columns.push_back(Column{
      .name = "token", .type = "uuid", .not_null = true, .default_expr = "gen_random_uuid()"});
  EXPECT_THAT(Diff(WithTables({want}), WithTables({UsersTable()})),
              ElementsAre("column users.token MISSING expected=[uuid NOT NULL DEFAULT "
                          "gen_random_uuid()] actual=[] table=[users] object=[token]"));
}

TEST(DiffTest, ReportsExtraColumn) {
  Table have = UsersTable();
  have.columns.push_back(Column{.name = "legacy", .type = "text"});
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("column users.legacy EXTRA expected=[] actual=[text] table=[users] "
                          "object=[legacy]"));
}

TEST(DiffTest, ReportsColumnTypeChange) {
  Table have = UsersTable();
  have.columns[1].type = "text";
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("column users.email CHANGED type expected=[character varying(320)] "
                          "actual=[text] table=[users] object=[email]"));
}

TEST(DiffTest, ReportsColumnNullabilityChangeBothWays) {
  Table have = UsersTable();
  have.columns[1].not_null = false;  // email: wanted NOT NULL
  Table want = UsersTable();
  want.columns[2].not_null = false;  // created_at: wanted NULL
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("column users.email CHANGED nullable expected=[NOT NULL] actual=[NULL] "
                          "table=[users] object=[email]",
                          "column users.created_at CHANGED nullable expected=[NULL] "
                          "actual=[NOT NULL] table=[users] object=[created_at]"));
}

TEST(DiffTest, ReportsColumnDefaultChange) {
  Table have = UsersTable();
  have.columns[2].default_expr = "";
  have.columns[1].default_expr = "''::character varying";
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("column users.email CHANGED default expected=[none] "
                          "actual=[''::character varying] table=[users] object=[email]",
                          "column users.created_at CHANGED default expected=[now()] "
                          "actual=[none] table=[users] object=[created_at]"));
}

TEST(DiffTest, ReportsColumnIdentityChange) {
  Table have = UsersTable();
  have.columns[0].identity = Identity::kByDefault;
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("column users.id CHANGED identity expected=[GENERATED ALWAYS AS "
                          "IDENTITY] actual=[GENERATED BY DEFAULT AS IDENTITY] table=[users] "
                          "object=[id]"));
  have.columns[0].identity = Identity::kNone;
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("column users.id CHANGED identity expected=[GENERATED ALWAYS AS "
                          "IDENTITY] actual=[none] table=[users] object=[id]"));
}

TEST(DiffTest, ReportsGeneratedExpressionChangeAndNotADefaultChange) {
  Table want{.name = "items"};
  want.columns = {
      Column{.name = "price", .type = "numeric"}, Column{.name = "qty", .type = "integer"},
      Column{.name = "total", .type = "numeric", .generated = "(price * (qty)::numeric)"}};
  Table have = want;
  have.columns[2].generated = "price";
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("column items.total CHANGED generated expected=[(price * "
                          "(qty)::numeric)] actual=[price] table=[items] object=[total]"));

  // A plain column that should be generated.
  have.columns[2].generated = "";
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("column items.total CHANGED generated expected=[(price * "
                          "(qty)::numeric)] actual=[none] table=[items] object=[total]"));
}

TEST(DiffTest, ReportsEveryChangedAttributeOfOneColumn) {
  Table have = UsersTable();
  have.columns[2] = Column{.name = "created_at", .type = "timestamp without time zone"};
  EXPECT_THAT(
      Diff(WithTables({UsersTable()}), WithTables({have})),
      ElementsAre("column users.created_at CHANGED type expected=[timestamp with time zone] "
                  "actual=[timestamp without time zone] table=[users] object=[created_at]",
                  "column users.created_at CHANGED nullable expected=[NOT NULL] actual=[NULL] "
                  "table=[users] object=[created_at]",
                  "column users.created_at CHANGED default expected=[now()] actual=[none] "
                  "table=[users] object=[created_at]"));
}

// --- Constraints -----------------------------------------------------------------------

Constraint CheckScore(std::string expr) {
  return Constraint{.name = "users_score_check",
                    .kind = ConstraintKind::kCheck,
                    .columns = {"score"},
                    .definition = absl::StrCat("CHECK ((", expr, "))"),
                    .check_expr = absl::StrCat("(", expr, ")")};
}

TEST(DiffTest, ReportsMissingAndExtraConstraints) {
  Table want = UsersTable();
  want.constraints.push_back(Constraint{.name = "users_email_key",
                                        .kind = ConstraintKind::kUnique,
                                        .columns = {"email"},
                                        .definition = "UNIQUE (email)"});
  Table have = UsersTable();
  have.constraints.push_back(Constraint{.name = "users_team_id_fkey",
                                        .kind = ConstraintKind::kForeignKey,
                                        .columns = {"team_id"},
                                        .definition = "FOREIGN KEY (team_id) REFERENCES teams(id)",
                                        .ref_table = "teams",
                                        .ref_columns = {"id"}});
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("constraint users.users_email_key MISSING expected=[UNIQUE (email)] "
                          "actual=[] table=[users] object=[users_email_key]",
                          "constraint users.users_team_id_fkey EXTRA expected=[] "
                          "actual=[FOREIGN KEY (team_id) REFERENCES teams(id)] table=[users] "
                          "object=[users_team_id_fkey]"));
}

TEST(DiffTest, ReportsChangedConstraintDefinition) {
  Table want = UsersTable();
  want.constraints.push_back(CheckScore("score >= 1"));
  Table have = UsersTable();
  have.constraints.push_back(CheckScore("score >= 0"));
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("constraint users.users_score_check CHANGED definition "
                          "expected=[CHECK ((score >= 1))] actual=[CHECK ((score >= 0))] "
                          "table=[users] object=[users_score_check]"));
}

TEST(DiffTest, ReportsNotValidConstraint) {
  Table want = UsersTable();
  want.constraints.push_back(CheckScore("score >= 0"));
  Table have = UsersTable();
  Constraint not_valid = CheckScore("score >= 0");
  not_valid.validated = false;
  have.constraints.push_back(not_valid);
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("constraint users.users_score_check CHANGED valid expected=[VALID] "
                          "actual=[NOT VALID] table=[users] object=[users_score_check]"));
}

TEST(DiffTest, ReportsDefinitionChangeOverNotValid) {
  // One difference: re-adding the constraint validates it anyway.
  Table want = UsersTable();
  want.constraints.push_back(CheckScore("score >= 1"));
  Table have = UsersTable();
  Constraint not_valid = CheckScore("score >= 0");
  not_valid.validated = false;
  have.constraints.push_back(not_valid);
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("constraint users.users_score_check CHANGED definition "
                          "expected=[CHECK ((score >= 1))] actual=[CHECK ((score >= 0))] "
                          "table=[users] object=[users_score_check]"));
}

// --- Indexes -----------------------------------------------------------------------------

TEST(DiffTest, ReportsMissingAndExtraIndexes) {
  Table want = UsersTable();
  want.indexes.push_back(Index{.name = "users_created_at_idx",
                               .definition = "btree (created_at DESC)",
                               .columns = {"created_at"}});
  Table have = UsersTable();
  have.indexes.push_back(Index{.name = "users_lower_email_idx",
                               .unique = true,
                               .definition = "btree (lower((email)::text))",
                               .columns = {"email"}});
  EXPECT_THAT(Diff(WithTables({want}), WithTables({have})),
              ElementsAre("index users.users_created_at_idx MISSING "
                          "expected=[btree (created_at DESC)] actual=[] table=[users] "
                          "object=[users_created_at_idx]",
                          "index users.users_lower_email_idx EXTRA expected=[] "
                          "actual=[UNIQUE btree (lower((email)::text))] table=[users] "
                          "object=[users_lower_email_idx]"));
}

TEST(DiffTest, ReportsChangedIndexDefinition) {
  Table have = UsersTable();
  have.indexes[0].definition = "hash (email)";
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("index users.users_email_idx CHANGED definition "
                          "expected=[btree (email)] actual=[hash (email)] table=[users] "
                          "object=[users_email_idx]"));
}

TEST(DiffTest, ReportsChangedIndexUniqueness) {
  Table want = UsersTable();
  want.indexes[0].unique = true;
  EXPECT_THAT(Diff(WithTables({want}), WithTables({UsersTable()})),
              ElementsAre("index users.users_email_idx CHANGED definition "
                          "expected=[UNIQUE btree (email)] actual=[btree (email)] table=[users] "
                          "object=[users_email_idx]"));
}

TEST(DiffTest, ReportsInvalidIndex) {
  Table have = UsersTable();
  have.indexes[0].valid = false;
  EXPECT_THAT(Diff(WithTables({UsersTable()}), WithTables({have})),
              ElementsAre("index users.users_email_idx CHANGED valid expected=[valid] "
                          "actual=[invalid] table=[users] object=[users_email_idx]"));
}

// --- Enums ---------------------------------------------------------------------------------

Schema WithEnum(std::vector<std::string> labels) {
  Schema s;
  s.enums = {EnumType{.name = "mood", .labels = std::move(labels)}};
  return s;
}

TEST(DiffTest, ReportsMissingAndExtraEnums) {
  Schema want = WithEnum({"happy", "sad"});
  Schema have;
  have.enums = {EnumType{.name = "color", .labels = {"red", "green"}}};
  EXPECT_THAT(Diff(want, have),
              ElementsAre("enum mood MISSING expected=[happy, sad] actual=[] table=[] object=[]",
                          "enum color EXTRA expected=[] actual=[red, green] table=[] object=[]"));
}

TEST(DiffTest, ReportsMissingEnumLabels) {
  EXPECT_THAT(Diff(WithEnum({"happy", "ok", "sad", "angry"}), WithEnum({"happy", "sad"})),
              ElementsAre("enum_label mood.ok MISSING expected=[ok] actual=[] table=[mood] "
                          "object=[ok]",
                          "enum_label mood.angry MISSING expected=[angry] actual=[] "
                          "table=[mood] object=[angry]"));
}

TEST(DiffTest, ReportsExtraEnumLabel) {
  EXPECT_THAT(Diff(WithEnum({"happy", "sad"}), WithEnum({"happy", "meh", "sad"})),
              ElementsAre("enum_label mood.meh EXTRA expected=[] actual=[meh] table=[mood] "
                          "object=[meh]"));
}

TEST(DiffTest, ReportsReorderedEnumLabels) {
  EXPECT_THAT(Diff(WithEnum({"sad", "happy"}), WithEnum({"happy", "sad"})),
              ElementsAre("enum mood CHANGED labels expected=[sad, happy] actual=[happy, sad] "
                          "table=[] object=[]"));
}

TEST(DiffTest, AddedLabelsInTheMiddleAreNotAReorder) {
  // Only the labels both sides hold must keep their relative order.
  EXPECT_THAT(Diff(WithEnum({"a", "x", "b", "y"}), WithEnum({"a", "b"})),
              ElementsAre("enum_label mood.x MISSING expected=[x] actual=[] table=[mood] "
                          "object=[x]",
                          "enum_label mood.y MISSING expected=[y] actual=[] table=[mood] "
                          "object=[y]"));
}

// --- Extensions and sequences -------------------------------------------------------------

TEST(DiffTest, ReportsMissingAndExtraExtensions) {
  Schema want;
  want.extensions = {Extension{.name = "pgcrypto"}, Extension{.name = "citext"}};
  Schema have;
  have.extensions = {Extension{.name = "citext", .schema = "public"},
                     Extension{.name = "hstore", .schema = "public"}};
  EXPECT_THAT(Diff(want, have),
              ElementsAre("extension pgcrypto MISSING expected=[pgcrypto] actual=[] table=[] "
                          "object=[]",
                          "extension hstore EXTRA expected=[] actual=[hstore] table=[] "
                          "object=[]"));
}

TEST(DiffTest, ExtensionsOfOtherSchemasAreNotTheTargetsBusiness) {
  Schema want;  // targets "public"
  want.extensions = {Extension{.name = "citext"}};
  Schema have;
  // Declared: found wherever it lives. Undeclared: only "public"'s count.
  have.extensions = {Extension{.name = "citext", .schema = "extensions"},
                     Extension{.name = "pg_trgm", .schema = "other"},
                     Extension{.name = "hstore", .schema = "public"}};
  EXPECT_THAT(Diff(want, have),
              ElementsAre("extension hstore EXTRA expected=[] actual=[hstore] table=[] "
                          "object=[]"));
}

TEST(DiffTest, ReportsStandaloneSequenceAsExtra) {
  Schema have;
  have.sequences = {Sequence{.name = "invoice_number_seq"}};
  EXPECT_THAT(Diff(Schema{}, have), ElementsAre("sequence invoice_number_seq EXTRA expected=[] "
                                                "actual=[AS bigint NO CYCLE] table=[] object=[]"));
}

// --- Ignore patterns ---------------------------------------------------------------------

TEST(DiffTest, IgnorePatternsSuppressExtraObjectsOfEveryKind) {
  Schema want = WithTables({UsersTable()});
  want.ignore = {"legacy_*", "users.tmp_?", "pg_stat_statements", "*_seq", "old_enum"};
  Table have_users = UsersTable();
  have_users.columns.push_back(Column{.name = "legacy_name", .type = "text"});  // bare
  have_users.columns.push_back(Column{.name = "tmp_1", .type = "text"});        // table.name
  have_users.columns.push_back(Column{.name = "tmp_10", .type = "text"});       // ? is one char
  have_users.constraints.push_back(CheckScore("score > 0"));
  have_users.constraints.back().name = "legacy_check";
  have_users.indexes.push_back(Index{.name = "tmp_a", .definition = "btree (tmp_1)"});
  have_users.indexes.push_back(Index{.name = "legacy_idx", .definition = "btree (tmp_1)"});
  Schema have = WithTables({have_users, Table{.name = "legacy_events"}, Table{.name = "audit"}});
  have.extensions = {Extension{.name = "pg_stat_statements", .schema = "public"}};
  have.enums = {EnumType{.name = "old_enum", .labels = {"a"}}};
  have.sequences = {Sequence{.name = "invoice_seq"}};
  EXPECT_THAT(Diff(want, have),
              ElementsAre("column users.tmp_10 EXTRA expected=[] actual=[text] table=[users] "
                          "object=[tmp_10]",
                          "table audit EXTRA expected=[] actual=[audit] table=[audit] object=[]"));
}

TEST(DiffTest, IgnorePatternsNeverSuppressMissingObjects) {
  Table want_users = UsersTable();
  want_users.columns.push_back(Column{.name = "legacy_name", .type = "text"});
  want_users.indexes.push_back(Index{.name = "legacy_idx", .definition = "btree (legacy_name)"});
  want_users.constraints.push_back(CheckScore("score > 0"));
  want_users.constraints.back().name = "legacy_check";
  Schema want = WithTables({want_users, Table{.name = "legacy_events"}});
  want.extensions = {Extension{.name = "legacy_ext"}};
  want.enums = {EnumType{.name = "legacy_enum", .labels = {"a"}}};
  want.ignore = {"legacy_*", "*"};
  Schema have = WithTables({UsersTable()});
  EXPECT_THAT(Diff(want, have),
              ElementsAre("extension legacy_ext MISSING expected=[legacy_ext] actual=[] "
                          "table=[] object=[]",
                          "enum legacy_enum MISSING expected=[a] actual=[] table=[] object=[]",
                          "table legacy_events MISSING expected=[legacy_events] actual=[] "
                          "table=[legacy_events] object=[]",
                          "column users.legacy_name MISSING expected=[text] actual=[] "
                          "table=[users] object=[legacy_name]",
                          "constraint users.legacy_check MISSING expected=[CHECK ((score > 0))] "
                          "actual=[] table=[users] object=[legacy_check]",
                          "index users.legacy_idx MISSING expected=[btree (legacy_name)] "
                          "actual=[] table=[users] object=[legacy_idx]"));
}

TEST(DiffTest, IsIgnoredMatchesBareAndQualifiedNames) {
  Schema s;
  s.ignore = {"tmp_*", "users.old_?", "a*b*c"};
  EXPECT_TRUE(IsIgnored(s, "tmp_"));
  EXPECT_TRUE(IsIgnored(s, "tmp_x", "users"));
  EXPECT_TRUE(IsIgnored(s, "old_1", "users"));
  EXPECT_FALSE(IsIgnored(s, "old_1"));            // needs the table
  EXPECT_FALSE(IsIgnored(s, "old_1", "orders"));  // other table
  EXPECT_FALSE(IsIgnored(s, "old_12", "users"));  // ? is exactly one character
  EXPECT_TRUE(IsIgnored(s, "aXbYc"));
  EXPECT_TRUE(IsIgnored(s, "abc"));
  EXPECT_FALSE(IsIgnored(s, "abcd"));
  EXPECT_FALSE(IsIgnored(s, "xtmp_a"));  // patterns are anchored
  EXPECT_FALSE(IsIgnored(Schema{}, "anything"));
}

// --- Determinism and keys ------------------------------------------------------------------

// Two equal schemas, built in opposite orders, with something of every kind
// to report.
std::pair<Schema, Schema> RichPair(bool reversed) {
  Schema want;
  want.extensions = {Extension{.name = "citext"}, Extension{.name = "pgcrypto"}};
  want.enums = {EnumType{.name = "color", .labels = {"red", "blue"}},
                EnumType{.name = "mood", .labels = {"happy", "ok", "sad"}}};
  Table users = UsersTable();
  users.columns[1].type = "text";
  users.constraints.push_back(CheckScore("score >= 1"));
  users.indexes.push_back(Index{.name = "users_a_idx", .definition = "btree (a)"});
  want.tables = {users, Table{.name = "accounts"}, Table{.name = "zebras"}};

  Schema have;
  have.extensions = {Extension{.name = "hstore", .schema = "public"},
                     Extension{.name = "citext", .schema = "public"}};
  have.enums = {EnumType{.name = "mood", .labels = {"sad", "happy", "meh"}},
                EnumType{.name = "aaa", .labels = {"x"}}};
  Table have_users = UsersTable();
  have_users.columns.push_back(Column{.name = "legacy", .type = "text"});
  have_users.constraints.push_back(CheckScore("score >= 0"));
  have_users.indexes.push_back(Index{.name = "users_b_idx", .definition = "btree (b)"});
  have_users.indexes[0].valid = false;
  have.tables = {have_users, Table{.name = "old_b"}, Table{.name = "old_a"}};
  have.sequences = {Sequence{.name = "s2"}, Sequence{.name = "s1"}};

  if (reversed) {
    for (Schema* s : {&want, &have}) {
      std::reverse(s->extensions.begin(), s->extensions.end());
      std::reverse(s->enums.begin(), s->enums.end());
      std::reverse(s->tables.begin(), s->tables.end());
      std::reverse(s->sequences.begin(), s->sequences.end());
      for (Table& t : s->tables) {
        std::reverse(t.constraints.begin(), t.constraints.end());
        std::reverse(t.indexes.begin(), t.indexes.end());
      }
    }
  }
  return {want, have};
}

TEST(DiffTest, OutputIsDeterministicAndIndependentOfInputOrder) {
  auto [want, have] = RichPair(/*reversed=*/false);
  const std::vector<std::string> first = Diff(want, have);
  EXPECT_EQ(Diff(want, have), first);
  auto [want_reversed, have_reversed] = RichPair(/*reversed=*/true);
  EXPECT_EQ(Diff(want_reversed, have_reversed), first);

  // The documented order: extensions, enums, tables (columns, constraints,
  // indexes per table), extra tables, sequences.
  EXPECT_THAT(
      first,
      ElementsAre(
          "extension pgcrypto MISSING expected=[pgcrypto] actual=[] table=[] object=[]",
          "extension hstore EXTRA expected=[] actual=[hstore] table=[] object=[]",
          "enum color MISSING expected=[red, blue] actual=[] table=[] object=[]",
          "enum_label mood.ok MISSING expected=[ok] actual=[] table=[mood] object=[ok]",
          "enum_label mood.meh EXTRA expected=[] actual=[meh] table=[mood] object=[meh]",
          "enum mood CHANGED labels expected=[happy, ok, sad] actual=[sad, happy, meh] "
          "table=[] object=[]",
          "enum aaa EXTRA expected=[] actual=[x] table=[] object=[]",
          "table accounts MISSING expected=[accounts] actual=[] table=[accounts] object=[]",
          "column users.email CHANGED type expected=[text] actual=[character varying(320)] "
          "table=[users] object=[email]",
          "column users.legacy EXTRA expected=[] actual=[text] table=[users] object=[legacy]",
          "constraint users.users_score_check CHANGED definition expected=[CHECK ((score >= "
          "1))] actual=[CHECK ((score >= 0))] table=[users] object=[users_score_check]",
          "index users.users_a_idx MISSING expected=[btree (a)] actual=[] table=[users] "
          "object=[users_a_idx]",
          "index users.users_email_idx CHANGED valid expected=[valid] actual=[invalid] "
          "table=[users] object=[users_email_idx]",
          "index users.users_b_idx EXTRA expected=[] actual=[btree (b)] table=[users] "
          "object=[users_b_idx]",
          "table zebras MISSING expected=[zebras] actual=[] table=[zebras] object=[]",
          "table old_a EXTRA expected=[] actual=[old_a] table=[old_a] object=[]",
          "table old_b EXTRA expected=[] actual=[old_b] table=[old_b] object=[]",
          "sequence s1 EXTRA expected=[] actual=[AS bigint NO CYCLE] table=[] object=[]",
          "sequence s2 EXTRA expected=[] actual=[AS bigint NO CYCLE] table=[] object=[]"));
}

TEST(DiffTest, KeyIsTypeNameChangeAndAttribute) {
  Difference d{ObjectKind::kColumn,      "users.email", Change::kChanged, "text",
               "character varying(320)", "type differs"};
  d.attribute = Attribute::kType;
  EXPECT_EQ(d.Key(), "column|users.email|CHANGED|type");

  Difference missing{ObjectKind::kTable, "users", Change::kMissing, "users", "",
                     "table is missing"};
  EXPECT_EQ(missing.Key(), "table|users|MISSING|");
  Difference extra{ObjectKind::kIndex, "users.users_a_idx", Change::kExtra, "", "btree (a)", ""};
  EXPECT_EQ(extra.Key(), "index|users.users_a_idx|EXTRA|");
}

TEST(DiffTest, KeyIgnoresValuesAndDetailAndIsStableAcrossRuns) {
  // The same difference seen with other values (say after a partial apply)
  // keeps its key; another attribute of the same column does not.
  Table have = UsersTable();
  have.columns[1].type = "text";
  Schema want_schema = WithTables({UsersTable()});
  Schema have_schema = WithTables({have});
  std::vector<Difference> first = DiffSchemas(want_schema, have_schema);
  have_schema.tables[0].columns[1].type = "character varying(100)";
  std::vector<Difference> second = DiffSchemas(want_schema, have_schema);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(first[0].actual, second[0].actual);
  EXPECT_EQ(first[0].Key(), second[0].Key());
  EXPECT_EQ(first[0].Key(), "column|users.email|CHANGED|type");

  have_schema.tables[0].columns[1] =
      Column{.name = "email", .type = "character varying(320)", .not_null = false};
  std::vector<Difference> third = DiffSchemas(want_schema, have_schema);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].Key(), "column|users.email|CHANGED|nullable");
}

TEST(DiffTest, KeysAreUniqueWithinOneDiff) {
  auto [want, have] = RichPair(/*reversed=*/false);
  SortSchema(want);
  SortSchema(have);
  std::vector<std::string> keys;
  for (const Difference& d : DiffSchemas(want, have)) keys.push_back(d.Key());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
}

TEST(DiffTest, DescribeColumnSpellsDdl) {
  EXPECT_EQ(
      DescribeColumn(Column{
          .name = "id", .type = "bigint", .not_null = true, .identity = Identity::kByDefault}),
      "bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL");
  EXPECT_EQ(DescribeColumn(Column{.name = "t", .type = "numeric", .generated = "(a + b)"}),
            "numeric GENERATED ALWAYS AS ((a + b)) STORED");
}

}  // namespace
}  // namespace schemad
