#include "polymark/json_reader.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <random>

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

// [SECTION] The fast path gives nlohmann's value, or gives up

namespace {

bool identical(const Json& a, const Json& b) {
    if (a.type() != b.type()) return false;
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
            if (x.key() != y.key() || !identical(x.value(), y.value())) return false;
        return true;
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (!identical(a[i], b[i])) return false;
        return true;
    }
    if (a.is_number_float()) {
        double x = a.get<double>(), y = b.get<double>();
        return std::memcmp(&x, &y, sizeof x) == 0;  // bit for bit: -0.0 and every last digit
    }
    return a == b;
}

// Whether the fast path agrees with nlohmann on `text`: when it reads it, nlohmann reads the
// identical value; when nlohmann cannot, neither does it. Returns whether the fast path read it.
bool fast_agrees(const std::string& text) {
    Json fast;
    bool ok = parse_json_fast(text, fast);
    Json slow = Json::parse(text, nullptr, false);
    if (ok) {
        INFO(text);
        REQUIRE_FALSE(slow.is_discarded());
        REQUIRE(identical(fast, slow));
    }
    return ok;
}

std::string random_number(std::mt19937& rng) {
    std::uniform_int_distribution<int> kind(0, 7), digits(1, 22), small(0, 9);
    auto run = [&](int n) {
        std::string s;
        for (int i = 0; i < n; ++i) s += char('0' + small(rng));
        return s;
    };
    std::string sign = small(rng) < 3 ? "-" : "";
    std::string lead = std::to_string(1 + small(rng) % 9);
    switch (kind(rng)) {
        case 0: return sign + "0";
        case 1: return sign + lead + run(digits(rng) - 1);                                  // integers, past 64 bits too
        case 2: return sign + lead + run(small(rng)) + "." + run(digits(rng));              // decimals, long ones too
        case 3: return sign + "0." + std::string(small(rng), '0') + lead + run(small(rng));  // 0.000123
        case 4: return sign + lead + "." + run(small(rng) + 1) + (small(rng) < 5 ? "e" : "E") + (small(rng) < 5 ? "-" : "+") + std::to_string(small(rng) * 7);
        case 5: return sign + lead + "e" + std::to_string(small(rng) * 40);                 // up to 1e360: past a double
        case 6: return sign + lead + run(small(rng)) + "e-" + std::to_string(small(rng) * 40);
        default: return sign + lead + "." + run(small(rng) + 1);
    }
}

std::string random_string(std::mt19937& rng) {
    static const char* pieces[] = {"a", "Z", " ", "é", "猫", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\u0000",
                                   "\\ud83d\\ude00", "\\uD834\\uDD1E", "~", "\x7f"};
    std::uniform_int_distribution<size_t> n(0, 6), pick(0, sizeof pieces / sizeof *pieces - 1);
    std::string s = "\"";
    for (size_t i = n(rng); i > 0; --i) s += pieces[pick(rng)];
    return s + "\"";
}

std::string random_value(std::mt19937& rng, int depth) {
    std::uniform_int_distribution<int> kind(0, depth > 3 ? 4 : 6), count(0, 4), space(0, 5);
    auto ws = [&] { return std::string(space(rng) == 0 ? " \n\t\r" : space(rng) == 1 ? " " : ""); };
    switch (kind(rng)) {
        case 0: return random_number(rng);
        case 1: return random_string(rng);
        case 2: return "true";
        case 3: return "null";
        case 4: return "false";
        case 5: {
            std::string s = "[" + ws();
            for (int i = count(rng); i > 0; --i) s += random_value(rng, depth + 1) + ws() + (i > 1 ? "," + ws() : "");
            return s + "]";
        }
        default: {
            std::string s = "{" + ws();
            for (int i = count(rng); i > 0; --i)
                s += (i == 2 ? std::string("\"k\"") : random_string(rng)) + ws() + ":" + ws() + random_value(rng, depth + 1) + (i > 1 ? "," + ws() : "");
            return s + "}";
        }
    }
}

}  // namespace

TEST_CASE("the fast json path reads documents to the value nlohmann gives, types and bits alike") {
    for (const char* text : {"{\"objects\":[{\"id\":\"a\",\"points\":[10.5,20.25,-3,0.001,1e3,12345678901234567]}]}",
                             "[0, -0, -0.0, 1.5e-7, 123456789012345678, -123456789012345678, 0.1, 9007199254740993.0]",
                             "{\"a\":1,\"a\":2,\"b\":{}}", "  \"\\u00e9\\ud83d\\ude00 猫\\n\"  ", "[true,false,null,[],{}]"})
        CHECK(fast_agrees(text));
}

TEST_CASE("the fast json path reads 16 to 19 digit decimals exactly, ties to even, as strtod does") {
    for (const char* text : {"9007199254740993.0", "9007199254740995.0", "-9007199254740993.5", "123.45678901234567",
                             "0.30000000000000004", "1.7976931348623157", "4.9406564584124654e-5", "1234567890123456789e-19",
                             "9999999999999999999e19", "2.2250738585072014e-19", "0.1000000000000000055511151231257827"})
        CHECK(fast_agrees(text));
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> coordinate(-5000, 5000);
    std::uniform_int_distribution<int> scale(-12, 12);
    for (int i = 0; i < 20000; ++i) {
        double x = std::ldexp(coordinate(rng), scale(rng));
        char text[40];
        std::snprintf(text, sizeof text, "%.17g", x);
        Json v;
        REQUIRE(parse_json_fast(text, v));
        INFO(text);
        REQUIRE(v.get<double>() == x);  // 17 digits bring every double back
        REQUIRE(fast_agrees(text));
    }
    std::uniform_int_distribution<uint64_t> mantissa(1000000000000000ULL, ~0ULL);
    for (int e = 1; e <= 19; ++e)
        for (int i = 0; i < 2000; ++i) {  // every divisor, with quotients of 55 and 56 bits
            std::string text = std::to_string(mantissa(rng) % 10000000000000000000ULL) + "e-" + std::to_string(e);
            INFO(text);
            REQUIRE(fast_agrees(text));
        }
}

TEST_CASE("the fast json path leaves every text it is not sure of to the careful reader") {
    for (const char* text : {"", " ", "01", "1.", ".5", "-", "+1", "1e", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "tru", "nul",
                             "\"\\ud800\"", "\"\\udc00\"", "\"\\x\"", "\"a\tb\"", "\"\xff\"", "\"\xc0\xaf\"", "\xef\xbb\xbf{}", "1e400",
                             "12345678901234567890", "-92233720368547758080", "[1] x", "{1:2}", "\"open"}) {
        INFO(text);
        CHECK_FALSE(fast_agrees(text));
    }
    std::string deep(kMaxJsonDepth, '['), shallow(kMaxJsonDepth - 1, '[');
    CHECK(fast_agrees(shallow + "[]" + std::string(kMaxJsonDepth - 1, ']')));
    CHECK_FALSE(fast_agrees(deep + "[]" + std::string(kMaxJsonDepth, ']')));
}

TEST_CASE("the fast json path agrees with nlohmann on random texts and on each with a byte changed") {
    std::mt19937 rng(20261207);
    size_t read = 0, mutated_read = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = random_value(rng, 0);
        read += fast_agrees(text);
        std::uniform_int_distribution<size_t> at(0, text.size() - 1);
        std::uniform_int_distribution<int> byte(0, 255), how(0, 2);
        std::string m = text;
        size_t k = at(rng);
        if (how(rng) == 0) m.erase(k, 1);
        else if (how(rng) == 1) m.insert(k, 1, char(byte(rng)));
        else m[k] = char(byte(rng));
        mutated_read += fast_agrees(m);
    }
    CHECK(read > 2000);  // most random texts are within its reach: the comparison is not vacuous
    CHECK(mutated_read > 100);
}

TEST_CASE("parse_json_text takes the fast path's value and still names errors and limits") {
    auto good = parse_json_text("{\"x\": [1.25, -2]}", "doc.json");
    REQUIRE(good.ok());
    CHECK(good.value()["x"][0].get<double>() == 1.25);
    CHECK(good.value()["x"][1].is_number_integer());
    auto bad = parse_json_text("{\"x\": 1e400}", "doc.json");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.first_error().code == "out_of_range");
    CHECK(bad.first_error().path == "/x");
    auto lone = parse_json_text_tolerant("{\"s\": \"\\ud800\"}", "doc.json");
    REQUIRE(lone.ok());
    CHECK(lone.value().problems.size() == 1);
    CHECK(lone.value().value["s"] == "\xef\xbf\xbd");
}
