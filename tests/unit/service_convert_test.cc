// The service's request conversion (InitializeOptionsFromProto) and its one
// status conversion (ToGrpcStatus), without a server.
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(InitializeOptionsFromProtoTest, EveryFieldReachesTheEngine) {
  pb::InitializeRequest request;
  request.set_dry_run(true);
  request.set_retry_failed(true);
  request.set_allow_downgrade(true);
  request.set_expected_fingerprint("abc123");
  request.set_request_id("deploy-42");
  request.add_allow_hazards("LONG_LOCK");
  request.add_allow_hazards("INDEX_BUILD");
  request.set_mode(pb::APPLY_MODE_ONLINE);
  absl::StatusOr<InitializeOptions> options =
      InitializeOptionsFromProto(request, ApplyMode::kTransactional);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->dry_run);
  EXPECT_TRUE(options->retry_failed);
  EXPECT_TRUE(options->allow_downgrade);
  EXPECT_EQ(options->expected_fingerprint, "abc123");
  EXPECT_EQ(options->request_id, "deploy-42");
  EXPECT_THAT(options->allow_hazards, ElementsAre(HazardKind::kLongLock, HazardKind::kIndexBuild));
  EXPECT_EQ(options->mode, ApplyMode::kOnline);
}

TEST(InitializeOptionsFromProtoTest, AnUnspecifiedModeIsTheServersDefault) {
  pb::InitializeRequest request;
  for (ApplyMode mode : {ApplyMode::kTransactional, ApplyMode::kOnline}) {
    absl::StatusOr<InitializeOptions> options = InitializeOptionsFromProto(request, mode);
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->mode, mode);
    EXPECT_FALSE(options->dry_run);
    EXPECT_TRUE(options->allow_hazards.empty());
  }
  request.set_mode(pb::APPLY_MODE_TRANSACTIONAL);
  absl::StatusOr<InitializeOptions> options =
      InitializeOptionsFromProto(request, ApplyMode::kOnline);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->mode, ApplyMode::kTransactional);
}

TEST(InitializeOptionsFromProtoTest, BadFieldsAreRefusedByName) {
  struct Case {
    const char* name;
    void (*set)(pb::InitializeRequest*);
    const char* field;
  };
  const Case cases[] = {
      {"unknown hazard",
       [](pb::InitializeRequest* r) {
         r->add_allow_hazards("LONG_LOCK");
         r->add_allow_hazards("LONG_LOCKS");
       },
       "allow_hazards[1]: unknown hazard kind \"LONG_LOCKS\"; known: "},
      {"unknown mode", [](pb::InitializeRequest* r) { r->set_mode(static_cast<pb::ApplyMode>(7)); },
       "mode: unknown value 7"},
      {"long request id", [](pb::InitializeRequest* r) { r->set_request_id(std::string(65, 'r')); },
       "request_id"},
      {"request id with a NUL byte",
       [](pb::InitializeRequest* r) { r->set_request_id(std::string("a\0b", 3)); },
       "request_id: printable characters only"},
      {"hazard with a NUL byte and a line break",
       [](pb::InitializeRequest* r) { r->add_allow_hazards(std::string("X\0\nY", 4)); },
       "allow_hazards[0]: unknown hazard kind \"X\\x00\\nY\""},
      {"long fingerprint",
       [](pb::InitializeRequest* r) { r->set_expected_fingerprint(std::string(129, 'f')); },
       "expected_fingerprint"},
  };
  for (const Case& c : cases) {
    pb::InitializeRequest request;
    c.set(&request);
    absl::StatusOr<InitializeOptions> options =
        InitializeOptionsFromProto(request, ApplyMode::kTransactional);
    ASSERT_FALSE(options.ok()) << c.name;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(options.status().message()), HasSubstr(c.field)) << c.name;
  }
}

TEST(ToGrpcStatusTest, KeepsTheCodeAndCapsTheMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status refused = ToGrpcStatus(absl::FailedPreconditionError("stale fingerprint"));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message(), "stale fingerprint");
  const grpc::Status huge = ToGrpcStatus(absl::InternalError(std::string(100000, 'x')));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_LT(huge.error_message().size(), 5000u);
  EXPECT_THAT(huge.error_message(), HasSubstr("(truncated)"));
}

}  // namespace
}  // namespace schemad
