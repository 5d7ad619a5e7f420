// schemactl: the command-line client of schemad.
//
//   schemactl [--server ADDR] [--token T] [--format text|json] [--timeout D]
//             [--tls-ca F] [--tls-cert F] [--tls-key F] COMMAND [flags]
//
// Exit codes (also in --help and the README):
//   0 success    1 client-side error    2 bad usage
//   3 status --check: PENDING           4 status --check: DRIFTED, or initialize PARTIAL
//   5 refused by the server (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT,
//     FAILED_PRECONDITION)
//   6 unreachable (UNAVAILABLE, deadline or --wait expired, health not SERVING)
//   7 failed on the server (ABORTED, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED from a
//     statement timeout, INTERNAL): nothing was applied
//   8 initialize INCOMPLETE (online: phases committed, then one failed)
//   9 initialize IN_PROGRESS (another caller's online run holds the schema)
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "render.h"
#include "schemad/v1/schema_service.grpc.pb.h"

namespace schemad::client {
namespace {

enum ExitCode {
  kOk = 0,
  kClientError = 1,
  kUsage = 2,
  kPending = 3,
  kDrifted = 4,
  kRefused = 5,
  kUnreachable = 6,
  kServerFailed = 7,
  kIncomplete = 8,
  kInProgress = 9,
  kNotFound = 10,
};

constexpr char kHelp[] = R"(schemactl: client of schemad, the PostgreSQL schema service.

Usage: schemactl [global flags] COMMAND [command flags]

Commands:
  initialize [--online] [--dry-run] [--allow-hazards KIND,...] [--expect-fingerprint F]
             [--wait DURATION] [--retry-failed]
        Bring the database to the registry. By default only hazard-free steps run;
        --allow-hazards names the hazard kinds accepted (@HAZARDS@; with or
        without the HAZARD_KIND_ prefix). --online changes tables in use without
        blocking their writers, phase by phase, with live progress on stderr.
        --wait 60s retries until the server and its database are reachable.
        --retry-failed retries online steps held back since existing rows failed them.
  status [--online] [--check]
        IN_SYNC / PENDING / DRIFTED. With --check, the exit code is the verdict (CI gate).
  diff [--online] [--sql]
        Every difference and the ordered plan with hazards; --sql prints the plan as a
        reviewable SQL script, hazards as comments (--online: phase by phase).
  --online is --mode online; --mode transactional|online overrides the server's
  --default-mode.
  status, diff and initialize take --registry-version L: a published registry's label
  (a git SHA, "prod", "@applied", "@default") or fingerprint instead of the served one.
  initialize --allow-downgrade applies a version published before the one applied last.
  diff --from L1 --to L2 [--exit-code]
        What changes from registry version L1 to L2 (no database schema is read): a pull
        request's lint. --exit-code: 0 no change, 3 changes all hazard-free, 4 changes
        with hazards or blocked steps (like status --check).
  publish DIR --label L[,L...] [--move]
        Validate, canonicalize and store the registry in DIR (*.textproto, *.json, *.sql)
        under its labels (immutable; --move moves environment labels such as prod).
  registries    Published registries, newest first.
  history [--limit N] | history show ID
        Initialize and rollback runs, newest first; `show ID` with the SQL that ran.
  rollback --to L [--dry-run] [--allow-hazards KIND,...] [--online]
        Bring the database to registry version L. Objects L lacks are dropped only with
        the hazards accepted (DATA_LOSS, DROPS_OBJECT); otherwise PARTIAL (exit 4).
        Declarations come back, data does not: a re-created column is empty.
  health [--service NAME]
        gRPC health check; default service schemad.v1.SchemaService (readiness: the
        database is reachable); --service '' for liveness.

Global flags (environment in brackets):
  --server ADDR         schemad address [SCHEMAD_ADDR], default 127.0.0.1:50051
  --token T             bearer token [SCHEMAD_TOKEN]
  --format text|json    output; json is the response in Protobuf's JSON mapping
  --timeout DURATION    per-call deadline, default 30s (initialize: 10m)
  --tls-ca F            PEM CA to verify the server (enables TLS)
  --tls-cert F, --tls-key F   client certificate for mutual TLS

Exit codes:
  0 success (initialize APPLIED, ALREADY_IN_SYNC or DRY_RUN; status --check IN_SYNC;
    status, diff and health when the call succeeded and, for health, SERVING)
  1 unexpected client-side error
  2 bad usage (an unknown hazard kind included)
  3 status --check found PENDING
  4 status --check found DRIFTED, or initialize ended PARTIAL
  5 refused by the server: UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT,
    FAILED_PRECONDITION
  6 unreachable: UNAVAILABLE, the deadline or --wait expired before an answer,
    health not SERVING
  7 failed on the server: ABORTED (e.g. lock timeout), RESOURCE_EXHAUSTED,
    DEADLINE_EXCEEDED from a statement timeout, INTERNAL: nothing was applied
  8 initialize ended INCOMPLETE: an online run committed phases, then one failed or
    was cancelled; the next initialize finishes it
  9 initialize found another caller's online run in progress (IN_PROGRESS): nothing
    was done by this call; an API pod's start-up may treat it as success
  10 NOT_FOUND: no published registry has that label or fingerprint
)";

// The hazard kinds, from the proto (one vocabulary): "DATA_LOSS", ...
std::vector<std::string> HazardKindNames() {
  std::vector<std::string> out;
  const google::protobuf::EnumDescriptor* kinds = v1::HazardKind_descriptor();
  for (int i = 0; i < kinds->value_count(); ++i) {
    if (kinds->value(i)->number() != 0) out.push_back(kinds->value(i)->name());
  }
  return out;
}

struct UsageError {
  std::string message;
};

struct Args {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string format = "text";
  absl::Duration timeout = absl::ZeroDuration();  // zero: the command's default
  std::string tls_ca, tls_cert, tls_key;
  std::string command;
  bool dry_run = false;
  std::vector<std::string> allow_hazards;
  std::string expect_fingerprint;
  absl::Duration wait = absl::ZeroDuration();
  bool check = false;
  bool sql = false;
  bool retry_failed = false;
  v1::ApplyMode mode = v1::APPLY_MODE_UNSPECIFIED;
  std::string service = "schemad.v1.SchemaService";
  // Arguments after the command: publish DIR, history show ID.
  std::vector<std::string> positional;
  std::vector<std::string> labels;
  bool move = false;
  std::string registry_version, from, to;
  bool exit_code = false;
  bool allow_downgrade = false;
  int limit = 0;
};

// A registry version as the server takes it: a fingerprint or files id (32
// lowercase hex digits), otherwise a label.
v1::RegistrySelector Selector(const std::string& version) {
  v1::RegistrySelector s;
  bool hex = version.size() == 32;
  for (char c : version) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (hex) {
    s.set_fingerprint(version);
  } else {
    s.set_label(version);
  }
  return s;
}

absl::Duration ParseDurationFlag(const std::string& name, const std::string& value) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration()) {
    throw UsageError{
        absl::StrCat("--", name, ": \"", value, "\" is not a duration (e.g. 30s, 10m)")};
  }
  return d;
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  if (const char* v = std::getenv("SCHEMAD_ADDR"); v != nullptr && *v) a.server = v;
  if (const char* v = std::getenv("SCHEMAD_TOKEN"); v != nullptr) a.token = v;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help" || arg == "help") {
      std::cout << absl::StrReplaceAll(kHelp,
                                       {{"@HAZARDS@", absl::StrJoin(HazardKindNames(), ", ")}});
      std::exit(kOk);
    }
    if (!absl::StartsWith(arg, "--")) {
      if (a.command.empty()) {
        a.command = arg;
      } else if ((a.command == "publish" || a.command == "history") && a.positional.size() < 2) {
        a.positional.push_back(arg);
      } else {
        throw UsageError{absl::StrCat("unexpected argument \"", arg, "\"")};
      }
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) throw UsageError{absl::StrCat("--", name, " needs a value")};
      return args[++i];
    };
    auto flag = [&]() -> bool {
      if (!has_value) return true;
      if (value == "true" || value == "1") return true;
      if (value == "false" || value == "0") return false;
      throw UsageError{absl::StrCat("--", name, " takes no value (or true/false)")};
    };
    if (name == "server") {
      a.server = take();
    } else if (name == "token") {
      a.token = take();
    } else if (name == "format") {
      a.format = take();
      if (a.format != "text" && a.format != "json") {
        throw UsageError{"--format must be text or json"};
      }
    } else if (name == "timeout") {
      a.timeout = ParseDurationFlag(name, take());
      if (a.timeout == absl::ZeroDuration()) throw UsageError{"--timeout must be positive"};
    } else if (name == "tls-ca") {
      a.tls_ca = take();
    } else if (name == "tls-cert") {
      a.tls_cert = take();
    } else if (name == "tls-key") {
      a.tls_key = take();
    } else if (name == "dry-run") {
      a.dry_run = flag();
    } else if (name == "allow-hazards") {
      for (absl::string_view kind : absl::StrSplit(take(), ',', absl::SkipWhitespace())) {
        std::string k = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(kind));
        std::string bare = absl::StartsWith(k, "HAZARD_KIND_") ? k.substr(12) : k;
        v1::HazardKind parsed;
        if (!v1::HazardKind_Parse(bare, &parsed) || parsed == v1::HAZARD_KIND_UNSPECIFIED) {
          throw UsageError{absl::StrCat("--allow-hazards: unknown hazard kind \"", kind,
                                        "\" (known: ", absl::StrJoin(HazardKindNames(), ", "),
                                        ")")};
        }
        a.allow_hazards.push_back(bare);
      }
    } else if (name == "expect-fingerprint") {
      a.expect_fingerprint = take();
    } else if (name == "wait") {
      a.wait = ParseDurationFlag(name, take());
    } else if (name == "retry-failed") {
      a.retry_failed = flag();
    } else if (name == "online") {
      if (flag()) a.mode = v1::APPLY_MODE_ONLINE;
    } else if (name == "mode") {
      const std::string mode = absl::AsciiStrToLower(take());
      if (mode == "online") {
        a.mode = v1::APPLY_MODE_ONLINE;
      } else if (mode == "transactional") {
        a.mode = v1::APPLY_MODE_TRANSACTIONAL;
      } else {
        throw UsageError{
            absl::StrCat("--mode must be transactional or online, not \"", mode, "\"")};
      }
    } else if (name == "check") {
      a.check = flag();
    } else if (name == "sql") {
      a.sql = flag();
    } else if (name == "service") {
      a.service = take();
    } else if (name == "label") {
      for (absl::string_view l : absl::StrSplit(take(), ',', absl::SkipWhitespace())) {
        a.labels.emplace_back(absl::StripAsciiWhitespace(l));
      }
    } else if (name == "move") {
      a.move = flag();
    } else if (name == "registry-version") {
      a.registry_version = take();
    } else if (name == "from") {
      a.from = take();
    } else if (name == "to") {
      a.to = take();
    } else if (name == "exit-code") {
      a.exit_code = flag();
    } else if (name == "allow-downgrade") {
      a.allow_downgrade = flag();
    } else if (name == "limit") {
      if (!absl::SimpleAtoi(take(), &a.limit) || a.limit < 1 || a.limit > 1000) {
        throw UsageError{"--limit must be 1 to 1000"};
      }
    } else {
      throw UsageError{absl::StrCat("unknown flag --", name)};
    }
  }
  if (a.command.empty()) {
    throw UsageError{
        "no command (initialize, status, diff, health, publish, registries, history, "
        "rollback)"};
  }
  auto only = [&](bool set, const char* flag_name, const char* command) {
    if (set && a.command != command) {
      throw UsageError{absl::StrCat("--", flag_name, " belongs to `", command, "`")};
    }
  };
  static const std::set<std::string> kCommands = {
      "initialize", "status", "diff", "health", "publish", "registries", "history", "rollback"};
  if (!kCommands.count(a.command)) {
    throw UsageError{
        absl::StrCat("unknown command \"", a.command, "\" (", absl::StrJoin(kCommands, ", "), ")")};
  }
  // Flags shared by initialize and rollback.
  auto applying = [&](bool set, const char* flag_name) {
    if (set && a.command != "initialize" && a.command != "rollback") {
      throw UsageError{absl::StrCat("--", flag_name, " belongs to `initialize` and `rollback`")};
    }
  };
  applying(a.dry_run, "dry-run");
  applying(!a.allow_hazards.empty(), "allow-hazards");
  applying(!a.expect_fingerprint.empty(), "expect-fingerprint");
  only(a.allow_downgrade, "allow-downgrade", "initialize");
  only(!a.labels.empty(), "label", "publish");
  only(a.move, "move", "publish");
  only(a.exit_code, "exit-code", "diff");
  only(!a.from.empty(), "from", "diff");
  only(a.limit > 0, "limit", "history");
  if (!a.to.empty() && a.command != "diff" && a.command != "rollback") {
    throw UsageError{"--to belongs to `diff` and `rollback`"};
  }
  if (!a.registry_version.empty() && a.command != "initialize" && a.command != "status" &&
      a.command != "diff") {
    throw UsageError{"--registry-version belongs to initialize, status and diff"};
  }
  if (a.command == "diff" && !a.to.empty() && !a.registry_version.empty()) {
    throw UsageError{"diff: --to and --registry-version name the same thing; give one"};
  }
  if (a.command == "diff" && a.to.empty() != a.from.empty()) {
    throw UsageError{"diff: --from and --to go together"};
  }
  if (a.command == "publish" && (a.positional.size() != 1 || a.labels.empty())) {
    throw UsageError{"publish needs a registry directory and --label (publish DIR --label L)"};
  }
  if (a.command == "rollback" && a.to.empty()) {
    throw UsageError{"rollback needs --to LABEL|FINGERPRINT"};
  }
  if (a.command == "history" && !a.positional.empty() &&
      (a.positional[0] != "show" || a.positional.size() != 2)) {
    throw UsageError{"history takes `show ID`"};
  }
  only(a.wait > absl::ZeroDuration(), "wait", "initialize");
  only(a.check, "check", "status");
  only(a.retry_failed, "retry-failed", "initialize");
  only(a.sql, "sql", "diff");
  if (a.mode != v1::APPLY_MODE_UNSPECIFIED && a.command != "initialize" && a.command != "status" &&
      a.command != "diff" && a.command != "rollback") {
    throw UsageError{"--online and --mode belong to initialize, rollback, status and diff"};
  }
  if (a.timeout == absl::ZeroDuration()) {
    a.timeout = a.command == "initialize" || a.command == "rollback" || a.command == "publish"
                    ? absl::Minutes(10)
                    : absl::Seconds(30);
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    throw UsageError{"--tls-cert and --tls-key go together"};
  }
  return a;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "schemactl: cannot read " << path << "\n";
    std::exit(kClientError);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::shared_ptr<grpc::Channel> MakeChannel(const Args& a) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (a.tls_ca.empty() && a.tls_cert.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    if (!a.tls_ca.empty()) ssl.pem_root_certs = ReadFileOrDie(a.tls_ca);
    if (!a.tls_cert.empty()) {
      ssl.pem_cert_chain = ReadFileOrDie(a.tls_cert);
      ssl.pem_private_key = ReadFileOrDie(a.tls_key);
    }
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  // Fail fast instead of backing off for long between connection attempts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(a.server, creds, args);
}

void Prepare(grpc::ClientContext& ctx, const Args& a, absl::Time deadline) {
  ctx.set_deadline(absl::ToChronoTime(deadline));
  if (!a.token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", a.token));
}

// Maps a failed call to an exit code, printing the reason.
int Fail(const grpc::Status& status, absl::Time deadline, const Args& a) {
  std::cerr << "schemactl: " << a.command << " failed: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
            << status.error_message() << "\n";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
      return kRefused;
    case grpc::StatusCode::UNAVAILABLE:
      return kUnreachable;
    case grpc::StatusCode::NOT_FOUND:
      return kNotFound;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      // Our own deadline passing means no answer came; otherwise the
      // server reported a statement timeout.
      return absl::Now() >= deadline - absl::Milliseconds(50) ? kUnreachable : kServerFailed;
    default:
      return kServerFailed;
  }
}

// 128 random bits, hex.
std::string RandomRequestId() {
  std::ifstream random("/dev/urandom", std::ios::binary);
  unsigned char bytes[16] = {};
  random.read(reinterpret_cast<char*>(bytes), sizeof(bytes));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// Whether a failed Initialize may have committed anyway: no answer came
// (our deadline, a lost connection, a cancelled call), so the server may
// have committed before or while the call broke.
bool IsAmbiguous(const grpc::Status& status, absl::Time deadline) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
      return true;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Now() >= deadline - absl::Milliseconds(50);
    default:
      return false;
  }
}

int Print(const google::protobuf::Message& message, const std::string& text, const Args& a);

// After an ambiguous failure, asks the server whether the change committed
// (GetInitializeOutcome waits for any Initialize in progress) and reports
// the truth: committed (exit 0), not committed (the failure's own code), or
// unknown (exit 6, never "nothing was applied").
int ResolveAmbiguous(v1::SchemaService::Stub& stub, const Args& a, const grpc::Status& failure,
                     const std::string& request_id) {
  v1::GetInitializeOutcomeRequest lookup;
  lookup.set_request_id(request_id);
  grpc::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    v1::GetInitializeOutcomeResponse outcome;
    grpc::ClientContext ctx;
    const absl::Time deadline = absl::Now() + std::max(a.timeout, absl::Seconds(15));
    Prepare(ctx, a, deadline);
    last = stub.GetInitializeOutcome(&ctx, lookup, &outcome);
    if (last.ok()) {
      if (outcome.outcome() == v1::GetInitializeOutcomeResponse::PARTIALLY_COMMITTED) {
        std::cerr << "schemactl: the call failed ("
                  << absl::StatusCodeToString(static_cast<absl::StatusCode>(failure.error_code()))
                  << ": " << failure.error_message()
                  << "); schemad.history shows that the online run committed " << outcome.steps()
                  << " steps and did not finish (request " << request_id
                  << "); the next initialize finishes it\n";
        Print(outcome, "incomplete (confirmed from schemad.history after the call failed)\n", a);
        return kIncomplete;
      }
      if (outcome.outcome() == v1::GetInitializeOutcomeResponse::COMMITTED) {
        std::cerr << "schemactl: the call failed ("
                  << absl::StatusCodeToString(static_cast<absl::StatusCode>(failure.error_code()))
                  << ": " << failure.error_message()
                  << "), but schemad.history shows that the change committed (request "
                  << request_id << ", " << outcome.steps() << " steps)\n";
        return Print(outcome, "applied (confirmed from schemad.history after the call failed)\n",
                     a);
      }
      std::cerr << "schemactl: confirmed from schemad.history: request " << request_id
                << " did not commit\n";
      return Fail(failure, absl::InfiniteFuture(), a);
    }
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::ABORTED) {
      break;
    }
    absl::SleepFor(absl::Seconds(1));
  }
  std::cerr << "schemactl: initialize failed: "
            << absl::StatusCodeToString(static_cast<absl::StatusCode>(failure.error_code())) << ": "
            << failure.error_message() << "\nschemactl: whether request " << request_id
            << " committed is unknown (" << last.error_message()
            << "); run `schemactl status` once the server answers\n";
  return kUnreachable;
}

int Print(const google::protobuf::Message& message, const std::string& text, const Args& a) {
  if (a.format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
      std::cerr << "schemactl: cannot format the response as JSON\n";
      return kClientError;
    }
    std::cout << json;
  } else {
    std::cout << text;
  }
  return kOk;
}

// Initialize through InitializeStream: progress events go to stderr (a
// live line on a terminal, a line each otherwise, a JSON object each with
// --format json); the last event is the response. A server without the
// stream (UNIMPLEMENTED) gets the unary call.
grpc::Status CallInitialize(v1::SchemaService::Stub& stub, grpc::ClientContext& ctx,
                            const v1::InitializeRequest& request, const Args& a,
                            v1::InitializeResponse* response) {
  std::unique_ptr<grpc::ClientReader<v1::InitializeEvent>> reader =
      stub.InitializeStream(&ctx, request);
  const bool live = a.format == "text" && isatty(STDERR_FILENO);
  bool got_result = false;
  bool line_open = false;
  v1::InitializeEvent event;
  while (reader->Read(&event)) {
    if (event.has_result()) {
      *response = event.result();
      got_result = true;
      continue;
    }
    if (a.format == "json") {
      std::string json;
      if (google::protobuf::util::MessageToJsonString(event, &json).ok()) {
        std::cerr << json << "\n";
      }
      continue;
    }
    const std::string line = RenderEvent(event);
    if (live && event.has_index_progress()) {
      std::cerr << "\r\033[K" << line << std::flush;  // one live line per phase
      line_open = true;
      continue;
    }
    if (line_open) std::cerr << "\n";
    line_open = false;
    std::cerr << line << "\n";
  }
  if (line_open) std::cerr << "\n";
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    grpc::ClientContext unary;
    Prepare(unary, a, absl::FromChrono(ctx.deadline()));
    return stub.Initialize(&unary, request, response);
  }
  if (status.ok() && !got_result) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, "the stream ended without a result");
  }
  return status;
}

// The exit code of an Initialize or Rollback answer (`printed`: Print's).
int OutcomeCode(const v1::InitializeResponse& response, int printed) {
  if (printed != kOk) return printed;
  switch (response.outcome()) {
    case v1::InitializeResponse::PARTIAL:
      return kDrifted;
    case v1::InitializeResponse::INCOMPLETE:
      return kIncomplete;
    case v1::InitializeResponse::IN_PROGRESS:
      return kInProgress;
    default:
      return kOk;
  }
}

// publish DIR: the directory's registry files (not recursive, dot files
// skipped), streamed in messages under 1 MiB.
int Publish(v1::SchemaService::Stub& stub, const Args& a, const Style& style) {
  const std::string& dir = a.positional[0];
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (absl::EndsWith(name, ".textproto") || absl::EndsWith(name, ".json") ||
        absl::EndsWith(name, ".sql")) {
      names.push_back(name);
    }
  }
  if (error) {
    std::cerr << "schemactl: publish: cannot read " << dir << ": " << error.message() << "\n";
    return kClientError;
  }
  if (names.empty()) {
    std::cerr << "schemactl: publish: " << dir << " holds no *.textproto, *.json or *.sql file\n";
    return kClientError;
  }
  std::sort(names.begin(), names.end());
  const absl::Time deadline = absl::Now() + a.timeout;
  grpc::ClientContext ctx;
  Prepare(ctx, a, deadline);
  v1::PublishRegistryResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::PublishRegistryRequest>> writer =
      stub.PublishRegistryStream(&ctx, &response);
  constexpr size_t kChunk = 512 << 10;
  v1::PublishRegistryRequest part;
  for (const std::string& l : a.labels) part.add_labels(l);
  part.set_move(a.move);
  size_t in_part = 0;
  bool writing = true;
  auto flush = [&]() {
    if (writing && !writer->Write(part)) writing = false;  // Finish() says why
    part.Clear();
    in_part = 0;
  };
  for (const std::string& name : names) {
    const std::string content = ReadFileOrDie((std::filesystem::path(dir) / name).string());
    size_t at = 0;
    do {
      const size_t n = std::min(kChunk - std::min(in_part, kChunk), content.size() - at);
      v1::RegistryFileContent* f = part.add_files();
      f->set_name(name);
      f->set_content(content.substr(at, n));
      at += n;
      in_part += n + name.size() + 16;
      if (in_part >= kChunk) flush();
    } while (at < content.size());
  }
  if (part.files_size() > 0 || part.labels_size() > 0) flush();
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    int code = Fail(status, deadline, a);
    v1::RpcStatus details;
    v1::RegistryErrors errors;
    if (a.format == "json" && details.ParseFromString(status.error_details()) &&
        details.details_size() > 0 && details.details(0).UnpackTo(&errors)) {
      Print(errors, "", a);
    }
    return code;
  }
  return Print(response, RenderPublish(response, style), a);
}

int Run(const Args& a) {
  Style style;
  style.color = a.format == "text" && isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  std::shared_ptr<grpc::Channel> channel = MakeChannel(a);
  v1::SchemaService::Stub stub(channel);

  if (a.command == "health") {
    grpc::health::v1::Health::Stub health(channel);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(a.service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext ctx;
    const absl::Time deadline = absl::Now() + a.timeout;
    Prepare(ctx, a, deadline);
    grpc::Status status = health.Check(&ctx, request, &response);
    if (!status.ok()) {
      int code = Fail(status, deadline, a);
      return status.error_code() == grpc::StatusCode::NOT_FOUND ? kUnreachable : code;
    }
    const std::string state =
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
    if (a.format == "json") {
      Print(response, "", a);
    } else {
      std::cout << (a.service.empty() ? "(overall)" : a.service) << ": " << state << "\n";
    }
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kOk : kUnreachable;
  }

  if (a.command == "status") {
    v1::StatusResponse response;
    grpc::ClientContext ctx;
    const absl::Time deadline = absl::Now() + a.timeout;
    Prepare(ctx, a, deadline);
    v1::StatusRequest request;
    request.set_mode(a.mode);
    if (!a.registry_version.empty()) *request.mutable_registry() = Selector(a.registry_version);
    grpc::Status status = stub.Status(&ctx, request, &response);
    if (!status.ok()) return Fail(status, deadline, a);
    int code = Print(response, RenderStatus(response, style), a);
    if (code != kOk || !a.check) return code;
    if (response.state() == v1::StatusResponse::PENDING) return kPending;
    if (response.state() == v1::StatusResponse::DRIFTED) return kDrifted;
    return kOk;
  }

  if (a.command == "diff") {
    // Every page, merged: pages keep each response under 4 MiB; they are
    // tied to one fingerprint, so a schema that moves between pages is an
    // error, never a mixed answer.
    v1::DiffResponse response;
    const absl::Time deadline = absl::Now() + a.timeout;
    v1::DiffRequest request;
    request.set_mode(a.mode);
    if (!a.registry_version.empty()) *request.mutable_registry() = Selector(a.registry_version);
    if (!a.to.empty()) {
      *request.mutable_registry() = Selector(a.to);
      *request.mutable_from() = Selector(a.from);
    }
    for (;;) {
      grpc::ClientContext ctx;
      Prepare(ctx, a, deadline);
      v1::DiffResponse page;
      grpc::Status status = stub.Diff(&ctx, request, &page);
      if (!status.ok()) return Fail(status, deadline, a);
      const std::string next = page.next_page_token();
      if (request.page_token().empty()) {
        response = std::move(page);
      } else {
        for (v1::Difference& d : *page.mutable_differences()) {
          *response.add_differences() = std::move(d);
        }
        for (v1::PlanStep& step : *page.mutable_plan()->mutable_steps()) {
          *response.mutable_plan()->add_steps() = std::move(step);
        }
      }
      if (next.empty()) break;
      request.set_page_token(next);
    }
    response.clear_next_page_token();
    int code = kOk;
    if (a.sql) {
      if (a.format == "json") {
        code = Print(response.plan(), "", a);
      } else {
        std::cout << RenderPlanSql(response.plan());
      }
    } else {
      code = Print(response, RenderDiff(response, style), a);
    }
    if (code != kOk || !a.exit_code) return code;
    // Like `terraform plan -detailed-exitcode` and migra: the verdict.
    bool hazardous = false;
    for (const v1::PlanStep& step : response.plan().steps()) {
      hazardous = hazardous || step.hazards_size() > 0 || !step.blocked().empty();
    }
    for (const v1::Difference& d : response.differences()) {
      // A difference the plan does not resolve (unmanaged aside) needs a person.
      hazardous = hazardous || (d.change() != v1::UNMANAGED && response.plan().steps().empty());
    }
    if (hazardous) return kDrifted;
    return response.differences().empty() ? kOk : kPending;
  }

  if (a.command == "publish") {
    return Publish(stub, a, style);
  }

  if (a.command == "registries") {
    v1::ListRegistriesResponse all;
    v1::ListRegistriesRequest request;
    const absl::Time deadline = absl::Now() + a.timeout;
    do {
      grpc::ClientContext ctx;
      Prepare(ctx, a, deadline);
      v1::ListRegistriesResponse page;
      grpc::Status status = stub.ListRegistries(&ctx, request, &page);
      if (!status.ok()) return Fail(status, deadline, a);
      for (v1::RegistryInfo& r : *page.mutable_registries()) *all.add_registries() = std::move(r);
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return Print(all, RenderRegistries(all, style), a);
  }

  if (a.command == "history") {
    v1::HistoryRequest request;
    if (!a.positional.empty()) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(a.positional[1], &id) || id <= 0) {
        std::cerr << "schemactl: history show: \"" << a.positional[1] << "\" is not a run id\n";
        return kUsage;
      }
      request.set_id(id);
    } else {
      request.set_page_size(a.limit > 0 ? a.limit : 20);
    }
    v1::HistoryResponse response;
    grpc::ClientContext ctx;
    const absl::Time deadline = absl::Now() + a.timeout;
    Prepare(ctx, a, deadline);
    grpc::Status status = stub.History(&ctx, request, &response);
    if (!status.ok()) return Fail(status, deadline, a);
    if (request.id() != 0 && response.entries_size() == 1) {
      return Print(response.entries(0), RenderHistoryEntry(response.entries(0), style), a);
    }
    return Print(response, RenderHistory(response, style), a);
  }

  if (a.command == "rollback") {
    v1::RollbackRequest request;
    *request.mutable_to() = Selector(a.to);
    request.set_dry_run(a.dry_run);
    request.set_expected_fingerprint(a.expect_fingerprint);
    request.set_mode(a.mode);
    request.set_request_id(RandomRequestId());
    for (const std::string& h : a.allow_hazards) request.add_allow_hazards(h);
    v1::InitializeResponse response;
    grpc::ClientContext ctx;
    const absl::Time deadline = absl::Now() + a.timeout;
    Prepare(ctx, a, deadline);
    grpc::Status status = stub.Rollback(&ctx, request, &response);
    if (!status.ok()) {
      if (!a.dry_run && IsAmbiguous(status, deadline)) {
        return ResolveAmbiguous(stub, a, status, request.request_id());
      }
      return Fail(status, deadline, a);
    }
    return OutcomeCode(response, Print(response, RenderInitialize(response, style), a));
  }

  // initialize
  v1::InitializeRequest request;
  // One id for every attempt of this invocation: after an ambiguous failure
  // the server is asked whether the change with this id committed.
  request.set_request_id(RandomRequestId());
  request.set_dry_run(a.dry_run);
  request.set_expected_fingerprint(a.expect_fingerprint);
  request.set_mode(a.mode);
  request.set_retry_failed(a.retry_failed);
  request.set_allow_downgrade(a.allow_downgrade);
  if (!a.registry_version.empty()) *request.mutable_registry() = Selector(a.registry_version);
  for (const std::string& h : a.allow_hazards) request.add_allow_hazards(h);
  const absl::Time wait_until = absl::Now() + a.wait;
  absl::Time last_progress = absl::InfinitePast();
  for (int attempt = 1;; ++attempt) {
    v1::InitializeResponse response;
    grpc::ClientContext ctx;
    absl::Time deadline = absl::Now() + a.timeout;
    Prepare(ctx, a, deadline);
    grpc::Status status = CallInitialize(stub, ctx, request, a, &response);
    if (status.ok()) {
      return OutcomeCode(response, Print(response, RenderInitialize(response, style), a));
    }
    // Lock waits (ABORTED) end when the other session finishes: worth
    // retrying within --wait, like an unreachable server or database.
    const bool retryable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::ABORTED;
    if (!retryable || absl::Now() >= wait_until) {
      if (retryable && a.wait > absl::ZeroDuration()) {
        std::cerr << "schemactl: gave up after --wait " << absl::FormatDuration(a.wait) << "\n";
      }
      if (!a.dry_run && IsAmbiguous(status, deadline)) {
        return ResolveAmbiguous(stub, a, status, request.request_id());
      }
      return Fail(status, deadline, a);
    }
    if (absl::Now() - last_progress >= absl::Seconds(2)) {
      std::cerr << "schemactl: waiting for schemad at " << a.server << " and its database ("
                << std::string(status.error_message()).substr(0, 120) << "); "
                << absl::FormatDuration(absl::Trunc(wait_until - absl::Now(), absl::Seconds(1)))
                << " left\n";
      last_progress = absl::Now();
    }
    // Wait on the channel itself, so a server that comes up is noticed at
    // once; when it is up but its database is not, pause before retrying.
    const absl::Time next = std::min(absl::Now() + absl::Seconds(1), wait_until);
    if (channel->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY ||
        channel->WaitForConnected(absl::ToChronoTime(next))) {
      absl::SleepFor(std::min(absl::Milliseconds(250) * attempt, next - absl::Now()));
    }
  }
}

}  // namespace
}  // namespace schemad::client

int main(int argc, char** argv) {
  using namespace schemad::client;
  Args args;
  try {
    args = ParseArgs(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "schemactl: " << e.message << "\nRun `schemactl --help` for usage.\n";
    return kUsage;
  }
  return Run(args);
}
