// An imported document joining the task's document: labels mapped or skipped, attributes fitted,
// ids renamed, merge and replace as one command that undoes whole.
#include "polymark/import_merge.hpp"

#include <catch2/catch.hpp>

using namespace pm;

static Task street_task() {
    Task t;
    t.id = "street";
    Media m;
    m.id = "m0";
    m.name = m.url = "a.mp4";
    m.type = MediaType::Video;
    m.frames = 4;
    t.media = {m, Media{}};
    t.media[1].id = "m1";
    t.media[1].name = t.media[1].url = "b.jpg";  // frame 4
    LabelSpec person{"person", "Person", "#ff0000", {}, {}};
    AttributeSpec walking;
    walking.id = "walking";
    walking.name = "Walking";
    walking.type = AttributeType::Checkbox;
    walking.default_value = false;
    walking.mutable_ = true;
    person.attributes = {walking};
    LabelSpec car{"car", "Car", "#00ff00", {ShapeType::Rectangle}, {}};
    t.labels = {person, car};
    return t;
}

static Object box(std::string id, std::string label, long long frame = 0) {
    Object o;
    o.id = std::move(id);
    o.label = std::move(label);
    o.frame = frame;
    o.points = {1, 2, 30, 40};
    return o;
}

static Track walker(std::string id, std::string label) {
    Track t;
    t.id = id;
    t.label = std::move(label);
    for (long long f : {0LL, 1LL}) {
        Keyframe k;
        k.id = id + "-k" + std::to_string(f);
        k.frame = f;
        k.points = {1, 2, 30, 40};
        t.keyframes.push_back(k);
    }
    return t;
}

static std::vector<LabelSpec> imported_labels(std::vector<std::pair<std::string, std::string>> ids_names) {
    std::vector<LabelSpec> out;
    for (auto& [id, name] : ids_names) out.push_back(LabelSpec{id, name, "", {}, {}});
    return out;
}

TEST_CASE("import labels the task lacks are listed with their counts; same id or name (any case) is known") {
    Task task = street_task();
    Document in;
    in.objects = {box("1", "PERSON"), box("2", "auto"), box("3", "auto"), box("4", "car")};
    in.tracks = {walker("t", "bike")};
    auto unknown = unknown_import_labels(in, imported_labels({{"PERSON", "person"}, {"bike", "Bicycle"}, {"auto", "Automobile"}}), task);
    REQUIRE(unknown.size() == 2);
    CHECK(unknown[0].id == "bike");
    CHECK(unknown[0].name == "Bicycle");
    CHECK(unknown[0].tracks == 1);
    CHECK(unknown[1].id == "auto");
    CHECK(unknown[1].objects == 2);
}

TEST_CASE("a merge import is one command that adds every item, renames used ids, and undoes whole") {
    Task task = street_task();
    Document current;
    current.objects = {box("1", "car")};
    Document in;
    in.objects = {box("1", "car"), box("2", "person", 1)};
    in.tracks = {walker("2", "person")};  // one id with the object "2" it comes with
    auto plan = plan_import(current, in, {}, task, ImportMode::Merge, {});
    REQUIRE(plan);
    CHECK(plan->added == 3);
    CHECK(plan->notes == std::vector<std::string>{"2 ids renamed: already used in the document"});
    Document doc = current;
    History history;
    REQUIRE(history.perform(doc, plan->command));
    REQUIRE(doc.objects.size() == 3);
    CHECK(doc.objects[1].id == "1-2");
    REQUIRE(doc.tracks.size() == 1);
    CHECK(doc.tracks[0].id == "2-2");
    CHECK(doc.tracks[0].keyframes[0].id == "2-k0");
    CHECK(check_document_against_task(doc, task).empty());
    REQUIRE(history.undo(doc));
    CHECK(document_to_json(doc) == document_to_json(current));
}

TEST_CASE("a replace import keeps equal items untouched, updates changed ones, deletes the rest") {
    Task task = street_task();
    Document current;
    current.objects = {box("1", "car"), box("2", "car"), box("3", "person")};
    current.tracks = {walker("t", "person")};
    SECTION("the same document again changes nothing") {
        auto plan = plan_import(current, current, {}, task, ImportMode::Replace, {});
        REQUIRE(plan);
        CHECK(plan->command.empty());
        CHECK(plan->unchanged == 4);
    }
    SECTION("a different one") {
        Document in;
        in.objects = {box("3", "person"), box("2", "car"), box("9", "car", 1)};
        in.objects[1].points = {5, 5, 9, 9};
        auto plan = plan_import(current, in, {}, task, ImportMode::Replace, {});
        REQUIRE(plan);
        CHECK(plan->removed == 2);  // object 1, track t
        CHECK(plan->updated == 1);
        CHECK(plan->added == 1);
        CHECK(plan->unchanged == 1);
        Document doc = current;
        History history;
        REQUIRE(history.perform(doc, plan->command));
        REQUIRE(doc.objects.size() == 3);
        CHECK(doc.objects[0].id == "2");
        CHECK(doc.objects[0].points == std::vector<double>{5, 5, 9, 9});
        CHECK(doc.objects[1].id == "3");
        CHECK(doc.objects[2].id == "9");
        CHECK(doc.tracks.empty());
        REQUIRE(history.undo(doc));
        CHECK(document_to_json(doc) == document_to_json(current));
    }
}

TEST_CASE("an import's unknown labels are mapped or skipped as asked; unmapped ones are refused with their path") {
    Task task = street_task();
    Document in;
    in.objects = {box("1", "auto"), box("2", "tree"), box("3", "person")};
    auto labels = imported_labels({{"auto", "Automobile"}, {"tree", "Tree"}});
    auto refused = plan_import({}, in, labels, task, ImportMode::Merge, {{"auto", "car"}});
    REQUIRE_FALSE(refused);
    CHECK(refused.first_error().code == "unmapped_label");
    CHECK(refused.first_error().path == "/labels/tree");
    auto wrong = plan_import({}, in, labels, task, ImportMode::Merge, {{"auto", "lorry"}, {"tree", ""}});
    REQUIRE_FALSE(wrong);
    CHECK(wrong.first_error().code == "unknown_label");
    auto plan = plan_import({}, in, labels, task, ImportMode::Merge, {{"auto", "car"}, {"tree", ""}});
    REQUIRE(plan);
    CHECK(plan->added == 2);
    CHECK(plan->notes == std::vector<std::string>{"1 objects of label \"tree\" skipped, as asked"});
    REQUIRE(plan->command.ops.size() == 2);
    CHECK(plan->command.ops[0].after->label == "car");
}

TEST_CASE("an import fits attributes to the target label: by name, on their home, and drops what it cannot hold") {
    Task task = street_task();
    Document in;
    Object o = box("1", "person");
    o.attributes = {{"Walking", true}, {"colour", "red"}};
    Object refused_type = box("2", "car");
    refused_type.type = ShapeType::Polygon;
    refused_type.points = {0, 0, 5, 0, 0, 5};
    in.objects = {o, refused_type};
    Track t = walker("t", "person");
    t.attributes = {{"walking", true}};  // mutable: belongs on keyframes
    in.tracks = {t};
    auto plan = plan_import({}, in, {}, task, ImportMode::Merge, {});
    REQUIRE(plan);
    CHECK(plan->command.ops.size() == 1);
    CHECK(plan->command.ops[0].after->attributes == std::vector<Attribute>{{"walking", true}});
    REQUIRE(plan->command.track_ops.size() == 1);
    const Track& placed = *plan->command.track_ops[0].after;
    CHECK(placed.attributes.empty());
    CHECK(placed.keyframes[0].attributes == std::vector<Attribute>{{"walking", true}});
    std::vector<std::string> notes = plan->notes;
    std::sort(notes.begin(), notes.end());
    CHECK(notes == std::vector<std::string>{"1 attribute values dropped: label \"person\" has no attribute \"colour\" that holds them",
                                           "1 objects skipped: label \"car\" does not allow polygon shapes"});
}

TEST_CASE("an import past the task's last frame is refused with the item's path") {
    Task task = street_task();
    Document in;
    in.objects = {box("1", "car", 5)};
    auto plan = plan_import({}, in, {}, task, ImportMode::Merge, {});
    REQUIRE_FALSE(plan);
    CHECK(plan.first_error().code == "out_of_range");
    CHECK(plan.first_error().path == "/objects/0/frame");
}

TEST_CASE("a command of many creates applies and undoes in linear time (ids checked through a set, items found at their index)") {
    Task task = street_task();
    Document in;
    for (int i = 0; i < 100000; ++i) in.objects.push_back(box("o" + std::to_string(i), "car", i % 2));
    auto plan = plan_import({}, in, {}, task, ImportMode::Merge, {});
    REQUIRE(plan);
    Document doc;
    History history;
    REQUIRE(history.perform(doc, plan->command));  // quadratic, this would take minutes
    CHECK(doc.objects.size() == 100000);
    REQUIRE(history.undo(doc));
    CHECK(doc.objects.empty());
}
