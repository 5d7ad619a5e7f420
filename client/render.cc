#include "render.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"

namespace schemad::client {
namespace {

std::string Paint(const Style& style, const char* code, const std::string& text) {
  if (!style.color) return text;
  return absl::StrCat("\033[", code, "m", text, "\033[0m");
}

constexpr char kRed[] = "31";
constexpr char kGreen[] = "32";
constexpr char kYellow[] = "33";
constexpr char kBold[] = "1";
constexpr char kDim[] = "2";

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string HazardKindName(v1::HazardKind k) { return v1::HazardKind_Name(k); }

std::string RenderDifferences(const google::protobuf::RepeatedPtrField<v1::Difference>& diffs,
                              const Style& style) {
  size_t w_change = 6, w_type = 4, w_name = 4;
  for (const auto& d : diffs) {
    w_change = std::max(w_change, v1::ChangeKind_Name(d.change()).size());
    w_type = std::max(w_type, d.object_type().size());
    w_name = std::max(w_name, d.name().size());
  }
  std::string out = Paint(style, kBold,
                          absl::StrCat(Pad("CHANGE", w_change), "  ", Pad("TYPE", w_type), "  ",
                                       Pad("NAME", w_name), "  DETAIL"));
  out += "\n";
  for (const auto& d : diffs) {
    const std::string change = v1::ChangeKind_Name(d.change());
    const char* color = d.change() == v1::MISSING ? kYellow
                        : d.change() == v1::EXTRA ? kRed
                                                  : kYellow;
    std::string detail = d.detail();
    if (d.change() == v1::CHANGED) {
      absl::StrAppend(&detail, ": want ", d.expected(), ", have ", d.actual());
    }
    absl::StrAppend(&out, Paint(style, color, Pad(change, w_change)), "  ",
                    Pad(d.object_type(), w_type), "  ", Pad(d.name(), w_name), "  ", detail, "\n");
  }
  return out;
}

std::string RenderSteps(const google::protobuf::RepeatedPtrField<v1::PlanStep>& steps,
                        const Style& style) {
  std::string out;
  int n = 0;
  for (const auto& s : steps) {
    ++n;
    std::string sql = absl::StrReplaceAll(s.sql(), {{"\n", "\n      "}});
    absl::StrAppend(&out, Pad(absl::StrCat(n, "."), 5), " ", sql, ";\n");
    if (!s.blocked().empty()) {
      absl::StrAppend(&out, "      ", Paint(style, kRed, "! BLOCKED"), " ", s.blocked(), "\n");
    }
    for (const auto& h : s.hazards()) {
      absl::StrAppend(&out, "      ",
                      Paint(style, h.kind() == v1::DATA_LOSS ? kRed : kYellow,
                            absl::StrCat("! ", HazardKindName(h.kind()))),
                      " ", h.message(), "\n");
    }
  }
  return out;
}

std::string Timestamp(const google::protobuf::Timestamp& t) {
  return google::protobuf::util::TimeUtil::ToString(t);
}

}  // namespace

std::string RenderStatus(const v1::StatusResponse& r, const Style& style) {
  const std::string state = v1::StatusResponse::State_Name(r.state());
  const char* color = r.state() == v1::StatusResponse::IN_SYNC   ? kGreen
                      : r.state() == v1::StatusResponse::PENDING ? kYellow
                                                                 : kRed;
  std::string out = absl::StrCat("state         ", Paint(style, color, state), "\n");
  absl::StrAppend(&out, "differences   ", r.missing(), " missing, ", r.extra(), " extra, ",
                  r.changed(), " changed\n");
  absl::StrAppend(&out, "registry      ", r.registry_fingerprint(), "\n");
  absl::StrAppend(&out, "fingerprint   ", r.fingerprint(), "\n");
  if (r.last_applied_fingerprint().empty()) {
    absl::StrAppend(&out, "last applied  never\n");
  } else {
    absl::StrAppend(&out, "last applied  ", Timestamp(r.last_applied_at()), " (registry ",
                    r.last_applied_fingerprint(), ")\n");
  }
  for (const std::string& warning : r.warnings()) {
    absl::StrAppend(&out, Paint(style, kYellow, "warning"), "       ", warning, "\n");
  }
  if (r.state() == v1::StatusResponse::PENDING) {
    absl::StrAppend(
        &out, Paint(style, kDim, "run `schemactl initialize` to apply the hazard-free plan\n"));
  } else if (r.state() == v1::StatusResponse::DRIFTED) {
    absl::StrAppend(
        &out, Paint(style, kDim, "run `schemactl diff` to see the differences and hazards\n"));
  }
  return out;
}

std::string RenderDiff(const v1::DiffResponse& r, const Style& style) {
  if (r.differences().empty()) {
    return absl::StrCat(Paint(style, kGreen, "in sync"), ": no differences (schema ",
                        r.plan().schema(), ", fingerprint ", r.plan().fingerprint(), ")\n");
  }
  std::string out = RenderDifferences(r.differences(), style);
  absl::StrAppend(
      &out, "\n",
      Paint(style, kBold,
            absl::StrCat("plan (", r.plan().steps_size(), " steps, schema ", r.plan().schema(),
                         ", fingerprint ", r.plan().fingerprint(), "):")),
      "\n", RenderSteps(r.plan().steps(), style));
  return out;
}

std::string RenderPlanSql(const v1::Plan& plan) {
  std::string out =
      absl::StrCat("-- schemad plan, fingerprint ", plan.fingerprint(), "\n",
                   "-- Apply with: schemactl initialize ",
                   plan.mode() == v1::APPLY_MODE_ONLINE ? "--online " : "", "--expect-fingerprint ",
                   plan.fingerprint(), " [--allow-hazards ...]\n");
  if (plan.steps().empty()) return absl::StrCat(out, "-- nothing to do: in sync\n");
  std::string search_path = absl::StrCat(
      "SET search_path TO \"", absl::StrReplaceAll(plan.schema(), {{"\"", "\"\""}}), "\";\n");
  auto step_sql = [](const v1::PlanStep& s) {
    std::string text;
    if (!s.blocked().empty()) absl::StrAppend(&text, "-- BLOCKED: ", s.blocked(), "\n");
    for (const auto& h : s.hazards()) {
      absl::StrAppend(&text, "-- hazard ", HazardKindName(h.kind()), ": ", h.message(), "\n");
    }
    absl::StrAppend(&text, s.sql(), ";\n");
    return text;
  };
  if (plan.mode() == v1::APPLY_MODE_ONLINE) {
    // Phase by phase: each transactional phase its own short transaction
    // under the lock timeout (retry it when that expires); each
    // concurrent statement outside any transaction, unbounded waits.
    const std::string lock_timeout =
        plan.lock_timeout_ms() > 0 ? absl::StrCat(plan.lock_timeout_ms(), "ms") : "2s";
    absl::StrAppend(
        &out, "-- ONLINE plan: ", plan.phases(), plan.phases() == 1 ? " phase" : " phases",
        ", each committed on its own; not all or nothing.\n",
        "-- Rerun a phase whose lock_timeout expires (schemad retries it).\n", search_path);
    int phase = 0;
    bool open = false;
    for (const auto& s : plan.steps()) {
      if (static_cast<int>(s.phase()) != phase) {
        if (open) absl::StrAppend(&out, "COMMIT;\n");
        open = false;
        phase = static_cast<int>(s.phase());
        if (s.transactional()) {
          absl::StrAppend(&out, "\n-- phase ", phase, "\nBEGIN;\nSET LOCAL lock_timeout = '",
                          lock_timeout, "';\n");
          open = true;
        } else {
          absl::StrAppend(&out, "\n-- phase ", phase,
                          ": outside a transaction (do not wrap in BEGIN)\n"
                          "SET lock_timeout = 0;\n");
        }
      }
      absl::StrAppend(&out, step_sql(s));
      if (!s.transactional()) absl::StrAppend(&out, "RESET lock_timeout;\n");
    }
    if (open) absl::StrAppend(&out, "COMMIT;\n");
    return out;
  }
  bool any_own = false;
  for (const auto& s : plan.steps()) any_own |= s.own_transaction();
  if (any_own) {
    absl::StrAppend(&out,
                    "\n-- Enum labels: committed first, on their own (a new label is\n"
                    "-- unusable in the transaction that adds it).\nBEGIN;\n",
                    search_path);
    for (const auto& s : plan.steps()) {
      if (s.own_transaction()) absl::StrAppend(&out, step_sql(s));
    }
    absl::StrAppend(&out, "COMMIT;\n");
  }
  absl::StrAppend(&out, "\nBEGIN;\n", search_path);
  for (const auto& s : plan.steps()) {
    if (!s.own_transaction()) absl::StrAppend(&out, step_sql(s));
  }
  absl::StrAppend(&out, "COMMIT;\n");
  return out;
}

std::string RenderInitialize(const v1::InitializeResponse& r, const Style& style) {
  const std::string outcome = v1::InitializeResponse::Outcome_Name(r.outcome());
  const char* color = r.outcome() == v1::InitializeResponse::INCOMPLETE ? kRed
                      : r.outcome() == v1::InitializeResponse::PARTIAL ||
                              r.outcome() == v1::InitializeResponse::IN_PROGRESS
                          ? kYellow
                          : kGreen;
  std::string out = absl::StrCat("outcome  ", Paint(style, color, outcome), "  (fingerprint ",
                                 r.fingerprint(), ")\n");
  for (const std::string& note : r.notes()) {
    absl::StrAppend(&out, Paint(style, kYellow, "note"), "     ", note, "\n");
  }
  if (r.outcome() == v1::InitializeResponse::INCOMPLETE) {
    absl::StrAppend(&out, "online run ", r.run_id(), ": ", r.phases_committed(), " of ", r.phases(),
                    " phases committed; phase ", r.failed_phase(), " failed: ", r.cause(),
                    "\nthe next `schemactl initialize --online` finishes it\n");
  } else if (r.outcome() == v1::InitializeResponse::IN_PROGRESS) {
    absl::StrAppend(&out, "online run ", r.run_id(), " of ", r.running_caller(), " is running (",
                    r.phases_committed(), " of ", r.phases(),
                    " phases committed); nothing was done by this call\n");
  } else if (r.run_id() != 0) {
    absl::StrAppend(&out, "online run ", r.run_id(), ": ", r.phases_committed(), " of ", r.phases(),
                    " phases committed\n");
  }
  if (r.outcome() != v1::InitializeResponse::INCOMPLETE && !r.cause().empty()) {
    absl::StrAppend(&out, Paint(style, kYellow, "note"), "  ", r.cause(), "\n");
  }
  if (!r.executed().empty()) {
    absl::StrAppend(&out, "\n",
                    r.outcome() == v1::InitializeResponse::DRY_RUN ? "would execute" : "executed",
                    " (", std::max<uint32_t>(r.executed_count(), r.executed_size()), " steps",
                    r.truncated() && r.executed_count() > static_cast<uint32_t>(r.executed_size())
                        ? absl::StrCat("; the first ", r.executed_size(),
                                       " shown, every one is in schemad.history")
                        : "",
                    "):\n", RenderSteps(r.executed(), style));
  }
  if (!r.skipped().empty()) {
    std::set<std::string> kinds;
    for (const auto& s : r.skipped()) {
      for (const auto& h : s.hazards()) kinds.insert(HazardKindName(h.kind()));
    }
    absl::StrAppend(&out,
                    r.outcome() == v1::InitializeResponse::IN_PROGRESS
                        ? "\nnot run, another run holds the schema ("
                        : "\nskipped, hazards not accepted (",
                    std::max<uint32_t>(r.skipped_count(), r.skipped_size()), " steps):\n",
                    RenderSteps(r.skipped(), style));
    if (r.outcome() != v1::InitializeResponse::IN_PROGRESS && !kinds.empty()) {
      absl::StrAppend(&out, Paint(style, kDim,
                                  absl::StrCat("to run them: --allow-hazards ",
                                               absl::StrJoin(kinds, ","), "\n")));
    }
  }
  if (!r.remaining().empty()) {
    absl::StrAppend(&out, "\nremaining differences:\n", RenderDifferences(r.remaining(), style));
  }
  return out;
}

std::string RenderEvent(const v1::InitializeEvent& e) {
  switch (e.event_case()) {
    case v1::InitializeEvent::kRunStarted:
      return absl::StrCat("run ", e.run_started().run_id(), " started: ", e.run_started().phases(),
                          " phases");
    case v1::InitializeEvent::kPhaseStarted: {
      std::string first = e.phase_started().statements().empty()
                              ? ""
                              : e.phase_started().statements(0).substr(0, 100);
      return absl::StrCat(
          "phase ", e.phase_started().phase(), "/", e.phase_started().phases(), " started: ", first,
          e.phase_started().statements_size() > 1
              ? absl::StrCat(" (+", e.phase_started().statements_size() - 1, " more)")
              : "");
    }
    case v1::InitializeEvent::kLockWait:
      return absl::StrCat("phase ", e.lock_wait().phase(), ": lock on ",
                          absl::StrJoin(e.lock_wait().relations(), ", "),
                          " not granted (held by pid ",
                          absl::StrJoin(e.lock_wait().blocking_pids(), ", "), "); retry ",
                          e.lock_wait().attempt(), " in ", e.lock_wait().retry_in_ms(), " ms");
    case v1::InitializeEvent::kIndexProgress: {
      const auto& p = e.index_progress();
      std::string pct;
      if (p.blocks_total() > 0) {
        pct = absl::StrCat(", blocks ", p.blocks_done(), "/", p.blocks_total(), " (",
                           100 * p.blocks_done() / p.blocks_total(), "%)");
      } else if (p.tuples_total() > 0) {
        pct = absl::StrCat(", tuples ", p.tuples_done(), "/", p.tuples_total(), " (",
                           100 * p.tuples_done() / p.tuples_total(), "%)");
      }
      return absl::StrCat("phase ", p.phase(), ": ", p.progress_phase(), pct);
    }
    case v1::InitializeEvent::kPhaseFinished:
      return absl::StrCat("phase ", e.phase_finished().phase(), "/", e.phase_finished().phases(),
                          " committed in ", e.phase_finished().duration_ms(), " ms",
                          e.phase_finished().retries() > 0
                              ? absl::StrCat(" after ", e.phase_finished().retries(), " retries")
                              : "");
    case v1::InitializeEvent::kHeartbeat:
      return "still running";
    case v1::InitializeEvent::kResult:
      return absl::StrCat("finished: ", v1::InitializeResponse::Outcome_Name(e.result().outcome()));
    case v1::InitializeEvent::EVENT_NOT_SET:
      break;
  }
  return "";
}

}  // namespace schemad::client

namespace schemad::client {

std::string RenderRegistryInfo(const v1::RegistryInfo& r) {
  return absl::StrCat(r.id(), "  fingerprint ", r.fingerprint(), "  schema ", r.schema(), "  ",
                      r.files(), " files, ", r.bytes(), " bytes  published ",
                      Timestamp(r.published_at()), " by ", r.publisher(), "  labels ",
                      r.labels().empty() ? "-" : absl::StrJoin(r.labels(), ","));
}

std::string RenderPublish(const v1::PublishRegistryResponse& r, const Style& style) {
  return absl::StrCat(
      Paint(style, kGreen, r.created() ? "published" : "already published (labels updated)"), "\n",
      RenderRegistryInfo(r.registry()), "\n");
}

std::string RenderRegistries(const v1::ListRegistriesResponse& r, const Style& style) {
  std::string out =
      Paint(style, kBold,
            absl::StrCat(Pad("ID", 32), "  ", Pad("FINGERPRINT", 32), "  ", Pad("PUBLISHED", 20),
                         "  ", Pad("PUBLISHER", 16), "  FILES  LABELS"));
  out += "\n";
  for (const v1::RegistryInfo& i : r.registries()) {
    absl::StrAppend(&out, Pad(i.id(), 32), "  ", Pad(i.fingerprint(), 32), "  ",
                    Pad(Timestamp(i.published_at()), 20), "  ", Pad(i.publisher(), 16), "  ",
                    Pad(absl::StrCat(i.files()), 5), "  ",
                    i.labels().empty() ? "-" : absl::StrJoin(i.labels(), ","), "\n");
  }
  if (r.registries().empty()) out += "(no published registry)\n";
  return out;
}

std::string RenderHistory(const v1::HistoryResponse& r, const Style& style) {
  std::string out =
      Paint(style, kBold,
            absl::StrCat(Pad("ID", 6), "  ", Pad("KIND", 10), "  ", Pad("FINISHED", 20), "  ",
                         Pad("MODE", 13), "  STEPS  ", Pad("REGISTRY", 12), "  ", Pad("LABELS", 16),
                         "  STATE  CALLER"));
  out += "\n";
  for (const v1::HistoryEntry& e : r.entries()) {
    const bool ok = e.state() == "completed";
    absl::StrAppend(
        &out, Pad(absl::StrCat(e.id()), 6), "  ", Pad(e.kind(), 10), "  ",
        Pad(Timestamp(e.finished_at()), 20), "  ", Pad(v1::ApplyMode_Name(e.mode()).substr(11), 13),
        "  ", Pad(absl::StrCat(e.steps_executed()), 5), "  ",
        Pad(e.registry_id().empty() ? e.registry_fingerprint().substr(0, 12)
                                    : e.registry_id().substr(0, 12),
            12),
        "  ", Pad(e.registry_labels().empty() ? "-" : absl::StrJoin(e.registry_labels(), ","), 16),
        "  ", Paint(style, ok ? kGreen : kRed, e.state().substr(0, 60)), "  ", e.caller(), "\n");
  }
  if (r.entries().empty()) out += "(no run recorded)\n";
  return out;
}

std::string RenderHistoryEntry(const v1::HistoryEntry& e, const Style& style) {
  std::string out = absl::StrCat(
      Paint(style, kBold, absl::StrCat("run ", e.id(), " (", e.kind(), ")")), "\n",
      "state         ", e.state(), "\n", "started       ", Timestamp(e.started_at()), "\n",
      "finished      ", Timestamp(e.finished_at()), " (", e.duration_ms(), " ms)\n",
      "caller        ", e.caller(), "\n", "mode          ", v1::ApplyMode_Name(e.mode()).substr(11),
      "\n", "registry      ", e.registry_id().empty() ? "-" : e.registry_id(), " (fingerprint ",
      e.registry_fingerprint(), ")",
      e.registry_labels().empty()
          ? ""
          : absl::StrCat(" labels ", absl::StrJoin(e.registry_labels(), ",")),
      "\n");
  if (!e.from_registry_id().empty())
    absl::StrAppend(&out, "rolled back   from ", e.from_registry_id(), "\n");
  if (!e.request_id().empty()) absl::StrAppend(&out, "request       ", e.request_id(), "\n");
  absl::StrAppend(&out, "steps         ", e.steps_executed(), "\n");
  for (const std::string& sql : e.sql()) absl::StrAppend(&out, "\n", sql, ";\n");
  return out;
}

}  // namespace schemad::client
