#include "polymark/tracker.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using namespace pm;

namespace {

// A smooth random texture: the sum of a few random blobs on a grey level, values in 0..255.
struct Texture {
    int size = 0;
    std::vector<float> v;
    Texture(int n, uint32_t seed, int blobs, double radius) : size(n), v(size_t(n) * n, 128.f) {
        std::mt19937 rng(seed);
        auto unit = [&] { return double(rng()) / 4294967296.0; };
        for (int b = 0; b < blobs; ++b) {
            double bx = unit() * n, by = unit() * n, r = radius * (0.4 + unit());
            double amp = (unit() - 0.5) * 160;
            int x0 = std::max(0, int(bx - 3 * r)), x1 = std::min(n - 1, int(bx + 3 * r));
            int y0 = std::max(0, int(by - 3 * r)), y1 = std::min(n - 1, int(by + 3 * r));
            for (int y = y0; y <= y1; ++y)
                for (int x = x0; x <= x1; ++x) {
                    double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (r * r);
                    v[size_t(y) * n + x] += float(amp * std::exp(-d2));
                }
        }
        for (float& f : v) f = std::min(255.f, std::max(0.f, f));
    }
    // Bilinear, in texture pixels; clamped.
    float at(double x, double y) const {
        x = std::min(std::max(x, 0.0), size - 1.001);
        y = std::min(std::max(y, 0.0), size - 1.001);
        int ix = int(x), iy = int(y);
        double fx = x - ix, fy = y - iy;
        const float* r0 = &v[size_t(iy) * size + ix];
        const float* r1 = r0 + size;
        return float((r0[0] * (1 - fx) + r0[1] * fx) * (1 - fy) + (r1[0] * (1 - fx) + r1[1] * fx) * fy);
    }
};

const Texture& background() {
    static Texture t(400, 7, 300, 14);
    return t;
}
const Texture& object_texture() {
    static Texture t(128, 11, 60, 9);
    return t;
}
const Texture& other_object_texture() {
    static Texture t(128, 23, 60, 9);
    return t;
}

struct Scene {
    int w = 320, h = 240;
    Rect object;             // where the object is; its texture is stretched over the box
    double angle = 0;        // the object turned about its centre, radians, clockwise on screen
    bool occluded = false;   // a flat grey card, 12 px larger on every side, covers the object
    double morph = 0;        // 0..1: the object's look blends into another texture
    double bg_shift = 0;     // the background moved left by this many pixels (a panning camera)
    std::vector<uint8_t> pixels;

    FrameView render() {
        pixels.assign(size_t(w) * h, 0);
        const Texture& bg = background();
        const Texture& ob = object_texture();
        const Texture& ob2 = other_object_texture();
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                double px = x + 0.5, py = y + 0.5;
                float v = bg.at(px + bg_shift, py);
                const double ocx = object.x + object.w / 2, ocy = object.y + object.h / 2;
                const double c = std::cos(angle), sn = std::sin(angle);
                const double rx = c * (px - ocx) + sn * (py - ocy), ry = -sn * (px - ocx) + c * (py - ocy);
                double u = rx / object.w + 0.5, t = ry / object.h + 0.5;
                if (u >= 0 && u < 1 && t >= 0 && t < 1) {
                    v = ob.at(u * (ob.size - 1), t * (ob.size - 1));
                    if (morph > 0) v += float(morph) * (ob2.at(u * (ob2.size - 1), t * (ob2.size - 1)) - v);
                }
                if (occluded && px > object.x - 12 && px < object.x + object.w + 12 && py > object.y - 12 &&
                    py < object.y + object.h + 12)
                    v = 100.f;
                pixels[size_t(y) * w + x] = uint8_t(std::lround(v));
            }
        return FrameView{w, h, w, pixels.data(), PixelFormat::gray8};
    }
};

}  // namespace

TEST_CASE("the tracker recovers a known translation within a pixel", "[tracker]") {
    Scene scene;
    scene.object = {100, 80, 40, 40};
    Tracker tracker;
    REQUIRE(tracker.init(scene.render(), scene.object).ok());
    for (int i = 0; i < 20; ++i) {
        scene.object.x += 2.3;
        scene.object.y -= 1.4;
        auto r = tracker.update(scene.render());
        REQUIRE(r.ok());
        CHECK_FALSE(r->lost);
        CHECK(std::abs((r->box.x + r->box.w / 2) - (scene.object.x + scene.object.w / 2)) < 1.0);
        CHECK(std::abs((r->box.y + r->box.h / 2) - (scene.object.y + scene.object.h / 2)) < 1.0);
    }
}

TEST_CASE("the tracker recovers a growing and a shrinking object within 5 percent", "[tracker]") {
    for (double factor : {1.01, 1 / 1.01}) {
        Scene scene;
        scene.object = {130, 90, 60, 48};
        Tracker tracker;
        REQUIRE(tracker.init(scene.render(), scene.object).ok());
        TrackResult last;
        for (int i = 0; i < 25; ++i) {
            double cx = scene.object.x + scene.object.w / 2, cy = scene.object.y + scene.object.h / 2;
            scene.object.w *= factor;
            scene.object.h *= factor;
            scene.object.x = cx - scene.object.w / 2 + 0.8;
            scene.object.y = cy - scene.object.h / 2;
            auto r = tracker.update(scene.render());
            REQUIRE(r.ok());
            last = r.value();
        }
        CAPTURE(factor, last.box.w, scene.object.w);
        CHECK_FALSE(last.lost);
        CHECK(std::abs(last.box.w / scene.object.w - 1) < 0.05);
        CHECK(std::abs(last.box.h / scene.object.h - 1) < 0.05);
    }
}

TEST_CASE("the tracker follows an in-plane rotation and turns the polygon with it", "[tracker]") {
    Scene scene;
    scene.object = {130, 90, 56, 56};
    Tracker tracker;
    REQUIRE(tracker.init(scene.render(), scene.object).ok());
    const double step = 1.5 * 3.14159265358979 / 180;
    TrackResult last;
    for (int i = 0; i < 20; ++i) {
        scene.angle += step;
        scene.object.x += 1.0;
        auto r = tracker.update(scene.render());
        REQUIRE(r.ok());
        CHECK_FALSE(r->lost);
        last = r.value();
    }
    CAPTURE(last.angle, scene.angle);
    CHECK(std::abs(last.angle - scene.angle) < 5 * 3.14159265358979 / 180);
    // A corner of the first box, moved by the motion since the start, lands near the true corner.
    const double cx = scene.object.x + 28, cy = scene.object.y + 28;
    const double c = std::cos(scene.angle), sn = std::sin(scene.angle);
    std::vector<double> corner = move_polygon({130, 90}, last.since_start);
    CHECK(std::hypot(corner[0] - (cx + c * -28 - sn * -28), corner[1] - (cy + sn * -28 + c * -28)) < 3.0);
}

TEST_CASE("the tracker reports loss when the object is fully occluded and finds it again", "[tracker]") {
    Scene scene;
    scene.object = {140, 100, 44, 44};
    Tracker tracker;
    REQUIRE(tracker.init(scene.render(), scene.object).ok());
    for (int i = 0; i < 5; ++i) {
        auto r = tracker.update(scene.render());
        REQUIRE(r.ok());
        CHECK_FALSE(r->lost);
    }
    scene.occluded = true;
    for (int i = 0; i < 5; ++i) {
        auto r = tracker.update(scene.render());
        REQUIRE(r.ok());
        CHECK(r->lost);
        CHECK(r->confidence < 0.2);
    }
    scene.occluded = false;
    auto r = tracker.update(scene.render());
    REQUIRE(r.ok());
    CHECK_FALSE(r->lost);
    CHECK(std::abs(r->box.x - scene.object.x) < 1.0);
}

TEST_CASE("the tracker reports loss when the object leaves the frame", "[tracker]") {
    Scene scene;
    scene.object = {230, 100, 40, 40};
    Tracker tracker;
    REQUIRE(tracker.init(scene.render(), scene.object).ok());
    bool lost_once_out = false, lost_while_inside = false;
    for (int i = 0; i < 40; ++i) {
        scene.object.x += 4;
        auto r = tracker.update(scene.render());
        REQUIRE(r.ok());
        if (scene.object.x + scene.object.w < scene.w - 2 && r->lost) lost_while_inside = true;
        if (scene.object.x >= scene.w) lost_once_out = r->lost;
    }
    CHECK_FALSE(lost_while_inside);
    CHECK(lost_once_out);
}

// A jump (camera shake, a dropped frame) puts the object beyond the search window's reach: only
// the search of the windows around finds it; without it the tracker stays behind.
TEST_CASE("the tracker finds an object that jumped out of its search window", "[tracker]") {
    for (int redetect : {1, 0}) {
        Scene scene;
        scene.object = {90, 90, 40, 40};
        TrackerParams params;
        params.redetect = redetect;
        Tracker tracker(params);
        REQUIRE(tracker.init(scene.render(), scene.object).ok());
        for (int i = 0; i < 8; ++i) {
            scene.object.x += 1;
            REQUIRE(tracker.update(scene.render()).ok());
        }
        scene.object.x += 52;  // half the window (2.5 x 40 px wide) and a little more
        scene.object.y += 8;
        TrackResult last;
        for (int i = 0; i < 3; ++i) {
            auto r = tracker.update(scene.render());
            REQUIRE(r.ok());
            last = r.value();
        }
        const double err = std::hypot(last.box.x - scene.object.x, last.box.y - scene.object.y);
        CAPTURE(redetect, last.box.x, last.box.y, scene.object.x, scene.object.y, last.psr);
        if (redetect) {
            CHECK_FALSE(last.lost);
            CHECK(err < 2.0);
        } else {
            CHECK(err > 20.0);
        }
    }
}

// A target whose look changes quickly (a blowing bag) answers with a peak that stays sharp while
// its height sinks to half the usual: the models must keep learning it. A gate on the height
// (learning only above 0.6 of the usual peak, as before) froze the models, and the target was lost
// for good within 10 frames. The background pans, so the context cannot hold the box in place.
TEST_CASE("the tracker keeps learning an object whose look changes steadily", "[tracker]") {
    TrackerParams height_gate;
    height_gate.update_psr = 6;
    height_gate.update_peak = 0.6;
    for (bool sharp_gate : {true, false}) {
        Scene scene;
        scene.object = {60, 90, 48, 48};
        Tracker tracker(sharp_gate ? TrackerParams{} : height_gate);
        REQUIRE(tracker.init(scene.render(), scene.object).ok());
        TrackResult last;
        int lost = 0;
        for (int i = 1; i <= 60; ++i) {
            scene.morph = std::min(1.0, i / 10.0);  // another texture after 10 frames
            scene.object.x += 2;
            scene.bg_shift += 3;
            auto r = tracker.update(scene.render());
            REQUIRE(r.ok());
            lost += r->lost;
            last = r.value();
        }
        const double ex = last.box.x + last.box.w / 2 - (scene.object.x + scene.object.w / 2);
        const double ey = last.box.y + last.box.h / 2 - (scene.object.y + scene.object.h / 2);
        CAPTURE(sharp_gate, ex, ey, lost);
        if (sharp_gate) {
            CHECK(lost <= 10);
            CHECK(std::hypot(ex, ey) < 6.0);  // an eighth of the object
        } else {
            CHECK(std::hypot(ex, ey) > 20.0);
        }
    }
}

TEST_CASE("the tracker accepts RGBA frames like grey ones", "[tracker]") {
    Scene scene;
    scene.object = {100, 80, 40, 40};
    FrameView g = scene.render();
    std::vector<uint8_t> rgba(size_t(g.width) * g.height * 4);
    for (size_t i = 0; i < size_t(g.width) * g.height; ++i) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g.pixels[i];
        rgba[4 * i + 3] = 255;
    }
    Tracker tracker;
    REQUIRE(tracker.init(FrameView{g.width, g.height, g.width * 4, rgba.data(), PixelFormat::rgba8}, scene.object).ok());
    scene.object.x += 3;
    g = scene.render();
    for (size_t i = 0; i < size_t(g.width) * g.height; ++i) rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g.pixels[i];
    auto r = tracker.update(FrameView{g.width, g.height, g.width * 4, rgba.data(), PixelFormat::rgba8});
    REQUIRE(r.ok());
    CHECK(std::abs(r->box.x - scene.object.x) < 1.0);
}

TEST_CASE("the tracker refuses bad boxes and frames with a clear error", "[tracker]") {
    Scene scene;
    scene.object = {100, 80, 40, 40};
    FrameView f = scene.render();
    Tracker tracker;
    CHECK(tracker.init(f, {-5, 10, 40, 40}).first_error().code == "box_outside_image");
    CHECK(tracker.init(f, {300, 10, 40, 40}).first_error().code == "box_outside_image");
    CHECK(tracker.init(f, {10, 10, 0, 40}).first_error().code == "box_empty");
    CHECK(tracker.init(f, {10, 10, 20, -3}).first_error().code == "box_empty");
    CHECK(tracker.init(f, {10, 10, 3, 40}).first_error().code == "box_too_small");
    CHECK(tracker.init(f, {10, 10, NAN, 40}).first_error().code == "box_not_finite");
    CHECK(tracker.init(FrameView{}, {10, 10, 20, 20}).first_error().code == "bad_frame");
    CHECK_FALSE(tracker.initialised());
    CHECK(tracker.update(f).first_error().code == "not_initialised");
    REQUIRE(tracker.init(f, {10, 10, 4, 4}).ok());
    FrameView smaller = f;
    smaller.width = 100;
    CHECK(tracker.update(smaller).first_error().code == "bad_frame");
    CHECK(tracker.update(f).ok());
}

TEST_CASE("a polygon follows the box motion and a fitted similarity", "[tracker]") {
    const std::vector<double> poly{10, 10, 30, 10, 30, 20, 10, 20};
    Similarity m = box_motion({10, 10, 20, 10}, {50, 40, 40, 20});
    std::vector<double> moved = move_polygon(poly, m);
    std::vector<double> expect{50, 40, 90, 40, 90, 60, 50, 60};
    for (size_t i = 0; i < expect.size(); ++i) CHECK(moved[i] == Approx(expect[i]));

    Similarity truth{1.2 * std::cos(0.3), 1.2 * std::sin(0.3), 5, -7};
    Similarity fit = fit_similarity(poly, move_polygon(poly, truth));
    CHECK(fit.a == Approx(truth.a));
    CHECK(fit.b == Approx(truth.b));
    CHECK(fit.tx == Approx(truth.tx));
    CHECK(fit.ty == Approx(truth.ty));
    Similarity none = fit_similarity({1, 1}, {2, 2});
    CHECK(none.a == 1);
    CHECK(none.tx == 0);
}
