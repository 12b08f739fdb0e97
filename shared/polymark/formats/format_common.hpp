// What every format reader and writer shares: numbers as text, unique ids, labels resolved
// against a task (or a task made on the way), images matched to frames, progress, counted notes.
// Internal to shared/polymark/formats; the public API is formats.hpp.
#pragma once
#include "polymark/formats/formats.hpp"
#include "polymark/interpolate.hpp"

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pm::formats {

inline constexpr double kPi = 3.14159265358979323846;  // M_PI is not standard C++

// Shortest text that reads back to the same double ("0.1", "12", "-3.5e-07").
std::string number_text(double v);
void append_number(std::string& out, double v);
// Whole-string parses ("12", "1.5e3", " 7" refused): finite doubles, integers within ±2^53.
// `text == literal` with the literal's length known where it is compiled, so that the comparison
// is inlined instead of a memcmp call (element and flag names, a million times in a big file).
template <size_t N>
bool equals(std::string_view text, const char (&literal)[N]) {
    return text.size() == N - 1 && std::memcmp(text.data(), literal, N - 1) == 0;
}

std::optional<double> parse_double(std::string_view s);
std::optional<long long> parse_integer(std::string_view s);

// Whether text is UTF-8 (no overlong forms, surrogates or code points past U+10FFFF); else the
// offset of the first bad byte in `bad_at`.
bool valid_utf8(std::string_view text, size_t& bad_at);

std::string_view base_name(std::string_view path);  // "a/b/c.txt" -> "c.txt"
std::string_view stem(std::string_view path);       // "a/b/c.txt" -> "c"
std::string lower(std::string_view s);

// "line:column" (1-based) of a byte offset in a text.
std::string text_position(std::string_view text, size_t offset);

Error cancelled_error();

// A file of the set parsed as JSON; an error names the file, and the JSON Pointer after "#".
Expected<Json> parse_file_json(const FileEntry& f);

// Calls the progress callback at most every 4096 steps. Returns false when cancelled.
class ProgressTicker {
public:
    ProgressTicker(const ProgressFn& fn, double from, double to) : fn_(fn), from_(from), to_(to) {}
    bool step(size_t done, size_t total) {
        if (!fn_ || (done & 4095) != 0 || total == 0) return true;
        return fn_(from_ + (to_ - from_) * double(done) / double(total));
    }
    bool at(double fraction) const { return !fn_ || fn_(from_ + (to_ - from_) * fraction); }

private:
    const ProgressFn& fn_;
    double from_, to_;
};

// Unique ids in the document's one namespace, made from hints ("a17", a file name, a class).
class IdMaker {
public:
    // The hint made valid (characters outside A-Z a-z 0-9 _ . : - become '_'), then ".2", ".3"...
    // until unused.
    std::string make(std::string_view hint);
    bool taken(std::string_view id) const;
    void reserve(std::string_view id) { insert(id); }

private:
    // An open-addressing set over one arena of text: a million ids take ~17 MB, not a node each.
    bool insert(std::string_view id);  // false when it was there
    size_t slot_of(std::string_view id) const;
    std::string arena_;             // every id, each followed by '\0'
    std::vector<uint32_t> slots_;   // arena offset + 1 of an id, 0 when empty; at most half full
    size_t count_ = 0;
};
std::string sanitized_id(std::string_view hint);

// Class and category names to label ids. With a task, names resolve to its labels (by id, then
// by name) and an unknown one is an error, or with `add_unknown` a made label; without, labels
// are added as met (id made from the name, name kept). Each attribute seen on a made label is
// added to it with a type that fits every value seen (checkbox, number over the values' range,
// text), so the made task accepts the document.
class LabelMap {
public:
    explicit LabelMap(const Task* given, bool add_unknown = false) : given_(given), add_unknown_(add_unknown) {}
    // The label id for a class name; nullopt when a given task has no such label (and none is added).
    std::optional<std::string> resolve(const std::string& name);
    // The id under which an attribute named `name` is stored for the label: a given task's
    // attribute with that id or name (else the name as it is); on a made task, a spec is added or
    // widened to fit `value`, its id made from the name.
    std::string attribute_id(const std::string& label_id, const std::string& name, const Json& value, bool is_mutable = false);
    // Adds a spec the file declares (CVAT's meta) to a made task's label; ignored with a given task.
    void define_attribute(const std::string& label_id, AttributeSpec spec);
    // The labels of a made task, in the order met (unused ones given by `declare` included).
    void declare(const std::string& name) { if (!given_) resolve(name); }
    // A given task's labels then the made ones.
    std::vector<LabelSpec> labels() const;
    const std::vector<LabelSpec>& made() const { return made_; }
    const LabelSpec* spec(const std::string& label_id) const;

private:
    const LabelSpec* made_spec(const std::string& label_id) const;
    LabelSpec* made_spec(const std::string& label_id);

    const Task* given_;
    bool add_unknown_;
    std::vector<LabelSpec> made_;
    std::unordered_map<std::string, std::string> by_name_;
    std::set<std::string> used_ids_;
};

// The label's name for writing (the task's name for it, else the id).
std::string label_name(const Task& task, const std::string& label_id);
// An attribute's name for writing (the label's spec name for it, else the id), and its spec.
std::string attribute_name(const Task& task, const std::string& label_id, const std::string& attribute_id);
const AttributeSpec* attribute_spec(const Task& task, const std::string& label_id, const std::string& attribute_id);

// One frame of a task seen as an image of a per-image format.
struct FrameImage {
    std::string name;  // the media's name (or file / url base name); video frames: "<name>#<local frame>"
    int width = 0, height = 0;
    size_t media_index = 0;
    long long local_frame = 0;
};
std::vector<FrameImage> frame_images(const Task& task);
std::string media_file_name(const Media& m);

// Images named by a format, to frames: with a task, by file name (or base name, or stem) among
// its media; without, each new name becomes the next image of the made task.
class ImageFrames {
public:
    explicit ImageFrames(const Task* given);
    // The frame of an image; nullopt when a given task has no such image.
    // `by_stem`: a name without its extension also matches (YOLO's "img1.txt" names "img1.jpg").
    std::optional<long long> frame_of(const std::string& name, int width, int height, bool by_stem = false);
    // The size known for a frame (the task's, else the file's), 0 when unknown.
    std::pair<int, int> size_of(long long frame) const;
    std::vector<Media> take_media() { return std::move(made_); }
    void reserve(size_t images) {
        if (!given_) made_.reserve(images);
        by_name_.reserve(images);
    }

private:
    const Task* given_;
    std::vector<Media> made_;
    std::unordered_map<std::string, long long> by_name_;
    std::vector<FrameImage> given_frames_;
    IdMaker media_ids_;
};

// The task an import returns: the given one, or one made of the images and labels met (the
// images' media are moved into it: call it last).
Task made_task(const Task* given, ImageFrames& images, const LabelMap& labels, const std::string& id);
// After made_task, the labels an import made may have learnt late (from later items) what their
// attributes are: one that varies along tracks lives on keyframes (a track that kept it on itself
// moves it to its first keyframe), and values typed before a later one widened the attribute to
// text, or added a choice, are read as that (the document then fits the task it comes with).
// An import into a given task: the labels it added (LabelMap's made ones), listed and settled.
void adopt_added_labels(Conversion& out, const LabelMap& labels);
// Only the labels in `made` when given (an import into a task settles none of the task's own).
void settle_made_attributes(Document& doc, Task& task, const std::vector<std::string>* made = nullptr);

// Lossy steps counted by kind, reported once each as "<count> <message>".
class Notes {
public:
    void add(const std::string& message, size_t count = 1);
    std::vector<std::string> list() const;

private:
    std::vector<std::pair<std::string, size_t>> items_;
};

// A prediction's confidence read from a file: source "model" and `score` when it lies within
// 0..1; a value outside (a percentage, a logit) stays in meta.score, counted in a note.
template <typename Shape>
void set_prediction_score(Shape& s, double score, Notes& notes) {
    s.source = Source::Model;
    if (score >= 0 && score <= 1) { s.score = score; return; }
    if (!s.meta.is_object()) s.meta = Json::object();
    s.meta["score"] = score;
    notes.add("scores outside 0..1 kept in meta.score");
}
// The confidence to write: `score`, else a number in meta.score (documents written before `score`).
template <typename Shape>
std::optional<double> prediction_score(const Shape& s) {
    if (s.score) return s.score;
    if (s.meta.is_object())
        if (auto it = s.meta.find("score"); it != s.meta.end() && it->is_number()) return it->template get<double>();
    return std::nullopt;
}

// Attribute values as text (CVAT, VOC) and back, typed by a spec when there is one.
std::string attribute_text(const Json& value);
Json attribute_from_text(const std::string& text, const AttributeSpec* spec);

// Corners of a (possibly rotated) rectangle: top-left, top-right, bottom-right, bottom-left of the
// unrotated box, each turned about the centre (docs/SCHEMA.md, section 2).
std::vector<double> rectangle_corners(const std::vector<double>& box, double rotation_degrees);
// An ellipse as a polygon of n vertices on its rim.
std::vector<double> ellipse_polygon(const std::vector<double>& box, double rotation_degrees, int n);
double normalized_degrees(double d);  // into [0, 360)

// What a per-image format writes for each frame 0..frames-1: the document's objects on it, then
// each track's shape there (interpolated, outside ones left out) as an Object with the track's id.
// The objects are the document's own, not copies (an export of a million shapes holds them once).
struct FrameShapes {
    std::vector<std::vector<std::reference_wrapper<const Object>>> frames;
    std::deque<Object> made;  // the tracks' shapes; a deque, so references to them stay valid
    const std::vector<std::reference_wrapper<const Object>>& operator[](size_t f) const { return frames[f]; }
    size_t size() const { return frames.size(); }
};
// Objects on frames past the task are counted in `past_task`.
FrameShapes shapes_per_frame(const Document& doc, const Task& task, long long frames, size_t& past_task);

// What every importer builds while it reads (the labels and images it meets, ids, lossy steps, the
// document) and how it ends: objects in frame order, each file's in reading order, and the task.
class ImportState {
protected:
    explicit ImportState(const ImportOptions& options) : options_(options), labels_(options.task, options.add_unknown_labels), images_(options.task) {}
    Conversion finish(const std::string& format_id);

    const ImportOptions& options_;
    LabelMap labels_;
    ImageFrames images_;
    IdMaker ids_;
    Notes notes_;
    Document doc_;
};

// The files of a set whose names end with `extension` (any case), by path; a set with none of
// them gives its first file, for a single file whose name says nothing.
std::vector<const FileEntry*> files_ending_with(const FileSet& files, std::string_view extension);
// The lines of a text file, split at '\n' only (a trailing '\r' stays), views into `text`.
std::vector<std::string_view> lines_of(std::string_view text);

// An importer of JSON files (LabelMe, VIA, Label Studio): every .json file of the set parsed in
// turn and handed to read_json(); errors name the file and a JSON Pointer in it.
class JsonFilesImport : protected ImportState {
protected:
    JsonFilesImport(const ImportOptions& options, std::string bad_code) : ImportState(options), bad_code_(std::move(bad_code)) {}
    virtual ~JsonFilesImport() = default;
    // With progress and cancellation; the first error, or nothing when every file was read.
    std::optional<Error> read_json_files(const FileSet& files);
    virtual bool read_json(const Json& root, const FileEntry& file) = 0;

    bool fail(const std::string& code, const std::string& pointer, const std::string& message);
    bool bad(const std::string& pointer, const std::string& expected) { return fail(bad_code_, pointer, "expected " + expected); }

    std::string file_;
    Error error_;

private:
    std::string bad_code_;
};

}  // namespace pm::formats
