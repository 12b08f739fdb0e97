// Review items, jobs, the reviewer's walk, changes since the last review, and the sync engine
// saving review items to /review (docs/SCHEMA.md section 13).
#include "polymark/review.hpp"
#include "polymark/sync.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace pm;

namespace {

Json issue_json(const std::string& id, long long frame = 0, const char* status = "open") {
    return Json{{"id", id}, {"frame", frame}, {"points", {1, 2, 30, 40}}, {"status", status}, {"item", "car"}, {"author", "rita"}};
}
Json comment_json(const std::string& id, const std::string& issue, const std::string& text, const std::string& author = "ana") {
    return Json{{"id", id}, {"issue", issue}, {"text", text}, {"author", author}};
}
Json decision_json(const std::string& id, const std::string& item, const char* verdict) {
    return Json{{"id", id}, {"item", item}, {"frame", 3}, {"verdict", verdict}, {"reason", "loose"}, {"revision", 7}, {"author", "rita"}};
}
ReviewStamp at(int64_t revision, const std::string& user = "rita") { return {revision, user, "reviewer", "2026-12-07T10:00:00.000Z"}; }

}  // namespace

TEST_CASE("review items read back exactly what they wrote", "[review]") {
    auto i = issue_from_json(issue_json("i1"), "");
    REQUIRE(i);
    CHECK(i->is_box());
    CHECK(issue_to_json(i.value()) == issue_json("i1"));
    auto point = issue_from_json(Json{{"id", "p"}, {"frame", 2}, {"points", {5.5, 6}}, {"status", "resolved"}, {"author", "a"}}, "");
    REQUIRE(point);
    CHECK_FALSE(point->is_box());
    CHECK(point->status == IssueStatus::Resolved);
    auto c = comment_from_json(comment_json("c1", "i1", "the box cuts the mirror"), "");
    REQUIRE(c);
    CHECK(comment_to_json(c.value()) == comment_json("c1", "i1", "the box cuts the mirror"));
    auto d = decision_from_json(decision_json("d1", "car", "rejected"), "");
    REQUIRE(d);
    CHECK(d->verdict == Verdict::Rejected);
    CHECK(d->revision == 7);
    CHECK(decision_to_json(d.value()) == decision_json("d1", "car", "rejected"));
}

TEST_CASE("a bad review value is refused with the code and pointer the server gives", "[review]") {
    auto first = [](const Expected<Issue>& r) { return std::make_pair(r.first_error().code, r.first_error().path); };
    Json box = issue_json("i1");
    box["points"] = {30, 2, 1, 40};
    CHECK(first(issue_from_json(box, "/value")) == std::make_pair(std::string("bad_box"), std::string("/value/points")));
    Json three = issue_json("i1");
    three["points"] = {1, 2, 3};
    CHECK(first(issue_from_json(three, "/value")).first == "bad_points");
    Json extra = issue_json("i1");
    extra["colour"] = "red";
    CHECK(first(issue_from_json(extra, "/value")) == std::make_pair(std::string("unknown_key"), std::string("/value/colour")));
    Json status = issue_json("i1");
    status["status"] = "maybe";
    CHECK(first(issue_from_json(status, "/value")).first == "bad_enum");
    Json no_author = issue_json("i1");
    no_author.erase("author");
    CHECK(first(issue_from_json(no_author, "/value")) == std::make_pair(std::string("missing_key"), std::string("/value/author")));
    auto long_text = comment_from_json(comment_json("c", "i1", std::string(kMaxReviewText + 1, 'x')), "/value");
    REQUIRE_FALSE(long_text);
    CHECK(long_text.first_error().code == "out_of_range");
    CHECK(comment_from_json(comment_json("c", "i1", std::string(kMaxReviewText, 'x')), ""));
    CHECK_FALSE(comment_from_json(comment_json("c", "i1", ""), ""));
    CHECK_FALSE(decision_from_json(decision_json("d", "bad id!", "accepted"), ""));
    CHECK(check_review_value(ReviewKind::Decision, decision_json("d", "car", "maybe"), "/v")->path == "/v/verdict");
}

TEST_CASE("the board keeps threads in the order the server applied them, local writes last", "[review]") {
    ReviewBoard b;
    REQUIRE(b.apply(ReviewKind::Issue, "i1", issue_json("i1", 4), at(3)).value());
    REQUIRE(b.apply(ReviewKind::Comment, "c-z", comment_json("c-z", "i1", "first"), at(3)));
    REQUIRE(b.apply(ReviewKind::Comment, "c-a", comment_json("c-a", "i1", "mine, not saved yet"), at(0, "ana")));
    REQUIRE(b.apply(ReviewKind::Comment, "c-m", comment_json("c-m", "i1", "second"), at(5)));
    REQUIRE(b.apply(ReviewKind::Comment, "c-0", comment_json("c-0", "i1", "mine too"), at(0, "ana")));
    std::vector<std::string> texts;
    for (const Comment* c : b.thread("i1")) texts.push_back(c->text);
    CHECK(texts == std::vector<std::string>{"first", "second", "mine, not saved yet", "mine too"});
    // The same value again changes nothing; a bad one changes nothing and says why.
    CHECK_FALSE(b.apply(ReviewKind::Issue, "i1", issue_json("i1", 4), at(3)).value());
    auto bad = b.apply(ReviewKind::Issue, "i1", Json{{"id", "i1"}}, at(9));
    REQUIRE_FALSE(bad);
    CHECK(b.issue("i1")->frame == 4);
    // Resolving and deleting.
    CHECK(b.open_issues(0, std::nullopt).size() == 1);
    CHECK(b.open_issues(5, 9).empty());
    REQUIRE(b.apply(ReviewKind::Issue, "i1", issue_json("i1", 4, "resolved"), at(8)).value());
    CHECK(b.open_issues(0, std::nullopt).empty());
    CHECK(b.stamp("i1")->revision == 8);
    REQUIRE(b.apply(ReviewKind::Comment, "c-z", std::nullopt, at(9)).value());
    CHECK(b.thread("i1").size() == 3);
    CHECK(b.comment("c-z") == nullptr);
}

TEST_CASE("an item's verdict is its latest decision", "[review]") {
    ReviewBoard b;
    REQUIRE(b.apply(ReviewKind::Decision, "d2", decision_json("d2", "car", "accepted"), at(9)));
    REQUIRE(b.apply(ReviewKind::Decision, "d1", decision_json("d1", "car", "rejected"), at(4)));
    REQUIRE(b.apply(ReviewKind::Decision, "d3", decision_json("d3", "bus", "rejected"), at(5)));
    CHECK(b.decisions_on("car").size() == 2);
    CHECK(b.verdict_on("car")->verdict == Verdict::Accepted);
    CHECK(b.verdict_on("bus")->verdict == Verdict::Rejected);
    CHECK(b.verdict_on("tram") == nullptr);
    CHECK(b.issues_on(3).empty());
    auto all = b.verdicts();  // the same, for every item at once
    REQUIRE(all.size() == 2);
    CHECK(all.at("car")->id == "d2");
    CHECK(all.at("bus")->id == "d3");
}

TEST_CASE("jobs are read from the server's reply in frame order", "[review]") {
    Json reply = Json::parse(R"({"revision": 4, "jobs": [
        {"id": 3, "start_frame": 50, "stop_frame": null, "stage": "review", "assignee": "ana", "reviewer": null,
         "reviewed_revision": 2, "open_issues": 1, "events": []},
        {"id": 2, "start_frame": 0, "stop_frame": 49, "stage": "annotation", "assignee": null, "reviewer": "rita",
         "reviewed_revision": null, "open_issues": 0, "events": []}]})");
    auto jobs = jobs_from_json(reply);
    REQUIRE(jobs);
    REQUIRE(jobs->size() == 2);
    CHECK(jobs->at(0).id == 2);
    CHECK(jobs->at(0).stop_frame == 49);
    CHECK(jobs->at(0).reviewer == "rita");
    CHECK(jobs->at(1).stage == JobStage::Review);
    CHECK_FALSE(jobs->at(1).stop_frame);
    CHECK(jobs->at(1).reviewed_revision == 2);
    CHECK(job_at(jobs.value(), 49)->id == 2);
    CHECK(job_at(jobs.value(), 5000)->id == 3);
    reply["jobs"][0]["stage"] = "sleeping";
    CHECK_FALSE(jobs_from_json(reply));
    CHECK_FALSE(jobs_from_json(Json::parse(R"({"revision": 1})")));
}

TEST_CASE("a reviewer walks a job's objects and tracks in frame order", "[review]") {
    Document doc;
    auto object = [](const std::string& id, long long frame) {
        Object o;
        o.id = id;
        o.frame = frame;
        o.label = "car";
        o.points = {0, 0, 1, 1};
        return o;
    };
    doc.objects = {object("late", 7), object("early", 2), object("outside", 20), object("also-early", 2)};
    Track t;
    t.id = "walker";
    t.label = "person";
    for (long long f : {1, 5, 30}) {
        Keyframe k;
        k.id = "walker." + std::to_string(f);
        k.frame = f;
        k.points = {0, 0, 1, 1};
        t.keyframes.push_back(k);
    }
    Track gone = t;
    gone.id = "gone";
    for (Keyframe& k : gone.keyframes) k.frame += 100, k.id += "g";
    doc.tracks = {t, gone};
    Job job;
    job.start_frame = 2;
    job.stop_frame = 10;
    std::vector<std::pair<std::string, long long>> walk;
    for (const ReviewStop& s : review_stops(doc, job)) walk.emplace_back(s.id, s.frame);
    CHECK(walk == std::vector<std::pair<std::string, long long>>{{"early", 2}, {"also-early", 2}, {"walker", 5}, {"late", 7}});
}

TEST_CASE("changes since the last review mark new, edited and deleted items", "[review]") {
    Json history = Json::parse(R"({"entries": [
        {"revision": 5, "kind": "object", "id": "fresh", "op": "create", "user": "ana"},
        {"revision": 5, "kind": "object", "id": "moved", "op": "update", "user": "ana"},
        {"revision": 6, "kind": "object", "id": "fresh", "op": "update", "user": "bo"},
        {"revision": 6, "kind": "track", "id": "gone", "op": "delete", "user": "ana"},
        {"revision": 7, "kind": "object", "id": "blip", "op": "create", "user": "ana"},
        {"revision": 8, "kind": "object", "id": "blip", "op": "delete", "user": "ana"},
        {"revision": 8, "kind": "object", "id": "undone", "op": "delete", "user": "ana"},
        {"revision": 9, "kind": "object", "id": "undone", "op": "create", "user": "ana"},
        {"revision": 9, "kind": "issue", "id": "i1", "op": "create", "user": "rita"},
        {"revision": 9, "kind": "document", "id": "", "op": "replace", "user": "mia"}]})");
    auto marks = changes_since_review(history);
    REQUIRE(marks);
    std::map<std::string, std::pair<ChangeMark, std::string>> got;
    for (const auto& [id, c] : marks.value()) got[id] = {c.mark, c.user};
    CHECK(got == std::map<std::string, std::pair<ChangeMark, std::string>>{
                     {"fresh", {ChangeMark::New, "bo"}}, {"moved", {ChangeMark::Edited, "ana"}},
                     {"gone", {ChangeMark::Deleted, "ana"}}, {"undone", {ChangeMark::Edited, "ana"}}});
    CHECK_FALSE(changes_since_review(Json::parse(R"({"items": []})")));
}

TEST_CASE("deleted items come back as a document of their last values, to draw where they were", "[review]") {
    Json history = Json::parse(R"({"entries": [
        {"revision": 5, "kind": "object", "id": "box", "op": "delete", "user": "ana",
         "was": {"id": "box", "type": "rectangle", "frame": 2, "label": "car", "points": [1, 2, 3, 4]}},
        {"revision": 5, "kind": "track", "id": "walker", "op": "delete", "user": "ana",
         "was": {"id": "walker", "type": "rectangle", "label": "person",
                 "keyframes": [{"id": "k1", "frame": 0, "points": [0, 0, 10, 10]}, {"id": "k2", "frame": 4, "points": [4, 0, 14, 10]}]}},
        {"revision": 6, "kind": "object", "id": "old", "op": "delete", "user": "bo"},
        {"revision": 6, "kind": "object", "id": "broken", "op": "delete", "user": "bo", "was": {"id": "broken", "type": "blob"}},
        {"revision": 7, "kind": "object", "id": "kept", "op": "update", "user": "bo",
         "was": {"id": "kept", "type": "rectangle", "frame": 2, "label": "car", "points": [1, 2, 3, 4]}}]})");
    auto marks = changes_since_review(history);
    REQUIRE(marks);
    CHECK(marks.value().at("old").was.is_null());
    CHECK(marks.value().at("kept").was.is_null());  // only a delete carries what it removed
    Document removed = removed_since_review(marks.value());
    REQUIRE(removed.objects.size() == 1);
    CHECK(removed.objects[0].id == "box");
    CHECK(removed.objects[0].points == std::vector<double>{1, 2, 3, 4});
    REQUIRE(removed.tracks.size() == 1);
    CHECK(removed.tracks[0].keyframes.size() == 2);
}

TEST_CASE("an item's history reads as who did what, in which role and stage, in revision order", "[review]") {
    auto events = item_events(Json::parse(R"({"entries": [
        {"revision": 3, "id": "o1", "op": "create", "user": "ana", "role": "labeler", "stage": "annotation", "at": "2026-12-07T10:00:00.000Z"},
        {"revision": "x", "id": "o1", "op": "update"},
        {"revision": 9, "id": "o1", "op": "update", "user": "rita", "role": "reviewer", "stage": "review", "at": "2026-12-07T11:00:00.000Z"},
        {"revision": 12, "id": "o1", "op": "delete", "user": "mia", "role": null, "stage": null, "at": "2026-12-07T12:00:00.000Z"}]})"));
    REQUIRE(events);
    REQUIRE(events.value().size() == 3);
    CHECK(events.value()[0].user == "ana");
    CHECK(events.value()[1].role == "reviewer");
    CHECK(events.value()[1].stage == "review");
    CHECK(events.value()[2].op == "delete");
    CHECK(events.value()[2].role.empty());
    CHECK_FALSE(item_events(Json::parse(R"({"entries": {}})")));
}

TEST_CASE("the sync engine saves review items to /review and hands back the server's with role and time", "[review][sync]") {
    SyncConfig config;
    config.task_id = "t1";
    config.device_id = "rita-tab";
    config.user_id = "rita";
    config.resource = "review";
    config.debounce_ms = 0;
    auto engine = SyncEngine::create(config);
    REQUIRE(engine);
    SyncEngine& e = engine.value();
    e.restore({}, 3);
    SyncOutput out = e.record_item(SyncKind::Issue, "i1", std::nullopt, issue_json("i1"), 0);
    REQUIRE(out.errors.empty());
    CHECK_FALSE(out.journal_put.empty());
    out = e.record_item(SyncKind::Comment, "c1", std::nullopt, comment_json("c1", "i1", "loose box", "rita"), 0);
    auto request = e.poll(10);
    REQUIRE(request);
    CHECK(request->method == "PATCH");
    CHECK(request->path == "/api/tasks/t1/review");
    Json body = Json::parse(request->body);
    REQUIRE(body["operations"].size() == 2);
    CHECK(body["operations"][0]["kind"] == "issue");
    CHECK(body["operations"][1]["kind"] == "comment");
    std::string applied = R"({"revision": 4, "applied": [)" + body["operations"][0]["op_id"].dump() + "," +
                          body["operations"][1]["op_id"].dump() + R"(], "duplicates": []})";
    e.on_reply(request->seq, 200, applied, 20);
    CHECK(e.status().pending == 0);
    e.request_catchup();
    auto get = e.poll(30);
    REQUIRE(get);
    CHECK(get->path == "/api/tasks/t1/review?since=3");
    Json changes{{"revision", 6}, {"since", 3}, {"changes", Json::array({
        Json{{"kind", "comment"}, {"id", "c2"}, {"value", comment_json("c2", "i1", "fixed", "ana")}, {"revision", 6},
             {"op_id", "ana-1"}, {"user", "ana"}, {"device", "ana-laptop"}, {"role", "labeler"}, {"at", "2026-12-07T10:01:00.000Z"}},
        Json{{"kind", "issue"}, {"id", "i9"}, {"value", Json{{"id", "i9"}}}, {"revision", 5}, {"op_id", "x-1"},
             {"user", "bo"}, {"device", "d"}, {"role", "reviewer"}, {"at", "2026-12-07T10:00:30.000Z"}}})}};
    out = e.on_reply(get->seq, 200, changes.dump(), 40);
    REQUIRE(out.remote.size() == 1);
    CHECK(out.remote[0].kind == SyncKind::Comment);
    CHECK(out.remote[0].role == "labeler");
    CHECK(out.remote[0].at == "2026-12-07T10:01:00.000Z");
    REQUIRE(out.errors.size() == 1);  // the unreadable issue is named and left out
    CHECK(out.errors[0].code == "unreadable_change");
    // A review item never enters a document.
    Document doc;
    CHECK_FALSE(apply_remote_change(doc, out.remote[0]));
}

TEST_CASE("a review journal survives a reload and its ops go out again", "[review][sync]") {
    SyncConfig config;
    config.task_id = "t1";
    config.device_id = "ana-laptop";
    config.resource = "review";
    auto first = SyncEngine::create(config);
    REQUIRE(first);
    first->restore({}, 0);
    SyncOutput out = first->record_item(SyncKind::Comment, "c1", std::nullopt, comment_json("c1", "i1", "done"), 0);
    std::vector<std::string> texts;
    for (const JournalRecord& r : out.journal_put) texts.push_back(r.text);
    CHECK(std::any_of(out.journal_put.begin(), out.journal_put.end(), [](const JournalRecord& r) { return r.key == "#counter.review"; }));
    // The annotations engine of the same task shares the journal: each restores only its own records.
    SyncConfig annotations = config;
    annotations.resource = "annotations";
    auto labeler = SyncEngine::create(annotations);
    REQUIRE(labeler);
    labeler->restore({}, 0);
    Object box;
    box.id = "car";
    box.label = "car";
    box.points = {0, 0, 5, 5};
    Command draw{"draw box", {ObjectOp::create(box, 0)}, {}};
    for (const JournalRecord& r : labeler->record(draw, 0).journal_put) texts.push_back(r.text);
    auto second = SyncEngine::create(config);
    REQUIRE(second);
    SyncOutput restored = second->restore(texts, 0);
    CHECK(restored.errors.empty());
    REQUIRE(second->pending_ops().size() == 1);
    CHECK(second->pending_ops()[0].kind == SyncKind::Comment);
    auto reopened = SyncEngine::create(annotations);
    REQUIRE(reopened);
    CHECK(reopened->restore(texts, 0).errors.empty());
    REQUIRE(reopened->pending_ops().size() == 1);
    CHECK(reopened->pending_ops()[0].kind == SyncKind::Object);
    config.resource = "documents";
    CHECK_FALSE(SyncEngine::create(config));
}
