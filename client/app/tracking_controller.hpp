// Track forward (the core's TrackForwardJob): the one orchestrator of a tracking run. The job runs
// away from the UI thread, where the platform runs it (PlatformPort::start_tracking_worker: Web
// Workers on the web, a thread natively); progress and the outcome come back through the inbox.
// The job is started here too, only to check the request. Everything a run wrote becomes one
// command (one undo step) when it ends, is cancelled, or stops at a lost object.
#pragma once
#include "app/inbox.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "app/session.hpp"
#include "polymark/task.hpp"
#include "polymark/track_forward.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pm {

class TrackingController {
public:
    TrackingController(PlatformPort& platform, Notices& notices, DocumentSession& session)
        : platform_(platform), notices_(notices), session_(session) {}
    void attach(const Task& task, BackendUrls urls);

    // frames: how many frames after `from_frame`; 0: until every object is lost or the task ends.
    Errors start(const std::vector<std::string>& track_ids, long long from_frame, long long frames);
    void cancel();
    bool running() const { return run_.has_value(); }
    // The run in progress, or the last one's outcome (null before the first): the `tracking` event.
    Json status_json() const;
    bool take_redraw_request() { return std::exchange(redraw_wanted_, false); }

    // [SECTION] Results, applied from the inbox
    void on_worker_progress(const TrackingProgress& progress);
    void on_worker_finished(const TrackingFinished& finished);

private:
    struct Run {
        double started_ms = 0, last_redraw_ms = 0;
        std::set<std::string> reported;  // objects whose failure was reported at the start
        Json worker_status;              // the worker's last progress
    };
    PlatformPort& platform_;
    Notices& notices_;
    DocumentSession& session_;
    const Task* task_ = nullptr;
    BackendUrls urls_;
    std::optional<Run> run_;
    Json last_status_;
    bool redraw_wanted_ = false;

    long long frame_count() const { return task_ ? task_->frame_count() : 0; }
    void redraw_progress(Run& run);
    void end(Command command, Json status, const Run& run);
};

}  // namespace pm
