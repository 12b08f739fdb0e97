#include "polymark/json_reader.hpp"

#include <catch2/catch.hpp>

using namespace pm;

TEST_CASE("json pointer escapes tilde and slash in keys") {
    CHECK(json_pointer_append("/a", "b/c~d") == "/a/b~1c~0d");
    CHECK(json_pointer_append("", size_t{3}) == "/3");
}

TEST_CASE("malformed json text is an error naming line and column, not an exception") {
    auto r = parse_json_text("{\"a\": [1, 2,, 3]}", "task.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.first_error().code == "not_json");
    CHECK(r.first_error().path == "");
    CHECK(r.first_error().message.find("task.json") == 0);
    CHECK(r.first_error().message.find("line 1, column 13") != std::string::npos);
}

TEST_CASE("reader reports wrong types with their pointer") {
    Errors errors;
    JsonReader r(errors);
    Json j = Json::parse(R"({"n": "7", "i": 2.5, "b": 1})");
    CHECK_FALSE(r.number_member(j, "/x", "n", true));
    CHECK_FALSE(r.integer_member(j, "/x", "i", true));
    CHECK_FALSE(r.bool_member(j, "/x", "b", true));
    CHECK_FALSE(r.string_member(j, "/x", "missing", true));
    REQUIRE(errors.size() == 4);
    CHECK(errors[0].code == "expected_number");
    CHECK(errors[0].path == "/x/n");
    CHECK(errors[1].code == "expected_integer");
    CHECK(errors[2].code == "expected_boolean");
    CHECK(errors[3].code == "missing_key");
    CHECK(errors[3].path == "/x/missing");
}

TEST_CASE("integral floats are accepted as integers") {
    Errors errors;
    JsonReader r(errors);
    CHECK(r.as_integer(Json(3.0), "/f") == 3);
    CHECK(errors.empty());
}

TEST_CASE("utf8 text splits into code points of every length, and a stray byte stays one") {
    CHECK(utf8_code_points("a\xC3\xA9\xE7\x8C\xAB\xF0\x9F\x98\x80") == std::vector<uint32_t>{0x61, 0xE9, 0x732B, 0x1F600});
    CHECK(utf8_code_points("\xFFx") == std::vector<uint32_t>{0xFF, 0x78});
    CHECK(utf8_code_points("").empty());
}
