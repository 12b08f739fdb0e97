// The document session and the inbox, headless: what reaches the document, when, and through whom.
#include "null_platform.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using namespace pm::testing;

TEST_CASE("a fetched image goes to the platform's decoder, and its pixels are applied at the start of the next frame") {
    NullPlatform platform;
    AppOptions options = LoadedApp::options(1, R"({"format":"polymark.annotations","version":1,"objects":[]})");
    App app(platform, options);
    app.start();
    REQUIRE(platform.fetches.size() == 1);
    CHECK(platform.fetches[0].url == "/media/0.bmp");
    app.inbox().post(FetchDone{platform.fetches[0].id, 200, "", grey_bmp(400, 300)});
    REQUIRE(app.current_image() != nullptr);
    CHECK(app.current_image()->state == LoadState::Loading);
    CHECK(app.busy());
    app.apply_inbox();
    REQUIRE(platform.decodes.size() == 1);  // the bytes went to the decoder: still loading
    CHECK(app.current_image()->state == LoadState::Loading);
    app.inbox().post(std::move(platform.decodes[0]));
    CHECK(app.current_image()->state == LoadState::Loading);
    app.apply_inbox();
    CHECK(app.current_image()->state == LoadState::Ready);
    CHECK(app.current_image()->width == 400);
    CHECK(app.current_image()->height == 300);
    CHECK_FALSE(app.busy());
    app.current_image()->pixels.clear();  // uploaded
    app.frame_presented();
    CHECK(platform.count("ready") == 1);
}

TEST_CASE("an answer to a request the app gave up is dropped") {
    LoadedApp t;
    t.app.inbox().post(FetchDone{9999, 200, "", grey_bmp(10, 10)});
    t.app.apply_inbox();
    CHECK(t.app.current_image()->width == 400);
    CHECK(t.app.notices().list().empty());
}

TEST_CASE("a failed image fetch is a notice and an error event naming the URL") {
    NullPlatform platform;
    App app(platform, LoadedApp::options(1, R"({"format":"polymark.annotations","version":1,"objects":[]})"));
    app.start();
    app.inbox().post(FetchDone{platform.fetches.at(0).id, 404, "", {}});
    app.apply_inbox();
    CHECK(app.current_image()->state == LoadState::Failed);
    REQUIRE(app.notices().list().size() == 1);
    CHECK(app.notices().list()[0].error.code == "not_found");
    CHECK(app.notices().list()[0].error.path == "/media/0.bmp");
    CHECK(platform.count("error") == 1);
}

TEST_CASE("the session bumps the revision and emits change once per edit, undo and redo") {
    LoadedApp t;
    const uint64_t before = t.app.revision();
    Object box;
    box.id = t.app.new_object_id();
    box.type = ShapeType::Rectangle;
    box.label = "thing";
    box.points = {1, 2, 30, 40};
    REQUIRE(t.app.create_shape("draw rectangle", box, false));
    REQUIRE(t.app.undo());
    REQUIRE(t.app.redo());
    CHECK(t.app.revision() == before + 3);
    std::vector<std::string> commands;
    for (const auto& [event, detail] : t.platform.events)
        if (event == "change") commands.push_back(detail["command"].get<std::string>());
    CHECK(commands == std::vector<std::string>{"draw rectangle", "undo draw rectangle", "redo draw rectangle"});
}

TEST_CASE("setAnnotations replaces the document and leaves nothing to undo") {
    LoadedApp t;
    Object box;
    box.id = "a";
    box.type = ShapeType::Rectangle;
    box.label = "thing";
    box.points = {1, 2, 30, 40};
    REQUIRE(t.app.create_shape("draw rectangle", box, false));
    Errors errors = t.app.set_annotations_json(R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"b","type":"rectangle","frame":0,"label":"thing","points":[5,5,9,9]}]})");
    REQUIRE(errors.empty());
    REQUIRE(t.app.document().objects.size() == 1);
    CHECK(t.app.document().objects[0].id == "b");
    CHECK_FALSE(t.app.undo());
}

TEST_CASE("while sync has not started the session refuses edits and says why") {
    NullPlatform platform;
    AppOptions options = LoadedApp::options(1, R"({"format":"polymark.annotations","version":1,"objects":[]})");
    options.annotations_json.clear();  // the task object alone: no backend to load from
    options.sync = SyncConfig{};
    App app(platform, options);
    app.start();
    Object box;
    box.id = "a";
    box.type = ShapeType::Rectangle;
    box.label = "thing";
    box.points = {1, 2, 30, 40};
    CHECK_FALSE(app.create_shape("draw rectangle", box, false));
    CHECK(app.document().objects.empty());
    REQUIRE_FALSE(app.notices().list().empty());
    CHECK(app.notices().list().back().error.code == "read_only");
    CHECK(app.sync().status_json()["state"] == "read-only");
}

TEST_CASE("a sync reply waits in the inbox while a gesture is in progress and is applied after it") {
    LoadedApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"box","type":"rectangle","frame":0,"label":"thing","points":[10,10,50,50]}]})");
    auto holds_reply = [&] { return t.app.inbox().any_of([](const Message& m) { return std::holds_alternative<SyncReplied>(m); }); };
    Editor& editor = t.app.editor();
    editor.pointer_down(at(30, 30), PointerButton::Left);  // starts moving the box
    editor.pointer_move(at(40, 40), true);
    REQUIRE(editor.busy());
    t.app.inbox().post(SyncReplied{7, 200, "{}"});
    t.app.inbox().post(FetchDone{12345, 200, "", {}});
    t.app.apply_inbox();
    CHECK(holds_reply());
    CHECK_FALSE(t.app.inbox().any_of([](const Message& m) { return std::holds_alternative<FetchDone>(m); }));
    editor.pointer_up(at(40, 40));
    t.app.apply_inbox();
    CHECK_FALSE(holds_reply());
    CHECK(t.app.document().objects[0].points == Points{20, 20, 60, 60});
}

TEST_CASE("a person's edit carries the guideline version in force; undo restores the old stamp; a tracker's or an import's edit carries none") {
    NullPlatform platform;
    Notices notices{platform};
    DocumentSession session(notices);
    std::optional<long long> version;
    session.guideline = [&] { return version; };
    std::vector<Command> applied;
    session.on_applied = [&](const Command& c) { applied.push_back(c); };
    Object box;
    box.id = "a";
    box.label = "cat";
    box.points = {0, 0, 10, 10};
    REQUIRE(session.perform(Command{"draw rectangle", {ObjectOp::create(box, 0)}, {}}));
    CHECK_FALSE(session.document().objects[0].guideline.has_value());  // no version known yet: nothing stamped

    version = 2;
    Object moved = session.document().objects[0];
    moved.points = {1, 1, 11, 11};
    REQUIRE(session.perform(Command{"move shape", {ObjectOp::update(session.document().objects[0], moved, 0)}, {}}));
    CHECK(session.document().objects[0].guideline == 2);
    REQUIRE(applied.back().ops[0].after);
    CHECK(applied.back().ops[0].after->guideline == 2);  // what sync sends carries it
    REQUIRE(session.undo());
    CHECK_FALSE(session.document().objects[0].guideline.has_value());
    REQUIRE(session.redo());
    CHECK(session.document().objects[0].guideline == 2);

    version = 3;
    Object tracked = session.document().objects[0];
    tracked.points = {2, 2, 12, 12};
    REQUIRE(session.perform(Command{"track forward", {ObjectOp::update(session.document().objects[0], tracked, 0)}, {}}, /*by_person=*/false));
    CHECK(session.document().objects[0].guideline == 2);

    Object drawn = box;
    drawn.id = "t";
    REQUIRE(session.create_shape("draw track", drawn, /*as_track=*/true, nullptr));
    REQUIRE(session.document().tracks.size() == 1);
    CHECK(session.document().tracks[0].guideline == 3);
    Command deleted = session.remove_shapes_command("delete shape", {"a"});
    REQUIRE(session.perform(deleted));  // a delete has nothing to stamp
    CHECK(session.document().objects.empty());
}
