// ProfileSync across a boundary of JSON text. The web app keeps the backend profiles' code out of
// its first load: a ProfileHost runs the ProfileSyncs in a module of their own
// (polymark_profile.wasm, fetched only by mounts with a `profile`), and the app holds a
// ProfileClient, which has ProfileSync's calls and sends each one to the host as one JSON text.
// Natively, and in tests, the host is in the same process behind the same texts.
//
// A call is {"op": ..., "handle": n, ...}; its answer a JSON object, {"errors": [...]} when it
// failed. The host never throws and answers every text, garbage included.
#pragma once
#include "polymark/profile_sync.hpp"
#include "polymark/review_profile_sync.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace pm {

// Hands one call's text to a host and returns its answer ("" when no host answered).
using ProfileTransport = std::function<std::string(const std::string& call)>;

class ProfileClient {
public:
    // Checks the profile (the errors name paths inside it) and reserves its adapter on the host.
    static Expected<std::unique_ptr<ProfileClient>> open(const Json& profile, ProfileTransport transport);
    ~ProfileClient();
    ProfileClient(const ProfileClient&) = delete;
    ProfileClient& operator=(const ProfileClient&) = delete;

    const std::string& name() const { return name_; }
    bool last_writer_wins() const { return last_writer_wins_; }
    const std::string& conflicts_why() const { return conflicts_why_; }
    bool passthrough() const { return passthrough_; }  // known once started

    // ProfileSync::create with this context; refuses a profile that cannot save.
    Errors start(const ProfileContext& context);
    // The rest as ProfileSync has them (profile_sync.hpp).
    SyncRequest load_request();
    Expected<LoadedDocument> on_load_reply(int status, const std::string& body);
    void set_loaded(const Document& backend_document, int64_t revision);
    void restore_pending(const std::vector<WireOp>& pending);
    ProfileStep begin(const SyncRequest& engine_request);
    ProfileStep on_backend_reply(uint64_t seq, int status, const std::string& body);
    ProfileStep on_backend_failure(uint64_t seq, SyncFailure kind);
    void set_token(std::string token);

    // [SECTION] Review through the profile's review section (ReviewProfileSync, on the same host)
    bool has_review() const { return has_review_; }  // known once opened
    Errors review_start(const ProfileContext& context);
    ProfileStep review_begin(const SyncRequest& engine_request);
    ProfileStep review_backend_reply(uint64_t seq, int status, const std::string& body);
    ProfileStep review_backend_failure(uint64_t seq, SyncFailure kind);
    void review_set_token(std::string token);
    SyncRequest job_request();
    Expected<Json> jobs_reply(int status, const std::string& body);  // serve.py's {"jobs": [...]}
    Expected<SyncRequest> move_request(JobStage from, JobStage to);

private:
    ProfileClient(ProfileTransport transport) : transport_(std::move(transport)) {}
    Json call(Json request);  // the answer, or {"errors": [...]} when there was none to read
    ProfileStep step(Json request);

    ProfileTransport transport_;
    int64_t handle_ = 0;
    std::string name_, conflicts_why_;
    bool last_writer_wins_ = false;
    bool passthrough_ = false;
    bool has_review_ = false;
};

class ProfileHost {
public:
    std::string call(const std::string& text);

private:
    struct Slot {
        BackendProfile profile;
        std::optional<ProfileSync> sync;
        std::optional<ReviewProfileSync> review;
    };
    Json answer(const Json& call);
    Json answer_review(Slot& slot, const std::string& op, const Json& call);
    std::map<int64_t, Slot> slots_;
    int64_t next_handle_ = 1;
};

// A transport to a host of this process (the native app, tests).
ProfileTransport in_process_transport(std::shared_ptr<ProfileHost> host);

// [SECTION] The values on the wire
Json sync_request_to_json(const SyncRequest& request);
Expected<SyncRequest> sync_request_from_json(const Json& json);
Json profile_context_to_json(const ProfileContext& context);
ProfileContext profile_context_from_json(const Json& json);

}  // namespace pm
