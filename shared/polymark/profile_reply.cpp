#include "polymark/profile_reply.hpp"

#include <algorithm>
#include <cmath>

namespace pm::profile_reply {

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string error_body(const std::string& code, const std::string& message, const std::string& path) {
    Json error{{"code", code}, {"message", message}};
    if (!path.empty()) error["path"] = path;
    return dump(Json{{"error", std::move(error)}});
}

SyncRequest sync_request_of(const BackendRequest& request, int64_t timeout_ms) {
    SyncRequest r;
    r.method = request.method;
    r.path = request.path;
    r.body = request.body.is_null() ? std::string() : dump(request.body);
    r.headers = request.headers;
    r.timeout_ms = timeout_ms;
    return r;
}

bool same_value(const Json& a, const Json& b) {
    if (a.is_number() && b.is_number()) {
        double x = a.get<double>(), y = b.get<double>();
        return std::fabs(x - y) <= std::max(1e-9, 1e-12 * std::max(std::fabs(x), std::fabs(y)));
    }
    if (a.type() != b.type() || a.size() != b.size()) return false;
    if (a.is_array()) {
        for (size_t i = 0; i < a.size(); ++i)
            if (!same_value(a[i], b[i])) return false;
        return true;
    }
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            auto other = b.find(it.key());
            if (other == b.end() || !same_value(it.value(), *other)) return false;
        }
        return true;
    }
    return a == b;
}

}  // namespace pm::profile_reply
