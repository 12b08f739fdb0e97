// The web platform: the module's entry point, the functions the embedding API calls
// (polymark.js, shell/src), and the PlatformPort that talks to web_library.js. The only file of the
// web build with emscripten specifics.
#include "app/api.hpp"
#include "platform/sdl_frame.hpp"
#include "polymark/json_reader.hpp"

#include <emscripten.h>
#include <emscripten/html5.h>
#include <imgui.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>

extern "C" {
char* pm_js_options();
char* pm_js_renderer();
uint8_t* pm_js_font(int* size);
uint8_t* pm_js_extra_font(int index, int* size);
void pm_js_fetch(uint32_t id, const char* url);
void pm_js_decode(uint32_t id, const uint8_t* bytes, int size, const char* url, int crop_x, int crop_y, int crop_width, int crop_height, int level_width, int level_height);
void pm_js_emit(const char* name, const char* detail_json);
void pm_js_teardown();
void pm_js_text_input_area(int visible, float x, float y, float line_height);
void pm_js_need_glyphs(const uint32_t* code_points, int count);
void pm_js_video_frame(uint32_t id, const char* url, double frame);
int pm_js_track_start(const char* spec_json);
void pm_js_track_cancel();
int pm_js_assist(const char* request_json);
int pm_js_format_job(const char* spec_json);
void pm_js_format_cancel();
void pm_js_sync_journal(const char* json);
void pm_js_sync_request(const char* json, const char* body, int body_size);
char* pm_js_profile_call(const char* call_json);
}

namespace pm {
namespace {

class WebPlatform : public PlatformPort {
public:
    void fetch(uint64_t request_id, const std::string& url) override { pm_js_fetch((uint32_t)request_id, url.c_str()); }
    void emit(const std::string& event, const Json& detail) override { pm_js_emit(event.c_str(), detail.dump().c_str()); }
    bool decode_image(uint64_t request_id, const std::vector<uint8_t>& bytes, const std::string& url) override {
        pm_js_decode((uint32_t)request_id, bytes.data(), (int)bytes.size(), url.c_str(), 0, 0, 0, 0, 0, 0);
        return true;
    }
    // The browser decodes and shrinks the image (createImageBitmap's resize): only the level enters
    // the wasm heap. (PNGs the core reduces itself: App::advance_level_decode.)
    bool decode_image_level(uint64_t request_id, const std::vector<uint8_t>& bytes, int factor) override {
        auto header = read_image_header(bytes.data(), bytes.size());
        if (!header) return false;
        int level_w = (header->width + factor - 1) / factor, level_h = (header->height + factor - 1) / factor;
        pm_js_decode((uint32_t)request_id, bytes.data(), (int)bytes.size(), "", 0, 0, level_w * factor, level_h * factor, level_w, level_h);
        return true;
    }
    // A detail region: the browser crops and shrinks while decoding (App::advance_detail).
    bool decode_image_region(uint64_t request_id, const std::vector<uint8_t>& bytes, PixelWindow region, int level) override {
        int w = (region.width + level - 1) / level, h = (region.height + level - 1) / level;
        pm_js_decode((uint32_t)request_id, bytes.data(), (int)bytes.size(), "", region.x, region.y, w * level, h * level, w, h);
        return true;
    }
    bool show_video_frame(uint64_t request_id, const std::string& url, long long frame) override {
        pm_js_video_frame((uint32_t)request_id, url.c_str(), (double)frame);
        return true;
    }
    bool start_tracking_worker(const Json& spec) override {
        return pm_js_track_start(spec.dump(-1, ' ', false, Json::error_handler_t::replace).c_str()) != 0;
    }
    void cancel_tracking_worker() override { pm_js_track_cancel(); }
    bool assist(const Json& request) override { return pm_js_assist(request.dump().c_str()) != 0; }
    // Imports and exports run in shell/src/formats.js (the formats module in a Web Worker).
    bool start_format_job(const Json& spec) override { return pm_js_format_job(spec.dump().c_str()) != 0; }
    void cancel_format_job() override { pm_js_format_cancel(); }
    // The journal lives in IndexedDB, written by shell/src/sync.js; requests go through its fetch.
    bool sync_journal(const std::vector<JournalRecord>& put, const std::vector<std::string>& remove) override {
        Json puts = Json::array();
        for (const JournalRecord& r : put) puts.push_back(Json{{"key", r.key}, {"text", r.text}});
        pm_js_sync_journal(Json{{"put", puts}, {"delete", remove}}.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
        return true;
    }
    bool sync_request(const SyncRequest& r, const std::string& url) override {
        Json headers = Json::object();
        for (const auto& [k, v] : r.headers) headers[k] = v;
        // The body (a PATCH's JSON, often the largest part) goes beside the envelope, as it is:
        // not escaped into it and parsed out again.
        Json j{{"seq", r.seq}, {"method", r.method}, {"url", url}, {"headers", headers}, {"timeoutMs", r.timeout_ms}};
        pm_js_sync_request(j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str(), r.body.data(), (int)r.body.size());
        return true;
    }
};

struct Instance {
    WebPlatform platform;
    std::unique_ptr<App> app;
    SdlFrame frame;
};

Instance* g_instance = nullptr;
std::string g_reply;
std::optional<Error> g_profile_error;  // the `profile` mount option did not parse

// The backend profile module (polymark_profile.wasm, loaded by polymark.js for mounts with a
// profile) answers each call synchronously: both modules run on this thread.
std::string profile_module_transport(const std::string& call) {
    char* answer = pm_js_profile_call(call.c_str());
    std::string text = answer ? answer : "";
    std::free(answer);
    return text;
}

void tick() {
    if (g_instance) g_instance->frame.tick(*g_instance->app);
}

Json options_json_from_js() {
    char* text = pm_js_options();
    Json j = parse_json_or_discarded(text);
    std::free(text);
    return j.is_object() ? j : Json::object();
}

AppOptions app_options(const Json& j) {
    AppOptions o;
    auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
    o.backend = str("backend");
    o.task_id = str("task");
    if (j.contains("taskObject") && j["taskObject"].is_object()) o.task_json = j["taskObject"].dump();
    if (j.contains("annotations") && j["annotations"].is_object()) o.annotations_json = j["annotations"].dump();
    if (j.contains("frame") && j["frame"].is_number_integer()) o.initial_frame = j["frame"].get<long long>();
    // A backend profile (polymark.js fetched a named one, and the module that runs profiles):
    // annotations load and save through it. One that does not parse is kept out, and the
    // start-up fails with its errors (profile_error).
    if (j.contains("profile") && j["profile"].is_object()) {
        auto profile = ProfileClient::open(j["profile"], profile_module_transport);
        if (profile) o.profile = std::move(profile.value());
        else g_profile_error = profile.first_error();
        if (j.contains("profileContext")) o.profile_context = j["profileContext"];
    }
    // polymark.js gives `sync` (the mount option's settings plus a device id) for backend tasks
    // whose annotations come from the backend too (an inline document has no server revision),
    // and for tasks whose annotations come through a profile.
    if ((o.task_json.empty() || o.profile) && o.annotations_json.empty() && j.contains("sync") && j["sync"].is_object()) {
        const Json& s = j["sync"];
        auto num = [&](const char* k, int64_t fallback) { return s.contains(k) && s[k].is_number() ? (int64_t)s[k].get<double>() : fallback; };
        auto text = [&](const char* k) { return s.contains(k) && s[k].is_string() ? s[k].get<std::string>() : std::string(); };
        SyncConfig c;
        c.device_id = text("deviceId");
        c.user_id = text("userId");
        c.role = str("role");  // the mount option: X-Polymark-Role on a server without tokens, and what the UI offers
        o.writer_on_this_page = s.contains("writerOnThisPage") && s["writerOnThisPage"].is_boolean() && s["writerOnThisPage"].get<bool>();
        c.debounce_ms = num("debounceMs", c.debounce_ms);
        c.max_delay_ms = num("maxDelayMs", c.max_delay_ms);
        c.timeout_ms = num("timeoutMs", c.timeout_ms);
        c.backoff_base_ms = num("backoffBaseMs", c.backoff_base_ms);
        c.backoff_max_ms = num("backoffMaxMs", c.backoff_max_ms);
        c.catchup_interval_ms = num("catchupIntervalMs", 30000);
        c.seed = (uint64_t)num("seed", 0);
        o.sync = c;
    }
    return o;
}

const char* reply_ok(const Json& value) {
    g_reply = Json{{"ok", true}, {"value", value}}.dump();
    return g_reply.c_str();
}

const char* reply_errors(const Errors& errors) {
    Json list = Json::array();
    for (const Error& e : errors) list.push_back(Json{{"code", e.code}, {"path", e.path}, {"message", e.message}});
    g_reply = Json{{"ok", false}, {"errors", list}}.dump();
    return g_reply.c_str();
}

const char* dispatch(const std::string& method, std::string_view args) {
    // Diagnostics: the code points of a text that the UI font cannot draw.
    if (method == "missingGlyphs") {
        Json text = parse_json_or_discarded(args);
        if (!text.is_string()) return reply_errors({{"bad_argument", "text", "missingGlyphs needs a string"}});
        Json missing = Json::array();
        for (uint32_t c : utf8_code_points(text.get<std::string>()))
            if (c > 0xFFFF || !ImGui::GetFont()->FindGlyphNoFallback((ImWchar)c)) missing.push_back(c);
        return reply_ok(missing);
    }
    // For benchmarks: the CPU time of every frame drawn since the previous call.
    // For tests: an abort, as a bug would cause one (polymark.js remounts the instance).
    if (method == "debugAbort") std::abort();
    if (method == "takeFrameTimes") return reply_ok(Json{{"framesDrawn", g_instance->frame.frames_drawn()}, {"frameTimesMs", g_instance->frame.take_frame_times()}});
    if (method == "getRendering") {
        RenderingInfo r = g_instance->frame.rendering();
        return reply_ok(Json{{"renderer", r.renderer}, {"software", r.software}, {"drawing", r.cached ? "cached" : "direct"},
                             {"sceneCaptures", r.scene_captures}, {"reducedFrames", r.reduced_frames}});
    }
    // A call may change what is shown: the next frames are drawn. Not for the getters (a portal
    // may poll them), nor for the tracking calls: the app asks for the one frame each needs, and
    // three a call take the core a tracking worker needs on a software-rendering browser; nor for
    // an import's parts, which show nothing until importEnd (hundreds of them come a second).
    bool getter = method.rfind("get", 0) == 0;
    bool quiet = method == "trackForward" || method == "cancelTracking" || method == "importPart";
    if (!getter && !quiet) g_instance->frame.request_redraw();
    auto result = call_api(*g_instance->app, method, args, g_instance->frame.device_pixel_ratio());
    return result ? reply_ok(result.value()) : reply_errors(result.errors());
}

}  // namespace
}  // namespace pm

using namespace pm;

namespace pm {
int run_platform(int argc, char** argv);
}

extern "C" {

// Every call from the embedding API lands here: a method name and JSON arguments in, a JSON
// reply out ({"ok":true,"value":...} or {"ok":false,"errors":[...]}), valid until the next call.
EMSCRIPTEN_KEEPALIVE const char* pm_call(const char* method, const char* args) {
    if (!g_instance || !g_instance->app) return reply_errors({{"not_ready", "", "Polymark is not running"}});
    // No catch here: the web build has no exception handling. A bug that throws or traps aborts
    // the instance, and the page mounts a fresh one that replays the journal (remountOnAbort).
    return dispatch(method, args ? args : "");
}

// [SECTION] Async results: each posted to the app's inbox as a typed message, applied at the start
// of the next frame. Bytes the page allocated with malloc are freed here.

EMSCRIPTEN_KEEPALIVE void pm_fetch_done(uint32_t id, int status, uint8_t* body, int size, const char* error) {
    if (!g_instance) { std::free(body); return; }
    FetchDone r{id, status, error ? error : "", {}};
    if (body && size > 0) r.body.assign(body, body + size);
    std::free(body);
    g_instance->app->inbox().post(std::move(r));
}

// OS paste and input methods: SDL's web backend has neither. While an ImGui text field has
// focus, the page lets Ctrl+V through to the browser and hands the pasted text here, and so it
// does with the text an input method composed.
EMSCRIPTEN_KEEPALIVE int pm_wants_text() { return g_instance && ImGui::GetCurrentContext() && ImGui::GetIO().WantTextInput ? 1 : 0; }

EMSCRIPTEN_KEEPALIVE void pm_insert_text(const char* text) {
    if (!g_instance || !ImGui::GetCurrentContext() || !text) return;
    g_instance->frame.insert_text(text);
}

// A font for more characters (font may be null: the fonts already given hold them). The page
// allocates `font` with malloc; it is freed here.
EMSCRIPTEN_KEEPALIVE void pm_add_glyphs(const uint32_t* code_points, int count, uint8_t* font, int font_size) {
    if (!g_instance) { std::free(font); return; }
    std::vector<std::vector<uint8_t>> fonts;
    if (font && font_size > 0) fonts.emplace_back(font, font + font_size);
    std::free(font);
    g_instance->frame.add_fonts(std::move(fonts), std::vector<uint32_t>(code_points, code_points + std::max(0, count)));
}

EMSCRIPTEN_KEEPALIVE void pm_decode_done(uint32_t id, int width, int height, uint8_t* pixels, int size, const char* error) {
    if (!g_instance) { std::free(pixels); return; }
    ImageDecoded r{id, width, height, {}, error ? error : ""};
    if (pixels && size > 0) r.rgba.assign(pixels, pixels + size);
    std::free(pixels);
    g_instance->app->inbox().post(std::move(r));
}

// A video frame is on a texture of the page's (`texture`, a GL name this module knows: the
// picture's handle), or `error` says why not.
EMSCRIPTEN_KEEPALIVE void pm_video_done(uint32_t id, double frame, int width, int height, unsigned texture, double video_frames,
                                        double frame_seconds, const char* error) {
    if (!g_instance) return;
    g_instance->app->inbox().post(VideoFrameShown{id, (long long)frame, width, height, texture, (long long)video_frames, frame_seconds, error ? error : ""});
    g_instance->frame.request_redraw();
}

// Sync (shell/src/sync.js owns the requests, the journal in IndexedDB and the writer lock): a
// reply, a failure, a journal write, the journal read once the lock came. A call may change what
// is shown: the next frames are drawn.
EMSCRIPTEN_KEEPALIVE void pm_sync_reply(double seq, int status, const char* body) {
    if (!g_instance) return;
    g_instance->app->inbox().post(SyncReplied{(uint64_t)seq, status, body ? body : ""});
    g_instance->frame.request_redraw();
}

EMSCRIPTEN_KEEPALIVE void pm_sync_failure(double seq, int timeout) {
    if (!g_instance) return;
    g_instance->app->inbox().post(SyncFailed{(uint64_t)seq, timeout != 0});
    g_instance->frame.request_redraw();
}

EMSCRIPTEN_KEEPALIVE void pm_sync_journal_written(int ok, const char* message) {
    if (!g_instance) return;
    g_instance->app->inbox().post(JournalWritten{ok != 0, message ? message : ""});
    g_instance->frame.request_redraw();
}

// records_json: the journal's record texts, a JSON array of strings.
EMSCRIPTEN_KEEPALIVE void pm_sync_journal_read(const char* records_json, const char* device_id) {
    if (!g_instance) return;
    JournalRead read{{}, device_id ? device_id : ""};
    Json records = parse_json_or_discarded(records_json ? records_json : "");
    if (records.is_array())
        for (const Json& r : records)
            if (r.is_string()) read.records.push_back(r.get<std::string>());
    g_instance->app->inbox().post(std::move(read));
    g_instance->frame.request_redraw();
}

// The sync timer, and a catch-up when the page is shown again. Frames stop in a hidden tab, so the
// timer also applies what the inbox holds: replies go on being applied there.
EMSCRIPTEN_KEEPALIVE void pm_sync_tick() {
    if (!g_instance) return;
    g_instance->app->apply_inbox();
    g_instance->app->sync().tick();
    g_instance->frame.request_redraw();
}

EMSCRIPTEN_KEEPALIVE void pm_sync_catchup() {
    if (!g_instance) return;
    g_instance->app->sync().catchup();
    g_instance->frame.request_redraw();
}

// A tracking worker's progress, and its end with what it wrote (status and written are JSON the
// worker made: track_forward.hpp's status and track_written_to_json).
EMSCRIPTEN_KEEPALIVE void pm_tracking_progress(const char* status_json) {
    if (!g_instance) return;
    g_instance->app->inbox().post(TrackingProgress{parse_json_or_discarded(status_json ? status_json : "")});
}

EMSCRIPTEN_KEEPALIVE void pm_tracking_done(const char* status_json, const char* written_json) {
    if (!g_instance) return;
    Json status = parse_json_or_discarded(status_json ? status_json : "");
    Json written = parse_json_or_discarded(written_json ? written_json : "");
    g_instance->app->inbox().post(TrackingFinished{status.is_discarded() ? Json() : status, written.is_discarded() ? Json::array() : written});
}

// A reply of the assist worker (shell/src/assist.js), as JSON the worker made.
EMSCRIPTEN_KEEPALIVE void pm_assist_reply(const char* reply_json) {
    if (!g_instance) return;
    Json reply = parse_json_or_discarded(reply_json ? reply_json : "");
    if (!reply.is_object()) return;
    g_instance->app->inbox().post(AssistReplied{std::move(reply)});
    g_instance->frame.request_redraw();
}

EMSCRIPTEN_KEEPALIVE void pm_resize(int css_width, int css_height) {
    if (g_instance && css_width > 0 && css_height > 0) {
        g_instance->app->inbox().post(CanvasResized{css_width, css_height});
        g_instance->frame.request_redraw();
    }
}

EMSCRIPTEN_KEEPALIVE void pm_destroy() {
    emscripten_cancel_main_loop();
    if (g_instance) {
        g_instance->frame.shutdown();
        delete g_instance;
        g_instance = nullptr;
    }
    pm_js_teardown();
}

}  // extern "C"

int pm::run_platform(int, char**) {
    g_instance = new Instance();
    Json js_options = options_json_from_js();
    AppOptions options = app_options(js_options);
    FrameConfig config;
    if (js_options.contains("width") && js_options["width"].is_number()) config.width = std::max(1, js_options["width"].get<int>());
    if (js_options.contains("height") && js_options["height"].is_number()) config.height = std::max(1, js_options["height"].get<int>());
    if (js_options.value("drawing", "") == "cached") config.drawing = FrameConfig::Drawing::Cached;
    if (js_options.value("drawing", "") == "direct") config.drawing = FrameConfig::Drawing::Direct;
    int font_size = 0;
    uint8_t* font = pm_js_font(&font_size);
    if (font) config.font_ttf.assign(font, font + font_size);
    std::free(font);
    for (int i = 0;; ++i) {
        int size = 0;
        uint8_t* bytes = pm_js_extra_font(i, &size);
        if (!bytes) break;
        config.extra_fonts.emplace_back(bytes, bytes + size);
        std::free(bytes);
    }
    if (js_options.contains("glyphs") && js_options["glyphs"].is_string()) config.extra_code_points = utf8_code_points(js_options["glyphs"].get<std::string>());
    g_instance->app = std::make_unique<App>(g_instance->platform, options);
    // The journal, read before the module started; null while another tab holds the task.
    if (options.sync && js_options["sync"].contains("journal") && js_options["sync"]["journal"].is_array()) {
        std::vector<std::string> records;
        for (const Json& r : js_options["sync"]["journal"])
            if (r.is_string()) records.push_back(r.get<std::string>());
        g_instance->app->sync().start(std::move(records));
    }
    if (js_options.contains("token") && js_options["token"].is_string() && !js_options["token"].get<std::string>().empty())
        g_instance->app->sync().set_token(js_options["token"].get<std::string>());
    g_instance->frame.on_text_input_area = [](bool visible, float x, float y, float line_height) {
        pm_js_text_input_area(visible ? 1 : 0, x, y, line_height);
    };
    g_instance->frame.on_missing_glyphs = [](const std::vector<uint32_t>& code_points) {
        pm_js_need_glyphs(code_points.data(), (int)code_points.size());
    };
    // The web build has no built-in font (cmake/imgui_web_sources.cmake): without the page's
    // there is nothing to draw text with. polymark.js does not mount without it; this is the
    // same refusal for a page that would.
    if (config.font_ttf.empty()) {
        g_instance->platform.emit("error", Json{{"code", "load_failed"}, {"message", "the UI font (fonts/ui-latin.ttf) was not given to the module"},
                                                {"where", "fonts/ui-latin.ttf"}, {"fatal", true}});
        return 0;
    }
    std::string failure = g_instance->frame.init(config);
    if (!failure.empty()) {
        g_instance->platform.emit("error", Json{{"code", "webgl2_unavailable"}, {"message", failure}, {"where", "canvas"}, {"fatal", true}});
        return 0;
    }
    g_instance->frame.set_canvas_pixels = [](int width, int height) { emscripten_set_canvas_element_size("#canvas", width, height); };
    char* renderer = pm_js_renderer();
    g_instance->frame.set_renderer(renderer ? renderer : "");
    std::free(renderer);
    if (g_profile_error) {
        Error e = *g_profile_error;
        g_instance->platform.emit("error", Json{{"code", e.code}, {"message", "the backend profile is invalid at " + e.path + ": " + e.message},
                                                {"where", "options.profile" + e.path}, {"fatal", true}});
        return 0;
    }
    g_instance->app->start();
    emscripten_set_main_loop(tick, 0, false);
    return 0;
}
