// A task: the media to label (an ordered list of images and videos; their frames, concatenated,
// are the task's 0-based frame indices), the label spec, and settings. docs/SCHEMA.md, "Task v1".
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"

#include <algorithm>
#include <climits>
#include <optional>
#include <string>
#include <vector>

namespace pm {

inline constexpr const char* kTaskFormat = "polymark.task";
inline constexpr int kTaskVersion = 1;

// The frames of one medium of a task (one video, or one image): [first, end). A track lives
// within one medium: its state on a frame comes only from its keyframes in that frame's medium,
// so it is never interpolated nor carried on across a medium's start or end (Task::medium_of
// gives a frame's span). The default span holds every frame: one medium, or no task known.
struct MediumSpan {
    long long first = LLONG_MIN;
    long long end = LLONG_MAX;
    bool contains(long long frame) const { return frame >= first && frame < end; }
};

enum class MediaType { Image, Video };
enum class AttributeType { Select, Radio, Checkbox, Number, Text };
enum class ClampMode { Clip, Clamp, None };

struct Media {
    std::string id;
    MediaType type = MediaType::Image;
    std::string url;   // as served; relative URLs resolve against the backend's base URL
    std::string name;  // for people
    int width = 0, height = 0;  // 0: unknown until decoded
    long long frames = 1;       // images: 1; videos: from the task or 0 until probed
    double fps = 0;
};

struct AttributeSpec {
    std::string id, name;
    AttributeType type = AttributeType::Text;
    std::vector<std::string> values;  // select / radio
    double min = 0, max = 0, step = 1;  // number
    Json default_value;
    bool mutable_ = false;
};

struct LabelSpec {
    std::string id, name;
    std::string color;  // "#rrggbb"
    std::vector<ShapeType> types;  // empty: every type
    std::vector<AttributeSpec> attributes;
    // Whether a shape of `type` may carry this label (its `types`).
    bool allows(ShapeType type) const { return types.empty() || std::find(types.begin(), types.end(), type) != types.end(); }
};

struct Task {
    std::string id, name;
    std::vector<Media> media;
    std::vector<LabelSpec> labels;
    ClampMode clamp = ClampMode::Clip;

    long long frame_count() const;
    // The media item holding a task frame, and the frame's index inside it; nullopt if out of range.
    struct FrameRef { size_t media_index; long long local_frame; };
    std::optional<FrameRef> locate_frame(long long frame) const;
    // The frames of the medium holding a task frame (a track lives within one medium); every
    // frame (MediumSpan{}) when the frame is in no medium.
    MediumSpan medium_of(long long frame) const;
    const LabelSpec* find_label(std::string_view id) const;
};

Expected<Task> task_from_json(const Json& json);
Expected<Task> parse_task(std::string_view text);
// A task as task v1 JSON (docs/SCHEMA.md, section 9), e.g. the task an import made.
Json task_to_json(const Task& task);

// Checks a structurally valid document against a task: labels exist and allow the shape type,
// attributes exist on the label with values of the right type, frames are within the task, and
// each track's keyframes lie within one medium (track_crosses_media).
// Whether a value has the attribute's type (and, for select/radio, one of its values; for a
// number, lies within min..max).
bool attribute_value_fits(const AttributeSpec& a, const Json& value);

Errors check_document_against_task(const Document& doc, const Task& task);

}  // namespace pm
