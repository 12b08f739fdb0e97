#include "polymark/document.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

using namespace pm;
namespace fs = std::filesystem;

static std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

static const fs::path kSchemaData = fs::path(POLYMARK_SOURCE_DIR) / "tests/data/schema";

TEST_CASE("an empty document is valid and serialises to the canonical header") {
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1})");
    REQUIRE(doc.ok());
    CHECK(serialize_document(doc.value()) == R"({"format":"polymark.annotations","version":1,"objects":[],"tracks":[]})");
}

TEST_CASE("coordinates keep full double precision through a round trip") {
    const char* text = R"({"format":"polymark.annotations","version":1,"objects":[
        {"id":"a","type":"polygon","frame":0,"label":"cat","points":[0.1,0.2,1234.5678901234567,3.000000000000001,7,8]}]})";
    auto doc = parse_document(text);
    REQUIRE(doc.ok());
    CHECK(doc->objects[0].points[2] == 1234.5678901234567);
    CHECK(doc->objects[0].points[3] == 3.000000000000001);
    auto again = parse_document(serialize_document(doc.value()));
    REQUIRE(again.ok());
    CHECK(again->objects[0].points == doc->objects[0].points);
}

TEST_CASE("defaults are filled in and omitted again when written") {
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,"objects":[
        {"id":"r","type":"rectangle","frame":2,"label":"car","points":[1,2,3,4]}]})");
    REQUIRE(doc.ok());
    const Object& o = doc->objects[0];
    CHECK(o.rotation == 0);
    CHECK(o.z == 0);
    CHECK(o.source == Source::Manual);
    CHECK_FALSE(o.occluded);
    CHECK(serialize_document(doc.value()).find("rotation") == std::string::npos);
}

TEST_CASE("a track keeps its keyframes, flags, attributes and meta") {
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,"tracks":[
        {"id":"t1","type":"ellipse","label":"ball","interpolation":"cvat","attributes":{"kind":"tennis"},
         "meta":{"portal":{"row":17}},
         "keyframes":[{"id":"k1","frame":0,"points":[0,0,10,10],"rotation":30},
                      {"id":"k2","frame":9,"points":[5,5,15,15],"outside":true,"occluded":true,"z":3,
                       "attributes":{"spin":true},"source":"auto"}]}]})");
    REQUIRE(doc.ok());
    const Track& t = doc->tracks[0];
    CHECK(t.interpolation == Interpolation::Cvat);
    REQUIRE(t.keyframes.size() == 2);
    CHECK(t.keyframes[0].rotation == 30);
    CHECK(t.keyframes[1].outside);
    CHECK(t.keyframes[1].source == Source::Auto);
    CHECK(t.keyframes[1].attributes[0].value == Json(true));
    auto written = document_to_json(doc.value());
    CHECK(written["tracks"][0]["meta"]["portal"]["row"] == 17);
    CHECK(written["tracks"][0]["interpolation"] == "cvat");
}

TEST_CASE("the guideline version an object or track was made under is read, written and checked") {
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,
        "objects":[{"id":"a","type":"rectangle","frame":0,"label":"cat","points":[0,0,1,1],"guideline":2},
                   {"id":"b","type":"tag","frame":0,"label":"day","guideline":1},
                   {"id":"c","type":"rectangle","frame":0,"label":"cat","points":[0,0,1,1]}],
        "tracks":[{"id":"t","type":"rectangle","label":"cat","guideline":4,"keyframes":[{"id":"t.k","frame":0,"points":[0,0,1,1]}]}]})");
    REQUIRE(doc.ok());
    CHECK(doc->objects[0].guideline == 2);
    CHECK(doc->objects[1].guideline == 1);
    CHECK_FALSE(doc->objects[2].guideline.has_value());  // made before guidelines, or with none known
    CHECK(doc->tracks[0].guideline == 4);
    Json written = document_to_json(doc.value());
    CHECK(written["objects"][0]["guideline"] == 2);
    CHECK(written["objects"][1]["guideline"] == 1);
    CHECK_FALSE(written["objects"][2].contains("guideline"));  // absent stays absent
    CHECK(written["tracks"][0]["guideline"] == 4);
    CHECK_FALSE(written["tracks"][0]["keyframes"][0].contains("guideline"));
    std::string text = serialize_document(doc.value());
    auto again = parse_document(text);
    REQUIRE(again.ok());
    CHECK(again->objects == doc->objects);
    CHECK(again->tracks == doc->tracks);

    auto first_error = [](const char* item) {
        auto bad = parse_document(std::string(R"({"format":"polymark.annotations","version":1,"objects":[)") + item + "]}");
        REQUIRE_FALSE(bad.ok());
        return std::make_pair(bad.first_error().code, bad.first_error().path);
    };
    using P = std::pair<std::string, std::string>;
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":0})") == P{"out_of_range", "/objects/0/guideline"});
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":-3})") == P{"out_of_range", "/objects/0/guideline"});
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":1.5})") == P{"expected_integer", "/objects/0/guideline"});
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":"2"})") == P{"expected_integer", "/objects/0/guideline"});
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":null})") == P{"expected_integer", "/objects/0/guideline"});
    CHECK(first_error(R"({"id":"a","type":"tag","frame":0,"label":"x","guideline":1e30})") == P{"out_of_range", "/objects/0/guideline"});
}

TEST_CASE("a tag carries no geometry") {
    auto bad = parse_document(R"({"format":"polymark.annotations","version":1,"objects":[
        {"id":"g","type":"tag","frame":0,"label":"night","points":[1,2]}]})");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.first_error().code == "unknown_key");
    CHECK(bad.first_error().path == "/objects/0/points");
}

TEST_CASE("all errors are collected, each with its own pointer") {
    auto r = parse_document(R"({"format":"polymark.annotations","version":1,"objects":[
        {"id":"a","type":"polygon","frame":-1,"label":"x","points":[0,0,1,null,2,2]},
        {"id":"a","type":"hexagon","frame":0,"label":"x","points":[]}]})");
    REQUIRE_FALSE(r.ok());
    std::vector<std::string> paths;
    for (const Error& e : r.errors()) paths.push_back(e.code + " " + e.path);
    CHECK(paths == std::vector<std::string>{
        "out_of_range /objects/0/frame", "expected_number /objects/0/points/3",
        "duplicate_id /objects/1/id", "bad_enum /objects/1/type"});
}

TEST_CASE("documents that are not json or not ours are refused with a reason") {
    CHECK(parse_document("").first_error().code == "not_json");
    CHECK(parse_document("[]").first_error().code == "not_object");
    CHECK(parse_document("[]").first_error().path == "");
    CHECK(parse_document(R"({"format":"labelme","version":1})").first_error().code == "wrong_format");
    auto v2 = parse_document(R"({"format":"polymark.annotations","version":2})");
    CHECK(v2.first_error().code == "unsupported_version");
    CHECK(v2.first_error().message.find("version 2") != std::string::npos);
}

TEST_CASE("every golden valid document parses and round-trips unchanged") {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(kSchemaData / "valid")) {
        if (entry.path().extension() != ".json") continue;
        ++count;
        INFO(entry.path().filename().string());
        std::string text = read_file(entry.path());
        auto doc = parse_document(text);
        if (!doc.ok()) FAIL(doc.first_error().code + " at " + doc.first_error().path + ": " + doc.first_error().message);
        auto again = parse_document(serialize_document(doc.value()));
        REQUIRE(again.ok());
        CHECK(document_to_json(again.value()) == document_to_json(doc.value()));
    }
    CHECK(count >= 8);
}

TEST_CASE("every golden invalid document fails first with its expected code and pointer") {
    Json expectations = Json::parse(read_file(kSchemaData / "invalid/expectations.json"));
    REQUIRE(expectations.size() >= 14);
    for (auto it = expectations.begin(); it != expectations.end(); ++it) {
        INFO(it.key());
        auto doc = parse_document(read_file(kSchemaData / "invalid" / it.key()));
        REQUIRE_FALSE(doc.ok());
        CHECK(doc.first_error().code == it.value()["code"].get<std::string>());
        CHECK(doc.first_error().path == it.value()["path"].get<std::string>());
    }
}

// [SECTION] Equality of objects and tracks

namespace {

std::set<std::string> keys_of(const Json& j) {
    std::set<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
    return keys;
}

// Another valid value for a key of an object, track or keyframe written with every key set.
Json changed(const std::string& key, const Json& v) {
    if (key == "points") {
        Json p = v;
        p[2] = std::nextafter(p[2].get<double>(), 1e9);  // one ulp: doubles compare exactly
        return p;
    }
    if (key == "rotation") return std::nextafter(v.get<double>(), 1e9);
    if (key == "frame" || key == "z" || key == "guideline") return v.get<long long>() + 1;
    if (key == "type") return v == "rectangle" ? "ellipse" : "rectangle";
    if (key == "source") return v == "auto" ? "imported" : "auto";
    if (key == "interpolation") return v == "cvat" ? "improved" : "cvat";
    if (v.is_boolean()) return !v.get<bool>();
    if (v.is_string()) return v.get<std::string>() + "x";
    if (key == "attributes") {
        Json a = v;
        a.begin().value() = 2;  // 1 became 2; the same keys in the same order
        return a;
    }
    if (key == "meta") return Json{{"portal", {{"row", 18}}}};
    FAIL("no change for key " << key);
    return v;
}

}  // namespace

TEST_CASE("objects are equal exactly when every field is, each field compared") {
    const Json full = Json::parse(R"({"id":"o","type":"rectangle","frame":3,"label":"car","points":[1,2,3.5,4],
        "rotation":12.25,"attributes":{"n":1,"s":"x"},"source":"auto","z":2,"group":"g","occluded":true,"guideline":3,
        "meta":{"portal":{"row":17}}})");
    auto a = object_from_json(full, "");
    REQUIRE(a.ok());
    CHECK(keys_of(object_to_json(a.value())) == keys_of(full));  // every field is written, so varied below
    auto same = object_from_json(full, "");
    CHECK(a.value() == same.value());
    for (auto it = full.begin(); it != full.end(); ++it) {
        INFO(it.key());
        Json variant = full;
        variant[it.key()] = changed(it.key(), it.value());
        auto b = object_from_json(variant, "");
        REQUIRE(b.ok());
        CHECK(a.value() != b.value());
        CHECK_FALSE(same_object(a.value(), b.value()));
    }
    Object reordered = a.value();
    std::swap(reordered.attributes[0], reordered.attributes[1]);
    CHECK(reordered != a.value());
}

TEST_CASE("tracks are equal exactly when every field and every keyframe field is") {
    const Json full = Json::parse(R"({"id":"t","type":"ellipse","label":"ball","keyframes":[
        {"id":"k0","frame":0,"points":[0,0,10,10],"rotation":30.5,"outside":true,"occluded":true,"z":1,
         "attributes":{"spin":1},"source":"auto","meta":{"portal":{"row":17}}},
        {"id":"k9","frame":9,"points":[5,5,15,15]}],
        "attributes":{"kind":1},"source":"auto","group":"g","interpolation":"cvat","guideline":2,"meta":{"portal":{"row":17}}})");
    auto a = track_from_json(full, "");
    REQUIRE(a.ok());
    CHECK(keys_of(track_to_json(a.value())) == keys_of(full));
    CHECK(keys_of(track_to_json(a.value())["keyframes"][0]) == keys_of(full["keyframes"][0]));
    CHECK(a.value() == track_from_json(full, "").value());
    for (auto it = full.begin(); it != full.end(); ++it) {
        if (it.key() == "keyframes") continue;
        INFO(it.key());
        Json variant = full;
        variant[it.key()] = changed(it.key(), it.value());
        auto b = track_from_json(variant, "");
        REQUIRE(b.ok());
        CHECK(a.value() != b.value());
        CHECK_FALSE(same_track(a.value(), b.value()));
    }
    const Json& kf = full["keyframes"][0];
    for (auto it = kf.begin(); it != kf.end(); ++it) {
        if (it.key() == "frame") continue;  // keyframe 0's frame is checked through keyframe 1's below
        INFO("keyframe " << it.key());
        Json variant = full;
        variant["keyframes"][0][it.key()] = changed(it.key(), it.value());
        auto b = track_from_json(variant, "");
        REQUIRE(b.ok());
        CHECK(a.value().keyframes[0] != b.value().keyframes[0]);
        CHECK(a.value() != b.value());
    }
    Json later = full;
    later["keyframes"][1]["frame"] = 10;
    CHECK(a.value() != track_from_json(later, "").value());
}

// [SECTION] Opening a document with a bad object (docs/SCHEMA.md section 12)

TEST_CASE("a document with one unreadable object opens without it, naming it, and keeps the rest") {
    std::string text = R"({"format":"polymark.annotations","version":1,"objects":[
        {"id":"good1","type":"rectangle","frame":0,"label":"cat","points":[1,2,3,4]},
        {"id":"bad","type":"rectangle","frame":0,"label":"cat","points":[0,0,)" + ("1" + std::string(309, '0')) + R"(,5]},
        {"id":"good2","type":"points","frame":0,"label":"cat","points":[5,6]},
        {"id":"deep","type":"tag","frame":0,"label":"cat","meta":)" + std::string(70, '[') + std::string(70, ']') + R"(},
        {"id":"huge_z","type":"points","frame":0,"label":"cat","points":[5,6],"z":1e400}],
      "tracks":[{"id":"t1","type":"rectangle","label":"cat","keyframes":[{"id":"t1.k0","frame":1e30,"points":[1,2,3,4]}]}]})";
    REQUIRE_FALSE(parse_document(text).ok());  // read strictly (setAnnotations, serve.py), it is refused whole
    auto json = parse_json_text_tolerant(text, "annotations");
    REQUIRE(json.ok());
    auto doc = document_from_json_skipping_invalid(json->value, json->problems);
    REQUIRE(doc.ok());
    REQUIRE(doc->document.objects.size() == 2);
    CHECK(doc->document.objects[0].id == "good1");
    CHECK(doc->document.objects[1].id == "good2");
    CHECK(doc->document.tracks.empty());
    REQUIRE(doc->skipped.size() == 4);
    std::vector<std::tuple<std::string, std::string, std::string>> got;
    for (const SkippedItem& s : doc->skipped) got.emplace_back(s.id, s.error.code, s.error.path);
    CHECK(std::count(got.begin(), got.end(), std::make_tuple(std::string("bad"), std::string("out_of_range"), std::string("/objects/1/points/2"))) == 1);
    CHECK(std::count(got.begin(), got.end(), std::make_tuple(std::string("deep"), std::string("too_deep"), std::string("/objects/3/meta") + [] { std::string s; for (int i = 0; i < 61; ++i) s += "/0"; return s; }())) == 1);
    CHECK(std::count(got.begin(), got.end(), std::make_tuple(std::string("huge_z"), std::string("out_of_range"), std::string("/objects/4/z"))) == 1);
    CHECK(std::count(got.begin(), got.end(), std::make_tuple(std::string("t1"), std::string("out_of_range"), std::string("/tracks/0/keyframes/0/frame"))) == 1);
    for (const SkippedItem& s : doc->skipped) CHECK(s.error.message.find(s.id) != std::string::npos);
}

TEST_CASE("a broken document outside its items still refuses to open") {
    auto json = parse_json_text_tolerant(R"({"format":"polymark.annotations","version":1e400,"objects":[]})", "annotations");
    REQUIRE(json.ok());
    auto doc = document_from_json_skipping_invalid(json->value, json->problems);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.first_error().code == "out_of_range");
    CHECK(doc.first_error().path == "/version");
}

TEST_CASE("meta nested past 32 levels is too_deep at the first container too deep") {
    std::string meta = "1";
    for (int i = 0; i < 40; ++i) meta = "{\"k\":" + meta + "}";
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,"objects":[{"id":"a","type":"tag","frame":0,"label":"cat","meta":)" + meta + "}]}");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.first_error().code == "too_deep");
    std::string expected = "/objects/0/meta";
    for (size_t i = 0; i < kMaxMetaDepth; ++i) expected += "/k";
    CHECK(doc.first_error().path == expected);
}
