// App: "track forward" (see app.hpp, [SECTION] Track forward). The job is the core's
// TrackForwardJob; this file feeds it pixels and slices its work across UI frames.
#include "app/app.hpp"

#include <algorithm>
#include <chrono>

namespace pm {

namespace {

// Frames whose pixels are read ahead of the one the tracker needs: enough to hide a decode or a
// fetch behind the tracking of the frames before it, few enough to hold little memory (a 720p
// luma frame is 0.9 MB, RGBA 3.7 MB).
constexpr long long kReadAhead = 6;
// Progress (the `tracking` event) at most this often, and a redraw of the progress bar at most
// this often: a frame drawn per tracked frame would cost more than the tracking (the canvas is
// redrawn whole, and on a software-rendering browser that takes the core the tracker needs).
constexpr double kEmitEveryMs = 100;
constexpr double kRedrawEveryMs = 500;

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
    // In a worker when the platform has one: the job started here only checked the request.
    Json tracks = Json::array();
    for (const std::string& id : track_ids)
        if (int t = find_track(document_, id); t >= 0) tracks.push_back(track_to_json(document_.tracks[(size_t)t]));
    Json media = Json::array();
    long long first = 0;
    for (const Media& m : task_->media) {
        media.push_back(Json{{"url", media_url(m)}, {"type", m.type == MediaType::Video ? "video" : "image"}, {"first", first}, {"frames", m.frames}});
        first += m.frames;
    }
    Json spec{{"tracks", tracks}, {"ids", track_ids}, {"start", frame_}, {"frameCount", frame_count()}, {"frames", frames},
              {"lastFrame", run.job.last_frame()}, {"idPrefix", new_object_id() + "."}, {"media", media}};
    run.in_worker = platform_.start_tracking_worker(spec);
    run.worker_status = run.job.status_json("running", 0);
    tracking_ = std::move(run);
    redraw_wanted_ = true;  // the progress bar
    if (!tracking_->in_worker) request_tracking_pixels();
    platform_.emit("tracking", tracking_status_json(*tracking_, "running"));
    return {};
}

void App::tracking_worker_status(const Json& status) {
    if (!tracking_ || !tracking_->in_worker || !status.is_object()) return;
    tracking_->worker_status = status;
    tracking_->worker_status["state"] = "running";
    redraw_progress(*tracking_);
    platform_.emit("tracking", tracking_->worker_status);
}

void App::tracking_worker_done(const Json& status, const Json& written) {
    if (!tracking_ || !tracking_->in_worker) return;
    Command command;
    auto keyframes = track_written_from_json(written);
    if (keyframes) command = track_forward_command(document_, keyframes.value());
    else report({"tracking_failed", "tracking", "what the tracker wrote could not be read: " + keyframes.first_error().message});
    Json final_status = status.is_object() && status.contains("objects") ? status : tracking_->worker_status;
    std::string state = status.is_object() && status.contains("state") && status["state"].is_string() ? status["state"].get<std::string>() : "done";
    if (state == "failed") {
        std::string why = status.value("message", std::string("the tracking worker failed"));
        report({"tracking_failed", "tracking", why});
        final_status["message"] = why;
    }
    final_status["state"] = state;
    TrackingRun run = std::move(*tracking_);
    tracking_.reset();
    end_tracking(std::move(command), std::move(final_status), run);
}

void App::cancel_tracking() {
    if (!tracking_) return;
    if (tracking_->in_worker) return platform_.cancel_tracking_worker();  // it ends with its `done`
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

void App::redraw_progress(TrackingRun& run) {
    double now = now_ms();
    if (now - run.last_redraw_ms < kRedrawEveryMs) return;
    run.last_redraw_ms = now;
    redraw_wanted_ = true;
}

bool App::busy() const {
    if (playing_) return true;
    auto tracking_request = [](const Pending& p) { return p.kind == Request::TrackPixels || p.kind == Request::TrackDecode; };
    for (const auto& [id, p] : in_flight_)
        if (!tracking_request(p)) return true;
    for (const FetchResult& r : inbox_) {
        auto it = in_flight_.find(r.request_id);
        if (it != in_flight_.end() && !tracking_request(it->second)) return true;
    }
    return false;
}

int App::advance_tracking(double budget_ms) {
    if (!tracking_ || tracking_->in_worker) return 0;
    TrackingRun& run = *tracking_;
    double began = now_ms();
    long long fed_before = run.frames_fed;
    NewId new_id = [this] { return new_object_id(); };
    while (auto next = run.job.next_frame()) {
        auto it = run.arrived.find(*next);
        if (it == run.arrived.end()) break;
        double elapsed = now_ms() - began;
        if (run.frames_fed > 0 && elapsed > 0 && elapsed + run.feed_ms > budget_ms) break;
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
    int fed = (int)(run.frames_fed - fed_before);
    if (run.job.finished()) {
        finish_tracking("done");
        return fed;
    }
    // Frames the job no longer needs (an object was lost early) are dropped.
    if (auto next = run.job.next_frame())
        for (auto it = run.arrived.begin(); it != run.arrived.end();) it = it->first < *next ? run.arrived.erase(it) : std::next(it);
    request_tracking_pixels();
    double now = now_ms();
    if (now - run.last_emit_ms >= kEmitEveryMs) {
        run.last_emit_ms = now;
        redraw_progress(run);
        platform_.emit("tracking", tracking_status_json(run, "running"));
    }
    return fed;
}

void App::finish_tracking(const char* how) {
    TrackingRun run = std::move(*tracking_);
    tracking_.reset();
    for (auto it = in_flight_.begin(); it != in_flight_.end();)
        it = it->second.kind == Request::TrackPixels || it->second.kind == Request::TrackDecode ? in_flight_.erase(it) : std::next(it);
    end_tracking(run.job.command(document_), tracking_status_json(run, how), run);
}

// One ending for both kinds of run: the command, a message per object lost or failed (unless said
// at the start), the final `tracking` event.
void App::end_tracking(Command command, Json status, const TrackingRun& run) {
    bool written = !command.empty() && perform(std::move(command));
    if (status.contains("objects") && status["objects"].is_array())
        for (const Json& o : status["objects"]) {
            std::string state = o.value("state", std::string()), id = o.value("id", std::string());
            if ((state == "lost" || state == "failed") && !run.reported.count(id))
                report({state == "lost" ? "tracking_lost" : "tracking_failed", id, o.value("message", std::string())});
        }
    last_tracking_ = std::move(status);
    last_tracking_["written"] = written;
    last_tracking_["seconds"] = (now_ms() - run.started_ms) / 1000.0;
    last_tracking_["inWorker"] = run.in_worker;
    redraw_wanted_ = true;
    platform_.emit("tracking", last_tracking_);
}

Json App::tracking_status_json(const TrackingRun& run, const char* state) const { return run.job.status_json(state, run.frames_fed); }

Json App::tracking_json() const {
    if (!tracking_) return last_tracking_;
    return tracking_->in_worker ? tracking_->worker_status : tracking_status_json(*tracking_, "running");
}

}  // namespace pm
