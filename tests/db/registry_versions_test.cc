// Registry versions end to end over loopback gRPC and real PostgreSQL:
// publishing (every format, idempotent, structured errors, nothing stored
// on error), labels (immutable, explicit moves), roles, selectors on
// Status/Diff/Initialize, two versions initialized alternately, the
// downgrade refusal, history, rollback, registry-to-registry diff and
// retention.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/v1/schema_service.grpc.pb.h"
#include "service.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kReader[] = "reader-token-0123456789";
constexpr char kPublisher[] = "publisher-token-0123456789";

// Version 1: one table. Version 2 adds a column and a table (additive).
constexpr char kV1[] = R"pb(
  table {
    name: "notes"
    column { name: "id" type: "bigint" not_null: true }
    column { name: "body" type: "text" }
    primary_key { name: "notes_pkey" column: "id" }
  }
)pb";
constexpr char kV2[] = R"pb(
  table {
    name: "notes"
    column { name: "id" type: "bigint" not_null: true }
    column { name: "body" type: "text" }
    column { name: "title" type: "text" }
    primary_key { name: "notes_pkey" column: "id" }
  }
  table {
    name: "tags"
    column { name: "id" type: "bigint" not_null: true }
    primary_key { name: "tags_pkey" column: "id" }
  }
)pb";
// Version 3 conflicts with version 1: body becomes NOT NULL.
constexpr char kV3[] = R"pb(
  table {
    name: "notes"
    column { name: "id" type: "bigint" not_null: true }
    column { name: "body" type: "text" not_null: true }
    primary_key { name: "notes_pkey" column: "id" }
  }
)pb";

class RegistryVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::TestDb::Create();
    dir_ = testing::TempDir();
  }

  void Start(ServerOptions options = {}) {
    options.tokens_file =
        testing::WriteFile(dir_, "tokens",
                           absl::StrCat("admin ", kAdmin, " deployer\nreader ", kReader,
                                        "\npublisher ", kPublisher, " github-actions\n"));
    options.listen = "127.0.0.1:0";
    options.log_requests = false;
    options.readiness_interval = absl::Milliseconds(200);
    engine_ = std::make_unique<Engine>(db_->pool(), *LoadEmbeddedRegistry());
    absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, engine_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = pb::SchemaService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(2));
    server_.reset();
    engine_.reset();
  }

  static void Auth(grpc::ClientContext& ctx, const std::string& token) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }

  grpc::Status Publish(const std::vector<std::pair<std::string, std::string>>& files,
                       const std::vector<std::string>& labels, pb::PublishRegistryResponse* out,
                       bool move = false, const std::string& token = kPublisher) {
    pb::PublishRegistryRequest request;
    for (const auto& [name, content] : files) {
      pb::RegistryFileContent* f = request.add_files();
      f->set_name(name);
      f->set_content(content);
    }
    for (const std::string& l : labels) request.add_labels(l);
    request.set_move(move);
    grpc::ClientContext ctx;
    Auth(ctx, token);
    return stub_->PublishRegistry(&ctx, request, out);
  }
  // Publishes one-file registry `textproto` under `label`; returns its id.
  std::string MustPublish(const std::string& textproto, const std::string& label) {
    pb::PublishRegistryResponse out;
    grpc::Status s = Publish({{"tables.textproto", textproto}}, {label}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.registry().id();
  }

  static pb::RegistrySelector Label(const std::string& label) {
    pb::RegistrySelector s;
    s.set_label(label);
    return s;
  }

  grpc::Status Initialize(pb::InitializeRequest request, pb::InitializeResponse* out,
                          const std::string& token = kAdmin) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    return stub_->Initialize(&ctx, request, out);
  }
  pb::InitializeResponse MustInitialize(const std::string& label,
                                        std::vector<std::string> hazards = {}) {
    pb::InitializeRequest request;
    *request.mutable_registry() = Label(label);
    for (const std::string& h : hazards) request.add_allow_hazards(h);
    pb::InitializeResponse out;
    grpc::Status s = Initialize(request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  grpc::Status Rollback(pb::RollbackRequest request, pb::InitializeResponse* out,
                        const std::string& token = kAdmin) {
    grpc::ClientContext ctx;
    Auth(ctx, token);
    return stub_->Rollback(&ctx, request, out);
  }
  grpc::Status History(pb::HistoryRequest request, pb::HistoryResponse* out) {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    return stub_->History(&ctx, request, out);
  }
  grpc::Status Diff(pb::DiffRequest request, pb::DiffResponse* out) {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    return stub_->Diff(&ctx, request, out);
  }
  grpc::Status Get(const pb::RegistrySelector& selector, pb::GetRegistryResponse* out) {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    pb::GetRegistryRequest request;
    *request.mutable_registry() = selector;
    return stub_->GetRegistry(&ctx, request, out);
  }
  grpc::Status List(pb::ListRegistriesRequest request, pb::ListRegistriesResponse* out) {
    grpc::ClientContext ctx;
    Auth(ctx, kReader);
    return stub_->ListRegistries(&ctx, request, out);
  }

  int Count(const std::string& sql) { return db_->Query(sql)[0][0].as<int>(); }
  bool StoreExists() {
    return !db_->Query("SELECT to_regclass('schemad.registries')")[0][0].is_null();
  }

  std::unique_ptr<testing::TestDb> db_;
  std::string dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<pb::SchemaService::Stub> stub_;
};

std::vector<std::pair<std::string, std::string>> FilesOf(const std::vector<RegistrySource>& in) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const RegistrySource& f : in) {
    out.emplace_back(f.path.substr(f.path.rfind('/') + 1), f.content);
  }
  return out;
}

TEST_F(RegistryVersionsTest, PublishIsIdempotentAndGetReturnsTheFilesByteForByte) {
  Start();
  const auto files = FilesOf(EmbeddedDocbotRegistry());
  pb::PublishRegistryResponse first;
  grpc::Status s = Publish(files, {"3f9c2e1"}, &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(first.created());
  // The same registry as the served one: same fingerprint and id.
  EXPECT_EQ(first.registry().fingerprint(), engine_->registry().fingerprint);
  EXPECT_EQ(first.registry().id(), engine_->registry().id);
  EXPECT_EQ(first.registry().publisher(), "github-actions");
  EXPECT_THAT(first.registry().labels(), ElementsAre("3f9c2e1"));

  pb::PublishRegistryResponse again;
  s = Publish(files, {"3f9c2e1"}, &again);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.registry().id(), first.registry().id());
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.registries"), 1);

  // Bytes no text format keeps (a BOM-less Latin-1 byte in a comment, CRLF)
  // come back exactly.
  const std::string odd = std::string("# caf\xc3\xa9\r\n") + kV1;
  const std::string odd_id = MustPublish(odd, "odd");
  pb::GetRegistryResponse got;
  s = Get(Label("odd"), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.registry().id(), odd_id);
  ASSERT_EQ(got.files_size(), 1);
  EXPECT_EQ(got.files(0).name(), "tables.textproto");
  EXPECT_EQ(got.files(0).content(), odd);

  pb::RegistrySelector by_fingerprint;
  by_fingerprint.set_fingerprint(first.registry().fingerprint());
  s = Get(by_fingerprint, &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(got.files_size(), static_cast<int>(files.size()));
  for (int i = 0; i < got.files_size(); ++i) {
    EXPECT_EQ(got.files(i).content(), files[i].second) << got.files(i).name();
  }

  pb::ListRegistriesResponse list;
  s = List({}, &list);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(list.registries_size(), 2);
  EXPECT_EQ(list.registries(0).id(), odd_id);  // newest first
  EXPECT_THAT(list.registries(1).labels(), ElementsAre("3f9c2e1"));
}

// The same schema written as SQL and as textproto: two registries (their
// files and fingerprints differ), one canonical model and its fingerprint.
TEST_F(RegistryVersionsTest, SqlAndTextprotoFormsOfDocbotShareTheCanonicalFingerprint) {
  Start();
  absl::StatusOr<std::vector<RegistrySource>> sql =
      ReadRegistryDir(testing::SourcePath("deploy/registry/docbot-sql"));
  ASSERT_TRUE(sql.ok()) << sql.status();
  pb::PublishRegistryResponse as_sql, as_textproto;
  grpc::Status s = Publish(FilesOf(*sql), {"docbot-sql"}, &as_sql);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Publish(FilesOf(EmbeddedDocbotRegistry()), {"docbot-textproto"}, &as_textproto);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(as_sql.registry().id(), as_textproto.registry().id());
  EXPECT_NE(as_sql.registry().fingerprint(), as_textproto.registry().fingerprint());
  EXPECT_FALSE(as_sql.registry().canonical_fingerprint().empty());
  EXPECT_EQ(as_sql.registry().canonical_fingerprint(),
            as_textproto.registry().canonical_fingerprint());

  pb::StatusRequest request;
  *request.mutable_registry() = Label("docbot-sql");
  pb::StatusResponse status;
  grpc::ClientContext ctx;
  Auth(ctx, kReader);
  s = stub_->Status(&ctx, request, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.canonical_fingerprint(), as_textproto.registry().canonical_fingerprint());

  // A different schema has a different one.
  pb::PublishRegistryResponse other;
  ASSERT_TRUE(Publish({{"tables.textproto", kV1}}, {"other"}, &other).ok());
  EXPECT_NE(other.registry().canonical_fingerprint(), as_sql.registry().canonical_fingerprint());
}

TEST_F(RegistryVersionsTest, EveryFormatPublishes) {
  Start();
  pb::PublishRegistryResponse json;
  grpc::Status s =
      Publish({{"notes.json",
                R"({"table": [{"name": "notes", "column": [{"name": "id", "type": "bigint"}]}]})"}},
              {"json"}, &json);
  ASSERT_TRUE(s.ok()) << s.error_message();
  pb::PublishRegistryResponse sql;
  s = Publish(
      {{"notes.sql", "CREATE TABLE notes (id bigint);\nCREATE INDEX notes_id ON notes (id);\n"}},
      {"sql"}, &sql);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(sql.registry().fingerprint(), json.registry().fingerprint());

  pb::StatusRequest status_request;
  *status_request.mutable_registry() = Label("sql");
  pb::StatusResponse status;
  grpc::ClientContext ctx;
  Auth(ctx, kReader);
  s = stub_->Status(&ctx, status_request, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.registry_fingerprint(), sql.registry().fingerprint());
  EXPECT_EQ(status.registry_id(), sql.registry().id());
  EXPECT_EQ(status.missing(), 1u);  // the table (its index comes with it)
}

TEST_F(RegistryVersionsTest, BadRegistriesGetStructuredErrorsAndNothingIsStored) {
  Start();
  pb::PublishRegistryResponse out;
  grpc::Status s = Publish(
      {{"notes.textproto", "table {\n  name: \"notes\"\n  column { name: \"id\" type: \"\" }\n}\n"},
       {"views.sql", "CREATE VIEW v AS SELECT 1;\nDO $$ BEGIN END $$;\n"}},
      {"bad"}, &out);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  pb::RpcStatus details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  EXPECT_EQ(details.code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(details.details_size(), 1);
  pb::RegistryErrors errors;
  ASSERT_TRUE(details.details(0).UnpackTo(&errors));
  ASSERT_GE(errors.errors_size(), 2);
  bool textproto_error = false, sql_error = false;
  for (const pb::RegistryError& e : errors.errors()) {
    if (e.file() == "notes.textproto") {
      textproto_error = true;
      EXPECT_EQ(e.line(), 3u) << e.message();
      EXPECT_EQ(e.field(), "table[0].column[0]");
    }
    if (e.file() == "views.sql") {
      sql_error = true;
      EXPECT_EQ(e.line(), 2u) << e.message();
      EXPECT_EQ(e.column(), 1u) << e.message();
    }
  }
  EXPECT_TRUE(textproto_error) << s.error_message();
  EXPECT_TRUE(sql_error) << s.error_message();

  // PostgreSQL rejects it when canonicalizing: still the file and line.
  s = Publish(
      {{"notes.textproto",
        "table {\n  name: \"notes\"\n  column { name: \"id\" type: \"no_such_type\" }\n}\n"}},
      {"bad"}, &out);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("notes.textproto:3"));
  // Rejected by PostgreSQL itself: named as the registry being published,
  // not the one schemad serves.
  pb::PublishRegistryResponse rejected_out;
  grpc::Status rejected =
      Publish({{"t.sql", "CREATE TABLE t (a no_such_type);\n"}}, {"bad"}, &rejected_out);
  ASSERT_EQ(rejected.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rejected.error_message();
  EXPECT_THAT(rejected.error_message(), HasSubstr("the published registry cannot be created"));
  EXPECT_THAT(rejected.error_message(), HasSubstr("t.sql:1:1"));
  // As data too: the place the loader knew, not taken apart from the text.
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  ASSERT_TRUE(details.details(0).UnpackTo(&errors));
  ASSERT_EQ(errors.errors_size(), 1);
  EXPECT_EQ(errors.errors(0).file(), "notes.textproto");
  EXPECT_EQ(errors.errors(0).line(), 3u);
  EXPECT_EQ(errors.errors(0).field(), "table[0].column[0]");
  EXPECT_THAT(errors.errors(0).message(), HasSubstr("no_such_type"));
  EXPECT_THAT(errors.errors(0).message(), Not(HasSubstr("notes.textproto")));
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_TRUE(details.details(0).UnpackTo(&errors));
  ASSERT_GE(errors.errors_size(), 1);
  EXPECT_EQ(errors.errors(0).file(), "notes.textproto");

  // A name that is not a plain registry file name, and a reserved label.
  s = Publish({{"../etc/passwd.textproto", kV1}}, {"x"}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("files[0].name"));
  s = Publish({{"tables.textproto", kV1}}, {"@applied"}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("labels[0]"));
  std::vector<std::string> many;
  for (int i = 0; i < 33; ++i) many.push_back(absl::StrCat("label-", i));
  s = Publish({{"tables.textproto", kV1}}, many, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("33 labels; at most 32"));

  if (StoreExists()) {
    EXPECT_EQ(Count("SELECT count(*) FROM schemad.registries"), 0);
  }
  // Nothing of the scratch work is left in the target schema either.
  EXPECT_EQ(Count("SELECT count(*) FROM pg_class WHERE relname = 'notes'"), 0);
}

TEST_F(RegistryVersionsTest, LabelsAreImmutableUnlessMovedAndMovesAreRecorded) {
  Start();
  pb::PublishRegistryResponse out;
  ASSERT_TRUE(Publish({{"tables.textproto", kV1}}, {"sha-1", "prod"}, &out).ok());
  const std::string v1 = out.registry().id();
  grpc::Status s = Publish({{"tables.textproto", kV2}}, {"sha-2", "prod"}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("\"prod\""));
  // Nothing of the refused publish was stored.
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.registries"), 1);

  s = Publish({{"tables.textproto", kV2}}, {"sha-2", "prod"}, &out, /*move=*/true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string v2 = out.registry().id();
  EXPECT_THAT(out.registry().labels(), ElementsAre("prod", "sha-2"));
  pb::GetRegistryResponse got;
  ASSERT_TRUE(Get(Label("prod"), &got).ok());
  EXPECT_EQ(got.registry().id(), v2);
  ASSERT_TRUE(Get(Label("sha-1"), &got).ok());
  EXPECT_EQ(got.registry().id(), v1);
  EXPECT_THAT(got.registry().labels(), ElementsAre("sha-1"));
  // The move is a row of its own: prod's history is v1, then v2.
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.registry_labels WHERE label = 'prod'"), 2);

  // A commit label never moves, even with --move... unless asked: moving is
  // explicit, not forbidden.
  s = Publish({{"tables.textproto", kV2}}, {"sha-1"}, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(RegistryVersionsTest, RolesAllowWhatTheyShouldAndNothingMore) {
  Start();
  pb::PublishRegistryResponse out;
  grpc::Status s = Publish({{"tables.textproto", kV1}}, {"v1"}, &out, false, kReader);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("publisher or admin"));
  ASSERT_TRUE(Publish({{"tables.textproto", kV1}}, {"v1"}, &out, false, kPublisher).ok());

  pb::InitializeRequest init;
  *init.mutable_registry() = Label("v1");
  pb::InitializeResponse response;
  s = Initialize(init, &response, kPublisher);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("this token's role is publisher"));
  pb::RollbackRequest rollback;
  *rollback.mutable_to() = Label("v1");
  s = Rollback(rollback, &response, kPublisher);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(db_->Query("SELECT to_regclass('public.notes')")[0][0].is_null());

  // The admin token's name is what history records.
  response = MustInitialize("v1");
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
  pb::HistoryResponse history;
  ASSERT_TRUE(History({}, &history).ok());
  ASSERT_EQ(history.entries_size(), 1);
  EXPECT_THAT(history.entries(0).caller(), HasSubstr("deployer (admin"));
}

TEST_F(RegistryVersionsTest, UnknownSelectorsAreNotFound) {
  Start();
  pb::InitializeRequest init;
  *init.mutable_registry() = Label("no-such-label");
  pb::InitializeResponse response;
  grpc::Status s = Initialize(init, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("registry: "));
  pb::GetRegistryResponse got;
  pb::RegistrySelector fp;
  fp.set_fingerprint("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Get(fp, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(Label("@applied"), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  // A selector no registry could match is a bad request, not an unknown one.
  for (const std::string& bad :
       {std::string("a b"), std::string("%"), std::string("@APPLIED"), std::string(200, 'l')}) {
    grpc::Status refused = Get(Label(bad), &got);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(refused.error_message(), HasSubstr("label \"")) << bad;
  }
  pb::RegistrySelector long_fp;
  long_fp.set_fingerprint(std::string(200, 'f'));
  EXPECT_EQ(Get(long_fp, &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // @default always resolves: the served registry.
  ASSERT_TRUE(Get(Label("@default"), &got).ok());
  EXPECT_EQ(got.registry().fingerprint(), engine_->registry().fingerprint);
  // Nothing was created by the lookups.
  EXPECT_FALSE(StoreExists());
}

TEST_F(RegistryVersionsTest, TwoAdditiveVersionsInitializedAlternatelyConvergeKeepingExtras) {
  Start();
  MustPublish(kV1, "v1");
  MustPublish(kV2, "v2");
  EXPECT_EQ(MustInitialize("v1").outcome(), pb::InitializeResponse::APPLIED);
  EXPECT_EQ(MustInitialize("v2").outcome(), pb::InitializeResponse::APPLIED);
  for (int round = 0; round < 2; ++round) {
    // An old pod restarting: nothing of v2 is dropped, nothing runs.
    pb::InitializeResponse old = MustInitialize("v1");
    EXPECT_EQ(old.outcome(), pb::InitializeResponse::ALREADY_IN_SYNC);
    EXPECT_EQ(old.executed_count(), 0u);
    EXPECT_EQ(MustInitialize("v2").outcome(), pb::InitializeResponse::ALREADY_IN_SYNC);
  }
  EXPECT_FALSE(db_->Query("SELECT to_regclass('public.tags')")[0][0].is_null());
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes' "
                  "AND column_name = 'title'"),
            1);
  // Two runs recorded; the no-op ones are not.
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.history"), 2);
  pb::GetRegistryResponse applied;
  ASSERT_TRUE(Get(Label("@applied"), &applied).ok());
  EXPECT_THAT(applied.registry().labels(), ElementsAre("v2"));
}

TEST_F(RegistryVersionsTest, AConflictingOlderVersionIsRefusedUnlessDowngradeIsAllowed) {
  Start();
  MustPublish(kV1, "v1");
  MustPublish(kV3, "v3");
  EXPECT_EQ(MustInitialize("v3").outcome(), pb::InitializeResponse::APPLIED);
  pb::InitializeRequest init;
  *init.mutable_registry() = Label("v1");
  pb::InitializeResponse response;
  grpc::Status s = Initialize(init, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("allow_downgrade"));
  EXPECT_EQ(Count("SELECT count(*) FROM pg_attribute WHERE attrelid = 'notes'::regclass AND "
                  "attname = 'body' AND attnotnull"),
            1);
  init.set_allow_downgrade(true);
  s = Initialize(init, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_attribute WHERE attrelid = 'notes'::regclass AND "
                  "attname = 'body' AND attnotnull"),
            0);
}

TEST_F(RegistryVersionsTest, HistoryPagesAndShowsTheSqlOfOneRun) {
  Start();
  const std::string v1 = MustPublish(kV1, "v1");
  const std::string v2 = MustPublish(kV2, "v2");
  MustInitialize("v1");
  MustInitialize("v2");
  // A failed run is recorded too (a unique index over duplicate rows).
  db_->Exec("INSERT INTO notes (id, body) VALUES (1, 'x'), (2, 'x')");
  // v2 with a unique index over notes.body.
  const std::string unique = absl::StrReplaceAll(
      kV2, {{"primary_key { name: \"notes_pkey\" column: \"id\" }",
             "primary_key { name: \"notes_pkey\" column: \"id\" }\n  index { name: "
             "\"notes_body_key\" unique: true key { column: \"body\" } }"}});
  ASSERT_NE(unique, kV2);
  MustPublish(unique, "v4");
  pb::InitializeRequest init;
  *init.mutable_registry() = Label("v4");
  for (const char* h : {"INDEX_BUILD", "VALIDATION", "LONG_LOCK", "TABLE_REWRITE"}) {
    init.add_allow_hazards(h);
  }
  pb::InitializeResponse response;
  grpc::Status s = Initialize(init, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();

  pb::HistoryRequest request;
  request.set_page_size(2);
  pb::HistoryResponse page;
  ASSERT_TRUE(History(request, &page).ok());
  ASSERT_EQ(page.entries_size(), 2);
  EXPECT_THAT(page.entries(0).state(), HasSubstr("failed"));
  EXPECT_EQ(page.entries(0).steps_executed(), 0u);
  EXPECT_EQ(page.entries(1).registry_id(), v2);
  EXPECT_THAT(page.entries(1).registry_labels(), ElementsAre("v2"));
  EXPECT_EQ(page.entries(1).kind(), "initialize");
  EXPECT_EQ(page.entries(1).mode(), pb::APPLY_MODE_TRANSACTIONAL);
  EXPECT_GT(page.entries(1).steps_executed(), 0u);
  EXPECT_TRUE(page.entries(1).sql().empty());  // only when one run is asked for
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  pb::HistoryResponse rest;
  ASSERT_TRUE(History(request, &rest).ok());
  ASSERT_EQ(rest.entries_size(), 1);
  EXPECT_EQ(rest.entries(0).registry_id(), v1);
  EXPECT_TRUE(rest.next_page_token().empty());

  pb::HistoryRequest one;
  one.set_id(rest.entries(0).id());
  pb::HistoryResponse shown;
  ASSERT_TRUE(History(one, &shown).ok());
  ASSERT_EQ(shown.entries_size(), 1);
  ASSERT_FALSE(shown.entries(0).sql().empty());
  EXPECT_THAT(shown.entries(0).sql(0), HasSubstr("CREATE TABLE"));
  one.set_id(999999);
  EXPECT_EQ(History(one, &shown).error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_page_token("h0x");
  EXPECT_EQ(History(request, &rest).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryVersionsTest, RollbackIsPartialUntilItsDropsAreAcceptedAndIsRecorded) {
  Start();
  const std::string v1 = MustPublish(kV1, "v1");
  const std::string v2 = MustPublish(kV2, "v2");
  MustInitialize("v1");
  MustInitialize("v2");

  pb::RollbackRequest request;
  *request.mutable_to() = Label("v1");
  pb::InitializeResponse response;
  grpc::Status s = Rollback(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // What v1 lacks (tags, notes.title) stays: their drops need DATA_LOSS.
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::PARTIAL);
  EXPECT_GT(response.skipped_count(), 0u);
  EXPECT_EQ(response.registry_id(), v1);
  ASSERT_EQ(response.notes_size(), 1);
  EXPECT_THAT(response.notes(0), HasSubstr("declarations, not data"));
  EXPECT_FALSE(db_->Query("SELECT to_regclass('public.tags')")[0][0].is_null());

  request.set_dry_run(true);
  request.add_allow_hazards("DATA_LOSS");
  request.add_allow_hazards("DROPS_OBJECT");
  s = Rollback(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::DRY_RUN);
  EXPECT_FALSE(db_->Query("SELECT to_regclass('public.tags')")[0][0].is_null());

  request.set_dry_run(false);
  s = Rollback(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.outcome(), pb::InitializeResponse::APPLIED);
  EXPECT_TRUE(db_->Query("SELECT to_regclass('public.tags')")[0][0].is_null());

  pb::HistoryResponse history;
  ASSERT_TRUE(History({}, &history).ok());
  ASSERT_GE(history.entries_size(), 3);
  EXPECT_EQ(history.entries(0).kind(), "rollback");
  EXPECT_EQ(history.entries(0).registry_id(), v1);
  EXPECT_EQ(history.entries(0).from_registry_id(), v2);
  pb::GetRegistryResponse applied;
  ASSERT_TRUE(Get(Label("@applied"), &applied).ok());
  EXPECT_EQ(applied.registry().id(), v1);

  // Rollback needs a target.
  EXPECT_EQ(Rollback(pb::RollbackRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RegistryVersionsTest, DiffBetweenTwoVersionsReadsNoDatabaseSchema) {
  Start();
  MustPublish(kV1, "v1");
  MustPublish(kV2, "v2");
  pb::DiffRequest request;
  *request.mutable_from() = Label("v1");
  *request.mutable_registry() = Label("v2");
  pb::DiffResponse forward;
  grpc::Status s = Diff(request, &forward);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> changes;
  for (const pb::Difference& d : forward.differences()) {
    changes.push_back(
        absl::StrCat(pb::ChangeKind_Name(d.change()), " ", d.object_type(), " ", d.name()));
  }
  EXPECT_THAT(changes,
              ::testing::IsSupersetOf({"MISSING table tags", "MISSING column notes.title"}));
  ASSERT_GT(forward.plan().steps_size(), 0);
  for (const pb::PlanStep& step : forward.plan().steps()) EXPECT_EQ(step.hazards_size(), 0);

  *request.mutable_from() = Label("v2");
  *request.mutable_registry() = Label("v1");
  pb::DiffResponse backward;
  s = Diff(request, &backward);
  ASSERT_TRUE(s.ok()) << s.error_message();
  bool data_loss = false;
  for (const pb::PlanStep& step : backward.plan().steps()) {
    for (const pb::Hazard& h : step.hazards()) data_loss |= h.kind() == pb::DATA_LOSS;
  }
  EXPECT_TRUE(data_loss);
  // The live database was never touched: no table of either version.
  EXPECT_TRUE(db_->Query("SELECT to_regclass('public.notes')")[0][0].is_null());
}

TEST_F(RegistryVersionsTest, RetentionKeepsLabelledTheAppliedAndTheNewest) {
  ServerOptions options;
  options.keep_registries = 2;
  Start(options);
  MustPublish(kV1, "keep-me");
  // Unlabelled ones: publish with no label.
  auto unlabelled = [&](const std::string& comment) {
    pb::PublishRegistryResponse out;
    grpc::Status s =
        Publish({{"tables.textproto", absl::StrCat("# ", comment, "\n", kV2)}}, {}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.registry().id();
  };
  const std::string a = unlabelled("a");
  pb::InitializeRequest init;
  pb::RegistrySelector by_id;
  by_id.set_fingerprint(a);
  *init.mutable_registry() = by_id;
  pb::InitializeResponse response;
  ASSERT_TRUE(Initialize(init, &response).ok());
  const std::string b = unlabelled("b");
  const std::string c = unlabelled("c");
  const std::string d = unlabelled("d");
  pb::ListRegistriesResponse list;
  ASSERT_TRUE(List({}, &list).ok());
  std::vector<std::string> ids;
  for (const auto& r : list.registries()) ids.push_back(r.id());
  // d, c: the newest two; a: applied last; the labelled one. b is pruned.
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_THAT(ids, ::testing::Not(::testing::Contains(b)));
  EXPECT_THAT(ids, ::testing::Contains(a));
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.registry_files WHERE registry_id NOT IN "
                  "(SELECT id FROM schemad.registries)"),
            0);

  pb::ListRegistriesRequest paged;
  paged.set_page_size(3);
  ASSERT_TRUE(List(paged, &list).ok());
  EXPECT_EQ(list.registries_size(), 3);
  ASSERT_FALSE(list.next_page_token().empty());
  paged.set_page_token(list.next_page_token());
  ASSERT_TRUE(List(paged, &list).ok());
  EXPECT_EQ(list.registries_size(), 1);
  EXPECT_TRUE(list.next_page_token().empty());
}

TEST_F(RegistryVersionsTest, AStreamedPublishCarriesARegistryBeyondOneMessage) {
  Start();
  // ~1.5 MiB of tables: over the 1 MiB limit of one message.
  std::string big;
  for (int i = 0; i < 1500; ++i) {
    absl::StrAppend(&big, "table { name: \"t", i,
                    "\" column { name: \"id\" type: \"bigint\" } comment: \"",
                    std::string(800, 'x'), "\" }\n");
  }
  ASSERT_GT(big.size(), 1u << 20);
  grpc::ClientContext ctx;
  Auth(ctx, kPublisher);
  pb::PublishRegistryResponse out;
  std::unique_ptr<grpc::ClientWriter<pb::PublishRegistryRequest>> writer =
      stub_->PublishRegistryStream(&ctx, &out);
  for (size_t at = 0; at < big.size(); at += 512 << 10) {
    pb::PublishRegistryRequest part;
    pb::RegistryFileContent* f = part.add_files();
    f->set_name("big.textproto");
    f->set_content(big.substr(at, 512 << 10));
    if (at == 0) part.add_labels("big");
    ASSERT_TRUE(writer->Write(part));
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message().substr(0, 500);
  EXPECT_EQ(out.registry().bytes(), big.size());
  EXPECT_THAT(out.registry().labels(), ElementsAre("big"));
  EXPECT_EQ(
      Count("SELECT length(content) FROM schemad.registry_files WHERE name = 'big.textproto'"),
      static_cast<int>(big.size()));

  // A name twice in one message is refused, as by PublishRegistry (it was
  // joined into one file, and errors named lines the caller never sent).
  grpc::ClientContext twice_ctx;
  Auth(twice_ctx, kPublisher);
  pb::PublishRegistryResponse twice_out;
  std::unique_ptr<grpc::ClientWriter<pb::PublishRegistryRequest>> twice =
      stub_->PublishRegistryStream(&twice_ctx, &twice_out);
  pb::PublishRegistryRequest part;
  for (int i = 0; i < 2; ++i) {
    pb::RegistryFileContent* f = part.add_files();
    f->set_name("dup.textproto");
    f->set_content("table { name: \"dup\" column { name: \"id\" type: \"int\" } }\n");
  }
  twice->Write(part);
  twice->WritesDone();
  grpc::Status refused = twice->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      refused.error_message(),
      HasSubstr("message 0: files[1].name: \"dup.textproto\" appears twice in one message"));
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.registry_files WHERE name = 'dup.textproto'"), 0);
}

// A restarted schemad (a new engine) reads the canonical model the last one
// stored instead of canonicalizing again; the model it reads plans exactly
// what a fresh one does; a server or extension change, or a stored model
// that does not match its hash, means canonicalizing again.
TEST_F(RegistryVersionsTest, ARestartedEngineReadsTheStoredCanonicalModel) {
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  Engine first(db_->pool(), *LoadEmbeddedRegistry());
  // Before schemad's schema exists nothing is stored (a read never creates it).
  ASSERT_TRUE(first.Status(deadline).ok());
  EXPECT_EQ(first.canonical_stats().canonicalized.load(), 1);
  EXPECT_FALSE(StoreExists());
  absl::StatusOr<InitializeResult> applied = first.Initialize({.caller = "test"}, deadline);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.canonical"), 1);

  // Drift, so that the plans compared below are not empty.
  db_->Exec("ALTER TABLE users DROP COLUMN full_name; CREATE INDEX extra_ix ON documents (id)");
  Engine restarted(db_->pool(), *LoadEmbeddedRegistry());
  absl::StatusOr<DiffResult> fresh = first.Diff(deadline);
  absl::StatusOr<DiffResult> loaded = restarted.Diff(deadline);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(restarted.canonical_stats().loaded.load(), 1);
  EXPECT_EQ(restarted.canonical_stats().canonicalized.load(), 0);
  EXPECT_EQ(testing::DescribeDifferences(loaded->differences),
            testing::DescribeDifferences(fresh->differences));
  ASSERT_EQ(loaded->plan.steps.size(), fresh->plan.steps.size());
  for (size_t i = 0; i < fresh->plan.steps.size(); ++i) {
    EXPECT_EQ(loaded->plan.steps[i].sql, fresh->plan.steps[i].sql);
  }
  EXPECT_EQ(loaded->fingerprint, fresh->fingerprint);
  EXPECT_GE(loaded->differences.size(), 2u);

  // An extension installed (or upgraded) since: another key.
  db_->Exec("CREATE EXTENSION pg_trgm");
  Engine after_extension(db_->pool(), *LoadEmbeddedRegistry());
  ASSERT_TRUE(after_extension.Prepare(deadline).ok());
  EXPECT_EQ(after_extension.canonical_stats().canonicalized.load(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM schemad.canonical"), 2);

  // A model that does not match its hash is never used.
  db_->Exec("UPDATE schemad.canonical SET model = model || '\\x00'::bytea");
  Engine after_corruption(db_->pool(), *LoadEmbeddedRegistry());
  ASSERT_TRUE(after_corruption.Prepare(deadline).ok());
  EXPECT_EQ(after_corruption.canonical_stats().loaded.load(), 0);
  EXPECT_EQ(after_corruption.canonical_stats().canonicalized.load(), 1);
}

}  // namespace
}  // namespace schemad
