// YOLO (detection, segmentation, oriented boxes, pose) and LabelMe: import, export, round trips.
#include "format_test_util.hpp"
#include "polymark/task.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace pm;
using namespace format_test;
namespace fs = std::filesystem;


static Task yolo_task() {
    auto t = parse_task(fixture("yolo/task.json"));
    REQUIRE(t);
    return t.value();
}

static Conversion import_yolo(const std::string& dir, const Task& task) {
    ImportOptions o;
    o.task = &task;
    auto c = import_annotations(AnnotationFormat::Yolo, fixture_dir(dir), o);
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    return c.value();
}

// Label files as numbers per line, to compare within the rounding of normalised coordinates.
static std::vector<std::vector<double>> yolo_numbers(const std::string& text) {
    std::vector<std::vector<double>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream l(line);
        std::vector<double> v;
        for (double x; l >> x;) v.push_back(x);
        if (!v.empty()) out.push_back(v);
    }
    return out;
}

static void check_same_labels(const FileSet& original, const FileSet& written, double tolerance) {
    size_t compared = 0;
    for (const FileEntry& f : original) {
        if (f.path.rfind("labels/", 0) != 0) continue;
        auto it = std::find_if(written.begin(), written.end(), [&](const FileEntry& w) { return w.path == f.path; });
        REQUIRE(it != written.end());
        auto a = yolo_numbers(f.bytes), b = yolo_numbers(it->bytes);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            REQUIRE(a[i].size() == b[i].size());
            for (size_t k = 0; k < a[i].size(); ++k) CHECK(b[i][k] == Approx(a[i][k]).margin(tolerance));
        }
        ++compared;
    }
    CHECK(compared >= 2);
}

TEST_CASE("yolo detection import: boxes from centre and size, polygons, a trailing score, names from data.yaml") {
    Task task = yolo_task();
    Conversion c = import_yolo("yolo/detect", task);
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 4);
    CHECK(o[0].points == std::vector<double>{240, 120, 400, 360});
    CHECK(o[1].label == "car");
    CHECK(o[1].source == Source::Model);
    CHECK(o[1].score == 0.93);
    CHECK(o[2].type == ShapeType::Polygon);
    CHECK(o[2].label == "light");  // 'traffic light' is the task label named so
    CHECK(o[3].frame == 1);
    CHECK(o[3].points[2] == Approx(2));
    CHECK(check_document_against_task(c.document, task).empty());
}

TEST_CASE("yolo to ours to yolo is equal in yolo's terms: detection, oriented boxes, pose") {
    Task task = yolo_task();
    for (const char* dir : {"yolo/detect", "yolo/obb", "yolo/pose"}) {
        INFO(dir);
        Conversion c = import_yolo(dir, task);
        ExportOptions e;
        if (std::string(dir) == "yolo/obb") e.yolo_task = "obb";
        auto out = export_annotations(AnnotationFormat::Yolo, c.document, task, e);
        REQUIRE(out);
        // Oriented boxes are refitted from corners rounded to 6 decimals: within 0.01 px.
        check_same_labels(fixture_dir(dir), out->files, std::string(dir) == "yolo/obb" ? 0.01 / 480 : 1e-12);
    }
}

TEST_CASE("yolo oriented boxes: clockwise rectangles become rotated rectangles, other corner orders stay polygons") {
    Task task = yolo_task();
    Conversion c = import_yolo("yolo/obb", task);
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 3);
    CHECK(o[0].type == ShapeType::Rectangle);
    CHECK(o[0].rotation == Approx(30).margin(0.001));
    CHECK((o[0].points[2] - o[0].points[0]) == Approx(100).margin(0.01));
    CHECK(o[1].type == ShapeType::Rectangle);  // past the image's right and top edges
    CHECK(o[1].rotation == Approx(340).margin(0.001));
    CHECK(o[2].type == ShapeType::Polygon);
    CHECK(o[2].points[0] == Approx(170));
    CHECK(c.notes.size() == 1);
}

TEST_CASE("ours to yolo to ours is equal for what yolo holds") {
    Task task = yolo_task();
    Document d;
    Object box;
    box.id = "img1:1"; box.label = "car"; box.points = {64, 48, 320, 240}; box.source = Source::Imported;
    Object poly = box;
    poly.id = "img2:1"; poly.frame = 1; poly.type = ShapeType::Polygon; poly.label = "light"; poly.points = {10, 5, 50, 5, 25, 40};
    d.objects = {box, poly};
    auto out = export_annotations(AnnotationFormat::Yolo, d, task);
    REQUIRE(out);
    ImportOptions o;
    o.task = &task;
    auto back = import_annotations(AnnotationFormat::Yolo, out->files, o);
    REQUIRE(back);
    // Corners go through centre and size divided by the image size: equal to rounding.
    CHECK(json_close(document_to_json(back->document), document_to_json(d), 1e-9));
    CHECK_FALSE(json_close(document_to_json(back->document), document_to_json(Document{}), 1e-9));
}

TEST_CASE("malformed yolo files give one error naming the file, line and column") {
    Task task = yolo_task();
    ImportOptions o;
    o.task = &task;
    auto bad = [&](const std::string& text) {
        auto c = import_annotations(AnnotationFormat::Yolo, {{"labels/img1.txt", text}}, o);
        REQUIRE_FALSE(c);
        CHECK(c.errors().size() == 1);
        return c.first_error();
    };
    CHECK(bad("0 0.5 0.5 0.1 0.1\n0 0.5 x 0.1 0.1\n").path == "labels/img1.txt:2:7");
    CHECK(bad("-1 0.5 0.5 0.1 0.1\n").code == "bad_yolo");
    CHECK(bad("0 0.5 0.5 0.1\n").code == "bad_yolo");
    CHECK(bad("0 0.5 0.5 -0.1 0.1\n").code == "bad_box");
    CHECK(bad("7 0.5 0.5 0.1 0.1\n").code == "unknown_label");
    auto unknown = import_annotations(AnnotationFormat::Yolo, {{"labels/nothere.txt", "0 0.5 0.5 0.1 0.1\n"}}, o);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.first_error().code == "unknown_image");
    // Without a task or images the size is unknown: refused, never guessed.
    auto no_size = import_annotations(AnnotationFormat::Yolo, {{"labels/img1.txt", "0 0.5 0.5 0.1 0.1\n"}});
    REQUIRE_FALSE(no_size);
    CHECK(no_size.first_error().code == "unknown_size");
}

TEST_CASE("labelme import: every shape type, circles as ellipses, groups, flags, imageData ignored") {
    auto c = import_annotations(AnnotationFormat::LabelMe, fixture_dir("labelme"));
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    const auto& o = c->document.objects;
    REQUIRE(o.size() == 9);
    CHECK(o[0].type == ShapeType::Tag);  // the image flag "night"
    CHECK(o[1].points == std::vector<double>{10, 40, 120.5, 90.25});  // corners in any order
    CHECK(o[2].group == "g3");
    CHECK(o[3].type == ShapeType::Ellipse);
    CHECK(o[3].points == std::vector<double>{55, 65, 65, 75});  // centre (60,70), rim 5 px away
    CHECK(o[4].type == ShapeType::Polyline);
    CHECK(o[8].frame == 1);
    REQUIRE(c->task.media.size() == 2);
    CHECK(c->task.media[1].width == 30);
    CHECK(check_document_against_task(c->document, c->task).empty());
}

TEST_CASE("labelme to ours to labelme is equal in labelme's terms, and imageData is never written") {
    FileSet original = fixture_dir("labelme");
    auto c = import_annotations(AnnotationFormat::LabelMe, original);
    REQUIRE(c);
    auto out = export_annotations(AnnotationFormat::LabelMe, c->document, c->task);
    REQUIRE(out);
    REQUIRE(out->files.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        auto a = nlohmann::json::parse(original[i].bytes), b = nlohmann::json::parse(out->files[i].bytes);
        CHECK(b["imageData"].is_null());
        CHECK(b["imagePath"] == a["imagePath"]);
        CHECK(b["imageWidth"] == a["imageWidth"]);
        // Rectangles are two corners in any order and circles a centre and any rim point: the
        // same rectangle and circle are equal in LabelMe's terms.
        auto canonical_shapes = [](nlohmann::json shapes) {
            for (auto& s : shapes) {
                auto& p = s["points"];
                if (s["shape_type"] == "rectangle")
                    p = {{std::min(p[0][0], p[1][0]), std::min(p[0][1], p[1][1])}, {std::max(p[0][0], p[1][0]), std::max(p[0][1], p[1][1])}};
                if (s["shape_type"] == "circle")
                    p = {p[0], {std::hypot(p[1][0].get<double>() - p[0][0].get<double>(), p[1][1].get<double>() - p[0][1].get<double>())}};
            }
            return shapes;
        };
        CHECK(canonical_shapes(b["shapes"]) == canonical_shapes(a["shapes"]));
        // Flags that are false say nothing; the true ones come back.
        for (auto& [k, v] : a["flags"].items())
            if (v == true) CHECK(b["flags"][k] == true);
    }
}

TEST_CASE("malformed labelme files give one error naming the file and the JSON pointer") {
    auto bad = [](const std::string& text) {
        auto c = import_annotations(AnnotationFormat::LabelMe, {{"a.json", text}});
        REQUIRE_FALSE(c);
        return c.first_error();
    };
    CHECK(bad(R"({"shapes":[{"label":"x","points":[[1,2]],"shape_type":"rectangle"}]})").path == "a.json#/shapes/0/points");
    CHECK(bad(R"({"shapes":[{"label":"x","points":[[1,"2"]],"shape_type":"point"}]})").path == "a.json#/shapes/0/points/0");
    CHECK(bad(R"({"shapes":[{"label":"x","points":[[1,2]],"shape_type":"star"}]})").path == "a.json#/shapes/0/shape_type");
    CHECK(bad(R"({"shapes":{}})").path == "a.json#/shapes");
    CHECK(bad("[").code == "not_json");
}
