#include "polymark/throughput.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace pm {

namespace {

constexpr int64_t kDayMs = 86400000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil-days algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
}

bool digits(std::string_view s, size_t at, size_t n, int64_t& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string day_string(int64_t day) {
    int64_t y, m, d;
    civil_from_days(day, y, m, d);
    auto two = [](int64_t v) { return std::string(1, char('0' + v / 10)) + char('0' + v % 10); };
    std::string year = std::to_string(y);
    if (y >= 0 && year.size() < 4) year = std::string(4 - year.size(), '0') + year;
    return year + "-" + two(m) + "-" + two(d);
}

std::optional<double> ratio(double num, double den) {
    if (!(den > 0)) return std::nullopt;
    return num / den;
}

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

bool is_item(const std::string& kind) { return kind == "object" || kind == "track"; }

}  // namespace

std::optional<int64_t> parse_utc_time(std::string_view s) {
    int64_t y, mo, d, h, mi, se;
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
        !digits(s, 17, 2, se))
        return std::nullopt;
    static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0) || h > 23 || mi > 59 || se > 59)
        return std::nullopt;
    size_t i = 19;
    int64_t ms = 0;
    if (i < s.size() && s[i] == '.') {
        size_t start = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        size_t n = i - start;
        if (n == 0 || n > 9) return std::nullopt;
        for (size_t k = 0; k < 3; ++k) ms = ms * 10 + (k < n ? s[start + k] - '0' : 0);
    }
    int64_t offset_min = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int64_t oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return std::nullopt;  // a time without a zone is not UTC
    }
    if (i != s.size()) return std::nullopt;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
    return secs * 1000 + ms;
}

std::string utc_day(int64_t at_ms) { return day_string(floor_div(at_ms, kDayMs)); }

Expected<std::vector<HistoryEntry>> history_entries_from_json(const Json& reply) {
    const Json* list = &reply;
    std::string base;
    if (reply.is_object()) {
        auto it = reply.find("entries");
        if (it == reply.end()) return Error{"missing_key", "/entries", "the history reply has no entries"};
        list = &*it;
        base = "/entries";
    }
    if (!list->is_array()) return Error{"expected_array", base, "the history entries must be an array"};
    std::vector<HistoryEntry> out;
    out.reserve(list->size());
    Errors errors;
    size_t i = 0;
    for (const Json& e : *list) {
        std::string path = base + "/" + std::to_string(i++);
        if (!e.is_object()) {
            errors.push_back({"expected_object", path, "history entry " + path + " is not an object"});
            continue;
        }
        HistoryEntry h;
        auto str = [&](const char* key) -> std::string {
            auto it = e.find(key);
            return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        h.op = str("op");
        h.kind = str("kind");
        h.id = str("id");
        h.user = str("user");
        h.role = str("role");
        h.stage = str("stage");
        auto rev = e.find("revision");
        if (rev != e.end() && rev->is_number_integer()) h.revision = rev->get<int64_t>();
        auto at = e.find("at");
        std::optional<int64_t> ms;
        if (at != e.end() && at->is_string()) ms = parse_utc_time(at->get_ref<const std::string&>());
        if (!ms) {
            std::string shown = at == e.end() ? "none" : at->dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 40);
            errors.push_back({"bad_time", path + "/at", "history entry " + path + " (revision " + std::to_string(h.revision) +
                                                           ", id '" + h.id + "'): `at` is not an ISO 8601 UTC time: " + shown});
            if (errors.size() >= 100) break;
            continue;
        }
        h.at_ms = *ms;
        out.push_back(std::move(h));
    }
    if (!errors.empty()) return errors;
    return out;
}

std::optional<double> ThroughputCounts::objects_per_hour() const { return ratio((double)(created + edited), active_s / 3600); }
std::optional<double> ThroughputCounts::seconds_per_object() const { return ratio(active_s, (double)created); }
std::optional<double> ThroughputCounts::seconds_per_frame() const { return ratio(active_s, (double)frames_touched); }
std::optional<double> ThroughputCounts::first_pass_acceptance() const { return ratio((double)accepted_first, (double)judged); }

ThroughputReport throughput_report(const std::vector<HistoryEntry>& entries, const std::vector<Decision>& decisions,
                                   const Document* document, const ThroughputOptions& options) {
    ThroughputReport r;
    r.options = options;
    // Each user's entries in time order, then revision (then input order), as indices: bucketed by
    // user first, and sorted only where a user's entries are not in order already (a server's
    // history is in revision order, which is time order for each writer).
    std::unordered_map<std::string, uint32_t> user_index;
    std::vector<std::vector<uint32_t>> by_user;
    for (size_t i = 0; i < entries.size(); ++i) {
        auto it = user_index.try_emplace(entries[i].user, (uint32_t)by_user.size()).first;
        if (it->second == by_user.size()) by_user.emplace_back();
        by_user[it->second].push_back((uint32_t)i);
    }
    auto before = [&](uint32_t x, uint32_t y) {
        const HistoryEntry &a = entries[x], &b = entries[y];
        return a.at_ms != b.at_ms ? a.at_ms < b.at_ms : a.revision < b.revision;
    };
    std::vector<uint32_t> order;
    order.reserve(entries.size());
    for (std::vector<uint32_t>& list : by_user) {
        if (!std::is_sorted(list.begin(), list.end(), before)) std::stable_sort(list.begin(), list.end(), before);
        order.insert(order.end(), list.begin(), list.end());
    }
    by_user.clear();
    std::unordered_map<std::string, long long> frame_of;
    if (document) {
        for (const Object& o : document->objects) frame_of.emplace(o.id, o.frame);
        for (const Track& t : document->tracks)
            if (!t.keyframes.empty()) frame_of.emplace(t.id, t.keyframes.front().frame);
    }
    const int64_t max_gap_ms = (int64_t)(options.max_gap_s * 1000);
    struct UserState {
        int64_t last_at = 0;
        bool seen = false;
        std::map<int64_t, ThroughputCounts> days;
        std::map<int64_t, std::set<long long>> frames;
        ThroughputCounts* current = nullptr;  // the counts of current_day
        int64_t current_day = 0;
    };
    std::unordered_map<std::string, UserState> users;
    struct Made {
        std::string user;
        int64_t day;
        int64_t at_ms;
        int64_t revision;
    };
    std::unordered_map<std::string, Made> maker;
    UserState* cur = nullptr;
    const std::string* cur_user = nullptr;
    for (uint32_t k : order) {
        const HistoryEntry& e = entries[k];
        if (!cur_user || *cur_user != e.user) {
            cur = &users[e.user];
            cur_user = &e.user;
        }
        int64_t day = floor_div(e.at_ms, kDayMs);
        if (!cur->current || cur->current_day != day) {
            cur->current = &cur->days[day];
            cur->current_day = day;
        }
        ThroughputCounts& c = *cur->current;
        ++c.events;
        // The first event of a session counts nothing; each next one the gap before it.
        if (cur->seen) {
            int64_t gap = e.at_ms - cur->last_at;
            if (gap <= max_gap_ms) c.active_s += (double)gap / 1000;
        }
        cur->seen = true;
        cur->last_at = e.at_ms;
        if (!is_item(e.kind)) continue;
        if (e.op == "create") {
            ++c.created;
            // Users are walked one after the other: the earliest create wins, whoever made it.
            auto [m, fresh] = maker.try_emplace(e.id, Made{e.user, day, e.at_ms, e.revision});
            if (!fresh && (e.at_ms < m->second.at_ms || (e.at_ms == m->second.at_ms && e.revision < m->second.revision)))
                m->second = Made{e.user, day, e.at_ms, e.revision};
        } else if (e.op == "update") {
            ++c.edited;
        } else if (e.op == "delete") {
            ++c.deleted;
            continue;
        } else {
            continue;
        }
        if (document) {
            auto f = frame_of.find(e.id);
            if (f != frame_of.end()) cur->frames[day].insert(f->second);
        }
    }
    // First pass: the first decision on each item.
    std::unordered_map<std::string, Verdict> first;
    for (const Decision& d : decisions) first.emplace(d.item, d.verdict);
    for (const auto& [item, verdict] : first) {
        auto m = maker.find(item);
        if (m == maker.end()) continue;
        ThroughputCounts& c = users[m->second.user].days[m->second.day];
        ++c.judged;
        if (verdict == Verdict::Accepted) ++c.accepted_first;
    }
    for (auto& [user, st] : users) {
        ThroughputCounts& total = r.per_user[user];
        std::set<long long> all_frames;
        for (auto& [day, c] : st.days) {
            auto f = st.frames.find(day);
            if (f != st.frames.end()) {
                c.frames_touched = (long long)f->second.size();
                all_frames.insert(f->second.begin(), f->second.end());
            }
            total.created += c.created; total.edited += c.edited; total.deleted += c.deleted;
            total.events += c.events; total.active_s += c.active_s;
            total.judged += c.judged; total.accepted_first += c.accepted_first;
            r.per_user_day[user][day_string(day)] = c;
        }
        total.frames_touched = (long long)all_frames.size();
        r.totals.created += total.created; r.totals.edited += total.edited; r.totals.deleted += total.deleted;
        r.totals.events += total.events; r.totals.active_s += total.active_s;
        r.totals.judged += total.judged; r.totals.accepted_first += total.accepted_first;
        r.totals.frames_touched += total.frames_touched;
    }
    return r;
}

namespace {
Json counts_json(const ThroughputCounts& c) {
    return Json{{"created", c.created}, {"edited", c.edited}, {"deleted", c.deleted}, {"events", c.events},
                {"active_s", c.active_s}, {"frames_touched", c.frames_touched},
                {"objects_per_hour", opt(c.objects_per_hour())}, {"seconds_per_object", opt(c.seconds_per_object())},
                {"seconds_per_frame", opt(c.seconds_per_frame())}, {"judged", c.judged},
                {"accepted_first", c.accepted_first}, {"first_pass_acceptance", opt(c.first_pass_acceptance())}};
}
}  // namespace

Json throughput_report_to_json(const ThroughputReport& r) {
    Json users = Json::array();
    for (const auto& [user, total] : r.per_user) {
        Json days = Json::array();
        auto it = r.per_user_day.find(user);
        if (it != r.per_user_day.end())
            for (const auto& [day, c] : it->second) {
                Json d = counts_json(c);
                d["day"] = day;
                days.push_back(std::move(d));
            }
        Json u = counts_json(total);
        u["user"] = user;
        u["days"] = std::move(days);
        users.push_back(std::move(u));
    }
    // frames_touched of the totals sums the users' (a frame two users touched counts twice).
    return Json{{"format", kThroughputReportFormat}, {"version", kThroughputReportVersion},
                {"settings", {{"max_gap_s", r.options.max_gap_s}}}, {"totals", counts_json(r.totals)}, {"users", users}};
}

}  // namespace pm
