// Registry directories on disk: what ReadRegistryDir refuses (dangling and
// looping symbolic links, FIFOs, directories, oversized files), and what
// WriteRegistryDir writes (one safe, distinct file per table, atomically).
// Local files only, each test under a fresh temporary directory.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/model/model.h"
#include "schemad/registry/registry.h"

namespace schemad {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kTable[] = R"reg(table { name: "t" column { name: "id" type: "integer" } })reg";

// The limit ReadRegistryDir enforces (kMaxFileBytes in registry.cc).
constexpr size_t kLimit = 8 << 20;

class RegistryFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name_template = fs::temp_directory_path() / "schemad-registry-files-XXXXXX";
    ASSERT_NE(::mkdtemp(name_template.data()), nullptr);
    root_ = name_template;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  static void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    ASSERT_TRUE(out.good()) << path;
  }

  // The names in `dir`, sorted.
  static std::vector<std::string> Entries(const std::string& dir) {
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static Schema SchemaWithTables(const std::vector<std::string>& names) {
    Schema schema{.name = "public"};
    for (const std::string& name : names) {
      schema.tables.push_back(
          Table{.name = name, .columns = {Column{.name = "id", .type = "integer"}}});
    }
    return schema;
  }

  std::string root_;
};

// --- Reading -------------------------------------------------------------------

TEST_F(RegistryFilesTest, DanglingSymlinkIsAnErrorNamingIt) {
  WriteFile(root_ + "/t.textproto", kTable);
  const std::string link = root_ + "/users.textproto";
  ASSERT_EQ(::symlink("no-such-file.textproto", link.c_str()), 0);

  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(root_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(link));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("dangling symbolic link"));
}

TEST_F(RegistryFilesTest, SymlinkLoopIsAnErrorNamingIt) {
  WriteFile(root_ + "/t.textproto", kTable);
  const std::string a = root_ + "/a.textproto";
  const std::string b = root_ + "/b.textproto";
  ASSERT_EQ(::symlink("b.textproto", a.c_str()), 0);
  ASSERT_EQ(::symlink("a.textproto", b.c_str()), 0);

  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(root_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(a));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("symbolic link loop"));
}

TEST_F(RegistryFilesTest, IgnoresDotFilesSuchAsAnEditorsDanglingLockLink) {
  WriteFile(root_ + "/t.textproto", kTable);
  const std::string lock = root_ + "/.#t.textproto";
  ASSERT_EQ(::symlink("user@host.12345:1700000000", lock.c_str()), 0);
  WriteFile(root_ + "/.hidden.json", "not json at all");

  absl::StatusOr<Registry> r = LoadRegistryDir(root_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
  EXPECT_EQ(r->schema.tables[0].name, "t");
}

TEST_F(RegistryFilesTest, FifoIsRefusedWithoutBlocking) {
  WriteFile(root_ + "/t.textproto", kTable);
  const std::string fifo = root_ + "/x.textproto";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);

  std::future<absl::StatusOr<std::vector<RegistrySource>>> read =
      std::async(std::launch::async, [this] { return ReadRegistryDir(root_); });
  if (read.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    // A reader blocked in open() is released by a writer appearing.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    ADD_FAILURE() << "ReadRegistryDir blocked on a FIFO";
  }
  absl::StatusOr<std::vector<RegistrySource>> files = read.get();
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(fifo));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("FIFO"));
}

TEST_F(RegistryFilesTest, DirectoryWithARegistryExtensionIsAnError) {
  WriteFile(root_ + "/t.textproto", kTable);
  const std::string dir = root_ + "/d.textproto";
  ASSERT_TRUE(fs::create_directory(dir));

  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(root_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(dir));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("is a directory"));
}

TEST_F(RegistryFilesTest, SymlinkToARegularFileIsRead) {
  WriteFile(root_ + "/real.txt", kTable);
  ASSERT_EQ(::symlink("real.txt", (root_ + "/t.textproto").c_str()), 0);

  absl::StatusOr<Registry> r = LoadRegistryDir(root_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
  EXPECT_EQ(r->schema.tables[0].name, "t");
}

TEST_F(RegistryFilesTest, DirectoryWithOnlyDotFilesHasNoRegistryFiles) {
  WriteFile(root_ + "/.t.textproto", kTable);

  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(root_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("no registry files"));
}

TEST_F(RegistryFilesTest, FileOneByteOverTheLimitIsAnError) {
  // A valid table followed by comment lines, kLimit + 1 bytes in all.
  std::string content = absl::StrCat(kTable, "\n");
  const std::string comment = absl::StrCat("#", std::string(62, ' '), "\n");
  while (content.size() + comment.size() <= kLimit + 1) content += comment;
  content += std::string(kLimit + 1 - content.size(), ' ');
  ASSERT_EQ(content.size(), kLimit + 1);
  const std::string path = root_ + "/t.textproto";
  WriteFile(path, content);

  absl::StatusOr<std::vector<RegistrySource>> files = ReadRegistryDir(root_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(files.status().message()),
              HasSubstr(absl::StrCat("file is larger than ", kLimit, " bytes")));
}

TEST_F(RegistryFilesTest, FileOfExactlyTheLimitIsRead) {
  std::string content = absl::StrCat(kTable, "\n");
  content += std::string(kLimit - content.size(), ' ');
  WriteFile(root_ + "/t.textproto", content);

  absl::StatusOr<Registry> r = LoadRegistryDir(root_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
}

TEST_F(RegistryFilesTest, DeeplyNestedJsonArrayIsRefusedNamingTheFile) {
  const int kDepth = 100000;
  const std::string content =
      absl::StrCat(R"({"table": [{"name": "t", "column": [)", std::string(kDepth, '['),
                   std::string(kDepth, ']'), "]}]}");
  const std::string path = root_ + "/t.json";
  WriteFile(path, content);

  absl::StatusOr<Registry> r = LoadRegistryDir(root_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("nested deeper than 64 levels"));
}

TEST_F(RegistryFilesTest, BracketsInsideJsonStringsDoNotCountAsNesting) {
  const std::string content = absl::StrCat(
      R"({"table": [{"name": "t", "column": [{"name": "id", "type": "text", "default": "')",
      std::string(100, '['), "\\\"", std::string(100, '{'), R"('"}]}]})");
  WriteFile(root_ + "/t.json", content);

  absl::StatusOr<Registry> r = LoadRegistryDir(root_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->schema.tables.size(), 1u);
}

// --- Writing -------------------------------------------------------------------

TEST_F(RegistryFilesTest, HostileTableNamesGetDistinctFilesInsideTheDirectory) {
  const std::vector<std::string> names = {"registry",
                                          "a/b",
                                          "a_b",
                                          "A_B",
                                          "a\nb",
                                          "../x",
                                          "x.textproto",
                                          std::string(63, 'n'),
                                          std::string(63, 'N'),
                                          "\xc3\xbc" /* ü */,
                                          ".hidden",
                                          "A",
                                          "t_x41",
                                          "users"};
  const std::string out = root_ + "/out";

  absl::StatusOr<std::vector<std::string>> written =
      WriteRegistryDir(SchemaWithTables(names), out, {});
  ASSERT_TRUE(written.ok()) << written.status();

  // One file per table plus registry.textproto, all directly in `out`,
  // distinct even when case is ignored, nothing written beside `out`.
  EXPECT_THAT(Entries(root_), ElementsAre("out"));
  const std::vector<std::string> entries = Entries(out);
  EXPECT_EQ(entries.size(), names.size() + 1);
  EXPECT_EQ(written->size(), names.size() + 1);
  std::set<std::string> folded;
  for (const std::string& e : entries) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / e)) << e;
    folded.insert(absl::AsciiStrToLower(e));
  }
  EXPECT_EQ(folded.size(), entries.size());
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "registry.textproto"), 1);
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "users.textproto"), 1);
  for (const std::string& path : *written) {
    EXPECT_EQ(fs::path(path).parent_path(), fs::path(out)) << path;
  }

  absl::StatusOr<Registry> loaded = LoadRegistryDir(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<std::string> loaded_names;
  for (const Table& t : loaded->schema.tables) loaded_names.push_back(t.name);
  std::vector<std::string> expected = names;
  std::sort(expected.begin(), expected.end());
  std::sort(loaded_names.begin(), loaded_names.end());
  EXPECT_EQ(loaded_names, expected);
}

TEST_F(RegistryFilesTest, TableNameCannotBreakOutOfItsComment) {
  const std::string name = "x\ntable { name: \"injected\" }\r\n# ";
  const std::string out = root_ + "/out";
  ASSERT_TRUE(WriteRegistryDir(SchemaWithTables({name}), out, {}).ok());

  absl::StatusOr<Registry> loaded = LoadRegistryDir(out);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->schema.tables.size(), 1u);
  EXPECT_EQ(loaded->schema.tables[0].name, name);
}

TEST_F(RegistryFilesTest, RefusesANonEmptyDirectoryWithoutReplace) {
  const std::string out = root_ + "/out";
  ASSERT_TRUE(fs::create_directory(out));
  WriteFile(out + "/old.textproto", kTable);

  absl::StatusOr<std::vector<std::string>> written =
      WriteRegistryDir(SchemaWithTables({"users"}), out, {});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(written.status().message()), HasSubstr(out));
  EXPECT_THAT(std::string(written.status().message()), HasSubstr("--replace"));
  EXPECT_THAT(Entries(out), ElementsAre("old.textproto"));
  EXPECT_THAT(Entries(root_), ElementsAre("out"));
}

TEST_F(RegistryFilesTest, ReplacesANonEmptyDirectoryWhenAsked) {
  const std::string out = root_ + "/out";
  ASSERT_TRUE(fs::create_directory(out));
  WriteFile(out + "/old.textproto", kTable);

  absl::StatusOr<std::vector<std::string>> written =
      WriteRegistryDir(SchemaWithTables({"users"}), out, {.replace = true});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_THAT(Entries(out), ElementsAre("registry.textproto", "users.textproto"));
  EXPECT_THAT(Entries(root_), ElementsAre("out"));
}

TEST_F(RegistryFilesTest, WritesIntoAnExistingEmptyDirectoryAndCreatesParents) {
  const std::string empty = root_ + "/empty";
  ASSERT_TRUE(fs::create_directory(empty));
  ASSERT_TRUE(WriteRegistryDir(SchemaWithTables({"users"}), empty, {}).ok());
  EXPECT_THAT(Entries(empty), ElementsAre("registry.textproto", "users.textproto"));

  const std::string nested = root_ + "/a/b/out/";
  ASSERT_TRUE(WriteRegistryDir(SchemaWithTables({"users"}), nested, {}).ok());
  EXPECT_THAT(Entries(nested), ElementsAre("registry.textproto", "users.textproto"));
  EXPECT_THAT(Entries(root_ + "/a/b"), ElementsAre("out"));
}

TEST_F(RegistryFilesTest, FailedWriteLeavesTheTargetUntouched) {
  const std::string out = root_ + "/out";
  ASSERT_TRUE(fs::create_directory(out));
  WriteFile(out + "/old.textproto", kTable);

  // A 200-byte name is encoded into a file name longer than a file system
  // allows: writing fails after some files were written.
  absl::StatusOr<std::vector<std::string>> written =
      WriteRegistryDir(SchemaWithTables({"users", std::string(200, 'X')}), out, {.replace = true});
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(Entries(out), ElementsAre("old.textproto"));
  EXPECT_THAT(Entries(root_), ElementsAre("out"));
}

TEST_F(RegistryFilesTest, RefusesTwoTablesOfOneName) {
  const std::string out = root_ + "/out";
  absl::StatusOr<std::vector<std::string>> written =
      WriteRegistryDir(SchemaWithTables({"users", "users"}), out, {});
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Entries(root_), IsEmpty());
}

}  // namespace
}  // namespace schemad
