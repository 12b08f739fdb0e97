// The format-independent parts: the XML reader, COCO's run-length codes, mask tracing, detection.
#include "format_test_util.hpp"
#include "polymark/formats/mask.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace pm;
using namespace pm::formats;
using namespace format_test;

TEST_CASE("xml reader gives elements, attributes with references resolved, text and CDATA") {
    XmlReader r("<?xml version=\"1.0\"?>\n<!-- c --><a x=\"1 &amp; 2\" y='&#x41;&#66;'><b/>t&lt;u<![CDATA[<raw>]]></a>", "f.xml");
    REQUIRE(r.next() == XmlReader::Event::StartElement);
    CHECK(r.name() == "a");
    REQUIRE(r.attribute("x"));
    CHECK(*r.attribute("x") == "1 & 2");
    CHECK(*r.attribute("y") == "AB");
    REQUIRE(r.next() == XmlReader::Event::StartElement);
    CHECK(r.element_path() == "a/b");
    REQUIRE(r.next() == XmlReader::Event::EndElement);
    REQUIRE(r.next() == XmlReader::Event::Text);
    CHECK(r.text() == "t<u<raw>");
    REQUIRE(r.next() == XmlReader::Event::EndElement);
    CHECK(r.next() == XmlReader::Event::End);
}

static Error xml_error(const std::string& text) {
    XmlReader r(text, "f.xml");
    while (true) {
        auto e = r.next();
        if (e == XmlReader::Event::Failed) return r.error();
        if (e == XmlReader::Event::End) return Error{"none", "", ""};
    }
}

TEST_CASE("xml reader refuses malformed files naming the file, line, column and element path") {
    Error e = xml_error("<a>\n  <b>\n  </c>\n</a>");
    CHECK(e.code == "bad_xml");
    CHECK(e.path == "f.xml:3:3");
    CHECK(e.message.find("a/b") != std::string::npos);
    CHECK(xml_error("<a x=\"1\" x=\"2\"/>").code == "bad_xml");
    CHECK(xml_error("<a>&nbsp;</a>").path == "f.xml:1:4");
    CHECK(xml_error("<a></a><b/>").code == "bad_xml");
    CHECK(xml_error("text<a/>").code == "bad_xml");
    CHECK(xml_error("<a><b></a>").code == "bad_xml");
    CHECK(xml_error("<a x=1/>").code == "bad_xml");
    CHECK(xml_error("<a>&#0;</a>").code == "bad_xml");
    CHECK(xml_error("<a>").code == "bad_xml");
    CHECK(xml_error("").code == "bad_xml");
    CHECK(xml_error(std::string(300, '<')).code == "bad_xml");
    CHECK(xml_error("<a><!-- open").code == "bad_xml");
    CHECK(xml_error("<a/>").code == "none");
    CHECK(xml_error("<a>\xC3\xA9</a>").code == "none");
    CHECK(xml_error("<a>\xFF</a>").path == "f.xml:1:4");  // not UTF-8 (found by fuzzing: it broke the JSON writer)
    CHECK(xml_error("<a>\xC3</a>").code == "bad_xml");
    CHECK(xml_error("<a>\xED\xA0\x80</a>").code == "bad_xml");
}

TEST_CASE("xml escaping round-trips through the reader") {
    std::string text = "<a v=\"" + xml_escaped("q\"'<&>\n\tz") + "\">" + xml_escaped("<&>") + "</a>";
    XmlReader r(text, "f.xml");
    REQUIRE(r.next() == XmlReader::Event::StartElement);
    CHECK(*r.attribute("v") == "q\"'<&>\n\tz");
    REQUIRE(r.next() == XmlReader::Event::Text);
    CHECK(r.text() == "<&>");
}

TEST_CASE("compressed RLE strings encode runs as COCO does, deltas from the third run on") {
    // Worked by hand: 10 -> ':', 40 -> 'X' '1' (8 with the continuation bit, then 1),
    // 5 -> '5', 30 - 40 = -10 -> 'F' (22: the sign bit set in the last group).
    CHECK(encode_rle_string({10, 40, 5, 30}) == ":X15F");
    auto runs = decode_rle_string(":X15F");
    REQUIRE(runs);
    CHECK(*runs == std::vector<uint64_t>{10, 40, 5, 30});
    CHECK(encode_rle_string({3, 2, 5}) == "325");
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        std::vector<uint64_t> r(rng() % 20);
        for (auto& v : r) v = rng() % (i < 100 ? 50 : 5000000);
        auto back = decode_rle_string(encode_rle_string(r));
        REQUIRE(back);
        CHECK(*back == r);
    }
    CHECK_FALSE(decode_rle_string("abc{"));  // '{' is past 'o'
    CHECK_FALSE(decode_rle_string("X"));     // a continuation that never ends
}

TEST_CASE("masks traced at tolerance 0 cover exactly their pixels, holes counted") {
    std::mt19937 rng(3);
    for (int round = 0; round < 40; ++round) {
        uint32_t h = 1 + rng() % 13, w = 1 + rng() % 11;  // odd sizes included
        std::vector<uint8_t> mask((size_t)h * w, 0);
        // Separate rectangles (a free row and column between them): no holes, no touching corners.
        for (int k = 0; k < 3; ++k) {
            uint32_t x0 = rng() % w, y0 = rng() % h, x1 = std::min<uint32_t>(w, x0 + 1 + rng() % 4), y1 = std::min<uint32_t>(h, y0 + 1 + rng() % 4);
            bool free = true;
            for (long long x = (long long)x0 - 1; x <= (long long)x1; ++x)
                for (long long y = (long long)y0 - 1; y <= (long long)y1; ++y)
                    if (x >= 0 && y >= 0 && x < w && y < h && mask[(size_t)x * h + (size_t)y]) free = false;
            if (!free) continue;
            for (uint32_t x = x0; x < x1; ++x)
                for (uint32_t y = y0; y < y1; ++y) mask[(size_t)x * h + y] = 1;
        }
        TracedMask t = trace_mask(mask, h, w, 0);
        std::vector<uint8_t> covered(mask.size(), 0);
        for (const auto& p : t.polygons) {
            auto r = rasterize_polygon(p, h, w);
            for (size_t i = 0; i < r.size(); ++i) covered[i] |= r[i];
        }
        CHECK(covered == mask);
        CHECK(t.holes == 0);
        CHECK(mask_from_runs(runs_from_mask(mask), h, w) == mask);
    }
    // A ring: the outer square is kept, the hole is counted.
    std::vector<uint8_t> ring(9, 1);
    ring[4] = 0;
    TracedMask t = trace_mask(ring, 3, 3, 0);
    REQUIRE(t.polygons.size() == 1);
    CHECK(t.polygons[0].size() == 8);
    CHECK(t.holes == 1);
}

TEST_CASE("tracing with a tolerance keeps every dropped corner within it") {
    // A staircase: at tolerance 0 every step is a vertex; at 1 px the stairs become a slope.
    uint32_t n = 20;
    std::vector<uint8_t> mask((size_t)n * n, 0);
    for (uint32_t x = 0; x < n; ++x)
        for (uint32_t y = 0; y <= x; ++y) mask[(size_t)x * n + y] = 1;
    auto exact = trace_mask(mask, n, n, 0);
    auto coarse = trace_mask(mask, n, n, 1);
    REQUIRE(exact.polygons.size() == 1);
    REQUIRE(coarse.polygons.size() == 1);
    CHECK(coarse.polygons[0].size() < exact.polygons[0].size() / 4);
    CHECK(coarse.polygons[0].size() >= 6);
}

TEST_CASE("the format of each fixture is detected from its bytes") {
    CHECK(detect_annotation_format(one_file("x.json", fixture("coco/instances.json"))) == AnnotationFormat::Coco);
    CHECK(detect_annotation_format(one_file("x.xml", fixture("cvat/images.xml"))) == AnnotationFormat::CvatXml);
    CHECK(detect_annotation_format(one_file("x.xml", fixture("cvat/video.xml"))) == AnnotationFormat::CvatXml);
    CHECK(detect_annotation_format(one_file("x.json", "{\"format\":\"polymark.annotations\",\"version\":1}")) == AnnotationFormat::Polymark);
    CHECK_FALSE(detect_annotation_format(one_file("x.bin", "\x89PNG")));
}

TEST_CASE("numbers are written in the shortest text that reads back the same") {
    for (double v : {0.1, 1.0 / 3.0, 12.0, -3.5e-7, 1e21, 600.5}) CHECK(parse_double(number_text(v)) == v);
    CHECK(number_text(-0.0) == "0");
    CHECK_FALSE(parse_double("1e400"));
    CHECK_FALSE(parse_double("nan"));
    CHECK_FALSE(parse_double(" 1"));
    CHECK(parse_double("+2.5") == 2.5);
}

TEST_CASE("per-image exports see a track on its own medium's frames only") {
    pm::Task task;
    task.id = "t";
    task.media = {{"v", pm::MediaType::Video, "v.mp4", "v.mp4", 100, 100, 3, 0}, {"p", pm::MediaType::Image, "p.png", "p.png", 100, 100, 1, 0}};
    pm::Document d;
    pm::Track t;
    t.id = "t1"; t.type = pm::ShapeType::Rectangle; t.label = "car";
    t.keyframes = {{"k0", 0, {0, 0, 10, 10}, 0, false, false, 0, {}, pm::Source::Manual, nullptr}, {"k1", 1, {2, 0, 12, 10}, 0, false, false, 0, {}, pm::Source::Manual, nullptr}};
    d.tracks.push_back(t);
    size_t past = 0;
    pm::formats::FrameShapes frames = pm::formats::shapes_per_frame(d, task, 4, past);
    REQUIRE(frames.size() == 4);
    CHECK(frames[0].size() == 1);
    CHECK(frames[1].size() == 1);
    CHECK(frames[2].size() == 1);  // the video's last frame: a copy of the last keyframe
    CHECK(frames[2][0].get().points == std::vector<double>{2, 0, 12, 10});
    CHECK(frames[3].empty());  // the photograph after the video
}

TEST_CASE("an export of a frame range keeps the objects on it and cuts tracks to it, state kept where it starts") {
    pm::Task task;
    task.id = "t";
    task.media = {{"v", pm::MediaType::Video, "v.mp4", "v.mp4", 100, 100, 20, 0}};
    pm::Document d;
    pm::Object before, inside;
    before.id = "o1"; before.frame = 2; before.label = "car"; before.points = {0, 0, 1, 1};
    inside = before; inside.id = "o2"; inside.frame = 4;
    d.objects = {before, inside};
    pm::Track t;
    t.id = "t1"; t.type = pm::ShapeType::Rectangle; t.label = "car";
    t.keyframes = {{"k0", 0, {0, 0, 10, 10}, 0, false, false, 0, {}, pm::Source::Manual, nullptr}, {"k1", 10, {10, 0, 20, 10}, 0, false, false, 0, {}, pm::Source::Manual, nullptr}};
    pm::Track gone = t;
    gone.id = "t2";
    gone.keyframes[1].frame = 1;
    gone.keyframes[1].outside = true;  // ends before the range
    d.tracks = {t, gone};
    pm::Document cut = pm::document_within_frames(d, task, {3, 5});
    REQUIRE(cut.objects.size() == 1);
    CHECK(cut.objects[0].id == "o2");
    REQUIRE(cut.tracks.size() == 1);
    const pm::Track& c = cut.tracks[0];
    CHECK(c.id == "t1");
    REQUIRE(c.keyframes.size() == 2);
    CHECK(c.keyframes[0].frame == 3);
    CHECK(c.keyframes[0].points == std::vector<double>{3, 0, 13, 10});
    CHECK_FALSE(c.keyframes[0].outside);
    CHECK(c.keyframes[1].frame == 6);
    CHECK(c.keyframes[1].outside);
}

TEST_CASE("the UTF-8 check finds the first bad byte wherever it falls among eight-byte blocks of ASCII") {
    for (size_t at = 0; at < 20; ++at) {
        for (size_t len = at + 1; len < at + 12; ++len) {
            std::string text(len, 'a');
            text[at] = char(0xFF);  // never in UTF-8
            size_t bad_at = 999;
            INFO("bad byte at " << at << " of " << len);
            CHECK_FALSE(valid_utf8(text, bad_at));
            CHECK(bad_at == at);
        }
    }
    // Sequences of two, three and four bytes across block edges are accepted; one cut short is not.
    const std::string e_acute = "\xC3\xA9", euro = "\xE2\x82\xAC", smile = "\xF0\x9F\x98\x80";
    for (size_t pad = 0; pad < 9; ++pad) {
        std::string text = std::string(pad, 'x') + e_acute + std::string(7, 'y') + euro + smile + "z";
        size_t bad_at = 999;
        INFO("padding " << pad);
        CHECK(valid_utf8(text, bad_at));
        std::string cut = std::string(pad, 'x') + euro.substr(0, 2);
        CHECK_FALSE(valid_utf8(cut, bad_at));
        CHECK(bad_at == pad);
    }
    size_t bad_at = 999;
    CHECK(valid_utf8("", bad_at));
    CHECK(valid_utf8(std::string(64, 'q'), bad_at));
}
