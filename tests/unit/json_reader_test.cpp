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

// [SECTION] Limits (docs/SCHEMA.md section 12)

TEST_CASE("nesting past the limit is too_deep at the pointer of the first container too deep, without recursing") {
    std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    auto r = parse_json_text(deep, "body");
    REQUIRE_FALSE(r.ok());
    CHECK(r.first_error().code == "too_deep");
    std::string expected = "/a";
    for (size_t i = 0; i < kMaxJsonDepth - 1; ++i) expected += "/0";  // the 65th container: /a, then 63 indices
    CHECK(r.first_error().path == expected);
    auto unclosed = parse_json_text(std::string(100000, '['), "body");
    REQUIRE_FALSE(unclosed.ok());
    CHECK(unclosed.first_error().code == "too_deep");
    std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
    CHECK(parse_json_text(at_limit, "body").ok());
}

TEST_CASE("numbers no double holds are out_of_range at their pointer, also as 309-digit integers") {
    for (std::string n : std::vector<std::string>{"1e400", "-1e400", "1" + std::string(309, '0'), "-" + std::string(400, '9')}) {
        auto r = parse_json_text("{\"p\":[0,{\"x\":" + n + "}]}", "body");
        REQUIRE_FALSE(r.ok());
        CHECK(r.first_error().code == "out_of_range");
        CHECK(r.first_error().path == "/p/1/x");
    }
    CHECK(parse_json_text("[1e-400, 1e308, " + std::string(300, '9') + "]", "body").ok());
}

TEST_CASE("lone surrogate escapes are bad_string in values and in member names while pairs are text") {
    auto value = parse_json_text(R"({"a":["x","y\ud800z"]})", "body");
    REQUIRE_FALSE(value.ok());
    CHECK(value.first_error().code == "bad_string");
    CHECK(value.first_error().path == "/a/1");
    auto key = parse_json_text(R"({"m":{"k\udc00":1}})", "body");
    REQUIRE_FALSE(key.ok());
    CHECK(key.first_error().code == "bad_string");
    CHECK(key.first_error().path == "/m/k\xEF\xBF\xBD");
    auto pair = parse_json_text(R"(["\ud83d\ude00"])", "body");
    REQUIRE(pair.ok());
    CHECK(pair.value()[0].get<std::string>() == "\xF0\x9F\x98\x80");
}

TEST_CASE("text that is not JSON is not_json before any number or string problem inside it") {
    auto r = parse_json_text(R"({"a": 1e400, "b": })", "body");
    REQUIRE_FALSE(r.ok());
    CHECK(r.first_error().code == "not_json");
    CHECK(parse_json_text("\xEF\xBB\xBF{}", "body").first_error().code == "not_json");
    CHECK(parse_json_text("{\"a\":\"\xC3\"}", "body").first_error().code == "not_json");
}

TEST_CASE("the tolerant parse reads the rest of the text and says where each problem was") {
    auto r = parse_json_text_tolerant(R"({"a":[1e400, 2], "b":"\ud800", "c":3})", "body");
    REQUIRE(r.ok());
    CHECK(r->value["a"][0].is_null());
    CHECK(r->value["a"][1] == 2);
    CHECK(r->value["c"] == 3);
    REQUIRE(r->problems.size() == 2);
    CHECK(r->problems[0].code == "out_of_range");
    CHECK(r->problems[0].path == "/a/0");
    CHECK(r->problems[1].code == "bad_string");
    CHECK(r->problems[1].path == "/b");
}

TEST_CASE("integers beyond 2^53 are out_of_range, integral floats within it are integers") {
    Errors errors;
    JsonReader r(errors);
    CHECK(r.as_integer(Json(kMaxExactInteger), "/i") == kMaxExactInteger);
    CHECK(r.as_integer(Json(-kMaxExactInteger), "/i") == -kMaxExactInteger);
    CHECK_FALSE(r.as_integer(Json(kMaxExactInteger + 1), "/i"));
    CHECK_FALSE(r.as_integer(Json(1e30), "/f"));
    CHECK_FALSE(r.as_integer(Json(18446744073709551615ull), "/u"));
    REQUIRE(errors.size() == 3);
    for (const Error& e : errors) CHECK(e.code == "out_of_range");
    CHECK(errors[1].path == "/f");
}
