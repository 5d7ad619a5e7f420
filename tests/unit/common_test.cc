// schemad_common alone: identifier and literal quoting, temporary names,
// ignore globs, fingerprints.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"

namespace schemad {
namespace {

TEST(IdentifierTest, QuotesOnlyWhatNeedsQuoting) {
  EXPECT_EQ(QuoteIdent("users"), "users");
  EXPECT_EQ(QuoteIdent("_x1"), "_x1");
  EXPECT_EQ(QuoteIdent("x$"), "\"x$\"");  // as PostgreSQL's quote_ident
  EXPECT_EQ(QuoteIdent("Users"), "\"Users\"");
  EXPECT_EQ(QuoteIdent("select"), "\"select\"");  // a reserved word
  EXPECT_EQ(QuoteIdent("1st"), "\"1st\"");
  EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdent("x; DROP TABLE t"), "\"x; DROP TABLE t\"");
  EXPECT_EQ(QualifiedName("public", "Items"), "public.\"Items\"");
  EXPECT_EQ(QualifiedName("", "items"), "items");
}

TEST(IdentifierTest, LiteralsDoubleQuotesAndEscapeBackslashes) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
}

TEST(IdentifierTest, TemporaryNamesAreStableBoundedAndRecognised) {
  const std::string name = TemporaryName("ix", "chunks", "ix_chunks_document");
  EXPECT_EQ(name, TemporaryName("ix", "chunks", "ix_chunks_document"));
  EXPECT_NE(name, TemporaryName("ix", "chunks", "ix_chunks_other"));
  EXPECT_LE(name.size(), kMaxIdentifierBytes);
  EXPECT_TRUE(IsTemporaryName(name));
  EXPECT_FALSE(IsTemporaryName("ix_chunks_document"));
  EXPECT_EQ(name.rfind(std::string(kTemporaryPrefix), 0), 0u);
}

TEST(IdentifierTest, GlobsMatchRunsAndSingleCharacters) {
  EXPECT_TRUE(GlobMatch("alembic_*", "alembic_version"));
  EXPECT_TRUE(GlobMatch("t?", "t1"));
  EXPECT_FALSE(GlobMatch("t?", "t12"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("audit", "audit_log"));
}

TEST(FingerprintTest, FieldBoundariesCount) {
  Fingerprinter a, b, c;
  a.Add("ab");
  a.Add("c");
  b.Add("a");
  b.Add("bc");
  c.Add("ab");
  c.Add("c");
  EXPECT_NE(a.Hex(), b.Hex());
  EXPECT_EQ(a.Hex(), c.Hex());
  EXPECT_EQ(a.Hex().size(), 32u);
}

}  // namespace
}  // namespace schemad
