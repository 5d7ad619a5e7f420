#include "service.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include <grpcpp/resource_quota.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.pb.h"
#include "schemad/common/status_macros.h"
#include "schemad/v1/schema_service.grpc.pb.h"

namespace schemad {
namespace {

namespace pb = ::schemad::v1;
constexpr char kServiceName[] = "schemad.v1.SchemaService";
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
  if (request.expected_fingerprint().size() > 128) {
    return absl::InvalidArgumentError("expected_fingerprint: longer than any fingerprint");
  }
  options.expected_fingerprint = request.expected_fingerprint();
  if (request.request_id().size() > 64) {
    return absl::InvalidArgumentError("request_id: at most 64 characters");
  }
  options.request_id = request.request_id();
  for (int i = 0; i < request.allow_hazards_size(); ++i) {
    HazardKind kind;
    if (!ParseHazardKind(request.allow_hazards(i), &kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("allow_hazards[", i, "]: unknown hazard kind \"",
                       request.allow_hazards(i).substr(0, 64), "\"; known: ", HazardNames()));
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
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message);
}

class RunningServer::Impl final : public pb::SchemaService::Service {
 public:
  Impl(Engine* engine, TokenStore tokens, const ServerOptions& options)
      : engine_(engine), tokens_(std::move(tokens)), options_(options) {}

  void set_health(grpc::HealthCheckServiceInterface* health) { health_ = health; }

  void SetReady(bool ready) {
    if (health_ != nullptr && ready_.exchange(ready ? 1 : 0) != (ready ? 1 : 0)) {
      health_->SetServingStatus(kServiceName, ready);
    }
  }

  grpc::Status Initialize(grpc::ServerContext* context, const pb::InitializeRequest* request,
                          pb::InitializeResponse* response) override {
    return Handle(
        context, "Initialize", Role::kAdmin, [&](absl::Time deadline, Role role) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(InitializeOptions options,
                                   InitializeOptionsFromProto(*request, options_.default_mode));
          options.caller = absl::StrCat(context->peer(), " (", RoleName(role), ")");
          options.cancelled = [context] { return context->IsCancelled(); };
          SCHEMAD_ASSIGN_OR_RETURN(InitializeResult r, engine_->Initialize(options, deadline));
          FillInitializeResponse(r, response);
          return absl::OkStatus();
        });
  }

  grpc::Status InitializeStream(grpc::ServerContext* context, const pb::InitializeRequest* request,
                                grpc::ServerWriter<pb::InitializeEvent>* writer) override {
    return Handle(
        context, "InitializeStream", Role::kAdmin,
        [&](absl::Time deadline, Role role) -> absl::Status {
          SCHEMAD_ASSIGN_OR_RETURN(InitializeOptions options,
                                   InitializeOptionsFromProto(*request, options_.default_mode));
          options.caller = absl::StrCat(context->peer(), " (", RoleName(role), ")");
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
          absl::StatusOr<InitializeResult> r = engine_->Initialize(options, deadline);
          done.Notify();
          heartbeat.join();
          if (!r.ok()) return r.status();
          pb::InitializeEvent last;
          FillInitializeResponse(*r, last.mutable_result());
          write(last);
          return absl::OkStatus();
        });
  }

  grpc::Status Status(grpc::ServerContext* context, const pb::StatusRequest* request,
                      pb::StatusResponse* response) override {
    return Handle(context, "Status", Role::kReader, [&](absl::Time deadline, Role) -> absl::Status {
      SCHEMAD_ASSIGN_OR_RETURN(ApplyMode mode,
                               ModeFromProto(request->mode(), options_.default_mode));
      SCHEMAD_ASSIGN_OR_RETURN(StatusResult r, engine_->Status(deadline, mode));
      response->set_state(ToProto(r.state));
      response->set_registry_fingerprint(r.registry_fingerprint);
      response->set_fingerprint(r.fingerprint);
      response->set_last_applied_fingerprint(r.last_applied_fingerprint);
      for (const std::string& w : r.warnings) response->add_warnings(w);
      if (r.last_applied_at.has_value()) {
        *response->mutable_last_applied_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
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
    return Handle(context, "GetInitializeOutcome", Role::kReader,
                  [&](absl::Time deadline, Role) -> absl::Status {
                    SCHEMAD_ASSIGN_OR_RETURN(
                        RequestOutcome r, engine_->LookupRequest(request->request_id(), deadline));
                    if (!r.committed) {
                      response->set_outcome(pb::GetInitializeOutcomeResponse::NOT_COMMITTED);
                      return absl::OkStatus();
                    }
                    response->set_outcome(
                        r.complete ? pb::GetInitializeOutcomeResponse::COMMITTED
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
    return Handle(context, "Diff", Role::kReader, [&](absl::Time deadline, Role) -> absl::Status {
      const uint32_t page_size =
          request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
      SCHEMAD_ASSIGN_OR_RETURN(ApplyMode mode,
                               ModeFromProto(request->mode(), options_.default_mode));
      SCHEMAD_ASSIGN_OR_RETURN(DiffResult r, engine_->Diff(deadline, mode));
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
      for (; d < r.differences.size() && d - diff_at < page_size && budget.Fits(r.differences[d]);
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
            absl::ToInt64Milliseconds(engine_->options().online_lock_timeout)));
      }
      response->set_total_differences(static_cast<uint32_t>(r.differences.size()));
      response->set_total_steps(static_cast<uint32_t>(r.plan.steps.size()));
      if (d < r.differences.size() || s < r.plan.steps.size()) {
        response->set_next_page_token(absl::StrCat(r.fingerprint, ":", d, ":", s));
      }
      return absl::OkStatus();
    });
  }

 private:
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
    absl::StatusOr<Role> role = tokens_.Authenticate(authorization);
    // A bound on concurrent calls: each holds a thread and may hold a
    // database connection; beyond it, callers back off instead of piling up.
    const bool admitted = in_flight_.fetch_add(1) < options_.max_concurrent_calls;
    absl::Cleanup leave = [this] { in_flight_.fetch_sub(1); };
    if (!admitted) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          "schemad is serving ", options_.max_concurrent_calls,
          " calls at once (--max-concurrent-calls); retry with backoff"));
    } else if (!role.ok()) {
      status = role.status();
    } else {
      role_name = RoleName(*role);
      if (needed == Role::kAdmin && *role != Role::kAdmin) {
        status = absl::PermissionDeniedError(
            absl::StrCat(method, " needs the admin role; this token's role is reader"));
      } else {
        // The caller's deadline bounds the call (an online index build may
        // run for hours); --default-deadline only calls that set none.
        absl::Time deadline = start + options_.default_deadline;
        const auto client_deadline = context->deadline();
        if (client_deadline < std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
          deadline = absl::FromChrono(client_deadline);
        }
        status = fn(deadline, *role);
        if (status.code() == absl::StatusCode::kUnavailable) {
          SetReady(false);
        } else if (status.ok()) {
          SetReady(true);
        }
      }
    }
    if (options_.log_requests) {
      std::cerr << absl::StrFormat("schemad: rpc=%s caller=%s role=%s code=%s duration_ms=%.1f%s\n",
                                   method, context->peer(), role_name,
                                   absl::StatusCodeToString(status.code()),
                                   absl::ToDoubleMilliseconds(absl::Now() - start),
                                   status.ok() ? "" : absl::StrCat(" error=\"",
                                       std::string(status.message()).substr(
                                           0, std::string(status.message()).find('\n')), "\""));
    }
    return ToGrpcStatus(status);
  }

  Engine* const engine_;
  const TokenStore tokens_;
  const ServerOptions options_;
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
        return absl::InvalidArgumentError(absl::StrCat(
            "--tls-client-ca ", options.tls_client_ca,
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
