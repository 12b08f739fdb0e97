// The review engine's adapter to a backend profile's review section (docs/PROFILES.md, section 7):
// the SyncEngine of resource "review" runs unchanged, and this turns its requests (the PATCH of
// issue, comment and decision operations, the GET of changes since a revision) into the backend's
// own review requests, one at a time, answering the engine in serve.py's format. The jobs' read and
// move are single requests the app makes through job_request / move_request.
// A pure state machine like ProfileSync (profile_sync.hpp): no I/O, no clock; the token goes into
// headers only. Depends on backend_profile.hpp, review.hpp and sync.hpp.
//
// What it keeps, for a backend like CVAT that assigns its own ids and has no op ids:
//   - An issue is created with the text of its first comment (CVAT requires one): the comment op
//     that follows it in the batch travels inside the issue's create and is applied with it; the
//     comment's backend id is then read from the issue's comment list.
//   - Backend ids live in the context's id tables (one per kind: CVAT numbers issues and comments
//     separately); items no one here made get ids from the profile's `learn_id` template.
//   - Op ids the backend applied are remembered (a retried PATCH reports them as duplicates); a
//     create whose answer was lost is looked for in a fresh listing before it is sent again.
//   - Decisions have no backend route: each is refused with the profile's `why` and the op's
//     pointer, so the engine sets it aside and it stays in this browser's journal, listed.
//   - A 403 for one op (the backend's role rules) is answered as serve.py's forbidden op: set aside.
// Catch-up lists every issue of the job and each issue's comments, and diffs them per item against
// the last known backend state, so our own writes never come back as remote changes.
#pragma once
#include "polymark/backend_profile.hpp"
#include "polymark/profile_sync.hpp"
#include "polymark/review.hpp"
#include "polymark/sync.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pm {

class ReviewProfileSync {
public:
    // Refuses a profile without a review section (or without issue and comment mappings).
    static Expected<ReviewProfileSync> create(BackendProfile profile, ProfileContext context);

    // [SECTION] One engine request at a time (as ProfileSync)
    ProfileStep begin(const SyncRequest& engine_request);
    ProfileStep on_backend_reply(uint64_t seq, int status, const std::string& body);
    ProfileStep on_backend_failure(uint64_t seq, SyncFailure kind);
    void set_token(std::string token);

    // [SECTION] Jobs: one request each, performed by the app
    SyncRequest job_request() const;
    // serve.py's jobs reply ({"jobs": [job]}) from the backend's job, for jobs_from_json.
    Expected<Json> jobs_from_reply(int status, const std::string& body) const;
    Expected<SyncRequest> move_request(JobStage from, JobStage to) const;

    // [SECTION] Observing
    const BackendProfile& profile() const { return profile_; }
    const ProfileContext& context() const { return context_; }  // with the learnt id tables
    // What the backend holds as far as we know: (kind, our id) -> our item JSON.
    const std::map<std::pair<ReviewKind, std::string>, Json>& backend_state() const { return known_; }
    int64_t revision() const { return revision_; }
    bool busy() const { return job_.has_value(); }

private:
    ReviewProfileSync(BackendProfile profile, ProfileContext context) : profile_(std::move(profile)), context_(std::move(context)) {}

    enum class Purpose { Send, FirstComment, ListIssues, ListComments };
    enum class Goal { Patch, Catchup };
    struct Listing {  // a load of every issue and comment, page by page
        std::vector<Json> issues;
        std::map<std::string, std::vector<Json>> comments;  // by the issue's backend id (its text)
        std::vector<Json> issue_ids;                        // backend ids whose comments are still to list
        size_t next_issue = 0;
    };
    struct Job {
        Goal goal = Goal::Patch;
        uint64_t engine_seq = 0;
        std::vector<WireOp> ops;
        size_t next = 0;
        std::vector<std::string> applied, duplicates;
        std::set<std::string> verified, carried;  // creates checked against a listing; first comments sent with their issue
        int64_t since = 0;
        uint64_t backend_seq = 0;
        std::optional<Listing> listing;
    };
    struct Sent {
        Purpose purpose = Purpose::Send;
        std::optional<WireOp> op;       // Send: the op; FirstComment: the comment carried
        std::optional<WireOp> carried;  // Send of an issue create: its first comment
        Json issue_id;                  // FirstComment, ListComments: the issue's backend id
        std::string route;
    };

    ProfileStep advance();
    ProfileStep send(Purpose purpose, const BackendRequest& request, Sent sent);
    ProfileStep send_list(Purpose purpose, const std::string& path, Json issue_id);
    ProfileStep finish(int status, const std::string& body);
    ProfileStep refuse(int status, const std::string& code, const std::string& message);
    ProfileStep fail_backend(int status, const std::string& route, const std::string& what);
    ProfileStep on_send_reply(const Sent& sent, int status, const Json* body, const std::string& text);
    ProfileStep on_first_comment(const Sent& sent, int status, const Json* body);
    ProfileStep on_list_reply(const Sent& sent, int status, const Json* body);
    ProfileStep listing_done();
    std::map<std::pair<ReviewKind, std::string>, Json> settle(Listing& listing);
    bool claim(const WireOp& op, const Json& backend_id);
    void complete(const WireOp& op, const Json* reply);
    std::optional<Json> backend_id(ReviewKind kind, const std::string& our_id) const;
    std::optional<Json> read_known(ReviewKind kind, const Json& payload);
    const WireOp* first_comment_of(const WireOp& issue_create) const;
    std::string op_path() const;
    SyncRequest to_sync_request(const BackendRequest& request) const;

    BackendProfile profile_;
    ProfileContext context_;
    int64_t revision_ = 0;
    int64_t timeout_ms_ = 20000;
    uint64_t next_seq_ = 1;
    std::map<std::pair<ReviewKind, std::string>, Json> known_;
    std::set<std::string> done_;
    std::map<std::string, WireOp> uncertain_;
    std::map<std::string, std::string> pending_first_;  // issue backend id (text) -> our first comment's id
    std::optional<Job> job_;
    std::map<uint64_t, Sent> sent_;
    std::deque<uint64_t> sent_order_;
};

}  // namespace pm
