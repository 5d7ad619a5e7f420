// SQL identifiers and literals: the one place DDL text quotes names.
//
//   QuoteIdent("users")      -> users
//   QuoteIdent("User Table") -> "User Table"
//   QuoteIdent("user")       -> "user"   (a reserved word)
//   QuoteLiteral("it's")     -> 'it''s'
//
// QuoteIdent follows PostgreSQL's quote_ident(): names that are lower-case
// simple identifiers and not keywords stay bare; everything else is
// double-quoted with embedded quotes doubled. Thread-safe (pure functions).
#ifndef SCHEMAD_COMMON_IDENTIFIER_H_
#define SCHEMAD_COMMON_IDENTIFIER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace schemad {

// PostgreSQL's NAMEDATALEN - 1: the longest identifier it keeps.
inline constexpr size_t kMaxIdentifierBytes = 63;

// Returns `name` quoted as a SQL identifier when it needs quoting.
std::string QuoteIdent(absl::string_view name);

// Returns "schema.name", each part quoted as needed; just the name for an
// empty schema (SQL registry files name objects unqualified).
std::string QualifiedName(absl::string_view schema, absl::string_view name);

// Returns `value` as a SQL string literal ('...' with quotes doubled; E'...'
// when it holds a backslash).
std::string QuoteLiteral(absl::string_view value);

// Names of the objects online recipes build and drop on their own
// (replacement indexes, NOT NULL checks) begin with this prefix. A registry
// may not declare such a name; the differ never reports one as extra; the
// planner recognises leftovers of an interrupted run and finishes or
// removes them.
inline constexpr absl::string_view kTemporaryPrefix = "schemad_tmp_";

// "schemad_tmp_<purpose>_<16 hex digits>" (at most 63 bytes for a purpose
// of up to 8 characters): the hash names `table` and `object`, so that a
// later run finds the temporary object of the same recipe again.
std::string TemporaryName(absl::string_view purpose, absl::string_view table,
                          absl::string_view object);

// Whether `name` is in the temporary namespace (kTemporaryPrefix).
bool IsTemporaryName(absl::string_view name);

// Returns whether `name` matches the glob `pattern` (`*` any run, `?` one
// character).
bool GlobMatch(absl::string_view pattern, absl::string_view name);

}  // namespace schemad

#endif  // SCHEMAD_COMMON_IDENTIFIER_H_
