#include "polymark/track_forward.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace pm;

namespace {

// A 320x240 gray scene: a smooth textured background and a 48x40 object with its own sharper
// texture whose top-left corner is at `at(frame)`.
struct Scene {
    int width = 320, height = 240;
    double w = 48, h = 40;
    double x0 = 60, y0 = 80, dx = 3, dy = 2;
    Vec2 at(long long frame) const { return {x0 + dx * double(frame), y0 + dy * double(frame)}; }
    std::vector<uint8_t> frame(long long n) const {
        std::vector<uint8_t> px((size_t)width * (size_t)height);
        Vec2 o = at(n);
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                double v = 110 + 40 * std::sin(x * 0.07) * std::cos(y * 0.05);
                double u = x + 0.5 - o.x, t = y + 0.5 - o.y;
                if (u >= 0 && u < w && t >= 0 && t < h) v = ((int(u) / 6 + int(t) / 6) % 2 ? 230 : 25) + 15 * std::sin(u * 0.9 + t * 0.4);
                px[(size_t)y * (size_t)width + (size_t)x] = (uint8_t)std::clamp(v, 0.0, 255.0);
            }
        return px;
    }
};

Document one_track(ShapeType type, Points points) {
    Document doc;
    Track t;
    t.id = "t1";
    t.type = type;
    t.label = "car";
    Keyframe k;
    k.id = "t1.k0";
    k.frame = 0;
    k.points = std::move(points);
    t.keyframes.push_back(k);
    doc.tracks.push_back(t);
    return doc;
}

// Feeds the job the scene's frames until it finishes (or `fail_at` fails to decode).
void run(TrackForwardJob& job, const Scene& scene, long long fail_at = -1) {
    int counter = 0;
    NewId ids = [&] { return "auto" + std::to_string(counter++); };
    while (auto n = job.next_frame()) {
        if (*n == fail_at) {
            job.frame_failed(*n, "decode_failed");
            continue;
        }
        std::vector<uint8_t> px = scene.frame(*n);
        job.feed(*n, FrameView{scene.width, scene.height, scene.width, px.data(), PixelFormat::gray8}, ids);
    }
}

const Keyframe* keyframe_on(const Track& t, long long frame) {
    for (const Keyframe& k : t.keyframes)
        if (k.frame == frame) return &k;
    return nullptr;
}

}  // namespace

TEST_CASE("tracking a rectangle forward writes automatic keyframes that follow the object, as one undoable command", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {20});
    REQUIRE(job.ok());
    run(job.value(), scene);
    REQUIRE(job->finished());
    CHECK(job->objects()[0].state == TrackForwardState::Done);
    CHECK(job->objects()[0].keyframes == 20);
    Command c = job->command(doc);
    CHECK(c.name == "track forward 20 frames");
    REQUIRE(c.track_ops.size() == 1);
    Document before = doc;
    History history;
    REQUIRE(history.perform(doc, c).ok());
    const Track& t = doc.tracks[0];
    REQUIRE(t.keyframes.size() == 21);
    for (long long f = 1; f <= 20; ++f) {
        const Keyframe* k = keyframe_on(t, f);
        REQUIRE(k);
        CHECK(k->source == Source::Auto);
        Vec2 truth = scene.at(f);
        CHECK(std::abs((k->points[0] + k->points[2]) / 2 - (truth.x + scene.w / 2)) < 1.5);
        CHECK(std::abs((k->points[1] + k->points[3]) / 2 - (truth.y + scene.h / 2)) < 1.5);
        CHECK(std::abs((k->points[2] - k->points[0]) - scene.w) < 0.1 * scene.w);  // the tracker's own tests hold it to 5 %
    }
    history.undo(doc);
    CHECK(same_track(doc.tracks[0], before.tracks[0]));
}

TEST_CASE("a polygon, a single point and a straight polyline follow the object's motion", "[track_forward]") {
    // The point and the line have no area: they are followed through the image around them.
    Scene scene;
    Vec2 o = scene.at(0);
    Points diamond = {o.x + 24, o.y + 2, o.x + 46, o.y + 20, o.x + 24, o.y + 38, o.x + 2, o.y + 20};
    for (auto [type, shape] : {std::pair{ShapeType::Polygon, diamond}, std::pair{ShapeType::Points, Points{o.x + 20, o.y + 17}},
                               std::pair{ShapeType::Polyline, Points{o.x + 6, o.y + 20, o.x + 42, o.y + 20}}}) {
        Document doc = one_track(type, shape);
        auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {15});
        REQUIRE(job.ok());
        run(job.value(), scene);
        CHECK(job->objects()[0].state == TrackForwardState::Done);
        REQUIRE(apply_command(doc, job->command(doc)).ok());
        const Keyframe* k = keyframe_on(doc.tracks[0], 15);
        REQUIRE(k);
        REQUIRE(k->points.size() == shape.size());
        for (size_t i = 0; i < shape.size(); i += 2) {
            CHECK(std::abs(k->points[i] - (shape[i] + 15 * scene.dx)) < 1.5);
            CHECK(std::abs(k->points[i + 1] - (shape[i + 1] + 15 * scene.dy)) < 1.5);
        }
    }
}

TEST_CASE("a keyframe a person made is never replaced, and tracking starts again from it", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    // The person's keyframe on frame 8 is where the object really is; an old automatic one on
    // frame 12 is wrong and gets replaced.
    Vec2 p = scene.at(8);
    Keyframe manual;
    manual.id = "t1.k8";
    manual.frame = 8;
    manual.points = {p.x, p.y, p.x + scene.w, p.y + scene.h};
    Keyframe stale;
    stale.id = "t1.k12";
    stale.frame = 12;
    stale.points = {0, 0, 10, 10};
    stale.source = Source::Auto;
    doc.tracks[0].keyframes.push_back(manual);
    doc.tracks[0].keyframes.push_back(stale);
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {16});
    REQUIRE(job.ok());
    run(job.value(), scene);
    REQUIRE(apply_command(doc, job->command(doc)).ok());
    const Track& t = doc.tracks[0];
    const Keyframe* kept = keyframe_on(t, 8);
    REQUIRE(kept);
    CHECK(kept->id == "t1.k8");
    CHECK(kept->source == Source::Manual);
    CHECK(kept->points == manual.points);
    const Keyframe* replaced = keyframe_on(t, 12);
    REQUIRE(replaced);
    CHECK(replaced->source == Source::Auto);
    CHECK(replaced->id != "t1.k12");
    CHECK(std::abs((replaced->points[0] + replaced->points[2]) / 2 - (scene.at(12).x + scene.w / 2)) < 1.5);
    CHECK(t.keyframes.size() == 17);
}

TEST_CASE("an object that leaves the frame is lost there and nothing is written from that frame on", "[track_forward]") {
    Scene scene;
    scene.x0 = 200;
    scene.dx = 9;  // gone past the right edge (320) by frame 14
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100);
    REQUIRE(job.ok());
    run(job.value(), scene);
    const TrackForwardObject& s = job->objects()[0];
    REQUIRE(s.state == TrackForwardState::Lost);
    CHECK(s.frame <= 15);
    CHECK(s.message.find("track t1 lost on frame " + std::to_string(s.frame + 1) + " ") == 0);  // counted from 1, for people
    REQUIRE(apply_command(doc, job->command(doc)).ok());
    for (const Keyframe& k : doc.tracks[0].keyframes) CHECK(k.frame < s.frame);
}

TEST_CASE("a frame that cannot be decoded stops the job before it, naming the frame", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {20});
    REQUIRE(job.ok());
    run(job.value(), scene, 6);
    const TrackForwardObject& s = job->objects()[0];
    CHECK(s.state == TrackForwardState::Failed);
    CHECK(s.frame == 6);
    CHECK(s.message.find("frame 7 could not be read (decode_failed)") != std::string::npos);
    REQUIRE(apply_command(doc, job->command(doc)).ok());
    CHECK(doc.tracks[0].keyframes.back().frame == 5);
}

TEST_CASE("tracks that cannot be tracked are named, the job refuses what it cannot start", "[track_forward]") {
    Scene scene;
    Document doc = one_track(ShapeType::Rectangle, {2, 2, 4, 3});  // under 4 px
    Keyframe later = doc.tracks[0].keyframes[0];
    later.id = "t1.k5";
    later.frame = 5;
    doc.tracks[0].keyframes.push_back(later);
    auto tiny = TrackForwardJob::start(doc, {"t1"}, 0, 100);
    REQUIRE(tiny.ok());
    run(tiny.value(), scene);
    CHECK(tiny->objects()[0].state == TrackForwardState::Failed);
    CHECK(tiny->objects()[0].message.find("track t1 on frame 1") == 0);
    CHECK(tiny->command(doc).empty());

    CHECK(TrackForwardJob::start(doc, {"nope"}, 0, 100).first_error().code == "no_tracks");
    CHECK(TrackForwardJob::start(doc, {"t1"}, 99, 100).first_error().code == "no_frames");
    CHECK(TrackForwardJob::start(doc, {"t1"}, 100, 100).first_error().code == "out_of_range");
    auto far = TrackForwardJob::start(doc, {"t1"}, 1, 100, {std::numeric_limits<long long>::max()});  // to the end
    REQUIRE(far.ok());
    CHECK(far->last_frame() == 99);
    Document outside = one_track(ShapeType::Rectangle, {10, 10, 60, 60});
    outside.tracks[0].keyframes[0].frame = 10;  // nothing before frame 10
    auto early = TrackForwardJob::start(outside, {"t1"}, 0, 100);
    REQUIRE(early.ok());
    CHECK(early->finished());
    CHECK(early->objects()[0].message == "track t1 is not visible on frame 1: nothing to track from");

    Document beyond = one_track(ShapeType::Rectangle, {scene.width + 10.0, 20, scene.width + 50.0, 60});
    auto off_image = TrackForwardJob::start(beyond, {"t1"}, 0, 100);
    REQUIRE(off_image.ok());
    run(off_image.value(), scene);
    CHECK(off_image->objects()[0].state == TrackForwardState::Failed);
    CHECK(off_image->objects()[0].message.find("lies outside the " + std::to_string(scene.width) + "x") != std::string::npos);
    CHECK(off_image->command(beyond).empty());
}

TEST_CASE("a cancelled job keeps what it wrote", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {50});
    REQUIRE(job.ok());
    int counter = 0;
    NewId ids = [&] { return "auto" + std::to_string(counter++); };
    for (int i = 0; i < 5; ++i) {
        long long n = *job->next_frame();
        std::vector<uint8_t> px = scene.frame(n);
        job->feed(n, FrameView{scene.width, scene.height, scene.width, px.data(), PixelFormat::gray8}, ids);
    }
    CHECK(job->progress() > 0.05);
    CHECK(job->progress() < 0.2);
    job->cancel();
    CHECK(job->finished());
    CHECK(job->cancelled());
    CHECK(job->command(doc).name == "track forward 4 frames");
}

TEST_CASE("what a job wrote, passed through JSON (from a worker), merges into the same command", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    auto job = TrackForwardJob::start(doc, {"t1"}, 0, 100, {12});
    REQUIRE(job.ok());
    run(job.value(), scene);
    Command direct = job->command(doc);
    REQUIRE_FALSE(direct.empty());
    Json wire = Json::parse(track_written_to_json(job->written()).dump());
    auto back = track_written_from_json(wire);
    REQUIRE(back.ok());
    Command relayed = track_forward_command(doc, back.value());
    REQUIRE(relayed.track_ops.size() == direct.track_ops.size());
    CHECK(relayed.name == direct.name);
    CHECK(track_to_json(*relayed.track_ops[0].after) == track_to_json(*direct.track_ops[0].after));
    Json status = job->status_json("done", 13);
    CHECK(status["framesTracked"] == 12);
    CHECK(status["objects"][0]["id"] == "t1");

    CHECK_FALSE(track_written_from_json(Json::parse(R"([{"id":"t1","type":"rectangle","keyframes":[{"id":"k","frame":1,"points":[1,2]}]}])")).ok());
    CHECK_FALSE(track_written_from_json(Json::parse(R"({"id":"t1"})")).ok());
}

TEST_CASE("a job read from a worker's spec tracks like one started from the document, and a spec without ids is refused", "[track_forward]") {
    Scene scene;
    Vec2 o = scene.at(0);
    Document doc = one_track(ShapeType::Rectangle, {o.x, o.y, o.x + scene.w, o.y + scene.h});
    Json spec{{"tracks", Json::array({track_to_json(doc.tracks[0])})}, {"ids", Json::array({"t1"})}, {"start", 0}, {"frameCount", 100}, {"frames", 10}};
    auto from_spec = TrackForwardJob::from_spec(spec);
    auto direct = TrackForwardJob::start(doc, {"t1"}, 0, 100, {10});
    REQUIRE(from_spec.ok());
    REQUIRE(direct.ok());
    run(from_spec.value(), scene);
    run(direct.value(), scene);
    CHECK(from_spec->last_frame() == 10);
    CHECK(track_written_to_json(from_spec->written()) == track_written_to_json(direct->written()));

    spec.erase("ids");
    auto refused = TrackForwardJob::from_spec(spec);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.first_error().code == "bad_spec");
    CHECK_FALSE(TrackForwardJob::from_spec(Json::parse("[1, 2]")).ok());
}
