#include "polymark/review.hpp"

#include "polymark/json_pointer.hpp"
#include "polymark/sort_by_key.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

const char* to_string(IssueStatus s) { return s == IssueStatus::Open ? "open" : "resolved"; }
const char* to_string(Verdict v) { return v == Verdict::Accepted ? "accepted" : "rejected"; }
const char* to_string(JobStage s) {
    switch (s) {
        case JobStage::Annotation: return "annotation";
        case JobStage::Review: return "review";
        case JobStage::Accepted: return "accepted";
    }
    return "annotation";
}
const char* to_string(ReviewKind k) {
    switch (k) {
        case ReviewKind::Issue: return "issue";
        case ReviewKind::Comment: return "comment";
        case ReviewKind::Decision: return "decision";
    }
    return "issue";
}
std::optional<JobStage> job_stage_from_string(std::string_view s) {
    if (s == "annotation") return JobStage::Annotation;
    if (s == "review") return JobStage::Review;
    if (s == "accepted") return JobStage::Accepted;
    return std::nullopt;
}
std::optional<ReviewKind> review_kind_from_string(std::string_view s) {
    if (s == "issue") return ReviewKind::Issue;
    if (s == "comment") return ReviewKind::Comment;
    if (s == "decision") return ReviewKind::Decision;
    return std::nullopt;
}

bool Issue::operator==(const Issue& o) const {
    return id == o.id && frame == o.frame && points == o.points && status == o.status && item == o.item &&
           author == o.author && meta == o.meta;
}
bool Comment::operator==(const Comment& o) const {
    return id == o.id && issue == o.issue && text == o.text && author == o.author && meta == o.meta;
}
bool Decision::operator==(const Decision& o) const {
    return id == o.id && item == o.item && frame == o.frame && verdict == o.verdict && reason == o.reason &&
           revision == o.revision && author == o.author && meta == o.meta;
}

// [SECTION] Reading

namespace {

constexpr int64_t kMaxExactInteger = 9007199254740991;  // 2^53 - 1 (docs/SCHEMA.md section 12)

size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// Reads the members of one JSON object, collecting errors with their pointers.
class Members {
public:
    Members(const Json& j, std::string path, const char* what) : j_(j), path_(std::move(path)), what_(what) {
        if (!j_.is_object()) fail("not_object", path_, std::string("expected a JSON object (") + what_ + ")");
    }
    bool ok() const { return errors_.empty(); }
    Errors take() { return std::move(errors_); }

    void only(std::initializer_list<const char*> keys) {
        if (!j_.is_object()) return;
        for (auto it = j_.begin(); it != j_.end(); ++it)
            if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; }))
                fail("unknown_key", at(it.key()), "unknown key \"" + it.key() + "\" in " + what_);
    }
    const Json* get(const char* key, bool required) {
        if (!j_.is_object()) return nullptr;
        auto it = j_.find(key);
        if (it == j_.end()) {
            if (required) fail("missing_key", at(key), std::string("missing required key \"") + key + "\" in " + what_);
            return nullptr;
        }
        return &*it;
    }
    std::string id(const char* key, bool required = true) {
        const Json* v = get(key, required);
        if (!v) return {};
        if (!v->is_string() || !is_valid_id(v->get_ref<const std::string&>())) {
            fail("bad_id", at(key), std::string(key) + " of the " + what_ + " must be 1 to 64 characters from A-Z a-z 0-9 _ . : -");
            return {};
        }
        return v->get<std::string>();
    }
    std::string text(const char* key, bool required, size_t max_chars, size_t min_chars) {
        const Json* v = get(key, required);
        if (!v) return {};
        if (!v->is_string()) { fail("expected_string", at(key), std::string(key) + " of the " + what_ + " must be a string"); return {}; }
        const std::string& s = v->get_ref<const std::string&>();
        size_t n = utf8_length(s);
        if (n < min_chars || n > max_chars) {
            fail(n < min_chars ? "expected_string" : "out_of_range", at(key),
                 std::string(key) + " of the " + what_ + " must be " + std::to_string(min_chars) + " to " + std::to_string(max_chars) + " characters");
            return {};
        }
        return s;
    }
    std::optional<int64_t> count(const char* key, bool required) {
        const Json* v = get(key, required);
        if (!v) return std::nullopt;
        if (v->is_number_unsigned() || v->is_number_integer()) {
            int64_t n = v->get<int64_t>();
            if (n >= 0 && n <= kMaxExactInteger) return n;
        } else if (v->is_number_float()) {
            double d = v->get<double>();
            if (std::isfinite(d) && d >= 0 && d <= (double)kMaxExactInteger && d == std::floor(d)) return (int64_t)d;
        }
        fail("expected_integer", at(key), std::string(key) + " of the " + what_ + " must be an integer from 0 to 2^53-1");
        return std::nullopt;
    }
    std::string choice(const char* key, std::initializer_list<const char*> allowed) {
        const Json* v = get(key, true);
        if (!v) return {};
        if (v->is_string())
            for (const char* a : allowed)
                if (v->get_ref<const std::string&>() == a) return a;
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail("bad_enum", at(key), std::string(key) + " of the " + what_ + " must be one of " + list);
        return {};
    }
    Json meta() {
        const Json* v = get("meta", false);
        if (!v) return Json();
        if (!v->is_object()) fail("expected_object", at("meta"), std::string("meta of the ") + what_ + " must be a JSON object");
        return *v;
    }
    std::string at(std::string_view key) const { return json_pointer_append(path_, key); }
    void fail(std::string code, std::string path, std::string message) {
        errors_.push_back({std::move(code), std::move(path), std::move(message) + " (at " + (path.empty() ? "/" : path) + ")"});
    }

private:
    const Json& j_;
    std::string path_;
    const char* what_;
    Errors errors_;
};

}  // namespace

Expected<Issue> issue_from_json(const Json& j, const std::string& path) {
    Members m(j, path, "issue");
    m.only({"id", "frame", "points", "status", "item", "author", "meta"});
    Issue i;
    i.id = m.id("id");
    i.frame = (long long)m.count("frame", true).value_or(0);
    if (const Json* p = m.get("points", true)) {
        bool numbers = p->is_array() && std::all_of(p->begin(), p->end(), [](const Json& v) { return v.is_number() && std::isfinite(v.get<double>()); });
        if (!numbers || (p->size() != 2 && p->size() != 4))
            m.fail("bad_points", m.at("points"), "points of the issue must be [x, y] or [x1, y1, x2, y2], finite numbers");
        else {
            for (const Json& v : *p) i.points.push_back(v.get<double>());
            if (i.is_box() && (i.points[0] > i.points[2] || i.points[1] > i.points[3]))
                m.fail("bad_box", m.at("points"), "an issue's box needs x1 <= x2 and y1 <= y2");
        }
    }
    i.status = m.choice("status", {"open", "resolved"}) == "resolved" ? IssueStatus::Resolved : IssueStatus::Open;
    i.item = m.id("item", false);
    i.author = m.text("author", true, 128, 1);
    i.meta = m.meta();
    if (!m.ok()) return m.take();
    return i;
}

Expected<Comment> comment_from_json(const Json& j, const std::string& path) {
    Members m(j, path, "comment");
    m.only({"id", "issue", "text", "author", "meta"});
    Comment c;
    c.id = m.id("id");
    c.issue = m.id("issue");
    c.text = m.text("text", true, kMaxReviewText, 1);
    c.author = m.text("author", true, 128, 1);
    c.meta = m.meta();
    if (!m.ok()) return m.take();
    return c;
}

Expected<Decision> decision_from_json(const Json& j, const std::string& path) {
    Members m(j, path, "decision");
    m.only({"id", "item", "frame", "verdict", "reason", "revision", "author", "meta"});
    Decision d;
    d.id = m.id("id");
    d.item = m.id("item");
    d.frame = (long long)m.count("frame", true).value_or(0);
    d.verdict = m.choice("verdict", {"accepted", "rejected"}) == "rejected" ? Verdict::Rejected : Verdict::Accepted;
    d.reason = m.text("reason", false, kMaxReviewText, 0);
    d.revision = m.count("revision", false);
    d.author = m.text("author", true, 128, 1);
    d.meta = m.meta();
    if (!m.ok()) return m.take();
    return d;
}

std::optional<Error> check_review_value(ReviewKind kind, const Json& value, const std::string& path) {
    switch (kind) {
        case ReviewKind::Issue: if (auto r = issue_from_json(value, path); !r) return r.first_error(); break;
        case ReviewKind::Comment: if (auto r = comment_from_json(value, path); !r) return r.first_error(); break;
        case ReviewKind::Decision: if (auto r = decision_from_json(value, path); !r) return r.first_error(); break;
    }
    return std::nullopt;
}

// [SECTION] Writing

Json issue_to_json(const Issue& i) {
    Json j{{"id", i.id}, {"frame", i.frame}, {"points", i.points}, {"status", to_string(i.status)}};
    if (!i.item.empty()) j["item"] = i.item;
    j["author"] = i.author;
    if (!i.meta.is_null()) j["meta"] = i.meta;
    return j;
}

Json comment_to_json(const Comment& c) {
    Json j{{"id", c.id}, {"issue", c.issue}, {"text", c.text}, {"author", c.author}};
    if (!c.meta.is_null()) j["meta"] = c.meta;
    return j;
}

Json decision_to_json(const Decision& d) {
    Json j{{"id", d.id}, {"item", d.item}, {"frame", d.frame}, {"verdict", to_string(d.verdict)}};
    if (!d.reason.empty()) j["reason"] = d.reason;
    if (d.revision) j["revision"] = *d.revision;
    j["author"] = d.author;
    if (!d.meta.is_null()) j["meta"] = d.meta;
    return j;
}

// [SECTION] Jobs

Expected<std::vector<Job>> jobs_from_json(const Json& reply) {
    const Json* list = reply.is_object() && reply.contains("jobs") ? &reply["jobs"] : nullptr;
    if (!list || !list->is_array()) return Error{"bad_reply", "/jobs", "the jobs reply has no \"jobs\" array"};
    std::vector<Job> jobs;
    Errors errors;
    for (size_t n = 0; n < list->size(); ++n) {
        const Json& j = (*list)[n];
        std::string path = json_pointer_append("/jobs", n);
        Job job;
        auto integer = [&](const char* key) -> std::optional<int64_t> {
            if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
            return j[key].get<int64_t>();
        };
        auto text = [&](const char* key) { return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(); };
        auto id = integer("id"), start = integer("start_frame");
        auto stage = job_stage_from_string(text("stage"));
        if (!id || !start || !stage) {
            errors.push_back({"bad_reply", path, "job " + std::to_string(n) + " of the jobs reply lacks an id, a start_frame or a known stage"});
            continue;
        }
        job.id = *id;
        job.start_frame = (long long)*start;
        if (auto stop = integer("stop_frame")) job.stop_frame = (long long)*stop;
        job.stage = *stage;
        job.assignee = text("assignee");
        job.reviewer = text("reviewer");
        job.reviewed_revision = integer("reviewed_revision");
        job.open_issues = (int)integer("open_issues").value_or(0);
        jobs.push_back(std::move(job));
    }
    if (!errors.empty()) return errors;
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.start_frame < b.start_frame; });
    return jobs;
}

const Job* job_at(const std::vector<Job>& jobs, long long frame) {
    for (const Job& j : jobs)
        if (j.holds(frame)) return &j;
    return nullptr;
}

// [SECTION] The board

Expected<bool> ReviewBoard::apply(ReviewKind kind, const std::string& id, const std::optional<Json>& value,
                                  const ReviewStamp& stamp) {
    auto place = [&](auto& map, auto parsed) -> bool {
        auto it = map.find(id);
        bool same = it != map.end() && it->second == parsed;
        map[id] = std::move(parsed);
        return !same;
    };
    bool changed = false;
    if (!value) {
        changed = issues_.erase(id) + comments_.erase(id) + decisions_.erase(id) > 0;
    } else if (kind == ReviewKind::Issue) {
        auto i = issue_from_json(*value, "/value");
        if (!i) return i.errors();
        changed = place(issues_, std::move(i.value()));
    } else if (kind == ReviewKind::Comment) {
        auto c = comment_from_json(*value, "/value");
        if (!c) return c.errors();
        changed = place(comments_, std::move(c.value()));
    } else {
        auto d = decision_from_json(*value, "/value");
        if (!d) return d.errors();
        changed = place(decisions_, std::move(d.value()));
    }
    if (value) {
        stamps_[id] = stamp;
        if (stamp.revision == 0 && !local_at_.count(id)) local_at_[id] = ++local_order_;
        if (stamp.revision != 0) local_at_.erase(id);
    } else {
        stamps_.erase(id);
        local_at_.erase(id);
    }
    return changed;
}

const Issue* ReviewBoard::issue(const std::string& id) const {
    auto it = issues_.find(id);
    return it == issues_.end() ? nullptr : &it->second;
}
const Comment* ReviewBoard::comment(const std::string& id) const {
    auto it = comments_.find(id);
    return it == comments_.end() ? nullptr : &it->second;
}
const Decision* ReviewBoard::decision(const std::string& id) const {
    auto it = decisions_.find(id);
    return it == decisions_.end() ? nullptr : &it->second;
}
const ReviewStamp* ReviewBoard::stamp(const std::string& id) const {
    auto it = stamps_.find(id);
    return it == stamps_.end() ? nullptr : &it->second;
}

std::vector<const Issue*> ReviewBoard::issues_on(long long frame) const {
    std::vector<const Issue*> out;
    for (const auto& [id, i] : issues_)
        if (i.frame == frame) out.push_back(&i);
    stable_sort_by_key(out, [](const Issue* i) { return i->status == IssueStatus::Open ? 0 : 1; });
    return out;
}

namespace {
// Oldest first: acknowledged items by revision then id, local ones after them in the order written.
template <class Item>
void in_written_order(std::vector<const Item*>& items, const std::map<std::string, ReviewStamp>& stamps,
                      const std::map<std::string, uint64_t>& local_at) {
    auto key = [&](const Item* i) {
        auto s = stamps.find(i->id);
        int64_t revision = s == stamps.end() ? 0 : s->second.revision;
        auto l = local_at.find(i->id);
        return std::make_tuple(revision == 0, revision, l == local_at.end() ? 0 : l->second, i->id);
    };
    std::sort(items.begin(), items.end(), [&](const Item* a, const Item* b) { return key(a) < key(b); });
}
}  // namespace

std::vector<const Comment*> ReviewBoard::thread(const std::string& issue_id) const {
    std::vector<const Comment*> out;
    for (const auto& [id, c] : comments_)
        if (c.issue == issue_id) out.push_back(&c);
    in_written_order(out, stamps_, local_at_);
    return out;
}

std::vector<const Decision*> ReviewBoard::decisions_on(const std::string& item) const {
    std::vector<const Decision*> out;
    for (const auto& [id, d] : decisions_)
        if (d.item == item) out.push_back(&d);
    in_written_order(out, stamps_, local_at_);
    return out;
}

const Decision* ReviewBoard::verdict_on(const std::string& item) const {
    auto all = decisions_on(item);
    return all.empty() ? nullptr : all.back();
}

std::map<std::string, const Decision*> ReviewBoard::verdicts() const {
    std::vector<const Decision*> all;
    for (const auto& [id, d] : decisions_) all.push_back(&d);
    in_written_order(all, stamps_, local_at_);
    std::map<std::string, const Decision*> out;
    for (const Decision* d : all) out[d->item] = d;  // the last written wins
    return out;
}

std::vector<const Issue*> ReviewBoard::open_issues(long long first, std::optional<long long> last) const {
    std::vector<const Issue*> out;
    for (const auto& [id, i] : issues_)
        if (i.status == IssueStatus::Open && i.frame >= first && (!last || i.frame <= *last)) out.push_back(&i);
    stable_sort_by_key(out, [](const Issue* i) { return i->frame; });
    return out;
}

// [SECTION] The reviewer's walk

std::vector<ReviewStop> review_stops(const Document& doc, const Job& job) {
    std::vector<ReviewStop> stops;
    for (const Object& o : doc.objects)
        if (job.holds(o.frame)) stops.push_back({o.id, o.frame, false});
    for (const Track& t : doc.tracks)
        for (const Keyframe& k : t.keyframes)
            if (job.holds(k.frame)) {
                stops.push_back({t.id, k.frame, true});
                break;
            }
    stable_sort_by_key(stops, [](const ReviewStop& s) { return s.frame; });
    return stops;
}

namespace {

const Json* history_entries(const Json& reply) {
    return reply.is_object() && reply.contains("entries") && reply["entries"].is_array() ? &reply["entries"] : nullptr;
}

std::string text_at(const Json& e, const char* key) {
    return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
}

Error no_entries() { return {"bad_reply", "/entries", "the history reply has no \"entries\" array"}; }

}  // namespace

Expected<std::map<std::string, ChangeSinceReview>> changes_since_review(const Json& history_reply) {
    const Json* entries = history_entries(history_reply);
    if (!entries) return no_entries();
    struct Seen { bool created = false, deleted = false; std::string user; Json was; };
    std::map<std::string, Seen> seen;
    for (const Json& e : *entries) {
        if (!e.is_object()) continue;
        std::string kind = text_at(e, "kind"), id = text_at(e, "id"), op = text_at(e, "op");
        if ((kind != "object" && kind != "track") || id.empty()) continue;
        bool fresh = !seen.count(id);
        Seen& s = seen[id];
        if (fresh) s.created = op == "create";
        s.deleted = op == "delete";
        s.user = text_at(e, "user");
        s.was = s.deleted && e.contains("was") ? e["was"] : Json();
    }
    std::map<std::string, ChangeSinceReview> out;
    for (auto& [id, s] : seen) {
        if (s.created && s.deleted) continue;
        out[id] = {s.deleted ? ChangeMark::Deleted : s.created ? ChangeMark::New : ChangeMark::Edited, std::move(s.user), std::move(s.was)};
    }
    return out;
}

Document removed_since_review(const std::map<std::string, ChangeSinceReview>& changes) {
    Document doc;
    for (const auto& [id, change] : changes) {
        if (change.mark != ChangeMark::Deleted || !change.was.is_object()) continue;
        if (change.was.contains("keyframes")) {
            if (auto track = track_from_json(change.was, "/was")) doc.tracks.push_back(std::move(track.value()));
        } else if (auto object = object_from_json(change.was, "/was")) {
            doc.objects.push_back(std::move(object.value()));
        }
    }
    return doc;
}

Expected<std::vector<ItemEvent>> item_events(const Json& history_reply) {
    const Json* entries = history_entries(history_reply);
    if (!entries) return no_entries();
    std::vector<ItemEvent> out;
    for (const Json& e : *entries) {
        if (!e.is_object() || !e.contains("revision") || !e["revision"].is_number_integer()) continue;
        out.push_back({e["revision"].get<int64_t>(), text_at(e, "op"), text_at(e, "user"), text_at(e, "role"), text_at(e, "stage"), text_at(e, "at")});
    }
    return out;
}

}  // namespace pm
