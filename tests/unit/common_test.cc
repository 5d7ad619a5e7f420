// schemad_common alone: identifier and literal quoting, temporary names,
// ignore globs, fingerprints, UTF-8 validation.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/common/file.h"
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

TEST(Utf8Test, FindsTheFirstByteThatIsNotPartOfAWellFormedSequence) {
  using namespace std::string_literals;
  EXPECT_EQ(FirstInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("plain ascii\n"), std::nullopt);
  // 2, 3 and 4 bytes: é, €, U+10FFFF (the last code point), U+1F600.
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf \xf0\x9f\x98\x80"),
            std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("ab\xff"), 2u);                      // never a UTF-8 byte
  EXPECT_EQ(FirstInvalidUtf8("a\x80"), 1u);                       // a lone continuation
  EXPECT_EQ(FirstInvalidUtf8("\xc0\x80"), 0u);                    // overlong NUL
  EXPECT_EQ(FirstInvalidUtf8("x\xe0\x80\xaf"), 1u);               // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xed\xa0\x80"), 0u);                // a surrogate (U+D800)
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0u);            // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ok \xe2\x82"), 3u);                 // cut short at the end
  EXPECT_EQ(FirstInvalidUtf8("\xe2\x82(x"), 0u);                  // cut short mid-text
  EXPECT_EQ(FirstInvalidUtf8("\xc3\xa9\xc3"), 2u);                // valid, then cut short
  EXPECT_EQ(FirstInvalidUtf8("nul \0 is UTF-8"s), std::nullopt);  // NUL is refused elsewhere
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(ValidUtf8("a\xff\xc3(b\xe2\x82"), "a\\xff\\xc3(b\\xe2\\x82");
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
