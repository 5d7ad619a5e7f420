// The registries a server works with: the one it serves (@default) and
// published ones, resolved from the registry store by label or fingerprint,
// each with an engine of its own (its canonical form cached), the most
// recently used kept up to a bound.
//
//   Registries registries(&default_engine, &store, {.schema = "", .cache = 8});
//   absl::StatusOr<std::shared_ptr<Engine>> e = registries.Resolve({.label = "prod"}, deadline);
//
// Thread-safe.
#ifndef SCHEMAD_SERVER_REGISTRIES_H_
#define SCHEMAD_SERVER_REGISTRIES_H_

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "schemad/apply/engine.h"
#include "schemad/apply/registry_store.h"

namespace schemad {

struct RegistriesOptions {
  // --schema: every registry is retargeted at it (empty: each its own).
  std::string schema;
  // Engines of published registries kept (each holds a canonical model).
  size_t cache = 8;
};

class Registries {
 public:
  Registries(Engine* served, RegistryStore* store, RegistriesOptions options);

  // Unset selection (both empty) and "@default": the served registry.
  // NOT_FOUND for an unknown label or fingerprint. The selection is one the
  // service read from the wire and checked (a label no registry could carry
  // and an over-long fingerprint are refused there, for every RPC).
  absl::StatusOr<std::shared_ptr<Engine>> Resolve(const RegistrySelection& selection,
                                                  absl::Time deadline);
  // Parses and validates published files (names checked: plain file names
  // of a registry's formats, unique). INVALID_ARGUMENT listing every error.
  absl::StatusOr<Registry> Load(const std::vector<RegistrySource>& files,
                                const std::string& origin) const;
  // The engine of `registry` (cached by files id; the served one when the
  // files are the same).
  std::shared_ptr<Engine> EngineFor(Registry registry);

  Engine& served() { return *served_; }
  RegistryStore& store() { return *store_; }

 private:
  Engine* const served_;
  RegistryStore* const store_;
  const RegistriesOptions options_;
  absl::Mutex mu_;
  // Most recently used first.
  std::list<std::shared_ptr<Engine>> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace schemad

#endif  // SCHEMAD_SERVER_REGISTRIES_H_
