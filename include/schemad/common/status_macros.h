// Small equivalents of the status macros Debian's Abseil (20220623) lacks.
//
//   SCHEMAD_RETURN_IF_ERROR(DoThing());
//   SCHEMAD_ASSIGN_OR_RETURN(auto value, ComputeValue());
//
// Thread-safety: macros only.
#ifndef SCHEMAD_COMMON_STATUS_MACROS_H_
#define SCHEMAD_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define SCHEMAD_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status schemad_status_ = (expr);           \
    if (!schemad_status_.ok()) return schemad_status_; \
  } while (0)

#define SCHEMAD_CONCAT_INNER_(a, b) a##b
#define SCHEMAD_CONCAT_(a, b) SCHEMAD_CONCAT_INNER_(a, b)
#define SCHEMAD_ASSIGN_OR_RETURN(lhs, expr) \
  SCHEMAD_ASSIGN_OR_RETURN_IMPL_(SCHEMAD_CONCAT_(schemad_or_, __LINE__), lhs, expr)
#define SCHEMAD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(*tmp)

namespace schemad {

// Returns `status` with "context: " prefixed to its message, same code.
// Payloads (the SQLSTATE, see schemad/db/database.h) are kept.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace schemad

#endif  // SCHEMAD_COMMON_STATUS_MACROS_H_
