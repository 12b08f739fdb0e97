// Track forward (the core's TrackForwardJob): the one orchestrator of a tracking run. In a worker
// when the platform has one (the page then only feeds it frames; progress and the outcome come
// back through the inbox), else here, sliced across UI frames: the pixels of the next few frames
// are read ahead (video: the platform copies a decoded frame out; images: fetched and decoded
// here) and each UI frame feeds the job what arrived, within a time budget. Everything a run wrote
// becomes one command (one undo step) when it ends, is cancelled, or stops at a lost object.
#pragma once
#include "app/inbox.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "app/session.hpp"
#include "polymark/task.hpp"
#include "polymark/track_forward.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pm {

class TrackingController {
public:
    TrackingController(PlatformPort& platform, Requests& requests, Notices& notices, DocumentSession& session)
        : platform_(platform), requests_(requests), notices_(notices), session_(session) {}
    void attach(const Task& task, BackendUrls urls);

    // frames: how many frames after `from_frame`; 0: until every object is lost or the task ends.
    Errors start(const std::vector<std::string>& track_ids, long long from_frame, long long frames);
    void cancel();
    bool running() const { return run_.has_value(); }
    // Feeds the job the frames that arrived, for about budget_ms (at least one frame); returns how
    // many. Called once per UI frame.
    int advance(double budget_ms);
    // The run in progress, or the last one's outcome (null before the first): the `tracking` event.
    Json status_json() const;
    bool take_redraw_request() { return std::exchange(redraw_wanted_, false); }

    // [SECTION] Results, applied from the inbox
    void on_pixels_fetched(const PendingRequest& request, FetchDone& done);
    void on_pixels_decoded(const PendingRequest& request, ImageDecoded& decoded);
    void on_video_pixels(const PendingRequest& request, VideoPixelsRead& read);
    void on_worker_progress(const TrackingProgress& progress);
    void on_worker_finished(const TrackingFinished& finished);

private:
    // One frame's pixels for the job, or why there are none.
    struct Pixels {
        bool ok = false;
        std::string error;
        int width = 0, height = 0, channels = 4;
        std::vector<uint8_t> bytes;
        static Pixels failed(std::string why) {
            Pixels p;
            p.error = std::move(why);
            return p;
        }
    };
    struct Run {
        explicit Run(TrackForwardJob j) : job(std::move(j)) {}
        TrackForwardJob job;
        std::map<long long, Pixels> arrived;  // by task frame
        std::set<long long> requested;        // out, not arrived yet
        double started_ms = 0, last_emit_ms = 0, last_redraw_ms = 0;
        double feed_ms = 0;  // running mean of one frame's tracking time, for the budget
        long long frames_fed = 0;
        std::set<std::string> reported;  // objects whose failure was reported at the start
        bool in_worker = false;
        Json worker_status;  // the worker's last progress (in_worker)
    };
    PlatformPort& platform_;
    Requests& requests_;
    Notices& notices_;
    DocumentSession& session_;
    const Task* task_ = nullptr;
    BackendUrls urls_;
    std::optional<Run> run_;
    Json last_status_;
    bool redraw_wanted_ = false;

    long long frame_count() const { return task_ ? task_->frame_count() : 0; }
    void request_pixels();
    void arrived(long long frame, Pixels pixels);
    void finish(const char* how);
    void redraw_progress(Run& run);
    void end(Command command, Json status, const Run& run);
    Json run_status_json(const Run& run, const char* state) const { return run.job.status_json(state, run.frames_fed); }
};

}  // namespace pm
