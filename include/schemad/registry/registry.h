// The model registry: a directory of RegistryFile messages (text format
// *.textproto, or *.json) turned into a validated Schema.
//
//   absl::StatusOr<Registry> r = LoadRegistryDir("deploy/registry/docbot");
//   if (!r.ok()) { std::cerr << r.status().message(); }  // every error, one a line
//
// Validation reports every error at once, each line "file:line:column: field
// path: what is wrong" (JSON files give the field path without a line), and
// the same as data: RegistryErrorsOf(status).
// Thread-safe: pure functions over their arguments.
#ifndef SCHEMAD_REGISTRY_REGISTRY_H_
#define SCHEMAD_REGISTRY_REGISTRY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "schemad/ddl/ddl.h"
#include "schemad/model/model.h"
#include "schemad/sqlparse/shape.h"

namespace schemad {

// One registry file: a display path and its contents.
struct RegistrySource {
  std::string path;
  std::string content;
};

// Where in a registry something is: the file as the registry names it, a
// 1-based line and column (0 when unknown: JSON files give the field path
// instead), and the field path ("table[0].column[2]"; empty for a place in
// a SQL file).
struct RegistryPlace {
  std::string file;
  int line = 0;
  int column = 0;
  std::string field;
  // "file:line:column: field", "file: field", "file:line:column" or "file".
  std::string ToString() const;
};

// One problem found in a registry, as data: its place and what is wrong.
struct RegistryError {
  RegistryPlace place;
  std::string message;
  // "<place>: <message>", as LoadRegistry's status message prints it.
  std::string ToString() const;
};

// A statement of a registry's .sql file (see ClassifySqlFile): run as it
// is when canonicalizing, never on the target.
struct RegistryStatement {
  SqlStatement statement;
  // "file:line:col" of its first character.
  std::string source;
};

struct Registry {
  // Validated, sorted; definitions as the registry spells them. Enum types
  // and extensions declared in SQL files are here too.
  Schema schema;
  // The other statements of SQL files, in file (name) and statement order.
  std::vector<RegistryStatement> sql;
  // Fingerprint of everything the registry declares (not of formatting).
  std::string fingerprint;
  // Where it came from: a directory, or "embedded:docbot".
  std::string origin;
  // Hash of the files as sent (RegistryFilesId), and the files: what the
  // registry store keeps.
  std::string id;
  std::vector<RegistrySource> sources;
  // The place of each `source` text of the schema's objects and of `sql`.
  std::map<std::string, RegistryPlace> places;
};

// The errors of an INVALID_ARGUMENT status that LoadRegistry returned, in
// its order (they travel as a payload of the status); empty for any other
// status.
std::vector<RegistryError> RegistryErrorsOf(const absl::Status& status);

// `status` carrying `errors` (RegistryErrorsOf reads them back): for errors
// of a registry found after loading it (PostgreSQL rejecting a declaration
// when canonicalizing).
absl::Status AttachRegistryErrors(absl::Status status, const std::vector<RegistryError>& errors);

// The place of a `source` text of `registry`'s objects (a place of the file
// named `source` when the registry does not know it).
RegistryPlace PlaceOf(const Registry& registry, const std::string& source);

// Hash of a registry's files: their base names and bytes, in name order
// (the id a published registry is stored under).
std::string RegistryFilesId(const std::vector<RegistrySource>& files);

// Returns the docbot registry compiled into the binary.
const std::vector<RegistrySource>& EmbeddedDocbotRegistry();

// Reads every *.textproto, *.json and *.sql file of `dir` (not recursive), sorted
// by name, following symbolic links; entries whose name starts with '.' are
// ignored. NOT_FOUND when `dir` is missing; INVALID_ARGUMENT when it holds
// no registry file, or, naming the entry, when a registry entry is a
// dangling symbolic link or a link loop, is not a regular file once links
// are resolved (a directory, FIFO, socket, device), or is larger than 8 MiB.
absl::StatusOr<std::vector<RegistrySource>> ReadRegistryDir(const std::string& dir);

// Parses and validates `files`. INVALID_ARGUMENT listing every error, one
// a line, and carrying them as data (RegistryErrorsOf).
absl::StatusOr<Registry> LoadRegistry(const std::vector<RegistrySource>& files,
                                      const std::string& origin);

// ReadRegistryDir + LoadRegistry.
absl::StatusOr<Registry> LoadRegistryDir(const std::string& dir);

// LoadRegistry of EmbeddedDocbotRegistry().
absl::StatusOr<Registry> LoadEmbeddedRegistry();

// OK when `name` may be a registry's target schema; INVALID_ARGUMENT for
// PostgreSQL's system schemas (pg_*, information_schema) and "schemad".
absl::Status CheckTargetSchemaName(const std::string& name);

// Returns `registry` retargeted at PostgreSQL schema `schema_name`, with its
// fingerprint updated. No-op for an empty name.
Registry WithSchema(Registry registry, const std::string& schema_name);

// The fingerprint of what `registry` declares now (its `fingerprint` field
// as LoadRegistry and WithSchema set it), computed afresh: keys that must
// not trust the field (a stored canonical model) use it.
std::string ComputeRegistryFingerprint(const Registry& registry);

enum class RegistryFormat { kTextproto, kSql };

struct WriteRegistryOptions {
  // Replace `dir` when it exists and is not empty. Default: refuse.
  bool replace = false;
  // kSql: registry.textproto with the registry-wide settings, one
  // <table>.sql per table (CREATE TABLE, its constraints, indexes,
  // triggers and comments), and _types.sql (extensions, enum types),
  // _sequences.sql, _functions.sql, _views.sql and _foreign_keys.sql; the
  // file names of tables follow the textproto mapping, and never begin
  // with "_".
  RegistryFormat format = RegistryFormat::kTextproto;
};

// Writes `schema` as registry files into `dir`: registry.textproto with the
// registry-wide declarations and one file per table. A table's file is
// <name>.textproto when its name matches ^[a-z][a-z0-9_]{0,62}$, is not
// "registry" and does not start with "t_x"; otherwise t_x<lowercase hex of
// the name's bytes>.textproto. That mapping is injective, also on
// case-insensitive file systems, and never yields registry.textproto; the
// file's content carries the real name. Serial columns are written as
// serial/bigserial/smallserial.
//
// Everything is written into a fresh directory beside `dir` (same parent,
// created if missing) that is then renamed into place, so a failure leaves
// `dir` as it was. FAILED_PRECONDITION when `dir` exists and is not empty,
// unless `options.replace` (its old contents are then removed), or when it
// is not a directory. Returns the paths written, under `dir`.
absl::StatusOr<std::vector<std::string>> WriteRegistryDir(const Schema& schema,
                                                          const std::string& dir,
                                                          const WriteRegistryOptions& options = {});

}  // namespace schemad

#endif  // SCHEMAD_REGISTRY_REGISTRY_H_
