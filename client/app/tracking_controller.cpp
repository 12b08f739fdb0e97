#include "app/tracking_controller.hpp"

#include <chrono>

namespace pm {

namespace {

// A redraw of the progress bar at most this often: a frame drawn per tracked frame would cost more
// than the tracking (the canvas is redrawn whole, and on a software-rendering browser that takes
// the core the tracker needs).
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
    Run run;
    run.started_ms = now_ms();
    for (const TrackForwardObject& o : job->objects())
        if (o.state == TrackForwardState::Failed) {
            notices_.report({"cannot_track", o.track_id, o.message});
            run.reported.insert(o.track_id);
        }
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
              {"lastFrame", job->last_frame()}, {"idPrefix", session_.new_object_id() + "."}, {"media", media}};
    if (!platform_.start_tracking_worker(spec))
        return {Error{"no_worker", "tracking", "tracking needs a worker to run in, and this platform has none"}};
    run.worker_status = job->status_json("running", 0);
    run_ = std::move(run);
    redraw_wanted_ = true;  // the progress bar
    platform_.emit("tracking", run_->worker_status);
    return {};
}

void TrackingController::on_worker_progress(const TrackingProgress& progress) {
    if (!run_ || !progress.status.is_object()) return;
    run_->worker_status = progress.status;
    run_->worker_status["state"] = "running";
    redraw_progress(*run_);
    platform_.emit("tracking", run_->worker_status);
}

void TrackingController::on_worker_finished(const TrackingFinished& finished) {
    if (!run_) return;
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
    if (run_) platform_.cancel_tracking_worker();  // the run ends with the worker's `done`
}

void TrackingController::redraw_progress(Run& run) {
    double now = now_ms();
    if (now - run.last_redraw_ms < kRedrawEveryMs) return;
    run.last_redraw_ms = now;
    redraw_wanted_ = true;
}

// The end of a run: the command, a message per object lost or failed (unless said at the start),
// the final `tracking` event.
void TrackingController::end(Command command, Json status, const Run& run) {
    bool written = !command.empty() && session_.perform(std::move(command), /*by_person=*/false);
    if (status.contains("objects") && status["objects"].is_array())
        for (const Json& o : status["objects"]) {
            std::string state = o.value("state", std::string()), id = o.value("id", std::string());
            if ((state == "lost" || state == "failed") && !run.reported.count(id))
                notices_.report({state == "lost" ? "tracking_lost" : "tracking_failed", id, o.value("message", std::string())});
        }
    last_status_ = std::move(status);
    last_status_["written"] = written;
    last_status_["seconds"] = (now_ms() - run.started_ms) / 1000.0;
    if (!last_status_.contains("inWorker")) last_status_["inWorker"] = true;  // the web's says whether a Web Worker ran it
    redraw_wanted_ = true;
    platform_.emit("tracking", last_status_);
}

Json TrackingController::status_json() const {
    if (!run_) return last_status_;
    return run_->worker_status;
}

}  // namespace pm
