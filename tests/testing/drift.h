// Drift acceptance cases, shared by the drift tables: {registry, drift made
// in the database, expected differences, expected hazards, expected DDL}.
// Each case starts from a database brought to a base registry by
// Initialize, makes the drift with plain SQL, and then asserts:
//   1. Diff reports exactly the expected differences;
//   2. the plan carries exactly the expected hazard kinds (and, where given,
//      exactly the expected statements);
//   3. a default Initialize runs only hazard-free steps and ends APPLIED when
//      nothing hazardous was needed, PARTIAL otherwise;
//   4. Initialize with every hazard accepted brings the diff back to empty.
#ifndef SCHEMAD_TESTS_TESTING_DRIFT_H_
#define SCHEMAD_TESTS_TESTING_DRIFT_H_

#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace schemad::testing {

struct DriftCase {
  const char* name;
  // SQL run after the base registry was applied (and rows, when wanted).
  const char* drift;
  std::vector<std::string> differences;
  std::set<std::string> hazards;
  bool rows = false;
  // Text replacements turning the base registry into the case's registry.
  std::vector<std::pair<std::string, std::string>> registry_edits = {};
  // When non-empty, the plan's exact statements.
  std::vector<std::string> sql = {};
  // When not OK: applying every step must fail with this code (the hazard
  // warned of it), leaving the database as it was.
  absl::StatusCode apply_fails = absl::StatusCode::kOk;
};

inline std::ostream& operator<<(std::ostream& os, const DriftCase& c) { return os << c.name; }

// Runs case `c` against `base_registry` (textproto) on a fresh database;
// `rows` is SQL that fills it when the case wants rows.
void RunDriftCase(const std::string& base_registry, const std::string& rows, const DriftCase& c);

}  // namespace schemad::testing

#endif  // SCHEMAD_TESTS_TESTING_DRIFT_H_
