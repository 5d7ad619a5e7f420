// libFuzzer target for the registry loader (issue 7, "Bad input").
//
// Input layout: byte 0 is a mode byte, the rest is registry file content.
//   bit 0  first file is JSON (*.json) rather than text format (*.textproto)
//   bit 1  split the rest at the first kSeparator byte into two files, to
//          exercise cross-file checks (second registry block, foreign keys
//          and enum types across files, duplicate relation names)
//   bit 2  with bit 1: the second file uses the other format
//   bit 3  the first file is a SQL registry file (*.sql), whatever bit 0 says
//   bit 4  with bit 1: the second file is a SQL registry file, whatever
//          bits 0 and 2 say (SQL files are split and classified offline with
//          libpg_query: the loader's other hostile-input surface)
//
// Invariants (a violation calls __builtin_trap(), which libFuzzer reports as
// a crash and saves the input):
//   - LoadRegistry returns (ASan/UBSan catch memory errors and UB);
//   - a failure is INVALID_ARGUMENT with a message starting "invalid
//     registry"; every error line after the header names one of the files;
//   - a success has a non-empty fingerprint;
//   - loading the same input again gives the same result (fingerprint on
//     success, message on failure).
//
// Environment: SCHEMAD_FUZZ_TOLERATE=error-lines skips the error-line check,
// =json-error-lines skips it for inputs with a JSON file, to fuzz the other
// invariants past a known error-line finding;
// SCHEMAD_FUZZ_VERBOSE=1 prints each result (to look at seeds or a reproducer:
// SCHEMAD_FUZZ_VERBOSE=1 build-fuzz/registry_fuzzer FILE...).
//
// Build and run: scripts/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "schemad/registry/registry.h"

namespace schemad {
// Defined by a generated file in the main build; LoadEmbeddedRegistry (in
// registry.cc) refers to it. The fuzzer never loads the embedded registry.
const std::vector<RegistrySource>& EmbeddedDocbotRegistry() {
  static const auto* const kNone = new std::vector<RegistrySource>();
  return *kNone;
}
}  // namespace schemad

namespace {

constexpr char kSeparator = '\0';
constexpr absl::string_view kOrigin = "fuzz:registry";
bool g_check_error_lines = true;
bool g_check_json_error_lines = true;
bool g_verbose = false;

[[noreturn]] void Violation(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n=== registry_fuzzer invariant violated: %s\n%s\n=== end\n", what,
               detail.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

void CheckResult(const absl::StatusOr<schemad::Registry>& result,
                 const std::vector<schemad::RegistrySource>& files) {
  if (result.ok()) {
    if (result->fingerprint.empty()) Violation("success with an empty fingerprint", "");
    if (result->origin != kOrigin) Violation("success with the wrong origin", result->origin);
    return;
  }
  const absl::Status& status = result.status();
  const std::string message(status.message());
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    Violation("failure is not INVALID_ARGUMENT", status.ToString());
  }
  if (message.empty()) Violation("failure with an empty message", "");
  if (!absl::StartsWith(message, "invalid registry")) {
    Violation("failure message does not start with \"invalid registry\"", message);
  }
  if (!g_check_error_lines) return;
  for (const schemad::RegistrySource& f : files) {
    if (!g_check_json_error_lines && absl::EndsWith(f.path, ".json")) return;
  }
  // "invalid registry <origin> (N errors):\n<error>\n<error>..."
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  if (lines.size() < 2) Violation("failure message lists no error line", message);
  for (size_t i = 1; i < lines.size(); ++i) {
    bool names_file = false;
    for (const schemad::RegistrySource& f : files) {
      if (absl::StartsWith(lines[i], f.path + ":")) names_file = true;
    }
    if (!names_file) {
      Violation("an error line does not start with a file path",
                std::string("line ") + std::to_string(i) + ": [" + std::string(lines[i]) +
                    "]\nfull message:\n" + message);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tolerate = std::getenv("SCHEMAD_FUZZ_TOLERATE");
  for (absl::string_view t : absl::StrSplit(tolerate == nullptr ? "" : tolerate, ',')) {
    if (t == "error-lines") g_check_error_lines = false;
    if (t == "json-error-lines") g_check_json_error_lines = false;
  }
  const char* verbose = std::getenv("SCHEMAD_FUZZ_VERBOSE");
  g_verbose = verbose != nullptr && *verbose != '\0' && *verbose != '0';
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool json = mode & 1;
  const bool split = mode & 2;
  const bool mixed = mode & 4;
  const char* ext_a = mode & 8 ? ".sql" : json ? ".json" : ".textproto";
  const char* ext_b = mode & 16 ? ".sql" : json != mixed ? ".json" : ".textproto";

  std::vector<schemad::RegistrySource> files;
  const size_t sep = split ? rest.find(kSeparator) : std::string::npos;
  if (sep == std::string::npos) {
    files.push_back({std::string("fuzz/a") + ext_a, rest});
  } else {
    files.push_back({std::string("fuzz/a") + ext_a, rest.substr(0, sep)});
    files.push_back({std::string("fuzz/b") + ext_b, rest.substr(sep + 1)});
  }

  const std::string origin(kOrigin);
  absl::StatusOr<schemad::Registry> first = schemad::LoadRegistry(files, origin);
  if (g_verbose) {
    std::string names;
    for (const schemad::RegistrySource& f : files) names += " " + f.path;
    if (first.ok()) {
      std::fprintf(stderr, "registry_fuzzer:%s: ok, %zu table(s), fingerprint %s\n", names.c_str(),
                   first->schema.tables.size(), first->fingerprint.c_str());
    } else {
      std::fprintf(stderr, "registry_fuzzer:%s: %s\n", names.c_str(),
                   first.status().ToString().c_str());
    }
  }
  CheckResult(first, files);

  // Determinism: the same files load to the same result.
  absl::StatusOr<schemad::Registry> second = schemad::LoadRegistry(files, origin);
  if (first.ok() != second.ok()) {
    Violation("two loads of the same input disagree on success",
              first.ok() ? second.status().ToString() : first.status().ToString());
  }
  if (first.ok() && first->fingerprint != second->fingerprint) {
    Violation("two loads of the same input give different fingerprints",
              first->fingerprint + " vs " + second->fingerprint);
  }
  if (!first.ok() && first.status() != second.status()) {
    Violation("two loads of the same input give different errors",
              first.status().ToString() + "\n--- vs ---\n" + second.status().ToString());
  }
  return 0;
}
