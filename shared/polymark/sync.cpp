#include "polymark/sync.hpp"

#include "polymark/review.hpp"
#include "polymark/sort_by_key.hpp"

#include <algorithm>
#include <set>
#include <type_traits>

namespace pm {

// [SECTION] Names and small helpers

const char* to_string(SyncKind k) {
    switch (k) {
        case SyncKind::Object: return "object";
        case SyncKind::Track: return "track";
        case SyncKind::Issue: return "issue";
        case SyncKind::Comment: return "comment";
        case SyncKind::Decision: return "decision";
    }
    return "object";
}

bool is_review_kind(SyncKind k) { return k == SyncKind::Issue || k == SyncKind::Comment || k == SyncKind::Decision; }

const char* to_string(SyncOpType t) {
    switch (t) {
        case SyncOpType::Create: return "create";
        case SyncOpType::Update: return "update";
        case SyncOpType::Delete: return "delete";
    }
    return "update";
}

const char* to_string(SyncState s) {
    switch (s) {
        case SyncState::Saved: return "saved";
        case SyncState::Saving: return "saving";
        case SyncState::Offline: return "offline";
        case SyncState::Conflict: return "conflict";
        case SyncState::NeedsAuth: return "needs-auth";
        case SyncState::Error: return "error";
        case SyncState::SetAside: return "set-aside";
    }
    return "error";
}

namespace {

// Labels typed by people may hold invalid UTF-8; dumping must not throw on them.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::optional<SyncKind> kind_from_string(const std::string& s) {
    if (s == "object") return SyncKind::Object;
    if (s == "track") return SyncKind::Track;
    if (s == "issue") return SyncKind::Issue;
    if (s == "comment") return SyncKind::Comment;
    if (s == "decision") return SyncKind::Decision;
    return std::nullopt;
}

std::optional<SyncOpType> op_type_from_string(const std::string& s) {
    if (s == "create") return SyncOpType::Create;
    if (s == "update") return SyncOpType::Update;
    if (s == "delete") return SyncOpType::Delete;
    return std::nullopt;
}

const Json* find(const Json& o, const char* key) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
}

std::optional<int64_t> int_member(const Json& o, const char* key) {
    const Json* v = find(o, key);
    if (!v || !v->is_number_integer()) return std::nullopt;
    return v->get<int64_t>();
}

std::optional<std::string> string_member(const Json& o, const char* key) {
    const Json* v = find(o, key);
    if (!v || !v->is_string()) return std::nullopt;
    return v->get<std::string>();
}

// An item value as the server or the journal carries it: null, or a valid Object / Track, or a
// valid issue, comment or decision (review.hpp).
std::optional<Error> check_item(SyncKind kind, const Json& value, const std::string& path) {
    if (is_review_kind(kind))
        return check_review_value(kind == SyncKind::Issue ? ReviewKind::Issue : kind == SyncKind::Comment ? ReviewKind::Comment : ReviewKind::Decision, value, path);
    if (kind == SyncKind::Object) {
        auto o = object_from_json(value, path);
        if (!o) return o.first_error();
    } else {
        auto t = track_from_json(value, path);
        if (!t) return t.first_error();
    }
    return std::nullopt;
}

bool string_array(const Json* v) {
    if (!v || !v->is_array()) return false;
    for (const Json& e : *v)
        if (!e.is_string()) return false;
    return true;
}

std::string percent_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) out += (char)c;
        else { out += '%'; out += hex[c >> 4]; out += hex[c & 15]; }
    }
    return out;
}

template <class Item>
Expected<bool> upsert(std::vector<Item>& list, const std::string& id, const std::optional<Json>& value) {
    auto at = std::find_if(list.begin(), list.end(), [&](const Item& i) { return i.id == id; });
    if (!value) {
        if (at == list.end()) return false;
        list.erase(at);
        return true;
    }
    Expected<Item> item = [&]() -> Expected<Item> {
        if constexpr (std::is_same_v<Item, Object>) return object_from_json(*value, "/value");
        else return track_from_json(*value, "/value");
    }();
    if (!item) return item.errors();
    if (item->id != id) return Error{"bad_change", "/value/id", "the value's id \"" + item->id + "\" is not the change's id \"" + id + "\""};
    if (at != list.end()) {
        if (*at == item.value()) return false;
        *at = std::move(item.value());
    } else {
        list.push_back(std::move(item.value()));
    }
    return true;
}

}  // namespace

bool is_valid_op_id(std::string_view op_id) {
    if (op_id.empty() || op_id.size() > 128) return false;
    for (char c : op_id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Errors check_sync_config(const SyncConfig& c) {
    Errors e;
    if (c.task_id.empty()) e.push_back({"bad_config", "task_id", "the sync engine needs a task id"});
    if (c.device_id.empty() || c.device_id.size() > 100 || !is_valid_op_id(c.device_id))
        e.push_back({"bad_config", "device_id", "device id \"" + c.device_id + "\" must be 1 to 100 characters from A-Z a-z 0-9 _ . : -"});
    if (c.debounce_ms < 0 || c.max_delay_ms < 0 || c.catchup_interval_ms < 0)
        e.push_back({"bad_config", "debounce_ms", "debounce, maximum delay and catch-up interval must not be negative"});
    if (c.max_ops_per_request < 1) e.push_back({"bad_config", "max_ops_per_request", "a request must be allowed at least one operation"});
    if (c.timeout_ms <= 0) e.push_back({"bad_config", "timeout_ms", "the request timeout must be positive"});
    if (c.backoff_base_ms <= 0 || c.backoff_max_ms < c.backoff_base_ms)
        e.push_back({"bad_config", "backoff_base_ms", "backoff needs 0 < base <= max"});
    if (!c.role.empty() && c.role != "labeler" && c.role != "reviewer" && c.role != "manager")
        e.push_back({"bad_config", "role", "the role is \"labeler\", \"reviewer\" or \"manager\", not \"" + c.role + "\""});
    if (c.resource != "annotations" && c.resource != "review")
        e.push_back({"bad_config", "resource", "the sync resource is \"annotations\" or \"review\", not \"" + c.resource + "\""});
    return e;
}

Json sync_status_to_json(const SyncStatus& s) {
    Json j{{"state", to_string(s.state)}, {"pending", s.pending}, {"conflicts", s.conflicts}, {"set_aside", s.set_aside},
           {"acked_revision", s.acked_revision}, {"synced_revision", s.synced_revision}};
    if (s.next_retry_ms) j["next_retry_ms"] = *s.next_retry_ms;
    if (!s.message.empty()) j["message"] = s.message;
    return j;
}

// [SECTION] Wire operations

Json wire_op_to_json(const WireOp& op) {
    Json j{{"op_id", op.op_id}, {"kind", to_string(op.kind)}, {"op", to_string(op.op)}, {"id", op.id}};
    if (op.op != SyncOpType::Delete) j["value"] = op.value;
    if (op.op == SyncOpType::Create && op.index) j["index"] = *op.index;
    return j;
}

Expected<WireOp> wire_op_from_json(const Json& j, const std::string& path) {
    if (!j.is_object()) return Error{"not_object", path, "the operation at " + path + " is not a JSON object"};
    WireOp op;
    auto op_id = string_member(j, "op_id");
    if (!op_id || !is_valid_op_id(*op_id))
        return Error{"bad_op_id", json_pointer_append(path, "op_id"), "op_id at " + path + " must be 1 to 128 characters from A-Z a-z 0-9 _ . : -"};
    op.op_id = *op_id;
    auto kind = string_member(j, "kind");
    auto k = kind ? kind_from_string(*kind) : std::nullopt;
    if (!k) return Error{"bad_kind", json_pointer_append(path, "kind"), "kind at " + path + " must be \"object\", \"track\", \"issue\", \"comment\" or \"decision\""};
    op.kind = *k;
    auto type = string_member(j, "op");
    auto t = type ? op_type_from_string(*type) : std::nullopt;
    if (!t) return Error{"bad_op", json_pointer_append(path, "op"), "op at " + path + " must be \"create\", \"update\" or \"delete\""};
    op.op = *t;
    auto id = string_member(j, "id");
    if (!id || !is_valid_id(*id)) return Error{"bad_id", json_pointer_append(path, "id"), "id at " + path + " must be a valid item id"};
    op.id = *id;
    if (op.op != SyncOpType::Delete) {
        const Json* value = find(j, "value");
        if (!value) return Error{"missing_key", json_pointer_append(path, "value"), "a " + *type + " at " + path + " needs a value"};
        if (auto e = check_item(op.kind, *value, json_pointer_append(path, "value"))) return *e;
        if (string_member(*value, "id") != op.id)
            return Error{"bad_op", path + "/value/id", "the value's id at " + path + " differs from the operation's id"};
        op.value = *value;
    }
    if (const Json* index = find(j, "index")) {
        if (!index->is_number_integer() || index->get<int64_t>() < 0)
            return Error{"bad_index", json_pointer_append(path, "index"), "index at " + path + " must be a non-negative integer"};
        if (op.op == SyncOpType::Create) op.index = (size_t)index->get<int64_t>();
    }
    return op;
}

Expected<bool> apply_remote_change(Document& doc, const RemoteChange& change) {
    if (is_review_kind(change.kind))
        return Error{"not_document_item", change.id, std::string("a ") + to_string(change.kind) + " is a review item, not part of the document"};
    if (change.kind == SyncKind::Object) return upsert(doc.objects, change.id, change.value);
    return upsert(doc.tracks, change.id, change.value);
}

// [SECTION] Engine: start and local edits

SyncEngine::SyncEngine(SyncConfig config) : config_(std::move(config)), rng_(config_.seed), batch_limit_(config_.max_ops_per_request) {
    // Request numbers start at a random point below 2^40 (exact as a JavaScript number), so that a
    // reply meant for an engine that died with the wasm instance is unknown to its successor.
    next_request_seq_ = 1 + (rng_() >> 24);
}

Expected<SyncEngine> SyncEngine::create(SyncConfig config) {
    Errors e = check_sync_config(config);
    if (!e.empty()) return e;
    return SyncEngine(std::move(config));
}

std::string SyncEngine::next_op_id() { return config_.device_id + "-" + std::to_string(next_counter_++); }

JournalRecord SyncEngine::journal_record(const Pending& p) const {
    Json j{{"format", kJournalFormat}, {"version", kJournalVersion}, {"task", config_.task_id},
           {"seq", p.seq}, {"base", p.base}, {"op", wire_op_to_json(p.op)}};
    if (p.before) j["before"] = *p.before;
    if (config_.resource != "annotations") j["resource"] = config_.resource;
    if (auto r = set_aside_.find(key_of(p.op)); r != set_aside_.end())
        j["set_aside"] = Json{{"op_id", r->second.op_id}, {"code", r->second.code}, {"message", r->second.message}, {"path", r->second.path}, {"unsent", !p.sent}};
    return {p.op.op_id, dump(j)};
}

JournalRecord SyncEngine::counter_record() const {
    Json j{{"format", kJournalFormat}, {"version", kJournalVersion}, {"task", config_.task_id}, {"next_counter", next_counter_}};
    if (config_.resource == "annotations") return {kJournalCounterKey, dump(j)};
    j["resource"] = config_.resource;
    return {std::string(kJournalCounterKey) + "." + config_.resource, dump(j)};
}

SyncOutput SyncEngine::restore(const std::vector<std::string>& records, int64_t loaded_revision) {
    SyncOutput out;
    pending_.clear();
    pending_count_.clear();
    conflicts_.clear();
    set_aside_.clear();
    limit_before_split_.reset();
    batch_limit_ = config_.max_ops_per_request;
    in_flight_.reset();
    recent_.clear();
    acked_revision_ = synced_revision_ = std::max<int64_t>(0, loaded_revision);
    catchup_needed_ = true;
    failures_ = 0;
    next_retry_ms_ = 0;
    needs_auth_ = error_ = flush_ = false;
    message_.clear();
    std::string own_prefix = config_.device_id + "-";
    for (size_t i = 0; i < records.size(); ++i) {
        std::string where = "journal record " + std::to_string(i);
        auto parsed = parse_json_text(records[i], where);
        if (!parsed) { out.errors.push_back({"bad_journal", where, where + " is not JSON: " + parsed.first_error().message}); continue; }
        const Json& j = parsed.value();
        auto version = int_member(j, "version");
        if (string_member(j, "format") != std::string(kJournalFormat) || !version) {
            out.errors.push_back({"bad_journal", where, where + " is not a Polymark sync journal record"});
            continue;
        }
        if (*version != kJournalVersion) {
            out.errors.push_back({"unsupported_version", where, where + " has journal version " + std::to_string(*version) + "; this client reads version " + std::to_string(kJournalVersion)});
            continue;
        }
        if (string_member(j, "task") != config_.task_id) {
            out.errors.push_back({"wrong_task", where, where + " belongs to another task"});
            continue;
        }
        if (string_member(j, "resource").value_or("annotations") != config_.resource) continue;  // the other engine's
        if (auto next = int_member(j, "next_counter")) {
            if (*next > 0) next_counter_ = std::max(next_counter_, (uint64_t)*next);
            continue;
        }
        auto seq = int_member(j, "seq");
        auto base = int_member(j, "base");
        const Json* op_json = find(j, "op");
        if (!seq || *seq < 0 || !base || !op_json) {
            out.errors.push_back({"bad_journal", where, where + " needs seq, base and op"});
            continue;
        }
        auto op = wire_op_from_json(*op_json, "/op");
        if (!op) {
            Error e = op.first_error();
            e.message = where + ": " + e.message;
            out.errors.push_back(std::move(e));
            continue;
        }
        if (op->op_id.compare(0, own_prefix.size(), own_prefix) == 0) {
            std::string n = op->op_id.substr(own_prefix.size());
            if (!n.empty() && n.size() < 19 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
                next_counter_ = std::max(next_counter_, (uint64_t)std::stoull(n) + 1);
        }
        // Whether it was sent before the reload is unknown: treat it as sent, so it never changes.
        // Except an op set aside: refused, it was not applied, and nothing sent it since.
        bool sent = true;
        if (const Json* aside = find(j, "set_aside"); aside && aside->is_object()) {
            Refusal r{string_member(*aside, "op_id").value_or(op->op_id), string_member(*aside, "code").value_or("refused"),
                      string_member(*aside, "message").value_or("the server refused this change"), string_member(*aside, "path").value_or(""),
                      (uint64_t)*seq, std::nullopt};
            auto [at, fresh] = set_aside_.try_emplace(key_of(op.value()), r);
            if (!fresh && r.order < at->second.order) at->second = r;
            const Json* unsent = find(*aside, "unsent");
            sent = !(unsent && unsent->is_boolean() && unsent->get<bool>());
        }
        Pending p{(uint64_t)*seq, std::move(op.value()), *base, sent, 0, std::nullopt};
        if (const Json* before = find(j, "before")) p.before = *before;
        pending_.push_back(std::move(p));
    }
    stable_sort_by_key(pending_, [](const Pending& p) { return p.seq; });
    std::set<std::string> seen;
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return !seen.insert(p.op.op_id).second; }), pending_.end());
    for (const Pending& p : pending_) count_pending(key_of(p.op), 1);
    next_journal_seq_ = pending_.empty() ? 1 : pending_.back().seq + 1;
    return out;
}

void SyncEngine::count_pending(const ItemKey& key, int delta) {
    size_t& n = pending_count_[key];
    n += delta;
    if (n == 0) pending_count_.erase(key);
}

int SyncEngine::last_pending_on(const ItemKey& key) const {
    if (!pending_count_.count(key)) return -1;
    for (size_t i = pending_.size(); i-- > 0;)
        if (key_of(pending_[i].op) == key) return (int)i;
    return -1;
}

int64_t SyncEngine::max_base_on(const ItemKey& key) const {
    int64_t base = 0;
    if (!pending_count_.count(key)) return base;
    for (const Pending& p : pending_)
        if (key_of(p.op) == key) base = std::max(base, p.base);
    return base;
}

std::optional<Json> SyncEngine::local_value(const ItemKey& key, const std::optional<Json>& fallback) const {
    int at = last_pending_on(key);
    if (at < 0) return fallback;
    const WireOp& op = pending_[at].op;
    if (op.op == SyncOpType::Delete) return std::nullopt;
    return op.value;
}

void SyncEngine::add_op(WireOp op, std::optional<Json> before, int64_t min_base, int64_t now_ms, SyncOutput& out) {
    ItemKey key = key_of(op);
    int at = last_pending_on(key);
    if (at >= 0 && !pending_[at].sent) {
        // Merge into the unsent op on the same item. A sent op is never touched: its reply may
        // have been lost after the server applied it, and a retry must carry the same content.
        Pending& last = pending_[at];
        SyncOpType a = last.op.op, b = op.op;
        bool merged = true;
        if (a == SyncOpType::Create && b == SyncOpType::Update) last.op.value = std::move(op.value);
        else if (a == SyncOpType::Update && b == SyncOpType::Update) last.op.value = std::move(op.value);
        else if (a == SyncOpType::Update && b == SyncOpType::Delete) { last.op.op = SyncOpType::Delete; last.op.value = Json(); }
        else if (a == SyncOpType::Delete && b == SyncOpType::Create) { last.op.op = SyncOpType::Update; last.op.value = std::move(op.value); last.op.index.reset(); }
        else if (a == SyncOpType::Create && b == SyncOpType::Delete) {
            out.journal_delete.push_back(last.op.op_id);
            pending_.erase(pending_.begin() + at);
            count_pending(key, -1);
            merged = false;
        } else merged = false;
        if (merged) {
            last.base = std::max(last.base, min_base);
            last.recorded_ms = std::min(last.recorded_ms, now_ms);
            out.journal_put.push_back(journal_record(last));
        }
        if (merged || (a == SyncOpType::Create && b == SyncOpType::Delete)) {
            if (auto c = conflicts_.find(key); c != conflicts_.end()) c->second.mine = local_value(key, std::nullopt);
            // A refused create deleted again: nothing of it is left to save.
            if (last_pending_on(key) < 0) set_aside_.erase(key);
            return;
        }
    }
    Pending p;
    p.seq = next_journal_seq_++;
    p.base = std::max({synced_revision_, max_base_on(key), min_base});
    p.recorded_ms = now_ms;
    p.before = std::move(before);
    p.op = std::move(op);
    p.op.op_id = next_op_id();
    pending_.push_back(std::move(p));
    count_pending(key, 1);
    out.journal_put.push_back(journal_record(pending_.back()));
    out.journal_put.push_back(counter_record());
    if (auto c = conflicts_.find(key); c != conflicts_.end()) c->second.mine = local_value(key, std::nullopt);
}

void SyncEngine::add_change(SyncKind kind, const std::string& id, const std::optional<Json>& before,
                            const std::optional<Json>& after, std::optional<size_t> index, const std::string& where,
                            int64_t now_ms, SyncOutput& out) {
    if (!before && !after) { out.errors.push_back({"bad_op", where, "an operation on \"" + id + "\" neither creates, updates nor deletes"}); return; }
    WireOp op;
    op.kind = kind;
    op.id = id;
    op.op = !before ? SyncOpType::Create : !after ? SyncOpType::Delete : SyncOpType::Update;
    if (after) op.value = *after;
    if (op.op == SyncOpType::Create) op.index = index;
    add_op(std::move(op), before ? *before : Json(), 0, now_ms, out);
}

SyncOutput SyncEngine::record_item(SyncKind kind, const std::string& id, const std::optional<Json>& before,
                                   const std::optional<Json>& after, int64_t now_ms) {
    SyncOutput out;
    add_change(kind, id, before, after, std::nullopt, id, now_ms, out);
    last_record_ms_ = now_ms;
    return out;
}

SyncOutput SyncEngine::record(const Command& command, int64_t now_ms) {
    SyncOutput out;
    auto add = [&](SyncKind kind, const std::string& id, const std::optional<Json>& before, const std::optional<Json>& after, size_t index, const std::string& where) {
        add_change(kind, id, before, after, index, where, now_ms, out);
    };
    for (size_t i = 0; i < command.ops.size(); ++i) {
        const ObjectOp& op = command.ops[i];
        add(SyncKind::Object, op.id, op.before ? std::optional<Json>(object_to_json(*op.before)) : std::nullopt, op.after ? std::optional<Json>(object_to_json(*op.after)) : std::nullopt, op.index, json_pointer_append("/ops", i));
    }
    for (size_t i = 0; i < command.track_ops.size(); ++i) {
        const TrackOp& op = command.track_ops[i];
        add(SyncKind::Track, op.id, op.before ? std::optional<Json>(track_to_json(*op.before)) : std::nullopt, op.after ? std::optional<Json>(track_to_json(*op.after)) : std::nullopt, op.index, json_pointer_append("/track_ops", i));
    }
    last_record_ms_ = now_ms;
    return out;
}

Expected<bool> SyncEngine::apply_pending(Document& doc) const {
    for (const Pending& p : pending_) {
        RemoteChange c{p.op.kind, p.op.id, std::nullopt, 0, config_.user_id, config_.device_id, "", ""};
        if (p.op.op != SyncOpType::Delete) c.value = p.op.value;
        auto r = apply_remote_change(doc, c);
        if (!r) return r;
    }
    return true;
}

std::vector<WireOp> SyncEngine::pending_ops() const {
    std::vector<WireOp> out;
    for (const Pending& p : pending_) out.push_back(p.op);
    return out;
}

// [SECTION] Engine: requests

std::string SyncEngine::base_path() const { return "/api/tasks/" + percent_encode(config_.task_id) + "/" + config_.resource; }

std::vector<std::pair<std::string, std::string>> SyncEngine::headers(bool with_body) const {
    std::vector<std::pair<std::string, std::string>> h{{"Accept", "application/json"}};
    if (with_body) h.emplace_back("Content-Type", "application/json");
    if (!token_.empty()) h.emplace_back("Authorization", "Bearer " + token_);
    if (!config_.role.empty()) h.emplace_back("X-Polymark-Role", config_.role);
    return h;
}

std::optional<SyncRequest> SyncEngine::make_patch(int64_t now_ms) {
    size_t start = pending_.size();
    for (size_t i = 0; i < pending_.size() && start == pending_.size(); ++i)
        if (!held(key_of(pending_[i].op))) start = i;
    if (start == pending_.size()) return std::nullopt;
    const Pending& first = pending_[start];
    bool ready = first.sent || flush_ || now_ms - last_record_ms_ >= config_.debounce_ms || now_ms - first.recorded_ms >= config_.max_delay_ms;
    if (!ready) return std::nullopt;

    // One base revision per request: the batch is the run of oldest sendable ops sharing it.
    // Each operation is written once: its text both measures the batch and goes into the body.
    int64_t base = first.base;
    std::string body = "{\"base_revision\":" + std::to_string(base) + ",\"user\":" + dump(Json(config_.user_id)) +
                       ",\"device\":" + dump(Json(config_.device_id)) + ",\"operations\":[";
    std::vector<std::string> ids;
    size_t bytes = 256;
    for (size_t i = start; i < pending_.size(); ++i) {
        Pending& p = pending_[i];
        if (held(key_of(p.op))) continue;
        if (p.base != base || ids.size() >= std::max<size_t>(1, batch_limit_)) break;
        std::string op = dump(wire_op_to_json(p.op));
        if (!ids.empty() && bytes + op.size() + 1 > config_.max_body_bytes) break;
        bytes += op.size() + 1;
        if (!ids.empty()) body += ',';
        body += op;
        ids.push_back(p.op.op_id);
        p.sent = true;
    }
    body += "]}";
    bool unsent_left = false;
    for (const Pending& p : pending_)
        if (!p.sent && !held(key_of(p.op))) unsent_left = true;
    if (!unsent_left) flush_ = false;

    SyncRequest r{next_request_seq_++, "PATCH", base_path(), std::move(body), headers(true), config_.timeout_ms};
    in_flight_ = Outstanding{r.seq, true, std::move(ids), now_ms, 0};
    return r;
}

SyncRequest SyncEngine::make_get(int64_t now_ms) {
    SyncRequest r{next_request_seq_++, "GET", base_path() + "?since=" + std::to_string(synced_revision_), "", headers(false), config_.timeout_ms};
    in_flight_ = Outstanding{r.seq, false, {}, now_ms, synced_revision_};
    return r;
}

std::optional<SyncRequest> SyncEngine::poll(int64_t now_ms) {
    if (in_flight_ && now_ms - in_flight_->sent_ms >= config_.timeout_ms) fail_current(now_ms, "the server did not answer in time");
    if (in_flight_ || needs_auth_ || error_ || now_ms < next_retry_ms_) return std::nullopt;
    if (auto patch = make_patch(now_ms)) return patch;
    bool periodic = config_.catchup_interval_ms > 0 && now_ms - last_catchup_ms_ >= config_.catchup_interval_ms;
    if (catchup_needed_ || periodic) return make_get(now_ms);
    return std::nullopt;
}

void SyncEngine::finish_current() {
    if (!in_flight_) return;
    recent_.push_back(std::move(*in_flight_));
    in_flight_.reset();
    while (recent_.size() > 64) recent_.pop_front();
}

void SyncEngine::succeed_current() {
    finish_current();
    failures_ = 0;
    next_retry_ms_ = 0;
    message_.clear();
}

void SyncEngine::fail_current(int64_t now_ms, std::string message) {
    finish_current();
    ++failures_;
    // Full jitter: uniform in [0, min(max, base * 2^(failures-1))].
    int64_t cap = config_.backoff_base_ms;
    for (int i = 1; i < failures_ && cap < config_.backoff_max_ms; ++i) cap *= 2;
    cap = std::min(cap, config_.backoff_max_ms);
    next_retry_ms_ = now_ms + (int64_t)(rng_() % (uint64_t)(cap + 1));
    message_ = std::move(message);
}

SyncOutput SyncEngine::on_failure(uint64_t seq, SyncFailure kind, int64_t now_ms) {
    if (in_flight_ && in_flight_->seq == seq)
        fail_current(now_ms, kind == SyncFailure::Timeout ? "the server did not answer in time" : "the network is unreachable");
    return {};
}

void SyncEngine::acknowledge(const std::set<std::string>& op_ids, SyncOutput& out) {
    if (op_ids.empty()) return;
    std::vector<ItemKey> settled;
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
        if (!op_ids.count(p.op.op_id)) return false;
        out.journal_delete.push_back(p.op.op_id);
        settled.push_back(key_of(p.op));
        return true;
    }), pending_.end());
    for (const ItemKey& key : settled) {
        count_pending(key, -1);
        if (last_pending_on(key) < 0) set_aside_.erase(key);  // a late 200 settled it after all
    }
}

void SyncEngine::drop_ops_on(const ItemKey& key, SyncOutput& out) {
    for (size_t i = 0; i < pending_.size();) {
        if (key_of(pending_[i].op) == key) {
            out.journal_delete.push_back(pending_[i].op.op_id);
            pending_.erase(pending_.begin() + (long)i);
            count_pending(key, -1);
        } else ++i;
    }
}

void SyncEngine::hold(const ItemKey& key, const std::optional<Json>& theirs, int64_t revision, std::string user, std::string device) {
    auto [it, fresh] = conflicts_.try_emplace(key);
    SyncConflict& c = it->second;
    if (fresh) {
        c.kind = key.first;
        c.id = key.second;
        c.mine = local_value(key, std::nullopt);
    } else if (revision < c.revision) {
        return;
    }
    c.theirs = theirs;
    c.revision = revision;
    c.user = std::move(user);
    c.device = std::move(device);
}

SyncOutput SyncEngine::on_reply(uint64_t seq, int http_status, const std::string& body, int64_t now_ms) {
    SyncOutput out;
    std::optional<Outstanding> req;
    bool current = in_flight_ && in_flight_->seq == seq;
    if (current) req = *in_flight_;
    for (const Outstanding& o : recent_)
        if (!req && o.seq == seq) req = o;
    if (!req) return out;
    if (req->patch) {
        auto parsed = parse_json_text(body, "reply");
        handle_patch_reply(*req, current, http_status, parsed ? &parsed.value() : nullptr, now_ms, out);
    } else if (current) {
        // Read leniently: one unreadable item (stored by an older server) must not stop catching up.
        auto parsed = parse_json_text_tolerant(body, "reply");
        handle_get_reply(http_status, parsed ? &parsed.value().value : nullptr, parsed ? parsed.value().problems : Errors{}, now_ms, out);
    }
    return out;
}

void SyncEngine::handle_patch_reply(const Outstanding& req, bool current, int status, const Json* j, int64_t now_ms, SyncOutput& out) {
    if (status == 200) {
        auto revision = j ? int_member(*j, "revision") : std::nullopt;
        const Json* applied = j ? find(*j, "applied") : nullptr;
        const Json* duplicates = j ? find(*j, "duplicates") : nullptr;
        if (!revision || *revision < 0 || !string_array(applied) || !string_array(duplicates)) {
            if (current) fail_current(now_ms, "the server's reply to a save was not understood");
            return;
        }
        // Late, repeated or out of order, a 200 still acknowledges what it names (and was sent).
        const std::set<std::string> sent(req.op_ids.begin(), req.op_ids.end());
        std::set<std::string> acked;
        for (const Json* list : {applied, duplicates})
            for (const Json& id : *list)
                if (sent.count(id.get<std::string>())) acked.insert(id.get<std::string>());
        acknowledge(acked, out);
        acked_revision_ = std::max(acked_revision_, *revision);
        catchup_needed_ = true;
        if (current) succeed_current();
        // A split batch found what it was split for, or nothing is left: full batches again.
        bool sendable_left = std::any_of(pending_.begin(), pending_.end(), [&](const Pending& p) { return !held(key_of(p.op)); });
        if (limit_before_split_ && !sendable_left) {
            batch_limit_ = *limit_before_split_;
            limit_before_split_.reset();
        }
        return;
    }
    if (!current) return;  // a stale refusal says nothing about the ops' current state
    if (handle_refusal(status, j, out)) return;
    if (status == 409) {
        const Json* list = j ? find(*j, "conflicts") : nullptr;
        bool shape = list && list->is_array() && !list->empty();
        struct Item { ItemKey key; std::optional<Json> theirs; int64_t revision; std::string user, device; };
        std::vector<Item> items;
        for (size_t i = 0; shape && i < list->size(); ++i) {
            const Json& c = (*list)[i];
            auto kind_name = string_member(c, "kind");
            auto kind = kind_name ? kind_from_string(*kind_name) : std::nullopt;
            auto id = string_member(c, "id");
            // An item the server never held has no revision, user or device: null, or absent.
            const Json* rev = find(c, "revision");
            auto revision = rev && !rev->is_null() ? int_member(c, "revision") : std::optional<int64_t>(0);
            const Json* server = find(c, "server");
            if (!kind || !id || !revision || !server || (!server->is_null() && check_item(*kind, *server, "/server"))) { shape = false; break; }
            std::optional<Json> theirs;
            if (!server->is_null()) theirs = *server;
            items.push_back({{*kind, *id}, std::move(theirs), *revision, string_member(c, "user").value_or(""), string_member(c, "device").value_or("")});
        }
        if (!shape) { fail_current(now_ms, "the server's conflict reply was not understood"); return; }
        bool held = false;
        for (Item& it : items) {
            if (!conflicts_.count(it.key) && last_pending_on(it.key) < 0) continue;
            hold(it.key, it.theirs, it.revision, std::move(it.user), std::move(it.device));
            held = true;
        }
        catchup_needed_ = true;
        if (held) succeed_current();  // the rest go again at the next poll
        else fail_current(now_ms, "the server reported conflicts on items with no local changes");
        return;
    }
    handle_error_status(status, j, now_ms);
}

void SyncEngine::handle_error_status(int status, const Json* j, int64_t now_ms) {
    std::string message = "the server answered HTTP " + std::to_string(status);
    if (j) {
        if (const Json* e = find(*j, "error"))
            if (auto m = string_member(*e, "message")) message = *m;
    }
    if (status == 401 || status == 403) {
        finish_current();
        needs_auth_ = true;
        message_ = std::move(message);
        return;
    }
    if (status == 413 && in_flight_ && in_flight_->patch && in_flight_->op_ids.size() > 1) {
        shrink_batch();
        return;
    }
    if (status >= 400 && status < 500 && status != 408 && status != 429) {
        finish_current();
        error_ = true;
        message_ = std::move(message);
        return;
    }
    fail_current(now_ms, std::move(message));
    // A full server (503 + Retry-After, repeated as error.retry_after in seconds) says when to come
    // back: wait that long, then the jittered backoff, so its refused clients do not return together.
    if (const Json* e = j && (status == 503 || status == 429) ? find(*j, "error") : nullptr)
        if (auto seconds = int_member(*e, "retry_after"); seconds && *seconds > 0)
            next_retry_ms_ += std::min<int64_t>(*seconds, 3600) * 1000;
}

void SyncEngine::shrink_batch() {
    if (!limit_before_split_) limit_before_split_ = batch_limit_;
    batch_limit_ = std::max<size_t>(1, in_flight_->op_ids.size() / 2);
    finish_current();  // no backoff: the halves go at once
}

namespace {
// "/operations/12/value/meta" -> {12, "/value/meta"}.
std::optional<std::pair<size_t, std::string>> operation_pointer(const std::string& path) {
    const std::string prefix = "/operations/";
    if (path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    size_t end = prefix.size();
    while (end < path.size() && path[end] >= '0' && path[end] <= '9') ++end;
    if (end == prefix.size() || end - prefix.size() > 9 || (end < path.size() && path[end] != '/')) return std::nullopt;
    return std::make_pair((size_t)std::stoul(path.substr(prefix.size(), end - prefix.size())), path.substr(end));
}
}  // namespace

// A refusal of the batch's content (see the header): the op it names is set aside and the rest
// go again at once; a refusal of the whole body is bisected. False: not a content refusal.
bool SyncEngine::handle_refusal(int status, const Json* j, SyncOutput& out) {
    if (!in_flight_ || !in_flight_->patch || in_flight_->op_ids.empty()) return false;
    const Json* e = j ? find(*j, "error") : nullptr;
    std::string code = e ? string_member(*e, "code").value_or("") : "";
    std::optional<std::string> path = e ? string_member(*e, "path") : std::nullopt;
    // A 403 that names an operation is a review rule (docs/SCHEMA.md section 13: this role may not
    // write there in that job's stage), not a lost login: that op is set aside, the others go on.
    bool forbidden_op = status == 403 && code == "forbidden" && path && operation_pointer(*path);
    bool content = status == 400 || status == 422 || (status == 409 && code == "op_id_reused") || status == 413 || forbidden_op;
    if (!content) return false;
    const std::vector<std::string>& ids = in_flight_->op_ids;
    std::optional<size_t> index;
    std::string where;
    if (path) {
        if (auto named = operation_pointer(*path); named && named->first < ids.size()) {
            index = named->first;
            where = named->second;
        }
    }
    if (!index && e && status == 409)
        if (auto op_id = string_member(*e, "op_id"))
            if (auto at = std::find(ids.begin(), ids.end(), *op_id); at != ids.end()) index = (size_t)(at - ids.begin());
    // The body as a whole (413, or a 400/422 with the empty pointer, or an op id the server did
    // not point at): one op alone is the culprit; several are split until it is alone.
    bool whole_body = status == 413 || (path && path->empty()) || status == 409;
    if (!index && whole_body) {
        if (ids.size() > 1) {
            shrink_batch();
            return true;
        }
        index = 0;
    }
    if (!index) return false;  // a refusal of something else (the user, a header): Error, as before
    int at = -1;
    for (size_t i = 0; i < pending_.size() && at < 0; ++i)
        if (pending_[i].op.op_id == ids[*index]) at = (int)i;
    if (at < 0) return false;
    std::string message = e ? string_member(*e, "message").value_or("") : "";
    if (message.empty()) message = "the server answered HTTP " + std::to_string(status);
    if (code.empty()) code = status == 413 ? "too_large" : "refused";
    set_item_aside((size_t)at, Refusal{ids[*index], code, message, where, next_refusal_++, std::nullopt}, out);
    succeed_current();  // answered: not a network failure, no backoff; the others go at once
    if (limit_before_split_) {
        batch_limit_ = *limit_before_split_;
        limit_before_split_.reset();
    }
    return true;
}

void SyncEngine::set_item_aside(size_t pending_index, Refusal refusal, SyncOutput& out) {
    ItemKey key = key_of(pending_[pending_index].op);
    // The refused request applied nothing: its ops may change, and go again under fresh ids.
    if (in_flight_)
        for (Pending& p : pending_)
            if (key_of(p.op) == key && std::find(in_flight_->op_ids.begin(), in_flight_->op_ids.end(), p.op.op_id) != in_flight_->op_ids.end()) p.sent = false;
    set_aside_[key] = std::move(refusal);
    put_item_records(key, out);
}

void SyncEngine::put_item_records(const ItemKey& key, SyncOutput& out) const {
    for (const Pending& p : pending_)
        if (key_of(p.op) == key) out.journal_put.push_back(journal_record(p));
}

std::vector<SyncEngine::ItemKey> SyncEngine::set_aside_keys(const std::vector<std::string>& ids, SyncOutput& out) const {
    std::vector<ItemKey> keys;
    if (ids.empty()) {
        for (const auto& entry : set_aside_) keys.push_back(entry.first);
        return keys;
    }
    for (const std::string& id : ids) {
        auto it = find_by_id(set_aside_, id);
        if (it == set_aside_.end()) out.errors.push_back({"not_found", id, "no change to \"" + id + "\" is set aside"});
        else keys.push_back(it->first);
    }
    return keys;
}

std::vector<SetAsideItem> SyncEngine::set_aside() const {
    std::vector<std::pair<uint64_t, SetAsideItem>> ordered;
    for (const auto& [key, r] : set_aside_) {
        SetAsideItem item{key.first, key.second, r.op_id, r.code, r.message, r.path, local_value(key, std::nullopt), ""};
        if (item.value)
            if (auto label = string_member(*item.value, "label")) item.label = *label;
        ordered.emplace_back(r.order, std::move(item));
    }
    stable_sort_by_key(ordered, [](const auto& entry) { return entry.first; });
    std::vector<SetAsideItem> out;
    for (auto& entry : ordered) out.push_back(std::move(entry.second));
    return out;
}

SyncOutput SyncEngine::retry_set_aside(const std::vector<std::string>& ids, int64_t now_ms) {
    SyncOutput out;
    bool reissued = false;
    for (const ItemKey& key : set_aside_keys(ids, out)) {
        set_aside_.erase(key);
        for (Pending& p : pending_) {
            if (key_of(p.op) != key) continue;
            // Not applied (refused): a fresh id, so that a server that saw the old one with other
            // content (op_id_reused) takes it. Possibly applied: the same id and content.
            if (!p.sent) {
                out.journal_delete.push_back(p.op.op_id);
                p.op.op_id = next_op_id();
                reissued = true;
            }
            out.journal_put.push_back(journal_record(p));
        }
    }
    if (reissued) out.journal_put.push_back(counter_record());
    flush_ = true;
    next_retry_ms_ = std::min(next_retry_ms_, now_ms);
    return out;
}

SyncOutput SyncEngine::discard_set_aside(const std::vector<std::string>& ids) {
    SyncOutput out;
    for (const ItemKey& key : set_aside_keys(ids, out)) {
        Refusal r = set_aside_[key];
        set_aside_.erase(key);
        std::optional<std::optional<Json>> server = r.server;
        if (!server)
            for (const Pending& p : pending_)
                if (key_of(p.op) == key) {
                    if (p.before) server = p.before->is_null() ? std::optional<Json>() : std::optional<Json>(*p.before);
                    break;
                }
        drop_ops_on(key, out);
        if (server) out.remote.push_back(RemoteChange{key.first, key.second, *server, synced_revision_, "", "", "", ""});
        else out.errors.push_back({"unknown_server_value", key.second, "the server's version of \"" + key.second + "\" is not known here (an edit from an older journal): the local one stays until the page is reloaded"});
    }
    return out;
}

// The index N of each /changes/N/... a lenient parse had to neutralise.
static std::set<size_t> unreadable_changes(const Errors& problems) {
    std::set<size_t> out;
    const std::string prefix = "/changes/";
    for (const Error& e : problems) {
        if (e.path.compare(0, prefix.size(), prefix) != 0) continue;
        size_t end = e.path.find('/', prefix.size());
        std::string index = e.path.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
        if (!index.empty() && index.find_first_not_of("0123456789") == std::string::npos && index.size() < 10)
            out.insert((size_t)std::stoul(index));
    }
    return out;
}

void SyncEngine::handle_get_reply(int status, const Json* j, const Errors& problems, int64_t now_ms, SyncOutput& out) {
    if (status != 200) { handle_error_status(status, j, now_ms); return; }
    auto revision = j ? int_member(*j, "revision") : std::nullopt;
    auto since = j ? int_member(*j, "since") : std::nullopt;
    const Json* list = j ? find(*j, "changes") : nullptr;
    bool shape = revision && since && *since <= synced_revision_ && list && list->is_array();
    std::set<size_t> unreadable = unreadable_changes(problems);
    for (const Error& e : problems)  // a problem outside every change: the envelope cannot be trusted
        if (e.path.compare(0, 9, "/changes/") != 0) shape = false;
    std::vector<RemoteChange> changes;
    for (size_t i = 0; shape && i < list->size(); ++i) {
        const Json& c = (*list)[i];
        auto kind_name = string_member(c, "kind");
        auto kind = kind_name ? kind_from_string(*kind_name) : std::nullopt;
        auto id = string_member(c, "id");
        auto rev = int_member(c, "revision");
        const Json* value = find(c, "value");
        if (!kind || !id || !rev || !value || *rev > *revision) { shape = false; break; }
        if (unreadable.count(i) || (!value->is_null() && check_item(*kind, *value, "/value"))) {
            // Skipped and named: the labeler's copy keeps what it had, and the next edit of this
            // item (based on a later revision) replaces the unreadable value on the server.
            std::string where = json_pointer_append("/changes", i);
            std::string why;
            for (const Error& e : problems)
                if (why.empty() && json_pointer_within(e.path, where) && e.path != where) why = e.message;
            if (why.empty())
                if (auto e = check_item(*kind, *value, "/value")) why = e->message;
            out.errors.push_back(Error{"unreadable_change", where,
                                       "the server's change to " + *kind_name + " '" + *id + "' (revision " +
                                           std::to_string(*rev) + ") was left out: " + why});
            continue;
        }
        RemoteChange ch{*kind, *id, std::nullopt, *rev, string_member(c, "user").value_or(""), string_member(c, "device").value_or(""),
                        string_member(c, "role").value_or(""), string_member(c, "at").value_or("")};
        if (!value->is_null()) ch.value = *value;
        changes.push_back(std::move(ch));
    }
    if (!shape) { fail_current(now_ms, "the server's list of changes was not understood"); return; }
    stable_sort_by_key(changes, [](const RemoteChange& c) { return c.revision; });
    for (RemoteChange& c : changes) {
        if (c.revision <= synced_revision_) continue;
        ItemKey key{c.kind, c.id};
        if (conflicts_.count(key)) {  // keep "theirs" current, whoever wrote it
            hold(key, c.value, c.revision, c.user, c.device);
            continue;
        }
        if (auto r = set_aside_.find(key); r != set_aside_.end()) {
            // Not applied over the refused edit; remembered for a discard. A retry based on an
            // older revision meets it as a conflict.
            if (c.device != config_.device_id) r->second.server = c.value;
            continue;
        }
        if (last_pending_on(key) >= 0) {
            if (c.device == config_.device_id) continue;  // our own: the document has it, or newer

            // Local edits made without seeing this change: never overwrite either side blindly.
            if (c.revision > max_base_on(key)) hold(key, c.value, c.revision, c.user, c.device);
            continue;
        }
        // Our own saves come back too: a no-op where the document has them, and what a start
        // from an older copy (offline, from the service worker's cache) lacks.
        out.remote.push_back(std::move(c));
    }
    synced_revision_ = std::max(synced_revision_, *revision);
    catchup_needed_ = false;
    last_catchup_ms_ = now_ms;
    succeed_current();
}

// [SECTION] Engine: user actions

void SyncEngine::flush(int64_t now_ms) {
    flush_ = true;
    next_retry_ms_ = std::min(next_retry_ms_, now_ms);
}

void SyncEngine::request_catchup() { catchup_needed_ = true; }

void SyncEngine::set_token(std::string token) {
    token_ = std::move(token);
    if (needs_auth_) {
        needs_auth_ = false;
        next_retry_ms_ = 0;
        message_.clear();
    }
}

void SyncEngine::retry(int64_t now_ms) {
    error_ = false;
    failures_ = 0;
    next_retry_ms_ = std::min(next_retry_ms_, now_ms);
    batch_limit_ = config_.max_ops_per_request;
    limit_before_split_.reset();
    message_.clear();
    flush_ = true;
}

std::vector<SyncConflict> SyncEngine::conflicts() const {
    std::vector<SyncConflict> out;
    for (const auto& [key, c] : conflicts_) {
        out.push_back(c);
        out.back().mine = local_value(key, c.mine);
    }
    return out;
}

SyncOutput SyncEngine::resolve(const std::string& id, Resolution choice, int64_t now_ms) {
    SyncOutput out;
    auto it = find_by_id(conflicts_, id);
    if (it == conflicts_.end()) {
        out.errors.push_back({"not_found", id, "no conflict is held on \"" + id + "\""});
        return out;
    }
    ItemKey key = it->first;
    SyncConflict c = it->second;
    conflicts_.erase(it);
    std::optional<Json> mine = local_value(key, c.mine);
    // Dropping ops that may have been sent is safe: each was based on a revision before the
    // other device's change, so the server refuses it if it ever arrives.
    drop_ops_on(key, out);
    if (choice == Resolution::Theirs) {
        out.remote.push_back(RemoteChange{c.kind, c.id, c.theirs, c.revision, c.user, c.device, "", ""});
        return out;
    }
    if (!mine && !c.theirs) return out;  // both deleted: nothing to say
    WireOp op;
    op.kind = c.kind;
    op.id = c.id;
    op.op = mine && c.theirs ? SyncOpType::Update : mine ? SyncOpType::Create : SyncOpType::Delete;
    if (mine) op.value = *mine;
    add_op(std::move(op), c.theirs ? *c.theirs : Json(), c.revision, now_ms, out);
    flush_ = true;
    return out;
}

SyncOutput SyncEngine::resolve_all(Resolution choice, int64_t now_ms) {
    SyncOutput out;
    std::vector<std::string> ids;
    for (const auto& entry : conflicts_) ids.push_back(entry.first.second);
    for (const std::string& id : ids) {
        SyncOutput one = resolve(id, choice, now_ms);
        out.journal_put.insert(out.journal_put.end(), one.journal_put.begin(), one.journal_put.end());
        out.journal_delete.insert(out.journal_delete.end(), one.journal_delete.begin(), one.journal_delete.end());
        out.remote.insert(out.remote.end(), one.remote.begin(), one.remote.end());
        out.errors.insert(out.errors.end(), one.errors.begin(), one.errors.end());
    }
    return out;
}

SyncStatus SyncEngine::status() const {
    SyncStatus s;
    for (const Pending& p : pending_)
        if (!held(key_of(p.op))) ++s.pending;
    s.conflicts = conflicts_.size();
    s.set_aside = set_aside_.size();
    s.acked_revision = acked_revision_;
    s.synced_revision = synced_revision_;
    s.message = message_;
    if (needs_auth_) s.state = SyncState::NeedsAuth;
    else if (error_) s.state = SyncState::Error;
    else if (!conflicts_.empty()) s.state = SyncState::Conflict;
    else if (failures_ > 0) {
        s.state = SyncState::Offline;
        s.next_retry_ms = next_retry_ms_;
    } else if (s.pending > 0 || (in_flight_ && in_flight_->patch)) s.state = SyncState::Saving;
    else if (!set_aside_.empty()) s.state = SyncState::SetAside;
    else s.state = SyncState::Saved;
    return s;
}

}  // namespace pm
