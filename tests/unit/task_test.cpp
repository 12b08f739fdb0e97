#include "polymark/task.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace pm;
namespace fs = std::filesystem;

static const fs::path kTaskData = fs::path(POLYMARK_SOURCE_DIR) / "tests/data/task";

static std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

static const char* kTask = R"({"format":"polymark.task","version":1,"id":"demo","name":"Demo",
  "media":[{"id":"a","type":"image","url":"/media/demo/a.png","width":512,"height":512},
           {"id":"v","type":"video","url":"/media/demo/v.mp4","frames":90,"fps":30},
           {"id":"b","type":"image","url":"/media/demo/b.jpg"}],
  "labels":[{"id":"cat","name":"Cat","color":"#e6194b","types":["rectangle","polygon"],
             "attributes":[{"id":"pose","type":"select","values":["sitting","lying"],"default":"lying"},
                           {"id":"visible","type":"checkbox","mutable":true},
                           {"id":"age","type":"number","min":0,"max":30,"step":0.5}]},
            {"id":"dog","name":"Собака 狗"}],
  "settings":{"clamp":"clamp"}})";

TEST_CASE("a task concatenates its media into one frame sequence") {
    auto t = parse_task(kTask);
    if (!t.ok()) FAIL(t.first_error().message);
    CHECK(t->frame_count() == 92);
    auto f0 = t->locate_frame(0), f1 = t->locate_frame(1), f90 = t->locate_frame(90), f91 = t->locate_frame(91);
    REQUIRE(f0);
    CHECK(f0->media_index == 0);
    CHECK(f1->media_index == 1);
    CHECK(f1->local_frame == 0);
    CHECK(f90->local_frame == 89);
    CHECK(f91->media_index == 2);
    CHECK_FALSE(t->locate_frame(92));
    CHECK_FALSE(t->locate_frame(-1));
    CHECK(t->clamp == ClampMode::Clamp);
}

TEST_CASE("a frame's medium is the span of its video or image") {
    auto t = parse_task(kTask);
    REQUIRE(t.ok());
    auto span = [&](long long f) { MediumSpan m = t->medium_of(f); return std::make_pair(m.first, m.end); };
    CHECK(span(0) == std::make_pair(0LL, 1LL));
    CHECK(span(1) == std::make_pair(1LL, 91LL));
    CHECK(span(90) == std::make_pair(1LL, 91LL));
    CHECK(span(91) == std::make_pair(91LL, 92LL));
    CHECK(t->medium_of(92).first == MediumSpan{}.first);  // in no medium: every frame
    CHECK(t->medium_of(-1).end == MediumSpan{}.end);
}

TEST_CASE("a track whose keyframes lie in two media is refused against the task") {
    auto t = parse_task(kTask);
    REQUIRE(t.ok());
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,"objects":[],
      "tracks":[{"id":"in_video","type":"rectangle","label":"dog","keyframes":[{"id":"a1","frame":1,"points":[0,0,1,1]},{"id":"a2","frame":90,"points":[0,0,1,1]}]},
                {"id":"across","type":"rectangle","label":"dog","keyframes":[{"id":"b1","frame":0,"points":[0,0,1,1]},{"id":"b2","frame":5,"points":[0,0,1,1]},
                                                                            {"id":"b3","frame":91,"points":[0,0,1,1]}]},
                {"id":"one_image","type":"rectangle","label":"dog","keyframes":[{"id":"c1","frame":91,"points":[0,0,1,1]}]}]})");
    REQUIRE(doc.ok());
    Errors errors = check_document_against_task(doc.value(), t.value());
    std::vector<std::string> got;
    for (const Error& e : errors) got.push_back(e.code + " " + e.path);
    CHECK(got == std::vector<std::string>{"track_crosses_media /tracks/1/keyframes/1/frame", "track_crosses_media /tracks/1/keyframes/2/frame"});
}

TEST_CASE("label specs keep names in any script and fill attribute defaults") {
    auto t = parse_task(kTask);
    REQUIRE(t.ok());
    CHECK(t->find_label("dog")->name == "Собака 狗");
    const LabelSpec* cat = t->find_label("cat");
    REQUIRE(cat->attributes.size() == 3);
    CHECK(cat->attributes[0].default_value == "lying");
    CHECK(cat->attributes[1].default_value == false);
    CHECK(cat->attributes[1].mutable_);
    CHECK(cat->attributes[2].default_value == 0.0);
}

TEST_CASE("task errors name the json pointer of the bad value") {
    auto bad = parse_task(R"({"format":"polymark.task","version":1,"id":"t","media":[
        {"id":"a","type":"image","url":"x.png","width":"wide"}]})");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.first_error().code == "expected_integer");
    CHECK(bad.first_error().path == "/media/0/width");

    auto empty = parse_task(R"({"format":"polymark.task","version":1,"id":"t","media":[]})");
    CHECK(empty.first_error().code == "out_of_range");
    CHECK(empty.first_error().path == "/media");

    auto both = parse_task(R"({"format":"polymark.task","version":1,"id":"t","media":[{"id":"a","type":"image"}]})");
    CHECK(both.first_error().code == "missing_key");

    auto default_off = parse_task(R"({"format":"polymark.task","version":1,"id":"t","media":[{"id":"a","type":"image","url":"a"}],
        "labels":[{"id":"l","attributes":[{"id":"s","type":"select","values":["x"],"default":"y"}]}]})");
    CHECK(default_off.first_error().code == "bad_attribute");
    CHECK(default_off.first_error().path == "/labels/0/attributes/0/default");
}

TEST_CASE("a document is checked against the task's labels, attributes and frames") {
    auto t = parse_task(kTask);
    REQUIRE(t.ok());
    auto doc = parse_document(R"({"format":"polymark.annotations","version":1,
      "objects":[{"id":"o1","type":"rectangle","frame":0,"label":"cat","points":[0,0,1,1],"attributes":{"pose":"sitting","age":3}},
                 {"id":"o2","type":"ellipse","frame":0,"label":"cat","points":[0,0,1,1]},
                 {"id":"o3","type":"rectangle","frame":92,"label":"horse","points":[0,0,1,1]},
                 {"id":"o4","type":"polygon","frame":1,"label":"cat","points":[0,0,1,1,1,0],"attributes":{"age":31}}],
      "tracks":[{"id":"t1","type":"rectangle","label":"cat","attributes":{"visible":true},
                 "keyframes":[{"id":"k1","frame":1,"points":[0,0,1,1],"attributes":{"pose":"lying"}}]}]})");
    REQUIRE(doc.ok());
    Errors errors = check_document_against_task(doc.value(), t.value());
    std::vector<std::string> got;
    for (const Error& e : errors) got.push_back(e.code + " " + e.path);
    CHECK(got == std::vector<std::string>{
        "type_not_allowed /objects/1/type",
        "unknown_label /objects/2/label",
        "out_of_range /objects/2/frame",
        "bad_attribute /objects/3/attributes/age",
        "attribute_mutability /tracks/0/attributes/visible",
        "attribute_mutability /tracks/0/keyframes/0/attributes/pose"});
}

TEST_CASE("every golden valid task parses") {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(kTaskData / "valid")) {
        if (entry.path().extension() != ".json") continue;
        ++count;
        INFO(entry.path().filename().string());
        auto task = parse_task(read_text(entry.path()));
        if (!task.ok()) FAIL(task.first_error().code + " at " + task.first_error().path + ": " + task.first_error().message);
    }
    CHECK(count >= 4);
}

TEST_CASE("every golden invalid task fails first with its expected code and pointer") {
    Json expectations = Json::parse(read_text(kTaskData / "invalid/expectations.json"));
    REQUIRE(expectations.size() >= 30);
    for (auto it = expectations.begin(); it != expectations.end(); ++it) {
        INFO(it.key());
        auto task = parse_task(read_text(kTaskData / "invalid" / it.key()));
        REQUIRE_FALSE(task.ok());
        CHECK(task.first_error().code == it.value()["code"].get<std::string>());
        CHECK(task.first_error().path == it.value()["path"].get<std::string>());
    }
}
