#include "polymark/interpolate.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace pm;
using Catch::Detail::Approx;

static Keyframe key(long long frame, Points points, bool outside = false) {
    Keyframe k;
    k.id = "k" + std::to_string(frame);
    k.frame = frame;
    k.points = std::move(points);
    k.outside = outside;
    return k;
}

static Track track(ShapeType type, std::vector<Keyframe> keyframes, Interpolation mode = Interpolation::Improved) {
    Track t;
    t.id = "t";
    t.type = type;
    t.label = "car";
    t.keyframes = std::move(keyframes);
    t.interpolation = mode;
    return t;
}

static void check_points(const Points& got, const Points& expected, double tolerance) {
    INFO("got " << Catch::Detail::stringify(got) << ", expected " << Catch::Detail::stringify(expected));
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - expected[i]) <= tolerance);
}

static Points cvat(ShapeType type, const Points& from, const Points& to, double t) {
    return interpolate_points(type, Interpolation::Cvat, from, to, t);
}

static Points improved(ShapeType type, const Points& from, const Points& to, double t) {
    return interpolate_points(type, Interpolation::Improved, from, to, t);
}

static bool all_finite(const Points& p) {
    for (double d : p)
        if (!std::isfinite(d)) return false;
    return true;
}

// Whether every vertex of `p` lies on the closed outline of `outline`.
static bool on_outline(const Points& p, const Points& outline, double tolerance) {
    size_t n = vertex_count(outline);
    for (size_t i = 0; i < vertex_count(p); ++i) {
        double best = 1e300;
        for (size_t e = 0; e < n; ++e) best = std::min(best, distance_to_segment(vertex(p, i), vertex(outline, e), vertex(outline, (e + 1) % n)));
        if (best > tolerance) return false;
    }
    return true;
}

static Points shifted_start(const Points& p, size_t by) {
    size_t n = vertex_count(p);
    Points out(p.size());
    for (size_t i = 0; i < n; ++i) set_vertex(out, i, vertex(p, (i + by) % n));
    return out;
}

static Points reversed_winding(const Points& p) {  // same first vertex, other direction
    size_t n = vertex_count(p);
    Points out(p.size());
    for (size_t i = 0; i < n; ++i) set_vertex(out, i, vertex(p, (n - i) % n));
    return out;
}

static Points blob(std::mt19937& rng, size_t n, double cx, double cy, double radius, double turn_degrees) {
    std::uniform_real_distribution<double> amp(-0.2, 0.2), jitter(-0.3, 0.3);
    double a2 = amp(rng), a3 = amp(rng), a5 = amp(rng);
    Points p;
    for (size_t i = 0; i < n; ++i) {
        double a = 2 * M_PI * ((double)i + jitter(rng)) / (double)n;
        double r = radius * (1 + a2 * std::cos(2 * a) + a3 * std::sin(3 * a) + a5 * std::cos(5 * a + 1));
        double b = a + turn_degrees * M_PI / 180;
        p.push_back(cx + r * std::cos(b));
        p.push_back(cy + r * std::sin(b));
    }
    return p;
}

static Points rotated(const Points& p, Vec2 centre, double degrees) {
    double c = std::cos(degrees * M_PI / 180), s = std::sin(degrees * M_PI / 180);
    Points out(p.size());
    for (size_t i = 0; i < vertex_count(p); ++i) {
        Vec2 v = vertex(p, i);
        double x = v.x - centre.x, y = v.y - centre.y;
        set_vertex(out, i, {centre.x + c * x - s * y, centre.y + s * x + c * y});
    }
    return out;
}

// [SECTION] CVAT's vectors (shared/notes/cvat-interpolation.md)

TEST_CASE("cvat mode reproduces CVAT's polygon vectors") {
    const Points square = {0, 0, 10, 0, 10, 10, 0, 10};
    check_points(cvat(ShapeType::Polygon, square, {10, 0, 20, 0, 20, 10, 10, 10}, .5), {5, 0, 15, 0, 15, 10, 5, 10}, 1e-4);
    check_points(cvat(ShapeType::Polygon, {0, 0, 10, 0, 5, 10}, square, .5), {0, 0, 10, 0, 7.5, 10, 2.5, 10}, 1e-4);
    check_points(cvat(ShapeType::Polygon, square, {0, 0, 5, 0, 10, 0, 10, 5, 10, 10, 5, 10, 0, 10, 0, 5}, .25),
                 {0, 0, 1.25, 0, 10, 0, 10, 1.25, 10, 10, 8.75, 10, 0, 10, 0, 8.75}, 1e-4);
    const Points near_duplicate = {0, 0, 5, 0, 5.1, 0, 10, 0, 10, 10, 0, 10};
    check_points(cvat(ShapeType::Polygon, near_duplicate, square, .5), {0, 0, 2.5, 0, 7.55, 0, 10, 0, 10, 10, 0, 10}, 1e-4);
    check_points(cvat(ShapeType::Polygon, near_duplicate, square, .9), {0.25, 0, 9.755, 0, 10, 10, 0, 10}, 1e-4);
}

TEST_CASE("cvat mode reproduces CVAT's polyline vectors") {
    check_points(cvat(ShapeType::Polyline, {1, 2, 3, 4, 5, 6}, {3, 4, 5, 6}, .5), {2, 3, 3, 4, 5, 6}, 1e-4);
    check_points(cvat(ShapeType::Polyline, {0, 0, 30, 0}, {0, 0, 10, 5, 20, 5, 30, 0}, .5), {0, 0, 5, 2.5, 25, 2.5, 30, 0}, 1e-4);
}

TEST_CASE("rotation takes the shorter arc and a half turn goes clockwise") {
    CHECK(interpolate_rotation(350, 20, .25) == Approx(357.5));
    CHECK(interpolate_rotation(350, 10, .5) == Approx(0).margin(1e-9));
    CHECK(interpolate_rotation(10, 350, .5) == Approx(0).margin(1e-9));
    CHECK(interpolate_rotation(10, 350, .25) == Approx(5));
    CHECK(interpolate_rotation(0, 180, .5) == Approx(90));
    CHECK(interpolate_rotation(180, 0, .5) == Approx(270));  // +180, not -180
    CHECK(interpolate_rotation(30, 60, 0) == Approx(30));
}

TEST_CASE("a rectangle track interpolates its corners linearly and its rotation by the shorter arc") {
    Track t = track(ShapeType::Rectangle, {key(0, {10, 10, 50, 40}), key(4, {30, 12, 70, 42})});
    t.keyframes[0].rotation = 350;
    t.keyframes[1].rotation = 20;
    auto s = track_shape_at(t, 1);
    REQUIRE(s);
    check_points(s->points, {15, 10.5, 55, 40.5}, 1e-12);
    CHECK(s->rotation == Approx(357.5));
    CHECK_FALSE(s->keyframe);
    CHECK(s->keyframe_id.empty());
}

TEST_CASE("an ellipse track interpolates its centre and corner point linearly") {
    Track t = track(ShapeType::Ellipse, {key(0, {50, 50, 70, 40}), key(10, {150, 50, 160, 20})});
    auto s = track_shape_at(t, 5);
    REQUIRE(s);
    check_points(s->points, {100, 50, 115, 30}, 1e-12);
}

TEST_CASE("a points track moves a single point and holds several") {
    Track one = track(ShapeType::Points, {key(0, {0, 0}), key(10, {10, 20})});
    check_points(track_shape_at(one, 5)->points, {5, 10}, 1e-12);
    Track many = track(ShapeType::Points, {key(0, {0, 0, 1, 1}), key(10, {10, 20, 11, 21})});
    check_points(track_shape_at(many, 5)->points, {0, 0, 1, 1}, 0);
    Track mixed = track(ShapeType::Points, {key(0, {0, 0}), key(10, {10, 20, 11, 21})});
    check_points(track_shape_at(mixed, 5)->points, {0, 0}, 0);
}

// [SECTION] Frame logic

TEST_CASE("a keyframe returns itself bit for bit in every type and mode") {
    const Points odd = {0.1, 0.2, 10.000000000000002, 0.3, 7.7, 9.9};
    for (ShapeType type : {ShapeType::Polygon, ShapeType::Polyline, ShapeType::Points}) {
        for (Interpolation mode : {Interpolation::Improved, Interpolation::Cvat}) {
            Track t = track(type, {key(0, odd), key(5, {3, 3, 40, 4, 20, 30, 1, 1}), key(9, odd)}, mode);
            for (long long f : {0, 5, 9}) {
                auto s = track_shape_at(t, f);
                REQUIRE(s);
                CHECK(s->keyframe);
                CHECK(s->keyframe_id == "k" + std::to_string(f));
                CHECK(s->points == t.keyframes[f == 0 ? 0 : f == 5 ? 1 : 2].points);
            }
        }
    }
    Track box = track(ShapeType::Rectangle, {key(0, {0.1, 0.2, 3.3, 4.4}), key(3, {1, 2, 3, 4})});
    box.keyframes[1].rotation = 33.3;
    CHECK(track_shape_at(box, 3)->rotation == 33.3);
    CHECK(track_shape_at(box, 0)->points == box.keyframes[0].points);
}

TEST_CASE("before its first keyframe a track is not there, after its last it keeps the last shape") {
    Track t = track(ShapeType::Rectangle, {key(5, {0, 0, 10, 10}), key(10, {10, 0, 20, 10})});
    CHECK_FALSE(track_shape_at(t, 4));
    CHECK_FALSE(track_state_at(t, 4));
    auto after = track_shape_at(t, 1000);
    REQUIRE(after);
    CHECK(after->points == t.keyframes[1].points);
    CHECK_FALSE(after->keyframe);
}

TEST_CASE("a track is neither interpolated nor carried on across its medium's boundary") {
    // Media: frames 0..9 (a video), 10 (an image), 11..20 (another video).
    MediumSpan video{0, 10}, image{10, 11}, second{11, 21};
    Track t = track(ShapeType::Rectangle, {key(2, {0, 0, 10, 10}), key(6, {40, 0, 50, 10})});
    // Within the video: as without media; after the last keyframe, a copy up to the video's end.
    auto mid = track_shape_at(t, 4, {}, nullptr, video);
    REQUIRE(mid);
    check_points(mid->points, {20, 0, 30, 10}, 1e-12);
    CHECK(track_shape_at(t, 4)->points == mid->points);
    REQUIRE(track_shape_at(t, 9, {}, nullptr, video));
    CHECK(track_shape_at(t, 9, {}, nullptr, video)->points == t.keyframes[1].points);
    // Not on the frames of the next media, where the task-wide view would still show it.
    CHECK(track_shape_at(t, 10));
    CHECK_FALSE(track_shape_at(t, 10, {}, nullptr, image));
    CHECK_FALSE(track_state_at(t, 10, {}, nullptr, image));
    CHECK_FALSE(track_shape_at(t, 15, {}, nullptr, second));
    // A frame outside the span given is in no medium of it: nothing.
    CHECK_FALSE(track_shape_at(t, 4, {}, nullptr, image));
    // A keyframe in the next medium is not interpolated towards: the last one here is copied.
    Track across = track(ShapeType::Rectangle, {key(8, {0, 0, 10, 10}), key(12, {40, 0, 50, 10})});
    CHECK(track_shape_at(across, 9, {}, nullptr, video)->points == across.keyframes[0].points);
    CHECK(track_shape_at(across, 9)->points != across.keyframes[0].points);
    CHECK_FALSE(track_shape_at(across, 11, {}, nullptr, second));  // before its first keyframe there
    auto there = track_shape_at(across, 12, {}, nullptr, second);
    REQUIRE(there);
    CHECK(there->keyframe);
    // Attributes set in another medium do not carry over.
    Track attrs = track(ShapeType::Rectangle, {key(1, {0, 0, 1, 1}), key(12, {0, 0, 1, 1})});
    attrs.keyframes[0].attributes = {{"parked", true}};
    CHECK(track_shape_at(attrs, 5, {}, nullptr, video)->attributes.size() == 1);
    CHECK(track_shape_at(attrs, 13, {}, nullptr, second)->attributes.empty());
}

TEST_CASE("shapes_on_frame shows a track only on the frames of its medium") {
    Document doc;
    doc.tracks.push_back(track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10})}));
    CHECK(shapes_on_frame(doc, 0, {}, nullptr, MediumSpan{0, 1}).size() == 1);
    CHECK(shapes_on_frame(doc, 1, {}, nullptr, MediumSpan{1, 2}).empty());
    CHECK(shapes_on_frame(doc, 1).size() == 1);  // no media given: one medium
}

TEST_CASE("an outside keyframe hides the frames after it until the next keyframe (CVAT's server test)") {
    // Keyframes 0 (visible), 2 (outside), 4 (visible); frames 0..6.
    Track t = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(2, {20, 0, 30, 10}, true), key(4, {40, 0, 50, 10})});
    std::vector<long long> shown, exported;
    for (long long f = 0; f < 7; ++f) {
        if (track_shape_at(t, f)) shown.push_back(f);
        auto s = track_state_at(t, f);
        if (s && (!s->outside || s->keyframe)) exported.push_back(f);
    }
    CHECK(shown == std::vector<long long>{0, 1, 4, 5, 6});
    CHECK(exported == std::vector<long long>{0, 1, 2, 4, 5, 6});
    auto at2 = track_state_at(t, 2);
    REQUIRE(at2);
    CHECK(at2->outside);
    CHECK(at2->keyframe);
    CHECK(track_state_at(t, 3)->outside);
}

TEST_CASE("frames before an outside keyframe move toward the geometry stored on it") {
    Track t = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(4, {40, 0, 50, 10}, true)});
    auto s = track_shape_at(t, 2);
    REQUIRE(s);
    check_points(s->points, {20, 0, 30, 10}, 1e-12);
    CHECK_FALSE(track_shape_at(t, 4));
    CHECK_FALSE(track_shape_at(t, 100));  // the track ends at its outside keyframe
}

TEST_CASE("a track whose first keyframe is outside appears at its next keyframe") {
    Track t = track(ShapeType::Rectangle, {key(2, {0, 0, 10, 10}, true), key(6, {40, 0, 50, 10})});
    for (long long f : {0, 1, 2, 3, 5}) CHECK_FALSE(track_shape_at(t, f));
    auto hidden = track_state_at(t, 4);  // outside, but moving toward the next keyframe
    REQUIRE(hidden);
    CHECK(hidden->outside);
    check_points(hidden->points, {20, 0, 30, 10}, 1e-12);
    CHECK(track_shape_at(t, 6)->keyframe);
    CHECK(track_shape_at(t, 7));
}

TEST_CASE("occluded and z are step functions of the keyframe at or before the frame") {
    Track t = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(10, {10, 0, 20, 10})});
    t.keyframes[0].occluded = true;
    t.keyframes[0].z = 3;
    t.keyframes[1].z = 7;
    auto mid = track_shape_at(t, 9);
    CHECK(mid->occluded);
    CHECK(mid->z == 3);
    auto last = track_shape_at(t, 10);
    CHECK_FALSE(last->occluded);
    CHECK(last->z == 7);
}

TEST_CASE("keyframes on deleted frames are ignored and a deleted frame shows nothing") {
    Track t = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(5, {500, 0, 510, 10}), key(10, {100, 0, 110, 10})});
    FrameSet deleted = {5, 7};
    auto s = track_shape_at(t, 6, deleted);  // interpolates from 0 to 10 across the deleted keyframe
    REQUIRE(s);
    check_points(s->points, {60, 0, 70, 10}, 1e-12);
    CHECK_FALSE(track_shape_at(t, 5, deleted));
    CHECK_FALSE(track_shape_at(t, 7, deleted));
    CHECK(track_shape_at(t, 5)->keyframe);  // without the set the keyframe is there

    Track first_deleted = track(ShapeType::Rectangle, {key(2, {0, 0, 10, 10}), key(8, {60, 0, 70, 10})});
    CHECK_FALSE(track_shape_at(first_deleted, 4, {2}));  // no keyframe at or before 4 is left
    CHECK(track_shape_at(first_deleted, 8, {2})->keyframe);

    Track outside_deleted = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(3, {0, 0, 10, 10}, true), key(6, {60, 0, 70, 10})});
    CHECK_FALSE(track_shape_at(outside_deleted, 4));
    auto across = track_shape_at(outside_deleted, 4, {3});  // the outside keyframe is gone
    REQUIRE(across);
    check_points(across->points, {40, 0, 50, 10}, 1e-12);

    Track last_deleted = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(4, {40, 0, 50, 10}, true)});
    CHECK(track_shape_at(last_deleted, 9, {4})->points == last_deleted.keyframes[0].points);
}

TEST_CASE("mutable attributes come from the latest keyframe that sets them, immutable ones from the track") {
    Track t = track(ShapeType::Rectangle, {key(0, {0, 0, 1, 1}), key(5, {0, 0, 1, 1}), key(10, {0, 0, 1, 1})});
    t.attributes = {{"make", Json("volvo")}};
    t.keyframes[0].attributes = {{"moving", Json(false)}, {"speed", Json(0)}};
    t.keyframes[1].attributes = {{"moving", Json(true)}};
    t.keyframes[2].attributes = {{"speed", Json(30)}};
    auto value = [&](long long frame, const std::string& id, const FrameSet& deleted = {}) {
        auto s = track_shape_at(t, frame, deleted);
        for (const Attribute& a : s->attributes)
            if (a.id == id) return a.value;
        return Json();
    };
    CHECK(value(0, "make") == "volvo");
    CHECK(value(4, "moving") == false);
    CHECK(value(5, "moving") == true);
    CHECK(value(9, "speed") == 0);
    CHECK(value(12, "speed") == 30);
    CHECK(value(12, "moving") == true);
    CHECK(value(7, "moving", {5}) == false);  // the deleted keyframe's value does not count
    CHECK(track_shape_at(t, 12)->attributes.size() == 3);
}

TEST_CASE("a track without keyframes or of type tag is never shown") {
    CHECK_FALSE(track_shape_at(track(ShapeType::Rectangle, {}), 0));
    CHECK_FALSE(track_shape_at(track(ShapeType::Tag, {key(0, {})}), 0));
}

TEST_CASE("shapes on a frame are its objects, then every visible track as an object") {
    Document doc;
    Object a;
    a.id = "a";
    a.type = ShapeType::Polygon;
    a.frame = 3;
    a.label = "tree";
    a.points = {0, 0, 1, 0, 1, 1};
    Object other = a;
    other.id = "b";
    other.frame = 4;
    doc.objects = {a, other};
    Track car = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(6, {60, 0, 70, 10})});
    car.id = "car1";
    car.group = "g1";
    car.source = Source::Auto;
    Track gone = track(ShapeType::Rectangle, {key(0, {0, 0, 10, 10}), key(2, {0, 0, 10, 10}, true)});
    gone.id = "gone";
    Track later = track(ShapeType::Rectangle, {key(3, {5, 5, 6, 6})});
    later.id = "later";
    doc.tracks = {car, gone, later};

    std::vector<FrameShape> shapes = shapes_on_frame(doc, 3);
    REQUIRE(shapes.size() == 3);
    CHECK(shapes[0].object.id == "a");
    CHECK_FALSE(shapes[0].from_track);
    CHECK(shapes[1].object.id == "car1");
    CHECK(shapes[1].from_track);
    CHECK_FALSE(shapes[1].keyframe);
    CHECK(shapes[1].object.frame == 3);
    CHECK(shapes[1].object.label == "car");
    CHECK(shapes[1].object.group == "g1");
    CHECK(shapes[1].object.source == Source::Auto);
    check_points(shapes[1].object.points, {30, 0, 40, 10}, 1e-12);
    CHECK(shapes[2].object.id == "later");
    CHECK(shapes[2].keyframe);
    CHECK(shapes[2].keyframe_id == "k3");

    CHECK(shapes_on_frame(doc, 3, {3}).empty());
    CHECK(shapes_on_frame(doc, 1).size() == 2);  // car and gone
}

// [SECTION] Polylines and polygons

TEST_CASE("offsets 0 and 1 give the two keyframes in both modes") {
    std::mt19937 rng(11);
    Points from = blob(rng, 24, 100, 100, 40, 0), to = shifted_start(blob(rng, 17, 140, 90, 50, 20), 5);
    CHECK(cvat(ShapeType::Polygon, from, to, 0) == from);
    for (ShapeType type : {ShapeType::Polygon, ShapeType::Polyline}) {
        Points at0 = improved(type, from, to, 0), at1 = improved(type, from, to, 1);
        CHECK(vertex_count(at0) == vertex_count(at1));
        if (type == ShapeType::Polygon) {
            CHECK(on_outline(at0, from, 1e-9));
            CHECK(on_outline(from, at0, 1e-9));
            CHECK(on_outline(at1, to, 1e-9));
            CHECK(on_outline(to, at1, 1e-9));
            CHECK(polygon_area(at0) == Approx(polygon_area(from)).epsilon(1e-12));
            CHECK(std::fabs(polygon_area(at1)) == Approx(std::fabs(polygon_area(to))).epsilon(1e-12));
        }
    }
    const Points square = {0, 0, 10, 0, 10, 10, 0, 10}, moved = {10, 0, 20, 0, 20, 10, 10, 10};
    CHECK(cvat(ShapeType::Polygon, square, moved, 1) == moved);
}

TEST_CASE("improved mode does not depend on the later keyframe's start vertex or winding") {
    std::mt19937 rng(5);
    for (int trial = 0; trial < 6; ++trial) {
        size_t n_from = 20 + 4 * trial, n_to = 35 - 3 * trial;
        Points from = blob(rng, n_from, 200, 150, 60, 0);
        Points to = blob(rng, n_to, 260, 170, 70, 40);
        for (double t : {0.25, 0.5, 0.8}) {
            Points reference = improved(ShapeType::Polygon, from, to, t);
            for (size_t shift = 0; shift < n_to; shift += 3) {
                for (bool reverse : {false, true}) {
                    Points redrawn = shifted_start(to, shift);
                    if (reverse) redrawn = reversed_winding(redrawn);
                    Points got = improved(ShapeType::Polygon, from, redrawn, t);
                    INFO("trial " << trial << " t " << t << " shift " << shift << " reversed " << reverse);
                    CHECK(std::fabs(polygon_area(got) - polygon_area(reference)) <= 1e-6);
                    check_points(got, reference, 1e-9);
                }
            }
        }
    }
}

TEST_CASE("improved mode does not depend on the direction a polyline was drawn in") {
    Points from = {0, 0, 10, 5, 20, 0, 30, 8}, to = {5, 20, 15, 28, 25, 20, 35, 30, 45, 22};
    Points reversed;
    for (size_t i = vertex_count(to); i-- > 0;) {
        reversed.push_back(to[2 * i]);
        reversed.push_back(to[2 * i + 1]);
    }
    Points a = improved(ShapeType::Polyline, from, to, .4), b = improved(ShapeType::Polyline, from, reversed, .4);
    check_points(a, b, 1e-9);
    CHECK(vertex(a, 0).x < vertex(a, vertex_count(a) - 1).x);  // ends meet ends: no flip
}

TEST_CASE("improved mode keeps one vertex count between keyframes of different counts") {
    std::mt19937 rng(3);
    Points from = blob(rng, 12, 0, 0, 30, 0), to = blob(rng, 31, 20, 10, 35, 10);
    size_t count = vertex_count(improved(ShapeType::Polygon, from, to, 0.05));
    CHECK(count >= 31);
    CHECK(count <= 12 + 31);
    for (int k = 1; k < 20; ++k) CHECK(vertex_count(improved(ShapeType::Polygon, from, to, k / 20.0)) == count);
    // CVAT's count changes with the offset.
    std::vector<size_t> cvat_counts;
    for (double t : {0.05, 0.5, 0.95}) cvat_counts.push_back(vertex_count(cvat(ShapeType::Polygon, from, to, t)));
    CHECK((cvat_counts[0] != cvat_counts[1] || cvat_counts[1] != cvat_counts[2]));
}

TEST_CASE("improved mode pairs the vertices of a redrawn polygon corner to corner") {
    const Points square = {0, 0, 10, 0, 10, 10, 0, 10};
    Points moved = translate(shifted_start(square, 2), {30, 5});
    Points mid = improved(ShapeType::Polygon, square, moved, .5);
    check_points(mid, {15, 2.5, 25, 2.5, 25, 12.5, 15, 12.5}, 1e-9);
    Points backwards = improved(ShapeType::Polygon, square, reversed_winding(moved), .5);
    check_points(backwards, mid, 1e-9);
}

TEST_CASE("improved mode does not spin a symmetric polygon round to a lookalike position") {
    Points star;
    for (int k = 0; k < 10; ++k) {
        double a = 2 * M_PI * k / 10, r = k % 2 ? 20 : 50;
        star.push_back(100 + r * std::cos(a));
        star.push_back(100 + r * std::sin(a));
    }
    for (size_t shift : {0, 2, 3, 6}) {
        Points moved = shifted_start(translate(star, {40, -10}), shift);
        INFO("shift " << shift);
        check_points(improved(ShapeType::Polygon, star, moved, .5), translate(star, {20, -5}), 1e-9);
    }
}

TEST_CASE("improved mode turns a polygon spinning about its centre without shrinking it") {
    std::mt19937 rng(8);
    Points from = blob(rng, 30, 100, 100, 50, 0);
    Vec2 centre;  // of the outline as a wire: the centre the morph turns about
    double perimeter = 0;
    for (size_t i = 0; i < 30; ++i) {
        Vec2 a = vertex(from, i), b = vertex(from, (i + 1) % 30);
        double length = distance(a, b);
        centre.x += length * (a.x + b.x) / 2;
        centre.y += length * (a.y + b.y) / 2;
        perimeter += length;
    }
    centre = {centre.x / perimeter, centre.y / perimeter};
    for (double turn : {30.0, 60.0, -45.0}) {
        Points to = shifted_start(rotated(from, centre, turn), 7);
        Points mid = improved(ShapeType::Polygon, from, to, .5);
        Points truth = rotated(from, centre, turn / 2);
        INFO("turn " << turn);
        REQUIRE(vertex_count(mid) == 30);
        CHECK(polygon_area(mid) == Approx(polygon_area(truth)).epsilon(1e-6));
        CHECK(on_outline(truth, mid, 1e-6));
        // CVAT's blend moves along chords and shrinks it.
        Points chord = cvat(ShapeType::Polygon, from, rotated(from, centre, turn), .5);
        CHECK(std::fabs(polygon_area(chord)) < 0.99 * std::fabs(polygon_area(truth)));
    }
}

// The centre the improved morph turns and scales about: the outline's centroid as a wire.
static Vec2 wire_centre(const Points& p) {
    Vec2 centre;
    double perimeter = 0;
    size_t n = vertex_count(p);
    for (size_t i = 0; i < n; ++i) {
        Vec2 a = vertex(p, i), b = vertex(p, (i + 1) % n);
        double length = distance(a, b);
        centre.x += length * (a.x + b.x) / 2;
        centre.y += length * (a.y + b.y) / 2;
        perimeter += length;
    }
    return {centre.x / perimeter, centre.y / perimeter};
}

static Points scaled_about(const Points& p, Vec2 centre, double scale) {
    Points out(p.size());
    for (size_t i = 0; i < vertex_count(p); ++i) {
        Vec2 v = vertex(p, i);
        set_vertex(out, i, {centre.x + scale * (v.x - centre.x), centre.y + scale * (v.y - centre.y)});
    }
    return out;
}

// An irregular star: no two positions look alike, however it is turned.
static Points jagged(std::mt19937& rng, size_t n, double cx, double cy, double radius) {
    std::uniform_real_distribution<double> jitter(-0.3, 0.3), depth(0.5, 1.0);
    Points p;
    for (size_t i = 0; i < n; ++i) {
        double a = 2 * M_PI * ((double)i + jitter(rng)) / (double)n, r = radius * depth(rng);
        p.push_back(cx + r * std::cos(a));
        p.push_back(cy + r * std::sin(a));
    }
    return p;
}

TEST_CASE("improved mode aligns a turned, rescaled and redrawn copy at every sample count") {
    // Vertex counts that take the alignment through each size of its transforms (32 to 1024
    // samples, odd and even powers of two), the copy drawn from another vertex, either way round.
    std::mt19937 rng(31);
    for (size_t n : {10, 24, 40, 70, 150, 300, 500}) {
        Points from = jagged(rng, n, 500, 400, 80);
        Vec2 centre = wire_centre(from), move = {60, -25};
        Points to = translate(rotated(scaled_about(from, centre, 1.3), centre, 35), move);
        Points truth = translate(rotated(scaled_about(from, centre, 1.15), centre, 17.5), {move.x / 2, move.y / 2});
        for (bool reverse : {false, true}) {
            Points redrawn = shifted_start(to, n / 3);
            if (reverse) redrawn = reversed_winding(redrawn);
            Points mid = improved(ShapeType::Polygon, from, redrawn, .5);
            INFO("vertices " << n << " reversed " << reverse);
            REQUIRE(vertex_count(mid) == n);  // every vertex paired with its copy
            CHECK(std::fabs(polygon_area(mid)) == Approx(std::fabs(polygon_area(truth))).epsilon(1e-9));
            CHECK(on_outline(truth, mid, 1e-6));
        }
    }
}

TEST_CASE("improved mode gives the same shape whatever it computed before") {
    // Its working memory is reused from call to call: nothing may carry over.
    std::mt19937 rng(41);
    Points from = blob(rng, 30, 100, 100, 40, 0), to = shifted_start(blob(rng, 26, 130, 90, 45, 25), 4);
    Points big_from = blob(rng, 300, 0, 0, 200, 0), big_to = reversed_winding(blob(rng, 420, 50, 20, 180, 70));
    Points line = {0, 0, 10, 5, 20, 0, 30, 8}, other_line = {5, 20, 15, 28, 25, 20, 35, 30, 45, 22};
    Points first = improved(ShapeType::Polygon, from, to, .4);
    CHECK(!improved(ShapeType::Polygon, big_from, big_to, .6).empty());
    CHECK(!improved(ShapeType::Polyline, line, other_line, .3).empty());
    CHECK(!improved(ShapeType::Polygon, {5, 5}, big_to, .5).empty());
    CHECK(improved(ShapeType::Polygon, from, to, .4) == first);
}

TEST_CASE("improved mode moves a polyline's ends to the other keyframe's ends") {
    Points from = {0, 0, 10, 0, 20, 0}, to = {0, 10, 5, 15, 10, 10, 15, 15, 20, 10};
    Points mid = improved(ShapeType::Polyline, from, to, .5);
    CHECK(vertex_count(mid) >= 5);
    check_points({mid[0], mid[1]}, {0, 5}, 1e-9);
    check_points({mid[mid.size() - 2], mid.back()}, {20, 5}, 1e-9);
}

TEST_CASE("degenerate keyframes never give NaN") {
    const Points dot = {5, 5, 5, 5, 5, 5}, square = {0, 0, 10, 0, 10, 10, 0, 10}, single = {3, 4};
    for (ShapeType type : {ShapeType::Polygon, ShapeType::Polyline}) {
        for (Interpolation mode : {Interpolation::Improved, Interpolation::Cvat}) {
            for (const auto& [a, b] : std::vector<std::pair<Points, Points>>{{dot, square}, {square, dot}, {dot, dot}, {single, square}, {square, single}, {square, {}}, {{}, square}}) {
                for (double t : {0.0, 0.3, 1.0}) {
                    Points p = interpolate_points(type, mode, a, b, t);
                    INFO("type " << to_string(type) << " mode " << to_string(mode) << " t " << t);
                    CHECK(all_finite(p));
                }
            }
        }
    }
    Points grow = improved(ShapeType::Polygon, dot, square, .5);
    check_points(grow, {2.5, 2.5, 7.5, 2.5, 7.5, 7.5, 2.5, 7.5}, 1e-12);
    CHECK(all_finite(interpolate_points(ShapeType::Polygon, Interpolation::Improved, square, square, std::nan(""))));
}

TEST_CASE("awkward polygons and polylines (repeated vertices, lines, spikes) never give NaN") {
    std::mt19937 rng(77);
    std::uniform_int_distribution<int> count(1, 60), coordinate(0, 4), kind(0, 3);
    for (int trial = 0; trial < 400; ++trial) {
        Points p[2];
        for (Points& q : p) {
            int n = count(rng), k = kind(rng);
            for (int i = 0; i < n; ++i) {
                double x = coordinate(rng), y = coordinate(rng);  // a 5x5 grid: many repeats
                if (k == 1) y = 2;                                 // all on one line
                if (k == 2 && i % 2) x = y = 1000;                 // spikes
                q.push_back(x);
                q.push_back(y);
            }
        }
        for (ShapeType type : {ShapeType::Polygon, ShapeType::Polyline})
            for (Interpolation mode : {Interpolation::Improved, Interpolation::Cvat})
                for (double t : {0.0, 0.01, 0.5, 1.0}) {
                    Points out = interpolate_points(type, mode, p[0], p[1], t);
                    INFO("trial " << trial << " t " << t);
                    CHECK(all_finite(out));
                    CHECK(!out.empty());
                }
    }
}

TEST_CASE("a cache gives the same shapes as computing afresh") {
    std::mt19937 rng(21);
    InterpolationCache cache;
    Track t = track(ShapeType::Polygon, {key(0, blob(rng, 30, 0, 0, 40, 0)), key(10, blob(rng, 26, 30, 0, 40, 20)), key(20, blob(rng, 30, 60, 0, 40, 40))});
    for (long long f = 0; f <= 20; ++f) CHECK(track_shape_at(t, f, {}, &cache)->points == track_shape_at(t, f)->points);
    CHECK(cache.size() == 2);
    t.keyframes[1].points[0] += 1;  // an edit is a new entry, never a stale one
    CHECK(track_shape_at(t, 5, {}, &cache)->points == track_shape_at(t, 5)->points);
    CHECK(cache.size() == 3);
    cache.clear();
    CHECK(cache.size() == 0);
}
