#include "testing/drift.h"

#include <iterator>

#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/plan/plan.h"
#include "testing/test_db.h"

namespace schemad::testing {
namespace {

using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;

std::string CaseRegistry(const std::string& base, const DriftCase& c) {
  std::string text = base;
  for (const auto& [from, to] : c.registry_edits) {
    const std::string before = text;
    text = absl::StrReplaceAll(text, {{from, to}});
    EXPECT_NE(text, before) << "registry edit did not apply: " << from;
  }
  return text;
}

std::set<std::string> HazardKinds(const Plan& plan) {
  std::set<std::string> out;
  for (const PlanStep& s : plan.steps) {
    for (const Hazard& h : s.hazards) out.insert(HazardName(h.kind));
  }
  return out;
}

const std::vector<HazardKind> kAllHazards(std::begin(kHazardKinds), std::end(kHazardKinds));

absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

}  // namespace

void RunDriftCase(const std::string& base_registry, const std::string& rows, const DriftCase& c) {
  auto db = TestDb::Create();
  {
    Engine base(db->pool(), MustLoadRegistry(base_registry));
    absl::StatusOr<InitializeResult> init =
        base.Initialize({.allow_hazards = kAllHazards}, Deadline());
    ASSERT_TRUE(init.ok()) << init.status();
    ASSERT_EQ(init->outcome, Outcome::kApplied);
  }
  if (c.rows) db->Exec(rows);
  if (std::string(c.drift).size() > 0) db->Exec(c.drift);

  Engine engine(db->pool(), MustLoadRegistry(CaseRegistry(base_registry, c)));
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), UnorderedElementsAreArray(c.differences));
  EXPECT_EQ(HazardKinds(diff->plan), c.hazards);
  std::vector<std::string> sql;
  for (const PlanStep& s : diff->plan.steps) {
    sql.push_back(s.sql);
    for (const Hazard& h : s.hazards) EXPECT_FALSE(h.message.empty()) << s.sql;
  }
  if (!c.sql.empty()) {
    EXPECT_THAT(sql, ElementsAreArray(c.sql));
  }
  if (c.differences.empty()) {
    EXPECT_TRUE(sql.empty());
  }

  // A default Initialize runs only hazard-free steps.
  absl::StatusOr<InitializeResult> safe = engine.Initialize({}, Deadline());
  ASSERT_TRUE(safe.ok()) << safe.status();
  for (const PlanStep& s : safe->executed) EXPECT_TRUE(s.hazards.empty()) << s.sql;
  bool declared_needs_hazard = false;
  for (const Difference& d : safe->remaining) declared_needs_hazard |= d.change != Change::kExtra;
  if (c.differences.empty()) {
    EXPECT_EQ(safe->outcome, Outcome::kAlreadyInSync);
  } else if (c.hazards.empty()) {
    EXPECT_EQ(safe->outcome, Outcome::kApplied);
    EXPECT_TRUE(safe->remaining.empty());
  } else {
    EXPECT_EQ(safe->outcome,
              declared_needs_hazard
                  ? Outcome::kPartial
                  : (safe->executed.empty() ? Outcome::kAlreadyInSync : Outcome::kApplied));
    EXPECT_FALSE(safe->skipped.empty());
  }

  // Everything accepted: the database converges to the registry, or, when
  // the hazard said the step would fail on existing rows, nothing changes.
  absl::StatusOr<InitializeResult> all =
      engine.Initialize({.allow_hazards = kAllHazards}, Deadline());
  if (c.apply_fails != absl::StatusCode::kOk) {
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.status().code(), c.apply_fails) << all.status();
    // The steps go as one batch; the failure still names its step.
    EXPECT_THAT(std::string(all.status().message()), ::testing::HasSubstr("step `ALTER TABLE"))
        << all.status();
    absl::StatusOr<DiffResult> unchanged = engine.Diff(Deadline());
    ASSERT_TRUE(unchanged.ok()) << unchanged.status();
    EXPECT_THAT(DescribeDifferences(unchanged->differences),
                UnorderedElementsAreArray(c.differences));
    return;
  }
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->remaining.empty())
      << ::testing::PrintToString(DescribeDifferences(all->remaining));
  absl::StatusOr<DiffResult> after = engine.Diff(Deadline());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(DescribeDifferences(after->differences), ::testing::IsEmpty());
  EXPECT_TRUE(after->plan.steps.empty());
}

}  // namespace schemad::testing
