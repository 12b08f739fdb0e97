// Model pre-labels (issue 17): predictions (`source: "model"` with a `score`) that people confirm.
// The queue of frames whose pending predictions most need a look (lowest score first), the accept
// transform (a prediction becomes a person's shape and keeps its score), and the report of what
// became of each prediction in a task's history: accepted unchanged, accepted after edits,
// rejected, still pending; per predicted label and per score band. docs/QUALITY.md, "Model
// pre-labels". Depends on the document model and the history reader of throughput; no I/O.
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/throughput.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pm {

inline constexpr const char* kPrelabelReportFormat = "polymark.prelabel-report";
inline constexpr int kPrelabelReportVersion = 1;

// [SECTION] Pending predictions and the queue

// Still a model's prediction: source Model. A track is pending while it or any of its keyframes is.
bool is_pending_prediction(const Object& o);
bool is_pending_prediction(const Keyframe& k);
bool is_pending_prediction(const Track& t);
// What the objects list adds to a pending prediction's row: "  model 0.42" ("  model" without a
// score); "" for anything else.
std::string prediction_note(const Object& o);

struct PredictionFrame {
    long long frame = 0;
    // The lowest score of the frame's pending predictions; none when one of them has no score
    // (a prediction without a score, or with a non-finite one, ranks as score 0).
    std::optional<double> lowest_score;
    long long count = 0;           // pending predictions on the frame
    std::vector<std::string> ids;  // their object or track ids, lowest score first, then id
};

// The frames holding pending predictions, lowest score first (none counting as 0), then frame
// ascending. An object counts on its frame. A track counts on the frame of every keyframe whose
// source is Model (with that keyframe's score); a track of source Model none of whose keyframes
// is, counts once on its first keyframe's frame with that keyframe's score.
std::vector<PredictionFrame> prediction_queue(const Document& doc);

// [SECTION] Accepting

// A prediction made a person's shape: source Manual, the score kept (exports and the report still
// know the model's confidence). Anything else is returned unchanged but for the source.
Object accepted(Object o);
Keyframe accepted(Keyframe k);
Track accepted(Track t);  // the track and every keyframe

// [SECTION] Report

// A history entry with the item values it carries: `value` (what a create or update wrote) and
// `was` (what a delete removed, schema version 5 on); null where absent.
struct HistoryValueEntry {
    HistoryEntry entry;
    Json value;
    Json was;
    std::string path;  // the entry's JSON pointer in the reply ("/entries/3")
};

// As history_entries_from_json (the same errors), with the values kept for the report.
Expected<std::vector<HistoryValueEntry>> history_value_entries_from_json(const Json& reply);

enum class PredictionOutcome { AcceptedUnchanged, Edited, Rejected, Pending };
const char* to_string(PredictionOutcome o);

struct PrelabelOptions {
    double band_width = 0.1;  // score bands [0, w), [w, 2w), ..., the last one closed at 1
};

struct PrelabelCounts {
    long long accepted_unchanged = 0, edited = 0, rejected = 0, pending = 0;
    void add(PredictionOutcome o);
    void add(const PrelabelCounts& o);
    long long predictions() const { return accepted_unchanged + edited + rejected + pending; }
    long long decided() const { return accepted_unchanged + edited + rejected; }
    std::optional<double> acceptance_rate() const;  // (accepted_unchanged + edited) / decided; none when 0
};

// One prediction of the history and what became of it.
struct PredictionResult {
    std::string kind;  // "object" or "track"
    std::string id;
    std::string label;            // the predicted label (of the first value)
    std::optional<double> score;  // the predicted score (a track's: its lowest keyframe score)
    PredictionOutcome outcome = PredictionOutcome::Pending;
};

struct PrelabelReport {
    PrelabelOptions options;
    int bands = 0;  // number of score bands; band b is [b * width, (b + 1) * width)
    PrelabelCounts totals;
    std::map<std::string, PrelabelCounts> per_label;
    std::map<int, PrelabelCounts> per_band;  // -1: no score
    std::map<std::string, std::map<int, PrelabelCounts>> per_label_band;
    std::vector<PredictionResult> predictions;  // in the order of their first entry
    // Items (lives of an id) whose first entry carries no value: whether they were predictions
    // cannot be told, and they are not counted above. serve.py (schema 7 on) keeps the value of a
    // prediction's create only, so against it this counts the items people made.
    long long without_value = 0;
};

// Band of a score: floor(score / width) with a tolerance of 1e-9 bands (0.3 lies in [0.3, 0.4)
// although 0.3 / 0.1 is below 3 in binary), the last band closed at 1; -1 for none.
int score_band(const std::optional<double>& score, double band_width);

// What became of every prediction in `history` (oldest first, as serve.py writes it; sorted by
// revision inside), `current` being the task's document now. An id's life runs from an entry
// that creates it (or its first entry) to its delete; a later create starts another life. A life
// whose first value has source model is a prediction; its outcome:
// - rejected: the life ends with a delete, or the item is not in `current`;
// - otherwise, with the current value against the first one (type, label, points, rotation,
//   attributes; for tracks also every keyframe's frame, points, rotation, outside, attributes):
//   accepted_unchanged when no longer source model and equal; edited when different, whatever the
//   source (a person's change of a prediction accepts it); pending when still source model and
//   equal.
// A value that is not a valid object or track, or a bad band width, is an error with its pointer
// ("/entries/3/value/score"; "band_width" for the option).
Expected<PrelabelReport> prelabel_report(const std::vector<HistoryValueEntry>& history, const Document& current,
                                         const PrelabelOptions& options = {});
Json prelabel_report_to_json(const PrelabelReport& r);

}  // namespace pm
