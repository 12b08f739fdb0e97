#include "polymark/view.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using Catch::Detail::Approx;

TEST_CASE("image and screen coordinates are inverse transforms") {
    View v;
    v.zoom = 2.5;
    v.offset = {10, -4};
    Vec2 s = v.to_screen({3, 7});
    CHECK(s.x == Approx(17.5));
    CHECK(s.y == Approx(13.5));
    Vec2 back = v.to_image(s);
    CHECK(back.x == Approx(3));
    CHECK(back.y == Approx(7));
}

TEST_CASE("zooming around the cursor keeps the image point under it fixed") {
    View v;
    v.zoom = 1;
    v.offset = {100, 50};
    Vec2 cursor{340, 215};
    Vec2 before = v.to_image(cursor);
    v.zoom_around(cursor, 1.2);
    Vec2 after = v.to_image(cursor);
    CHECK(v.zoom == Approx(1.2));
    CHECK(after.x == Approx(before.x));
    CHECK(after.y == Approx(before.y));
}

TEST_CASE("zoom is clamped and ignores nonsense factors") {
    View v;
    v.zoom_around({0, 0}, 1e9);
    CHECK(v.zoom == View::kMaxZoom);
    v.zoom_around({0, 0}, 0);
    v.zoom_around({0, 0}, -2);
    v.zoom_around({0, 0}, std::numeric_limits<double>::quiet_NaN());
    CHECK(v.zoom == View::kMaxZoom);
    v.zoom_around({0, 0}, 1e-12);
    CHECK(v.zoom == View::kMinZoom);
}

TEST_CASE("fit shows the whole image centred with a margin") {
    View v = View::fit(512, 256, Rect{0, 0, 800, 600}, 10);
    CHECK(v.zoom == Approx(780.0 / 512));
    Vec2 tl = v.to_screen({0, 0}), br = v.to_screen({512, 256});
    CHECK(tl.x == Approx(10));
    CHECK(br.x == Approx(790));
    CHECK((tl.y + br.y) / 2 == Approx(300));
}

TEST_CASE("fit of a tall image is limited by the viewport height") {
    View v = View::fit(100, 1000, Rect{0, 20, 400, 500}, 0);
    CHECK(v.zoom == Approx(0.5));
    CHECK(v.to_screen({0, 0}).y == Approx(20));
    CHECK(v.to_screen({50, 0}).x == Approx(200));
}

TEST_CASE("one wheel notch zooms by 1.2 and the opposite notch undoes it") {
    CHECK(wheel_zoom_factor(1) == Approx(1.2));
    CHECK(wheel_zoom_factor(1) * wheel_zoom_factor(-1) == Approx(1));
}
