// What went wrong, told twice: a notice the UI shows (the last few) and an `error` event to the
// host. A failure before the task is on screen is fatal for the mount (fail_startup).
// Two kinds of notice: a problem the labeler has to act on (report: it stays until dismissed) and
// a refusal that only says why an action did nothing (refuse: it fades after kFadeSeconds).
#pragma once
#include "app/platform_port.hpp"
#include "polymark/document.hpp"

#include <deque>
#include <optional>

namespace pm {

struct Notice {
    Error error;
    bool fades = false;    // a refusal: gone kFadeSeconds after it was first seen
    double shown_at = -1;  // seconds of the clock given to expire(); -1: not seen yet
};

class Notices {
public:
    static constexpr double kFadeSeconds = 5;

    explicit Notices(PlatformPort& platform) : platform_(platform) {}
    void report(Error error);
    // An action refused, and why ("a polygon needs at least 3 points"): a notice that fades.
    void refuse(Error error);
    void report_skipped(const SkippedItem& item);  // an object or track left out when opening the task
    void fail_startup(Error error);                 // once: later failures are the first one's consequences
    void dismiss(size_t index);
    // Removes the refusals shown for kFadeSeconds by `now` (a monotonic clock in seconds); true
    // when one went (the screen changes).
    bool expire(double now);
    const std::deque<Notice>& list() const { return notices_; }
    // The newest refusal still showing, or nothing.
    const Notice* latest_refusal() const;
    const std::optional<Error>& fatal() const { return fatal_; }

private:
    static constexpr size_t kMaxNotices = 8;
    PlatformPort& platform_;
    std::deque<Notice> notices_;
    std::optional<Error> fatal_;
    void keep(Error error, bool fades);
};

}  // namespace pm
