// Writes a Schema back out as registry files (`schemad inspect`).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "schemad/common/identifier.h"
#include "schemad/ddl/ddl.h"
#include "schemad/registry/registry.h"
#include "schemad/sqlparse/shape.h"
#include "schemad/v1/registry.pb.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;

pb::ReferentialAction ActionProto(ReferentialAction action) {
  switch (action) {
    case ReferentialAction::kNoAction:
      return pb::REFERENTIAL_ACTION_NO_ACTION;
    case ReferentialAction::kRestrict:
      return pb::REFERENTIAL_ACTION_RESTRICT;
    case ReferentialAction::kCascade:
      return pb::REFERENTIAL_ACTION_CASCADE;
    case ReferentialAction::kSetNull:
      return pb::REFERENTIAL_ACTION_SET_NULL;
    case ReferentialAction::kSetDefault:
      return pb::REFERENTIAL_ACTION_SET_DEFAULT;
  }
  return pb::REFERENTIAL_ACTION_NO_ACTION;
}

// The type spelled as the registry wants it: serial columns whose sequence
// has the name PostgreSQL would choose come back as serial types.
void FillColumn(const Table& table, const Column& c, pb::Column* out) {
  out->set_name(c.name);
  out->set_type(c.type);
  out->set_collation(c.collation);
  out->set_storage(c.storage);
  out->set_compression(c.compression);
  if (c.statistics >= 0) out->set_statistics(static_cast<int32_t>(c.statistics));
  for (const std::string& o : c.options) out->add_option(o);
  out->set_not_null(c.not_null);
  out->set_comment(c.comment);
  const std::string implicit_sequence = absl::StrCat(table.name, "_", c.name, "_seq");
  if (!c.serial_sequence.empty() && c.serial_sequence == implicit_sequence) {
    if (c.type == "bigint") out->set_type("bigserial");
    if (c.type == "integer") out->set_type("serial");
    if (c.type == "smallint") out->set_type("smallserial");
    // A serial column is NOT NULL by construction.
    out->set_not_null(false);
    if (out->type() != c.type) return;
  }
  out->set_default_(c.default_expr);
  out->set_identity(c.identity == Identity::kAlways      ? pb::IDENTITY_ALWAYS
                    : c.identity == Identity::kByDefault ? pb::IDENTITY_BY_DEFAULT
                                                         : pb::IDENTITY_NONE);
  out->set_generated(c.generated);
  const IdentityOptions& o = c.identity_options;
  if (c.identity != Identity::kNone &&
      (o.increment || o.min_value || o.max_value || o.start || o.cache || o.cycle)) {
    pb::IdentityOptions* x = out->mutable_identity_options();
    if (o.increment) x->set_increment(*o.increment);
    if (o.min_value) x->set_min_value(*o.min_value);
    if (o.max_value) x->set_max_value(*o.max_value);
    if (o.start) x->set_start(*o.start);
    if (o.cache) x->set_cache(*o.cache);
    x->set_cycle(o.cycle);
  }
}

void FillIndex(const Index& i, pb::Index* x) {
  x->set_name(i.name);
  x->set_unique(i.unique);
  if (i.method != "btree") x->set_method(i.method);
  for (const IndexKey& k : i.keys) {
    pb::IndexKey* key = x->add_key();
    if (!k.column.empty()) {
      key->set_column(k.column);
    } else {
      key->set_expression(k.expression);
    }
    key->set_opclass(k.opclass);
    key->set_descending(k.descending);
    key->set_nulls_first(k.nulls == IndexKey::Nulls::kFirst);
    key->set_nulls_last(k.nulls == IndexKey::Nulls::kLast);
    key->set_collation(k.collation);
  }
  for (const std::string& col : i.include) x->add_include(col);
  x->set_where(i.predicate);
  x->set_comment(i.comment);
  x->set_nulls_not_distinct(i.nulls_not_distinct);
  for (const std::string& s : i.storage) x->add_storage_parameter(s);
}

void FillTrigger(const Trigger& t, pb::Trigger* out);

void FillView(const View& v, pb::View* out) {
  out->set_name(v.name);
  out->set_query(v.query);
  out->set_materialized(v.materialized);
  out->set_security_invoker(v.security_invoker);
  out->set_security_barrier(v.security_barrier);
  out->set_check_option(v.check_option == CheckOption::kLocal      ? pb::VIEW_CHECK_OPTION_LOCAL
                        : v.check_option == CheckOption::kCascaded ? pb::VIEW_CHECK_OPTION_CASCADED
                                                                   : pb::VIEW_CHECK_OPTION_NONE);
  out->set_comment(v.comment);
  for (const std::string& s : v.storage) out->add_storage_parameter(s);
  for (const Index& i : v.indexes) FillIndex(i, out->add_index());
  for (const Trigger& g : v.triggers) FillTrigger(g, out->add_trigger());
  for (const Column& c : v.columns) {
    if (c.comment.empty()) continue;
    pb::ViewColumnComment* cc = out->add_column_comment();
    cc->set_column(c.name);
    cc->set_comment(c.comment);
  }
}

void FillTrigger(const Trigger& t, pb::Trigger* out) {
  out->set_name(t.name);
  out->set_comment(t.comment);
  out->set_enabled(t.enabled == TriggerEnabled::kDisabled  ? pb::TRIGGER_DISABLED
                   : t.enabled == TriggerEnabled::kReplica ? pb::TRIGGER_ENABLED_REPLICA
                   : t.enabled == TriggerEnabled::kAlways  ? pb::TRIGGER_ENABLED_ALWAYS
                                                           : pb::TRIGGER_ENABLED);
  const std::optional<TriggerParts> parts = ParseTriggerDefinition(t.definition);
  if (!parts.has_value()) return;  // loads back as an error naming the trigger
  out->set_timing(parts->timing == "BEFORE"       ? pb::TRIGGER_TIMING_BEFORE
                  : parts->timing == "INSTEAD OF" ? pb::TRIGGER_TIMING_INSTEAD_OF
                                                  : pb::TRIGGER_TIMING_AFTER);
  for (const std::string& e : parts->events) {
    out->add_event(e == "INSERT"   ? pb::TRIGGER_EVENT_INSERT
                   : e == "DELETE" ? pb::TRIGGER_EVENT_DELETE
                   : e == "UPDATE" ? pb::TRIGGER_EVENT_UPDATE
                                   : pb::TRIGGER_EVENT_TRUNCATE);
  }
  for (const std::string& c : parts->update_columns) out->add_update_column(c);
  out->set_for_each_row(parts->for_each_row);
  out->set_when(parts->when);
  out->set_function(parts->function);
  for (const std::string& a : parts->arguments) out->add_argument(a);
  out->set_constraint(parts->constraint);
  out->set_deferrable(parts->deferrable);
  out->set_initially_deferred(parts->initially_deferred);
  out->set_referencing_old_table(parts->old_table);
  out->set_referencing_new_table(parts->new_table);
}

void FillFunction(const Function& f, pb::Function* out) {
  out->set_name(f.name);
  out->set_arguments(f.arguments);
  out->set_returns(f.returns);
  out->set_language(f.language);
  out->set_body(f.body);
  out->set_sql_body(f.sql_body);
  out->set_leakproof(f.leakproof);
  out->set_cost(f.cost);
  out->set_rows(f.rows);
  out->set_volatility(f.volatility == Volatility::kImmutable ? pb::VOLATILITY_IMMUTABLE
                      : f.volatility == Volatility::kStable  ? pb::VOLATILITY_STABLE
                                                             : pb::VOLATILITY_VOLATILE);
  out->set_strict(f.strict);
  out->set_security_definer(f.security_definer);
  out->set_parallel(f.parallel == ParallelSafety::kSafe         ? pb::PARALLEL_SAFE
                    : f.parallel == ParallelSafety::kRestricted ? pb::PARALLEL_RESTRICTED
                                                                : pb::PARALLEL_UNSAFE);
  // proconfig stores "name=value"; written back as "name = value".
  for (const std::string& setting : f.config) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos) {
      out->add_config(setting);
      continue;
    }
    const std::string name = setting.substr(0, eq);
    const std::string value = setting.substr(eq + 1);
    const bool list = name == "search_path" || name == "temp_tablespaces";
    out->add_config(absl::StrCat(name, " = ", list ? value : QuoteLiteral(value)));
  }
  out->set_procedure(f.procedure);
  out->set_comment(f.comment);
}

// Types of the schema that a registry cannot declare (unmanaged domains
// and composite types) are written qualified: the loader checks unqualified
// type names against the built-in and the declared enum types, and
// PostgreSQL resolves the qualified name to the same type.
Table WithUnmanagedTypesQualified(const Table& t, const Schema& schema) {
  Table out = t;
  for (const UnmanagedObject& u : schema.unmanaged) {
    if (u.kind != UnmanagedKind::kDomain && u.kind != UnmanagedKind::kCompositeType) continue;
    const std::string name = QuoteIdent(u.name);
    for (Column& c : out.columns) {
      if (!absl::StartsWith(c.type, name)) continue;
      const std::string rest = c.type.substr(name.size());
      if (rest.empty() || rest[0] == '[' || rest[0] == '(') {
        c.type = absl::StrCat(QuoteIdent(schema.name), ".", c.type);
      }
    }
  }
  return out;
}

void FillTable(const Table& t, pb::Table* out) {
  out->set_name(t.name);
  out->set_comment(t.comment);
  out->set_unlogged(t.unlogged);
  out->set_row_level_security(t.row_security);
  out->set_force_row_level_security(t.force_row_security);
  for (const std::string& s : t.storage) out->add_storage_parameter(s);
  switch (t.replica_identity) {
    case ReplicaIdentity::kDefault:
      break;
    case ReplicaIdentity::kFull:
      out->set_replica_identity(pb::REPLICA_IDENTITY_FULL);
      break;
    case ReplicaIdentity::kNothing:
      out->set_replica_identity(pb::REPLICA_IDENTITY_NOTHING);
      break;
    case ReplicaIdentity::kUsingIndex:
      out->set_replica_identity(pb::REPLICA_IDENTITY_USING_INDEX);
      out->set_replica_identity_index(t.replica_identity_index);
      break;
  }
  for (const Column& c : t.columns) FillColumn(t, c, out->add_column());
  for (const Constraint& c : t.constraints) {
    switch (c.kind) {
      case ConstraintKind::kPrimaryKey: {
        pb::PrimaryKey* pk = out->mutable_primary_key();
        pk->set_name(c.name);
        for (const std::string& col : c.columns) pk->add_column(col);
        pk->set_deferrable(c.deferrable);
        pk->set_initially_deferred(c.initially_deferred);
        pk->set_comment(c.comment);
        for (const std::string& col : c.include) pk->add_include(col);
        for (const std::string& s : c.storage) pk->add_storage_parameter(s);
        break;
      }
      case ConstraintKind::kUnique: {
        pb::UniqueConstraint* u = out->add_unique();
        u->set_name(c.name);
        for (const std::string& col : c.columns) u->add_column(col);
        u->set_nulls_not_distinct(c.nulls_not_distinct);
        u->set_deferrable(c.deferrable);
        u->set_initially_deferred(c.initially_deferred);
        u->set_comment(c.comment);
        for (const std::string& col : c.include) u->add_include(col);
        for (const std::string& s : c.storage) u->add_storage_parameter(s);
        break;
      }
      case ConstraintKind::kForeignKey: {
        pb::ForeignKey* f = out->add_foreign_key();
        f->set_name(c.name);
        for (const std::string& col : c.columns) f->add_column(col);
        f->set_references_table(c.ref_table);
        f->set_references_schema(c.ref_schema);
        for (const std::string& col : c.ref_columns) f->add_references_column(col);
        f->set_on_delete(ActionProto(c.on_delete));
        f->set_on_update(ActionProto(c.on_update));
        f->set_deferrable(c.deferrable);
        f->set_initially_deferred(c.initially_deferred);
        f->set_not_valid(!c.validated);
        f->set_comment(c.comment);
        f->set_match_full(c.match_full);
        for (const std::string& col : c.delete_set_columns) f->add_on_delete_set_column(col);
        break;
      }
      case ConstraintKind::kCheck: {
        pb::CheckConstraint* k = out->add_check();
        k->set_name(c.name);
        k->set_expression(c.check_expr);
        k->set_no_inherit(c.no_inherit);
        k->set_not_valid(!c.validated);
        k->set_comment(c.comment);
        break;
      }
      case ConstraintKind::kExclusion: {
        pb::ExclusionConstraint* x = out->add_exclude();
        x->set_name(c.name);
        x->set_definition(c.exclusion);
        x->set_comment(c.comment);
        break;
      }
    }
  }
  for (const Index& i : t.indexes) FillIndex(i, out->add_index());
  for (const Trigger& g : t.triggers) FillTrigger(g, out->add_trigger());
}

// The file a table is written to; see WriteRegistryDir for the mapping and
// why it is injective. The names kept as they are hold only lowercase ASCII
// letters, digits and '_', and the encoded ones only those too, so no two
// differ by case alone.
std::string TableFileName(const std::string& name, const char* extension = ".textproto") {
  bool plain = !name.empty() && name.size() <= kMaxIdentifierBytes &&
               absl::ascii_islower(static_cast<unsigned char>(name[0])) && name != "registry" &&
               !absl::StartsWith(name, "t_x");
  for (const char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    plain = plain && (absl::ascii_islower(u) || absl::ascii_isdigit(u) || c == '_');
  }
  if (plain) return absl::StrCat(name, extension);
  return absl::StrCat("t_x", absl::BytesToHexString(name), extension);
}

// `text` made safe inside a '#' comment: a line break would end the comment
// and let the rest be read as declarations, so control characters are
// escaped (and backslashes and quotes, so the escapes read unambiguously).
std::string CommentText(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  return out;
}

// Creates `path`, which must not exist, holding `content`. O_EXCL: two
// objects reaching one file is an error, never an overwrite.
absl::Status WriteText(const std::string& content, const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("creating ", path.string()));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat("writing ", path.string()));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("writing ", path.string()));
  return absl::OkStatus();
}

// Creates `path`, which must not exist, holding `header` and `message` in
// text format.
absl::Status WriteMessage(const google::protobuf::Message& message, const std::string& header,
                          const std::filesystem::path& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) {
    return absl::InternalError(absl::StrCat("formatting ", path.string()));
  }
  return WriteText(header + text, path);
}

// The registry files of `schema` into the empty directory `dir`; returns
// their file names.
absl::StatusOr<std::vector<std::string>> WriteRegistryFiles(const Schema& schema,
                                                            const std::filesystem::path& dir) {
  std::vector<std::string> names;
  pb::RegistryFile settings;
  pb::RegistrySettings* s = settings.mutable_registry();
  s->set_schema(schema.name);
  for (const EnumType& e : schema.enums) {
    pb::EnumType* out = s->add_enum_();
    out->set_name(e.name);
    for (const std::string& label : e.labels) out->add_label(label);
    out->set_comment(e.comment);
  }
  for (const Extension& e : schema.extensions) {
    pb::Extension* out = s->add_extension();
    out->set_name(e.name);
    out->set_schema(e.schema);
  }
  for (const Sequence& q : schema.sequences) {
    pb::Sequence* out = s->add_sequence();
    out->set_name(q.name);
    if (q.type != "bigint") out->set_type(q.type);
    // Options equal to PostgreSQL's defaults (for the type and the sign of
    // the increment) are left out, as a person would write them.
    const int64_t increment = q.increment.value_or(1);
    const int64_t type_max = q.type == "smallint"  ? 32767
                             : q.type == "integer" ? 2147483647
                                                   : std::numeric_limits<int64_t>::max();
    const int64_t type_min = q.type == "smallint"  ? -32768
                             : q.type == "integer" ? -2147483648LL
                                                   : std::numeric_limits<int64_t>::min();
    const int64_t default_min = increment > 0 ? 1 : type_min;
    const int64_t default_max = increment > 0 ? type_max : -1;
    if (increment != 1) out->set_increment(increment);
    if (q.min_value && *q.min_value != default_min) out->set_min_value(*q.min_value);
    if (q.max_value && *q.max_value != default_max) out->set_max_value(*q.max_value);
    const int64_t default_start =
        increment > 0 ? q.min_value.value_or(default_min) : q.max_value.value_or(default_max);
    if (q.start && *q.start != default_start) out->set_start(*q.start);
    if (q.cache && *q.cache != 1) out->set_cache(*q.cache);
    out->set_cycle(q.cycle);
    out->set_owned_by_table(q.owned_by_table);
    out->set_owned_by_column(q.owned_by_column);
    out->set_comment(q.comment);
  }
  for (const std::string& pattern : schema.ignore) s->add_ignore(pattern);
  // Views (in the order they can be created) beside the settings: no table
  // file name can collide with them.
  for (const View* v : ViewsInDependencyOrder(schema)) FillView(*v, settings.add_view());
  for (const Function& f : schema.functions) FillFunction(f, settings.add_function());
  names.push_back("registry.textproto");
  absl::Status status = WriteMessage(
      settings, "# Registry-wide declarations, written by schemad inspect.\n", dir / names.back());
  if (!status.ok()) return status;
  for (const Table& t : schema.tables) {
    pb::RegistryFile file;
    FillTable(WithUnmanagedTypesQualified(t, schema), file.add_table());
    names.push_back(TableFileName(t.name));
    status = WriteMessage(
        file, absl::StrCat("# Table \"", CommentText(t.name), "\", written by schemad inspect.\n"),
        dir / names.back());
    if (!status.ok()) return status;
  }
  return names;
}

// `table` as a SQL registry declares it: serial columns (whose sequence
// has the implicit name) as serial types.
Table AsDeclared(const Table& table) {
  Table out = table;
  for (Column& c : out.columns) {
    if (c.serial_sequence.empty() ||
        c.serial_sequence != absl::StrCat(table.name, "_", c.name, "_seq")) {
      continue;
    }
    const std::string serial = c.type == "bigint"     ? "bigserial"
                               : c.type == "integer"  ? "serial"
                               : c.type == "smallint" ? "smallserial"
                                                      : "";
    if (serial.empty()) continue;
    c.type = serial;
    c.default_expr.clear();
  }
  return out;
}

// The registry files of `schema` as SQL into the empty directory `dir`.
absl::StatusOr<std::vector<std::string>> WriteSqlRegistryFiles(const Schema& schema,
                                                               const std::filesystem::path& dir) {
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  auto statements = [](const std::vector<std::string>& list, const std::string& header) {
    std::string out = absl::StrCat("-- ", header, ", written by schemad inspect.\n");
    for (const std::string& s : list) absl::StrAppend(&out, "\n", s, ";\n");
    return out;
  };
  pb::RegistryFile settings;
  settings.mutable_registry()->set_schema(schema.name);
  for (const std::string& pattern : schema.ignore) settings.mutable_registry()->add_ignore(pattern);
  std::string text;
  google::protobuf::TextFormat::PrintToString(settings, &text);
  files.push_back(
      {"registry.textproto",
       absl::StrCat("# Registry-wide declarations, written by schemad inspect.\n", text)});
  std::vector<std::string> types;
  for (const Extension& e : schema.extensions) types.push_back(CreateExtensionSql(e));
  for (const EnumType& e : schema.enums) {
    types.push_back(CreateEnumSql("", e));
    if (!e.comment.empty()) types.push_back(CommentSql("TYPE", QuoteIdent(e.name), e.comment));
  }
  if (!types.empty()) files.push_back({"_types.sql", statements(types, "Extensions and types")});
  std::vector<std::string> sequences;
  for (const Sequence& q : schema.sequences) {
    sequences.push_back(CreateSequenceSql("", q));
    if (!q.owned_by_table.empty()) sequences.push_back(SequenceOwnedBySql("", q));
    if (!q.comment.empty())
      sequences.push_back(CommentSql("SEQUENCE", QuoteIdent(q.name), q.comment));
  }
  if (!sequences.empty()) files.push_back({"_sequences.sql", statements(sequences, "Sequences")});
  std::vector<std::string> functions;
  for (const Function& f : schema.functions) {
    functions.push_back(FunctionSql("", f, false, true));
    if (!f.comment.empty()) {
      functions.push_back(CommentSql(f.procedure ? "PROCEDURE" : "FUNCTION",
                                     absl::StrCat(QuoteIdent(f.name), "(", f.identity, ")"),
                                     f.comment));
    }
  }
  if (!functions.empty()) {
    files.push_back({"_functions.sql", statements(functions, "Functions and procedures")});
  }
  std::vector<std::string> foreign_keys;
  for (const Table& original : schema.tables) {
    const Table t = AsDeclared(original);
    std::vector<std::string> list = {CreateTableSql("", t)};
    for (std::string& sql : RowSecuritySql("", t)) list.push_back(std::move(sql));
    for (const Column& c : t.columns) {
      for (std::string& sql : ColumnSettingsSql("", t.name, c)) list.push_back(std::move(sql));
    }
    for (const Constraint& c : t.constraints) {
      if (c.kind == ConstraintKind::kForeignKey) {
        foreign_keys.push_back(AddConstraintSql("", t.name, c));
        if (!c.comment.empty()) {
          foreign_keys.push_back(
              CommentSql("CONSTRAINT", absl::StrCat(QuoteIdent(c.name), " ON ", QuoteIdent(t.name)),
                         c.comment));
        }
      } else if (AddedAfterCreateTable(t, c)) {
        list.push_back(AddConstraintSql("", t.name, c));
      }
    }
    for (const Index& i : t.indexes) {
      list.push_back(CreateIndexSql("", t.name, i));
      if (!i.comment.empty()) list.push_back(CommentSql("INDEX", QuoteIdent(i.name), i.comment));
    }
    if (t.replica_identity != ReplicaIdentity::kDefault) list.push_back(ReplicaIdentitySql("", t));
    for (const Constraint& c : t.constraints) {
      if (c.comment.empty() || c.kind == ConstraintKind::kForeignKey) continue;
      list.push_back(CommentSql(
          "CONSTRAINT", absl::StrCat(QuoteIdent(c.name), " ON ", QuoteIdent(t.name)), c.comment));
    }
    for (const Trigger& g : t.triggers) {
      list.push_back(g.definition);
      if (g.enabled != TriggerEnabled::kEnabled) list.push_back(TriggerEnabledSql("", g));
      if (!g.comment.empty()) {
        list.push_back(CommentSql(
            "TRIGGER", absl::StrCat(QuoteIdent(g.name), " ON ", QuoteIdent(t.name)), g.comment));
      }
    }
    if (!t.comment.empty()) list.push_back(CommentSql("TABLE", QuoteIdent(t.name), t.comment));
    for (const Column& c : t.columns) {
      if (c.comment.empty()) continue;
      list.push_back(CommentSql("COLUMN", absl::StrCat(QuoteIdent(t.name), ".", QuoteIdent(c.name)),
                                c.comment));
    }
    files.push_back({TableFileName(t.name, ".sql"),
                     statements(list, absl::StrCat("Table \"", CommentText(t.name), "\""))});
  }
  std::vector<std::string> views;
  for (const View* v : ViewsInDependencyOrder(schema)) {
    views.push_back(CreateViewSql("", *v, /*or_replace=*/false, /*with_data=*/false));
    for (const Index& i : v->indexes) {
      views.push_back(CreateIndexSql("", v->name, i));
      if (!i.comment.empty()) views.push_back(CommentSql("INDEX", QuoteIdent(i.name), i.comment));
    }
    if (!v->comment.empty()) {
      views.push_back(CommentSql(v->materialized ? "MATERIALIZED VIEW" : "VIEW",
                                 QuoteIdent(v->name), v->comment));
    }
    for (const Column& c : v->columns) {
      if (c.comment.empty()) continue;
      views.push_back(CommentSql(
          "COLUMN", absl::StrCat(QuoteIdent(v->name), ".", QuoteIdent(c.name)), c.comment));
    }
    for (const Trigger& g : v->triggers) {
      views.push_back(g.definition);
      if (!g.comment.empty()) {
        views.push_back(CommentSql(
            "TRIGGER", absl::StrCat(QuoteIdent(g.name), " ON ", QuoteIdent(v->name)), g.comment));
      }
    }
  }
  if (!views.empty()) files.push_back({"_views.sql", statements(views, "Views")});
  if (!foreign_keys.empty()) {
    files.push_back({"_foreign_keys.sql", statements(foreign_keys, "Foreign keys")});
  }
  std::vector<std::string> names;
  for (const auto& [name, content] : files) {
    absl::Status status = WriteText(content, dir / name);
    if (!status.ok()) return status;
    names.push_back(name);
  }
  return names;
}

// 0777 less the process's umask, read without changing it (Linux keeps it
// in /proc/self/status); 0755 if it cannot be read.
std::filesystem::perms DefaultDirectoryPerms() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Umask:")) {
      const unsigned long mask = std::strtoul(line.c_str() + 6, nullptr, 8);
      return static_cast<std::filesystem::perms>(0777 & ~mask);
    }
  }
  return static_cast<std::filesystem::perms>(0755);
}

// Creates an empty directory beside `target`, named after it, for `purpose`.
absl::StatusOr<std::filesystem::path> MakeSiblingDir(const std::filesystem::path& target,
                                                     const char* purpose) {
  // The name only has to be recognisable; keep it well below NAME_MAX.
  std::string name_template =
      (target.parent_path() /
       absl::StrCat(".", target.filename().string().substr(0, 64), ".schemad-", purpose, "-XXXXXX"))
          .string();
  if (::mkdtemp(name_template.data()) == nullptr) {
    return absl::ErrnoToStatus(
        errno, absl::StrCat("creating a temporary directory in ", target.parent_path().string()));
  }
  return std::filesystem::path(name_template);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteRegistryDir(const Schema& schema,
                                                          const std::string& dir,
                                                          const WriteRegistryOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;

  // Two tables of one name would need one file: refused before any I/O.
  std::set<std::string> seen;
  for (const Table& t : schema.tables) {
    if (!seen.insert(t.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two tables named \"", CommentText(t.name), "\""));
    }
  }

  // The directory itself is renamed, so it needs a real name: "out/",
  // "." or a symbolic link become the directory they stand for.
  fs::path target = fs::absolute(dir, ec);
  if (!ec) target = fs::weakly_canonical(target, ec);
  if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("resolving ", dir));
  if (!target.has_filename()) target = target.parent_path();
  if (!target.has_filename() || target == target.root_path()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write a registry to ", dir, ": name a directory to create"));
  }

  const fs::file_status existing = fs::symlink_status(target, ec);
  bool exists = false;
  bool has_entries = false;
  if (existing.type() != fs::file_type::not_found) {
    if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("reading ", dir));
    if (!fs::is_directory(existing)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, fs::is_symlink(existing) ? " is a dangling symbolic link"
                                                     : " exists and is not a directory"));
    }
    exists = true;
    const fs::directory_iterator it(target, ec);
    if (ec) return absl::ErrnoToStatus(ec.value(), absl::StrCat("reading ", dir));
    has_entries = it != fs::directory_iterator();
  }
  if (has_entries && !options.replace) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " exists and is not empty; pass --replace to replace its contents"));
  }

  // Everything is written into a fresh directory beside the target and
  // renamed into place, so a failure leaves the target as it was.
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return absl::ErrnoToStatus(ec.value(),
                               absl::StrCat("creating ", target.parent_path().string()));
  }
  absl::StatusOr<fs::path> fresh = MakeSiblingDir(target, "new");
  if (!fresh.ok()) return fresh.status();
  auto discard = [](const fs::path& path) {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  };
  // mkdtemp makes it 0700; the registry gets what the old one had, or what
  // a new directory would get.
  fs::permissions(*fresh,
                  exists ? existing.permissions() & fs::perms::mask : DefaultDirectoryPerms(), ec);
  if (ec) {
    discard(*fresh);
    return absl::ErrnoToStatus(ec.value(),
                               absl::StrCat("setting permissions of ", fresh->string()));
  }
  absl::StatusOr<std::vector<std::string>> names = options.format == RegistryFormat::kSql
                                                       ? WriteSqlRegistryFiles(schema, *fresh)
                                                       : WriteRegistryFiles(schema, *fresh);
  if (!names.ok()) {
    discard(*fresh);
    return names.status();
  }

  if (!has_entries) {
    // rename(2) replaces an empty directory, and fails should it have
    // gained entries meanwhile.
    if (::rename(fresh->c_str(), target.c_str()) != 0) {
      const int error = errno;
      discard(*fresh);
      return absl::ErrnoToStatus(error, absl::StrCat("moving the new registry to ", dir));
    }
  } else {
    absl::StatusOr<fs::path> old = MakeSiblingDir(target, "old");
    if (!old.ok()) {
      discard(*fresh);
      return old.status();
    }
    // Onto the empty directory mkdtemp reserved.
    if (::rename(target.c_str(), old->c_str()) != 0) {
      const int error = errno;
      discard(*fresh);
      discard(*old);
      return absl::ErrnoToStatus(error, absl::StrCat("moving ", dir, " aside"));
    }
    if (::rename(fresh->c_str(), target.c_str()) != 0) {
      const int error = errno;
      if (::rename(old->c_str(), target.c_str()) != 0) {
        return absl::ErrnoToStatus(
            error,
            absl::StrCat("moving the new registry to ", dir, " (its previous contents are in ",
                         old->string(), ", the new ones in ", fresh->string(), ")"));
      }
      discard(*fresh);
      return absl::ErrnoToStatus(error, absl::StrCat("moving the new registry to ", dir));
    }
    fs::remove_all(*old, ec);
    if (ec) {
      return absl::ErrnoToStatus(ec.value(),
                                 absl::StrCat("wrote ", dir,
                                              " but could not remove its previous contents, "
                                              "moved to ",
                                              old->string()));
    }
  }

  std::vector<std::string> written;
  for (const std::string& name : *names) written.push_back((fs::path(dir) / name).string());
  return written;
}

}  // namespace schemad
