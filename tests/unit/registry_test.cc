// Registry loader: every validation error is INVALID_ARGUMENT, names the
// file, line and column (text format) and the field path, and all errors of
// a registry are reported at once.
#include "schemad/registry/registry.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/common/file.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The message LoadRegistry(..., "test") gives for `errors`, one a line.
std::string InvalidRegistry(const std::vector<std::string>& errors) {
  return absl::StrCat("invalid registry test (", errors.size(), " error",
                      errors.size() == 1 ? "" : "s", "):\n", absl::StrJoin(errors, "\n"));
}

// --- Parsing -------------------------------------------------------------------

TEST(RegistryTest, ReportsSyntaxErrorWithLocation) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: bigint }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // `bigint` (unquoted) starts at line 3, column 29.
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:3:29: Expected string, got: bigint"}));
}

TEST(RegistryTest, ReportsUnknownTextFieldWithLocation) {
  const std::string text = R"reg(table {
  name: "t"
  colum { name: "id" type: "bigint" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // Protobuf's text parser (3.21) reports an unknown field at the token
  // after its name (the `{` at 3:9); the loader points at the name itself.
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:3:3: Message type \"schemad.v1.Table\" has no field "
                             "named \"colum\"."}));
}

TEST(RegistryTest, ReportsUnknownJsonFieldByName) {
  const std::string json_text = R"json({
  "table": [{"name": "t", "colum": [{"name": "id", "type": "bigint"}]}]
})json";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.json", json_text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              StartsWith("invalid registry test (1 error):\nt.json: "));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("colum"));
}

TEST(RegistryTest, JsonRegistryLoadsTheSameSchemaAsTextproto) {
  const std::string text_file = R"reg(
registry {
  enum { name: "mood" label: "sad" label: "happy" }
  ignore: "alembic_version"
}
table {
  name: "t"
  column { name: "id" type: "bigserial" not_null: true }
  column { name: "mood" type: "mood" default: "'happy'" }
  primary_key { name: "pk_t" column: "id" }
  index { name: "ix_t_mood" key { column: "mood" descending: true } where: "mood <> 'sad'" }
}
table {
  name: "u"
  column { name: "t_id" type: "bigint" }
  foreign_key {
    name: "fk_u_t_id_t" column: "t_id" references_table: "t" references_column: "id"
    on_delete: REFERENTIAL_ACTION_CASCADE
  }
})reg";
  absl::StatusOr<Registry> text =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text_file}}, "test");
  const std::string json_file = R"json({
  "registry": {
    "enum": [{"name": "mood", "label": ["sad", "happy"]}],
    "ignore": ["alembic_version"]
  },
  "table": [
    {
      "name": "t",
      "column": [
        {"name": "id", "type": "bigserial", "notNull": true},
        {"name": "mood", "type": "mood", "default": "'happy'"}
      ],
      "primaryKey": {"name": "pk_t", "column": ["id"]},
      "index": [{"name": "ix_t_mood", "key": [{"column": "mood", "descending": true}],
                 "where": "mood <> 'sad'"}]
    },
    {
      "name": "u",
      "column": [{"name": "t_id", "type": "bigint"}],
      "foreignKey": [{"name": "fk_u_t_id_t", "column": ["t_id"], "referencesTable": "t",
                      "referencesColumn": ["id"], "onDelete": "REFERENTIAL_ACTION_CASCADE"}]
    }
  ]
})json";
  absl::StatusOr<Registry> json =
      LoadRegistry(std::vector<RegistrySource>{{"t.json", json_file}}, "test");
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_FALSE(text->fingerprint.empty());
  EXPECT_EQ(json->fingerprint, text->fingerprint);
  EXPECT_EQ(SerializeForFingerprint(json->schema), SerializeForFingerprint(text->schema));
}

// --- Names ---------------------------------------------------------------------

TEST(RegistryTest, ReportsDuplicateTableAcrossFilesWithBothLocations) {
  const std::string a = R"reg(table { name: "t" column { name: "id" type: "bigint" } })reg";
  const std::string b = R"reg(# the same table again
table { name: "t" column { name: "id" type: "bigint" } })reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"a.textproto", a}, {"b.textproto", b}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"b.textproto:2:1: table[0]: duplicate table name \"t\" (already "
                             "used at a.textproto:1:1: table[0])"}));
}

TEST(RegistryTest, ReportsDuplicateColumnWithLocation) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "bigint" }
  column { name: "id" type: "text" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].column[1]: duplicate column \"id\" in "
                             "table \"t\""}));
}

// The errors travel as data too: file, line, column, field path and
// message, in the message's order, each printing as its line does.
TEST(RegistryTest, ErrorsComeAsDataWithTheirPlaces) {
  const std::vector<RegistrySource> files = {
      {"a.json", R"json({"table": [{"name": "j", "column": [{"name": "id"}]}]})json"},
      {"b.sql", "CREATE TABLE s (id bigint);\nDO $$ BEGIN END $$;\n"},
      {"c.textproto",
       "table {\n  name: \"t\"\n  column { name: \"id\" type: \"bigint\" }\n"
       "  column { name: \"id\" type: \"text\" }\n}\n"},
      {"d.textproto", "table {\n  name: \"xy\"\n  column { name: \"id\" }\n}\n"},
  };
  absl::StatusOr<Registry> r = LoadRegistry(files, "test");
  ASSERT_FALSE(r.ok());
  const std::vector<RegistryError> errors = RegistryErrorsOf(r.status());
  ASSERT_EQ(errors.size(), 4u) << r.status();
  std::vector<std::string> lines;
  for (const RegistryError& e : errors) lines.push_back(e.ToString());
  EXPECT_EQ(std::string(r.status().message()), InvalidRegistry(lines));

  auto of = [&](const std::string& file) {
    for (const RegistryError& e : errors) {
      if (e.place.file == file) return e;
    }
    ADD_FAILURE() << "no error of " << file;
    return RegistryError{};
  };
  // JSON: the field path, no line.
  EXPECT_EQ(of("a.json").place.line, 0);
  EXPECT_EQ(of("a.json").place.field, "table[0].column[0]");
  EXPECT_EQ(of("a.json").message, "column \"id\" has no type");
  // SQL: line and column, no field.
  EXPECT_EQ(of("b.sql").place.line, 2);
  EXPECT_EQ(of("b.sql").place.column, 1);
  EXPECT_EQ(of("b.sql").place.field, "");
  EXPECT_THAT(of("b.sql").message, StartsWith("DO is not allowed"));
  // Text format: all of it.
  EXPECT_EQ(of("c.textproto").place.line, 4);
  EXPECT_EQ(of("c.textproto").place.column, 3);
  EXPECT_EQ(of("c.textproto").place.field, "table[0].column[1]");
  EXPECT_EQ(of("c.textproto").message, "duplicate column \"id\" in table \"t\"");
  EXPECT_EQ(of("d.textproto").place.field, "table[0].column[0]");
  EXPECT_EQ(of("d.textproto").message, "column \"id\" has no type");

  // Any other status carries none.
  EXPECT_TRUE(RegistryErrorsOf(absl::OkStatus()).empty());
  EXPECT_TRUE(RegistryErrorsOf(absl::InvalidArgumentError("a.json: oops")).empty());
  EXPECT_TRUE(RegistryErrorsOf(absl::NotFoundError("x")).empty());
}

TEST(RegistryTest, ReportsDuplicateIndexNameWithBothLocations) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "text" }
  index { name: "ix_t_a" key { column: "a" } }
  index { name: "ix_t_a" key { column: "a" } where: "a <> ''" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:5:3: table[0].index[1]: duplicate index name "
                             "\"ix_t_a\" (already used at t.textproto:4:3: table[0].index[0])"}));
}

TEST(RegistryTest, ReportsIndexNamedLikeATable) {
  // Tables and indexes share one namespace in a PostgreSQL schema.
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "text" }
  index { name: "t" key { column: "a" } }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].index[0]: duplicate index name \"t\" "
                             "(already used at t.textproto:1:1: table[0])"}));
}

TEST(RegistryTest, ReportsDuplicateConstraintInATable) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "n" type: "integer" }
  check { name: "ck_t_n" expression: "n > 0" }
  check { name: "ck_t_n" expression: "n < 10" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:5:3: table[0].check[1]: duplicate constraint "
                             "\"ck_t_n\" in table \"t\""}));
}

TEST(RegistryTest, ReportsDuplicateEnumTypeWithBothLocations) {
  const std::string text = R"reg(registry {
  enum { name: "mood" label: "sad" }
  enum { name: "mood" label: "happy" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:3:3: registry.enum[1]: duplicate enum type \"mood\" "
                             "(first declared at t.textproto:2:3: registry.enum[0])"}));
}

TEST(RegistryTest, ReportsDuplicateEnumLabelAtTheLabel) {
  const std::string text = R"reg(registry {
  enum {
    name: "mood"
    label: "sad"
    label: "happy"
    label: "sad"
  }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // BUG: src/registry/registry.cc, LoadRegistry: the label error is built as
  // `where + ".label[j]"` from the enum's location, so it reports the line and
  // column of `enum {` (2:3) under the path of the label; the third label is
  // at 6:5.
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:6:5: registry.enum[0].label[2]: duplicate label "
                             "\"sad\" in enum type \"mood\""}));
}

TEST(RegistryTest, ReportsDuplicateExtension) {
  const std::string text = R"reg(registry {
  extension { name: "pg_trgm" }
  extension { name: "pg_trgm" schema: "public" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:3:3: registry.extension[1]: duplicate extension "
                             "\"pg_trgm\""}));
}

TEST(RegistryTest, ReportsSecondRegistryWideBlockWithBothLocations) {
  const std::string a = R"reg(registry { schema: "public" })reg";
  const std::string b = R"reg(# b's own settings
registry {
  ignore: "alembic_version"
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"a.textproto", a}, {"b.textproto", b}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"b.textproto:2:1: registry: a second registry-wide declaration; "
                             "the first is at a.textproto:1:1: registry"}));
}

TEST(RegistryTest, ReportsIdentifierOver63Bytes) {
  // The table name is 64 bytes: 6 runs of 10 characters, then "abcd".
  const std::string text = R"reg(table {
  name: "a123456789b123456789c123456789d123456789e123456789f123456789abcd"
  column { name: "id" type: "bigint" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:1:1: table[0]: table name "
                             "\"a123456789b123456789c123456789d123456789e123456789f123456789abcd\" "
                             "is 64 bytes; PostgreSQL keeps at most 63"}));
}

TEST(RegistryTest, AcceptsIdentifierOfExactly63Bytes) {
  // Table, column and primary key names are 63 bytes: 6 runs of 10, then 3.
  const std::string text = R"reg(table {
  name: "a123456789b123456789c123456789d123456789e123456789f123456789abc"
  column { name: "c123456789b123456789c123456789d123456789e123456789f123456789abc" type: "bigint" }
  primary_key {
    name: "p123456789b123456789c123456789d123456789e123456789f123456789abc"
    column: "c123456789b123456789c123456789d123456789e123456789f123456789abc"
  }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
  EXPECT_EQ(r->schema.tables[0].name,
            "a123456789b123456789c123456789d123456789e123456789f123456789abc");
  EXPECT_EQ(r->schema.tables[0].name.size(), 63u);
}

TEST(RegistryTest, ReportsTableWithoutName) {
  const std::string text = R"reg(table {
  column { name: "id" type: "bigint" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:1:1: table[0]: table name is required"}));
}

TEST(RegistryTest, ReportsColumnWithoutName) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "bigint" }
  column { type: "text" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].column[1]: column name is required"}));
}

// --- Table structure -------------------------------------------------------------

// PostgreSQL allows tables without columns (`CREATE TABLE t ()`), and
// `schemad inspect` writes them: the loader accepts them.
TEST(RegistryTest, AcceptsTableWithoutColumns) {
  const std::string text = R"reg(# empty
table { name: "t" })reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
  EXPECT_TRUE(r->schema.tables[0].columns.empty());
}

TEST(RegistryTest, ReportsForeignKeyToUnknownTable) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "owner_id" type: "bigint" }
  foreign_key { name: "fk_t_owner_id_users" column: "owner_id"
                references_table: "users" references_column: "id" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].foreign_key[0]: foreign key "
                             "\"fk_t_owner_id_users\" references unknown table \"users\""}));
}

TEST(RegistryTest, ReportsForeignKeyToUnknownColumn) {
  const std::string text = R"reg(table {
  name: "users"
  column { name: "id" type: "bigint" }
}
table {
  name: "t"
  column { name: "owner_id" type: "bigint" }
  foreign_key { name: "fk_t_owner_id_users" column: "owner_id"
                references_table: "users" references_column: "uid" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:8:3: table[1].foreign_key[0]: foreign key "
                             "\"fk_t_owner_id_users\" references unknown column \"uid\" of "
                             "table \"users\""}));
}

TEST(RegistryTest, ReportsForeignKeyOnUnknownLocalColumn) {
  const std::string text = R"reg(table {
  name: "users"
  column { name: "id" type: "bigint" }
}
table {
  name: "t"
  column { name: "owner_id" type: "bigint" }
  foreign_key { name: "fk_t_owner_users" column: "owner"
                references_table: "users" references_column: "id" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:8:3: table[1].foreign_key[0]: foreign key "
                             "\"fk_t_owner_users\" names unknown column \"owner\" of table "
                             "\"t\""}));
}

TEST(RegistryTest, ReportsForeignKeyWithMismatchedColumnCount) {
  const std::string text = R"reg(table {
  name: "users"
  column { name: "id" type: "bigint" }
  column { name: "tenant_id" type: "bigint" }
}
table {
  name: "t"
  column { name: "owner_id" type: "bigint" }
  foreign_key {
    name: "fk_t_owner_id_users"
    column: "owner_id"
    references_table: "users"
    references_column: "id"
    references_column: "tenant_id"
  }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:9:3: table[1].foreign_key[0]: foreign key "
                             "\"fk_t_owner_id_users\" has 1 column(s) but references 2"}));
}

TEST(RegistryTest, ReportsIndexOnUnknownColumnAtTheKey) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "text" }
  index {
    name: "ix_t_b"
    key { column: "b" }
  }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // BUG: src/registry/registry.cc, LoadRegistry: index key errors are built
  // as `cw + ".key[k]"` from the index's location, so they report the line
  // and column of `index {` (4:3) under the path of the key; the key is at
  // 6:5.
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:6:5: table[0].index[0].key[0]: index \"ix_t_b\" "
                             "names unknown column \"b\" of table \"t\""}));
}

TEST(RegistryTest, ReportsUniqueConstraintOnUnknownColumn) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "text" }
  unique { name: "uq_t_b" column: "b" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].unique[0]: unique constraint "
                             "\"uq_t_b\" names unknown column \"b\" of table \"t\""}));
}

TEST(RegistryTest, ReportsPrimaryKeyOnUnknownColumn) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "text" }
  primary_key { name: "pk_t" column: "id" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].primary_key: primary key \"pk_t\" "
                             "names unknown column \"id\" of table \"t\""}));
}

TEST(RegistryTest, ReportsEnumTypeUsedButNotDeclared) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "bigint" }
  column { name: "mood" type: "mood" not_null: true }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].column[1]: column \"mood\" uses type "
                             "\"mood\", which is neither a built-in type nor an enum type "
                             "declared in the registry"}));
}

// Built-in types with modifiers PostgreSQL spells in words load: an
// interval restricted to some fields is still an interval.
TEST(RegistryTest, IntervalsWithFieldsAreBuiltInTypes) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "interval day to second(3)" }
  column { name: "b" type: "interval year to month" }
  column { name: "c" type: "interval hour[]" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(RegistryTest, ReportsEveryErrorAtOnce) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "bigint" }
  column { name: "id" type: "bigint" }
  unique { name: "uq_t_b" column: "b" }
  foreign_key { name: "fk_t_id_users" column: "id"
                references_table: "users" references_column: "id" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines = absl::StrSplit(r.status().message(), '\n');
  ASSERT_EQ(lines.size(), 4u) << r.status().message();
  EXPECT_EQ(lines[0], "invalid registry test (3 errors):");
  EXPECT_EQ(lines[1],
            "t.textproto:4:3: table[0].column[1]: duplicate column \"id\" in table \"t\"");
  EXPECT_EQ(lines[2],
            "t.textproto:5:3: table[0].unique[0]: unique constraint \"uq_t_b\" names unknown "
            "column \"b\" of table \"t\"");
  EXPECT_EQ(lines[3],
            "t.textproto:6:3: table[0].foreign_key[0]: foreign key \"fk_t_id_users\" references "
            "unknown table \"users\"");
}

// --- Directories and retargeting ---------------------------------------------------

TEST(RegistryTest, ReadRegistryDirOfMissingDirectoryIsNotFound) {
  const std::string dir = ::testing::TempDir() + "/schemad-registry-test-no-such-dir";
  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(dir);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(dir));
}

TEST(RegistryTest, WithSchemaChangesSchemaNameAndFingerprint) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "bigint" }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->schema.name, "public");

  const Registry retargeted = WithSchema(*r, "tenant_a");
  EXPECT_EQ(retargeted.schema.name, "tenant_a");
  EXPECT_NE(retargeted.fingerprint, r->fingerprint);

  const Registry unchanged = WithSchema(*r, "");
  EXPECT_EQ(unchanged.schema.name, "public");
  EXPECT_EQ(unchanged.fingerprint, r->fingerprint);
}

TEST(RegistryTest, FingerprintCoversExtensionSchema) {
  const std::string server_choice_text = R"reg(registry { extension { name: "pg_trgm" } })reg";
  const std::string in_extensions_text =
      R"reg(registry { extension { name: "pg_trgm" schema: "extensions" } })reg";
  absl::StatusOr<Registry> server_choice =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", server_choice_text}}, "test");
  absl::StatusOr<Registry> in_extensions =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", in_extensions_text}}, "test");
  ASSERT_TRUE(server_choice.ok()) << server_choice.status();
  ASSERT_TRUE(in_extensions.ok()) << in_extensions.status();
  // BUG: src/model/model.cc, SerializeForFingerprint: extensions print only
  // their name ("ext <name>"), so the schema an extension is installed into
  // (which CreateExtensionSql emits as `SCHEMA x`) does not change the
  // registry fingerprint, although registry.h promises a fingerprint "of
  // everything the registry declares".
  EXPECT_NE(in_extensions->fingerprint, server_choice->fingerprint);
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// --- Hostile and careless SQL text (issue: registry text never runs as SQL) --

// Every field that becomes SQL is checked for its shape offline, before any
// SQL runs, and the error names the file, line, column and field.
TEST(RegistryHardeningTest, RefusesEveryFieldThatStacksStatementsWithItsLocation) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "int); SELECT nextval('canary'); CREATE TABLE zz (a int" }
  column { name: "a" type: "int" default: "1; SELECT nextval('canary')" }
  column { name: "b" type: "int" generated: "1) STORED); DROP TABLE victims; CREATE TABLE q (y int GENERATED ALWAYS AS (1" }
  check { name: "c" expression: "true)); COMMIT; DROP TABLE public.victims; COMMIT; BEGIN; SELECT ((1" }
  index { name: "i1" key { expression: "(1) FROM pg_sleep(10) --" } }
  index { name: "i2" key { column: "a" } where: "true; SELECT nextval('canary')" }
  index { name: "i3" key { column: "a" opclass: "int4_ops); DROP TABLE victims; --" } }
  index { name: "i4" method: "btree (a); DROP TABLE victims; --" key { column: "a" } }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("(8 errors)"));
  EXPECT_THAT(message, HasSubstr("t.textproto:3:3: table[0].column[0]: type \"int); SELECT"));
  EXPECT_THAT(message, HasSubstr("t.textproto:4:3: table[0].column[1]: default \"1; SELECT"));
  EXPECT_THAT(message, HasSubstr("t.textproto:5:3: table[0].column[2]: generated expression"));
  EXPECT_THAT(message, HasSubstr("t.textproto:6:3: table[0].check[0]: check expression"));
  EXPECT_THAT(message, HasSubstr("t.textproto:7:22: table[0].index[0].key[0]: index expression"));
  EXPECT_THAT(message, HasSubstr("t.textproto:8:3: table[0].index[1]: index predicate"));
  EXPECT_THAT(message, HasSubstr("t.textproto:9:22: table[0].index[2].key[0]: operator class"));
  EXPECT_THAT(message, HasSubstr("t.textproto:10:3: table[0].index[3]: index method"));
}

TEST(RegistryHardeningTest, RefusesANulByteInAnyStringFieldWithItsLocation) {
  // \000 in an expression used to cut the canonicalization batch short:
  // every later table vanished from the desired schema.
  const std::string text = R"reg(table {
  name: "a"
  column { name: "x" type: "int" }
  check { name: "c" expression: "x > 0\000" }
}
table { name: "b" column { name: "y\000z" type: "int" } })reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("t.textproto:4:21: table[0].check[0].expression: holds a NUL "
                                 "byte (at byte 6)"));
  EXPECT_THAT(message, HasSubstr("t.textproto:6:28: table[1].column[0].name: holds a NUL byte"));
  EXPECT_THAT(message, HasSubstr("(2 errors)"));  // each NUL once
}

TEST(RegistryHardeningTest, RefusesANulByteInJson) {
  const std::string json =
      R"({"table": [{"name": "a", "column": [{"name": "x", "type": "int", "default": "1\u0000"}]}]})";
  absl::StatusOr<Registry> r = LoadRegistry(std::vector<RegistrySource>{{"t.json", json}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("t.json: table[0].column[0].default: holds a NUL byte"));
}

TEST(RegistryHardeningTest, RefusesBytesThatAreNotUtf8InEveryFormatWithTheirPlace) {
  // Before, a textproto table named "t\xff" loaded as valid: PostgreSQL
  // refused it only when the registry ran, and the name could not travel
  // in a protobuf string field.
  const std::vector<RegistrySource> files = {
      {"a.textproto", "table {\n  name: \"t\xff\"\n  column { name: \"x\" type: \"int\" }\n}\n"},
      {"b.sql", "CREATE TABLE u (\n  caf\xc3\xa9 int,\n  y\xc3 int\n);\n"},
      {"c.json", "{\"table\": [{\"name\": \"v\xed\xa0\x80\"}]}"},
  };
  absl::StatusOr<Registry> r = LoadRegistry(files, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("a.textproto:2:11: is not valid UTF-8 (byte 0xff): registry "
                                 "files are UTF-8 text"));
  EXPECT_THAT(message, HasSubstr("b.sql:3:4: is not valid UTF-8 (byte 0xc3)"));
  EXPECT_THAT(message, HasSubstr("c.json:1:23: is not valid UTF-8 (byte 0xed)"));
  EXPECT_THAT(message, HasSubstr("(3 errors)"));

  // Escapes get past the file's check; each string field is checked too.
  absl::StatusOr<Registry> escaped = LoadRegistry(
      std::vector<RegistrySource>{
          {"e.textproto",
           "registry { ignore: \"\\xff*\" }\ntable {\n  name: \"t\\xff\"\n  column { name: "
           "\"x\" type: \"int\\xc3\" }\n}\n"},
          {"e.json", "{\"table\": [{\"name\": \"u\\udc00\"}]}"}},
      "test");
  ASSERT_FALSE(escaped.ok());
  const std::string escaped_message(escaped.status().message());
  EXPECT_THAT(escaped_message, HasSubstr("e.textproto:1:12: registry.ignore[0]: is not valid "
                                         "UTF-8 (byte 0xff at byte 1, written as an escape)"));
  EXPECT_THAT(escaped_message, HasSubstr("e.textproto:3:3: table[0].name: is not valid UTF-8"));
  // A later check echoing the value writes the byte as \xNN: every message
  // is UTF-8.
  EXPECT_EQ(FirstInvalidUtf8(escaped_message), std::nullopt);
  EXPECT_THAT(escaped_message, HasSubstr("type \"int\\xc3\""));
  EXPECT_THAT(escaped_message, HasSubstr("table[0].column[0].type: is not valid UTF-8 (byte 0xc3"));
}

TEST(RegistryHardeningTest, RefusesSqlIdentifiersPostgreSQLWouldShorten) {
  // PostgreSQL cuts identifiers to 63 bytes with a NOTICE: a SQL registry
  // declaring two tables whose names share their first 63 bytes used to
  // load, and the second CREATE TABLE then failed on the first one's
  // name. The textproto loader already refused names over 63 bytes.
  const std::string a = std::string(63, 't') + "_a";
  const std::string b = std::string(63, 't') + "_b";
  const std::vector<RegistrySource> files = {
      {"t.sql", "CREATE TABLE " + a + " (id int);\nCREATE TABLE " + b + " (id int);\n"},
      {"u.textproto",
       "table {\n  name: \"u\"\n  column { name: \"x\" type: \"int\" }\n"
       "  check { name: \"c\" expression: \"x > " +
           std::string(64, 'z') + "\" }\n}\n"},
  };
  absl::StatusOr<Registry> r = LoadRegistry(files, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("t.sql:1:14: has an identifier \"" + std::string(63, 't') +
                                 "...\" of 65 bytes; PostgreSQL keeps at most 63 and would "
                                 "shorten it silently"));
  EXPECT_THAT(message, HasSubstr("t.sql:2:14: has an identifier"));
  EXPECT_THAT(message, HasSubstr("u.textproto:4:3: table[0].check[0]: check expression \"x > zzz"));
  EXPECT_THAT(message, HasSubstr("\" has an identifier \"zzz"));
  EXPECT_THAT(message, HasSubstr("of 64 bytes; PostgreSQL keeps at most 63 and would shorten it "
                                 "silently (at line 1, column 5 of the check expression)"));
}

TEST(RegistryHardeningTest, SqlStatementsMayChangeOnlyWhatTheRegistryDeclares) {
  // Checking a registry runs its statements with the scratch schema first
  // in search_path and the target schema next: "items", undeclared, would
  // have been the database's live table (an index expression run over its
  // rows, an ACCESS EXCLUSIVE lock held while the check ran).
  const std::vector<RegistrySource> files = {
      {"a.sql",
       "CREATE TABLE notes (id int, body text);\n"
       "CREATE INDEX ix_notes_body ON notes (body);\n"
       "CREATE INDEX ix_evil ON items ((id::text));\n"
       "ALTER TABLE items ADD CONSTRAINT ck_evil CHECK (id > 0);\n"
       "COMMENT ON TABLE notes IS 'declared';\n"
       "COMMENT ON COLUMN items.id IS 'not declared';\n"
       "COMMENT ON FUNCTION elsewhere() IS 'not declared';\n"
       "COMMENT ON TYPE mood IS 'not declared';\n"
       "CREATE TRIGGER trg AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION f();\n"
       "ALTER SEQUENCE seq OWNED BY notes.id;\n"
       "CREATE TABLE links (id int REFERENCES items (id), n int REFERENCES notes (id),\n"
       "  u int REFERENCES elsewhere.users (id));\n"
       "ALTER TABLE notes ADD CONSTRAINT fk_notes_items FOREIGN KEY (id) REFERENCES items;\n"},
      {"b.textproto", "table {\n  name: \"users\"\n  column { name: \"id\" type: \"int\" }\n}\n"},
      {"c.sql", "CREATE INDEX ix_users_id ON users (id);\nCOMMENT ON TABLE users IS 'ok';\n"},
  };
  absl::StatusOr<Registry> r = LoadRegistry(files, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  for (const char* place : {"a.sql:3:1", "a.sql:4:1", "a.sql:6:1", "a.sql:7:1", "a.sql:8:1",
                            "a.sql:9:1", "a.sql:10:1"}) {
    EXPECT_THAT(message, HasSubstr(absl::StrCat(place, ": the statement changes \""))) << place;
  }
  EXPECT_THAT(message, HasSubstr("a.sql:3:1: the statement changes \"items\", which the registry "
                                 "does not declare"));
  EXPECT_THAT(message, HasSubstr("a.sql:10:1: the statement changes \"seq\""));
  // A foreign key locks the table it references: one of the target schema
  // must be declared; another schema's is written qualified, and allowed.
  EXPECT_THAT(message, HasSubstr("a.sql:11:1: a foreign key references \"items\", which the "
                                 "registry does not declare"));
  EXPECT_THAT(message, HasSubstr("a.sql:13:1: a foreign key references \"items\""));
  EXPECT_THAT(message, Not(HasSubstr("\"notes\", which")));
  EXPECT_THAT(message, Not(HasSubstr("users")));
  EXPECT_THAT(message, HasSubstr("(9 errors)"));  // the declared ones pass, in both formats
}

TEST(RegistryHardeningTest, SqlTablesThatPartitionOrInheritAreRefused) {
  // Dropped without a word before (a partition became nothing, a partitioned
  // table a plain one), and a partition bound ran its expressions while the
  // registry was checked.
  const std::vector<RegistrySource> files = {
      {"p.sql",
       "CREATE TABLE pt (id int) PARTITION BY RANGE (id);\n"
       "CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (now_id()) TO (10);\n"
       "CREATE TABLE child (x int) INHERITS (pt);\n"
       "CREATE TABLE heap2 (id int) USING heap;\n"
       "CREATE TABLE spaced (id int) TABLESPACE pg_default;\n"
       "CREATE TABLE plain (id int) WITH (fillfactor = 70);\n"},
  };
  absl::StatusOr<Registry> r = LoadRegistry(files, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("p.sql:1:1: table \"pt\" uses PARTITION BY, which a registry "
                                 "does not declare"));
  EXPECT_THAT(message, HasSubstr("p.sql:2:1: table \"pt1\" uses PARTITION OF"));
  EXPECT_THAT(message, HasSubstr("p.sql:3:1: table \"child\" uses INHERITS"));
  EXPECT_THAT(message, HasSubstr("p.sql:4:1: table \"heap2\" uses USING"));
  EXPECT_THAT(message, HasSubstr("p.sql:5:1: table \"spaced\" uses TABLESPACE"));
  EXPECT_THAT(message, Not(HasSubstr("p.sql:6:")));
  EXPECT_THAT(message, HasSubstr("(5 errors)"));
}

TEST(RegistryHardeningTest, RefusesEnumValuesTheSchemaDoesNotDefine) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "int" identity: 7 }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("t.textproto:3:35: table[0].column[0].identity: 7 is not a value of "
                        "Identity"));
}

TEST(RegistryHardeningTest, RefusesSystemSchemasAsTheTarget) {
  for (const char* schema : {"pg_catalog", "information_schema", "pg_toast", "schemad"}) {
    const std::string text =
        absl::StrCat("registry { schema: \"", schema, "\" }\ntable { name: \"t\" }");
    absl::StatusOr<Registry> r =
        LoadRegistry(std::vector<RegistrySource>{{"r.textproto", text}}, "test");
    ASSERT_FALSE(r.ok()) << schema;
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("r.textproto:1:12: registry.schema: schema \""))
        << schema;
  }
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

TEST(RegistryTest, InitiallyDeferredKeysMustBeDeferrable) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "id" type: "integer" }
  primary_key { name: "t_pkey" column: "id" initially_deferred: true }
  unique { name: "t_id_key" column: "id" initially_deferred: true }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            InvalidRegistry({"t.textproto:4:3: table[0].primary_key: primary key \"t_pkey\" is "
                             "initially deferred but not deferrable",
                             "t.textproto:5:3: table[0].unique[0]: unique constraint \"t_id_key\" "
                             "is initially deferred but not deferrable"}));
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// A view's query is one query: statements, a comment that would swallow
// what the DDL puts after it, and options of the wrong kind of view are
// refused at their field, before any SQL runs.
TEST(RegistryViewTest, RefusesQueriesThatAreNotOneQueryAndMisplacedOptions) {
  const std::string text = R"reg(table { name: "t" column { name: "id" type: "int" } }
view { name: "v1" query: "SELECT 1; DROP TABLE t" }
view { name: "v2" query: "SELECT 1 /* the rest" }
view { name: "v3" query: "" }
view { name: "v4" query: "DELETE FROM t RETURNING id" }
view { name: "v5" materialized: true query: "SELECT 1" security_invoker: true }
view { name: "v6" query: "SELECT 1 AS x" index { name: "ix_v6" key { column: "x" } } }
view { name: "t" query: "SELECT 1" }
)reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"v.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("(7 errors)"));
  // The query is parsed as the DDL composes it (CREATE VIEW ... AS query,
  // then a clause on a line of its own): a second statement or an
  // unterminated comment breaks that parse.
  EXPECT_THAT(message, HasSubstr("v.textproto:2:19: view[0].query: query \"SELECT 1; DROP TABLE "
                                 "t\" is not one SQL query: syntax error at or near \"WITH\""));
  EXPECT_THAT(message, HasSubstr("v.textproto:3:19: view[1].query: query \"SELECT 1 /* the "
                                 "rest\" is not one SQL query: unterminated /* comment"));
  EXPECT_THAT(message, HasSubstr("v.textproto:4:1: view[2]: view \"v3\" has no query"));
  EXPECT_THAT(message, HasSubstr("v.textproto:5:19: view[3].query: query \"DELETE FROM t "
                                 "RETURNING id\" is not one SQL query"));
  EXPECT_THAT(message, HasSubstr("v.textproto:6:1: view[4]: materialized view \"v5\" cannot take "
                                 "security_invoker"));
  EXPECT_THAT(message, HasSubstr("v.textproto:7:1: view[5]: view \"v6\" declares indexes"));
  EXPECT_THAT(message, HasSubstr("v.textproto:8:1: view[6]: duplicate view name \"t\" (already "
                                 "used at v.textproto:1:1: table[0])"));
}

// Views load with what canonicalization needs: the relations each reads
// (for the order they are created in), comments and options.
TEST(RegistryViewTest, LoadsViewsCommentsAndWhatEachViewReads) {
  const std::string text = R"reg(table {
  name: "t"
  comment: "the table"
  column { name: "id" type: "int" comment: "its key" }
}
view {
  name: "b"
  query: "WITH x AS (SELECT id FROM a) SELECT x.id FROM x JOIN t USING (id), other.far f"
  check_option: VIEW_CHECK_OPTION_LOCAL
}
view { name: "a" query: "SELECT id FROM t" security_barrier: true comment: "a view" }
)reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"v.textproto", text}}, "test");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.views.size(), 2u);
  const View* b = r->schema.FindView("b");
  ASSERT_NE(b, nullptr);
  EXPECT_THAT(b->depends_on, ::testing::ElementsAre("a", "t", "x"));
  EXPECT_EQ(b->check_option, CheckOption::kLocal);
  const View* a = r->schema.FindView("a");
  EXPECT_TRUE(a->security_barrier);
  EXPECT_EQ(a->comment, "a view");
  EXPECT_EQ(r->schema.tables[0].comment, "the table");
  EXPECT_EQ(r->schema.tables[0].columns[0].comment, "its key");
  std::vector<std::string> order;
  for (const View* v : ViewsInDependencyOrder(r->schema)) order.push_back(v->name);
  EXPECT_THAT(order, ::testing::ElementsAre("a", "b"));
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

// Functions in untrusted or C languages, signatures and settings that add
// clauses or statements, and ill-formed triggers are refused at their
// field before any SQL runs.
TEST(RegistryRoutineTest, RefusesUntrustedLanguagesInjectedSignaturesAndBadTriggers) {
  const std::string text = R"reg(function { name: "f1" returns: "int" language: "c" body: "f1" }
function { name: "f2" returns: "int LANGUAGE c" language: "sql" body: "SELECT 1" }
function { name: "f3" arguments: "a int) RETURNS int LANGUAGE c AS 'x' --" returns: "int" language: "sql" body: "SELECT 1" }
function { name: "f4" returns: "int" language: "sql" body: "SELECT 1" config: "search_path = public; DROP TABLE t" }
function { name: "f5" returns: "int" language: "plpgsql" body: "" }
function { name: "f6" procedure: true returns: "int" language: "sql" body: "SELECT 1" }
table {
  name: "t"
  column { name: "id" type: "int" }
  trigger { name: "g1" function: "f" }
  trigger { name: "g2" event: TRIGGER_EVENT_INSERT update_column: "id" function: "f" }
  trigger { name: "g3" event: TRIGGER_EVENT_INSERT constraint: true function: "f" }
  trigger { name: "g4" event: TRIGGER_EVENT_INSERT function: "f(); DROP TABLE t; --" }
}
)reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"r.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("r.textproto:1:1: function[0]: function \"f1\" is in language "
                                 "\"c\"; a registry declares only sql and plpgsql functions"));
  EXPECT_THAT(message, HasSubstr("r.textproto:2:1: function[1]: arguments \"\" and returns \"int "
                                 "LANGUAGE c\" is not an argument list and a return type (it adds "
                                 "function options)"));
  EXPECT_THAT(message, HasSubstr("r.textproto:3:1: function[2]: arguments \"a int) RETURNS int "
                                 "LANGUAGE c AS 'x' --\""));
  EXPECT_THAT(message, HasSubstr("r.textproto:4:71: function[3].config[0]: setting \"search_path "
                                 "= public; DROP TABLE t\" is not one setting"));
  EXPECT_THAT(message, HasSubstr("r.textproto:5:1: function[4]: function \"f5\" has no body"));
  EXPECT_THAT(message,
              HasSubstr("r.textproto:6:1: function[5]: procedure \"f6\" cannot have returns"));
  EXPECT_THAT(message, HasSubstr("table[0].trigger[0]: trigger \"g1\" has no event"));
  EXPECT_THAT(message, HasSubstr("table[0].trigger[1]: trigger \"g2\" lists update_column but "
                                 "not the UPDATE event"));
  EXPECT_THAT(message, HasSubstr("table[0].trigger[2]: trigger \"g3\" is a constraint trigger: it "
                                 "must be AFTER and FOR EACH ROW"));
  EXPECT_THAT(message,
              HasSubstr("table[0].trigger[3]: trigger function \"f(); DROP TABLE t; --\""));
}

}  // namespace
}  // namespace schemad

namespace schemad {
namespace {

TEST(RegistryIdentityOptionsTest, ReportsOptionsWithoutIdentityAndImpossibleValues) {
  const std::string text = R"reg(table {
  name: "t"
  column { name: "a" type: "bigint" identity_options { start: 5 } }
  column { name: "b" type: "bigint" identity: IDENTITY_ALWAYS
           identity_options { increment: 0 cache: 0 min_value: 10 max_value: 10 } }
  column { name: "c" type: "bigint" identity: IDENTITY_ALWAYS identity_options { start: 7 } }
})reg";
  absl::StatusOr<Registry> r =
      LoadRegistry(std::vector<RegistrySource>{{"t.textproto", text}}, "test");
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, ::testing::HasSubstr(
                           "t.textproto:3:3: table[0].column[0]: column \"a\" has identity_options "
                           "but is not an identity column"));
  EXPECT_THAT(message, ::testing::HasSubstr("identity_options.increment: must not be zero"));
  EXPECT_THAT(message, ::testing::HasSubstr("identity_options.cache: must be at least 1"));
  EXPECT_THAT(message, ::testing::HasSubstr("min_value must be less than max_value"));
  EXPECT_THAT(message, ::testing::HasSubstr("(4 errors)"));
}

}  // namespace
}  // namespace schemad
