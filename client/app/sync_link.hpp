// The sync link: the document session's connection to the backend. The core's SyncEngine (or, with
// a backend profile, the engine behind a ProfileSync) records every command the session applies,
// keeps the journal through the platform, sends one request at a time and brings other devices'
// changes into the session outside the undo history. Until the engine starts (the annotations
// loaded and the journal read) the session is read-only. Times: a steady clock, milliseconds.
#pragma once
#include "app/inbox.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "app/review_link.hpp"
#include "app/session.hpp"
#include "polymark/profile_wire.hpp"
#include "polymark/sync.hpp"
#include "polymark/task.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pm {

struct SyncLinkOptions {
    std::optional<SyncConfig> sync;          // none: edits stay in this page
    std::shared_ptr<ProfileClient> profile;  // the annotations load and save through it
    Json profile_context;                    // the portal's {"vars": {...}, "tables": {...}}
    std::string task_id;
    bool writer_on_this_page = false;  // read-only because another editor of this page writes the task
};

class SyncLink {
public:
    SyncLink(PlatformPort& platform, Notices& notices, DocumentSession& session, SyncLinkOptions options, BackendUrls urls);

    // The annotations came through a profile's load (they are then in the session).
    std::function<void()> on_profile_loaded;

    bool enabled() const { return options_.sync.has_value(); }
    bool started() const { return engine_.has_value(); }
    bool through_profile() const { return options_.profile != nullptr; }
    // Why the session may not be edited now (sync on but not started), or nothing.
    std::optional<Error> edit_refusal() const;
    std::string read_only_reason() const;  // for setAnnotations' refusal

    // [SECTION] Start: the journal read (empty on a first visit) and the annotations loaded, in
    // either order; then the engine restores the journal. device_id: the journal's own (when the
    // writer lock came late); empty: the configured one.
    void start(std::vector<std::string> journal_records, std::string device_id = "");
    void annotations_loaded(const std::string& task_id, int64_t revision);
    void load_through_profile(const Task& task);

    // [SECTION] The platform's answers (from the inbox) and its timer
    void on_reply(const SyncReplied& reply);
    void on_failure(const SyncFailed& failure);
    void on_journal_written(const JournalWritten& written);
    void tick();  // on a timer, not per frame: frames stop in hidden tabs
    void record(const Command& applied);

    // [SECTION] What the labeler and the host ask
    void flush();
    void catchup();
    void set_token(std::string token);
    Errors resolve_conflict(const std::string& id, Resolution choice);  // id "" with resolve_all
    Errors retry_set_aside(const std::vector<std::string>& ids);
    Errors discard_set_aside(const std::vector<std::string>& ids);
    std::vector<SyncConflict> conflicts() const { return engine_ ? engine_->conflicts() : std::vector<SyncConflict>{}; }
    std::vector<SetAsideItem> set_aside() const { return engine_ ? engine_->set_aside() : std::vector<SetAsideItem>{}; }
    Json status_json() const;  // the `sync` event's payload
    // The newest server revision this page knows of (saved or caught up); 0 before the start.
    int64_t server_revision() const {
        if (!engine_) return 0;
        SyncStatus s = engine_->status();
        return std::max(s.acked_revision, s.synced_revision);
    }

    // Review items and jobs (serve.py's review routes), saved beside the annotations through the
    // same journal and platform: off with a backend profile.
    ReviewLink& review() { return review_; }
    const ReviewLink& review() const { return review_; }

private:
    PlatformPort& platform_;
    Notices& notices_;
    DocumentSession& session_;
    SyncLinkOptions options_;
    BackendUrls urls_;
    std::optional<SyncEngine> engine_;
    ProfileClient* profile_ = nullptr;    // once started: every engine request goes through it
    uint64_t profile_load_seq_ = 0;       // the profile's load request, while it is out
    std::string profile_load_url_;
    std::optional<std::vector<std::string>> journal_;  // read, waiting for the document
    bool annotations_ready_ = false;
    int64_t loaded_revision_ = 0;  // the backend's revision of the document loaded
    std::string task_id_;
    size_t journal_writes_ = 0;  // journal transactions not yet committed
    std::string journal_error_;
    std::string last_status_;
    std::string pending_token_;  // given before the engine started
    ReviewLink review_;
    std::deque<bool> journal_order_;  // whose each journal write in flight is: true for this engine's

    bool write_review_journal(const std::vector<JournalRecord>& put, const std::vector<std::string>& remove);

    void begin();
    void take_reply(const SyncReplied& r);
    std::string where_it_is_written() const;  // read-only: the other tab, or the other editor here
    void on_profile_load(int http_status, const std::string& body);
    void handle_profile_step(ProfileStep step);
    void handle_output(SyncOutput out);
    Errors apply_decision(SyncOutput out);
    void poll();
    void emit_status();
};

}  // namespace pm
