// The annotation document, version 1: the value every part of Polymark reads and edits
// (editor, video tracks, tracker, sync, import/export). docs/SCHEMA.md is its contract.
// Units: coordinates in image pixels (doubles; (0,0) is the top-left corner of the top-left
// pixel), rotation in degrees clockwise about the shape's centre, frames are 0-based indices.
// Depends on nothing but the standard library and nlohmann/json.
#pragma once
#include "polymark/error.hpp"
#include "polymark/json_reader.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pm {

inline constexpr const char* kDocumentFormat = "polymark.annotations";
inline constexpr int kDocumentVersion = 1;

enum class ShapeType { Rectangle, Polygon, Polyline, Points, Ellipse, Tag };
// Model: a detector's or classifier's prediction (with a `score`); Auto: a tracker or tool made it.
enum class Source { Manual, Auto, Imported, Model };
enum class Interpolation { Improved, Cvat };

const char* to_string(ShapeType t);
const char* to_string(Source s);
const char* to_string(Interpolation i);
std::optional<ShapeType> shape_type_from_string(std::string_view s);
std::optional<Source> source_from_string(std::string_view s);

// Attribute values keep their JSON type (string, number or boolean); the task's label spec
// decides which type an attribute must have.
struct Attribute {
    std::string id;
    Json value;
    bool operator==(const Attribute& o) const { return id == o.id && value == o.value; }
};

struct Object {
    std::string id;
    ShapeType type = ShapeType::Rectangle;
    long long frame = 0;
    std::string label;
    std::vector<double> points;  // flat x0,y0,x1,y1,...; empty for tags
    double rotation = 0;
    std::vector<Attribute> attributes;
    Source source = Source::Manual;
    long long z = 0;
    std::string group;  // empty: no group
    bool occluded = false;
    Json meta;  // null when absent; preserved verbatim
    std::optional<double> score;  // a prediction's confidence, 0..1; kept when a person accepts it (source Manual)
    // The version (>= 1) of the task's labeling guidelines in force when a person last made or
    // edited it (docs/SCHEMA.md section 14); none when no version was known.
    std::optional<long long> guideline;
    // Every field, doubles exactly (no tolerance), attributes in order, meta as JSON values.
    bool operator==(const Object& o) const;
    bool operator!=(const Object& o) const { return !(*this == o); }
};

struct Keyframe {
    std::string id;
    long long frame = 0;
    std::vector<double> points;
    double rotation = 0;
    bool outside = false;
    bool occluded = false;
    long long z = 0;
    std::vector<Attribute> attributes;  // mutable attributes
    Source source = Source::Manual;
    Json meta;
    std::optional<double> score;  // as Object::score (last, so that brace initialisers stay as they were)
    bool operator==(const Keyframe& o) const;
    bool operator!=(const Keyframe& o) const { return !(*this == o); }
};

struct Track {
    std::string id;
    ShapeType type = ShapeType::Rectangle;
    std::string label;
    std::vector<Keyframe> keyframes;  // strictly increasing frame
    std::vector<Attribute> attributes;  // immutable attributes
    Source source = Source::Manual;
    std::string group;
    Interpolation interpolation = Interpolation::Improved;
    Json meta;
    std::optional<long long> guideline;  // as Object::guideline
    bool operator==(const Track& o) const;
    bool operator!=(const Track& o) const { return !(*this == o); }
};

struct Document {
    std::vector<Object> objects;
    std::vector<Track> tracks;
    Json meta;
};

bool is_valid_id(std::string_view id);

// Reads and validates a document. All structural errors are reported (up to 100), each with a
// JSON Pointer; the first is the first met walking the document in the order of docs/SCHEMA.md.
Expected<Document> document_from_json(const Json& json);
Expected<Document> parse_document(std::string_view text);

// A document opened for editing: an object or track that cannot be read (an error of its own,
// or a problem of the text inside it: a number no double holds, a lone surrogate, too deep) is
// left out and named in `skipped`, so that one bad item cannot keep a task from opening. Errors
// outside every item (format, version, the lists themselves) still refuse the whole document.
// `problems` are those of parse_json_text_tolerant, with pointers into `json`.
struct SkippedItem {
    std::string kind;  // "object" or "track"
    std::string id;    // empty when the item has no readable id
    std::string path;  // "/objects/3"
    Error error;       // the item's first error, its message naming the item
};
struct LenientDocument {
    Document document;
    std::vector<SkippedItem> skipped;
};
Expected<LenientDocument> document_from_json_skipping_invalid(const Json& json, const Errors& problems);

Json document_to_json(const Document& doc);
// One object on its own (for commands and the clipboard); errors carry `path` as their prefix.
// An object read alone is checked like one in a document, except for id uniqueness.
Json object_to_json(const Object& o);
Expected<Object> object_from_json(const Json& json, const std::string& path);
inline bool same_object(const Object& a, const Object& b) { return a == b; }
// The same for one track (its keyframe ids are checked for uniqueness among themselves).
Json track_to_json(const Track& t);
Expected<Track> track_from_json(const Json& json, const std::string& path);
inline bool same_track(const Track& a, const Track& b) { return a == b; }
std::string serialize_document(const Document& doc);  // compact JSON text

}  // namespace pm
