// App: "track forward" (see app.hpp, [SECTION] Track forward). The job is the core's
// TrackForwardJob; this file feeds it pixels and slices its work across UI frames.
#include "app/app.hpp"

#include <chrono>

namespace pm {

namespace {

// Frames whose pixels are read ahead of the one the tracker needs: enough to hide a decode or a
// fetch behind the tracking of the frames before it, few enough to hold little memory (a 720p
// luma frame is 0.9 MB, RGBA 3.7 MB).
constexpr long long kReadAhead = 6;
// Tracking time per UI frame: the first frame that arrived is always fed; more while they fit.
constexpr double kBudgetMs = 14;
constexpr double kEmitEveryMs = 100;

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Errors App::start_tracking(const std::vector<std::string>& track_ids, long long frames) {
    if (!task_) return {Error{"not_ready", "", "the task is still loading"}};
    if (tracking_) return {Error{"busy", "tracking", "tracking is already running: cancel it first"}};
    if (frames < 0) return {Error{"bad_argument", "frames", "frames must be 0 (until lost) or more"}};
    if (sync_enabled() && !sync_) return {Error{"read_only", "", "the annotations are not editable here yet: nothing was tracked"}};
    auto job = TrackForwardJob::start(document_, track_ids, frame_, frame_count(), TrackForwardOptions{frames});
    if (!job) return job.errors();
    TrackingRun run(std::move(job.value()));
    run.started_ms = now_ms();
    for (const TrackForwardObject& o : run.job.objects())
        if (o.state == TrackForwardState::Failed) {
            report({"cannot_track", o.track_id, o.message});
            run.reported.insert(o.track_id);
        }
    tracking_ = std::move(run);
    request_tracking_pixels();
    platform_.emit("tracking", tracking_status_json(*tracking_, "running"));
    return {};
}

void App::cancel_tracking() {
    if (!tracking_) return;
    tracking_->job.cancel();
    finish_tracking("cancelled");
}

void App::request_tracking_pixels() {
    TrackingRun& run = *tracking_;
    auto next = run.job.next_frame();
    if (!next) return;
    long long last = std::min(frame_count() - 1, run.job.last_frame());
    for (long long f = *next; f <= std::min(last, *next + kReadAhead); ++f) {
        if (run.requested.count(f) || run.arrived.count(f)) continue;
        auto ref = task_->locate_frame(f);
        if (!ref) break;
        const Media& m = task_->media[ref->media_index];
        uint64_t id = next_request_id_++;
        if (m.type == MediaType::Video) {
            if (!platform_.read_video_pixels(id, media_url(m), ref->local_frame)) {
                FetchResult failed;
                failed.error = "this platform has no video decoder";
                run.arrived[f] = std::move(failed);
                continue;
            }
        } else {
            platform_.fetch(id, media_url(m));
        }
        in_flight_[id] = Pending{Request::TrackPixels, ref->media_index, media_url(m), f};
        run.requested.insert(f);
    }
}

// Video pixels arrive ready; an image arrives as its file and is decoded here (or, for formats
// the core cannot read, by the platform, arriving again as TrackDecode).
void App::on_tracking_pixels(FetchResult& r, const Pending& p) {
    if (!tracking_) return;  // cancelled or finished meanwhile
    TrackingRun& run = *tracking_;
    run.requested.erase(p.frame);
    const Media& m = task_->media[p.media_index];
    FetchResult px;
    if (m.type == MediaType::Video || p.kind == Request::TrackDecode) {
        size_t expected = (size_t)std::max(0, r.width) * (size_t)std::max(0, r.height) * (size_t)(r.channels == 1 ? 1 : 4);
        if (r.width > 0 && r.height > 0 && r.body.size() == expected) px = std::move(r);
        else px.error = r.error.empty() ? "no pixels came back" : r.error;
    } else if (auto e = http_error(r, p.url, "image")) {
        px.error = e->message;
    } else if (auto decoded = decode_image(r.body.data(), r.body.size(), p.url)) {
        px.width = decoded->width;
        px.height = decoded->height;
        px.body = std::move(decoded->pixels);
        px.channels = 4;
    } else if (needs_platform_decoder(r.body.data(), r.body.size())) {
        uint64_t id = next_request_id_++;
        if (platform_.decode_image(id, r.body)) {
            in_flight_[id] = Pending{Request::TrackDecode, p.media_index, p.url, p.frame};
            run.requested.insert(p.frame);
            return;
        }
        px.error = decoded.first_error().message;
    } else {
        px.error = decoded.first_error().message;
    }
    if (px.width > 0) px.status = 200;
    run.arrived[p.frame] = std::move(px);
}

void App::advance_tracking() {
    if (!tracking_) return;
    TrackingRun& run = *tracking_;
    double began = now_ms();
    NewId new_id = [this] { return new_object_id(); };
    while (auto next = run.job.next_frame()) {
        auto it = run.arrived.find(*next);
        if (it == run.arrived.end()) break;
        double elapsed = now_ms() - began;
        if (run.frames_fed > 0 && elapsed > 0 && elapsed + run.feed_ms > kBudgetMs) break;
        FetchResult px = std::move(it->second);
        run.arrived.erase(it);
        double t0 = now_ms();
        if (px.status != 200) {
            run.job.frame_failed(*next, px.error);
        } else {
            FrameView view{px.width, px.height, px.width * px.channels, px.body.data(), px.channels == 1 ? PixelFormat::gray8 : PixelFormat::rgba8};
            run.job.feed(*next, view, new_id);
        }
        double took = now_ms() - t0;
        run.feed_ms = run.frames_fed == 0 ? took : 0.8 * run.feed_ms + 0.2 * took;
        ++run.frames_fed;
    }
    if (run.job.finished()) return finish_tracking("done");
    // Frames the job no longer needs (an object was lost early) are dropped.
    if (auto next = run.job.next_frame())
        for (auto it = run.arrived.begin(); it != run.arrived.end();) it = it->first < *next ? run.arrived.erase(it) : std::next(it);
    request_tracking_pixels();
    double now = now_ms();
    if (now - run.last_emit_ms >= kEmitEveryMs) {
        run.last_emit_ms = now;
        platform_.emit("tracking", tracking_status_json(run, "running"));
    }
}

void App::finish_tracking(const char* how) {
    TrackingRun run = std::move(*tracking_);
    tracking_.reset();
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
        it = it->second.kind == Request::TrackPixels || it->second.kind == Request::TrackDecode ? in_flight_.erase(it) : std::next(it);
    Command command = run.job.command(document_);
    bool written = !command.empty() && perform(std::move(command));
    for (const TrackForwardObject& o : run.job.objects())
        if ((o.state == TrackForwardState::Lost || o.state == TrackForwardState::Failed) && !run.reported.count(o.track_id))
            report({o.state == TrackForwardState::Lost ? "tracking_lost" : "tracking_failed", o.track_id, o.message});
    last_tracking_ = tracking_status_json(run, how);
    last_tracking_["written"] = written;
    last_tracking_["seconds"] = (now_ms() - run.started_ms) / 1000.0;
    platform_.emit("tracking", last_tracking_);
}

Json App::tracking_status_json(const TrackingRun& run, const char* state) const {
    Json objects = Json::array();
    for (const TrackForwardObject& o : run.job.objects())
        objects.push_back(Json{{"id", o.track_id}, {"state", to_string(o.state)}, {"frame", o.frame}, {"keyframes", o.keyframes},
                               {"confidence", o.confidence}, {"message", o.message}});
    return Json{{"state", state}, {"startFrame", run.job.start_frame()}, {"lastFrame", run.job.last_frame()},
                {"progress", run.job.progress()}, {"framesTracked", run.frames_fed}, {"objects", objects}};
}

Json App::tracking_json() const { return tracking_ ? tracking_status_json(*tracking_, "running") : last_tracking_; }

}  // namespace pm
