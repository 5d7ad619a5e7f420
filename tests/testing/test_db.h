// Test support: a fresh PostgreSQL database per test, on the server that
// scripts/test starts (SCHEMAD_TEST_PG_URL, e.g.
// postgresql://postgres:secret@127.0.0.1:5432), dropped afterwards.
//
//   auto db = TestDb::Create();          // fails the test when no server
//   db->Exec("CREATE TABLE t (id int)");
//   Engine engine(db->pool(), MustLoadRegistry({{"r.textproto", "..."}}));
#ifndef SCHEMAD_TESTS_TESTING_TEST_DB_H_
#define SCHEMAD_TESTS_TESTING_TEST_DB_H_

#include <sys/types.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "schemad/apply/engine.h"
#include "schemad/db/database.h"
#include "schemad/registry/registry.h"

namespace schemad::testing {

// The server's base URL (without database name); empty when unset.
std::string ServerUrl();
// A file of the source tree / a built binary.
std::string SourcePath(const std::string& relative);
std::string BinaryPath(const std::string& name);

class TestDb {
 public:
  // Creates database t_<random> on ServerUrl(). Never null (aborts the
  // test process with a message when no server is configured).
  static std::unique_ptr<TestDb> Create(const std::string& server_url = "");
  ~TestDb();

  const std::string& name() const { return name_; }
  std::string url() const;
  // Runs SQL (several statements allowed) on a connection of its own.
  void Exec(const std::string& sql);
  pqxx::result Query(const std::string& sql);
  // A schemad connection pool for this database.
  Database* pool();

 private:
  TestDb(std::string server, std::string name)
      : server_(std::move(server)), name_(std::move(name)) {}
  std::string server_;
  std::string name_;
  std::unique_ptr<Database> pool_;
};

// Loads registry files given inline; fails the test on error.
Registry MustLoadRegistry(const std::vector<RegistrySource>& files);
// One inline file.
Registry MustLoadRegistry(const std::string& textproto);

// Formats a difference as "MISSING column items.tags [attribute]".
std::string DescribeDifference(const Difference& d);
std::vector<std::string> DescribeDifferences(const std::vector<Difference>& diffs);

// Runs a shell command, returning its exit code and captured stdout+stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& command);

// A fresh directory under SCHEMAD_TEST_PG_DIR (or /tmp), readable by the
// postgres user; removed by scripts/test's cleanup.
std::string TempDir();
std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text);

// A private PostgreSQL cluster (scripts/pg-cluster) that a test may stop,
// crash and restart on the same port. Stopped when destroyed.
class PrivateCluster {
 public:
  explicit PrivateCluster(const std::string& extra_options = "");
  ~PrivateCluster();
  std::string server_url() const;
  // "fast" or "immediate" (a crash: no checkpoint, no clean shutdown).
  void Stop(const std::string& mode = "fast");
  void Start();

 private:
  std::string dir_;
  std::string port_;
};

// `schemad serve` as a child process on 127.0.0.1 (`port`, or a free port
// read from its start-up line), its output to a log file. Stopped (SIGTERM,
// then SIGKILL after 5 s) if still running when destroyed. The one server
// helper of every test.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args, int port = 0);
  ~ServerProcess();
  // Waits until its health service answers (`schemactl health`); false,
  // with a test failure naming the log, when it exits or does not serve
  // within 10 s.
  bool WaitUntilServing();
  // SIGTERM (in-flight calls finish), SIGKILL after 5 s.
  void Stop();
  int port() const { return port_; }
  std::string address() const;
  pid_t pid() const { return pid_; }
  bool Alive() const;
  // Sends `signal` and waits for the exit; returns the wait status.
  int Kill(int signal);
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
};

// A registry of `n` docbot-sized tables (~8 columns, a foreign key to the
// previous table, a unique and a check constraint, two indexes) in one file.
std::string SyntheticRegistry(int n);

}  // namespace schemad::testing

#endif  // SCHEMAD_TESTS_TESTING_TEST_DB_H_
