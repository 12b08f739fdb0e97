// JsonStream: a JSON text walked and taken in pieces of any size, with parse_json_text's strictness.
#include "polymark/json_reader.hpp"
#include "polymark/json_stream.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>

using namespace pm;

namespace {

// A stream over `text` whose first `head` bytes are given and the rest handed out `piece` bytes at a time.
struct Pieces {
    std::string text;
    size_t at = 0, piece = 1;
    JsonStream stream(size_t head, size_t piece_size) {
        piece = piece_size;
        at = std::min(head, text.size());
        return JsonStream(std::string_view(text).substr(0, at), [this](char* out, size_t capacity) {
            size_t n = std::min({capacity, piece, text.size() - at});
            std::memcpy(out, text.data() + at, n);
            at += n;
            return n;
        }, "t.json", text.size());
    }
};

// The root object's members as key=value text, values taken whole, arrays walked element by element.
std::string walk(JsonStream& in) {
    std::string out;
    if (!in.begin_object()) return "error: " + in.error()->message;
    while (auto key = in.next_key()) {
        out += *key + "=";
        if (in.peek() == '[') {
            in.begin_array();
            while (in.next_element()) out += std::string(in.take_value()) + ";";
        } else {
            out += std::string(in.take_value());
        }
        out += "|";
    }
    if (in.error() || !in.finish()) return "error: " + in.error()->message;
    return out;
}

}  // namespace

TEST_CASE("a json text read in pieces of any size gives the same members and values as read whole") {
    Pieces p{R"( {"a" : [1, -2.5e3, "x\"y", {"k": [true, null]}],
  "b\u0041": {"deep": [[[]]], "s": "é→𝄞"}, "c": false , "d":[] } )"};
    JsonStream whole(p.text, nullptr, "t.json");
    std::string expected = walk(whole);
    CHECK(expected == R"(a=1;-2.5e3;"x\"y";{"k": [true, null]};|bA={"deep": [[[]]], "s": "é→𝄞"}|c=false|d=|)");
    for (size_t head : {0, 1, 7, 40})
        for (size_t piece : {1, 2, 3, 5, 64}) {
            JsonStream in = p.stream(head, piece);
            INFO("head " << head << ", piece " << piece);
            CHECK(walk(in) == expected);
            CHECK(in.fraction() == 1.0);
        }
}

TEST_CASE("a malformed json text read in pieces fails where parse_json_text fails, naming line and column") {
    struct Case { const char* text; const char* code; const char* where; };
    for (Case c : {Case{"{\"a\": [1,\n  2,,3]}", "not_json", "line 2, column 5"},
                   Case{"{\"a\": 01}", "not_json", "line 1, column 8"},
                   Case{"{\"a\": tru}", "not_json", "line 1"},
                   Case{"{\"a\": \"x\ty\"}", "not_json", "line 1"},
                   Case{"{\"a\": \"\\q\"}", "not_json", "line 1"},
                   Case{"{\"a\": 1,}", "not_json", "line 1"},
                   Case{"{\"a\": 1} x", "not_json", "line 1, column 10"},
                   Case{"{\"a\": [1, 2", "not_json", "line 1"},
                   Case{"{\"a\": \"\xC0\xAF\"}", "not_json", "UTF-8"}}) {
        INFO(c.text);
        REQUIRE_FALSE(parse_json_text(c.text, "t.json"));
        for (size_t piece : {1, 4, 100}) {
            Pieces p{c.text};
            JsonStream in = p.stream(0, piece);
            std::string out = walk(in);
            REQUIRE(in.error());
            CHECK(in.error()->code == c.code);
            CHECK(in.error()->message.find(c.where) != std::string::npos);
        }
    }
}

TEST_CASE("a json text nested past the depth limit is refused, one within it read") {
    std::string within = "{\"a\":" + std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']') + "}";
    std::string past = "{\"a\":" + std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']') + "}";
    JsonStream ok(within, nullptr, "t.json");
    CHECK(walk(ok).rfind("a=", 0) == 0);
    JsonStream deep(past, nullptr, "t.json");
    walk(deep);
    REQUIRE(deep.error());
    CHECK(deep.error()->code == "too_deep");
    JsonStream bom("\xEF\xBB\xBF{}", nullptr, "t.json");
    CHECK_FALSE(bom.begin_object());
    CHECK(bom.error()->message.find("byte order mark") != std::string::npos);
}

TEST_CASE("json number tokens read as parse_json_text reads them, bit for bit") {
    std::vector<std::string> tokens = {"0", "-0", "-0.0", "12", "-12", "1.5", "0.1", "123.45", "1e3", "1E-3", "2.5e+10",
                                       "9007199254740993", "123456789012345678", "1234567890123456789", "18446744073709551616",
                                       "0.30000000000000004", "4.9406564584124654e-320", "1.7976931348623157e308", "3.14159265358979323846"};
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        char text[64];
        std::snprintf(text, sizeof text, "%.*f", int(rng() % 6), double(int64_t(rng() % 2000000) - 1000000) / double(1 + rng() % 1000));
        tokens.push_back(text);
        std::snprintf(text, sizeof text, "%.17g", std::ldexp(double(rng() >> 11), int(rng() % 200) - 100));
        tokens.push_back(text);
    }
    for (const std::string& t : tokens) {
        INFO(t);
        auto parsed = parse_json_text(t, "n");
        double mine = 0;
        if (!parsed) continue;
        if (!json_number_value(t, mine)) continue;  // refused: the careful reader then decides
        double theirs = parsed.value().get<double>();
        CHECK(std::memcmp(&mine, &theirs, sizeof mine) == 0);
    }
    double v;
    CHECK_FALSE(json_number_value("1e400", v));
    CHECK(json_number_value("1e22", v));
    CHECK(v == 1e22);
}

TEST_CASE("a json text that ends inside its first piece's last value is read whole") {
    for (const char* text : {"2", "[1,2]", "\"ab\"", "true", "{\"a\":1}"}) {
        Pieces p{text};
        JsonStream in = p.stream(std::string(text).size(), 1);  // all given at first; more says "end"
        INFO(text);
        CHECK(in.take_value() == text);
        CHECK(in.finish());
    }
}
