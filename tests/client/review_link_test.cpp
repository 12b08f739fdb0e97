// The review link headless: what it asks serve.py for, what it writes to the journal and sends,
// and how it takes the server's answers (docs/SCHEMA.md section 13).
#include "app/review_link.hpp"
#include "null_platform.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace pm;
using namespace pm::testing;

namespace {

struct Review {
    NullPlatform platform;
    Notices notices{platform};
    std::vector<std::vector<JournalRecord>> journal;
    ReviewLink link;

    static SyncConfig config() {
        SyncConfig c;
        c.device_id = "ana-laptop";
        c.user_id = "ana";
        c.role = "labeler";
        c.debounce_ms = 0;
        return c;
    }
    explicit Review(std::optional<SyncConfig> sync = config())
        : link(platform, notices, BackendUrls{"http://server"}, sync,
               [this](const std::vector<JournalRecord>& put, const std::vector<std::string>&) { journal.push_back(put); return true; }) {
        platform.network = true;
    }
    void answer(const char* method, const std::string& path, int status, const Json& body) {
        const NullPlatform::SentSync* sent = platform.sent(method, path);
        REQUIRE(sent);
        link.on_reply(SyncReplied{sent->request.seq, status, body.dump()});
    }
    Json jobs_reply(const char* stage = "annotation") {
        return Json{{"revision", 4}, {"jobs", Json::array({Json{{"id", 1}, {"start_frame", 0}, {"stop_frame", nullptr}, {"stage", stage},
                                                                 {"assignee", "ana"}, {"reviewer", nullptr}, {"reviewed_revision", nullptr}, {"open_issues", 1}}})}};
    }
    Json items_reply() {
        return Json{{"revision", 4}, {"since", 0}, {"changes", Json::array({
            Json{{"kind", "issue"}, {"id", "i1"}, {"value", Json{{"id", "i1"}, {"frame", 0}, {"points", {5, 5}}, {"status", "open"}, {"author", "rita"}}},
                 {"revision", 3}, {"op_id", "r-1"}, {"user", "rita"}, {"device", "d"}, {"role", "reviewer"}, {"at", "2026-12-07T09:00:00.000Z"}},
            Json{{"kind", "comment"}, {"id", "c1"}, {"value", Json{{"id", "c1"}, {"issue", "i1"}, {"text", "loose box"}, {"author", "rita"}}},
                 {"revision", 3}, {"op_id", "r-2"}, {"user", "rita"}, {"device", "d"}, {"role", "reviewer"}, {"at", "2026-12-07T09:00:00.000Z"}}})}};
    }
    void start() {
        link.journal_read({}, "");
        link.task_known("t1");
        answer("GET", "/api/tasks/t1/jobs", 200, jobs_reply());
        answer("GET", "/api/tasks/t1/review", 200, items_reply());
        // The engine's first request is its catch-up from the revision the items came at.
        answer("GET", "/api/tasks/t1/review?since=4", 200, Json{{"revision", 4}, {"since", 4}, {"changes", Json::array()}});
    }
};

}  // namespace

TEST_CASE("the review link loads the jobs and the review items once the journal and the task are known") {
    Review r;
    r.link.journal_read({}, "");
    CHECK(r.platform.sync_requests.empty());
    r.link.task_known("t1");
    const auto* items = r.platform.sent("GET", "/api/tasks/t1/review");
    REQUIRE(items);
    CHECK(items->url == "http://server/api/tasks/t1/review");
    bool role_sent = false;
    for (const auto& [name, value] : items->request.headers) role_sent = role_sent || (name == "X-Polymark-Role" && value == "labeler");
    CHECK(role_sent);
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/review", 200, r.items_reply());
    CHECK(r.link.started());
    REQUIRE(r.link.jobs().size() == 1);
    CHECK(r.link.job_at_frame(12)->assignee == "ana");
    REQUIRE(r.link.board().thread("i1").size() == 1);
    CHECK(r.link.board().stamp("c1")->role == "reviewer");
    Json shown = r.link.to_json();
    CHECK(shown["issues"][0]["comments"][0]["text"] == "loose box");
    CHECK(shown["jobs"][0]["open_issues"] == 1);
}

TEST_CASE("a reply to an issue is journaled, sent to /review by a device of its own, and saved") {
    Review r;
    r.start();
    auto id = r.link.reply("i1", "fixed: the box follows the mirror now");
    REQUIRE(id);
    CHECK(r.link.board().thread("i1").size() == 2);
    REQUIRE_FALSE(r.journal.empty());
    const auto* patch = r.platform.sent("PATCH", "/api/tasks/t1/review");
    REQUIRE(patch);
    Json body = Json::parse(patch->request.body);
    CHECK(body["base_revision"] == 4);
    CHECK(body["device"] == "ana-laptop.review");
    REQUIRE(body["operations"].size() == 1);
    CHECK(body["operations"][0]["kind"] == "comment");
    CHECK(body["operations"][0]["value"]["author"] == "ana");
    CHECK(body["operations"][0]["op_id"].get<std::string>().rfind("ana-laptop.review-", 0) == 0);
    r.link.on_reply(SyncReplied{patch->request.seq, 200, Json{{"revision", 5}, {"applied", {body["operations"][0]["op_id"]}}, {"duplicates", Json::array()}}.dump()});
    CHECK(r.link.to_json()["sync"]["pending"] == 0);
    CHECK_FALSE(r.link.reply("nope", "hello"));
    CHECK_FALSE(r.link.reply("i1", ""));
}

TEST_CASE("a write the server forbids is set aside with its message and the others are saved") {
    Review r;
    r.start();
    REQUIRE(r.link.set_issue_status("i1", IssueStatus::Resolved).empty());
    const auto* patch = r.platform.sent("PATCH", "/api/tasks/t1/review");
    REQUIRE(patch);
    Json refusal{{"error", {{"code", "forbidden"}, {"path", "/operations/0"},
                            {"message", "issue 'i1': a labeler may not change issues on frames 0 on (job 1) in stage annotation; a manager may"}}}};
    r.link.on_reply(SyncReplied{patch->request.seq, 403, refusal.dump()});
    Json status = r.link.to_json()["sync"];
    CHECK(status["state"] == "set-aside");
    CHECK(status["set_aside"] == 1);
    REQUIRE(r.link.reply("i1", "I cannot resolve it, can you?"));
    CHECK(r.platform.sent("PATCH", "/api/tasks/t1/review")->request.seq != patch->request.seq);
}

TEST_CASE("moving a job asks the server with the stage seen, and a refusal is a notice naming why") {
    Review r;
    r.start();
    REQUIRE(r.link.move_job(1, JobStage::Review).empty());
    const auto* move = r.platform.sent("PATCH", "/api/tasks/t1/jobs/1");
    REQUIRE(move);
    CHECK(Json::parse(move->request.body) == Json{{"stage", "review"}, {"from", "annotation"}});
    size_t asked = r.platform.sync_requests.size();
    r.link.on_reply(SyncReplied{move->request.seq, 403, R"({"error":{"code":"forbidden","message":"job 1 is assigned to 'bo', not to 'ana'"}})"});
    REQUIRE_FALSE(r.notices.list().empty());
    CHECK(r.notices.list().back().error.code == "forbidden");
    CHECK(r.notices.list().back().error.message.find("assigned to 'bo'") != std::string::npos);
    CHECK(r.platform.sync_requests.size() == asked + 1);  // the jobs are read again
    CHECK_FALSE(r.link.move_job(7, JobStage::Review).empty());
}

TEST_CASE("a job moves only once the edits made before it are saved: the issue before a return, the last box before a submit") {
    Review r;
    r.start();
    bool annotations_saved = false;
    int asked_to_save = 0;
    r.link.settle_edits = [&] { ++asked_to_save; return annotations_saved; };
    REQUIRE(r.link.reply("i1", "the box cuts the mirror"));
    const auto* patch = r.platform.sent("PATCH", "/api/tasks/t1/review");
    REQUIRE(patch);
    uint64_t write = patch->request.seq;
    Json ops = Json::parse(patch->request.body)["operations"];
    REQUIRE(r.link.move_job(1, JobStage::Review).empty());
    CHECK(r.platform.sent("PATCH", "/api/tasks/t1/jobs/1") == nullptr);
    CHECK(r.link.to_json()["jobs"][0]["moving_to"] == "review");
    CHECK_FALSE(r.link.move_job(1, JobStage::Review).empty());  // one move at a time

    r.link.on_reply(SyncReplied{write, 200, Json{{"revision", 5}, {"applied", {ops[0]["op_id"]}}, {"duplicates", Json::array()}}.dump()});
    r.link.send_waiting_moves();
    CHECK(asked_to_save > 0);
    CHECK(r.platform.sent("PATCH", "/api/tasks/t1/jobs/1") == nullptr);  // the annotations are still saving

    annotations_saved = true;
    r.link.send_waiting_moves();
    const auto* move = r.platform.sent("PATCH", "/api/tasks/t1/jobs/1");
    REQUIRE(move);
    CHECK(Json::parse(move->request.body) == Json{{"stage", "review"}, {"from", "annotation"}});
    CHECK(r.link.to_json()["jobs"][0]["moving_to"].is_null());
}

TEST_CASE("a job's move answered after a jobs read went out is not undone by that read's older answer") {
    Review r;
    r.start();
    REQUIRE(r.link.move_job(1, JobStage::Review).empty());
    const auto* move = r.platform.sent("PATCH", "/api/tasks/t1/jobs/1");
    REQUIRE(move);
    uint64_t move_seq = move->request.seq;
    r.link.refresh_jobs();  // the periodic read, sent before the server moved the job
    const auto* read = r.platform.sent("GET", "/api/tasks/t1/jobs");
    REQUIRE(read);
    uint64_t read_seq = read->request.seq;
    Json moved = r.jobs_reply("review")["jobs"][0];
    r.link.on_reply(SyncReplied{move_seq, 200, moved.dump()});
    CHECK(r.link.jobs()[0].stage == JobStage::Review);
    r.link.on_reply(SyncReplied{read_seq, 200, r.jobs_reply("annotation").dump()});
    CHECK(r.link.jobs()[0].stage == JobStage::Review);
    const auto* again = r.platform.sent("GET", "/api/tasks/t1/jobs");
    REQUIRE(again);
    CHECK(again->request.seq != read_seq);
    r.link.on_reply(SyncReplied{again->request.seq, 200, r.jobs_reply("review").dump()});
    CHECK(r.link.jobs()[0].stage == JobStage::Review);
}

TEST_CASE("offline the review link starts from the journal and catches up later; a backend without review turns it off") {
    Review offline;
    SyncConfig c = Review::config();
    c.resource = "review";
    c.device_id = "ana-laptop.review";
    c.task_id = "t1";
    auto earlier = SyncEngine::create(c);
    REQUIRE(earlier);
    earlier->restore({}, 0);
    Json comment{{"id", "c9"}, {"issue", "i1"}, {"text", "written offline"}, {"author", "ana"}};
    std::vector<std::string> records;
    for (const JournalRecord& rec : earlier->record_item(SyncKind::Comment, "c9", std::nullopt, comment, 0).journal_put) records.push_back(rec.text);
    offline.link.journal_read(records, "");
    offline.link.task_known("t1");
    const auto* items = offline.platform.sent("GET", "/api/tasks/t1/review");
    REQUIRE(items);
    offline.link.on_failure(SyncFailed{items->request.seq, false});
    CHECK(offline.link.started());
    CHECK(offline.link.board().comment("c9") != nullptr);

    Review other;
    other.link.journal_read({}, "");
    other.link.task_known("t1");
    other.answer("GET", "/api/tasks/t1/review", 404, Json{{"error", {{"code", "not_found"}, {"message", "no API route"}}}});
    CHECK_FALSE(other.link.enabled());
    CHECK_FALSE(other.link.open_issue(0, {1, 1}, "", "x"));
}

TEST_CASE("the review engine numbers its requests apart from the annotation engine's, whose replies it must not take") {
    Review r;
    r.link.journal_read({}, "");
    r.link.task_known("t1");
    r.answer("GET", "/api/tasks/t1/review", 200, r.items_reply());
    const auto* catchup = r.platform.sent("GET", "/api/tasks/t1/review?since=4");
    REQUIRE(catchup);
    SyncConfig annotations = Review::config();  // the same settings, the same seed, as the app gives both
    annotations.task_id = "t1";
    auto engine = SyncEngine::create(annotations);
    REQUIRE(engine);
    engine->restore({}, 4);
    auto first = engine->poll(0);
    REQUIRE(first);
    CHECK(first->seq != catchup->request.seq);
    CHECK_FALSE(r.link.owns(first->seq));
    CHECK(r.link.owns(catchup->request.seq));
}

TEST_CASE("back online, a reply that failed to send goes out at once, not after the back-off") {
    Review r;
    r.start();
    REQUIRE(r.link.reply("i1", "written on a train"));
    const auto* patch = r.platform.sent("PATCH", "/api/tasks/t1/review");
    REQUIRE(patch);
    uint64_t failed = patch->request.seq;
    r.link.on_failure(SyncFailed{failed, false});
    CHECK(r.link.to_json()["sync"]["state"] == "offline");
    size_t asked = r.platform.sync_requests.size();
    r.link.tick();  // the back-off (a second at least) has not passed
    CHECK(r.platform.sync_requests.size() == asked);
    r.link.flush();  // what the page's "online" event does
    const auto* again = r.platform.sent("PATCH", "/api/tasks/t1/review");
    REQUIRE(again);
    CHECK(again->request.seq != failed);
    CHECK(Json::parse(again->request.body)["operations"][0]["value"]["text"] == "written on a train");
}

TEST_CASE("an item's history is asked for by id, and only the answer to the last question is kept") {
    Review r;
    r.start();
    r.link.fetch_item_history("box-1");
    const auto* first = r.platform.sent("GET", "/api/tasks/t1/history?item=box-1");
    REQUIRE(first);
    uint64_t first_seq = first->request.seq;
    r.link.fetch_item_history("box-2");
    CHECK(r.link.item_history("box-1") == nullptr);
    Json made{{"entries", Json::array({Json{{"revision", 2}, {"id", "box-1"}, {"op", "create"}, {"user", "ana"}, {"role", "labeler"}, {"stage", "annotation"}, {"at", "2026-12-07T09:00:00.000Z"}}})}};
    r.link.on_reply(SyncReplied{first_seq, 200, made.dump()});  // late: box-2 is wanted now
    CHECK(r.link.item_history("box-1") == nullptr);
    CHECK(r.link.item_history("box-2") == nullptr);
    made["entries"][0]["id"] = "box-2";
    r.answer("GET", "/api/tasks/t1/history?item=box-2", 200, made);
    const std::vector<ItemEvent>* events = r.link.item_history("box-2");
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    CHECK((*events)[0].user == "ana");
    CHECK((*events)[0].stage == "annotation");
}

// [SECTION] Through a backend profile with a review section (docs/PROFILES.md section 7)

namespace {

Json profile_file(const std::string& name) {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/" + name + ".json");
    return Json::parse(in);
}

ProfileContext cvat_job() {
    ProfileContext c;
    c.vars = {{"job", 42}, {"task", "t1"}};
    return c;
}

Json cvat_job_json(const char* stage, const char* state = "new") {
    return Json{{"id", 42}, {"task_id", 9}, {"start_frame", 0}, {"stop_frame", 99}, {"stage", stage}, {"state", state}, {"assignee", nullptr}};
}

Json page(Json results) { return Json{{"count", results.size()}, {"next", nullptr}, {"previous", nullptr}, {"results", std::move(results)}}; }

}  // namespace

TEST_CASE("with the cvat profile, the review link reads CVAT's job and issues, and writes CVAT's routes") {
    Review r;
    auto client = ProfileClient::open(profile_file("cvat"), in_process_transport(std::make_shared<ProfileHost>()));
    REQUIRE(client);
    r.link.token("secret");
    r.link.journal_read({}, "");
    r.link.use_profile(client.value().get(), cvat_job());
    r.link.task_known("t1");
    CHECK_FALSE(r.platform.sent("GET", "/api/tasks/t1/review"));  // serve.py's routes are not asked
    const auto* job = r.platform.sent("GET", "/api/jobs/42");
    REQUIRE(job);
    CHECK(job->url == "http://server/api/jobs/42");
    bool token = false;
    for (const auto& [name, value] : job->request.headers) token = token || (name == "Authorization" && value == "Token secret");
    CHECK(token);
    r.answer("GET", "/api/jobs/42", 200, cvat_job_json("validation"));
    REQUIRE(r.link.jobs().size() == 1);
    CHECK(r.link.jobs()[0].stage == JobStage::Review);
    // The first catch-up lists the job's issues, then each issue's comments.
    r.answer("GET", "/api/issues?job_id=42&page_size=100", 200, page(Json::array({Json{{"id", 7}, {"frame", 2}, {"position", {1.0, 2.0}}, {"job", 42},
        {"owner", {{"id", 4}, {"username", "bo"}}}, {"resolved", false}}})));
    r.answer("GET", "/api/comments?issue_id=7&page_size=100", 200, page(Json::array({Json{{"id", 30}, {"issue", 7},
        {"owner", {{"id", 4}, {"username", "bo"}}}, {"message", "the mirror"}}})));
    REQUIRE(r.link.board().issue("cvat-issue-7"));
    REQUIRE(r.link.board().thread("cvat-issue-7").size() == 1);
    CHECK(r.link.board().thread("cvat-issue-7")[0]->text == "the mirror");

    // An issue opened with its text: one POST carrying CVAT's required message.
    REQUIRE(r.link.open_issue(3, {10, 20, 30, 40}, "car", "the box cuts the wheel"));
    r.link.tick();
    const auto* post = r.platform.sent("POST", "/api/issues");
    REQUIRE(post);
    CHECK(Json::parse(post->request.body) == Json{{"job", 42}, {"position", {10, 20, 30, 40}}, {"frame", 3}, {"resolved", false}, {"message", "the box cuts the wheel"}});
    r.link.on_reply(SyncReplied{post->request.seq, 201, Json{{"id", 8}, {"frame", 3}, {"position", {10.0, 20.0, 30.0, 40.0}}, {"job", 42},
        {"owner", {{"id", 3}, {"username", "ana"}}}, {"resolved", false}}.dump()});
    r.answer("GET", "/api/comments?issue_id=8&page_size=100", 200, page(Json::array({Json{{"id", 31}, {"issue", 8},
        {"owner", {{"id", 3}, {"username", "ana"}}}, {"message", "the box cuts the wheel"}}})));
    CHECK(r.link.to_json()["sync"]["pending"] == 0);
    // The engine catches up after its save: our issue comes back unchanged, not as a remote change.
    Json issue7{{"id", 7}, {"frame", 2}, {"position", {1.0, 2.0}}, {"job", 42}, {"owner", {{"id", 4}, {"username", "bo"}}}, {"resolved", false}};
    Json issue8{{"id", 8}, {"frame", 3}, {"position", {10.0, 20.0, 30.0, 40.0}}, {"job", 42}, {"owner", {{"id", 3}, {"username", "ana"}}}, {"resolved", false}};
    r.answer("GET", "/api/issues?job_id=42&page_size=100", 200, page(Json::array({issue7, issue8})));
    r.answer("GET", "/api/comments?issue_id=7&page_size=100", 200, page(Json::array({Json{{"id", 30}, {"issue", 7},
        {"owner", {{"id", 4}, {"username", "bo"}}}, {"message", "the mirror"}}})));
    r.answer("GET", "/api/comments?issue_id=8&page_size=100", 200, page(Json::array({Json{{"id", 31}, {"issue", 8},
        {"owner", {{"id", 3}, {"username", "ana"}}}, {"message", "the box cuts the wheel"}}})));
    CHECK(r.link.board().issues().size() == 2);

    // A decision: CVAT has none; it is set aside with the profile's reason, kept in the journal.
    REQUIRE(r.link.decide("car", 3, Verdict::Rejected, "too loose", 0));
    r.link.tick();
    Json sync = r.link.to_json()["sync"];
    INFO(r.link.to_json().dump());
    REQUIRE(sync["setAsideList"].size() == 1);
    CHECK(sync["setAsideList"][0]["kind"] == "decision");
    CHECK(sync["setAsideList"][0]["message"].get<std::string>().find("CVAT has no per-object accept or reject") != std::string::npos);

    // Moving the job: CVAT's stage and state, no `from`.
    REQUIRE(r.link.move_job(42, JobStage::Accepted).empty());
    const auto* move = r.platform.sent("PATCH", "/api/jobs/42");
    REQUIRE(move);
    CHECK(Json::parse(move->request.body) == Json{{"stage", "acceptance"}, {"state", "completed"}});
}

TEST_CASE("a profile without a review section turns review off") {
    Review r;
    auto client = ProfileClient::open(profile_file("rest"), in_process_transport(std::make_shared<ProfileHost>()));
    REQUIRE(client);
    r.link.journal_read({}, "");
    r.link.use_profile(client.value()->has_review() ? client.value().get() : nullptr, cvat_job());
    r.link.task_known("t1");
    CHECK_FALSE(r.link.enabled());
    CHECK(r.platform.sync_requests.empty());
}

TEST_CASE("the review link learns the task's guideline version with the jobs, tells when it changes, and keeps it offline") {
    Review r;
    std::vector<std::optional<long long>> told;
    r.link.on_guideline = [&](std::optional<long long> previous) { told.push_back(previous); };
    r.link.journal_read({}, "");
    r.link.task_known("t1");
    CHECK_FALSE(r.link.guideline_version().has_value());
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/guidelines/versions", 200, Json{{"current", 0}, {"versions", Json::array()}});
    CHECK_FALSE(r.link.guideline_version().has_value());  // no guidelines yet: nothing to stamp
    CHECK(told.empty());
    r.link.refresh_jobs();
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/guidelines/versions", 200, Json{{"current", 1}, {"versions", Json::array()}});
    CHECK(r.link.guideline_version() == 1);
    REQUIRE(told.size() == 1);
    CHECK_FALSE(told[0].has_value());
    r.link.refresh_jobs();
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/guidelines/versions", 200, Json{{"current", 1}, {"versions", Json::array()}});
    CHECK(told.size() == 1);  // unchanged: not told again
    r.link.refresh_jobs();
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    const auto* offline = r.platform.sent("GET", "/api/tasks/t1/guidelines/versions");
    REQUIRE(offline);
    r.link.on_failure(SyncFailed{offline->request.seq, false});
    CHECK(r.link.guideline_version() == 1);  // offline: the last known version stays
    r.link.refresh_jobs();
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/guidelines/versions", 200, Json{{"current", 3}, {"versions", Json::array()}});
    CHECK(r.link.guideline_version() == 3);
    REQUIRE(told.size() == 2);
    CHECK(told[1] == 1);
    r.link.refresh_jobs();
    r.answer("GET", "/api/tasks/t1/jobs", 200, r.jobs_reply());
    r.answer("GET", "/api/tasks/t1/guidelines/versions", 404, Json{{"error", {{"code", "not_found"}, {"message", "no API route"}}}});
    CHECK(r.link.guideline_version() == 3);
}
