#include "schemad/registry/registry.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "schemad/common/file.h"
#include "schemad/common/fingerprint.h"
#include "schemad/common/identifier.h"
#include "schemad/ddl/ddl.h"
#include "schemad/sqlparse/shape.h"
#include "schemad/v1/registry.pb.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
using google::protobuf::TextFormat;

// Registry files larger than this are refused (a registry is hand-written).
constexpr size_t kMaxFileBytes = 8 << 20;

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  CollectErrors(const std::string& path, const std::string& content,
                std::vector<RegistryError>* errors)
      : path_(path), content_(content), errors_(errors) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // Protobuf points an unknown field at the token after its name; point
    // at the name itself, which is what the reader has to fix.
    const std::string kUnknown = "has no field named \"";
    const size_t at = message.find(kUnknown);
    if (at != std::string::npos) {
      const size_t start = at + kUnknown.size();
      const std::string field = message.substr(start, message.find('"', start) - start);
      const std::string text = LineText(line);
      const size_t found = text.rfind(field, column);
      if (!field.empty() && found != std::string::npos) column = static_cast<int>(found);
    }
    errors_->push_back({{path_, line + 1, column + 1, ""}, message});
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}

 private:
  std::string LineText(int line) const {
    size_t begin = 0;
    for (int i = 0; i < line && begin != std::string::npos; ++i) {
      begin = content_.find('\n', begin);
      if (begin != std::string::npos) ++begin;
    }
    if (begin == std::string::npos) return "";
    return content_.substr(begin, content_.find('\n', begin) - begin);
  }

  const std::string& path_;
  const std::string& content_;
  std::vector<RegistryError>* errors_;
};

// A step of a field path: a field name and, for repeated fields, an index.
struct PathStep {
  const char* field;
  int index;
};

// Locates objects of one parsed file for error messages.
class SourceMap {
 public:
  SourceMap(std::string path, std::unique_ptr<TextFormat::ParseInfoTree> tree)
      : path_(std::move(path)), tree_(std::move(tree)) {}

  // file, line and column (text format; none for JSON), "table[0].column[2]".
  RegistryPlace Where(std::initializer_list<PathStep> steps) const {
    return Where(std::vector<PathStep>(steps));
  }
  RegistryPlace Where(const std::vector<PathStep>& steps) const {
    std::string field_path;
    const google::protobuf::Descriptor* descriptor = pb::RegistryFile::descriptor();
    const TextFormat::ParseInfoTree* tree = tree_.get();
    int line = -1, column = -1;
    for (const PathStep& step : steps) {
      if (!field_path.empty()) field_path += ".";
      absl::StrAppend(&field_path, step.field);
      if (step.index >= 0) absl::StrAppend(&field_path, "[", step.index, "]");
      const google::protobuf::FieldDescriptor* field =
          descriptor == nullptr ? nullptr : descriptor->FindFieldByName(step.field);
      if (tree != nullptr && field != nullptr) {
        const int index = field->is_repeated() ? step.index : -1;
        TextFormat::ParseLocation location = tree->GetLocation(field, index);
        if (location.line >= 0) {
          line = location.line;
          column = location.column;
        }
        tree = field->message_type() != nullptr ? tree->GetTreeForNested(field, index) : nullptr;
        descriptor = field->message_type();
      } else {
        tree = nullptr;
      }
    }
    if (line >= 0) return {path_, line + 1, column + 1, field_path};
    return {path_, 0, 0, field_path};
  }

 private:
  std::string path_;
  std::unique_ptr<TextFormat::ParseInfoTree> tree_;
};

struct ParsedFile {
  pb::RegistryFile message;
  std::unique_ptr<SourceMap> map;
};

ReferentialAction ActionFromProto(pb::ReferentialAction action) {
  switch (action) {
    case pb::REFERENTIAL_ACTION_RESTRICT:
      return ReferentialAction::kRestrict;
    case pb::REFERENTIAL_ACTION_CASCADE:
      return ReferentialAction::kCascade;
    case pb::REFERENTIAL_ACTION_SET_NULL:
      return ReferentialAction::kSetNull;
    case pb::REFERENTIAL_ACTION_SET_DEFAULT:
      return ReferentialAction::kSetDefault;
    default:  // NO_ACTION, UNSPECIFIED (a proto enum is open)
      return ReferentialAction::kNoAction;
  }
}

// Built-in type names (after stripping modifiers and array brackets) that
// a column may use without declaring them.
bool IsBuiltinType(std::string base) {
  // clang-format off
  static const std::set<std::string>* const kTypes = new std::set<std::string>{
      "smallint", "integer", "int", "int2", "int4", "int8", "bigint", "serial",
      "bigserial", "smallserial", "serial2", "serial4", "serial8", "real", "float4",
      "float8", "float", "double precision", "numeric", "decimal", "money", "text",
      "character varying", "varchar", "character", "char", "bpchar", "name", "bytea",
      "boolean", "bool", "date", "time", "time without time zone", "time with time zone",
      "timetz", "timestamp", "timestamp without time zone", "timestamp with time zone",
      "timestamptz", "interval", "uuid", "json", "jsonb", "jsonpath", "xml", "inet", "cidr",
      "macaddr", "macaddr8", "bit", "bit varying", "varbit", "tsvector", "tsquery",
      "point", "line", "lseg", "box", "path", "polygon", "circle", "int4range",
      "int8range", "numrange", "tsrange", "tstzrange", "daterange", "int4multirange",
      "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange",
      "datemultirange", "oid", "regclass", "regconfig", "regtype", "pg_lsn", "txid_snapshot",
      "pg_snapshot", "citext_unused_placeholder"};
  // clang-format on
  return kTypes->count(base) > 0;
}

// "character varying(320)[]" -> "character varying"; "user_role[]" -> "user_role".
std::string BaseTypeName(absl::string_view type) {
  std::string t(absl::StripAsciiWhitespace(type));
  while (absl::EndsWith(t, "[]"))
    t = std::string(absl::StripAsciiWhitespace(t.substr(0, t.size() - 2)));
  const size_t paren = t.find('(');
  if (paren != std::string::npos) {
    const size_t close = t.find(')', paren);
    std::string rest = close == std::string::npos ? "" : t.substr(close + 1);
    t = absl::StrCat(absl::StripAsciiWhitespace(t.substr(0, paren)), rest.empty() ? "" : " ",
                     absl::StripAsciiWhitespace(rest));
  }
  // "timestamp(3) with time zone" -> "timestamp with time zone".
  t = std::string(absl::StripAsciiWhitespace(t));
  // A quoted identifier ("My ""Type""") names the type it spells.
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') {
    t = absl::StrReplaceAll(t.substr(1, t.size() - 2), {{"\"\"", "\""}});
  }
  return t;
}

// "abc…" for long texts quoted in errors.
std::string Excerpt(const std::string& text) {
  constexpr size_t kMax = 80;
  return text.size() <= kMax ? text : absl::StrCat(text.substr(0, kMax), "...");
}

// The place recorded for a `source` text, or the file named `source`.
RegistryPlace PlaceIn(const std::map<std::string, RegistryPlace>& places,
                      const std::string& source) {
  auto it = places.find(source);
  return it != places.end() ? it->second : RegistryPlace{source};
}

class Validator {
 public:
  std::vector<RegistryError> errors;

  // Messages echo registry text: what is not UTF-8 in it is written as
  // \xNN, so that every error can travel in a protobuf string.
  void Add(RegistryPlace place, std::string message) {
    place.file = ValidUtf8(place.file);
    errors.push_back({std::move(place), ValidUtf8(message)});
  }
  // `place` as a model object's `source` text; At() maps it back.
  std::string Source(const RegistryPlace& place) {
    std::string text = place.ToString();
    places_.emplace(text, place);
    return text;
  }
  const std::map<std::string, RegistryPlace>& Places() const { return places_; }
  RegistryPlace At(const std::string& source) const { return PlaceIn(places_, source); }

  // Checks that SQL text from the registry has the shape its place in the
  // DDL expects (offline, PostgreSQL's grammar): see schemad/sqlparse.
  void CheckSql(const std::string& text, SqlShape shape, const RegistryPlace& where,
                const char* what) {
    // NUL bytes are reported once, by CheckFields.
    if (text.empty() || text.find('\0') != std::string::npos) return;
    const std::optional<ShapeError> error = CheckShape(text, shape);
    if (!error.has_value()) return;
    std::string at;
    if (error->offset >= 0) {
      const LineColumn lc = OffsetToLineColumn(text, error->offset);
      at = absl::StrCat(" (at line ", lc.line, ", column ", lc.column, " of the ", what, ")");
    }
    Add(where, absl::StrCat(what, " \"", Excerpt(text), "\" ", error->message, at));
  }

  // Walks every field of `message` by reflection (so fields added later are
  // covered too): a NUL byte in any string, or an enum value the schema
  // does not define, is an error at that field.
  void CheckFields(const google::protobuf::Message& message, const SourceMap& map,
                   std::vector<PathStep>* path) {
    const google::protobuf::Reflection* reflection = message.GetReflection();
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const google::protobuf::FieldDescriptor* field : fields) {
      const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
      for (int i = 0; i < count; ++i) {
        path->push_back({field->name().c_str(), field->is_repeated() ? i : -1});
        using FD = google::protobuf::FieldDescriptor;
        switch (field->cpp_type()) {
          case FD::CPPTYPE_STRING: {
            std::string scratch;
            const std::string& value =
                field->is_repeated()
                    ? reflection->GetRepeatedStringReference(message, field, i, &scratch)
                    : reflection->GetStringReference(message, field, &scratch);
            const size_t nul = value.find('\0');
            if (nul != std::string::npos) {
              Add(map.Where(*path), absl::StrCat("holds a NUL byte (at byte ", nul + 1,
                                                 "); PostgreSQL would cut the text there"));
            } else if (const std::optional<size_t> bad = FirstInvalidUtf8(value)) {
              // An escape ("\xff") gets past the file's own UTF-8 check.
              Add(map.Where(*path),
                  absl::StrCat("is not valid UTF-8 (byte 0x",
                               absl::Hex(static_cast<unsigned char>(value[*bad]), absl::kZeroPad2),
                               " at byte ", *bad + 1, ", written as an escape)"));
            }
            break;
          }
          case FD::CPPTYPE_ENUM: {
            const int value = field->is_repeated()
                                  ? reflection->GetRepeatedEnumValue(message, field, i)
                                  : reflection->GetEnumValue(message, field);
            if (field->enum_type()->FindValueByNumber(value) == nullptr) {
              Add(map.Where(*path),
                  absl::StrCat(value, " is not a value of ", field->enum_type()->name()));
            }
            break;
          }
          case FD::CPPTYPE_MESSAGE:
            CheckFields(field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                             : reflection->GetMessage(message, field),
                        map, path);
            break;
          default:
            break;
        }
        path->pop_back();
      }
    }
  }

  void CheckName(const std::string& name, const RegistryPlace& where, const char* what) {
    if (name.empty()) {
      Add(where, absl::StrCat(what, " name is required"));
    } else if (name.size() > kMaxIdentifierBytes) {
      Add(where, absl::StrCat(what, " name \"", name, "\" is ", name.size(),
                              " bytes; PostgreSQL keeps at most ", kMaxIdentifierBytes));
    } else if (IsTemporaryName(name)) {
      Add(where, absl::StrCat(what, " name \"", name, "\" begins with \"", kTemporaryPrefix,
                              "\", which schemad reserves for the temporary objects of "
                              "online changes; choose another name"));
    }
  }

 private:
  std::map<std::string, RegistryPlace> places_;
};

// Storage parameters ("fillfactor=70") or attribute options of field
// `field`: a name and a plain value, so that the text is safe to put in
// WITH (...) / SET (...); PostgreSQL checks the rest.
std::vector<std::string> LoadStorage(Validator& v,
                                     const google::protobuf::RepeatedPtrField<std::string>& options,
                                     const RegistryPlace& where,
                                     const char* field = "storage_parameter") {
  std::vector<std::string> out;
  for (int k = 0; k < options.size(); ++k) {
    const std::string& option = options[k];
    const size_t eq = option.find('=');
    bool ok = eq != std::string::npos && eq > 0 && eq + 1 < option.size();
    for (size_t c = 0; ok && c < option.size(); ++c) {
      const char ch = option[c];
      const bool word = absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_';
      ok = c < eq ? (word || ch == '.') : c == eq || word || ch == '.' || ch == '-';
    }
    if (!ok) {
      v.Add(where, absl::StrCat(field, "[", k, "]: \"", Excerpt(option),
                                "\" is not name=value (letters, digits, _ . and -)"));
      continue;
    }
    out.push_back(option);
  }
  return NormalizedStorage(out);
}

// One index of a table (or materialized view) `relation`, whose columns
// are `columns` (name -> where declared; empty: not known offline).
Index LoadIndex(Validator& v, const SourceMap& map, const std::vector<PathStep>& at,
                const pb::Index& x, const std::string& relation,
                const std::map<std::string, std::string>& columns) {
  auto path = [&](std::initializer_list<PathStep> more) {
    std::vector<PathStep> steps = at;
    steps.insert(steps.end(), more);
    return map.Where(steps);
  };
  const RegistryPlace cw = map.Where(at);
  v.CheckName(x.name(), cw, "index");
  if (x.key_size() == 0) {
    v.Add(cw, absl::StrCat("index \"", x.name(), "\" has no keys"));
  }
  v.CheckSql(x.method(), SqlShape::kIdentifier, cw, "index method");
  v.CheckSql(x.where(), SqlShape::kExpression, cw, "index predicate");
  Index index;
  index.name = x.name();
  index.unique = x.unique();
  index.method = x.method().empty() ? "btree" : x.method();
  index.predicate = x.where();
  index.include.assign(x.include().begin(), x.include().end());
  index.source = v.Source(cw);
  index.comment = x.comment();
  index.nulls_not_distinct = x.nulls_not_distinct();
  index.storage = LoadStorage(v, x.storage_parameter(), cw);
  if (x.nulls_not_distinct() && !x.unique()) {
    v.Add(cw, absl::StrCat("index \"", x.name(), "\" is nulls_not_distinct but not unique"));
  }
  const bool known_columns = !columns.empty();
  for (int k = 0; k < x.key_size(); ++k) {
    const pb::IndexKey& key = x.key(k);
    IndexKey& out = index.keys.emplace_back();
    out.column = key.column();
    out.expression = key.expression();
    out.opclass = key.opclass();
    out.descending = key.descending();
    out.nulls = key.nulls_first()  ? IndexKey::Nulls::kFirst
                : key.nulls_last() ? IndexKey::Nulls::kLast
                                   : IndexKey::Nulls::kDefault;
    out.collation = key.collation();
    const RegistryPlace kw = path({{"key", k}});
    if (key.target_case() == pb::IndexKey::TARGET_NOT_SET) {
      v.Add(kw, "index key needs a column or an expression");
    } else if (known_columns && key.has_column() && !columns.count(key.column())) {
      v.Add(kw, absl::StrCat("index \"", x.name(), "\" names unknown column \"", key.column(),
                             "\" of table \"", relation, "\""));
    }
    v.CheckSql(key.expression(), SqlShape::kExpression, kw, "index expression");
    v.CheckSql(key.opclass(), SqlShape::kQualifiedName, kw, "operator class");
    v.CheckSql(key.collation(), SqlShape::kQualifiedName, kw, "collation");
    if (key.nulls_first() && key.nulls_last()) {
      v.Add(kw, "nulls_first and nulls_last both set");
    }
  }
  for (const std::string& col : x.include()) {
    if (known_columns && !columns.count(col)) {
      v.Add(cw, absl::StrCat("index \"", x.name(), "\" includes unknown column \"", col, "\""));
    }
  }
  return index;
}

// One function or procedure.
Function LoadFunction(Validator& v, const SourceMap& map, int i, const pb::Function& x) {
  const RegistryPlace where = map.Where({{"function", i}});
  const char* what = x.procedure() ? "procedure" : "function";
  v.CheckName(x.name(), where, what);
  Function f;
  f.name = x.name();
  f.arguments = x.arguments();
  f.returns = x.returns();
  f.language = absl::AsciiStrToLower(x.language());
  f.body = x.body();
  f.sql_body = x.sql_body();
  f.leakproof = x.leakproof();
  f.cost = x.cost();
  f.rows = x.rows();
  if (!(x.cost() >= 0) || !(x.rows() >= 0) || std::isinf(x.cost()) || std::isinf(x.rows())) {
    v.Add(where,
          absl::StrCat(what, " \"", x.name(), "\": cost and rows must be finite and not negative"));
  }
  f.volatility = x.volatility() == pb::VOLATILITY_IMMUTABLE ? Volatility::kImmutable
                 : x.volatility() == pb::VOLATILITY_STABLE  ? Volatility::kStable
                                                            : Volatility::kVolatile;
  f.strict = x.strict();
  f.security_definer = x.security_definer();
  f.parallel = x.parallel() == pb::PARALLEL_SAFE         ? ParallelSafety::kSafe
               : x.parallel() == pb::PARALLEL_RESTRICTED ? ParallelSafety::kRestricted
                                                         : ParallelSafety::kUnsafe;
  f.config.assign(x.config().begin(), x.config().end());
  f.procedure = x.procedure();
  f.comment = x.comment();
  f.source = v.Source(where);
  if (f.language != "sql" && f.language != "plpgsql") {
    v.Add(where,
          absl::StrCat(
              what, " \"", x.name(), "\" is in language \"", x.language(),
              "\"; a registry declares only sql and plpgsql functions (trusted languages: C and "
              "untrusted languages run outside the database's control)"));
  }
  if (x.procedure() && !x.returns().empty()) {
    v.Add(where, absl::StrCat("procedure \"", x.name(), "\" cannot have returns"));
  }
  if (!x.procedure() && absl::StripAsciiWhitespace(x.returns()).empty()) {
    v.Add(where, absl::StrCat("function \"", x.name(), "\" has no returns"));
  }
  if (absl::StripAsciiWhitespace(x.body()).empty()) {
    v.Add(where, absl::StrCat(what, " \"", x.name(), "\" has no body"));
  }
  if (x.sql_body()) {
    if (f.language != "sql") {
      v.Add(where, absl::StrCat(what, " \"", x.name(),
                                "\" has a SQL-standard body (sql_body) but is in language \"",
                                x.language(), "\""));
    }
    v.CheckSql(x.body(), SqlShape::kRoutineBody, where, "body");
  }
  if (x.procedure() || !absl::StripAsciiWhitespace(x.returns()).empty()) {
    if (std::optional<ShapeError> e =
            CheckFunctionSignature(x.arguments(), x.returns(), x.procedure())) {
      v.Add(where, absl::StrCat("arguments \"", Excerpt(x.arguments()), "\" and returns \"",
                                Excerpt(x.returns()), "\" ", e->message));
    }
  }
  for (int k = 0; k < x.config_size(); ++k) {
    v.CheckSql(x.config(k), SqlShape::kSetting, map.Where({{"function", i}, {"config", k}}),
               "setting");
  }
  return f;
}

// One trigger of table `table` (whose columns are `columns`).
// One trigger of relation `table` (whose columns are `columns`; a view's
// are not known offline: `known_columns` false).
Trigger LoadTrigger(Validator& v, const SourceMap& map, const std::vector<PathStep>& at,
                    const pb::Trigger& x, const std::string& table,
                    const std::map<std::string, std::string>& columns, bool known_columns = true) {
  const RegistryPlace where = map.Where(at);
  const std::string& name = x.name();
  v.CheckName(name, where, "trigger");
  auto error = [&](const std::string& what) {
    v.Add(where, absl::StrCat("trigger \"", name, "\" ", what));
  };
  Trigger t;
  t.name = name;
  t.table = table;
  t.timing = x.timing() == pb::TRIGGER_TIMING_AFTER        ? TriggerTiming::kAfter
             : x.timing() == pb::TRIGGER_TIMING_INSTEAD_OF ? TriggerTiming::kInsteadOf
                                                           : TriggerTiming::kBefore;
  std::set<int> events;
  for (int k = 0; k < x.event_size(); ++k) {
    if (!events.insert(x.event(k)).second) error("lists an event twice");
  }
  // In PostgreSQL's order, whatever the declaration's.
  const std::pair<int, const char*> kEvents[] = {{pb::TRIGGER_EVENT_INSERT, "INSERT"},
                                                 {pb::TRIGGER_EVENT_DELETE, "DELETE"},
                                                 {pb::TRIGGER_EVENT_UPDATE, "UPDATE"},
                                                 {pb::TRIGGER_EVENT_TRUNCATE, "TRUNCATE"}};
  for (const auto& [event, event_name] : kEvents) {
    if (events.count(event)) t.events.push_back(event_name);
  }
  if (events.empty()) error("has no event");
  t.update_columns.assign(x.update_column().begin(), x.update_column().end());
  if (!t.update_columns.empty() && !events.count(pb::TRIGGER_EVENT_UPDATE)) {
    error("lists update_column but not the UPDATE event");
  }
  for (const std::string& col : t.update_columns) {
    if (known_columns && !columns.count(col)) {
      error(absl::StrCat("names unknown column \"", col, "\" of table \"", table, "\""));
    }
  }
  t.for_each_row = x.for_each_row();
  t.when = x.when();
  v.CheckSql(x.when(), SqlShape::kExpression, where, "trigger condition");
  t.function = x.function();
  if (x.function().empty()) error("names no function");
  v.CheckSql(x.function(), SqlShape::kQualifiedName, where, "trigger function");
  t.arguments.assign(x.argument().begin(), x.argument().end());
  t.constraint = x.constraint();
  t.deferrable = x.deferrable();
  t.initially_deferred = x.initially_deferred();
  t.old_table = x.referencing_old_table();
  t.new_table = x.referencing_new_table();
  if (!t.old_table.empty()) v.CheckName(t.old_table, where, "transition table");
  if (!t.new_table.empty()) v.CheckName(t.new_table, where, "transition table");
  if ((!t.old_table.empty() || !t.new_table.empty()) && x.timing() != pb::TRIGGER_TIMING_AFTER) {
    error(
        "has transition tables (referencing_old_table / referencing_new_table): it must be "
        "AFTER");
  }
  if (x.constraint() && (x.timing() != pb::TRIGGER_TIMING_AFTER || !x.for_each_row())) {
    error("is a constraint trigger: it must be AFTER and FOR EACH ROW");
  }
  if (x.deferrable() && !x.constraint()) error("is deferrable but not a constraint trigger");
  if (x.initially_deferred() && !x.deferrable()) error("is initially deferred but not deferrable");
  t.enabled = x.enabled() == pb::TRIGGER_DISABLED          ? TriggerEnabled::kDisabled
              : x.enabled() == pb::TRIGGER_ENABLED_REPLICA ? TriggerEnabled::kReplica
              : x.enabled() == pb::TRIGGER_ENABLED_ALWAYS  ? TriggerEnabled::kAlways
                                                           : TriggerEnabled::kEnabled;
  t.comment = x.comment();
  t.source = v.Source(where);
  return t;
}

// A primary key's or unique constraint's index options: INCLUDE columns
// (of the table) and storage parameters.
template <typename Key>
void LoadKeyIndexOptions(Validator& v, const Key& key, const RegistryPlace& where,
                         const std::map<std::string, std::string>& columns, Constraint* c) {
  c->include.assign(key.include().begin(), key.include().end());
  for (const std::string& col : key.include()) {
    if (!columns.count(col)) {
      v.Add(where,
            absl::StrCat("constraint \"", key.name(), "\" includes unknown column \"", col, "\""));
    }
  }
  c->storage = LoadStorage(v, key.storage_parameter(), where);
}

// REPLICA IDENTITY: USING INDEX names one of the table's unique indexes or
// the index of its primary key or of a unique constraint (PostgreSQL checks
// the rest: unique, not partial, on NOT NULL columns).
void LoadReplicaIdentity(Validator& v, const pb::Table& t, const RegistryPlace& where,
                         Table* table) {
  const std::string& index = t.replica_identity_index();
  switch (t.replica_identity()) {
    case pb::REPLICA_IDENTITY_FULL:
      table->replica_identity = ReplicaIdentity::kFull;
      break;
    case pb::REPLICA_IDENTITY_NOTHING:
      table->replica_identity = ReplicaIdentity::kNothing;
      break;
    case pb::REPLICA_IDENTITY_USING_INDEX:
      table->replica_identity = ReplicaIdentity::kUsingIndex;
      break;
    default:
      table->replica_identity = ReplicaIdentity::kDefault;
      break;
  }
  if (table->replica_identity != ReplicaIdentity::kUsingIndex) {
    if (!index.empty()) {
      v.Add(where, "replica_identity_index is set but replica_identity is not USING_INDEX");
    }
    return;
  }
  std::set<std::string> candidates;
  for (const pb::Index& i : t.index()) {
    if (i.unique()) candidates.insert(i.name());
  }
  for (const pb::UniqueConstraint& u : t.unique()) candidates.insert(u.name());
  if (t.has_primary_key()) {
    candidates.insert(t.primary_key().name().empty() ? absl::StrCat(t.name(), "_pkey")
                                                     : t.primary_key().name());
  }
  if (!candidates.count(index)) {
    v.Add(where,
          absl::StrCat("replica_identity_index: \"", Excerpt(index),
                       "\" is not a unique index, unique constraint or primary key of table \"",
                       t.name(), "\""));
    return;
  }
  table->replica_identity_index = index;
}

// One table: its columns, constraints, indexes and triggers. Names of
// relations (the table, its indexes and constraints backed by indexes) are
// claimed in the schema-wide namespace through `claim_relation`.
// One table's declarations while it loads: where they are, and the names
// its columns and constraints took.
struct TableScope {
  Validator& v;
  const SourceMap& map;
  int ti;
  const pb::Table& t;
  const std::function<void(const std::string&, const RegistryPlace&, const char*)>& claim_relation;
  std::map<std::string, std::string> columns_seen;      // name -> where
  std::map<std::string, std::string> constraints_seen;  // name -> where

  RegistryPlace Where(const char* field, int i) const {
    return map.Where({{"table", ti}, {field, i}});
  }
  // A key's columns: at least one, each a column of the table.
  void CheckColumns(const google::protobuf::RepeatedPtrField<std::string>& cols,
                    const RegistryPlace& cw, const std::string& what) {
    if (cols.empty()) v.Add(cw, absl::StrCat(what, " lists no columns"));
    for (const std::string& col : cols) {
      if (!columns_seen.count(col)) {
        v.Add(cw, absl::StrCat(what, " names unknown column \"", col, "\" of table \"", t.name(),
                               "\""));
      }
    }
  }
  // Starts the constraint declared at `field`[i]: returns its place, with
  // its name checked and claimed in the table's constraints and, for one
  // backed by an index (`relation`), in the schema's relations.
  RegistryPlace StartConstraint(const char* field, int i, const std::string& name, const char* what,
                                bool relation) {
    const RegistryPlace cw = Where(field, i);
    v.CheckName(name, cw, what);
    if (!name.empty() && !constraints_seen.emplace(name, cw.ToString()).second) {
      v.Add(cw, absl::StrCat("duplicate constraint \"", name, "\" in table \"", t.name(), "\""));
    }
    if (relation) claim_relation(name, cw, what);
    return cw;
  }
};

Column LoadColumn(TableScope& s, int ci) {
  Validator& v = s.v;
  const pb::Column& c = s.t.column(ci);
  const RegistryPlace cw = s.Where("column", ci);
  v.CheckName(c.name(), cw, "column");
  if (!c.name().empty() && !s.columns_seen.emplace(c.name(), cw.ToString()).second) {
    v.Add(cw, absl::StrCat("duplicate column \"", c.name(), "\" in table \"", s.t.name(), "\""));
  }
  if (c.type().empty()) {
    v.Add(cw, absl::StrCat("column \"", c.name(), "\" has no type"));
  }
  if (!c.generated().empty() && !c.default_().empty()) {
    v.Add(cw, absl::StrCat("column \"", c.name(), "\" is generated and cannot have a default"));
  }
  if (c.identity() != pb::IDENTITY_NONE && (!c.default_().empty() || !c.generated().empty())) {
    v.Add(cw, absl::StrCat("identity column \"", c.name(),
                           "\" cannot have a default or generated expression"));
  }
  v.CheckSql(c.type(), SqlShape::kTypeName, cw, "type");
  v.CheckSql(c.collation(), SqlShape::kQualifiedName, cw, "collation");
  v.CheckSql(c.default_(), SqlShape::kExpression, cw, "default");
  v.CheckSql(c.generated(), SqlShape::kExpression, cw, "generated expression");
  v.CheckSql(c.using_(), SqlShape::kExpression, cw, "using expression");
  Column col;
  col.name = c.name();
  col.type = c.type();
  col.collation = c.collation();
  col.storage = absl::AsciiStrToLower(c.storage());
  if (!col.storage.empty() && col.storage != "plain" && col.storage != "external" &&
      col.storage != "extended" && col.storage != "main") {
    v.Add(cw, absl::StrCat("column \"", c.name(), "\": storage \"", Excerpt(c.storage()),
                           "\" is not plain, external, extended or main"));
  }
  col.compression = absl::AsciiStrToLower(c.compression());
  if (!col.compression.empty() && col.compression != "pglz" && col.compression != "lz4") {
    v.Add(cw, absl::StrCat("column \"", c.name(), "\": compression \"", Excerpt(c.compression()),
                           "\" is not pglz or lz4"));
  }
  col.options = LoadStorage(v, c.option(), cw, "option");
  if (c.has_statistics()) {
    if (c.statistics() < -1 || c.statistics() > 10000) {
      v.Add(cw, absl::StrCat("column \"", c.name(), "\": statistics ", c.statistics(),
                             " is not -1 (the default) to 10000"));
    }
    col.statistics = c.statistics();
  }
  col.not_null = c.not_null();
  col.default_expr = c.default_();
  col.identity = c.identity() == pb::IDENTITY_ALWAYS       ? Identity::kAlways
                 : c.identity() == pb::IDENTITY_BY_DEFAULT ? Identity::kByDefault
                                                           : Identity::kNone;
  if (c.has_identity_options()) {
    const pb::IdentityOptions& o = c.identity_options();
    if (c.identity() == pb::IDENTITY_NONE) {
      v.Add(cw, absl::StrCat("column \"", c.name(),
                             "\" has identity_options but is not an identity column"));
    }
    if (o.has_increment() && o.increment() == 0) {
      v.Add(cw, "identity_options.increment: must not be zero");
    }
    if (o.has_cache() && o.cache() < 1) {
      v.Add(cw, "identity_options.cache: must be at least 1");
    }
    if (o.has_min_value() && o.has_max_value() && o.min_value() >= o.max_value()) {
      v.Add(cw, "identity_options: min_value must be less than max_value");
    }
    if (o.has_increment()) col.identity_options.increment = o.increment();
    if (o.has_min_value()) col.identity_options.min_value = o.min_value();
    if (o.has_max_value()) col.identity_options.max_value = o.max_value();
    if (o.has_start()) col.identity_options.start = o.start();
    if (o.has_cache()) col.identity_options.cache = o.cache();
    col.identity_options.cycle = o.cycle();
  }
  col.generated = c.generated();
  col.using_expr = c.using_();
  col.comment = c.comment();
  col.source = v.Source(cw);
  return col;
}

Constraint LoadPrimaryKey(TableScope& s) {
  Validator& v = s.v;
  const pb::PrimaryKey& p = s.t.primary_key();
  const RegistryPlace cw = s.StartConstraint("primary_key", -1, p.name(), "primary key", true);
  s.CheckColumns(p.column(), cw, absl::StrCat("primary key \"", p.name(), "\""));
  if (p.initially_deferred() && !p.deferrable()) {
    v.Add(cw,
          absl::StrCat("primary key \"", p.name(), "\" is initially deferred but not deferrable"));
  }
  Constraint c;
  c.name = p.name();
  c.kind = ConstraintKind::kPrimaryKey;
  c.columns.assign(p.column().begin(), p.column().end());
  c.deferrable = p.deferrable();
  c.initially_deferred = p.initially_deferred();
  c.source = v.Source(cw);
  c.comment = p.comment();
  LoadKeyIndexOptions(v, p, cw, s.columns_seen, &c);
  return c;
}

Constraint LoadUnique(TableScope& s, int i) {
  Validator& v = s.v;
  const pb::UniqueConstraint& u = s.t.unique(i);
  const RegistryPlace cw = s.StartConstraint("unique", i, u.name(), "unique constraint", true);
  s.CheckColumns(u.column(), cw, absl::StrCat("unique constraint \"", u.name(), "\""));
  Constraint c;
  c.name = u.name();
  c.kind = ConstraintKind::kUnique;
  c.columns.assign(u.column().begin(), u.column().end());
  c.nulls_not_distinct = u.nulls_not_distinct();
  c.deferrable = u.deferrable();
  c.initially_deferred = u.initially_deferred();
  if (u.initially_deferred() && !u.deferrable()) {
    v.Add(cw, absl::StrCat("unique constraint \"", u.name(),
                           "\" is initially deferred but not deferrable"));
  }
  c.source = v.Source(cw);
  c.comment = u.comment();
  LoadKeyIndexOptions(v, u, cw, s.columns_seen, &c);
  return c;
}

Constraint LoadForeignKey(TableScope& s, int i, const std::string& schema_name) {
  Validator& v = s.v;
  const pb::ForeignKey& f = s.t.foreign_key(i);
  const RegistryPlace cw = s.StartConstraint("foreign_key", i, f.name(), "foreign key", false);
  s.CheckColumns(f.column(), cw, absl::StrCat("foreign key \"", f.name(), "\""));
  if (f.column_size() != f.references_column_size()) {
    v.Add(cw, absl::StrCat("foreign key \"", f.name(), "\" has ", f.column_size(),
                           " column(s) but references ", f.references_column_size()));
  }
  if (f.initially_deferred() && !f.deferrable()) {
    v.Add(cw,
          absl::StrCat("foreign key \"", f.name(), "\" is initially deferred but not deferrable"));
  }
  Constraint c;
  c.name = f.name();
  c.kind = ConstraintKind::kForeignKey;
  c.columns.assign(f.column().begin(), f.column().end());
  c.ref_table = f.references_table();
  if (!f.references_schema().empty()) {
    v.CheckName(f.references_schema(), cw, "referenced schema");
    // The registry's own schema, spelled out, is the same as none.
    if (f.references_schema() != schema_name) c.ref_schema = f.references_schema();
  }
  c.ref_columns.assign(f.references_column().begin(), f.references_column().end());
  c.on_delete = ActionFromProto(f.on_delete());
  c.on_update = ActionFromProto(f.on_update());
  c.deferrable = f.deferrable();
  c.initially_deferred = f.initially_deferred();
  c.validated = !f.not_valid();
  c.source = v.Source(cw);
  c.comment = f.comment();
  c.match_full = f.match_full();
  c.delete_set_columns.assign(f.on_delete_set_column().begin(), f.on_delete_set_column().end());
  if (!c.delete_set_columns.empty() && c.on_delete != ReferentialAction::kSetNull &&
      c.on_delete != ReferentialAction::kSetDefault) {
    v.Add(cw, absl::StrCat("foreign key \"", f.name(),
                           "\" has on_delete_set_column but on_delete is not SET NULL "
                           "or SET DEFAULT"));
  }
  for (const std::string& col : c.delete_set_columns) {
    if (std::find(c.columns.begin(), c.columns.end(), col) == c.columns.end()) {
      v.Add(cw, absl::StrCat("foreign key \"", f.name(), "\" sets column \"", col,
                             "\" on delete, which is not one of its columns"));
    }
  }
  return c;
}

Constraint LoadExclusion(TableScope& s, int i) {
  Validator& v = s.v;
  const pb::ExclusionConstraint& x = s.t.exclude(i);
  const RegistryPlace cw = s.StartConstraint("exclude", i, x.name(), "exclusion constraint", true);
  if (absl::StripAsciiWhitespace(x.definition()).empty()) {
    v.Add(cw, absl::StrCat("exclusion constraint \"", x.name(), "\" has no definition"));
  }
  v.CheckSql(x.definition(), SqlShape::kExclusionConstraint, cw, "definition");
  Constraint c;
  c.name = x.name();
  c.kind = ConstraintKind::kExclusion;
  c.exclusion = x.definition();
  c.source = v.Source(cw);
  c.comment = x.comment();
  return c;
}

Constraint LoadCheck(TableScope& s, int i) {
  Validator& v = s.v;
  const pb::CheckConstraint& k = s.t.check(i);
  const RegistryPlace cw = s.StartConstraint("check", i, k.name(), "check constraint", false);
  if (absl::StripAsciiWhitespace(k.expression()).empty()) {
    v.Add(cw, absl::StrCat("check constraint \"", k.name(), "\" has no expression"));
  }
  v.CheckSql(k.expression(), SqlShape::kExpression, cw, "check expression");
  Constraint c;
  c.name = k.name();
  c.kind = ConstraintKind::kCheck;
  c.check_expr = k.expression();
  c.no_inherit = k.no_inherit();
  c.validated = !k.not_valid();
  c.source = v.Source(cw);
  c.comment = k.comment();
  return c;
}

Table LoadTable(Validator& v, const SourceMap& map, int ti, const pb::Table& t,
                const std::string& schema_name,
                const std::function<void(const std::string&, const RegistryPlace&, const char*)>&
                    claim_relation) {
  const RegistryPlace where = map.Where({{"table", ti}});
  v.CheckName(t.name(), where, "table");
  claim_relation(t.name(), where, "table");
  Table table;
  table.name = t.name();
  table.comment = t.comment();
  table.unlogged = t.unlogged();
  table.row_security = t.row_level_security();
  table.force_row_security = t.force_row_level_security();
  table.storage = LoadStorage(v, t.storage_parameter(), where);
  table.source = v.Source(where);
  TableScope scope{v, map, ti, t, claim_relation, {}, {}};
  for (int i = 0; i < t.column_size(); ++i) table.columns.push_back(LoadColumn(scope, i));
  if (t.has_primary_key()) table.constraints.push_back(LoadPrimaryKey(scope));
  for (int i = 0; i < t.unique_size(); ++i) table.constraints.push_back(LoadUnique(scope, i));
  for (int i = 0; i < t.foreign_key_size(); ++i) {
    table.constraints.push_back(LoadForeignKey(scope, i, schema_name));
  }
  for (int i = 0; i < t.exclude_size(); ++i) table.constraints.push_back(LoadExclusion(scope, i));
  for (int i = 0; i < t.check_size(); ++i) table.constraints.push_back(LoadCheck(scope, i));
  for (int i = 0; i < t.index_size(); ++i) {
    claim_relation(t.index(i).name(), scope.Where("index", i), "index");
    table.indexes.push_back(
        LoadIndex(v, map, {{"table", ti}, {"index", i}}, t.index(i), t.name(), scope.columns_seen));
  }
  std::set<std::string> triggers_seen;
  for (int i = 0; i < t.trigger_size(); ++i) {
    if (!triggers_seen.insert(t.trigger(i).name()).second) {
      v.Add(scope.Where("trigger", i), absl::StrCat("duplicate trigger \"", t.trigger(i).name(),
                                                    "\" on table \"", t.name(), "\""));
    }
    table.triggers.push_back(LoadTrigger(v, map, {{"table", ti}, {"trigger", i}}, t.trigger(i),
                                         t.name(), scope.columns_seen));
  }
  LoadReplicaIdentity(v, t, where, &table);
  return table;
}

// One view or materialized view.
View LoadView(Validator& v, const SourceMap& map, int i, const pb::View& x) {
  const RegistryPlace where = map.Where({{"view", i}});
  const char* what = x.materialized() ? "materialized view" : "view";
  v.CheckName(x.name(), where, what);
  View view;
  view.name = x.name();
  view.materialized = x.materialized();
  view.query = x.query();
  view.security_invoker = x.security_invoker();
  view.security_barrier = x.security_barrier();
  view.check_option = x.check_option() == pb::VIEW_CHECK_OPTION_LOCAL      ? CheckOption::kLocal
                      : x.check_option() == pb::VIEW_CHECK_OPTION_CASCADED ? CheckOption::kCascaded
                                                                           : CheckOption::kNone;
  view.comment = x.comment();
  view.storage = LoadStorage(v, x.storage_parameter(), where);
  if (!view.storage.empty() && !view.materialized) {
    v.Add(where, "storage_parameter: only a materialized view has them");
  }
  view.source = v.Source(where);
  // Comments on its output columns: kept as columns with only a name and a
  // comment (the canonical model has the real ones, with their types).
  std::set<std::string> commented;
  for (int k = 0; k < x.column_comment_size(); ++k) {
    const pb::ViewColumnComment& cc = x.column_comment(k);
    const RegistryPlace cw = map.Where({{"view", i}, {"column_comment", k}});
    v.CheckName(cc.column(), cw, "view column");
    if (!commented.insert(cc.column()).second) {
      v.Add(cw, absl::StrCat("column \"", cc.column(), "\" of view \"", x.name(),
                             "\" is commented twice"));
    }
    Column& c = view.columns.emplace_back();
    c.name = cc.column();
    c.comment = cc.comment();
    c.source = v.Source(cw);
  }
  const RegistryPlace qw = map.Where({{"view", i}, {"query", -1}});
  if (absl::StripAsciiWhitespace(x.query()).empty()) {
    v.Add(where, absl::StrCat(what, " \"", x.name(), "\" has no query"));
  }
  v.CheckSql(x.query(), SqlShape::kQuery, qw, "query");
  // For the order views are created in: the relations it reads by name.
  view.depends_on = UnqualifiedRelations(x.query());
  if (x.materialized()) {
    if (x.security_invoker() || x.security_barrier() ||
        x.check_option() != pb::VIEW_CHECK_OPTION_NONE) {
      v.Add(where, absl::StrCat("materialized view \"", x.name(),
                                "\" cannot take security_invoker, security_barrier or "
                                "check_option (options of plain views)"));
    }
    for (int k = 0; k < x.index_size(); ++k) {
      view.indexes.push_back(
          LoadIndex(v, map, {{"view", i}, {"index", k}}, x.index(k), x.name(), {}));
    }
  } else if (x.index_size() > 0) {
    v.Add(where, absl::StrCat("view \"", x.name(),
                              "\" declares indexes; only a materialized view has them"));
  }
  std::set<std::string> triggers_seen;
  for (int k = 0; k < x.trigger_size(); ++k) {
    const pb::Trigger& g = x.trigger(k);
    const RegistryPlace tw = map.Where({{"view", i}, {"trigger", k}});
    if (x.materialized()) {
      v.Add(tw, absl::StrCat("materialized view \"", x.name(),
                             "\" cannot have triggers (only tables and plain views)"));
      break;
    }
    if (!triggers_seen.insert(g.name()).second) {
      v.Add(tw, absl::StrCat("duplicate trigger \"", g.name(), "\" on view \"", x.name(), "\""));
    }
    if (g.enabled() != pb::TRIGGER_ENABLED) {
      v.Add(tw, absl::StrCat("trigger \"", g.name(), "\" of view \"", x.name(),
                             "\" cannot be disabled (PostgreSQL has no such state for a "
                             "view's trigger)"));
    }
    if (g.constraint()) {
      v.Add(tw, absl::StrCat("trigger \"", g.name(), "\" of view \"", x.name(),
                             "\" cannot be a constraint trigger"));
    }
    view.triggers.push_back(
        LoadTrigger(v, map, {{"view", i}, {"trigger", k}}, g, x.name(), {}, false));
  }
  return view;
}

}  // namespace

namespace {

// The deepest nesting of JSON arrays and objects a registry file may have;
// a real one needs about six.
constexpr int kMaxJsonDepth = 64;

// Returns the offset of the first '[' or '{' outside strings that opens a
// level deeper than `max_depth`, or nullopt. Protobuf 3.21's JSON parser
// flattens arrays nested in a repeated field however deep they go, so
// LoadRegistry refuses deep nesting before handing the text over.
std::optional<size_t> FindJsonNestingBeyond(const std::string& json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

bool HasRegistryExtension(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".textproto" || ext == ".json" || ext == ".sql";
}

}  // namespace

absl::StatusOr<std::vector<RegistrySource>> ReadRegistryDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(
        absl::StrCat("registry directory ", ShownPath(dir), " does not exist"));
  }
  if (ec) {
    if (ec.value() == ELOOP) return SymlinkLoopError(dir);
    return PathError(ec.value(), dir, "cannot read the registry directory");
  }
  if (!fs::is_directory(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("registry directory ", ShownPath(dir), " is not a directory"));
  }
  std::vector<std::string> paths;
  // Iterated by hand: the range-for's operator++ throws on an error.
  fs::directory_iterator it(dir, ec);
  while (!ec && it != fs::directory_iterator()) {
    const fs::path& path = it->path();
    // Dot files are never registry files: editors keep lock files such as
    // `.#users.textproto` (a dangling symbolic link) beside the real ones.
    if (!absl::StartsWith(path.filename().string(), ".") && HasRegistryExtension(path)) {
      paths.push_back(path.string());
    }
    it.increment(ec);
  }
  if (ec) return PathError(ec.value(), dir, "cannot read the registry directory");
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(ShownPath(dir), ": no registry files (*.textproto, *.json or *.sql)"));
  }
  std::vector<RegistrySource> files;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> content = ReadBoundedFile(path, kMaxFileBytes, "registry file");
    if (!content.ok()) return content.status();
    files.push_back({path, *std::move(content)});
  }
  return files;
}

namespace {

// The payload of LoadRegistry's INVALID_ARGUMENT: each error as its five
// fields, each field its length, ':' and its bytes.
constexpr char kRegistryErrorsPayload[] = "type.schemad.dev/registry-load-errors";

void AppendField(std::string* out, absl::string_view field) {
  absl::StrAppend(out, field.size(), ":", field);
}

// Reads a field AppendField wrote from the front of `in`.
bool ConsumeField(absl::string_view* in, std::string* field) {
  const size_t colon = in->find(':');
  size_t size = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(in->substr(0, colon), &size) ||
      size > in->size() - colon - 1) {
    return false;
  }
  *field = std::string(in->substr(colon + 1, size));
  in->remove_prefix(colon + 1 + size);
  return true;
}

// Names are quoted into messages as written; a name holding a line break
// must not split its error in two (or forge another).
void EscapeLineBreaks(std::vector<RegistryError>* errors) {
  for (RegistryError& e : *errors) {
    for (std::string* text : {&e.place.file, &e.place.field, &e.message}) {
      *text = absl::StrReplaceAll(*text, {{"\n", "\\n"}, {"\r", "\\r"}});
    }
  }
}

absl::Status RegistryErrorStatus(const std::string& origin, std::vector<RegistryError> errors) {
  EscapeLineBreaks(&errors);
  std::vector<std::string> lines;
  for (const RegistryError& e : errors) lines.push_back(e.ToString());
  return AttachRegistryErrors(
      absl::InvalidArgumentError(absl::StrCat("invalid registry ", origin, " (", errors.size(),
                                              " error", errors.size() == 1 ? "" : "s", "):\n",
                                              absl::StrJoin(lines, "\n"))),
      errors);
}

}  // namespace

absl::Status AttachRegistryErrors(absl::Status status, const std::vector<RegistryError>& errors) {
  std::string payload;
  for (const RegistryError& e : errors) {
    AppendField(&payload, e.place.file);
    AppendField(&payload, absl::StrCat(e.place.line));
    AppendField(&payload, absl::StrCat(e.place.column));
    AppendField(&payload, e.place.field);
    AppendField(&payload, e.message);
  }
  status.SetPayload(kRegistryErrorsPayload, absl::Cord(payload));
  return status;
}

RegistryPlace PlaceOf(const Registry& registry, const std::string& source) {
  return PlaceIn(registry.places, source);
}

std::string RegistryPlace::ToString() const {
  std::string out = file;
  if (line > 0) absl::StrAppend(&out, ":", line, ":", column);
  if (!field.empty()) absl::StrAppend(&out, ": ", field);
  return out;
}

std::string RegistryError::ToString() const {
  return absl::StrCat(place.ToString(), ": ", message);
}

std::vector<RegistryError> RegistryErrorsOf(const absl::Status& status) {
  std::vector<RegistryError> out;
  if (status.code() != absl::StatusCode::kInvalidArgument) return out;
  const absl::optional<absl::Cord> payload = status.GetPayload(kRegistryErrorsPayload);
  if (!payload.has_value()) return out;
  const std::string bytes(*payload);
  absl::string_view in = bytes;
  while (!in.empty()) {
    RegistryError e;
    std::string line, column;
    if (!ConsumeField(&in, &e.place.file) || !ConsumeField(&in, &line) ||
        !ConsumeField(&in, &column) || !ConsumeField(&in, &e.place.field) ||
        !ConsumeField(&in, &e.message) || !absl::SimpleAtoi(line, &e.place.line) ||
        !absl::SimpleAtoi(column, &e.place.column)) {
      return {};  // not a payload this module wrote
    }
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

// Parses every file: protobuf files into `parsed` (their fields checked),
// SQL files into `statements`. Errors go to `v`.
void ParseFiles(Validator& v, const std::vector<RegistrySource>& files,
                std::vector<ParsedFile>* parsed, std::vector<RegistryStatement>* statements) {
  for (const RegistrySource& file : files) {
    if (file.content.size() > kMaxFileBytes) {
      v.Add(RegistryPlace{file.path},
            absl::StrCat("file is ", file.content.size(), " bytes; registry files are limited to ",
                         kMaxFileBytes));
      continue;
    }
    // One check for every format: protobuf would refuse the byte in a
    // string field with a message naming no place, libpg_query would pass
    // it on, and PostgreSQL would refuse it only when the registry runs.
    if (const std::optional<size_t> bad = FirstInvalidUtf8(file.content); bad.has_value()) {
      const LineColumn at = OffsetToLineColumn(file.content, static_cast<int>(*bad));
      v.Add({file.path, at.line, at.column, ""},
            absl::StrCat("is not valid UTF-8 (byte 0x",
                         absl::Hex(static_cast<unsigned char>(file.content[*bad]), absl::kZeroPad2),
                         "): registry files are UTF-8 text"));
      continue;
    }
    if (absl::EndsWith(file.path, ".sql")) {
      std::vector<SqlFileError> errors;
      const LineIndex lines(file.content);
      for (SqlStatement& st : ClassifySqlFile(file.content, &errors)) {
        const LineColumn at = lines.At(st.offset);
        statements->push_back({std::move(st), v.Source({file.path, at.line, at.column, ""})});
      }
      for (const SqlFileError& e : errors) {
        if (e.offset < 0) {
          v.Add(RegistryPlace{file.path}, e.message);
          continue;
        }
        const LineColumn at = lines.At(e.offset);
        v.Add({file.path, at.line, at.column, ""}, e.message);
      }
      continue;
    }
    ParsedFile p;
    if (absl::EndsWith(file.path, ".json")) {
      const std::optional<size_t> too_deep = FindJsonNestingBeyond(file.content, kMaxJsonDepth);
      if (too_deep.has_value()) {
        v.Add(RegistryPlace{file.path}, absl::StrCat("JSON nested deeper than ", kMaxJsonDepth,
                                                     " levels (at byte ", *too_deep + 1, ")"));
        continue;
      }
      google::protobuf::util::JsonParseOptions options;
      auto status = google::protobuf::util::JsonStringToMessage(file.content, &p.message, options);
      if (!status.ok()) {
        // Protobuf follows the message with an excerpt of the input and a
        // caret line: keep the message, one error per line.
        const std::string message(status.message());
        v.Add(RegistryPlace{file.path}, message.substr(0, message.find('\n')));
        continue;
      }
      p.map = std::make_unique<SourceMap>(file.path, nullptr);
    } else {
      auto tree = std::make_unique<TextFormat::ParseInfoTree>();
      TextFormat::Parser parser;
      CollectErrors collector(file.path, file.content, &v.errors);
      parser.RecordErrorsTo(&collector);
      parser.WriteLocationsTo(tree.get());
      if (!parser.ParseFromString(file.content, &p.message)) continue;
      p.map = std::make_unique<SourceMap>(file.path, std::move(tree));
    }
    std::vector<PathStep> path;
    v.CheckFields(p.message, *p.map, &path);
    parsed->push_back(std::move(p));
  }
}

// The schema-wide namespace of tables, views, indexes and sequences.
class RelationNames {
 public:
  explicit RelationNames(Validator& v) : v_(v) {}

  // Records `name`, or reports it taken (by `what`, at `where`).
  void Claim(const std::string& name, const RegistryPlace& where, const char* what) {
    if (name.empty()) return;
    auto [it, inserted] = names_.emplace(name, where.ToString());
    if (!inserted) {
      v_.Add(where, absl::StrCat("duplicate ", what, " name \"", name, "\" (already used at ",
                                 it->second, ")"));
    }
  }
  // Where `name` was claimed, or nothing.
  const std::string* Find(const std::string& name) const {
    const auto it = names_.find(name);
    return it == names_.end() ? nullptr : &it->second;
  }

 private:
  Validator& v_;
  std::map<std::string, std::string> names_;  // name -> where
};

// `seen`: the enum types declared so far (name -> where).
EnumType LoadEnum(Validator& v, const SourceMap& map, int i, const pb::EnumType& e,
                  std::map<std::string, std::string>& seen) {
  const RegistryPlace where = map.Where({{"registry", -1}, {"enum", i}});
  v.CheckName(e.name(), where, "enum type");
  if (!e.name().empty() && !seen.emplace(e.name(), where.ToString()).second) {
    v.Add(where, absl::StrCat("duplicate enum type \"", e.name(), "\" (first declared at ",
                              seen[e.name()], ")"));
  }
  if (e.label_size() == 0) v.Add(where, absl::StrCat("enum type \"", e.name(), "\" has no labels"));
  std::set<std::string> labels;
  for (int j = 0; j < e.label_size(); ++j) {
    const std::string& label = e.label(j);
    const RegistryPlace lw = map.Where({{"registry", -1}, {"enum", i}, {"label", j}});
    if (label.empty() || label.size() > kMaxIdentifierBytes) {
      v.Add(lw, absl::StrCat("enum label must be 1 to ", kMaxIdentifierBytes, " bytes"));
    }
    if (!labels.insert(label).second) {
      v.Add(lw, absl::StrCat("duplicate label \"", label, "\" in enum type \"", e.name(), "\""));
    }
  }
  EnumType out;
  out.name = e.name();
  out.labels.assign(e.label().begin(), e.label().end());
  out.source = v.Source(where);
  out.comment = e.comment();
  return out;
}

// `seen`: the sequences declared so far.
Sequence LoadSequence(Validator& v, const SourceMap& map, int i, const pb::Sequence& q,
                      std::set<std::string>& seen) {
  const RegistryPlace where = map.Where({{"registry", -1}, {"sequence", i}});
  v.CheckName(q.name(), where, "sequence");
  if (!seen.insert(q.name()).second) {
    v.Add(where, absl::StrCat("duplicate sequence \"", q.name(), "\""));
  }
  Sequence out;
  out.name = q.name();
  out.type = q.type().empty() ? "bigint" : q.type();
  if (out.type != "smallint" && out.type != "integer" && out.type != "bigint") {
    v.Add(where, absl::StrCat("sequence \"", q.name(), "\" has type \"", q.type(),
                              "\"; smallint, integer or bigint"));
  }
  if (q.has_increment()) {
    if (q.increment() == 0)
      v.Add(where, absl::StrCat("sequence \"", q.name(), "\" has increment 0"));
    out.increment = q.increment();
  }
  if (q.has_min_value()) out.min_value = q.min_value();
  if (q.has_max_value()) out.max_value = q.max_value();
  if (q.has_start()) out.start = q.start();
  if (q.has_cache()) {
    if (q.cache() < 1) {
      v.Add(where,
            absl::StrCat("sequence \"", q.name(), "\" has cache ", q.cache(), "; at least 1"));
    }
    out.cache = q.cache();
  }
  out.cycle = q.cycle();
  if (q.owned_by_table().empty() != q.owned_by_column().empty()) {
    v.Add(where, absl::StrCat("sequence \"", q.name(),
                              "\": owned_by_table and owned_by_column go together"));
  }
  out.owned_by_table = q.owned_by_table();
  out.owned_by_column = q.owned_by_column();
  out.source = v.Source(where);
  out.comment = q.comment();
  return out;
}

// The registry-wide declaration (at most one): target schema, enum types,
// extensions, sequences, ignore patterns.
void LoadSettings(Validator& v, const std::vector<ParsedFile>& parsed, Schema* schema) {
  const ParsedFile* settings_file = nullptr;
  for (const ParsedFile& p : parsed) {
    if (!p.message.has_registry()) continue;
    if (settings_file != nullptr) {
      v.Add(p.map->Where({{"registry", -1}}),
            absl::StrCat("a second registry-wide declaration; the first is at ",
                         settings_file->map->Where({{"registry", -1}}).ToString()));
      continue;
    }
    settings_file = &p;
    const pb::RegistrySettings& s = p.message.registry();
    if (!s.schema().empty()) {
      const RegistryPlace sw = p.map->Where({{"registry", -1}, {"schema", -1}});
      v.CheckName(s.schema(), sw, "schema");
      const absl::Status usable = CheckTargetSchemaName(s.schema());
      if (!usable.ok()) v.Add(sw, std::string(usable.message()));
      schema->name = s.schema();
    }
    std::map<std::string, std::string> seen_enums;  // name -> where
    for (int i = 0; i < s.enum__size(); ++i) {
      schema->enums.push_back(LoadEnum(v, *p.map, i, s.enum_(i), seen_enums));
    }
    std::set<std::string> seen_extensions;
    for (int i = 0; i < s.extension_size(); ++i) {
      const RegistryPlace where = p.map->Where({{"registry", -1}, {"extension", i}});
      v.CheckName(s.extension(i).name(), where, "extension");
      if (!seen_extensions.insert(s.extension(i).name()).second) {
        v.Add(where, absl::StrCat("duplicate extension \"", s.extension(i).name(), "\""));
      }
      schema->extensions.push_back(
          {s.extension(i).name(), s.extension(i).schema(), v.Source(where)});
    }
    std::set<std::string> seen_sequences;
    for (int i = 0; i < s.sequence_size(); ++i) {
      schema->sequences.push_back(LoadSequence(v, *p.map, i, s.sequence(i), seen_sequences));
    }
    for (int i = 0; i < s.ignore_size(); ++i) {
      if (s.ignore(i).empty()) {
        v.Add(p.map->Where({{"registry", -1}, {"ignore", i}}), "empty ignore pattern");
      }
      schema->ignore.push_back(s.ignore(i));
    }
  }
}

// Every file's functions; a name and argument list declared twice is
// reported.
void LoadFunctions(Validator& v, const std::vector<ParsedFile>& parsed, Schema* schema) {
  std::map<std::string, std::string> seen;  // "name(arguments)" -> where
  for (const ParsedFile& p : parsed) {
    for (int i = 0; i < p.message.function_size(); ++i) {
      Function f = LoadFunction(v, *p.map, i, p.message.function(i));
      const std::string key = absl::StrCat(f.name, "(", f.arguments, ")");
      auto [it, inserted] = seen.emplace(key, f.source);
      if (!inserted) {
        v.Add(v.At(f.source), absl::StrCat("duplicate function \"", key, "\" (first declared at ",
                                           it->second, ")"));
      }
      schema->functions.push_back(std::move(f));
    }
  }
}

// Every file's views (and their indexes, in the relation namespace).
void LoadViews(Validator& v, const std::vector<ParsedFile>& parsed, RelationNames& relations,
               Schema* schema) {
  for (const ParsedFile& p : parsed) {
    for (int i = 0; i < p.message.view_size(); ++i) {
      const pb::View& view = p.message.view(i);
      relations.Claim(view.name(), p.map->Where({{"view", i}}),
                      view.materialized() ? "materialized view" : "view");
      schema->views.push_back(LoadView(v, *p.map, i, view));
      for (int k = 0; k < view.index_size(); ++k) {
        relations.Claim(view.index(k).name(), p.map->Where({{"view", i}, {"index", k}}), "index");
      }
    }
  }
}

// SQL files' statements: enum types and extensions join the model; the
// rest run as written when canonicalizing (kept in `registry->sql`). Names
// share the namespaces of the declarations above.
void LoadSqlStatements(Validator& v, std::vector<RegistryStatement> statements,
                       RelationNames& relations, Registry* registry) {
  Schema& schema = registry->schema;
  for (RegistryStatement& rs : statements) {
    SqlStatement& st = rs.statement;
    const RegistryPlace where = v.At(rs.source);
    switch (st.kind) {
      case SqlStatementKind::kEnum:
        v.CheckName(st.name, where, "enum type");
        if (schema.FindEnum(st.name) != nullptr) {
          v.Add(where, absl::StrCat("duplicate enum type \"", st.name, "\""));
        }
        schema.enums.push_back({st.name, st.values, rs.source});
        continue;
      case SqlStatementKind::kExtension:
        if (schema.FindExtension(st.name) != nullptr) {
          v.Add(where, absl::StrCat("duplicate extension \"", st.name, "\""));
        }
        schema.extensions.push_back(
            {st.name, st.values.empty() ? "" : st.values.front(), rs.source});
        continue;
      case SqlStatementKind::kTable:
        v.CheckName(st.name, where, "table");
        relations.Claim(st.name, where, "table");
        break;
      case SqlStatementKind::kIndex:
        v.CheckName(st.name, where, "index");
        relations.Claim(st.name, where, "index");
        break;
      case SqlStatementKind::kSequence:
        v.CheckName(st.name, where, "sequence");
        relations.Claim(st.name, where, "sequence");
        break;
      case SqlStatementKind::kView:
      case SqlStatementKind::kMaterializedView:
        v.CheckName(st.name, where, "view");
        relations.Claim(st.name, where, "view");
        break;
      case SqlStatementKind::kFunction:
        v.CheckName(st.name, where, "function");
        break;
      case SqlStatementKind::kTrigger:
        if (!st.name.empty()) v.CheckName(st.name, where, "trigger");
        break;
      case SqlStatementKind::kConstraint:
      case SqlStatementKind::kForeignKey:
      case SqlStatementKind::kTableProperty:
      case SqlStatementKind::kReplicaIdentity:
      case SqlStatementKind::kSequenceOwner:
      case SqlStatementKind::kComment:
        break;
    }
    registry->sql.push_back(std::move(rs));
  }
}

// What a SQL statement changes (the table of an index, constraint or
// trigger, a sequence's owner, what a comment is on), and the target-schema
// table a foreign key references (which it locks), must be declared by
// the registry: statements run with the scratch schema first in
// search_path and the target schema next, so an undeclared name would
// reach the live object of the target schema (lock it, or run an index
// expression over its rows) while the registry is only being checked.
void CheckSqlTargets(Validator& v, const Registry& registry, const RelationNames& relations) {
  const Schema& schema = registry.schema;
  std::set<std::string> sql_functions;
  std::set<std::string> sql_sequences;
  for (const RegistryStatement& rs : registry.sql) {
    if (rs.statement.kind == SqlStatementKind::kFunction) sql_functions.insert(rs.statement.name);
    if (rs.statement.kind == SqlStatementKind::kSequence) sql_sequences.insert(rs.statement.name);
  }
  const auto relation_declared = [&](const std::string& name) {
    return relations.Find(name) != nullptr || schema.FindSequence(name) != nullptr;
  };
  const auto routine_declared = [&](const std::string& name) {
    if (sql_functions.count(name)) return true;
    return std::any_of(schema.functions.begin(), schema.functions.end(),
                       [&](const Function& f) { return f.name == name; });
  };
  for (const RegistryStatement& rs : registry.sql) {
    const SqlStatement& st = rs.statement;
    std::string undeclared;
    if (!st.table.empty() && !relation_declared(st.table)) undeclared = st.table;
    if (st.kind == SqlStatementKind::kSequenceOwner && !st.name.empty() &&
        !sql_sequences.count(st.name) && schema.FindSequence(st.name) == nullptr) {
      undeclared = st.name;
    }
    if (st.kind == SqlStatementKind::kComment && !st.values.empty() && !st.name.empty()) {
      const std::string& objtype = st.values.front();
      const bool declared = objtype == "OBJECT_TYPE" ? schema.FindEnum(st.name) != nullptr
                                                     : routine_declared(st.name);
      if (!declared) undeclared = st.name;
    }
    for (const std::string& referenced : st.references) {
      if (relations.Find(referenced) != nullptr) continue;
      v.Add(v.At(rs.source),
            absl::StrCat("a foreign key references \"", referenced,
                         "\", which the registry does not declare: a table of the target schema "
                         "must be declared (one of another schema is written qualified, "
                         "other_schema.",
                         referenced, ")"));
    }
    if (undeclared.empty()) continue;
    v.Add(v.At(rs.source),
          absl::StrCat("the statement changes \"", undeclared,
                       "\", which the registry does not declare: a registry's statements may "
                       "change only what it declares (checking it must never reach the "
                       "database's own objects)"));
  }
}

// Enum types and sequences share the namespace of tables and indexes; a
// sequence's owner must be a declared column.
void CheckTypesAndSequences(Validator& v, const Schema& schema, const RelationNames& relations) {
  for (const EnumType& e : schema.enums) {
    // Every table is also a composite type of the same name.
    if (const std::string* at = relations.Find(e.name)) {
      v.Add(v.At(e.source),
            absl::StrCat("enum type \"", e.name, "\" has the name of a table or index (", *at,
                         "); PostgreSQL types and tables share one namespace"));
    }
  }
  for (const Sequence& q : schema.sequences) {
    if (const std::string* at = relations.Find(q.name)) {
      v.Add(v.At(q.source),
            absl::StrCat("sequence \"", q.name, "\" has the name of a table or index (", *at,
                         "); they share one namespace"));
    }
    if (q.owned_by_table.empty()) continue;
    const Table* owner = schema.FindTable(q.owned_by_table);
    if (owner == nullptr || owner->FindColumn(q.owned_by_column) == nullptr) {
      v.Add(v.At(q.source),
            absl::StrCat("sequence \"", q.name, "\" is owned by \"", q.owned_by_table, ".",
                         q.owned_by_column, "\", which is not a column the registry declares"));
    }
  }
}

// Columns use built-in or declared types; foreign keys reference declared
// tables and columns (or tables of the registry's SQL files, which
// PostgreSQL checks).
void CheckColumnTypesAndForeignKeys(Validator& v, const Registry& registry) {
  const Schema& schema = registry.schema;
  std::set<std::string> declared_enums;
  for (const EnumType& e : schema.enums) declared_enums.insert(e.name);
  std::set<std::string> sql_tables;
  for (const RegistryStatement& rs : registry.sql) {
    if (rs.statement.kind == SqlStatementKind::kTable) sql_tables.insert(rs.statement.name);
  }
  for (const Table& table : schema.tables) {
    for (const Column& column : table.columns) {
      const std::string base = BaseTypeName(column.type);
      // "interval day to second": an interval restricted to some fields.
      if (base.empty() || IsBuiltinType(base) || absl::StartsWith(base, "interval ") ||
          declared_enums.count(base) || absl::StrContains(base, ".") ||
          !schema.extensions.empty() ||
          CheckShape(column.type, SqlShape::kTypeName).has_value()) {  // reported above
        continue;
      }
      v.Add(v.At(column.source),
            absl::StrCat("column \"", column.name, "\" uses type \"", base,
                         "\", which is neither a built-in type nor an enum type "
                         "declared in the registry"));
    }
    for (const Constraint& c : table.constraints) {
      if (c.kind != ConstraintKind::kForeignKey) continue;
      if (!c.ref_schema.empty()) continue;  // another schema: not managed here
      const Table* target = schema.FindTable(c.ref_table);
      if (target == nullptr && sql_tables.count(c.ref_table)) continue;  // checked by PostgreSQL
      if (target == nullptr) {
        v.Add(v.At(c.source), absl::StrCat("foreign key \"", c.name,
                                           "\" references unknown table \"", c.ref_table, "\""));
        continue;
      }
      for (const std::string& col : c.ref_columns) {
        if (target->FindColumn(col) == nullptr) {
          v.Add(v.At(c.source),
                absl::StrCat("foreign key \"", c.name, "\" references unknown column \"", col,
                             "\" of table \"", c.ref_table, "\""));
        }
      }
    }
  }
}

// Each constraint's, index's and trigger's definition, as the DDL composer
// writes it.
void ComposeDefinitions(Schema* schema) {
  for (Table& table : schema->tables) {
    for (Constraint& c : table.constraints) c.definition = ConstraintDefinition(c);
    for (Index& i : table.indexes) i.definition = IndexDefinition(i);
    for (Trigger& t : table.triggers) t.definition = CreateTriggerSql(schema->name, t);
  }
  for (View& view : schema->views) {
    for (Index& i : view.indexes) i.definition = IndexDefinition(i);
    for (Trigger& t : view.triggers) t.definition = CreateTriggerSql(schema->name, t);
  }
}

}  // namespace

absl::StatusOr<Registry> LoadRegistry(const std::vector<RegistrySource>& files,
                                      const std::string& origin) {
  Validator v;
  std::vector<ParsedFile> parsed;
  std::vector<RegistryStatement> sql_statements;
  ParseFiles(v, files, &parsed, &sql_statements);

  Registry registry;
  registry.origin = origin;
  Schema& schema = registry.schema;
  schema.name = "public";
  LoadSettings(v, parsed, &schema);
  RelationNames relations(v);
  auto claim = [&](const std::string& name, const RegistryPlace& where, const char* what) {
    relations.Claim(name, where, what);
  };
  for (const ParsedFile& p : parsed) {
    for (int ti = 0; ti < p.message.table_size(); ++ti) {
      schema.tables.push_back(LoadTable(v, *p.map, ti, p.message.table(ti), schema.name, claim));
    }
  }
  LoadFunctions(v, parsed, &schema);
  LoadViews(v, parsed, relations, &schema);
  LoadSqlStatements(v, std::move(sql_statements), relations, &registry);
  CheckSqlTargets(v, registry, relations);
  CheckTypesAndSequences(v, schema, relations);
  CheckColumnTypesAndForeignKeys(v, registry);
  if (!v.errors.empty()) return RegistryErrorStatus(origin, std::move(v.errors));

  ComposeDefinitions(&schema);
  SortSchema(schema);
  registry.id = RegistryFilesId(files);
  registry.sources = files;
  registry.places = v.Places();
  return WithSchema(std::move(registry), "");
}

std::string RegistryFilesId(const std::vector<RegistrySource>& files) {
  std::vector<std::pair<std::string, const std::string*>> named;
  for (const RegistrySource& f : files) {
    const size_t slash = f.path.rfind('/');
    named.emplace_back(slash == std::string::npos ? f.path : f.path.substr(slash + 1), &f.content);
  }
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Fingerprinter fp;
  fp.Add("schemad registry files v1");
  for (const auto& [name, content] : named) {
    fp.Add(name);
    fp.Add(absl::StrCat(content->size()));
    fp.Add(*content);
  }
  return fp.Hex();
}

absl::Status CheckTargetSchemaName(const std::string& name) {
  if (absl::StartsWith(name, "pg_") || name == "information_schema" || name == "schemad") {
    return absl::InvalidArgumentError(
        absl::StrCat("schema \"", name, "\" is ",
                     name == "schemad" ? "schemad's own" : "a PostgreSQL system schema",
                     "; a registry targets an application schema such as \"public\""));
  }
  return absl::OkStatus();
}

Registry WithSchema(Registry registry, const std::string& schema_name) {
  if (!schema_name.empty()) registry.schema.name = schema_name;
  registry.fingerprint = ComputeRegistryFingerprint(registry);
  return registry;
}

std::string ComputeRegistryFingerprint(const Registry& registry) {
  Fingerprinter fp;
  fp.Add(SerializeForFingerprint(registry.schema));
  for (const std::string& pattern : registry.schema.ignore) fp.Add(pattern);
  // SQL statements by their parse trees: reformatting, comments and moving
  // statements between files change nothing.
  std::vector<std::string> statements;
  for (const RegistryStatement& rs : registry.sql) statements.push_back(rs.statement.normalized);
  std::sort(statements.begin(), statements.end());
  for (const std::string& statement : statements) fp.Add(statement);
  return fp.Hex();
}

absl::StatusOr<Registry> LoadRegistryDir(const std::string& dir) {
  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(dir);
  if (!files.ok()) return files.status();
  return LoadRegistry(*files, dir);
}

absl::StatusOr<Registry> LoadEmbeddedRegistry() {
  return LoadRegistry(EmbeddedDocbotRegistry(), "embedded:docbot");
}

}  // namespace schemad
