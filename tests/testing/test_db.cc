#include "testing/test_db.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace schemad::testing {

std::string ServerUrl() {
  const char* url = std::getenv("SCHEMAD_TEST_PG_URL");
  return url == nullptr ? "" : url;
}

std::string SourcePath(const std::string& relative) {
  const char* root = std::getenv("SCHEMAD_SOURCE_DIR");
  return absl::StrCat(root == nullptr ? "." : root, "/", relative);
}

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("SCHEMAD_BIN_DIR");
  return absl::StrCat(dir == nullptr ? "./bin" : dir, "/", name);
}

std::unique_ptr<TestDb> TestDb::Create(const std::string& server_url) {
  const std::string server = server_url.empty() ? ServerUrl() : server_url;
  if (server.empty()) {
    fprintf(stderr, "SCHEMAD_TEST_PG_URL is not set: run the tests through scripts/test\n");
    std::abort();
  }
  std::random_device rd;
  const std::string name = absl::StrCat("t_", getpid(), "_", rd() % 1000000000);
  pqxx::connection admin(absl::StrCat(server, "/postgres"));
  pqxx::nontransaction tx(admin);
  tx.exec(absl::StrCat("CREATE DATABASE ", name));
  return std::unique_ptr<TestDb>(new TestDb(server, name));
}

TestDb::~TestDb() {
  pool_.reset();
  try {
    pqxx::connection admin(absl::StrCat(server_, "/postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception& e) {
    fprintf(stderr, "dropping test database %s: %s\n", name_.c_str(), e.what());
  }
}

std::string TestDb::url() const { return absl::StrCat(server_, "/", name_); }

void TestDb::Exec(const std::string& sql) {
  pqxx::connection conn(url());
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

pqxx::result TestDb::Query(const std::string& sql) {
  pqxx::connection conn(url());
  pqxx::nontransaction tx(conn);
  return tx.exec(sql);
}

Database* TestDb::pool() {
  if (pool_ == nullptr) {
    DatabaseOptions options;
    options.url = url();
    options.max_connections = 8;
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Create(options);
    EXPECT_TRUE(db.ok()) << db.status();
    pool_ = std::move(*db);
  }
  return pool_.get();
}

Registry MustLoadRegistry(const std::vector<RegistrySource>& files) {
  absl::StatusOr<Registry> registry = LoadRegistry(files, "test");
  EXPECT_TRUE(registry.ok()) << registry.status();
  return registry.ok() ? *registry : Registry{};
}

Registry MustLoadRegistry(const std::string& textproto) {
  return MustLoadRegistry({{"test.textproto", textproto}});
}

std::string DescribeDifference(const Difference& d) {
  return absl::StrCat(
      ChangeName(d.change), " ", ObjectKindName(d.kind), " ", d.name,
      d.attribute == Attribute::kNone ? "" : absl::StrCat(" ", AttributeName(d.attribute)));
}

std::vector<std::string> DescribeDifferences(const std::vector<Difference>& diffs) {
  std::vector<std::string> out;
  for (const Difference& d : diffs) out.push_back(DescribeDifference(d));
  return out;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string TempDir() {
  const char* base = std::getenv("SCHEMAD_TEST_PG_DIR");
  std::string tmpl = absl::StrCat(base ? base : "/tmp", "/t-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return "/tmp";
  }
  chmod(tmpl.c_str(), 0755);
  return tmpl;
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(dir, "/", name);
  std::ofstream(path) << text;
  return path;
}

PrivateCluster::PrivateCluster(const std::string& extra_options)
    : dir_(absl::StrCat(TempDir(), "/private-cluster")) {
  CommandResult r = RunCommand(
      absl::StrCat(SourcePath("scripts/pg-cluster"), " start ", dir_, " ", extra_options));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  port_ = std::string(absl::StripAsciiWhitespace(r.output));
}

PrivateCluster::~PrivateCluster() {
  RunCommand(absl::StrCat(SourcePath("scripts/pg-cluster"), " stop ", dir_, " immediate"));
}

std::string PrivateCluster::server_url() const {
  return absl::StrCat("postgresql://postgres:schemad-test-secret@127.0.0.1:", port_);
}

void PrivateCluster::Stop(const std::string& mode) {
  RunCommand(absl::StrCat(SourcePath("scripts/pg-cluster"), " stop ", dir_, " ", mode));
}

void PrivateCluster::Start() {
  CommandResult r = RunCommand(absl::StrCat(SourcePath("scripts/pg-cluster"), " restart ", dir_));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

ServerProcess::ServerProcess(std::vector<std::string> args, int port) {
  log_ = absl::StrCat(TempDir(), "/schemad.log");
  std::vector<std::string> argv = {BinaryPath("schemad"), "serve", "--listen",
                                   absl::StrCat("127.0.0.1:", port)};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  const char* log_path = log_.c_str();
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec: the test process
    // may have other threads.
    const int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(raw[0], raw.data());
    _exit(127);
  }
  for (int i = 0; i < 200 && port_ == 0 && Alive(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    const std::string text = Log();
    const size_t at = text.find("(port ");
    if (at != std::string::npos) port_ = std::atoi(text.c_str() + at + 6);
  }
  EXPECT_GT(port_, 0) << Log();
}

ServerProcess::~ServerProcess() { Stop(); }

void ServerProcess::Stop() {
  if (pid_ <= 0) return;
  if (!Alive()) {  // exited (and reaped) already
    pid_ = -1;
    return;
  }
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // up to 5 s for a graceful stop
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  Kill(SIGKILL);
}

bool ServerProcess::WaitUntilServing() {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    if (!Alive()) {
      ADD_FAILURE() << "schemad exited before serving:\n" << Log();
      return false;
    }
    if (port_ > 0 &&
        RunCommand(absl::StrCat("env -u SCHEMAD_TOKEN -u SCHEMAD_ADDR ", BinaryPath("schemactl"),
                                " --server ", address(), " --timeout 1s health --service ''"))
                .exit_code == 0) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  ADD_FAILURE() << "schemad did not serve within 10 s:\n" << Log();
  return false;
}

std::string ServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

bool ServerProcess::Alive() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int ServerProcess::Kill(int signal) {
  int status = 0;
  kill(pid_, signal);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string SyntheticRegistry(int n) {
  std::string text =
      "registry { schema: \"public\" enum { name: \"state\" label: \"a\" label: \"b\" } }\n";
  for (int i = 0; i < n; ++i) {
    const std::string t = absl::StrCat("t", i);
    absl::StrAppend(
        &text, "table { name: \"", t, "\"\n",
        "  column { name: \"id\" type: \"bigserial\" not_null: true }\n",
        "  column { name: \"parent_id\" type: \"bigint\" }\n",
        "  column { name: \"name\" type: \"character varying(100)\" not_null: true }\n",
        "  column { name: \"state\" type: \"state\" not_null: true default: \"'a'\" }\n",
        "  column { name: \"amount\" type: \"numeric(12,2)\" }\n",
        "  column { name: \"meta\" type: \"jsonb\" not_null: true default: \"'{}'::jsonb\" }\n",
        "  column { name: \"created_at\" type: \"timestamp with time zone\" not_null: true "
        "default: \"now()\" }\n",
        "  column { name: \"note\" type: \"text\" }\n", "  primary_key { name: \"pk_", t,
        "\" column: \"id\" }\n", "  unique { name: \"uq_", t, "_name\" column: \"name\" }\n",
        "  check { name: \"ck_", t, "_amount\" expression: \"amount >= 0\" }\n",
        i > 0 ? absl::StrCat("  foreign_key { name: \"fk_", t,
                             "_parent\" column: \"parent_id\" references_table: \"t", i - 1,
                             "\" references_column: \"id\" }\n")
              : "",
        "  index { name: \"ix_", t, "_created_at\" key { column: \"created_at\" } }\n",
        "  index { name: \"ix_", t,
        "_open\" key { column: \"parent_id\" } where: \"state = 'a'\" }\n", "}\n");
  }
  return text;
}

}  // namespace schemad::testing
