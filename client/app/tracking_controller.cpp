#include "app/tracking_controller.hpp"

#include "polymark/image_decode.hpp"

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

void TrackingController::attach(const Task& task, BackendUrls urls) {
    task_ = &task;
    urls_ = std::move(urls);
}

Errors TrackingController::start(const std::vector<std::string>& track_ids, long long from_frame, long long frames) {
    if (!task_) return {Error{"not_ready", "", "the task is still loading"}};
    if (run_) return {Error{"busy", "tracking", "tracking is already running: cancel it first"}};
    if (frames < 0) return {Error{"bad_argument", "frames", "frames must be 0 (until lost) or more"}};
    if (session_.refusal && session_.refusal()) return {Error{"read_only", "", "the annotations are not editable here yet: nothing was tracked"}};
    const Document& document = session_.document();
    auto job = TrackForwardJob::start(document, track_ids, from_frame, frame_count(), TrackForwardOptions{frames});
    if (!job) return job.errors();
    Run run(std::move(job.value()));
    run.started_ms = now_ms();
    for (const TrackForwardObject& o : run.job.objects())
        if (o.state == TrackForwardState::Failed) {
            notices_.report({"cannot_track", o.track_id, o.message});
            run.reported.insert(o.track_id);
        }
    // In a worker when the platform has one: the job started here only checked the request.
    Json tracks = Json::array();
    for (const std::string& id : track_ids)
        if (int t = find_track(document, id); t >= 0) tracks.push_back(track_to_json(document.tracks[(size_t)t]));
    Json media = Json::array();
    long long first = 0;
    for (const Media& m : task_->media) {
        media.push_back(Json{{"url", urls_.media(m)}, {"type", m.type == MediaType::Video ? "video" : "image"}, {"first", first}, {"frames", m.frames}});
        first += m.frames;
    }
    Json spec{{"tracks", tracks}, {"ids", track_ids}, {"start", from_frame}, {"frameCount", frame_count()}, {"frames", frames},
              {"lastFrame", run.job.last_frame()}, {"idPrefix", session_.new_object_id() + "."}, {"media", media}};
    run.in_worker = platform_.start_tracking_worker(spec);
    run.worker_status = run.job.status_json("running", 0);
    run_ = std::move(run);
    redraw_wanted_ = true;  // the progress bar
    if (!run_->in_worker) request_pixels();
    platform_.emit("tracking", run_status_json(*run_, "running"));
    return {};
}

void TrackingController::on_worker_progress(const TrackingProgress& progress) {
    if (!run_ || !run_->in_worker || !progress.status.is_object()) return;
    run_->worker_status = progress.status;
    run_->worker_status["state"] = "running";
    redraw_progress(*run_);
    platform_.emit("tracking", run_->worker_status);
}

void TrackingController::on_worker_finished(const TrackingFinished& finished) {
    if (!run_ || !run_->in_worker) return;
    const Json& status = finished.status;
    Command command;
    auto keyframes = track_written_from_json(finished.written.is_null() ? Json::array() : finished.written);
    if (keyframes) command = track_forward_command(session_.document(), keyframes.value());
    else notices_.report({"tracking_failed", "tracking", "what the tracker wrote could not be read: " + keyframes.first_error().message});
    Json final_status = status.is_object() && status.contains("objects") ? status : run_->worker_status;
    std::string state = status.is_object() && status.contains("state") && status["state"].is_string() ? status["state"].get<std::string>() : "done";
    if (state == "failed") {
        std::string why = status.value("message", std::string("the tracking worker failed"));
        notices_.report({"tracking_failed", "tracking", why});
        final_status["message"] = why;
    }
    final_status["state"] = state;
    Run run = std::move(*run_);
    run_.reset();
    end(std::move(command), std::move(final_status), run);
}

void TrackingController::cancel() {
    if (!run_) return;
    if (run_->in_worker) return platform_.cancel_tracking_worker();  // it ends with its `done`
    run_->job.cancel();
    finish("cancelled");
}

void TrackingController::request_pixels() {
    Run& run = *run_;
    auto next = run.job.next_frame();
    if (!next) return;
    long long last = std::min(frame_count() - 1, run.job.last_frame());
    for (long long f = *next; f <= std::min(last, *next + kReadAhead); ++f) {
        if (run.requested.count(f) || run.arrived.count(f)) continue;
        auto ref = task_->locate_frame(f);
        if (!ref) break;
        const Media& m = task_->media[ref->media_index];
        std::string url = urls_.media(m);
        uint64_t id = requests_.new_id();
        if (m.type == MediaType::Video) {
            if (!platform_.read_video_pixels(id, url, ref->local_frame)) {
                run.arrived[f] = Pixels::failed("this platform has no video decoder");
                continue;
            }
        } else {
            platform_.fetch(id, url);
        }
        requests_.expect(id, {RequestKind::TrackPixels, ref->media_index, url, f});
        run.requested.insert(f);
    }
}

void TrackingController::arrived(long long frame, Pixels pixels) {
    run_->requested.erase(frame);
    run_->arrived[frame] = std::move(pixels);
}

void TrackingController::on_video_pixels(const PendingRequest& p, VideoPixelsRead& r) {
    if (!run_) return;  // cancelled or finished meanwhile
    size_t expected = (size_t)std::max(0, r.width) * (size_t)std::max(0, r.height) * (size_t)(r.channels == 1 ? 1 : 4);
    if (r.width > 0 && r.height > 0 && r.pixels.size() == expected) arrived(p.frame, Pixels{true, {}, r.width, r.height, r.channels, std::move(r.pixels)});
    else arrived(p.frame, Pixels::failed(r.error.empty() ? "no pixels came back" : r.error));
}

void TrackingController::on_pixels_decoded(const PendingRequest& p, ImageDecoded& r) {
    if (!run_) return;
    if (r.width > 0 && r.height > 0 && r.rgba.size() == (size_t)r.width * r.height * 4) arrived(p.frame, Pixels{true, {}, r.width, r.height, 4, std::move(r.rgba)});
    else arrived(p.frame, Pixels::failed(r.error.empty() ? "no pixels came back" : r.error));
}

// An image arrives as its file; the platform decodes it, and it arrives again as an ImageDecoded.
void TrackingController::on_pixels_fetched(const PendingRequest& p, FetchDone& r) {
    if (!run_) return;
    if (auto e = http_error(r.status, r.error, p.url, "image")) return arrived(p.frame, Pixels::failed(e->message));
    uint64_t id = requests_.new_id();
    if (!platform_.decode_image(id, r.body)) return arrived(p.frame, Pixels::failed("this platform has no image decoder"));
    requests_.expect(id, {RequestKind::TrackDecode, p.media_index, p.url, p.frame});  // still requested
}

void TrackingController::redraw_progress(Run& run) {
    double now = now_ms();
    if (now - run.last_redraw_ms < kRedrawEveryMs) return;
    run.last_redraw_ms = now;
    redraw_wanted_ = true;
}

int TrackingController::advance(double budget_ms) {
    if (!run_ || run_->in_worker) return 0;
    Run& run = *run_;
    double began = now_ms();
    long long fed_before = run.frames_fed;
    NewId new_id = [this] { return session_.new_object_id(); };
    while (auto next = run.job.next_frame()) {
        auto it = run.arrived.find(*next);
        if (it == run.arrived.end()) break;
        double elapsed = now_ms() - began;
        if (run.frames_fed > 0 && elapsed > 0 && elapsed + run.feed_ms > budget_ms) break;
        Pixels px = std::move(it->second);
        run.arrived.erase(it);
        double t0 = now_ms();
        if (!px.ok) {
            run.job.frame_failed(*next, px.error);
        } else {
            FrameView view{px.width, px.height, px.width * px.channels, px.bytes.data(), px.channels == 1 ? PixelFormat::gray8 : PixelFormat::rgba8};
            run.job.feed(*next, view, new_id);
        }
        double took = now_ms() - t0;
        run.feed_ms = run.frames_fed == 0 ? took : 0.8 * run.feed_ms + 0.2 * took;
        ++run.frames_fed;
    }
    int fed = (int)(run.frames_fed - fed_before);
    if (run.job.finished()) {
        finish("done");
        return fed;
    }
    // Frames the job no longer needs (an object was lost early) are dropped.
    if (auto next = run.job.next_frame())
        for (auto it = run.arrived.begin(); it != run.arrived.end();) it = it->first < *next ? run.arrived.erase(it) : std::next(it);
    request_pixels();
    double now = now_ms();
    if (now - run.last_emit_ms >= kEmitEveryMs) {
        run.last_emit_ms = now;
        redraw_progress(run);
        platform_.emit("tracking", run_status_json(run, "running"));
    }
    return fed;
}

void TrackingController::finish(const char* how) {
    Run run = std::move(*run_);
    run_.reset();
    requests_.forget_tracking();
    end(run.job.command(session_.document()), run_status_json(run, how), run);
}

// One ending for both kinds of run: the command, a message per object lost or failed (unless said
// at the start), the final `tracking` event.
void TrackingController::end(Command command, Json status, const Run& run) {
    bool written = !command.empty() && session_.perform(std::move(command));
    if (status.contains("objects") && status["objects"].is_array())
        for (const Json& o : status["objects"]) {
            std::string state = o.value("state", std::string()), id = o.value("id", std::string());
            if ((state == "lost" || state == "failed") && !run.reported.count(id))
                notices_.report({state == "lost" ? "tracking_lost" : "tracking_failed", id, o.value("message", std::string())});
        }
    last_status_ = std::move(status);
    last_status_["written"] = written;
    last_status_["seconds"] = (now_ms() - run.started_ms) / 1000.0;
    last_status_["inWorker"] = run.in_worker;
    redraw_wanted_ = true;
    platform_.emit("tracking", last_status_);
}

Json TrackingController::status_json() const {
    if (!run_) return last_status_;
    return run_->in_worker ? run_->worker_status : run_status_json(*run_, "running");
}

}  // namespace pm
