// The assisted polygon tools' core (live_wire, magic_wand, box_segment, mask_outline, max_flow) on
// synthetic images whose true outlines are known by construction.
#include "polymark/box_segment.hpp"
#include "polymark/live_wire.hpp"
#include "polymark/magic_wand.hpp"
#include "polymark/mask_outline.hpp"
#include "polymark/max_flow.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

using namespace pm;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Image {
    int width = 0, height = 0;
    std::vector<uint8_t> rgba;
    std::vector<uint8_t> truth;  // 1 where the pixel's centre is inside the object
    FrameView view() const { return {width, height, width * 4, rgba.data(), PixelFormat::rgba8}; }
};

uint32_t hash(uint32_t x) {
    x ^= x >> 16, x *= 0x7feb352d, x ^= x >> 15, x *= 0x846ca68b, x ^= x >> 16;
    return x;
}

// Noise of +-amplitude per channel plus a texture of stripes (none with amplitude 0: flat), over
// two base colours.
Image textured(int w, int h, const std::function<bool(double, double)>& inside, int amplitude = 20) {
    Image im{w, h, std::vector<uint8_t>(size_t(w) * h * 4), std::vector<uint8_t>(size_t(w) * h)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const bool in = inside(x + 0.5, y + 0.5);
            const size_t i = size_t(y) * w + x;
            im.truth[i] = in;
            const int base[2][3] = {{70, 100, 150}, {200, 150, 80}};
            const double stripes = amplitude == 0 ? 0 : 12 * std::sin((in ? 0.35 : 0.21) * x + (in ? 0.1 : 0.3) * y);
            for (int c = 0; c < 3; ++c) {
                const int noise = int(hash(uint32_t(i * 3 + c)) % uint32_t(2 * amplitude + 1)) - amplitude;
                im.rgba[i * 4 + c] = uint8_t(std::clamp(base[in][c] + noise + int(stripes), 0, 255));
            }
            im.rgba[i * 4 + 3] = 255;
        }
    return im;
}

struct Disc {
    double cx = 160.3, cy = 120.7, r = 70.4;
    bool operator()(double x, double y) const { return std::hypot(x - cx, y - cy) < r; }
    Vec2 at(double degrees) const { return {cx + r * std::cos(degrees * kPi / 180), cy + r * std::sin(degrees * kPi / 180)}; }
};

double iou(const Points& polygon, const Image& im) {
    size_t both = 0, either = 0;
    for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x) {
            const bool a = point_in_polygon(polygon, {x + 0.5, y + 0.5}), b = im.truth[size_t(y) * im.width + x];
            both += a && b;
            either += a || b;
        }
    return either ? double(both) / either : 0;
}

// The largest distance from the disc's circle of any point along the polyline (sampled).
double worst_distance_from_circle(const Points& path, const Disc& d) {
    double worst = 0;
    for (size_t i = 0; i + 1 < vertex_count(path); ++i) {
        const Vec2 a = vertex(path, i), b = vertex(path, i + 1);
        for (int k = 0; k <= 10; ++k) {
            const double t = k / 10.0, x = a.x + t * (b.x - a.x), y = a.y + t * (b.y - a.y);
            worst = std::max(worst, std::abs(std::hypot(x - d.cx, y - d.cy) - d.r));
        }
    }
    return worst;
}

}  // namespace

TEST_CASE("scissors: the path between two anchors on a textured disc's edge follows the edge within 1.5 px", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc);
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    for (auto [from, to] : {std::pair{0.0, 80.0}, std::pair{100.0, 190.0}, std::pair{200.0, 330.0}}) {
        REQUIRE(lw->set_anchor(disc.at(from)));
        auto path = lw->path_to(disc.at(to));
        REQUIRE(path);
        INFO("from " << from << " to " << to);
        CHECK(worst_distance_from_circle(path.value(), disc) <= 1.5);
        // Following the arc, not the chord: the path is about as long as the arc.
        double length = 0;
        for (size_t i = 0; i + 1 < vertex_count(path.value()); ++i) length += distance(vertex(path.value(), i), vertex(path.value(), i + 1));
        CHECK(length >= 0.95 * disc.r * (to - from) * kPi / 180);
    }
}

TEST_CASE("scissors: four anchors around a disc close into a polygon of IoU >= 0.95", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc);
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    Points polygon;
    const double anchors[5] = {10, 100, 190, 280, 370};
    for (int k = 0; k < 4; ++k) {
        REQUIRE(lw->set_anchor(disc.at(anchors[k])));
        auto path = lw->path_to(disc.at(anchors[k + 1]));
        REQUIRE(path);
        polygon.insert(polygon.end(), path->begin(), path->end() - 2);
    }
    CHECK(iou(polygon, im) >= 0.95);
}

TEST_CASE("scissors: the path starts at the anchor, ends at the point, and merges straight runs", "[assist]") {
    Image im = textured(100, 60, [](double, double) { return false; }, 0);
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    REQUIRE(lw->set_anchor({10.2, 30.7}));
    auto path = lw->path_to({80.9, 30.1});
    REQUIRE(path);
    REQUIRE(vertex_count(path.value()) >= 2);
    CHECK(path->front() == 10.2);
    CHECK((path.value())[1] == 30.7);
    CHECK(path->back() == 30.1);
    CHECK((path.value())[path->size() - 2] == 80.9);
    CHECK(vertex_count(path.value()) <= 6);  // a flat image: close to a straight line, not 70 pixel centres
    auto same = lw->path_to({10.5, 30.5});  // the anchor's own pixel
    REQUIRE(same);
    CHECK(vertex_count(same.value()) == 2);
}

TEST_CASE("snap: a point near the disc's edge lands on the edge, a point far from edges stays", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc, 4);
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    for (double angle : {0.0, 45.0, 120.0, 250.0}) {
        const Vec2 on = disc.at(angle);
        const Vec2 inside{disc.cx + (disc.r - 5) * std::cos(angle * kPi / 180), disc.cy + (disc.r - 5) * std::sin(angle * kPi / 180)};
        auto s = lw->snap(inside, 10);
        REQUIRE(s);
        INFO("angle " << angle);
        CHECK(s->moved);
        CHECK(std::abs(std::hypot(s->point.x - disc.cx, s->point.y - disc.cy) - disc.r) <= 1.0);
        CHECK(distance(s->point, on) <= 3.0);
    }
    auto far = lw->snap({disc.cx, disc.cy}, 8);
    REQUIRE(far);
    CHECK_FALSE(far->moved);
    CHECK(far->point.x == disc.cx);
}

TEST_CASE("wand: a noisy rectangle with specks gives IoU >= 0.95 within the vertex budget", "[assist]") {
    auto rect = [](double x, double y) { return x > 40 && x < 190 && y > 30 && y < 130; };
    Image im = textured(240, 160, rect, 25);
    // Salt specks inside the region, unlike either colour.
    for (int k = 0; k < 300; ++k) {
        const size_t i = hash(uint32_t(k + 99)) % (im.rgba.size() / 4);
        im.rgba[i * 4] = 255, im.rgba[i * 4 + 1] = 255, im.rgba[i * 4 + 2] = 255;
    }
    auto wand = magic_wand(im.view(), {100.5, 80.5}, 60, 8);
    REQUIRE(wand);
    CHECK(vertex_count(wand->polygon) <= 8);
    CHECK(vertex_count(wand->polygon) >= 4);
    CHECK(iou(wand->polygon, im) >= 0.95);
}

TEST_CASE("wand: a noisy disc gives IoU >= 0.95 with at most the budget's vertices", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc, 20);
    for (size_t budget : {12, 32}) {
        auto wand = magic_wand(im.view(), {disc.cx, disc.cy}, 70, budget);
        REQUIRE(wand);
        CHECK(vertex_count(wand->polygon) <= budget);
        CHECK(iou(wand->polygon, im) >= 0.95);
    }
}

TEST_CASE("wand: holes are inside the polygon (outer outline), and the pixel count includes them", "[assist]") {
    auto ring = [](double x, double y) { return x > 20 && x < 80 && y > 20 && y < 70 && !(x > 40 && x < 60 && y > 35 && y < 55); };
    const Image im = textured(100, 90, ring, 0);
    auto wand = magic_wand(im.view(), {25.5, 25.5}, 10, 100);
    REQUIRE(wand);
    CHECK(wand->pixels == 60u * 50u);
    CHECK(std::abs(polygon_area(wand->polygon)) == Approx(60.0 * 50.0));
}

TEST_CASE("outline: traced along pixel borders, its area is the region's pixel count, and diagonal touches do not join", "[assist]") {
    Mask m(12, 10);
    auto set = [&](int x, int y) { m.bits[size_t(y) * m.width + x] = 1; };
    for (int y = 2; y < 7; ++y)
        for (int x = 2; x < 6; ++x) set(x, y);
    set(6, 4);  // a bump
    set(1, 2);  // another
    set(6, 7);  // touches (5,6) only at a corner: another region
    Points outline = trace_outer_outline(m, 3, 3);
    CHECK(polygon_area(outline) == Approx(22.0));  // clockwise on screen: positive
    for (double v : outline) CHECK(v == std::floor(v));
    CHECK(polygon_area(trace_outer_outline(m, 6, 7)) == Approx(1.0));
    CHECK(trace_outer_outline(m, 0, 0).empty());
}

TEST_CASE("outline: simplification keeps a square's corners and respects any budget >= 3", "[assist]") {
    Mask m(40, 40);
    for (int y = 5; y < 35; ++y)
        for (int x = 5; x < 35; ++x) m.bits[size_t(y) * 40 + x] = 1;
    Points square = simplify_closed(trace_outer_outline(m, 10, 10), 0.5, 64);
    CHECK(vertex_count(square) == 4);
    CHECK(polygon_area(square) == Approx(900.0));
    Mask disc(80, 80);
    for (int y = 0; y < 80; ++y)
        for (int x = 0; x < 80; ++x) disc.bits[size_t(y) * 80 + x] = std::hypot(x + 0.5 - 40, y + 0.5 - 40) < 30;
    const Points outline = trace_outer_outline(disc, 40, 40);
    for (size_t budget : {3, 5, 10, 20}) CHECK(vertex_count(simplify_closed(outline, 0.5, budget)) <= budget);
    CHECK(vertex_count(simplify_closed(outline, 0.5, 3)) == 3);
}

TEST_CASE("max flow: the minimum cut of small graphs computed by hand", "[assist]") {
    // s->0 (3), s->1 (2), 0->1 (1), 0->t (2), 1->t (3): max flow 5.
    MaxFlowGraph g(2);
    g.add_terminal(0, 3, 2);
    g.add_terminal(1, 2, 3);
    g.add_edge(0, 1, 1, 0);
    CHECK(g.solve() == Approx(5.0));
    // A chain s->0->1->2->t with a weak middle link: the cut falls there.
    MaxFlowGraph chain(3);
    chain.add_terminal(0, 10, 0);
    chain.add_terminal(2, 0, 10);
    chain.add_edge(0, 1, 5, 5);
    chain.add_edge(1, 2, 1, 1);
    CHECK(chain.solve() == Approx(1.0));
    CHECK(chain.source_side(0));
    CHECK(chain.source_side(1));
    CHECK_FALSE(chain.source_side(2));
}

TEST_CASE("max flow: a grid's cut equals a brute-force minimum over all labellings", "[assist]") {
    // 3x3 grid, 9 nodes: 512 labellings.
    const int n = 9;
    float src[n], snk[n];
    std::vector<std::tuple<int, int, float>> edges;
    for (int i = 0; i < n; ++i) src[i] = float(hash(uint32_t(i)) % 10), snk[i] = float(hash(uint32_t(i + 50)) % 10);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x) {
            if (x < 2) edges.emplace_back(y * 3 + x, y * 3 + x + 1, float(hash(uint32_t(100 + y * 3 + x)) % 6));
            if (y < 2) edges.emplace_back(y * 3 + x, y * 3 + x + 3, float(hash(uint32_t(200 + y * 3 + x)) % 6));
        }
    MaxFlowGraph g(n);
    for (int i = 0; i < n; ++i) g.add_terminal(i, src[i], snk[i]);
    for (auto [a, b, c] : edges) g.add_edge(a, b, c, c);
    const double flow = g.solve();
    double best = std::numeric_limits<double>::infinity();
    for (int s = 0; s < (1 << n); ++s) {
        double cut = 0;
        for (int i = 0; i < n; ++i) cut += (s >> i & 1) ? snk[i] : src[i];  // on the source side: its sink link is cut
        for (auto [a, b, c] : edges)
            if ((s >> a & 1) != (s >> b & 1)) cut += c;
        best = std::min(best, cut);
    }
    CHECK(flow == Approx(best));
    double cut = 0;
    for (int i = 0; i < n; ++i) cut += g.source_side(i) ? snk[i] : src[i];
    for (auto [a, b, c] : edges)
        if (g.source_side(a) != g.source_side(b)) cut += c;
    CHECK(cut == Approx(best));
}

TEST_CASE("box to polygon: a textured disc in a loose box gives IoU >= 0.9, step by step", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc, 20);
    BoxSegmentOptions options;
    options.max_vertices = 40;
    auto seg = BoxSegmenter::start(im.view(), disc.cx - disc.r - 12, disc.cy - disc.r - 10, disc.cx + disc.r + 9, disc.cy + disc.r + 11, options);
    REQUIRE(seg);
    int steps = 0, last = 0;
    while (seg->step()) {
        ++steps;
        CHECK(seg->done() > last);
        last = seg->done();
    }
    CHECK(seg->done() == seg->total());
    CHECK(steps + 1 == seg->total());
    auto polygon = seg->result();
    REQUIRE(polygon);
    CHECK(vertex_count(polygon.value()) <= 40);
    CHECK(iou(polygon.value(), im) >= 0.9);
}

TEST_CASE("box to polygon: a box reduced to work at a smaller scale still finds the object", "[assist]") {
    auto rect = [](double x, double y) { return x > 150 && x < 450 && y > 100 && y < 300; };
    const Image im = textured(600, 400, rect, 20);
    BoxSegmentOptions options;
    options.work_pixels = 20000;  // forces a reduction of 4 or so
    auto seg = BoxSegmenter::start(im.view(), 130, 80, 470, 320, options);
    REQUIRE(seg);
    while (seg->step()) {}
    auto polygon = seg->result();
    REQUIRE(polygon);
    CHECK(iou(polygon.value(), im) >= 0.9);
}

TEST_CASE("assist tools: bad input gives an error value naming it", "[assist]") {
    const Image im = textured(50, 40, [](double x, double) { return x > 25; }, 5);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(LiveWire::create(FrameView{}).first_error().code == "empty_image");
    CHECK(LiveWire::create(FrameView{10, 10, 5, im.rgba.data(), PixelFormat::rgba8}).first_error().code == "empty_image");
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    CHECK(lw->path_to({5, 5}).first_error().code == "no_anchor");
    CHECK(lw->set_anchor({nan, 3}).first_error().code == "not_a_number");
    CHECK(lw->set_anchor({50, 3}).first_error().code == "outside_image");
    CHECK(lw->set_anchor({-0.1, 3}).first_error().code == "outside_image");
    REQUIRE(lw->set_anchor({3, 3}));
    CHECK(lw->path_to({3, 40}).first_error().code == "outside_image");
    CHECK(lw->path_to({3, std::numeric_limits<double>::infinity()}).first_error().code == "not_a_number");
    CHECK(lw->snap({3, 3}, -1).first_error().code == "bad_radius");
    CHECK(lw->snap({3, 3}, nan).first_error().code == "not_a_number");
    CHECK(lw->snap({300, 3}, 4).first_error().code == "outside_image");

    CHECK(magic_wand(FrameView{}, {1, 1}, 10, 10).first_error().code == "empty_image");
    CHECK(magic_wand(im.view(), {nan, 1}, 10, 10).first_error().code == "not_a_number");
    CHECK(magic_wand(im.view(), {1, 41}, 10, 10).first_error().code == "outside_image");
    CHECK(magic_wand(im.view(), {1, 1}, 256, 10).first_error().code == "bad_tolerance");
    CHECK(magic_wand(im.view(), {1, 1}, -1, 10).first_error().code == "bad_tolerance");
    CHECK(magic_wand(im.view(), {1, 1}, 10, 2).first_error().code == "bad_vertex_budget");

    CHECK(BoxSegmenter::start(FrameView{}, 0, 0, 10, 10).first_error().code == "empty_image");
    CHECK(BoxSegmenter::start(im.view(), 10, 10, 10, 30).first_error().code == "empty_box");
    CHECK(BoxSegmenter::start(im.view(), 10, 10, nan, 30).first_error().code == "not_a_number");
    CHECK(BoxSegmenter::start(im.view(), 60, 10, 90, 30).first_error().code == "outside_image");
    BoxSegmentOptions tiny;
    tiny.max_vertices = 2;
    CHECK(BoxSegmenter::start(im.view(), 1, 1, 30, 30, tiny).first_error().code == "bad_vertex_budget");
    // Corners in any order are one box.
    CHECK(BoxSegmenter::start(im.view(), 30, 30, 1, 1));
}

TEST_CASE("box to polygon: a box over a flat image reports no object rather than a polygon of noise", "[assist]") {
    const Image im = textured(80, 60, [](double, double) { return false; }, 0);
    auto seg = BoxSegmenter::start(im.view(), 10, 10, 70, 50);
    REQUIRE(seg);
    while (seg->step()) {}
    auto polygon = seg->result();
    if (polygon) CHECK(std::abs(polygon_area(polygon.value())) < 0.5 * 60 * 40);
    else CHECK(polygon.first_error().code == "no_object");
}

TEST_CASE("scissors: a path beyond the settle budget ends straight at the point, and idle expansion completes it", "[assist]") {
    const Disc disc;
    const Image im = textured(320, 240, disc);
    auto lw = LiveWire::create(im.view());
    REQUIRE(lw);
    REQUIRE(lw->set_anchor(disc.at(0)));
    auto partial = lw->path_to(disc.at(170), 500);
    REQUIRE(partial);
    CHECK_FALSE(lw->path_complete());
    CHECK(lw->settled() <= 500);
    CHECK(partial.value().back() == disc.at(170).y);
    CHECK(partial.value()[0] == disc.at(0).x);
    while (lw->expand(10000)) {}
    CHECK(lw->settled() == size_t(320 * 240));
    auto full = lw->path_to(disc.at(170), 500);
    REQUIRE(full);
    CHECK(lw->path_complete());
    CHECK(worst_distance_from_circle(full.value(), disc) <= 1.5);
}
