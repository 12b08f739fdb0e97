// The assisted polygon tools' module: a small wasm of its own (dist/polymark_assist.js + .wasm) that
// shell/workers/assist_worker.js runs in a Web Worker, fetched only when a labeler first uses one
// of the tools. It holds one image (its pixels and the live-wire's edge costs) and answers
// scissors paths, magic wand and snap requests on it, and runs one box-to-polygon job in steps.
// Depends on polymark_core only.
//
// Every call returns 0 on success (results in the result buffer: pm_assist_result /
// pm_assist_result_size, doubles) or 1 with the error in pm_assist_error_code / _message.
#include "polymark/box_segment.hpp"
#include "polymark/live_wire.hpp"
#include "polymark/magic_wand.hpp"

#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

uint8_t* g_pixels = nullptr;  // malloc'ed by the page's side, owned here once handed over
int g_width = 0, g_height = 0;
std::optional<pm::LiveWire> g_wire;
std::optional<pm::BoxSegmenter> g_box;
std::vector<double> g_result;
pm::Error g_error;

pm::FrameView image() { return {g_width, g_height, g_width * 4, g_pixels, pm::PixelFormat::rgba8}; }

int fail(pm::Error e) {
    g_error = std::move(e);
    return 1;
}

int no_image() { return fail({"no_image", "", "no image has been set"}); }

// A count from JS (a double): -1 for anything that is not a number, clamped otherwise.
long long whole(double v, long long hi) { return std::isfinite(v) ? (long long)std::clamp(std::floor(v), -1.0, double(hi)) : -1; }

int points(const pm::Points& p) {
    g_result = p;
    return 0;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* pm_assist_error_code() { return g_error.code.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* pm_assist_error_message() { return g_error.message.c_str(); }
EMSCRIPTEN_KEEPALIVE const double* pm_assist_result() { return g_result.data(); }
EMSCRIPTEN_KEEPALIVE int pm_assist_result_size() { return int(g_result.size()); }

// Runs the live-wire's setup and a path on a small generated image, once, right after the module
// loads: a browser first runs wasm in its baseline compiler's code and optimises the functions
// that turn out hot, so the labeler's first image would otherwise be set up at half speed.
EMSCRIPTEN_KEEPALIVE void pm_assist_warm() {
    const int n = 384;
    std::vector<uint8_t> rgba(size_t(n) * n * 4);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            uint8_t* p = &rgba[(size_t(y) * n + x) * 4];
            const bool inside = (x - 190) * (x - 190) + (y - 170) * (y - 170) < 120 * 120;
            p[0] = uint8_t(inside ? 200 : 60 + (x * 7 + y * 3) % 40), p[1] = uint8_t(inside ? 150 : 90), p[2] = uint8_t(inside ? 80 : 140), p[3] = 255;
        }
    auto wire = pm::LiveWire::create({n, n, n * 4, rgba.data(), pm::PixelFormat::rgba8});
    if (wire && wire->set_anchor({70.5, 170.5})) wire->path_to({310.5, 170.5});
}

// Takes over `pixels` (RGBA, rows of `width` pixels, from malloc) and computes the edge costs.
// The previous image is dropped; a box job keeps its own copy of its pixels and goes on.
EMSCRIPTEN_KEEPALIVE int pm_assist_image(int width, int height, uint8_t* pixels) {
    g_wire.reset();
    std::free(g_pixels);
    g_pixels = pixels;
    g_width = width;
    g_height = height;
    auto wire = pm::LiveWire::create(image());
    if (!wire) {
        std::free(g_pixels);
        g_pixels = nullptr;
        g_width = g_height = 0;
        return fail(wire.first_error());
    }
    g_wire = std::move(wire.value());
    return 0;
}

EMSCRIPTEN_KEEPALIVE int pm_assist_anchor(double x, double y) {
    if (!g_wire) return no_image();
    auto r = g_wire->set_anchor({x, y});
    return r ? 0 : fail(r.first_error());
}

// At most this many pixels settled per path request (about 20-40 ms in wasm on this machine):
// beyond it the path ends straight at the point, and pm_assist_expand catches up in idle time.
constexpr size_t kPathBudget = 300000;

EMSCRIPTEN_KEEPALIVE int pm_assist_path(double x, double y) {
    if (!g_wire) return no_image();
    auto r = g_wire->path_to({x, y}, kPathBudget);
    return r ? points(r.value()) : fail(r.first_error());
}

// Idle time: settles up to `pixels` more from the current anchor; 1 while there is more to do.
EMSCRIPTEN_KEEPALIVE int pm_assist_expand(int pixels) { return g_wire && g_wire->expand(size_t(std::max(pixels, 0))) ? 1 : 0; }

// Result: x, y, moved (1 or 0).
EMSCRIPTEN_KEEPALIVE int pm_assist_snap(double x, double y, double radius) {
    if (!g_wire) return no_image();
    auto r = g_wire->snap({x, y}, radius);
    if (!r) return fail(r.first_error());
    g_result = {r->point.x, r->point.y, r->moved ? 1.0 : 0.0};
    return 0;
}

EMSCRIPTEN_KEEPALIVE int pm_assist_wand(double x, double y, double tolerance, double max_vertices) {
    if (!g_wire) return no_image();
    const long long budget = whole(max_vertices, 100000);
    if (budget < 0) return fail({"bad_vertex_budget", "", "max_vertices must be a number of at least 3"});
    auto r = pm::magic_wand(image(), {x, y}, int(whole(tolerance, 256)), size_t(budget));
    return r ? points(r->polygon) : fail(r.first_error());
}

EMSCRIPTEN_KEEPALIVE int pm_assist_box_start(double x1, double y1, double x2, double y2, double max_vertices) {
    g_box.reset();
    if (!g_wire) return no_image();
    const long long budget = whole(max_vertices, 100000);
    if (budget < 0) return fail({"bad_vertex_budget", "", "max_vertices must be a number of at least 3"});
    pm::BoxSegmentOptions options;
    options.max_vertices = size_t(budget);
    auto s = pm::BoxSegmenter::start(image(), x1, y1, x2, y2, options);
    if (!s) return fail(s.first_error());
    g_box = std::move(s.value());
    return 0;
}

// One step of the box job; returns the steps done (the total: pm_assist_box_total), -1 without a job.
EMSCRIPTEN_KEEPALIVE int pm_assist_box_step() {
    if (!g_box) return -1;
    g_box->step();
    return g_box->done();
}

EMSCRIPTEN_KEEPALIVE int pm_assist_box_total() { return g_box ? g_box->total() : 0; }

// Once the job finished: its polygon (and the job is dropped).
EMSCRIPTEN_KEEPALIVE int pm_assist_box_result() {
    if (!g_box || !g_box->finished()) return fail({"no_job", "", "no box job has finished"});
    auto r = g_box->result();
    g_box.reset();
    return r ? points(r.value()) : fail(r.first_error());
}

EMSCRIPTEN_KEEPALIVE void pm_assist_box_cancel() { g_box.reset(); }

}  // extern "C"
