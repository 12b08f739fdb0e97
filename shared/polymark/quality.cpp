#include "polymark/quality.hpp"

#include "polymark/assignment.hpp"
#include "polymark/interpolate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <set>
#include <unordered_map>

namespace pm {

namespace {

// [SECTION] Shapes per frame

// One frame's shapes, read like a vector of objects: the document's own objects in place (copying
// them was a tenth of a consensus run) and the track shapes made for the frame.
class FrameShapes {
public:
    FrameShapes() = default;
    FrameShapes(FrameShapes&&) = default;
    FrameShapes& operator=(FrameShapes&&) = default;
    FrameShapes(const FrameShapes&) = delete;
    FrameShapes& operator=(const FrameShapes&) = delete;

    struct Iterator {
        const Object* const* at;
        const Object& operator*() const { return **at; }
        Iterator& operator++() { ++at; return *this; }
        bool operator!=(const Iterator& o) const { return at != o.at; }
    };
    size_t size() const { return list_.size(); }
    bool empty() const { return list_.empty(); }
    const Object& operator[](size_t i) const { return *list_[i]; }
    Iterator begin() const { return {list_.data()}; }
    Iterator end() const { return {list_.data() + list_.size()}; }

private:
    friend class FrameSource;
    std::vector<const Object*> list_;
    std::vector<Object> made_;  // reserved before filling: list_ points into it
};

// The shapes of one document frame by frame: the same list as shapes_on_frame (objects on the
// frame in document order, then every track's shape there, outside ones left out), with the
// objects indexed by frame once so that a long run of frames does not rescan every object.
class FrameSource {
public:
    explicit FrameSource(const Document& doc, const Task* task) : doc_(doc), task_(task) {
        for (size_t i = 0; i < doc.objects.size(); ++i) by_frame_[doc.objects[i].frame].push_back(i);
    }
    FrameShapes at(long long frame) {
        FrameShapes out;
        auto it = by_frame_.find(frame);
        if (it != by_frame_.end())
            for (size_t i : it->second) out.list_.push_back(&doc_.objects[i]);
        MediumSpan medium = task_ ? task_->medium_of(frame) : MediumSpan{};
        out.made_.reserve(doc_.tracks.size());
        for (const Track& t : doc_.tracks) {
            if (t.keyframes.empty() || t.keyframes.front().frame > frame) continue;
            std::optional<TrackState> s = track_shape_at(t, frame, {}, &cache_, medium);
            if (s) {
                out.made_.push_back(track_object_at(t, frame, std::move(*s)));
                out.list_.push_back(&out.made_.back());
            }
        }
        return out;
    }
    long long last_frame() const {
        long long last = by_frame_.empty() ? -1 : by_frame_.rbegin()->first;
        for (const Track& t : doc_.tracks)
            if (!t.keyframes.empty()) last = std::max(last, t.keyframes.back().frame);
        return last;
    }

private:
    const Document& doc_;
    const Task* task_;
    std::map<long long, std::vector<size_t>> by_frame_;
    InterpolationCache cache_;
};

std::vector<long long> frames_to_compare(const std::vector<long long>& asked, const Task* task,
                                         const std::vector<const FrameSource*>& sources) {
    if (!asked.empty()) {
        std::vector<long long> f = asked;
        std::sort(f.begin(), f.end());
        f.erase(std::unique(f.begin(), f.end()), f.end());
        return f;
    }
    long long last = -1;
    if (task && task->frame_count() > 0) last = task->frame_count() - 1;
    else
        for (const FrameSource* s : sources) last = std::max(last, s->last_frame());
    std::vector<long long> f;
    for (long long i = 0; i <= last; ++i) f.push_back(i);
    return f;
}

struct Bounds {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool any = false;  // false: may be similar to anything (points, tags)
};

Bounds reach(const Object& o, const SimilarityOptions& so) {
    Bounds b;
    if (o.type == ShapeType::Tag || o.type == ShapeType::Points || o.points.empty()) return b;
    Rect r = shape_bounds(o);
    double pad = o.type == ShapeType::Polyline ? so.line_band : 0;
    b = {r.x - pad, r.y - pad, r.x + r.w + pad, r.y + r.h + pad, true};
    return b;
}

bool may_touch(const Bounds& a, const Bounds& b) {
    if (!a.any || !b.any) return true;
    return a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;
}

std::vector<double> similarity_matrix(const FrameShapes& a, const FrameShapes& b, const SimilarityOptions& so) {
    std::vector<Bounds> ba(a.size()), bb(b.size());
    for (size_t i = 0; i < a.size(); ++i) ba[i] = reach(a[i], so);
    for (size_t j = 0; j < b.size(); ++j) bb[j] = reach(b[j], so);
    std::vector<double> s(a.size() * b.size(), 0);
    for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = 0; j < b.size(); ++j)
            if (may_touch(ba[i], bb[j])) s[i * b.size() + j] = shape_similarity_unchecked(a[i], b[j], so);
    return s;
}

bool attributes_agree(const std::vector<Attribute>& a, const std::vector<Attribute>& b) {
    std::map<std::string, const Json*> ma, mb;
    for (const Attribute& x : a) ma[x.id] = &x.value;
    for (const Attribute& x : b) mb[x.id] = &x.value;
    if (ma.size() != mb.size()) return false;
    for (auto ia = ma.begin(), ib = mb.begin(); ia != ma.end(); ++ia, ++ib)
        if (ia->first != ib->first || *ia->second != *ib->second) return false;
    return true;
}

std::optional<double> ratio(long long num, long long den) {
    if (den <= 0) return std::nullopt;
    return (double)num / (double)den;
}

Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::optional<Error> check_options(double threshold, const SimilarityOptions& so) {
    if (!std::isfinite(threshold) || threshold < 0 || threshold > 1)
        return Error{"bad_option", "threshold", "the match threshold must be a number from 0 to 1"};
    if (!std::isfinite(so.oks_sigma) || so.oks_sigma <= 0 || !std::isfinite(so.min_point_area) || so.min_point_area < 0 ||
        !std::isfinite(so.line_band) || so.line_band < 0)
        return Error{"bad_option", "similarity", "sigma must be > 0, the point area and the line band finite and >= 0"};
    return std::nullopt;
}

void check_all(const FrameShapes& shapes, long long frame, const std::string& which, Errors& errors) {
    for (const Object& o : shapes)
        if (auto e = check_shape_numbers(o)) {
            e->path = which + "/" + std::to_string(frame) + "/" + o.id;
            errors.push_back(*e);
        }
}

}  // namespace

// [SECTION] Counts

void LabelCounts::add(const LabelCounts& o) {
    gt += o.gt; job += o.job; valid += o.valid; missing += o.missing; extra += o.extra;
    mislabelled_gt += o.mislabelled_gt; mislabelled_job += o.mislabelled_job;
    attribute_pairs += o.attribute_pairs; attribute_agreeing += o.attribute_agreeing;
}
std::optional<double> LabelCounts::accuracy() const { return ratio(valid, gt + job - valid); }
std::optional<double> LabelCounts::precision() const { return ratio(valid, job); }
std::optional<double> LabelCounts::recall() const { return ratio(valid, gt); }
std::optional<double> LabelCounts::attribute_agreement() const { return ratio(attribute_agreeing, attribute_pairs); }

size_t quorum_votes(size_t n, double q) {
    if (n == 0) return 0;
    if (!(q > 0)) q = 0;
    if (q > 1) q = 1;
    // A tiny allowance so that 3 x (2/3) written as 0.6666666666666666 still needs 2, not 3.
    double v = std::ceil((double)n * q - 1e-9);
    return (size_t)std::clamp(v, 1.0, (double)n);
}

// [SECTION] Golden comparison

QualityReport compare_with_golden(const Document& gt_doc, const Document& job_doc, const QualityOptions& options, Errors* errors) {
    QualityReport r;
    r.options = options;
    FrameSource gts(gt_doc, options.task), jobs(job_doc, options.task);
    const SimilarityOptions& so = options.similarity;
    Errors local;
    for (long long frame : frames_to_compare(options.frames, options.task, {&gts, &jobs})) {
        FrameShapes g = gts.at(frame), j = jobs.at(frame);
        size_t before = local.size();
        check_all(g, frame, "gt", local);
        check_all(j, frame, "job", local);
        if (local.size() != before) continue;
        FrameQuality fq;
        fq.frame = frame;
        std::map<std::string, LabelCounts> labels;
        for (const Object& o : g) { ++labels[o.label].gt; ++fq.totals.gt; }
        for (const Object& o : j) { ++labels[o.label].job; ++fq.totals.job; }
        std::vector<double> sim = similarity_matrix(g, j, so);
        size_t n = g.size(), m = j.size();
        std::vector<int> g_to_j(n, -1), j_to_g(m, -1);
        // Stage 1: same label only.
        std::vector<double> w(n * m, 0);
        for (size_t a = 0; a < n; ++a)
            for (size_t b = 0; b < m; ++b)
                if (g[a].label == j[b].label && sim[a * m + b] >= options.threshold) w[a * m + b] = sim[a * m + b];
        std::vector<int> first = assign_max_weight(w, n, m);
        for (size_t a = 0; a < n; ++a)
            if (first[a] >= 0 && w[a * m + (size_t)first[a]] > 0) {
                g_to_j[a] = first[a];
                j_to_g[(size_t)first[a]] = (int)a;
            }
        // Stage 2: what is left, any label.
        std::vector<size_t> rest_g, rest_j;
        for (size_t a = 0; a < n; ++a) if (g_to_j[a] < 0) rest_g.push_back(a);
        for (size_t b = 0; b < m; ++b) if (j_to_g[b] < 0) rest_j.push_back(b);
        std::vector<double> w2(rest_g.size() * rest_j.size(), 0);
        for (size_t a = 0; a < rest_g.size(); ++a)
            for (size_t b = 0; b < rest_j.size(); ++b) {
                double s = sim[rest_g[a] * m + rest_j[b]];
                if (s >= options.threshold) w2[a * rest_j.size() + b] = s;
            }
        std::vector<int> second = assign_max_weight(w2, rest_g.size(), rest_j.size());
        for (size_t a = 0; a < rest_g.size(); ++a)
            if (second[a] >= 0 && w2[a * rest_j.size() + (size_t)second[a]] > 0) {
                g_to_j[rest_g[a]] = (int)rest_j[(size_t)second[a]];
                j_to_g[rest_j[(size_t)second[a]]] = (int)rest_g[a];
            }
        // Counting.
        for (size_t a = 0; a < n; ++a) {
            const Object& go = g[a];
            if (g_to_j[a] < 0) {
                ++labels[go.label].missing;
                ++r.confusion[go.label][""];
                r.missing_ids.push_back(std::to_string(frame) + ":" + go.id);
                continue;
            }
            const Object& jo = j[(size_t)g_to_j[a]];
            MatchedPair p{frame, go.id, jo.id, go.label, jo.label, sim[a * m + (size_t)g_to_j[a]], true};
            ++r.confusion[go.label][jo.label];
            if (go.label == jo.label) {
                LabelCounts& c = labels[go.label];
                ++c.valid;
                ++c.attribute_pairs;
                p.attributes_agree = attributes_agree(go.attributes, jo.attributes);
                if (p.attributes_agree) ++c.attribute_agreeing;
                if (p.similarity < options.low_overlap) r.low_overlap.push_back(p);
            } else {
                ++labels[go.label].mislabelled_gt;
                ++labels[jo.label].mislabelled_job;
                p.attributes_agree = false;
            }
            r.pairs.push_back(std::move(p));
        }
        for (size_t b = 0; b < m; ++b)
            if (j_to_g[b] < 0) {
                ++labels[j[b].label].extra;
                ++r.confusion[""][j[b].label];
                r.extra_ids.push_back(std::to_string(frame) + ":" + j[b].id);
            }
        LabelCounts frame_totals;
        for (auto& [label, c] : labels) {
            r.per_label[label].add(c);
            frame_totals.add(c);
        }
        fq.totals = frame_totals;
        r.totals.add(fq.totals);
        r.per_frame.push_back(fq);
    }
    if (errors) *errors = std::move(local);
    return r;
}

Expected<QualityReport> quality_report(const Document& gt, const Document& job, const QualityOptions& options) {
    if (auto e = check_options(options.threshold, options.similarity)) return *e;
    if (!std::isfinite(options.low_overlap)) return Error{"bad_option", "low_overlap", "the low-overlap mark must be a finite number"};
    Errors errors;
    QualityReport r = compare_with_golden(gt, job, options, &errors);
    if (!errors.empty()) return errors;
    return r;
}

namespace {

Json counts_json(const LabelCounts& c) {
    return Json{{"gt", c.gt}, {"job", c.job}, {"valid", c.valid}, {"missing", c.missing}, {"extra", c.extra},
                {"mislabelled_gt", c.mislabelled_gt}, {"mislabelled_job", c.mislabelled_job},
                {"accuracy", opt(c.accuracy())}, {"precision", opt(c.precision())}, {"recall", opt(c.recall())},
                {"attribute_pairs", c.attribute_pairs}, {"attribute_agreeing", c.attribute_agreeing},
                {"attribute_agreement", opt(c.attribute_agreement())}};
}

Json pair_json(const MatchedPair& p) {
    return Json{{"frame", p.frame}, {"gt", p.gt_id}, {"job", p.job_id}, {"gt_label", p.gt_label},
                {"job_label", p.job_label}, {"similarity", p.similarity}};
}

// "<frame>:<id>", as this file writes them; from_chars: no exception path in the core.
Json frame_item(const std::string& s) {
    size_t colon = s.find(':');
    long long frame = 0;
    std::from_chars(s.data(), s.data() + std::min(colon, s.size()), frame);
    return Json{{"frame", frame}, {"id", colon == std::string::npos ? s : s.substr(colon + 1)}};
}

}  // namespace

Json quality_report_to_json(const QualityReport& r) {
    const QualityOptions& o = r.options;
    Json settings = {{"threshold", o.threshold}, {"low_overlap", o.low_overlap}, {"oks_sigma", o.similarity.oks_sigma},
                     {"min_point_area", o.similarity.min_point_area}, {"line_band", o.similarity.line_band},
                     {"ellipse_segments", o.similarity.ellipse_segments}};
    Json labels = Json::object();
    for (const auto& [label, c] : r.per_label) labels[label] = counts_json(c);
    // Confusion: golden labels as rows, job labels as columns, both sorted, "none" last.
    std::set<std::string> names;
    for (const auto& [gl, row] : r.confusion) {
        if (!gl.empty()) names.insert(gl);
        for (const auto& [jl, n] : row) if (!jl.empty()) names.insert(jl);
    }
    std::vector<std::string> order(names.begin(), names.end());
    order.push_back("");
    Json axis = Json::array(), rows = Json::array();
    for (const std::string& gl : order) {
        axis.push_back(gl.empty() ? Json(nullptr) : Json(gl));
        Json row = Json::array();
        auto it = r.confusion.find(gl);
        for (const std::string& jl : order) {
            long long n = 0;
            if (it != r.confusion.end()) {
                auto c = it->second.find(jl);
                if (c != it->second.end()) n = c->second;
            }
            row.push_back(n);
        }
        rows.push_back(std::move(row));
    }
    Json frames = Json::array();
    for (const FrameQuality& f : r.per_frame) {
        Json j = counts_json(f.totals);
        j.erase("attribute_pairs"); j.erase("attribute_agreeing"); j.erase("attribute_agreement");
        Json fj = {{"frame", f.frame}};
        for (auto& [k, v] : j.items()) fj[k] = v;
        frames.push_back(std::move(fj));
    }
    Json low = Json::array(), mislabelled = Json::array(), missing = Json::array(), extra = Json::array();
    for (const MatchedPair& p : r.low_overlap) low.push_back(pair_json(p));
    for (const MatchedPair& p : r.pairs) if (p.gt_label != p.job_label) mislabelled.push_back(pair_json(p));
    for (const std::string& s : r.missing_ids) missing.push_back(frame_item(s));
    for (const std::string& s : r.extra_ids) extra.push_back(frame_item(s));
    Json attr = Json::array();
    for (const MatchedPair& p : r.pairs)
        if (p.gt_label == p.job_label && !p.attributes_agree) attr.push_back(pair_json(p));
    return Json{{"format", kQualityReportFormat}, {"version", kQualityReportVersion}, {"settings", settings},
                {"frames", r.per_frame.size()}, {"summary", counts_json(r.totals)}, {"labels", labels},
                {"confusion", {{"labels", axis}, {"rows", rows}}}, {"per_frame", frames}, {"low_overlap", low},
                {"mislabelled", mislabelled}, {"attribute_mismatches", attr}, {"missing", missing}, {"extra", extra}};
}

// [SECTION] Consensus

namespace {

struct Member {
    size_t set;
    size_t index;  // into that set's shapes on the frame
};

// Circular mean of angles in degrees, in [0, 360).
double mean_angle(const std::vector<double>& degrees) {
    double s = 0, c = 0;
    for (double d : degrees) {
        double r = d * 3.14159265358979323846 / 180;
        s += std::sin(r);
        c += std::cos(r);
    }
    if (std::fabs(s) < 1e-12 && std::fabs(c) < 1e-12) return std::fmod(std::fmod(degrees.front(), 360.0) + 360.0, 360.0);
    double a = std::atan2(s, c) * 180 / 3.14159265358979323846;
    if (a < 0) a += 360;
    if (a >= 360) a -= 360;
    return a;
}

// The value most members hold; ties go to the value of the earliest member (set order).
template <class T, class Key>
T vote(const std::vector<T>& values, Key key) {
    std::vector<std::string> keys;
    for (const T& v : values) keys.push_back(key(v));
    size_t best = 0, best_count = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        size_t count = (size_t)std::count(keys.begin(), keys.end(), keys[i]);
        if (count > best_count) {  // strict: the earliest of equal counts stays
            best = i;
            best_count = count;
        }
    }
    return values[best];
}

}  // namespace

Expected<ConsensusReport> consensus(const std::vector<Document>& sets, const ConsensusOptions& options) {
    if (sets.size() < 2) return Error{"too_few_sets", "", "consensus needs at least two annotation sets"};
    if (auto e = check_options(options.threshold, options.similarity)) return *e;
    if (!std::isfinite(options.quorum) || options.quorum <= 0 || options.quorum > 1)
        return Error{"bad_option", "quorum", "the quorum must be a share above 0 and at most 1"};
    if (!is_valid_id(options.id_prefix + ".0.0")) return Error{"bad_option", "id_prefix", "the id prefix must be an id (A-Z a-z 0-9 _ . : -)"};
    const SimilarityOptions& so = options.similarity;
    const size_t n_sets = sets.size();
    ConsensusReport r;
    r.sets = n_sets;
    r.options = options;
    r.quorum_votes = quorum_votes(n_sets, options.quorum);
    r.per_set.assign(n_sets, std::nullopt);
    r.per_set_shapes.assign(n_sets, 0);
    std::vector<double> set_sum(n_sets, 0);
    double job_sum = 0;
    size_t job_groups = 0;
    std::vector<std::unique_ptr<FrameSource>> sources;
    std::vector<const FrameSource*> views;
    for (const Document& d : sets) {
        sources.push_back(std::make_unique<FrameSource>(d, options.task));
        views.push_back(sources.back().get());
    }
    Errors errors;
    std::vector<double> pair_values;  // one group's pairwise similarities, reused
    for (long long frame : frames_to_compare(options.frames, options.task, views)) {
        std::vector<FrameShapes> shapes(n_sets);
        size_t before = errors.size();
        for (size_t s = 0; s < n_sets; ++s) {
            shapes[s] = sources[s]->at(frame);
            check_all(shapes[s], frame, "sets/" + std::to_string(s), errors);
        }
        if (errors.size() != before) continue;
        std::vector<std::vector<Bounds>> bounds(n_sets);
        for (size_t s = 0; s < n_sets; ++s)
            for (const Object& o : shapes[s]) bounds[s].push_back(reach(o, so));
        // Grouping: set 0's shapes open groups; each next set is assigned to the groups so far by
        // the Hungarian method on the mean similarity to a group's members; the rest open groups.
        std::vector<std::vector<Member>> groups;
        // Each pair's similarity is computed once per frame (grouping, agreement and medoid reuse it).
        std::vector<size_t> offset(n_sets + 1, 0);
        for (size_t s = 0; s < n_sets; ++s) offset[s + 1] = offset[s] + shapes[s].size();
        const size_t total = offset[n_sets];
        const bool memoise = total <= 2048;  // at most 32 MiB of memo
        std::vector<double> memo(memoise ? total * total : 0, -1);
        auto sim = [&](const Member& a, const Member& b) {
            if (!memoise) return shape_similarity_unchecked(shapes[a.set][a.index], shapes[b.set][b.index], so);
            size_t i = offset[a.set] + a.index, j = offset[b.set] + b.index;
            double& v = memo[i * total + j];
            if (v < 0) {
                v = shape_similarity_unchecked(shapes[a.set][a.index], shapes[b.set][b.index], so);
                memo[j * total + i] = v;
            }
            return v;
        };
        for (size_t s = 0; s < n_sets; ++s) {
            size_t rows = shapes[s].size(), cols = groups.size();
            std::vector<double> w(rows * cols, 0);
            for (size_t i = 0; i < rows; ++i)
                for (size_t g = 0; g < cols; ++g) {
                    double sum = 0;
                    for (const Member& m : groups[g]) {
                        if (!may_touch(bounds[s][i], bounds[m.set][m.index])) continue;
                        sum += sim({s, i}, m);
                    }
                    double mean = sum / (double)groups[g].size();
                    if (mean >= options.threshold && mean > 0) w[i * cols + g] = mean;
                }
            std::vector<int> a = assign_max_weight(w, rows, cols);
            for (size_t i = 0; i < rows; ++i) {
                if (a[i] >= 0 && w[i * cols + (size_t)a[i]] > 0) groups[(size_t)a[i]].push_back({s, i});
                else groups.push_back({{s, i}});
            }
        }
        // Agreement and merging.
        double frame_sum = 0;
        size_t merged_on_frame = 0;
        for (const std::vector<Member>& members : groups) {
            ConsensusGroup cg;
            cg.frame = frame;
            const size_t k_members = members.size();
            pair_values.assign(k_members * k_members, 0);
            for (size_t a = 0; a < k_members; ++a)
                for (size_t b = a + 1; b < k_members; ++b) {
                    const Object& oa = shapes[members[a].set][members[a].index];
                    const Object& ob = shapes[members[b].set][members[b].index];
                    pair_values[a * k_members + b] = pair_values[b * k_members + a] = oa.label == ob.label ? sim(members[a], members[b]) : 0;
                }
            double pair_sum = 0;
            for (size_t a = 0; a < k_members; ++a) {
                double s = 0;
                for (size_t b = 0; b < k_members; ++b) if (b != a) s += pair_values[a * k_members + b];
                pair_sum += s;
                ConsensusMember cm{members[a].set, shapes[members[a].set][members[a].index].id, s / (double)(n_sets - 1)};
                set_sum[cm.set] += cm.agreement;
                ++r.per_set_shapes[cm.set];
                cg.members.push_back(std::move(cm));
            }
            cg.agreement = (pair_sum / 2) / ((double)n_sets * (double)(n_sets - 1) / 2);
            cg.accepted = members.size() >= r.quorum_votes;
            {
                std::vector<const Object*> objs;
                for (const Member& m : members) objs.push_back(&shapes[m.set][m.index]);
                cg.label = vote(objs, [](const Object* o) { return o->label; })->label;
            }
            frame_sum += cg.agreement;
            job_sum += cg.agreement;
            ++job_groups;
            if (cg.accepted) {
                std::vector<const Object*> objs;
                for (const Member& m : members) objs.push_back(&shapes[m.set][m.index]);
                Object out;
                out.id = options.id_prefix + "." + std::to_string(frame) + "." + std::to_string(merged_on_frame++);
                out.frame = frame;
                out.label = cg.label;
                out.type = vote(objs, [](const Object* o) { return std::string(to_string(o->type)); })->type;
                std::vector<size_t> same;  // members of the chosen type
                for (size_t k = 0; k < objs.size(); ++k) if (objs[k]->type == out.type) same.push_back(k);
                if (out.type == ShapeType::Rectangle || out.type == ShapeType::Ellipse) {
                    out.points.assign(4, 0);
                    std::vector<double> angles;
                    for (size_t k : same) {
                        for (int c = 0; c < 4; ++c) out.points[(size_t)c] += objs[k]->points[(size_t)c] / (double)same.size();
                        angles.push_back(objs[k]->rotation);
                    }
                    out.rotation = mean_angle(angles);
                } else if (out.type != ShapeType::Tag) {
                    // The medoid: the member most similar to the others of its type (ties: earliest).
                    size_t best = same.front();
                    double best_sum = -1;
                    for (size_t k : same) {
                        double s = 0;
                        for (size_t l : same) if (l != k) s += sim(members[k], members[l]);
                        if (s > best_sum) { best_sum = s; best = k; }
                    }
                    out.points = objs[best]->points;
                }
                // Attributes: every id any member sets, in order of first appearance; each by vote.
                std::vector<std::string> ids;
                for (const Object* o : objs)
                    for (const Attribute& at : o->attributes)
                        if (std::find(ids.begin(), ids.end(), at.id) == ids.end()) ids.push_back(at.id);
                for (const std::string& id : ids) {
                    std::vector<Json> values;
                    for (const Object* o : objs)
                        for (const Attribute& at : o->attributes) if (at.id == id) values.push_back(at.value);
                    out.attributes.push_back({id, vote(values, [](const Json& v) { return v.dump(); })});
                }
                size_t occluded = 0;
                for (const Object* o : objs) occluded += o->occluded ? 1 : 0;
                out.occluded = occluded * 2 > objs.size();
                out.source = Source::Auto;
                // Built by moves: an initializer list would copy every level (a fifth of the call).
                Json from = Json::array();
                from.get_ref<Json::array_t&>().reserve(members.size());
                for (size_t k = 0; k < members.size(); ++k) {
                    Json& m = from.emplace_back(Json::object());
                    m["set"] = members[k].set;
                    m["id"] = objs[k]->id;
                }
                Json provenance = Json::object();
                provenance["members"] = std::move(from);
                provenance["agreement"] = cg.agreement;
                out.meta = Json::object();
                out.meta["consensus"] = std::move(provenance);
                cg.merged_id = out.id;
                r.merged.objects.push_back(std::move(out));
            }
            r.groups.push_back(std::move(cg));
        }
        r.per_frame[frame] = groups.empty() ? std::nullopt : std::optional<double>(frame_sum / (double)groups.size());
    }
    if (!errors.empty()) return errors;
    for (size_t s = 0; s < n_sets; ++s)
        if (r.per_set_shapes[s] > 0) r.per_set[s] = set_sum[s] / (double)r.per_set_shapes[s];
    if (job_groups) r.job = job_sum / (double)job_groups;
    r.merged.meta = {{"consensus", {{"sets", n_sets}, {"quorum", options.quorum}, {"quorum_votes", r.quorum_votes}}}};
    return r;
}

Json consensus_report_to_json(const ConsensusReport& r, const std::vector<std::string>& names) {
    const ConsensusOptions& o = r.options;
    Json settings = {{"quorum", o.quorum}, {"quorum_votes", r.quorum_votes}, {"threshold", o.threshold},
                     {"oks_sigma", o.similarity.oks_sigma}, {"min_point_area", o.similarity.min_point_area},
                     {"line_band", o.similarity.line_band}, {"ellipse_segments", o.similarity.ellipse_segments}};
    Json sets = Json::array();
    for (size_t s = 0; s < r.sets; ++s)
        sets.push_back({{"index", s}, {"name", s < names.size() ? Json(names[s]) : Json(nullptr)},
                        {"shapes", r.per_set_shapes[s]}, {"agreement", opt(r.per_set[s])}});
    Json frames = Json::array();
    std::map<long long, std::pair<size_t, size_t>> counts;  // groups, accepted
    for (const ConsensusGroup& g : r.groups) {
        ++counts[g.frame].first;
        if (g.accepted) ++counts[g.frame].second;
    }
    for (const auto& [frame, a] : r.per_frame) {
        auto c = counts[frame];
        frames.push_back({{"frame", frame}, {"agreement", opt(a)}, {"groups", c.first}, {"merged", c.second}});
    }
    // Per label (each group's voted label): groups, merged, mean agreement; labels sorted.
    struct LabelAgreement { long long groups = 0, merged = 0; double sum = 0; };
    std::map<std::string, LabelAgreement> by_label;
    for (const ConsensusGroup& g : r.groups) {
        LabelAgreement& l = by_label[g.label];
        ++l.groups;
        l.merged += g.accepted ? 1 : 0;
        l.sum += g.agreement;
    }
    Json labels = Json::array();
    for (const auto& [label, l] : by_label)
        labels.push_back({{"label", label}, {"groups", l.groups}, {"merged", l.merged}, {"agreement", l.sum / (double)l.groups}});
    Json groups = Json::array();
    size_t accepted = 0;
    for (const ConsensusGroup& g : r.groups) {
        Json members = Json::array();
        for (const ConsensusMember& m : g.members) members.push_back({{"set", m.set}, {"id", m.id}, {"agreement", m.agreement}});
        groups.push_back({{"frame", g.frame}, {"label", g.label}, {"agreement", g.agreement}, {"merged", g.accepted ? Json(g.merged_id) : Json(nullptr)},
                          {"members", members}});
        accepted += g.accepted ? 1 : 0;
    }
    return Json{{"format", kConsensusReportFormat}, {"version", kQualityReportVersion}, {"settings", settings},
                {"sets", sets}, {"job", {{"agreement", opt(r.job)}, {"groups", r.groups.size()}, {"merged", accepted}}},
                {"per_frame", frames}, {"per_label", labels}, {"groups", groups}};
}

}  // namespace pm
