// MOT, Label Studio and VIA 2: import, export, round trips; model predictions with a score.
#include "format_test_util.hpp"
#include "polymark/task.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

using namespace pm;
using namespace format_test;
namespace fs = std::filesystem;


static Conversion must_import(AnnotationFormat f, const FileSet& files, const Task* task = nullptr) {
    ImportOptions o;
    o.task = task;
    auto c = import_annotations(f, files, o);
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    REQUIRE(document_from_json(document_to_json(c->document)));
    if (!task) CHECK(check_document_against_task(c->document, c->task).empty());
    return c.value();
}

static Exported must_export(AnnotationFormat f, const Document& d, const Task& t) {
    auto e = export_annotations(f, d, t);
    INFO((e ? std::string() : e.first_error().message));
    REQUIRE(e);
    return e.value();
}

static const FileEntry& file_named(const FileSet& files, const std::string& path) {
    auto it = std::find_if(files.begin(), files.end(), [&](const FileEntry& f) { return f.path == path; });
    REQUIRE(it != files.end());
    return *it;
}

static std::string error_of(AnnotationFormat f, const FileSet& files, const Task* task = nullptr) {
    ImportOptions o;
    o.task = task;
    auto c = import_annotations(f, files, o);
    REQUIRE_FALSE(c);
    return c.first_error().code + " " + c.first_error().message;
}

// MOT lines as sorted rows of numbers.
static std::multiset<std::vector<double>> mot_rows(const std::string& text) {
    std::multiset<std::vector<double>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        std::vector<double> v;
        std::istringstream l(line);
        for (std::string t; std::getline(l, t, ',');) v.push_back(std::stod(t));
        out.insert(v);
    }
    return out;
}

// ---- the score on objects and keyframes ----

TEST_CASE("model source and score: read, written, compared, range-checked, and auto + meta.score still reads") {
    auto parsed = parse_document(fixture("../schema/valid/model_scores.json"));
    REQUIRE(parsed);
    const Document* d = &parsed.value();
    CHECK(d->objects[0].source == Source::Model);
    CHECK(d->objects[0].score == 0.93);
    CHECK(d->objects[1].score == 1.0);
    CHECK(d->objects[2].source == Source::Auto);
    CHECK_FALSE(d->objects[2].score);
    CHECK(d->tracks[0].keyframes[1].score == 0.5);
    auto again = document_from_json(document_to_json(*d));
    REQUIRE(again);
    CHECK(canonical(again.value()) == canonical(*d));
    Object a = d->objects[0], b = a;
    b.score = 0.5;
    CHECK(a != b);
    for (const char* bad : {"1.0000001", "-0.1", "\"0.5\""}) {
        std::string text = std::string(R"({"format":"polymark.annotations","version":1,"objects":[{"id":"o","type":"rectangle","frame":0,"label":"c","points":[0,0,1,1],"score":)") + bad + "}]}";
        auto r = parse_document(text);
        REQUIRE_FALSE(r);
        CHECK(r.first_error().path == "/objects/0/score");
    }
    // A track's state on a keyframe carries that keyframe's score; in between there is none.
    size_t past = 0;
    auto frames = formats::shapes_per_frame(*d, Task{}, 10, past);
    auto on = [&](long long f) { for (const Object& o : frames[(size_t)f]) if (o.id == "t1") return o.score; return std::optional<double>(-1.0); };
    CHECK(on(4) == 0.5);
    CHECK_FALSE(on(2));
}

// ---- MOT ----

TEST_CASE("mot import: identities become box tracks, gaps and ends outside keyframes, visibility, the ignore flag, class names") {
    Conversion c = must_import(AnnotationFormat::Mot, fixture_dir("mot/walk"));
    REQUIRE(c.task.media.size() == 1);
    CHECK(c.task.media[0].type == MediaType::Video);
    CHECK(c.task.media[0].frames == 12);
    CHECK(c.task.media[0].width == 640);
    CHECK(c.task.media[0].fps == 25);
    REQUIRE(c.task.labels.size() == 3);
    CHECK(c.task.labels[0].name == "pedestrian");
    const auto& t = c.document.tracks;
    REQUIRE(t.size() == 3);
    CHECK(t[0].id == "t1");
    CHECK(t[0].label == c.task.labels[0].id);
    // Frames 1-3 and 12 (1-based): keyframes 0,1,2, outside at 3, keyframe 11 (the last frame: no outside).
    std::vector<long long> f0;
    for (const Keyframe& k : t[0].keyframes) f0.push_back(k.frame);
    CHECK(f0 == std::vector<long long>{0, 1, 2, 3, 11});
    CHECK(t[0].keyframes[3].outside);
    CHECK(t[0].keyframes[0].points == std::vector<double>{10, 20, 40, 80});
    CHECK_FALSE(t[0].keyframes[1].occluded);  // visibility 0.8
    CHECK(t[0].keyframes[2].occluded);        // visibility 0.25 < 0.5
    CHECK(t[0].keyframes[2].meta["visibility"] == 0.25);
    // Identity 2: frames 1-2 ignored (conf 0), gap, 5-6, then outside at 7.
    std::vector<long long> f1;
    for (const Keyframe& k : t[1].keyframes) f1.push_back(k.frame);
    CHECK(f1 == std::vector<long long>{0, 1, 2, 4, 5, 6});
    CHECK(t[1].keyframes[0].meta["considered"] == false);
    CHECK(t[1].keyframes[3].meta.is_null());  // visibility -1: none
    CHECK(t[1].label == c.task.labels[2].id);
    // Id -1: a single box.
    REQUIRE(c.document.objects.size() == 1);
    CHECK(c.document.objects[0].frame == 8);
}

TEST_CASE("mot detections: conf is a score (model), id -1 boxes, a 10th column, scores past 1 kept in meta") {
    Conversion c = must_import(AnnotationFormat::Mot, fixture_dir("mot/det"));
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 4);
    CHECK(o[0].source == Source::Model);
    CHECK(o[0].score == 0.67);
    CHECK(o[0].points[0] == 794.2);
    CHECK_FALSE(o[3].score);
    CHECK(o[3].meta["score"] == 27.5);
    CHECK(c.task.media[0].frames == 3);
    // Written back: the same rows but for the class (none given: class 1) and visibility.
    Exported e = must_export(AnnotationFormat::Mot, c.document, c.task);
    auto rows = mot_rows(file_named(e.files, "gt/gt.txt").bytes);
    REQUIRE(rows.size() == 4);
    for (const auto& r : rows) CHECK(r.size() == 9);
    CHECK(rows.begin()->at(6) == 0.29);
}

TEST_CASE("mot round trips: file -> ours -> file gives the same rows, ours -> MOT -> ours the same tracks") {
    FileSet files = fixture_dir("mot/walk");
    Conversion c = must_import(AnnotationFormat::Mot, files);
    Exported e = must_export(AnnotationFormat::Mot, c.document, c.task);
    auto original = mot_rows(file_named(files, "gt/gt.txt").bytes), written = mot_rows(file_named(e.files, "gt/gt.txt").bytes);
    // The row of visibility -1 is written with 1 (not occluded); the rest are equal.
    std::multiset<std::vector<double>> expected;
    for (auto r : original) { if (r[8] == -1) r[8] = 1; expected.insert(r); }
    CHECK(written == expected);
    CHECK(file_named(e.files, "gt/labels.txt").bytes == "pedestrian\nperson on vehicle\ncar\n");
    Conversion back = must_import(AnnotationFormat::Mot, e.files);
    // Ids, labels, keyframes: equal (the visibility -1 keyframe now says 1).
    Document expected_doc = c.document;
    expected_doc.tracks[1].keyframes[3].meta = Json{{"visibility", 1.0}};
    expected_doc.objects[0].id = "d9";  // single boxes are named by their line: line 9 of the written file
    CHECK(canonical(back.document) == canonical(expected_doc));
}

TEST_CASE("mot export of other shapes: bounding boxes, tracks interpolated on every frame, ids tN kept, scores as conf") {
    Task task;
    task.id = "t";
    task.media = {{"v", MediaType::Video, "v.mp4", "v.mp4", 100, 100, 5, 0}};
    task.labels = {{"car", "car", "", {}, {}}};
    Document d;
    Track t;
    t.id = "t7"; t.type = ShapeType::Rectangle; t.label = "car";
    t.keyframes = {{"t7.k0", 0, {0, 0, 10, 10}, 0, false, false, 0, {}, Source::Model, nullptr, 0.5},
                   {"t7.k2", 2, {4, 0, 14, 10}, 0, false, false, 0, {}, Source::Manual, nullptr},
                   {"t7.k3", 3, {4, 0, 14, 10}, 0, true, false, 0, {}, Source::Manual, nullptr}};
    d.tracks.push_back(t);
    Object e;
    e.id = "x"; e.type = ShapeType::Ellipse; e.label = "car"; e.frame = 4; e.points = {10, 10, 20, 30};
    d.objects.push_back(e);
    Exported out = must_export(AnnotationFormat::Mot, d, task);
    CHECK(file_named(out.files, "gt/gt.txt").bytes == "1,7,0,0,10,10,0.5,1,1\n2,7,2,0,10,10,1,1,1\n3,7,4,0,10,10,1,1,1\n5,-1,10,10,10,20,1,1,1\n");
    CHECK(std::find(out.notes.begin(), out.notes.end(), "1 shapes that are not upright boxes written as their bounding boxes") != out.notes.end());
}

TEST_CASE("mot errors name the file, line and column and what was expected") {
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,0,5,5,1,1,1\n1,2,0,0,5\n")) == "bad_mot gt.txt:2:1: expected 6 to 10 comma-separated numbers (frame,id,x,y,w,h,conf,class,visibility[,z]), found 5");
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,abc,5,5,1,1,1\n")) == "bad_mot gt.txt:1:7: expected a number, found \"abc\"");
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "0,1,0,0,5,5,1,1,1\n")) == "bad_mot gt.txt:1:1: expected a frame number 1 to 100000000 (MOT frames are 1-based)");
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,0,-5,5,1,1,1\n")).rfind("bad_box gt.txt:1:", 0) == 0);
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,0,5,5,1,1,1\n1,1,2,0,5,5,1,1,1\n")) == "bad_mot gt.txt:2:1: identity 1 has a second box on frame 1 (line 1)");
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,0,5,5,1,1,1.5\n")) == "bad_mot gt.txt:1:17: expected a visibility from 0 to 1, or -1 for none");
    Task task;
    task.id = "t";
    task.media = {{"v", MediaType::Video, "v.mp4", "v.mp4", 100, 100, 2, 0}};
    task.labels = {{"car", "car", "", {}, {}}};
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "3,1,0,0,5,5,1,1,1\n"), &task) == "unknown_frame gt.txt:1:1: frame 3 is past the task's 2 frames");
    CHECK(error_of(AnnotationFormat::Mot, one_file("gt.txt", "1,1,0,0,5,5,1,2,1\n"), &task) == "unknown_label gt.txt:1:1: class 2 (\"2\") is not a label of the task");
}

// ---- Label Studio ----

TEST_CASE("label studio import: percent to pixels, rotation about the top-left corner, polygons, keypoints, ellipses, choices, predictions") {
    Conversion c = must_import(AnnotationFormat::LabelStudio, one_file("ls.json", fixture("labelstudio/images.json")));
    REQUIRE(c.task.media.size() == 2);
    CHECK(c.task.media[0].name == "street.jpg");
    CHECK(c.task.media[0].width == 1920);
    CHECK(c.task.media[1].name == "yard.png");
    auto find = [&](const std::string& id) -> const Object& {
        auto it = std::find_if(c.document.objects.begin(), c.document.objects.end(), [&](const Object& o) { return o.id == id; });
        REQUIRE(it != c.document.objects.end());
        return *it;
    };
    const Object& r1 = find("r1");
    CHECK(r1.points[0] == Approx(0.508 * 1920));
    CHECK(r1.points[3] == Approx((0.0587 + 0.1046) * 1280));
    // r2: 30° about its top-left corner (x, y): centre = (x, y) + R(30°)(w/2, h/2).
    const Object& r2 = find("r2");
    double x = 0.973 * 1920, y = 0.901 * 1280, w = 0.0833 * 1920, h = 0.062 * 1280, a = 30 * 3.14159265358979323846 / 180;
    CHECK((r2.points[0] + r2.points[2]) / 2 == Approx(x + std::cos(a) * w / 2 - std::sin(a) * h / 2));
    CHECK((r2.points[1] + r2.points[3]) / 2 == Approx(y + std::sin(a) * w / 2 + std::cos(a) * h / 2));
    CHECK(r2.points[2] - r2.points[0] == Approx(w));
    CHECK(r2.rotation == 30);
    // The top-left corner of the rotated box is where the file put it.
    auto corners = formats::rectangle_corners(r2.points, r2.rotation);
    CHECK(corners[0] == Approx(x));
    CHECK(corners[1] == Approx(y));
    CHECK(find("p1").type == ShapeType::Polygon);
    CHECK(find("l1").type == ShapeType::Polyline);
    CHECK(find("k1").points == std::vector<double>{640.0000000000001, 853.3333333333335});
    const Object& e1 = find("e1");
    CHECK(e1.type == ShapeType::Ellipse);
    CHECK(e1.points == std::vector<double>{672, 480, 864, 544});
    CHECK(e1.rotation == 45);
    CHECK(find("c1").type == ShapeType::Tag);
    CHECK(find("m1").source == Source::Model);
    CHECK(find("m1").score == 0.91);  // the result's own score
    CHECK(find("m2").score == 0.8);   // the prediction's
    CHECK(find("r1").source == Source::Imported);
    CHECK(find("r9").frame == 1);
    CHECK(find("r9").meta["labelstudio"]["to_name"] == "img");
    CHECK(std::find(c.notes.begin(), c.notes.end(), "1 cancelled annotations left out") != c.notes.end());
}

TEST_CASE("label studio round trip: file -> ours -> file gives the same results, percentages within 1e-9") {
    std::string text = fixture("labelstudio/images.json");
    Conversion c = must_import(AnnotationFormat::LabelStudio, one_file("ls.json", text));
    Exported e = must_export(AnnotationFormat::LabelStudio, c.document, c.task);
    Json a = Json::parse(text), b = Json::parse(e.files[0].bytes);
    REQUIRE(b.size() == a.size());
    for (size_t t = 0; t < a.size(); ++t) {
        for (const char* list : {"annotations", "predictions"}) {
            if (!a[t].contains(list)) continue;
            const Json& ra = a[t][list][0]["result"];
            const Json& rb = b[t][list][0]["result"];
            REQUIRE(ra.size() == rb.size());
            for (size_t i = 0; i < ra.size(); ++i) {
                INFO(ra[i]["id"]);
                CHECK(rb[i]["id"] == ra[i]["id"]);
                CHECK(rb[i]["type"] == ra[i]["type"]);
                CHECK(rb[i]["from_name"] == ra[i]["from_name"]);
                Json va = ra[i]["value"], vb = rb[i]["value"];
                va.erase("width"), vb.erase("width");  // keypoints: their size is not ours
                if (ra[i]["type"] != "keypointlabels") { va["width"] = ra[i]["value"].value("width", 0.0); vb["width"] = rb[i]["value"].value("width", 0.0); }
                if (!va.contains("closed") && vb.contains("closed")) vb.erase("closed");
                if (!va.contains("rotation") && vb.contains("rotation")) vb.erase("rotation");
                CHECK(json_close(va, vb, 1e-9));
                if (ra[i].contains("score")) CHECK(rb[i]["score"] == ra[i]["score"]);
            }
        }
    }
    // The prediction without its own score gets the prediction's (0.8) as its own.
    CHECK(b[0]["predictions"][0]["result"][1]["score"] == 0.8);
}

TEST_CASE("label studio videorectangle: enabled false ends a span (outside keyframe), frames 1-based, predictions scored, and back") {
    std::string text = fixture("labelstudio/video.json");
    Conversion c = must_import(AnnotationFormat::LabelStudio, one_file("video.json", text));
    REQUIRE(c.task.media.size() == 1);
    CHECK(c.task.media[0].type == MediaType::Video);
    CHECK(c.task.media[0].frames == 60);
    const auto& t = c.document.tracks;
    REQUIRE(t.size() == 3);
    std::vector<std::pair<long long, bool>> ks;
    for (const Keyframe& k : t[0].keyframes) ks.push_back({k.frame, k.outside});
    // 1 (enabled) .. 25 (disabled: outside from 26) .. 31 .. 40 (disabled, but 41 is a keyframe) .. 41
    CHECK(ks == std::vector<std::pair<long long, bool>>{{0, false}, {24, false}, {25, true}, {30, false}, {39, false}, {40, false}});
    CHECK(t[0].keyframes[0].points == std::vector<double>{204.8, 367.2, 588.8, 568.8});
    REQUIRE(t[1].keyframes.size() == 1);  // disabled on the last frame: nothing after it
    CHECK(t[1].keyframes[0].frame == 59);
    CHECK(t[2].source == Source::Model);
    CHECK(t[2].keyframes[0].score == 0.75);
    CHECK(t[2].keyframes.back().outside);
    CHECK(t[2].keyframes.back().frame == 9);
    // Back to Label Studio: the same sequences (the disabled keyframe followed by one on the next frame
    // says nothing more and is written enabled).
    Exported e = must_export(AnnotationFormat::LabelStudio, c.document, c.task);
    Json a = Json::parse(text), b = Json::parse(e.files[0].bytes);
    Json sa = a[0]["annotations"][0]["result"][0]["value"]["sequence"], sb = b[0]["annotations"][0]["result"][0]["value"]["sequence"];
    REQUIRE(sa.size() == sb.size());
    sa[3]["enabled"] = true;
    for (size_t i = 0; i < sa.size(); ++i) {
        sa[i].erase("time");
        CHECK(json_close(sa[i], sb[i], 1e-9));
    }
    CHECK(b[0]["predictions"][0]["result"][0]["score"] == 0.75);
    // And ours again: the same tracks.
    Conversion back = must_import(AnnotationFormat::LabelStudio, e.files);
    REQUIRE(back.document.tracks.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        REQUIRE(back.document.tracks[i].keyframes.size() == t[i].keyframes.size());
        for (size_t k = 0; k < t[i].keyframes.size(); ++k) {
            CHECK(back.document.tracks[i].keyframes[k].frame == t[i].keyframes[k].frame);
            CHECK(back.document.tracks[i].keyframes[k].outside == t[i].keyframes[k].outside);
            for (size_t n = 0; n < 4; ++n) CHECK(back.document.tracks[i].keyframes[k].points[n] == Approx(t[i].keyframes[k].points[n]).margin(1e-9));
        }
    }
}

TEST_CASE("label studio export of ours: rotated boxes near the border, a span ended between keyframes, and back within 1e-9 px") {
    Task task;
    task.id = "t";
    task.media = {{"a", MediaType::Image, "a.jpg", "a.jpg", 333, 101, 1, 0}, {"v", MediaType::Video, "v.mp4", "v.mp4", 640, 360, 10, 25}};
    task.labels = {{"car", "car", "", {}, {}}};
    Document d;
    Object o;
    o.id = "b1"; o.type = ShapeType::Rectangle; o.label = "car"; o.points = {300, 90, 340, 110}; o.rotation = 123.4;
    o.source = Source::Model; o.score = 0.42;
    d.objects.push_back(o);
    o.id = "b2"; o.points = {-5, -3, 7.25, 9}; o.rotation = 359.5; o.source = Source::Imported; o.score.reset();
    d.objects.push_back(o);
    Track t;
    t.id = "tr"; t.type = ShapeType::Rectangle; t.label = "car";
    t.keyframes = {{"tr.k1", 1, {0, 0, 10, 10}, 0, false, false, 0, {}, Source::Manual, nullptr},
                   {"tr.k5", 5, {40, 0, 50, 10}, 0, false, false, 0, {}, Source::Manual, nullptr},
                   {"tr.k8", 8, {40, 0, 50, 10}, 0, true, false, 0, {}, Source::Manual, nullptr}};
    d.tracks.push_back(t);
    Exported e = must_export(AnnotationFormat::LabelStudio, d, task);
    Json b = Json::parse(e.files[0].bytes);
    Json seq = b[1]["annotations"][0]["result"][0]["value"]["sequence"];
    REQUIRE(seq.size() == 3);  // the video's local frames 1 (enabled), 5 (enabled), 7 = the span's last (disabled)
    CHECK(seq[2]["frame"] == 7);
    CHECK(seq[2]["enabled"] == false);
    CHECK(b[0]["predictions"][0]["result"][0]["score"] == 0.42);
    auto back = import_annotations(AnnotationFormat::LabelStudio, e.files, ImportOptions{&task});
    REQUIRE(back);
    REQUIRE(back->document.objects.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        const Object& x = back->document.objects[1 - i];  // annotations first, then predictions
        CHECK(x.id == d.objects[i].id);
        CHECK(x.rotation == Approx(d.objects[i].rotation));
        for (size_t n = 0; n < 4; ++n) CHECK(x.points[n] == Approx(d.objects[i].points[n]).margin(1e-9));
    }
    CHECK(back->document.objects[1].source == Source::Model);
    CHECK(back->document.objects[1].score == 0.42);
    const Track& bt = back->document.tracks[0];
    REQUIRE(bt.keyframes.size() == 4);  // the added keyframe on frame 7 (0-based), then outside at 8
    CHECK(bt.keyframes[2].frame == 7);
    CHECK(bt.keyframes[2].points[0] == Approx(40).margin(1e-9));
    CHECK(bt.keyframes[3].outside);
    CHECK(bt.keyframes[3].frame == 8);
}

TEST_CASE("label studio errors name the file and the JSON Pointer and what was expected") {
    CHECK(error_of(AnnotationFormat::LabelStudio, one_file("t.json", R"([{"data":{"image":"a.jpg"},"annotations":[{"result":[{"type":"rectanglelabels","value":{"x":1,"y":2,"width":3,"height":4,"rectanglelabels":["car"]}}]}]}])")) ==
          "unknown_size t.json#/0/annotations/0/result/0: the size of \"a.jpg\" is not known: percent coordinates need original_width/height or a task with media sizes");
    CHECK(error_of(AnnotationFormat::LabelStudio, one_file("t.json", R"([{"data":{"image":"a.jpg"},"annotations":[{"result":[{"type":"rectanglelabels","original_width":10,"original_height":10,"value":{"x":"1","y":2,"width":3,"height":4,"rectanglelabels":["car"]}}]}]}])")) ==
          "bad_labelstudio t.json#/0/annotations/0/result/0/value/x: expected a number");
    CHECK(error_of(AnnotationFormat::LabelStudio, one_file("t.json", R"([{"annotations":[]}])")) ==
          "bad_labelstudio t.json#/0/data: expected an object naming the image or video (\"data\": {\"image\": url})");
    CHECK(error_of(AnnotationFormat::LabelStudio, one_file("t.json", R"([{"data":{"video":"v.mp4"},"annotations":[{"result":[{"type":"videorectangle","original_width":10,"original_height":10,"value":{"labels":["car"],"sequence":[{"frame":0,"x":1,"y":1,"width":1,"height":1}]}}]}]}])")) ==
          "bad_labelstudio t.json#/0/annotations/0/result/0/value/sequence/0/frame: expected a frame number 1 to 100000000 (1-based)");
}

// ---- VIA ----

TEST_CASE("via 2 import: rect, polygon, polyline, point, circle, ellipse (theta in radians), region attributes, VIA 1 regions") {
    Conversion c = must_import(AnnotationFormat::Via, one_file("via.json", fixture("via/project.json")));
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 8);
    CHECK(o[0].points == std::vector<double>{10, 20, 110, 70});
    CHECK(o[0].attributes.size() == 1);
    CHECK(o[0].attributes[0].value == "red");
    CHECK(o[1].type == ShapeType::Polygon);
    CHECK(o[2].type == ShapeType::Polyline);
    CHECK(o[3].type == ShapeType::Points);
    CHECK(o[4].type == ShapeType::Ellipse);
    CHECK(o[4].points == std::vector<double>{37.5, 47.5, 62.5, 72.5});
    CHECK(o[5].rotation == Approx(0.5 * 180 / 3.14159265358979323846));
    CHECK(o[6].rotation == Approx(360 - 0.25 * 180 / 3.14159265358979323846));
    CHECK(o[6].attributes.empty());  // "" is VIA's unset
    CHECK(o[7].frame == 1);
    CHECK(c.task.media[1].name == "yard.png");
    Conversion v1 = must_import(AnnotationFormat::Via, one_file("via1.json", fixture("via/via1.json")));
    REQUIRE(v1.document.objects.size() == 2);
    CHECK(v1.document.objects[0].label == "car");
    CHECK(v1.document.objects[0].attributes[0].value == "door");
    CHECK(v1.document.objects[1].label == "person");
}

TEST_CASE("via round trips: file -> ours -> file the same regions, ours -> VIA -> ours the same document") {
    std::string text = fixture("via/project.json");
    Conversion c = must_import(AnnotationFormat::Via, one_file("via.json", text));
    Exported e = must_export(AnnotationFormat::Via, c.document, c.task);
    Json a = Json::parse(text)["_via_img_metadata"], b = Json::parse(e.files[0].bytes)["_via_img_metadata"];
    std::vector<Json> ra, rb;
    for (auto& [k, v] : a.items()) for (Json r : v["regions"]) { if (r["region_attributes"].value("colour", "x").empty()) r["region_attributes"].erase("colour"); ra.push_back(r); }
    for (auto& [k, v] : b.items()) for (const Json& r : v["regions"]) rb.push_back(r);
    REQUIRE(ra.size() == rb.size());
    for (size_t i = 0; i < ra.size(); ++i) {
        INFO(i);
        CHECK(json_close(ra[i], rb[i], 1e-12));
    }
    Conversion back = must_import(AnnotationFormat::Via, e.files);
    CHECK(canonical(back.document) == canonical(c.document));
}

// ---- detection ----

TEST_CASE("format detection tells MOT, Label Studio and VIA from the others") {
    CHECK(detect_annotation_format(one_file("gt.txt", "1,1,0,0,5,5,1,1,1\n")) == AnnotationFormat::Mot);
    CHECK(detect_annotation_format(fixture_dir("mot/walk")) == AnnotationFormat::Mot);
    CHECK(detect_annotation_format(one_file("img1.txt", "0 0.5 0.5 0.1 0.1\n")) == AnnotationFormat::Yolo);
    CHECK(detect_annotation_format(one_file("x.json", fixture("labelstudio/images.json"))) == AnnotationFormat::LabelStudio);
    CHECK(detect_annotation_format(one_file("x.json", fixture("labelstudio/video.json"))) == AnnotationFormat::LabelStudio);
    CHECK(detect_annotation_format(one_file("x.json", fixture("via/project.json"))) == AnnotationFormat::Via);
    CHECK(detect_annotation_format(one_file("x.json", fixture("via/via1.json"))) == AnnotationFormat::Via);
    CHECK(detect_annotation_format(one_file("x.json", R"([{"image_id":1,"category_id":2,"bbox":[1,2,3,4],"score":0.5}])")) == AnnotationFormat::Coco);
    CHECK(detect_annotation_format(one_file("x.json", fixture("coco/instances.json"))) == AnnotationFormat::Coco);
    CHECK(annotation_format_from_string("labelstudio") == AnnotationFormat::LabelStudio);
    CHECK(std::string(to_string(AnnotationFormat::Via)) == "via");
}

TEST_CASE("via 3 import: shapes by their number, labels from the label attribute's options, other attributes as text") {
    Conversion c = must_import(AnnotationFormat::Via, one_file("via3.json", fixture("via/via3.json")));
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 8);  // the image-level "scene" has no label: left out
    CHECK(o[0].id == "1_a");
    CHECK(o[0].points == std::vector<double>{10, 20, 110, 70});
    CHECK(o[0].label == "car");
    CHECK(o[0].attributes.size() == 1);
    CHECK(o[0].attributes[0].value == "red");
    CHECK(o[1].type == ShapeType::Polygon);
    CHECK(o[1].label == "road");
    CHECK(o[2].type == ShapeType::Points);
    CHECK(o[3].points == std::vector<double>{37.5, 47.5, 62.5, 72.5});
    CHECK(o[4].points == std::vector<double>{170, 90, 230, 110});
    CHECK(o[5].type == ShapeType::Polyline);
    CHECK(o[6].points == std::vector<double>{1, 0, 9, 8});  // an extreme rectangle: its bounds
    CHECK(o[7].frame == 1);
    CHECK(detect_annotation_format(one_file("x.json", fixture("via/via3.json"))) == AnnotationFormat::Via);
}

TEST_CASE("via 3 import: a shape number out of range (huge, negative, fractional past VIA's) leaves that region out with a note") {
    // via3.json with region 1_a's shape 1e300 and 1_b's -5. Cast to int as it came, 1e300 was
    // undefined behaviour, which the fuzzer's UBSan reported; this fixture also seeds the fuzzer.
    Conversion c = must_import(AnnotationFormat::Via, one_file("via3.json", fixture("via/via3_shape_out_of_range.json")));
    CHECK(c.document.objects.size() == 6);
    CHECK(std::none_of(c.document.objects.begin(), c.document.objects.end(), [](const Object& o) { return o.id == "1_a" || o.id == "1_b"; }));
    CHECK(std::any_of(c.notes.begin(), c.notes.end(), [](const std::string& n) { return n.find("VIA 3 shapes other than") != std::string::npos; }));
}

TEST_CASE("mot export: a track ends with its video, never carried on into the next one") {
    Task task;
    task.id = "t";
    task.media = {{"v", MediaType::Video, "v.mp4", "v.mp4", 100, 100, 3, 0}, {"w", MediaType::Video, "w.mp4", "w.mp4", 100, 100, 3, 0}};
    task.labels = {{"car", "car", "", {}, {}}};
    Document d;
    Track t;
    t.id = "t1"; t.type = ShapeType::Rectangle; t.label = "car";
    t.keyframes = {{"t1.k1", 1, {0, 0, 10, 10}, 0, false, false, 0, {}, Source::Manual, nullptr}};
    d.tracks.push_back(t);
    Exported out = must_export(AnnotationFormat::Mot, d, task);
    CHECK(file_named(out.files, "gt/gt.txt").bytes == "2,1,0,0,10,10,1,1,1\n3,1,0,0,10,10,1,1,1\n");
}
