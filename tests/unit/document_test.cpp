#include "polymark/document.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

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
