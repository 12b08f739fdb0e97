#include "polymark/prelabel.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace pm {

namespace {

// A score the queue and the bands can rank: none for an absent or non-finite one.
std::optional<double> usable(const std::optional<double>& score) {
    return score && std::isfinite(*score) ? score : std::nullopt;
}

double rank_of(const std::optional<double>& score) { return score ? *score : 0.0; }

std::vector<Attribute> by_id(std::vector<Attribute> attributes) {
    std::sort(attributes.begin(), attributes.end(), [](const Attribute& a, const Attribute& b) { return a.id < b.id; });
    return attributes;
}

// What a person can change of a prediction: the shape and what it says, not who made it.
bool same_prediction(const Object& a, const Object& b) {
    return a.type == b.type && a.label == b.label && a.points == b.points && a.rotation == b.rotation &&
           by_id(a.attributes) == by_id(b.attributes);
}

bool same_prediction(const Track& a, const Track& b) {
    if (a.type != b.type || a.label != b.label || by_id(a.attributes) != by_id(b.attributes) ||
        a.keyframes.size() != b.keyframes.size())
        return false;
    for (size_t i = 0; i < a.keyframes.size(); ++i) {
        const Keyframe &x = a.keyframes[i], &y = b.keyframes[i];
        if (x.frame != y.frame || x.points != y.points || x.rotation != y.rotation || x.outside != y.outside ||
            by_id(x.attributes) != by_id(y.attributes))
            return false;
    }
    return true;
}

std::optional<double> lowest_keyframe_score(const Track& t) {
    std::optional<double> lowest;
    for (const Keyframe& k : t.keyframes)
        if (auto s = usable(k.score); s && (!lowest || *s < *lowest)) lowest = s;
    return lowest;
}

bool is_item(const std::string& kind) { return kind == "object" || kind == "track"; }

constexpr double kBandTolerance = 1e-9;

int band_count(double width) { return std::max(1, (int)std::ceil(1.0 / width - kBandTolerance)); }

// A band edge as people write it: 0.3, not 0.30000000000000004.
double band_edge(int band, double width) { return std::min(1.0, std::round(band * width * 1e9) / 1e9); }

}  // namespace

// [SECTION] Pending predictions and the queue

bool is_pending_prediction(const Object& o) { return o.source == Source::Model; }
bool is_pending_prediction(const Keyframe& k) { return k.source == Source::Model; }
bool is_pending_prediction(const Track& t) {
    return t.source == Source::Model ||
           std::any_of(t.keyframes.begin(), t.keyframes.end(), [](const Keyframe& k) { return is_pending_prediction(k); });
}

std::string prediction_note(const Object& o) {
    if (!is_pending_prediction(o)) return "";
    if (!o.score || !std::isfinite(*o.score)) return "  model";
    const long long hundredths = std::llround(std::fabs(*o.score) * 100);  // two decimals, as a person reads a score
    const std::string cents = std::to_string(hundredths % 100);
    return std::string("  model ") + (*o.score < 0 ? "-" : "") + std::to_string(hundredths / 100) + "." + (cents.size() < 2 ? "0" : "") + cents;
}

std::vector<PredictionFrame> prediction_queue(const Document& doc) {
    struct Pending {
        long long frame;
        std::optional<double> score;
        const std::string* id;
    };
    std::vector<Pending> pending;
    for (const Object& o : doc.objects)
        if (is_pending_prediction(o)) pending.push_back({o.frame, usable(o.score), &o.id});
    for (const Track& t : doc.tracks) {
        bool listed = false;
        for (const Keyframe& k : t.keyframes)
            if (is_pending_prediction(k)) {
                pending.push_back({k.frame, usable(k.score), &t.id});
                listed = true;
            }
        if (!listed && t.source == Source::Model && !t.keyframes.empty())
            pending.push_back({t.keyframes.front().frame, usable(t.keyframes.front().score), &t.id});
    }
    std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
        if (a.frame != b.frame) return a.frame < b.frame;
        if (rank_of(a.score) != rank_of(b.score)) return rank_of(a.score) < rank_of(b.score);
        return *a.id < *b.id;
    });
    std::vector<PredictionFrame> frames;
    for (const Pending& p : pending) {
        if (frames.empty() || frames.back().frame != p.frame) {
            PredictionFrame f;
            f.frame = p.frame;
            f.lowest_score = p.score;  // the frame's first is its lowest
            frames.push_back(std::move(f));
        } else if (!p.score) {
            frames.back().lowest_score = std::nullopt;  // a tie at 0 with a no-score one: none
        }
        PredictionFrame& f = frames.back();
        ++f.count;
        // A track with several model keyframes on distinct frames is listed once per frame.
        if (f.ids.empty() || f.ids.back() != *p.id) f.ids.push_back(*p.id);
    }
    std::stable_sort(frames.begin(), frames.end(), [](const PredictionFrame& a, const PredictionFrame& b) {
        return rank_of(a.lowest_score) < rank_of(b.lowest_score);
    });
    return frames;
}

// [SECTION] Accepting

Object accepted(Object o) {
    o.source = Source::Manual;
    return o;
}

Keyframe accepted(Keyframe k) {
    k.source = Source::Manual;
    return k;
}

Track accepted(Track t) {
    t.source = Source::Manual;
    for (Keyframe& k : t.keyframes) k = accepted(std::move(k));
    return t;
}

// [SECTION] Report

Expected<std::vector<HistoryValueEntry>> history_value_entries_from_json(const Json& reply) {
    auto entries = history_entries_from_json(reply);
    if (!entries) return entries.errors();
    // history_entries_from_json keeps one entry per element, in order, when it succeeds.
    const Json& list = reply.is_object() ? *reply.find("entries") : reply;
    std::string base = reply.is_object() ? "/entries" : "";
    std::vector<HistoryValueEntry> out;
    out.reserve(entries->size());
    for (size_t i = 0; i < entries->size(); ++i) {
        HistoryValueEntry h;
        h.entry = std::move(entries.value()[i]);
        const Json& e = list[i];
        if (auto v = e.find("value"); v != e.end()) h.value = *v;
        if (auto w = e.find("was"); w != e.end()) h.was = *w;
        h.path = base + "/" + std::to_string(i);
        out.push_back(std::move(h));
    }
    return out;
}

const char* to_string(PredictionOutcome o) {
    switch (o) {
        case PredictionOutcome::AcceptedUnchanged: return "accepted_unchanged";
        case PredictionOutcome::Edited: return "edited";
        case PredictionOutcome::Rejected: return "rejected";
        case PredictionOutcome::Pending: return "pending";
    }
    return "pending";
}

void PrelabelCounts::add(PredictionOutcome o) {
    switch (o) {
        case PredictionOutcome::AcceptedUnchanged: ++accepted_unchanged; break;
        case PredictionOutcome::Edited: ++edited; break;
        case PredictionOutcome::Rejected: ++rejected; break;
        case PredictionOutcome::Pending: ++pending; break;
    }
}

void PrelabelCounts::add(const PrelabelCounts& o) {
    accepted_unchanged += o.accepted_unchanged;
    edited += o.edited;
    rejected += o.rejected;
    pending += o.pending;
}

std::optional<double> PrelabelCounts::acceptance_rate() const {
    if (decided() == 0) return std::nullopt;
    return (double)(accepted_unchanged + edited) / (double)decided();
}

int score_band(const std::optional<double>& score, double band_width) {
    if (!usable(score)) return -1;
    int last = band_count(band_width) - 1;
    double k = std::floor(*score / band_width + kBandTolerance);
    return (int)std::clamp(k, 0.0, (double)last);
}

namespace {

// One life of an id in the history: from the entry that made it to the delete that ended it.
struct Life {
    std::string kind, id;
    const Json* first_value = nullptr;  // null when the first entry carries none
    std::string first_path;             // its pointer ("/entries/3/value")
    bool deleted = false;
};

template <class Item>
PredictionOutcome outcome_of(const Life& life, const Item& predicted, const Item* now) {
    if (life.deleted || !now) return PredictionOutcome::Rejected;
    if (!same_prediction(predicted, *now)) return PredictionOutcome::Edited;
    return now->source == Source::Model ? PredictionOutcome::Pending : PredictionOutcome::AcceptedUnchanged;
}

}  // namespace

Expected<PrelabelReport> prelabel_report(const std::vector<HistoryValueEntry>& history, const Document& current,
                                         const PrelabelOptions& options) {
    if (!(options.band_width >= 0.001 && options.band_width <= 1))
        return Error{"out_of_range", "band_width", "the score band width must be a number from 0.001 to 1"};
    PrelabelReport r;
    r.options = options;
    r.bands = band_count(options.band_width);

    std::vector<size_t> order(history.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return history[a].entry.revision < history[b].entry.revision; });

    // Every item value in the history is read, so that a bad one is named whether or not it counts.
    Errors errors;
    auto check = [&](const HistoryValueEntry& h, const Json& value, const char* key) {
        if (value.is_null() || errors.size() >= 100) return;
        std::string path = h.path + "/" + key;
        auto add = [&](const auto& read) {
            if (!read) errors.insert(errors.end(), read.errors().begin(), read.errors().end());
        };
        if (h.entry.kind == "object") add(object_from_json(value, path));
        else add(track_from_json(value, path));
    };
    std::vector<Life> lives;
    std::unordered_map<std::string, size_t> open;  // id -> its life, while not deleted
    for (size_t i : order) {
        const HistoryValueEntry& h = history[i];
        const HistoryEntry& e = h.entry;
        if (!is_item(e.kind) || e.id.empty()) continue;
        if (e.op != "create" && e.op != "update" && e.op != "delete") continue;
        check(h, h.value, "value");
        check(h, h.was, "was");
        auto it = open.find(e.id);
        if (it == open.end()) {
            Life life;
            life.kind = e.kind;
            life.id = e.id;
            // A delete met first (its create before the history's first page) shows what it removed.
            const Json& v = e.op == "delete" ? h.was : h.value;
            if (!v.is_null()) {
                life.first_value = &v;
                life.first_path = h.path + (e.op == "delete" ? "/was" : "/value");
            }
            it = open.emplace(e.id, lives.size()).first;
            lives.push_back(std::move(life));
        }
        if (e.op == "delete") {
            lives[it->second].deleted = true;
            open.erase(it);
        }
    }
    if (!errors.empty()) return errors;

    std::unordered_map<std::string, const Object*> objects;
    std::unordered_map<std::string, const Track*> tracks;
    for (const Object& o : current.objects) objects.emplace(o.id, &o);
    for (const Track& t : current.tracks) tracks.emplace(t.id, &t);

    for (const Life& life : lives) {
        if (!life.first_value) {
            ++r.without_value;
            continue;
        }
        PredictionResult p;
        p.kind = life.kind;
        p.id = life.id;
        if (life.kind == "object") {
            auto read = object_from_json(*life.first_value, life.first_path);  // read above without errors
            if (!read || read->source != Source::Model) continue;
            const Object& predicted = read.value();
            auto now = objects.find(life.id);
            p.label = predicted.label;
            p.score = usable(predicted.score);
            p.outcome = outcome_of(life, predicted, now == objects.end() ? nullptr : now->second);
        } else {
            auto read = track_from_json(*life.first_value, life.first_path);
            if (!read || read->source != Source::Model) continue;
            const Track& predicted = read.value();
            auto now = tracks.find(life.id);
            p.label = predicted.label;
            p.score = lowest_keyframe_score(predicted);
            p.outcome = outcome_of(life, predicted, now == tracks.end() ? nullptr : now->second);
        }
        int band = score_band(p.score, options.band_width);
        r.totals.add(p.outcome);
        r.per_label[p.label].add(p.outcome);
        r.per_band[band].add(p.outcome);
        r.per_label_band[p.label][band].add(p.outcome);
        r.predictions.push_back(std::move(p));
    }
    return r;
}

namespace {

Json counts_json(const PrelabelCounts& c) {
    auto rate = c.acceptance_rate();
    return Json{{"accepted_unchanged", c.accepted_unchanged}, {"edited", c.edited}, {"rejected", c.rejected},
                {"pending", c.pending}, {"predictions", c.predictions()}, {"decided", c.decided()},
                {"acceptance_rate", rate ? Json(*rate) : Json(nullptr)}};
}

// "0", "0.3", "1": the shortest text that reads back as the edge, without JSON's ".0".
std::string edge_text(double edge) {
    std::string text = Json(edge).dump();
    if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
    return text;
}

Json band_json(int band, const PrelabelReport& r, const PrelabelCounts& c) {
    Json j = counts_json(c);
    if (band < 0) {
        j["band"] = "none";
        j["from"] = nullptr;
        j["to"] = nullptr;
        return j;
    }
    double from = band_edge(band, r.options.band_width), to = band_edge(band + 1, r.options.band_width);
    bool last = band == r.bands - 1;
    j["band"] = "[" + edge_text(from) + "," + edge_text(last ? 1.0 : to) + (last ? "]" : ")");
    j["from"] = from;
    j["to"] = last ? 1.0 : to;
    return j;
}

}  // namespace

Json prelabel_report_to_json(const PrelabelReport& r) {
    // Every band, empty ones too, so that the distribution reads at a glance; "none" last.
    Json bands = Json::array();
    for (int b = 0; b < r.bands; ++b) {
        auto it = r.per_band.find(b);
        bands.push_back(band_json(b, r, it == r.per_band.end() ? PrelabelCounts{} : it->second));
    }
    auto none = r.per_band.find(-1);
    bands.push_back(band_json(-1, r, none == r.per_band.end() ? PrelabelCounts{} : none->second));
    Json labels = Json::array();
    for (const auto& [label, counts] : r.per_label) {
        Json l = counts_json(counts);
        l["label"] = label;
        Json per_band = Json::array();  // only the bands the label has predictions in, "none" last
        auto it = r.per_label_band.find(label);
        if (it != r.per_label_band.end()) {
            for (const auto& [band, c] : it->second)
                if (band >= 0) per_band.push_back(band_json(band, r, c));
            if (auto n = it->second.find(-1); n != it->second.end()) per_band.push_back(band_json(-1, r, n->second));
        }
        l["bands"] = std::move(per_band);
        labels.push_back(std::move(l));
    }
    return Json{{"format", kPrelabelReportFormat}, {"version", kPrelabelReportVersion},
                {"settings", {{"band_width", r.options.band_width}}}, {"totals", counts_json(r.totals)},
                {"without_value", r.without_value}, {"bands", std::move(bands)}, {"labels", std::move(labels)}};
}

}  // namespace pm
