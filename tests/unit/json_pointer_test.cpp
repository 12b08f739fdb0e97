#include "polymark/json_pointer.hpp"

#include <catch2/catch.hpp>

using namespace pm;

TEST_CASE("json pointer tokens escape tilde before slash and read back to the same key") {
    CHECK(json_pointer_escape("a/b") == "a~1b");
    CHECK(json_pointer_escape("m~n") == "m~0n");
    CHECK(json_pointer_escape("~1") == "~01");  // not "~1": a key that looks escaped stays itself
    for (std::string key : {"", "a/b", "~", "~1", "/~0/", "é/~"}) {
        auto tokens = json_pointer_parse(json_pointer_append("", key));
        REQUIRE(tokens);
        CHECK(*tokens == std::vector<std::string>{key});
    }
}

TEST_CASE("json pointers join member names and array indices") {
    CHECK(json_pointer_append(json_pointer_append(json_pointer_append("", "objects"), 3), "attributes") == "/objects/3/attributes");
    CHECK(json_pointer_append("/objects/0/attributes", "a/b") == "/objects/0/attributes/a~1b");
    CHECK(json_pointer_append("", "") == "/");
}

TEST_CASE("json pointer parsing refuses what is not a pointer") {
    CHECK(json_pointer_parse("")->empty());
    CHECK(*json_pointer_parse("/") == std::vector<std::string>{""});
    CHECK(*json_pointer_parse("/a//b") == std::vector<std::string>{"a", "", "b"});
    CHECK_FALSE(json_pointer_parse("a"));
    CHECK_FALSE(json_pointer_parse("/a~"));
    CHECK_FALSE(json_pointer_parse("/a~2"));
}

TEST_CASE("json pointer array indices are plain decimal numbers") {
    CHECK(json_pointer_index("0") == size_t(0));
    CHECK(json_pointer_index("17") == size_t(17));
    CHECK_FALSE(json_pointer_index("01"));
    CHECK_FALSE(json_pointer_index("-"));
    CHECK_FALSE(json_pointer_index("1e2"));
    CHECK_FALSE(json_pointer_index(""));
    CHECK_FALSE(json_pointer_index("1234567890"));
}

TEST_CASE("json pointers find the value they name, or nothing") {
    Json j = Json::parse(R"({"a/b":{"~":[10,20,{"x":true}]},"":1})");
    CHECK(json_pointer_find(j, "") == &j);
    CHECK(*json_pointer_find(j, "/a~1b/~0/1") == 20);
    CHECK(*json_pointer_find(j, "/a~1b/~0/2/x") == true);
    CHECK(*json_pointer_find(j, "/") == 1);
    CHECK(json_pointer_find(j, "/a~1b/~0/3") == nullptr);
    CHECK(json_pointer_find(j, "/a~1b/~0/01") == nullptr);
    CHECK(json_pointer_find(j, "/a/b") == nullptr);
    CHECK(json_pointer_find(j, "/a~1b/~0/0/deeper") == nullptr);
    CHECK(json_pointer_find(j, "a~1b") == nullptr);
}

TEST_CASE("a json pointer is within another only at a token boundary") {
    CHECK(json_pointer_within("/changes/1/value", "/changes/1"));
    CHECK(json_pointer_within("/changes/1", "/changes/1"));
    CHECK_FALSE(json_pointer_within("/changes/10/value", "/changes/1"));
    CHECK(json_pointer_within("/anything", ""));
}
