// The sync engine against a C++ model of the server (op-id dedupe, revisions, a per-item change
// log with the device that wrote it, the 409 rules, `since`) over a simulated network that drops,
// delays, duplicates and reorders requests and replies.
#include "polymark/sync.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <random>
#include <set>

using namespace pm;

namespace {

// [SECTION] Items

Object obj(const std::string& id, double x) {
    Object o;
    o.id = id;
    o.type = ShapeType::Polygon;
    o.label = "cat";
    o.points = {x, 0, x + 10, 0, x, 10};
    return o;
}

Track trk(const std::string& id, double x) {
    Track t;
    t.id = id;
    t.type = ShapeType::Rectangle;
    t.label = "car";
    for (int i = 0; i < 2; ++i) {
        Keyframe& k = t.keyframes.emplace_back();
        k.id = id + ".k" + std::to_string(i);
        k.frame = i * 10;
        k.points = {x + i, 0, x + i + 5, 5};
    }
    return t;
}

using Key = std::pair<SyncKind, std::string>;

// [SECTION] The server model

struct SimServer {
    struct Change {
        int64_t revision;
        std::string op_id, user, device;
    };
    struct Reply {
        int status;
        std::string body;
    };
    std::map<Key, Json> items;
    std::map<Key, std::vector<Change>> log;
    std::map<std::string, std::string> applied;  // op id -> the op's JSON text
    int64_t revision = 0;
    std::string token;  // required when not empty
    int reused_op_ids = 0, bad_requests = 0, duplicates = 0, conflicts = 0, patches = 0;
    size_t largest_body = 0;

    void put(const Object& o) { items[{SyncKind::Object, o.id}] = object_to_json(o); }
    void put(const Track& t) { items[{SyncKind::Track, t.id}] = track_to_json(t); }

    Document document() const {
        Document d;
        for (const auto& [key, value] : items) {
            if (key.first == SyncKind::Object) d.objects.push_back(object_from_json(value, "").value());
            else d.tracks.push_back(track_from_json(value, "").value());
        }
        return d;
    }

    Reply handle(const SyncRequest& r) {
        if (!token.empty()) {
            bool ok = false;
            for (const auto& [name, value] : r.headers) ok = ok || (name == "Authorization" && value == "Bearer " + token);
            if (!ok) return {401, R"({"error":{"code":"unauthorized","message":"please log in again"}})"};
        }
        if (r.method == "GET") {
            size_t at = r.path.find("?since=");
            REQUIRE(at != std::string::npos);
            return since(std::stoll(r.path.substr(at + 7)));
        }
        REQUIRE(r.method == "PATCH");
        return patch(r.body);
    }

    Reply bad(const std::string& message) {
        ++bad_requests;
        return {400, Json{{"error", {{"code", "bad_request"}, {"message", message}}}}.dump()};
    }

    Json change_json(const Key& key) const {
        const Change& c = log.at(key).back();
        auto it = items.find(key);
        return Json{{"kind", to_string(key.first)}, {"id", key.second}, {"value", it == items.end() ? Json() : it->second},
                    {"revision", c.revision}, {"op_id", c.op_id}, {"user", c.user}, {"device", c.device}};
    }

    Reply since(int64_t rev) const {
        Json changes = Json::array();
        for (const auto& [key, list] : log)
            if (list.back().revision > rev) changes.push_back(change_json(key));
        return {200, Json{{"revision", revision}, {"since", rev}, {"changes", changes}}.dump()};
    }

    Reply patch(const std::string& text) {
        ++patches;
        largest_body = std::max(largest_body, text.size());
        auto body = parse_json_text(text, "body");
        if (!body || !body->is_object()) return bad("not JSON");
        const Json& b = body.value();
        if (!b.contains("base_revision") || !b["base_revision"].is_number_integer() || !b.contains("operations") ||
            !b["operations"].is_array() || !b.contains("device") || !b["device"].is_string())
            return bad("wrong shape");
        int64_t base = b["base_revision"].get<int64_t>();
        std::string device = b["device"].get<std::string>();
        std::string user = b.value("user", "");
        std::map<Key, Json> scratch = items;
        Json applied_ids = Json::array(), dup_ids = Json::array(), conflict_list = Json::array();
        std::vector<WireOp> to_apply;
        std::set<std::string> in_batch;
        for (size_t i = 0; i < b["operations"].size(); ++i) {
            const Json& oj = b["operations"][i];
            auto op = wire_op_from_json(oj, "/operations/" + std::to_string(i));
            if (!op) return bad(op.first_error().message);
            if (!in_batch.insert(op->op_id).second) return bad("op id twice in one request");
            if (auto seen = applied.find(op->op_id); seen != applied.end()) {
                if (seen->second != oj.dump()) ++reused_op_ids;
                dup_ids.push_back(op->op_id);
                continue;
            }
            Key key{op->kind, op->id};
            bool exists = scratch.count(key) > 0;
            bool conflict = op->op == SyncOpType::Create ? exists : !exists;
            // Every change after the base, not only the latest: a late request must never
            // overwrite a change its sender had not seen, even if the sender changed it since.
            if (auto l = log.find(key); l != log.end())
                for (const Change& c : l->second) conflict = conflict || (c.revision > base && c.device != device);
            if (conflict) {
                auto it = items.find(key);
                Json c{{"kind", to_string(key.first)}, {"id", key.second}, {"op_id", op->op_id},
                       {"server", it == items.end() ? Json() : it->second}, {"revision", 0}, {"user", ""}, {"device", ""}};
                if (auto l = log.find(key); l != log.end()) {
                    c["revision"] = l->second.back().revision;
                    c["user"] = l->second.back().user;
                    c["device"] = l->second.back().device;
                }
                conflict_list.push_back(std::move(c));
                continue;
            }
            if (op->op == SyncOpType::Delete) scratch.erase(key);
            else scratch[key] = op->value;
            to_apply.push_back(op.value());
            applied[op->op_id] = oj.dump();  // undone below on a conflict
            applied_ids.push_back(op->op_id);
        }
        if (!conflict_list.empty()) {
            for (const WireOp& op : to_apply) applied.erase(op.op_id);
            ++conflicts;
            return {409, Json{{"error", {{"code", "conflict"}, {"message", "changed by someone else"}}},
                              {"revision", revision}, {"conflicts", conflict_list}}.dump()};
        }
        duplicates += (int)dup_ids.size();
        if (!to_apply.empty()) {
            ++revision;
            items = std::move(scratch);
            for (const WireOp& op : to_apply) log[{op.kind, op.id}].push_back({revision, op.op_id, user, device});
        }
        return {200, Json{{"revision", revision}, {"applied", applied_ids}, {"duplicates", dup_ids}}.dump()};
    }
};

std::map<Key, std::string> snapshot(const Document& d) {
    std::map<Key, std::string> out;
    for (const Object& o : d.objects) out[{SyncKind::Object, o.id}] = object_to_json(o).dump();
    for (const Track& t : d.tracks) out[{SyncKind::Track, t.id}] = track_to_json(t).dump();
    return out;
}

std::map<Key, std::string> snapshot(const SimServer& s) {
    std::map<Key, std::string> out;
    for (const auto& [key, value] : s.items) out[key] = value.dump();
    return out;
}

SyncConfig config(const std::string& device, uint64_t seed = 1) {
    SyncConfig c;
    c.task_id = "task-1";
    c.device_id = device;
    c.user_id = "user-" + device;
    c.debounce_ms = 500;
    c.max_delay_ms = 5000;
    c.timeout_ms = 2000;
    c.backoff_base_ms = 100;
    c.backoff_max_ms = 1600;
    c.seed = seed;
    return c;
}

// A client as the platform layer runs it: a document, a journal (IndexedDB), an engine.
struct Client {
    SyncConfig cfg;
    std::optional<SyncEngine> engine;
    Document doc;
    std::map<std::string, std::string> journal;
    std::vector<SyncRequest> sent;

    explicit Client(SyncConfig c, const SimServer& server) : cfg(std::move(c)) { start(server); }

    // A first visit, or a reload after an abort: the server's document, then the journal on top.
    SyncOutput start(const SimServer& server) {
        auto e = SyncEngine::create(cfg);
        REQUIRE(e.ok());
        engine.emplace(std::move(e.value()));
        doc = server.document();
        std::vector<std::string> texts;
        for (const auto& entry : journal) texts.push_back(entry.second);
        SyncOutput out = engine->restore(texts, server.revision);
        REQUIRE(engine->apply_pending(doc).ok());
        return out;
    }

    void apply(const SyncOutput& out) {
        for (const JournalRecord& r : out.journal_put) journal[r.key] = r.text;
        for (const std::string& k : out.journal_delete) journal.erase(k);
        for (const RemoteChange& c : out.remote) REQUIRE(apply_remote_change(doc, c).ok());
    }

    void edit(const Command& c, int64_t now) {
        REQUIRE(apply_command(doc, c).ok());
        apply(engine->record(c, now));
    }

    std::optional<SyncRequest> poll(int64_t now) {
        auto r = engine->poll(now);
        if (r) sent.push_back(*r);
        return r;
    }

    // Request, reply, request, ... with no network trouble, until the engine has nothing to send.
    void settle(SimServer& server, int64_t& now) {
        for (int i = 0; i < 100; ++i) {
            now += 1000;
            auto r = poll(now);
            if (!r) {
                now += 10000;
                r = poll(now);
                if (!r) return;
            }
            auto reply = server.handle(*r);
            apply(engine->on_reply(r->seq, reply.status, reply.body, now));
        }
        FAIL("the engine did not settle");
    }
};

SimServer seeded_server() {
    SimServer s;
    for (int i = 0; i < 3; ++i) s.put(obj("s" + std::to_string(i), i * 20.0));
    s.put(trk("st0", 5));
    return s;
}

Command create_cmd(const Document& d, const Object& o) { return Command{"draw", {ObjectOp::create(o, d.objects.size())}, {}}; }

Command move_cmd(const Document& d, const std::string& id, double x) {
    int at = find_object(d, id);
    REQUIRE(at >= 0);
    Object after = d.objects[at];
    after.points[0] = x;
    return Command{"move", {ObjectOp::update(d.objects[at], after, (size_t)at)}, {}};
}

Command delete_cmd(const Document& d, const std::string& id) {
    int at = find_object(d, id);
    REQUIRE(at >= 0);
    return Command{"delete", {ObjectOp::remove(d.objects[at], (size_t)at)}, {}};
}

Json body_of(const SyncRequest& r) { return parse_json_text(r.body, "body").value(); }

}  // namespace

// [SECTION] Wire format and journal

TEST_CASE("wire ops round-trip through JSON and malformed ones are refused with a code", "[sync]") {
    WireOp op{"dev-1", SyncKind::Object, SyncOpType::Create, "a", object_to_json(obj("a", 1)), 3};
    auto back = wire_op_from_json(wire_op_to_json(op), "");
    REQUIRE(back.ok());
    CHECK(wire_op_to_json(back.value()) == wire_op_to_json(op));
    CHECK(back->index == std::optional<size_t>(3));

    Json bad_id = wire_op_to_json(op);
    bad_id["op_id"] = "dev 1";
    CHECK(wire_op_from_json(bad_id, "").first_error().code == "bad_op_id");
    Json no_value = wire_op_to_json(op);
    no_value.erase("value");
    CHECK(wire_op_from_json(no_value, "").first_error().code == "missing_key");
    Json bad_kind = wire_op_to_json(op);
    bad_kind["kind"] = "keyframe";
    CHECK(wire_op_from_json(bad_kind, "").first_error().code == "bad_kind");
    CHECK_FALSE(is_valid_op_id(std::string(129, 'a')));
    CHECK(check_sync_config(SyncConfig{}).size() >= 2);
}

TEST_CASE("record turns every op of a command into a journaled wire op with a fresh op id", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    Command cmd{"draw two", {ObjectOp::create(obj("a", 1), 3), ObjectOp::create(obj("b", 2), 4)}, {TrackOp::create(trk("t", 1), 1)}};
    REQUIRE(apply_command(c.doc, cmd).ok());
    SyncOutput out = c.engine->record(cmd, 0);
    c.apply(out);
    CHECK(out.errors.empty());
    auto ops = c.engine->pending_ops();
    REQUIRE(ops.size() == 3);
    CHECK(ops[0].op_id == "dev-1");
    CHECK(ops[1].op_id == "dev-2");
    CHECK(ops[2].op_id == "dev-3");
    CHECK(ops[2].kind == SyncKind::Track);
    CHECK(ops[0].index == std::optional<size_t>(3));
    CHECK(c.journal.size() == 4);  // three ops and the counter
    CHECK(c.journal.count(kJournalCounterKey) == 1);
    CHECK(c.engine->status().state == SyncState::Saving);
    CHECK(c.engine->status().pending == 3);
}

TEST_CASE("op ids never repeat across reloads, even after every op was acknowledged", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    c.edit(create_cmd(c.doc, obj("b", 1)), now);
    c.settle(server, now);
    REQUIRE(c.engine->status().state == SyncState::Saved);
    REQUIRE(c.journal.size() == 1);  // only the counter is left
    c.start(server);
    c.edit(create_cmd(c.doc, obj("c", 1)), now);
    CHECK(c.engine->pending_ops().at(0).op_id == "dev-3");
    c.settle(server, now);
    CHECK(server.reused_op_ids == 0);
    CHECK(server.duplicates == 0);
    CHECK(snapshot(c.doc) == snapshot(server));
}

TEST_CASE("restore refuses unreadable and newer journal records with a code and keeps the rest", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(create_cmd(c.doc, obj("a", 1)), 0);
    std::vector<std::string> texts;
    for (const auto& e : c.journal) texts.push_back(e.second);
    texts.push_back("{not json");
    Json newer = parse_json_text(c.journal["dev-1"], "").value();
    newer["version"] = 99;
    texts.push_back(newer.dump());
    auto e = SyncEngine::create(config("dev"));
    REQUIRE(e.ok());
    SyncOutput out = e->restore(texts, 0);
    REQUIRE(out.errors.size() == 2);
    CHECK(out.errors[0].code == "bad_journal");
    CHECK(out.errors[1].code == "unsupported_version");
    CHECK(e->pending_ops().size() == 1);
}

// [SECTION] Coalescing and batching

TEST_CASE("unsent ops on one item coalesce; an op already sent is never changed", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    c.edit(move_cmd(c.doc, "a", 50), now);
    auto ops = c.engine->pending_ops();
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].op == SyncOpType::Create);
    CHECK(ops[0].value["points"][0] == 50);

    c.edit(delete_cmd(c.doc, "a"), now);  // create + delete: nothing to send
    CHECK(c.engine->pending_ops().empty());
    CHECK(c.journal.count("dev-1") == 0);

    c.edit(move_cmd(c.doc, "s0", 7), now);
    c.edit(move_cmd(c.doc, "s0", 8), now);
    REQUIRE(c.engine->pending_ops().size() == 1);
    CHECK(c.engine->pending_ops()[0].value["points"][0] == 8);

    auto req = c.poll(now + 600);  // in flight now
    REQUIRE(req);
    std::string sent_text = c.journal.at(c.engine->pending_ops()[0].op_id);
    c.edit(move_cmd(c.doc, "s0", 9), now + 700);
    c.edit(delete_cmd(c.doc, "s0"), now + 800);
    ops = c.engine->pending_ops();
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].op == SyncOpType::Update);
    CHECK(ops[0].value["points"][0] == 8);         // the in-flight op is untouched ...
    CHECK(c.journal.at(ops[0].op_id) == sent_text);  // ... in the journal too
    CHECK(ops[1].op == SyncOpType::Delete);         // update + delete coalesced behind it
    auto reply = server.handle(*req);
    c.apply(c.engine->on_reply(req->seq, reply.status, reply.body, now + 900));
    c.settle(server, now);
    CHECK(snapshot(c.doc) == snapshot(server));
    CHECK(server.reused_op_ids == 0);
}

TEST_CASE("edits wait for the debounce, flush sends at once, and batches respect the op limit", "[sync]") {
    SimServer server = seeded_server();
    SyncConfig cfg = config("dev");
    cfg.max_ops_per_request = 2;
    Client c(cfg, server);
    int64_t start = 0;
    c.settle(server, start);  // the first catch-up
    for (int i = 0; i < 5; ++i) c.edit(create_cmd(c.doc, obj("n" + std::to_string(i), i)), 100 * i);
    CHECK_FALSE(c.poll(800));  // last edit at 400, debounce 500
    c.engine->flush(800);
    auto r = c.poll(800);
    REQUIRE(r);
    CHECK(body_of(*r)["operations"].size() == 2);
    auto reply = server.handle(*r);
    c.apply(c.engine->on_reply(r->seq, reply.status, reply.body, 810));
    r = c.poll(820);  // still flushing: the next batch goes before the catch-up
    REQUIRE(r);
    CHECK(r->method == "PATCH");
    CHECK(body_of(*r)["operations"][0]["id"] == "n2");
    reply = server.handle(*r);
    c.apply(c.engine->on_reply(r->seq, reply.status, reply.body, 830));
    int64_t now = 900;
    c.settle(server, now);
    CHECK(snapshot(c.doc) == snapshot(server));
    CHECK(c.journal.size() == 1);
}

TEST_CASE("a one-object save is as small as that object, however large the document", "[sync]") {
    SimServer server;
    for (int i = 0; i < 2000; ++i) server.put(obj("o" + std::to_string(i), i));
    Client c(config("dev"), server);
    int64_t now = 0;
    c.settle(server, now);
    c.edit(move_cmd(c.doc, "o1234", 5), now);
    auto r = c.poll(now + 1000);
    REQUIRE(r);
    CHECK(r->body.size() < object_to_json(obj("o1234", 5)).dump().size() + 300);
}

TEST_CASE("a PATCH body is the header and each operation's compact JSON, names escaped", "[sync]") {
    SimServer server = seeded_server();
    SyncConfig cfg = config("dev");
    cfg.user_id = "al\"ice/é";
    Client c(cfg, server);
    int64_t now = 0;
    c.settle(server, now);
    c.edit(create_cmd(c.doc, obj("n1", 1)), now);
    c.edit(create_cmd(c.doc, obj("n2", 2)), now);
    auto r = c.poll(now + 1000);
    REQUIRE(r);
    REQUIRE(r->method == "PATCH");
    Json expected{{"base_revision", body_of(*r)["base_revision"]}, {"user", "al\"ice/é"}, {"device", cfg.device_id},
                  {"operations", Json::array()}};
    for (const WireOp& op : c.engine->pending_ops()) expected["operations"].push_back(wire_op_to_json(op));
    CHECK(expected["operations"].size() == 2);
    CHECK(r->body == expected.dump());
}

TEST_CASE("a 413 halves the batch and retries, and a single op too large is set aside while the others are saved", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    for (int i = 0; i < 4; ++i) c.edit(create_cmd(c.doc, obj("n" + std::to_string(i), i)), 0);
    auto r = c.poll(1000);
    REQUIRE(body_of(*r)["operations"].size() == 4);
    c.apply(c.engine->on_reply(r->seq, 413, R"({"error":{"code":"too_large","message":"too large"}})", 1000));
    r = c.poll(1000);
    REQUIRE(r);
    CHECK(body_of(*r)["operations"].size() == 2);
    c.apply(c.engine->on_reply(r->seq, 413, "{}", 1000));
    r = c.poll(1000);
    REQUIRE(body_of(*r)["operations"].size() == 1);
    c.apply(c.engine->on_reply(r->seq, 413, R"({"error":{"code":"too_large","message":"object too large"}})", 1000));
    REQUIRE(c.engine->set_aside().size() == 1);
    CHECK(c.engine->set_aside()[0].id == "n0");
    CHECK(c.engine->set_aside()[0].code == "too_large");
    CHECK(c.engine->set_aside()[0].message == "object too large");
    CHECK(c.engine->status().pending == 3);
    int64_t now = 1000;
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::SetAside);
    CHECK(c.engine->status().set_aside == 1);
    CHECK(server.items.count({SyncKind::Object, "n0"}) == 0);
    for (int i = 1; i < 4; ++i) CHECK(server.items.count({SyncKind::Object, "n" + std::to_string(i)}) == 1);
    SyncOutput out = c.engine->retry_set_aside({}, now);  // the server now takes it
    c.apply(out);
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(snapshot(c.doc) == snapshot(server));
}

TEST_CASE("a 400 puts the engine in error with the server's message and keeps the ops", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(create_cmd(c.doc, obj("a", 1)), 0);
    auto r = c.poll(1000);
    c.apply(c.engine->on_reply(r->seq, 400, R"({"error":{"code":"bad_request","message":"label \"cat\" is not in the task"}})", 1000));
    SyncStatus s = c.engine->status();
    CHECK(s.state == SyncState::Error);
    CHECK(s.message == "label \"cat\" is not in the task");
    CHECK(s.pending == 1);
    CHECK(c.journal.count("dev-1") == 1);
    CHECK(sync_status_to_json(s)["state"] == "error");
}

// [SECTION] Failures, retries, backoff

TEST_CASE("failed requests back off exponentially with full jitter, and the backoff resets after success", "[sync]") {
    std::vector<std::vector<int64_t>> delays(7);
    for (uint64_t seed = 1; seed <= 60; ++seed) {
        SimServer server = seeded_server();
        Client c(config("dev", seed), server);
        c.edit(move_cmd(c.doc, "s0", 1), 0);
        int64_t now = 1000;
        for (int k = 1; k <= 7; ++k) {
            auto r = c.poll(now);
            REQUIRE(r);
            c.engine->on_failure(r->seq, k % 2 ? SyncFailure::Network : SyncFailure::Timeout, now);
            SyncStatus s = c.engine->status();
            REQUIRE(s.state == SyncState::Offline);
            REQUIRE(s.next_retry_ms);
            int64_t delay = *s.next_retry_ms - now;
            int64_t cap = std::min<int64_t>(1600, 100LL << (k - 1));
            CHECK(delay >= 0);
            CHECK(delay <= cap);
            delays[k - 1].push_back(delay);
            CHECK(s.pending == 1);
            if (delay > 0) CHECK_FALSE(c.poll(now + delay - 1));
            now += delay;
        }
        c.settle(server, now);  // success
        CHECK(c.engine->status().state == SyncState::Saved);
        c.edit(move_cmd(c.doc, "s0", 2), now);
        auto r = c.poll(now + 1000);
        REQUIRE(r);
        c.engine->on_failure(r->seq, SyncFailure::Network, now + 1000);
        CHECK(*c.engine->status().next_retry_ms - (now + 1000) <= 100);
    }
    // Jittered: the delays spread over their range; growing: later caps are reached.
    for (size_t k = 0; k < delays.size(); ++k) {
        std::set<int64_t> distinct(delays[k].begin(), delays[k].end());
        CHECK(distinct.size() > 20);
    }
    CHECK(*std::max_element(delays[6].begin(), delays[6].end()) > 800);
    CHECK(*std::max_element(delays[0].begin(), delays[0].end()) <= 100);
}

TEST_CASE("an unanswered request is abandoned at the timeout and its ops are sent again", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    auto r = c.poll(1000);
    REQUIRE(r);
    CHECK(r->timeout_ms == 2000);
    CHECK_FALSE(c.poll(2999));
    CHECK_FALSE(c.poll(3000));  // abandoned, now backing off
    CHECK(c.engine->status().state == SyncState::Offline);
    auto again = c.poll(3000 + 100);
    REQUIRE(again);
    CHECK(body_of(*again)["operations"] == body_of(*r)["operations"]);
}

TEST_CASE("a malformed 200 reply is retried and nothing is dropped", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    int64_t now = 1000;
    for (const char* garbage : {"<html>proxy error</html>", R"({"revision":"7"})", R"({"revision":3,"applied":[1]})", ""}) {
        auto r = c.poll(now);
        REQUIRE(r);
        server.handle(*r);  // applied, but the reply is mangled on the way
        c.apply(c.engine->on_reply(r->seq, 200, garbage, now));
        CHECK(c.engine->status().state == SyncState::Offline);
        CHECK(c.engine->status().pending == 1);
        now += 2000;
    }
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(server.duplicates >= 1);
    CHECK(server.revision == 1);
    CHECK(snapshot(c.doc) == snapshot(server));
}

TEST_CASE("a late reply to an abandoned request still acknowledges its ops; the acked revision only grows", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    auto first = c.poll(1000);
    c.engine->on_failure(first->seq, SyncFailure::Timeout, 1500);
    auto late = server.handle(*first);
    c.edit(move_cmd(c.doc, "s1", 1), 1600);
    auto second = c.poll(5000);
    REQUIRE(second);
    CHECK(body_of(*second)["operations"].size() == 2);
    auto reply2 = server.handle(*second);  // s0 a duplicate, s1 applied at revision 2
    c.apply(c.engine->on_reply(second->seq, reply2.status, reply2.body, 5100));
    CHECK(c.engine->status().acked_revision == 2);
    c.apply(c.engine->on_reply(first->seq, late.status, late.body, 5200));  // revision 1: too old
    CHECK(c.engine->status().acked_revision == 2);
    c.apply(c.engine->on_reply(second->seq, reply2.status, reply2.body, 5300));  // twice
    CHECK(c.engine->status().pending == 0);
    CHECK(c.journal.size() == 1);

    // A late 200 for an abandoned request acknowledges even while another request is in flight.
    c.edit(move_cmd(c.doc, "s2", 3), 6000);
    auto third = c.poll(7000);
    c.engine->on_failure(third->seq, SyncFailure::Network, 7000);
    auto fourth = c.poll(9000);
    REQUIRE(fourth);
    auto r3 = server.handle(*third);
    c.apply(c.engine->on_reply(third->seq, r3.status, r3.body, 9100));
    CHECK(c.engine->status().pending == 0);
    CHECK(c.engine->in_flight());
    auto r4 = server.handle(*fourth);
    c.apply(c.engine->on_reply(fourth->seq, r4.status, r4.body, 9200));
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(server.reused_op_ids == 0);
}

TEST_CASE("journal restore after an abort mid-request loses nothing and duplicates nothing", "[sync]") {
    for (int landed = 0; landed < 2; ++landed) {
        SimServer server = seeded_server();
        Client c(config("dev"), server);
        int64_t now = 0;
        c.edit(create_cmd(c.doc, obj("a", 1)), now);
        c.edit(move_cmd(c.doc, "s0", 3), now);
        c.edit(delete_cmd(c.doc, "s1"), now);
        auto r = c.poll(1000);
        REQUIRE(r);
        c.edit(move_cmd(c.doc, "a", 4), 1100);  // not sent yet
        Document before_abort = c.doc;
        if (landed) server.handle(*r);  // the request reached the server; the wasm instance died
        SyncOutput out = c.start(server);  // reload: server document, journal on top
        CHECK(out.errors.empty());
        CHECK(snapshot(c.doc) == snapshot(before_abort));
        REQUIRE(c.engine->pending_ops().size() == 4);
        CHECK(c.engine->pending_ops()[0].op_id == "dev-1");
        CHECK(c.engine->pending_ops()[3].op_id == "dev-4");
        now = 2000;
        c.edit(move_cmd(c.doc, "a", 5), now);  // restored ops are never coalesced into
        CHECK(c.engine->pending_ops().size() == 5);
        c.settle(server, now);
        CHECK(c.engine->status().state == SyncState::Saved);
        CHECK(server.reused_op_ids == 0);
        CHECK(server.duplicates == (landed ? 3 : 0));
        CHECK(server.conflicts == 0);
        CHECK(snapshot(c.doc) == snapshot(server));
        CHECK(c.journal.size() == 1);
    }
}

// [SECTION] Auth

TEST_CASE("401 waits in needs-auth until set_token, then resumes with the new token", "[sync]") {
    SimServer server = seeded_server();
    server.token = "secret-1";
    Client c(config("dev"), server);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    auto r = c.poll(1000);
    auto reply = server.handle(*r);
    CHECK(reply.status == 401);
    c.apply(c.engine->on_reply(r->seq, reply.status, reply.body, 1000));
    CHECK(c.engine->status().state == SyncState::NeedsAuth);
    CHECK(c.engine->status().message == "please log in again");
    CHECK_FALSE(c.poll(100000));
    c.engine->set_token("secret-1");
    CHECK(c.engine->status().state == SyncState::Saving);
    int64_t now = 100000;
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(snapshot(c.doc) == snapshot(server));
}

TEST_CASE("the token goes into request headers only, never into journal records or messages", "[sync]") {
    SimServer server = seeded_server();
    server.token = "secret-xyz";
    Client c(config("dev"), server);
    c.engine->set_token("secret-xyz");
    c.edit(create_cmd(c.doc, obj("a", 1)), 0);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    auto r = c.poll(1000);
    REQUIRE(r);
    bool in_header = false;
    for (const auto& [name, value] : r->headers) in_header = in_header || value.find("secret-xyz") != std::string::npos;
    CHECK(in_header);
    CHECK(r->body.find("secret-xyz") == std::string::npos);
    for (const auto& [key, text] : c.journal) CHECK(text.find("secret-xyz") == std::string::npos);
    CHECK(sync_status_to_json(c.engine->status()).dump().find("secret") == std::string::npos);
}

// [SECTION] Conflicts and remote changes

TEST_CASE("a 409 holds exactly the conflicting items and sends the rest", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.edit(delete_cmd(b.doc, "s1"), now);
    b.settle(server, now);
    a.edit(move_cmd(a.doc, "s0", 1), now);
    a.edit(move_cmd(a.doc, "s1", 1), now);
    a.edit(move_cmd(a.doc, "s2", 1), now);
    a.edit(create_cmd(a.doc, obj("a1", 1)), now);
    auto r = a.poll(now + 1000);
    REQUIRE(r);
    auto reply = server.handle(*r);
    REQUIRE(reply.status == 409);
    a.apply(a.engine->on_reply(r->seq, reply.status, reply.body, now + 1000));
    auto conflicts = a.engine->conflicts();
    REQUIRE(conflicts.size() == 2);
    CHECK(conflicts[0].id == "s0");
    CHECK(conflicts[0].mine->at("points")[0] == 1);
    CHECK(conflicts[0].theirs->at("points")[0] == 100);
    CHECK(conflicts[0].device == "b");
    CHECK(conflicts[0].user == "user-b");
    CHECK(conflicts[1].id == "s1");
    CHECK_FALSE(conflicts[1].theirs);
    CHECK(a.engine->status().state == SyncState::Conflict);
    CHECK(a.engine->status().conflicts == 2);
    CHECK(a.engine->status().pending == 2);

    auto resend = a.poll(now + 1001);  // at once, without the held items
    REQUIRE(resend);
    Json ops = body_of(*resend)["operations"];
    REQUIRE(ops.size() == 2);
    CHECK(ops[0]["id"] == "s2");
    CHECK(ops[1]["id"] == "a1");
    reply = server.handle(*resend);
    CHECK(reply.status == 200);
    a.apply(a.engine->on_reply(resend->seq, reply.status, reply.body, now + 1002));
    a.settle(server, now);
    CHECK(a.engine->status().state == SyncState::Conflict);
    CHECK(a.engine->conflicts().size() == 2);
    CHECK(server.items.at({SyncKind::Object, "s2"})["points"][0] == 1);
}

TEST_CASE("resolving Mine re-sends the local value based on the server's revision", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.edit(delete_cmd(b.doc, "s1"), now);
    b.settle(server, now);
    a.edit(move_cmd(a.doc, "s0", 1), now);
    a.edit(move_cmd(a.doc, "s1", 2), now);
    a.settle(server, now);
    REQUIRE(a.engine->conflicts().size() == 2);
    a.edit(move_cmd(a.doc, "s0", 3), now);  // edits while held stay held
    CHECK(a.engine->conflicts()[0].mine->at("points")[0] == 3);
    a.apply(a.engine->resolve_all(Resolution::Mine, now));
    CHECK(a.engine->conflicts().empty());
    a.settle(server, now);
    CHECK(a.engine->status().state == SyncState::Saved);
    CHECK(server.items.at({SyncKind::Object, "s0"})["points"][0] == 3);
    CHECK(server.items.at({SyncKind::Object, "s1"})["points"][0] == 2);  // re-created
    CHECK(snapshot(a.doc) == snapshot(server));
    b.engine->request_catchup();
    b.settle(server, now);
    CHECK(snapshot(b.doc) == snapshot(server));
}

TEST_CASE("resolving Theirs drops the local ops and yields the server value", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.edit(delete_cmd(b.doc, "s1"), now);
    b.settle(server, now);
    a.edit(move_cmd(a.doc, "s0", 1), now);
    a.edit(move_cmd(a.doc, "s1", 2), now);
    a.settle(server, now);
    REQUIRE(a.engine->conflicts().size() == 2);
    SyncOutput out = a.engine->resolve("s0", Resolution::Theirs, now);
    REQUIRE(out.remote.size() == 1);
    CHECK(out.remote[0].value->at("points")[0] == 100);
    CHECK(out.journal_delete.size() == 1);
    a.apply(out);
    out = a.engine->resolve("s1", Resolution::Theirs, now);
    REQUIRE(out.remote.size() == 1);
    CHECK_FALSE(out.remote[0].value);
    a.apply(out);
    CHECK(a.engine->resolve("s1", Resolution::Theirs, now).errors.at(0).code == "not_found");
    a.settle(server, now);
    CHECK(a.engine->status().state == SyncState::Saved);
    CHECK(snapshot(a.doc) == snapshot(server));
    CHECK(a.journal.size() == 1);
}

TEST_CASE("catch-up yields other devices' changes, skips our own, and holds items we changed meanwhile", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    a.edit(move_cmd(a.doc, "s2", 5), now);
    a.settle(server, now);
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.edit(create_cmd(b.doc, obj("b1", 1)), now);
    b.edit(move_cmd(b.doc, "s1", 100), now);
    b.settle(server, now);
    a.edit(move_cmd(a.doc, "s1", 1), now);  // made without seeing b's change
    a.engine->request_catchup();               // the tab got the focus back
    auto r = a.poll(now + 100);  // debouncing: the catch-up goes first
    REQUIRE(r);
    REQUIRE(r->method == "GET");
    CHECK(r->path == "/api/tasks/task-1/annotations?since=1");
    auto reply = server.handle(*r);
    SyncOutput out = a.engine->on_reply(r->seq, reply.status, reply.body, now + 100);
    std::set<std::string> remote;
    for (const RemoteChange& c : out.remote) remote.insert(c.id);
    CHECK(remote == std::set<std::string>{"s0", "b1"});  // s1 is held, s2 was ours
    a.apply(out);
    REQUIRE(a.engine->conflicts().size() == 1);
    CHECK(a.engine->conflicts()[0].id == "s1");
    CHECK(a.engine->status().synced_revision == server.revision);
    a.apply(a.engine->resolve("s1", Resolution::Theirs, now));
    a.settle(server, now);
    CHECK(snapshot(a.doc) == snapshot(server));
}

TEST_CASE("after a start from an older copy of the document, this device's own earlier saves come back with the catch-up", "[sync]") {
    SimServer server = seeded_server();
    int64_t now = 0;
    SyncConfig cfg = config("a");
    Client a(cfg, server);
    Document cached = a.doc;  // what an offline start-up gets from the service worker's cache
    int64_t cached_revision = server.revision;
    a.edit(move_cmd(a.doc, "s2", 5), now);
    a.edit(create_cmd(a.doc, obj("a1", 7)), now);
    a.settle(server, now);
    REQUIRE(a.journal.size() == 1);  // only the op id counter: everything was acknowledged

    // The reload: the same device and journal, the cached document and its revision.
    auto engine = SyncEngine::create(cfg);
    REQUIRE(engine.ok());
    std::vector<std::string> texts;
    for (const auto& entry : a.journal) texts.push_back(entry.second);
    engine->restore(texts, cached_revision);
    Document doc = cached;
    engine->request_catchup();
    auto r = engine->poll(now + 1);
    REQUIRE(r);
    REQUIRE(r->method == "GET");
    auto reply = server.handle(*r);
    SyncOutput out = engine->on_reply(r->seq, reply.status, reply.body, now + 1);
    std::set<std::string> remote;
    for (const RemoteChange& c : out.remote) {
        remote.insert(c.id);
        auto changed = apply_remote_change(doc, c);
        REQUIRE(changed.ok());
        CHECK(changed.value());
    }
    CHECK(remote == std::set<std::string>{"s2", "a1"});
    CHECK(snapshot(doc) == snapshot(server));
    CHECK(engine->conflicts().empty());
    // Where the document already has them, they change nothing.
    for (const RemoteChange& c : out.remote) CHECK_FALSE(apply_remote_change(doc, c).value());
}

TEST_CASE("a stale request that arrives after its conflict was resolved is refused by the server", "[sync]") {
    // The server must check every change after base_revision, not only the latest: here the
    // latest change is our own resolution, and the stale request must still not land.
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    a.settle(server, now);
    b.settle(server, now);
    a.edit(move_cmd(a.doc, "s0", 1), now);
    auto stale = a.poll(now + 1000);
    REQUIRE(stale);
    a.engine->on_failure(stale->seq, SyncFailure::Timeout, now + 3000);  // still on its way
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.settle(server, now);
    a.settle(server, now);  // the retry meets b's change
    REQUIRE(a.engine->conflicts().size() == 1);
    a.edit(move_cmd(a.doc, "s0", 2), now);
    a.apply(a.engine->resolve("s0", Resolution::Mine, now));
    a.settle(server, now);
    REQUIRE(server.items.at({SyncKind::Object, "s0"})["points"][0] == 2);
    auto reply = server.handle(*stale);  // finally delivered
    CHECK(reply.status == 409);
    a.apply(a.engine->on_reply(stale->seq, reply.status, reply.body, now));
    CHECK(server.items.at({SyncKind::Object, "s0"})["points"][0] == 2);
    CHECK(snapshot(a.doc) == snapshot(server));
    CHECK(a.engine->status().state == SyncState::Saved);
}

TEST_CASE("a conflict on an item the server never held, with null revision and device, is held", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server);
    a.edit(move_cmd(a.doc, "s0", 1), 0);
    auto r = a.poll(1000);
    REQUIRE(r);
    std::string op_id = body_of(*r)["operations"][0]["op_id"];
    Json reply{{"error", {{"code", "conflict"}, {"message", "missing"}}}, {"revision", 4},
               {"conflicts", {{{"kind", "object"}, {"id", "s0"}, {"op_id", op_id}, {"server", nullptr},
                               {"revision", nullptr}, {"user", nullptr}, {"device", nullptr}}}}};
    a.apply(a.engine->on_reply(r->seq, 409, reply.dump(), 1000));
    REQUIRE(a.engine->conflicts().size() == 1);
    CHECK_FALSE(a.engine->conflicts()[0].theirs);
    CHECK(a.engine->conflicts()[0].revision == 0);
    CHECK(a.engine->status().state == SyncState::Conflict);
}

TEST_CASE("two devices creating the same id conflict, and Mine turns the create into an update", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    b.edit(create_cmd(b.doc, obj("same", 100)), now);
    b.settle(server, now);
    a.edit(create_cmd(a.doc, obj("same", 1)), now);
    a.settle(server, now);
    REQUIRE(a.engine->conflicts().size() == 1);
    SyncConflict c = a.engine->conflicts()[0];
    CHECK(c.mine->at("points")[0] == 1);
    CHECK(c.theirs->at("points")[0] == 100);
    a.apply(a.engine->resolve("same", Resolution::Mine, now));
    auto r = a.poll(now);
    REQUIRE(r);
    CHECK(body_of(*r)["operations"][0]["op"] == "update");
    CHECK(body_of(*r)["base_revision"] == c.revision);
    auto reply = server.handle(*r);
    CHECK(reply.status == 200);
    a.apply(a.engine->on_reply(r->seq, reply.status, reply.body, now));
    a.settle(server, now);
    CHECK(snapshot(a.doc) == snapshot(server));
}

TEST_CASE("with a catch-up interval an idle engine fetches remote changes periodically", "[sync]") {
    SimServer server = seeded_server();
    SyncConfig cfg = config("a");
    cfg.catchup_interval_ms = 30000;
    Client a(cfg, server), b(config("b"), server);
    int64_t now = 0;
    auto r = a.poll(now);  // the first catch-up after start
    REQUIRE(r);
    auto reply = server.handle(*r);
    a.apply(a.engine->on_reply(r->seq, reply.status, reply.body, now));
    b.edit(move_cmd(b.doc, "s0", 100), now);
    int64_t bnow = 0;
    b.settle(server, bnow);
    CHECK_FALSE(a.poll(29999));
    r = a.poll(30000);
    REQUIRE(r);
    CHECK(r->method == "GET");
    reply = server.handle(*r);
    SyncOutput out = a.engine->on_reply(r->seq, reply.status, reply.body, 30000);
    REQUIRE(out.remote.size() == 1);
    CHECK(out.remote[0].device == "b");
    a.apply(out);
    CHECK(snapshot(a.doc) == snapshot(server));
}

// [SECTION] Many seeds over a bad network

namespace {

struct NetworkTrouble {
    double drop_request = 0, drop_reply = 0, duplicate = 0, network_error = 0, server_error = 0, garble = 0, rotate_token = 0;
    int64_t max_delay = 100;
};

struct SessionStats {
    int conflicts = 0, duplicates = 0, restarts = 0, late_replies = 0, remote_changes = 0, auth = 0;
};

struct Event {
    enum Type { ToServer, ToClient, Failure } type;
    size_t client;
    int generation;
    SyncRequest request;
    int status = 0;
    std::string body;
    SyncFailure failure = SyncFailure::Network;
};

void run_session(uint64_t seed, size_t client_count, SessionStats& stats) {
    std::mt19937_64 rng(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
    auto pick = [&](size_t n) { return (size_t)(rng() % n); };
    SimServer server = seeded_server();
    server.token = "secret-0";
    int token_number = 0;
    std::vector<Client> clients;
    std::vector<int> generation(client_count, 0);
    for (size_t i = 0; i < client_count; ++i) {
        SyncConfig cfg = config("dev" + std::to_string(i), rng());
        cfg.max_ops_per_request = 1 + pick(6);
        cfg.catchup_interval_ms = chance(0.5) ? 3000 : 0;
        clients.emplace_back(cfg, server);
        clients.back().engine->set_token(server.token);
    }
    std::multimap<int64_t, Event> events;
    NetworkTrouble net{0.1, 0.1, 0.1, 0.05, 0.05, 0.03, 0.01, 3000};
    int64_t now = 0;
    int next_item = 0;

    auto send = [&](size_t ci, const SyncRequest& r) {
        int gen = generation[ci];
        if (chance(net.network_error)) {
            events.insert({now + 10, Event{Event::Failure, ci, gen, {}, 0, "", SyncFailure::Network}});
            if (chance(0.5)) return;  // or it reached the server before the connection broke
        } else if (chance(0.3)) {
            events.insert({now + r.timeout_ms, Event{Event::Failure, ci, gen, r, 0, "", SyncFailure::Timeout}});
        }
        if (chance(net.drop_request)) return;
        events.insert({now + (int64_t)pick(net.max_delay + 1), Event{Event::ToServer, ci, gen, r}});
        if (chance(net.duplicate)) events.insert({now + (int64_t)pick(net.max_delay + 1), Event{Event::ToServer, ci, gen, r}});
    };
    auto at_server = [&](const Event& e) {
        if (chance(net.rotate_token)) server.token = "secret-" + std::to_string(++token_number);
        SimServer::Reply reply{503, R"({"error":{"code":"unavailable","message":"try later"}})"};
        if (!chance(net.server_error)) {
            reply = server.handle(e.request);
            if (chance(net.server_error)) reply = {500, "Internal Server Error"};  // applied, then crashed
            else if (reply.status == 200 && chance(net.garble)) reply.body = reply.body.substr(0, reply.body.size() / 2);
        }
        if (chance(net.drop_reply)) return;
        Event back{Event::ToClient, e.client, e.generation, e.request, reply.status, reply.body};
        events.insert({now + (int64_t)pick(net.max_delay + 1), back});
        if (chance(net.duplicate)) events.insert({now + (int64_t)pick(net.max_delay + 1), back});
    };
    auto deliver = [&]() {
        while (!events.empty() && events.begin()->first <= now) {
            Event e = events.begin()->second;
            events.erase(events.begin());
            if (e.type == Event::ToServer) { at_server(e); continue; }
            if (e.generation != generation[e.client]) continue;  // the page that sent it is gone
            Client& c = clients[e.client];
            if (e.type == Event::Failure) { c.apply(c.engine->on_failure(e.request.seq, e.failure, now)); continue; }
            if (!c.engine->in_flight()) ++stats.late_replies;
            SyncOutput out = c.engine->on_reply(e.request.seq, e.status, e.body, now);
            stats.remote_changes += (int)out.remote.size();
            c.apply(out);
        }
    };
    auto random_edit = [&](Client& c) {
        Document& d = c.doc;
        size_t what = pick(10);
        std::string id = c.cfg.device_id + "n" + std::to_string(next_item++);
        Command cmd{"edit", {}, {}};
        if (what < 2 || (d.objects.empty() && d.tracks.empty())) {
            cmd.ops.push_back(ObjectOp::create(obj(id, (double)pick(100)), pick(d.objects.size() + 1)));
        } else if (what < 3) {
            cmd.track_ops.push_back(TrackOp::create(trk(id, (double)pick(100)), pick(d.tracks.size() + 1)));
        } else if (what < 8) {
            size_t n = 1 + (chance(0.2) ? pick(3) : 0);
            std::set<std::string> touched;
            for (size_t k = 0; k < n; ++k) {
                if (!d.tracks.empty() && (d.objects.empty() || chance(0.3))) {
                    size_t at = pick(d.tracks.size());
                    if (!cmd.track_ops.empty()) continue;
                    Track after = d.tracks[at];
                    double x = (double)pick(1000);
                    after.keyframes[0].points = {x, 0, x + 5, 5};
                    cmd.track_ops.push_back(TrackOp::update(d.tracks[at], after, at));
                } else if (!d.objects.empty()) {
                    size_t at = pick(d.objects.size());
                    if (!touched.insert(d.objects[at].id).second) continue;
                    Object after = d.objects[at];
                    after.points[0] = (double)pick(1000);
                    cmd.ops.push_back(ObjectOp::update(d.objects[at], after, at));
                }
            }
        } else {
            if (!d.tracks.empty() && (d.objects.empty() || chance(0.3))) {
                size_t at = pick(d.tracks.size());
                cmd.track_ops.push_back(TrackOp::remove(d.tracks[at], at));
            } else if (!d.objects.empty()) {
                size_t at = pick(d.objects.size());
                cmd.ops.push_back(ObjectOp::remove(d.objects[at], at));
            }
        }
        if (!cmd.empty()) c.edit(cmd, now);
    };
    auto resolve_some = [&](Client& c, double p) {
        for (const SyncConflict& k : c.engine->conflicts()) {
            if (!chance(p)) continue;
            ++stats.conflicts;
            c.apply(c.engine->resolve(k.id, chance(0.5) ? Resolution::Mine : Resolution::Theirs, now));
        }
    };
    auto poll_all = [&]() {
        for (size_t i = 0; i < clients.size(); ++i) {
            Client& c = clients[i];
            if (c.engine->status().state == SyncState::NeedsAuth && chance(0.2)) {
                ++stats.auth;
                c.engine->set_token(server.token);
            }
            if (auto r = c.poll(now)) send(i, *r);
        }
    };

    // The session: edits, flushes, conflicts resolved now and then, reloads after aborts.
    for (int step = 0; step < 300; ++step, now += 50) {
        for (size_t i = 0; i < clients.size(); ++i) {
            Client& c = clients[i];
            if (chance(0.25)) random_edit(c);
            if (chance(0.02)) c.engine->flush(now);
            if (chance(0.05)) resolve_some(c, 0.5);
            if (chance(0.004)) {
                ++generation[i];
                ++stats.restarts;
                c.cfg.seed = rng();
                REQUIRE(c.start(server).errors.empty());
                c.engine->set_token(server.token);
            }
        }
        deliver();
        poll_all();
    }

    // The network heals; every conflict is resolved; every client catches up.
    net = NetworkTrouble{};
    bool quiet = false;
    for (int step = 0; step < 4000 && !quiet; ++step, now += 50) {
        for (Client& c : clients) resolve_some(c, 1.0);
        deliver();
        poll_all();
        quiet = events.empty();
        for (Client& c : clients) {
            SyncStatus s = c.engine->status();
            bool idle = s.state == SyncState::Saved && !c.engine->in_flight();
            if (idle && s.synced_revision < server.revision) c.engine->request_catchup();
            quiet = quiet && idle && s.synced_revision == server.revision;
        }
    }
    INFO("seed " << seed << ", " << client_count << " clients, server revision " << server.revision << ", events " << events.size());
    for (const Client& c : clients) {
        SyncStatus s = c.engine->status();
        INFO(c.cfg.device_id << ": " << sync_status_to_json(s).dump() << " in flight " << c.engine->in_flight());
        CHECK(s.state == SyncState::Saved);
    }
    REQUIRE(quiet);
    CHECK(server.reused_op_ids == 0);
    CHECK(server.bad_requests == 0);
    for (const Client& c : clients) {
        CHECK(snapshot(c.doc) == snapshot(server));
        CHECK(c.journal.size() == 1);
        for (const auto& entry : c.journal) CHECK(entry.second.find("secret") == std::string::npos);
    }
    stats.duplicates += server.duplicates;
}

}  // namespace

TEST_CASE("over a network that drops, delays, duplicates and reorders, every client converges on the server's document", "[sync]") {
    SessionStats stats;
    for (uint64_t seed = 1; seed <= 200; ++seed) run_session(seed, seed % 3 == 0 ? 1 : 2, stats);
    // The sessions really went through the hard paths.
    CHECK(stats.conflicts > 50);
    CHECK(stats.duplicates > 50);
    CHECK(stats.restarts > 20);
    CHECK(stats.late_replies > 50);
    CHECK(stats.remote_changes > 50);
    CHECK(stats.auth > 10);
}

// [SECTION] Saves refused for their content: set aside, shown, retried or discarded

namespace {

Object labelled(const std::string& id, double x, const std::string& label) {
    Object o = obj(id, x);
    o.label = label;
    return o;
}

using Handler = std::function<SimServer::Reply(const SyncRequest&)>;

// serve.py's refusal of an op's content (a label the task does not have): 400 with the op's
// pointer, or, as a server that cannot say which op (whole_body), with the empty pointer.
Handler refusing_label(SimServer& server, const std::string& label, bool whole_body = false) {
    return [&server, label, whole_body](const SyncRequest& r) -> SimServer::Reply {
        if (r.method == "PATCH") {
            Json b = body_of(r);
            for (size_t i = 0; i < b["operations"].size(); ++i) {
                const Json& op = b["operations"][i];
                if (op.contains("value") && op["value"].value("label", "") == label) {
                    std::string path = whole_body ? "" : "/operations/" + std::to_string(i) + "/value/label";
                    return {400, Json{{"error", {{"code", "bad_label"}, {"message", "label \"" + label + "\" is not in the task"}, {"path", path}}}}.dump()};
                }
            }
        }
        return server.handle(r);
    };
}

// Request, reply, ... until the engine has nothing to send; returns how many PATCHes went.
int settle_with(Client& c, const Handler& handle, int64_t& now) {
    int patches = 0;
    for (int i = 0; i < 400; ++i) {
        now += 1000;
        auto r = c.poll(now);
        if (!r) {
            now += 10000;
            r = c.poll(now);
            if (!r) return patches;
        }
        if (r->method == "PATCH") ++patches;
        auto reply = handle(*r);
        c.apply(c.engine->on_reply(r->seq, reply.status, reply.body, now));
    }
    FAIL("the engine did not settle");
    return patches;
}

bool journal_has_set_aside(const Client& c) {
    for (const auto& entry : c.journal)
        if (entry.second.find("\"set_aside\"") != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("an op refused for its content is set aside while the edits before and after it are saved", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    Handler handle = refusing_label(server, "dog");
    int64_t now = 0;
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    c.edit(create_cmd(c.doc, labelled("b", 2, "dog")), now);
    c.edit(create_cmd(c.doc, obj("c", 3)), now);
    settle_with(c, handle, now);
    CHECK(server.items.count({SyncKind::Object, "a"}) == 1);
    CHECK(server.items.count({SyncKind::Object, "c"}) == 1);
    CHECK(server.items.count({SyncKind::Object, "b"}) == 0);
    auto aside = c.engine->set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].kind == SyncKind::Object);
    CHECK(aside[0].id == "b");
    CHECK(aside[0].label == "dog");
    CHECK(aside[0].code == "bad_label");
    CHECK(aside[0].message == "label \"dog\" is not in the task");
    CHECK(aside[0].path == "/value/label");
    CHECK(aside[0].op_id == "dev-2");
    SyncStatus s = c.engine->status();
    CHECK(s.state == SyncState::SetAside);
    CHECK(s.pending == 0);
    CHECK(s.set_aside == 1);
    Json j = sync_status_to_json(s);
    CHECK(j["state"] == "set-aside");
    CHECK(j["set_aside"] == 1);
    CHECK(find_object(c.doc, "b") >= 0);  // kept in the local document

    // Later edits are saved; a later edit of the refused item joins it instead of being sent
    // on its own (an update of an item the server never created would only conflict).
    int patches_before = server.patches;
    c.edit(create_cmd(c.doc, obj("d", 4)), now);
    c.edit(move_cmd(c.doc, "b", 40), now);
    settle_with(c, handle, now);
    CHECK(server.items.count({SyncKind::Object, "d"}) == 1);
    CHECK(server.items.count({SyncKind::Object, "b"}) == 0);
    CHECK(server.patches == patches_before + 1);
    CHECK(server.conflicts == 0);
    REQUIRE(c.engine->set_aside().size() == 1);
    CHECK(c.engine->set_aside()[0].value->at("points")[0] == 40);
    CHECK(c.engine->status().state == SyncState::SetAside);
}

TEST_CASE("a refusal that names no op is bisected down to the one refused op in a batch of 50", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    Handler handle = refusing_label(server, "dog", true);
    int64_t now = 0;
    for (int i = 0; i < 50; ++i) c.edit(create_cmd(c.doc, i == 37 ? labelled("n37", 37, "dog") : obj("n" + std::to_string(i), i)), now);
    int patches = settle_with(c, handle, now);
    for (int i = 0; i < 50; ++i) CHECK(server.items.count({SyncKind::Object, "n" + std::to_string(i)}) == (i == 37 ? 0u : 1u));
    auto aside = c.engine->set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].id == "n37");
    CHECK(aside[0].path == "");
    CHECK(patches <= 16);  // halving: about 2 log2(50), not one request per op
    // Found: full batches again.
    for (int i = 50; i < 60; ++i) c.edit(create_cmd(c.doc, obj("n" + std::to_string(i), i)), now);
    int more = settle_with(c, handle, now);
    CHECK(more == 1);
    CHECK(c.engine->status().state == SyncState::SetAside);
}

TEST_CASE("a set-aside item survives a reload of the journal, still listed and still not sent", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    Handler handle = refusing_label(server, "dog");
    int64_t now = 0;
    c.edit(create_cmd(c.doc, labelled("b", 2, "dog")), now);
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    settle_with(c, handle, now);
    REQUIRE(c.engine->set_aside().size() == 1);
    CHECK(journal_has_set_aside(c));

    SyncOutput restored = c.start(server);
    CHECK(restored.errors.empty());
    auto aside = c.engine->set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].id == "b");
    CHECK(aside[0].code == "bad_label");
    CHECK(aside[0].message == "label \"dog\" is not in the task");
    CHECK(aside[0].path == "/value/label");
    CHECK(find_object(c.doc, "b") >= 0);
    CHECK(c.engine->status().state == SyncState::SetAside);
    int patches_before = server.patches;
    settle_with(c, handle, now);
    CHECK(server.patches == patches_before);  // nothing went: it is still set aside
    CHECK(c.engine->status().pending == 0);
}

TEST_CASE("retry sends a set-aside item again with a fresh op id once the server takes it", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    c.edit(create_cmd(c.doc, labelled("b", 2, "dog")), now);
    settle_with(c, refusing_label(server, "dog"), now);
    REQUIRE(c.engine->set_aside().size() == 1);
    std::string refused_id = c.engine->set_aside()[0].op_id;
    c.start(server);  // across a reload too

    SyncOutput unknown = c.engine->retry_set_aside({"nope"}, now);
    REQUIRE(unknown.errors.size() == 1);
    CHECK(unknown.errors[0].code == "not_found");
    CHECK(c.engine->set_aside().size() == 1);

    c.apply(c.engine->retry_set_aside({"b"}, now));  // the task now has the label
    CHECK(c.engine->set_aside().empty());
    CHECK_FALSE(journal_has_set_aside(c));
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(server.items.count({SyncKind::Object, "b"}) == 1);
    CHECK(server.applied.count(refused_id) == 0);
    CHECK(snapshot(c.doc) == snapshot(server));
    CHECK(c.journal.size() == 1);
}

TEST_CASE("discard sets a refused item back to the server's value and forgets its ops", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    Object original = c.doc.objects[find_object(c.doc, "s1")];
    // An update the server refuses, a create it refuses, and a good edit between them.
    Object relabelled = original;
    relabelled.label = "dog";
    relabelled.points[0] = 99;
    c.edit(Command{"relabel", {ObjectOp::update(original, relabelled, (size_t)find_object(c.doc, "s1"))}, {}}, now);
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    c.edit(create_cmd(c.doc, labelled("b", 2, "dog")), now);
    settle_with(c, refusing_label(server, "dog"), now);
    REQUIRE(c.engine->set_aside().size() == 2);
    CHECK(c.engine->set_aside()[0].id == "s1");  // in order of refusal
    c.start(server);  // the server's value is known across a reload

    SyncOutput out = c.engine->discard_set_aside({});
    CHECK(out.errors.empty());
    REQUIRE(out.remote.size() == 2);
    c.apply(out);
    CHECK(c.engine->set_aside().empty());
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(c.doc.objects[find_object(c.doc, "s1")].label == "cat");
    CHECK(c.doc.objects[find_object(c.doc, "s1")].points == original.points);
    CHECK(find_object(c.doc, "b") < 0);  // never on the server: gone
    CHECK(snapshot(c.doc) == snapshot(server));
    CHECK(c.journal.size() == 1);  // only the counter
}

TEST_CASE("a 409 op_id_reused sets that op aside, the others are saved, and a retry goes under a new id", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    // Another client that once used this device id took "dev-1" with other content.
    server.applied["dev-1"] = "{}";
    Handler reused = [&server](const SyncRequest& r) -> SimServer::Reply {
        if (r.method == "PATCH") {
            Json b = body_of(r);
            for (size_t i = 0; i < b["operations"].size(); ++i)
                if (b["operations"][i]["op_id"] == "dev-1")
                    return {409, Json{{"error", {{"code", "op_id_reused"}, {"message", "op_id \"dev-1\" was used with other content"}, {"path", "/operations/" + std::to_string(i) + "/op_id"}}}}.dump()};
        }
        return server.handle(r);
    };
    c.edit(create_cmd(c.doc, obj("a", 1)), now);
    c.edit(create_cmd(c.doc, obj("b", 2)), now);
    settle_with(c, reused, now);
    CHECK(server.items.count({SyncKind::Object, "b"}) == 1);
    auto aside = c.engine->set_aside();
    REQUIRE(aside.size() == 1);
    CHECK(aside[0].id == "a");
    CHECK(aside[0].code == "op_id_reused");
    CHECK(aside[0].path == "/op_id");
    CHECK(c.engine->status().state == SyncState::SetAside);
    c.apply(c.engine->retry_set_aside({}, now));
    settle_with(c, reused, now);
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(server.items.count({SyncKind::Object, "a"}) == 1);
    CHECK(snapshot(c.doc) == snapshot(server));
}

TEST_CASE("a refused create deleted again leaves nothing set aside", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    c.edit(create_cmd(c.doc, labelled("b", 2, "dog")), now);
    settle_with(c, refusing_label(server, "dog"), now);
    REQUIRE(c.engine->set_aside().size() == 1);
    c.edit(delete_cmd(c.doc, "b"), now);
    CHECK(c.engine->set_aside().empty());
    CHECK(c.engine->status().state == SyncState::Saved);
    CHECK(c.journal.size() == 1);
}

TEST_CASE("a 503 with retry_after waits that long before the jittered backoff and then saves", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    c.edit(move_cmd(c.doc, "s0", 1), 0);
    auto r = c.poll(1000);
    REQUIRE(r);
    std::string busy = R"({"error":{"code":"busy","message":"full","retry_after":2}})";
    c.apply(c.engine->on_reply(r->seq, 503, busy, 1000));
    SyncStatus s = c.engine->status();
    REQUIRE(s.next_retry_ms);
    CHECK(*s.next_retry_ms >= 1000 + 2000);
    CHECK(*s.next_retry_ms <= 1000 + 2000 + 100);  // base backoff 100 ms after the first failure
    CHECK(s.pending == 1);
    CHECK_FALSE(c.poll(2999));
    int64_t now = *s.next_retry_ms;
    c.settle(server, now);
    CHECK(c.engine->status().state == SyncState::Saved);
}

TEST_CASE("a catch-up holding one unreadable item applies the others, names it, and stays online", "[sync]") {
    SimServer server = seeded_server();
    Client a(config("a"), server), b(config("b"), server);
    int64_t now = 0;
    a.settle(server, now);
    b.edit(move_cmd(b.doc, "s0", 100), now);
    b.edit(create_cmd(b.doc, obj("b1", 1)), now);
    b.settle(server, now);
    a.engine->request_catchup();
    auto r = a.poll(now + 100);
    REQUIRE(r);
    REQUIRE(r->method == "GET");
    auto reply = server.handle(*r);
    // b1 as an older server stored it: a coordinate no double holds.
    Json body = Json::parse(reply.body);
    for (Json& c : body["changes"])
        if (c["id"] == "b1") c["value"]["points"][0] = 12345.5;
    std::string text = body.dump();
    text.replace(text.find("12345.5"), 7, "1" + std::string(309, '0'));
    SyncOutput out = a.engine->on_reply(r->seq, reply.status, text, now + 100);
    std::set<std::string> remote;
    for (const RemoteChange& c : out.remote) remote.insert(c.id);
    CHECK(remote == std::set<std::string>{"s0"});
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].code == "unreadable_change");
    CHECK(out.errors[0].message.find("object 'b1'") != std::string::npos);
    CHECK(a.engine->status().synced_revision == server.revision);
    CHECK(a.engine->status().state != SyncState::Offline);
}

TEST_CASE("one command of 10,000 creates (a big import) is recorded, sent and acknowledged, all of it", "[sync]") {
    SimServer server = seeded_server();
    Client c(config("dev"), server);
    int64_t now = 0;
    c.settle(server, now);
    Command import{"import big.json", {}, {}};
    for (int i = 0; i < 10000; ++i) import.ops.push_back(ObjectOp::create(obj("imp" + std::to_string(i), i % 100), c.doc.objects.size() + (size_t)i));
    c.edit(import, now);  // recording and acknowledging walk the queue once per item and once per reply
    c.engine->flush(now);
    c.settle(server, now);
    CHECK(server.items.size() >= 10000);
    CHECK(snapshot(c.doc) == snapshot(server));
    CHECK(c.journal.size() == 1);  // only the counter is left
}
