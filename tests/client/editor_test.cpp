// The editor driven headless against a null platform: pointer events in image pixels, commands
// out through the session, checked on the document and the undo history.
#include "null_platform.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using namespace pm::testing;

namespace {

const char* kOneSquare = R"({"format":"polymark.annotations","version":1,"objects":[
  {"id":"sq","type":"polygon","frame":0,"label":"thing","points":[50,50,150,50,150,150,50,150]}]})";

const Object& only_object(const App& app) {
    REQUIRE(app.document().objects.size() == 1);
    return app.document().objects[0];
}

void drag(Editor& editor, Vec2 from, Vec2 to) {
    editor.pointer_down(at(from.x, from.y), PointerButton::Left);
    editor.pointer_move(at((from.x + to.x) / 2, (from.y + to.y) / 2), true);
    editor.pointer_move(at(to.x, to.y), true);
    editor.pointer_up(at(to.x, to.y));
}

}  // namespace

TEST_CASE("clicking three points and the first again draws a polygon as one undo step") {
    LoadedApp t;
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_tool(Tool::Polygon);
    for (Vec2 p : {Vec2{10, 10}, Vec2{100, 10}, Vec2{100, 100}}) editor.pointer_down(at(p.x, p.y), PointerButton::Left);
    CHECK(t.app.document().objects.empty());  // still a draft
    editor.pointer_down(at(11, 11), PointerButton::Left);  // on the first vertex: closes it

    const Object& o = only_object(t.app);
    CHECK(o.type == ShapeType::Polygon);
    CHECK(o.label == "thing");
    CHECK(o.points == Points{10, 10, 100, 10, 100, 100});
    CHECK(t.app.session().history().done().size() == 1);
    CHECK(editor.selection() == std::vector<std::string>{o.id});
    CHECK(t.platform.count("change") == 1);

    REQUIRE(t.app.undo());
    CHECK(t.app.document().objects.empty());
}

TEST_CASE("dragging a vertex previews without touching the document and commits one step") {
    LoadedApp t(1, kOneSquare);
    Editor& editor = t.app.editor();
    editor.select({"sq"});
    editor.pointer_down(at(150, 50), PointerButton::Left);
    editor.pointer_move(at(170, 40), true);
    CHECK(only_object(t.app).points == Points{50, 50, 150, 50, 150, 150, 50, 150});
    REQUIRE(editor.previews().size() == 1);
    CHECK(editor.previews()[0].points == Points{50, 50, 170, 40, 150, 150, 50, 150});
    editor.pointer_up(at(170, 40));

    CHECK(only_object(t.app).points == Points{50, 50, 170, 40, 150, 150, 50, 150});
    REQUIRE(t.app.session().history().done().size() == 1);
    CHECK(t.app.session().history().done().back().name == "move vertex");
    REQUIRE(t.app.undo());
    CHECK(only_object(t.app).points == Points{50, 50, 150, 50, 150, 150, 50, 150});
}

TEST_CASE("redrawing part of a polygon from one vertex to the next replaces the edge between them") {
    LoadedApp t(1, kOneSquare);
    Editor& editor = t.app.editor();
    editor.select({"sq"});
    PointerInput start = at(50, 50);
    start.shift = true;
    editor.pointer_down(start, PointerButton::Left);  // Shift on a vertex: redraw from it
    REQUIRE(editor.redraw_path() != nullptr);
    editor.pointer_down(at(100, 20), PointerButton::Left);
    editor.pointer_down(at(150, 50), PointerButton::Left);  // ends on the next vertex

    const Points& p = only_object(t.app).points;
    CHECK(vertex_count(p) == 5);
    bool has_new_vertex = false;
    for (size_t i = 0; i < vertex_count(p); ++i) has_new_vertex = has_new_vertex || (vertex(p, i).x == 100 && vertex(p, i).y == 20);
    CHECK(has_new_vertex);
    CHECK(t.app.session().history().done().size() == 1);
    CHECK(editor.redraw_path() == nullptr);
}

TEST_CASE("undo walks back across a track edit: first the keyframe, then the track") {
    LoadedApp t(3, R"({"format":"polymark.annotations","version":1,"objects":[]})", true);  // a video: tracks live in one medium
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_draw_tracks(true);
    editor.set_tool(Tool::Rectangle);
    drag(editor, {10, 10}, {60, 60});
    REQUIRE(t.app.document().tracks.size() == 1);
    const std::string id = t.app.document().tracks[0].id;
    CHECK(t.app.document().tracks[0].keyframes.size() == 1);

    t.go_to(2);
    editor.select({id});
    drag(editor, {35, 35}, {85, 35});  // moves the track's shape on frame 2: a keyframe there
    REQUIRE(t.app.document().tracks.size() == 1);
    REQUIRE(t.app.document().tracks[0].keyframes.size() == 2);
    CHECK(t.app.frame_objects().at(0).points == Points{60, 10, 110, 60});

    REQUIRE(t.app.undo());
    REQUIRE(t.app.document().tracks.size() == 1);
    CHECK(t.app.document().tracks[0].keyframes.size() == 1);
    CHECK(t.app.frame_objects().at(0).points == Points{10, 10, 60, 60});
    REQUIRE(t.app.undo());
    CHECK(t.app.document().tracks.empty());
    CHECK_FALSE(t.app.undo());
    REQUIRE(t.app.redo());
    REQUIRE(t.app.redo());
    CHECK(t.app.document().tracks[0].keyframes.size() == 2);
}

TEST_CASE("undo and redo of an edit on another frame go to that frame and say what they did there") {
    LoadedApp t(3);
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_tool(Tool::Rectangle);
    drag(editor, {10, 10}, {60, 60});
    REQUIRE(t.app.document().objects.size() == 1);
    t.go_to(2);
    REQUIRE(t.app.undo());
    CHECK(t.app.document().objects.empty());
    CHECK(t.app.frame() == 0);
    CHECK(t.app.step_note() == "Undid: draw rectangle on frame 0");
    t.go_to(1);
    REQUIRE(t.app.redo());
    CHECK(t.app.frame() == 0);
    CHECK(t.app.step_note() == "Redid: draw rectangle on frame 0");
    // A step seen on the current frame stays there; the note goes with the next edit.
    REQUIRE(t.app.undo());
    CHECK(t.app.frame() == 0);
    CHECK(t.app.step_note() == "Undid: draw rectangle");
    REQUIRE(t.app.redo());
    editor.select({t.app.document().objects[0].id});
    editor.delete_selection();
    CHECK(t.app.step_note().empty());
}

TEST_CASE("paste puts the copy's centre under the cursor, selected, as one undo step") {
    LoadedApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"box","type":"rectangle","frame":0,"label":"thing","points":[10,10,50,50]}]})");
    Editor& editor = t.app.editor();
    editor.select({"box"});
    editor.copy_selection();
    editor.paste(Vec2{200, 200});

    const auto& objects = t.app.document().objects;
    REQUIRE(objects.size() == 2);
    CHECK(objects[0].points == Points{10, 10, 50, 50});
    CHECK(objects[1].points == Points{180, 180, 220, 220});
    CHECK(objects[1].id != "box");
    CHECK(editor.selection() == std::vector<std::string>{objects[1].id});
    CHECK(t.app.session().history().done().size() == 1);
    REQUIRE(t.app.undo());
    CHECK(t.app.document().objects.size() == 1);
}

TEST_CASE("a shape pasted wholly outside the image is not kept") {
    LoadedApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"box","type":"rectangle","frame":0,"label":"thing","points":[10,10,50,50]}]})");
    t.app.editor().select({"box"});
    t.app.editor().copy_selection();
    t.app.editor().paste(Vec2{5000, 5000});
    CHECK(t.app.document().objects.size() == 1);
    CHECK(t.app.session().history().done().empty());
}

TEST_CASE("a track drawn on one image is not shown on the next image") {
    LoadedApp t(2);
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_draw_tracks(true);
    editor.set_tool(Tool::Rectangle);
    drag(editor, {10, 10}, {60, 60});
    REQUIRE(t.app.document().tracks.size() == 1);
    CHECK(t.app.frame_objects().size() == 1);
    t.go_to(1);
    CHECK(t.app.frame_objects().empty());
    CHECK_FALSE(editor.draw_tracks());  // left for an image: new shapes are single-frame shapes
}

TEST_CASE("a press inside the selected shape drags it even under another; a click cycles through the stack") {
    LoadedApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"inner","type":"polygon","frame":0,"label":"thing","points":[100,100,200,100,200,200,100,200]},
      {"id":"outer","type":"rectangle","frame":0,"label":"thing","points":[50,50,250,250]}]})");
    Editor& editor = t.app.editor();
    // Nothing selected: the topmost (the box, later in the document) is taken.
    editor.pointer_move(at(150, 150), false);
    CHECK(editor.hovered() == "outer");
    editor.select({"inner"});
    editor.pointer_move(at(151, 151), false);
    CHECK(editor.hovered() == "inner");
    drag(editor, {150, 150}, {170, 150});
    CHECK(t.app.document().objects[0].points == Points{120, 100, 220, 100, 220, 200, 120, 200});
    CHECK(t.app.document().objects[1].points == Points{50, 50, 250, 250});
    CHECK(editor.selection() == std::vector<std::string>{"inner"});
    // A click keeps the selected one (a click then a drag moves it); clicked again on the spot, it
    // gives way to the next one below, round to the top.
    auto click = [&](Vec2 p) {
        editor.pointer_down(at(p.x, p.y), PointerButton::Left);
        editor.pointer_up(at(p.x, p.y));
    };
    click({160, 160});
    CHECK(editor.selection() == std::vector<std::string>{"inner"});
    click({161, 160});
    CHECK(editor.selection() == std::vector<std::string>{"outer"});
    click({161, 161});
    CHECK(editor.selection() == std::vector<std::string>{"inner"});
    click({240, 240});  // elsewhere: only the box is there
    CHECK(editor.selection() == std::vector<std::string>{"outer"});
    CHECK(t.app.session().history().done().size() == 1);  // clicks change no shape
}

TEST_CASE("a track outside on a frame stays selectable there, so O brings it back") {
    LoadedApp t(12, R"({"format":"polymark.annotations","version":1,"objects":[],"tracks":[
      {"id":"car","type":"rectangle","label":"thing","keyframes":[
        {"id":"k0","frame":0,"points":[10,10,60,60]},{"id":"k6","frame":6,"points":[10,10,60,60],"outside":true}]}]})", true);
    Editor& editor = t.app.editor();
    t.go_to(8);
    CHECK(t.app.frame_objects().empty());
    CHECK(editor.outside_tracks() == std::vector<std::string>{"car"});
    editor.select({"car"});
    CHECK(editor.selection() == std::vector<std::string>{"car"});
    t.go_to(9);
    CHECK(editor.frame_shapes().empty());  // the caches refresh: the outside track stays selected
    CHECK(editor.selection() == std::vector<std::string>{"car"});
    editor.toggle_outside();
    REQUIRE(t.app.frame_objects().size() == 1);
    CHECK(t.app.frame_objects()[0].id == "car");
    t.go_to(8);
    CHECK(t.app.frame_objects().empty());
}

TEST_CASE("a right press on the selected polygon's edge midpoint opens its menu and starts no drag") {
    LoadedApp t(1, kOneSquare);
    Editor& editor = t.app.editor();
    editor.select({"sq"});
    editor.pointer_down(at(100, 50), PointerButton::Right);  // the top edge's midpoint handle
    CHECK_FALSE(editor.busy());
    CHECK(editor.previews().empty());
    CHECK(editor.take_context_menu_request() == "sq");
    editor.pointer_move(at(120, 20), false);
    CHECK(only_object(t.app).points == Points{50, 50, 150, 50, 150, 150, 50, 150});

    editor.pointer_down(at(150, 150), PointerButton::Right);  // on a vertex: deleted, no menu
    CHECK_FALSE(editor.busy());
    CHECK(only_object(t.app).points == Points{50, 50, 150, 50, 50, 150});
    CHECK(editor.take_context_menu_request().empty());
}

TEST_CASE("dragging an edge's midpoint is named insert vertex in the history") {
    LoadedApp t(1, kOneSquare);
    Editor& editor = t.app.editor();
    editor.select({"sq"});
    drag(editor, {100, 50}, {100, 30});
    CHECK(only_object(t.app).points == Points{50, 50, 100, 30, 150, 50, 150, 150, 50, 150});
    REQUIRE(t.app.session().history().done().size() == 1);
    CHECK(t.app.session().history().done().back().name == "insert vertex");
    drag(editor, {100, 30}, {100, 20});  // the vertex it made, moved: a move again
    CHECK(t.app.session().history().done().back().name == "move vertex");
}

TEST_CASE("Enter on a two-point polygon is refused with a notice that fades while a problem stays") {
    LoadedApp t;
    Editor& editor = t.app.editor();
    REQUIRE(editor.set_label("thing"));
    editor.set_tool(Tool::Polygon);
    for (Vec2 p : {Vec2{10, 10}, Vec2{100, 10}}) editor.pointer_down(at(p.x, p.y), PointerButton::Left);
    editor.finish_drawing();
    CHECK(t.app.document().objects.empty());
    CHECK(editor.drawing());  // the draft stays: a third click finishes it
    REQUIRE(t.app.notices().latest_refusal() != nullptr);
    CHECK(t.app.notices().latest_refusal()->error.code == "too_few_points");
    t.app.report({"decode_failed", "/media/x.png", "x.png could not be decoded"});
    CHECK_FALSE(t.app.notices().expire(100));  // first seen now
    CHECK(t.app.notices().expire(100 + Notices::kFadeSeconds));
    CHECK(t.app.notices().latest_refusal() == nullptr);
    REQUIRE(t.app.notices().list().size() == 1);
    CHECK(t.app.notices().list()[0].error.code == "decode_failed");
}

TEST_CASE("objects are named by their label and their number among that label's objects") {
    const char* doc = R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"a","type":"rectangle","frame":0,"label":"thing","points":[1,1,9,9]},
      {"id":"c","type":"rectangle","frame":0,"label":"thing","points":[1,1,9,9]}]})";
    LoadedApp t(1, doc);
    REQUIRE(t.app.session().number_of("c") != nullptr);
    CHECK(t.app.display_name("a") == "Thing 1");
    CHECK(t.app.display_name("c") == "Thing 2");
    CHECK(t.app.session().number_of("nope") == nullptr);
    CHECK(t.app.display_name("nope") == "nope");
}

TEST_CASE("Enter accepts a selected prediction in one command and selects the next, lowest score first, on the queue's frame") {
    LoadedApp t(2, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"sure","type":"rectangle","frame":0,"label":"thing","points":[10,10,60,60],"source":"model","score":0.9},
      {"id":"unsure","type":"rectangle","frame":0,"label":"thing","points":[100,10,160,60],"source":"model","score":0.4},
      {"id":"doubtful","type":"rectangle","frame":1,"label":"thing","points":[10,10,60,60],"source":"model","score":0.2}]})");
    Editor& editor = t.app.editor();
    editor.confirm_predictions();  // nothing selected: this frame's lowest first
    CHECK(editor.selection() == std::vector<std::string>{"unsure"});
    editor.confirm_predictions();
    const Object& accepted = t.app.document().objects[1];
    CHECK(accepted.source == Source::Manual);
    CHECK(accepted.score == 0.4);
    CHECK(t.app.session().history().done().back().name == "accept prediction");
    CHECK(editor.selection() == std::vector<std::string>{"sure"});
    editor.delete_selection();  // rejects it: the next is on frame 1
    CHECK(t.app.session().history().done().back().name == "reject prediction");
    CHECK(t.app.frame() == 1);
    CHECK(editor.selection() == std::vector<std::string>{"doubtful"});
    editor.confirm_predictions();
    CHECK(editor.selection().empty());
    CHECK(t.app.session().history().done().size() == 3);
    REQUIRE(t.app.undo());
    CHECK(t.app.document().objects.back().source == Source::Model);
}

TEST_CASE("a person's edit of a prediction accepts it with the change in the same command; undo restores the prediction") {
    LoadedApp t(1, R"({"format":"polymark.annotations","version":1,"objects":[
      {"id":"p","type":"polygon","frame":0,"label":"thing","points":[50,50,150,50,150,150,50,150],"source":"model","score":0.5}]})");
    Editor& editor = t.app.editor();
    editor.select({"p"});
    drag(editor, {150, 50}, {170, 40});
    CHECK(only_object(t.app).source == Source::Manual);
    CHECK(only_object(t.app).score == 0.5);
    CHECK(t.app.session().history().done().size() == 1);
    REQUIRE(t.app.undo());
    CHECK(only_object(t.app).source == Source::Model);
    CHECK(only_object(t.app).points == Points{50, 50, 150, 50, 150, 150, 50, 150});
}
