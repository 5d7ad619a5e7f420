#include "testing/test_db.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
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
  return absl::StrCat(ChangeName(d.change), " ", d.object_type, " ", d.name,
                      d.attribute.empty() ? "" : absl::StrCat(" ", d.attribute));
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
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace schemad::testing
