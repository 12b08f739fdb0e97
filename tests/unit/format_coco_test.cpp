// COCO instances: import, export, round trips both ways, RLE, and malformed files.
#include "format_test_util.hpp"
#include "polymark/formats/mask.hpp"
#include "polymark/task.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <random>

using namespace pm;
using namespace format_test;

static Conversion import_coco(const std::string& fixture_name, double tolerance = 0.5) {
    ImportOptions o;
    o.rle_tolerance = tolerance;
    auto c = import_annotations(AnnotationFormat::Coco, one_file(fixture_name, fixture("coco/" + fixture_name)), o);
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    return c.value();
}

TEST_CASE("coco import: images become frames, categories labels, annotations objects") {
    Conversion c = import_coco("instances.json");
    const Document& d = c.document;
    REQUIRE(c.task.media.size() == 2);
    CHECK(c.task.media[0].name == "street.jpg");
    CHECK(c.task.media[0].width == 20);
    REQUIRE(c.task.labels.size() == 2);
    CHECK(c.task.labels[1].id == "traffic_light");
    CHECK(c.task.labels[1].name == "traffic light");
    REQUIRE(d.objects.size() == 8);
    CHECK(d.objects[0].type == ShapeType::Polygon);
    CHECK(d.objects[0].points == std::vector<double>{1, 1, 5, 1, 5, 4});
    CHECK(d.objects[1].type == ShapeType::Rectangle);
    CHECK(d.objects[1].points == std::vector<double>{10, 2, 14, 5});  // [x, y, w, h] -> corners
    // A person with a segmentation and keypoints: a polygon and a points object in one group.
    CHECK(d.objects[2].group == "a3");
    CHECK(d.objects[3].type == ShapeType::Points);
    CHECK(d.objects[3].group == "a3");
    CHECK(d.objects[3].meta["visibility"] == Json::array({2, 0}));
    // A prediction keeps its score and says a model made it.
    const Object& predicted = d.objects[6];
    CHECK(predicted.frame == 1);
    CHECK(predicted.source == Source::Model);
    CHECK(predicted.score == 0.87);
    CHECK(predicted.meta.is_null());
    CHECK(d.objects[7].attributes.size() == 2);
    CHECK(check_document_against_task(d, c.task).empty());
}

TEST_CASE("coco to ours to coco is equal in coco's terms") {
    Conversion c = import_coco("instances.json");
    auto out = export_annotations(AnnotationFormat::Coco, c.document, c.task);
    REQUIRE(out);
    REQUIRE(out->files.size() == 1);
    nlohmann::json original = nlohmann::json::parse(fixture("coco/instances.json"));
    nlohmann::json back = nlohmann::json::parse(out->files[0].bytes);
    CHECK(back == original);
}

TEST_CASE("ours to coco to ours is equal for what coco holds") {
    Task task;
    task.id = "t";
    task.media = {{"m1", MediaType::Image, "a.png", "a.png", 100, 50, 1, 0}, {"m2", MediaType::Image, "b.png", "b.png", 30, 40, 1, 0}};
    task.labels = {{"car", "car", "", {}, {}}, {"person", "person", "", {}, {}}};
    Document d;
    auto add = [&](const std::string& id, ShapeType type, long long frame, const std::string& label, std::vector<double> pts, std::string group = "") {
        Object o;
        o.id = id; o.type = type; o.frame = frame; o.label = label; o.points = std::move(pts); o.group = group;
        o.source = Source::Imported;
        d.objects.push_back(o);
        return &d.objects.back();
    };
    add("a1", ShapeType::Rectangle, 0, "car", {0.1, 0.2, 10.3, 20.7});
    add("a2", ShapeType::Polygon, 0, "car", {1, 1, 9.25, 1, 5, 7.125});
    add("a5", ShapeType::Polygon, 1, "person", {0, 0, 4, 0, 4, 8}, "a5");
    add("a5.2", ShapeType::Points, 1, "person", {1, 2, 3, 4}, "a5")->meta = Json{{"visibility", {2, 1}}};
    add("a9", ShapeType::Rectangle, 1, "car", {5, 5, 6, 6})->source = Source::Model;
    d.objects.back().score = 0.25;
    auto out = export_annotations(AnnotationFormat::Coco, d, task);
    REQUIRE(out);
    ImportOptions o;
    o.task = &task;
    auto back = import_annotations(AnnotationFormat::Coco, out->files, o);
    REQUIRE(back);
    back->document.meta = Json();  // the COCO records kept for the way back out
    CHECK(canonical(back->document) == canonical(d));
}

TEST_CASE("coco RLE of odd sizes, compressed and not, traces to polygons covering exactly the mask") {
    Conversion c = import_coco("rle.json", 0);
    nlohmann::json file = nlohmann::json::parse(fixture("coco/rle.json"));
    CHECK(c.notes.size() >= 1);
    CHECK(c.notes[0].find("tolerance of 0 px") != std::string::npos);
    for (const auto& ann : file["annotations"]) {
        uint32_t h = ann["segmentation"]["size"][0], w = ann["segmentation"]["size"][1];
        std::vector<uint64_t> runs;
        if (ann["segmentation"]["counts"].is_string()) runs = *formats::decode_rle_string(ann["segmentation"]["counts"].get<std::string>());
        else runs = ann["segmentation"]["counts"].get<std::vector<uint64_t>>();
        std::vector<uint8_t> mask = formats::mask_from_runs(runs, h, w), covered(mask.size(), 0);
        std::string id = "a" + std::to_string(ann["id"].get<int>());
        int polygons = 0;
        for (const Object& o : c.document.objects)
            if (o.id == id || o.id.rfind(id + ".", 0) == 0) {
                ++polygons;
                CHECK(o.type == ShapeType::Polygon);
                auto r = formats::rasterize_polygon(o.points, h, w);
                for (size_t i = 0; i < r.size(); ++i) covered[i] |= r[i];
            }
        CHECK(polygons >= 1);
        CHECK(covered == mask);
    }
    // The two bars of the compressed mask are two polygons of one annotation.
    CHECK(c.document.objects[1].group == "a2");
    CHECK(c.document.objects[2].group == "a2");
    CHECK(c.document.objects[1].points == std::vector<double>{10, 0, 10, 5, 2, 5, 2, 0});
}

static Error coco_error(const std::string& text) {
    auto c = import_annotations(AnnotationFormat::Coco, one_file("bad.json", text));
    REQUIRE_FALSE(c);
    CHECK(c.errors().size() == 1);
    return c.first_error();
}

TEST_CASE("malformed coco files give one error naming the file and the JSON pointer") {
    const std::string head = R"({"images":[{"id":1,"file_name":"a.png","width":4,"height":4}],"categories":[{"id":1,"name":"x"}],"annotations":[)";
    Error e = coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"bbox":[0,0,-1,2]}]})");
    CHECK(e.code == "bad_box");
    CHECK(e.path == "bad.json#/annotations/0/bbox");
    CHECK(e.message.find("bad.json#/annotations/0/bbox") == 0);
    CHECK(coco_error(head + R"({"id":1,"image_id":2,"category_id":1,"bbox":[0,0,1,1]}]})").path == "bad.json#/annotations/0/image_id");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"segmentation":{"size":[4,4],"counts":[3,4]}}]})").code == "bad_rle");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"segmentation":{"size":[4,4],"counts":"~~"}}]})").path == "bad.json#/annotations/0/segmentation/counts");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"segmentation":{"size":[100000,100000],"counts":"0"}}]})").code == "too_large");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"segmentation":[[1,2,3]]}]})").path == "bad.json#/annotations/0/segmentation/0");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":1,"keypoints":[1,2,7]}]})").path == "bad.json#/annotations/0/keypoints/2");
    CHECK(coco_error(head + R"({"id":1,"image_id":1,"category_id":"1"}]})").path == "bad.json#/annotations/0/category_id");
    Error not_json = coco_error("{\"images\": [\n  1,,]}");
    CHECK(not_json.code == "not_json");
    CHECK(not_json.message.find("bad.json") == 0);
    CHECK(not_json.message.find("line 2") != std::string::npos);
}

TEST_CASE("coco import against a task matches images by file name and refuses unknown labels") {
    Task task;
    task.id = "t";
    task.media = {{"m0", MediaType::Image, "/media/crossing.jpg", "", 17, 5, 1, 0}, {"m1", MediaType::Image, "/media/street.jpg", "", 20, 10, 1, 0}};
    task.labels = {{"person", "Person", "", {}, {}}, {"light", "traffic light", "", {}, {}}};
    ImportOptions o;
    o.task = &task;
    auto c = import_annotations(AnnotationFormat::Coco, one_file("instances.json", fixture("coco/instances.json")), o);
    REQUIRE(c);
    CHECK(c->document.objects[0].frame == 1);  // street.jpg is the task's second image
    CHECK(c->document.objects[0].label == "light");
    task.labels.pop_back();
    auto refused = import_annotations(AnnotationFormat::Coco, one_file("instances.json", fixture("coco/instances.json")), o);
    REQUIRE_FALSE(refused);
    CHECK(refused.first_error().code == "unknown_label");
    CHECK(refused.first_error().path == "instances.json#/categories/1/name");
}

TEST_CASE("coco export writes what it cannot hold as polygons and says what it left out") {
    Task task;
    task.id = "t";
    task.media = {{"m", MediaType::Image, "a.png", "a.png", 10, 10, 1, 0}};
    Document d;
    Object box;
    box.id = "r"; box.label = "x"; box.points = {0, 0, 4, 2}; box.rotation = 90;
    Object line = box;
    line.id = "l"; line.type = ShapeType::Polyline; line.rotation = 0; line.points = {0, 0, 1, 1};
    d.objects = {box, line};
    auto out = export_annotations(AnnotationFormat::Coco, d, task);
    REQUIRE(out);
    nlohmann::json j = nlohmann::json::parse(out->files[0].bytes);
    REQUIRE(j["annotations"].size() == 1);
    auto seg = j["annotations"][0]["segmentation"][0].get<std::vector<double>>();
    REQUIRE(seg.size() == 8);
    CHECK(seg[0] == Approx(3));  // the box turned 90 degrees about (2, 1): top-left corner at (3, -1)
    CHECK(seg[1] == Approx(-1));
    CHECK(out->notes.size() == 2);
}

TEST_CASE("coco results list: predictions with a score become model objects, ids are the task's frames and labels, 1-based") {
    Task task;
    task.id = "t";
    task.media = {{"m1", MediaType::Image, "a.png", "a.png", 100, 50, 1, 0}, {"m2", MediaType::Image, "b.png", "b.png", 30, 40, 1, 0}};
    task.labels = {{"car", "car", "", {}, {}}, {"person", "person", "", {}, {}}};
    ImportOptions o;
    o.task = &task;
    auto c = import_annotations(AnnotationFormat::Coco, one_file("results.json", fixture("coco/results.json")), o);
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    const auto& d = c->document.objects;
    REQUIRE(d.size() == 4);
    CHECK(d[0].frame == 0);  // in frame order
    CHECK(d[0].label == "person");
    CHECK(d[0].score == 0.05);
    CHECK(d[1].type == ShapeType::Polygon);
    CHECK(d[2].frame == 1);
    CHECK(d[2].points == std::vector<double>{10.5, 20, 40.5, 60.25});
    CHECK(d[2].source == Source::Model);
    CHECK(d[2].score == 0.987);
    CHECK_FALSE(d[3].score);  // 1.5 is no probability: kept in meta
    CHECK(d[3].meta["score"] == 1.5);
    // Written as a dataset, the scores come back on the annotations.
    auto out = export_annotations(AnnotationFormat::Coco, c->document, task);
    REQUIRE(out);
    Json j = Json::parse(out->files[0].bytes);
    CHECK(j["annotations"][2]["score"] == 0.987);
    // Ids outside the task, and without a task: images and labels made from the numbers.
    auto bad = import_annotations(AnnotationFormat::Coco, one_file("r.json", R"([{"image_id":3,"category_id":1,"bbox":[0,0,1,1],"score":0.5}])"), o);
    REQUIRE_FALSE(bad);
    CHECK(bad.first_error().message == "r.json#/0/image_id: no image has id 3");
    auto made = import_annotations(AnnotationFormat::Coco, one_file("results.json", fixture("coco/results.json")));
    REQUIRE(made);
    CHECK(made->task.media.size() == 2);
    CHECK(made->task.media[0].name == "2");
    CHECK(made->task.labels.size() == 2);
}

TEST_CASE("coco import into a task lacking a category: an error, or with add_unknown_labels a label added for mapping") {
    Conversion made = import_coco("instances.json");
    Task task = made.task;
    task.labels.pop_back();  // the task knows every image but not "traffic light"
    ImportOptions o;
    o.task = &task;
    auto refused = import_annotations(AnnotationFormat::Coco, one_file("instances.json", fixture("coco/instances.json")), o);
    REQUIRE_FALSE(refused);
    CHECK(refused.first_error().code == "unknown_label");
    o.add_unknown_labels = true;
    auto added = import_annotations(AnnotationFormat::Coco, one_file("instances.json", fixture("coco/instances.json")), o);
    REQUIRE(added);
    CHECK(added->added_labels == std::vector<std::string>{"traffic_light"});
    REQUIRE(added->task.labels.size() == task.labels.size() + 1);
    CHECK(added->task.labels.back().name == "traffic light");
    CHECK(canonical(added->document) == canonical(made.document));
}

namespace {

// `text` as a file whose first bytes are given and the rest handed out in pieces of 7 bytes.
FileSet in_pieces(const std::string& name, std::shared_ptr<std::string> text) {
    auto at = std::make_shared<size_t>(std::min<size_t>(10, text->size()));
    FileEntry f(name, text->substr(0, *at));
    f.more = [text, at](char* out, size_t capacity) {
        size_t n = std::min({capacity, size_t(7), text->size() - *at});
        std::copy(text->data() + *at, text->data() + *at + n, out);
        *at += n;
        return n;
    };
    f.size = text->size();
    return {f};
}

}  // namespace

TEST_CASE("a coco file read in pieces with its categories last gives what it gives read whole") {
    Conversion whole = import_coco("instances.json");
    // nlohmann writes members in key order: annotations, categories, images, info, ...
    auto reordered = std::make_shared<std::string>(nlohmann::json::parse(fixture("coco/instances.json")).dump(1));
    REQUIRE(reordered->find("\"annotations\"") < reordered->find("\"categories\""));
    auto pieces = import_annotations(AnnotationFormat::Coco, in_pieces("instances.json", reordered));
    INFO((pieces ? std::string() : pieces.first_error().message));
    REQUIRE(pieces);
    CHECK(pieces->document.objects == whole.document.objects);
    CHECK(nlohmann::json::parse(pieces->document.meta.dump()) == nlohmann::json::parse(whole.document.meta.dump()));  // members in another order
    CHECK(task_to_json(pieces->task) == task_to_json(whole.task));
    CHECK(pieces->notes == whole.notes);

    // Another format in pieces is joined first.
    auto yolo_like = std::make_shared<std::string>(fixture("coco/results.json"));
    auto results = import_annotations(AnnotationFormat::Coco, in_pieces("results.json", yolo_like));
    INFO((results ? std::string() : results.first_error().message));
    REQUIRE(results);
    CHECK(results->document.objects == import_annotations(AnnotationFormat::Coco, one_file("results.json", fixture("coco/results.json")))->document.objects);
}

TEST_CASE("usual coco annotations read straight from the text equal what the careful reader makes of them") {
    // The same annotations twice: plain, and each with a member the quick reader leaves to the careful one.
    std::mt19937 rng(3);
    std::string images, plain, careful;
    for (int i = 1; i <= 5; ++i) images += std::string(i > 1 ? "," : "") + "{\"id\":" + std::to_string(i) + ",\"file_name\":\"" + std::to_string(i) + ".jpg\",\"width\":640,\"height\":480}";
    for (int a = 1; a <= 300; ++a) {
        std::string seg = "[";
        int polygons = int(rng() % 3);
        for (int k = 0; k < polygons; ++k) {
            seg += k ? ",[" : "[";
            int n = 2 * int(2 + rng() % 6);  // some of 2 vertices: left out
            for (int v = 0; v < n; ++v) seg += (v ? "," : "") + std::to_string(double(rng() % 64000) / 100.0 - (v % 5 == 0 ? 0.005 : 0));
            seg += "]";
        }
        seg += "]";
        std::string body = "\"id\":" + std::to_string(a * 3) + ",\"image_id\":" + std::to_string(1 + a % 5) + ",\"category_id\":" + std::to_string(1 + a % 2) +
                           ",\"segmentation\":" + (a % 7 == 0 ? std::string("null") : seg) + ",\"area\":12.5,\"bbox\":[" + std::to_string(a % 50) + ",2.25,1e1,3]," +
                           "\"iscrowd\":0" + (a % 4 == 0 ? ",\"score\":0." + std::to_string(10 + a % 89) : "");
        plain += std::string(a > 1 ? ",\n" : "") + "{" + body + "}";
        careful += std::string(a > 1 ? ",\n" : "") + "{\"note\":\"from a vendor\"," + body + "}";
    }
    auto file = [&](const std::string& annotations) {
        return "{\"annotations\":[" + annotations + "],\"images\":[" + images + "],\"categories\":[{\"id\":1,\"name\":\"car\"},{\"id\":2,\"name\":\"bus\"}]}";
    };
    auto quick = import_annotations(AnnotationFormat::Coco, one_file("q.json", file(plain)));
    auto slow = import_annotations(AnnotationFormat::Coco, one_file("q.json", file(careful)));
    REQUIRE(quick);
    REQUIRE(slow);
    CHECK(quick->document.objects.size() > 300);
    CHECK(quick->document.objects == slow->document.objects);
    CHECK(quick->notes == slow->notes);
    // An error the quick reader finds names the same place as the careful reader's.
    auto odd = [&](const std::string& extra) {
        return import_annotations(AnnotationFormat::Coco, one_file("q.json", file("{" + extra + "\"id\":1,\"image_id\":1,\"category_id\":1,\"segmentation\":[[1,2,3,4,5,6,7]]}"))).first_error();
    };
    CHECK(odd("").path == "q.json#/annotations/0/segmentation/0");
    CHECK(odd("\"note\":1,").path == odd("").path);
    CHECK(odd("").message == odd("\"note\":1,").message);
}
