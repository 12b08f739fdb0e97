// Track interpolation: the state of a track at any frame from its keyframes, and every shape
// visible on a frame (the document's objects on it plus its tracks), which backs getFrameState(n).
// The frame logic, boxes, points and the "cvat" polygon mode reproduce CVAT
// (docs/SCHEMA.md section 6); the "improved" polygon mode is Polymark's own, described in
// interpolate.cpp. Units: image pixels, rotation in degrees, frames are 0-based indices.
// Depends on the document and geometry only. Nothing here throws: on a failed allocation a
// function returns nothing (an empty optional, vector or point list).
#pragma once
#include "polymark/document.hpp"
#include "polymark/geometry.hpp"
#include "polymark/task.hpp"  // MediumSpan

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pm {

// Frames deleted from a job. Keyframes on them are ignored (the frames around them interpolate
// across), and nothing at all is shown on a deleted frame. Pass {} to show every frame.
using FrameSet = std::set<long long>;


// Remembers how the two keyframes of an improved-mode polygon or polyline correspond, so that the
// frames between them cost one linear pass each instead of a fresh alignment. Optional; keep one
// per document and pass it to every call. Entries are keyed by the keyframes' content, so edits
// need no invalidation; it empties itself when it holds more than kCapacity pairs. Not
// thread-safe.
class InterpolationCache {
public:
    static constexpr size_t kCapacity = 4096;
    InterpolationCache();
    ~InterpolationCache();
    InterpolationCache(InterpolationCache&&) noexcept;
    InterpolationCache& operator=(InterpolationCache&&) noexcept;
    void clear();
    size_t size() const;

    struct Impl;  // defined in interpolate.cpp
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

// A track at one frame.
struct TrackState {
    Points points;
    double rotation = 0;
    bool outside = false;  // step function from the keyframe at or before the frame
    bool occluded = false;
    long long z = 0;
    // The track's immutable attributes, then each mutable one as set by the latest keyframe at or
    // before the frame (a mutable value replaces an immutable one of the same id).
    std::vector<Attribute> attributes;
    bool keyframe = false;    // the frame holds a (non-deleted) keyframe: points are its own, bit for bit
    std::string keyframe_id;  // that keyframe's id; empty otherwise
};

// The state at `frame`, outside ones included (an outside keyframe is exported by CVAT). Nothing
// before the first keyframe, on a deleted frame, or for a track without keyframes or of type tag.
// `medium` is the span of the medium holding `frame`: keyframes outside it are not seen (nothing
// before the medium's first keyframe; after its last one, a copy of that one up to the medium's end).
std::optional<TrackState> track_state_at(const Track& track, long long frame, const FrameSet& deleted_frames = {},
                                         InterpolationCache* cache = nullptr, MediumSpan medium = {});
// The shape shown at `frame`: as track_state_at, but nothing when the track is outside there.
std::optional<TrackState> track_shape_at(const Track& track, long long frame, const FrameSet& deleted_frames = {},
                                         InterpolationCache* cache = nullptr, MediumSpan medium = {});

// A track's shape at `frame` as an object: id = the track's id; type, label, group, source from
// the track; points, rotation, occluded, z and attributes from `state` (moved out); meta null.
Object track_object_at(const Track& track, long long frame, TrackState&& state);

// One shape visible on a frame.
struct FrameShape {
    // An object of the document as it is, or a track's shape as an object: id = the track's id,
    // frame = the frame asked for; type, label, group, source from the track; points, rotation,
    // occluded, z and attributes from its TrackState; meta null.
    Object object;
    bool from_track = false;
    bool keyframe = false;    // from_track only: the frame is one of the track's keyframes
    std::string keyframe_id;  // that keyframe's id when `keyframe`
};

// Everything visible on `frame`: the document's objects with that frame (tags included), in
// document order, then every track's shape there (outside ones left out; `medium` as for
// track_state_at), in document order. Empty on a deleted frame.
std::vector<FrameShape> shapes_on_frame(const Document& doc, long long frame, const FrameSet& deleted_frames = {},
                                        InterpolationCache* cache = nullptr, MediumSpan medium = {});

// The geometry between two keyframes of a track of `type` at `offset` in [0, 1] (0 at `from`):
// - rectangle, ellipse: each coordinate linear;
// - points: linear when both hold exactly one point, else a copy of `from`;
// - polyline, polygon: `mode` Cvat reproduces CVAT (a copy of `from` at offset 0); Improved aligns
//   the keyframes itself (wherever and whichever way round each was drawn), keeps the same vertex
//   count at every offset, and turns and scales the shape as a whole where the keyframes say so.
Points interpolate_points(ShapeType type, Interpolation mode, const Points& from, const Points& to, double offset,
                          InterpolationCache* cache = nullptr);
// CVAT's rotation: along the shorter arc (exactly 180 degrees turns clockwise), in [0, 360).
double interpolate_rotation(double from, double to, double offset);

}  // namespace pm
