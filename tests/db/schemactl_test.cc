// End-to-end tests of schemactl: each test starts a real `schemad serve`
// child process on a fresh database and runs the schemactl binary against
// it, asserting the exit code (schemactl's contract for scripts and CI) and
// what it prints. The server serves the embedded docbot registry: 12 tables
// and 4 enum types, so an empty database has 16 missing objects.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/v1/schema_service.grpc.pb.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using testing::BinaryPath;
using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunCommand;
using testing::ServerProcess;
using testing::TestDb;
namespace v1 = ::schemad::v1;

constexpr char kAdminToken[] = "admin-token-e2e-0001";
constexpr char kReaderToken[] = "reader-token-e2e-0001";

// A loopback port nothing listens on right now (bound, then released).
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

// The JSON output without whitespace, so `"state": "PENDING"` can be found
// whatever the printer's spacing.
std::string Compact(const std::string& json) {
  std::string out;
  for (char c : json) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') out += c;
  }
  return out;
}

// Runs schemactl with a clean environment for its own variables. `args` is
// pasted into a shell command line.
CommandResult Schemactl(const std::string& args, const std::string& env = "") {
  return RunCommand(absl::StrCat("env -u SCHEMAD_TOKEN -u SCHEMAD_ADDR NO_COLOR=1 ", env, " ",
                                 BinaryPath("schemactl"), " ", args));
}

class SchemactlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = TestDb::Create();
    dir_ = absl::StrCat(::testing::TempDir(), "schemactl_test_", getpid(), "_", db_->name());
    ASSERT_EQ(RunCommand(absl::StrCat("mkdir -p ", dir_)).exit_code, 0);
    tokens_file_ = absl::StrCat(dir_, "/tokens");
    std::ofstream(tokens_file_) << "admin " << kAdminToken << "\nreader " << kReaderToken << "\n";
  }

  void TearDown() override {
    if (server_ != nullptr && HasFailure()) {
      std::cerr << "--- schemad log ---\n" << server_->Log();
    }
    server_.reset();
    RunCommand(absl::StrCat("rm -rf ", dir_));
  }

  // Starts schemad on the test's database; fails the test when it cannot.
  void StartServer(const std::vector<std::string>& extra_flags = {}, int port = 0) {
    std::vector<std::string> args = {"--database-url", db_->url(), "--tokens-file", tokens_file_};
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    server_ = std::make_unique<ServerProcess>(args, port);
    ASSERT_TRUE(server_->WaitUntilServing());
  }

  // schemactl against the test's server with the admin token.
  CommandResult Ctl(const std::string& args) {
    return Schemactl(absl::StrCat("--server ", server_->address(), " --token ", kAdminToken,
                                  " --timeout 30s ", args));
  }
  CommandResult CtlAs(const std::string& token, const std::string& args) {
    return Schemactl(
        absl::StrCat("--server ", server_->address(), " --token ", token, " --timeout 30s ", args));
  }

  // Brings the database to the registry through schemactl.
  void Initialize() {
    CommandResult r = Ctl("initialize");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_THAT(r.output, HasSubstr("APPLIED"));
  }

  bool TableExists(const std::string& name) {
    return db_->Query(absl::StrCat("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                   "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                                   "c.relkind = 'r' AND c.relname = '",
                                   name, "'"))[0][0]
               .as<int>() == 1;
  }

  // The index's definition (pg_indexes.indexdef), or "" when it does not exist.
  std::string IndexDef(const std::string& name) {
    pqxx::result r = db_->Query(absl::StrCat(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = '", name,
        "'"));
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  std::unique_ptr<TestDb> db_;
  std::string dir_;
  std::string tokens_file_;
  std::unique_ptr<ServerProcess> server_;
};

// --- status -----------------------------------------------------------------

TEST_F(SchemactlTest, StatusOnEmptyDatabaseReportsPendingWithMissingCounts) {
  StartServer();
  CommandResult r = Ctl("status");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PENDING"));
  EXPECT_THAT(r.output, HasSubstr("16 missing, 0 extra, 0 changed"));
  EXPECT_THAT(r.output, HasSubstr("last applied  never"));
}

TEST_F(SchemactlTest, StatusCheckOnEmptyDatabaseExitsPending) {
  StartServer();
  CommandResult r = Ctl("status --check");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PENDING"));
}

TEST_F(SchemactlTest, StatusAsJsonCarriesStateAndCounts) {
  StartServer();
  CommandResult r = Ctl("--format json status");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string json = Compact(r.output);
  EXPECT_THAT(json, HasSubstr("\"state\":\"PENDING\"")) << r.output;
  EXPECT_THAT(json, HasSubstr("\"missing\":16")) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("differences   "))) << "text rendering in JSON mode";
}

// --- initialize ---------------------------------------------------------------

TEST_F(SchemactlTest, InitializeAppliesThenIsAlreadyInSync) {
  StartServer();
  CommandResult first = Ctl("initialize");
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("APPLIED"));
  EXPECT_THAT(first.output, HasSubstr("CREATE TABLE public.users"));
  EXPECT_TRUE(TableExists("users"));

  CommandResult second = Ctl("initialize");
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("ALREADY_IN_SYNC"));
  EXPECT_THAT(second.output, Not(HasSubstr("executed")));

  CommandResult json = Ctl("initialize --format json");
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(Compact(json.output), HasSubstr("\"outcome\":\"ALREADY_IN_SYNC\"")) << json.output;

  CommandResult check = Ctl("status --check");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_THAT(check.output, HasSubstr("IN_SYNC"));
  EXPECT_THAT(check.output, HasSubstr("0 missing, 0 extra, 0 changed"));
}

TEST_F(SchemactlTest, InitializeDryRunChangesNothing) {
  StartServer();
  CommandResult r = Ctl("initialize --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("DRY_RUN"));
  EXPECT_THAT(r.output, HasSubstr("would execute"));
  EXPECT_THAT(r.output, HasSubstr("CREATE TABLE public.users"));
  EXPECT_FALSE(TableExists("users"));

  CommandResult status = Ctl("status --check");
  EXPECT_EQ(status.exit_code, 3) << status.output;
}

// --- diff ---------------------------------------------------------------------

TEST_F(SchemactlTest, DiffInSyncSaysSo) {
  StartServer();
  Initialize();
  CommandResult r = Ctl("diff");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("in sync"));
  EXPECT_THAT(r.output, Not(HasSubstr("CHANGE")));

  CommandResult sql = Ctl("diff --sql");
  EXPECT_EQ(sql.exit_code, 0) << sql.output;
  EXPECT_THAT(sql.output, HasSubstr("nothing to do"));
  EXPECT_THAT(sql.output, Not(HasSubstr("BEGIN;")));
}

TEST_F(SchemactlTest, DiffShowsAlignedDifferencesAndHazardousPlan) {
  StartServer();
  Initialize();
  db_->Exec("CREATE TABLE scratch (id int); DROP INDEX ix_documents_owner_id;");

  CommandResult r = Ctl("diff");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The table: a header and one row per difference, columns aligned.
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n');
  std::string header, missing, extra;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, "CHANGE")) header = line;
    if (absl::StartsWith(line, "MISSING")) missing = line;
    if (absl::StartsWith(line, "EXTRA")) extra = line;
  }
  ASSERT_FALSE(header.empty()) << r.output;
  ASSERT_FALSE(missing.empty()) << r.output;
  ASSERT_FALSE(extra.empty()) << r.output;
  EXPECT_THAT(missing, HasSubstr("documents.ix_documents_owner_id"));
  EXPECT_THAT(extra, HasSubstr("scratch"));
  const size_t type_column = header.find("TYPE");
  const size_t name_column = header.find("NAME");
  const size_t detail_column = header.find("DETAIL");
  ASSERT_NE(type_column, std::string::npos) << header;
  EXPECT_EQ(missing.find("index"), type_column) << r.output;
  EXPECT_EQ(extra.find("table"), type_column) << r.output;
  EXPECT_EQ(missing.find("documents.ix_documents_owner_id"), name_column) << r.output;
  EXPECT_EQ(extra.find("scratch"), name_column) << r.output;
  EXPECT_EQ(missing.find("index is missing"), detail_column) << r.output;
  // The plan, with the hazard under its step.
  EXPECT_THAT(r.output, HasSubstr("plan (2 steps, schema public"));
  EXPECT_THAT(r.output, HasSubstr("DROP TABLE public.scratch;\n      ! DATA_LOSS"));
  EXPECT_THAT(r.output,
              HasSubstr("CREATE INDEX ix_documents_owner_id ON public.documents USING btree "
                        "(owner_id);"));
}

TEST_F(SchemactlTest, DiffSqlPrintsReviewableScriptWithHazardComments) {
  StartServer();
  Initialize();
  db_->Exec("CREATE TABLE scratch (id int); DROP INDEX ix_documents_owner_id;");

  CommandResult r = Ctl("diff --sql");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("BEGIN;\nSET search_path TO \"public\";\n"));
  EXPECT_THAT(r.output, HasSubstr("-- hazard DATA_LOSS: drops table scratch"));
  EXPECT_THAT(r.output, HasSubstr("-- hazard DATA_LOSS: drops table scratch and every row in it\n"
                                  "DROP TABLE public.scratch;\n"));
  EXPECT_THAT(r.output, HasSubstr("CREATE INDEX ix_documents_owner_id ON public.documents"));
  EXPECT_THAT(r.output, HasSubstr("COMMIT;\n"));
  EXPECT_LT(r.output.find("BEGIN;"), r.output.find("DROP TABLE")) << r.output;
  EXPECT_LT(r.output.find("DROP TABLE"), r.output.find("COMMIT;")) << r.output;
  // A script to review: the database is untouched.
  EXPECT_TRUE(TableExists("scratch"));
  EXPECT_EQ(IndexDef("ix_documents_owner_id"), "");
}

TEST_F(SchemactlTest, DiffAsJsonListsDifferences) {
  StartServer();
  Initialize();
  db_->Exec("CREATE TABLE scratch (id int)");

  CommandResult r = Ctl("--format json diff");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string json = Compact(r.output);
  EXPECT_THAT(json, HasSubstr("\"differences\":[")) << r.output;
  EXPECT_THAT(json, HasSubstr("\"change\":\"EXTRA\"")) << r.output;
  EXPECT_THAT(json, HasSubstr("\"name\":\"scratch\"")) << r.output;
  EXPECT_THAT(json, HasSubstr("\"kind\":\"DATA_LOSS\"")) << r.output;
}

// --- drift gates --------------------------------------------------------------

TEST_F(SchemactlTest, StatusCheckExitsDriftedOnExtraTable) {
  StartServer();
  Initialize();
  db_->Exec("CREATE TABLE scratch (id int)");

  CommandResult r = Ctl("status --check");
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_THAT(r.output, HasSubstr("DRIFTED"));
  EXPECT_THAT(r.output, HasSubstr("0 missing, 1 extra, 0 changed"));
}

TEST_F(SchemactlTest, InitializeWithChangedIndexIsPartialUntilDropsAreAllowed) {
  StartServer();
  Initialize();
  db_->Exec(
      "DROP INDEX ix_documents_owner_id; "
      "CREATE INDEX ix_documents_owner_id ON documents (owner_id DESC);");

  CommandResult partial = Ctl("initialize");
  EXPECT_EQ(partial.exit_code, 4) << partial.output;
  EXPECT_THAT(partial.output, HasSubstr("PARTIAL"));
  EXPECT_THAT(partial.output, HasSubstr("skipped, hazards not accepted (2 steps)"));
  EXPECT_THAT(partial.output, HasSubstr("DROP INDEX public.ix_documents_owner_id;"));
  EXPECT_THAT(partial.output, HasSubstr("! DROPS_OBJECT"));
  EXPECT_THAT(partial.output, HasSubstr("--allow-hazards DROPS_OBJECT"));
  EXPECT_THAT(partial.output, HasSubstr("CHANGED"));
  EXPECT_THAT(IndexDef("ix_documents_owner_id"), HasSubstr("owner_id DESC"));

  CommandResult applied = Ctl("initialize --allow-hazards DROPS_OBJECT");
  EXPECT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr("APPLIED"));
  EXPECT_THAT(applied.output, HasSubstr("executed (2 steps)"));
  EXPECT_THAT(IndexDef("ix_documents_owner_id"), HasSubstr("(owner_id)"));
  EXPECT_EQ(Ctl("status --check").exit_code, 0);
}

TEST_F(SchemactlTest, OnlineDiffSqlMarksPhasesAndInitializeStreamsItsProgress) {
  StartServer();
  Initialize();
  db_->Exec(
      "DROP INDEX ix_documents_owner_id; "
      "CREATE INDEX ix_documents_owner_id ON documents (owner_id DESC);");

  // A runnable script: phases, each transaction under the lock timeout,
  // concurrent statements marked to run outside any transaction.
  CommandResult sql = Ctl("diff --sql --online");
  ASSERT_EQ(sql.exit_code, 0) << sql.output;
  EXPECT_THAT(sql.output, HasSubstr("-- ONLINE plan: 3 phases"));
  EXPECT_THAT(sql.output, HasSubstr("-- phase 1: outside a transaction (do not wrap in BEGIN)"));
  EXPECT_THAT(sql.output,
              HasSubstr("SET lock_timeout = 0;\nCREATE INDEX CONCURRENTLY schemad_tmp_ix_"));
  EXPECT_THAT(sql.output, HasSubstr("DROP INDEX CONCURRENTLY public.ix_documents_owner_id;"));
  EXPECT_THAT(sql.output, HasSubstr("BEGIN;\nSET LOCAL lock_timeout = '2000ms';\nALTER INDEX"));
  EXPECT_THAT(sql.output, HasSubstr("RENAME TO ix_documents_owner_id;\nCOMMIT;"));
  // The transactional plan is not the online one.
  EXPECT_THAT(Ctl("diff --sql").output, Not(HasSubstr("CONCURRENTLY")));
  EXPECT_EQ(Ctl("status --online --check").exit_code, 4) << "the drop needs DROPS_OBJECT";

  // Progress, a line per event on stderr (not a terminal), then the result.
  CommandResult applied = Ctl("initialize --online --allow-hazards DROPS_OBJECT");
  EXPECT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr("started: 3 phases"));
  EXPECT_THAT(applied.output, HasSubstr("phase 1/3 started: CREATE INDEX CONCURRENTLY"));
  EXPECT_THAT(applied.output, HasSubstr("phase 3/3 committed in"));
  EXPECT_THAT(applied.output, HasSubstr("outcome  APPLIED"));
  EXPECT_THAT(applied.output, HasSubstr("3 of 3 phases committed"));
  EXPECT_THAT(IndexDef("ix_documents_owner_id"), HasSubstr("(owner_id)"));
  EXPECT_EQ(Ctl("status --online --check").exit_code, 0);
  EXPECT_EQ(db_->Query("SELECT count(*) FROM pg_class WHERE relname LIKE 'schemad_tmp_%'")[0][0]
                .as<int>(),
            0);

  // --format json: one JSON object per event on stderr, the response last.
  db_->Exec("DROP INDEX ix_documents_owner_id");
  CommandResult json = Ctl("--format json initialize --online");
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(Compact(json.output), HasSubstr("\"runStarted\":{\"runId\":"));
  EXPECT_THAT(Compact(json.output), HasSubstr("\"phaseFinished\":{\"phase\":1"));
  EXPECT_THAT(Compact(json.output), HasSubstr("\"outcome\":\"APPLIED\""));
  EXPECT_THAT(Compact(json.output), HasSubstr("\"mode\":\"APPLY_MODE_ONLINE\""));
}

TEST_F(SchemactlTest, AnIncompleteOnlineRunExitsEightAndIsHeldBackUntilRetried) {
  StartServer();
  Initialize();
  // Two missing indexes: chats' builds (phase 1), then users' unique one
  // fails on two e-mails that differ only in case.
  db_->Exec(
      "DROP INDEX ix_chats_user_id; DROP INDEX ix_users_email_lower; "
      "INSERT INTO users (email, hashed_password) VALUES ('A@example.com', 'x'), "
      "('a@example.com', 'x');");
  CommandResult r = Ctl("initialize --online --allow-hazards INDEX_BUILD,VALIDATION");
  EXPECT_EQ(r.exit_code, 8) << r.output;
  EXPECT_THAT(r.output, HasSubstr("outcome  INCOMPLETE"));
  EXPECT_THAT(r.output, HasSubstr("1 of 2 phases committed; phase 2 failed"));
  EXPECT_THAT(r.output, HasSubstr("ix_users_email_lower"));
  EXPECT_THAT(IndexDef("ix_chats_user_id"), HasSubstr("(user_id)"));
  EXPECT_EQ(IndexDef("ix_users_email_lower"), "") << "the failed build leaves no index";

  // Not retried on every start: held back, with the reason.
  CommandResult again = Ctl("initialize --online --allow-hazards INDEX_BUILD,VALIDATION");
  EXPECT_EQ(again.exit_code, 4) << again.output;
  EXPECT_THAT(again.output, HasSubstr("failed on existing rows"));
  db_->Exec("DELETE FROM users WHERE email = 'A@example.com'");
  CommandResult retried =
      Ctl("initialize --online --allow-hazards INDEX_BUILD,VALIDATION --retry-failed");
  EXPECT_EQ(retried.exit_code, 0) << retried.output;
  EXPECT_THAT(IndexDef("ix_users_email_lower"), HasSubstr("lower"));
}

TEST_F(SchemactlTest, AllowHazardsAcceptsPrefixedKindName) {
  StartServer();
  Initialize();
  db_->Exec(
      "DROP INDEX ix_documents_owner_id; "
      "CREATE INDEX ix_documents_owner_id ON documents (owner_id DESC);");

  CommandResult r = Ctl("initialize --allow-hazards HAZARD_KIND_DROPS_OBJECT");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("APPLIED"));
  EXPECT_THAT(IndexDef("ix_documents_owner_id"), Not(HasSubstr("DESC")));
  EXPECT_THAT(IndexDef("ix_documents_owner_id"), HasSubstr("(owner_id)"));
}

// --- usage errors (no server needed) ------------------------------------------

struct UsageCase {
  const char* args;
  const char* message;
};

class SchemactlUsageTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(SchemactlUsageTest, ExitsTwoWithMessage) {
  // Port 1: nothing should be contacted at all; a contact would exit 6.
  CommandResult r = Schemactl(absl::StrCat("--server 127.0.0.1:1 --timeout 2s ", GetParam().args));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(GetParam().message));
  EXPECT_THAT(r.output, HasSubstr("schemactl --help"));
}

INSTANTIATE_TEST_SUITE_P(
    BadUsage, SchemactlUsageTest,
    ::testing::Values(
        UsageCase{"initialize --allow-hazards BOGUS", "unknown hazard kind \"BOGUS\""},
        UsageCase{"initialize --allow-hazards DROPS_OBJECT,NOPE", "unknown hazard kind \"NOPE\""},
        UsageCase{"status --frobnicate", "unknown flag --frobnicate"},
        UsageCase{"migrate", "unknown command \"migrate\""}, UsageCase{"", "no command"},
        UsageCase{"status --sql", "--sql belongs to `diff`"},
        UsageCase{"publish", "publish needs a registry directory and --label"},
        UsageCase{"publish /tmp", "publish needs a registry directory and --label"},
        UsageCase{"rollback", "rollback needs --to"},
        UsageCase{"diff --from v1", "--from and --to go together"},
        UsageCase{"status --move", "--move belongs to `publish`"},
        UsageCase{"registries --registry-version v1", "--registry-version belongs to"},
        UsageCase{"history show", "history takes `show ID`"},
        UsageCase{"--format yaml status", "--format must be text or json"}));

TEST(SchemactlHelpTest, HelpExitsZeroAndListsExitCodes) {
  CommandResult r = Schemactl("--help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Exit codes:"));
  for (const char* line : {"  0 success", "  1 unexpected", "  2 bad usage", "  3 status --check",
                           "  4 status --check", "  5 refused", "  6 unreachable",
                           "  7 failed on the server", "  10 NOT_FOUND"}) {
    EXPECT_THAT(r.output, HasSubstr(line));
  }
}

// --- registry versions -------------------------------------------------------

// The CI recipe: publish a branch's registry under its commit, lint it
// against what is applied, initialize that version, look at history, roll
// back.
TEST_F(SchemactlTest, PublishDiffInitializeHistoryAndRollbackByVersion) {
  StartServer();
  const std::string v1_dir = absl::StrCat(dir_, "/v1"), v2_dir = absl::StrCat(dir_, "/v2");
  ASSERT_EQ(RunCommand(absl::StrCat("mkdir -p ", v1_dir, " ", v2_dir)).exit_code, 0);
  const std::string notes = "CREATE TABLE notes (id bigint PRIMARY KEY, body text);\n";
  std::ofstream(absl::StrCat(v1_dir, "/notes.sql")) << notes;
  std::ofstream(absl::StrCat(v2_dir, "/notes.sql")) << notes;
  std::ofstream(absl::StrCat(v2_dir, "/tags.sql"))
      << "CREATE TABLE tags (id bigint PRIMARY KEY);\n";

  CommandResult r = Ctl(absl::StrCat("publish ", v1_dir, " --label sha1,prod"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("published"));
  EXPECT_THAT(r.output, HasSubstr("labels prod,sha1"));
  r = Ctl(absl::StrCat("publish ", v2_dir, " --label sha2,prod"));
  EXPECT_EQ(r.exit_code, 5) << r.output;  // ALREADY_EXISTS: prod names sha1's registry
  EXPECT_THAT(r.output, HasSubstr("labels are immutable"));
  r = Ctl(absl::StrCat("publish ", v2_dir, " --label sha2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  r = Ctl("registries");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sha2"));
  EXPECT_THAT(r.output, HasSubstr("prod,sha1"));

  // The lint: what sha2 changes against sha1, without any database schema.
  r = Ctl("diff --from sha1 --to sha2 --exit-code");
  EXPECT_EQ(r.exit_code, 3) << r.output;  // changes, all hazard-free
  EXPECT_THAT(r.output, HasSubstr("tags"));
  r = Ctl("diff --from sha2 --to sha1 --exit-code");
  EXPECT_EQ(r.exit_code, 4) << r.output;  // drops: hazards
  EXPECT_THAT(r.output, HasSubstr("DATA_LOSS"));
  r = Ctl("diff --from sha1 --to sha1 --exit-code");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  r = Ctl("status --registry-version sha1 --check");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  r = Ctl("initialize --registry-version sha1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Ctl("initialize --registry-version sha2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(TableExists("tags"));
  r = Ctl("status --registry-version @applied --check");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  r = Ctl("history");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sha2"));
  EXPECT_THAT(r.output, HasSubstr("prod,sha1"));
  r = Ctl("--format json history --limit 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string json = Compact(r.output);
  const size_t id_at = json.find("\"id\":\"");
  ASSERT_NE(id_at, std::string::npos) << r.output;
  const std::string id = json.substr(id_at + 6, json.find('"', id_at + 6) - id_at - 6);
  r = Ctl(absl::StrCat("history show ", id));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CREATE TABLE public.tags"));

  r = Ctl("rollback --to prod");
  EXPECT_EQ(r.exit_code, 4) << r.output;  // PARTIAL: dropping tags needs DATA_LOSS
  EXPECT_THAT(r.output, HasSubstr("declarations, not data"));
  EXPECT_TRUE(TableExists("tags"));
  r = Ctl("rollback --to prod --allow-hazards DATA_LOSS,DROPS_OBJECT");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(TableExists("tags"));
  r = Ctl("history --limit 1");
  EXPECT_THAT(r.output, HasSubstr("rollback"));

  r = Ctl("status --registry-version no-such-version");
  EXPECT_EQ(r.exit_code, 10) << r.output;
  r = CtlAs(kReaderToken, absl::StrCat("publish ", v1_dir, " --label x"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
}

// --- refused by the server ----------------------------------------------------

TEST_F(SchemactlTest, NoTokenIsUnauthenticated) {
  StartServer();
  CommandResult r = Schemactl(absl::StrCat("--server ", server_->address(), " status"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(SchemactlTest, UnknownTokenIsUnauthenticated) {
  StartServer();
  CommandResult r = CtlAs("not-a-known-token-1234", "status");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(SchemactlTest, ReaderMayReadButNotInitialize) {
  StartServer();
  CommandResult status = CtlAs(kReaderToken, "status");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("PENDING"));

  CommandResult r = CtlAs(kReaderToken, "initialize");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
  EXPECT_FALSE(TableExists("users"));
}

TEST_F(SchemactlTest, StaleFingerprintIsRefusedAndChangesNothing) {
  StartServer();
  CommandResult r = Ctl("initialize --expect-fingerprint 00000000000000000000000000000000");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_FALSE(TableExists("users"));
  EXPECT_EQ(Ctl("status --check").exit_code, 3);
}

TEST_F(SchemactlTest, CurrentFingerprintFromStatusIsAccepted) {
  StartServer();
  CommandResult status = Ctl("--format json status");
  ASSERT_EQ(status.exit_code, 0) << status.output;
  // "fingerprint":"<hex>" (the plan's, not registryFingerprint's).
  const std::string json = Compact(status.output);
  const std::string key = ",\"fingerprint\":\"";
  const size_t at = json.find(key);
  ASSERT_NE(at, std::string::npos) << status.output;
  const std::string fingerprint =
      json.substr(at + key.size(), json.find('"', at + key.size()) - at - key.size());
  ASSERT_FALSE(fingerprint.empty());

  CommandResult r = Ctl(absl::StrCat("initialize --expect-fingerprint ", fingerprint));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("APPLIED"));
  EXPECT_TRUE(TableExists("users"));
}

TEST_F(SchemactlTest, TokenComesFromEnvironment) {
  StartServer();
  CommandResult r = Schemactl(absl::StrCat("--server ", server_->address(), " status"),
                              absl::StrCat("SCHEMAD_TOKEN=", kAdminToken));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PENDING"));

  CommandResult reader = Schemactl(absl::StrCat("--server ", server_->address(), " initialize"),
                                   absl::StrCat("SCHEMAD_TOKEN=", kReaderToken));
  EXPECT_EQ(reader.exit_code, 5) << reader.output;
  EXPECT_THAT(reader.output, HasSubstr("PERMISSION_DENIED"));
}

// --- reachability -------------------------------------------------------------

TEST(SchemactlUnreachableTest, NothingListeningExitsUnreachable) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  for (const char* command : {"status", "diff", "initialize", "health"}) {
    CommandResult r = Schemactl(absl::StrCat("--server 127.0.0.1:", port,
                                             " --token whatever-token --timeout 2s ", command));
    EXPECT_EQ(r.exit_code, 6) << command << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("UNAVAILABLE")) << command;
  }
}

TEST_F(SchemactlTest, HealthOnLiveServerIsServing) {
  StartServer();
  // Readiness comes once the registry is canonicalized, just after start.
  CommandResult ready;
  for (int i = 0; i < 100; ++i) {
    ready = Schemactl(absl::StrCat("--server ", server_->address(), " health"));
    if (ready.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready.exit_code, 0) << ready.output;
  EXPECT_THAT(ready.output, HasSubstr("schemad.v1.SchemaService: SERVING"));

  CommandResult live =
      Schemactl(absl::StrCat("--server ", server_->address(), " health --service ''"));
  EXPECT_EQ(live.exit_code, 0) << live.output;
  EXPECT_THAT(live.output, HasSubstr("(overall): SERVING"));

  CommandResult unknown =
      Schemactl(absl::StrCat("--server ", server_->address(), " health --service no.such.Svc"));
  EXPECT_EQ(unknown.exit_code, 6) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("NOT_FOUND"));
}

TEST_F(SchemactlTest, InitializeWaitsForServerStartedLater) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  std::future<CommandResult> ctl = std::async(std::launch::async, [port] {
    return Schemactl(absl::StrCat("--server 127.0.0.1:", port, " --token ", kAdminToken,
                                  " initialize --wait 20s"));
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  StartServer({}, port);
  CommandResult r = ctl.get();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("APPLIED"));
  EXPECT_THAT(r.output, HasSubstr("schemactl: waiting for schemad at 127.0.0.1:"));
  EXPECT_THAT(r.output, Not(HasSubstr("gave up")));
  EXPECT_TRUE(TableExists("users"));
}

// --- failure on the server ----------------------------------------------------

TEST_F(SchemactlTest, LockTimeoutExitsServerFailedAndAppliesNothing) {
  StartServer({"--lock-timeout", "300ms"});
  Initialize();
  db_->Exec("DROP INDEX ix_documents_owner_id");

  pqxx::connection holder(db_->url());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");
  // schemactl's own deadline (30 s) would exit 6, not 7, if the lock
  // timeout did not end the call.
  CommandResult r = Ctl("initialize");
  lock.abort();

  EXPECT_EQ(r.exit_code, 7) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ABORTED"));
  EXPECT_THAT(r.output, HasSubstr("lock"));
  EXPECT_EQ(IndexDef("ix_documents_owner_id"), "");
  EXPECT_EQ(Ctl("status --check").exit_code, 3);
}

// A call whose connection breaks mid-Initialize may have committed: schemactl
// asks the server, and when nobody can answer it says so (exit 6), never
// "failed on the server, nothing applied" (exit 7).
TEST_F(SchemactlTest, AConnectionLostMidInitializeIsReportedAsUnknownNotAsNothingApplied) {
  StartServer({"--lock-timeout", "60s"});
  Initialize();
  db_->Exec("DROP INDEX ix_documents_owner_id");
  pqxx::connection holder(db_->url());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");
  std::future<CommandResult> ctl =
      std::async(std::launch::async, [this] { return Ctl("initialize"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server_->Kill(SIGKILL);
  CommandResult r = ctl.get();
  lock.abort();
  EXPECT_EQ(r.exit_code, 6) << r.output;
  EXPECT_THAT(r.output, HasSubstr("committed is unknown"));
  EXPECT_EQ(IndexDef("ix_documents_owner_id"), "") << "the killed server's session rolled back";
}

// Every schemactl initialize carries a request id, recorded in history.
TEST_F(SchemactlTest, InitializeRecordsItsRequestIdInHistory) {
  StartServer();
  Initialize();
  const std::string id =
      db_->Query("SELECT request_id FROM schemad.history ORDER BY id DESC LIMIT 1")[0][0]
          .as<std::string>();
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
}

// A 1,200-table Diff used to exceed gRPC's default 4 MiB receive limit:
// Diff pages its answer and schemactl fetches every page.
TEST_F(SchemactlTest, ALargeDiffIsFetchedInPagesUnderTheDefaultMessageLimit) {
  const std::string dir = testing::TempDir();
  testing::WriteFile(dir, "registry.textproto", testing::SyntheticRegistry(1200));
  StartServer({"--registry", dir});
  CommandResult r = Ctl("--format json diff");
  ASSERT_EQ(r.exit_code, 0) << r.output.substr(0, 2000);
  // Every difference and step of every page is in the merged answer.
  size_t missing_tables = 0;
  for (size_t at = r.output.find("\"objectType\": \"table\""); at != std::string::npos;
       at = r.output.find("\"objectType\": \"table\"", at + 1)) {
    ++missing_tables;
  }
  EXPECT_EQ(missing_tables, 1200u);
  EXPECT_TRUE(absl::StrContains(r.output, "\"nextPageToken\": \"\"")) << "merged: no page left";
  EXPECT_TRUE(absl::StrContains(r.output, "\"totalSteps\": 4800"));

  // One page, as a client with gRPC's default limits sees it.
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::SchemaService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::DiffResponse page;
  grpc::Status status = stub->Diff(&ctx, v1::DiffRequest(), &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(page.ByteSizeLong(), 4u << 20);
  EXPECT_FALSE(page.next_page_token().empty());
  EXPECT_EQ(page.total_differences(), 1201u) << "1,200 tables and one enum type";
  EXPECT_GT(page.total_steps(), static_cast<uint32_t>(page.plan().steps_size()));

  // A token of another fingerprint is refused, not mixed in.
  grpc::ClientContext stale;
  stale.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
  v1::DiffRequest request;
  request.set_page_token("0000:1:1");
  v1::DiffResponse ignored;
  EXPECT_EQ(stub->Diff(&stale, request, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Initialize answers with counts and a bounded list: a committed change
  // is never reported as failed because its answer was too big.
  // 4,800 statements: a generous deadline (this checks the answer, not speed).
  CommandResult init = Ctl("--timeout 180s --format json initialize");
  EXPECT_EQ(init.exit_code, 0) << init.output.substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(init.output, "\"executedCount\": 4800"));
  EXPECT_TRUE(absl::StrContains(init.output, "\"truncated\": true"));
  EXPECT_EQ(db_->Query("SELECT jsonb_array_length(steps) FROM schemad.history")[0][0].as<int>(),
            4800)
      << "history holds every step";
}

// A `schemad` schema schemad did not create is never read, and status says
// so in plain text (not only in --format json), so the CI gate shows it.
TEST_F(SchemactlTest, StatusPrintsAWarningForASchemadSchemaOfAnotherRole) {
  const std::string role = absl::StrCat("intruder_", db_->name());
  db_->Exec(absl::StrCat("CREATE ROLE ", role, "; CREATE SCHEMA schemad AUTHORIZATION ", role));
  StartServer();
  CommandResult r = Ctl("status");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("warning"));
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("is owned by role \"", role, "\"")));
  server_.reset();
  db_->Exec(absl::StrCat("DROP SCHEMA schemad; DROP ROLE ", role));
}

}  // namespace
}  // namespace schemad
