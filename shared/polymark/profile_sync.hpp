// The adapter between the sync engine and any backend a profile describes: it takes the engine's
// requests (the PATCH of operations, the GET of changes since a revision), performs them as the
// profile's backend requests one at a time, and answers the engine in serve.py's format, so the
// SyncEngine runs unchanged against CVAT, Label Studio or a plain REST collection.
// A pure state machine: no I/O, no clock. The platform performs each request it returns and hands
// back the reply or the failure; the token goes into request headers only, never into a path, a
// body or a message. Depends on sync.hpp and backend_profile.hpp only.
//
// How it keeps "never lost, never doubled" with a backend that has no op ids:
//   - Every op whose backend request succeeded is remembered by op id: a retried PATCH reports it
//     in "duplicates" and never sends it again.
//   - A failure in the middle of a batch (network, timeout, 5xx) answers the engine with a 503,
//     not with a partial 200: a 200 would reset the engine's backoff and hammer a failing backend,
//     and the ops already done cost nothing on the retry (they come back as duplicates).
//   - An op whose request failed without an answer may have been applied. Updates (PUT, or a
//     whole document) are idempotent, and a delete that finds its item gone (404) is done. A create
//     is checked first on its retry: the profile's load request tells whether the item is there
//     (by id, or for backends that assign ids by value among items of unknown id) before it is
//     sent again. A catch-up that finds our own uncertain write on the backend also settles it.
//   - An update or delete the backend answers 404 for (another client deleted the item) is a
//     conflict (409, server value none), as serve.py reports it: the labeler picks a side.
// Revisions: the polymark profile passes everything through unchanged. Other backends keep none;
// a local counter stands in (each PATCH that applied something, and each catch-up that found
// changes, answers revision + 1). Catch-up loads everything and diffs it against the last known
// backend state per item, so our own writes never come back as remote changes.
#pragma once
#include "polymark/backend_profile.hpp"
#include "polymark/document.hpp"
#include "polymark/error.hpp"
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

// A reply for the engine: call engine.on_reply(seq, status, body, now) with it.
struct EngineReply {
    uint64_t seq = 0;  // the engine request's seq
    int status = 0;
    std::string body;  // serve.py's format (sync.hpp); errors as {"error":{"code","message"}}
};

// What to do next: perform `request` (then on_backend_reply / on_backend_failure with its seq),
// or hand `reply` to the engine. Neither: nothing to do (a stale or unknown backend reply).
struct ProfileStep {
    std::optional<SyncRequest> request;
    std::optional<EngineReply> reply;
};

// The document a load read, and the revision to restore the engine with.
struct LoadedDocument {
    Document document;
    int64_t revision = 0;
};

class ProfileSync {
public:
    // Refuses a profile that cannot save (no routes for its mode).
    static Expected<ProfileSync> create(BackendProfile profile, ProfileContext context);

    // [SECTION] Loading
    // The request that reads everything; its reply goes to on_load_reply, which also makes the
    // document the last known backend state (and learns backend ids the `ids` table lacks).
    SyncRequest load_request();
    Expected<LoadedDocument> on_load_reply(int status, const std::string& body);
    // Or, when the app read the document itself: what the backend holds now, at this revision.
    void set_loaded(const Document& backend_document, int64_t revision);
    // After engine.restore(): the journal's ops (engine.pending_ops()) may have reached the backend
    // before the reload. They are treated like ops whose answer was lost (creates are checked).
    void restore_pending(const std::vector<WireOp>& pending);

    // [SECTION] One engine request at a time
    // A new engine request abandons one still in progress (the engine gave up on it: its backend
    // request in flight becomes uncertain; a late 2xx for it still counts).
    ProfileStep begin(const SyncRequest& engine_request);
    ProfileStep on_backend_reply(uint64_t seq, int status, const std::string& body);
    ProfileStep on_backend_failure(uint64_t seq, SyncFailure kind);
    void set_token(std::string token);  // goes into backend request headers only

    // [SECTION] Observing
    bool passthrough() const { return passthrough_; }  // the polymark profile: requests go unchanged
    bool busy() const { return job_.has_value(); }
    // The profile cannot detect conflicts: the last save of an item wins. The UI shows `why`.
    bool last_writer_wins() const { return profile_.last_writer_wins(); }
    const std::string& conflicts_why() const { return profile_.conflicts.why; }
    const BackendProfile& profile() const { return profile_; }
    // With the backend ids learnt from create replies and loads (tables["ids"]): persist that
    // table beside the journal, so that a reload updates and deletes the same backend items.
    const ProfileContext& context() const { return context_; }
    const Document& backend_state() const { return known_; }  // as last seen or written
    int64_t revision() const { return revision_; }

private:
    ProfileSync(BackendProfile profile, ProfileContext context);

    enum class Purpose { Passthrough, Send, Verify, Document, Catchup };
    struct Job {
        uint64_t engine_seq = 0;
        std::vector<WireOp> ops;
        size_t next = 0;
        std::vector<std::string> applied, duplicates;
        std::set<std::string> verified;  // uncertain creates checked against a load in this job
        int64_t since = 0;
        uint64_t backend_seq = 0;        // the backend request in flight
    };
    struct Sent {
        Purpose purpose = Purpose::Send;
        std::vector<WireOp> ops;  // Send: the one op; Document: the new ops of the batch
        std::optional<Document> mirror;
        std::string route;        // "METHOD /path", for messages
    };

    ProfileStep advance();
    ProfileStep send(Purpose purpose, SyncRequest request, std::vector<WireOp> ops, std::optional<Document> mirror = std::nullopt);
    ProfileStep finish(int status, const std::string& body);
    ProfileStep fail(int status, const std::string& code, const std::string& message);
    ProfileStep fail_backend(int status, const std::string& route, const std::string& what);
    ProfileStep on_send_reply(const Sent& sent, int status, const Json* body);
    ProfileStep on_verify_reply(const Sent& sent, int status, const std::string& body);
    ProfileStep on_catchup_reply(const Sent& sent, int status, const std::string& body);
    ProfileStep start_patch(const SyncRequest& request);
    ProfileStep start_catchup(const SyncRequest& request);
    ProfileStep advance_document();
    void complete(const WireOp& op, const Json* reply);
    void abandon_job();
    Expected<Document> read_load(const std::string& body);
    SyncRequest to_sync_request(const BackendRequest& request) const;
    std::optional<Json> normalized(SyncKind kind, const Json& value) const;
    void store_known(Document& doc, const WireOp& op) const;

    BackendProfile profile_;
    ProfileContext context_;
    bool passthrough_ = false;
    int64_t revision_ = 0;
    int64_t timeout_ms_ = 20000;  // until an engine request gives its own
    uint64_t next_seq_ = 1;
    Document known_;                      // what the backend holds, as far as we know
    std::set<std::string> done_;          // op ids the backend has applied
    std::map<std::string, WireOp> uncertain_;  // sent, no answer: maybe applied
    std::optional<Job> job_;
    std::map<uint64_t, Sent> sent_;       // backend requests in flight, current and abandoned
    std::deque<uint64_t> sent_order_;
};

}  // namespace pm
