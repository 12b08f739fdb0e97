// ProfileSync: a real SyncEngine saving through a backend profile to in-memory backends that
// behave like the peers (json-server for `rest`, CVAT's integer ids, Label Studio's whole result
// array), with lost replies, failures before the backend, engine timeouts and retries. What must
// hold: the backend ends equal to the client document, nothing is created twice, and other
// clients' changes reach the engine as remote changes while our own never do.
// Hidden "[json-server-sync]": the same against a live json-server (tests/backend/test_rest_profile.py).
#include "polymark/profile_sync.hpp"
#include "polymark/profile_wire.hpp"

#include "polymark/edit.hpp"
#include "polymark/json_reader.hpp"

#include <catch2/catch.hpp>

#include "http_client.hpp"

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>

using namespace pm;

namespace {

BackendProfile load_profile(const std::string& name) {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/" + name + ".json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto p = parse_profile(ss.str());
    if (!p) FAIL(name << ": " << p.first_error().path << " " << p.first_error().message);
    return p.value();
}

Object rect(const std::string& id, double x) {
    Object o;
    o.id = id;
    o.type = ShapeType::Rectangle;
    o.label = "car";
    o.points = {x, 10, x + 40, 30};
    return o;
}

Track track(const std::string& id, double x) {
    Track t;
    t.id = id;
    t.label = "car";
    t.interpolation = Interpolation::Cvat;  // what CVAT gives back: keeps the comparison exact
    for (int i = 0; i < 2; ++i) {
        Keyframe& k = t.keyframes.emplace_back();
        k.id = id + ".k" + std::to_string(i * 10);
        k.frame = i * 10;
        k.points = {x + i, 0, x + i + 5, 5};
    }
    return t;
}

Json parse(const std::string& text) {
    auto j = parse_json_text(text, "test");
    REQUIRE(j);
    return j.value();
}

// Items by kind and id in canonical JSON: what "the backend equals the client document" compares.
std::map<std::string, Json> items_of(const Document& d) {
    std::map<std::string, Json> out;
    for (const Object& o : d.objects) out["object " + o.id] = object_to_json(o);
    for (const Track& t : d.tracks) out["track " + t.id] = track_to_json(t);
    return out;
}

struct FakeReply {
    int status = 200;
    std::string body;
};

std::string id_after(const std::string& path, const std::string& prefix) { return path.substr(prefix.size()); }

// [SECTION] Fake backends

// json-server 0.17 semantics: POST /{c} appends (a taken id is a 500), PUT/PATCH /{c}/{id},
// DELETE /{c}/{id} (404 when missing), GET /db and GET /{c}. The token it checks is optional.
struct FakeJsonServer {
    std::map<std::string, std::vector<Json>> collections{{"objects", {}}, {"tracks", {}}};
    std::string token;  // required when not empty
    int posts = 0, puts = 0, deletes = 0, loads = 0, duplicate_creates = 0;
    std::vector<SyncRequest> seen;

    std::vector<Json>::iterator find(std::vector<Json>& list, const std::string& id) {
        return std::find_if(list.begin(), list.end(), [&](const Json& j) { return j.value("id", Json()) == Json(id); });
    }

    Document document() const {
        Document d;
        for (const Json& j : collections.at("objects")) d.objects.push_back(object_from_json(j, "").value());
        for (const Json& j : collections.at("tracks")) d.tracks.push_back(track_from_json(j, "").value());
        return d;
    }

    FakeReply handle(const SyncRequest& r) {
        seen.push_back(r);
        if (!token.empty()) {
            bool ok = false;
            for (const auto& [k, v] : r.headers) ok = ok || (k == "Authorization" && v == "Bearer " + token);
            if (!ok) return {401, "{}"};
        }
        if (r.method == "GET" && r.path == "/db") {
            ++loads;
            return {200, Json{{"objects", collections["objects"]}, {"tracks", collections["tracks"]}}.dump()};
        }
        for (auto& [name, list] : collections) {
            std::string base = "/" + name;
            if (r.path == base && r.method == "POST") {
                ++posts;
                Json item = parse(r.body);
                if (find(list, item["id"].get<std::string>()) != list.end()) {
                    ++duplicate_creates;
                    return {500, "Error: Insert failed, duplicate id"};
                }
                list.push_back(item);
                return {201, item.dump()};
            }
            if (r.path.rfind(base + "/", 0) != 0) continue;
            auto it = find(list, id_after(r.path, base + "/"));
            if (it == list.end()) return {404, "{}"};
            if (r.method == "PUT") {
                ++puts;
                *it = parse(r.body);
                return {200, it->dump()};
            }
            if (r.method == "DELETE") {
                ++deletes;
                list.erase(it);
                return {200, "{}"};
            }
        }
        return {404, "{}"};
    }
};

// CVAT's job annotations: PATCH ?action=create assigns integer ids (items and track keyframes)
// and answers the created annotations; update and delete address items by those ids.
struct FakeCvat {
    Json data{{"version", 0}, {"tags", Json::array()}, {"shapes", Json::array()}, {"tracks", Json::array()}};
    int64_t next_id = 100;
    int creates = 0;

    FakeReply handle(const SyncRequest& r) {
        const std::string base = "/api/jobs/42/annotations";
        if (r.method == "GET" && r.path == base) return {200, data.dump()};
        if (r.method != "PATCH" || r.path.rfind(base + "?action=", 0) != 0) return {404, "{}"};
        std::string action = r.path.substr(base.size() + 8);
        Json body = parse(r.body);
        for (const char* c : {"tags", "shapes", "tracks"}) {
            Json& list = data[c];
            for (Json& item : body[c]) {
                auto at = std::find_if(list.begin(), list.end(), [&](const Json& j) { return j["id"] == item["id"]; });
                if (action == "create") {
                    ++creates;
                    item["id"] = next_id++;
                    if (item.contains("shapes"))
                        for (Json& k : item["shapes"]) k["id"] = next_id++;
                    list.push_back(item);
                } else if (at == list.end()) {
                    return {404, R"({"detail":"not found"})"};
                } else if (action == "update") {
                    *at = item;
                } else {
                    list.erase(at);
                }
            }
        }
        return {200, body.dump()};
    }
};

// Label Studio: one annotation whose `result` array a PATCH replaces whole.
struct FakeLabelStudio {
    Json annotation{{"id", 7}, {"result", Json::array()}};
    int patches = 0;

    FakeReply handle(const SyncRequest& r) {
        if (r.path != "/api/annotations/7") return {404, "{}"};
        if (r.method == "GET") return {200, annotation.dump()};
        ++patches;
        annotation["result"] = parse(r.body)["result"];
        return {200, annotation.dump()};
    }
};

// [SECTION] The client: engine + link + a faulty network

enum class Fault {
    None,
    FailBefore,  // never reached the backend
    DropReply,   // applied, then the answer was lost (timeout)
    LateReply,   // applied, the answer comes only after the engine gave up and sent again
};

SyncConfig engine_config() {
    SyncConfig c;
    c.task_id = "demo";
    c.device_id = "tab-a";
    c.user_id = "ana";
    c.debounce_ms = 0;
    c.max_delay_ms = 0;
    c.timeout_ms = 5000;
    c.backoff_base_ms = 100;
    c.backoff_max_ms = 400;
    c.seed = 7;
    return c;
}

template <class Link>
struct ClientOf {
    SyncEngine engine = SyncEngine::create(engine_config()).value();
    Link link;
    std::function<FakeReply(const SyncRequest&)> backend;
    Document doc;
    int64_t now = 0;
    std::deque<Fault> faults;                        // for the next backend requests, in order
    std::function<Fault()> random_fault;             // when `faults` is empty
    std::vector<std::pair<uint64_t, FakeReply>> late;  // answers the link will get too late
    std::vector<EngineReply> replies;                // what the engine was told
    std::vector<RemoteChange> remote;                // what the engine passed on as others' changes
    std::map<std::string, std::string> journal;      // what the platform keeps in IndexedDB

    ClientOf(Link l, std::function<FakeReply(const SyncRequest&)> b, const Document& loaded, int64_t revision = 0)
        : link(std::move(l)), backend(std::move(b)), doc(loaded) {
        link.set_loaded(loaded, revision);
        engine.restore({}, revision);
    }

    void edit(const Command& c) {
        auto applied = apply_command(doc, c);
        REQUIRE(applied);
        SyncOutput out = engine.record(c, now);
        REQUIRE(out.errors.empty());
        keep(out);
    }
    void keep(const SyncOutput& out) {
        for (const JournalRecord& r : out.journal_put) journal[r.key] = r.text;
        for (const std::string& key : out.journal_delete) journal.erase(key);
    }
    void create(const Object& o) { edit(Command{"draw", {ObjectOp::create(o, doc.objects.size())}, {}}); }
    void create(const Track& t) { edit(Command{"track", {}, {TrackOp::create(t, doc.tracks.size())}}); }
    void move(const std::string& id, double x) {
        for (size_t i = 0; i < doc.objects.size(); ++i)
            if (doc.objects[i].id == id) {
                Object after = doc.objects[i];
                after.points = {x, 10, x + 40, 30};
                edit(Command{"move", {ObjectOp::update(doc.objects[i], after, i)}, {}});
                return;
            }
        FAIL("no object " << id);
    }
    void remove(const std::string& id) {
        for (size_t i = 0; i < doc.objects.size(); ++i)
            if (doc.objects[i].id == id) {
                edit(Command{"delete", {ObjectOp::remove(doc.objects[i], i)}, {}});
                return;
            }
        FAIL("no object " << id);
    }

    Fault next_fault() {
        if (!faults.empty()) {
            Fault f = faults.front();
            faults.pop_front();
            return f;
        }
        return random_fault ? random_fault() : Fault::None;
    }

    void take(const SyncOutput& out) {
        keep(out);
        for (const RemoteChange& c : out.remote) {
            remote.push_back(c);
            REQUIRE(apply_remote_change(doc, c));
        }
    }

    // One engine request, carried through the link to its engine reply (or given up on).
    void step() {
        now += 1000;
        auto request = engine.poll(now);
        if (!request) return;
        ProfileStep s = link.begin(*request);
        for (auto& [seq, reply] : late) CHECK_FALSE(link.on_backend_reply(seq, reply.status, reply.body).reply);
        late.clear();
        while (s.request) {
            SyncRequest r = *s.request;
            Fault f = next_fault();
            if (f == Fault::FailBefore) { s = link.on_backend_failure(r.seq, SyncFailure::Network); continue; }
            FakeReply reply = backend(r);
            if (f == Fault::DropReply) s = link.on_backend_failure(r.seq, SyncFailure::Timeout);
            else if (f == Fault::LateReply) { late.emplace_back(r.seq, reply); return; }
            else s = link.on_backend_reply(r.seq, reply.status, reply.body);
        }
        if (!s.reply) return;
        replies.push_back(*s.reply);
        take(engine.on_reply(s.reply->seq, s.reply->status, s.reply->body, now));
    }

    // Until everything is acknowledged and caught up, with no more faults.
    void settle() {
        faults.clear();
        random_fault = nullptr;
        engine.flush(now);
        for (int i = 0; i < 40; ++i) step();
        SyncStatus s = engine.status();
        INFO(to_string(s.state) << " " << s.message);
        REQUIRE(s.state == SyncState::Saved);
        REQUIRE(s.pending == 0);
    }
};

using Client = ClientOf<ProfileSync>;

ProfileSync link_for(const std::string& profile, ProfileContext context = {}) {
    auto link = ProfileSync::create(load_profile(profile), std::move(context));
    REQUIRE(link);
    return link.value();
}

// ProfileSync's calls through a ProfileClient to a ProfileHost as JSON text: what the web app does
// with the profile module (profile_wire.hpp), with the host in this process.
struct WiredProfile {
    std::shared_ptr<ProfileClient> client;
    void set_loaded(const Document& d, int64_t revision) { client->set_loaded(d, revision); }
    ProfileStep begin(const SyncRequest& r) { return client->begin(r); }
    ProfileStep on_backend_reply(uint64_t seq, int status, const std::string& body) { return client->on_backend_reply(seq, status, body); }
    ProfileStep on_backend_failure(uint64_t seq, SyncFailure kind) { return client->on_backend_failure(seq, kind); }
};
using WiredClient = ClientOf<WiredProfile>;

Json profile_json(const std::string& name) {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/" + name + ".json");
    return Json::parse(in);
}

WiredProfile wired_for(const std::string& profile, const ProfileContext& context = {}) {
    auto client = ProfileClient::open(profile_json(profile), in_process_transport(std::make_shared<ProfileHost>()));
    REQUIRE(client);
    REQUIRE(client.value()->start(context).empty());
    return WiredProfile{std::move(client.value())};
}

ProfileContext cvat_context() {
    ProfileContext c;
    c.vars = {{"job", 42}};
    c.media = {{100, 1920, 1080}};
    c.tables["labels"] = {{"car", 5}};
    c.token = "cvat-token";
    return c;
}

ProfileContext ls_context() {
    ProfileContext c;
    c.vars = {{"annotation", 7}, {"from_name", "label"}, {"to_name", "image"}, {"choice_from_name", "choice"}};
    c.media = {{1, 1920, 1280}};
    c.tables["labels"] = {{"car", "Car"}};
    return c;
}

}  // namespace

// [SECTION] Items mode against a json-server-like backend

TEST_CASE("each op of a batch becomes one backend request, in order, and the engine ends saved", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.create(rect("r2", 50));
    client.create(track("t1", 5));
    client.settle();
    client.move("r1", 7);
    client.remove("r2");
    client.settle();

    CHECK(items_of(server.document()) == items_of(client.doc));
    CHECK(server.posts == 3);
    CHECK(server.puts == 1);
    CHECK(server.deletes == 1);
    CHECK(client.remote.empty());  // our own writes never come back as others' changes
    REQUIRE(client.replies.size() >= 2);
    Json first = parse(client.replies[0].body);
    CHECK(client.replies[0].status == 200);
    CHECK(first["applied"].size() == 3);
    CHECK(first["revision"] == 1);  // no revisions on the backend: a local counter
}

TEST_CASE("a create whose reply was lost is found on the backend and not posted again", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.faults = {Fault::DropReply};
    client.step();
    REQUIRE(client.replies.size() == 1);
    CHECK(client.replies[0].status == 503);
    CHECK(client.engine.status().state == SyncState::Offline);
    client.settle();
    CHECK(server.posts == 1);
    CHECK(server.duplicate_creates == 0);
    CHECK(items_of(server.document()) == items_of(client.doc));
}

TEST_CASE("a failure mid-batch is a 503 for the engine, and the retry reports the done ops as duplicates", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.create(rect("r2", 10));
    client.create(rect("r3", 20));
    client.faults = {Fault::None, Fault::FailBefore};
    client.step();
    REQUIRE(client.replies.size() == 1);
    CHECK(client.replies[0].status == 503);
    CHECK(client.engine.status().pending == 3);  // nothing acknowledged: nothing can be lost
    client.step();
    REQUIRE(client.replies.size() == 2);
    Json retry = parse(client.replies[1].body);
    CHECK(retry["duplicates"] == Json::array({"tab-a-1"}));
    CHECK(retry["applied"] == Json::array({"tab-a-2", "tab-a-3"}));
    client.settle();
    CHECK(server.posts == 3);
    CHECK(items_of(server.document()) == items_of(client.doc));
}

TEST_CASE("a reply arriving after the engine gave up still counts, and the create is not sent twice", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.faults = {Fault::LateReply};
    for (int i = 0; i < 8; ++i) client.step();  // the engine times out after 5 s and sends again
    client.settle();
    CHECK(server.posts == 1);
    CHECK(server.duplicate_creates == 0);
    client.move("r1", 30);
    client.faults = {Fault::LateReply};  // an update is idempotent: sent again, harmlessly
    for (int i = 0; i < 8; ++i) client.step();
    client.settle();
    CHECK(server.posts == 1);
    CHECK(items_of(server.document()) == items_of(client.doc));
}

namespace {
// Edits at random with lost replies, failures before the backend and late replies, then settles.
template <class Link>
void random_faults_against_json_server(const std::function<Link()>& make_link) {
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        INFO("seed " << seed);
        FakeJsonServer server;
        ClientOf<Link> client(make_link(), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
        std::mt19937_64 rng(seed);
        client.random_fault = [&] {
            switch (rng() % 10) {
                case 0: return Fault::FailBefore;
                case 1: return Fault::DropReply;
                case 2: return Fault::LateReply;
                default: return Fault::None;
            }
        };
        int made = 0;
        for (int round = 0; round < 60; ++round) {
            int what = (int)(rng() % 4);
            if (what == 0 || client.doc.objects.empty()) client.create(rect("r" + std::to_string(++made), (double)(rng() % 500)));
            else if (what == 1) client.remove(client.doc.objects[rng() % client.doc.objects.size()].id);
            else client.move(client.doc.objects[rng() % client.doc.objects.size()].id, (double)(rng() % 500));
            client.step();
        }
        client.settle();
        CHECK(items_of(server.document()) == items_of(client.doc));
        CHECK(server.duplicate_creates == 0);
        CHECK(client.remote.empty());
        CHECK(client.engine.conflicts().empty());
    }
}
}  // namespace

TEST_CASE("with random lost replies, failures and timeouts the backend ends equal to the client, nothing doubled", "[profile_sync]") {
    random_faults_against_json_server<ProfileSync>([] { return link_for("rest"); });
}

TEST_CASE("an update of an item another client deleted is a conflict; keeping mine creates it again", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.settle();
    server.collections["objects"].clear();  // another labeler deletes it
    client.move("r1", 90);
    client.step();
    REQUIRE_FALSE(client.replies.empty());
    CHECK(client.replies.back().status == 409);
    CHECK(parse(client.replies.back().body)["error"]["message"].get<std::string>().find("r1") != std::string::npos);
    CHECK(client.engine.status().state == SyncState::Conflict);
    auto conflicts = client.engine.conflicts();
    REQUIRE(conflicts.size() == 1);
    CHECK(conflicts[0].id == "r1");
    CHECK_FALSE(conflicts[0].theirs);
    client.take(client.engine.resolve("r1", Resolution::Mine, client.now));
    client.settle();
    CHECK(items_of(server.document()) == items_of(client.doc));
}

TEST_CASE("a refused token puts the engine in NeedsAuth, and the token is never in a path, body or message", "[profile_sync]") {
    FakeJsonServer server;
    server.token = "good-token";
    ProfileContext context;
    context.token = "stale-s3cret";
    Client client(link_for("rest", context), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.step();
    CHECK(client.engine.status().state == SyncState::NeedsAuth);
    CHECK(client.engine.status().message.find("s3cret") == std::string::npos);
    for (const EngineReply& r : client.replies) CHECK(r.body.find("s3cret") == std::string::npos);
    for (const SyncRequest& r : server.seen) {
        CHECK(r.path.find("s3cret") == std::string::npos);
        CHECK(r.body.find("s3cret") == std::string::npos);
    }
    client.link.set_token("good-token");
    client.engine.set_token("good-token");
    client.settle();
    CHECK(items_of(server.document()) == items_of(client.doc));
}

TEST_CASE("a backend 400 to one op sets that op aside, naming the item and the route, and the others are saved", "[profile_sync]") {
    FakeJsonServer server;
    auto backend = [&](const SyncRequest& r) {
        if (r.method == "POST" && r.body.find("\"r1\"") != std::string::npos) return FakeReply{400, R"({"message":"bad"})"};
        return server.handle(r);
    };
    Client client(link_for("rest"), backend, Document{});
    client.create(rect("r1", 0));
    client.create(rect("r2", 100));
    client.step();
    REQUIRE(client.replies.size() == 1);
    CHECK(client.replies[0].status == 422);
    Json error = parse(client.replies[0].body)["error"];
    CHECK(error["path"] == "/operations/0");
    std::string message = error["message"];
    CHECK(message.find("\"r1\"") != std::string::npos);
    CHECK(message.find("POST /objects") != std::string::npos);
    REQUIRE(client.engine.set_aside().size() == 1);
    CHECK(client.engine.set_aside()[0].id == "r1");
    for (int i = 0; i < 5; ++i) client.step();
    CHECK(client.engine.status().state == SyncState::SetAside);
    CHECK(client.engine.status().pending == 0);
    Document saved = server.document();
    REQUIRE(saved.objects.size() == 1);
    CHECK(saved.objects[0].id == "r2");
}

TEST_CASE("a backend 405 on a create route is still an engine error: not one op's content", "[profile_sync]") {
    Client client(link_for("rest"), [](const SyncRequest&) { return FakeReply{405, R"({"message":"no"})"}; }, Document{});
    client.create(rect("r1", 0));
    client.step();
    REQUIRE(client.replies.size() == 1);
    CHECK(client.replies[0].status == 422);
    CHECK(client.engine.status().state == SyncState::Error);
    CHECK(client.engine.set_aside().empty());
}

// [SECTION] Catch-up by diffing loads

TEST_CASE("another client's create, change and delete reach the engine as remote changes", "[profile_sync]") {
    FakeJsonServer server;
    Client client(link_for("rest"), [&](const SyncRequest& r) { return server.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.create(rect("r2", 10));
    client.settle();
    CHECK(client.remote.empty());

    server.collections["objects"].push_back(object_to_json(rect("x9", 300)));  // another labeler's work
    Object moved = rect("r1", 123);
    server.collections["objects"][0] = object_to_json(moved);
    server.collections["objects"].erase(server.collections["objects"].begin() + 1);  // r2
    client.engine.request_catchup();
    client.step();
    REQUIRE(client.remote.size() == 3);
    CHECK(items_of(client.doc) == items_of(server.document()));
    Json reply = parse(client.replies.back().body);
    CHECK(reply["changes"].size() == 3);
    CHECK(reply["revision"].get<int64_t>() > reply["since"].get<int64_t>());

    client.engine.request_catchup();  // nothing new: no change twice
    client.step();
    CHECK(client.remote.size() == 3);
}

// [SECTION] CVAT: ids the backend assigns

TEST_CASE("cvat ids from create replies address later updates and deletes; a lost create reply is matched by value", "[profile_sync]") {
    FakeCvat cvat;
    Client client(link_for("cvat", cvat_context()), [&](const SyncRequest& r) { return cvat.handle(r); }, Document{});
    client.create(rect("r1", 0));
    client.create(track("t1", 5));
    client.settle();
    REQUIRE(cvat.data["shapes"].size() == 1);
    CHECK(cvat.data["shapes"][0]["id"] == 100);
    CHECK(cvat.data["tracks"][0]["id"] == 101);
    CHECK(cvat.data["tracks"][0]["shapes"][1]["id"] == 103);

    client.move("r1", 60);
    client.settle();
    CHECK(cvat.data["shapes"][0]["points"][0] == 60);

    client.create(rect("r2", 200));
    client.faults = {Fault::DropReply};
    client.settle();
    CHECK(cvat.creates == 3);  // r2 went once; its id was recovered from the load
    client.remove("r2");
    client.settle();
    REQUIRE(cvat.data["shapes"].size() == 1);

    auto back = from_backend(client.link.profile(), client.link.context(), cvat.data);
    REQUIRE(back);
    CHECK(items_of(back.value()) == items_of(client.doc));
    CHECK(client.remote.empty());
    CHECK(client.link.last_writer_wins());
}

TEST_CASE("after a reload, a journaled create that reached cvat before is matched, not created again", "[profile_sync]") {
    FakeCvat cvat;
    std::map<std::string, std::string> journal;
    ProfileContext persisted = cvat_context();
    {
        Client before(link_for("cvat", cvat_context()), [&](const SyncRequest& r) { return cvat.handle(r); }, Document{});
        before.create(rect("r1", 0));
        before.settle();
        before.create(rect("r2", 200));
        before.faults = {Fault::DropReply};  // r2 lands; the tab closes before anyone knows
        before.step();
        journal = before.journal;
        persisted.tables["ids"] = before.link.context().tables.at("ids");  // kept beside the journal
    }
    ProfileSync link = link_for("cvat", persisted);
    FakeReply loaded_reply = cvat.handle(link.load_request());
    auto loaded = link.on_load_reply(loaded_reply.status, loaded_reply.body);
    REQUIRE(loaded);
    Client after(link, [&](const SyncRequest& r) { return cvat.handle(r); }, loaded->document, loaded->revision);
    std::vector<std::string> records;
    for (const auto& entry : journal) records.push_back(entry.second);
    REQUIRE(after.engine.restore(records, loaded->revision).errors.empty());
    after.link.restore_pending(after.engine.pending_ops());
    REQUIRE(after.engine.apply_pending(after.doc));
    after.settle();
    CHECK(cvat.creates == 2);
    CHECK(cvat.data["shapes"].size() == 2);
    auto back = from_backend(after.link.profile(), after.link.context(), cvat.data);
    REQUIRE(back);
    CHECK(items_of(back.value()) == items_of(after.doc));  // the stray "101" read before the match is gone
}

TEST_CASE("cvat shapes another client created read with their backend id and can be edited", "[profile_sync]") {
    FakeCvat cvat;
    Client client(link_for("cvat", cvat_context()), [&](const SyncRequest& r) { return cvat.handle(r); }, Document{});
    Json shape = item_to_backend(client.link.profile(), client.link.context(), SyncKind::Object, object_to_json(rect("tmp", 70))).value();
    shape["id"] = 555;
    cvat.data["shapes"].push_back(shape);
    client.engine.request_catchup();
    client.step();
    REQUIRE(client.remote.size() == 1);
    CHECK(client.remote[0].id == "555");
    client.move("555", 80);
    client.settle();
    CHECK(cvat.data["shapes"][0]["id"] == 555);
    CHECK(cvat.data["shapes"][0]["points"][0] == 80);
}

// [SECTION] Label Studio: document mode

TEST_CASE("label studio: ops go into a mirror and one whole-result PATCH saves it, retried whole", "[profile_sync]") {
    FakeLabelStudio ls;
    ProfileSync link = link_for("label-studio", ls_context());
    SyncRequest load = link.load_request();
    CHECK(load.path == "/api/annotations/7");
    FakeReply first = ls.handle(load);
    auto loaded = link.on_load_reply(first.status, first.body);
    REQUIRE(loaded);
    Client client(link, [&](const SyncRequest& r) { return ls.handle(r); }, loaded->document, loaded->revision);
    client.create(rect("r1", 0));
    client.create(rect("r2", 100));
    client.settle();
    CHECK(ls.patches == 1);
    REQUIRE(ls.annotation["result"].size() == 2);

    client.move("r1", 44);
    client.faults = {Fault::DropReply};
    client.step();
    CHECK(client.replies.back().status == 503);
    client.remove("r2");
    client.settle();
    auto back = from_backend(client.link.profile(), client.link.context(), ls.annotation);
    REQUIRE(back);
    CHECK(items_of(back.value()) == items_of(client.doc));
    CHECK(client.remote.empty());

    Json other = ls.annotation["result"][0];  // another labeler moves r1 in Label Studio
    other["value"]["x"] = 50.0;
    ls.annotation["result"][0] = other;
    client.engine.request_catchup();
    client.step();
    REQUIRE(client.remote.size() == 1);
    CHECK(client.remote[0].id == "r1");
    CHECK(client.link.last_writer_wins());
    CHECK_FALSE(client.link.conflicts_why().empty());
}

// [SECTION] The polymark profile and the profile format

TEST_CASE("the polymark profile passes engine requests and replies through unchanged", "[profile_sync]") {
    ProfileSync link = link_for("polymark");
    CHECK(link.passthrough());
    CHECK_FALSE(link.last_writer_wins());
    SyncRequest request{77, "PATCH", "/api/tasks/demo/annotations", R"({"base_revision":3,"operations":[]})", {{"Authorization", "Bearer t"}}, 5000};
    ProfileStep s = link.begin(request);
    REQUIRE(s.request);
    CHECK(s.request->method == request.method);
    CHECK(s.request->path == request.path);
    CHECK(s.request->body == request.body);
    CHECK(s.request->headers == request.headers);
    std::string body = R"({"revision":4,"applied":[],"duplicates":[]})";
    s = link.on_backend_reply(s.request->seq, 200, body);
    REQUIRE(s.reply);
    CHECK(s.reply->seq == 77);
    CHECK(s.reply->status == 200);
    CHECK(s.reply->body == body);
}

TEST_CASE("a create route's id_at is read, and one that is not a pointer is refused", "[profile_sync][profile]") {
    CHECK(load_profile("cvat").create.id_at == "/{collection}/0/id");
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/profiles/rest.json");
    Json rest = Json::parse(in);
    rest["save"]["create"]["id_at"] = "id";
    auto p = profile_from_json(rest);
    REQUIRE_FALSE(p);
    CHECK(p.first_error().code == "bad_pointer");
    CHECK(p.first_error().path == "/save/create/id_at");
}

// [SECTION] Across the profile wire (profile_wire.hpp: how the web app runs profiles in their own module)

TEST_CASE("over the profile wire, random faults still leave the backend equal to the client, nothing doubled", "[profile_sync][wire]") {
    random_faults_against_json_server<WiredProfile>([] { return wired_for("rest"); });
}

TEST_CASE("over the profile wire, cvat's ids from create replies address later edits and a lost create is matched", "[profile_sync][wire]") {
    FakeCvat cvat;
    WiredClient client(wired_for("cvat", cvat_context()), [&](const SyncRequest& r) { return cvat.handle(r); }, Document{});
    CHECK(client.link.client->name() == "cvat");
    CHECK(client.link.client->last_writer_wins());
    CHECK_FALSE(client.link.client->passthrough());
    client.create(rect("r1", 0));
    client.create(track("t1", 5));
    client.settle();
    REQUIRE(cvat.data["shapes"].size() == 1);
    CHECK(cvat.data["tracks"][0]["shapes"][1]["id"] == 103);
    client.move("r1", 60);
    client.create(rect("r2", 200));
    client.faults = {Fault::DropReply};
    client.settle();
    CHECK(cvat.creates == 3);
    CHECK(cvat.data["shapes"][0]["points"][0] == 60);
    client.remove("r2");
    client.settle();
    CHECK(cvat.data["shapes"].size() == 1);
    CHECK(client.remote.empty());
}

TEST_CASE("over the profile wire, label studio's load reads the document and one whole-result PATCH saves", "[profile_sync][wire]") {
    FakeLabelStudio ls;
    WiredProfile link = wired_for("label-studio", ls_context());
    SyncRequest load = link.client->load_request();
    CHECK(load.path == "/api/annotations/7");
    FakeReply first = ls.handle(load);
    auto loaded = link.client->on_load_reply(first.status, first.body);
    REQUIRE(loaded);
    WiredClient client(link, [&](const SyncRequest& r) { return ls.handle(r); }, loaded->document, loaded->revision);
    client.create(rect("r1", 0));
    client.create(rect("r2", 100));
    client.settle();
    CHECK(ls.patches == 1);
    auto back = from_backend(load_profile("label-studio"), ls_context(), ls.annotation);
    REQUIRE(back);
    CHECK(items_of(back.value()) == items_of(client.doc));
    CHECK(link.client->on_load_reply(500, "{}").first_error().message.find("500") != std::string::npos);
}

TEST_CASE("the profile host answers garbage, unknown calls and calls before start with errors, and keeps working", "[profile_sync][wire]") {
    ProfileHost host;
    for (const char* text : {"", "not json", "[1,2]", "{}", R"({"op":"begin","handle":99})", R"({"op":"open","profile":{"name":3}})",
                             R"({"op":"open","profile":"rest"})", R"({"op":"fly","handle":"x"})"}) {
        INFO(text);
        auto answer = Json::parse(host.call(text));
        REQUIRE(answer.contains("errors"));
        CHECK_FALSE(answer["errors"][0]["message"].get<std::string>().empty());
    }
    auto shared = std::shared_ptr<ProfileHost>(&host, [](ProfileHost*) {});
    auto client = ProfileClient::open(profile_json("rest"), in_process_transport(shared));
    REQUIRE(client);
    CHECK(client.value()->begin(SyncRequest{1, "GET", "/x", "", {}, 0}).request == std::nullopt);  // not started: nothing to do
    REQUIRE(client.value()->start(ProfileContext{}).empty());
    CHECK(client.value()->load_request().path == "/db");

    auto bad = ProfileClient::open(Json{{"name", "broken"}}, in_process_transport(shared));
    REQUIRE_FALSE(bad);
    CHECK_FALSE(bad.first_error().path.empty());
    auto unreachable = ProfileClient::open(profile_json("rest"), [](const std::string&) { return std::string(); });
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.first_error().code == "profile_unavailable");
}

// [SECTION] The rest profile against a live json-server (tests/backend/test_rest_profile.py)

TEST_CASE("the sync engine saves through the rest profile to a live json-server, nothing lost or doubled", "[.][json-server-sync]") {
    const char* port_text = std::getenv("POLYMARK_JSON_SERVER_PORT");
    REQUIRE(port_text);
    int port = std::atoi(port_text);
    auto over_http = [port](const SyncRequest& r) {
        auto reply = pm_test::http_request(port, r.method, r.path, r.headers, r.body);
        return FakeReply{reply.status, reply.body};
    };
    ProfileContext context;
    context.token = "unused-by-json-server";
    ProfileSync link = link_for("rest", context);
    SyncRequest load = link.load_request();
    FakeReply first = over_http(load);
    auto loaded = link.on_load_reply(first.status, first.body);
    REQUIRE(loaded);
    Client client(link, over_http, loaded->document, loaded->revision);

    client.create(rect("r1", 0));
    client.create(rect("p1", 20));
    client.create(track("t1", 5));
    client.faults = {Fault::None, Fault::DropReply};  // p1 lands, its answer is lost
    client.step();
    client.settle();
    client.move("r1", 11);
    client.remove("p1");
    client.faults = {Fault::LateReply};
    for (int i = 0; i < 8; ++i) client.step();
    client.settle();

    // Another client changes r1 on the server: the engine hears of it at the next catch-up.
    Object theirs = rect("r1", 300);
    auto put = pm_test::http_request(port, "PUT", "/objects/r1", {{"Content-Type", "application/json"}}, object_to_json(theirs).dump());
    REQUIRE(put.status == 200);
    client.engine.request_catchup();
    client.step();
    REQUIRE(client.remote.size() == 1);
    CHECK(client.remote[0].id == "r1");

    FakeReply db = over_http(client.link.load_request());
    auto back = from_backend(client.link.profile(), client.link.context(), parse(db.body));
    REQUIRE(back);
    CHECK(items_of(back.value()) == items_of(client.doc));
    CHECK(back->objects.size() == 1);
}
