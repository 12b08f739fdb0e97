#include "polymark/profile_wire.hpp"

#include "polymark/json_reader.hpp"

namespace pm {

namespace {

std::string text_of(const Json& call, const char* key) {
    return call.contains(key) && call[key].is_string() ? call[key].get<std::string>() : std::string();
}

Json errors_to_json(const Errors& errors) {
    Json list = Json::array();
    for (const Error& e : errors) list.push_back(Json{{"code", e.code}, {"path", e.path}, {"message", e.message}});
    return Json{{"errors", std::move(list)}};
}

Errors errors_from_json(const Json& answer) {
    Errors out;
    if (answer.is_object() && answer.contains("errors") && answer["errors"].is_array())
        for (const Json& e : answer["errors"])
            if (e.is_object()) out.push_back({text_of(e, "code"), text_of(e, "path"), text_of(e, "message")});
    return out;
}

bool failed(const Json& answer) { return answer.is_object() && answer.contains("errors"); }

Json step_to_json(const ProfileStep& step) {
    Json j = Json::object();
    if (step.request) j["request"] = sync_request_to_json(*step.request);
    if (step.reply) j["reply"] = Json{{"seq", step.reply->seq}, {"status", step.reply->status}, {"body", step.reply->body}};
    return j;
}

ProfileStep step_from_json(const Json& j) {
    ProfileStep step;
    if (!j.is_object()) return step;
    if (j.contains("request")) {
        auto request = sync_request_from_json(j["request"]);
        if (request) step.request = std::move(request.value());
    }
    const Json& reply = j.contains("reply") ? j["reply"] : Json();
    if (reply.is_object() && reply.value("seq", Json()).is_number_unsigned() && reply.value("status", Json()).is_number_integer() &&
        reply.value("body", Json()).is_string())
        step.reply = EngineReply{reply["seq"].get<uint64_t>(), reply["status"].get<int>(), reply["body"].get<std::string>()};
    return step;
}

uint64_t seq_of(const Json& call) {
    const Json& seq = call.contains("seq") ? call["seq"] : Json();
    return seq.is_number_unsigned() ? seq.get<uint64_t>() : 0;
}

int64_t int64_of(const Json& call, const char* key) {
    return call.contains(key) && call[key].is_number_integer() ? call[key].get<int64_t>() : 0;
}

int int_of(const Json& call, const char* key) { return (int)int64_of(call, key); }

bool bool_of(const Json& call, const char* key) { return call.contains(key) && call[key].is_boolean() && call[key].get<bool>(); }

}  // namespace

// [SECTION] The values on the wire

Json sync_request_to_json(const SyncRequest& r) {
    Json headers = Json::array();
    for (const auto& [name, value] : r.headers) headers.push_back(Json::array({name, value}));
    return Json{{"seq", r.seq}, {"method", r.method}, {"path", r.path}, {"body", r.body}, {"headers", std::move(headers)}, {"timeoutMs", r.timeout_ms}};
}

Expected<SyncRequest> sync_request_from_json(const Json& j) {
    if (!j.is_object() || !j.value("seq", Json()).is_number_unsigned() || !j.value("method", Json()).is_string() ||
        !j.value("path", Json()).is_string() || !j.value("body", Json()).is_string())
        return Error{"bad_request", "", "a sync request on the profile wire lacks its seq, method, path or body"};
    SyncRequest r;
    r.seq = j["seq"].get<uint64_t>();
    r.method = j["method"].get<std::string>();
    r.path = j["path"].get<std::string>();
    r.body = j["body"].get<std::string>();
    if (j.contains("headers") && j["headers"].is_array())
        for (const Json& h : j["headers"])
            if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string()) r.headers.emplace_back(h[0], h[1]);
    if (j.contains("timeoutMs") && j["timeoutMs"].is_number_integer()) r.timeout_ms = j["timeoutMs"].get<int64_t>();
    return r;
}

Json profile_context_to_json(const ProfileContext& c) {
    Json vars = Json::object();
    for (const auto& [name, value] : c.vars) vars[name] = value;
    Json media = Json::array();
    for (const MediaSize& m : c.media) media.push_back(Json::array({m.frames, m.width, m.height}));
    Json tables = Json::object();
    for (const auto& [name, pairs] : c.tables) {
        Json& rows = tables[name] = Json::array();
        for (const auto& [ours, theirs] : pairs) rows.push_back(Json::array({ours, theirs}));
    }
    Json types = Json::object();
    for (const auto& [id, type] : c.attribute_types) types[id] = type;
    return Json{{"vars", std::move(vars)}, {"token", c.token}, {"media", std::move(media)}, {"tables", std::move(tables)}, {"attributeTypes", std::move(types)}};
}

ProfileContext profile_context_from_json(const Json& j) {
    ProfileContext c;
    if (!j.is_object()) return c;
    if (j.contains("vars") && j["vars"].is_object())
        for (const auto& [name, value] : j["vars"].items()) c.vars[name] = value;
    c.token = text_of(j, "token");
    if (j.contains("media") && j["media"].is_array())
        for (const Json& m : j["media"])
            if (m.is_array() && m.size() == 3 && m[0].is_number_integer() && m[1].is_number_integer() && m[2].is_number_integer())
                c.media.push_back({m[0].get<long long>(), m[1].get<int>(), m[2].get<int>()});
    if (j.contains("tables") && j["tables"].is_object())
        for (const auto& [name, rows] : j["tables"].items()) {
            auto& table = c.tables[name];
            if (!rows.is_array()) continue;
            for (const Json& row : rows)
                if (row.is_array() && row.size() == 2) table.emplace_back(row[0], row[1]);
        }
    if (j.contains("attributeTypes") && j["attributeTypes"].is_object())
        for (const auto& [id, type] : j["attributeTypes"].items())
            if (type.is_string()) c.attribute_types[id] = type.get<std::string>();
    return c;
}

// [SECTION] The client

Expected<std::unique_ptr<ProfileClient>> ProfileClient::open(const Json& profile, ProfileTransport transport) {
    std::unique_ptr<ProfileClient> client(new ProfileClient(std::move(transport)));
    Json answer = client->call(Json{{"op", "open"}, {"profile", profile}});
    if (failed(answer)) return errors_from_json(answer);
    client->handle_ = int64_of(answer, "handle");
    client->name_ = text_of(answer, "name");
    client->conflicts_why_ = text_of(answer, "conflictsWhy");
    client->last_writer_wins_ = bool_of(answer, "lastWriterWins");
    client->has_review_ = bool_of(answer, "review");
    return client;
}

ProfileClient::~ProfileClient() {
    if (handle_) call(Json{{"op", "close"}});
}

Json ProfileClient::call(Json request) {
    request["handle"] = handle_;
    std::string text = transport_ ? transport_(request.dump(-1, ' ', false, Json::error_handler_t::replace)) : std::string();
    if (text.empty()) return errors_to_json({{"profile_unavailable", "", "the backend profile's module did not answer"}});
    auto answer = parse_json_text(text, "the backend profile module's answer");
    if (!answer) return errors_to_json(answer.errors());
    if (!answer->is_object()) return errors_to_json({{"profile_unavailable", "", "the backend profile module's answer is not an object"}});
    return std::move(answer.value());
}

ProfileStep ProfileClient::step(Json request) { return step_from_json(call(std::move(request))); }

Errors ProfileClient::start(const ProfileContext& context) {
    Json answer = call(Json{{"op", "start"}, {"context", profile_context_to_json(context)}});
    if (failed(answer)) return errors_from_json(answer);
    passthrough_ = bool_of(answer, "passthrough");
    return {};
}

SyncRequest ProfileClient::load_request() {
    auto request = sync_request_from_json(call(Json{{"op", "loadRequest"}}));
    return request ? request.value() : SyncRequest{};
}

Expected<LoadedDocument> ProfileClient::on_load_reply(int status, const std::string& body) {
    Json answer = call(Json{{"op", "loadReply"}, {"status", status}, {"body", body}});
    if (failed(answer)) return errors_from_json(answer);
    auto document = document_from_json(answer.contains("document") ? answer["document"] : Json());
    if (!document) return document.errors();
    return LoadedDocument{std::move(document.value()), int64_of(answer, "revision")};
}

void ProfileClient::set_loaded(const Document& backend_document, int64_t revision) {
    call(Json{{"op", "setLoaded"}, {"document", document_to_json(backend_document)}, {"revision", revision}});
}

void ProfileClient::restore_pending(const std::vector<WireOp>& pending) {
    Json ops = Json::array();
    for (const WireOp& op : pending) ops.push_back(wire_op_to_json(op));
    call(Json{{"op", "restorePending"}, {"ops", std::move(ops)}});
}

ProfileStep ProfileClient::begin(const SyncRequest& engine_request) {
    return step(Json{{"op", "begin"}, {"request", sync_request_to_json(engine_request)}});
}

ProfileStep ProfileClient::on_backend_reply(uint64_t seq, int status, const std::string& body) {
    return step(Json{{"op", "backendReply"}, {"seq", seq}, {"status", status}, {"body", body}});
}

ProfileStep ProfileClient::on_backend_failure(uint64_t seq, SyncFailure kind) {
    return step(Json{{"op", "backendFailure"}, {"seq", seq}, {"timeout", kind == SyncFailure::Timeout}});
}

void ProfileClient::set_token(std::string token) { call(Json{{"op", "setToken"}, {"token", std::move(token)}}); }

Errors ProfileClient::review_start(const ProfileContext& context) {
    Json answer = call(Json{{"op", "reviewStart"}, {"context", profile_context_to_json(context)}});
    return failed(answer) ? errors_from_json(answer) : Errors{};
}

ProfileStep ProfileClient::review_begin(const SyncRequest& engine_request) {
    return step(Json{{"op", "reviewBegin"}, {"request", sync_request_to_json(engine_request)}});
}

ProfileStep ProfileClient::review_backend_reply(uint64_t seq, int status, const std::string& body) {
    return step(Json{{"op", "reviewBackendReply"}, {"seq", seq}, {"status", status}, {"body", body}});
}

ProfileStep ProfileClient::review_backend_failure(uint64_t seq, SyncFailure kind) {
    return step(Json{{"op", "reviewBackendFailure"}, {"seq", seq}, {"timeout", kind == SyncFailure::Timeout}});
}

void ProfileClient::review_set_token(std::string token) { call(Json{{"op", "reviewSetToken"}, {"token", std::move(token)}}); }

SyncRequest ProfileClient::job_request() {
    auto request = sync_request_from_json(call(Json{{"op", "jobRequest"}}));
    return request ? request.value() : SyncRequest{};
}

Expected<Json> ProfileClient::jobs_reply(int status, const std::string& body) {
    Json answer = call(Json{{"op", "jobsReply"}, {"status", status}, {"body", body}});
    if (failed(answer)) return errors_from_json(answer);
    return answer;
}

Expected<SyncRequest> ProfileClient::move_request(JobStage from, JobStage to) {
    Json answer = call(Json{{"op", "moveRequest"}, {"from", to_string(from)}, {"to", to_string(to)}});
    if (failed(answer)) return errors_from_json(answer);
    return sync_request_from_json(answer);
}

// [SECTION] The host

std::string ProfileHost::call(const std::string& text) {
    auto request = parse_json_text(text, "a call to the backend profile module");
    Json answer = !request ? errors_to_json(request.errors())
                 : request->is_object() ? this->answer(request.value())
                                        : errors_to_json({{"bad_call", "", "a call to the backend profile module is not an object"}});
    return answer.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json ProfileHost::answer(const Json& call) {
    const std::string op = text_of(call, "op");
    if (op == "open") {
        auto profile = profile_from_json(call.contains("profile") ? call["profile"] : Json());
        if (!profile) return errors_to_json(profile.errors());
        int64_t handle = next_handle_++;
        Slot& slot = slots_[handle];
        slot.profile = std::move(profile.value());
        return Json{{"handle", handle}, {"name", slot.profile.name}, {"lastWriterWins", slot.profile.last_writer_wins()},
                    {"conflictsWhy", slot.profile.conflicts.why}, {"review", slot.profile.review.present}};
    }
    const Json& handle = call.contains("handle") ? call["handle"] : Json();
    auto it = handle.is_number_integer() ? slots_.find(handle.get<int64_t>()) : slots_.end();
    if (it == slots_.end()) return errors_to_json({{"bad_call", "", "no backend profile is open with handle " + handle.dump()}});
    Slot& slot = it->second;
    if (op == "close") {
        slots_.erase(it);
        return Json::object();
    }
    if (op == "start") {
        auto sync = ProfileSync::create(slot.profile, profile_context_from_json(call.contains("context") ? call["context"] : Json()));
        if (!sync) return errors_to_json(sync.errors());
        slot.sync = std::move(sync.value());
        return Json{{"passthrough", slot.sync->passthrough()}};
    }
    if (op.rfind("review", 0) == 0 || op == "jobRequest" || op == "jobsReply" || op == "moveRequest") return answer_review(slot, op, call);
    if (!slot.sync) return errors_to_json({{"bad_call", "", "the backend profile \"" + slot.profile.name + "\" was asked to \"" + op + "\" before it started"}});
    ProfileSync& sync = *slot.sync;
    if (op == "loadRequest") return sync_request_to_json(sync.load_request());
    if (op == "loadReply") {
        auto loaded = sync.on_load_reply(int_of(call, "status"), text_of(call, "body"));
        if (!loaded) return errors_to_json(loaded.errors());
        return Json{{"document", document_to_json(loaded->document)}, {"revision", loaded->revision}};
    }
    if (op == "setLoaded") {
        auto document = document_from_json(call.contains("document") ? call["document"] : Json());
        if (!document) return errors_to_json(document.errors());
        sync.set_loaded(document.value(), int64_of(call, "revision"));
        return Json::object();
    }
    if (op == "restorePending") {
        std::vector<WireOp> ops;
        if (call.contains("ops") && call["ops"].is_array())
            for (const Json& j : call["ops"]) {
                auto wire = wire_op_from_json(j, "");
                if (wire) ops.push_back(std::move(wire.value()));
            }
        sync.restore_pending(ops);
        return Json::object();
    }
    if (op == "begin") {
        auto request = sync_request_from_json(call.contains("request") ? call["request"] : Json());
        if (!request) return errors_to_json(request.errors());
        return step_to_json(sync.begin(request.value()));
    }
    if (op == "backendReply") return step_to_json(sync.on_backend_reply(seq_of(call), int_of(call, "status"), text_of(call, "body")));
    if (op == "backendFailure")
        return step_to_json(sync.on_backend_failure(seq_of(call), bool_of(call, "timeout") ? SyncFailure::Timeout : SyncFailure::Network));
    if (op == "setToken") {
        sync.set_token(text_of(call, "token"));
        return Json::object();
    }
    return errors_to_json({{"bad_call", "", "the backend profile module has no call \"" + op + "\""}});
}

Json ProfileHost::answer_review(Slot& slot, const std::string& op, const Json& call) {
    if (op == "reviewStart") {
        auto review = ReviewProfileSync::create(slot.profile, profile_context_from_json(call.contains("context") ? call["context"] : Json()));
        if (!review) return errors_to_json(review.errors());
        slot.review = std::move(review.value());
        return Json::object();
    }
    if (!slot.review) return errors_to_json({{"bad_call", "", "the review of profile \"" + slot.profile.name + "\" was asked to \"" + op + "\" before it started"}});
    ReviewProfileSync& review = *slot.review;
    if (op == "reviewBegin") {
        auto request = sync_request_from_json(call.contains("request") ? call["request"] : Json());
        if (!request) return errors_to_json(request.errors());
        return step_to_json(review.begin(request.value()));
    }
    if (op == "reviewBackendReply") return step_to_json(review.on_backend_reply(seq_of(call), int_of(call, "status"), text_of(call, "body")));
    if (op == "reviewBackendFailure")
        return step_to_json(review.on_backend_failure(seq_of(call), bool_of(call, "timeout") ? SyncFailure::Timeout : SyncFailure::Network));
    if (op == "reviewSetToken") {
        review.set_token(text_of(call, "token"));
        return Json::object();
    }
    if (op == "jobRequest") return sync_request_to_json(review.job_request());
    if (op == "jobsReply") {
        auto jobs = review.jobs_from_reply(int_of(call, "status"), text_of(call, "body"));
        if (!jobs) return errors_to_json(jobs.errors());
        return jobs.value();
    }
    if (op == "moveRequest") {
        auto from = job_stage_from_string(text_of(call, "from")), to = job_stage_from_string(text_of(call, "to"));
        if (!from || !to) return errors_to_json({{"bad_call", "", "a job move names its stages \"from\" and \"to\""}});
        auto request = review.move_request(*from, *to);
        if (!request) return errors_to_json(request.errors());
        return sync_request_to_json(request.value());
    }
    return errors_to_json({{"bad_call", "", "the backend profile module has no call \"" + op + "\""}});
}

ProfileTransport in_process_transport(std::shared_ptr<ProfileHost> host) {
    return [host](const std::string& call) { return host->call(call); };
}

}  // namespace pm
