// Backend profiles: parsing (errors name the pointer), every transform both ways, the built-in
// profiles on payloads shaped like the peers' real ones, the requests they make, and (hidden,
// run by tests/backend/test_rest_profile.py) the `rest` profile against a live json-server.
// Fixture sources, checked for this test (facts only): Label Studio's tag docs
// (docs/source/tags/rectanglelabels.md: x, y are the top-left corner before rotation, 0-100;
// original_width/height in px; videorectangle.md) and its editor test data (a videorectangle
// `sequence` of {frame (1-based), enabled, rotation, x, y, width, height, time}, framesCount,
// duration); the notes in ../shared/notes/peers.md and cvat-interpolation.md (CVAT's job
// annotations envelope {version, tags, shapes, tracks}, shapes with label_id, points, rotation,
// z_order, attributes [{spec_id, value}] with string values, tracks with keyframe `shapes`).
#include "polymark/backend_profile.hpp"

#include <catch2/catch.hpp>

#include "http_client.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

using namespace pm;

namespace {

BackendProfile load_profile(const std::string& name) {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/" + name + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto p = parse_profile(ss.str());
    if (!p) FAIL(name << ": " << p.first_error().path << " " << p.first_error().message);
    return p.value();
}

bool near(double a, double b, double tol = 1e-9) { return std::fabs(a - b) <= tol; }

void require_points_near(const std::vector<double>& a, const std::vector<double>& b, double tol = 1e-9) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("coordinate " << i << ": " << a[i] << " vs " << b[i]);
        REQUIRE(near(a[i], b[i], tol));
    }
}

ProfileContext ls_context() {
    ProfileContext c;
    c.vars = {{"annotation", 7}, {"from_name", "label"}, {"to_name", "image"}, {"choice_from_name", "choice"}, {"fps", 25}};
    c.media = {{1, 1920, 1280}, {1051, 640, 360}};  // an image (frame 0), then a video (frames 1..1051)
    c.tables["labels"] = {{"car", "Car"}, {"roof", "Roof"}, {"night", "Night"}, {"ball", "Ball"}};
    c.token = "s3cret";
    return c;
}

ProfileContext cvat_context() {
    ProfileContext c;
    c.vars = {{"job", 42}};
    c.media = {{100, 1920, 1080}};
    c.tables["labels"] = {{"car", 5}, {"lane", 6}, {"night", 7}};
    c.tables["attributes"] = {{"make", 11}, {"moving", 12}, {"count", 13}};
    c.tables["ids"] = {{"r1", 901}, {"t1", 950}, {"t1.k0", 951}, {"t1.k5", 952}, {"n1", 960}};
    c.attribute_types = {{"make", "string"}, {"moving", "boolean"}, {"count", "number"}};
    c.token = "cvat-token";
    return c;
}

Object make_rect(const std::string& id, std::vector<double> pts, double rot) {
    Object o;
    o.id = id;
    o.type = ShapeType::Rectangle;
    o.label = "car";
    o.points = std::move(pts);
    o.rotation = rot;
    return o;
}

Object from_json_object(const BackendProfile& p, const ProfileContext& c, const Json& payload, const std::string& collection = "") {
    auto item = item_from_backend(p, c, payload, collection);
    if (!item) FAIL(item.first_error().code << " " << item.first_error().path << " " << item.first_error().message);
    REQUIRE(item->object);
    return *item->object;
}

}  // namespace

// [SECTION] Parsing

TEST_CASE("every built-in profile parses and states its guarantees", "[profile]") {
    for (const char* name : {"polymark", "cvat", "label-studio", "rest"}) {
        BackendProfile p = load_profile(name);
        CHECK(p.name == name);
        for (const Guarantee* g : {&p.conflicts, &p.deltas, &p.history, &p.revisions}) CHECK(!g->why.empty());
    }
    CHECK_FALSE(load_profile("polymark").last_writer_wins());
    CHECK(load_profile("rest").last_writer_wins());
    CHECK(load_profile("cvat").last_writer_wins());
    CHECK(load_profile("label-studio").last_writer_wins());
    CHECK_FALSE(load_profile("label-studio").deltas.kept);
}

TEST_CASE("malformed profiles are refused with the pointer of the defect", "[profile]") {
    auto first = [](const std::string& text) {
        auto p = parse_profile(text);
        REQUIRE_FALSE(p);
        return p.first_error();
    };
    std::string head = R"({"format":"polymark.backend-profile","version":1,"name":"x",
        "guarantees":{"conflicts":{"kept":false,"why":"a"},"deltas":{"kept":true,"why":"b"},"history":{"kept":false,"why":"c"},"revisions":{"kept":false,"why":"d"}},
        "load":{"method":"GET","path":"/db","items":[{"at":"/objects","collection":"objects"}]},
        "save":{"mode":"items","create":{"method":"POST","path":"/o"},"update":{"method":"PUT","path":"/o/{id}"},"delete":{"method":"DELETE","path":"/o/{id}"}},)";
    CHECK(parse_profile(head + R"("items":[]})"));
    CHECK(first(R"({"format":"polymark.annotations","version":1})").code == "wrong_format");
    CHECK(first(R"({"format":"polymark.backend-profile","version":2})").code == "unsupported_version");
    CHECK(first("{nope").code == "not_json");
    Error e = first(head + R"("items":[{"kind":"object","type":"rectangle","collection":"o","geometry":{"form":"flat","points":"/p"},
        "fields":[{"ours":"/frame","theirs":"/frame","transforms":[{"offset":1},{"sqrt":true}]}]}]})");
    CHECK(e.code == "bad_enum");
    CHECK(e.path == "/items/0/fields/0/transforms/1");
    e = first(head + R"("items":[{"kind":"object","type":"rectangle","collection":"o","geometry":{"form":"spline","points":"/p"}}]})");
    CHECK(e.path == "/items/0/geometry/form");
    e = first(head + R"("items":[{"kind":"object","type":"rectangle","collection":"o","geometry":{"form":"flat","points":"p"}}]})");
    CHECK(e.code == "bad_pointer");
    CHECK(e.path == "/items/0/geometry/points");
    e = first(R"({"format":"polymark.backend-profile","version":1,"name":"x","guarantees":{"conflicts":{"kept":false}}})");
    CHECK(e.code == "missing_key");
    CHECK(e.path == "/guarantees/conflicts/why");
    e = first(head + R"("items":[{"kind":"track","type":"rectangle","collection":"t","fields":[]}]})");
    CHECK(e.path == "/items/0/keyframes");
}

// [SECTION] Each transform alone, in a small profile written here

TEST_CASE("each transform inverts exactly, and bad payloads are named errors", "[profile][transform]") {
    auto p = parse_profile(R"({"format":"polymark.backend-profile","version":1,"name":"toy",
      "guarantees":{"conflicts":{"kept":false,"why":"a"},"deltas":{"kept":true,"why":"b"},"history":{"kept":false,"why":"c"},"revisions":{"kept":false,"why":"d"}},
      "load":{"method":"GET","path":"/all","items":[{"at":"/boxes","collection":"boxes"},{"at":"/lines","collection":"lines"}]},
      "save":{"mode":"items","create":{"method":"POST","path":"/{collection}"},"update":{"method":"PUT","path":"/{collection}/{id}"},"delete":{"method":"DELETE","path":"/{collection}/{id}"}},
      "items":[
        {"kind":"object","type":"rectangle","collection":"boxes","constants":{"/kind":"box"},
         "geometry":{"form":"xywh","box":"/bbox","rotation":"/angle"},
         "fields":[{"ours":"/id","theirs":"/key"},
                   {"ours":"/frame","theirs":"/frame_no","transforms":[{"offset":100}]},
                   {"ours":"/label","theirs":"/class","transforms":[{"lookup":"labels","missing":"keep"},{"wrap":true}]},
                   {"ours":"/occluded","theirs":"/visible","transforms":[{"not":true}],"absent":true},
                   {"ours":"/source","theirs":"/by","transforms":[{"map":{"manual":"human","auto":"model","imported":"file"}}],"absent":"human"},
                   {"ours":"/attributes","theirs":"/attrs","transforms":[{"attributes":"attributes","id_key":"name","value_key":"v"}],"absent":[]}]},
        {"kind":"object","type":"polyline","collection":"lines","constants":{"/kind":"line"},
         "geometry":{"form":"pairs","points":"/xy"},
         "fields":[{"ours":"/id","theirs":"/key"},{"ours":"/frame","theirs":"/frame_no","transforms":[{"offset":100}]},{"ours":"/label","theirs":"/class"}]}]})");
    REQUIRE(p);
    ProfileContext c;
    c.tables["labels"] = {{"car", 3}};
    Object o = make_rect("b1", {1.5, 2, 11.5, 22}, 45);
    o.frame = 7;
    o.occluded = true;
    o.source = Source::Auto;
    o.attributes = {{"make", "volvo"}, {"doors", 4}, {"new", false}};
    auto out = item_to_backend(p.value(), c, SyncKind::Object, object_to_json(o));
    REQUIRE(out);
    Json expect = Json::parse(R"({"kind":"box","bbox":{"x":1.5,"y":2,"width":10,"height":20},"angle":45,"key":"b1","frame_no":107,
        "class":[3],"visible":false,"by":"model","attrs":[{"name":"make","v":"volvo"},{"name":"doors","v":4},{"name":"new","v":false}]})");
    CHECK(nlohmann::json::parse(out.value().dump()) == nlohmann::json::parse(expect.dump()));
    CHECK(out.value()["frame_no"].is_number_integer());
    Object back = from_json_object(p.value(), c, out.value(), "boxes");
    CHECK(same_object(back, o));

    Object keep = o;
    keep.label = "van";  // not in the table, passed through by "missing": "keep"
    keep.occluded = false;
    keep.source = Source::Manual;
    auto kept = item_to_backend(p.value(), c, SyncKind::Object, object_to_json(keep));
    REQUIRE(kept);
    CHECK(kept.value()["class"] == Json::array({"van"}));
    CHECK(kept.value()["visible"] == true);
    CHECK(kept.value()["by"] == "human");
    CHECK(same_object(from_json_object(p.value(), c, kept.value()), keep));

    Object line;
    line.id = "l1";
    line.type = ShapeType::Polyline;
    line.label = "lane";
    line.points = {0, 1, 2, 3, 4, 5.25};
    auto lout = item_to_backend(p.value(), c, SyncKind::Object, object_to_json(line));
    REQUIRE(lout);
    CHECK(lout.value()["xy"] == Json::parse("[[0,1],[2,3],[4,5.25]]"));
    CHECK(same_object(from_json_object(p.value(), c, lout.value(), "lines"), line));

    Json bad = out.value();
    bad["class"] = Json::array({3, 4});
    auto e = item_from_backend(p.value(), c, bad);
    REQUIRE_FALSE(e);
    CHECK(e.first_error().code == "bad_payload");
    CHECK(e.first_error().path == "/class");
    bad = out.value();
    bad["bbox"]["width"] = "wide";
    e = item_from_backend(p.value(), c, bad);
    REQUIRE_FALSE(e);
    CHECK(e.first_error().code == "expected_number");
    CHECK(e.first_error().path == "/bbox/width");
    bad = lout.value();
    bad["xy"][1] = Json::array({1});
    e = item_from_backend(p.value(), c, bad);
    REQUIRE_FALSE(e);
    CHECK(e.first_error().code == "bad_points");
    CHECK(e.first_error().path == "/xy/1");
    e = item_from_backend(p.value(), c, Json::parse(R"({"kind":"circle"})"));
    REQUIRE_FALSE(e);
    CHECK(e.first_error().code == "unknown_item");
    Json all = {{"boxes", Json::array({out.value(), bad})}};
    auto doc = from_backend(p.value(), c, all);
    REQUIRE_FALSE(doc);
    CHECK(doc.first_error().path == "/boxes/1");
}

// [SECTION] Transforms, through Label Studio (percent, corner rotation, lookups, wrap, offsets)

TEST_CASE("percent to pixels and rotation about the top-left corner, hand-computed", "[profile][transform]") {
    BackendProfile ls = load_profile("label-studio");
    ProfileContext c = ls_context();
    c.media = {{1, 200, 100}};
    // Box [50,25,150,75] turned 90 degrees about its centre (100,50): the unrotated top-left
    // corner (-50,-25) from the centre goes to (25,-50), so the corner is (125, 0).
    auto out = item_to_backend(ls, c, SyncKind::Object, object_to_json(make_rect("r1", {50, 25, 150, 75}, 90)));
    REQUIRE(out);
    const Json& v = out.value()["value"];
    CHECK(near(v["x"].get<double>(), 62.5));
    CHECK(near(v["y"].get<double>(), 0));
    CHECK(near(v["width"].get<double>(), 50));
    CHECK(near(v["height"].get<double>(), 50));
    CHECK(v["rotation"].get<double>() == 90);
    CHECK(v["rectanglelabels"] == Json::array({"Car"}));
    CHECK(out.value()["original_width"] == 200);
    CHECK(out.value()["type"] == "rectanglelabels");
    CHECK(out.value()["id"] == "r1");
    Object back = from_json_object(ls, c, out.value());
    require_points_near(back.points, {50, 25, 150, 75});
    CHECK(back.rotation == 90);
    CHECK(back.label == "car");
}

TEST_CASE("a Label Studio rectangle result reads into pixels", "[profile][transform]") {
    // The rectanglelabels example of ../shared/notes/peers.md (shaped like a Label Studio export).
    Json r = Json::parse(R"({"id":"Dx_aB91ISN","from_name":"tag","to_name":"img","type":"rectanglelabels","origin":"manual",
        "original_width":1920,"original_height":1280,"image_rotation":0,
        "value":{"x":50.8,"y":5.87,"width":12.4,"height":10.46,"rotation":0,"rectanglelabels":["Car"]}})");
    ProfileContext c = ls_context();
    Object o = from_json_object(load_profile("label-studio"), c, r);
    CHECK(o.id == "Dx_aB91ISN");
    CHECK(o.label == "car");
    CHECK(o.frame == 0);
    require_points_near(o.points, {50.8 * 19.2, 5.87 * 12.8, (50.8 + 12.4) * 19.2, (5.87 + 10.46) * 12.8});
    auto out = item_to_backend(load_profile("label-studio"), c, SyncKind::Object, object_to_json(o));
    REQUIRE(out);
    for (const char* k : {"x", "y", "width", "height", "rotation"}) {
        INFO(k);
        CHECK(near(out.value()["value"][k].get<double>(), r["value"][k].get<double>()));
    }
    CHECK(out.value()["value"]["rectanglelabels"] == r["value"]["rectanglelabels"]);
    CHECK(out.value()["original_height"] == 1280);
}

TEST_CASE("polygon points as percent pairs and ellipses as centre and radii", "[profile][transform]") {
    BackendProfile ls = load_profile("label-studio");
    ProfileContext c = ls_context();
    Object p;
    p.id = "p1";
    p.type = ShapeType::Polygon;
    p.label = "roof";
    p.points = {19.2, 12.8, 96, 128, 1920, 1280};
    auto out = item_to_backend(ls, c, SyncKind::Object, object_to_json(p));
    REQUIRE(out);
    const Json& pts = out.value()["value"]["points"];
    REQUIRE(pts.size() == 3);
    CHECK(near(pts[0][0].get<double>(), 1));
    CHECK(near(pts[0][1].get<double>(), 1));
    CHECK(near(pts[1][0].get<double>(), 5));
    CHECK(near(pts[2][1].get<double>(), 100));
    CHECK(out.value()["value"]["closed"] == true);
    require_points_near(from_json_object(ls, c, out.value()).points, p.points);

    Object e;
    e.id = "e1";
    e.type = ShapeType::Ellipse;
    e.label = "ball";
    e.points = {96, 128, 288, 384};  // centre (192,256), radii 96, 128
    e.rotation = 30;
    out = item_to_backend(ls, c, SyncKind::Object, object_to_json(e));
    REQUIRE(out);
    CHECK(near(out.value()["value"]["x"].get<double>(), 10));
    CHECK(near(out.value()["value"]["y"].get<double>(), 20));
    CHECK(near(out.value()["value"]["radiusX"].get<double>(), 5));
    CHECK(near(out.value()["value"]["radiusY"].get<double>(), 10));
    Object eb = from_json_object(ls, c, out.value());
    require_points_near(eb.points, e.points);
    CHECK(eb.rotation == 30);
}

TEST_CASE("a Label Studio video rectangle: 1-based frames, enabled as not outside, time from fps", "[profile][transform]") {
    // The videorectangle example of ../shared/notes/peers.md: keyframes only, frame 1 and 25.
    Json r = Json::parse(R"({"id":"r1","type":"videorectangle","from_name":"box","to_name":"video","origin":"manual",
        "value":{"framesCount":1051,"duration":42.0086,"labels":["Car"],
        "sequence":[{"frame":1,"enabled":true,"x":16,"y":51,"width":30,"height":28,"rotation":0,"time":0.04},
                    {"frame":25,"enabled":false,"x":44.7,"y":51.5,"width":30.1,"height":28.8,"rotation":0,"time":1}]}})");
    BackendProfile ls = load_profile("label-studio");
    ProfileContext c = ls_context();
    c.media = {{1051, 640, 360}};
    auto item = item_from_backend(ls, c, r);
    REQUIRE(item);
    REQUIRE(item->track);
    const Track& t = *item->track;
    CHECK(t.label == "car");
    REQUIRE(t.keyframes.size() == 2);
    CHECK(t.keyframes[0].frame == 0);
    CHECK(t.keyframes[1].frame == 24);
    CHECK_FALSE(t.keyframes[0].outside);
    CHECK(t.keyframes[1].outside);
    CHECK(t.keyframes[1].id == "r1.k24");
    require_points_near(t.keyframes[0].points, {16 * 6.4, 51 * 3.6, 46 * 6.4, 79 * 3.6});

    auto out = item_to_backend(ls, c, SyncKind::Track, track_to_json(t));
    REQUIRE(out);
    const Json& seq = out.value()["value"]["sequence"];
    REQUIRE(seq.size() == 2);
    CHECK(seq[0]["frame"] == 1);
    CHECK(seq[1]["frame"] == 25);
    CHECK(seq[1]["enabled"] == false);
    CHECK(near(seq[0]["time"].get<double>(), 0.04));
    CHECK(near(seq[1]["time"].get<double>(), 1));
    CHECK(near(seq[1]["x"].get<double>(), 44.7));
    CHECK(near(seq[1]["height"].get<double>(), 28.8));
    CHECK(out.value()["value"]["framesCount"] == 1051);
}

TEST_CASE("what Label Studio cannot hold is a named error, not silent loss", "[profile]") {
    BackendProfile ls = load_profile("label-studio");
    ProfileContext c = ls_context();
    Track line;
    line.id = "l1";
    line.type = ShapeType::Polyline;
    line.label = "car";
    line.keyframes.push_back({"l1.k0", 0, {0, 0, 10, 10}, 0, false, false, 0, {}, Source::Manual, nullptr});
    auto r = item_to_backend(ls, c, SyncKind::Track, track_to_json(line));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "not_expressible");
    CHECK(r.first_error().path == "/value/type");

    Object z = make_rect("r2", {0, 0, 10, 10}, 0);
    z.z = 3;
    r = item_to_backend(ls, c, SyncKind::Object, object_to_json(z));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "not_expressible");
    CHECK(r.first_error().path == "/value/z");

    Object imported = make_rect("r3", {0, 0, 10, 10}, 0);
    imported.source = Source::Imported;
    r = item_to_backend(ls, c, SyncKind::Object, object_to_json(imported));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "not_expressible");

    Object unknown = make_rect("r4", {0, 0, 10, 10}, 0);
    unknown.label = "bicycle";
    r = item_to_backend(ls, c, SyncKind::Object, object_to_json(unknown));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "unknown_lookup");

    ProfileContext no_size = c;
    no_size.media.clear();
    r = item_to_backend(ls, no_size, SyncKind::Object, object_to_json(make_rect("r5", {0, 0, 10, 10}, 0)));
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "missing_media_size");
}

// [SECTION] CVAT: label and attribute ids, string attribute values, tracks

TEST_CASE("a CVAT job shape reads with label and attribute ids and writes back the same", "[profile][transform]") {
    Json shape = Json::parse(R"({"id":901,"type":"rectangle","frame":3,"label_id":5,"group":0,"source":"manual",
        "occluded":true,"outside":false,"z_order":2,"rotation":15.5,"points":[10.25,20,110,70.75],
        "attributes":[{"spec_id":11,"value":"volvo"},{"spec_id":12,"value":"true"},{"spec_id":13,"value":"2.5"}]})");
    BackendProfile cvat = load_profile("cvat");
    ProfileContext c = cvat_context();
    Object o = from_json_object(cvat, c, shape, "shapes");
    CHECK(o.id == "r1");
    CHECK(o.frame == 3);
    CHECK(o.label == "car");
    CHECK(o.occluded);
    CHECK(o.z == 2);
    CHECK(o.rotation == 15.5);
    require_points_near(o.points, {10.25, 20, 110, 70.75});
    REQUIRE(o.attributes.size() == 3);
    CHECK(o.attributes[0].value == "volvo");
    CHECK(o.attributes[1].value == true);
    CHECK(o.attributes[2].value == 2.5);

    auto out = item_to_backend(cvat, c, SyncKind::Object, object_to_json(o));
    REQUIRE(out);
    for (const char* k : {"id", "type", "frame", "label_id", "group", "source", "occluded", "outside", "z_order", "rotation", "points", "attributes"}) {
        INFO(k);
        CHECK(out.value()[k] == shape[k]);
    }
}

TEST_CASE("a CVAT track keeps keyframes, outside and mutable attributes", "[profile][transform]") {
    Json track = Json::parse(R"({"id":950,"frame":0,"label_id":5,"group":0,"source":"auto","attributes":[{"spec_id":11,"value":"saab"}],
        "shapes":[{"id":951,"type":"rectangle","frame":0,"outside":false,"occluded":false,"z_order":0,"rotation":0,
                   "points":[1,2,3,4],"attributes":[{"spec_id":12,"value":"false"}]},
                  {"id":952,"type":"rectangle","frame":5,"outside":true,"occluded":false,"z_order":1,"rotation":350,
                   "points":[5,6,7,8],"attributes":[]}]})");
    BackendProfile cvat = load_profile("cvat");
    ProfileContext c = cvat_context();
    auto item = item_from_backend(cvat, c, track, "tracks");
    REQUIRE(item);
    REQUIRE(item->track);
    const Track& t = *item->track;
    CHECK(t.id == "t1");
    CHECK(t.source == Source::Auto);
    CHECK(t.interpolation == Interpolation::Cvat);
    REQUIRE(t.keyframes.size() == 2);
    CHECK(t.keyframes[1].id == "t1.k5");
    CHECK(t.keyframes[1].outside);
    CHECK(t.keyframes[1].rotation == 350);
    CHECK(t.keyframes[0].attributes.at(0).value == false);
    auto out = item_to_backend(cvat, c, SyncKind::Track, track_to_json(t));
    REQUIRE(out);
    CHECK(nlohmann::json::parse(out.value().dump()) == nlohmann::json::parse(track.dump()));  // key order aside
}

TEST_CASE("round trips through cvat and label-studio are exact within 1e-9 px for every shape they hold", "[profile][transform]") {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> coord(-50, 2000), size(0, 900), angle(-720, 720);
    BackendProfile cvat = load_profile("cvat"), ls = load_profile("label-studio");
    ProfileContext cc = cvat_context(), lc = ls_context();
    for (int i = 0; i < 300; ++i) {
        double x = coord(rng), y = coord(rng), w = size(rng), h = size(rng), rot = angle(rng);
        for (ShapeType type : {ShapeType::Rectangle, ShapeType::Ellipse, ShapeType::Polygon, ShapeType::Polyline, ShapeType::Points}) {
            Object o;
            o.id = "n1";
            o.type = type;
            o.label = "car";
            if (type == ShapeType::Rectangle || type == ShapeType::Ellipse) {
                o.points = {x, y, x + w, y + h};
                o.rotation = rot;
            } else {
                o.points = {x, y, x + w, y, x + w / 2, y + h};
            }
            Json ours = object_to_json(o);
            auto c1 = item_to_backend(cvat, cc, SyncKind::Object, ours);
            INFO("cvat " << to_string(type) << " " << ours.dump());
            REQUIRE(c1);
            Object b1 = from_json_object(cvat, cc, c1.value());
            require_points_near(b1.points, o.points);
            CHECK(near(b1.rotation, o.rotation));
            if (type == ShapeType::Polyline || type == ShapeType::Points) continue;  // no Label Studio mapping
            auto l1 = item_to_backend(ls, lc, SyncKind::Object, ours);
            INFO("label-studio " << to_string(type));
            REQUIRE(l1);
            Object b2 = from_json_object(ls, lc, l1.value());
            require_points_near(b2.points, o.points);
            CHECK(near(b2.rotation, o.rotation, 1e-9));
        }
    }
}

// [SECTION] Requests

TEST_CASE("cvat requests: PATCH with action, the item in its collection, deletes by backend id", "[profile][request]") {
    BackendProfile cvat = load_profile("cvat");
    ProfileContext c = cvat_context();
    WireOp op{"dev-1", SyncKind::Object, SyncOpType::Update, "r1", object_to_json(make_rect("r1", {0, 0, 5, 5}, 0)), std::nullopt};
    auto req = to_backend(cvat, c, op);
    REQUIRE(req);
    CHECK(req->method == "PATCH");
    CHECK(req->path == "/api/jobs/42/annotations?action=update");
    CHECK(req->body["shapes"].size() == 1);
    CHECK(req->body["shapes"][0]["id"] == 901);
    CHECK(req->body["tags"].empty());
    REQUIRE(req->headers.size() == 2);
    CHECK(req->headers[0].second == "Token cvat-token");
    CHECK(req->redacted_headers()[0].second == "***");

    Object tag;
    tag.id = "n1";
    tag.type = ShapeType::Tag;
    tag.frame = 4;
    tag.label = "night";
    Json prev = object_to_json(tag);
    WireOp del{"dev-2", SyncKind::Object, SyncOpType::Delete, "n1", nullptr, std::nullopt};
    req = to_backend(cvat, c, del, &prev);
    REQUIRE(req);
    CHECK(req->path == "/api/jobs/42/annotations?action=delete");
    CHECK(req->body["tags"] == Json::parse(R"([{"id":960}])"));
    CHECK(req->body["shapes"].empty());
}

TEST_CASE("the polymark profile is the identity over the sync protocol", "[profile][request]") {
    BackendProfile pm = load_profile("polymark");
    ProfileContext c;
    c.vars = {{"task", "demo"}, {"revision", 12}, {"user", "ana"}, {"device", "tab-1"}};
    WireOp op{"tab-1-3", SyncKind::Object, SyncOpType::Create, "r1", object_to_json(make_rect("r1", {0, 0, 5, 5}, 10)), 2};
    auto req = to_backend(pm, c, op);
    REQUIRE(req);
    CHECK(req->method == "PATCH");
    CHECK(req->path == "/api/tasks/demo/annotations");
    CHECK(req->body["base_revision"] == 12);
    CHECK(req->body["operations"] == Json::array({wire_op_to_json(op)}));
    CHECK(req->headers.size() == 1);  // no token: no Authorization header at all

    Document doc;
    doc.objects.push_back(make_rect("r1", {0, 0, 5, 5}, 10));
    Json reply = {{"revision", 12}, {"document", document_to_json(doc)}};
    auto back = from_backend(pm, c, reply);
    REQUIRE(back);
    REQUIRE(back->objects.size() == 1);
    CHECK(same_object(back->objects[0], doc.objects[0]));
    CHECK(load_request(pm, c).path == "/api/tasks/demo/annotations");
}

TEST_CASE("label-studio saves the whole result array and loads it back", "[profile][request]") {
    BackendProfile ls = load_profile("label-studio");
    ProfileContext c = ls_context();
    c.media = {{1051, 640, 360}};  // a Label Studio task holds one media item: here a video
    Document doc;
    doc.objects.push_back(make_rect("r1", {10, 20, 110, 70}, 30));
    Object tag;
    tag.id = "n1";
    tag.type = ShapeType::Tag;
    tag.label = "night";
    doc.objects.push_back(tag);
    Track t;
    t.id = "v1";
    t.label = "car";
    t.interpolation = Interpolation::Cvat;
    t.keyframes.push_back({"v1.k0", 0, {10, 10, 50, 40}, 0, false, false, 0, {}, Source::Manual, nullptr});
    t.keyframes.push_back({"v1.k8", 8, {20, 10, 60, 40}, 5, true, false, 0, {}, Source::Manual, nullptr});
    doc.tracks.push_back(t);

    WireOp op{"x-1", SyncKind::Object, SyncOpType::Update, "r1", object_to_json(doc.objects[0]), std::nullopt};
    auto single = to_backend(ls, c, op);
    REQUIRE_FALSE(single);
    CHECK(single.first_error().code == "document_mode");

    auto req = document_to_backend(ls, c, doc);
    REQUIRE(req);
    CHECK(req->method == "PATCH");
    CHECK(req->path == "/api/annotations/7");
    REQUIRE(req->body["result"].size() == 3);
    CHECK(req->body["result"][1]["type"] == "choices");
    CHECK(req->body["result"][2]["value"]["sequence"][0]["frame"] == 1);  // Label Studio counts frames from 1
    auto back = from_backend(ls, c, req->body);
    REQUIRE(back);
    REQUIRE(back->objects.size() == 2);
    require_points_near(back->objects[0].points, doc.objects[0].points);
    CHECK(back->objects[1].label == "night");
    REQUIRE(back->tracks.size() == 1);
    require_points_near(back->tracks[0].keyframes[1].points, {20, 10, 60, 40});
    CHECK(back->tracks[0].keyframes[1].outside);
    CHECK(near(back->tracks[0].keyframes[1].rotation, 5));
}

TEST_CASE("rest requests address each item by collection and id", "[profile][request]") {
    BackendProfile rest = load_profile("rest");
    ProfileContext c;
    c.token = "abc";
    WireOp op{"d-1", SyncKind::Object, SyncOpType::Create, "r1", object_to_json(make_rect("r1", {0, 0, 5, 5}, 0)), std::nullopt};
    auto req = to_backend(rest, c, op);
    REQUIRE(req);
    CHECK(req->method == "POST");
    CHECK(req->path == "/objects");
    CHECK(req->body == op.value);
    op.op = SyncOpType::Update;
    CHECK(to_backend(rest, c, op)->path == "/objects/r1");
    WireOp del{"d-2", SyncKind::Track, SyncOpType::Delete, "t.1", nullptr, std::nullopt};
    req = to_backend(rest, c, del);
    REQUIRE(req);
    CHECK(req->method == "DELETE");
    CHECK(req->path == "/tracks/t.1");
    CHECK(req->body.is_null());
    CHECK(req->headers[0] == std::pair<std::string, std::string>{"Authorization", "Bearer abc"});
}

// [SECTION] The rest profile against a live json-server (tests/backend/test_rest_profile.py)

namespace {

struct Reply {
    int status = 0;
    std::string body;
};

// Plain HTTP/1.1 over a socket to 127.0.0.1 (http_client.hpp): enough for json-server.
Reply http(int port, const BackendRequest& req) {
    auto r = pm_test::http_request(port, req.method, req.path, req.headers, req.body.is_null() ? "" : req.body.dump());
    return Reply{r.status, r.body};
}

Document load_rest(int port, const BackendProfile& rest, const ProfileContext& c) {
    Reply r = http(port, load_request(rest, c));
    REQUIRE(r.status == 200);
    auto json = parse_json_text(r.body, "reply");
    REQUIRE(json);
    auto doc = from_backend(rest, c, json.value());
    if (!doc) FAIL(doc.first_error().path << " " << doc.first_error().message);
    return doc.value();
}

}  // namespace

TEST_CASE("the rest profile creates, updates and deletes items on a live json-server", "[.][json-server]") {
    const char* port_text = std::getenv("POLYMARK_JSON_SERVER_PORT");
    REQUIRE(port_text);
    int port = std::atoi(port_text);
    BackendProfile rest = load_profile("rest");
    ProfileContext c;
    c.token = "unused-by-json-server";

    Object r1 = make_rect("r1", {10.125, 20, 110, 70.5}, 33.25);
    r1.attributes.push_back({"make", "volvo"});
    r1.meta = Json{{"portal", {{"row", 4}}}};
    Object p1;
    p1.id = "p1";
    p1.type = ShapeType::Polygon;
    p1.frame = 2;
    p1.label = "roof";
    p1.points = {0, 0, 10, 0, 5, 8.660254037844386};
    Track t1;
    t1.id = "t1";
    t1.label = "car";
    t1.keyframes.push_back({"t1.k0", 0, {1, 2, 3, 4}, 0, false, false, 0, {}, Source::Manual, nullptr});
    t1.keyframes.push_back({"t1.k9", 9, {5, 6, 7, 8}, 10, true, true, 2, {}, Source::Auto, nullptr});

    int n = 0;
    auto send = [&](SyncKind kind, SyncOpType type, const std::string& id, Json value) {
        WireOp op{"dev-" + std::to_string(++n), kind, type, id, std::move(value), std::nullopt};
        auto req = to_backend(rest, c, op);
        if (!req) FAIL(req.first_error().message);
        Reply r = http(port, req.value());
        INFO(req->method << " " << req->path << " -> " << r.status << " " << r.body);
        REQUIRE(r.status >= 200);
        REQUIRE(r.status < 300);
    };
    send(SyncKind::Object, SyncOpType::Create, "r1", object_to_json(r1));
    send(SyncKind::Object, SyncOpType::Create, "p1", object_to_json(p1));
    send(SyncKind::Track, SyncOpType::Create, "t1", track_to_json(t1));
    Document doc = load_rest(port, rest, c);
    REQUIRE(doc.objects.size() == 2);
    REQUIRE(doc.tracks.size() == 1);
    CHECK(same_object(doc.objects[0], r1));
    CHECK(same_object(doc.objects[1], p1));
    CHECK(same_track(doc.tracks[0], t1));

    r1.points = {11, 21, 111, 71};
    r1.rotation = 0;
    t1.keyframes.pop_back();
    send(SyncKind::Object, SyncOpType::Update, "r1", object_to_json(r1));
    send(SyncKind::Track, SyncOpType::Update, "t1", track_to_json(t1));
    send(SyncKind::Object, SyncOpType::Delete, "p1", nullptr);
    doc = load_rest(port, rest, c);
    REQUIRE(doc.objects.size() == 1);
    CHECK(same_object(doc.objects[0], r1));
    REQUIRE(doc.tracks.size() == 1);
    CHECK(same_track(doc.tracks[0], t1));

    send(SyncKind::Track, SyncOpType::Delete, "t1", nullptr);
    doc = load_rest(port, rest, c);
    CHECK(doc.tracks.empty());
    CHECK(rest.last_writer_wins());
}
