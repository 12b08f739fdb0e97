// The quality measures as one JSON call (shared/polymark/quality_wire.hpp): what the manager view's
// module answers. The measures themselves are proven in quality_test.cpp; here the call's inputs,
// per-labeler splits and errors with their pointers.
#include "polymark/quality_wire.hpp"

#include <catch2/catch.hpp>

using namespace pm;

namespace {

Json box(const std::string& id, const std::string& label, long long frame, double x1, double y1, double x2, double y2) {
    return Json{{"id", id}, {"type", "rectangle"}, {"label", label}, {"frame", frame}, {"points", {x1, y1, x2, y2}}};
}
Json doc(Json objects) {
    return Json{{"format", "polymark.annotations"}, {"version", 1}, {"objects", std::move(objects)}, {"tracks", Json::array()}};
}

}  // namespace

TEST_CASE("a golden call scores the job and each labeler on their own golden frames", "[quality-wire]") {
    // Frames 0 and 5 are golden. Ana labelled frame 0 right; Ben missed frame 5's box and drew one
    // on frame 7, which is not golden and so does not count.
    Json gt = doc({box("g1", "car", 0, 0, 0, 10, 10), box("g2", "car", 5, 0, 0, 10, 10)});
    Json job = doc({box("a1", "car", 0, 0, 0, 10, 10), box("b1", "car", 7, 0, 0, 10, 10)});
    Json call{{"op", "golden"}, {"gt", gt}, {"job", job}, {"frames", {0, 5}},
              {"labelers", {{{"name", "ana"}, {"frames", {0, 1, 2, 3, 4}}}, {{"name", "ben"}, {"frames", {5, 6, 7, 8, 9}}},
                            {{"name", "cy"}, {"frames", {10, 11}}}}}};
    Json r = quality_call(call);
    REQUIRE_FALSE(r.contains("errors"));
    CHECK(r["report"]["summary"]["valid"] == 1);
    CHECK(r["report"]["summary"]["missing"] == 1);
    CHECK(r["report"]["summary"]["extra"] == 0);
    REQUIRE(r["labelers"].size() == 3);
    CHECK(r["labelers"][0]["frames"] == Json({0}));
    CHECK(r["labelers"][0]["report"]["summary"]["accuracy"] == 1.0);
    CHECK(r["labelers"][1]["frames"] == Json({5}));
    CHECK(r["labelers"][1]["report"]["summary"]["missing"] == 1);
    CHECK(r["labelers"][1]["report"]["summary"]["accuracy"] == 0.0);
    CHECK(r["labelers"][2]["report"].is_null());  // no golden frame in cy's job: no score at all
}

TEST_CASE("a consensus call answers the report and the merged document", "[quality-wire]") {
    Json a = doc({box("a", "car", 0, 0, 0, 10, 10)});
    Json b = doc({box("b", "car", 0, 0, 0, 12, 10)});
    Json c = doc({box("c", "car", 0, 0, 0, 10, 10), box("c2", "car", 0, 50, 50, 60, 60)});
    Json r = quality_call(Json{{"op", "consensus"}, {"sets", {a, b, c}}, {"names", {"t@r1", "t@r2", "t@r3"}}, {"quorum", 0.5}});
    REQUIRE_FALSE(r.contains("errors"));
    REQUIRE(r["report"]["sets"].size() == 3);
    CHECK(r["report"]["sets"][2]["name"] == "t@r3");
    REQUIRE(r["merged"]["objects"].size() == 1);  // the lone box of c is below the quorum of 2
    CHECK(r["merged"]["objects"][0]["label"] == "car");
}

TEST_CASE("throughput and pre-label calls read history replies and review replies", "[quality-wire]") {
    Json history{{"entries",
                  {{{"revision", 1}, {"op_id", "o1"}, {"kind", "object"}, {"id", "x"}, {"op", "create"}, {"user", "ana"}, {"at", "2026-01-01T10:00:00Z"}},
                   {{"revision", 2}, {"op_id", "o2"}, {"kind", "object"}, {"id", "y"}, {"op", "create"}, {"user", "ana"}, {"at", "2026-01-01T10:00:30Z"}}}}};
    Json review{{"changes", {{{"kind", "decision"}, {"id", "d1"},
                              {"value", {{"id", "d1"}, {"item", "x"}, {"verdict", "accepted"}, {"author", "rita"}, {"frame", 0}}}}}}};
    Json r = quality_call(Json{{"op", "throughput"}, {"history", history}, {"review", review}});
    REQUIRE_FALSE(r.contains("errors"));
    REQUIRE(r["report"]["users"].size() == 1);
    CHECK(r["report"]["users"][0]["user"] == "ana");
    CHECK(r["report"]["users"][0]["created"] == 2);
    CHECK(r["report"]["users"][0]["active_s"] == 30.0);

    Json p = quality_call(Json{{"op", "prelabels"}, {"history", Json{{"entries", Json::array()}}}, {"document", doc(Json::array())}});
    REQUIRE_FALSE(p.contains("errors"));
    CHECK(p["report"]["totals"]["predictions"] == 0);
}

TEST_CASE("a bad call answers errors with a pointer into the call, never throws", "[quality-wire]") {
    auto first_path = [](const Json& r) { return r["errors"][0]["path"].get<std::string>(); };
    Json gt = doc({box("g1", "car", 0, 0, 0, 10, 10)});
    Json nan_doc = doc({box("j1", "car", 0, 0, 0, 10, 10)});
    nan_doc["objects"][0]["points"][2] = "NaN";
    CHECK(first_path(quality_call(Json{{"op", "golden"}, {"gt", gt}, {"job", nan_doc}})).rfind("/job/objects/0/points", 0) == 0);
    CHECK(first_path(quality_call(Json{{"op", "golden"}, {"gt", gt}, {"job", gt}, {"threshold", 2}})) == "/threshold");
    CHECK(first_path(quality_call(Json{{"op", "golden"}, {"gt", gt}, {"job", gt}, {"frames", {0, -1}}})) == "/frames/1");
    CHECK(first_path(quality_call(Json{{"op", "consensus"}, {"sets", {gt}}})) == "/sets");
    CHECK(first_path(quality_call(Json{{"op", "consensus"}, {"sets", {gt, 3}}})).rfind("/sets/1", 0) == 0);
    CHECK(first_path(quality_call(Json{{"op", "throughput"}, {"history", {{"entries", {{{"at", "yesterday"}}}}}}})).rfind("/history/entries/0", 0) == 0);
    CHECK(first_path(quality_call(Json{{"op", "throughput"}, {"history", Json::array()}, {"review", "no"}})) == "/review");
    CHECK(first_path(quality_call(Json{{"op", "median"}})) == "/op");
    CHECK(first_path(quality_call(Json::array())) == "/op");
    Json text = Json::parse(quality_call_text("{\"op\": "));
    CHECK(text["errors"][0]["code"] == "bad_json");
}
