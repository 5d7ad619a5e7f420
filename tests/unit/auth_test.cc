// TokenStore (bearer tokens) and the server's listen-address safety checks.
#include "auth.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "options.h"

namespace schemad {
namespace {

using ::testing::HasSubstr;

// --- TokenStore::Parse ---------------------------------------------------------

TEST(TokenStoreTest, ParsesTokensIgnoringCommentsAndBlankLines) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(# schemad tokens
admin  s3cret-admin-token

  # readers, indented comment
	reader	reader-token-0001
)");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_TRUE(tokens->enabled());

  absl::StatusOr<Role> admin = tokens->Authenticate("Bearer s3cret-admin-token");
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(*admin, Role::kAdmin);

  absl::StatusOr<Role> reader = tokens->Authenticate("Bearer reader-token-0001");
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*reader, Role::kReader);
}

TEST(TokenStoreTest, ReportsUnknownRoleWithFileAndLine) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("/etc/schemad/tokens", R"(# first line
admin  s3cret-admin-token
writer writer-token-0001
)");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()),
            "/etc/schemad/tokens:3: unknown role \"writer\" (roles: reader, publisher, admin)");
}

TEST(TokenStoreTest, ReportsLineWithoutTokenAsMalformed) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(admin s3cret-admin-token
reader
)");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()),
            "tokens:2: expected `ROLE TOKEN [NAME]` (roles: reader, publisher, admin)");
}

TEST(TokenStoreTest, ReportsLineWithFourFieldsAsMalformed) {
  absl::StatusOr<TokenStore> tokens =
      TokenStore::Parse("tokens", "admin s3cret-admin-token deploy-bot extra\n");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()),
            "tokens:1: expected `ROLE TOKEN [NAME]` (roles: reader, publisher, admin)");
}

TEST(TokenStoreTest, NamesAndThePublisherRoleAreRead) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(admin s3cret-admin-token
publisher ci-publisher-token github-actions
reader reader-token-0001 grafana
)");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  absl::StatusOr<CallerIdentity> admin = tokens->Identify("Bearer s3cret-admin-token");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_EQ(admin->name, "");
  absl::StatusOr<CallerIdentity> publisher = tokens->Identify("Bearer ci-publisher-token");
  ASSERT_TRUE(publisher.ok());
  EXPECT_EQ(publisher->role, Role::kPublisher);
  EXPECT_EQ(publisher->name, "github-actions");
  EXPECT_STREQ(RoleName(publisher->role), "publisher");
  absl::StatusOr<CallerIdentity> reader = tokens->Identify("Bearer reader-token-0001");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->name, "grafana");

  absl::StatusOr<TokenStore> bad = TokenStore::Parse("tokens", "reader reader-token-0001 a;b\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            "tokens:1: NAME may hold letters, digits and . _ - @ / : only");
}

TEST(TokenStoreTest, ReportsShortToken) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", "admin short\n");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()), "tokens:1: token is shorter than 8 characters");
}

TEST(TokenStoreTest, ReportsDuplicateTokenWithFileAndLine) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(admin  shared-token-0001
reader shared-token-0001
)");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()), "tokens:2: duplicate token");
}

TEST(TokenStoreTest, ReportsEmptyFile) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", "");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()), "tokens: no tokens");
}

TEST(TokenStoreTest, ReportsFileOfOnlyCommentsAsEmpty) {
  absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(# nobody yet

)");
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(tokens.status().message()), "tokens: no tokens");
}

TEST(TokenStoreTest, LoadFileOfMissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "/schemad-auth-test-no-such-tokens";
  absl::StatusOr<TokenStore> tokens = TokenStore::LoadFile(path);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tokens.status().message()), HasSubstr(path));
}

// --- TokenStore::Authenticate ------------------------------------------------------

class AuthenticateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TokenStore> tokens = TokenStore::Parse("tokens", R"(admin  s3cret-admin-token
reader reader-token-0001
)");
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
  }

  TokenStore tokens_;
};

TEST_F(AuthenticateTest, RejectsMissingAuthorization) {
  absl::StatusOr<Role> role = tokens_.Authenticate("");
  ASSERT_FALSE(role.ok());
  EXPECT_EQ(role.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticateTest, RejectsBasicScheme) {
  absl::StatusOr<Role> role = tokens_.Authenticate("Basic x");
  ASSERT_FALSE(role.ok());
  EXPECT_EQ(role.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthenticateTest, RejectsBearerWithoutToken) {
  for (const char* authorization : {"Bearer", "Bearer ", "Bearer    "}) {
    SCOPED_TRACE(authorization);
    absl::StatusOr<Role> role = tokens_.Authenticate(authorization);
    ASSERT_FALSE(role.ok());
    EXPECT_EQ(role.status().code(), absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(AuthenticateTest, RejectsUnknownToken) {
  for (const char* authorization :
       {"Bearer not-a-known-token", "Bearer s3cret-admin", "Bearer s3cret-admin-token-and-more"}) {
    SCOPED_TRACE(authorization);
    absl::StatusOr<Role> role = tokens_.Authenticate(authorization);
    ASSERT_FALSE(role.ok());
    EXPECT_EQ(role.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(std::string(role.status().message()), "unknown token");
  }
}

TEST_F(AuthenticateTest, GivesAdminTokenTheAdminRole) {
  absl::StatusOr<Role> role = tokens_.Authenticate("Bearer s3cret-admin-token");
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(*role, Role::kAdmin);
}

TEST_F(AuthenticateTest, GivesReaderTokenTheReaderRole) {
  absl::StatusOr<Role> role = tokens_.Authenticate("Bearer reader-token-0001");
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(*role, Role::kReader);
}

TEST(TokenStoreTest, AllowAllMakesEveryCallerAdmin) {
  const TokenStore tokens = TokenStore::AllowAll();
  EXPECT_FALSE(tokens.enabled());
  for (const char* authorization : {"", "Basic x", "Bearer anything-at-all"}) {
    SCOPED_TRACE(authorization);
    absl::StatusOr<Role> role = tokens.Authenticate(authorization);
    ASSERT_TRUE(role.ok()) << role.status();
    EXPECT_EQ(*role, Role::kAdmin);
  }
}

// --- Listen address ----------------------------------------------------------------

TEST(ServerOptionsTest, TreatsLoopbackAndUnixSocketsAsLoopback) {
  for (const char* listen : {"127.0.0.1:50051", "localhost:1", "[::1]:5", "unix:/tmp/x"}) {
    SCOPED_TRACE(listen);
    EXPECT_TRUE(IsLoopbackAddress(listen));
  }
}

TEST(ServerOptionsTest, TreatsOtherAddressesAsRemote) {
  for (const char* listen : {"0.0.0.0:50051", "10.1.2.3:1", "[::]:50051"}) {
    SCOPED_TRACE(listen);
    EXPECT_FALSE(IsLoopbackAddress(listen));
  }
}

TEST(ServerOptionsTest, AcceptsLoopbackWithoutTokens) {
  EXPECT_TRUE(ValidateServerOptions(ServerOptions{.listen = "127.0.0.1:50051"}).ok());
}

TEST(ServerOptionsTest, RefusesRemoteListenWithoutTokens) {
  const absl::Status status = ValidateServerOptions(ServerOptions{.listen = "0.0.0.0:50051"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("0.0.0.0:50051"));
}

TEST(ServerOptionsTest, AcceptsRemoteListenWithTokensFile) {
  const absl::Status status = ValidateServerOptions(
      ServerOptions{.listen = "0.0.0.0:50051", .tokens_file = "/run/secrets/tokens"});
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ServerOptionsTest, AcceptsRemoteListenWhenUnauthenticatedRemoteIsAllowed) {
  const absl::Status status = ValidateServerOptions(
      ServerOptions{.listen = "0.0.0.0:50051", .allow_unauthenticated_remote = true});
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ServerOptionsTest, RefusesTlsCertificateWithoutKey) {
  const absl::Status status = ValidateServerOptions(
      ServerOptions{.listen = "127.0.0.1:50051", .tls_cert = "/run/secrets/cert.pem"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace schemad
