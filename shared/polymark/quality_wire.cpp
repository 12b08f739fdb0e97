#include "polymark/quality_wire.hpp"

#include "polymark/prelabel.hpp"
#include "polymark/quality.hpp"
#include "polymark/throughput.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace pm {
namespace {

Errors under(const std::string& prefix, Errors errors) {
    for (Error& e : errors) e.path = prefix + e.path;
    return errors;
}

Json failed(const Errors& errors) {
    Json list = Json::array();
    for (const Error& e : errors) list.push_back(Json{{"code", e.code}, {"path", e.path}, {"message", e.message}});
    return Json{{"errors", std::move(list)}};
}

Error bad(const std::string& path, const std::string& message, const char* code = "bad_argument") {
    return Error{code, path, message};
}

// A number option: absent is `fallback`; otherwise finite and within [lo, hi].
Expected<double> number(const Json& call, const char* key, double fallback, double lo, double hi) {
    if (!call.contains(key)) return fallback;
    const Json& v = call[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo || v.get<double>() > hi)
        return bad(std::string("/") + key, std::string(key) + " must be a number from " + Json(lo).dump() + " to " + Json(hi).dump());
    return v.get<double>();
}

Expected<std::vector<long long>> frame_list(const Json& v, const std::string& path) {
    std::vector<long long> frames;
    if (v.is_null()) return frames;
    if (!v.is_array()) return bad(path, "frames must be an array of frame numbers");
    for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number_integer() || v[i].get<long long>() < 0)
            return bad(path + "/" + std::to_string(i), "a frame number must be an integer of 0 or more");
        frames.push_back(v[i].get<long long>());
    }
    return frames;
}

Expected<Document> document_at(const Json& call, const std::string& key) {
    if (!call.contains(key)) return bad("/" + key, key + " (an annotation document) is missing", "missing");
    auto doc = document_from_json(call[key]);
    if (!doc) return under("/" + key, doc.errors());
    return doc;
}

Expected<SimilarityOptions> similarity_options(const Json& call) {
    SimilarityOptions s;
    auto sigma = number(call, "sigma", s.oks_sigma, 1e-6, 100);
    if (!sigma) return sigma.errors();
    auto band = number(call, "band", s.line_band, 0, 1e9);
    if (!band) return band.errors();
    s.oks_sigma = sigma.value();
    s.line_band = band.value();
    return s;
}

Json golden(const Json& call) {
    auto gt = document_at(call, "gt");
    if (!gt) return failed(gt.errors());
    auto job = document_at(call, "job");
    if (!job) return failed(job.errors());
    auto threshold = number(call, "threshold", 0.5, 0, 1);
    auto similarity = similarity_options(call);
    auto frames = frame_list(call.value("frames", Json()), "/frames");
    if (!threshold) return failed(threshold.errors());
    if (!similarity) return failed(similarity.errors());
    if (!frames) return failed(frames.errors());
    QualityOptions options;
    options.threshold = threshold.value();
    options.similarity = similarity.value();
    options.frames = frames.value();
    auto all = quality_report(gt.value(), job.value(), options);
    if (!all) return failed(all.errors());

    Json labelers = Json::array();
    const Json& list = call.value("labelers", Json::array());
    if (!list.is_array()) return failed({bad("/labelers", "labelers must be an array of {name, frames}")});
    const std::set<long long> golden_frames(options.frames.begin(), options.frames.end());
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string at = "/labelers/" + std::to_string(i);
        if (!list[i].is_object() || !list[i].value("name", Json()).is_string())
            return failed({bad(at + "/name", "a labeler needs a name (a string)")});
        auto theirs = frame_list(list[i].value("frames", Json::array()), at + "/frames");
        if (!theirs) return failed(theirs.errors());
        QualityOptions mine = options;
        mine.frames.clear();
        for (long long f : theirs.value())
            if (golden_frames.empty() || golden_frames.count(f)) mine.frames.push_back(f);
        Json entry{{"name", list[i]["name"]}, {"frames", mine.frames}};
        // A labeler none of whose frames is golden has no score, rather than one over every frame.
        if (mine.frames.empty()) {
            entry["report"] = nullptr;
        } else {
            auto r = quality_report(gt.value(), job.value(), mine);
            if (!r) return failed(r.errors());
            entry["report"] = quality_report_to_json(r.value());
        }
        labelers.push_back(std::move(entry));
    }
    return Json{{"report", quality_report_to_json(all.value())}, {"labelers", std::move(labelers)}};
}

Json consensus_of(const Json& call) {
    const Json& list = call.value("sets", Json());
    if (!list.is_array() || list.size() < 2)
        return failed({bad("/sets", "consensus needs two or more annotation documents in sets")});
    std::vector<Document> sets;
    for (size_t i = 0; i < list.size(); ++i) {
        auto doc = document_from_json(list[i]);
        if (!doc) return failed(under("/sets/" + std::to_string(i), doc.errors()));
        sets.push_back(std::move(doc.value()));
    }
    std::vector<std::string> names;
    const Json& given = call.value("names", Json::array());
    for (size_t i = 0; i < sets.size(); ++i)
        names.push_back(given.is_array() && i < given.size() && given[i].is_string() ? given[i].get<std::string>()
                                                                                   : "set " + std::to_string(i + 1));
    auto quorum = number(call, "quorum", 0.5, 1e-9, 1);
    auto threshold = number(call, "threshold", 0.5, 0, 1);
    auto similarity = similarity_options(call);
    auto frames = frame_list(call.value("frames", Json()), "/frames");
    if (!quorum) return failed(quorum.errors());
    if (!threshold) return failed(threshold.errors());
    if (!similarity) return failed(similarity.errors());
    if (!frames) return failed(frames.errors());
    ConsensusOptions options;
    options.quorum = quorum.value();
    options.threshold = threshold.value();
    options.similarity = similarity.value();
    options.frames = frames.value();
    if (call.value("id_prefix", Json()).is_string()) options.id_prefix = call["id_prefix"].get<std::string>();
    auto r = consensus(sets, options);
    if (!r) return failed(r.errors());
    return Json{{"report", consensus_report_to_json(r.value(), names)}, {"merged", document_to_json(r->merged)}};
}

Json throughput(const Json& call) {
    if (!call.contains("history")) return failed({bad("/history", "history (a history reply) is missing", "missing")});
    auto entries = history_entries_from_json(call["history"]);
    if (!entries) return failed(under("/history", entries.errors()));
    std::vector<Decision> decisions;
    if (call.contains("review")) {
        auto d = decisions_from_json(call["review"], "/review");
        if (!d) return failed(d.errors());
        decisions = std::move(d.value());
    }
    std::optional<Document> doc;
    if (call.contains("document")) {
        auto d = document_at(call, "document");
        if (!d) return failed(d.errors());
        doc = std::move(d.value());
    }
    return Json{{"report", throughput_report_to_json(throughput_report(entries.value(), decisions, doc ? &*doc : nullptr))}};
}

Json prelabels(const Json& call) {
    if (!call.contains("history")) return failed({bad("/history", "history (a history reply) is missing", "missing")});
    auto entries = history_value_entries_from_json(call["history"]);
    if (!entries) return failed(under("/history", entries.errors()));
    auto doc = document_at(call, "document");
    if (!doc) return failed(doc.errors());
    auto width = number(call, "band_width", 0.1, 0.001, 1);
    if (!width) return failed(width.errors());
    PrelabelOptions options;
    options.band_width = width.value();
    auto r = prelabel_report(entries.value(), doc.value(), options);
    if (!r) return failed(r.errors());
    return Json{{"report", prelabel_report_to_json(r.value())}};
}

}  // namespace

Expected<std::vector<Decision>> decisions_from_json(const Json& j, const std::string& at) {
    // Values and their pointers, oldest first.
    std::vector<std::pair<const Json*, std::string>> values;
    if (j.is_object() && j.contains("changes") && j["changes"].is_array()) {
        const Json& changes = j["changes"];
        for (size_t i = 0; i < changes.size(); ++i) {
            const Json& c = changes[i];
            if (c.is_object() && c.value("kind", "") == "decision" && c.contains("value") && !c["value"].is_null())
                values.emplace_back(&c["value"], at + "/changes/" + std::to_string(i) + "/value");
        }
    } else if (j.is_array()) {
        for (size_t i = 0; i < j.size(); ++i) values.emplace_back(&j[i], at + "/" + std::to_string(i));
    } else {
        return bad(at.empty() ? "/" : at, "expected a review reply ({\"changes\": [...]}) or an array of decisions");
    }
    std::vector<Decision> out;
    for (const auto& [value, path] : values) {
        auto d = decision_from_json(*value, path);
        if (!d) return d.errors();
        out.push_back(std::move(d.value()));
    }
    return out;
}

Json quality_call(const Json& call) {
    if (!call.is_object() || !call.value("op", Json()).is_string())
        return failed({bad("/op", "a quality call is an object whose op is golden, consensus, throughput or prelabels")});
    const std::string op = call["op"].get<std::string>();
    if (op == "golden") return golden(call);
    if (op == "consensus") return consensus_of(call);
    if (op == "throughput") return throughput(call);
    if (op == "prelabels") return prelabels(call);
    return failed({bad("/op", "unknown op \"" + op + "\": golden, consensus, throughput or prelabels")});
}

std::string quality_call_text(std::string_view text) {
    Json call = parse_json_or_discarded(text);
    if (call.is_discarded()) return failed({bad("", "the quality call is not JSON", "bad_json")}).dump();
    return quality_call(call).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace pm
