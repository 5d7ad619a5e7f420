#include "service.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.pb.h"
#include "registries.h"
#include "schemad/apply/registry_store.h"
#include "schemad/common/status_macros.h"
#include "schemad/v1/schema_service.grpc.pb.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
constexpr char kServiceName[] = "schemad.v1.SchemaService";
// An absl::Status payload: a serialized pb::RegistryErrors that
// ToGrpcStatus sends as the status's details.
constexpr char kRegistryErrorsPayload[] = "type.schemad.dev/registry-errors";
constexpr size_t kMaxMessageBytes = 4096;

pb::ChangeKind ToProto(Change c) {
  switch (c) {
    case Change::kMissing:
      return pb::MISSING;
    case Change::kExtra:
      return pb::EXTRA;
    case Change::kChanged:
      return pb::CHANGED;
    case Change::kUnmanaged:
      return pb::UNMANAGED;
  }
  return pb::CHANGE_KIND_UNSPECIFIED;
}

pb::HazardKind ToProto(HazardKind k) {
  switch (k) {
    case HazardKind::kDataLoss:
      return pb::DATA_LOSS;
    case HazardKind::kDropsObject:
      return pb::DROPS_OBJECT;
    case HazardKind::kTableRewrite:
      return pb::TABLE_REWRITE;
    case HazardKind::kLongLock:
      return pb::LONG_LOCK;
    case HazardKind::kValidation:
      return pb::VALIDATION;
    case HazardKind::kIndexBuild:
      return pb::INDEX_BUILD;
    case HazardKind::kAuthz:
      return pb::AUTHZ;
    case HazardKind::kCorrectness:
      return pb::CORRECTNESS;
  }
  return pb::HAZARD_KIND_UNSPECIFIED;
}

// The engine's enums mirror the proto's; the values line up where the
// proto's numbering allows it.
static_assert(static_cast<int>(HazardKind::kIndexBuild) + 1 == pb::INDEX_BUILD);
static_assert(static_cast<int>(HazardKind::kAuthz) + 1 == pb::AUTHZ);
static_assert(static_cast<int>(HazardKind::kCorrectness) + 1 == pb::CORRECTNESS);
static_assert(static_cast<int>(HazardKind::kDataLoss) + 1 == pb::DATA_LOSS);

pb::ApplyMode ToProto(ApplyMode m) {
  switch (m) {
    case ApplyMode::kTransactional:
      return pb::APPLY_MODE_TRANSACTIONAL;
    case ApplyMode::kOnline:
      return pb::APPLY_MODE_ONLINE;
  }
  return pb::APPLY_MODE_UNSPECIFIED;
}

pb::LockTaken::Hold ToProto(LockHold h) {
  switch (h) {
    case LockHold::kBrief:
      return pb::LockTaken::BRIEF;
    case LockHold::kScan:
      return pb::LockTaken::SCAN;
    case LockHold::kRewrite:
      return pb::LockTaken::REWRITE;
    case LockHold::kUntilCommit:
      return pb::LockTaken::UNTIL_COMMIT;
  }
  return pb::LockTaken::HOLD_UNSPECIFIED;
}

void ToProto(const Difference& d, pb::Difference* out) {
  out->set_object_type(ObjectKindName(d.kind));
  out->set_name(d.name);
  out->set_change(ToProto(d.change));
  out->set_expected(d.expected);
  out->set_actual(d.actual);
  out->set_detail(d.detail);
}

void ToProto(const PlanStep& s, pb::PlanStep* out) {
  out->set_sql(s.sql);
  out->set_group(s.group);
  out->set_own_transaction(s.own_transaction);
  out->set_phase(static_cast<uint32_t>(s.phase));
  out->set_blocked(s.blocked);
  out->set_transactional(s.transactional);
  for (const LockTaken& l : s.locks) {
    pb::LockTaken* lock = out->add_locks();
    lock->set_relation(l.relation);
    lock->set_mode(LockModeName(l.mode));
    lock->set_held(ToProto(l.hold));
    lock->set_blocks_writes(BlocksWriters(l.mode));
  }
  for (const Hazard& h : s.hazards) {
    pb::Hazard* hazard = out->add_hazards();
    hazard->set_kind(ToProto(h.kind));
    hazard->set_message(h.message);
  }
}

pb::InitializeResponse::Outcome ToProto(Outcome o) {
  switch (o) {
    case Outcome::kApplied:
      return pb::InitializeResponse::APPLIED;
    case Outcome::kAlreadyInSync:
      return pb::InitializeResponse::ALREADY_IN_SYNC;
    case Outcome::kDryRun:
      return pb::InitializeResponse::DRY_RUN;
    case Outcome::kPartial:
      return pb::InitializeResponse::PARTIAL;
    case Outcome::kIncomplete:
      return pb::InitializeResponse::INCOMPLETE;
    case Outcome::kInProgress:
      return pb::InitializeResponse::IN_PROGRESS;
  }
  return pb::InitializeResponse::OUTCOME_UNSPECIFIED;
}

pb::StatusResponse::State ToProto(SyncState s) {
  switch (s) {
    case SyncState::kInSync:
      return pb::StatusResponse::IN_SYNC;
    case SyncState::kPending:
      return pb::StatusResponse::PENDING;
    case SyncState::kDrifted:
      return pb::StatusResponse::DRIFTED;
  }
  return pb::StatusResponse::STATE_UNSPECIFIED;
}

std::string ReadFile(const std::string& path, absl::Status* status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *status = absl::NotFoundError(absl::StrCat("cannot read ", path));
    return "";
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Responses stay under gRPC's default 4 MiB receive limit, which grpcurl
// and grpc-js keep: Diff pages, Initialize bounds its lists.
constexpr uint32_t kDefaultPageSize = 500;
constexpr uint32_t kMaxPageSize = 5000;
constexpr size_t kPageBytes = 3 << 20;
constexpr size_t kInitializeListEntries = 1000;
constexpr size_t kInitializeListBytes = 3 << 20;

// Counts the bytes of the text an item puts in a response (an upper-bound
// estimate: SQL, names, messages, plus a fixed overhead).
class ResponseBudget {
 public:
  explicit ResponseBudget(size_t bytes) : left_(bytes) {}
  bool Fits(const PlanStep& s) {
    size_t n = s.sql.size() + 64;
    for (const Hazard& h : s.hazards) n += h.message.size() + 16;
    return Take(n);
  }
  bool Fits(const Difference& d) {
    return Take(d.name.size() + d.table.size() + d.detail.size() + d.expected.size() +
                d.actual.size() + 64);
  }

 private:
  // The first item always fits, so that every page makes progress.
  bool Take(size_t n) {
    if (n > left_ && taken_) return false;
    left_ = n > left_ ? 0 : left_ - n;
    taken_ = true;
    return true;
  }
  size_t left_;
  bool taken_ = false;
};

// Who calls: the token's role and name (or the mTLS subject), and how
// history and logs describe them.
struct Caller {
  Role role = Role::kReader;
  std::string name;
  std::string description;
};

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

void ToProto(const StoredRegistryInfo& info, pb::RegistryInfo* out) {
  out->set_id(info.id);
  out->set_fingerprint(info.fingerprint);
  for (const std::string& l : info.labels) out->add_labels(l);
  *out->mutable_published_at() = ToTimestamp(info.published_at);
  out->set_publisher(info.publisher);
  out->set_files(static_cast<uint32_t>(info.files));
  out->set_bytes(static_cast<uint64_t>(info.bytes));
  out->set_schema(info.schema);
}

// Page tokens of the listing RPCs: "<prefix><id>", the last id returned.
std::string PageToken(char prefix, int64_t id) { return absl::StrCat(std::string(1, prefix), id); }

absl::StatusOr<int64_t> FromPageToken(const std::string& token, char prefix) {
  int64_t id = 0;
  if (token.empty()) return 0;
  if (token[0] != prefix || !absl::SimpleAtoi(token.substr(1), &id) || id <= 0) {
    return absl::InvalidArgumentError("page_token: not a token this server issued");
  }
  return id;
}

// Most bytes a published registry may hold (PublishRegistryStream), and
// most labels one publish may give.
constexpr size_t kMaxPublishBytes = 64 << 20;
constexpr size_t kMaxPublishLabels = 32;

// The request's mode, the server's default for UNSPECIFIED.
absl::StatusOr<ApplyMode> ModeFromProto(int mode, ApplyMode default_mode) {
  switch (mode) {
    case pb::APPLY_MODE_UNSPECIFIED:
      return default_mode;
    case pb::APPLY_MODE_TRANSACTIONAL:
      return ApplyMode::kTransactional;
    case pb::APPLY_MODE_ONLINE:
      return ApplyMode::kOnline;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "mode: unknown value ", mode, "; known: APPLY_MODE_TRANSACTIONAL, APPLY_MODE_ONLINE"));
  }
}

}  // namespace

absl::StatusOr<InitializeOptions> InitializeOptionsFromProto(const pb::InitializeRequest& request,
                                                             ApplyMode default_mode) {
  InitializeOptions options;
  options.dry_run = request.dry_run();
  options.retry_failed = request.retry_failed();
  options.allow_downgrade = request.allow_downgrade();
  if (request.expected_fingerprint().size() > 128) {
    return absl::InvalidArgumentError("expected_fingerprint: longer than any fingerprint");
  }
  options.expected_fingerprint = request.expected_fingerprint();
  SCHEMAD_RETURN_IF_ERROR(CheckRequestId(request.request_id(), /*optional=*/true));
  options.request_id = request.request_id();
  for (int i = 0; i < request.allow_hazards_size(); ++i) {
    HazardKind kind;
    if (!ParseHazardKind(request.allow_hazards(i), &kind)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allow_hazards[", i, "]: unknown hazard kind \"",
          absl::CHexEscape(request.allow_hazards(i).substr(0, 64)), "\"; known: ", HazardNames()));
    }
    options.allow_hazards.push_back(kind);
  }
  SCHEMAD_ASSIGN_OR_RETURN(options.mode, ModeFromProto(request.mode(), default_mode));
  return options;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (message.size() > kMaxMessageBytes) {
    message = absl::StrCat(message.substr(0, kMaxMessageBytes), "... (truncated)");
  }
  const auto errors = status.GetPayload(kRegistryErrorsPayload);
  if (errors.has_value()) {
    // grpc-status-details-bin: a google.rpc.Status (RpcStatus is its wire
    // twin) with the RegistryErrors as an Any.
    pb::RpcStatus details;
    details.set_code(static_cast<int>(status.code()));
    details.set_message(message);
    google::protobuf::Any* any = details.add_details();
    any->set_type_url("type.googleapis.com/schemad.v1.RegistryErrors");
    any->set_value(std::string(*errors));
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                        details.SerializeAsString());
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

pb::RegistryErrors ParseRegistryErrors(absl::string_view message,
                                       const std::vector<std::string>& files) {
  pb::RegistryErrors out;
  std::vector<absl::string_view> lines = absl::StrSplit(message, '\n');
  // The first line is the summary ("invalid registry ... (N errors):")
  // when more follow.
  if (lines.size() > 1) lines.erase(lines.begin());
  for (absl::string_view line : lines) {
    if (line.empty()) continue;
    pb::RegistryError* e = out.add_errors();
    absl::string_view rest = line;
    // "file:line:column: ", "file: " (a registry file's name, where it
    // appears first).
    size_t best = absl::string_view::npos;
    std::string file;
    for (const std::string& name : files) {
      const size_t at = line.find(absl::StrCat(name, ":"));
      if (at != absl::string_view::npos &&
          (at == 0 || line[at - 1] == '/' || line[at - 1] == ' ') &&
          (best == absl::string_view::npos || at < best ||
           (at == best && name.size() > file.size()))) {
        best = at;
        file = name;
      }
    }
    if (best != absl::string_view::npos) {
      e->set_file(file);
      rest = line.substr(best + file.size() + 1);
      uint32_t n = 0;
      auto number = [&](uint32_t* out_n) {
        size_t i = 0;
        while (i < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[i]))) ++i;
        if (i == 0 || i >= rest.size() || rest[i] != ':' ||
            !absl::SimpleAtoi(rest.substr(0, i), out_n)) {
          return false;
        }
        rest.remove_prefix(i + 1);
        return true;
      };
      if (number(&n)) {
        e->set_line(n);
        if (number(&n)) e->set_column(n);
      }
      rest = absl::StripLeadingAsciiWhitespace(rest);
    }
    // "field.path[2].name: message"
    const size_t colon = rest.find(": ");
    if (colon != absl::string_view::npos && colon > 0) {
      const absl::string_view field = rest.substr(0, colon);
      bool is_path = true;
      for (char c : field) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' &&
            c != '[' && c != ']') {
          is_path = false;
          break;
        }
      }
      if (is_path) {
        e->set_field(std::string(field));
        rest.remove_prefix(colon + 2);
      }
    }
    e->set_message(std::string(rest));
  }
  return out;
}

class RunningServer::Impl final : public pb::SchemaService::Service {
 public:
  Impl(Engine* engine, TokenStore tokens, const ServerOptions& options)
      : engine_(engine),
        tokens_(std::move(tokens)),
        options_(options),
        store_(&engine->database(), options.keep_registries),
        registries_(engine, &store_,
                    {.schema = options.schema,
                     .cache = static_cast<size_t>(std::max(options.registry_cache, 1))}) {}

  void set_health(grpc::HealthCheckServiceInterface* health) { health_ = health; }

  void SetReady(bool ready) {
    if (health_ != nullptr && ready_.exchange(ready ? 1 : 0) != (ready ? 1 : 0)) {
      health_->SetServingStatus(kServiceName, ready);
    }
  }

  grpc::Status Initialize(grpc::ServerContext* context, const pb::InitializeRequest* request,
                          pb::InitializeResponse* response) override {
    return Handle(
        context, "Initialize", Role::kAdmin,
        [&](absl::Time deadline, const Caller& caller) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(InitializeOptions options,
                                   InitializeOptionsFromProto(*request, options_.default_mode));
          options.caller = caller.description;
          options.cancelled = [context] { return context->IsCancelled(); };
          SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<Engine> engine,
                                   Resolve(request->registry(), "registry", deadline));
          SCHEMAD_ASSIGN_OR_RETURN(InitializeResult r, engine->Initialize(options, deadline));
          FillInitializeResponse(r, response);
          response->set_registry_id(engine->registry().id);
          return absl::OkStatus();
        });
  }

  grpc::Status InitializeStream(grpc::ServerContext* context, const pb::InitializeRequest* request,
                                grpc::ServerWriter<pb::InitializeEvent>* writer) override {
    return Handle(
        context, "InitializeStream", Role::kAdmin,
        [&](absl::Time deadline, const Caller& caller) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(InitializeOptions options,
                                   InitializeOptionsFromProto(*request, options_.default_mode));
          options.caller = caller.description;
          options.cancelled = [context] { return context->IsCancelled(); };
          // Writes are serialized; a heartbeat goes out whenever
          // nothing else did for 10 s.
          absl::Mutex mu;
          absl::Time last_write = absl::Now();
          auto write = [&](pb::InitializeEvent& event) {
            absl::MutexLock lock(&mu);
            *event.mutable_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                absl::ToUnixMicros(absl::Now()));
            writer->Write(event);
            last_write = absl::Now();
          };
          options.on_event = [&](const InitializeEvent& e) {
            pb::InitializeEvent event;
            EventToProto(e, &event);
            write(event);
          };
          absl::Notification done;
          std::thread heartbeat([&] {
            const absl::Duration tick = std::min(absl::Seconds(1), options_.stream_heartbeat / 2);
            while (!done.WaitForNotificationWithTimeout(tick)) {
              bool due = false;
              {
                absl::MutexLock lock(&mu);
                due = absl::Now() - last_write >= options_.stream_heartbeat;
              }
              if (due) {
                pb::InitializeEvent event;
                event.mutable_heartbeat();
                write(event);
              }
            }
          });
          absl::StatusOr<std::shared_ptr<Engine>> engine =
              Resolve(request->registry(), "registry", deadline);
          absl::StatusOr<InitializeResult> r =
              engine.ok() ? (*engine)->Initialize(options, deadline)
                          : absl::StatusOr<InitializeResult>(engine.status());
          done.Notify();
          heartbeat.join();
          if (!r.ok()) return r.status();
          pb::InitializeEvent last;
          FillInitializeResponse(*r, last.mutable_result());
          last.mutable_result()->set_registry_id((*engine)->registry().id);
          write(last);
          return absl::OkStatus();
        });
  }

  grpc::Status Status(grpc::ServerContext* context, const pb::StatusRequest* request,
                      pb::StatusResponse* response) override {
    return Handle(
        context, "Status", Role::kReader, [&](absl::Time deadline, const Caller&) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(ApplyMode mode,
                                   ModeFromProto(request->mode(), options_.default_mode));
          SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<Engine> engine,
                                   Resolve(request->registry(), "registry", deadline));
          SCHEMAD_ASSIGN_OR_RETURN(StatusResult r, engine->Status(deadline, mode));
          response->set_registry_id(engine->registry().id);
          SCHEMAD_ASSIGN_OR_RETURN(std::string canonical, engine->CanonicalFingerprint(deadline));
          response->set_canonical_fingerprint(canonical);
          response->set_state(ToProto(r.state));
          response->set_registry_fingerprint(r.registry_fingerprint);
          response->set_fingerprint(r.fingerprint);
          response->set_last_applied_fingerprint(r.last_applied_fingerprint);
          for (const std::string& w : r.warnings) response->add_warnings(w);
          if (r.last_applied_at.has_value()) {
            *response->mutable_last_applied_at() =
                google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                    absl::ToUnixMicros(*r.last_applied_at));
          }
          response->set_missing(r.missing);
          response->set_extra(r.extra);
          response->set_changed(r.changed);
          return absl::OkStatus();
        });
  }

  grpc::Status GetInitializeOutcome(grpc::ServerContext* context,
                                    const pb::GetInitializeOutcomeRequest* request,
                                    pb::GetInitializeOutcomeResponse* response) override {
    return Handle(
        context, "GetInitializeOutcome", Role::kReader,
        [&](absl::Time deadline, const Caller&) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(RequestOutcome r,
                                   engine_->LookupRequest(request->request_id(), deadline));
          if (!r.committed) {
            response->set_outcome(pb::GetInitializeOutcomeResponse::NOT_COMMITTED);
            return absl::OkStatus();
          }
          response->set_outcome(r.complete ? pb::GetInitializeOutcomeResponse::COMMITTED
                                           : pb::GetInitializeOutcomeResponse::PARTIALLY_COMMITTED);
          *response->mutable_finished_at() =
              google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
                  absl::ToUnixMicros(r.finished_at));
          response->set_steps(static_cast<uint32_t>(r.steps));
          response->set_registry_fingerprint(r.registry_fingerprint);
          return absl::OkStatus();
        });
  }

  grpc::Status Diff(grpc::ServerContext* context, const pb::DiffRequest* request,
                    pb::DiffResponse* response) override {
    return Handle(
        context, "Diff", Role::kReader, [&](absl::Time deadline, const Caller&) -> absl::Status {
          const uint32_t page_size = request->page_size() == 0
                                         ? kDefaultPageSize
                                         : std::min(request->page_size(), kMaxPageSize);
          SCHEMAD_ASSIGN_OR_RETURN(ApplyMode mode,
                                   ModeFromProto(request->mode(), options_.default_mode));
          SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<Engine> engine,
                                   Resolve(request->registry(), "registry", deadline));
          DiffResult r;
          if (request->has_from()) {
            SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<Engine> from,
                                     Resolve(request->from(), "from", deadline));
            SCHEMAD_ASSIGN_OR_RETURN(r, DiffRegistries(*from, *engine, mode, deadline));
          } else {
            SCHEMAD_ASSIGN_OR_RETURN(r, engine->Diff(deadline, mode));
          }
          // A page token is "<fingerprint>:<difference offset>:<step offset>".
          size_t diff_at = 0, step_at = 0;
          if (!request->page_token().empty()) {
            const std::vector<std::string> parts = absl::StrSplit(request->page_token(), ':');
            if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &diff_at) ||
                !absl::SimpleAtoi(parts[2], &step_at) || diff_at > r.differences.size() ||
                step_at > r.plan.steps.size()) {
              return absl::InvalidArgumentError("page_token: not a token this server issued");
            }
            if (parts[0] != r.fingerprint) {
              return absl::FailedPreconditionError(
                  "page_token: the schema changed since the first page (its fingerprint moved); "
                  "start again from the first page");
            }
          }
          ResponseBudget budget(kPageBytes);
          size_t d = diff_at;
          for (;
               d < r.differences.size() && d - diff_at < page_size && budget.Fits(r.differences[d]);
               ++d) {
            ToProto(r.differences[d], response->add_differences());
          }
          pb::Plan* plan = response->mutable_plan();
          size_t s = step_at;
          for (; s < r.plan.steps.size() && s - step_at < page_size && budget.Fits(r.plan.steps[s]);
               ++s) {
            ToProto(r.plan.steps[s], plan->add_steps());
          }
          plan->set_fingerprint(r.fingerprint);
          plan->set_schema(r.schema);
          plan->set_mode(ToProto(r.plan.mode));
          plan->set_phases(static_cast<uint32_t>(r.plan.phases));
          if (r.plan.mode == ApplyMode::kOnline) {
            plan->set_lock_timeout_ms(static_cast<uint32_t>(
                absl::ToInt64Milliseconds(engine->options().online_lock_timeout)));
          }
          response->set_total_differences(static_cast<uint32_t>(r.differences.size()));
          response->set_total_steps(static_cast<uint32_t>(r.plan.steps.size()));
          if (d < r.differences.size() || s < r.plan.steps.size()) {
            response->set_next_page_token(absl::StrCat(r.fingerprint, ":", d, ":", s));
          }
          return absl::OkStatus();
        });
  }

  grpc::Status PublishRegistry(grpc::ServerContext* context,
                               const pb::PublishRegistryRequest* request,
                               pb::PublishRegistryResponse* response) override {
    return Handle(
        context, "PublishRegistry", Role::kPublisher,
        [&](absl::Time deadline, const Caller& caller) -> absl::Status {
          std::vector<RegistrySource> files;
          for (const pb::RegistryFileContent& f : request->files()) {
            files.push_back({f.name(), f.content()});
          }
          std::vector<std::string> labels(request->labels().begin(), request->labels().end());
          return Publish(std::move(files), labels, request->move(), caller, deadline, response);
        });
  }

  grpc::Status PublishRegistryStream(grpc::ServerContext* context,
                                     grpc::ServerReader<pb::PublishRegistryRequest>* reader,
                                     pb::PublishRegistryResponse* response) override {
    return Handle(context, "PublishRegistryStream", Role::kPublisher,
                  [&](absl::Time deadline, const Caller& caller) -> absl::Status {
                    std::vector<RegistrySource> files;
                    std::map<std::string, size_t> index;
                    std::vector<std::string> labels;
                    bool move = false;
                    size_t bytes = 0;
                    pb::PublishRegistryRequest part;
                    int message = 0;
                    while (reader->Read(&part)) {
                      // A file continues in a later message, never twice in
                      // one (PublishRegistry refuses that too).
                      std::set<std::string> in_message;
                      for (int i = 0; i < part.files_size(); ++i) {
                        const pb::RegistryFileContent& f = part.files(i);
                        if (!in_message.insert(f.name()).second) {
                          return absl::InvalidArgumentError(absl::StrCat(
                              "message ", message, ": files[", i, "].name: \"",
                              absl::CHexEscape(f.name().substr(0, 128)),
                              "\" appears twice in one message (a file's content continues in "
                              "the next message)"));
                        }
                        bytes += f.content().size();
                        if (bytes > kMaxPublishBytes) {
                          return absl::ResourceExhaustedError(absl::StrCat(
                              "files: more than ", kMaxPublishBytes >> 20, " MiB in all"));
                        }
                        auto [it, added] = index.emplace(f.name(), files.size());
                        if (added) {
                          files.push_back({f.name(), f.content()});
                        } else {
                          files[it->second].content += f.content();
                        }
                      }
                      labels.insert(labels.end(), part.labels().begin(), part.labels().end());
                      move = move || part.move();
                      ++message;
                    }
                    return Publish(std::move(files), labels, move, caller, deadline, response);
                  });
  }

  grpc::Status ListRegistries(grpc::ServerContext* context,
                              const pb::ListRegistriesRequest* request,
                              pb::ListRegistriesResponse* response) override {
    return Handle(context, "ListRegistries", Role::kReader,
                  [&](absl::Time deadline, const Caller&) -> absl::Status {
                    const int size = request->page_size() == 0
                                         ? 100
                                         : static_cast<int>(std::min(request->page_size(), 1000u));
                    SCHEMAD_ASSIGN_OR_RETURN(int64_t before,
                                             FromPageToken(request->page_token(), 'r'));
                    SCHEMAD_ASSIGN_OR_RETURN(std::vector<StoredRegistryInfo> page,
                                             store_.List(size + 1, before, deadline));
                    for (int i = 0; i < static_cast<int>(page.size()) && i < size; ++i) {
                      ToProto(page[i], response->add_registries());
                    }
                    if (static_cast<int>(page.size()) > size) {
                      response->set_next_page_token(PageToken('r', page[size - 1].row));
                    }
                    return absl::OkStatus();
                  });
  }

  grpc::Status GetRegistry(grpc::ServerContext* context, const pb::GetRegistryRequest* request,
                           pb::GetRegistryResponse* response) override {
    return Handle(context, "GetRegistry", Role::kReader,
                  [&](absl::Time deadline, const Caller&) -> absl::Status {
                    SCHEMAD_ASSIGN_OR_RETURN(RegistrySelection selection,
                                             FromProto(request->registry(), "registry"));
                    if (selection.label.empty() && selection.fingerprint.empty()) {
                      selection.label = "@default";
                    }
                    const Registry& served = engine_->registry();
                    if (selection.label == "@default" || selection.fingerprint == served.id ||
                        selection.fingerprint == served.fingerprint) {
                      // The served registry, as it was read.
                      StoredRegistryInfo info;
                      info.id = served.id;
                      info.fingerprint = served.fingerprint;
                      info.schema = served.schema.name;
                      info.publisher = served.origin;
                      info.files = static_cast<int>(served.sources.size());
                      info.labels = {"@default"};
                      for (const RegistrySource& f : served.sources) {
                        info.bytes += static_cast<int64_t>(f.content.size());
                        pb::RegistryFileContent* file = response->add_files();
                        file->set_name(f.path.substr(f.path.rfind('/') + 1));
                        file->set_content(f.content);
                      }
                      ToProto(info, response->mutable_registry());
                      return absl::OkStatus();
                    }
                    SCHEMAD_ASSIGN_OR_RETURN(StoredRegistry r, store_.Find(selection, deadline));
                    ToProto(r.info, response->mutable_registry());
                    for (const RegistrySource& f : r.files) {
                      pb::RegistryFileContent* file = response->add_files();
                      file->set_name(f.path);
                      file->set_content(f.content);
                    }
                    return absl::OkStatus();
                  });
  }

  grpc::Status History(grpc::ServerContext* context, const pb::HistoryRequest* request,
                       pb::HistoryResponse* response) override {
    return Handle(
        context, "History", Role::kReader, [&](absl::Time deadline, const Caller&) -> absl::Status {
          const int size = request->page_size() == 0
                               ? 50
                               : static_cast<int>(std::min(request->page_size(), 1000u));
          SCHEMAD_ASSIGN_OR_RETURN(int64_t before, FromPageToken(request->page_token(), 'h'));
          if (request->id() < 0) return absl::InvalidArgumentError("id: a run's id is positive");
          SCHEMAD_ASSIGN_OR_RETURN(std::vector<HistoryEntry> rows,
                                   store_.History(size + 1, before, request->id(), deadline));
          ResponseBudget budget(kPageBytes);
          for (int i = 0; i < static_cast<int>(rows.size()) && i < size; ++i) {
            const HistoryEntry& h = rows[i];
            pb::HistoryEntry* e = response->add_entries();
            e->set_id(h.id);
            e->set_kind(h.kind);
            *e->mutable_started_at() = ToTimestamp(h.started_at);
            *e->mutable_finished_at() = ToTimestamp(h.finished_at);
            e->set_duration_ms(static_cast<uint32_t>(std::max(h.duration_ms, 0)));
            e->set_caller(h.caller);
            e->set_mode(h.mode == "ONLINE" ? pb::APPLY_MODE_ONLINE : pb::APPLY_MODE_TRANSACTIONAL);
            e->set_state(h.state.substr(0, kMaxMessageBytes));
            e->set_steps_executed(static_cast<uint32_t>(h.steps));
            e->set_registry_fingerprint(h.registry_fingerprint);
            e->set_registry_id(h.registry_id);
            for (const std::string& l : h.registry_labels) e->add_registry_labels(l);
            e->set_from_registry_id(h.from_registry_id);
            e->set_request_id(h.request_id);
            for (const std::string& sql : h.sql) {
              PlanStep step;
              step.sql = sql;
              if (!budget.Fits(step)) break;
              e->add_sql(sql);
            }
          }
          if (request->id() == 0 && static_cast<int>(rows.size()) > size) {
            response->set_next_page_token(PageToken('h', rows[size - 1].id));
          }
          return absl::OkStatus();
        });
  }

  grpc::Status Rollback(grpc::ServerContext* context, const pb::RollbackRequest* request,
                        pb::InitializeResponse* response) override {
    return Handle(
        context, "Rollback", Role::kAdmin,
        [&](absl::Time deadline, const Caller& caller) -> absl::Status {
          if (!request->has_to() ||
              request->to().selector_case() == pb::RegistrySelector::SELECTOR_NOT_SET) {
            return absl::InvalidArgumentError(
                "to: required: the label or fingerprint of the version to return to");
          }
          pb::InitializeRequest as_initialize;
          as_initialize.set_dry_run(request->dry_run());
          *as_initialize.mutable_allow_hazards() = request->allow_hazards();
          as_initialize.set_expected_fingerprint(request->expected_fingerprint());
          as_initialize.set_mode(request->mode());
          as_initialize.set_request_id(request->request_id());
          SCHEMAD_ASSIGN_OR_RETURN(
              InitializeOptions options,
              InitializeOptionsFromProto(as_initialize, options_.default_mode));
          options.rollback = true;
          options.caller = caller.description;
          options.cancelled = [context] { return context->IsCancelled(); };
          SCHEMAD_ASSIGN_OR_RETURN(std::shared_ptr<Engine> engine,
                                   Resolve(request->to(), "to", deadline));
          SCHEMAD_ASSIGN_OR_RETURN(InitializeResult r, engine->Initialize(options, deadline));
          FillInitializeResponse(r, response);
          response->set_registry_id(engine->registry().id);
          response->add_notes(
              "a rollback restores declarations, not data: a table or column it drops loses its "
              "rows, and one it re-creates comes back empty (restore data from a backup)");
          return absl::OkStatus();
        });
  }

 private:
  static absl::StatusOr<RegistrySelection> FromProto(const pb::RegistrySelector& selector,
                                                     const char* field) {
    RegistrySelection out;
    switch (selector.selector_case()) {
      case pb::RegistrySelector::kLabel:
        out.label = selector.label();
        if (out.label.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".label: empty"));
        }
        // A label no registry could carry is a bad request, as in a
        // publish, not an unknown one.
        if (out.label != "@default" && out.label != "@applied") {
          if (absl::Status usable = CheckLabel(out.label); !usable.ok()) {
            return absl::InvalidArgumentError(absl::StrCat(field, ".", usable.message()));
          }
        }
        break;
      case pb::RegistrySelector::kFingerprint:
        out.fingerprint = selector.fingerprint();
        if (out.fingerprint.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".fingerprint: empty"));
        }
        if (out.fingerprint.size() > 128) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".fingerprint: longer than any fingerprint"));
        }
        break;
      case pb::RegistrySelector::SELECTOR_NOT_SET:
        break;
    }
    return out;
  }

  absl::StatusOr<std::shared_ptr<Engine>> Resolve(const pb::RegistrySelector& selector,
                                                  const char* field, absl::Time deadline) {
    SCHEMAD_ASSIGN_OR_RETURN(RegistrySelection selection, FromProto(selector, field));
    absl::StatusOr<std::shared_ptr<Engine>> engine = registries_.Resolve(selection, deadline);
    if (!engine.ok() && engine.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat(field, ": ", engine.status().message()));
    }
    return engine;
  }

  absl::Status Publish(std::vector<RegistrySource> files, const std::vector<std::string>& labels,
                       bool move, const Caller& caller, absl::Time deadline,
                       pb::PublishRegistryResponse* response) {
    // Each label is a lock and a row: a bound keeps one call's work bounded.
    if (labels.size() > kMaxPublishLabels) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels: ", labels.size(), " labels; at most ", kMaxPublishLabels));
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::Status usable = CheckLabel(labels[i]);
      if (!usable.ok()) return Annotate(usable, absl::StrCat("labels[", i, "]"));
    }
    std::vector<std::string> names;
    for (const RegistrySource& f : files) names.push_back(f.path);
    auto with_details = [&](const absl::Status& status) {
      absl::Status out(absl::StatusCode::kInvalidArgument, status.message());
      // Errors come as data (the loader's, and PostgreSQL's at a
      // declaration when canonicalizing); the few with no place recorded
      // (the canonical read-back check) are taken from the message.
      const std::vector<RegistryError> errors = RegistryErrorsOf(status);
      pb::RegistryErrors details;
      if (errors.empty()) details = ParseRegistryErrors(status.message(), names);
      for (const RegistryError& e : errors) {
        pb::RegistryError* d = details.add_errors();
        d->set_file(e.place.file);
        d->set_line(static_cast<uint32_t>(e.place.line));
        d->set_column(static_cast<uint32_t>(e.place.column));
        d->set_field(e.place.field);
        d->set_message(e.message);
      }
      out.SetPayload(kRegistryErrorsPayload, absl::Cord(details.SerializeAsString()));
      return out;
    };
    const std::string id = RegistryFilesId(files);
    absl::StatusOr<Registry> registry =
        registries_.Load(files, absl::StrCat("published ", id.substr(0, 12)));
    if (!registry.ok()) {
      if (registry.status().code() != absl::StatusCode::kInvalidArgument) return registry.status();
      return with_details(registry.status());
    }
    // Canonicalized before it is stored: what PostgreSQL rejects is an
    // error of the registry's, with file and line.
    std::shared_ptr<Engine> engine = registries_.EngineFor(*registry);
    absl::Status prepared = engine->Prepare(deadline);
    if (!prepared.ok()) {
      if (prepared.code() != absl::StatusCode::kFailedPrecondition) return prepared;
      return with_details(prepared);
    }
    const std::string publisher = caller.name.empty() ? caller.description : caller.name;
    SCHEMAD_ASSIGN_OR_RETURN(PublishResult published,
                             store_.Publish(*registry, labels, move, publisher, deadline));
    engine->SaveCanonical(deadline);
    ToProto(published.info, response->mutable_registry());
    SCHEMAD_ASSIGN_OR_RETURN(std::string canonical, engine->CanonicalFingerprint(deadline));
    response->mutable_registry()->set_canonical_fingerprint(canonical);
    response->set_created(published.created);
    return absl::OkStatus();
  }

  static void FillInitializeResponse(const InitializeResult& r, pb::InitializeResponse* response) {
    response->set_outcome(ToProto(r.outcome));
    response->set_mode(ToProto(r.mode));
    response->set_fingerprint(r.fingerprint);
    response->set_executed_count(static_cast<uint32_t>(r.executed.size()));
    response->set_skipped_count(static_cast<uint32_t>(r.skipped.size()));
    response->set_remaining_count(static_cast<uint32_t>(r.remaining.size()));
    response->set_run_id(r.run_id);
    response->set_phases(static_cast<uint32_t>(r.phases));
    response->set_phases_committed(static_cast<uint32_t>(r.phases_committed));
    response->set_failed_phase(static_cast<uint32_t>(r.failed_phase));
    response->set_cause(r.cause.substr(0, kMaxMessageBytes));
    response->set_running_caller(r.running_caller);
    // Bounded: a committed change must never be reported as a failure
    // because its answer was too big to receive.
    ResponseBudget budget(kInitializeListBytes);
    bool truncated = false;
    auto bounded = [&](auto& items, auto add) {
      size_t n = 0;
      for (const auto& item : items) {
        if (n >= kInitializeListEntries || !budget.Fits(item)) {
          truncated = true;
          return;
        }
        add(item);
        ++n;
      }
    };
    bounded(r.executed, [&](const PlanStep& s) { ToProto(s, response->add_executed()); });
    bounded(r.skipped, [&](const PlanStep& s) { ToProto(s, response->add_skipped()); });
    bounded(r.remaining, [&](const Difference& d) { ToProto(d, response->add_remaining()); });
    response->set_truncated(truncated);
  }

  static void EventToProto(const InitializeEvent& e, pb::InitializeEvent* out) {
    switch (e.kind) {
      case InitializeEvent::Kind::kRunStarted: {
        pb::InitializeEvent::RunStarted* m = out->mutable_run_started();
        m->set_run_id(e.run_id);
        m->set_phases(static_cast<uint32_t>(e.phases));
        return;
      }
      case InitializeEvent::Kind::kPhaseStarted: {
        pb::InitializeEvent::PhaseStarted* m = out->mutable_phase_started();
        m->set_phase(static_cast<uint32_t>(e.phase));
        m->set_phases(static_cast<uint32_t>(e.phases));
        for (const std::string& sql : e.statements) m->add_statements(sql);
        return;
      }
      case InitializeEvent::Kind::kLockWait: {
        pb::InitializeEvent::LockWait* m = out->mutable_lock_wait();
        m->set_phase(static_cast<uint32_t>(e.phase));
        for (const std::string& r : e.relations) m->add_relations(r);
        for (int pid : e.blocking_pids) m->add_blocking_pids(pid);
        m->set_attempt(static_cast<uint32_t>(e.attempt));
        m->set_retry_in_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(e.retry_in)));
        return;
      }
      case InitializeEvent::Kind::kIndexProgress: {
        pb::InitializeEvent::IndexProgress* m = out->mutable_index_progress();
        m->set_phase(static_cast<uint32_t>(e.phase));
        m->set_statement(e.index);
        m->set_progress_phase(e.progress_phase);
        m->set_blocks_done(e.blocks_done);
        m->set_blocks_total(e.blocks_total);
        m->set_tuples_done(e.tuples_done);
        m->set_tuples_total(e.tuples_total);
        return;
      }
      case InitializeEvent::Kind::kPhaseFinished: {
        pb::InitializeEvent::PhaseFinished* m = out->mutable_phase_finished();
        m->set_phase(static_cast<uint32_t>(e.phase));
        m->set_phases(static_cast<uint32_t>(e.phases));
        m->set_duration_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(e.duration)));
        m->set_retries(static_cast<uint32_t>(e.retries));
        return;
      }
    }
  }

  template <typename Fn>
  grpc::Status Handle(grpc::ServerContext* context, const char* method, Role needed, Fn&& fn) {
    const absl::Time start = absl::Now();
    std::string authorization;
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    if (it != metadata.end()) authorization.assign(it->second.data(), it->second.size());
    absl::Status status;
    std::string role_name = "-";
    absl::StatusOr<CallerIdentity> role = tokens_.Identify(authorization);
    // A bound on concurrent calls: each holds a thread and may hold a
    // database connection; beyond it, callers back off instead of piling up.
    const bool admitted = in_flight_.fetch_add(1) < options_.max_concurrent_calls;
    absl::Cleanup leave = [this] { in_flight_.fetch_sub(1); };
    if (!admitted) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("schemad is serving ", options_.max_concurrent_calls,
                       " calls at once (--max-concurrent-calls); retry with backoff"));
    } else if (!role.ok()) {
      status = role.status();
    } else {
      role_name = RoleName(role->role);
      if (role->role < needed) {
        status = absl::PermissionDeniedError(absl::StrCat(
            method, " needs the ", needed == Role::kPublisher ? "publisher or admin" : "admin",
            " role; this token's role is ", RoleName(role->role)));
      } else {
        // The caller's deadline bounds the call (an online index build may
        // run for hours); --default-deadline only calls that set none.
        absl::Time deadline = start + options_.default_deadline;
        const auto client_deadline = context->deadline();
        if (client_deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
          deadline = absl::FromChrono(client_deadline);
        }
        Caller caller;
        caller.role = role->role;
        caller.name = role->name;
        if (caller.name.empty() && context->auth_context() != nullptr &&
            context->auth_context()->IsPeerAuthenticated()) {
          // mTLS: the client certificate's subject names the caller.
          for (const grpc::string_ref& id : context->auth_context()->GetPeerIdentity()) {
            caller.name.assign(id.data(), std::min<size_t>(id.size(), 128));
            break;
          }
        }
        caller.description = caller.name.empty()
                                 ? absl::StrCat(context->peer(), " (", RoleName(caller.role), ")")
                                 : absl::StrCat(caller.name, " (", RoleName(caller.role), ", ",
                                                context->peer(), ")");
        status = fn(deadline, caller);
        if (status.code() == absl::StatusCode::kUnavailable) {
          SetReady(false);
        } else if (status.ok()) {
          SetReady(true);
        }
      }
    }
    if (options_.log_requests) {
      std::cerr << absl::StrFormat(
          "schemad: rpc=%s caller=%s role=%s code=%s duration_ms=%.1f%s\n", method, context->peer(),
          role_name, absl::StatusCodeToString(status.code()),
          absl::ToDoubleMilliseconds(absl::Now() - start),
          status.ok() ? ""
                      : absl::StrCat(" error=\"",
                                     std::string(status.message())
                                         .substr(0, std::string(status.message()).find('\n')),
                                     "\""));
    }
    return ToGrpcStatus(status);
  }

  Engine* const engine_;
  const TokenStore tokens_;
  const ServerOptions options_;
  RegistryStore store_;
  Registries registries_;
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::atomic<int> ready_{-1};
  std::atomic<int> in_flight_{0};
};

RunningServer::~RunningServer() { Shutdown(absl::Seconds(1)); }

void RunningServer::Shutdown(absl::Duration grace) {
  if (shut_down_.exchange(true)) return;
  stop_.Notify();
  if (readiness_.joinable()) readiness_.join();
  // A client holding a health Watch stream would keep Shutdown() waiting.
  if (server_ != nullptr) {
    if (server_->GetHealthCheckService() != nullptr) server_->GetHealthCheckService()->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
  }
}

void RunningServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(const ServerOptions& options,
                                                           Engine* engine) {
  SCHEMAD_RETURN_IF_ERROR(ValidateServerOptions(options));
  TokenStore tokens = TokenStore::AllowAll();
  if (!options.tokens_file.empty()) {
    SCHEMAD_ASSIGN_OR_RETURN(tokens, TokenStore::LoadFile(options.tokens_file));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert.empty()) {
    absl::Status read_status;
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back(
        {ReadFile(options.tls_key, &read_status), ReadFile(options.tls_cert, &read_status)});
    if (!options.tls_client_ca.empty()) {
      ssl.pem_root_certs = ReadFile(options.tls_client_ca, &read_status);
      if (read_status.ok() &&
          ssl.pem_root_certs.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--tls-client-ca ", options.tls_client_ca,
                         " holds no PEM certificate: no client could ever be verified"));
      }
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    SCHEMAD_RETURN_IF_ERROR(read_status);
    credentials = grpc::SslServerCredentials(ssl);
  }

  // Health and reflection, switched on in one place. The health messages
  // are linked in so that reflection can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto running = std::unique_ptr<RunningServer>(new RunningServer());
  running->service_ = std::make_unique<RunningServer::Impl>(engine, std::move(tokens), options);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &running->port_);
  builder.RegisterService(running->service_.get());
  builder.SetMaxReceiveMessageSize(1 << 20);
  // One thread per call in the sync server: bound them, with room above
  // max_concurrent_calls for health checks and reflection.
  grpc::ResourceQuota quota("schemad");
  quota.SetMaxThreads(options.max_concurrent_calls + 32);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  // Idle connections are closed after 10 minutes.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 10 * 60 * 1000);
  running->server_ = builder.BuildAndStart();
  if (running->server_ == nullptr || running->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  grpc::HealthCheckServiceInterface* health = running->server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, false);
  running->service_->set_health(health);

  // Readiness follows the database and the registry: the registry is
  // canonicalized at once (not on a caller's first RPC) and, when the
  // database rejects it, retried every interval, so that fixing the
  // database needs no restart.
  RunningServer* raw = running.get();
  running->readiness_ = std::thread([raw, engine, interval = options.readiness_interval]() {
    std::string last_error;
    do {
      // Bounded so that a SIGTERM drain (which joins this thread) stays
      // within its documented time.
      absl::Status ready = engine->Prepare(absl::Now() + absl::Seconds(10));
      if (ready.ok()) {
        ready = engine->database().Ping(absl::Now() + absl::Seconds(1));
      } else if (std::string(ready.message()) != last_error) {
        last_error = std::string(ready.message());
        std::cerr << "schemad: the registry is not ready (retrying every "
                  << absl::FormatDuration(interval) << "): " << last_error << "\n";
      }
      raw->service_->SetReady(ready.ok());
    } while (!raw->stop_.WaitForNotificationWithTimeout(interval));
  });
  return running;
}

}  // namespace schemad
