// The tracking module: a small wasm of its own (dist/polymark_tracker.js + .wasm) that
// shell/track_worker.js runs in a Web Worker, so that "track forward" (pm::TrackForwardJob) takes
// no time from the page's thread: the page reads the frames, the worker tracks them, and the app
// merges what it wrote (track_forward_command). Depends on polymark_core only.
//
// One job at a time. Strings handed out stay valid until the next call. Frames cross as doubles.
#include "polymark/track_forward.hpp"

#include <emscripten.h>

#include <algorithm>
#include <optional>
#include <string>

namespace {

std::optional<pm::TrackForwardJob> g_job;
std::string g_id_prefix;
long long g_next_id = 1;
long long g_frames_fed = 0;
std::string g_text;

const char* hand_out(const pm::Json& j) {
    g_text = j.dump(-1, ' ', false, pm::Json::error_handler_t::replace);
    return g_text.c_str();
}

pm::Json errors_json(const pm::Errors& errors) {
    pm::Json list = pm::Json::array();
    for (const pm::Error& e : errors) list.push_back(pm::Json{{"code", e.code}, {"path", e.path}, {"message", e.message}});
    return list;
}

}  // namespace

extern "C" {

// spec: {"tracks": [track JSON], "ids": [...], "start", "frameCount", "frames", "idPrefix"}.
// Answers {"ok": true, "status": {...}} or {"ok": false, "errors": [...]}.
EMSCRIPTEN_KEEPALIVE const char* pm_tf_start(const char* spec_text) {
    g_job.reset();
    pm::Json spec = pm::Json::parse(spec_text ? spec_text : "", nullptr, false);
    auto job = pm::TrackForwardJob::from_spec(spec);
    if (!job) return hand_out(pm::Json{{"ok", false}, {"errors", errors_json(job.errors())}});
    g_job = std::move(job.value());
    g_id_prefix = spec.contains("idPrefix") && spec["idPrefix"].is_string() ? spec["idPrefix"].get<std::string>() : "tracked.";
    g_next_id = 1;
    g_frames_fed = 0;
    return hand_out(pm::Json{{"ok", true}, {"status", g_job->status_json("running", 0)}});
}

// The frame whose pixels the job needs next; -1 once it finished.
EMSCRIPTEN_KEEPALIVE double pm_tf_next() {
    if (!g_job) return -1;
    auto next = g_job->next_frame();
    return next ? (double)*next : -1;
}

// channels 1: luma, 4: RGBA; rows of `width` pixels, no padding.
EMSCRIPTEN_KEEPALIVE void pm_tf_feed(double frame, int width, int height, int channels, const uint8_t* pixels) {
    if (!g_job) return;
    pm::FrameView view{width, height, width * (channels == 1 ? 1 : 4), pixels, channels == 1 ? pm::PixelFormat::gray8 : pm::PixelFormat::rgba8};
    pm::NewId new_id = [] { return g_id_prefix + std::to_string(g_next_id++); };
    g_job->feed((long long)frame, view, new_id);
    ++g_frames_fed;
}

EMSCRIPTEN_KEEPALIVE void pm_tf_failed(double frame, const char* reason) {
    if (g_job) g_job->frame_failed((long long)frame, reason ? reason : "no pixels");
}

EMSCRIPTEN_KEEPALIVE void pm_tf_cancel() {
    if (g_job) g_job->cancel();
}

EMSCRIPTEN_KEEPALIVE const char* pm_tf_status(const char* state) {
    if (!g_job) return hand_out(pm::Json());
    return hand_out(g_job->status_json(state ? state : "running", g_frames_fed));
}

// What the job wrote (track_written_to_json), for the app to merge.
EMSCRIPTEN_KEEPALIVE const char* pm_tf_written() {
    if (!g_job) return hand_out(pm::Json::array());
    return hand_out(pm::track_written_to_json(g_job->written()));
}

}  // extern "C"
