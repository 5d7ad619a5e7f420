#include "registries.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace schemad {
namespace {

// Most files and bytes a published registry may hold.
constexpr size_t kMaxFiles = 20000;

bool PlainFileName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return absl::EndsWith(name, ".textproto") || absl::EndsWith(name, ".json") ||
         absl::EndsWith(name, ".sql");
}

}  // namespace

Registries::Registries(Engine* served, RegistryStore* store, RegistriesOptions options)
    : served_(served), store_(store), options_(std::move(options)) {}

absl::StatusOr<Registry> Registries::Load(const std::vector<RegistrySource>& files,
                                          const std::string& origin) const {
  std::vector<std::string> errors;
  std::set<std::string> seen;
  if (files.empty()) errors.push_back("files: no registry file");
  if (files.size() > kMaxFiles) {
    errors.push_back(absl::StrCat("files: ", files.size(), " files; at most ", kMaxFiles));
  }
  for (size_t i = 0; i < files.size() && i < kMaxFiles; ++i) {
    const std::string& name = files[i].path;
    if (!PlainFileName(name)) {
      errors.push_back(absl::StrCat(
          "files[", i, "].name: \"", absl::CEscape(name.substr(0, 64)),
          "\" is not a registry file name (letters, digits, '.', '_', '-'; not starting with "
          "'.'; ending in .textproto, .json or .sql)"));
    } else if (!seen.insert(name).second) {
      errors.push_back(absl::StrCat("files[", i, "].name: \"", name, "\" appears twice"));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid registry ", origin, " (", errors.size(),
                                                   " error", errors.size() == 1 ? "" : "s", "):\n",
                                                   absl::StrJoin(errors, "\n")));
  }
  absl::StatusOr<Registry> registry = LoadRegistry(files, origin);
  if (!registry.ok()) return registry.status();
  Registry out = WithSchema(*std::move(registry), options_.schema);
  const std::string& served = served_->registry().schema.name;
  if (out.schema.name != served) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid registry ", origin, " (1 error):\nregistry.schema: the registry targets schema \"",
        out.schema.name, "\"; this schemad serves schema \"", served,
        "\" (one schemad per target schema)"));
  }
  return out;
}

std::shared_ptr<Engine> Registries::EngineFor(Registry registry) {
  if (registry.id == served_->registry().id &&
      registry.fingerprint == served_->registry().fingerprint) {
    return std::shared_ptr<Engine>(served_, [](Engine*) {});
  }
  absl::MutexLock lock(&mu_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if ((*it)->registry().id == registry.id) {
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front();
    }
  }
  cache_.push_front(
      std::make_shared<Engine>(&served_->database(), std::move(registry), served_->options()));
  while (cache_.size() > std::max<size_t>(options_.cache, 1)) cache_.pop_back();
  return cache_.front();
}

absl::StatusOr<std::shared_ptr<Engine>> Registries::Resolve(const RegistrySelection& selection,
                                                            absl::Time deadline) {
  const Registry& served = served_->registry();
  if ((selection.label.empty() && selection.fingerprint.empty()) || selection.label == "@default" ||
      selection.fingerprint == served.fingerprint || selection.fingerprint == served.id) {
    return std::shared_ptr<Engine>(served_, [](Engine*) {});
  }
  {
    // A fingerprint or files id already resolved needs no read.
    absl::MutexLock lock(&mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      const Registry& r = (*it)->registry();
      if (!selection.fingerprint.empty() &&
          (r.id == selection.fingerprint || r.fingerprint == selection.fingerprint)) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front();
      }
    }
  }
  absl::StatusOr<StoredRegistry> stored = store_->Find(selection, deadline);
  if (!stored.ok()) return stored.status();
  {
    absl::MutexLock lock(&mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if ((*it)->registry().id == stored->info.id) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front();
      }
    }
  }
  absl::StatusOr<Registry> registry = Load(stored->files, absl::StrCat("store:", stored->info.id));
  if (!registry.ok()) {
    // Stored by a release whose loader accepted it, or stored under another
    // --schema: it cannot be served as it is.
    return absl::FailedPreconditionError(
        absl::StrCat("published registry ", stored->info.id,
                     " cannot be served: ", registry.status().message()));
  }
  return EngineFor(*std::move(registry));
}

}  // namespace schemad
