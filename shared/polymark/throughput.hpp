// Throughput from a task's history (`GET /api/tasks/{id}/history` entries, docs/SCHEMA.md
// section 11) and the reviewers' decisions (section 13): per labeler and per UTC day, objects
// created, edited, deleted; active time (gaps over 100 s between a user's events do not count, as
// in CVAT); objects per active hour; time per object and per frame; first-pass acceptance.
// docs/QUALITY.md, "Throughput". Units: seconds, UTC days "YYYY-MM-DD". Depends on the document
// and review models only; no I/O, no clock.
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/review.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pm {

inline constexpr const char* kThroughputReportFormat = "polymark.throughput-report";
inline constexpr int kThroughputReportVersion = 1;

struct HistoryEntry {
    int64_t revision = 0;
    std::string op;    // create, update, delete (others: replace, ...)
    std::string kind;  // object, track, decision, issue, comment, document
    std::string id;
    std::string user, role, stage;
    int64_t at_ms = 0;  // milliseconds since 1970-01-01T00:00:00Z
};

// "2026-12-07T06:23:23.123Z" (fraction of 0 to 9 digits, `Z` or `+00:00`/`-hh:mm`) to
// milliseconds since the epoch; nullopt for anything else (also 2026-02-30, hour 24).
std::optional<int64_t> parse_utc_time(std::string_view text);
std::string utc_day(int64_t at_ms);  // "YYYY-MM-DD"

// The `entries` of a history reply ({"entries": [...]}) or a plain array of entries. An entry
// without a readable `at` is an error naming it (`bad_time`, path `/entries/3/at`).
Expected<std::vector<HistoryEntry>> history_entries_from_json(const Json& reply);

struct ThroughputOptions {
    double max_gap_s = 100;  // a gap longer than this between a user's events is a break
};

struct ThroughputCounts {
    long long created = 0, edited = 0, deleted = 0;  // objects and tracks
    long long events = 0;                            // every entry of the user, any kind
    double active_s = 0;
    long long frames_touched = 0;                    // distinct frames of created or edited items found in the document
    long long judged = 0, accepted_first = 0;        // the user's items with a decision, and those first accepted
    std::optional<double> objects_per_hour() const;  // (created + edited) / active hours
    std::optional<double> seconds_per_object() const;  // active / created
    std::optional<double> seconds_per_frame() const;   // active / frames touched
    std::optional<double> first_pass_acceptance() const;  // accepted_first / judged
};

struct ThroughputReport {
    ThroughputOptions options;
    std::map<std::string, ThroughputCounts> per_user;                          // user -> totals
    std::map<std::string, std::map<std::string, ThroughputCounts>> per_user_day;  // user -> day -> counts
    ThroughputCounts totals;
};

// `entries` in any order (sorted by time, then revision, inside). `decisions` oldest first (the
// first decision on an item is its first pass); `document`, when given, places items on frames.
// An item's maker is the user of its first `create` entry; decisions on items without one are
// left out. First-pass acceptance counts on the day the item was created.
ThroughputReport throughput_report(const std::vector<HistoryEntry>& entries, const std::vector<Decision>& decisions,
                                   const Document* document = nullptr, const ThroughputOptions& options = {});
Json throughput_report_to_json(const ThroughputReport& r);

}  // namespace pm
