// What the two backend-profile adapters (profile_sync: annotations, review_profile_sync: review)
// share about the backend's replies and the error replies they hand back to the sync engine.
#pragma once
#include "polymark/backend_profile.hpp"
#include "polymark/json_pointer.hpp"  // Json
#include "polymark/sync.hpp"

#include <string>

namespace pm::profile_reply {

// Labels typed by people may hold invalid UTF-8; dumping must not throw on them.
std::string dump(const Json& j);
// An error reply the sync engine reads as the server's. path: "/operations/N" when it is about
// that op of the engine's batch alone (the engine then sets that op aside and saves the others).
std::string error_body(const std::string& code, const std::string& message, const std::string& path = "");
// Equal as values the backend gives back: percent and other conversions may move the last bit.
bool same_value(const Json& a, const Json& b);
// A backend request as the platform sends it (the sync engine's request type).
SyncRequest sync_request_of(const BackendRequest& request, int64_t timeout_ms);
inline bool success(int status) { return status >= 200 && status < 300; }
inline bool worth_retrying(int status) { return status == 408 || status == 429 || status >= 500 || status < 100; }

}  // namespace pm::profile_reply
