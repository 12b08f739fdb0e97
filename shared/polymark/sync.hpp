// The sync engine: turns local Commands into wire operations, keeps them in a journal until the
// server acknowledges them, sends them (one PATCH at a time, batched, debounced, retried with
// backoff), fetches what other devices changed, and holds conflicts until the labeler picks a side.
// A pure state machine: no I/O, no clock, no threads. The platform layer (JavaScript timers and
// fetch, or curl natively) calls poll() on a timer, performs the requests it returns, feeds back
// replies and failures, persists journal records before saying "saved locally", and applies
// remote changes to the document outside the undo history.
// Depends on the document model only. Units: times are milliseconds on any monotonic clock the
// caller chooses (only differences matter); revisions are the server's annotation revisions.
//
// Wire protocol (serve.py implements the server side):
//   PATCH /api/tasks/{id}/annotations {"base_revision","user","device","operations":[op...]}
//     op = {"op_id","kind":"object"|"track","op":"create"|"update"|"delete","id","value","index"}
//   (and the same on /review with kinds "issue", "comment", "decision": config.resource)
//     200 {"revision","applied":[op_id],"duplicates":[op_id]}
//     409 {"error","revision","conflicts":[{"kind","id","op_id","server","revision","user","device"}]}
//   GET /api/tasks/{id}/annotations?since=REV
//     200 {"revision","since","changes":[{"kind","id","value"|null,"revision","op_id","user","device"}]}
// What the engine relies on from the server:
//   - op ids already applied are reported as duplicates (checked before conflicts), and
//     remembered for as long as a client journal may live;
//   - a 409 applies nothing; an op conflicts when its item was changed after base_revision by a
//     different device by ANY change in that range, not only the latest one (a stale retry must
//     not land after its sender resolved the conflict and changed the item again), or when it
//     creates an existing id or updates/deletes a missing one; a conflict's revision, user and
//     device are those of the item's latest change, `server` its current value;
//   - `since` lists every item whose latest change is after REV, once, with its current value.
// Each op carries the revision its edit was based on; a PATCH holds ops of one base only.
//
// Refused for its content: an op the server will never take as it is (400/422 whose error path
// is /operations/N/..., 403 forbidden naming an operation: a review rule refused the writer's role
// in that job's stage, 409 op_id_reused, 413 on a batch of that one op) is set aside with the
// server's code and message: every op on its item leaves the outgoing queue (later ops on that
// item depend on it: sent alone they would only conflict), stays in the document and in the
// journal (marked, so a reload keeps it listed), and the other items go on being saved. A 400 or
// 422 on the whole body (path "") with several ops is bisected: halves are sent until the op is
// alone. The labeler retries (fresh op ids: the refused request applied nothing) or discards (the
// item goes back to the server's value as the engine last knew it, through output.remote).
#pragma once
#include "polymark/document.hpp"
#include "polymark/edit.hpp"
#include "polymark/error.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace pm {

inline constexpr const char* kJournalFormat = "polymark.sync-journal";
inline constexpr int kJournalVersion = 1;
// The key of the one journal record that is never deleted: the op id counter's high-water mark,
// so that op ids never repeat across reloads even when every op was acknowledged.
inline constexpr const char* kJournalCounterKey = "#counter";

// Objects and tracks are the document's (resource "annotations"); issues, comments and decisions
// are review items (resource "review", docs/SCHEMA.md section 13).
enum class SyncKind { Object, Track, Issue, Comment, Decision };
enum class SyncOpType { Create, Update, Delete };
enum class SyncState { Saved, Saving, Offline, Conflict, NeedsAuth, Error, SetAside };
enum class SyncFailure { Network, Timeout };
enum class Resolution { Mine, Theirs };

const char* to_string(SyncKind k);
bool is_review_kind(SyncKind k);
const char* to_string(SyncOpType t);
const char* to_string(SyncState s);

struct SyncConfig {
    std::string task_id;
    // [A-Za-z0-9_.:-], 1..100 chars. One device id per journal, kept with it: a reload goes on
    // with the same id. Two live tabs must not share one (the server never makes a device
    // conflict with itself).
    std::string device_id;
    std::string user_id;
    int64_t debounce_ms = 1000;        // autosave once edits pause this long
    int64_t max_delay_ms = 10000;      // ... or once the oldest unsent edit is this old
    size_t max_ops_per_request = 200;  // halved on a 413, down to 1
    size_t max_body_bytes = 1 << 20;   // a batch stops growing here (one op always goes)
    int64_t timeout_ms = 20000;        // a request unanswered this long is abandoned (and retried)
    int64_t backoff_base_ms = 1000;    // retry delay: uniform in [0, min(max, base * 2^(failures-1))]
    int64_t backoff_max_ms = 60000;
    int64_t catchup_interval_ms = 0;   // >0: also fetch remote changes this often when idle
    uint64_t seed = 0;                 // for the jitter; the platform passes a random one
    // What is saved: "annotations" (objects and tracks, PATCH .../annotations) or "review" (issues,
    // comments and decisions, PATCH .../review). One engine per resource; both keep their records
    // in one journal (a review record says "resource", its counter key is "#counter.review"), and
    // each restores only its own. The two engines need device ids of their own: op ids are
    // "<device>-<counter>" and unique per task across both.
    std::string resource = "annotations";
    // Sent as X-Polymark-Role when not empty: the role on a server without tokens (with tokens the
    // token's role counts; docs/SCHEMA.md section 13).
    std::string role;
};
Errors check_sync_config(const SyncConfig& config);

// One operation as it goes over the wire and into the journal.
struct WireOp {
    std::string op_id;
    SyncKind kind = SyncKind::Object;
    SyncOpType op = SyncOpType::Update;
    std::string id;
    Json value;                   // Object/Track JSON for create and update; null for delete
    std::optional<size_t> index;  // create only
};
Json wire_op_to_json(const WireOp& op);
Expected<WireOp> wire_op_from_json(const Json& json, const std::string& path);
bool is_valid_op_id(std::string_view op_id);

// A journal record: the platform stores `text` under `key` (IndexedDB), and hands all texts back
// to restore() after a reload. Records never hold the auth token.
struct JournalRecord {
    std::string key;
    std::string text;
};

// A change the app applies to its document without entering undo history. No value: deleted.
struct RemoteChange {
    SyncKind kind = SyncKind::Object;
    std::string id;
    std::optional<Json> value;
    int64_t revision = 0;
    std::string user, device;
    std::string role, at;  // review items: the writer's role and when (ISO 8601)
};
// Upserts (appending new items) or erases. The value is checked as an Object/Track first; a
// review item is not_document_item.
// False: the document already held exactly that (nothing changed).
Expected<bool> apply_remote_change(Document& doc, const RemoteChange& change);

struct SyncConflict {
    SyncKind kind = SyncKind::Object;
    std::string id;
    std::optional<Json> mine;    // the local value; none: deleted locally
    std::optional<Json> theirs;  // the server's value; none: deleted (or never created) there
    int64_t revision = 0;        // the server revision of `theirs`
    std::string user, device;    // who made `theirs`
};

// What a call asks of the platform. Journal writes come before the journal deletes and must be
// durable before the UI says "saved locally"; remote changes go into the document, not History.
struct SyncOutput {
    std::vector<JournalRecord> journal_put;
    std::vector<std::string> journal_delete;  // keys
    std::vector<RemoteChange> remote;
    Errors errors;  // records that could not be read, ops that could not be recorded
    bool empty() const { return journal_put.empty() && journal_delete.empty() && remote.empty() && errors.empty(); }
};

// An item whose ops the server refused for their content (the header's "Refused for its content").
struct SetAsideItem {
    SyncKind kind = SyncKind::Object;
    std::string id;
    std::string op_id;            // the refused op
    std::string code, message;    // the server's
    std::string path;             // JSON pointer into that op ("/value/meta"); "": the op as a whole
    std::optional<Json> value;    // the local value (none: deleted locally)
    std::string label;            // the local value's label, if it has one
};

struct SyncRequest {
    uint64_t seq = 0;  // hand it back with on_reply / on_failure
    std::string method;  // "PATCH" or "GET"
    std::string path;    // "/api/tasks/<task>/annotations[?since=N]"
    std::string body;    // JSON text; empty for GET
    std::vector<std::pair<std::string, std::string>> headers;
    int64_t timeout_ms = 0;
};

struct SyncStatus {
    SyncState state = SyncState::Saved;
    size_t pending = 0;    // ops not yet acknowledged, conflicts excluded
    size_t conflicts = 0;  // items held
    size_t set_aside = 0;  // items whose ops the server refused for their content
    std::optional<int64_t> next_retry_ms;  // Offline: when the next attempt may go
    std::string message;   // Error / NeedsAuth / Offline: what the server or network said
    int64_t acked_revision = 0;   // highest revision an acknowledgement carried
    int64_t synced_revision = 0;  // every remote change up to here is known
};
Json sync_status_to_json(const SyncStatus& status);  // the payload of the embed API's `sync` event

class SyncEngine {
public:
    // Checks the config (check_sync_config) and makes an engine with nothing pending.
    static Expected<SyncEngine> create(SyncConfig config);

    // [SECTION] Start and local edits
    // Call once, before anything else: the journal's record texts (any order; empty on a first
    // visit) and the revision of the document the app just loaded. Pending ops come back in
    // order; the app re-applies them to its document with apply_pending().
    SyncOutput restore(const std::vector<std::string>& records, int64_t loaded_revision);
    // Every op of an applied command becomes a wire op with a fresh op id (or merges into an
    // unsent op on the same item). Persist output.journal_put before saying "saved locally".
    SyncOutput record(const Command& command, int64_t now_ms);
    // One item written outside Commands (a review item): before none creates, after none deletes.
    SyncOutput record_item(SyncKind kind, const std::string& id, const std::optional<Json>& before,
                           const std::optional<Json>& after, int64_t now_ms);
    // Sets each item with pending ops to its local value (after a reload on the server's document).
    Expected<bool> apply_pending(Document& doc) const;

    // [SECTION] Driving the network
    // At most one request in flight. Sends pending ops after the debounce (at once after flush()),
    // otherwise a catch-up GET when one is due. Abandons an overdue request as a timeout.
    std::optional<SyncRequest> poll(int64_t now_ms);
    // A catch-up reply yields other devices' changes in output.remote; a change to an item with
    // local ops the change was not based on is held as a conflict instead of being applied.
    SyncOutput on_reply(uint64_t seq, int http_status, const std::string& body, int64_t now_ms);
    SyncOutput on_failure(uint64_t seq, SyncFailure kind, int64_t now_ms);
    void flush(int64_t now_ms);        // Ctrl+S, pagehide: send now, skip the debounce and the backoff wait
    void request_catchup();            // fetch remote changes at the next poll (focus, visibility)
    void set_token(std::string token); // resumes after NeedsAuth; goes only into request headers
    void retry(int64_t now_ms);        // leaves Error (after the cause was fixed) and sends at once

    // [SECTION] Conflicts
    std::vector<SyncConflict> conflicts() const;
    // Mine: re-sends the local value based on the server's revision. Theirs: drops the local ops
    // and returns the server value in output.remote. Unknown id: an error in output.errors.
    SyncOutput resolve(const std::string& id, Resolution choice, int64_t now_ms);
    SyncOutput resolve_all(Resolution choice, int64_t now_ms);

    // [SECTION] Set aside (refused for their content)
    std::vector<SetAsideItem> set_aside() const;  // in order of refusal
    // Ids empty: every item set aside. Retry: their ops go again, with fresh op ids. Discard: their
    // ops are dropped and output.remote sets each item back to the server's value. An id that is
    // not set aside: an error in output.errors (the others are still handled).
    SyncOutput retry_set_aside(const std::vector<std::string>& ids, int64_t now_ms);
    SyncOutput discard_set_aside(const std::vector<std::string>& ids);

    // [SECTION] Observing
    SyncStatus status() const;
    std::vector<WireOp> pending_ops() const;  // in send order, conflicts included
    bool in_flight() const { return in_flight_.has_value(); }
    const SyncConfig& config() const { return config_; }

private:
    explicit SyncEngine(SyncConfig config);

    struct Pending {
        uint64_t seq = 0;
        WireOp op;
        int64_t base = 0;  // the revision the edit was made on
        bool sent = false; // once sent, never changed: a lost reply may mean it was applied
        int64_t recorded_ms = 0;
        // The item's value before this edit (null: it did not exist); for the first op pending on
        // an item that is the server's value, which a discard goes back to. Unknown in journals
        // written before it was recorded.
        std::optional<Json> before;
    };
    struct Refusal {
        std::string op_id, code, message, path;
        uint64_t order = 0;
        std::optional<std::optional<Json>> server;  // a remote change seen while set aside
    };
    struct Outstanding {
        uint64_t seq = 0;
        bool patch = false;
        std::vector<std::string> op_ids;
        int64_t sent_ms = 0;
        int64_t since = 0;
    };
    using ItemKey = std::pair<SyncKind, std::string>;

    static ItemKey key_of(const WireOp& op) { return {op.kind, op.id}; }
    template <class Map>
    static auto find_by_id(Map& map, const std::string& id) {  // ids are unique across kinds
        for (SyncKind kind : {SyncKind::Object, SyncKind::Track, SyncKind::Issue, SyncKind::Comment, SyncKind::Decision})
            if (auto it = map.find({kind, id}); it != map.end()) return it;
        return map.end();
    }
    void add_change(SyncKind kind, const std::string& id, const std::optional<Json>& before, const std::optional<Json>& after,
                    std::optional<size_t> index, const std::string& where, int64_t now_ms, SyncOutput& out);
    std::string next_op_id();
    JournalRecord journal_record(const Pending& p) const;
    JournalRecord counter_record() const;
    // min_base: a resolution is based on the server revision it saw, which may be ahead of synced.
    void add_op(WireOp op, std::optional<Json> before, int64_t min_base, int64_t now_ms, SyncOutput& out);
    int last_pending_on(const ItemKey& key) const;
    int64_t max_base_on(const ItemKey& key) const;
    std::optional<Json> local_value(const ItemKey& key, const std::optional<Json>& fallback) const;
    void drop_ops_on(const ItemKey& key, SyncOutput& out);
    // Drops the pending ops a 200 named (one pass over the queue, whatever their number).
    void acknowledge(const std::set<std::string>& op_ids, SyncOutput& out);
    void count_pending(const ItemKey& key, int delta);
    void fail_current(int64_t now_ms, std::string message);
    void succeed_current();
    void finish_current();
    void handle_patch_reply(const Outstanding& req, bool current, int status, const Json* body, int64_t now_ms, SyncOutput& out);
    void handle_get_reply(int status, const Json* body, const Errors& problems, int64_t now_ms, SyncOutput& out);
    void handle_error_status(int status, const Json* body, int64_t now_ms);
    bool handle_refusal(int status, const Json* body, SyncOutput& out);
    void set_item_aside(size_t pending_index, Refusal refusal, SyncOutput& out);
    void shrink_batch();
    void put_item_records(const ItemKey& key, SyncOutput& out) const;
    std::vector<ItemKey> set_aside_keys(const std::vector<std::string>& ids, SyncOutput& out) const;
    bool held(const ItemKey& key) const { return conflicts_.count(key) || set_aside_.count(key); }
    void hold(const ItemKey& key, const std::optional<Json>& theirs, int64_t revision, std::string user, std::string device);
    std::optional<SyncRequest> make_patch(int64_t now_ms);
    SyncRequest make_get(int64_t now_ms);
    std::vector<std::pair<std::string, std::string>> headers(bool with_body) const;
    std::string base_path() const;

    SyncConfig config_;
    std::mt19937_64 rng_;
    std::string token_;
    uint64_t next_counter_ = 1;  // op ids: "<device>-<counter>"
    uint64_t next_journal_seq_ = 1;
    uint64_t next_request_seq_ = 1;
    std::vector<Pending> pending_;  // journal order
    // How many pending ops each item has: an item with none (every item of a big import) is
    // answered without walking the queue.
    std::map<ItemKey, size_t> pending_count_;
    std::map<ItemKey, SyncConflict> conflicts_;
    std::map<ItemKey, Refusal> set_aside_;
    uint64_t next_refusal_ = 1;
    std::optional<size_t> limit_before_split_;  // the batch limit before a 413 or a bisection
    std::optional<Outstanding> in_flight_;
    std::deque<Outstanding> recent_;  // finished or abandoned: their late 200s still acknowledge
    int64_t acked_revision_ = 0;
    int64_t synced_revision_ = 0;
    int64_t last_record_ms_ = 0;
    int64_t last_catchup_ms_ = 0;
    int64_t next_retry_ms_ = 0;
    int failures_ = 0;  // consecutive
    size_t batch_limit_ = 0;
    bool flush_ = false;
    bool catchup_needed_ = false;
    bool needs_auth_ = false;
    bool error_ = false;
    std::string message_;
};

}  // namespace pm
