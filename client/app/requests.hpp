// Requests the app has out with its platform, by id, and what each was for; and where the
// backend's routes and the task's media are. Shared by the parts of the app (app.hpp).
#pragma once
#include "polymark/task.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pm {

enum class RequestKind { Task, Annotations, Media, Decode, VideoFrame, Detail };

struct PendingRequest {
    RequestKind kind = RequestKind::Task;
    size_t media_index = 0;
    std::string url;
};

class Requests {
public:
    uint64_t new_id() { return next_id_++; }
    void expect(uint64_t id, PendingRequest request) { in_flight_[id] = std::move(request); }
    uint64_t add(PendingRequest request) {
        uint64_t id = new_id();
        expect(id, std::move(request));
        return id;
    }
    const PendingRequest* find(uint64_t id) const {
        auto it = in_flight_.find(id);
        return it == in_flight_.end() ? nullptr : &it->second;
    }
    // The request answered: what it was for, or nothing when it was given up meanwhile.
    std::optional<PendingRequest> take(uint64_t id) {
        auto it = in_flight_.find(id);
        if (it == in_flight_.end()) return std::nullopt;
        PendingRequest p = std::move(it->second);
        in_flight_.erase(it);
        return p;
    }
    void forget(uint64_t id) { in_flight_.erase(id); }
    bool any() const { return !in_flight_.empty(); }

private:
    uint64_t next_id_ = 1;
    std::map<uint64_t, PendingRequest> in_flight_;
};

// The backend's base URL and what the task's media URLs resolve to against it.
struct BackendUrls {
    std::string base;  // "" = same origin
    std::string api(const std::string& path) const {
        std::string b = base;
        while (!b.empty() && b.back() == '/') b.pop_back();
        return b + path;
    }
    std::string media(const Media& m) const {
        bool absolute = m.url.find("://") != std::string::npos || m.url.rfind("data:", 0) == 0 || m.url.rfind("blob:", 0) == 0;
        if (absolute || m.url.empty() || m.url[0] != '/') return absolute ? m.url : api("/" + m.url);
        return api(m.url);
    }
};

// A failed HTTP answer as an error naming what was fetched and where; nothing for a 2xx.
inline std::optional<Error> http_error(int status, const std::string& error, const std::string& url, const char* what) {
    if (status == 0) return Error{"network", url, std::string("could not fetch the ") + what + " from " + url + (error.empty() ? "" : ": " + error)};
    if (status == 404) return Error{"not_found", url, std::string("the ") + what + " was not found at " + url + " (HTTP 404)"};
    if (status < 200 || status >= 300)
        return Error{"http_" + std::to_string(status), url, std::string("the server answered HTTP ") + std::to_string(status) + " for the " + what + " at " + url};
    return std::nullopt;
}

}  // namespace pm
