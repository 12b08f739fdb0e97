// CVAT XML 1.1, images and video: import, export, round trips both ways, malformed files.
#include "format_test_util.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/task.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using namespace format_test;

static Conversion import_cvat(const std::string& name, const Task* task = nullptr) {
    ImportOptions o;
    o.task = task;
    auto c = import_annotations(AnnotationFormat::CvatXml, one_file(name, fixture("cvat/" + name)), o);
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    return c.value();
}

TEST_CASE("cvat images import: every shape type, attributes typed by the labels in meta, groups, z, occluded") {
    Conversion c = import_cvat("images.xml");
    const auto& o = c.document.objects;
    REQUIRE(o.size() == 6);
    CHECK(o[0].type == ShapeType::Rectangle);
    CHECK(o[0].points == std::vector<double>{600.5, -5, 660, 40.25});
    CHECK(o[0].rotation == 45);
    CHECK(o[0].z == 1);
    REQUIRE(o[0].attributes.size() == 2);
    CHECK(o[0].attributes[0].value == "saab");
    CHECK(o[0].attributes[1].value == true);
    CHECK(o[1].occluded);
    CHECK(o[1].source == Source::Auto);
    CHECK(o[1].group == "g3");
    CHECK(o[2].group == "g3");
    CHECK(o[2].label == "lane_marking");
    CHECK(o[3].source == Source::Imported);
    CHECK(o[4].type == ShapeType::Ellipse);
    CHECK(o[4].points == std::vector<double>{40, 60, 80, 80});  // cx 60 cy 70 rx 20 ry 10
    CHECK(o[4].attributes[0].value == 12.5);
    CHECK(o[5].type == ShapeType::Tag);
    REQUIRE(c.task.media.size() == 2);
    CHECK(c.task.labels[0].color == "#fa3253");
    CHECK(c.task.labels[0].attributes[0].type == AttributeType::Select);
    CHECK(check_document_against_task(c.document, c.task).empty());
}

TEST_CASE("cvat video import: keyframes of tracks, outside keyframes, start_frame and step, mutable attributes") {
    Conversion c = import_cvat("video.xml");
    REQUIRE(c.document.tracks.size() == 2);
    const Track& car = c.document.tracks[0];
    CHECK(car.id == "t0");
    REQUIRE(car.keyframes.size() == 4);  // frames 10, 14, 16 (outside) and 20; 12 and 22..28 are interpolated
    CHECK(car.keyframes[0].frame == 0);
    CHECK(car.keyframes[1].frame == 2);
    CHECK(car.keyframes[1].occluded);
    CHECK(car.keyframes[2].outside);
    CHECK(car.keyframes[3].frame == 5);
    CHECK(car.keyframes[3].z == 2);
    REQUIRE(car.attributes.size() == 1);
    CHECK(car.attributes[0].value == "saab");
    // moving: set on the first keyframe, changed on the second, not repeated after.
    CHECK(car.keyframes[0].attributes.size() == 1);
    CHECK(car.keyframes[1].attributes.size() == 1);
    CHECK(car.keyframes[2].attributes.empty());
    // The in-between frame CVAT listed is what we interpolate.
    auto at12 = track_shape_at(car, 1);
    REQUIRE(at12);
    CHECK(at12->points == std::vector<double>{20, 11, 60, 41});
    CHECK(at12->rotation == 0);
    CHECK_FALSE(track_shape_at(car, 4));  // outside between 16 and 20
    CHECK(c.document.tracks[1].group == "g2");
    CHECK(c.document.tracks[1].interpolation == Interpolation::Cvat);
    REQUIRE(c.document.objects.size() == 1);
    CHECK(c.document.objects[0].frame == 1);  // the tag on frame 12
    REQUIRE(c.task.media.size() == 1);
    CHECK(c.task.media[0].type == MediaType::Video);
    CHECK(c.task.media[0].frames == 10);
    CHECK(c.task.media[0].width == 640);
    CHECK(check_document_against_task(c.document, c.task).empty());
}

TEST_CASE("an attribute of a label the file does not declare is mutable when it varies along a track, on every track of it") {
    // Found by fuzzing: the made label said "immutable" while the track kept the varying value on
    // its keyframes, and a first track where it does not vary kept it on the track.
    const std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version><meta><task><size>4</size><mode>interpolation</mode></task></meta>
  <track id="0" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="9" ybr="9" z_order="0"><attribute name="moving">false</attribute></box>
    <box frame="2" keyframe="1" outside="0" occluded="0" xtl="2" ytl="1" xbr="9" ybr="9" z_order="0"><attribute name="moving">false</attribute></box>
  </track>
  <track id="1" label="car" source="manual">
    <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="1" xbr="9" ybr="9" z_order="0"><attribute name="moving">false</attribute></box>
    <box frame="3" keyframe="1" outside="0" occluded="0" xtl="2" ytl="1" xbr="9" ybr="9" z_order="0"><attribute name="moving">true</attribute></box>
  </track>
</annotations>)";
    auto c = import_annotations(AnnotationFormat::CvatXml, one_file("undeclared.xml", xml), ImportOptions{});
    REQUIRE(c);
    const LabelSpec* car = c->task.find_label("car");
    REQUIRE(car);
    REQUIRE(car->attributes.size() == 1);
    CHECK(car->attributes[0].mutable_);
    CHECK(check_document_against_task(c->document, c->task).empty());
    for (const Track& t : c->document.tracks) {
        CHECK(t.attributes.empty());
        REQUIRE_FALSE(t.keyframes.front().attributes.empty());
        CHECK(t.keyframes.front().attributes[0].value == "false");  // undeclared: text
    }
    CHECK(c->document.tracks[1].keyframes[1].attributes[0].value == "true");
}

TEST_CASE("cvat to ours to cvat is equal in cvat's terms, images and video") {
    for (const char* name : {"images.xml", "video.xml"}) {
        INFO(name);
        Conversion c = import_cvat(name);
        auto out = export_annotations(AnnotationFormat::CvatXml, c.document, c.task);
        REQUIRE(out);
        CHECK(xml_lines(out->files[0].bytes) == xml_lines(fixture(std::string("cvat/") + name)));
        // The labels and their attributes come back too.
        auto again = import_annotations(AnnotationFormat::CvatXml, out->files);
        REQUIRE(again);
        CHECK(task_to_json(again->task)["labels"] == task_to_json(c.task)["labels"]);
    }
}

TEST_CASE("ours to cvat to ours is equal for what cvat holds") {
    Task task;
    task.id = "t";
    task.media = {{"v", MediaType::Video, "v.mp4", "v.mp4", 320, 240, 30, 0}};
    AttributeSpec colour{"colour", "colour", AttributeType::Select, {"red", "blue"}, 0, 0, 1, "red", false};
    AttributeSpec lit{"lit", "lit", AttributeType::Checkbox, {}, 0, 0, 1, false, true};
    task.labels = {{"car", "car", "", {}, {colour, lit}}, {"day", "day", "", {}, {}}};
    Document d;
    Track t;
    t.id = "t3";
    t.label = "car";
    t.group = "g1";
    t.attributes = {{"colour", "blue"}};
    t.keyframes = {{"t3.k2", 2, {0, 0, 10, 10}, 350, false, false, 0, {{"lit", true}}, Source::Manual, {}},
                   {"t3.k7", 7, {5, 5, 15, 25}, 20, false, true, 1, {}, Source::Manual, {}},
                   {"t3.k9", 9, {5, 5, 15, 25}, 20, true, false, 1, {{"lit", false}}, Source::Manual, {}},
                   {"t3.k12", 12, {50.125, 5, 60, 25}, 0, false, false, 0, {}, Source::Manual, {}}};
    Track poly;
    poly.id = "t4";
    poly.type = ShapeType::Polygon;
    poly.label = "car";
    poly.interpolation = Interpolation::Cvat;
    poly.attributes = {{"colour", "red"}};
    poly.keyframes = {{"t4.k0", 0, {0, 0, 10, 0, 5, 5}, 0, false, false, 0, {{"lit", false}}, Source::Manual, {}},
                      {"t4.k29", 29, {1, 1, 11, 1, 6, 6, 0, 6}, 0, true, false, 0, {}, Source::Manual, {}}};
    d.tracks = {t, poly};
    Object tag;
    tag.id = "s1";
    tag.type = ShapeType::Tag;
    tag.frame = 4;
    tag.label = "day";
    d.objects = {tag};
    auto out = export_annotations(AnnotationFormat::CvatXml, d, task);
    REQUIRE(out);
    ImportOptions o;
    o.task = &task;
    auto back = import_annotations(AnnotationFormat::CvatXml, out->files, o);
    REQUIRE(back);
    t.interpolation = Interpolation::Cvat;  // CVAT's files carry CVAT's in-betweens
    d.tracks[0] = t;
    CHECK(canonical(back->document) == canonical(d));
}

TEST_CASE("ours to cvat images to ours keeps objects on image tasks") {
    Conversion c = import_cvat("images.xml");
    ExportOptions e;
    e.cvat_layout = "images";
    auto out = export_annotations(AnnotationFormat::CvatXml, c.document, c.task, e);
    REQUIRE(out);
    ImportOptions o;
    o.task = &c.task;
    auto back = import_annotations(AnnotationFormat::CvatXml, out->files, o);
    REQUIRE(back);
    CHECK(canonical(back->document) == canonical(c.document));
}

static Error cvat_error(const std::string& body, const Task* task = nullptr) {
    ImportOptions o;
    o.task = task;
    auto c = import_annotations(AnnotationFormat::CvatXml, one_file("bad.xml", "<annotations>\n<version>1.1</version>\n" + body + "\n</annotations>"), o);
    REQUIRE_FALSE(c);
    CHECK(c.errors().size() == 1);
    return c.first_error();
}

TEST_CASE("malformed cvat files give one error naming the file, line:column and element") {
    Error e = cvat_error("<image id=\"0\" name=\"a.png\">\n  <box label=\"x\" xtl=\"1\" ytl=\"abc\" xbr=\"2\" ybr=\"3\"/>\n</image>");
    CHECK(e.code == "bad_cvat");
    CHECK(e.path == "bad.xml:4:3");
    CHECK(e.message.find("annotations/image/box") != std::string::npos);
    CHECK(e.message.find("ytl") != std::string::npos);
    CHECK(cvat_error("<image id=\"0\" name=\"a.png\"><box label=\"x\" xtl=\"3\" ytl=\"0\" xbr=\"2\" ybr=\"3\"/></image>").code == "bad_box");
    CHECK(cvat_error("<image id=\"0\" name=\"a.png\"><polygon label=\"x\" points=\"1,2;3\"/></image>").code == "bad_cvat");
    CHECK(cvat_error("<image id=\"0\" name=\"a.png\"><polygon label=\"x\" points=\"1,2;3,4\"/></image>").code == "bad_points");
    CHECK(cvat_error("<image id=\"0\" name=\"a.png\"><box label=\"x\" xtl=\"1\" ytl=\"1\" xbr=\"2\" ybr=\"2\"></image>").code == "bad_xml");
    CHECK(cvat_error("<meta><task><start_frame>5</start_frame><frame_filter>step=3</frame_filter></task></meta>"
                     "<track id=\"0\" label=\"x\"><box frame=\"7\" xtl=\"1\" ytl=\"1\" xbr=\"2\" ybr=\"2\"/></track>").code == "bad_frame");
    CHECK(cvat_error("<track id=\"0\" label=\"x\"><box frame=\"2\" xtl=\"1\" ytl=\"1\" xbr=\"2\" ybr=\"2\"/><box frame=\"1\" xtl=\"1\" ytl=\"1\" xbr=\"2\" ybr=\"2\"/></track>").code == "keyframe_order");
    CHECK(cvat_error("<track id=\"0\" label=\"x\"><box frame=\"1\" xtl=\"1\" ytl=\"1\" xbr=\"2\" ybr=\"2\"/><polygon frame=\"2\" points=\"1,1;2,2;3,1\"/></track>").code == "bad_cvat");
    Task task;
    task.id = "t";
    task.media = {{"m", MediaType::Image, "a.png", "a.png", 4, 4, 1, 0}};
    task.labels = {{"y", "y", "", {}, {}}};
    CHECK(cvat_error("<image id=\"0\" name=\"a.png\"><tag label=\"x\"/></image>", &task).code == "unknown_label");
    CHECK(cvat_error("<image id=\"0\" name=\"other.png\"><tag label=\"y\"/></image>", &task).code == "unknown_image");
    auto root = import_annotations(AnnotationFormat::CvatXml, one_file("bad.xml", "<dataset/>"));
    REQUIRE_FALSE(root);
    CHECK(root.first_error().code == "bad_cvat");
}

TEST_CASE("cvat video layout: a track's frames end with its video, and it reads back within it") {
    Task task;
    task.id = "t";
    task.media = {{"v", MediaType::Video, "v.mp4", "v.mp4", 320, 240, 4, 0}, {"w", MediaType::Video, "w.mp4", "w.mp4", 320, 240, 4, 0}};
    task.labels = {{"car", "car", "", {}, {}}};
    Document d;
    Track t;
    t.id = "t1";
    t.label = "car";
    t.keyframes = {{"k1", 1, {0, 0, 10, 10}, 0, false, false, 0, {}, Source::Manual, {}}};
    d.tracks = {t};
    ExportOptions options;
    options.cvat_layout = "video";
    auto out = export_annotations(AnnotationFormat::CvatXml, d, task, options);
    REQUIRE(out);
    const std::string& xml = out->files[0].bytes;
    for (int f : {1, 2, 3}) CHECK(xml.find("frame=\"" + std::to_string(f) + "\" outside=\"0\"") != std::string::npos);
    for (int f : {4, 5, 6, 7}) CHECK(xml.find("frame=\"" + std::to_string(f) + "\" outside") == std::string::npos);
    ImportOptions o;
    o.task = &task;
    auto back = import_annotations(AnnotationFormat::CvatXml, out->files, o);
    REQUIRE(back);
    REQUIRE(back->document.tracks.size() == 1);
    CHECK(back->document.tracks[0].keyframes.back().frame < 4);
}
