// Quality measures of issue 17 (docs/QUALITY.md): a labeler's annotations against a golden set
// (valid, missing, extra, mislabelled; accuracy, precision, recall; attribute agreement; a
// confusion table), and consensus over N labelers' sets (groups, quorum, merged shapes, agreement).
// Tracks are compared frame by frame: their shapes on each frame as shapes_on_frame gives them.
// Units: image pixels, frames are 0-based indices. Depends on the document, interpolation and
// similarity only; no I/O; never throws on outside data (errors are values).
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/similarity.hpp"
#include "polymark/task.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pm {

inline constexpr const char* kQualityReportFormat = "polymark.quality-report";
inline constexpr const char* kConsensusReportFormat = "polymark.consensus-report";
inline constexpr int kQualityReportVersion = 1;

struct QualityOptions {
    double threshold = 0.5;      // a pair matches at similarity >= threshold
    double low_overlap = 0.8;    // valid pairs below this are listed as warnings
    SimilarityOptions similarity;
    // The frames to compare; empty: every frame from 0 to the last frame either side uses.
    std::vector<long long> frames;
    // Optional: the task, for media spans (a track stops at its medium's end).
    const Task* task = nullptr;
};

// [SECTION] Golden comparison

struct LabelCounts {
    long long gt = 0, job = 0;          // shapes of the label in the golden set and in the job
    long long valid = 0;                // matched, same label
    long long missing = 0;              // golden shapes not matched at all
    long long extra = 0;                // job shapes not matched at all
    long long mislabelled_gt = 0;       // golden shapes of this label matched to another label
    long long mislabelled_job = 0;      // job shapes of this label matched to another label's shape
    long long attribute_pairs = 0, attribute_agreeing = 0;  // valid pairs, and those whose attributes agree
    void add(const LabelCounts& o);
    // null (nullopt) when the denominator is 0
    std::optional<double> accuracy() const;   // valid / (gt + job - valid)
    std::optional<double> precision() const;  // valid / job
    std::optional<double> recall() const;     // valid / gt
    std::optional<double> attribute_agreement() const;
};

struct MatchedPair {
    long long frame = 0;
    std::string gt_id, job_id, gt_label, job_label;
    double similarity = 0;
    bool attributes_agree = true;
};

struct FrameQuality {
    long long frame = 0;
    LabelCounts totals;
};

struct QualityReport {
    QualityOptions options;
    LabelCounts totals;
    std::map<std::string, LabelCounts> per_label;
    std::vector<FrameQuality> per_frame;
    // confusion[gt label][job label]; "" stands for none (missing: job ""; extra: gt "").
    std::map<std::string, std::map<std::string, long long>> confusion;
    std::vector<MatchedPair> pairs;         // every matched pair, valid and mislabelled
    std::vector<MatchedPair> low_overlap;   // valid pairs with similarity < options.low_overlap
    std::vector<std::string> missing_ids, extra_ids;  // "frame:id"
};

// Matching on one frame: first shapes of the same label (Hungarian on similarity, pairs below the
// threshold dropped), then what is left regardless of label (those pairs are mislabelled).
QualityReport compare_with_golden(const Document& gt, const Document& job, const QualityOptions& options,
                                  Errors* errors = nullptr);
// As above with the inputs checked first: a non-finite coordinate or option is an error.
Expected<QualityReport> quality_report(const Document& gt, const Document& job, const QualityOptions& options);
Json quality_report_to_json(const QualityReport& r);

// [SECTION] Consensus

struct ConsensusOptions {
    double quorum = 0.5;      // a group needs ceil(N * quorum) members (at least 1)
    double threshold = 0.5;   // a shape joins a group at mean similarity >= threshold
    SimilarityOptions similarity;
    std::vector<long long> frames;
    const Task* task = nullptr;
    std::string id_prefix = "consensus";  // merged objects are "<prefix>.<frame>.<n>"
};

struct ConsensusMember {
    size_t set = 0;           // which labeler (index of the input set)
    std::string id;           // the object or track id in that set
    double agreement = 0;     // mean similarity to the other sets' members (0 for an absent set)
};

struct ConsensusGroup {
    long long frame = 0;
    std::vector<ConsensusMember> members;   // in set order
    std::string label;                      // the members' labels by vote (ties: the earliest set)
    double agreement = 0;                   // mean over all pairs of sets
    bool accepted = false;                  // members >= quorum
    std::string merged_id;                  // when accepted
};

struct ConsensusReport {
    size_t sets = 0;
    size_t quorum_votes = 0;
    ConsensusOptions options;
    std::vector<ConsensusGroup> groups;
    std::map<long long, std::optional<double>> per_frame;   // mean group agreement; null: no groups
    std::vector<std::optional<double>> per_set;             // mean agreement of the set's shapes
    std::vector<long long> per_set_shapes;
    std::optional<double> job;                              // mean over every group
    Document merged;                                        // one object per accepted group
};

Expected<ConsensusReport> consensus(const std::vector<Document>& sets, const ConsensusOptions& options);
// The report without the merged document (that is written as a document of its own).
Json consensus_report_to_json(const ConsensusReport& r, const std::vector<std::string>& set_names = {});

// ceil(n * q), at least 1 and at most n; q outside (0, 1] is clamped.
size_t quorum_votes(size_t n, double q);

}  // namespace pm
