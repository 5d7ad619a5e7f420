// In-process engine benchmarks: the pure parts (registry parsing and
// validation, diff, planning) on synthetic schemas of 100 to 5,000 tables.
// The database-facing numbers come from scripts/bench.
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "schemad/diff/diff.h"
#include "schemad/plan/plan.h"
#include "schemad/registry/registry.h"

namespace schemad {
namespace {

std::string SyntheticTable(int i) {
  const std::string t = absl::StrCat("t", i);
  return absl::StrCat(
      "table { name: \"", t, "\"\n",
      "  column { name: \"id\" type: \"bigserial\" not_null: true }\n",
      "  column { name: \"parent_id\" type: \"bigint\" }\n",
      "  column { name: \"name\" type: \"character varying(100)\" not_null: true }\n",
      "  column { name: \"state\" type: \"text\" not_null: true default: \"'a'\" }\n",
      "  column { name: \"amount\" type: \"numeric(12,2)\" }\n",
      "  column { name: \"meta\" type: \"jsonb\" not_null: true default: \"'{}'::jsonb\" }\n",
      "  column { name: \"created_at\" type: \"timestamp with time zone\" not_null: true default: "
      "\"now()\" }\n",
      "  column { name: \"note\" type: \"text\" }\n", "  primary_key { name: \"pk_", t,
      "\" column: \"id\" }\n", "  unique { name: \"uq_", t, "_name\" column: \"name\" }\n",
      "  check { name: \"ck_", t, "_amount\" expression: \"amount >= 0\" }\n",
      i > 0 ? absl::StrCat("  foreign_key { name: \"fk_", t,
                           "_parent\" column: \"parent_id\" references_table: \"t", i - 1,
                           "\" references_column: \"id\" }\n")
            : "",
      "  index { name: \"ix_", t, "_created_at\" key { column: \"created_at\" } }\n",
      "  index { name: \"ix_", t,
      "_open\" key { column: \"parent_id\" } where: \"state = 'a'\" }\n", "}\n");
}

std::vector<RegistrySource> SyntheticRegistry(int n) {
  std::vector<RegistrySource> files;
  for (int i = 0; i < n; ++i)
    files.push_back({absl::StrCat("t", i, ".textproto"), SyntheticTable(i)});
  return files;
}

void BM_LoadRegistry(benchmark::State& state) {
  const std::vector<RegistrySource> files = SyntheticRegistry(state.range(0));
  for (auto _ : state) {
    absl::StatusOr<Registry> r = LoadRegistry(files, "bench");
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(absl::StrCat(state.range(0), " tables"));
}
BENCHMARK(BM_LoadRegistry)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_DiffInSync(benchmark::State& state) {
  const Schema schema = LoadRegistry(SyntheticRegistry(state.range(0)), "bench")->schema;
  for (auto _ : state) {
    std::vector<Difference> d = DiffSchemas(schema, schema);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_DiffInSync)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_DiffAndPlanFromEmpty(benchmark::State& state) {
  const Schema desired = LoadRegistry(SyntheticRegistry(state.range(0)), "bench")->schema;
  Schema empty;
  for (auto _ : state) {
    std::vector<Difference> d = DiffSchemas(desired, empty);
    Plan p = BuildPlan(desired, empty, d, {});
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_DiffAndPlanFromEmpty)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace schemad

BENCHMARK_MAIN();
