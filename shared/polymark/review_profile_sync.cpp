#include "polymark/review_profile_sync.hpp"

#include "polymark/json_reader.hpp"
#include "polymark/profile_reply.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace pm {

namespace {

using profile_reply::dump;
using profile_reply::error_body;
using profile_reply::same_value;
using profile_reply::success;
using profile_reply::worth_retrying;

std::string text_of(const Json& v) { return v.is_string() ? v.get<std::string>() : dump(v); }

// Every member of `mine` (a payload we would send) is in `theirs` with the same value.
bool payload_matches(const Json& mine, const Json& theirs) {
    if (!mine.is_object() || !theirs.is_object()) return false;
    for (auto it = mine.begin(); it != mine.end(); ++it) {
        auto other = theirs.find(it.key());
        if (other == theirs.end() || !same_value(*it, *other)) return false;
    }
    return true;
}

std::optional<ReviewKind> review_kind_of(SyncKind k) {
    if (k == SyncKind::Issue) return ReviewKind::Issue;
    if (k == SyncKind::Comment) return ReviewKind::Comment;
    if (k == SyncKind::Decision) return ReviewKind::Decision;
    return std::nullopt;
}

std::string item_name(const WireOp& op) { return std::string(to_string(op.kind)) + " \"" + op.id + "\""; }

// The backend pointer of an item's id: the field whose ours is "/id" ("/id" when none says).
std::string id_pointer(const ReviewItemMap& m) {
    for (const FieldMap& f : m.part.fields)
        if (f.ours == "/id" && !f.theirs.empty()) return f.theirs;
    return "/id";
}

void remember(ProfileContext& c, const std::string& table, const Json& ours, const Json& theirs) {
    auto& rows = c.tables[table];
    rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const std::pair<Json, Json>& r) { return r.first == ours || r.second == theirs; }), rows.end());
    rows.emplace_back(ours, theirs);
}

bool table_has_backend(const ProfileContext& c, const std::string& table, const Json& theirs) {
    auto it = c.tables.find(table);
    if (it == c.tables.end()) return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const std::pair<Json, Json>& r) { return r.second == theirs; });
}

// A short account of a refusal's body (CVAT answers {"field": ["why"]} or {"detail": "why"}).
std::string detail_of(const std::string& body) {
    if (body.empty()) return "";
    std::string d = body.size() > 200 ? body.substr(0, 200) + "..." : body;
    return " (" + d + ")";
}

}  // namespace

// [SECTION] Making one

Expected<ReviewProfileSync> ReviewProfileSync::create(BackendProfile profile, ProfileContext context) {
    if (!profile.review.present || !review_map(profile, ReviewKind::Issue) || !review_map(profile, ReviewKind::Comment))
        return Error{"no_review", "/review", "the " + profile.name + " profile has no review section: review stays with serve.py"};
    return ReviewProfileSync(std::move(profile), std::move(context));
}

void ReviewProfileSync::set_token(std::string token) { context_.token = std::move(token); }

SyncRequest ReviewProfileSync::to_sync_request(const BackendRequest& request) const {
    return profile_reply::sync_request_of(request, timeout_ms_);
}

std::optional<Json> ReviewProfileSync::backend_id(ReviewKind kind, const std::string& our_id) const {
    const ReviewItemMap* m = review_map(profile_, kind);
    auto it = m ? context_.tables.find(m->id_table) : context_.tables.end();
    if (it == context_.tables.end()) return std::nullopt;
    for (const auto& [ours, theirs] : it->second)
        if (ours == Json(our_id)) return theirs;
    return std::nullopt;
}

std::optional<Json> ReviewProfileSync::read_known(ReviewKind kind, const Json& payload) {
    const ReviewItemMap* m = review_map(profile_, kind);
    const Json* id = m ? json_pointer_find(payload, id_pointer(*m)) : nullptr;
    if (!id || id->is_null()) return std::nullopt;
    review_our_id(profile_, context_, kind, *id);
    auto value = review_item_from_backend(profile_, context_, kind, payload);
    if (!value) return std::nullopt;
    return value.value();
}

// [SECTION] Jobs

SyncRequest ReviewProfileSync::job_request() const {
    auto request = review_request(profile_, context_, profile_.review.job_read, {}, nullptr);
    if (!request) return SyncRequest{};
    return to_sync_request(request.value());
}

Expected<Json> ReviewProfileSync::jobs_from_reply(int status, const std::string& body) const {
    SyncRequest request = job_request();
    std::string route = request.method + " " + request.path;
    if (!success(status)) return Error{status == 401 || status == 403 ? "unauthorized" : "load_failed", route, "the backend answered HTTP " + std::to_string(status) + " to " + route};
    auto json = parse_json_text(body, "the backend's job");
    if (!json) return json.errors();
    auto job = job_from_backend(profile_, context_, json.value());
    if (!job) return job.errors();
    return Json{{"jobs", Json::array({job.value()})}};
}

Expected<SyncRequest> ReviewProfileSync::move_request(JobStage from, JobStage to) const {
    auto request = job_move_to_backend(profile_, context_, from, to);
    if (!request) return request.errors();
    return to_sync_request(request.value());
}

// [SECTION] Engine requests

ProfileStep ReviewProfileSync::begin(const SyncRequest& engine_request) {
    if (job_) {
        auto it = sent_.find(job_->backend_seq);
        if (it != sent_.end() && it->second.purpose == Purpose::Send && it->second.op->op == SyncOpType::Create) {
            uncertain_[it->second.op->op_id] = *it->second.op;
            if (it->second.carried) uncertain_[it->second.carried->op_id] = *it->second.carried;
        }
        job_.reset();
    }
    timeout_ms_ = engine_request.timeout_ms;
    job_ = Job{};
    job_->engine_seq = engine_request.seq;
    if (engine_request.method == "GET") {
        job_->goal = Goal::Catchup;
        size_t at = engine_request.path.find("since=");
        if (at != std::string::npos) job_->since = std::strtoll(engine_request.path.c_str() + at + 6, nullptr, 10);
        job_->listing = Listing{};
        auto list = review_request(profile_, context_, profile_.review.issues.list.route, {}, nullptr);
        if (!list) return finish(422, error_body(list.first_error().code, list.first_error().message));
        return send_list(Purpose::ListIssues, list.value().path, Json());
    }
    if (engine_request.method != "PATCH") return finish(400, error_body("bad_request", "the review engine asked for " + engine_request.method + ", which no profile performs"));
    auto json = parse_json_text(engine_request.body, "the review engine's PATCH");
    const Json* list = json && json.value().is_object() && json.value().contains("operations") ? &json.value()["operations"] : nullptr;
    if (!list || !list->is_array()) return finish(400, error_body("bad_request", "the review engine's PATCH holds no operations"));
    for (size_t i = 0; i < list->size(); ++i) {
        auto op = wire_op_from_json((*list)[i], json_pointer_append("/operations", i));
        if (!op) return finish(400, error_body(op.first_error().code, op.first_error().message, op.first_error().path));
        job_->ops.push_back(std::move(op.value()));
    }
    if (auto base = json.value().find("base_revision"); base != json.value().end() && base->is_number_integer())
        revision_ = std::max(revision_, base->get<int64_t>());
    return advance();
}

std::string ReviewProfileSync::op_path() const { return json_pointer_append("/operations", job_->next); }

ProfileStep ReviewProfileSync::finish(int status, const std::string& body) {
    EngineReply reply{job_->engine_seq, status, body};
    job_.reset();
    return ProfileStep{std::nullopt, std::move(reply)};
}

// A refusal of the current op alone: the engine sets it aside and sends the others again.
ProfileStep ReviewProfileSync::refuse(int status, const std::string& code, const std::string& message) {
    return finish(status, error_body(code, message, op_path()));
}

ProfileStep ReviewProfileSync::fail_backend(int status, const std::string& route, const std::string& what) {
    std::string answered = route + " answered HTTP " + std::to_string(status);
    if (status == 401) return finish(401, error_body("unauthorized", "the backend refused the credentials: " + answered));
    if (worth_retrying(status)) return finish(503, error_body("backend_unavailable", "the backend is not available (" + answered + " " + what + "); retrying"));
    return finish(422, error_body("backend_refused", "the backend refused " + what + ": " + answered));
}

ProfileStep ReviewProfileSync::send(Purpose purpose, const BackendRequest& request, Sent sent) {
    SyncRequest r = to_sync_request(request);
    r.seq = next_seq_++;
    sent.purpose = purpose;
    sent.route = r.method + " " + r.path;
    sent_[r.seq] = std::move(sent);
    sent_order_.push_back(r.seq);
    while (sent_order_.size() > 64) {
        sent_.erase(sent_order_.front());
        sent_order_.pop_front();
    }
    job_->backend_seq = r.seq;
    return ProfileStep{std::move(r), std::nullopt};
}

ProfileStep ReviewProfileSync::send_list(Purpose purpose, const std::string& path, Json issue_id) {
    const ListRoute& list = purpose == Purpose::ListIssues ? profile_.review.issues.list : profile_.review.comments.list;
    auto request = review_request(profile_, context_, list.route, {{"issue", issue_id.is_null() ? Json(0) : issue_id}}, nullptr);
    if (!request) return finish(422, error_body(request.first_error().code, request.first_error().message));
    request.value().path = path;
    Sent sent;
    sent.issue_id = std::move(issue_id);
    return send(purpose, request.value(), std::move(sent));
}

const WireOp* ReviewProfileSync::first_comment_of(const WireOp& issue) const {
    auto is_first = [&](const WireOp& c) {
        return c.kind == SyncKind::Comment && c.op == SyncOpType::Create && !done_.count(c.op_id) && c.value.is_object() &&
               c.value.value("issue", Json()) == Json(issue.id);
    };
    if (job_)
        for (const WireOp& c : job_->ops)
            if (is_first(c)) return &c;
    for (const auto& [op_id, c] : uncertain_)
        if (is_first(c)) return &c;
    return nullptr;
}

ProfileStep ReviewProfileSync::advance() {
    while (job_->next < job_->ops.size()) {
        const WireOp& op = job_->ops[job_->next];
        if (job_->carried.count(op.op_id)) { ++job_->next; continue; }  // applied with its issue
        if (done_.count(op.op_id)) {
            job_->duplicates.push_back(op.op_id);
            ++job_->next;
            continue;
        }
        auto kind = review_kind_of(op.kind);
        if (!kind) return refuse(400, "bad_request", item_name(op) + " is not a review item");
        if (*kind == ReviewKind::Decision) {
            std::string why = profile_.review.decisions.why.empty() ? "the " + profile_.name + " backend has no decisions" : profile_.review.decisions.why;
            return refuse(422, "not_expressible", "decision \"" + op.id + "\" is kept in this browser, not sent: " + why);
        }
        const ReviewItemMap& m = *review_map(profile_, *kind);
        if (op.op == SyncOpType::Create && uncertain_.count(op.op_id) && !job_->verified.count(op.op_id)) {
            // It may have landed: look for it before sending it again.
            job_->listing = Listing{};
            auto list = review_request(profile_, context_, profile_.review.issues.list.route, {}, nullptr);
            if (!list) return refuse(422, list.first_error().code, list.first_error().message);
            return send_list(Purpose::ListIssues, list.value().path, Json());
        }
        std::string what = "the " + std::string(to_string(op.op)) + " of " + item_name(op);
        if (op.op == SyncOpType::Delete) {
            auto id = backend_id(*kind, op.id);
            if (!id) {  // never reached the backend: nothing to delete there
                complete(op, nullptr);
                job_->applied.push_back(op.op_id);
                ++job_->next;
                continue;
            }
            auto request = review_request(profile_, context_, m.remove, {{"id", *id}}, nullptr);
            if (!request) return refuse(422, request.first_error().code, what + ": " + request.first_error().message);
            Sent sent;
            sent.op = op;
            return send(Purpose::Send, request.value(), std::move(sent));
        }
        auto payload = review_item_to_backend(profile_, context_, *kind, op.value);
        if (!payload) {
            const Error& e = payload.first_error();
            std::string message = e.code == "unknown_lookup" ? what + " waits for its issue, which is not on the " + profile_.name + " backend (" + e.message + ")"
                                                             : "the " + profile_.name + " backend cannot take " + what + ": " + e.message;
            return refuse(422, e.code, message);
        }
        Sent sent;
        sent.op = op;
        if (op.op == SyncOpType::Update) {
            auto id = backend_id(*kind, op.id);
            if (!id) return refuse(422, "unknown_item", item_name(op) + " is not on the " + profile_.name + " backend: it cannot be changed there");
            auto known = known_.find({*kind, op.id});
            for (const std::string& p : m.write_once) {
                const Json* before = known == known_.end() ? nullptr : json_pointer_find(known->second, p);
                const Json* after = json_pointer_find(op.value, p);
                if (before && after && !same_value(*before, *after))
                    return refuse(422, "not_expressible", "the " + profile_.name + " backend keeps " + p + " of a " + to_string(*kind) + " as it was created: " + what + " cannot change it");
            }
            auto request = review_request(profile_, context_, m.update, {{"id", *id}}, &payload.value());
            if (!request) return refuse(422, request.first_error().code, what + ": " + request.first_error().message);
            return send(Purpose::Send, request.value(), std::move(sent));
        }
        if (*kind == ReviewKind::Issue && !m.first_comment_at.empty()) {
            const WireOp* first = first_comment_of(op);
            if (!first)
                return refuse(422, "not_expressible", "the " + profile_.name + " backend opens an issue only with its first comment: issue \"" + op.id + "\" has none to send with it");
            set_at_pointer(payload.value(), m.first_comment_at, first->value.value("text", Json("")));
            sent.carried = *first;
        }
        auto request = review_request(profile_, context_, m.create, {}, &payload.value());
        if (!request) return refuse(422, request.first_error().code, what + ": " + request.first_error().message);
        return send(Purpose::Send, request.value(), std::move(sent));
    }
    if (!job_->applied.empty()) ++revision_;
    return finish(200, dump(Json{{"revision", revision_}, {"applied", job_->applied}, {"duplicates", job_->duplicates}}));
}

// [SECTION] Backend replies

void ReviewProfileSync::complete(const WireOp& op, const Json* reply) {
    done_.insert(op.op_id);
    uncertain_.erase(op.op_id);
    auto kind = review_kind_of(op.kind);
    if (!kind || *kind == ReviewKind::Decision) return;
    const ReviewItemMap& m = *review_map(profile_, *kind);
    if (op.op == SyncOpType::Delete) {
        known_.erase({*kind, op.id});
        return;
    }
    if (op.op == SyncOpType::Create && reply) {
        const Json* id = json_pointer_find(*reply, m.create.id_at);
        if (id && !id->is_null()) remember(context_, m.id_table, Json(op.id), *id);
    }
    std::optional<Json> value = reply && reply->is_object() ? read_known(*kind, *reply) : std::nullopt;
    if (!value) {  // no readable reply: what we sent, as the backend keeps it
        value = op.value;
        for (const std::string& d : m.drops) erase_at_pointer(*value, d);
    }
    known_[{*kind, op.id}] = *value;
}

ProfileStep ReviewProfileSync::on_backend_reply(uint64_t seq, int status, const std::string& body) {
    auto it = sent_.find(seq);
    if (it == sent_.end()) return {};
    Sent sent = std::move(it->second);
    sent_.erase(it);
    sent_order_.erase(std::remove(sent_order_.begin(), sent_order_.end(), seq), sent_order_.end());
    auto json = parse_json_text(body, "the backend's reply");
    const Json* j = json ? &json.value() : nullptr;
    bool current = job_ && job_->backend_seq == seq;
    if (!current) {
        // Given up on, but a late success still tells what the backend holds.
        if (sent.purpose == Purpose::Send && success(status)) {
            complete(*sent.op, j);
            if (sent.carried) {
                done_.insert(sent.carried->op_id);
                uncertain_.erase(sent.carried->op_id);
                if (auto id = backend_id(ReviewKind::Issue, sent.op->id)) pending_first_[text_of(*id)] = sent.carried->id;
            }
        }
        return {};
    }
    job_->backend_seq = 0;
    switch (sent.purpose) {
        case Purpose::Send: return on_send_reply(sent, status, j, body);
        case Purpose::FirstComment: return on_first_comment(sent, status, j);
        case Purpose::ListIssues:
        case Purpose::ListComments: return on_list_reply(sent, status, j);
    }
    return {};
}

ProfileStep ReviewProfileSync::on_send_reply(const Sent& sent, int status, const Json* body, const std::string& text) {
    const WireOp& op = *sent.op;
    std::string what = "the " + std::string(to_string(op.op)) + " of " + item_name(op);
    if (success(status) || (status == 404 && op.op == SyncOpType::Delete)) {
        complete(op, success(status) ? body : nullptr);
        job_->applied.push_back(op.op_id);
        ++job_->next;
        if (!sent.carried) return advance();
        // The first comment went with its issue: applied with it; its backend id is in the issue's thread.
        const WireOp& c = *sent.carried;
        done_.insert(c.op_id);
        uncertain_.erase(c.op_id);
        job_->carried.insert(c.op_id);
        job_->applied.push_back(c.op_id);
        auto issue_id = backend_id(ReviewKind::Issue, op.id);
        if (!issue_id) return advance();
        pending_first_[text_of(*issue_id)] = c.id;
        auto list = review_request(profile_, context_, profile_.review.comments.list.route, {{"issue", *issue_id}}, nullptr);
        if (!list) return advance();
        Sent next;
        next.op = c;
        next.issue_id = *issue_id;
        return send(Purpose::FirstComment, list.value(), std::move(next));
    }
    if (status == 404 && op.op == SyncOpType::Update) {
        auto kind = review_kind_of(op.kind);
        known_.erase({*kind, op.id});
        std::string message = item_name(op) + " is no longer on the backend (" + sent.route + " answered HTTP 404)";
        Json conflict{{"kind", to_string(op.kind)}, {"id", op.id}, {"op_id", op.op_id}, {"server", nullptr}, {"revision", nullptr}, {"user", ""}, {"device", ""}};
        return finish(409, dump(Json{{"error", {{"code", "conflict"}, {"message", message}}}, {"revision", revision_}, {"conflicts", Json::array({conflict})}}));
    }
    if (status == 403)  // the backend's own rules for this user: that op is set aside, the others go on
        return refuse(403, "forbidden", "the backend does not let this user make " + what + ": " + sent.route + " answered HTTP 403" + detail_of(text));
    if (worth_retrying(status) && op.op == SyncOpType::Create) {
        uncertain_[op.op_id] = op;
        if (sent.carried) uncertain_[sent.carried->op_id] = *sent.carried;
    }
    if (status == 400 || status == 409 || status == 413 || status == 422)
        return refuse(422, "backend_refused", "the backend refused " + what + ": " + sent.route + " answered HTTP " + std::to_string(status) + detail_of(text));
    return fail_backend(status, sent.route, what);
}

ProfileStep ReviewProfileSync::on_first_comment(const Sent& sent, int status, const Json* body) {
    const ListRoute& list = profile_.review.comments.list;
    const Json* items = success(status) && body ? json_pointer_find(*body, list.items_at) : nullptr;
    const ReviewItemMap& m = profile_.review.comments;
    if (items && items->is_array()) {
        // The issue's oldest comment that no one here claims is the one it was opened with.
        const Json* oldest = nullptr;
        for (const Json& c : *items) {
            const Json* id = json_pointer_find(c, id_pointer(m));
            if (!id || !id->is_number() || table_has_backend(context_, m.id_table, *id)) continue;
            const Json* best = oldest ? json_pointer_find(*oldest, id_pointer(m)) : nullptr;
            if (!best || id->get<double>() < best->get<double>()) oldest = &c;
        }
        if (oldest) {
            remember(context_, m.id_table, Json(sent.op->id), *json_pointer_find(*oldest, id_pointer(m)));
            pending_first_.erase(text_of(sent.issue_id));
            if (auto value = read_known(ReviewKind::Comment, *oldest)) known_[{ReviewKind::Comment, sent.op->id}] = *value;
        }
    }
    // Not fatal when it failed: the next listing adopts the issue's oldest comment (pending_first_).
    return advance();
}

ProfileStep ReviewProfileSync::on_list_reply(const Sent& sent, int status, const Json* body) {
    bool issues = sent.purpose == Purpose::ListIssues;
    const ListRoute& list = issues ? profile_.review.issues.list : profile_.review.comments.list;
    if (!success(status)) return fail_backend(status, sent.route, issues ? "the listing of issues" : "the listing of an issue's comments");
    const Json* items = body ? json_pointer_find(*body, list.items_at) : nullptr;
    if (!items || !items->is_array())
        return finish(502, error_body("bad_reply", "the backend's reply to " + sent.route + " holds no array at " + list.items_at));
    Listing& listing = *job_->listing;
    for (const Json& item : *items) {
        if (issues) listing.issues.push_back(item);
        else listing.comments[text_of(sent.issue_id)].push_back(item);
    }
    if (auto next = next_page_path(*body, list)) return send_list(sent.purpose, *next, sent.issue_id);
    if (issues) {
        std::string pointer = id_pointer(profile_.review.issues);
        for (const Json& i : listing.issues)
            if (const Json* id = json_pointer_find(i, pointer); id && !id->is_null()) listing.issue_ids.push_back(*id);
    } else {
        ++listing.next_issue;
    }
    if (listing.next_issue < listing.issue_ids.size()) {
        const Json& id = listing.issue_ids[listing.next_issue];
        auto request = review_request(profile_, context_, profile_.review.comments.list.route, {{"issue", id}}, nullptr);
        if (!request) return finish(422, error_body(request.first_error().code, request.first_error().message));
        return send_list(Purpose::ListComments, request.value().path, id);
    }
    return listing_done();
}

bool ReviewProfileSync::claim(const WireOp& op, const Json& id) {
    auto kind = review_kind_of(op.kind);
    const ReviewItemMap& m = *review_map(profile_, *kind);
    remember(context_, m.id_table, Json(op.id), id);
    done_.insert(op.op_id);
    if (*kind == ReviewKind::Issue)
        if (const WireOp* first = first_comment_of(op)) {
            done_.insert(first->op_id);
            pending_first_[text_of(id)] = first->id;
            if (job_ && std::any_of(job_->ops.begin(), job_->ops.end(), [&](const WireOp& o) { return o.op_id == first->op_id; })) {
                job_->carried.insert(first->op_id);
                job_->applied.push_back(first->op_id);
            }
            uncertain_.erase(first->op_id);
        }
    return true;
}

std::map<std::pair<ReviewKind, std::string>, Json> ReviewProfileSync::settle(Listing& listing) {
    const ReviewItemMap& issues = profile_.review.issues;
    const ReviewItemMap& comments = profile_.review.comments;
    std::string issue_ptr = id_pointer(issues), comment_ptr = id_pointer(comments);
    // 1. Our creates whose answer was lost: an item no one claims, holding what we sent, is ours.
    std::vector<WireOp> lost;
    for (const auto& [op_id, op] : uncertain_)
        if (op.op == SyncOpType::Create) lost.push_back(op);
    for (const WireOp& op : lost) {
        if (!uncertain_.count(op.op_id)) continue;  // claimed above as a first comment
        auto kind = review_kind_of(op.kind);
        if (!kind || *kind == ReviewKind::Decision) continue;
        auto mine = review_item_to_backend(profile_, context_, *kind, op.value);
        if (!mine) continue;
        const std::vector<Json>* pool = &listing.issues;
        const std::string* pointer = &issue_ptr;
        const std::string* table = &issues.id_table;
        if (*kind == ReviewKind::Comment) {
            auto issue_id = backend_id(ReviewKind::Issue, op.value.value("issue", std::string()));
            auto found = issue_id ? listing.comments.find(text_of(*issue_id)) : listing.comments.end();
            if (found == listing.comments.end()) continue;
            pool = &found->second;
            pointer = &comment_ptr;
            table = &comments.id_table;
        }
        for (const Json& theirs : *pool) {
            const Json* id = json_pointer_find(theirs, *pointer);
            if (!id || id->is_null() || table_has_backend(context_, *table, *id) || !payload_matches(mine.value(), theirs)) continue;
            claim(op, *id);
            uncertain_.erase(op.op_id);
            break;
        }
    }
    // 2. First comments that went with their issue: the issue's oldest unclaimed comment.
    for (auto it = pending_first_.begin(); it != pending_first_.end();) {
        auto found = listing.comments.find(it->first);
        const Json* oldest = nullptr;
        if (found != listing.comments.end())
            for (const Json& c : found->second) {
                const Json* id = json_pointer_find(c, comment_ptr);
                if (!id || !id->is_number() || table_has_backend(context_, comments.id_table, *id)) continue;
                if (!oldest || id->get<double>() < json_pointer_find(*oldest, comment_ptr)->get<double>()) oldest = &c;
            }
        if (!oldest) { ++it; continue; }
        remember(context_, comments.id_table, Json(it->second), *json_pointer_find(*oldest, comment_ptr));
        it = pending_first_.erase(it);
    }
    // 3. Everything read, with ids learnt for items made elsewhere.
    std::map<std::pair<ReviewKind, std::string>, Json> now;
    for (const Json& i : listing.issues)
        if (auto value = read_known(ReviewKind::Issue, i)) now[{ReviewKind::Issue, value->value("id", std::string())}] = *value;
    for (const auto& [issue, list] : listing.comments)
        for (const Json& c : list)
            if (auto value = read_known(ReviewKind::Comment, c)) now[{ReviewKind::Comment, value->value("id", std::string())}] = *value;
    return now;
}

ProfileStep ReviewProfileSync::listing_done() {
    Listing listing = std::move(*job_->listing);
    job_->listing.reset();
    auto now = settle(listing);
    if (job_->goal == Goal::Patch) {
        const WireOp& op = job_->ops[job_->next];
        if (done_.count(op.op_id)) {
            auto kind = review_kind_of(op.kind);
            auto found = now.find({*kind, op.id});
            if (found != now.end()) known_[found->first] = found->second;
            for (const WireOp& c : job_->ops)
                if (job_->carried.count(c.op_id))
                    if (auto value = now.find({ReviewKind::Comment, c.id}); value != now.end()) known_[value->first] = value->second;
            job_->applied.push_back(op.op_id);
            ++job_->next;
        } else {
            job_->verified.insert(op.op_id);
        }
        return advance();
    }
    int64_t revision = std::max(revision_, job_->since) + 1;
    Json changes = Json::array();
    std::set<std::pair<ReviewKind, std::string>> keys;
    for (const auto& [key, value] : known_) keys.insert(key);
    for (const auto& [key, value] : now) keys.insert(key);
    for (const auto& key : keys) {
        auto before = known_.find(key);
        auto after = now.find(key);
        if (before != known_.end() && after != now.end() && same_value(before->second, after->second)) continue;
        const Json* value = after != now.end() ? &after->second : nullptr;
        changes.push_back(Json{{"kind", to_string(key.first)}, {"id", key.second}, {"value", value ? *value : Json()}, {"revision", revision},
                               {"op_id", ""}, {"user", value ? value->value("author", std::string()) : std::string()}, {"device", ""},
                               {"role", ""}, {"at", ""}});
    }
    revision_ = changes.empty() ? std::max(revision_, job_->since) : revision;
    known_ = std::move(now);
    return finish(200, dump(Json{{"revision", revision_}, {"since", job_->since}, {"changes", std::move(changes)}}));
}

ProfileStep ReviewProfileSync::on_backend_failure(uint64_t seq, SyncFailure kind) {
    auto it = sent_.find(seq);
    if (it == sent_.end()) return {};
    Sent sent = std::move(it->second);
    sent_.erase(it);
    sent_order_.erase(std::remove(sent_order_.begin(), sent_order_.end(), seq), sent_order_.end());
    if (sent.purpose == Purpose::Send && sent.op->op == SyncOpType::Create) {
        uncertain_[sent.op->op_id] = *sent.op;
        if (sent.carried) uncertain_[sent.carried->op_id] = *sent.carried;
    }
    if (!job_ || job_->backend_seq != seq) return {};
    job_->backend_seq = 0;
    if (sent.purpose == Purpose::FirstComment) return advance();  // the next listing finds it
    std::string what = sent.op ? " (the " + std::string(to_string(sent.op->op)) + " of " + item_name(*sent.op) + ")" : "";
    if (kind == SyncFailure::Timeout) return finish(503, error_body("timeout", "the backend did not answer " + sent.route + what + " in time"));
    return finish(503, error_body("network", "the backend could not be reached for " + sent.route + what));
}

}  // namespace pm
