// Edits of tracks as a labeler makes them on one frame: reshape (a keyframe appears there),
// keyframe / outside / occluded toggles, split, merge, propagate, delete from a frame on. Each
// returns the tracks and objects after the edit; the caller wraps them into one Command. Pure
// functions of values: no UI, no history. Attributes follow the task: a label's mutable
// attributes live on keyframes, the others on the track. `medium` is the span of the medium
// holding `frame` (Task::medium_of): a track lives within one medium, so its keyframes in other
// media are not seen, and an edit where the track is not known in that medium does nothing.
#pragma once
#include "polymark/document.hpp"
#include "polymark/interpolate.hpp"
#include "polymark/task.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pm {

using NewId = std::function<std::string()>;

// The keyframe a track has at `frame`, or null.
const Keyframe* keyframe_at(const Track& track, long long frame);
// The nearest keyframe frame after / before `frame` (R / E), if any.
std::optional<long long> next_keyframe(const Track& track, long long frame);
std::optional<long long> previous_keyframe(const Track& track, long long frame);

// A new track of one keyframe at the object's frame, holding its shape.
Track track_from_object(const Object& object, const LabelSpec* spec, std::string track_id, std::string keyframe_id);

// The track after its shape on `frame` became `shape` (points, rotation, occluded, z,
// attributes, label as the editor shows them): the keyframe there is updated, or one is added.
// A new label replaces the track's label. The frame's other keyframe fields are kept.
Track with_shape_at(const Track& track, const Object& shape, long long frame, const LabelSpec* spec, const NewId& new_id, MediumSpan medium = {});

// K: a frame that is a keyframe stops being one (unless it is the only one: nullopt); any other
// frame where the track is known becomes a keyframe holding the interpolated state.
std::optional<Track> toggle_keyframe(const Track& track, long long frame, const NewId& new_id, MediumSpan medium = {});
// O / Q: outside or occluded from this frame on (until the next keyframe that says otherwise);
// a keyframe is made at `frame` when there is none. Nothing before the first keyframe.
std::optional<Track> set_outside(const Track& track, long long frame, bool outside, const NewId& new_id, MediumSpan medium = {});
std::optional<Track> set_occluded(const Track& track, long long frame, bool occluded, const NewId& new_id, MediumSpan medium = {});

// Split at `frame` (> the first keyframe): the first part ends with an outside keyframe at
// `frame`; the second starts there with the state the track had, then its later keyframes.
struct SplitTracks { Track before, after; };
std::optional<SplitTracks> split_track(const Track& track, long long frame, std::string second_id, const NewId& new_id, MediumSpan medium = {});

// Delete the track from `frame` on: keyframes at and after it go and an outside keyframe ends it
// there. nullopt when nothing would be left (frame at or before the first keyframe).
std::optional<Track> delete_track_from(const Track& track, long long frame, const NewId& new_id, MediumSpan medium = {});

// Merge shapes (one per frame) and tracks of one type into one track: their frames become
// keyframes (a later item wins a frame two items share), and a gap where no item is visible
// becomes outside. The first item gives the label, type and immutable attributes.
struct MergeItem {
    const Object* object = nullptr;
    const Track* track = nullptr;
};
Expected<Track> merge_into_track(const std::vector<MergeItem>& items, const LabelSpec* spec, std::string track_id, const NewId& new_id);

// A keyframe dragged from one frame to another (not onto another keyframe): nullopt when there
// is no keyframe at `from`, `to` is negative or taken.
std::optional<Track> move_keyframe(const Track& track, long long from, long long to);

// The frame spans where a track is shown: [first, end) pairs, end = -1 for "to the last frame".
std::vector<std::pair<long long, long long>> visible_spans(const Track& track);

// Propagate: the track's shape at `frame` is copied as keyframes onto the next `count` frames
// (up to `last_frame`), replacing what is there.
Track propagate_track(const Track& track, long long frame, long long count, long long last_frame, const NewId& new_id, MediumSpan medium = {});

}  // namespace pm
