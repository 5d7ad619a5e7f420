#include "schemad/sqlparse/shape.h"

#include <pg_query.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/wire_format_lite.h"
#include "schemad/common/identifier.h"

namespace schemad {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The largest parse tree (libpg_query's JSON) read into a Struct, which
// takes about 25 times its size: a bound on the memory and time one
// statement or field can cost (a CHECK with an IN list of 40,000 values is
// well within it; a 1,000-column view's tree is 0.25 MB).
constexpr size_t kMaxParseTreeBytes = 4 << 20;

// Parses `sql` into libpg_query's JSON parse tree. On a syntax error,
// returns nothing and fills `error` (offset relative to `prefix_len`).
std::optional<Struct> Parse(const std::string& sql, size_t prefix_len, size_t text_len,
                            ShapeError* error) {
  PgQueryParseResult result = pg_query_parse(sql.c_str());
  std::optional<Struct> tree;
  if (result.error != nullptr) {
    error->message = result.error->message;
    const int position = result.error->cursorpos - 1 - static_cast<int>(prefix_len);
    error->offset = std::clamp(position, 0, static_cast<int>(text_len));
  } else if (const size_t size = std::strlen(result.parse_tree); size > kMaxParseTreeBytes) {
    error->message =
        absl::StrCat("is too large to check: its parse tree takes ", size, " bytes, more than the ",
                     kMaxParseTreeBytes, " schemad reads (split it into smaller statements)");
    error->offset = 0;
  } else {
    Struct parsed;
    if (google::protobuf::util::JsonStringToMessage(result.parse_tree, &parsed).ok()) {
      tree = std::move(parsed);
    } else {
      error->message = "the SQL parser's output could not be read";
    }
  }
  pg_query_free_parse_result(result);
  return tree;
}

const Value* Field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

// True when `s` has no field outside `allowed`.
bool OnlyFields(const Struct& s, std::initializer_list<const char*> allowed) {
  for (const auto& field : s.fields()) {
    const std::string& name = field.first;
    if (std::find_if(allowed.begin(), allowed.end(),
                     [&name](const char* a) { return name == a; }) == allowed.end()) {
      return false;
    }
  }
  return true;
}

// The node type of a one-key node object ({"SelectStmt": {...}}).
std::string NodeType(const Value& node) {
  if (node.kind_case() != Value::kStructValue || node.struct_value().fields_size() != 1) return "";
  return node.struct_value().fields().begin()->first;
}

const Struct& NodeBody(const Value& node) {
  return node.struct_value().fields().begin()->second.struct_value();
}

bool Contains(const Value& v, const char* node_type) {
  switch (v.kind_case()) {
    case Value::kStructValue:
      for (const auto& [name, child] : v.struct_value().fields()) {
        if (name == node_type || Contains(child, node_type)) return true;
      }
      return false;
    case Value::kListValue:
      for (const Value& child : v.list_value().values()) {
        if (Contains(child, node_type)) return true;
      }
      return false;
    default:
      return false;
  }
}

// The value of the one target of a plain `SELECT <target>` (no FROM,
// WHERE, GROUP BY, ...), or null when the tree is anything else.
const Value* SoleTarget(const Struct& tree) {
  const Value* stmts = Field(tree, "stmts");
  if (stmts == nullptr || stmts->list_value().values_size() != 1) return nullptr;
  const Value& raw = stmts->list_value().values(0);
  const Value* stmt = Field(raw.struct_value(), "stmt");
  if (stmt == nullptr || NodeType(*stmt) != "SelectStmt") return nullptr;
  const Struct& select = NodeBody(*stmt);
  if (!OnlyFields(select, {"targetList", "limitOption", "op"})) return nullptr;
  const Value* op = Field(select, "op");
  if (op != nullptr && op->string_value() != "SETOP_NONE") return nullptr;
  const Value* limit = Field(select, "limitOption");
  if (limit != nullptr && limit->string_value() != "LIMIT_OPTION_DEFAULT") return nullptr;
  const Value* targets = Field(select, "targetList");
  if (targets == nullptr || targets->list_value().values_size() != 1) return nullptr;
  const Value& target = targets->list_value().values(0);
  if (NodeType(target) != "ResTarget") return nullptr;
  const Struct& res = NodeBody(target);
  if (!OnlyFields(res, {"val", "location"})) return nullptr;
  return Field(res, "val");
}

std::string Str(const Struct& s, const char* name) {
  const Value* v = Field(s, name);
  return v == nullptr ? "" : v->string_value();
}

// The statement of a one-statement tree, or null.
const Value* SoleStatement(const Struct& tree) {
  const Value* stmts = Field(tree, "stmts");
  if (stmts == nullptr || stmts->list_value().values_size() != 1) return nullptr;
  return Field(stmts->list_value().values(0).struct_value(), "stmt");
}

bool IsPlainIdentifier(absl::string_view text) {
  if (text.empty()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = (c >= '0' && c <= '9') || c == '$';
    if (!letter && !(i > 0 && digit)) return false;
  }
  return true;
}

// A plain or double-quoted identifier; `text` is consumed up to the end of
// it. Returns false for anything else.
bool ConsumeIdentifier(absl::string_view* text) {
  if (text->empty()) return false;
  if ((*text)[0] == '"') {
    size_t i = 1;
    for (; i < text->size(); ++i) {
      if ((*text)[i] != '"') continue;
      if (i + 1 < text->size() && (*text)[i + 1] == '"') {
        ++i;
        continue;
      }
      break;
    }
    if (i >= text->size() || i == 1) return false;
    text->remove_prefix(i + 1);
    return true;
  }
  size_t i = 0;
  while (i < text->size() && (*text)[i] != '.') ++i;
  if (!IsPlainIdentifier(text->substr(0, i))) return false;
  text->remove_prefix(i);
  return true;
}

// One token of libpg_query's scan: byte offsets [start, end) and its kind.
struct ScanToken {
  int start = 0;
  int end = 0;
  int token = 0;
};

// PostgreSQL's scanner's tokens for `text`, read from libpg_query's
// ScanResult message (pg_query.proto: `repeated ScanToken tokens = 2`;
// ScanToken: `int32 start = 1; int32 end = 2; Token token = 4`). Nothing
// when the scanner fails.
std::vector<ScanToken> Scan(absl::string_view text) {
  using google::protobuf::internal::WireFormatLite;
  std::vector<ScanToken> out;
  PgQueryScanResult result = pg_query_scan(std::string(text).c_str());
  if (result.error == nullptr) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(result.pbuf.data),
                                              static_cast<int>(result.pbuf.len));
    while (const uint32_t tag = in.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) != 2 ||
          WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
        if (!WireFormatLite::SkipField(&in, tag)) break;
        continue;
      }
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) break;
      const auto limit = in.PushLimit(static_cast<int>(length));
      ScanToken token;
      while (const uint32_t field = in.ReadTag()) {
        uint32_t value = 0;
        switch (WireFormatLite::GetTagFieldNumber(field)) {
          case 1:
            if (in.ReadVarint32(&value)) token.start = static_cast<int>(value);
            break;
          case 2:
            if (in.ReadVarint32(&value)) token.end = static_cast<int>(value);
            break;
          case 4:
            if (in.ReadVarint32(&value)) token.token = static_cast<int>(value);
            break;
          default:
            WireFormatLite::SkipField(&in, field);
        }
      }
      in.PopLimit(limit);
      out.push_back(token);
    }
  }
  pg_query_free_scan_result(result);
  return out;
}

}  // namespace

std::vector<ShapeError> OverlongIdentifiers(absl::string_view text) {
  // pg_query.proto's Token: IDENT (bare or "quoted") and UIDENT (U&"...").
  constexpr int kIdent = 258;
  constexpr int kUnicodeIdent = 259;
  std::vector<ShapeError> out;
  // Cheap first: no identifier can be longer than the text.
  if (text.size() <= kMaxIdentifierBytes) return out;
  for (const ScanToken& t : Scan(text)) {
    if (t.token != kIdent && t.token != kUnicodeIdent) continue;
    if (t.start < 0 || t.end > static_cast<int>(text.size()) || t.start >= t.end) continue;
    absl::string_view raw = text.substr(t.start, t.end - t.start);
    // A bare identifier keeps its bytes (PostgreSQL folds ASCII letters to
    // lower case only); a quoted one loses its quotes and doubled quotes.
    // U&"..." ones are left alone: their escapes would need decoding.
    std::string name(raw);
    if (absl::StartsWith(raw, "\"") && absl::EndsWith(raw, "\"") && raw.size() >= 2) {
      name = absl::StrReplaceAll(raw.substr(1, raw.size() - 2), {{"\"\"", "\""}});
    } else if (t.token == kUnicodeIdent) {
      continue;
    }
    if (name.size() <= kMaxIdentifierBytes) continue;
    out.push_back({absl::StrCat("has an identifier \"", name.substr(0, kMaxIdentifierBytes),
                                "...\" of ", name.size(), " bytes; PostgreSQL keeps at most ",
                                kMaxIdentifierBytes, " and would shorten it silently"),
                   t.start});
  }
  return out;
}

std::optional<ShapeError> CheckShape(absl::string_view text, SqlShape shape) {
  const size_t nul = text.find('\0');
  if (nul != absl::string_view::npos) {
    return ShapeError{"holds a NUL byte", static_cast<int>(nul)};
  }
  if (std::vector<ShapeError> overlong = OverlongIdentifiers(text); !overlong.empty()) {
    return overlong.front();
  }
  switch (shape) {
    case SqlShape::kIdentifier:
      if (IsPlainIdentifier(text)) return std::nullopt;
      return ShapeError{"must be a plain identifier (letters, digits, _ and $)", 0};
    case SqlShape::kQualifiedName: {
      absl::string_view rest = text;
      for (int part = 0; part < 2; ++part) {
        if (!ConsumeIdentifier(&rest)) break;
        if (rest.empty()) return std::nullopt;
        if (rest[0] != '.') break;
        rest.remove_prefix(1);
      }
      return ShapeError{"must be a name, optionally schema-qualified (schema.name)",
                        static_cast<int>(text.size() - rest.size())};
    }
    case SqlShape::kQuery: {
      const std::string prefix = "CREATE VIEW v AS ";
      const std::string suffix = "\nWITH CASCADED CHECK OPTION";
      const std::string sql = absl::StrCat(prefix, text, suffix);
      ShapeError error;
      std::optional<Struct> tree = Parse(sql, prefix.size(), text.size(), &error);
      if (!tree.has_value()) {
        error.message = absl::StrCat("is not one SQL query: ", error.message);
        return error;
      }
      const Value* stmt = SoleStatement(*tree);
      if (stmt == nullptr || NodeType(*stmt) != "ViewStmt") {
        return ShapeError{"is not one SQL query (it adds statements)", -1};
      }
      const Value* check = Field(NodeBody(*stmt), "withCheckOption");
      if (check == nullptr || check->string_value() != "CASCADED_CHECK_OPTION") {
        return ShapeError{"is not one SQL query (a comment or clause swallows what follows it)",
                          -1};
      }
      return std::nullopt;
    }
    case SqlShape::kRoutineBody: {
      const std::string prefix = "CREATE FUNCTION f() RETURNS integer LANGUAGE sql\n";
      // A second statement right after it (on the same line: a script puts
      // its semicolon there): the body must end where it seems to.
      ShapeError error;
      std::optional<Struct> tree =
          Parse(absl::StrCat(prefix, text, " ;SELECT 1"), prefix.size(), text.size(), &error);
      if (!tree.has_value()) {
        error.message = absl::StrCat(
            "is not a SQL-standard body (RETURN ... or BEGIN ATOMIC ... "
            "END): ",
            error.message);
        return error;
      }
      const Value* stmts = Field(*tree, "stmts");
      if (stmts == nullptr || stmts->list_value().values_size() != 2) {
        return ShapeError{
            "is not one SQL-standard body (it adds statements, or a comment "
            "swallows what follows it)",
            -1};
      }
      const Value* stmt = Field(stmts->list_value().values(0).struct_value(), "stmt");
      if (stmt == nullptr || NodeType(*stmt) != "CreateFunctionStmt" ||
          Field(NodeBody(*stmt), "sql_body") == nullptr) {
        return ShapeError{"is not a SQL-standard body (RETURN ... or BEGIN ATOMIC ... END)", -1};
      }
      return std::nullopt;
    }
    case SqlShape::kExclusionConstraint: {
      const std::string prefix = "ALTER TABLE t ADD CONSTRAINT c ";
      // A second command after it: a comment must not swallow what
      // follows the constraint where CREATE TABLE writes it.
      ShapeError error;
      std::optional<Struct> tree =
          Parse(absl::StrCat(prefix, text, ", ADD CONSTRAINT d CHECK (true)"), prefix.size(),
                text.size(), &error);
      if (!tree.has_value()) {
        error.message = absl::StrCat("is not one EXCLUDE constraint: ", error.message);
        return error;
      }
      const Value* stmt = SoleStatement(*tree);
      const Value* cmds = stmt != nullptr && NodeType(*stmt) == "AlterTableStmt"
                              ? Field(NodeBody(*stmt), "cmds")
                              : nullptr;
      if (cmds == nullptr || cmds->list_value().values_size() != 2) {
        return ShapeError{
            "is not one EXCLUDE constraint (it adds commands or statements, or a "
            "comment swallows what follows it)",
            -1};
      }
      const Value* def = Field(NodeBody(cmds->list_value().values(0)), "def");
      if (def == nullptr || NodeType(*def) != "Constraint" ||
          Str(NodeBody(*def), "contype") != "CONSTR_EXCLUSION") {
        return ShapeError{
            "is not an EXCLUDE constraint (EXCLUDE USING method (element WITH "
            "operator, ...))",
            -1};
      }
      return std::nullopt;
    }
    case SqlShape::kSetting: {
      const std::string prefix = "SET ";
      ShapeError error;
      std::optional<Struct> tree =
          Parse(absl::StrCat(prefix, text), prefix.size(), text.size(), &error);
      if (!tree.has_value()) {
        error.message = absl::StrCat("is not one setting (name = value): ", error.message);
        return error;
      }
      const Value* stmt = SoleStatement(*tree);
      if (stmt == nullptr || NodeType(*stmt) != "VariableSetStmt") {
        return ShapeError{"is not one setting (name = value)", -1};
      }
      const Value* kind = Field(NodeBody(*stmt), "kind");
      if (kind == nullptr || kind->string_value() != "VAR_SET_VALUE" ||
          Field(NodeBody(*stmt), "is_local") != nullptr) {
        return ShapeError{"is not one setting with a value (name = value)", -1};
      }
      return std::nullopt;
    }
    case SqlShape::kExpression:
    case SqlShape::kTypeName: {
      // Wrapped as the DDL composes it (parenthesized), so a comment or an
      // unbalanced parenthesis that would swallow or close the DDL's own
      // parenthesis fails here first.
      const std::string prefix = shape == SqlShape::kExpression ? "SELECT (" : "SELECT (NULL::";
      const std::string sql = absl::StrCat(prefix, text, ")");
      ShapeError error;
      std::optional<Struct> tree = Parse(sql, prefix.size(), text.size(), &error);
      const char* expected =
          shape == SqlShape::kExpression ? "exactly one SQL expression" : "exactly one type name";
      if (!tree.has_value()) {
        error.message = absl::StrCat("is not ", expected, ": ", error.message);
        return error;
      }
      const Value* target = SoleTarget(*tree);
      if (target == nullptr) {
        return ShapeError{
            absl::StrCat("is not ", expected, " (it adds clauses, columns or statements)"), -1};
      }
      if (shape == SqlShape::kExpression) {
        if (Contains(*target, "SubLink")) {
          return ShapeError{"must not contain a subquery", -1};
        }
        return std::nullopt;
      }
      if (NodeType(*target) != "TypeCast") {
        return ShapeError{absl::StrCat("is not ", expected), -1};
      }
      const Struct& cast = NodeBody(*target);
      const Value* arg = Field(cast, "arg");
      if (arg == nullptr || NodeType(*arg) != "A_Const" ||
          Field(NodeBody(*arg), "isnull") == nullptr) {
        return ShapeError{absl::StrCat("is not ", expected), -1};
      }
      return std::nullopt;
    }
  }
  return ShapeError{"unknown shape", -1};
}

std::optional<ShapeError> CheckFunctionSignature(absl::string_view arguments,
                                                 absl::string_view returns, bool procedure) {
  for (absl::string_view text : {arguments, returns}) {
    const size_t nul = text.find('\0');
    if (nul != absl::string_view::npos) return ShapeError{"holds a NUL byte", -1};
    if (std::vector<ShapeError> overlong = OverlongIdentifiers(text); !overlong.empty()) {
      return ShapeError{overlong.front().message, -1};
    }
  }
  const std::string sql =
      procedure ? absl::StrCat("CREATE PROCEDURE f(", arguments, "\n) LANGUAGE sql AS ''")
                : absl::StrCat("CREATE FUNCTION f(", arguments, "\n) RETURNS ", returns,
                               "\nLANGUAGE sql AS ''");
  ShapeError error;
  std::optional<Struct> tree = Parse(sql, 0, sql.size(), &error);
  if (!tree.has_value()) {
    return ShapeError{absl::StrCat("is not an argument list and a return type: ", error.message),
                      -1};
  }
  const Value* stmt = SoleStatement(*tree);
  if (stmt == nullptr || NodeType(*stmt) != "CreateFunctionStmt") {
    return ShapeError{"is not an argument list and a return type (it adds statements)", -1};
  }
  // Exactly the one LANGUAGE and AS the composition wrote: the text added
  // no options of its own.
  const Value* options = Field(NodeBody(*stmt), "options");
  if (options == nullptr || options->list_value().values_size() != 2) {
    return ShapeError{"is not an argument list and a return type (it adds function options)", -1};
  }
  return std::nullopt;
}

namespace {

std::vector<std::string> StringList(const Value* list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const Value& item : list->list_value().values()) {
    if (NodeType(item) != "String") continue;
    const Value* text = Field(NodeBody(item), "sval");
    out.push_back(text == nullptr ? "" : text->string_value());
  }
  return out;
}

// The text of the parenthesized WHEN condition of `definition`, found by
// matching parentheses outside literals and quoted identifiers.
std::string WhenText(absl::string_view definition) {
  const size_t each = definition.find(" FOR EACH ");
  const size_t when = definition.find(" WHEN (", each == absl::string_view::npos ? 0 : each);
  if (when == absl::string_view::npos) return "";
  const size_t start = when + 7;
  int depth = 1;
  for (size_t i = start; i < definition.size(); ++i) {
    const char c = definition[i];
    if (c == '\'' || c == '"') {
      for (++i; i < definition.size(); ++i) {
        if (definition[i] != c) continue;
        if (i + 1 < definition.size() && definition[i + 1] == c) {
          ++i;
          continue;
        }
        break;
      }
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth == 0) {
      return std::string(definition.substr(start, i - start));
    }
  }
  return "";
}

std::string QuotedIfNeeded(const std::string& name) {
  bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::optional<TriggerParts> ParseTriggerDefinition(absl::string_view definition) {
  ShapeError error;
  std::optional<Struct> tree = Parse(std::string(definition), 0, definition.size(), &error);
  if (!tree.has_value()) return std::nullopt;
  const Value* stmt = SoleStatement(*tree);
  if (stmt == nullptr || NodeType(*stmt) != "CreateTrigStmt") return std::nullopt;
  const Struct& body = NodeBody(*stmt);
  auto flag = [&](const char* name) {
    const Value* v = Field(body, name);
    return v != nullptr && v->bool_value();
  };
  auto number = [&](const char* name) {
    const Value* v = Field(body, name);
    return v == nullptr ? 0 : static_cast<int>(v->number_value());
  };
  TriggerParts out;
  // PostgreSQL's TRIGGER_TYPE_* bits.
  const int timing = number("timing");
  out.timing = (timing & 2) != 0 ? "BEFORE" : (timing & 64) != 0 ? "INSTEAD OF" : "AFTER";
  const int events = number("events");
  if ((events & 4) != 0) out.events.push_back("INSERT");
  if ((events & 8) != 0) out.events.push_back("DELETE");
  if ((events & 16) != 0) out.events.push_back("UPDATE");
  if ((events & 32) != 0) out.events.push_back("TRUNCATE");
  out.update_columns = StringList(Field(body, "columns"));
  out.for_each_row = flag("row");
  out.when = WhenText(definition);
  std::vector<std::string> name;
  for (const std::string& part : StringList(Field(body, "funcname"))) {
    name.push_back(QuotedIfNeeded(part));
  }
  out.function = absl::StrJoin(name, ".");
  out.arguments = StringList(Field(body, "args"));
  out.constraint = flag("isconstraint");
  out.deferrable = flag("deferrable");
  out.initially_deferred = flag("initdeferred");
  if (const Value* rels = Field(body, "transitionRels"); rels != nullptr) {
    for (const Value& rel : rels->list_value().values()) {
      const Struct& r = NodeBody(rel);
      const Value* is_new = Field(r, "isNew");
      (is_new != nullptr && is_new->bool_value() ? out.new_table : out.old_table) = Str(r, "name");
    }
  }
  return out;
}

namespace {

// Adds to `out` the relation name of every RangeVar under `v` that
// `is_range(key, node)` picks out by its key and has no schema; the
// subtree of a picked RangeVar is not searched further.
void CollectUnqualifiedRanges(const Value& v, bool (*is_range)(const std::string&, const Struct&),
                              std::set<std::string>* out) {
  switch (v.kind_case()) {
    case Value::kStructValue:
      for (const auto& [name, child] : v.struct_value().fields()) {
        if (child.kind_case() == Value::kStructValue && is_range(name, child.struct_value())) {
          const Value* schema = Field(child.struct_value(), "schemaname");
          const Value* relation = Field(child.struct_value(), "relname");
          if (schema == nullptr && relation != nullptr) out->insert(relation->string_value());
          continue;
        }
        CollectUnqualifiedRanges(child, is_range, out);
      }
      return;
    case Value::kListValue:
      for (const Value& child : v.list_value().values()) {
        CollectUnqualifiedRanges(child, is_range, out);
      }
      return;
    default:
      return;
  }
}

// The relations read or written under `v` without a schema: RangeVar nodes,
// and fields typed as one (INSERT/UPDATE/DELETE's target "relation", which
// the JSON does not wrap).
void CollectRelations(const Value& v, std::set<std::string>* out) {
  CollectUnqualifiedRanges(
      v,
      [](const std::string& key, const Struct& node) {
        return key == "RangeVar" || (key == "relation" && Field(node, "relname") != nullptr);
      },
      out);
}

// The tables foreign keys under `v` reference without a schema
// (Constraint.pktable).
void CollectReferencedTables(const Value& v, std::set<std::string>* out) {
  CollectUnqualifiedRanges(
      v, [](const std::string& key, const Struct&) { return key == "pktable"; }, out);
}

}  // namespace

namespace {

// `tree` without locations, keys sorted (SqlStatement::normalized).
std::string Normalized(Struct tree);

const char* kAllowlist =
    "a registry file holds only CREATE TABLE, CREATE [UNIQUE] INDEX, ALTER TABLE ... ADD "
    "CONSTRAINT | ENABLE/DISABLE TRIGGER | ENABLE/FORCE ROW LEVEL SECURITY | REPLICA IDENTITY | "
    "ALTER COLUMN ... SET STORAGE/COMPRESSION/STATISTICS, "
    "CREATE TYPE ... AS "
    "ENUM, CREATE SEQUENCE, ALTER "
    "SEQUENCE ... OWNED BY, CREATE [OR REPLACE] VIEW, CREATE "
    "MATERIALIZED VIEW ... WITH NO DATA, CREATE [OR REPLACE] FUNCTION | PROCEDURE | TRIGGER, "
    "CREATE EXTENSION and COMMENT ON";

// How a refused statement is named in its error.
std::string StatementName(const std::string& node) {
  static const auto* const kNames = new std::map<std::string, std::string>{
      {"DoStmt", "DO"},
      {"CopyStmt", "COPY"},
      {"TransactionStmt", "transaction control (BEGIN, COMMIT, ROLLBACK, ...)"},
      {"VariableSetStmt", "SET"},
      {"VariableShowStmt", "SHOW"},
      {"DropStmt", "DROP"},
      {"InsertStmt", "INSERT"},
      {"UpdateStmt", "UPDATE"},
      {"DeleteStmt", "DELETE"},
      {"SelectStmt", "SELECT"},
      {"TruncateStmt", "TRUNCATE"},
      {"CreateEventTrigStmt", "CREATE EVENT TRIGGER"},
      {"CreateSchemaStmt", "CREATE SCHEMA"},
      {"GrantStmt", "GRANT / REVOKE"},
      {"AlterOwnerStmt", "ALTER ... OWNER TO"},
      {"CreateRoleStmt", "CREATE ROLE"},
      {"CallStmt", "CALL"},
      {"ExecuteStmt", "EXECUTE"},
      {"PrepareStmt", "PREPARE"},
      {"LoadStmt", "LOAD"},
      {"CreateDomainStmt", "CREATE DOMAIN"},
      {"CompositeTypeStmt", "CREATE TYPE ... AS (composite)"},
      {"CreatePolicyStmt", "CREATE POLICY"},
      {"RuleStmt", "CREATE RULE"},
  };
  auto it = kNames->find(node);
  return it != kNames->end() ? it->second : node;
}

const Struct* Child(const Struct& s, const char* name) {
  const Value* v = Field(s, name);
  return v != nullptr && v->kind_case() == Value::kStructValue ? &v->struct_value() : nullptr;
}

}  // namespace

std::vector<SqlStatement> ClassifySqlFile(absl::string_view text,
                                          std::vector<SqlFileError>* errors) {
  std::vector<SqlStatement> out;
  const size_t nul = text.find('\0');
  if (nul != absl::string_view::npos) {
    errors->push_back({"holds a NUL byte", static_cast<int>(nul)});
    return out;
  }
  for (ShapeError& e : OverlongIdentifiers(text))
    errors->push_back({std::move(e.message), e.offset});
  // Split with the parser (which builds no tree to read), then read each
  // statement's tree alone: memory follows the largest statement, not the
  // file. A syntax error is the only error reported for its file.
  std::vector<std::pair<size_t, size_t>> ranges;  // [begin, end) of each statement
  {
    PgQuerySplitResult split = pg_query_split_with_parser(std::string(text).c_str());
    const bool failed = split.error != nullptr;
    if (failed) {
      errors->push_back({split.error->message,
                         std::clamp(split.error->cursorpos - 1, 0, static_cast<int>(text.size()))});
    } else {
      for (int i = 0; i < split.n_stmts; ++i) {
        const size_t begin =
            std::min(static_cast<size_t>(split.stmts[i]->stmt_location), text.size());
        const size_t len = static_cast<size_t>(split.stmts[i]->stmt_len);
        ranges.emplace_back(begin, len == 0 ? text.size() : std::min(begin + len, text.size()));
      }
    }
    pg_query_free_split_result(split);
    if (failed) return out;
  }
  for (const auto& [begin, end] : ranges) {
    size_t start = begin;
    while (start < end && absl::ascii_isspace(static_cast<unsigned char>(text[start]))) ++start;
    SqlStatement st;
    st.offset = static_cast<int>(start);
    st.text = std::string(absl::StripTrailingAsciiWhitespace(text.substr(start, end - start)));
    if (absl::EndsWith(st.text, ";")) st.text.pop_back();
    auto fail = [&](const std::string& message) {
      errors->push_back({message, static_cast<int>(start)});
    };
    ShapeError parse_error;
    const std::string source(text.substr(begin, end - begin));
    std::optional<Struct> tree = Parse(source, 0, source.size(), &parse_error);
    if (!tree.has_value()) {
      errors->push_back(
          {parse_error.message, static_cast<int>(std::max(begin + parse_error.offset, start))});
      continue;
    }
    const Value* stmt = SoleStatement(*tree);
    if (stmt == nullptr) continue;
    const std::string node = NodeType(*stmt);
    const Struct& body = NodeBody(*stmt);
    // A relation the statement creates or changes: never schema-qualified.
    auto relation = [&](const Struct* rel, const char* what) -> std::string {
      if (rel == nullptr) return "";
      const std::string schema = Str(*rel, "schemaname");
      const std::string name = Str(*rel, "relname");
      if (!schema.empty()) {
        fail(absl::StrCat(what, " \"", schema, ".", name,
                          "\" is qualified with a schema: a registry's objects are created in "
                          "its target schema; write \"",
                          name, "\""));
      }
      return name;
    };
    // A name given as a list of parts (types, functions).
    auto unqualified = [&](const Value* names, const char* what) -> std::string {
      std::vector<std::string> parts;
      if (names != nullptr) {
        for (const Value& part : names->list_value().values()) {
          if (NodeType(part) == "String") parts.push_back(Str(NodeBody(part), "sval"));
        }
      }
      if (parts.size() > 1) {
        fail(absl::StrCat(what, " \"", absl::StrJoin(parts, "."),
                          "\" is qualified with a schema: a registry's objects are created in "
                          "its target schema; write \"",
                          parts.back(), "\""));
      }
      return parts.empty() ? "" : parts.back();
    };
    std::set<std::string> reads;
    if (node == "CreateStmt") {
      st.kind = SqlStatementKind::kTable;
      const Struct* rel = Child(body, "relation");
      st.name = relation(rel, "table");
      if (rel != nullptr && Str(*rel, "relpersistence") == "t") {
        fail(absl::StrCat("table \"", st.name,
                          "\" is temporary: a registry declares lasting "
                          "tables"));
      }
      // What the model cannot hold would be dropped without a word (a
      // partition bound would also run its expressions while the registry
      // is checked): PARTITION BY / OF and INHERITS are unmanaged, OF type,
      // USING and TABLESPACE are not read.
      static const auto* const kUnmanaged = new std::vector<std::pair<const char*, const char*>>{
          {"partspec", "PARTITION BY"}, {"partbound", "PARTITION OF"},
          {"inhRelations", "INHERITS"}, {"ofTypename", "OF type"},
          {"accessMethod", "USING"},    {"tablespacename", "TABLESPACE"}};
      for (const auto& [field, clause] : *kUnmanaged) {
        // In field order: a partition (partbound) also names its parent in
        // inhRelations, and is reported as PARTITION OF.
        if (Field(body, field) == nullptr) continue;
        fail(absl::StrCat("table \"", st.name, "\" uses ", clause,
                          ", which a registry does not declare (partitioning and "
                          "inheritance are unmanaged; access methods and tablespaces are not "
                          "read): declare a plain table"));
        break;
      }
    } else if (node == "IndexStmt") {
      st.kind = SqlStatementKind::kIndex;
      st.table = relation(Child(body, "relation"), "table");
      st.name = Str(body, "idxname");
      if (st.name.empty()) fail("CREATE INDEX must name its index");
      if (Field(body, "concurrent") != nullptr) {
        fail(
            "CREATE INDEX CONCURRENTLY cannot be canonicalized (it cannot run in a "
            "transaction): drop CONCURRENTLY; ONLINE mode builds indexes concurrently");
      }
    } else if (node == "AlterTableStmt") {
      st.table = relation(Child(body, "relation"), "table");
      const Value* cmds = Field(body, "cmds");
      bool only_constraints = cmds != nullptr && cmds->list_value().values_size() > 0;
      bool only_trigger_states = only_constraints;
      bool only_row_security = only_constraints;
      bool only_replica_identity = only_constraints;
      bool foreign = false;
      if (cmds != nullptr) {
        for (const Value& cmd : cmds->list_value().values()) {
          const Struct& c = NodeBody(cmd);
          const std::string subtype = Str(c, "subtype");
          if (subtype != "AT_EnableTrig" && subtype != "AT_DisableTrig" &&
              subtype != "AT_EnableReplicaTrig" && subtype != "AT_EnableAlwaysTrig") {
            only_trigger_states = false;
          }
          if (subtype != "AT_EnableRowSecurity" && subtype != "AT_DisableRowSecurity" &&
              subtype != "AT_ForceRowSecurity" && subtype != "AT_NoForceRowSecurity" &&
              subtype != "AT_SetStorage" && subtype != "AT_SetCompression" &&
              subtype != "AT_SetStatistics" && subtype != "AT_SetOptions") {
            only_row_security = false;
          }
          if (subtype != "AT_ReplicaIdentity") only_replica_identity = false;
          if (NodeType(cmd) != "AlterTableCmd" || subtype != "AT_AddConstraint") {
            only_constraints = false;
            continue;
          }
          const Value* def = Field(c, "def");
          if (def != nullptr && NodeType(*def) == "Constraint" &&
              Str(NodeBody(*def), "contype") == "CONSTR_FOREIGN") {
            foreign = true;
          }
        }
      }
      if ((!only_constraints && !only_trigger_states && !only_row_security &&
           !only_replica_identity) ||
          Str(body, "objtype") != "OBJECT_TABLE") {
        fail(absl::StrCat("ALTER ", Str(body, "objtype") == "OBJECT_TABLE" ? "TABLE" : "...",
                          " other than ADD CONSTRAINT, ENABLE/DISABLE TRIGGER, ENABLE/FORCE "
                          "ROW LEVEL SECURITY, REPLICA IDENTITY or ALTER COLUMN ... SET "
                          "STORAGE/COMPRESSION/STATISTICS/(options) is not allowed: ",
                          kAllowlist));
      }
      st.kind = only_replica_identity ? SqlStatementKind::kReplicaIdentity
                : only_row_security   ? SqlStatementKind::kTableProperty
                : only_trigger_states ? SqlStatementKind::kTrigger
                : foreign             ? SqlStatementKind::kForeignKey
                                      : SqlStatementKind::kConstraint;
    } else if (node == "CreateEnumStmt") {
      st.kind = SqlStatementKind::kEnum;
      st.name = unqualified(Field(body, "typeName"), "type");
      const Value* vals = Field(body, "vals");
      if (vals != nullptr) {
        for (const Value& v : vals->list_value().values()) {
          st.values.push_back(Str(NodeBody(v), "sval"));
        }
      }
    } else if (node == "AlterSeqStmt") {
      // Only OWNED BY: the column a sequence belongs to.
      st.kind = SqlStatementKind::kSequenceOwner;
      st.name = relation(Child(body, "sequence"), "sequence");
      const Value* options = Field(body, "options");
      bool only_owner = options != nullptr && options->list_value().values_size() > 0;
      if (options != nullptr) {
        for (const Value& o : options->list_value().values()) {
          only_owner = only_owner && Str(NodeBody(o), "defname") == "owned_by";
        }
      }
      if (!only_owner) {
        fail(absl::StrCat("ALTER SEQUENCE other than OWNED BY is not allowed: ", kAllowlist));
      }
    } else if (node == "CreateSeqStmt") {
      st.kind = SqlStatementKind::kSequence;
      st.name = relation(Child(body, "sequence"), "sequence");
    } else if (node == "CreateFunctionStmt") {
      st.kind = SqlStatementKind::kFunction;
      st.name = unqualified(Field(body, "funcname"), "function");
      std::string language;
      const Value* options = Field(body, "options");
      if (options != nullptr) {
        for (const Value& o : options->list_value().values()) {
          const Struct& d = NodeBody(o);
          if (Str(d, "defname") != "language") continue;
          const Value* arg = Field(d, "arg");
          if (arg != nullptr) language = absl::AsciiStrToLower(Str(NodeBody(*arg), "sval"));
        }
      }
      if (language != "sql" && language != "plpgsql") {
        fail(absl::StrCat("function \"", st.name, "\" is in language \"", language,
                          "\"; a registry declares only sql and plpgsql functions (trusted "
                          "languages: C and untrusted languages run outside the database's "
                          "control)"));
      }
      auto type_names = [&](const Struct* type) {
        if (type == nullptr) return;
        const Value* names = Field(*type, "names");
        if (names == nullptr || names->list_value().values_size() == 0) return;
        const Value& last = names->list_value().values(names->list_value().values_size() - 1);
        reads.insert(Str(NodeBody(last), "sval"));
      };
      const Value* params = Field(body, "parameters");
      if (params != nullptr) {
        for (const Value& p : params->list_value().values()) {
          type_names(Child(NodeBody(p), "argType"));
        }
      }
      type_names(Child(body, "returnType"));
      // A SQL-standard body is bound when the function is created: the
      // relations it names must exist first.
      if (const Value* sql_body = Field(body, "sql_body")) CollectRelations(*sql_body, &reads);
    } else if (node == "ViewStmt") {
      st.kind = SqlStatementKind::kView;
      st.name = relation(Child(body, "view"), "view");
      const Value* query = Field(body, "query");
      if (query != nullptr) CollectRelations(*query, &reads);
    } else if (node == "CreateTableAsStmt") {
      const Struct* into = Child(body, "into");
      if (Str(body, "objtype") != "OBJECT_MATVIEW" || into == nullptr) {
        fail(absl::StrCat("CREATE TABLE ... AS runs a query: ", kAllowlist));
      } else {
        st.kind = SqlStatementKind::kMaterializedView;
        st.name = relation(Child(*into, "rel"), "materialized view");
        if (Field(*into, "skipData") == nullptr) {
          fail(absl::StrCat("materialized view \"", st.name,
                            "\" must be declared WITH NO DATA: its query must not run when "
                            "the registry is read (Initialize fills it)"));
        }
        const Value* query = Field(body, "query");
        if (query != nullptr) CollectRelations(*query, &reads);
      }
    } else if (node == "CreateTrigStmt") {
      st.kind = SqlStatementKind::kTrigger;
      st.table = relation(Child(body, "relation"), "table");
      st.name = Str(body, "trigname");
    } else if (node == "CreateExtensionStmt") {
      st.kind = SqlStatementKind::kExtension;
      st.name = Str(body, "extname");
      const Value* options = Field(body, "options");
      if (options != nullptr) {
        for (const Value& o : options->list_value().values()) {
          const Struct& d = NodeBody(o);
          const Value* arg = Field(d, "arg");
          if (Str(d, "defname") == "schema" && arg != nullptr) {
            st.values.push_back(Str(NodeBody(*arg), "sval"));
          } else {
            fail(absl::StrCat("CREATE EXTENSION takes only a SCHEMA option here"));
          }
        }
      }
    } else if (node == "CommentStmt") {
      st.kind = SqlStatementKind::kComment;
      const std::string objtype = Str(body, "objtype");
      const Value* object = Field(body, "object");
      size_t parts = 0;
      if (object != nullptr && object->kind_case() == Value::kStructValue) {
        const std::string object_node = NodeType(*object);
        const Value* names = object_node == "List"             ? Field(NodeBody(*object), "items")
                             : object_node == "ObjectWithArgs" ? Field(NodeBody(*object), "objname")
                             : object_node == "TypeName"       ? Field(NodeBody(*object), "names")
                                                               : nullptr;
        if (object_node == "String") parts = 1;
        if (names != nullptr) parts = static_cast<size_t>(names->list_value().values_size());
        // The object commented on, for the loader to check it is declared:
        // a relation in `table` (a column's, trigger's or constraint's
        // table), a type or routine in `name` with its kind in `values`.
        std::vector<std::string> part_names;
        if (names != nullptr) {
          for (const Value& part : names->list_value().values()) {
            if (NodeType(part) == "String") part_names.push_back(Str(NodeBody(part), "sval"));
          }
        }
        if (objtype == "OBJECT_COLUMN" || objtype == "OBJECT_TRIGGER" ||
            objtype == "OBJECT_TABCONSTRAINT") {
          if (part_names.size() == 2) st.table = part_names[0];
        } else if (objtype == "OBJECT_TABLE" || objtype == "OBJECT_VIEW" ||
                   objtype == "OBJECT_MATVIEW" || objtype == "OBJECT_INDEX" ||
                   objtype == "OBJECT_SEQUENCE") {
          if (part_names.size() == 1) st.table = part_names[0];
        } else if (!part_names.empty()) {
          st.name = part_names.back();
          st.values = {objtype};
        }
      }
      // Parts an unqualified name has: COLUMN t.c, TRIGGER/CONSTRAINT t.x.
      static const auto* const kParts = new std::map<std::string, size_t>{
          {"OBJECT_TABLE", 1},    {"OBJECT_VIEW", 1},         {"OBJECT_MATVIEW", 1},
          {"OBJECT_INDEX", 1},    {"OBJECT_SEQUENCE", 1},     {"OBJECT_TYPE", 1},
          {"OBJECT_FUNCTION", 1}, {"OBJECT_PROCEDURE", 1},    {"OBJECT_COLUMN", 2},
          {"OBJECT_TRIGGER", 2},  {"OBJECT_TABCONSTRAINT", 2}};
      auto it = kParts->find(objtype);
      if (it == kParts->end()) {
        fail(absl::StrCat("COMMENT ON ", objtype,
                          " is not allowed: comments on tables, columns, "
                          "views, indexes, sequences, types, functions, triggers and "
                          "constraints only"));
      } else if (parts > it->second) {
        fail(
            "COMMENT ON names its object with a schema: a registry's objects are in its target "
            "schema; drop the qualification");
      }
    } else {
      fail(absl::StrCat(StatementName(node), " is not allowed: ", kAllowlist));
      continue;
    }
    st.reads.assign(reads.begin(), reads.end());
    if (node == "CreateStmt" || node == "AlterTableStmt") {
      std::set<std::string> references;
      CollectReferencedTables(*stmt, &references);
      st.references.assign(references.begin(), references.end());
    }
    st.normalized = Normalized(*std::move(tree));  // `stmt` and `body` are not used after this
    out.push_back(std::move(st));
  }
  return out;
}

namespace {

void StripLocations(Value* v) {
  switch (v->kind_case()) {
    case Value::kStructValue: {
      auto* fields = v->mutable_struct_value()->mutable_fields();
      for (const char* name : {"location", "stmt_location", "stmt_len"}) fields->erase(name);
      for (auto& [name, child] : *fields) StripLocations(&child);
      return;
    }
    case Value::kListValue:
      for (Value& child : *v->mutable_list_value()->mutable_values()) StripLocations(&child);
      return;
    default:
      return;
  }
}

// A deterministic text of `v`: object keys sorted (a Struct's map has no
// order of its own).
void AppendCanonical(const Value& v, std::string* out) {
  switch (v.kind_case()) {
    case Value::kStructValue: {
      std::map<std::string, const Value*> sorted;
      for (const auto& [name, child] : v.struct_value().fields()) sorted[name] = &child;
      out->push_back('{');
      for (const auto& [name, child] : sorted) {
        absl::StrAppend(out, name, ":");
        AppendCanonical(*child, out);
        out->push_back(',');
      }
      out->push_back('}');
      return;
    }
    case Value::kListValue:
      out->push_back('[');
      for (const Value& child : v.list_value().values()) {
        AppendCanonical(child, out);
        out->push_back(',');
      }
      out->push_back(']');
      return;
    case Value::kStringValue:
      absl::StrAppend(out, v.string_value().size(), "'", v.string_value());
      return;
    case Value::kNumberValue:
      absl::StrAppend(out, v.number_value());
      return;
    case Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      return;
    default:
      out->append("null");
      return;
  }
}

std::string Normalized(Struct tree) {
  Value root;
  *root.mutable_struct_value() = std::move(tree);
  StripLocations(&root);
  std::string out;
  AppendCanonical(root, &out);
  return out;
}

}  // namespace

std::vector<std::string> UnqualifiedRelations(absl::string_view query) {
  ShapeError error;
  std::optional<Struct> tree = Parse(std::string(query), 0, query.size(), &error);
  if (!tree.has_value()) return {};
  std::set<std::string> names;
  Value root;
  *root.mutable_struct_value() = *std::move(tree);
  CollectRelations(root, &names);
  return {names.begin(), names.end()};
}

LineColumn OffsetToLineColumn(absl::string_view text, int offset) {
  return LineIndex(text).At(offset);
}

LineIndex::LineIndex(absl::string_view text) : starts_{0}, size_(text.size()) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts_.push_back(i + 1);
  }
}

LineColumn LineIndex::At(int offset) const {
  const size_t at = std::min(size_, static_cast<size_t>(std::max(offset, 0)));
  // The last line starting at or before `at`.
  const size_t line = std::upper_bound(starts_.begin(), starts_.end(), at) - starts_.begin() - 1;
  return LineColumn{static_cast<int>(line) + 1, static_cast<int>(at - starts_[line]) + 1};
}

}  // namespace schemad
