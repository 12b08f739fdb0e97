// Quality measures of issue 17 against hand-computed values (docs/QUALITY.md): similarity per
// type, the assignment and its ties, golden comparison (valid, missing, extra, mislabelled, tracks
// with outside spans), consensus (groups, quorum, merged shapes, agreement) and throughput.
#include "polymark/assignment.hpp"
#include "polymark/quality.hpp"
#include "polymark/similarity.hpp"
#include "polymark/throughput.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

using namespace pm;

namespace {

Object box(const std::string& id, const std::string& label, double x1, double y1, double x2, double y2, double rotation = 0,
           long long frame = 0) {
    Object o;
    o.id = id;
    o.type = ShapeType::Rectangle;
    o.label = label;
    o.frame = frame;
    o.points = {x1, y1, x2, y2};
    o.rotation = rotation;
    return o;
}
Object shape(const std::string& id, ShapeType type, Points points, const std::string& label = "l", long long frame = 0) {
    Object o;
    o.id = id;
    o.type = type;
    o.label = label;
    o.frame = frame;
    o.points = std::move(points);
    return o;
}
double sim(const Object& a, const Object& b, const SimilarityOptions& so = {}) {
    auto s = shape_similarity(a, b, so);
    REQUIRE(s);
    return s.value();
}
Document doc_of(std::vector<Object> objects) {
    Document d;
    d.objects = std::move(objects);
    return d;
}
QualityOptions frames(std::vector<long long> f, double threshold = 0.5) {
    QualityOptions o;
    o.frames = std::move(f);
    o.threshold = threshold;
    return o;
}

const Points kL = {0, 0, 20, 0, 20, 10, 10, 10, 10, 20, 0, 20};          // concave, area 300
const Points kLTurned = {20, 20, 0, 20, 0, 10, 10, 10, 10, 0, 20, 0};    // kL turned 180 degrees about (10,10)
const Points kTouching = {0, 0, 10, 0, 10, 10, 20, 10, 20, 20, 10, 20, 10, 10, 0, 10};  // two squares meeting at (10,10)

}  // namespace

// [SECTION] Similarity

TEST_CASE("box IoU of axis-aligned boxes is intersection over union", "[quality]") {
    CHECK(sim(box("a", "l", 0, 0, 10, 10), box("b", "l", 5, 0, 15, 10)) == Approx(50.0 / 150));
    CHECK(sim(box("a", "l", 0, 0, 10, 10), box("b", "l", 10, 0, 20, 10)) == 0);  // touching edges
}

TEST_CASE("a square and the same square turned 45 degrees overlap by 1/sqrt(2)", "[quality]") {
    // Intersection: the regular octagon 100 (2 sqrt2 - 2); union 200 minus it.
    CHECK(sim(box("a", "l", 0, 0, 10, 10), box("b", "l", 0, 0, 10, 10, 45)) == Approx(1 / std::sqrt(2.0)).epsilon(1e-12));
}

TEST_CASE("a rectangle turned 90 degrees equals the upright one of swapped sides", "[quality]") {
    CHECK(sim(box("a", "l", 0, 0, 20, 10, 90), box("b", "l", 5, -5, 15, 15)) == Approx(1).epsilon(1e-12));
    CHECK(sim(box("a", "l", 0, 0, 10, 10, 90), box("b", "l", 0, 0, 10, 10)) == Approx(1).epsilon(1e-12));
    CHECK(sim(box("a", "l", 0, 0, 10, 10, 270), box("b", "l", 0, 0, 10, 10, -90)) == Approx(1).epsilon(1e-12));
}

TEST_CASE("concave polygons: an L against boxes and against itself turned", "[quality]") {
    CHECK(polygon_iou(kL, {0, 0, 20, 0, 20, 20, 0, 20}) == Approx(0.75));
    CHECK(polygon_iou(kL, {10, 10, 20, 10, 20, 20, 10, 20}) == Approx(0).margin(1e-12));  // the missing quadrant
    CHECK(polygon_iou(kL, {5, 5, 15, 5, 15, 15, 5, 15}) == Approx(75.0 / 325));
    CHECK(polygon_intersection_area(kL, kLTurned) == Approx(200));
    CHECK(polygon_iou(kL, kLTurned) == Approx(0.5));
    // Either orientation gives the same answer.
    Points reversed;
    for (size_t i = vertex_count(kL); i-- > 0;) { reversed.push_back(kL[2 * i]); reversed.push_back(kL[2 * i + 1]); }
    CHECK(polygon_iou(reversed, kLTurned) == Approx(0.5));
}

TEST_CASE("a self-touching polygon counts both of its parts", "[quality]") {
    CHECK(polygon_intersection_area(kTouching, {0, 0, 20, 0, 20, 20, 0, 20}) == Approx(200));
    CHECK(polygon_iou(kTouching, {0, 0, 20, 0, 20, 20, 0, 20}) == Approx(0.5));
    CHECK(polygon_iou(kTouching, {5, 5, 15, 5, 15, 15, 5, 15}) == Approx(50.0 / 250));
}

TEST_CASE("boxes, polygons and ellipses are comparable as regions", "[quality]") {
    CHECK(sim(box("a", "l", 0, 0, 10, 10), shape("t", ShapeType::Polygon, {0, 0, 10, 0, 0, 10})) == Approx(0.5));
    Object e = shape("e", ShapeType::Ellipse, {0, 0, 20, 20});
    // The ellipse is a 64-gon: area 32 r^2 sin(2 pi / 64).
    double area = 32 * 100 * std::sin(2 * 3.14159265358979323846 / 64);
    CHECK(region_area(e) == Approx(area));
    CHECK(sim(e, box("b", "l", 0, 0, 20, 20)) == Approx(area / 400));
    CHECK(sim(e, e) == Approx(1));
    // Points, polylines and regions are not comparable with each other.
    CHECK(sim(box("a", "l", 0, 0, 10, 10), shape("p", ShapeType::Points, {5, 5})) == 0);
    CHECK(sim(shape("p", ShapeType::Polyline, {0, 0, 10, 10}), shape("q", ShapeType::Polygon, {0, 0, 10, 0, 10, 10})) == 0);
}

TEST_CASE("points by OKS with sigma and the area of both sets' box, at least 32x32", "[quality]") {
    double denom = 2 * 1024 * (0.18 * 0.18);
    CHECK(sim(shape("a", ShapeType::Points, {0, 0}), shape("b", ShapeType::Points, {3, 4})) == Approx(std::exp(-25 / denom)));
    // Paired by distance whatever their order.
    CHECK(sim(shape("a", ShapeType::Points, {0, 0, 100, 0}), shape("b", ShapeType::Points, {100, 3, 0, 4})) ==
          Approx((std::exp(-16 / denom) + std::exp(-9 / denom)) / 2));
    // A point without a partner scores 0: over the larger count.
    CHECK(sim(shape("a", ShapeType::Points, {0, 0}), shape("b", ShapeType::Points, {0, 0, 50, 50})) == Approx(0.5));
    // A larger sigma forgives more.
    SimilarityOptions wide;
    wide.oks_sigma = 0.5;
    CHECK(sim(shape("a", ShapeType::Points, {0, 0}), shape("b", ShapeType::Points, {3, 4}), wide) == Approx(std::exp(-25 / (2 * 1024.0))));
}

TEST_CASE("polylines by the share of their length within the band of the other", "[quality]") {
    Object a = shape("a", ShapeType::Polyline, {0, 0, 100, 0});
    CHECK(sim(a, shape("b", ShapeType::Polyline, {0, 3, 100, 3})) == 1);
    CHECK(sim(a, shape("b", ShapeType::Polyline, {0, 10, 100, 10})) == 0);
    // a sampled every 2.5 px (41 samples): those with x <= 56 are within 5 px of b (x = 0 .. 55: 23);
    // b is all covered.
    CHECK(sim(a, shape("b", ShapeType::Polyline, {0, 0, 51, 0})) == Approx((23.0 / 41 * 100 + 51) / 151));
}

TEST_CASE("tags are alike only when their labels are", "[quality]") {
    Object t = shape("t", ShapeType::Tag, {}, "night");
    CHECK(sim(t, shape("u", ShapeType::Tag, {}, "night")) == 1);
    CHECK(sim(t, shape("u", ShapeType::Tag, {}, "day")) == 0);
}

TEST_CASE("NaN and infinite coordinates are errors, not numbers", "[quality]") {
    Object a = box("a", "l", 0, 0, 10, 10);
    Object b = box("b", "l", 0, 0, std::numeric_limits<double>::quiet_NaN(), 10);
    auto s = shape_similarity(a, b);
    REQUIRE_FALSE(s);
    CHECK(s.first_error().code == "bad_number");
    CHECK(s.first_error().path == "b");
    Object c = box("c", "l", 0, 0, 10, 10, std::numeric_limits<double>::infinity());
    CHECK_FALSE(shape_similarity(c, a));
    SimilarityOptions bad;
    bad.oks_sigma = 0;
    CHECK(shape_similarity(a, a, bad).first_error().code == "bad_option");
}

TEST_CASE("IoU properties: symmetric, 1 for identical, 0 for disjoint, in [0, 1]", "[quality]") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> pos(0, 100), size(1, 40), angle(0, 360);
    for (int i = 0; i < 300; ++i) {
        double x = pos(rng), y = pos(rng);
        Object a = box("a", "l", x, y, x + size(rng), y + size(rng), angle(rng));
        double u = pos(rng), v = pos(rng);
        Object b = box("b", "l", u, v, u + size(rng), v + size(rng), angle(rng));
        Object poly = shape("p", ShapeType::Polygon, kL);
        poly.points = translate(kL, {x - 10, y - 10});
        double ab = sim(a, b), ba = sim(b, a);
        CHECK(ab == Approx(ba).margin(1e-12));
        CHECK(ab >= 0);
        CHECK(ab <= 1);
        CHECK(sim(a, a) == Approx(1).epsilon(1e-12));
        CHECK(sim(a, poly) == Approx(sim(poly, a)).margin(1e-12));
        CHECK(sim(poly, poly) == Approx(1).epsilon(1e-12));
        Object far = b;
        far.points = translate(b.points, {1000, 1000});
        CHECK(sim(a, far) == 0);
    }
}

// [SECTION] Assignment

TEST_CASE("the assignment finds the least total cost", "[quality]") {
    std::vector<double> cost = {4, 1, 3, 2, 0, 5, 3, 2, 2};
    CHECK(assign_min_cost(cost, 3, 3) == std::vector<int>{1, 0, 2});
    // Rectangular both ways.
    CHECK(assign_min_cost({5, 1, 9, 2, 8, 7}, 2, 3) == std::vector<int>{1, 0});
    CHECK(assign_min_cost({5, 2, 1, 8, 9, 7}, 3, 2) == std::vector<int>{1, 0, -1});
    CHECK(assign_min_cost({}, 0, 3).empty());
    CHECK(assign_min_cost({}, 2, 0) == std::vector<int>{-1, -1});
}

TEST_CASE("assignment ties: with equal costs row i takes column i", "[quality]") {
    CHECK(assign_max_weight(std::vector<double>(9, 0.7), 3, 3) == std::vector<int>{0, 1, 2});
    CHECK(assign_max_weight(std::vector<double>(6, 1), 2, 3) == std::vector<int>{0, 1});
    CHECK(assign_max_weight(std::vector<double>(6, 1), 3, 2) == std::vector<int>{0, 1, -1});
}

TEST_CASE("the assignment agrees with trying every permutation", "[quality]") {
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> v(0, 9);
    for (int round = 0; round < 200; ++round) {
        size_t n = 1 + (size_t)(round % 6);
        std::vector<double> cost(n * n);
        for (double& c : cost) c = v(rng);
        std::vector<int> perm(n);
        std::iota(perm.begin(), perm.end(), 0);
        double best = 1e18;
        do {
            double s = 0;
            for (size_t i = 0; i < n; ++i) s += cost[i * n + (size_t)perm[i]];
            best = std::min(best, s);
        } while (std::next_permutation(perm.begin(), perm.end()));
        std::vector<int> got = assign_min_cost(cost, n, n);
        double s = 0;
        for (size_t i = 0; i < n; ++i) s += cost[i * n + (size_t)got[i]];
        CHECK(s == best);
    }
}

// [SECTION] Golden comparison

TEST_CASE("a job equal to the golden set is all valid", "[quality]") {
    Document gt = doc_of({box("g", "car", 0, 0, 10, 10)});
    QualityReport r = compare_with_golden(gt, gt, frames({0}));
    CHECK(r.totals.valid == 1);
    CHECK(*r.totals.accuracy() == 1);
    CHECK(*r.totals.precision() == 1);
    CHECK(*r.totals.recall() == 1);
    CHECK(r.low_overlap.empty());
}

TEST_CASE("empty frames have nothing to judge: counts 0, measures null", "[quality]") {
    QualityReport r = compare_with_golden(Document{}, Document{}, frames({0, 1}));
    CHECK(r.per_frame.size() == 2);
    CHECK(r.totals.gt == 0);
    CHECK_FALSE(r.totals.accuracy());
    CHECK_FALSE(r.totals.precision());
    CHECK_FALSE(r.totals.recall());
    Json j = quality_report_to_json(r);
    CHECK(j["summary"]["accuracy"].is_null());
    CHECK(j["frames"] == 2);
}

TEST_CASE("all missing: accuracy and recall 0, precision null", "[quality]") {
    Document gt = doc_of({box("a", "car", 0, 0, 10, 10), box("b", "car", 20, 0, 30, 10)});
    QualityReport r = compare_with_golden(gt, Document{}, frames({0}));
    CHECK(r.totals.missing == 2);
    CHECK(*r.totals.accuracy() == 0);
    CHECK(*r.totals.recall() == 0);
    CHECK_FALSE(r.totals.precision());
    CHECK(r.confusion["car"][""] == 2);
    CHECK(r.missing_ids == std::vector<std::string>{"0:a", "0:b"});
}

TEST_CASE("all extra: accuracy and precision 0, recall null", "[quality]") {
    Document job = doc_of({box("a", "car", 0, 0, 10, 10), box("b", "dog", 20, 0, 30, 10)});
    QualityReport r = compare_with_golden(Document{}, job, frames({0}));
    CHECK(r.totals.extra == 2);
    CHECK(*r.totals.accuracy() == 0);
    CHECK(*r.totals.precision() == 0);
    CHECK_FALSE(r.totals.recall());
    CHECK(r.confusion[""]["dog"] == 1);
}

TEST_CASE("a hand-scored frame: valid, low overlap, mislabelled, extra", "[quality]") {
    Document gt = doc_of({box("A", "car", 0, 0, 10, 10), box("B", "car", 20, 0, 30, 10), box("C", "person", 50, 50, 60, 60)});
    Document job = doc_of({box("a", "car", 0, 0, 10, 10), box("b", "car", 22, 0, 32, 10), box("c", "truck", 50, 50, 60, 60),
                           box("d", "person", 100, 100, 110, 110)});
    QualityReport r = compare_with_golden(gt, job, frames({0}));
    CHECK(r.totals.gt == 3);
    CHECK(r.totals.job == 4);
    CHECK(r.totals.valid == 2);
    CHECK(r.totals.extra == 1);
    CHECK(r.totals.missing == 0);
    CHECK(r.totals.mislabelled_gt == 1);
    // A mislabelled pair counts once on each side of the denominator: 2 / (3 + 4 - 2).
    CHECK(*r.totals.accuracy() == Approx(0.4));
    CHECK(*r.totals.precision() == Approx(0.5));
    CHECK(*r.totals.recall() == Approx(2.0 / 3));
    CHECK(r.per_label["car"].valid == 2);
    CHECK(*r.per_label["car"].accuracy() == 1);
    CHECK(r.per_label["person"].mislabelled_gt == 1);
    CHECK(r.per_label["person"].extra == 1);
    CHECK(*r.per_label["person"].accuracy() == 0);
    CHECK(r.per_label["truck"].mislabelled_job == 1);
    CHECK(r.confusion["person"]["truck"] == 1);
    CHECK(r.confusion["car"]["car"] == 2);
    CHECK(r.confusion[""]["person"] == 1);
    REQUIRE(r.low_overlap.size() == 1);  // b: IoU 80/120
    CHECK(r.low_overlap[0].job_id == "b");
    CHECK(r.low_overlap[0].similarity == Approx(80.0 / 120));
    // Above the threshold of 0.7, b no longer matches B: one more missing and one more extra.
    QualityReport strict = compare_with_golden(gt, job, frames({0}, 0.7));
    CHECK(strict.totals.valid == 1);
    CHECK(strict.totals.missing == 1);
    CHECK(strict.totals.extra == 2);
    Json j = quality_report_to_json(r);
    CHECK(j["format"] == "polymark.quality-report");
    CHECK(j["version"] == 1);
    CHECK(j["confusion"]["labels"] == Json::parse(R"(["car","person","truck",null])"));
    CHECK(j["confusion"]["rows"][1] == Json::parse("[0,0,1,0]"));  // person -> truck
    CHECK(j["confusion"]["rows"][3] == Json::parse("[0,1,0,0]"));  // none -> person (extra d)
    CHECK(j["mislabelled"].size() == 1);
}

TEST_CASE("the same-label match comes first, then the mislabelled ones", "[quality]") {
    // c (truck) overlaps C (car) better than c2 (car) does, yet C takes the car.
    Document gt = doc_of({box("C", "car", 0, 0, 10, 10)});
    Document job = doc_of({box("c", "truck", 0, 0, 10, 10), box("c2", "car", 1, 0, 11, 10)});
    QualityReport r = compare_with_golden(gt, job, frames({0}));
    CHECK(r.totals.valid == 1);
    CHECK(r.pairs[0].job_id == "c2");
    CHECK(r.totals.extra == 1);
}

TEST_CASE("attribute agreement: matched pairs whose attributes are all equal", "[quality]") {
    Object g1 = box("g1", "car", 0, 0, 10, 10), g2 = box("g2", "car", 20, 0, 30, 10);
    g1.attributes = {{"color", "red"}};
    g2.attributes = {{"color", "red"}, {"parked", true}};
    Object j1 = g1, j2 = g2;
    j1.id = "j1";
    j2.id = "j2";
    j2.attributes = {{"parked", true}, {"color", "blue"}};
    QualityReport r = compare_with_golden(doc_of({g1, g2}), doc_of({j1, j2}), frames({0}));
    CHECK(r.totals.attribute_pairs == 2);
    CHECK(r.totals.attribute_agreeing == 1);
    CHECK(*r.totals.attribute_agreement() == 0.5);
    CHECK(quality_report_to_json(r)["attribute_mismatches"][0]["gt"] == "g2");
}

TEST_CASE("ties in the assignment: identical shapes pair in document order", "[quality]") {
    Document gt = doc_of({box("g0", "car", 0, 0, 10, 10), box("g1", "car", 0, 0, 10, 10)});
    Document job = doc_of({box("j0", "car", 0, 0, 10, 10), box("j1", "car", 0, 0, 10, 10)});
    QualityReport r = compare_with_golden(gt, job, frames({0}));
    REQUIRE(r.pairs.size() == 2);
    CHECK(r.pairs[0].gt_id == "g0");
    CHECK(r.pairs[0].job_id == "j0");
    CHECK(r.pairs[1].job_id == "j1");
}

TEST_CASE("tracks are compared frame by frame; outside spans hold nothing", "[quality]") {
    Track t;
    t.id = "t";
    t.type = ShapeType::Rectangle;
    t.label = "car";
    auto key = [](const char* id, long long frame, Points points, bool outside) {
        Keyframe k;
        k.id = id;
        k.frame = frame;
        k.points = std::move(points);
        k.outside = outside;
        return k;
    };
    t.keyframes = {key("k0", 0, {0, 0, 10, 10}, false), key("k2", 2, {20, 0, 30, 10}, true), key("k4", 4, {40, 0, 50, 10}, false)};
    Document gt;
    gt.tracks = {t};
    // Frame 1 lies between 0 and the outside keyframe: interpolated, visible at [10,0,20,10].
    // Frame 2 and 3 are outside; the job's box on 2 is extra; the job has nothing on 4.
    Document job = doc_of({box("a", "car", 0, 0, 10, 10, 0, 0), box("b", "car", 10, 0, 20, 10, 0, 1), box("c", "car", 20, 0, 30, 10, 0, 2)});
    QualityReport r = compare_with_golden(gt, job, frames({0, 1, 2, 3, 4}));
    CHECK(r.totals.gt == 3);
    CHECK(r.totals.job == 3);
    CHECK(r.totals.valid == 2);
    CHECK(r.totals.missing == 1);
    CHECK(r.totals.extra == 1);
    CHECK(*r.totals.accuracy() == Approx(0.5));
    CHECK(r.missing_ids == std::vector<std::string>{"4:t"});
    CHECK(r.extra_ids == std::vector<std::string>{"2:c"});
    // Without frames given, every frame up to the last one used is compared.
    CHECK(compare_with_golden(gt, job, QualityOptions{}).per_frame.size() == 5);
}

TEST_CASE("a golden comparison refuses non-finite numbers and bad options", "[quality]") {
    Document bad = doc_of({box("x", "car", 0, 0, std::numeric_limits<double>::infinity(), 10)});
    auto r = quality_report(bad, Document{}, frames({0}));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "bad_number");
    CHECK(r.first_error().path == "gt/0/x");
    QualityOptions o = frames({0});
    o.threshold = std::numeric_limits<double>::quiet_NaN();
    CHECK(quality_report(Document{}, Document{}, o).first_error().code == "bad_option");
}

// [SECTION] Consensus

TEST_CASE("quorum is ceil(N q)", "[quality]") {
    CHECK(quorum_votes(5, 0.7) == 4);
    CHECK(quorum_votes(3, 0.5) == 2);
    CHECK(quorum_votes(3, 2.0 / 3) == 2);
    CHECK(quorum_votes(4, 0.5) == 2);
    CHECK(quorum_votes(3, 1) == 3);
    CHECK(quorum_votes(3, 0.01) == 1);
}

TEST_CASE("consensus of three: one group merged by averages and votes, a lone shape left out", "[quality]") {
    Object s0 = box("a0", "car", 0, 0, 10, 10), s1 = box("a1", "car", 0, 0, 12, 10), s2 = box("a2", "car", 0, 0, 14, 10);
    s0.attributes = {{"color", "red"}};
    s1.attributes = {{"color", "red"}};
    s2.attributes = {{"color", "blue"}};
    Object lone = box("z", "car", 100, 100, 110, 110);
    auto r = consensus({doc_of({s0}), doc_of({s1}), doc_of({s2, lone})}, ConsensusOptions{});
    REQUIRE(r);
    CHECK(r->quorum_votes == 2);
    REQUIRE(r->groups.size() == 2);
    const ConsensusGroup& g = r->groups[0];
    CHECK(g.members.size() == 3);
    CHECK(g.accepted);
    double p01 = 100.0 / 120, p02 = 100.0 / 140, p12 = 120.0 / 140;
    CHECK(g.agreement == Approx((p01 + p02 + p12) / 3));
    CHECK(g.members[0].agreement == Approx((p01 + p02) / 2));
    CHECK_FALSE(r->groups[1].accepted);
    CHECK(r->groups[1].agreement == 0);
    CHECK(*r->per_set[2] == Approx(((p02 + p12) / 2 + 0) / 2));
    CHECK(*r->job == Approx((p01 + p02 + p12) / 3 / 2));
    REQUIRE(r->merged.objects.size() == 1);
    const Object& m = r->merged.objects[0];
    CHECK(m.id == "consensus.0.0");
    CHECK(m.points == Points{0, 0, 12, 10});
    CHECK(m.label == "car");
    CHECK(m.attributes == std::vector<Attribute>{{"color", "red"}});
    CHECK(m.meta["consensus"]["members"].size() == 3);
    CHECK(m.meta["consensus"]["members"][2] == Json{{"set", 2}, {"id", "a2"}});
    // The merged document is a valid document.
    CHECK(document_from_json(document_to_json(r->merged)));
    Json j = consensus_report_to_json(r.value(), {"ana", "bob", "eve"});
    CHECK(j["format"] == "polymark.consensus-report");
    CHECK(j["sets"][0]["name"] == "ana");
    CHECK(j["job"]["merged"] == 1);
}

TEST_CASE("consensus agreement per label: each group counts under its members' voted label", "[quality]") {
    // Frame 0: three cars that agree fully. Frame 1: a person two sets drew alike and a third
    // called a car (so the group is a person's, with less agreement), and a lone person.
    Object c = box("c", "car", 0, 0, 10, 10);
    Object p = box("p", "person", 0, 0, 10, 10, 0, 1), p_car = box("pc", "car", 0, 0, 10, 10, 0, 1);
    Object lone = box("l", "person", 50, 50, 60, 60, 0, 1);
    auto r = consensus({doc_of({c, p}), doc_of({c, p}), doc_of({c, p_car, lone})}, ConsensusOptions{});
    REQUIRE(r);
    Json j = consensus_report_to_json(r.value());
    REQUIRE(j["per_label"].size() == 2);
    CHECK(j["per_label"][0] == Json{{"label", "car"}, {"groups", 1}, {"merged", 1}, {"agreement", 1.0}});
    CHECK(j["per_label"][1]["label"] == "person");
    CHECK(j["per_label"][1]["groups"] == 2);
    CHECK(j["per_label"][1]["merged"] == 1);
    // The person group: one pair of three agrees (a car and a person score 0): 1/3; the lone one 0.
    CHECK(j["per_label"][1]["agreement"].get<double>() == Approx((1.0 / 3 + 0) / 2));
    CHECK(j["groups"][1]["label"] == "person");
}

TEST_CASE("consensus ties: labels go to the earliest set; rotations average on the circle", "[quality]") {
    Object a = box("a", "car", 0, 0, 10, 10, 350), b = box("b", "truck", 0, 0, 10, 10, 10);
    auto r = consensus({doc_of({a}), doc_of({b})}, ConsensusOptions{});
    REQUIRE(r);
    REQUIRE(r->merged.objects.size() == 1);  // quorum ceil(2 x 0.5) = 1
    CHECK(r->merged.objects[0].label == "car");
    CHECK(std::fmod(r->merged.objects[0].rotation + 180, 360) - 180 == Approx(0).margin(1e-9));
    // Different labels agree 0.
    CHECK(r->groups[0].agreement == 0);
}

TEST_CASE("consensus merges polygons by their medoid", "[quality]") {
    Object p0 = shape("p0", ShapeType::Polygon, {0, 0, 10, 0, 10, 10, 0, 10});
    Object p1 = shape("p1", ShapeType::Polygon, {1, 0, 11, 0, 11, 10, 1, 10});
    Object p2 = shape("p2", ShapeType::Polygon, {2, 0, 12, 0, 12, 10, 2, 10});
    auto r = consensus({doc_of({p0}), doc_of({p1}), doc_of({p2})}, ConsensusOptions{});
    REQUIRE(r);
    REQUIRE(r->merged.objects.size() == 1);
    CHECK(r->merged.objects[0].points == p1.points);
    CHECK(r->merged.objects[0].type == ShapeType::Polygon);
}

TEST_CASE("consensus needs two sets and a quorum in (0, 1]", "[quality]") {
    CHECK(consensus({Document{}}, ConsensusOptions{}).first_error().code == "too_few_sets");
    ConsensusOptions o;
    o.quorum = 0;
    CHECK(consensus({Document{}, Document{}}, o).first_error().code == "bad_option");
    auto empty = consensus({Document{}, Document{}}, ConsensusOptions{});
    REQUIRE(empty);
    CHECK_FALSE(empty->job);
}

// [SECTION] Throughput

TEST_CASE("history times are ISO 8601 UTC; anything else is refused", "[quality]") {
    CHECK(parse_utc_time("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_utc_time("1970-01-01T00:00:01.5Z") == 1500);
    CHECK(parse_utc_time("2026-12-07T06:23:23.123Z") == int64_t(1796624603123));
    CHECK(parse_utc_time("1970-01-01T01:00:00+01:00") == 0);
    CHECK(parse_utc_time("2024-02-29T00:00:00Z"));
    CHECK_FALSE(parse_utc_time("2023-02-29T00:00:00Z"));
    CHECK_FALSE(parse_utc_time("2026-12-07T24:00:00Z"));
    CHECK_FALSE(parse_utc_time("2026-12-07T06:23:23"));
    CHECK_FALSE(parse_utc_time("2026-12-07 06:23:23Z"));
    CHECK_FALSE(parse_utc_time("2026-12-07T06:23:23.Z"));
    CHECK_FALSE(parse_utc_time(""));
    CHECK(utc_day(*parse_utc_time("2026-12-07T23:59:59.999Z")) == "2026-12-07");
    CHECK(utc_day(-1) == "1969-12-31");
}

TEST_CASE("a bad time in the history is an error naming the entry", "[quality]") {
    Json reply = {{"entries", {{{"revision", 1}, {"op", "create"}, {"kind", "object"}, {"id", "o1"}, {"user", "ana"}, {"at", "2026-12-07T06:00:00.000Z"}},
                               {{"revision", 2}, {"op", "update"}, {"kind", "object"}, {"id", "o1"}, {"user", "ana"}, {"at", "yesterday"}}}}};
    auto e = history_entries_from_json(reply);
    REQUIRE_FALSE(e);
    CHECK(e.first_error().code == "bad_time");
    CHECK(e.first_error().path == "/entries/1/at");
}

TEST_CASE("throughput: active time skips gaps over 100 s; rates, time per object and frame, first pass", "[quality]") {
    auto entry = [](int64_t rev, const char* op, const char* id, const char* user, int64_t s) {
        HistoryEntry h;
        h.revision = rev;
        h.op = op;
        h.kind = "object";
        h.id = id;
        h.user = user;
        h.at_ms = *parse_utc_time("2026-12-07T10:00:00Z") + s * 1000;
        return h;
    };
    std::vector<HistoryEntry> entries = {entry(1, "create", "o1", "ana", 0), entry(2, "update", "o1", "ana", 30),
                                         entry(4, "update", "o2", "ana", 250), entry(3, "create", "o2", "ana", 200),
                                         entry(5, "create", "o3", "bob", 40)};
    Decision d1, d2, d3, d4;
    d1.item = "o1"; d1.verdict = Verdict::Rejected;
    d2.item = "o1"; d2.verdict = Verdict::Accepted;
    d3.item = "o2"; d3.verdict = Verdict::Accepted;
    d4.item = "o3"; d4.verdict = Verdict::Rejected;
    Document doc = doc_of({box("o1", "car", 0, 0, 1, 1, 0, 3), box("o2", "car", 0, 0, 1, 1, 0, 3)});
    ThroughputReport r = throughput_report(entries, {d1, d2, d3, d4}, &doc);
    const ThroughputCounts& ana = r.per_user["ana"];
    CHECK(ana.created == 2);
    CHECK(ana.edited == 2);
    CHECK(ana.active_s == Approx(80));  // 30 + (170: a break) + 50
    CHECK(*ana.objects_per_hour() == Approx(4 / (80.0 / 3600)));
    CHECK(*ana.seconds_per_object() == Approx(40));
    CHECK(ana.frames_touched == 1);
    CHECK(*ana.seconds_per_frame() == Approx(80));
    CHECK(ana.judged == 2);
    CHECK(*ana.first_pass_acceptance() == Approx(0.5));
    const ThroughputCounts& bob = r.per_user["bob"];
    CHECK(bob.active_s == 0);
    CHECK_FALSE(bob.objects_per_hour());
    CHECK(*bob.first_pass_acceptance() == 0);
    CHECK(r.per_user_day["ana"].count("2026-12-07") == 1);
    Json j = throughput_report_to_json(r);
    CHECK(j["format"] == "polymark.throughput-report");
    CHECK(j["users"][0]["user"] == "ana");
    CHECK(j["users"][1]["objects_per_hour"].is_null());
}

TEST_CASE("throughput: a gap across midnight counts on the later day", "[quality]") {
    HistoryEntry a, b;
    a.op = b.op = "update";
    a.kind = b.kind = "object";
    a.id = b.id = "o";
    a.user = b.user = "ana";
    a.at_ms = *parse_utc_time("2026-12-07T23:59:30Z");
    b.at_ms = *parse_utc_time("2026-12-08T00:00:20Z");
    ThroughputReport r = throughput_report({a, b}, {});
    CHECK(r.per_user_day["ana"]["2026-12-07"].active_s == 0);
    CHECK(r.per_user_day["ana"]["2026-12-08"].active_s == Approx(50));
    CHECK(r.per_user["ana"].edited == 2);
}
