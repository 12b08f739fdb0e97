#include "polymark/track_edit.hpp"

#include <catch2/catch.hpp>

using namespace pm;

namespace {

Keyframe key(long long frame, std::vector<double> points, bool outside = false) {
    Keyframe k;
    k.id = "k" + std::to_string(frame);
    k.frame = frame;
    k.points = std::move(points);
    k.outside = outside;
    return k;
}

Track box_track(std::vector<Keyframe> keyframes) {
    Track t;
    t.id = "t";
    t.type = ShapeType::Rectangle;
    t.label = "car";
    t.keyframes = std::move(keyframes);
    return t;
}

NewId counter() {
    auto n = std::make_shared<int>(0);
    return [n] { return "new" + std::to_string(++*n); };
}

LabelSpec car_spec() {
    LabelSpec spec;
    spec.id = "car";
    AttributeSpec colour;
    colour.id = "colour";
    AttributeSpec parked;
    parked.id = "parked";
    parked.mutable_ = true;
    spec.attributes = {colour, parked};
    return spec;
}

std::vector<long long> frames_of(const Track& t) {
    std::vector<long long> out;
    for (const Keyframe& k : t.keyframes) out.push_back(k.frame);
    return out;
}

}  // namespace

TEST_CASE("reshaping a track between keyframes adds a manual keyframe there and keeps the others") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10})});
    Object shape;
    shape.id = "t";
    shape.type = ShapeType::Rectangle;
    shape.label = "car";
    shape.points = {60, 5, 70, 15};
    Track after = with_shape_at(t, shape, 5, nullptr, counter());
    CHECK(frames_of(after) == std::vector<long long>{0, 5, 10});
    CHECK(after.keyframes[1].points == std::vector<double>{60, 5, 70, 15});
    CHECK(after.keyframes[1].id == "new1");
    CHECK(after.keyframes[1].source == Source::Manual);
    // On a keyframe it is updated in place.
    Track again = with_shape_at(after, shape, 10, nullptr, counter());
    CHECK(frames_of(again) == std::vector<long long>{0, 5, 10});
    CHECK(again.keyframes[2].id == "k10");
}

TEST_CASE("mutable attributes go to the keyframe, the others to the track") {
    LabelSpec spec = car_spec();
    Object o;
    o.id = "o";
    o.type = ShapeType::Rectangle;
    o.label = "car";
    o.frame = 3;
    o.points = {0, 0, 1, 1};
    o.attributes = {{"colour", "red"}, {"parked", true}};
    Track t = track_from_object(o, &spec, "t", "k3");
    REQUIRE(t.attributes.size() == 1);
    CHECK(t.attributes[0].id == "colour");
    REQUIRE(t.keyframes.size() == 1);
    CHECK(t.keyframes[0].frame == 3);
    REQUIRE(t.keyframes[0].attributes.size() == 1);
    CHECK(t.keyframes[0].attributes[0].id == "parked");
}

TEST_CASE("K toggles a keyframe, but never removes the last one") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10})});
    auto added = toggle_keyframe(t, 5, counter());
    REQUIRE(added);
    CHECK(frames_of(*added) == std::vector<long long>{0, 5, 10});
    CHECK(added->keyframes[1].points == std::vector<double>{50, 0, 60, 10});
    auto removed = toggle_keyframe(*added, 5, counter());
    REQUIRE(removed);
    CHECK(frames_of(*removed) == std::vector<long long>{0, 10});
    Track single = box_track({key(4, {0, 0, 1, 1})});
    CHECK_FALSE(toggle_keyframe(single, 4, counter()));
    CHECK_FALSE(toggle_keyframe(single, 2, counter()));  // before the track starts there is nothing to hold
}

TEST_CASE("O makes the track outside from a frame on, and shows it again when turned off") {
    Track t = box_track({key(0, {0, 0, 10, 10})});
    auto out = set_outside(t, 4, true, counter());
    REQUIRE(out);
    CHECK(track_shape_at(*out, 3));
    CHECK_FALSE(track_shape_at(*out, 4));
    CHECK_FALSE(track_shape_at(*out, 40));
    auto back = set_outside(*out, 8, false, counter());
    REQUIRE(back);
    CHECK(track_shape_at(*back, 8));
    CHECK_FALSE(track_shape_at(*back, 6));
    auto occluded = set_occluded(t, 2, true, counter());
    REQUIRE(occluded);
    CHECK_FALSE(track_shape_at(*occluded, 1)->occluded);
    CHECK(track_shape_at(*occluded, 2)->occluded);
}

TEST_CASE("next and previous keyframe step over the track's keyframes") {
    Track t = box_track({key(2, {0, 0, 1, 1}), key(7, {0, 0, 1, 1}), key(9, {0, 0, 1, 1})});
    CHECK(next_keyframe(t, 2) == 7);
    CHECK(next_keyframe(t, 0) == 2);
    CHECK_FALSE(next_keyframe(t, 9));
    CHECK(previous_keyframe(t, 8) == 7);
    CHECK_FALSE(previous_keyframe(t, 2));
}

TEST_CASE("splitting a track ends the first part where the second begins, with the same shape") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10}), key(20, {200, 0, 210, 10})});
    auto split = split_track(t, 5, "t2", counter());
    REQUIRE(split);
    CHECK(frames_of(split->before) == std::vector<long long>{0, 5});
    CHECK(split->before.keyframes[1].outside);
    CHECK(frames_of(split->after) == std::vector<long long>{5, 10, 20});
    CHECK(split->after.id == "t2");
    CHECK(split->after.keyframes[0].points == std::vector<double>{50, 0, 60, 10});
    CHECK(track_shape_at(split->before, 4));
    CHECK_FALSE(track_shape_at(split->before, 5));
    CHECK(track_shape_at(split->after, 5)->points == track_shape_at(t, 5)->points);
    CHECK_FALSE(split_track(t, 0, "t2", counter()));
}

TEST_CASE("deleting a track from a frame on ends it there") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10})});
    auto cut = delete_track_from(t, 6, counter());
    REQUIRE(cut);
    CHECK(frames_of(*cut) == std::vector<long long>{0, 6});
    CHECK(cut->keyframes[1].outside);
    CHECK(track_shape_at(*cut, 5)->points == std::vector<double>{0, 0, 10, 10});
    CHECK_FALSE(track_shape_at(*cut, 6));
    CHECK_FALSE(delete_track_from(t, 0, counter()));
}

TEST_CASE("merging shapes of several frames makes one track, outside where no shape is") {
    auto make = [](std::string id, long long frame, double x) {
        Object o;
        o.id = std::move(id);
        o.type = ShapeType::Rectangle;
        o.label = "car";
        o.frame = frame;
        o.points = {x, 0, x + 10, 10};
        return o;
    };
    Object a = make("a", 0, 0), b = make("b", 1, 10), c = make("c", 5, 50);
    auto merged = merge_into_track({{&a, nullptr}, {&b, nullptr}, {&c, nullptr}}, nullptr, "m", counter());
    REQUIRE(merged);
    CHECK(frames_of(merged.value()) == std::vector<long long>{0, 1, 2, 5, 6});
    CHECK(merged.value().keyframes[2].outside);
    CHECK(merged.value().keyframes[4].outside);
    CHECK_FALSE(track_shape_at(merged.value(), 3));
    CHECK(track_shape_at(merged.value(), 5)->points == c.points);
    Object p = make("p", 2, 0);
    p.type = ShapeType::Polygon;
    p.points = {0, 0, 1, 0, 0, 1};
    auto refused = merge_into_track({{&a, nullptr}, {&p, nullptr}}, nullptr, "m", counter());
    REQUIRE_FALSE(refused);
    CHECK(refused.first_error().path == "p");
}

TEST_CASE("propagating a track's shape copies it onto the next frames, up to the last frame") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10})});
    Track p = propagate_track(t, 4, 3, 100, counter());
    CHECK(frames_of(p) == std::vector<long long>{0, 4, 5, 6, 7, 10});
    for (long long f : {5, 6, 7}) CHECK(track_shape_at(p, f)->points == std::vector<double>{40, 0, 50, 10});
    Track end = propagate_track(t, 9, 5, 11, counter());
    CHECK(frames_of(end) == std::vector<long long>{0, 9, 10, 11});
}

TEST_CASE("a keyframe dragged to a free frame moves there, never onto another keyframe") {
    Track t = box_track({key(0, {0, 0, 10, 10}), key(10, {100, 0, 110, 10})});
    auto moved = move_keyframe(t, 10, 4);
    REQUIRE(moved);
    CHECK(frames_of(*moved) == std::vector<long long>{0, 4});
    auto past = move_keyframe(t, 0, 12);
    REQUIRE(past);
    CHECK(frames_of(*past) == std::vector<long long>{10, 12});
    CHECK(past->keyframes[1].points == std::vector<double>{0, 0, 10, 10});
    CHECK_FALSE(move_keyframe(t, 0, 10));
    CHECK_FALSE(move_keyframe(t, 3, 5));
    CHECK_FALSE(move_keyframe(t, 0, -1));
}

TEST_CASE("a track's visible spans skip what is outside and run on after the last keyframe") {
    Track t = box_track({key(0, {0, 0, 1, 1}), key(5, {0, 0, 1, 1}), key(8, {0, 0, 1, 1}, true), key(12, {0, 0, 1, 1})});
    using Spans = std::vector<std::pair<long long, long long>>;
    CHECK(visible_spans(t) == Spans{{0, 8}, {12, -1}});
    Track ends = box_track({key(2, {0, 0, 1, 1}), key(4, {0, 0, 1, 1}, true)});
    CHECK(visible_spans(ends) == Spans{{2, 4}});
}

TEST_CASE("edits on a frame of another medium do nothing: a track lives within its medium") {
    // The track is in a video of frames [0, 10); frame 12 is in the next medium [10, 20).
    Track t = box_track({key(2, {0, 0, 10, 10}), key(5, {5, 0, 15, 10})});
    MediumSpan next{10, 20}, own{0, 10};
    NewId id = counter();
    CHECK_FALSE(toggle_keyframe(t, 12, id, next));
    CHECK_FALSE(set_outside(t, 12, true, id, next));
    CHECK_FALSE(set_occluded(t, 12, true, id, next));
    CHECK_FALSE(split_track(t, 12, "t2", id, next));
    CHECK_FALSE(delete_track_from(t, 12, id, next));
    CHECK(frames_of(propagate_track(t, 12, 5, 19, id, next)) == std::vector<long long>{2, 5});
    // In its own medium they work, and propagation stops at the medium's last frame.
    CHECK(toggle_keyframe(t, 8, id, own));
    CHECK(frames_of(propagate_track(t, 7, 10, 19, id, own)) == std::vector<long long>{2, 5, 7, 8, 9});
    // Without a medium (one medium, or no task) the old behaviour: the last keyframe carries on.
    CHECK(toggle_keyframe(t, 12, id));
}
