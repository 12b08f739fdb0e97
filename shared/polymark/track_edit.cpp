#include "polymark/track_edit.hpp"

#include <algorithm>
#include <map>

namespace pm {

namespace {

bool is_mutable(const LabelSpec* spec, const std::string& attribute_id) {
    if (!spec) return false;
    for (const AttributeSpec& a : spec->attributes)
        if (a.id == attribute_id) return a.mutable_;
    return false;
}

void split_attributes(const std::vector<Attribute>& all, const LabelSpec* spec, std::vector<Attribute>& immutable_out,
                      std::vector<Attribute>& mutable_out) {
    immutable_out.clear();
    mutable_out.clear();
    for (const Attribute& a : all) (is_mutable(spec, a.id) ? mutable_out : immutable_out).push_back(a);
}

// A keyframe holding what the track shows in `state` (its mutable attributes only).
Keyframe keyframe_from_state(const Track& track, const TrackState& state, std::string id, long long frame) {
    Keyframe k;
    k.id = std::move(id);
    k.frame = frame;
    k.points = state.points;
    k.rotation = state.rotation;
    k.outside = state.outside;
    k.occluded = state.occluded;
    k.z = state.z;
    for (const Attribute& a : state.attributes)
        if (std::none_of(track.attributes.begin(), track.attributes.end(), [&](const Attribute& t) { return t.id == a.id; }))
            k.attributes.push_back(a);
    return k;
}

// The keyframe at `frame`, inserted in order (holding the state the track shows there) if absent.
Keyframe& keyframe_for_edit(Track& track, long long frame, const NewId& new_id, MediumSpan medium) {
    auto it = std::lower_bound(track.keyframes.begin(), track.keyframes.end(), frame,
                               [](const Keyframe& k, long long f) { return k.frame < f; });
    if (it != track.keyframes.end() && it->frame == frame) return *it;
    Keyframe k;
    k.id = new_id();
    k.frame = frame;
    if (auto state = track_state_at(track, frame, {}, nullptr, medium)) {
        k = keyframe_from_state(track, *state, k.id, frame);
    } else if (it != track.keyframes.end()) {
        k.points = it->points;  // before the first keyframe: start from its shape
        k.rotation = it->rotation;
        k.z = it->z;
        k.attributes = it->attributes;
    }
    return *track.keyframes.insert(it, std::move(k));
}

}  // namespace

const Keyframe* keyframe_at(const Track& track, long long frame) {
    for (const Keyframe& k : track.keyframes)
        if (k.frame == frame) return &k;
    return nullptr;
}

std::optional<long long> next_keyframe(const Track& track, long long frame) {
    for (const Keyframe& k : track.keyframes)
        if (k.frame > frame) return k.frame;
    return std::nullopt;
}

std::optional<long long> previous_keyframe(const Track& track, long long frame) {
    for (size_t i = track.keyframes.size(); i-- > 0;)
        if (track.keyframes[i].frame < frame) return track.keyframes[i].frame;
    return std::nullopt;
}

Track track_from_object(const Object& o, const LabelSpec* spec, std::string track_id, std::string keyframe_id) {
    Track t;
    t.id = std::move(track_id);
    t.type = o.type;
    t.label = o.label;
    t.source = o.source;
    t.group = o.group;
    Keyframe k;
    k.id = std::move(keyframe_id);
    k.frame = o.frame;
    k.points = o.points;
    k.rotation = o.rotation;
    k.occluded = o.occluded;
    k.z = o.z;
    k.source = o.source;
    k.score = o.score;
    split_attributes(o.attributes, spec, t.attributes, k.attributes);
    t.keyframes.push_back(std::move(k));
    return t;
}

Track with_shape_at(const Track& track, const Object& shape, long long frame, const LabelSpec* spec, const NewId& new_id, MediumSpan medium) {
    Track t = track;
    t.label = shape.label;
    std::vector<Attribute> immutable, mutable_values;
    split_attributes(shape.attributes, spec, immutable, mutable_values);
    t.attributes = immutable;
    Keyframe& k = keyframe_for_edit(t, frame, new_id, medium);
    k.points = shape.points;
    k.rotation = shape.rotation;
    k.occluded = shape.occluded;
    k.z = shape.z;
    k.outside = false;
    k.attributes = mutable_values;
    k.source = Source::Manual;  // a person made this keyframe: a tracker never overwrites it
    return t;
}

std::optional<Track> toggle_keyframe(const Track& track, long long frame, const NewId& new_id, MediumSpan medium) {
    Track t = track;
    auto it = std::find_if(t.keyframes.begin(), t.keyframes.end(), [&](const Keyframe& k) { return k.frame == frame; });
    if (it != t.keyframes.end()) {
        if (t.keyframes.size() == 1) return std::nullopt;
        t.keyframes.erase(it);
        return t;
    }
    if (!track_state_at(track, frame, {}, nullptr, medium)) return std::nullopt;
    keyframe_for_edit(t, frame, new_id, medium);
    return t;
}

namespace {
std::optional<Track> set_flag(const Track& track, long long frame, bool value, bool Keyframe::*flag, const NewId& new_id, MediumSpan medium) {
    if (!track_state_at(track, frame, {}, nullptr, medium)) return std::nullopt;
    Track t = track;
    keyframe_for_edit(t, frame, new_id, medium).*flag = value;
    return t;
}
}  // namespace

std::optional<Track> set_outside(const Track& track, long long frame, bool outside, const NewId& new_id, MediumSpan medium) {
    return set_flag(track, frame, outside, &Keyframe::outside, new_id, medium);
}

std::optional<Track> set_occluded(const Track& track, long long frame, bool occluded, const NewId& new_id, MediumSpan medium) {
    return set_flag(track, frame, occluded, &Keyframe::occluded, new_id, medium);
}

std::optional<SplitTracks> split_track(const Track& track, long long frame, std::string second_id, const NewId& new_id, MediumSpan medium) {
    if (track.keyframes.empty() || frame <= track.keyframes.front().frame) return std::nullopt;
    auto state = track_state_at(track, frame, {}, nullptr, medium);
    if (!state) return std::nullopt;
    SplitTracks out{track, track};
    Track& first = out.before;
    first.keyframes.erase(std::remove_if(first.keyframes.begin(), first.keyframes.end(), [&](const Keyframe& k) { return k.frame >= frame; }),
                          first.keyframes.end());
    Keyframe end = first.keyframes.back();
    end.id = new_id();
    end.frame = frame;
    end.outside = true;
    first.keyframes.push_back(std::move(end));

    Track& second = out.after;
    second.id = std::move(second_id);
    second.keyframes.clear();
    const Keyframe* own = keyframe_at(track, frame);  // a keyframe there moves over whole
    Keyframe start = own ? *own : keyframe_from_state(track, *state, new_id(), frame);
    second.keyframes.push_back(std::move(start));
    for (const Keyframe& k : track.keyframes)
        if (k.frame > frame) second.keyframes.push_back(k);
    return out;
}

std::optional<Track> delete_track_from(const Track& track, long long frame, const NewId& new_id, MediumSpan medium) {
    if (track.keyframes.empty() || frame <= track.keyframes.front().frame || !track_state_at(track, frame, {}, nullptr, medium)) return std::nullopt;
    Track t = track;
    t.keyframes.erase(std::remove_if(t.keyframes.begin(), t.keyframes.end(), [&](const Keyframe& k) { return k.frame >= frame; }), t.keyframes.end());
    if (!t.keyframes.back().outside) {
        Keyframe end = t.keyframes.back();
        end.id = new_id();
        end.frame = frame;
        end.outside = true;
        t.keyframes.push_back(std::move(end));
    }
    return t;
}

Expected<Track> merge_into_track(const std::vector<MergeItem>& items, const LabelSpec* spec, std::string track_id, const NewId& new_id) {
    if (items.empty()) return Error{"nothing_to_merge", "", "select shapes or tracks to merge into one track"};
    Track out;
    out.id = std::move(track_id);
    bool first = true;
    std::map<long long, Keyframe> by_frame;
    std::map<long long, bool> single_frame;  // frames of merged shapes: visible on that frame only
    for (const MergeItem& item : items) {
        ShapeType type = item.object ? item.object->type : item.track ? item.track->type : ShapeType::Tag;
        if (!item.object && !item.track) continue;
        if (type == ShapeType::Tag) return Error{"bad_merge", item.object ? item.object->id : item.track->id, "tags cannot be merged into a track"};
        if (first) {
            out.type = type;
            if (item.object) {
                Track t = track_from_object(*item.object, spec, out.id, "");
                out.label = t.label;
                out.attributes = t.attributes;
                out.group = t.group;
            } else {
                out.label = item.track->label;
                out.attributes = item.track->attributes;
                out.group = item.track->group;
                out.interpolation = item.track->interpolation;
            }
            first = false;
        } else if (type != out.type) {
            return Error{"bad_merge", item.object ? item.object->id : item.track->id,
                         std::string("only shapes of one type merge into a track: a ") + to_string(type) + " cannot join a " + to_string(out.type) + " track"};
        }
        if (item.object) {
            Track t = track_from_object(*item.object, spec, out.id, new_id());
            by_frame[item.object->frame] = t.keyframes.front();
            single_frame[item.object->frame] = true;
        } else {
            for (const Keyframe& k : item.track->keyframes) {
                by_frame[k.frame] = k;
                single_frame.erase(k.frame);
            }
        }
    }
    for (auto& [frame, k] : by_frame) out.keyframes.push_back(k);
    // A merged shape shows on its own frame only: outside from the next frame unless a keyframe is there.
    for (auto& [frame, single] : single_frame) {
        if (!single || by_frame.count(frame + 1)) continue;
        Keyframe end = by_frame[frame];
        end.id = new_id();
        end.frame = frame + 1;
        end.outside = true;
        out.keyframes.push_back(std::move(end));
    }
    std::sort(out.keyframes.begin(), out.keyframes.end(), [](const Keyframe& a, const Keyframe& b) { return a.frame < b.frame; });
    return out;
}

std::optional<Track> move_keyframe(const Track& track, long long from, long long to) {
    if (to < 0 || from == to || keyframe_at(track, to) || !keyframe_at(track, from)) return std::nullopt;
    Track t = track;
    for (Keyframe& k : t.keyframes)
        if (k.frame == from) k.frame = to;
    std::sort(t.keyframes.begin(), t.keyframes.end(), [](const Keyframe& a, const Keyframe& b) { return a.frame < b.frame; });
    return t;
}

std::vector<std::pair<long long, long long>> visible_spans(const Track& track) {
    std::vector<std::pair<long long, long long>> spans;
    for (size_t i = 0; i < track.keyframes.size(); ++i) {
        const Keyframe& k = track.keyframes[i];
        if (k.outside) continue;
        long long end = i + 1 < track.keyframes.size() ? track.keyframes[i + 1].frame : -1;
        if (!spans.empty() && spans.back().second == k.frame) spans.back().second = end;
        else spans.push_back({k.frame, end});
    }
    return spans;
}

Track propagate_track(const Track& track, long long frame, long long count, long long last_frame, const NewId& new_id, MediumSpan medium) {
    Track t = track;
    auto state = track_state_at(track, frame, {}, nullptr, medium);
    if (!state || state->outside) return t;
    last_frame = std::min(last_frame, medium.end - 1);
    const Keyframe source = keyframe_for_edit(t, frame, new_id, medium);
    for (long long f = frame + 1; f <= std::min(frame + count, last_frame); ++f) {
        Keyframe& k = keyframe_for_edit(t, f, new_id, medium);
        std::string id = k.id;
        k = source;
        k.id = id;
        k.frame = f;
    }
    return t;
}

}  // namespace pm
