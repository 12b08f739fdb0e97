#include "polymark/profile_sync.hpp"

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

bool same_item(const std::optional<Json>& a, const std::optional<Json>& b) {
    if (!a || !b) return !a && !b;
    return same_value(*a, *b);
}

bool refused_credentials(int status) { return status == 401 || status == 403; }

std::string item_name(const WireOp& op) { return std::string(to_string(op.kind)) + " \"" + op.id + "\""; }

std::optional<Json> item_json(const Document& doc, SyncKind kind, const std::string& id) {
    if (kind == SyncKind::Object) {
        for (const Object& o : doc.objects)
            if (o.id == id) return object_to_json(o);
    } else {
        for (const Track& t : doc.tracks)
            if (t.id == id) return track_to_json(t);
    }
    return std::nullopt;
}

template <class Item>
void put_item(std::vector<Item>& list, Item item, std::optional<size_t> index) {
    auto at = std::find_if(list.begin(), list.end(), [&](const Item& i) { return i.id == item.id; });
    if (at != list.end()) *at = std::move(item);
    else if (index && *index <= list.size()) list.insert(list.begin() + (long)*index, std::move(item));
    else list.push_back(std::move(item));
}

template <class Item>
void erase_item(std::vector<Item>& list, const std::string& id) {
    list.erase(std::remove_if(list.begin(), list.end(), [&](const Item& i) { return i.id == id; }), list.end());
}

void erase_item(Document& doc, SyncKind kind, const std::string& id) {
    if (kind == SyncKind::Object) erase_item(doc.objects, id);
    else erase_item(doc.tracks, id);
}

void rename_backend_id(ProfileContext& context, const Json& backend, const Json& ours) {
    for (auto& entry : context.tables["ids"])
        if (entry.second == backend) { entry.first = ours; return; }
    context.tables["ids"].emplace_back(ours, backend);
}

void remember_backend_id(ProfileContext& context, const Json& ours, const Json& backend) {
    for (auto& entry : context.tables["ids"])
        if (entry.first == ours || entry.second == backend) { entry = {ours, backend}; return; }
    context.tables["ids"].emplace_back(ours, backend);
}

std::optional<int64_t> since_of(const std::string& path) {
    size_t at = path.find("since=");
    if (at == std::string::npos) return std::nullopt;
    const char* text = path.c_str() + at + 6;
    char* end = nullptr;
    long long n = std::strtoll(text, &end, 10);
    if (end == text) return std::nullopt;
    return (int64_t)n;
}

}  // namespace

// [SECTION] Making one

ProfileSync::ProfileSync(BackendProfile profile, ProfileContext context)
    : profile_(std::move(profile)), context_(std::move(context)), passthrough_(profile_.save_mode == SaveMode::Operations) {}

Expected<ProfileSync> ProfileSync::create(BackendProfile profile, ProfileContext context) {
    Errors e;
    if (!profile.load.route.present) e.push_back({"bad_profile", "/load", "the " + profile.name + " profile has no load route to read the backend with"});
    if (profile.save_mode == SaveMode::Items && (!profile.create.present || !profile.update.present || !profile.remove.present))
        e.push_back({"bad_profile", "/save", "the " + profile.name + " profile saves item by item but lacks a create, update or delete route"});
    if (profile.save_mode != SaveMode::Items && !profile.save.present)
        e.push_back({"bad_profile", "/save/request", "the " + profile.name + " profile has no save request"});
    if (!e.empty()) return e;
    return ProfileSync(std::move(profile), std::move(context));
}

void ProfileSync::set_token(std::string token) { context_.token = std::move(token); }

SyncRequest ProfileSync::to_sync_request(const BackendRequest& request) const {
    return profile_reply::sync_request_of(request, timeout_ms_);
}

// The value as the backend will give it back: mapped there and read again (drops removed,
// defaults filled), so that comparing it with a later load shows only real changes.
std::optional<Json> ProfileSync::normalized(SyncKind kind, const Json& value) const {
    auto payload = item_to_backend(profile_, context_, kind, value);
    if (!payload) return std::nullopt;
    std::string collection;
    std::optional<ShapeType> type;
    if (const Json* t = value.is_object() && value.contains("type") ? &value["type"] : nullptr; t && t->is_string()) type = shape_type_from_string(t->get<std::string>());
    for (const ItemMap& m : profile_.items)
        if (m.kind == kind && (m.any_type || !type || m.type == *type)) { collection = m.collection; break; }
    auto back = item_from_backend(profile_, context_, payload.value(), collection);
    if (!back) return std::nullopt;
    if (back->object) return object_to_json(*back->object);
    if (back->track) return track_to_json(*back->track);
    return std::nullopt;
}

void ProfileSync::store_known(Document& doc, const WireOp& op) const {
    if (op.op == SyncOpType::Delete) { erase_item(doc, op.kind, op.id); return; }
    Json value = normalized(op.kind, op.value).value_or(op.value);
    std::optional<size_t> index;
    if (op.op == SyncOpType::Create) index = op.index;
    if (op.kind == SyncKind::Object) {
        if (auto o = object_from_json(value, "/value")) put_item(doc.objects, std::move(o.value()), index);
    } else if (auto t = track_from_json(value, "/value")) {
        put_item(doc.tracks, std::move(t.value()), index);
    }
}

// [SECTION] Loading

SyncRequest ProfileSync::load_request() {
    SyncRequest r = to_sync_request(pm::load_request(profile_, context_));
    r.seq = next_seq_++;
    return r;
}

Expected<Document> ProfileSync::read_load(const std::string& body) {
    auto json = parse_json_text(body, "the backend's load reply");
    if (!json) return json.errors();
    learn_backend_ids(profile_, context_, json.value());
    return from_backend(profile_, context_, json.value());
}

Expected<LoadedDocument> ProfileSync::on_load_reply(int status, const std::string& body) {
    BackendRequest load = pm::load_request(profile_, context_);
    std::string route = load.method + " " + load.path;
    if (!success(status))
        return Error{refused_credentials(status) ? "unauthorized" : "load_failed", route, "the backend answered HTTP " + std::to_string(status) + " to " + route};
    auto doc = read_load(body);
    if (!doc) return doc.errors();
    int64_t revision = revision_;
    if (passthrough_) {
        auto json = parse_json_text(body, "reply");
        if (json && json.value().is_object() && json.value().contains("revision") && json.value()["revision"].is_number_integer())
            revision = json.value()["revision"].get<int64_t>();
    }
    set_loaded(doc.value(), revision);
    return LoadedDocument{doc.value(), revision};
}

void ProfileSync::set_loaded(const Document& backend_document, int64_t revision) {
    known_ = Document{};
    for (const Object& o : backend_document.objects) store_known(known_, WireOp{"", SyncKind::Object, SyncOpType::Update, o.id, object_to_json(o), std::nullopt});
    for (const Track& t : backend_document.tracks) store_known(known_, WireOp{"", SyncKind::Track, SyncOpType::Update, t.id, track_to_json(t), std::nullopt});
    revision_ = revision;
}

void ProfileSync::restore_pending(const std::vector<WireOp>& pending) {
    for (const WireOp& op : pending)
        if (!done_.count(op.op_id)) uncertain_[op.op_id] = op;
}

// [SECTION] Engine requests

ProfileStep ProfileSync::begin(const SyncRequest& engine_request) {
    if (job_) abandon_job();
    timeout_ms_ = engine_request.timeout_ms;
    job_ = Job{};
    job_->engine_seq = engine_request.seq;
    if (passthrough_) {
        SyncRequest same = engine_request;
        same.seq = next_seq_++;
        return send(Purpose::Passthrough, std::move(same), {});
    }
    if (engine_request.method == "PATCH") return start_patch(engine_request);
    if (engine_request.method == "GET") return start_catchup(engine_request);
    return fail(400, "bad_request", "the sync engine asked for " + engine_request.method + ", which no profile performs");
}

void ProfileSync::abandon_job() {
    auto it = sent_.find(job_->backend_seq);
    if (it != sent_.end() && it->second.purpose == Purpose::Send) uncertain_[it->second.ops[0].op_id] = it->second.ops[0];
    job_.reset();
}

ProfileStep ProfileSync::send(Purpose purpose, SyncRequest request, std::vector<WireOp> ops, std::optional<Document> mirror) {
    if (request.seq == 0) request.seq = next_seq_++;
    sent_[request.seq] = Sent{purpose, std::move(ops), std::move(mirror), request.method + " " + request.path};
    sent_order_.push_back(request.seq);
    while (sent_order_.size() > 64) {
        sent_.erase(sent_order_.front());
        sent_order_.pop_front();
    }
    job_->backend_seq = request.seq;
    return ProfileStep{std::move(request), std::nullopt};
}

ProfileStep ProfileSync::finish(int status, const std::string& body) {
    EngineReply reply{job_->engine_seq, status, body};
    job_.reset();
    return ProfileStep{std::nullopt, std::move(reply)};
}

ProfileStep ProfileSync::fail(int status, const std::string& code, const std::string& message) {
    return finish(status, error_body(code, message));
}

// A backend status that is not success, as the engine's error handling understands it:
// credentials -> 401 (NeedsAuth), transient -> 503 (backoff and retry), the rest -> 422 (Error).
ProfileStep ProfileSync::fail_backend(int status, const std::string& route, const std::string& what) {
    std::string answered = route + " answered HTTP " + std::to_string(status);
    if (refused_credentials(status)) return fail(401, "unauthorized", "the backend refused the credentials: " + answered);
    if (worth_retrying(status)) return fail(503, "backend_unavailable", "the backend is not available (" + answered + " " + what + "); retrying");
    return fail(422, "backend_refused", "the backend refused " + what + ": " + answered);
}

ProfileStep ProfileSync::start_patch(const SyncRequest& request) {
    auto json = parse_json_text(request.body, "the engine's PATCH");
    const Json* list = json && json.value().is_object() && json.value().contains("operations") ? &json.value()["operations"] : nullptr;
    if (!list || !list->is_array()) return fail(400, "bad_request", "the engine's PATCH holds no operations");
    for (size_t i = 0; i < list->size(); ++i) {
        auto op = wire_op_from_json((*list)[i], json_pointer_append("/operations", i));
        if (!op) return fail(400, op.first_error().code, op.first_error().message);
        job_->ops.push_back(std::move(op.value()));
    }
    if (auto base = json.value().find("base_revision"); base != json.value().end() && base->is_number_integer())
        revision_ = std::max(revision_, base->get<int64_t>());
    if (profile_.save_mode == SaveMode::Document) return advance_document();
    return advance();
}

ProfileStep ProfileSync::advance() {
    while (job_->next < job_->ops.size()) {
        const WireOp& op = job_->ops[job_->next];
        if (done_.count(op.op_id)) {
            job_->duplicates.push_back(op.op_id);
            ++job_->next;
            continue;
        }
        // A create that may have landed is checked against the backend before it goes again.
        if (op.op == SyncOpType::Create && uncertain_.count(op.op_id) && !job_->verified.count(op.op_id))
            return send(Purpose::Verify, to_sync_request(pm::load_request(profile_, context_)), {op});
        std::optional<Json> previous = op.op == SyncOpType::Delete ? item_json(known_, op.kind, op.id) : std::nullopt;
        auto request = to_backend(profile_, context_, op, previous ? &*previous : nullptr);
        if (!request)
            return finish(422, error_body(request.first_error().code, "the " + profile_.name + " backend cannot take the " + to_string(op.op) + " of " + item_name(op) + ": " + request.first_error().message,
                                          json_pointer_append("/operations", job_->next)));
        return send(Purpose::Send, to_sync_request(request.value()), {op});
    }
    if (!job_->applied.empty()) ++revision_;
    return finish(200, dump(Json{{"revision", revision_}, {"applied", job_->applied}, {"duplicates", job_->duplicates}}));
}

ProfileStep ProfileSync::advance_document() {
    Document mirror = known_;
    std::vector<WireOp> fresh;
    for (const WireOp& op : job_->ops) {
        if (done_.count(op.op_id)) { job_->duplicates.push_back(op.op_id); continue; }
        store_known(mirror, op);
        fresh.push_back(op);
    }
    if (fresh.empty()) return finish(200, dump(Json{{"revision", revision_}, {"applied", Json::array()}, {"duplicates", job_->duplicates}}));
    auto request = document_to_backend(profile_, context_, mirror);
    if (!request)
        return fail(422, request.first_error().code, "the " + profile_.name + " backend cannot hold the document (" + request.first_error().path + "): " + request.first_error().message);
    return send(Purpose::Document, to_sync_request(request.value()), std::move(fresh), std::move(mirror));
}

ProfileStep ProfileSync::start_catchup(const SyncRequest& request) {
    job_->since = since_of(request.path).value_or(0);
    return send(Purpose::Catchup, to_sync_request(pm::load_request(profile_, context_)), {});
}

// [SECTION] Backend replies

void ProfileSync::complete(const WireOp& op, const Json* reply) {
    done_.insert(op.op_id);
    uncertain_.erase(op.op_id);
    if (op.op == SyncOpType::Create && reply)
        for (const auto& [ours, theirs] : ids_from_create_reply(profile_, context_, op, *reply)) remember_backend_id(context_, ours, theirs);
    store_known(known_, op);
}

ProfileStep ProfileSync::on_backend_reply(uint64_t seq, int status, const std::string& body) {
    auto it = sent_.find(seq);
    if (it == sent_.end()) return {};
    Sent sent = std::move(it->second);
    sent_.erase(it);
    sent_order_.erase(std::remove(sent_order_.begin(), sent_order_.end(), seq), sent_order_.end());
    auto json = parse_json_text(body, "the backend's reply");
    const Json* j = json ? &json.value() : nullptr;
    bool current = job_ && job_->backend_seq == seq;
    if (!current) {
        // The engine gave up on this request, but a late success still tells what the backend holds.
        if (sent.purpose == Purpose::Send && success(status)) complete(sent.ops[0], j);
        return {};
    }
    job_->backend_seq = 0;
    switch (sent.purpose) {
        case Purpose::Passthrough: return finish(status, body);
        case Purpose::Send: return on_send_reply(sent, status, j);
        case Purpose::Verify: return on_verify_reply(sent, status, body);
        case Purpose::Catchup: return on_catchup_reply(sent, status, body);
        case Purpose::Document:
            if (!success(status)) return fail_backend(status, sent.route, "the save of the whole document");
            for (const WireOp& op : sent.ops) {
                done_.insert(op.op_id);
                uncertain_.erase(op.op_id);
                job_->applied.push_back(op.op_id);
            }
            known_ = std::move(*sent.mirror);
            ++revision_;
            return finish(200, dump(Json{{"revision", revision_}, {"applied", job_->applied}, {"duplicates", job_->duplicates}}));
    }
    return {};
}

ProfileStep ProfileSync::on_send_reply(const Sent& sent, int status, const Json* body) {
    const WireOp& op = sent.ops[0];
    if (success(status) || (status == 404 && op.op == SyncOpType::Delete)) {  // a delete that finds nothing is done
        complete(op, body);
        job_->applied.push_back(op.op_id);
        ++job_->next;
        return advance();
    }
    if (status == 404 && op.op == SyncOpType::Update) {
        // Another client deleted it: a conflict the labeler settles, as serve.py would report it.
        erase_item(known_, op.kind, op.id);
        std::string message = item_name(op) + " is no longer on the backend (" + sent.route + " answered HTTP 404)";
        Json conflict{{"kind", to_string(op.kind)}, {"id", op.id}, {"op_id", op.op_id}, {"server", nullptr}, {"revision", nullptr}, {"user", ""}, {"device", ""}};
        return finish(409, dump(Json{{"error", {{"code", "conflict"}, {"message", message}}}, {"revision", revision_}, {"conflicts", Json::array({conflict})}}));
    }
    if (worth_retrying(status)) uncertain_[op.op_id] = op;  // a 5xx may have been applied
    // The backend refused this op's content (not a route, a method or the credentials): only it is set aside.
    if (status == 400 || status == 413 || status == 422)
        return finish(422, error_body("backend_refused", "the backend refused the " + std::string(to_string(op.op)) + " of " + item_name(op) + ": " + sent.route + " answered HTTP " + std::to_string(status),
                                      json_pointer_append("/operations", job_->next)));
    return fail_backend(status, sent.route, "the " + std::string(to_string(op.op)) + " of " + item_name(op));
}

ProfileStep ProfileSync::on_backend_failure(uint64_t seq, SyncFailure kind) {
    auto it = sent_.find(seq);
    if (it == sent_.end()) return {};
    Sent sent = std::move(it->second);
    sent_.erase(it);
    sent_order_.erase(std::remove(sent_order_.begin(), sent_order_.end(), seq), sent_order_.end());
    if (sent.purpose == Purpose::Send) uncertain_[sent.ops[0].op_id] = sent.ops[0];
    if (!job_ || job_->backend_seq != seq) return {};
    job_->backend_seq = 0;
    std::string what = sent.purpose == Purpose::Send ? " (the " + std::string(to_string(sent.ops[0].op)) + " of " + item_name(sent.ops[0]) + ")" : "";
    if (kind == SyncFailure::Timeout) return fail(503, "timeout", "the backend did not answer " + sent.route + what + " in time");
    return fail(503, "network", "the backend could not be reached for " + sent.route + what);
}

ProfileStep ProfileSync::on_verify_reply(const Sent& sent, int status, const std::string& body) {
    const WireOp& op = sent.ops[0];
    if (!success(status)) return fail_backend(status, sent.route, "the check whether " + item_name(op) + " was created");
    auto doc = read_load(body);
    if (!doc) return fail(502, "bad_reply", "the backend's reply to " + sent.route + " could not be read: " + doc.first_error().message);
    bool there = item_json(doc.value(), op.kind, op.id).has_value();
    if (!there && !profile_.create.id_at.empty()) {
        // The backend assigns ids: look for our value among items whose id nobody knew.
        std::optional<Json> mine = normalized(op.kind, op.value);
        // An id learnt from a load and never matched to one of ours (learn_backend_ids).
        auto unclaimed = [&](const std::string& id) {
            for (const auto& entry : context_.tables["ids"])
                if (entry.first == Json(id)) return (entry.second.is_string() ? entry.second.get<std::string>() : entry.second.dump()) == id;
            return false;
        };
        auto same_but_ids = [&](Json theirs) {
            if (!mine) return false;
            theirs["id"] = op.id;
            if (op.kind == SyncKind::Track && theirs.contains("keyframes") && (*mine).contains("keyframes") && theirs["keyframes"].size() == (*mine)["keyframes"].size())
                for (size_t i = 0; i < theirs["keyframes"].size(); ++i) theirs["keyframes"][i]["id"] = (*mine)["keyframes"][i]["id"];
            return same_value(theirs, *mine);
        };
        auto adopt = [&](const Json& theirs) {
            auto backend_of = [&](const Json& ours) -> std::optional<Json> {
                for (const auto& entry : context_.tables["ids"])
                    if (entry.first == ours) return entry.second;
                return std::nullopt;
            };
            if (auto b = backend_of(theirs["id"])) rename_backend_id(context_, *b, Json(op.id));
            if (op.kind == SyncKind::Track && theirs.contains("keyframes"))
                for (size_t i = 0; i < theirs["keyframes"].size(); ++i)
                    if (auto b = backend_of(theirs["keyframes"][i]["id"])) rename_backend_id(context_, *b, (*mine)["keyframes"][i]["id"]);
        };
        auto consider = [&](const Json& theirs) {
            if (there || !unclaimed(theirs.value("id", std::string())) || !same_but_ids(theirs)) return;
            adopt(theirs);
            there = true;
        };
        if (op.kind == SyncKind::Object)
            for (const Object& o : doc.value().objects) consider(object_to_json(o));
        else
            for (const Track& t : doc.value().tracks) consider(track_to_json(t));
    }
    if (there) {
        complete(op, nullptr);
        job_->applied.push_back(op.op_id);
        ++job_->next;
    } else {
        job_->verified.insert(op.op_id);
    }
    return advance();
}

ProfileStep ProfileSync::on_catchup_reply(const Sent& sent, int status, const std::string& body) {
    if (!success(status)) return fail_backend(status, sent.route, "the catch-up load");
    auto doc = read_load(body);
    if (!doc) return fail(502, "bad_reply", "the backend's reply to " + sent.route + " could not be read: " + doc.first_error().message);
    int64_t revision = std::max(revision_, job_->since) + 1;
    Json changes = Json::array();
    auto consider = [&](SyncKind kind, const std::string& id) {
        std::optional<Json> before = item_json(known_, kind, id), now = item_json(doc.value(), kind, id);
        if (same_item(before, now)) return;
        // Our own write whose answer was lost: it landed, so it is done, not a remote change.
        for (auto it = uncertain_.begin(); it != uncertain_.end(); ++it) {
            const WireOp& op = it->second;
            if (op.kind != kind || op.id != id) continue;
            bool landed = op.op == SyncOpType::Delete ? !now : now && same_item(normalized(kind, op.value), now);
            if (!landed) continue;
            done_.insert(op.op_id);
            uncertain_.erase(it);
            return;
        }
        changes.push_back(Json{{"kind", to_string(kind)}, {"id", id}, {"value", now ? *now : Json()}, {"revision", revision},
                               {"op_id", ""}, {"user", ""}, {"device", ""}});
    };
    std::set<std::pair<SyncKind, std::string>> seen;
    for (const Document* d : {&known_, &doc.value()}) {
        for (const Object& o : d->objects)
            if (seen.insert({SyncKind::Object, o.id}).second) consider(SyncKind::Object, o.id);
        for (const Track& t : d->tracks)
            if (seen.insert({SyncKind::Track, t.id}).second) consider(SyncKind::Track, t.id);
    }
    revision_ = changes.empty() ? std::max(revision_, job_->since) : revision;
    known_ = std::move(doc.value());
    return finish(200, dump(Json{{"revision", revision_}, {"since", job_->since}, {"changes", std::move(changes)}}));
}

}  // namespace pm
