// The review section of backend profiles (docs/PROFILES.md, section 7) and ReviewProfileSync: the
// cvat profile's review read and checked (good and bad, with error pointers), issues, comments and
// jobs mapped both ways with the payload shapes CVAT's serializers give and take, and the review
// SyncEngine saving through ReviewProfileSync to an in-memory CVAT (ids it assigns, the issue's
// required first message, pagination, lost replies, refusals).
// Hidden "[cvat-review]": the same engine against tests/backend/fake_cvat.py over real HTTP
// (tests/backend/test_cvat_review.py).
#include "polymark/review_profile_sync.hpp"
#include "polymark/profile_wire.hpp"

#include "polymark/json_reader.hpp"

#include <catch2/catch.hpp>

#include "http_client.hpp"

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

using namespace pm;

namespace {

Json cvat_json() {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/cvat.json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = parse_json_text(ss.str(), "cvat.json");
    REQUIRE(j);
    return j.value();
}

BackendProfile cvat() {
    auto p = profile_from_json(cvat_json());
    if (!p) FAIL(p.first_error().path << " " << p.first_error().message);
    return p.value();
}

ProfileContext context() {
    ProfileContext c;
    c.vars = {{"job", 42}};
    c.media = {{100, 1920, 1080}};
    c.token = "cvat-token";
    return c;
}

Json issue(const std::string& id, std::vector<double> points, const std::string& status = "open", const std::string& item = "") {
    Json j{{"id", id}, {"frame", 3}, {"points", points}, {"status", status}, {"author", "rita"}};
    if (!item.empty()) j["item"] = item;
    return j;
}

Json comment(const std::string& id, const std::string& issue_id, const std::string& text) {
    return Json{{"id", id}, {"issue", issue_id}, {"text", text}, {"author", "rita"}};
}

// The first error of reading a changed cvat.json.
Error error_of(const std::function<void(Json&)>& change) {
    Json j = cvat_json();
    change(j);
    auto p = profile_from_json(j);
    REQUIRE_FALSE(p);
    return p.first_error();
}

}  // namespace

// [SECTION] Reading

TEST_CASE("the cvat profile's review section reads: routes, stage table, issue and comment maps", "[profile][review_profile]") {
    BackendProfile p = cvat();
    REQUIRE(p.review.present);
    CHECK_FALSE(p.review.decisions.kept);
    CHECK_FALSE(p.review.decisions.why.empty());
    CHECK(p.review.job_read.path == "/api/jobs/{job}");
    CHECK(p.review.job_move.method == "PATCH");
    REQUIRE(p.review.stages.size() == 3);
    CHECK(p.review.stages[1].ours == JobStage::Review);
    CHECK(p.review.stages[1].theirs == "validation");
    CHECK(p.review.issues.first_comment_at == "/message");
    CHECK(p.review.issues.part.geometry.form == GeometryForm::Region);
    CHECK(p.review.issues.list.items_at == "/results");
    CHECK(p.review.comments.create.id_at == "/id");
    CHECK(p.review.comments.id_table == "comment_ids");
}

TEST_CASE("a bad review section is refused with the JSON Pointer of the defect", "[profile][review_profile]") {
    Error e = error_of([](Json& j) { j["review"]["extra"] = 1; });
    CHECK(e.code == "unknown_key");
    CHECK(e.path == "/review/extra");
    e = error_of([](Json& j) { j["review"]["issues"]["geometry"]["form"] = "flat"; });
    CHECK(e.code == "bad_enum");
    CHECK(e.path == "/review/issues/geometry");
    e = error_of([](Json& j) { j["review"]["job"]["stages"].erase(2); });
    CHECK(e.code == "missing_key");
    CHECK(e.path == "/review/job/stages");
    e = error_of([](Json& j) { j["review"]["job"]["stages"][1]["ours"] = "validation"; });
    CHECK(e.code == "bad_enum");
    CHECK(e.path == "/review/job/stages/1/ours");
    e = error_of([](Json& j) { j["review"]["job"]["stages"][2]["ours"] = "review"; });
    CHECK(e.code == "duplicate_key");
    CHECK(e.path == "/review/job/stages/2/ours");
    e = error_of([](Json& j) { j["review"]["issues"]["list"]["items_at"] = "results"; });
    CHECK(e.code == "bad_pointer");
    CHECK(e.path == "/review/issues/list/items_at");
    e = error_of([](Json& j) { j["review"]["comments"]["create"].erase("id_at"); });
    CHECK(e.code == "missing_key");
    CHECK(e.path == "/review/comments/create/id_at");
    e = error_of([](Json& j) { j["review"]["issues"]["learn_id"] = "cvat-issue"; });
    CHECK(e.code == "bad_template");
    CHECK(e.path == "/review/issues/learn_id");
    e = error_of([](Json& j) { j["review"]["comments"]["list"]["method"] = "POST"; });
    CHECK(e.code == "bad_enum");
    CHECK(e.path == "/review/comments/list/method");
    e = error_of([](Json& j) { j["review"]["comments"]["fields"][3]["write_only"] = true; });
    CHECK(e.code == "bad_enum");
    CHECK(e.path == "/review/comments/fields/3/read_only");
    e = error_of([](Json& j) { j["review"]["guarantees"].erase("decisions"); });
    CHECK(e.code == "missing_key");
    e = error_of([](Json& j) { j["review"]["issues"]["write_once"][0] = "frame"; });
    CHECK(e.code == "bad_pointer");
    CHECK(e.path == "/review/issues/write_once/0");
    e = error_of([](Json& j) { j["review"]["job"]["stages"][0]["theirs"] = 3; });
    CHECK(e.path == "/review/job/stages/0/theirs");
}

// [SECTION] Mapping to CVAT and back

TEST_CASE("an issue maps to CVAT's IssueWriteSerializer fields: job, frame, flat position, resolved", "[review_profile]") {
    BackendProfile p = cvat();
    ProfileContext c = context();
    auto box = review_item_to_backend(p, c, ReviewKind::Issue, issue("i1", {10, 20, 110, 70}));
    REQUIRE(box);
    CHECK(box.value() == Json{{"job", 42}, {"position", {10, 20, 110, 70}}, {"frame", 3}, {"resolved", false}});
    // A point is a position of one point; the issue's object is not kept (CVAT pins issues to regions).
    auto point = review_item_to_backend(p, c, ReviewKind::Issue, issue("i2", {5.5, 6}, "resolved", "car-1"));
    REQUIRE(point);
    CHECK(point.value() == Json{{"job", 42}, {"position", {5.5, 6}}, {"frame", 3}, {"resolved", true}});
    // The id and the author are CVAT's to set: never written.
    CHECK_FALSE(point.value().contains("id"));
    CHECK_FALSE(point.value().contains("owner"));
}

TEST_CASE("a comment maps to CommentWriteSerializer's issue (CVAT's id) and message", "[review_profile]") {
    BackendProfile p = cvat();
    ProfileContext c = context();
    auto unknown = review_item_to_backend(p, c, ReviewKind::Comment, comment("c1", "i1", "loose box"));
    REQUIRE_FALSE(unknown);
    CHECK(unknown.first_error().code == "unknown_lookup");  // its issue is not on CVAT yet
    c.tables["issue_ids"] = {{"i1", 7}};
    auto payload = review_item_to_backend(p, c, ReviewKind::Comment, comment("c1", "i1", "loose box"));
    REQUIRE(payload);
    CHECK(payload.value() == Json{{"issue", 7}, {"message", "loose box"}});
}

TEST_CASE("decisions have no CVAT mapping: not_expressible with the profile's why", "[review_profile]") {
    BackendProfile p = cvat();
    Json d{{"id", "d1"}, {"item", "car"}, {"frame", 0}, {"verdict", "rejected"}, {"author", "rita"}};
    auto r = review_item_to_backend(p, context(), ReviewKind::Decision, d);
    REQUIRE_FALSE(r);
    CHECK(r.first_error().code == "not_expressible");
    CHECK(r.first_error().message == p.review.decisions.why);
}

TEST_CASE("CVAT's IssueReadSerializer and CommentReadSerializer payloads read as our issue and comment", "[review_profile]") {
    BackendProfile p = cvat();
    ProfileContext c = context();
    Json cvat_issue = Json::parse(R"({"id": 7, "frame": 12, "position": [300.5, 40.0, 120.0, 80.0], "job": 42,
        "owner": {"url": "http://cvat/api/users/3", "id": 3, "username": "bo", "first_name": "", "last_name": ""},
        "assignee": null, "created_date": "2026-12-07T05:00:00Z", "updated_date": "2026-12-07T05:01:00Z",
        "resolved": true, "comments": {"url": "http://cvat/api/comments?issue_id=7", "count": 2}})");
    CHECK(review_our_id(p, c, ReviewKind::Issue, cvat_issue["id"]) == "cvat-issue-7");
    auto i = review_item_from_backend(p, c, ReviewKind::Issue, cvat_issue);
    REQUIRE(i);
    // Corners in any order become a box with x1 <= x2, y1 <= y2.
    CHECK(i.value() == Json{{"id", "cvat-issue-7"}, {"frame", 12}, {"points", {120.0, 40.0, 300.5, 80.0}}, {"status", "resolved"}, {"author", "bo"}});
    // A polygon drawn in CVAT reads as its bounding box; a single point as a point.
    cvat_issue["position"] = {10, 10, 50, 5, 30, 40};
    CHECK(review_item_from_backend(p, c, ReviewKind::Issue, cvat_issue).value()["points"] == Json{10, 5, 50, 40});
    cvat_issue["position"] = {10, 10};
    CHECK(review_item_from_backend(p, c, ReviewKind::Issue, cvat_issue).value()["points"] == Json{10, 10});
    cvat_issue["position"] = {10, 10, 20};
    CHECK(review_item_from_backend(p, c, ReviewKind::Issue, cvat_issue).first_error().path == "/position");
    Json cvat_comment = Json::parse(R"({"id": 31, "issue": 7, "owner": {"id": 3, "username": "bo"}, "message": "the wheel is outside",
        "created_date": "2026-12-07T05:00:00Z", "updated_date": "2026-12-07T05:00:00Z"})");
    CHECK(review_our_id(p, c, ReviewKind::Comment, cvat_comment["id"]) == "cvat-comment-31");
    auto k = review_item_from_backend(p, c, ReviewKind::Comment, cvat_comment);
    REQUIRE(k);
    CHECK(k.value() == Json{{"id", "cvat-comment-31"}, {"issue", "cvat-issue-7"}, {"text", "the wheel is outside"}, {"author", "bo"}});
    // Issue 31 and comment 31 are different things in CVAT: separate tables, separate ids.
    CHECK(review_our_id(p, c, ReviewKind::Issue, Json(31)) == "cvat-issue-31");
}

TEST_CASE("CVAT's job reads as serve.py's job; moves send CVAT's stage and a state", "[review_profile]") {
    BackendProfile p = cvat();
    ProfileContext c = context();
    Json job = Json::parse(R"({"url": "http://cvat/api/jobs/42", "id": 42, "task_id": 9, "project_id": null,
        "assignee": {"id": 3, "username": "ana"}, "dimension": "2d", "status": "validation", "stage": "validation",
        "state": "new", "mode": "annotation", "frame_count": 50, "start_frame": 50, "stop_frame": 99,
        "data_chunk_size": 36, "type": "annotation"})");
    auto ours = job_from_backend(p, c, job);
    REQUIRE(ours);
    CHECK(ours.value() == Json{{"id", 42}, {"start_frame", 50}, {"stop_frame", 99}, {"assignee", "ana"}, {"stage", "review"}});
    auto jobs = jobs_from_json(Json{{"jobs", {ours.value()}}});
    REQUIRE(jobs);
    CHECK(jobs.value()[0].stage == JobStage::Review);
    job["assignee"] = nullptr;
    job["stage"] = "acceptance";
    CHECK(job_from_backend(p, c, job).value() == Json{{"id", 42}, {"start_frame", 50}, {"stop_frame", 99}, {"stage", "accepted"}});
    job["stage"] = "training";
    CHECK(job_from_backend(p, c, job).first_error().code == "bad_enum");

    auto submit = job_move_to_backend(p, c, JobStage::Annotation, JobStage::Review);
    REQUIRE(submit);
    CHECK(submit.value().method == "PATCH");
    CHECK(submit.value().path == "/api/jobs/42");
    CHECK(submit.value().body == Json{{"stage", "validation"}, {"state", "new"}});
    // A reviewer sending the job back: CVAT's "rejected" state says so.
    CHECK(job_move_to_backend(p, c, JobStage::Review, JobStage::Annotation).value().body == Json{{"stage", "annotation"}, {"state", "rejected"}});
    CHECK(job_move_to_backend(p, c, JobStage::Accepted, JobStage::Annotation).value().body == Json{{"stage", "annotation"}, {"state", "new"}});
    CHECK(job_move_to_backend(p, c, JobStage::Review, JobStage::Accepted).value().body == Json{{"stage", "acceptance"}, {"state", "completed"}});
    bool token = false;
    for (const auto& [k, v] : submit.value().headers) token = token || (k == "Authorization" && v == "Token cvat-token");
    CHECK(token);
}

TEST_CASE("a paginated reply's absolute next URL becomes a path", "[review_profile]") {
    BackendProfile p = cvat();
    CHECK(next_page_path(Json{{"next", "http://cvat.local:8080/api/issues?job_id=42&page=2"}}, p.review.issues.list) == "/api/issues?job_id=42&page=2");
    CHECK(next_page_path(Json{{"next", "/api/issues?page=3"}}, p.review.issues.list) == "/api/issues?page=3");
    CHECK_FALSE(next_page_path(Json{{"next", nullptr}}, p.review.issues.list));
    CHECK_FALSE(next_page_path(Json::object(), p.review.issues.list));
}

// [SECTION] The review engine through ReviewProfileSync, against an in-memory CVAT

namespace {

struct Reply {
    int status = 200;
    std::string body;
};

// Answers like CVAT's /api/jobs, /api/issues and /api/comments: ids it assigns (issues and
// comments numbered apart), the issue's required message becoming its first comment, pages of
// `page_size` with an absolute `next`, 201 on create, 204 on delete, 404 for a missing id.
struct MemoryCvat {
    std::map<int64_t, Json> issues, comments;
    int64_t next_issue = 1, next_comment = 1;
    std::string stage = "annotation", state = "new";
    size_t page_size = 2;
    std::vector<std::string> log;
    std::string user = "rita";

    static Reply json(int status, const Json& j) { return Reply{status, j.dump()}; }
    static std::map<std::string, std::string> query(const std::string& path) {
        std::map<std::string, std::string> q;
        size_t at = path.find('?');
        if (at == std::string::npos) return q;
        std::stringstream ss(path.substr(at + 1));
        std::string part;
        while (std::getline(ss, part, '&')) {
            size_t eq = part.find('=');
            if (eq != std::string::npos) q[part.substr(0, eq)] = part.substr(eq + 1);
        }
        return q;
    }
    Reply page(const std::string& route, const std::vector<Json>& all, const std::map<std::string, std::string>& q, const std::string& filter) {
        size_t n = q.count("page") ? std::stoul(q.at("page")) : 1;
        Json results = Json::array();
        for (size_t i = (n - 1) * page_size; i < std::min(all.size(), n * page_size); ++i) results.push_back(all[i]);
        Json next = n * page_size < all.size() ? Json("http://cvat.example:8080" + route + "?" + filter + "&page=" + std::to_string(n + 1)) : Json();
        return json(200, Json{{"count", all.size()}, {"next", next}, {"previous", nullptr}, {"results", results}});
    }
    Json owner() const { return Json{{"id", 3}, {"username", user}}; }
    Reply operator()(const SyncRequest& r) {
        log.push_back(r.method + " " + r.path);
        std::string route = r.path.substr(0, r.path.find('?'));
        auto q = query(r.path);
        Json body = r.body.empty() ? Json() : Json::parse(r.body);
        if (route == "/api/jobs/42") {
            if (r.method == "PATCH") {
                if (body.contains("stage")) stage = body["stage"];
                state = body.contains("state") ? body["state"].get<std::string>() : (body.contains("stage") ? "new" : state);
            }
            return json(200, Json{{"id", 42}, {"task_id", 9}, {"start_frame", 0}, {"stop_frame", 99}, {"stage", stage}, {"state", state}, {"assignee", nullptr}});
        }
        if (route == "/api/issues" && r.method == "GET") {
            std::vector<Json> all;
            for (const auto& [id, i] : issues)
                if (std::to_string(i["job"].get<int64_t>()) == q["job_id"]) all.push_back(i);
            return page(route, all, q, "job_id=" + q["job_id"]);
        }
        if (route == "/api/issues" && r.method == "POST") {
            for (const char* k : {"frame", "position", "job", "message"})
                if (!body.contains(k)) return json(400, Json{{k, {"This field is required."}}});
            int64_t id = next_issue++;
            Json i{{"id", id}, {"frame", body["frame"]}, {"position", body["position"]}, {"job", body["job"]}, {"owner", owner()},
                   {"assignee", nullptr}, {"resolved", body.value("resolved", false)}, {"comments", {{"count", 1}}}};
            issues[id] = i;
            int64_t cid = next_comment++;
            comments[cid] = Json{{"id", cid}, {"issue", id}, {"owner", owner()}, {"message", body["message"]}};
            return json(201, i);
        }
        if (route.rfind("/api/issues/", 0) == 0) {
            int64_t id = std::stoll(route.substr(12));
            if (!issues.count(id)) return json(404, Json{{"detail", "Not found."}});
            if (r.method == "DELETE") {
                issues.erase(id);
                for (auto it = comments.begin(); it != comments.end();) it = (*it).second["issue"] == id ? comments.erase(it) : std::next(it);
                return Reply{204, ""};
            }
            if (body.contains("resolved")) issues[id]["resolved"] = body["resolved"];
            if (body.contains("position")) issues[id]["position"] = body["position"];
            return json(200, issues[id]);
        }
        if (route == "/api/comments" && r.method == "GET") {
            std::vector<Json> all;
            for (const auto& [id, c] : comments)
                if (std::to_string(c["issue"].get<int64_t>()) == q["issue_id"]) all.push_back(c);
            return page(route, all, q, "issue_id=" + q["issue_id"]);
        }
        if (route == "/api/comments" && r.method == "POST") {
            if (!body.contains("issue") || !body.contains("message")) return json(400, Json{{"message", {"This field is required."}}});
            if (!body["issue"].is_number_integer() || !issues.count(body["issue"].get<int64_t>()))
                return json(400, Json{{"issue", {"Invalid pk - object does not exist."}}});
            int64_t id = next_comment++;
            comments[id] = Json{{"id", id}, {"issue", body["issue"]}, {"owner", owner()}, {"message", body["message"]}};
            return json(201, comments[id]);
        }
        if (route.rfind("/api/comments/", 0) == 0) {
            int64_t id = std::stoll(route.substr(14));
            if (!comments.count(id)) return json(404, Json{{"detail", "Not found."}});
            if (r.method == "DELETE") { comments.erase(id); return Reply{204, ""}; }
            if (body.contains("message")) comments[id]["message"] = body["message"];
            return json(200, comments[id]);
        }
        return json(404, Json{{"detail", "Not found."}});
    }
};

enum class Fault { None, FailBefore, DropReply };

// The review engine, its link and a backend: what ReviewLink does, without the app.
template <class Link>
struct ReviewRig {
    Link link;
    std::function<Reply(const SyncRequest&)> backend;
    SyncEngine engine;
    int64_t now = 0;
    std::deque<Fault> faults;
    std::map<std::string, std::optional<Json>> board;  // what this client shows: remote changes applied
    std::vector<EngineReply> replies;

    static SyncEngine make_engine() {
        SyncConfig config;
        config.task_id = "t1";
        config.device_id = "rita-tab.review";
        config.user_id = "rita";
        config.resource = "review";
        config.debounce_ms = 0;
        config.catchup_interval_ms = 0;
        auto e = SyncEngine::create(config);
        REQUIRE(e);
        return std::move(e.value());
    }
    ReviewRig(Link l, std::function<Reply(const SyncRequest&)> b) : link(std::move(l)), backend(std::move(b)), engine(make_engine()) {
        engine.restore({}, 0);
    }
    void write(SyncKind kind, const std::string& id, const std::optional<Json>& before, const Json& after) {
        SyncOutput out = engine.record_item(kind, id, before, after, now);
        REQUIRE(out.errors.empty());
    }
    void step() {
        now += 1000;
        auto request = engine.poll(now);
        if (!request) return;
        ProfileStep s = link.begin(*request);
        while (s.request) {
            SyncRequest r = *s.request;
            Fault f = faults.empty() ? Fault::None : faults.front();
            if (!faults.empty()) faults.pop_front();
            if (f == Fault::FailBefore) { s = link.on_backend_failure(r.seq, SyncFailure::Network); continue; }
            Reply reply = backend(r);
            if (f == Fault::DropReply) s = link.on_backend_failure(r.seq, SyncFailure::Timeout);
            else s = link.on_backend_reply(r.seq, reply.status, reply.body);
        }
        if (!s.reply) return;
        UNSCOPED_INFO("engine reply " << s.reply->status << " " << s.reply->body);
        replies.push_back(*s.reply);
        SyncOutput out = engine.on_reply(s.reply->seq, s.reply->status, s.reply->body, now);
        for (const RemoteChange& c : out.remote) board[c.id] = c.value;
    }
    void run(int n = 30) {
        engine.flush(now);
        for (int i = 0; i < n; ++i) step();
    }
    void catchup() {
        engine.request_catchup();
        step();
    }
};

ReviewProfileSync review_link() {
    auto link = ReviewProfileSync::create(cvat(), context());
    REQUIRE(link);
    return std::move(link.value());
}

using Rig = ReviewRig<ReviewProfileSync>;

}  // namespace

TEST_CASE("an issue opened with its first comment is one POST /api/issues carrying the message", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    Rig rig(review_link(), std::ref(cvat));
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {10, 20, 110, 70}, "open", "car-1"));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "the box cuts the wheel"));
    rig.run(3);
    CHECK(rig.engine.status().state == SyncState::Saved);
    CHECK(rig.engine.status().pending == 0);
    REQUIRE(cvat.issues.size() == 1);
    REQUIRE(cvat.comments.size() == 1);  // the message alone: the comment op was not posted again
    CHECK(cvat.issues[1]["position"] == Json{10, 20, 110, 70});
    CHECK(cvat.comments[1]["message"] == "the box cuts the wheel");
    CHECK(rig.link.context().tables.at("issue_ids") == std::vector<std::pair<Json, Json>>{{"i1", 1}});
    CHECK(rig.link.context().tables.at("comment_ids") == std::vector<std::pair<Json, Json>>{{"c1", 1}});
    // A reply and a resolve go to the same CVAT ids; our writes never come back as remote changes.
    rig.write(SyncKind::Comment, "c2", std::nullopt, comment("c2", "i1", "fixed"));
    rig.write(SyncKind::Issue, "i1", issue("i1", {10, 20, 110, 70}, "open", "car-1"), issue("i1", {10, 20, 110, 70}, "resolved", "car-1"));
    rig.run(3);
    CHECK(cvat.comments[2] == Json{{"id", 2}, {"issue", 1}, {"owner", {{"id", 3}, {"username", "rita"}}}, {"message", "fixed"}});
    CHECK(cvat.issues[1]["resolved"] == true);
    rig.catchup();
    CHECK(rig.board.empty());
    CHECK(std::count(cvat.log.begin(), cvat.log.end(), "PATCH /api/issues/1") == 1);
}

TEST_CASE("another reviewer's issues and comments arrive by catch-up, across pages, with learnt ids", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    Rig rig(review_link(), std::ref(cvat));
    cvat.user = "bo";
    for (int i = 0; i < 3; ++i) cvat(SyncRequest{0, "POST", "/api/issues", Json{{"job", 42}, {"frame", i}, {"position", {1, 2}}, {"message", "look " + std::to_string(i)}}.dump(), {}, 0});
    for (int i = 0; i < 2; ++i) cvat(SyncRequest{0, "POST", "/api/comments", Json{{"issue", 3}, {"message", "and " + std::to_string(i)}}.dump(), {}, 0});
    cvat(SyncRequest{0, "POST", "/api/issues", Json{{"job", 43}, {"frame", 0}, {"position", {1, 2}}, {"message", "another job"}}.dump(), {}, 0});
    rig.catchup();
    CHECK(rig.board.size() == 3 + 5);  // the three issues of job 42, their first comments and two replies
    REQUIRE(rig.board.count("cvat-issue-3"));
    CHECK((*rig.board["cvat-issue-3"])["author"] == "bo");
    CHECK((*rig.board["cvat-comment-5"])["issue"] == "cvat-issue-3");
    CHECK(std::count(cvat.log.begin(), cvat.log.end(), "GET /api/issues?job_id=42&page=2") == 1);
    // Resolved and deleted in CVAT: a change and a deletion.
    cvat.issues[1]["resolved"] = true;
    cvat(SyncRequest{0, "DELETE", "/api/issues/2", "", {}, 0});
    rig.board.clear();
    rig.catchup();
    REQUIRE(rig.board.size() == 3);  // issue 1 changed; issue 2 and its comment gone
    CHECK((*rig.board["cvat-issue-1"])["status"] == "resolved");
    CHECK_FALSE(rig.board["cvat-issue-2"]);
    CHECK_FALSE(rig.board["cvat-comment-2"]);
    // Our reply on their issue goes to CVAT's issue id.
    rig.write(SyncKind::Comment, "c9", std::nullopt, comment("c9", "cvat-issue-3", "agreed"));
    rig.run(3);
    CHECK(cvat.comments.rbegin()->second["issue"] == 3);
}

TEST_CASE("a decision is set aside with the profile's why and stays in the journal; the other ops are saved", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    Rig rig(review_link(), std::ref(cvat));
    rig.write(SyncKind::Decision, "d1", std::nullopt, Json{{"id", "d1"}, {"item", "car"}, {"frame", 0}, {"verdict", "rejected"}, {"author", "rita"}});
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {1, 2}));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "here"));
    rig.run(5);
    auto aside = rig.engine.set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].id == "d1");
    CHECK(aside[0].code == "not_expressible");
    CHECK(aside[0].message.find(::cvat().review.decisions.why) != std::string::npos);
    CHECK(cvat.issues.size() == 1);
    CHECK(cvat.comments.size() == 1);
}

TEST_CASE("an issue opened without a first comment is refused (CVAT needs a message), not sent with a made-up one", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    Rig rig(review_link(), std::ref(cvat));
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {1, 2}));
    rig.run(3);
    CHECK(cvat.issues.empty());
    auto aside = rig.engine.set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].id == "i1");
    CHECK(aside[0].code == "not_expressible");
}

TEST_CASE("an issue create whose reply was lost is found in the listing and not posted twice", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    Rig rig(review_link(), std::ref(cvat));
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {10, 20, 30, 40}));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "why"));
    rig.faults = {Fault::DropReply};
    rig.run(10);
    CHECK(rig.engine.status().state == SyncState::Saved);
    CHECK(cvat.issues.size() == 1);
    CHECK(cvat.comments.size() == 1);
    CHECK(rig.link.context().tables.at("issue_ids") == std::vector<std::pair<Json, Json>>{{"i1", 1}});
    CHECK(rig.link.context().tables.at("comment_ids") == std::vector<std::pair<Json, Json>>{{"c1", 1}});
    rig.catchup();
    CHECK(rig.board.empty());
    // A reply lost on a comment create: also found, not doubled.
    rig.write(SyncKind::Comment, "c2", std::nullopt, comment("c2", "i1", "second"));
    rig.faults = {Fault::DropReply};
    rig.run(10);
    CHECK(cvat.comments.size() == 2);
}

TEST_CASE("CVAT's 403 on one op sets it aside as forbidden; a 400 names CVAT's reason", "[review_profile][review_sync]") {
    MemoryCvat cvat;
    bool refuse = true;
    auto backend = [&](const SyncRequest& r) -> Reply {
        if (refuse && r.method == "PATCH") return Reply{403, R"({"detail": "You do not have permission to perform this action."})"};
        return cvat(r);
    };
    Rig rig(review_link(), backend);
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {1, 2}));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "x"));
    rig.run(3);
    rig.write(SyncKind::Issue, "i1", issue("i1", {1, 2}), issue("i1", {1, 2}, "resolved"));
    rig.run(3);
    auto aside = rig.engine.set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].code == "forbidden");
    CHECK(aside[0].message.find("permission") != std::string::npos);
    CHECK(rig.engine.status().state != SyncState::NeedsAuth);
    // Changing an issue's frame: CVAT keeps it as created (write-once), so it is refused, not lost.
    refuse = false;
    rig.write(SyncKind::Issue, "i2", std::nullopt, issue("i2", {5, 6}));
    rig.write(SyncKind::Comment, "c2", std::nullopt, comment("c2", "i2", "y"));
    rig.run(3);
    Json moved = issue("i2", {5, 6});
    moved["frame"] = 9;
    rig.write(SyncKind::Issue, "i2", issue("i2", {5, 6}), moved);
    rig.run(3);
    bool frame_refused = false;
    for (const SetAsideItem& s : rig.engine.set_aside())
        frame_refused = frame_refused || (s.id == "i2" && s.code == "not_expressible" && s.message.find("/frame") != std::string::npos);
    CHECK(frame_refused);
    CHECK(cvat.issues[2]["frame"] == 3);
}

TEST_CASE("the review calls cross the profile wire: jobs read and moved, items saved", "[review_profile][wire]") {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/cvat.json");
    auto client = ProfileClient::open(Json::parse(in), in_process_transport(std::make_shared<ProfileHost>()));
    REQUIRE(client);
    REQUIRE(client.value()->review_start(context()).empty());
    MemoryCvat cvat;
    SyncRequest read = client.value()->job_request();
    CHECK(read.path == "/api/jobs/42");
    Reply r = cvat(read);
    auto jobs = client.value()->jobs_reply(r.status, r.body);
    REQUIRE(jobs);
    CHECK(jobs.value()["jobs"][0]["stage"] == "annotation");
    auto move = client.value()->move_request(JobStage::Annotation, JobStage::Review);
    REQUIRE(move);
    CHECK(Json::parse(move.value().body) == Json{{"stage", "validation"}, {"state", "new"}});
    cvat(move.value());
    CHECK(cvat.stage == "validation");

    struct Wired {
        std::shared_ptr<ProfileClient> c;
        ProfileStep begin(const SyncRequest& r) { return c->review_begin(r); }
        ProfileStep on_backend_reply(uint64_t seq, int status, const std::string& body) { return c->review_backend_reply(seq, status, body); }
        ProfileStep on_backend_failure(uint64_t seq, SyncFailure kind) { return c->review_backend_failure(seq, kind); }
    };
    ReviewRig<Wired> rig(Wired{std::move(client.value())}, std::ref(cvat));
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {1, 2}));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "x"));
    rig.run(3);
    CHECK(rig.engine.status().state == SyncState::Saved);
    CHECK(cvat.issues.size() == 1);
}

// [SECTION] Against tests/backend/fake_cvat.py over real HTTP (tests/backend/test_cvat_review.py)

TEST_CASE("the review engine saves through the cvat profile to a CVAT-shaped server over HTTP", "[.][cvat-review]") {
    const char* port_text = std::getenv("POLYMARK_FAKE_CVAT_PORT");
    REQUIRE(port_text);
    int port = std::atoi(port_text);
    auto http = [port](const SyncRequest& r) {
        auto reply = pm_test::http_request(port, r.method, r.path, r.headers, r.body);
        return Reply{reply.status, reply.body};
    };
    ProfileContext c = context();
    c.token = "reviewer-token";
    auto link = ReviewProfileSync::create(cvat(), c);
    REQUIRE(link);
    Rig rig(std::move(link.value()), http);
    // The job: read, submitted for review, read again.
    Reply read = http(rig.link.job_request());
    auto jobs = rig.link.jobs_from_reply(read.status, read.body);
    REQUIRE(jobs);
    CHECK(jobs.value()["jobs"][0]["stage"] == "annotation");
    auto move = rig.link.move_request(JobStage::Annotation, JobStage::Review);
    REQUIRE(move);
    Reply moved = http(move.value());
    CHECK(moved.status == 200);
    CHECK(rig.link.jobs_from_reply(moved.status, moved.body).value()["jobs"][0]["stage"] == "review");
    // What the other reviewer left in CVAT arrives (three pages of issues).
    rig.catchup();
    size_t theirs = rig.board.size();
    CHECK(theirs >= 6);
    // Ours: an issue with its first comment, a lost reply on the way, a reply, a resolve.
    rig.write(SyncKind::Issue, "i1", std::nullopt, issue("i1", {10, 20, 110, 70}));
    rig.write(SyncKind::Comment, "c1", std::nullopt, comment("c1", "i1", "the box cuts the wheel"));
    rig.faults = {Fault::DropReply};
    rig.run(10);
    rig.write(SyncKind::Comment, "c2", std::nullopt, comment("c2", "i1", "and the mirror"));
    rig.write(SyncKind::Issue, "i1", issue("i1", {10, 20, 110, 70}), issue("i1", {10, 20, 110, 70}, "resolved"));
    rig.write(SyncKind::Decision, "d1", std::nullopt, Json{{"id", "d1"}, {"item", "car"}, {"frame", 0}, {"verdict", "accepted"}, {"author", "rita"}});
    rig.run(10);
    CHECK(rig.engine.status().pending == 0);
    REQUIRE(rig.engine.set_aside().size() == 1);  // the decision, kept here
    CHECK(rig.engine.set_aside()[0].id == "d1");
    rig.board.clear();
    rig.catchup();
    CHECK(rig.board.empty());  // our own writes are not remote changes
    // Accepted: CVAT does not check open issues or the stage the client saw; it moves.
    auto accept = rig.link.move_request(JobStage::Review, JobStage::Accepted);
    REQUIRE(accept);
    Reply accepted = http(accept.value());
    CHECK(rig.link.jobs_from_reply(accepted.status, accepted.body).value()["jobs"][0]["stage"] == "accepted");
}
