#include "ui/panels.hpp"

#include "polymark/prelabel.hpp"
#include "polymark/track_edit.hpp"

#include "ui/shape_layer.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

namespace pm {

static const std::string& label_name(const Task* task, const std::string& id) {
    const LabelSpec* spec = task ? task->find_label(id) : nullptr;
    return spec ? spec->name : id;
}

// Rows the attributes section always takes (it scrolls beyond): its height never follows the selection.
static constexpr float kAttributeRows = 9;
static constexpr float kRowLabelWidth = 72;  // the label combo at the start of an objects list row

// A compact combo of the labels a shape of this type may take: the one picked, if another.
static std::optional<std::string> draw_label_picker(const Task* task, const Object& o, float width) {
    if (!task) return std::nullopt;
    std::optional<std::string> picked;
    ImGui::SetNextItemWidth(width);
    ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(ImGui::GetStyle().FramePadding.x, 0));  // a text line's height
    if (ImGui::BeginCombo("##label", label_name(task, o.label).c_str())) {
        for (const LabelSpec& l : task->labels)
            if (l.allows(o.type) && ImGui::Selectable(l.name.c_str(), l.id == o.label) && l.id != o.label) picked = l.id;
        ImGui::EndCombo();
    }
    ImGui::PopStyleVar();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Label of this shape: those its type allows (Ctrl+1..9 relabels the selection)");
    return picked;
}

// An object or track as the lists name it: its label's colour swatch, then (returned, for the
// row's text) "Person 3  rectangle track" (App::display_name).
static std::string object_row_name(const App& app, const std::string& id, const std::string& label, ShapeType type) {
    ImVec2 at = ImGui::GetCursorScreenPos();
    float h = ImGui::GetTextLineHeight();
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, at.y + 3), ImVec2(at.x + h - 5, at.y + h - 2), ShapeLayer::label_colour(app.task(), label, 255), 2);
    ImGui::Dummy(ImVec2(h - 3, h));
    ImGui::SameLine();
    return app.display_name(id) + "  " + to_string(type);
}

// The items a command touched, named for the history ("Cat 2, Person 1"): those still in the
// document by their number, deleted ones by their label.
static std::string command_subjects(const App& app, const Command& c) {
    std::vector<std::string> names;
    auto add = [&](const std::string& id, const std::string& label) {
        if (names.size() < 3) names.push_back(app.session().number_of(id) ? app.display_name(id) : label_name(app.task(), label));
        else if (names.size() == 3) names.push_back("…");
    };
    for (const ObjectOp& op : c.ops) add(op.id, op.after ? op.after->label : op.before->label);
    for (const TrackOp& op : c.track_ops) add(op.id, op.after ? op.after->label : op.before->label);
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

void Panels::draw(App& app, Rect area, std::vector<UiControl>& layout) {
    ImGui::SetNextWindowPos(ImVec2((float)area.x, (float)area.y));
    ImGui::SetNextWindowSize(ImVec2((float)area.w, (float)area.h));
    ImGui::Begin("##sidebar", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                           ImGuiWindowFlags_NoBringToFrontOnFocus);
    // Every section keeps its place whatever is selected: the attributes have a fixed height, and a
    // tracking run's progress comes under them, so that no click lands on a control that moved.
    // A reviewer's page starts with Review (the role is fixed for the page); everyone else's ends with it.
    const ReviewLink& review = app.sync().review();
    bool review_first = review.enabled() && review.role() == "reviewer";
    auto draw_review = [&] {
        if (ImGui::CollapsingHeader("Review", ImGuiTreeNodeFlags_DefaultOpen)) review_.draw(app, layout);
    };
    if (review_first) draw_review();
    if (ImGui::CollapsingHeader("Labels", ImGuiTreeNodeFlags_DefaultOpen)) draw_labels(app);
    if (ImGui::CollapsingHeader("Objects", ImGuiTreeNodeFlags_DefaultOpen)) draw_objects(app);
    if (ImGui::CollapsingHeader("Attributes", ImGuiTreeNodeFlags_DefaultOpen)) {
        ImGui::BeginChild("##attributes", ImVec2(0, ImGui::GetFrameHeightWithSpacing() * kAttributeRows));
        draw_attributes(app);
        ImGui::EndChild();
    }
    draw_tracking(app);
    if (ImGui::CollapsingHeader("Image")) draw_image_adjust(app);
    if (ImGui::CollapsingHeader("Shapes")) draw_shape_style(app);
    if (ImGui::CollapsingHeader("History")) draw_history(app);
    if (review.enabled() && !review_first) draw_review();
    ImGui::End();
}

void Panels::draw_labels(App& app) {
    const Task* task = app.task();
    if (!task) return;
    Editor& editor = app.editor();
    if (counts_revision_ != app.revision() || counts_frame_ != app.frame()) {
        counts_revision_ = app.revision();
        counts_frame_ = app.frame();
        label_counts_.clear();
        for (const Object& o : app.frame_objects()) ++label_counts_[o.label];
    }
    for (size_t i = 0; i < task->labels.size(); ++i) {
        const LabelSpec& l = task->labels[i];
        int on_frame = label_counts_.count(l.id) ? label_counts_[l.id] : 0;
        ImGui::PushID((int)i);
        ImU32 colour = ShapeLayer::label_colour(task, l.id, 255);
        ImVec2 at = ImGui::GetCursorScreenPos();
        float h = ImGui::GetTextLineHeight();
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, at.y + 2), ImVec2(at.x + h - 4, at.y + h - 2), colour, 2);
        ImGui::Dummy(ImVec2(h - 2, h));
        ImGui::SameLine();
        char text[160];
        if (i < 9) std::snprintf(text, sizeof text, "%zu  %s", i + 1, l.name.c_str());
        else std::snprintf(text, sizeof text, "   %s", l.name.c_str());
        // Labels the current tool may not draw are greyed and cannot be picked for it.
        bool allowed = editor.label_allows(l.id, editor.tool());
        ImGuiSelectableFlags flags = allowed ? 0 : ImGuiSelectableFlags_Disabled;
        if (ImGui::Selectable(text, editor.label() == l.id, flags, ImVec2(ImGui::GetContentRegionAvail().x - 70, 0))) editor.set_label(l.id);
        if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
            if (!allowed) ImGui::SetTooltip("This label cannot be drawn with the %s tool", to_string(editor.tool()));
            else ImGui::SetTooltip(i < 9 ? "Label for the next shape (%zu); Ctrl+%zu relabels the selection" : "Label for the next shape", i + 1, i + 1);
        }
        ImGui::SameLine(ImGui::GetContentRegionMax().x - 62);
        ImGui::TextDisabled("%d", on_frame);
        bool tag_allowed = l.allows(ShapeType::Tag);
        if (tag_allowed) {
            ImGui::SameLine(ImGui::GetContentRegionMax().x - 36);
            if (ImGui::SmallButton("+tag")) {
                editor.set_label(l.id);
                editor.add_tag();
            }
        }
        ImGui::PopID();
    }
}

void Panels::draw_objects(App& app) {
    const Task* task = app.task();
    Editor& editor = app.editor();
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.45f);
    if (ImGui::BeginCombo("##filter", label_filter_.empty() ? "All labels" : label_name(task, label_filter_).c_str())) {
        if (ImGui::Selectable("All labels", label_filter_.empty())) label_filter_.clear();
        if (task)
            for (const LabelSpec& l : task->labels)
                if (ImGui::Selectable(l.name.c_str(), label_filter_ == l.id)) label_filter_ = l.id;
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##search", "search", search_, sizeof search_);
    const auto& objects = app.frame_objects();
    std::string needle = search_;
    std::transform(needle.begin(), needle.end(), needle.begin(), [](unsigned char c) { return (char)std::tolower(c); });
    // Thousands of shapes: filter once, then lay out only the visible rows.
    std::vector<size_t> rows;
    for (size_t i = 0; i < objects.size(); ++i) {
        const Object& o = objects[i];
        if (!label_filter_.empty() && o.label != label_filter_) continue;
        if (!needle.empty()) {
            std::string hay = app.display_name(o.id) + " " + o.id + " " + to_string(o.type) + (app.is_track(o.id) ? " track" : "") +
                              prediction_note(o);
            std::transform(hay.begin(), hay.end(), hay.begin(), [](unsigned char c) { return (char)std::tolower(c); });
            if (hay.find(needle) == std::string::npos) continue;
        }
        rows.push_back(i);
    }
    // Tracks outside on this frame follow, greyed: selectable, so that O can bring them back.
    std::vector<const Track*> outside;
    for (const std::string& id : editor.outside_tracks()) {
        const Track* t = app.session().track(id);
        if (!t || (!label_filter_.empty() && t->label != label_filter_)) continue;
        if (!needle.empty()) {
            std::string hay = app.display_name(t->id) + " " + t->id + " " + to_string(t->type) + " track outside";
            std::transform(hay.begin(), hay.end(), hay.begin(), [](unsigned char c) { return (char)std::tolower(c); });
            if (hay.find(needle) == std::string::npos) continue;
        }
        outside.push_back(t);
    }
    if (outside.empty()) ImGui::TextDisabled("%zu on this frame", rows.size());
    else ImGui::TextDisabled("%zu on this frame, %zu outside", rows.size(), outside.size());
    ImGui::BeginChild("##objects", ImVec2(0, std::min(240.0f, ImGui::GetTextLineHeightWithSpacing() * 10)), true);
    std::optional<std::pair<std::string, std::string>> relabel;  // object id, label
    ImGuiListClipper clipper;
    clipper.Begin((int)(rows.size() + outside.size()));
    while (clipper.Step()) {
        for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
            if ((size_t)r >= rows.size()) {
                const Track& t = *outside[(size_t)r - rows.size()];
                ImGui::PushID(t.id.c_str());
                std::string text = object_row_name(app, t.id, t.label, t.type) + "  (outside)";
                ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
                if (ImGui::Selectable(text.c_str(), editor.is_selected(t.id))) editor.select({t.id});
                ImGui::PopStyleColor();
                if (ImGui::IsItemHovered()) ImGui::SetTooltip("Outside on this frame: select it and press O where the object is back");
                ImGui::PopID();
                continue;
            }
            const Object& o = objects[rows[(size_t)r]];
            ImGui::PushID(o.id.c_str());
            bool hidden = editor.is_hidden(o.id), locked = editor.is_locked(o.id);
            if (ImGui::SmallButton(hidden ? "show" : "hide")) editor.set_hidden(o.id, !hidden);
            ImGui::SameLine();
            if (ImGui::SmallButton(locked ? "unlock" : "lock")) editor.set_locked(o.id, !locked);
            ImGui::SameLine();
            if (auto label = draw_label_picker(task, o, kRowLabelWidth)) relabel = {o.id, *label};  // after the list: it changes the rows
            ImGui::SameLine();
            std::string text = object_row_name(app, o.id, o.label, o.type);
            text += prediction_note(o);
            if (ImGui::Selectable(text.c_str(), editor.is_selected(o.id))) {
                editor.select({o.id});
                if (o.type != ShapeType::Tag) app.reveal(shape_bounds(o));  // the view moves only for a shape not wholly in it
            }
            ImGui::PopID();
        }
    }
    ImGui::EndChild();
    if (relabel) editor.relabel({relabel->first}, relabel->second);
}

// "Track forward" for the selected tracks: how far, and the button (T). Under the attributes of a
// track, or of a selection holding tracks.
void Panels::draw_track_forward(App& app) {
    Editor& editor = app.editor();
    size_t tracks = 0;
    for (const std::string& id : editor.selection()) tracks += app.is_track(id) ? 1 : 0;
    if (tracks == 0 || app.frame_count() <= 1) return;
    ImGui::BeginDisabled(app.tracking().running());
    int frames = (int)std::min<long long>(editor.track_frames(), 1 << 30);
    ImGui::SetNextItemWidth(56);
    if (ImGui::InputInt("##trackframes", &frames, 0)) editor.set_track_frames(frames);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Frames to track; 0: until the tracker loses the object or the video ends");
    ImGui::SameLine();
    ImGui::TextDisabled(frames == 0 ? "frames: until lost" : "frames");
    ImGui::SameLine();
    char button[64];
    std::snprintf(button, sizeof button, tracks == 1 ? "Track forward" : "Track %zu forward", tracks);
    if (ImGui::Button(button)) editor.track_selection_forward();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Follow the selected tracks with the tracker from this frame on (T)");
    ImGui::EndDisabled();
}

// A tracking run: while it runs, its progress and Cancel (Esc); afterwards, what happened to each
// object, with a jump to where it stopped.
void Panels::draw_tracking(App& app) {
    if (app.tracking().running()) {
        Json t = app.tracking().status_json();
        double progress = t.value("progress", 0.0);
        long long done = t.value("framesTracked", 0LL);
        char overlay[64];
        std::snprintf(overlay, sizeof overlay, "tracking: %lld frames", done);
        ImGui::ProgressBar((float)progress, ImVec2(-80, 0), overlay);
        ImGui::SameLine();
        if (ImGui::Button("Cancel")) app.tracking().cancel();
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Stop tracking; the frames tracked so far are kept (Esc)");
        return;
    }
    Json last = app.tracking().status_json();
    if (!last.is_object() || !last.contains("objects")) return;
    for (const Json& o : last["objects"]) {
        std::string state = o.value("state", "");
        if (state != "lost" && state != "failed") continue;
        ImGui::PushID(o.value("id", "").c_str());
        ImGui::TextColored(ImVec4(1, 0.75f, 0.3f, 1), "%s %s on frame %lld", app.display_name(o.value("id", "")).c_str(), state.c_str(), o.value("frame", 0LL));
        ImGui::SameLine();
        if (ImGui::SmallButton("go")) app.set_frame(o.value("frame", 0LL));
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", o.value("message", "").c_str());
        ImGui::PopID();
    }
}

// A track's state on this frame, and what can be done to it here (the same as the keys).
void Panels::draw_track_controls(App& app, const Track& track) {
    Editor& editor = app.editor();
    auto state = track_state_at(track, app.frame(), {}, nullptr, app.medium());
    bool keyframe = keyframe_at(track, app.frame()) != nullptr;
    bool outside = state && state->outside, occluded = state && state->occluded;
    ImGui::TextDisabled("track, %zu keyframes", track.keyframes.size());
    if (ImGui::Checkbox("Keyframe", &keyframe)) editor.toggle_keyframe();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("This frame is a keyframe of the track (K)");
    ImGui::SameLine();
    if (ImGui::Checkbox("Outside", &outside)) editor.toggle_outside();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The object has left the frame from here on (O)");
    ImGui::SameLine();
    if (ImGui::Checkbox("Occluded", &occluded)) editor.toggle_occluded();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("The object is hidden behind something from here on (Q)");
    if (ImGui::SmallButton("Split here")) editor.split_selected_track();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Two tracks: this one ends here, a new one goes on from here (S)");
    ImGui::SameLine();
    if (ImGui::SmallButton("Delete from here")) editor.delete_selected_track_from_here();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Remove the track from this frame on (Shift+Delete)");
    ImGui::SameLine();
    if (ImGui::SmallButton("Propagate")) editor.propagate_selection(10);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Copy this frame's shape onto the next 10 frames (Ctrl+B)");
    draw_track_forward(app);
}

void Panels::draw_attributes(App& app) {
    Editor& editor = app.editor();
    const Task* task = app.task();
    if (editor.selection().size() != 1 || !task) {
        ImGui::TextDisabled(editor.selection().empty() ? "Select a shape to edit its attributes" : "%zu shapes selected", editor.selection().size());
        draw_track_forward(app);
        return;
    }
    int index = editor.find_shape(editor.selection()[0]);
    if (index < 0) {
        // A track outside on this frame: its controls, to bring it back (Outside off).
        if (const Track* track = app.session().track(editor.selection()[0])) {
            ImGui::Text("%s  (%s, outside here)", app.display_name(track->id).c_str(), to_string(track->type));
            draw_track_controls(app, *track);
        }
        return;
    }
    // The label, then its attributes, then a track's controls: a shape and a track of the same
    // label show their attributes at the same places.
    const Object o = app.frame_objects()[(size_t)index];
    const LabelSpec* spec = task->find_label(o.label);
    std::optional<std::string> label = draw_label_picker(task, o, ImGui::GetContentRegionAvail().x * 0.5f);
    ImGui::SameLine();
    ImGui::TextDisabled("%s  (%s)", app.display_name(o.id).c_str(), to_string(o.type));
    if (label) return (void)editor.relabel({o.id}, *label);  // its attributes are the new label's from the next frame
    draw_attribute_fields(app, o, spec);
    if (const Track* track = app.session().track(o.id)) draw_track_controls(app, *track);
}

void Panels::draw_attribute_fields(App& app, const Object& o, const LabelSpec* spec) {
    if (!spec || spec->attributes.empty()) {
        ImGui::TextDisabled("This label has no attributes");
        return;
    }
    auto current = [&](const AttributeSpec& a) {
        for (const Attribute& at : o.attributes)
            if (at.id == a.id) return at.value;
        return a.default_value;
    };
    auto set = [&](const AttributeSpec& a, Json value) {
        Object after = o;
        bool found = false;
        for (Attribute& at : after.attributes)
            if (at.id == a.id) { at.value = value; found = true; }
        if (!found) after.attributes.push_back({a.id, value});
        app.perform(app.update_shapes_command("set " + a.name, {after}));
    };
    for (const AttributeSpec& a : spec->attributes) {
        ImGui::PushID(a.id.c_str());
        Json value = current(a);
        switch (a.type) {
            case AttributeType::Select: {
                std::string now = value.is_string() ? value.get<std::string>() : "";
                if (ImGui::BeginCombo(a.name.c_str(), now.c_str())) {
                    for (const std::string& v : a.values)
                        if (ImGui::Selectable(v.c_str(), v == now) && v != now) set(a, v);
                    ImGui::EndCombo();
                }
                break;
            }
            case AttributeType::Radio: {
                ImGui::TextUnformatted(a.name.c_str());
                std::string now = value.is_string() ? value.get<std::string>() : "";
                for (const std::string& v : a.values) {
                    ImGui::SameLine();
                    if (ImGui::RadioButton(v.c_str(), v == now) && v != now) set(a, v);
                }
                break;
            }
            case AttributeType::Checkbox: {
                bool b = value.is_boolean() && value.get<bool>();
                if (ImGui::Checkbox(a.name.c_str(), &b)) set(a, b);
                break;
            }
            case AttributeType::Number: {
                double d = value.is_number() ? value.get<double>() : a.min;
                double step = a.step;
                if (ImGui::InputDouble(a.name.c_str(), &d, step, step * 10, "%.6g")) {}
                if (ImGui::IsItemDeactivatedAfterEdit() || (ImGui::IsItemEdited() && !ImGui::IsItemActive())) {
                    d = std::clamp(std::round((d - a.min) / step) * step + a.min, a.min, a.max);
                    if (!value.is_number() || value.get<double>() != d) set(a, d);
                }
                break;
            }
            case AttributeType::Text: {
                std::string key = o.id + "/" + a.id;
                if (text_editing_id_ != key) {
                    std::snprintf(text_buffer_, sizeof text_buffer_, "%s", value.is_string() ? value.get<std::string>().c_str() : "");
                }
                ImGui::InputText(a.name.c_str(), text_buffer_, sizeof text_buffer_);
                if (ImGui::IsItemActivated()) text_editing_id_ = key;
                if (ImGui::IsItemDeactivated()) {
                    text_editing_id_.clear();
                    if (!value.is_string() || value.get<std::string>() != text_buffer_) set(a, std::string(text_buffer_));
                }
                break;
            }
        }
        ImGui::PopID();
    }
}

void Panels::draw_image_adjust(App& app) {
    ImageAdjust a = app.image_adjust();
    float b = (float)a.brightness, c = (float)a.contrast, g = (float)a.gamma;
    bool changed = ImGui::SliderFloat("Brightness", &b, -0.5f, 0.5f, "%.2f");
    changed |= ImGui::SliderFloat("Contrast", &c, 0.2f, 4.0f, "%.2f", ImGuiSliderFlags_Logarithmic);
    changed |= ImGui::SliderFloat("Gamma", &g, 0.2f, 4.0f, "%.2f", ImGuiSliderFlags_Logarithmic);
    if (changed) app.set_image_adjust({b, c, g});
    if (ImGui::SmallButton("Reset")) app.set_image_adjust({});
}

// How shapes are drawn: outline width and fill opacity (busy images), every shape named (I).
void Panels::draw_shape_style(App& app) {
    ShapeStyle style = app.shape_style();
    float width = (float)style.outline_width, fill = (float)style.fill_opacity;
    bool changed = ImGui::SliderFloat("Outline", &width, (float)ShapeStyle::kMinOutline, (float)ShapeStyle::kMaxOutline, "%.1f px");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Width of the shapes' outlines on screen (Ctrl+click to type it)");
    changed |= ImGui::SliderFloat("Fill", &fill, 0.0f, 1.0f, "%.2f");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Opacity of the shapes' fill: 0 outlines only");
    changed |= ImGui::Checkbox("Names on all shapes (I)", &style.captions);
    if (changed) {
        style.outline_width = width;
        style.fill_opacity = fill;
        app.set_shape_style(style);
    }
    if (ImGui::SmallButton("Reset##style")) app.set_shape_style({});
}

void Panels::draw_history(App& app) {
    const History& h = app.session().history();
    ImGui::BeginDisabled(!h.can_undo());
    if (ImGui::SmallButton("Undo")) app.undo();
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!h.can_redo());
    if (ImGui::SmallButton("Redo")) app.redo();
    ImGui::EndDisabled();
    ImGui::BeginChild("##history", ImVec2(0, 160), true);
    for (size_t i = 0; i < h.done().size(); ++i) ImGui::Text("%zu. %s: %s", i + 1, h.done()[i].name.c_str(), command_subjects(app, h.done()[i]).c_str());
    for (size_t i = h.undone().size(); i-- > 0;)
        ImGui::TextDisabled("%zu. %s: %s (undone)", h.done().size() + h.undone().size() - i, h.undone()[i].name.c_str(), command_subjects(app, h.undone()[i]).c_str());
    ImGui::EndChild();
}

}  // namespace pm
