// The editor's assisted tools against a null platform: the requests they send to the assist
// worker, and what its replies (posted to the inbox, as the page does) make of the document.
#include "null_platform.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using namespace pm::testing;

namespace {

struct AssistApp : LoadedApp {
    explicit AssistApp(int frames = 1, std::string annotations = R"({"format":"polymark.annotations","version":1,"objects":[]})",
                       bool video = false)
        : LoadedApp(frames, std::move(annotations), video) {
        platform.assist_worker = true;
        REQUIRE(app.editor().set_label("thing"));
    }
    const Json& last(const std::string& type) {
        for (size_t i = platform.assists.size(); i-- > 0;)
            if (platform.assists[i]["type"] == type) return platform.assists[i];
        FAIL("no " << type << " request was sent");
        static Json none;
        return none;
    }
    void answer(Json reply) {
        app.inbox().post(AssistReplied{std::move(reply)});
        app.apply_inbox();
    }
    // A square whose top right corner (150, 50) is pressed, with edge snapping on.
    void grab_square_corner() {
        REQUIRE(app.set_annotations_json(R"({"format":"polymark.annotations","version":1,"objects":[
          {"id":"sq","type":"polygon","frame":0,"label":"thing","points":[50,50,150,50,150,150,50,150]}]})").empty());
        app.editor().set_edge_snapping(true);
        app.editor().select({"sq"});
        app.editor().pointer_down(at(150, 50), PointerButton::Left);
    }
    void answer_path(const Json& request, Points path) {
        answer(Json{{"type", "path"}, {"id", request["id"]}, {"points", path}, {"ms", 1}});
    }
};

}  // namespace

TEST_CASE("scissors clicks take the worker's edge paths between anchors and close as one polygon, one undo step") {
    AssistApp t;
    Editor& editor = t.app.editor();
    editor.set_tool(Tool::Scissors);
    editor.pointer_down(at(10, 10), PointerButton::Left);
    CHECK(t.last("anchor")["x"] == 10);
    CHECK(t.last("anchor")["media"]["type"] == "image");

    editor.pointer_move(at(60, 12), false);
    const Json move = t.last("path");
    CHECK(move["coalesce"] == true);
    t.answer_path(move, {10, 10, 30, 14, 60, 12});
    REQUIRE(editor.scissors_preview());
    CHECK(*editor.scissors_preview() == Points{10, 10, 30, 14, 60, 12});

    editor.pointer_down(at(60, 12), PointerButton::Left);
    const Json first_leg = t.platform.assists[t.platform.assists.size() - 2];
    CHECK(first_leg["type"] == "path");
    CHECK_FALSE(first_leg.contains("coalesce"));
    CHECK(t.last("anchor")["x"] == 60);
    t.answer_path(first_leg, {10, 10, 30, 14, 60, 12});

    editor.pointer_down(at(60, 70), PointerButton::Left);
    t.answer_path(t.platform.assists[t.platform.assists.size() - 2], {60, 12, 62, 40, 60, 70});
    CHECK(t.app.document().objects.empty());
    CHECK(editor.scissors_anchors() == std::vector<size_t>{0, 2, 4});

    editor.finish_drawing();  // Enter: the path back to the first anchor, then the polygon
    const Json closing = t.last("path");
    CHECK(closing["x"] == 10);
    t.answer_path(closing, {60, 70, 20, 50, 10, 10});
    REQUIRE(t.app.document().objects.size() == 1);
    const Object& o = t.app.document().objects[0];
    CHECK(o.type == ShapeType::Polygon);
    CHECK(o.points == Points{10, 10, 30, 14, 60, 12, 62, 40, 60, 70, 20, 50});
    CHECK(t.app.session().history().done().size() == 1);
    REQUIRE(t.app.undo());
    CHECK(t.app.document().objects.empty());
}

TEST_CASE("a scissors leg the worker cannot trace becomes a straight edge, and Backspace takes back the last anchor") {
    AssistApp t;
    Editor& editor = t.app.editor();
    editor.set_tool(Tool::Scissors);
    editor.pointer_down(at(10, 10), PointerButton::Left);
    editor.pointer_down(at(80, 10), PointerButton::Left);
    const Json leg = t.platform.assists[t.platform.assists.size() - 2];
    t.answer(Json{{"type", "error"}, {"id", leg["id"]}, {"code", "no_path"}, {"message", "no edge there"}});
    REQUIRE(editor.draft());
    CHECK(editor.draft()->points == Points{10, 10, 80, 10});

    editor.pointer_down(at(80, 80), PointerButton::Left);
    t.answer_path(t.platform.assists[t.platform.assists.size() - 2], {80, 10, 81, 40, 80, 80});
    CHECK(editor.draft()->points == Points{10, 10, 80, 10, 81, 40, 80, 80});
    editor.remove_last_vertex();  // Backspace
    CHECK(editor.draft()->points == Points{10, 10, 80, 10});
    CHECK(t.last("anchor")["x"] == 80);
    CHECK(t.last("anchor")["y"] == 10);
}

TEST_CASE("a wand click makes the worker's region a polygon with the label, and the wand stays on") {
    AssistApp t;
    Editor& editor = t.app.editor();
    editor.set_tool(Tool::Wand);
    editor.set_wand_tolerance(40);
    editor.pointer_down(at(100, 100), PointerButton::Left);
    editor.pointer_up(at(100, 100));
    const Json wand = t.last("wand");
    CHECK(wand["tolerance"] == 40);
    CHECK(editor.assist_busy());
    t.answer(Json{{"type", "polygon"}, {"id", wand["id"]}, {"points", {90, 90, 110, 90, 110, 110, 90, 110}}});
    REQUIRE(t.app.document().objects.size() == 1);
    CHECK(t.app.document().objects[0].label == "thing");
    CHECK(t.app.document().objects[0].points == Points{90, 90, 110, 90, 110, 110, 90, 110});
    CHECK(editor.tool() == Tool::Wand);
    CHECK_FALSE(editor.assist_busy());
}

TEST_CASE("a wand region over the selected track becomes its keyframe on this frame, one undo step; elsewhere a new polygon") {
    AssistApp t(5, R"({"format":"polymark.annotations","version":1,"objects":[],"tracks":[{"id":"p","type":"polygon","label":"thing",
      "keyframes":[{"id":"p.k0","frame":0,"points":[10,10,60,10,60,60,10,60]}]}]})", true);
    Editor& editor = t.app.editor();
    t.go_to(3);
    editor.select({"p"});
    editor.set_tool(Tool::Wand);
    auto wand_at = [&](double x, double y, Points region) {
        editor.pointer_down(at(x, y), PointerButton::Left);
        editor.pointer_up(at(x, y));
        t.answer(Json{{"type", "polygon"}, {"id", t.last("wand")["id"]}, {"points", region}});
    };
    wand_at(50, 50, {30, 30, 80, 30, 80, 80, 30, 80});  // the object moved by 20: the region overlaps the drifted shape
    REQUIRE(t.app.document().tracks.size() == 1);
    CHECK(t.app.document().objects.empty());
    const Track& track = t.app.document().tracks[0];
    REQUIRE(track.keyframes.size() == 2);
    CHECK(track.keyframes[1].frame == 3);
    CHECK(track.keyframes[1].points == Points{30, 30, 80, 30, 80, 80, 30, 80});
    CHECK(t.app.session().history().done().back().name == "redraw with the wand");
    CHECK(editor.selection() == std::vector<std::string>{"p"});

    wand_at(300, 200, {280, 180, 320, 180, 320, 220});  // another object, far from the track: a new shape
    CHECK(t.app.document().objects.size() + t.app.document().tracks.size() == 2);
    CHECK(t.app.document().tracks[0].keyframes.size() == 2);

    REQUIRE(t.app.undo());
    REQUIRE(t.app.undo());
    CHECK(t.app.document().tracks[0].keyframes.size() == 1);
}

TEST_CASE("an outline box over a selected rectangle redraws it as the region's bounding box") {
    AssistApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"r","type":"rectangle","frame":0,"label":"thing","points":[20,20,90,90],"rotation":0.3}]})");
    Editor& editor = t.app.editor();
    editor.select({"r"});
    editor.set_tool(Tool::Outline);
    editor.pointer_down(at(10, 10), PointerButton::Left);
    editor.pointer_move(at(120, 120), true);
    editor.pointer_up(at(120, 120));
    t.answer(Json{{"type", "polygon"}, {"id", t.last("box")["id"]}, {"points", {40, 30, 100, 50, 70, 110}}});
    REQUIRE(t.app.document().objects.size() == 1);
    const Object& o = t.app.document().objects[0];
    CHECK(o.type == ShapeType::Rectangle);
    CHECK(o.points == Points{40, 30, 100, 110});
    CHECK(o.rotation == 0);
    CHECK(t.app.session().history().done().back().name == "redraw with the outline");
}

TEST_CASE("an outline box goes to the worker, shows progress, and Esc cancels it so a late answer adds nothing") {
    AssistApp t;
    Editor& editor = t.app.editor();
    editor.set_tool(Tool::Outline);
    editor.pointer_down(at(20, 30), PointerButton::Left);
    editor.pointer_move(at(120, 130), true);
    editor.pointer_up(at(120, 130));
    CHECK_FALSE(editor.draft());
    const Json box = t.last("box");
    CHECK(box["x1"] == 20);
    CHECK(box["y2"] == 130);
    t.answer(Json{{"type", "progress"}, {"id", box["id"]}, {"done", 1}, {"total", 4}});
    CHECK(editor.assist_progress() == Approx(0.25));
    REQUIRE(editor.assist_pending_box());

    editor.cancel();
    CHECK(t.last("cancel")["id"] == box["id"]);
    CHECK_FALSE(editor.assist_busy());
    t.answer(Json{{"type", "polygon"}, {"id", box["id"]}, {"points", {20, 30, 120, 30, 120, 130}}});
    CHECK(t.app.document().objects.empty());
}

TEST_CASE("with edge snapping on, a dragged vertex lands where the worker found the edge") {
    AssistApp t;
    Editor& editor = t.app.editor();
    t.grab_square_corner();
    editor.pointer_move(at(170, 40), true);
    const Json snap = t.last("snap");
    CHECK(snap["x"] == 170);
    t.answer(Json{{"type", "snapped"}, {"id", snap["id"]}, {"x", 173.5}, {"y", 38.5}, {"moved", true}});
    REQUIRE(editor.previews().size() == 1);
    CHECK(editor.previews()[0].points == Points{50, 50, 173.5, 38.5, 150, 150, 50, 150});
    editor.pointer_up(at(170, 40));
    CHECK(t.app.document().objects[0].points == Points{50, 50, 173.5, 38.5, 150, 150, 50, 150});
}

TEST_CASE("a vertex released before the edge's answer comes is committed where the answer puts it") {
    AssistApp t;
    Editor& editor = t.app.editor();
    t.grab_square_corner();
    editor.pointer_move(at(160, 60), true);
    editor.pointer_up(at(170, 40));
    CHECK(t.app.session().history().done().empty());
    const Json snap = t.last("snap");
    CHECK(snap["x"] == 170);
    t.answer(Json{{"type", "snapped"}, {"id", snap["id"]}, {"x", 171}, {"y", 41}, {"moved", true}});
    CHECK(t.app.session().history().done().size() == 1);
    CHECK(t.app.document().objects[0].points == Points{50, 50, 171, 41, 150, 150, 50, 150});
}

TEST_CASE("without an assist worker the tools say so and nothing is drawn") {
    LoadedApp t;
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_tool(Tool::Wand);
    editor.pointer_down(at(100, 100), PointerButton::Left);
    REQUIRE(t.app.notices().latest_refusal());
    CHECK(t.app.notices().latest_refusal()->error.code == "no_assist");
    CHECK(t.app.document().objects.empty());
}
