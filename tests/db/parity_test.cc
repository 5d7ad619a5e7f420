// Parity with the reference SQLAlchemy models, both directions, and the
// constant number of round trips of a Diff whatever the schema size.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using testing::DescribeDifferences;
using testing::RunCommand;

constexpr char kPython[] = "/usr/bin/python3";

std::string ParityScript(const std::string& command, const std::string& url) {
  return absl::StrCat(kPython, " ", testing::SourcePath("tests/parity/docbot_parity.py"), " ",
                      command, " '", url, "'");
}

absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

Registry Docbot() {
  absl::StatusOr<Registry> r = LoadEmbeddedRegistry();
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

TEST(ParityTest, CreateAllOfReferenceModelsShowsNoDifference) {
  auto db = testing::TestDb::Create();
  testing::CommandResult created = RunCommand(ParityScript("create_all", db->url()));
  ASSERT_EQ(created.exit_code, 0) << created.output;
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_THAT(DescribeDifferences(diff->differences), ::testing::IsEmpty());
  EXPECT_TRUE(diff->plan.steps.empty());
  absl::StatusOr<StatusResult> status = engine.Status(Deadline());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state, SyncState::kInSync);
}

TEST(ParityTest, AlembicComparesInitializedDatabaseAsIdentical) {
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  absl::StatusOr<InitializeResult> init = engine.Initialize({}, Deadline());
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->outcome, Outcome::kApplied);
  testing::CommandResult compared = RunCommand(ParityScript("compare", db->url()));
  EXPECT_EQ(compared.exit_code, 0) << compared.output;
  EXPECT_THAT(compared.output, ::testing::HasSubstr("0 differences"));
}

TEST(ParityTest, AlembicSeesADifferenceSchemadMade) {
  // The check above could pass vacuously if the script compared nothing.
  auto db = testing::TestDb::Create();
  Engine engine(db->pool(), Docbot());
  ASSERT_TRUE(engine.Initialize({}, Deadline()).ok());
  db->Exec("ALTER TABLE users DROP COLUMN full_name");
  testing::CommandResult compared = RunCommand(ParityScript("compare", db->url()));
  EXPECT_EQ(compared.exit_code, 1) << compared.output;
  EXPECT_THAT(compared.output, ::testing::HasSubstr("full_name"));
}

TEST(ParityTest, CreateAllAndInitializeProduceTheSameFingerprint) {
  auto a = testing::TestDb::Create();
  auto b = testing::TestDb::Create();
  ASSERT_EQ(RunCommand(ParityScript("create_all", a->url())).exit_code, 0);
  Engine ea(a->pool(), Docbot());
  Engine eb(b->pool(), Docbot());
  ASSERT_TRUE(eb.Initialize({}, Deadline()).ok());
  absl::StatusOr<DiffResult> da = ea.Diff(Deadline());
  absl::StatusOr<DiffResult> db = eb.Diff(Deadline());
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_EQ(da->fingerprint, db->fingerprint);
}

using testing::SyntheticRegistry;

int64_t StatementsForDiff(Engine& engine, Database* pool) {
  // Warm: canonicalization is cached per registry.
  EXPECT_TRUE(engine.Diff(Deadline()).ok());
  const int64_t before = pool->statements_sent();
  absl::StatusOr<DiffResult> diff = engine.Diff(Deadline());
  EXPECT_TRUE(diff.ok()) << diff.status();
  EXPECT_TRUE(diff->differences.empty());
  return pool->statements_sent() - before;
}

TEST(ParityTest, DiffRoundTripsAreTheSameAt12And500Tables) {
  auto small = testing::TestDb::Create();
  Engine docbot(small->pool(), Docbot(), {.parallel_when_idle = false});
  ASSERT_TRUE(docbot.Initialize({}, Deadline()).ok());
  const int64_t at_12 = StatementsForDiff(docbot, small->pool());

  auto large = testing::TestDb::Create();
  const Registry registry = testing::MustLoadRegistry(SyntheticRegistry(500));
  // Sequential reads: exactly the statements of the 12-table Diff.
  Engine synthetic(large->pool(), registry,
                   {.parallel_read_tables = 100000, .parallel_when_idle = false});
  absl::StatusOr<InitializeResult> init = synthetic.Initialize({}, absl::Now() + absl::Minutes(5));
  ASSERT_TRUE(init.ok()) << init.status();
  ASSERT_EQ(init->outcome, Outcome::kApplied);
  const int64_t at_500 = StatementsForDiff(synthetic, large->pool());
  EXPECT_EQ(at_12, at_500);
  // 16: three more than before views, functions and triggers were read
  // (one query each).
  EXPECT_LE(at_12, 16) << "a Diff should be a small constant number of statements";

  // The default for large schemas splits the same queries over two
  // connections sharing a snapshot: five statements more (export and set
  // the snapshot, the helper's BEGIN, settings and COMMIT), still constant.
  Engine parallel(large->pool(), registry);
  EXPECT_EQ(StatementsForDiff(parallel, large->pool()), at_12 + 5);
  // A small schema too, by default, when no other call holds a connection
  // and a second one is open and idle (the read over two before opened it).
  Engine two(small->pool(), Docbot(), {.parallel_read_tables = 0});
  EXPECT_EQ(StatementsForDiff(two, small->pool()), at_12 + 5);
  Engine idle(small->pool(), Docbot());
  EXPECT_EQ(StatementsForDiff(idle, small->pool()), at_12 + 5);
}

}  // namespace
}  // namespace schemad
