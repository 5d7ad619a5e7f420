// Offline SQL shape checks (libpg_query): each registry field must be
// exactly one expression, one type name, one identifier or one qualified
// name, whatever it tries to close, comment out or stack.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/sqlparse/shape.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;

bool Accepts(const std::string& text, SqlShape shape) {
  return !CheckShape(text, shape).has_value();
}

TEST(SqlShapeTest, AcceptsSingleExpressions) {
  for (const char* expr : {"size_bytes >= 0", "lower(email)", "now()", "'{}'::jsonb",
                           "status IN ('pending', 'processing')", "x > 0 /* note */",
                           "x > 0 -- note\n", "to_tsvector('english'::regconfig, coalesce(t, ''))",
                           "CASE WHEN a THEN 1 ELSE 2 END", "'a;b' || ')'"}) {
    EXPECT_TRUE(Accepts(expr, SqlShape::kExpression)) << expr;
  }
}

TEST(SqlShapeTest, RefusesExpressionsThatStackOrEscape) {
  for (const char* expr : {
           "true)); COMMIT; DROP TABLE public.victims; COMMIT; BEGIN; SELECT ((1",
           "1) ; DROP TABLE x; SELECT (1",
           "(1) FROM pg_sleep(10) --",  // a FROM clause, and a comment eating ")"
           "1) FROM pg_sleep(10) WHERE (true",
           "x>0), y int, CHECK (true",  // a column inside one CREATE TABLE
           "x > 0 --",                  // would swallow the closing parenthesis
           "x > 0 /*",
           "(SELECT 1)",  // subquery
           "1), (2",      // two targets
           "",
       }) {
    EXPECT_FALSE(Accepts(expr, SqlShape::kExpression)) << expr;
  }
}

TEST(SqlShapeTest, TypeNamesAreExactlyOneType) {
  for (const char* type :
       {"bigint", "character varying(320)", "double precision[]", "timestamp(3) with time zone",
        "user_role", "\"My Type\"", "public.user_role", "bigserial", "numeric(10, 2)"}) {
    EXPECT_TRUE(Accepts(type, SqlShape::kTypeName)) << type;
  }
  for (const char* type : {"int, y int", "int) , (y", "int --", "int COLLATE \"C\"",
                           "int DEFAULT 5", "int); DROP TABLE x; SELECT (1", "1"}) {
    EXPECT_FALSE(Accepts(type, SqlShape::kTypeName)) << type;
  }
}

TEST(SqlShapeTest, MethodsAndOperatorClassesAreNames) {
  EXPECT_TRUE(Accepts("btree", SqlShape::kIdentifier));
  EXPECT_TRUE(Accepts("gin", SqlShape::kIdentifier));
  EXPECT_FALSE(Accepts("btree (id); DROP TABLE x; --", SqlShape::kIdentifier));
  EXPECT_FALSE(Accepts("\"btree\"", SqlShape::kIdentifier));
  EXPECT_TRUE(Accepts("text_pattern_ops", SqlShape::kQualifiedName));
  EXPECT_TRUE(Accepts("ext.gin_trgm_ops", SqlShape::kQualifiedName));
  EXPECT_TRUE(Accepts("\"odd\"\"schema\".\"ops\"", SqlShape::kQualifiedName));
  EXPECT_FALSE(Accepts("text_ops); DROP TABLE x; --", SqlShape::kQualifiedName));
  EXPECT_FALSE(Accepts("a.b.c", SqlShape::kQualifiedName));
  EXPECT_FALSE(Accepts("\"unterminated", SqlShape::kQualifiedName));
}

TEST(SqlShapeTest, RoutineBodiesAreOneSqlStandardBodyAndNothingAfterIt) {
  for (const char* body : {"RETURN a + b", "RETURN (add(a, b) + \"zz inc\"(a))",
                           "BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND",
                           "BEGIN ATOMIC INSERT INTO t VALUES (1); END"}) {
    EXPECT_TRUE(Accepts(body, SqlShape::kRoutineBody)) << body;
  }
  for (const char* body : {"SELECT 1", "RETURN 1; DROP TABLE users", "RETURN 1 --", "RETURN 1 /*",
                           "BEGIN ATOMIC SELECT 1; END; DROP TABLE users", "AS 'SELECT 1'",
                           "RETURN 1 SECURITY DEFINER", ""}) {
    EXPECT_FALSE(Accepts(body, SqlShape::kRoutineBody)) << body;
  }
}

TEST(SqlShapeTest, ExclusionConstraintsAreOneExcludeAndNothingAfterIt) {
  for (const char* def :
       {"EXCLUDE USING gist (room WITH =, during WITH &&)",
        "EXCLUDE USING btree (lower(title) WITH =) INCLUDE (id) WITH (fillfactor=70) WHERE (n > 0) "
        "DEFERRABLE INITIALLY DEFERRED"}) {
    EXPECT_TRUE(Accepts(def, SqlShape::kExclusionConstraint)) << def;
  }
  for (const char* def : {"CHECK (true)", "UNIQUE (a)", "EXCLUDE USING btree (a WITH =) --",
                          "EXCLUDE USING btree (a WITH =), DROP COLUMN a",
                          "EXCLUDE USING btree (a WITH =); DROP TABLE users", "EXCLUDE"}) {
    EXPECT_FALSE(Accepts(def, SqlShape::kExclusionConstraint)) << def;
  }
}

TEST(SqlShapeTest, RefusesNulBytesWithTheirOffset) {
  const std::string text("x > 0\0; DROP TABLE users", 24);
  const std::optional<ShapeError> error = CheckShape(text, SqlShape::kExpression);
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->message, HasSubstr("NUL"));
  EXPECT_EQ(error->offset, 5);
}

TEST(SqlShapeTest, SyntaxErrorsPointIntoTheField) {
  const std::optional<ShapeError> error = CheckShape("a +\n  + FROM", SqlShape::kExpression);
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(error->message, HasSubstr("syntax error at or near \"FROM\""));
  const LineColumn at = OffsetToLineColumn("a +\n  + FROM", error->offset);
  EXPECT_EQ(at.line, 2);
  EXPECT_EQ(at.column, 5);
}

TEST(SqlShapeTest, OffsetToLineColumnCountsLinesAndClampsPastTheEnd) {
  EXPECT_EQ(OffsetToLineColumn("abc", 0).line, 1);
  EXPECT_EQ(OffsetToLineColumn("abc", 0).column, 1);
  EXPECT_EQ(OffsetToLineColumn("a\nbc", 3).line, 2);
  EXPECT_EQ(OffsetToLineColumn("a\nbc", 3).column, 2);
  EXPECT_EQ(OffsetToLineColumn("a\nbc", 99).column, 3);
  EXPECT_EQ(OffsetToLineColumn("a\nbc", -4).column, 1);
  // LineIndex maps as the loop over the text does, empty lines and a
  // trailing line break included.
  const std::string text = "ab\n\n\ncd\ne\n";
  const LineIndex index(text);
  int line = 1;
  int column = 1;
  for (int offset = 0; offset <= static_cast<int>(text.size()) + 2; ++offset) {
    EXPECT_EQ(index.At(offset).line, line) << offset;
    EXPECT_EQ(index.At(offset).column, column) << offset;
    if (offset < static_cast<int>(text.size())) {
      if (text[offset] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
  }
}

TEST(SqlShapeTest, IdentifiersPostgreSQLWouldShortenAreFoundWhereTheyAre) {
  const std::string id63(63, 'a');
  const std::string id64 = std::string(64, 'b');
  EXPECT_TRUE(OverlongIdentifiers("SELECT " + id63 + " FROM t").empty());
  const std::string text = "SELECT x FROM " + id64 + " WHERE \"" + std::string(60, 'c') +
                           "\"\"\"\"\" > 0 AND \"" + std::string(62, 'd') + "\"\"\" = '" +
                           std::string(100, 'e') + "'";
  const std::vector<ShapeError> found = OverlongIdentifiers(text);
  // Only the bare one: a doubled quote counts once, so the quoted ones are
  // 62 and 63 bytes; the string literal is no identifier.
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].offset, 14);
  EXPECT_THAT(found[0].message, HasSubstr("of 64 bytes; PostgreSQL keeps at most 63"));
  EXPECT_THAT(found[0].message, HasSubstr("\"" + std::string(63, 'b') + "...\""));

  const std::vector<ShapeError> quoted =
      OverlongIdentifiers("SELECT \"" + std::string(64, 'Q') + "\"");
  ASSERT_EQ(quoted.size(), 1u);
  EXPECT_EQ(quoted[0].offset, 7);
  // A function body is a string: what is inside is not scanned here.
  EXPECT_TRUE(OverlongIdentifiers("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT " +
                                  id64 + " $$")
                  .empty());
  // The shape checks refuse them too, at their offset.
  const std::optional<ShapeError> e = CheckShape(id64 + " > 0", SqlShape::kExpression);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->offset, 0);
  EXPECT_THAT(e->message, HasSubstr("would shorten it silently"));
  EXPECT_FALSE(Accepts("x IN (SELECT 1 FROM " + id64 + ")", SqlShape::kQuery));
  EXPECT_TRUE(Accepts(id63 + " > 0", SqlShape::kExpression));
  EXPECT_TRUE(CheckFunctionSignature(id64 + " integer", "integer", false).has_value());
}

TEST(SqlShapeTest, SqlFilesReportEveryOverlongIdentifier) {
  std::vector<SqlFileError> errors;
  const std::string id70(70, 'n');
  const std::vector<SqlStatement> statements = ClassifySqlFile(
      "CREATE TABLE " + id70 + " (id int);\nCREATE INDEX ix ON t (" + id70 + ");\n", &errors);
  EXPECT_EQ(statements.size(), 2u);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].offset, 13);
  EXPECT_EQ(errors[1].offset, 13 + 70 + 11 + 22);
  EXPECT_THAT(errors[0].message, HasSubstr("of 70 bytes"));
}

TEST(SqlShapeTest, EachStatementIsReadAloneAndATreeTooLargeIsRefusedWhereItIs) {
  // 60,000 alternatives: a parse tree of about 13 MB, over the 4 MB read.
  std::string big = "CREATE TABLE big (a int CHECK (a = 0";
  for (int i = 1; i < 60000; ++i) absl::StrAppend(&big, " OR a = ", i);
  big += "));\n";
  const std::string before = "CREATE TABLE small (a int);\n";
  const std::string after =
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
      "CREATE VIEW v AS SELECT 1 AS one;\n";
  std::vector<SqlFileError> errors;
  const std::vector<SqlStatement> statements = ClassifySqlFile(before + big + after, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].offset, static_cast<int>(before.size()));
  EXPECT_THAT(errors[0].message, HasSubstr("is too large to check: its parse tree takes"));
  // The statements around it are read, a SQL-standard body's own
  // semicolons included.
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0].name, "small");
  EXPECT_EQ(statements[1].kind, SqlStatementKind::kFunction);
  EXPECT_THAT(statements[1].text, HasSubstr("SELECT 2; END"));
  EXPECT_EQ(statements[2].name, "v");
  EXPECT_EQ(statements[2].offset,
            static_cast<int>(before.size() + big.size() + after.find("CREATE VIEW")));
  // The same bound holds for a registry field.
  std::string expression = "a = 0";
  for (int i = 1; i < 60000; ++i) absl::StrAppend(&expression, " OR a = ", i);
  const std::optional<ShapeError> e = CheckShape(expression, SqlShape::kExpression);
  ASSERT_TRUE(e.has_value());
  EXPECT_THAT(e->message, HasSubstr("is too large to check"));
}

}  // namespace
}  // namespace schemad
