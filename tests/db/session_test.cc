// The libpqxx-free session API (schemad/db/session.h) against a real
// PostgreSQL: parameters and NULLs, results, errors as statuses with their
// SQLSTATE, a failed statement that keeps its transaction from committing,
// snapshots shared across connections.
#include "schemad/db/session.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "schemad/db/database.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

std::unique_ptr<Connection> MustAcquire(Database& db) {
  absl::StatusOr<std::unique_ptr<Connection>> conn = db.Acquire(Deadline());
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? *std::move(conn) : nullptr;
}

TEST(SessionTest, ParametersAndResultsKeepTheirValuesAndNulls) {
  auto db = testing::TestDb::Create();
  std::unique_ptr<Connection> conn = MustAcquire(*db->pool());
  ASSERT_NE(conn, nullptr);
  Transaction tx(*conn, Transaction::Kind::kReadOnly, "reading values");
  const std::string odd = "it's \"quoted\"; DROP TABLE x; --\\";
  absl::StatusOr<Rows> rows =
      tx.Exec("SELECT $1::text, $2::int8, $3::bool, $4::text IS NULL, $5::int4, $6::text",
              {odd, int64_t{-9007199254740993}, false, std::nullopt, 42, std::string()});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const Rows::Row row = (*rows)[0];
  EXPECT_EQ(row.Text(0), odd);
  EXPECT_EQ(row.Int(1), -9007199254740993);
  EXPECT_FALSE(row.Bool(2));
  EXPECT_TRUE(row.Bool(3));
  EXPECT_EQ(row.Int(4), 42);
  EXPECT_FALSE(row.IsNull(5));
  EXPECT_EQ(row.Text(5), "");

  absl::StatusOr<Rows> nulls = tx.Exec("SELECT NULL::text, NULL::int8, NULL::bool");
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  EXPECT_TRUE((*nulls)[0].IsNull(0));
  EXPECT_EQ((*nulls)[0].Text(0), "");
  EXPECT_EQ((*nulls)[0].Int(1, -1), -1);
  EXPECT_FALSE((*nulls)[0].Bool(2));

  absl::StatusOr<Rows> many = tx.Exec("SELECT g FROM pg_catalog.generate_series(1, 5) g");
  ASSERT_TRUE(many.ok()) << many.status();
  int64_t sum = 0;
  for (const Rows::Row r : *many) sum += r.Int(0);
  EXPECT_EQ(sum, 15);
  EXPECT_TRUE(tx.Commit().ok());
}

TEST(SessionTest, ErrorsAreStatusesNamingTheWorkAndCarryingTheSqlState) {
  auto db = testing::TestDb::Create();
  std::unique_ptr<Connection> conn = MustAcquire(*db->pool());
  ASSERT_NE(conn, nullptr);
  Transaction tx(*conn, Transaction::Kind::kNone, "probing");
  absl::StatusOr<Rows> missing = tx.Exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(SqlStateOf(missing.status()), "42P01");
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "probing: ")) << missing.status();

  // Two statements in one call: the extended protocol refuses them.
  absl::StatusOr<Rows> two = tx.Exec("SELECT 1; SELECT 2");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(SqlStateOf(two.status()), "42601");

  // A NUL byte in the text or in a parameter is never sent.
  const int64_t sent = db->pool()->statements_sent();
  absl::StatusOr<Rows> nul_text = tx.Exec(std::string("SELECT 1\0; DROP TABLE t", 23));
  EXPECT_EQ(nul_text.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Rows> nul_param = tx.Exec("SELECT $1::text", {std::string("a\0b", 3)});
  EXPECT_EQ(nul_param.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(db->pool()->statements_sent(), sent);

  // Autocommit goes on after an error.
  absl::StatusOr<Rows> after = tx.Exec("SELECT 1");
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST(SessionTest, AFailedStatementKeepsItsTransactionFromCommitting) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE TABLE t (id int PRIMARY KEY)");
  std::unique_ptr<Connection> conn = MustAcquire(*db->pool());
  ASSERT_NE(conn, nullptr);
  {
    Transaction tx(*conn, Transaction::Kind::kReadWrite, "writing");
    ASSERT_TRUE(tx.Exec("INSERT INTO t VALUES (1)").ok());
    absl::StatusOr<Rows> duplicate = tx.Exec("INSERT INTO t VALUES (1)");
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(SqlStateOf(duplicate.status()), "23505");
    // The caller ignores the failure and carries on: nothing more is sent
    // and COMMIT reports the failure instead of a silent rollback.
    absl::StatusOr<Rows> next = tx.Exec("INSERT INTO t VALUES (2)");
    EXPECT_EQ(SqlStateOf(next.status()), "23505");
    absl::Status committed = tx.Commit();
    EXPECT_FALSE(committed.ok());
    EXPECT_EQ(SqlStateOf(committed), "23505");
  }
  EXPECT_EQ(db->Query("SELECT count(*) FROM t")[0][0].as<int>(), 0);

  // The connection is usable again, and a clean transaction commits.
  {
    Transaction tx(*conn, Transaction::Kind::kReadWrite, "writing");
    absl::StatusOr<Rows> inserted = tx.Exec("INSERT INTO t VALUES (3), (4)");
    ASSERT_TRUE(inserted.ok()) << inserted.status();
    EXPECT_EQ(inserted->affected(), 2);
    EXPECT_TRUE(tx.Commit().ok());
  }
  // Destroyed uncommitted: rolled back.
  {
    Transaction tx(*conn, Transaction::Kind::kReadWrite, "writing");
    ASSERT_TRUE(tx.Exec("INSERT INTO t VALUES (5)").ok());
  }
  EXPECT_EQ(db->Query("SELECT count(*) FROM t")[0][0].as<int>(), 2);
}

TEST(SessionTest, ASnapshotIsSharedWithAnotherConnection) {
  auto db = testing::TestDb::Create();
  db->Exec("CREATE TABLE t (id int)");
  std::unique_ptr<Connection> first = MustAcquire(*db->pool());
  std::unique_ptr<Connection> second = MustAcquire(*db->pool());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->BackendPid(), second->BackendPid());
  Transaction tx(*first, Transaction::Kind::kSnapshot, "reading");
  absl::StatusOr<Rows> exported = tx.Exec("SELECT pg_catalog.pg_export_snapshot()");
  ASSERT_TRUE(exported.ok()) << exported.status();
  // A row committed after the snapshot: neither transaction sees it.
  db->Exec("INSERT INTO t VALUES (1)");
  Transaction helper(*second, Transaction::Kind::kSnapshot, "reading");
  ASSERT_TRUE(helper.ImportSnapshot((*exported)[0].Text(0)).ok());
  for (Transaction* t : {&tx, &helper}) {
    absl::StatusOr<Rows> rows = t->Exec("SELECT count(*) FROM t");
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ((*rows)[0].Int(0), 0);
  }
  // Read-only: a write fails with 25006.
  absl::StatusOr<Rows> write = helper.Exec("INSERT INTO t VALUES (2)");
  EXPECT_EQ(SqlStateOf(write.status()), "25006");
  EXPECT_TRUE(tx.Commit().ok());
}

TEST(SessionTest, AnUnreachableDatabaseIsUnavailable) {
  DatabaseOptions options;
  // A port nothing listens on (the discard port, loopback).
  options.url = "postgresql://postgres@127.0.0.1:9/none";
  options.connect_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Create(options);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::unique_ptr<Connection>> conn = (*db)->Acquire(Deadline());
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable) << conn.status();
  EXPECT_EQ((*db)->AcquireIdle(), nullptr);
  EXPECT_EQ((*db)->leased_connections(), 0);
}

// Refused credentials or a database that does not exist are configuration
// errors, not an unreachable database: waiting for them is pointless, so
// they are FAILED_PRECONDITION with the SQLSTATE libpq does not give.
TEST(SessionTest, RefusedCredentialsAndMissingDatabasesAreConfigurationErrors) {
  auto db = testing::TestDb::Create();
  const std::string password = "schemad-test-secret";
  ASSERT_TRUE(absl::StrContains(db->url(), password)) << "the test server's URL changed";
  struct Case {
    std::string url;
    std::string sqlstate;
  };
  const Case cases[] = {
      {absl::StrReplaceAll(db->url(), {{password, "not-the-password"}}), "28P01"},
      {absl::StrCat(testing::ServerUrl(), "/no_such_database_here"), "3D000"},
  };
  for (const Case& c : cases) {
    DatabaseOptions options;
    options.url = c.url;
    absl::StatusOr<std::unique_ptr<Database>> bad = Database::Create(options);
    ASSERT_TRUE(bad.ok()) << bad.status();
    absl::StatusOr<std::unique_ptr<Connection>> conn = (*bad)->Acquire(Deadline());
    ASSERT_FALSE(conn.ok());
    EXPECT_EQ(conn.status().code(), absl::StatusCode::kFailedPrecondition) << conn.status();
    EXPECT_EQ(SqlStateOf(conn.status()), c.sqlstate) << conn.status();
    EXPECT_TRUE(absl::StrContains(conn.status().message(), "--database-url")) << conn.status();
    EXPECT_FALSE(absl::StrContains(conn.status().message(), "not-the-password"));
    EXPECT_FALSE(IsTransient(conn.status()));
    EXPECT_EQ((*bad)->Ping(Deadline()).code(), absl::StatusCode::kFailedPrecondition);
  }
}

// End to end: `schemactl initialize --wait` against a schemad whose
// password is wrong stops at once with "refused" (5), instead of waiting
// for a database that will never answer (6).
TEST(SessionTest, SchemactlDoesNotWaitForRefusedCredentials) {
  auto db = testing::TestDb::Create();
  const std::string url =
      absl::StrReplaceAll(db->url(), {{"schemad-test-secret", "not-the-password"}});
  testing::ServerProcess server({"--database-url", url});
  const testing::CommandResult result =
      testing::RunCommand(absl::StrCat(testing::BinaryPath("schemactl"), " --server ",
                                       server.address(), " initialize --wait 120s 2>&1"));
  EXPECT_EQ(result.exit_code, 5) << result.output;
  EXPECT_TRUE(absl::StrContains(result.output, "FAILED_PRECONDITION")) << result.output;
  EXPECT_TRUE(absl::StrContains(result.output, "password")) << result.output;
  EXPECT_FALSE(absl::StrContains(result.output, "not-the-password")) << result.output;
}

}  // namespace
}  // namespace schemad
