#include "polymark/edit.hpp"

#include <catch2/catch.hpp>

using namespace pm;

static Object polygon(std::string id, double x) {
    Object o;
    o.id = std::move(id);
    o.type = ShapeType::Polygon;
    o.label = "cat";
    o.points = {x, 0, x + 10, 0, x, 10};
    return o;
}

static std::vector<std::string> ids(const Document& d) {
    std::vector<std::string> out;
    for (const Object& o : d.objects) out.push_back(o.id);
    return out;
}

TEST_CASE("create, update and delete apply and undo back to the same document") {
    Document doc;
    History h;
    REQUIRE(h.perform(doc, Command{"draw polygon", {ObjectOp::create(polygon("a", 0), 0)}}));
    REQUIRE(h.perform(doc, Command{"draw polygon", {ObjectOp::create(polygon("b", 50), 1)}}));
    Object moved = doc.objects[0];
    moved.points = {5, 5, 15, 5, 5, 15};
    REQUIRE(h.perform(doc, Command{"move polygon", {ObjectOp::update(doc.objects[0], moved, 0)}}));
    REQUIRE(h.perform(doc, Command{"delete polygon", {ObjectOp::remove(doc.objects[1], 1)}}));
    CHECK(ids(doc) == std::vector<std::string>{"a"});
    CHECK(doc.objects[0].points[0] == 5);

    CHECK(h.undo(doc) == std::optional<std::string>("delete polygon"));
    CHECK(ids(doc) == std::vector<std::string>{"a", "b"});
    CHECK(h.undo(doc) == std::optional<std::string>("move polygon"));
    CHECK(doc.objects[0].points[0] == 0);
    CHECK(h.undo(doc));
    CHECK(h.undo(doc));
    CHECK(doc.objects.empty());
    CHECK_FALSE(h.undo(doc));

    CHECK(h.redo(doc));
    CHECK(h.redo(doc));
    CHECK(h.redo(doc));
    CHECK(h.redo(doc));
    CHECK(ids(doc) == std::vector<std::string>{"a"});
    CHECK(doc.objects[0].points[0] == 5);
    CHECK_FALSE(h.redo(doc));
}

TEST_CASE("a new command after undo drops the redo branch") {
    Document doc;
    History h;
    h.perform(doc, Command{"draw", {ObjectOp::create(polygon("a", 0), 0)}});
    h.undo(doc);
    REQUIRE(h.can_redo());
    h.perform(doc, Command{"draw", {ObjectOp::create(polygon("b", 0), 0)}});
    CHECK_FALSE(h.can_redo());
    CHECK(ids(doc) == std::vector<std::string>{"b"});
}

TEST_CASE("deleting several objects restores each at its own place on undo") {
    Document doc;
    for (int i = 0; i < 5; ++i) doc.objects.push_back(polygon("o" + std::to_string(i), i * 20));
    History h;
    // Deletions go from the highest index down so that each index is still right when applied.
    Command del{"delete 2 shapes", {ObjectOp::remove(doc.objects[3], 3), ObjectOp::remove(doc.objects[1], 1)}};
    REQUIRE(h.perform(doc, del));
    CHECK(ids(doc) == std::vector<std::string>{"o0", "o2", "o4"});
    h.undo(doc);
    CHECK(ids(doc) == std::vector<std::string>{"o0", "o1", "o2", "o3", "o4"});
}

TEST_CASE("a command whose object changed underneath is refused whole, naming the id") {
    Document doc;
    doc.objects.push_back(polygon("a", 0));
    doc.objects.push_back(polygon("b", 20));
    Object stale = polygon("b", 99);  // not what is in the document
    Object a_after = doc.objects[0], b_after = stale;
    a_after.label = b_after.label = "dog";
    Command c{"relabel 2 shapes", {ObjectOp::update(doc.objects[0], a_after, 0), ObjectOp::update(stale, b_after, 1)}};
    auto r = apply_command(doc, c);
    REQUIRE_FALSE(r.ok());
    CHECK(r.first_error().code == "conflict");
    CHECK(r.first_error().message.find("\"b\"") != std::string::npos);
    CHECK(doc.objects[0].label == "cat");  // the first op was rolled back
    History h;
    CHECK_FALSE(h.perform(doc, c).ok());
    CHECK_FALSE(h.can_undo());
}

TEST_CASE("creating an id that exists and touching one that does not are errors") {
    Document doc;
    doc.objects.push_back(polygon("a", 0));
    CHECK(apply_command(doc, Command{"draw", {ObjectOp::create(polygon("a", 5), 1)}}).first_error().code == "duplicate_id");
    CHECK(apply_command(doc, Command{"delete", {ObjectOp::remove(polygon("zz", 0), 0)}}).first_error().code == "not_found");
    CHECK(doc.objects.size() == 1);
}

TEST_CASE("commands round-trip through json and keep full precision") {
    Object a = polygon("a", 0.1);
    a.points[1] = 1234.5678901234567;
    Object b = a;
    b.z = 3;
    Command c{"raise", {ObjectOp::create(a, 0), ObjectOp::update(a, b, 0), ObjectOp::remove(b, 0)}};
    Json j = command_to_json(c);
    CHECK(j["ops"][0]["op"] == "create");
    CHECK(j["ops"][1]["op"] == "update");
    CHECK(j["ops"][2]["op"] == "delete");
    auto back = command_from_json(j);
    REQUIRE(back.ok());
    CHECK(command_to_json(back.value()) == j);
    CHECK(back->ops[0].after->points[1] == 1234.5678901234567);
    Document doc;
    CHECK(apply_command(doc, back.value()).ok());
    CHECK(doc.objects.empty());
}

TEST_CASE("malformed commands are refused with a pointer") {
    auto missing = command_from_json(Json::parse(R"({"name":"x","ops":[{"op":"update","id":"a","index":0,
        "after":{"id":"a","type":"polygon","frame":0,"label":"l","points":[0,0,1,0,0,1]}}]})"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.first_error().code == "bad_op");
    CHECK(missing.first_error().path == "/ops/0");
    auto nan_like = command_from_json(Json::parse(R"({"name":"x","ops":[{"op":"create","id":"a","index":0,
        "after":{"id":"a","type":"polygon","frame":0,"label":"l","points":[0,0,1,0,"x",1]}}]})"));
    REQUIRE_FALSE(nan_like.ok());
    CHECK(nan_like.first_error().path == "/ops/0/after/points/4");
}

TEST_CASE("generated ids are unique in the document and valid") {
    Document doc;
    doc.objects.push_back(polygon("s1-2", 0));
    IdGenerator gen("s1-");
    CHECK(gen.next(doc) == "s1-1");
    CHECK(gen.next(doc) == "s1-3");
    CHECK(is_valid_id(gen.next(doc)));
}

static Track box_track(std::string id, std::vector<long long> frames) {
    Track t;
    t.id = id;
    t.type = ShapeType::Rectangle;
    t.label = "cat";
    for (long long f : frames) {
        Keyframe k;
        k.id = id + ".k" + std::to_string(f);
        k.frame = f;
        k.points = {double(f), 0, double(f) + 10, 10};
        t.keyframes.push_back(k);
    }
    return t;
}

TEST_CASE("track operations create, update and delete tracks and undo like object operations") {
    Document doc;
    History h;
    REQUIRE(h.perform(doc, Command{"draw track", {}, {TrackOp::create(box_track("t", {0, 10}), 0)}}));
    Track moved = doc.tracks[0];
    moved.keyframes[1].points = {50, 50, 60, 60};
    REQUIRE(h.perform(doc, Command{"move keyframe", {}, {TrackOp::update(doc.tracks[0], moved, 0)}}));
    CHECK(doc.tracks[0].keyframes[1].points == std::vector<double>{50, 50, 60, 60});
    REQUIRE(h.perform(doc, Command{"delete track", {}, {TrackOp::remove(doc.tracks[0], 0)}}));
    CHECK(doc.tracks.empty());
    h.undo(doc);
    h.undo(doc);
    CHECK(same_track(doc.tracks[0], box_track("t", {0, 10})));
    h.undo(doc);
    CHECK(doc.tracks.empty());
    h.redo(doc);
    h.redo(doc);
    CHECK(doc.tracks[0].keyframes[1].points == std::vector<double>{50, 50, 60, 60});
}

TEST_CASE("objects, tracks and keyframes share one id namespace") {
    Document doc;
    doc.objects.push_back(polygon("a", 0));
    doc.tracks.push_back(box_track("t", {0, 5}));
    CHECK(id_in_use(doc, "a"));
    CHECK(id_in_use(doc, "t"));
    CHECK(id_in_use(doc, "t.k5"));
    CHECK_FALSE(id_in_use(doc, "t.k6"));
    CHECK(apply_command(doc, Command{"draw", {ObjectOp::create(polygon("t.k5", 0), 0)}, {}}).first_error().code == "duplicate_id");
    CHECK(apply_command(doc, Command{"track", {}, {TrackOp::create(box_track("a", {1}), 0)}}).first_error().code == "duplicate_id");
    IdGenerator gen("t.k");
    CHECK(gen.next(doc) == "t.k1");
}

TEST_CASE("a command whose track op fails leaves its object ops unapplied too") {
    Document doc;
    doc.objects.push_back(polygon("a", 0));
    Document before = doc;
    Track ghost = box_track("ghost", {0});
    Command merge{"merge into track", {ObjectOp::remove(doc.objects[0], 0)}, {TrackOp::update(ghost, ghost, 0)}};
    auto result = apply_command(doc, merge);
    REQUIRE_FALSE(result);
    CHECK(result.first_error().code == "not_found");
    CHECK(result.first_error().path == "/track_ops/0");
    CHECK(serialize_document(doc) == serialize_document(before));
}

TEST_CASE("commands with track operations round-trip through json") {
    Track t = box_track("t", {0, 7});
    t.keyframes[1].outside = true;
    Track after = t;
    after.keyframes[0].points[0] = 0.1 + 0.2;
    Command c{"edit track", {ObjectOp::create(polygon("a", 1), 0)}, {TrackOp::update(t, after, 0), TrackOp::create(box_track("u", {3}), 1)}};
    Json j = command_to_json(c);
    auto back = command_from_json(Json::parse(j.dump()));
    REQUIRE(back);
    CHECK(command_to_json(back.value()) == j);
    CHECK(back.value().track_ops[0].after->keyframes[0].points[0] == 0.1 + 0.2);
    Json bad = j;
    bad["track_ops"][0]["after"]["keyframes"] = Json::array();
    auto refused = command_from_json(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.first_error().path == "/track_ops/0/after/keyframes");
}

TEST_CASE("frames_changed names the frames of the objects a command touches and the keyframes that differ") {
    Object a = polygon("a", 0), b = polygon("b", 50);
    a.frame = 7;
    b.frame = 3;
    Object moved = a;
    moved.points[0] = 1;
    Command objects{"move and draw", {ObjectOp::update(a, moved, 0), ObjectOp::create(b, 1)}, {}};
    CHECK(frames_changed(objects) == std::vector<long long>{3, 7});

    Track t;
    t.id = "t";
    t.label = "cat";
    t.keyframes = {Keyframe{"k0", 0, {0, 0, 10, 10}}, Keyframe{"k5", 5, {0, 0, 10, 10}}, Keyframe{"k9", 9, {0, 0, 10, 10}}};
    Track edited = t;
    edited.keyframes[1].points = {1, 1, 11, 11};                      // frame 5 changed
    edited.keyframes.push_back(Keyframe{"k12", 12, {0, 0, 10, 10}});  // frame 12 added
    Command track{"move vertex", {}, {TrackOp::update(t, edited, 0)}};
    CHECK(frames_changed(track) == std::vector<long long>{5, 12});
    CHECK(frames_changed(track.inverse()) == std::vector<long long>{5, 12});
    Track relabelled = t;
    relabelled.label = "dog";
    CHECK(frames_changed(Command{"change label", {}, {TrackOp::update(t, relabelled, 0)}}) == std::vector<long long>{0, 5, 9});
    CHECK(frames_changed(Command{"delete track", {}, {TrackOp::remove(t, 0)}}) == std::vector<long long>{0, 5, 9});
}
