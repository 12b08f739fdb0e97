#include "app/review_link.hpp"

#include "polymark/json_reader.hpp"

#include <algorithm>
#include <chrono>

namespace pm {

namespace {

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const std::string kEmpty;

std::optional<ReviewKind> review_kind(SyncKind k) {
    if (k == SyncKind::Issue) return ReviewKind::Issue;
    if (k == SyncKind::Comment) return ReviewKind::Comment;
    if (k == SyncKind::Decision) return ReviewKind::Decision;
    return std::nullopt;
}

// The review engine's own device id: op ids ("<device>-<n>") stay unique beside the annotation engine's.
std::string review_device(const std::string& device) { return device.substr(0, 92) + ".review"; }

std::string error_message(int status, const std::string& body) {
    Json j = Json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") && j["error"]["message"].is_string())
        return j["error"]["message"].get<std::string>();
    return "the server answered HTTP " + std::to_string(status);
}

}  // namespace

ReviewLink::ReviewLink(PlatformPort& platform, Notices& notices, BackendUrls urls, std::optional<SyncConfig> sync, JournalWriter write_journal)
    : platform_(platform), notices_(notices), urls_(std::move(urls)), sync_(std::move(sync)), write_journal_(std::move(write_journal)) {
    if (!sync_) return;
    sync_->resource = "review";
    sync_->device_id = review_device(sync_->device_id);
    // A seed of its own: the engines number their requests from their seeds, and the app routes a
    // reply by its number (the same seed made the annotation engine's replies look like this one's).
    sync_->seed ^= 0x9E3779B97F4A7C15ull;
    // Ids of this page's review items: a prefix from the device id, then a counter.
    uint64_t h = 1469598103934665603ull;
    for (char c : sync_->device_id) h = (h ^ (unsigned char)c) * 1099511628211ull;
    for (int i = 0; i < 6; ++i, h /= 36) id_prefix_ += "0123456789abcdefghijklmnopqrstuvwxyz"[h % 36];
    id_prefix_ += std::to_string(steady_ms() % 100000);
}

const std::string& ReviewLink::user() const { return sync_ ? sync_->user_id : kEmpty; }
const std::string& ReviewLink::role() const { return sync_ ? sync_->role : kEmpty; }

// [SECTION] Start

void ReviewLink::journal_read(const std::vector<std::string>& records, const std::string& device_id) {
    if (!sync_ || journal_ || engine_) return;
    if (!device_id.empty()) sync_->device_id = review_device(device_id);
    journal_ = records;
    if (!task_id_.empty()) start_items();
}

void ReviewLink::task_known(const std::string& task_id) {
    if (!sync_ || !task_id_.empty()) return;
    task_id_ = task_id;
    if (journal_) start_items();
}

void ReviewLink::start_items() {
    refresh_jobs();
    // Through a profile the engine's first catch-up (since 0) brings every item.
    if (profile_) {
        begin(0);
        if (engine_) engine_->request_catchup();
        return poll();
    }
    send(Ask::Items, "GET", "/api/tasks/" + task_id_ + "/review", "");
}

void ReviewLink::use_profile(ProfileClient* client, const ProfileContext& context) {
    Errors refused = client ? client->review_start(context) : Errors{};
    if (!client || !refused.empty()) {
        if (!refused.empty()) notices_.report(refused.front());
        sync_.reset();
        journal_.reset();
        return changed();
    }
    profile_ = client;
    if (!token_.empty()) profile_->review_set_token(token_);
}

void ReviewLink::on_items(int status, const std::string& body) {
    if (status == 404) {  // a backend without review (another server, an older serve.py): review stays off
        sync_.reset();
        journal_.reset();
        return changed();
    }
    int64_t revision = 0;
    if (status == 200) {
        auto reply = parse_json_text(body, "the review items");
        const Json* changes = reply && reply->is_object() && reply->contains("changes") ? &reply.value()["changes"] : nullptr;
        if (changes && changes->is_array() && reply.value().contains("revision") && reply.value()["revision"].is_number_integer()) {
            revision = reply.value()["revision"].get<int64_t>();
            for (const Json& c : *changes) {
                auto kind = c.is_object() && c.contains("kind") && c["kind"].is_string() ? review_kind_from_string(c["kind"].get<std::string>()) : std::nullopt;
                if (!kind || !c.contains("id") || !c["id"].is_string() || !c.contains("value") || c["value"].is_null()) continue;
                auto text = [&](const char* k) { return c.contains(k) && c[k].is_string() ? c[k].get<std::string>() : std::string(); };
                ReviewStamp stamp{c.contains("revision") && c["revision"].is_number_integer() ? c["revision"].get<int64_t>() : 0, text("user"), text("role"), text("at")};
                if (auto applied = board_.apply(*kind, c["id"].get<std::string>(), c["value"], stamp); !applied)
                    notices_.report({"unreadable_change", "/review", "a review item from the server was left out: " + applied.first_error().message});
            }
        }
    }
    // Offline or refused: the engine starts from nothing and its catch-up brings everything.
    begin(revision);
}

void ReviewLink::begin(int64_t revision) {
    if (engine_ || !journal_) return;
    SyncConfig config = *sync_;
    config.task_id = task_id_;
    auto engine = SyncEngine::create(config);
    std::vector<std::string> records = std::move(*journal_);
    journal_.reset();
    if (!engine) {
        notices_.report(engine.first_error());
        return;
    }
    engine_ = std::move(engine.value());
    if (!token_.empty()) engine_->set_token(token_);
    SyncOutput out = engine_->restore(records, revision);
    for (const WireOp& op : engine_->pending_ops())  // this page's unsaved review writes, back on the board
        if (auto kind = review_kind(op.kind))
            (void)board_.apply(*kind, op.id, op.op == SyncOpType::Delete ? std::nullopt : std::optional<Json>(op.value), ReviewStamp{0, config.user_id, config.role, ""});
    handle_output(std::move(out));
    poll();
}

// [SECTION] Requests

void ReviewLink::send(Ask ask, const std::string& method, const std::string& path, std::string body, int64_t job_id) {
    SyncRequest r;
    r.method = method;
    r.path = path;
    r.body = std::move(body);
    r.headers = {{"Accept", "application/json"}};
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    if (!token_.empty()) r.headers.emplace_back("Authorization", "Bearer " + token_);
    if (sync_ && !sync_->role.empty()) r.headers.emplace_back("X-Polymark-Role", sync_->role);
    // Who moves a job (a token that names a user wins on the server).
    if (sync_ && !sync_->user_id.empty()) r.headers.emplace_back("X-Polymark-User", sync_->user_id);
    if (sync_) r.headers.emplace_back("X-Polymark-Device", sync_->device_id);
    send_request(ask, std::move(r), job_id);
}

// A plain request (serve.py's, or the profile's with its own headers), numbered in our range.
void ReviewLink::send_request(Ask ask, SyncRequest r, int64_t job_id) {
    r.seq = next_seq_++;
    r.timeout_ms = sync_ ? sync_->timeout_ms : 20000;
    asks_.push_back({r.seq, ask, job_id});
    if (!platform_.sync_request(r, urls_.api(r.path))) on_failure(SyncFailed{r.seq, false});
}

// A step of the profile's review adapter: its backend request goes out under a number of ours (the
// annotations' profile numbers its requests alike); its reply goes to the engine.
void ReviewLink::handle_profile_step(ProfileStep step) {
    while (step.request) {
        SyncRequest r = std::move(*step.request);
        uint64_t theirs = r.seq;
        r.seq = next_seq_++;
        if (platform_.sync_request(r, urls_.api(r.path))) {
            profile_seqs_[r.seq] = theirs;
            break;
        }
        step = profile_->review_backend_failure(theirs, SyncFailure::Network);
    }
    if (step.reply && engine_) {
        handle_output(engine_->on_reply(step.reply->seq, step.reply->status, step.reply->body, steady_ms()));
        poll();
    }
}

bool ReviewLink::owns(uint64_t seq) const {
    if (seq >= (uint64_t(1) << 50)) return true;
    return std::find(engine_seqs_.begin(), engine_seqs_.end(), seq) != engine_seqs_.end();
}

void ReviewLink::on_reply(const SyncReplied& r) {
    for (size_t i = 0; i < asks_.size(); ++i) {
        if (asks_[i].seq != r.seq) continue;
        Outstanding ask = asks_[i];
        asks_.erase(asks_.begin() + (long)i);
        switch (ask.ask) {
            case Ask::Items: return on_items(r.status, r.body);
            case Ask::Jobs: return on_jobs(r.status, r.body);
            case Ask::MoveJob: return on_moved(ask.job_id, r.status, r.body);
            case Ask::History: return on_history(r.status, r.body);
            case Ask::ItemHistory: return on_item_history(ask.seq, r.status, r.body);
            case Ask::Guidelines: return on_guidelines(r.status, r.body);
        }
    }
    if (auto it = profile_seqs_.find(r.seq); it != profile_seqs_.end()) {
        uint64_t theirs = it->second;
        profile_seqs_.erase(it);
        return handle_profile_step(profile_->review_backend_reply(theirs, r.status, r.body));
    }
    if (!engine_) return;
    handle_output(engine_->on_reply(r.seq, r.status, r.body, steady_ms()));
    poll();
}

void ReviewLink::on_failure(const SyncFailed& f) {
    for (size_t i = 0; i < asks_.size(); ++i) {
        if (asks_[i].seq != f.seq) continue;
        Outstanding ask = asks_[i];
        asks_.erase(asks_.begin() + (long)i);
        if (ask.ask == Ask::Items) return begin(0);
        if (ask.ask == Ask::MoveJob)
            notices_.report({"network", "/jobs/" + std::to_string(ask.job_id), "job " + std::to_string(ask.job_id) + " was not moved: the server did not answer; try again when online"});
        return;
    }
    if (auto it = profile_seqs_.find(f.seq); it != profile_seqs_.end()) {
        uint64_t theirs = it->second;
        profile_seqs_.erase(it);
        return handle_profile_step(profile_->review_backend_failure(theirs, f.timeout ? SyncFailure::Timeout : SyncFailure::Network));
    }
    if (!engine_) return;
    handle_output(engine_->on_failure(f.seq, f.timeout ? SyncFailure::Timeout : SyncFailure::Network, steady_ms()));
}

void ReviewLink::tick() {
    // Jobs move by other people's hands too: read them as often as the engine catches up.
    int64_t interval = sync_ ? sync_->catchup_interval_ms : 0;
    if (engine_ && interval > 0 && steady_ms() - jobs_read_ms_ >= interval) refresh_jobs();
    poll();
}

void ReviewLink::flush() {
    if (!engine_) return;
    int64_t now = steady_ms();
    if (engine_->status().state == SyncState::Error) engine_->retry(now);
    else engine_->flush(now);
    poll();
}

void ReviewLink::catchup() {
    if (!engine_) return;
    engine_->request_catchup();
    refresh_jobs();
    poll();
}

void ReviewLink::token(std::string token) {
    token_ = token;
    if (profile_) profile_->review_set_token(token);
    if (engine_) engine_->set_token(std::move(token));
    poll();
}

void ReviewLink::poll() {
    if (!engine_) return;
    if (auto request = engine_->poll(steady_ms())) {
        if (profile_) return handle_profile_step(profile_->review_begin(*request));
        engine_seqs_.push_back(request->seq);
        if (engine_seqs_.size() > 64) engine_seqs_.erase(engine_seqs_.begin());
        if (!platform_.sync_request(*request, urls_.api(request->path)))
            handle_output(engine_->on_failure(request->seq, SyncFailure::Network, steady_ms()));
    }
}

void ReviewLink::handle_output(SyncOutput out) {
    if (!out.journal_put.empty() || !out.journal_delete.empty()) write_journal_(out.journal_put, out.journal_delete);
    bool any = false;
    for (const RemoteChange& c : out.remote)
        if (auto kind = review_kind(c.kind)) {
            auto applied = board_.apply(*kind, c.id, c.value, ReviewStamp{c.revision, c.user, c.role, c.at});
            if (!applied) notices_.report({"unreadable_change", c.id, "the server's " + std::string(to_string(c.kind)) + " '" + c.id + "' was left out: " + applied.first_error().message});
            else any = any || applied.value();
        }
    for (Error& e : out.errors) notices_.report(std::move(e));
    if (any) changed();
}

void ReviewLink::changed() {
    ++version_;
    if (on_changed) on_changed();
}

// [SECTION] Jobs and history

void ReviewLink::refresh_jobs() {
    if (!sync_ || task_id_.empty()) return;
    auto asking = [&](Ask ask) { return std::any_of(asks_.begin(), asks_.end(), [&](const Outstanding& a) { return a.ask == ask; }); };
    if (!asking(Ask::Jobs)) {  // one read at a time
        jobs_read_ms_ = steady_ms();
        jobs_stale_ = false;
        if (profile_) send_request(Ask::Jobs, profile_->job_request(), 0);
        else send(Ask::Jobs, "GET", "/api/tasks/" + task_id_ + "/jobs", "");
    }
    // A profile's backend has no guidelines route.
    if (!profile_ && !asking(Ask::Guidelines)) send(Ask::Guidelines, "GET", "/api/tasks/" + task_id_ + "/guidelines/versions", "");
}

void ReviewLink::on_guidelines(int status, const std::string& body) {
    if (status != 200) return;  // offline, or a backend without guidelines: the last known version stays
    Json reply = Json::parse(body, nullptr, false);
    if (!reply.is_object() || !reply.contains("current") || !reply["current"].is_number_integer()) return;
    long long current = reply["current"].get<long long>();
    if (current < 1 || (guideline_ && *guideline_ == current)) return;
    std::optional<long long> previous = guideline_;
    guideline_ = current;
    if (on_guideline) on_guideline(previous);
}

void ReviewLink::on_jobs(int status, const std::string& body) {
    if (status != 200) return;  // offline or another backend: the jobs stay as last known
    if (jobs_stale_) return refresh_jobs();  // read before the last move was answered (a failing server is not asked again at once)
    auto reply = profile_ ? profile_->jobs_reply(status, body) : parse_json_text(body, "the jobs");
    if (!reply) return notices_.report(reply.first_error());
    auto jobs = jobs_from_json(reply.value());
    if (!jobs) return notices_.report(jobs.first_error());
    jobs_ = std::move(jobs.value());
    changed();
}

Errors ReviewLink::move_job(int64_t job_id, JobStage stage) {
    auto job = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.id == job_id; });
    if (job == jobs_.end()) return {{"not_found", std::to_string(job_id), "there is no job " + std::to_string(job_id)}};
    if (profile_)  // what the profile cannot map is said now, not when the move goes out
        if (auto request = profile_->move_request(job->stage, stage); !request) return request.errors();
    if (moving_to(job_id)) return {{"busy", std::to_string(job_id), "job " + std::to_string(job_id) + " is already moving to " + to_string(*moving_to(job_id))}};
    moves_waiting_.push_back({job_id, job->stage, stage});
    changed();
    if (engine_ && engine_->status().pending > 0) {
        engine_->flush(steady_ms());
        poll();
    }
    send_waiting_moves();
    return {};
}

std::optional<JobStage> ReviewLink::moving_to(int64_t job_id) const {
    for (const WaitingMove& m : moves_waiting_)
        if (m.job_id == job_id) return m.to;
    return std::nullopt;
}

void ReviewLink::send_waiting_moves() {
    if (moves_waiting_.empty()) return;
    if (engine_ && engine_->status().pending > 0) return;
    if (settle_edits && !settle_edits()) return;
    std::vector<WaitingMove> moves = std::move(moves_waiting_);
    moves_waiting_.clear();
    for (const WaitingMove& m : moves) {
        if (profile_) {
            auto request = profile_->move_request(m.from, m.to);
            if (!request) {
                for (const Error& e : request.errors()) notices_.report(e);
                continue;
            }
            send_request(Ask::MoveJob, std::move(request.value()), m.job_id);
            continue;
        }
        Json body{{"stage", to_string(m.to)}, {"from", to_string(m.from)}};
        send(Ask::MoveJob, "PATCH", "/api/tasks/" + task_id_ + "/jobs/" + std::to_string(m.job_id), body.dump(), m.job_id);
    }
    changed();
}

void ReviewLink::on_moved(int64_t job_id, int status, const std::string& body) {
    if (status != 200) {
        notices_.report({status == 403 ? "forbidden" : "job_not_moved", "/jobs/" + std::to_string(job_id),
                         "job " + std::to_string(job_id) + " was not moved: " + error_message(status, body)});
    } else if (!profile_) {  // serve.py answers with the job as it is now
        Json reply = Json::parse(body, nullptr, false);
        auto moved = jobs_from_json(Json{{"jobs", Json::array({reply})}});
        if (moved && moved.value().size() == 1)
            for (Job& j : jobs_)
                if (j.id == moved.value()[0].id) {
                    int open_issues = j.open_issues;  // counted in the jobs list only
                    j = moved.value()[0];
                    j.open_issues = open_issues;
                    changed();
                }
    }
    jobs_stale_ = true;
    refresh_jobs();
}

void ReviewLink::fetch_changes_since_review(const Job& job) {
    marks_.clear();
    removed_ = Document{};
    if (!job.reviewed_revision || profile_) return changed();  // a profile's backend has no history route
    send(Ask::History, "GET", "/api/tasks/" + task_id_ + "/history?after=" + std::to_string(*job.reviewed_revision), "");
}

void ReviewLink::on_history(int status, const std::string& body) {
    if (status != 200) return;
    auto reply = parse_json_text(body, "the history");
    if (!reply) return;
    auto marks = pm::changes_since_review(reply.value());
    if (!marks) return;
    marks_ = std::move(marks.value());
    removed_ = pm::removed_since_review(marks_);
    changed();
}

void ReviewLink::fetch_item_history(const std::string& id) {
    history_of_ = id;
    history_in_ = false;
    if (profile_) return;
    history_seq_ = next_seq_;  // only the last question counts: an answer about an earlier item is dropped
    send(Ask::ItemHistory, "GET", "/api/tasks/" + task_id_ + "/history?item=" + id, "");
}

void ReviewLink::on_item_history(uint64_t seq, int status, const std::string& body) {
    if (seq != history_seq_ || status != 200) return;
    auto reply = parse_json_text(body, "the history");
    if (!reply) return;
    auto events = item_events(reply.value());
    if (!events) return;
    item_history_ = std::move(events.value());
    history_in_ = true;
    changed();
}

// [SECTION] Writing

std::string ReviewLink::next_id(const char* kind) { return std::string(kind) + "." + id_prefix_ + "." + std::to_string(++next_id_); }

Errors ReviewLink::write(SyncKind kind, ReviewKind review_kind, const std::string& id, const std::optional<Json>& before, const Json& after, bool send) {
    if (!engine_) return {{"read_only", "review", sync_ ? "review is still loading" : "review needs a task synced with serve.py"}};
    auto applied = board_.apply(review_kind, id, after, ReviewStamp{0, sync_->user_id, sync_->role, ""});
    if (!applied) return applied.errors();
    handle_output(engine_->record_item(kind, id, before, after, steady_ms()));
    changed();
    if (send) poll();
    return {};
}

Expected<std::string> ReviewLink::open_issue(long long frame, std::vector<double> points, const std::string& item, const std::string& text) {
    Issue issue;
    issue.id = next_id("issue");
    issue.frame = frame;
    issue.points = std::move(points);
    issue.item = item;
    issue.author = user();
    Json value = issue_to_json(issue);
    if (auto bad = check_review_value(ReviewKind::Issue, value, "")) return *bad;
    if (!text.empty()) {
        Comment first{next_id("comment"), issue.id, text, user(), Json()};
        if (auto bad = check_review_value(ReviewKind::Comment, comment_to_json(first), "")) return *bad;
        // One batch: a backend like CVAT opens an issue only together with its first comment.
        if (Errors e = write(SyncKind::Issue, ReviewKind::Issue, issue.id, std::nullopt, value, false); !e.empty()) return e;
        if (Errors e = write(SyncKind::Comment, ReviewKind::Comment, first.id, std::nullopt, comment_to_json(first)); !e.empty()) return e;
        return issue.id;
    }
    if (Errors e = write(SyncKind::Issue, ReviewKind::Issue, issue.id, std::nullopt, value); !e.empty()) return e;
    return issue.id;
}

Expected<std::string> ReviewLink::reply(const std::string& issue_id, const std::string& text) {
    if (!board_.issue(issue_id)) return Error{"not_found", issue_id, "there is no issue \"" + issue_id + "\""};
    Comment c{next_id("comment"), issue_id, text, user(), Json()};
    Json value = comment_to_json(c);
    if (auto bad = check_review_value(ReviewKind::Comment, value, "")) return *bad;
    if (Errors e = write(SyncKind::Comment, ReviewKind::Comment, c.id, std::nullopt, value); !e.empty()) return e;
    return c.id;
}

Errors ReviewLink::set_issue_status(const std::string& issue_id, IssueStatus status) {
    const Issue* found = board_.issue(issue_id);
    if (!found) return {{"not_found", issue_id, "there is no issue \"" + issue_id + "\""}};
    if (found->status == status) return {};
    Issue changed_issue = *found;
    changed_issue.status = status;
    return write(SyncKind::Issue, ReviewKind::Issue, issue_id, issue_to_json(*found), issue_to_json(changed_issue));
}

Expected<std::string> ReviewLink::decide(const std::string& item, long long frame, Verdict verdict, const std::string& reason, int64_t item_revision) {
    Decision d;
    d.id = next_id("decision");
    d.item = item;
    d.frame = frame;
    d.verdict = verdict;
    d.reason = reason;
    if (item_revision > 0) d.revision = item_revision;
    d.author = user();
    Json value = decision_to_json(d);
    if (auto bad = check_review_value(ReviewKind::Decision, value, "")) return *bad;
    if (Errors e = write(SyncKind::Decision, ReviewKind::Decision, d.id, std::nullopt, value); !e.empty()) return e;
    return d.id;
}

// [SECTION] Reading

Json ReviewLink::to_json() const {
    auto stamped = [&](Json value, const std::string& id) {
        if (const ReviewStamp* s = board_.stamp(id)) {
            value["revision"] = s->revision;
            value["user"] = s->user;
            value["role"] = s->role;
            value["at"] = s->at;
        }
        return value;
    };
    Json jobs = Json::array();
    for (const Job& j : jobs_)
        jobs.push_back(Json{{"id", j.id}, {"start_frame", j.start_frame}, {"stop_frame", j.stop_frame ? Json(*j.stop_frame) : Json()},
                            {"stage", to_string(j.stage)}, {"assignee", j.assignee}, {"reviewer", j.reviewer},
                            {"reviewed_revision", j.reviewed_revision ? Json(*j.reviewed_revision) : Json()},
                            {"open_issues", board_.open_issues(j.start_frame, j.stop_frame).size()},
                            {"moving_to", moving_to(j.id) ? Json(to_string(*moving_to(j.id))) : Json()}});
    Json issues = Json::array();
    for (const auto& [id, issue] : board_.issues()) {
        Json thread = Json::array();
        for (const Comment* c : board_.thread(id)) thread.push_back(stamped(comment_to_json(*c), c->id));
        Json value = stamped(issue_to_json(issue), id);
        value["comments"] = std::move(thread);
        issues.push_back(std::move(value));
    }
    Json decisions = Json::array();
    for (const auto& [id, d] : board_.decisions()) decisions.push_back(stamped(decision_to_json(d), id));
    Json changes = Json::array();
    for (const auto& [id, c] : marks_) changes.push_back(Json{{"id", id}, {"change", c.mark == ChangeMark::New ? "new" : c.mark == ChangeMark::Edited ? "edited" : "deleted"}, {"user", c.user}});
    Json out{{"enabled", enabled()}, {"user", user()}, {"role", role()}, {"jobs", std::move(jobs)}, {"issues", std::move(issues)},
             {"decisions", std::move(decisions)}, {"changes_since_review", std::move(changes)}};
    if (engine_) {
        Json sync = sync_status_to_json(engine_->status());
        sync.erase("next_retry_ms");
        Json list = Json::array();
        for (const SetAsideItem& item : engine_->set_aside())
            list.push_back(Json{{"kind", to_string(item.kind)}, {"id", item.id}, {"op_id", item.op_id}, {"code", item.code}, {"message", item.message}});
        sync["setAsideList"] = std::move(list);
        out["sync"] = std::move(sync);
    } else {
        out["sync"] = Json{{"state", enabled() ? "loading" : "off"}};
    }
    return out;
}

}  // namespace pm
