// The registry store: published registry versions, kept in the target
// database's `schemad` schema (schemad.registries, registry_files,
// registry_labels), and the history of the runs that applied them.
//
//   RegistryStore store(db);
//   absl::StatusOr<PublishResult> p = store.Publish(*registry, {"3f9c2e1"}, false, "ci", deadline);
//   absl::StatusOr<StoredRegistry> r = store.Find({.label = "prod"}, deadline);
//   absl::StatusOr<Registry> loaded = LoadRegistry(r->files, "store:prod");
//
// A registry is stored once per files id (RegistryFilesId: names and
// bytes), with its fingerprint as a second key. Labels name one registry
// each: immutable unless moved explicitly (each move is a row of its own,
// so moves are recorded). Reserved labels: "@default" (resolved by the
// caller: the registry schemad serves) and "@applied" (the registry of the
// newest completed run). Reads trust the tables only once their owner and
// shape are verified (see self_schema.h). Thread-safe.
#ifndef SCHEMAD_APPLY_REGISTRY_STORE_H_
#define SCHEMAD_APPLY_REGISTRY_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "schemad/db/database.h"
#include "schemad/registry/registry.h"

namespace schemad {

struct StoredRegistryInfo {
  // Row id: publish order (a larger row was stored later).
  int64_t row = 0;
  // RegistryFilesId of its files.
  std::string id;
  std::string fingerprint;
  std::string schema;
  std::string publisher;
  absl::Time published_at;
  int files = 0;
  int64_t bytes = 0;
  // The labels that name it now, sorted.
  std::vector<std::string> labels;
};

struct StoredRegistry {
  StoredRegistryInfo info;
  // Base names and bytes, in name order.
  std::vector<RegistrySource> files;
};

struct PublishResult {
  StoredRegistryInfo info;
  // False when the files were stored before.
  bool created = false;
};

// One run of schemad.history.
struct HistoryEntry {
  int64_t id = 0;
  // "initialize" or "rollback".
  std::string kind;
  absl::Time started_at;
  absl::Time finished_at;
  int duration_ms = 0;
  std::string caller;
  // "TRANSACTIONAL" or "ONLINE".
  std::string mode;
  std::string state;
  int steps = 0;
  std::string registry_fingerprint;
  // Files id of the registry applied ("" for runs before the store), its
  // labels now, and for rollbacks the files id of the one before.
  std::string registry_id;
  std::vector<std::string> registry_labels;
  std::string from_registry_id;
  std::string request_id;
  // Filled for a single entry (History with `only`): the steps' SQL.
  std::vector<std::string> sql;
};

struct RegistrySelection {
  // Exactly one is set. `fingerprint` matches a registry fingerprint or a
  // files id (the newest registry when several share a fingerprint).
  std::string label;
  std::string fingerprint;
};

// OK when `label` may be given at publish time: 1 to 128 characters of
// [A-Za-z0-9._/-], not starting with '@' (reserved) or '.'. INVALID_ARGUMENT
// naming it otherwise.
absl::Status CheckLabel(const std::string& label);

class RegistryStore {
 public:
  // `keep_last`: unlabelled registries kept besides the labelled ones and
  // the one applied last; older ones are pruned when a registry is
  // published.
  explicit RegistryStore(Database* db, int keep_last = 50) : db_(db), keep_last_(keep_last) {}

  // Stores `registry` (its sources) unless stored, and gives it `labels`.
  // ALREADY_EXISTS when a label names another registry and `move` is
  // false; nothing is stored then. Creates or migrates schemad's schema
  // when needed.
  absl::StatusOr<PublishResult> Publish(const Registry& registry,
                                        const std::vector<std::string>& labels, bool move,
                                        const std::string& publisher, absl::Time deadline);
  // NOT_FOUND naming the selector when nothing matches ("@applied": when
  // no run recorded a stored registry).
  absl::StatusOr<StoredRegistry> Find(const RegistrySelection& selection, absl::Time deadline);
  // Newest first, rows below `before_row` (0: from the newest).
  absl::StatusOr<std::vector<StoredRegistryInfo>> List(int limit, int64_t before_row,
                                                       absl::Time deadline);
  // Runs newest first, ids below `before_id` (0: from the newest); with
  // `only` != 0 just that run, with its SQL (NOT_FOUND when absent).
  absl::StatusOr<std::vector<HistoryEntry>> History(int limit, int64_t before_id, int64_t only,
                                                    absl::Time deadline);

 private:
  Database* const db_;
  const int keep_last_;
};

}  // namespace schemad

#endif  // SCHEMAD_APPLY_REGISTRY_STORE_H_
