// Writes a Schema back out as registry files (`schemad inspect`).
#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "schemad/registry/registry.h"
#include "schemad/v1/registry.pb.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;

pb::ReferentialAction ActionProto(const std::string& action) {
  if (action == "RESTRICT") return pb::REFERENTIAL_ACTION_RESTRICT;
  if (action == "CASCADE") return pb::REFERENTIAL_ACTION_CASCADE;
  if (action == "SET NULL") return pb::REFERENTIAL_ACTION_SET_NULL;
  if (action == "SET DEFAULT") return pb::REFERENTIAL_ACTION_SET_DEFAULT;
  return pb::REFERENTIAL_ACTION_NO_ACTION;
}

// The type spelled as the registry wants it: serial columns whose sequence
// has the name PostgreSQL would choose come back as serial types.
void FillColumn(const Table& table, const Column& c, pb::Column* out) {
  out->set_name(c.name);
  out->set_type(c.type);
  out->set_not_null(c.not_null);
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
}

void FillTable(const Table& t, pb::Table* out) {
  out->set_name(t.name);
  for (const Column& c : t.columns) FillColumn(t, c, out->add_column());
  for (const Constraint& c : t.constraints) {
    switch (c.kind) {
      case ConstraintKind::kPrimaryKey: {
        pb::PrimaryKey* pk = out->mutable_primary_key();
        pk->set_name(c.name);
        for (const std::string& col : c.columns) pk->add_column(col);
        break;
      }
      case ConstraintKind::kUnique: {
        pb::UniqueConstraint* u = out->add_unique();
        u->set_name(c.name);
        for (const std::string& col : c.columns) u->add_column(col);
        u->set_nulls_not_distinct(c.nulls_not_distinct);
        break;
      }
      case ConstraintKind::kForeignKey: {
        pb::ForeignKey* f = out->add_foreign_key();
        f->set_name(c.name);
        for (const std::string& col : c.columns) f->add_column(col);
        f->set_references_table(c.ref_table);
        for (const std::string& col : c.ref_columns) f->add_references_column(col);
        f->set_on_delete(ActionProto(c.on_delete));
        f->set_on_update(ActionProto(c.on_update));
        f->set_deferrable(c.deferrable);
        f->set_initially_deferred(c.initially_deferred);
        break;
      }
      case ConstraintKind::kCheck: {
        pb::CheckConstraint* k = out->add_check();
        k->set_name(c.name);
        k->set_expression(c.check_expr);
        break;
      }
    }
  }
  for (const Index& i : t.indexes) {
    pb::Index* x = out->add_index();
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
    }
    for (const std::string& col : i.include) x->add_include(col);
    x->set_where(i.predicate);
  }
}

absl::Status WriteMessage(const google::protobuf::Message& message, const std::string& header,
                          const std::filesystem::path& path) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(message, &text)) {
    return absl::InternalError(absl::StrCat("formatting ", path.string()));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << header << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("writing ", path.string()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> WriteRegistryDir(const Schema& schema,
                                                          const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", dir, ": ", ec.message()));
  std::vector<std::string> written;
  pb::RegistryFile settings;
  pb::RegistrySettings* s = settings.mutable_registry();
  s->set_schema(schema.name);
  for (const EnumType& e : schema.enums) {
    pb::EnumType* out = s->add_enum_();
    out->set_name(e.name);
    for (const std::string& label : e.labels) out->add_label(label);
  }
  for (const Extension& e : schema.extensions) {
    pb::Extension* out = s->add_extension();
    out->set_name(e.name);
    out->set_schema(e.schema);
  }
  for (const std::string& pattern : schema.ignore) s->add_ignore(pattern);
  const fs::path settings_path = fs::path(dir) / "registry.textproto";
  absl::Status status = WriteMessage(
      settings, absl::StrCat("# Registry-wide declarations, written by schemad inspect.\n"),
      settings_path);
  if (!status.ok()) return status;
  written.push_back(settings_path.string());
  for (const Table& t : schema.tables) {
    pb::RegistryFile file;
    FillTable(t, file.add_table());
    // Table names may hold characters a file name cannot; keep the file
    // name safe and let the content carry the real name.
    std::string file_name;
    for (char c : t.name) {
      file_name += (c == '/' || c == '\\' || c == '\0' || (c == '.' && file_name.empty())) ? '_' : c;
    }
    const fs::path path = fs::path(dir) / absl::StrCat(file_name, ".textproto");
    status = WriteMessage(file, absl::StrCat("# Table ", t.name, ", written by schemad inspect.\n"),
                          path);
    if (!status.ok()) return status;
    written.push_back(path.string());
  }
  return written;
}

}  // namespace schemad
