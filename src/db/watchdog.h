// Bounds a database session by a caller's deadline and cancellation.
//
//   Watchdog watchdog(connection, deadline, cancelled);
//   SCHEMAD_RETURN_IF_ERROR(watchdog.Check());    // before each statement
//
// PostgreSQL 15 has no transaction timeout: statement_timeout bounds one
// statement, and a call the caller abandoned would otherwise run on. The
// watchdog's thread cancels the statement in flight (libpq's cancel
// request) when the deadline passes or `cancelled()` turns true; Check()
// stops the next one from being sent. Thread-safe.
#ifndef SCHEMAD_DB_WATCHDOG_H_
#define SCHEMAD_DB_WATCHDOG_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "schemad/db/session.h"

namespace schemad {

class Watchdog {
 public:
  enum class Reason { kNone, kDeadline, kCancelled };

  // `cancelled` may be empty. `conn` must outlive the watchdog.
  Watchdog(Connection& conn, absl::Time deadline, std::function<bool()> cancelled)
      : conn_(conn), deadline_(deadline), cancelled_(std::move(cancelled)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Watchdog() {
    stop_.Notify();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Why the session was (or is now being) stopped, kNone while it may go on.
  Reason reason() {
    if (reason_.load() == Reason::kNone) {
      if (cancelled_ && cancelled_()) {
        reason_.store(Reason::kCancelled);
      } else if (absl::Now() >= deadline_) {
        reason_.store(Reason::kDeadline);
      }
    }
    return reason_.load();
  }

  // OK while the call may go on; CANCELLED or DEADLINE_EXCEEDED otherwise,
  // saying that nothing of `what` was applied.
  absl::Status Check(const char* what) {
    switch (reason()) {
      case Reason::kNone:
        return absl::OkStatus();
      case Reason::kCancelled:
        return absl::CancelledError(
            absl::StrCat("the caller cancelled the call; ", what, " rolled back, nothing applied"));
      case Reason::kDeadline:
        return absl::DeadlineExceededError(
            absl::StrCat("the caller's deadline passed; ", what, " rolled back, nothing applied"));
    }
    return absl::OkStatus();
  }

 private:
  void Run() {
    while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
      if (reason() != Reason::kNone) {
        conn_.CancelQuery();
        return;
      }
    }
  }

  Connection& conn_;
  const absl::Time deadline_;
  const std::function<bool()> cancelled_;
  std::atomic<Reason> reason_{Reason::kNone};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace schemad

#endif  // SCHEMAD_DB_WATCHDOG_H_
