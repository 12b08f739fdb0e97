// Review (docs/SCHEMA.md section 13): issues pinned to a region of a frame, the comments of their
// threads, reviewers' decisions on objects and tracks, and the jobs a task's frames are split into,
// with their stages. The server enforces who may write what; this is the client's model of it:
// reading and writing the items, keeping them in step with the server's changes, and the
// reviewer's walk through a job. Depends on the document model only; no I/O.
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pm {

enum class IssueStatus { Open, Resolved };
enum class Verdict { Accepted, Rejected };
enum class JobStage { Annotation, Review, Accepted };
enum class ReviewKind { Issue, Comment, Decision };

const char* to_string(IssueStatus s);
const char* to_string(Verdict v);
const char* to_string(JobStage s);
const char* to_string(ReviewKind k);
std::optional<JobStage> job_stage_from_string(std::string_view s);
std::optional<ReviewKind> review_kind_from_string(std::string_view s);

inline constexpr size_t kMaxReviewText = 10000;  // characters of a comment or a reason

struct Issue {
    std::string id;
    long long frame = 0;
    std::vector<double> points;  // a point [x, y] or a box [x1, y1, x2, y2], image pixels
    IssueStatus status = IssueStatus::Open;
    std::string item;    // the object or track it is about; empty: a region only
    std::string author;
    Json meta;
    bool is_box() const { return points.size() == 4; }
    bool operator==(const Issue& o) const;
};

struct Comment {
    std::string id;
    std::string issue;
    std::string text;
    std::string author;
    Json meta;
    bool operator==(const Comment& o) const;
};

struct Decision {
    std::string id;
    std::string item;
    long long frame = 0;
    Verdict verdict = Verdict::Accepted;
    std::string reason;
    std::optional<int64_t> revision;  // the item's revision judged
    std::string author;
    Json meta;
    bool operator==(const Decision& o) const;
};

// Each reads and checks one value as the server does (review.v1.schema.json); errors carry `path`.
Json issue_to_json(const Issue& i);
Json comment_to_json(const Comment& c);
Json decision_to_json(const Decision& d);
Expected<Issue> issue_from_json(const Json& j, const std::string& path);
Expected<Comment> comment_from_json(const Json& j, const std::string& path);
Expected<Decision> decision_from_json(const Json& j, const std::string& path);
// Any of the three, by kind: the check the sync engine applies to review values.
std::optional<Error> check_review_value(ReviewKind kind, const Json& value, const std::string& path);

// Who last wrote an item, as the server's changes say.
struct ReviewStamp {
    int64_t revision = 0;  // 0: not acknowledged yet (a local write)
    std::string user, role, at;
};

struct Job {
    int64_t id = 0;
    long long start_frame = 0;
    std::optional<long long> stop_frame;  // none: to the last frame
    JobStage stage = JobStage::Annotation;
    std::string assignee, reviewer;       // empty: anyone
    std::optional<int64_t> reviewed_revision;
    int open_issues = 0;
    bool holds(long long frame) const { return frame >= start_frame && (!stop_frame || frame <= *stop_frame); }
};
// The jobs of `GET /api/tasks/{id}/jobs` ({"jobs": [...]}), in frame order.
Expected<std::vector<Job>> jobs_from_json(const Json& reply);
const Job* job_at(const std::vector<Job>& jobs, long long frame);

// Everything review about one task: the items and who last wrote each. Changes come from the
// server (catch-up) or from this client's own writes; both go through apply().
class ReviewBoard {
public:
    // Upserts (value) or erases (none) one item. The value is checked first; an error leaves the
    // board as it was. False: nothing changed.
    Expected<bool> apply(ReviewKind kind, const std::string& id, const std::optional<Json>& value,
                         const ReviewStamp& stamp);

    const std::map<std::string, Issue>& issues() const { return issues_; }
    const std::map<std::string, Decision>& decisions() const { return decisions_; }
    const Issue* issue(const std::string& id) const;
    const Comment* comment(const std::string& id) const;
    const Decision* decision(const std::string& id) const;
    const ReviewStamp* stamp(const std::string& id) const;
    // Issues on a frame, open ones first, then by id.
    std::vector<const Issue*> issues_on(long long frame) const;
    // An issue's comments, oldest first (by revision; local ones last, in the order written).
    std::vector<const Comment*> thread(const std::string& issue_id) const;
    // Decisions on an item, oldest first; the last is its verdict.
    std::vector<const Decision*> decisions_on(const std::string& item) const;
    const Decision* verdict_on(const std::string& item) const;
    std::map<std::string, const Decision*> verdicts() const;  // every judged item's verdict, in one pass
    // Open issues on frames [first, last] (last none: to the end), in frame order.
    std::vector<const Issue*> open_issues(long long first, std::optional<long long> last) const;
    size_t size() const { return issues_.size() + comments_.size() + decisions_.size(); }

private:
    std::map<std::string, Issue> issues_;
    std::map<std::string, Comment> comments_;
    std::map<std::string, Decision> decisions_;
    std::map<std::string, ReviewStamp> stamps_;
    uint64_t local_order_ = 0;  // orders local writes (revision 0) among themselves
    std::map<std::string, uint64_t> local_at_;
};

// One stop of a reviewer's walk through a job: an object on its frame, or a track at its first
// keyframe inside the job. In frame order, then document order (objects before tracks).
struct ReviewStop {
    std::string id;
    long long frame = 0;
    bool track = false;
};
std::vector<ReviewStop> review_stops(const Document& doc, const Job& job);

// What changed since the last review, from `GET .../history?after=REV` entries: an item created
// in the range is New, one that existed before and was changed is Edited, one deleted is
// Deleted (an item both created and deleted in the range is left out). Review items, the
// document entry and entries without an id are ignored.
enum class ChangeMark { New, Edited, Deleted };
struct ChangeSinceReview {
    ChangeMark mark = ChangeMark::Edited;
    std::string user;  // who changed it last
    Json was;          // Deleted: the value the delete removed (history "was"); null when not kept
};
Expected<std::map<std::string, ChangeSinceReview>> changes_since_review(const Json& history_reply);
// The deleted items' last values as a document, to draw where they were; values that do not read
// as an object or a track are left out.
Document removed_since_review(const std::map<std::string, ChangeSinceReview>& changes);

// One item's story, from `GET .../history?item=ID`: who did what, when, in which role and stage.
struct ItemEvent {
    int64_t revision = 0;
    std::string op, user, role, stage, at;
};
Expected<std::vector<ItemEvent>> item_events(const Json& history_reply);

}  // namespace pm
