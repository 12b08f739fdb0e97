// Editor: the commands the labeler's keys stand for (delete, copy and paste, order, lock, hide,
// relabel) and the edits of the selected tracks, each one command through the session
// (editor.hpp). The pointer and the tools are editor.cpp.
#include "app/editor.hpp"

#include "polymark/track_edit.hpp"

#include "app/app.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

// [SECTION] Keys

void Editor::cancel() {
    if (draft_) { draft_.reset(); reset_assist(); drag_ = Drag::None; return; }
    if (assist_.job) return reset_assist();
    if (redraw_) { redraw_.reset(); return; }
    if (drag_ != Drag::None) { previews_.clear(); drag_ = Drag::None; ++display_version_; return; }
    selection_.clear();
}

bool Editor::need_selection(const char* to_do) {
    if (!selection_.empty()) return true;
    app_.refuse({"nothing_selected", "selection", std::string("select a shape to ") + to_do + " (click it, or Tab)"});
    return false;
}

void Editor::delete_selection() {
    if (!need_selection("delete")) return;
    std::vector<std::string> ids;
    for (size_t i : selected_indices())
        if (!is_locked(shapes()[i].id)) ids.push_back(shapes()[i].id);
    if (ids.empty()) return app_.refuse({"locked", selection_[0], app_.display_name(selection_[0]) + " is locked: L unlocks it"});
    bool predictions = selection_has_predictions();
    std::string name = predictions ? (ids.size() > 1 ? "reject " + std::to_string(ids.size()) + " predictions" : "reject prediction")
                                   : ids.size() > 1 ? "delete " + std::to_string(ids.size()) + " shapes" : "delete shape";
    if (!app_.perform(app_.remove_shapes_command(name, ids))) return;
    selection_.clear();
    if (predictions) next_prediction(true);
}

void Editor::copy_selection() {
    if (!need_selection("copy")) return;
    clipboard_.clear();
    for (size_t i : selected_indices()) clipboard_.push_back(shapes()[i]);
}

// The centre of the shapes' bounds (tags have none).
static std::optional<Vec2> group_centre(const std::vector<Object>& objects) {
    double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
    for (const Object& o : objects) {
        if (o.type == ShapeType::Tag) continue;
        Rect b = shape_bounds(o);
        x0 = std::min(x0, b.x); y0 = std::min(y0, b.y); x1 = std::max(x1, b.x + b.w); y1 = std::max(y1, b.y + b.h);
    }
    if (x0 > x1) return std::nullopt;
    return Vec2{(x0 + x1) / 2, (y0 + y1) / 2};
}

void Editor::paste(std::optional<Vec2> at) {
    if (clipboard_.empty()) return app_.refuse({"nothing_copied", "clipboard", "nothing copied yet: Ctrl+C copies the selection"});
    Vec2 shift{0, 0};
    auto centre = group_centre(clipboard_);
    if (at && centre) shift = {at->x - centre->x, at->y - centre->y};  // the group's centre lands under the cursor
    Command c{clipboard_.size() > 1 ? "paste " + std::to_string(clipboard_.size()) + " shapes" : "paste shape", {}, {}};
    std::vector<std::string> ids;
    size_t end = app_.document().objects.size();
    for (const Object& src : clipboard_) {
        Object o = src;
        o.id = app_.new_object_id();
        o.frame = app_.frame();
        o.points = translate(o.points, shift);
        if (o.type != ShapeType::Tag) {
            auto inside = inside_image(o.type, o.points);
            if (!inside) continue;
            o.points = *inside;
        }
        ids.push_back(o.id);
        c.ops.push_back(ObjectOp::create(std::move(o), end++));
    }
    if (app_.perform(std::move(c))) selection_ = ids;
}

void Editor::duplicate_selection() {
    if (!need_selection("duplicate")) return;
    std::vector<Object> saved = std::move(clipboard_);
    copy_selection();
    std::optional<Vec2> centre = group_centre(clipboard_);
    if (centre) centre = Vec2{centre->x + 10, centre->y + 10};  // offset so that the copy is visible
    paste(centre);
    clipboard_ = std::move(saved);
}

void Editor::bring_to_front() {
    long long top = 0;
    for (uint32_t i : frame_shapes()) top = std::max(top, shapes()[i].z);
    set_z_of_selection("bring to front", top + 1);
}

void Editor::send_to_back() {
    long long bottom = 0;
    for (uint32_t i : frame_shapes()) bottom = std::min(bottom, shapes()[i].z);
    set_z_of_selection("send to back", bottom - 1);
}

void Editor::set_z_of_selection(const std::string& name, long long z) {
    if (!need_selection(name.c_str())) return;
    std::vector<Object> after;
    for (size_t i : selected_indices()) {
        Object o = shapes()[i];
        o.z = z;
        after.push_back(std::move(o));
    }
    perform_updates(name, after);
}

void Editor::toggle_lock() {
    if (!need_selection("lock")) return;
    bool all_locked = !selection_.empty() && std::all_of(selection_.begin(), selection_.end(), [&](const std::string& id) { return is_locked(id); });
    for (const std::string& id : selection_) set_locked(id, !all_locked);
}

void Editor::toggle_hide() {
    if (!need_selection("hide")) return;
    bool all_hidden = !selection_.empty() && std::all_of(selection_.begin(), selection_.end(), [&](const std::string& id) { return is_hidden(id); });
    for (const std::string& id : selection_) set_hidden(id, !all_hidden);
}

bool Editor::relabel(const std::vector<std::string>& ids, const std::string& label_id) {
    const Task* task = app_.task();
    const LabelSpec* spec = task ? task->find_label(label_id) : nullptr;
    if (!spec) return false;
    if (ids.empty() && !need_selection("relabel")) return true;  // the shortcut, with nothing selected
    std::vector<Object> after;
    for (const std::string& id : ids) {
        int i = find_shape(id);
        if (i < 0) continue;
        Object o = shapes()[(size_t)i];
        if (!spec->allows(o.type)) {
            app_.refuse({"type_not_allowed", o.id, "label \"" + spec->name + "\" does not allow " + to_string(o.type) + " shapes: " + app_.display_name(o.id) + " keeps its label"});
            continue;
        }
        o.label = label_id;
        // Attributes follow the new label: kept where the id and value still fit, else defaults.
        std::vector<Attribute> attrs;
        for (const AttributeSpec& a : spec->attributes) {
            Json value = a.default_value;
            for (const Attribute& old : o.attributes)
                if (old.id == a.id && attribute_value_fits(a, old.value)) value = old.value;
            attrs.push_back({a.id, value});
        }
        o.attributes = std::move(attrs);
        after.push_back(std::move(o));
    }
    perform_updates("change label", after);
    return true;
}

// [SECTION] Tracks

namespace {
std::vector<std::pair<size_t, const Track*>> selected_tracks(const App& app, const std::vector<std::string>& selection) {
    std::vector<std::pair<size_t, const Track*>> out;
    for (const std::string& id : selection)
        if (int t = find_track(app.document(), id); t >= 0) out.push_back({(size_t)t, &app.document().tracks[(size_t)t]});
    return out;
}
}  // namespace

void Editor::edit_selected_tracks(const std::string& name, const std::function<std::optional<Track>(const Track&, const NewId&)>& edit) {
    Command c{name, {}, {}};
    NewId new_id = [this] { return app_.new_object_id(); };
    auto tracks = selected_tracks(app_, selection_);
    if (tracks.empty()) return app_.refuse({"no_track_selected", "selection", "select a track to " + name + " (new shapes become tracks with Track ticked in the toolbar)"});
    for (auto [index, track] : tracks) {
        if (is_locked(track->id)) {
            app_.refuse({"locked", track->id, app_.display_name(track->id) + " is locked: L unlocks it"});
            continue;
        }
        if (std::optional<Track> after = edit(*track, new_id); after && !same_track(*after, *track))
            c.track_ops.push_back(TrackOp::update(*track, std::move(*after), index));
    }
    app_.perform(std::move(c));
}

void Editor::toggle_keyframe() {
    long long f = app_.frame();
    MediumSpan medium = app_.medium();
    edit_selected_tracks("toggle keyframe", [f, medium](const Track& t, const NewId& id) { return pm::toggle_keyframe(t, f, id, medium); });
}

void Editor::toggle_outside() { toggle_track_flag("toggle outside", &TrackState::outside, set_outside); }
void Editor::toggle_occluded() { toggle_track_flag("toggle occluded", &TrackState::occluded, set_occluded); }

// Flips a flag of each selected track at this frame, as a keyframe (outside, occluded).
void Editor::toggle_track_flag(const std::string& name, bool TrackState::*flag, TrackFlagSetter set) {
    long long f = app_.frame();
    MediumSpan medium = app_.medium();
    edit_selected_tracks(name, [f, medium, flag, set](const Track& t, const NewId& id) {
        auto state = track_state_at(t, f, {}, nullptr, medium);
        return state ? set(t, f, !((*state).*flag), id, medium) : std::nullopt;
    });
}

void Editor::jump_to_keyframe(int direction) {
    auto tracks = selected_tracks(app_, selection_);
    if (tracks.empty())
        for (size_t i = 0; i < app_.document().tracks.size(); ++i) tracks.push_back({i, &app_.document().tracks[i]});
    std::optional<long long> best;
    for (auto [index, track] : tracks) {
        auto f = direction > 0 ? next_keyframe(*track, app_.frame()) : previous_keyframe(*track, app_.frame());
        if (f && (!best || (direction > 0 ? *f < *best : *f > *best))) best = f;
    }
    if (best) app_.set_frame(*best);
    else app_.refuse({"no_keyframe", "frame", std::string("no keyframe ") + (direction > 0 ? "after" : "before") + " frame " + std::to_string(app_.frame()) +
                                                  (selection_.empty() ? "" : " on the selected tracks")});
}

void Editor::merge_selection() {
    std::vector<MergeItem> items;
    std::vector<std::string> ids;
    for (const std::string& id : selection_) {
        if (int o = find_object(app_.document(), id); o >= 0) items.push_back({&app_.document().objects[(size_t)o], nullptr});
        else if (int t = find_track(app_.document(), id); t >= 0) items.push_back({nullptr, &app_.document().tracks[(size_t)t]});
        else continue;
        ids.push_back(id);
    }
    if (items.empty()) return app_.refuse({"nothing_selected", "selection", "select the shapes and tracks to merge into one track"});
    // A track lives within one medium: every frame merged must be in the first one's.
    const MergeItem& first = items[0];
    MediumSpan medium = app_.medium_of(first.object ? first.object->frame : first.track->keyframes.empty() ? app_.frame() : first.track->keyframes.front().frame);
    for (const MergeItem& item : items) {
        bool inside = item.object ? medium.contains(item.object->frame)
                                  : std::all_of(item.track->keyframes.begin(), item.track->keyframes.end(), [&](const Keyframe& k) { return medium.contains(k.frame); });
        if (!inside) return app_.refuse({"track_crosses_media", item.object ? item.object->id : item.track->id, "shapes of different videos or images cannot be merged into one track"});
    }
    std::string label = items[0].object ? items[0].object->label : items[0].track->label;
    const LabelSpec* spec = app_.task() ? app_.task()->find_label(label) : nullptr;
    std::string track_id = app_.new_object_id();
    auto merged = merge_into_track(items, spec, track_id, [this] { return app_.new_object_id(); });
    if (!merged) return app_.report(merged.first_error());
    Command c = app_.remove_shapes_command("merge into a track", ids);
    c.track_ops.push_back(TrackOp::create(std::move(merged.value()), app_.document().tracks.size() - c.track_ops.size()));
    if (app_.perform(std::move(c))) selection_ = {track_id};
}

void Editor::propagate_selection(long long frames) {
    long long f = app_.frame(), last = app_.frame_count() - 1;
    if (frames <= 0) return;
    if (f >= last) return app_.refuse({"last_frame", "frame", "frame " + std::to_string(f) + " is the last: there is nothing to propagate onto"});
    if (!need_selection("propagate")) return;
    Command c{"propagate " + std::to_string(frames) + " frames", {}, {}};
    NewId new_id = [this] { return app_.new_object_id(); };
    for (const std::string& id : selection_) {
        if (int o = find_object(app_.document(), id); o >= 0) {
            const Object& source = app_.document().objects[(size_t)o];
            for (long long n = f + 1; n <= std::min(f + frames, last); ++n) {
                Object copy = source;
                copy.id = new_id();
                copy.frame = n;
                c.ops.push_back(ObjectOp::create(std::move(copy), app_.document().objects.size() + c.ops.size()));
            }
        } else if (int t = find_track(app_.document(), id); t >= 0) {
            const Track& track = app_.document().tracks[(size_t)t];
            // A track is propagated up to its medium's last frame.
            long long medium_last = std::min(last, app_.medium().end - 1);
            if (medium_last <= f) continue;
            Track after = propagate_track(track, f, frames, medium_last, new_id, app_.medium());
            if (!same_track(after, track)) c.track_ops.push_back(TrackOp::update(track, std::move(after), (size_t)t));
        }
    }
    app_.perform(std::move(c));
}

void Editor::track_selection_forward() {
    std::vector<std::string> ids;
    for (const std::string& id : selection_)
        if (app_.is_track(id)) ids.push_back(id);
    if (ids.empty()) return app_.refuse({"nothing_to_track", "selection", "select one or more tracks to track forward"});
    for (const Error& e : app_.start_tracking(ids, track_frames_)) app_.report(e);
}

void Editor::split_selected_track() {
    auto tracks = selected_tracks(app_, selection_);
    if (tracks.size() != 1) return app_.refuse({"no_track_selected", "selection", "select one track to split it at this frame"});
    auto [index, track] = tracks[0];
    NewId new_id = [this] { return app_.new_object_id(); };
    auto split = split_track(*track, app_.frame(), new_id(), new_id, app_.medium());
    if (!split) return app_.refuse({"cannot_split", track->id, "a track splits at a frame after its first keyframe where it is known"});
    std::string second = split->after.id;
    Command c{"split track", {}, {TrackOp::update(*track, std::move(split->before), index), TrackOp::create(std::move(split->after), index + 1)}};
    if (app_.perform(std::move(c))) selection_ = {second};
}

void Editor::delete_selected_track_from_here() {
    long long f = app_.frame();
    MediumSpan medium = app_.medium();
    edit_selected_tracks("delete track from frame " + std::to_string(f), [f, medium](const Track& t, const NewId& id) { return delete_track_from(t, f, id, medium); });
}

}  // namespace pm
