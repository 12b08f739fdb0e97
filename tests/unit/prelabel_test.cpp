// Model pre-labels (issue 17, docs/QUALITY.md "Model pre-labels"): the queue of frames with
// pending predictions, the accept transform, and the report of accepted unchanged, edited,
// rejected and pending predictions from histories written as serve.py writes them.
#include "polymark/prelabel.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace pm;

namespace {

Object prediction(const std::string& id, const std::string& label, long long frame, std::optional<double> score,
                  double x = 0) {
    Object o;
    o.id = id;
    o.type = ShapeType::Rectangle;
    o.label = label;
    o.frame = frame;
    o.points = {x, 0, x + 10, 10};
    o.source = Source::Model;
    o.score = score;
    return o;
}

Track model_track(const std::string& id, const std::string& label, std::vector<std::pair<long long, double>> frames_and_scores) {
    Track t;
    t.id = id;
    t.type = ShapeType::Rectangle;
    t.label = label;
    t.source = Source::Model;
    for (auto [frame, score] : frames_and_scores) {
        Keyframe k;
        k.id = id + "k" + std::to_string(frame);
        k.frame = frame;
        k.points = {0, 0, 10, 10};
        k.source = Source::Model;
        k.score = score;
        t.keyframes.push_back(k);
    }
    return t;
}

// A history as serve.py's GET /api/tasks/{id}/history replies, with each create's and update's
// `value` and each delete's `was`.
struct History {
    Json entries = Json::array();
    int revision = 0;
    void add(const char* op, const Json& item, const char* user, const char* kind = "object") {
        ++revision;
        Json e = {{"revision", revision}, {"op_id", "op" + std::to_string(revision)}, {"kind", kind},
                  {"id", item["id"]}, {"op", op}, {"user", user}, {"device", "d1"}, {"role", "labeler"},
                  {"stage", "annotation"}, {"at", "2026-12-07T10:00:" + std::string(revision < 10 ? "0" : "") + std::to_string(revision) + ".000Z"},
                  {"base_revision", revision - 1}};
        e[std::string(op) == "delete" ? "was" : "value"] = item;
        entries.push_back(e);
    }
    void create(const Object& o, const char* user = "importer") { add("create", object_to_json(o), user); }
    void update(const Object& o, const char* user = "ana") { add("update", object_to_json(o), user); }
    void remove(const Object& o, const char* user = "ana") { add("delete", object_to_json(o), user); }
    Json reply() const { return {{"entries", entries}}; }
};

PrelabelReport report_of(const History& h, const Document& now, PrelabelOptions options = {}) {
    auto entries = history_value_entries_from_json(h.reply());
    REQUIRE(entries);
    auto r = prelabel_report(entries.value(), now, options);
    REQUIRE(r);
    return r.value();
}

Error first_error_of(const Json& reply, PrelabelOptions options = {}) {
    auto entries = history_value_entries_from_json(reply);
    if (!entries) return entries.first_error();
    auto r = prelabel_report(entries.value(), Document{}, options);
    REQUIRE_FALSE(r);
    return r.first_error();
}

PredictionOutcome outcome_of(const PrelabelReport& r, const std::string& id) {
    for (const PredictionResult& p : r.predictions)
        if (p.id == id) return p.outcome;
    FAIL("no prediction " << id);
    return PredictionOutcome::Pending;
}

}  // namespace

TEST_CASE("the objects list notes a pending prediction with its score, and nothing else", "[prelabel]") {
    CHECK(prediction_note(prediction("p", "car", 0, 0.4249)) == "  model 0.42");
    CHECK(prediction_note(prediction("p", "car", 0, 0.426)) == "  model 0.43");
    CHECK(prediction_note(prediction("p", "car", 0, std::nullopt)) == "  model");
    CHECK(prediction_note(prediction("p", "car", 0, 0.05)) == "  model 0.05");
    CHECK(prediction_note(prediction("p", "car", 0, 1.0)) == "  model 1.00");
    CHECK(prediction_note(accepted(prediction("p", "car", 0, 0.9))) == "");
    Object auto_made = prediction("a", "car", 0, 0.5);
    auto_made.source = Source::Auto;
    CHECK(prediction_note(auto_made) == "");
}

TEST_CASE("the queue lists frames lowest score first, ties by frame, a prediction without a score as 0", "[prelabel]") {
    Document doc;
    Object person = prediction("manual", "car", 1, std::nullopt);
    person.source = Source::Manual;
    doc.objects = {prediction("a", "car", 5, 0.9), prediction("b", "car", 5, 0.4), prediction("c", "car", 2, 0.4),
                   prediction("d", "car", 7, std::nullopt), prediction("e", "car", 3, 0.0), person,
                   accepted(prediction("done", "car", 0, 0.01))};
    auto q = prediction_queue(doc);
    REQUIRE(q.size() == 4);
    CHECK(q[0].frame == 3);  // 0.0 ties with frame 7's no-score prediction (ranked 0): frame order
    CHECK(q[0].lowest_score == 0.0);
    CHECK(q[1].frame == 7);
    CHECK_FALSE(q[1].lowest_score);
    CHECK(q[2].frame == 2);
    CHECK(q[2].lowest_score == 0.4);
    CHECK(q[3].frame == 5);
    CHECK(q[3].lowest_score == 0.4);
    CHECK(q[3].count == 2);
    CHECK(q[3].ids == std::vector<std::string>{"b", "a"});
}

TEST_CASE("a frame's lowest score is none when one of its predictions has no score", "[prelabel]") {
    Document doc;
    doc.objects = {prediction("a", "car", 4, 0.0), prediction("b", "car", 4, std::nullopt),
                   prediction("c", "car", 4, std::numeric_limits<double>::quiet_NaN())};
    auto q = prediction_queue(doc);
    REQUIRE(q.size() == 1);
    CHECK_FALSE(q[0].lowest_score);
    CHECK(q[0].count == 3);
}

TEST_CASE("the queue puts a track's model keyframes on their frames, a model track without them on its first", "[prelabel]") {
    Document doc;
    Track mixed = model_track("t1", "car", {{2, 0.8}, {6, 0.3}, {9, 0.7}});
    mixed.source = Source::Manual;
    mixed.keyframes[2].source = Source::Manual;  // a person's keyframe: not a prediction
    Track whole = model_track("t2", "car", {{4, 0.5}, {8, 0.1}});
    for (Keyframe& k : whole.keyframes) k.source = Source::Manual;
    doc.tracks = {mixed, whole, accepted(model_track("t3", "car", {{1, 0.05}}))};
    auto q = prediction_queue(doc);
    REQUIRE(q.size() == 3);
    CHECK((q[0].frame == 6 && q[0].lowest_score == 0.3 && q[0].ids == std::vector<std::string>{"t1"}));
    CHECK((q[1].frame == 4 && q[1].lowest_score == 0.5 && q[1].ids == std::vector<std::string>{"t2"}));
    CHECK((q[2].frame == 2 && q[2].lowest_score == 0.8));
    CHECK(is_pending_prediction(mixed));
    CHECK_FALSE(is_pending_prediction(doc.tracks[2]));
}

TEST_CASE("accepting a prediction makes it a person's shape and keeps its score", "[prelabel]") {
    Object o = accepted(prediction("p", "car", 3, 0.42));
    CHECK(o.source == Source::Manual);
    CHECK(o.score == 0.42);
    CHECK_FALSE(is_pending_prediction(o));
    CHECK(object_from_json(object_to_json(o), "/o").value() == o);  // a manual shape with a score is valid
    Track t = accepted(model_track("t", "car", {{0, 0.6}, {5, 0.2}}));
    CHECK(t.source == Source::Manual);
    CHECK(t.keyframes[1].source == Source::Manual);
    CHECK(t.keyframes[1].score == 0.2);
    CHECK_FALSE(is_pending_prediction(t));
}

TEST_CASE("the report tells accepted unchanged, edited, rejected and pending apart in a realistic history", "[prelabel]") {
    History h;
    Object unchanged = prediction("p1", "car", 0, 0.95), moved = prediction("p2", "car", 0, 0.55, 20),
           wrong = prediction("p3", "person", 1, 0.2), untouched = prediction("p4", "person", 1, 0.35),
           nudged = prediction("p5", "car", 2, 0.6), regretted = prediction("p6", "car", 2, 0.7),
           relabelled = prediction("p7", "car", 3, 0.8);
    for (const Object& o : {unchanged, moved, wrong, untouched, nudged, regretted, relabelled}) h.create(o);
    Object mine = prediction("m1", "car", 0, std::nullopt);
    mine.source = Source::Manual;
    h.create(mine, "ana");

    h.update(accepted(unchanged));
    Object moved_now = accepted(moved);
    moved_now.points[0] += 3;
    h.update(moved_now);
    h.remove(wrong);
    Object nudged_now = nudged;  // a person moved it and left it a prediction
    nudged_now.points[2] += 1;
    h.update(nudged_now);
    h.update(accepted(regretted));
    h.remove(accepted(regretted));
    Object relabelled_now = accepted(relabelled);
    relabelled_now.label = "truck";
    h.update(relabelled_now);

    Document now;
    now.objects = {accepted(unchanged), moved_now, untouched, nudged_now, relabelled_now, mine};
    PrelabelReport r = report_of(h, now);
    CHECK(outcome_of(r, "p1") == PredictionOutcome::AcceptedUnchanged);
    CHECK(outcome_of(r, "p2") == PredictionOutcome::Edited);
    CHECK(outcome_of(r, "p3") == PredictionOutcome::Rejected);
    CHECK(outcome_of(r, "p4") == PredictionOutcome::Pending);
    CHECK(outcome_of(r, "p5") == PredictionOutcome::Edited);
    CHECK(outcome_of(r, "p6") == PredictionOutcome::Rejected);
    CHECK(outcome_of(r, "p7") == PredictionOutcome::Edited);
    CHECK(r.predictions.size() == 7);  // m1, a person's own shape, is no prediction
    CHECK(r.without_value == 0);
    CHECK((r.totals.accepted_unchanged == 1 && r.totals.edited == 3 && r.totals.rejected == 2 && r.totals.pending == 1));
    CHECK(r.totals.decided() == 6);
    CHECK(r.totals.acceptance_rate() == Approx(4.0 / 6));
    // Counted under the predicted label: p7 is a car that became a truck.
    CHECK(r.per_label.count("truck") == 0);
    CHECK((r.per_label["car"].edited == 3 && r.per_label["car"].rejected == 1 && r.per_label["car"].accepted_unchanged == 1));
    CHECK((r.per_label["person"].rejected == 1 && r.per_label["person"].pending == 1));
    CHECK_FALSE(r.per_label["person"].acceptance_rate().value() > 0);
}

TEST_CASE("an attribute a person changed makes an accepted prediction edited; the attributes' order does not", "[prelabel]") {
    History h;
    Object p = prediction("p", "car", 0, 0.5);
    p.attributes = {{"color", "red"}, {"parked", true}};
    h.create(p);
    Object q = prediction("q", "car", 0, 0.5);
    q.attributes = p.attributes;
    h.create(q);
    Object p_now = accepted(p);
    p_now.attributes[0].value = "blue";
    Object q_now = accepted(q);
    std::swap(q_now.attributes[0], q_now.attributes[1]);
    Document now;
    now.objects = {p_now, q_now};
    PrelabelReport r = report_of(h, now);
    CHECK(outcome_of(r, "p") == PredictionOutcome::Edited);
    CHECK(outcome_of(r, "q") == PredictionOutcome::AcceptedUnchanged);
}

TEST_CASE("a prediction missing from the current document counts as rejected", "[prelabel]") {
    History h;
    h.create(prediction("gone", "car", 0, 0.5));
    PrelabelReport r = report_of(h, Document{});
    CHECK(outcome_of(r, "gone") == PredictionOutcome::Rejected);
}

TEST_CASE("score bands: 0.3 in [0.3, 0.4), 1.0 in the last band, no score in none", "[prelabel]") {
    CHECK(score_band(0.0, 0.1) == 0);
    CHECK(score_band(0.3, 0.1) == 3);
    CHECK(score_band(0.29999, 0.1) == 2);
    CHECK(score_band(0.95, 0.1) == 9);
    CHECK(score_band(1.0, 0.1) == 9);
    CHECK(score_band(1.0, 0.3) == 3);  // [0, 0.3), [0.3, 0.6), [0.6, 0.9), [0.9, 1]
    CHECK(score_band(std::nullopt, 0.1) == -1);

    History h;
    h.create(prediction("sure", "car", 0, 1.0));
    h.create(prediction("edge", "car", 0, 0.3));
    h.create(prediction("blank", "car", 0, std::nullopt));
    Document now;
    now.objects = {accepted(prediction("sure", "car", 0, 1.0)), prediction("edge", "car", 0, 0.3),
                   prediction("blank", "car", 0, std::nullopt)};
    PrelabelReport r = report_of(h, now);
    CHECK(r.bands == 10);
    CHECK(r.per_band[9].accepted_unchanged == 1);
    CHECK(r.per_band[3].pending == 1);
    CHECK(r.per_band[-1].pending == 1);
    Json j = prelabel_report_to_json(r);
    CHECK(j["format"] == "polymark.prelabel-report");
    CHECK(j["version"] == 1);
    REQUIRE(j["bands"].size() == 11);
    CHECK(j["bands"][3]["band"] == "[0.3,0.4)");
    CHECK(j["bands"][3]["from"] == 0.3);
    CHECK(j["bands"][9]["band"] == "[0.9,1]");
    CHECK(j["bands"][9]["accepted_unchanged"] == 1);
    CHECK(j["bands"][10]["band"] == "none");
    CHECK(j["bands"][10]["pending"] == 1);
    CHECK(j["labels"][0]["label"] == "car");
    CHECK(j["labels"][0]["bands"].size() == 3);
    CHECK(j["totals"]["acceptance_rate"] == 1.0);

    PrelabelReport quarters = report_of(h, now, {0.25});
    CHECK(quarters.bands == 4);
    CHECK(quarters.per_band[1].pending == 1);  // 0.3 in [0.25, 0.5)
    CHECK(prelabel_report_to_json(quarters)["bands"][3]["band"] == "[0.75,1]");
}

TEST_CASE("a malformed or non-finite value is an error naming its pointer, not a crash", "[prelabel]") {
    History h;
    h.create(prediction("a", "car", 0, 0.5));
    h.create(prediction("b", "car", 0, 0.5));
    h.create(prediction("c", "car", 0, 0.5));
    h.create(prediction("d", "car", 0, 0.5));

    Json nan = h.reply();
    nan["entries"][3]["value"]["score"] = std::numeric_limits<double>::quiet_NaN();
    CHECK(first_error_of(nan).path == "/entries/3/value/score");
    Json inf = h.reply();
    inf["entries"][2]["value"]["score"] = std::numeric_limits<double>::infinity();
    CHECK(first_error_of(inf).path == "/entries/2/value/score");
    Json text_score = h.reply();
    text_score["entries"][1]["value"]["score"] = "high";
    CHECK(first_error_of(text_score).path == "/entries/1/value/score");
    Json not_an_item = h.reply();
    not_an_item["entries"][0]["value"] = "a box";
    CHECK(first_error_of(not_an_item).path == "/entries/0/value");
    Json bad_was = h.reply();
    bad_was["entries"].push_back(bad_was["entries"][0]);
    bad_was["entries"][4]["op"] = "delete";
    bad_was["entries"][4]["revision"] = 5;
    bad_was["entries"][4]["was"] = {{"id", "a"}, {"points", {1, 2}}};
    CHECK(first_error_of(bad_was).path.rfind("/entries/4/was", 0) == 0);
    Json bad_time = h.reply();
    bad_time["entries"][2]["at"] = 17;
    CHECK(first_error_of(bad_time).path == "/entries/2/at");
    CHECK(first_error_of(Json{{"entries", "none"}}).path == "/entries");
    CHECK(first_error_of(h.reply(), {0}).path == "band_width");
    CHECK(first_error_of(h.reply(), {std::numeric_limits<double>::quiet_NaN()}).path == "band_width");
}

TEST_CASE("a deleted and recreated id counts each life on its own", "[prelabel]") {
    History h;
    Object first = prediction("x", "car", 0, 0.4);
    h.create(first);
    h.remove(first);
    Object redrawn = prediction("x", "car", 0, std::nullopt, 50);  // a person's own box under the same id
    redrawn.source = Source::Manual;
    h.create(redrawn, "ana");
    Object again = prediction("y", "dog", 1, 0.9);
    h.create(again);
    h.remove(again);
    h.create(again);  // the model's prediction imported again, left pending
    Document now;
    now.objects = {redrawn, again};
    PrelabelReport r = report_of(h, now);
    REQUIRE(r.predictions.size() == 3);
    CHECK((r.predictions[0].id == "x" && r.predictions[0].outcome == PredictionOutcome::Rejected));
    CHECK((r.predictions[1].id == "y" && r.predictions[1].outcome == PredictionOutcome::Rejected));
    CHECK((r.predictions[2].id == "y" && r.predictions[2].outcome == PredictionOutcome::Pending));
    CHECK(r.per_label["car"].rejected == 1);
}

TEST_CASE("a delete met first counts by what it removed; an entry without a value is not guessed", "[prelabel]") {
    History h;
    h.remove(prediction("old", "car", 0, 0.15));  // its create lay before this page of history
    h.add("create", object_to_json(prediction("bare", "car", 0, 0.5)), "importer");
    h.entries.back().erase("value");  // as serve.py writes creates and updates today
    Document now;
    now.objects = {prediction("bare", "car", 0, 0.5)};
    PrelabelReport r = report_of(h, now);
    REQUIRE(r.predictions.size() == 1);
    CHECK(r.predictions[0].outcome == PredictionOutcome::Rejected);
    CHECK(r.per_band[1].rejected == 1);
    CHECK(r.without_value == 1);
    CHECK(prelabel_report_to_json(r)["without_value"] == 1);
}

TEST_CASE("tracks: accepted unchanged, a moved keyframe edited, banded by the lowest keyframe score", "[prelabel]") {
    History h;
    Track kept = model_track("t1", "car", {{0, 0.9}, {10, 0.25}});
    Track moved = model_track("t2", "car", {{0, 0.7}, {10, 0.65}});
    Track dropped = model_track("t3", "bike", {{0, 0.5}});
    for (const Track& t : {kept, moved, dropped}) h.add("create", track_to_json(t), "importer", "track");
    Track moved_now = accepted(moved);
    moved_now.keyframes[1].points[0] = 4;
    h.add("update", track_to_json(accepted(kept)), "ana", "track");
    h.add("update", track_to_json(moved_now), "ana", "track");
    h.add("delete", track_to_json(dropped), "ana", "track");
    Document now;
    now.tracks = {accepted(kept), moved_now};
    PrelabelReport r = report_of(h, now);
    CHECK(outcome_of(r, "t1") == PredictionOutcome::AcceptedUnchanged);
    CHECK(outcome_of(r, "t2") == PredictionOutcome::Edited);
    CHECK(outcome_of(r, "t3") == PredictionOutcome::Rejected);
    CHECK(r.per_band[2].accepted_unchanged == 1);  // t1's lowest keyframe score 0.25
    CHECK(r.per_band[6].edited == 1);              // t2's 0.65
    CHECK(r.per_label["bike"].rejected == 1);
}

TEST_CASE("history values keep each entry's pointer; throughput reads the same reply as before", "[prelabel]") {
    History h;
    h.create(prediction("a", "car", 0, 0.5));
    h.remove(prediction("a", "car", 0, 0.5));
    auto entries = history_value_entries_from_json(h.reply());
    REQUIRE(entries);
    REQUIRE(entries->size() == 2);
    CHECK(entries.value()[1].path == "/entries/1");
    CHECK(entries.value()[1].entry.op == "delete");
    CHECK(entries.value()[1].value.is_null());
    CHECK(entries.value()[1].was["id"] == "a");
    CHECK(entries.value()[0].value["score"] == 0.5);
    auto plain = history_value_entries_from_json(h.entries);
    REQUIRE(plain);
    CHECK(plain.value()[1].path == "/1");
    auto throughput = history_entries_from_json(h.reply());
    REQUIRE(throughput);
    CHECK(throughput_report(throughput.value(), {}).totals.created == 1);
}
