// schemad_loadgen: N concurrent clients call one schemad RPC for a fixed
// time (or number of requests) and report latency percentiles and
// throughput as one JSON line.
//
//   schemad_loadgen --server 127.0.0.1:50051 --method Status --concurrency 8 --seconds 5
//   schemad_loadgen --server ... --method mixed --concurrency 200 --seconds 30 --token T
//
// Methods: Status, Diff, Initialize (no-op on an in-sync database), Health,
// mixed (Status 50%, Diff 30%, Initialize 10%, Health 10%). Every failure is
// counted by gRPC status code; a request without a status would be a bug.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "schemad/v1/schema_service.grpc.pb.h"

namespace {

struct Options {
  std::string server = "127.0.0.1:50051";
  std::string method = "Status";
  std::string token;
  int concurrency = 1;
  double seconds = 5;
  long requests = 0;  // when > 0, stop after this many in total
  double deadline_seconds = 30;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--server")
      o.server = v;
    else if (k == "--method")
      o.method = v;
    else if (k == "--token")
      o.token = v;
    else if (k == "--concurrency")
      o.concurrency = std::atoi(v.c_str());
    else if (k == "--seconds")
      o.seconds = std::atof(v.c_str());
    else if (k == "--requests")
      o.requests = std::atol(v.c_str());
    else if (k == "--deadline")
      o.deadline_seconds = std::atof(v.c_str());
    else {
      std::cerr << "unknown flag " << k << "\n";
      std::exit(2);
    }
  }
  return o;
}

grpc::Status Call(const std::string& method, schemad::v1::SchemaService::Stub& stub,
                  grpc::health::v1::Health::Stub& health, const Options& o) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(o.deadline_seconds * 1000)));
  if (!o.token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", o.token));
  if (method == "Status") {
    schemad::v1::StatusResponse r;
    return stub.Status(&ctx, schemad::v1::StatusRequest(), &r);
  }
  if (method == "Diff") {
    schemad::v1::DiffResponse r;
    return stub.Diff(&ctx, schemad::v1::DiffRequest(), &r);
  }
  if (method == "Initialize") {
    schemad::v1::InitializeResponse r;
    return stub.Initialize(&ctx, schemad::v1::InitializeRequest(), &r);
  }
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("schemad.v1.SchemaService");
  grpc::health::v1::HealthCheckResponse r;
  return health.Check(&ctx, request, &r);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::vector<std::vector<double>> latencies(o.concurrency);
  std::vector<std::map<int, long>> codes(o.concurrency);
  std::atomic<long> issued{0};
  const absl::Time start = absl::Now();
  const absl::Time until = start + absl::Seconds(o.seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("schemad.loadgen.channel", t);  // one connection per client
      auto channel = grpc::CreateCustomChannel(o.server, grpc::InsecureChannelCredentials(), args);
      schemad::v1::SchemaService::Stub stub(channel);
      grpc::health::v1::Health::Stub health(channel);
      unsigned seed = 12345u + t;
      for (;;) {
        if (o.requests > 0 ? issued.fetch_add(1) >= o.requests : absl::Now() >= until) break;
        std::string method = o.method;
        if (method == "mixed") {
          const int r = rand_r(&seed) % 10;
          method = r < 5 ? "Status" : r < 8 ? "Diff" : r < 9 ? "Initialize" : "Health";
        }
        const absl::Time begin = absl::Now();
        grpc::Status status = Call(method, stub, health, o);
        latencies[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - begin));
        ++codes[t][status.error_code()];
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  std::map<int, long> total;
  for (int t = 0; t < o.concurrency; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    for (const auto& [code, n] : codes[t]) total[code] += n;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    if (all.empty()) return 0.0;
    return all[std::min(all.size() - 1, static_cast<size_t>(p * (all.size() - 1) + 0.5))];
  };
  std::vector<std::string> code_parts;
  long errors = 0;
  for (const auto& [code, n] : total) {
    code_parts.push_back(absl::StrFormat("\"%d\": %d", code, n));
    if (code != 0) errors += n;
  }
  std::cout << absl::StrFormat(
                   "{\"method\": \"%s\", \"concurrency\": %d, \"requests\": %d, \"errors\": %d, "
                   "\"seconds\": %.3f, \"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
                   "\"max_ms\": %.3f, \"codes\": {%s}}",
                   o.method, o.concurrency, all.size(), errors, elapsed, all.size() / elapsed,
                   pct(0.50), pct(0.99), all.empty() ? 0.0 : all.back(),
                   absl::StrJoin(code_parts, ", "))
            << std::endl;
  return 0;
}
