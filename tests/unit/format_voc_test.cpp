// Pascal VOC: 1-based inclusive pixel boxes, flags as attributes, round trips both ways.
#include "format_test_util.hpp"
#include "polymark/task.hpp"

#include <catch2/catch.hpp>

using namespace pm;
using namespace format_test;

static FileSet voc_fixtures() {
    return {{"Annotations/2007_000027.xml", fixture("voc/2007_000027.xml")}, {"Annotations/2007_000032.xml", fixture("voc/2007_000032.xml")}};
}

TEST_CASE("voc import: 1-based inclusive boxes become pixel-corner boxes, flags and pose attributes") {
    auto c = import_annotations(AnnotationFormat::Voc, voc_fixtures());
    INFO((c ? std::string() : c.first_error().message));
    REQUIRE(c);
    const auto& o = c->document.objects;
    REQUIRE(o.size() == 2);
    CHECK(o[0].points == std::vector<double>{0, 100, 486, 351});  // pixels 1..486 cover [0, 486]
    CHECK(o[0].label == "person");
    REQUIRE(o[0].attributes.size() == 4);
    CHECK(o[0].attributes[0].id == "truncated");
    CHECK(o[0].attributes[0].value == true);
    CHECK(o[0].attributes[3].value == "Frontal");
    CHECK(o[1].points == std::vector<double>{9.5, 19, 10.5, 40});  // one pixel wide
    CHECK(c->task.labels[1].name == "dog & cat");
    REQUIRE(c->task.media.size() == 2);
    CHECK(c->task.media[1].height == 281);
    CHECK(c->notes.size() == 1);  // the head part
    CHECK(check_document_against_task(c->document, c->task).empty());
}

TEST_CASE("voc to ours to voc is equal in voc's terms, and ours to voc to ours for boxes") {
    auto c = import_annotations(AnnotationFormat::Voc, voc_fixtures());
    REQUIRE(c);
    auto out = export_annotations(AnnotationFormat::Voc, c->document, c->task);
    REQUIRE(out);
    FileSet original = voc_fixtures();
    REQUIRE(out->files.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
        CHECK(out->files[i].path == original[i].path);
        // Left out on the way: folder, source and the parts of objects.
        CHECK(xml_lines(out->files[i].bytes, {"folder", "source", "part"}) == xml_lines(original[i].bytes, {"folder", "source", "part"}));
    }
    ImportOptions o;
    o.task = &c->task;
    auto back = import_annotations(AnnotationFormat::Voc, out->files, o);
    REQUIRE(back);
    CHECK(canonical(back->document) == canonical(c->document));
}

TEST_CASE("malformed voc files give one error naming the file, line:column and element") {
    auto bad = [](const std::string& text) {
        auto c = import_annotations(AnnotationFormat::Voc, {{"a.xml", text}});
        REQUIRE_FALSE(c);
        CHECK(c.errors().size() == 1);
        return c.first_error();
    };
    Error e = bad("<annotation>\n<object><name>x</name>\n<bndbox><xmin>1</xmin><ymin>one</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>");
    CHECK(e.code == "bad_voc");
    CHECK(e.path == "a.xml:3:29");  // the text "one"
    CHECK(e.message.find("annotation/object/bndbox") != std::string::npos);
    CHECK(bad("<annotation><object><name>x</name></object></annotation>").code == "bad_voc");
    CHECK(bad("<annotation><object><name>x</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object></annotation>").code == "bad_box");
    CHECK(bad("<annotations/>").code == "bad_voc");
    CHECK(bad("<annotation><size><width>-4</width></size></annotation>").code == "bad_voc");
}
