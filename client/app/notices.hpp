// What went wrong, told twice: a notice the UI shows (the last few) and an `error` event to the
// host. A failure before the task is on screen is fatal for the mount (fail_startup).
#pragma once
#include "app/platform_port.hpp"
#include "polymark/document.hpp"

#include <deque>
#include <optional>

namespace pm {

struct Notice {
    Error error;
    double shown_at = 0;
};

class Notices {
public:
    explicit Notices(PlatformPort& platform) : platform_(platform) {}
    void report(Error error);
    void report_skipped(const SkippedItem& item);  // an object or track left out when opening the task
    void fail_startup(Error error);                 // once: later failures are the first one's consequences
    void dismiss(size_t index);
    const std::deque<Notice>& list() const { return notices_; }
    const std::optional<Error>& fatal() const { return fatal_; }

private:
    static constexpr size_t kMaxNotices = 8;
    PlatformPort& platform_;
    std::deque<Notice> notices_;
    std::optional<Error> fatal_;
    void keep(Error error);
};

}  // namespace pm
