// The review link: the task's review items (issues, comments, decisions) and its jobs, kept in
// step with serve.py (docs/SCHEMA.md section 13). Review items are written here and saved by a
// SyncEngine of their own (resource "review": op ids, retries, the journal, offline too); the
// jobs are read and moved through plain requests. The server decides who may do what; a refusal
// comes back as a notice naming the role and the stage. Off for tasks without sync. With a backend
// profile that maps review (docs/PROFILES.md section 7: CVAT's job stages, issues and comments), the
// engine's requests, the jobs' reads and moves go through the profile's module instead
// (ProfileClient's review calls); a profile without a review section turns review off.
// Times: a steady clock, milliseconds.
#pragma once
#include "app/inbox.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "polymark/profile_wire.hpp"
#include "polymark/review.hpp"
#include "polymark/sync.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pm {

class ReviewLink {
public:
    // `sync`: the annotation engine's settings (none: review is off); the review engine takes
    // them with a device id of its own. `write_journal` stores journal records (the app shares
    // one journal between both engines).
    using JournalWriter = std::function<bool(const std::vector<JournalRecord>&, const std::vector<std::string>&)>;
    ReviewLink(PlatformPort& platform, Notices& notices, BackendUrls urls, std::optional<SyncConfig> sync, JournalWriter write_journal);

    bool enabled() const { return sync_.has_value(); }
    bool started() const { return engine_.has_value(); }
    const std::string& user() const;
    const std::string& role() const;  // the role the page was mounted with ("" when not given)

    // [SECTION] Start: the journal read and the task known, in either order; then the review items
    // and the jobs are fetched, and the engine restores the journal's review records.
    // device_id: the journal's own when it differs from the configured one (empty: the configured).
    void journal_read(const std::vector<std::string>& records, const std::string& device_id);
    void task_known(const std::string& task_id);
    // A mount with a backend profile, once the profile started (before task_known): review goes
    // through `client` (its review section) with this context; none (no review section): off.
    void use_profile(ProfileClient* client, const ProfileContext& context);

    // [SECTION] The platform's answers and its timer
    bool owns(uint64_t seq) const;
    void on_reply(const SyncReplied& reply);
    void on_failure(const SyncFailed& failure);
    void tick();
    void catchup();  // now: the page was shown again, or the host asked
    void flush();    // sends pending review writes now (back online, Ctrl+S, the host's flush())
    void token(std::string token);

    // [SECTION] Writing (each saved like an edit: journal first, then the server)
    // An issue pinned to a point [x, y] or a box [x1, y1, x2, y2] of `frame`, about `item` (may be
    // empty), opened with `text` as its first comment. Returns the issue's id.
    Expected<std::string> open_issue(long long frame, std::vector<double> points, const std::string& item, const std::string& text);
    Expected<std::string> reply(const std::string& issue_id, const std::string& text);
    Errors set_issue_status(const std::string& issue_id, IssueStatus status);
    Expected<std::string> decide(const std::string& item, long long frame, Verdict verdict, const std::string& reason, int64_t item_revision);
    // Asks the server to move a job; the answer updates jobs() or becomes a notice. The move goes
    // out once every edit made before it is saved (review items here, annotations through
    // `settle_edits`): a submit never overtakes the last box, nor a return the issue that explains it.
    Errors move_job(int64_t job_id, JobStage stage);
    std::optional<JobStage> moving_to(int64_t job_id) const;  // a move waiting for the edits before it
    // The annotations' side of "every edit before the move is saved": true when nothing is
    // pending; otherwise sends what is pending now and answers false.
    std::function<bool()> settle_edits;
    void send_waiting_moves();  // after every reply of either engine
    void refresh_jobs();

    // [SECTION] Reading
    const ReviewBoard& board() const { return board_; }
    const std::vector<Job>& jobs() const { return jobs_; }
    const Job* job_at_frame(long long frame) const { return job_at(jobs_, frame); }
    // Changes since the last review of the job (marks from the history), once fetched.
    const std::map<std::string, ChangeSinceReview>& changes_since_review() const { return marks_; }
    const Document& removed_since_review() const { return removed_; }  // the deleted items' last values
    void fetch_changes_since_review(const Job& job);
    // One item's story (who made and changed it, when, role, stage), read when asked; null until
    // the answer for `id` is in (or when the server has no history: another backend, offline).
    void fetch_item_history(const std::string& id);
    bool keeps_history() const { return !profile_; }  // a profile's backend has no history route
    const std::vector<ItemEvent>* item_history(const std::string& id) const { return id == history_of_ && history_in_ ? &item_history_ : nullptr; }
    Json to_json() const;  // getReview(): {jobs, issues (with their comments), decisions, sync}
    // What the review engine could not save (refused for the role or stage): cheap, for every frame.
    std::vector<SetAsideItem> set_aside() const { return engine_ ? engine_->set_aside() : std::vector<SetAsideItem>{}; }
    uint64_t revision() const { return version_; }  // grows with every change of what to_json says

    // [SECTION] Guidelines (docs/SCHEMA.md section 14): the task's current guideline version, read
    // with the jobs (at start, on every catch-up); the last known one stays while offline. None
    // until a version >= 1 was read. on_guideline(previous) when it changes.
    std::optional<long long> guideline_version() const { return guideline_; }
    std::function<void(std::optional<long long> previous)> on_guideline;

    // Called with the event name ("review") whenever something the host or the UI shows changed.
    std::function<void()> on_changed;

private:
    enum class Ask { Items, Jobs, MoveJob, History, ItemHistory, Guidelines };
    struct Outstanding { uint64_t seq; Ask ask; int64_t job_id; };
    struct WaitingMove { int64_t job_id; JobStage from, to; };

    PlatformPort& platform_;
    Notices& notices_;
    BackendUrls urls_;
    std::optional<SyncConfig> sync_;
    JournalWriter write_journal_;
    std::optional<SyncEngine> engine_;
    ReviewBoard board_;
    std::vector<Job> jobs_;
    std::map<std::string, ChangeSinceReview> marks_;
    Document removed_;
    std::string history_of_;  // the item whose story was asked for last
    bool history_in_ = false;
    uint64_t history_seq_ = 0;
    std::vector<ItemEvent> item_history_;
    std::optional<std::vector<std::string>> journal_;
    std::string task_id_, token_, id_prefix_;
    std::vector<Outstanding> asks_;
    std::vector<WaitingMove> moves_waiting_;
    bool jobs_stale_ = false;  // a job moved while a read was out: its answer may predate the move
    std::vector<uint64_t> engine_seqs_;  // the engine's latest requests (a late reply still counts)
    uint64_t next_seq_ = (uint64_t(1) << 50);  // beyond the engines' request numbers (< 2^41)
    uint64_t next_id_ = 0, version_ = 0;
    int64_t jobs_read_ms_ = 0;
    std::optional<long long> guideline_;

    ProfileClient* profile_ = nullptr;
    std::map<uint64_t, uint64_t> profile_seqs_;  // our request number -> the profile's

    void begin(int64_t revision);
    void start_items();
    void send_request(Ask ask, SyncRequest r, int64_t job_id);
    void handle_profile_step(ProfileStep step);
    std::string next_id(const char* kind);
    void send(Ask ask, const std::string& method, const std::string& path, std::string body, int64_t job_id = 0);
    void on_items(int status, const std::string& body);
    void on_jobs(int status, const std::string& body);
    void on_moved(int64_t job_id, int status, const std::string& body);
    void on_history(int status, const std::string& body);
    void on_item_history(uint64_t seq, int status, const std::string& body);
    void on_guidelines(int status, const std::string& body);
    Errors write(SyncKind kind, ReviewKind review_kind, const std::string& id, const std::optional<Json>& before, const Json& after, bool send = true);
    void handle_output(SyncOutput out);
    void poll();
    void changed();
};

}  // namespace pm
