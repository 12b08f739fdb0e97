#include "app/sync_link.hpp"

#include <chrono>

namespace pm {

namespace {
int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

SyncLink::SyncLink(PlatformPort& platform, Notices& notices, DocumentSession& session, SyncLinkOptions options, BackendUrls urls)
    : platform_(platform), notices_(notices), session_(session), options_(std::move(options)), urls_(std::move(urls)),
      review_(platform, notices, urls_, options_.sync,
              [this](const std::vector<JournalRecord>& put, const std::vector<std::string>& remove) { return write_review_journal(put, remove); }) {
    review_.on_changed = [this] {
        platform_.emit("review", Json{{"revision", review_.revision()}, {"openIssues", review_.board().open_issues(0, std::nullopt).size()}});
    };
    review_.settle_edits = [this] {
        if (!engine_ || engine_->status().pending == 0) return true;
        engine_->flush(steady_ms());
        poll();
        return false;
    };
    review_.on_guideline = [this](std::optional<long long> previous) {
        platform_.emit("guidelines", Json{{"version", review_.guideline_version().value_or(0)}, {"previous", previous ? Json(*previous) : Json()}});
    };
}

bool SyncLink::write_review_journal(const std::vector<JournalRecord>& put, const std::vector<std::string>& remove) {
    if (!platform_.sync_journal(put, remove)) return false;
    journal_order_.push_back(false);
    return true;
}

std::optional<Error> SyncLink::edit_refusal() const {
    if (!enabled() || started()) return std::nullopt;
    if (journal_) return Error{"read_only", "", "the annotations are still loading: the edit was not made"};
    return Error{"read_only", "", options_.writer_on_this_page ? "this task is open in another editor on this page: edit it there, or close that one to edit here"
                                                               : "this task is open in another tab: edit it there, or close that tab to edit here"};
}

std::string SyncLink::read_only_reason() const {
    return journal_ ? "they are still loading" : "this task is open in " + where_it_is_written();
}

std::string SyncLink::where_it_is_written() const { return options_.writer_on_this_page ? "another editor on this page" : "another tab"; }

// [SECTION] Start

void SyncLink::start(std::vector<std::string> journal_records, std::string device_id) {
    if (!options_.sync || engine_ || journal_) return;
    if (!device_id.empty()) options_.sync->device_id = device_id;
    review_.journal_read(journal_records, device_id);
    journal_ = std::move(journal_records);
    if (annotations_ready_) begin();
    else emit_status();
}

void SyncLink::annotations_loaded(const std::string& task_id, int64_t revision) {
    task_id_ = task_id;
    loaded_revision_ = revision;
    annotations_ready_ = true;
    review_.task_known(task_id);
    if (journal_) begin();
}

void SyncLink::begin() {
    SyncConfig config = *options_.sync;
    config.task_id = task_id_;
    auto engine = SyncEngine::create(config);
    std::vector<std::string> records = std::move(*journal_);
    journal_.reset();
    if (!engine) {
        options_.sync.reset();  // edits stay local; say why
        notices_.report(engine.first_error());
        return;
    }
    engine_ = std::move(engine.value());
    if (!pending_token_.empty()) engine_->set_token(std::move(pending_token_));
    pending_token_.clear();
    SyncOutput out = engine_->restore(records, loaded_revision_);
    if (profile_) profile_->restore_pending(engine_->pending_ops());
    // Edits the backend has not acknowledged yet (made offline, or before a reload or a crash).
    if (!engine_->pending_ops().empty()) {
        session_.apply_unsaved(*engine_);
        platform_.emit("change", Json{{"revision", session_.revision()}, {"command", "restore unsaved edits"}, {"remote", false}});
    }
    handle_output(std::move(out));
    poll();
}

// [SECTION] Through a backend profile: the load, then the engine's requests translated

void SyncLink::load_through_profile(const Task& task) {
    task_id_ = options_.task_id.empty() ? task.id : options_.task_id;
    ProfileClient& profile = *options_.profile;
    ProfileContext context = context_from_task(task);
    const Json& given = options_.profile_context;
    if (given.is_object() && given.contains("vars") && given["vars"].is_object())
        for (const auto& [name, value] : given["vars"].items()) context.vars[name] = value;
    if (given.is_object() && given.contains("tables") && given["tables"].is_object())
        for (const auto& [name, pairs] : given["tables"].items()) {
            if (!pairs.is_array()) continue;
            auto& table = context.tables[name];
            table.clear();
            for (const Json& pair : pairs)
                if (pair.is_array() && pair.size() == 2) table.emplace_back(pair[0], pair[1]);
        }
    if (options_.sync) {
        context.vars["user"] = options_.sync->user_id;
        context.vars["device"] = options_.sync->device_id;
    }
    Errors refused = profile.start(context);
    if (!refused.empty()) {
        Error e = refused.front();
        e.message = "the backend profile \"" + profile.name() + "\" cannot be used: " + e.message;
        return notices_.fail_startup(e);
    }
    profile_ = &profile;
    if (!pending_token_.empty()) profile_->set_token(pending_token_);
    // Review goes through the profile too when it maps review (docs/PROFILES.md section 7); else it is off.
    review_.use_profile(profile.has_review() && !profile.passthrough() ? &profile : nullptr, context);
    review_.task_known(task_id_);
    SyncRequest load = profile_->load_request();
    if (options_.sync) load.timeout_ms = options_.sync->timeout_ms;
    profile_load_seq_ = load.seq;
    profile_load_url_ = urls_.api(load.path);
    if (!platform_.sync_request(load, profile_load_url_))
        notices_.fail_startup({"network", profile_load_url_, "this platform cannot reach the backend of profile \"" + profile.name() + "\""});
}

void SyncLink::on_profile_load(int http_status, const std::string& body) {
    profile_load_seq_ = 0;
    const std::string& where = profile_load_url_;
    auto loaded = profile_->on_load_reply(http_status, body);
    if (!loaded) {
        Error e = loaded.first_error();
        e.message = "the annotations could not be loaded through the profile \"" + options_.profile->name() + "\" from " + where + ": " + e.message;
        return notices_.fail_startup(e);
    }
    session_.load(std::move(loaded->document));
    loaded_revision_ = loaded->revision;
    annotations_ready_ = true;
    if (on_profile_loaded) on_profile_loaded();
    if (journal_) begin();
}

void SyncLink::handle_profile_step(ProfileStep step) {
    if (step.request && !platform_.sync_request(*step.request, urls_.api(step.request->path)))
        step = profile_->on_backend_failure(step.request->seq, SyncFailure::Network);
    if (step.reply && engine_) {
        handle_output(engine_->on_reply(step.reply->seq, step.reply->status, step.reply->body, steady_ms()));
        poll();
    }
}

// [SECTION] The engine's output and requests

void SyncLink::record(const Command& applied) {
    if (!engine_) return;
    handle_output(engine_->record(applied, steady_ms()));
}

void SyncLink::handle_output(SyncOutput out) {
    if ((!out.journal_put.empty() || !out.journal_delete.empty()) && platform_.sync_journal(out.journal_put, out.journal_delete)) {
        ++journal_writes_;
        journal_order_.push_back(true);
    }
    if (session_.apply_remote(out.remote))
        platform_.emit("change", Json{{"revision", session_.revision()}, {"command", "changes from the server"}, {"remote", true}});
    for (Error& e : out.errors) notices_.report(std::move(e));
    emit_status();
}

void SyncLink::poll() {
    if (!engine_) return;
    if (auto request = engine_->poll(steady_ms())) {
        if (profile_ && !profile_->passthrough()) {
            handle_profile_step(profile_->begin(*request));
        } else if (!platform_.sync_request(*request, urls_.api(request->path))) {
            handle_output(engine_->on_failure(request->seq, SyncFailure::Network, steady_ms()));
        }
    }
    emit_status();
}

void SyncLink::tick() {
    poll();
    review_.tick();
    review_.send_waiting_moves();
}

void SyncLink::on_reply(const SyncReplied& r) {
    take_reply(r);
    review_.send_waiting_moves();  // a job's move waits for the edits made before it
}

void SyncLink::take_reply(const SyncReplied& r) {
    if (review_.owns(r.seq)) return review_.on_reply(r);
    if (profile_ && profile_load_seq_ && r.seq == profile_load_seq_) return on_profile_load(r.status, r.body);
    if (!engine_) return;
    if (profile_ && !profile_->passthrough()) return handle_profile_step(profile_->on_backend_reply(r.seq, r.status, r.body));
    handle_output(engine_->on_reply(r.seq, r.status, r.body, steady_ms()));
    poll();  // the next batch, or the catch-up a save asks for, goes at once
}

void SyncLink::on_failure(const SyncFailed& f) {
    if (review_.owns(f.seq)) return review_.on_failure(f);
    if (profile_ && profile_load_seq_ && f.seq == profile_load_seq_) {
        profile_load_seq_ = 0;
        const std::string& where = profile_load_url_;
        return notices_.fail_startup({f.timeout ? "timeout" : "network", where, "could not load the annotations from " + where + " (profile \"" +
                                                                                    options_.profile->name() + "\"): the backend did not answer"});
    }
    if (!engine_) return;
    if (profile_ && !profile_->passthrough()) return handle_profile_step(profile_->on_backend_failure(f.seq, f.timeout ? SyncFailure::Timeout : SyncFailure::Network));
    handle_output(engine_->on_failure(f.seq, f.timeout ? SyncFailure::Timeout : SyncFailure::Network, steady_ms()));
}

void SyncLink::on_journal_written(const JournalWritten& w) {
    bool own = journal_order_.empty() || journal_order_.front();
    if (!journal_order_.empty()) journal_order_.pop_front();
    if (!own) {  // the review engine's
        if (!w.ok) notices_.report({"journal_failed", "journal", "review notes could not be stored in this browser (" + w.message + "); they are kept in memory and sent when the server answers"});
        return;
    }
    if (journal_writes_ > 0) --journal_writes_;
    if (!w.ok) {
        journal_error_ = w.message;
        notices_.report({"journal_failed", "journal", "edits could not be stored in this browser (" + w.message + "); they are kept in memory and sent when the server answers"});
    } else if (journal_writes_ == 0) {
        journal_error_.clear();
    }
    emit_status();
}

// [SECTION] What the labeler and the host ask

void SyncLink::flush() {
    review_.flush();
    if (!engine_) return;
    int64_t now = steady_ms();
    if (engine_->status().state == SyncState::Error) engine_->retry(now);
    else engine_->flush(now);
    poll();
}

void SyncLink::catchup() {
    review_.catchup();
    if (!engine_) return;
    engine_->request_catchup();
    poll();
}

void SyncLink::set_token(std::string token) {
    review_.token(token);
    if (profile_) profile_->set_token(token);
    if (!engine_) {
        pending_token_ = std::move(token);
        return;
    }
    engine_->set_token(std::move(token));
    poll();
}

Errors SyncLink::resolve_conflict(const std::string& id, Resolution choice) {
    if (!engine_) return {{"not_found", id, "no conflict is held: sync is not running"}};
    // Mine: the local value is already the document's. Theirs: the server's value replaces it.
    return apply_decision(id.empty() ? engine_->resolve_all(choice, steady_ms()) : engine_->resolve(id, choice, steady_ms()));
}

Errors SyncLink::retry_set_aside(const std::vector<std::string>& ids) {
    if (!engine_) return {{"not_found", "", "nothing is set aside: sync is not running"}};
    return apply_decision(engine_->retry_set_aside(ids, steady_ms()));
}

Errors SyncLink::discard_set_aside(const std::vector<std::string>& ids) {
    if (!engine_) return {{"not_found", "", "nothing is set aside: sync is not running"}};
    return apply_decision(engine_->discard_set_aside(ids));  // the server's values, as remote changes
}

// The engine's answer to a labeler's decision applied like any other output; its refusals returned.
Errors SyncLink::apply_decision(SyncOutput out) {
    Errors errors = std::move(out.errors);
    out.errors.clear();
    handle_output(std::move(out));
    poll();
    return errors;
}

Json SyncLink::status_json() const {
    Json j;
    if (!options_.sync) j = Json{{"state", "off"}, {"pending", 0}, {"conflicts", 0}, {"set_aside", 0}, {"setAsideList", Json::array()}};
    else if (!engine_) {
        j = Json{{"state", journal_ ? "loading" : "read-only"}, {"pending", 0}, {"conflicts", 0}, {"set_aside", 0}, {"setAsideList", Json::array()}};
        if (!journal_) j["message"] = "open in " + where_it_is_written();
    } else {
        j = sync_status_to_json(engine_->status());
        if (j.contains("next_retry_ms")) j.erase("next_retry_ms");  // a clock of this page's own: meaningless outside
        Json list = Json::array();
        for (const SetAsideItem& item : engine_->set_aside())
            list.push_back(Json{{"kind", to_string(item.kind)}, {"id", item.id}, {"label", item.label}, {"op_id", item.op_id},
                                {"code", item.code}, {"message", item.message}, {"path", item.path}});
        j["setAsideList"] = std::move(list);
    }
    j["localWrites"] = journal_writes_;
    if (!journal_error_.empty()) j["journalError"] = journal_error_;
    if (options_.profile) {
        j["profile"] = options_.profile->name();
        // A backend that cannot detect conflicts: the last save wins, and the labeler is told.
        if (options_.profile->last_writer_wins()) j["lastWriterWins"] = options_.profile->conflicts_why();
    }
    return j;
}

void SyncLink::emit_status() {
    if (!options_.sync) return;
    Json j = status_json();
    std::string text = j.dump();
    if (text == last_status_) return;
    last_status_ = text;
    platform_.emit("sync", j);
}

}  // namespace pm
