#include "ui/timeline.hpp"

#include "polymark/track_edit.hpp"
#include "ui/shape_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pm {

namespace {

constexpr float kHeaderHeight = 26;
constexpr float kNameWidth = 120;
constexpr float kKeyframeReach = 6;  // screen pixels around a keyframe mark that grab it

std::vector<const Track*> rows_to_show(const App& app, size_t& hidden) {
    std::vector<const Track*> rows;
    for (const std::string& id : app.editor().selection())
        if (const Track* t = app.session().track(id)) rows.push_back(t);
    if (rows.empty())
        for (const Track& t : app.document().tracks) rows.push_back(&t);
    hidden = rows.size() > (size_t)Timeline::kMaxRows ? rows.size() - Timeline::kMaxRows : 0;
    if (hidden) rows.resize(Timeline::kMaxRows);
    return rows;
}

void diamond(ImDrawList* list, ImVec2 c, float r, ImU32 fill) {
    list->AddQuadFilled(ImVec2(c.x, c.y - r), ImVec2(c.x + r, c.y), ImVec2(c.x, c.y + r), ImVec2(c.x - r, c.y), fill);
    list->AddQuad(ImVec2(c.x, c.y - r), ImVec2(c.x + r, c.y), ImVec2(c.x, c.y + r), ImVec2(c.x - r, c.y), IM_COL32(0, 0, 0, 200));
}

}  // namespace

float Timeline::height(const App& app) {
    if (app.frame_count() <= 1) return 0;
    // Sized by the document's tracks, not the selection: the canvas does not jump on a click.
    size_t rows = std::clamp<size_t>(app.document().tracks.size(), 1, (size_t)kMaxRows + 1);
    return kHeaderHeight + (float)rows * kRowHeight + 6;
}

long long Timeline::frame_at(float x, float x0, float width, long long frames) const {
    if (frames <= 1 || width <= 0) return 0;
    double f = std::round((x - x0) / width * (double)(frames - 1));
    return (long long)std::clamp(f, 0.0, (double)(frames - 1));
}

void Timeline::draw(App& app, Rect area) {
    long long frames = app.frame_count();
    if (frames <= 1 || area.h <= 0) return;
    ImGui::SetNextWindowPos(ImVec2((float)area.x, (float)area.y));
    ImGui::SetNextWindowSize(ImVec2((float)area.w, (float)area.h));
    ImGui::Begin("##timeline", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                            ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse);
    ImDrawList* list = ImGui::GetWindowDrawList();
    if (ImGui::Button(app.playing() ? "Pause" : "Play", ImVec2(kNameWidth * 0.45f, 0))) app.set_playing(!app.playing());
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Play at %.4g frames a second / pause (Space, tapped)", app.frame_rate());
    ImGui::SameLine();
    // Frames from 0, as everywhere: the header has room for the number, the tooltip says the rest.
    ImGui::Text("%lld", app.frame());
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("frame %lld (%lld of %lld)", app.frame(), app.frame() + 1, frames);

    // The scrubber: the same x range as every track row below.
    float x0 = (float)area.x + kNameWidth + 8, width = std::max(10.0f, (float)(area.x + area.w) - x0 - 12);
    auto x_of = [&](long long f) { return x0 + width * (float)f / (float)(frames - 1); };
    float top = (float)area.y + 4;
    ImGui::SetCursorScreenPos(ImVec2(x0, top));
    ImGui::InvisibleButton("##scrub", ImVec2(width, kHeaderHeight - 8));
    if (ImGui::IsItemActive()) {
        long long f = frame_at(ImGui::GetIO().MousePos.x, x0, width, frames);
        if (f != app.frame()) app.set_frame(f);
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("frame %lld", frame_at(ImGui::GetIO().MousePos.x, x0, width, frames));
    float mid = top + (kHeaderHeight - 8) / 2;
    list->AddRectFilled(ImVec2(x0, mid - 2), ImVec2(x0 + width, mid + 2), IM_COL32(70, 74, 80, 255), 2);

    size_t hidden = 0;
    std::vector<const Track*> rows = rows_to_show(app, hidden);
    const Task* task = app.task();
    float row_y = (float)area.y + kHeaderHeight;
    for (const Track* t : rows) {
        ImGui::PushID(t->id.c_str());
        float cy = row_y + kRowHeight / 2;
        std::string name = app.display_name(t->id);
        list->PushClipRect(ImVec2((float)area.x, row_y), ImVec2((float)area.x + kNameWidth, row_y + kRowHeight), true);
        list->AddText(ImVec2((float)area.x + 6, row_y + 1), app.editor().is_selected(t->id) ? IM_COL32(255, 255, 255, 255) : IM_COL32(190, 190, 190, 255), name.c_str());
        list->PopClipRect();
        list->AddRectFilled(ImVec2(x0, cy - 3), ImVec2(x0 + width, cy + 3), IM_COL32(55, 57, 61, 255));  // outside: grey
        ImU32 colour = ShapeLayer::label_colour(task, t->label, 170);
        // A track ends with its medium (the video or image of its first keyframe) at the latest.
        long long last = t->keyframes.empty() ? frames - 1 : std::min(frames - 1, app.medium_of(t->keyframes.front().frame).end - 1);
        for (auto [first, end] : visible_spans(*t)) {
            if (first > last) continue;
            float a = x_of(first), b = end < 0 ? (last == frames - 1 ? x0 + width : x_of(last)) : x_of(std::min(end, last));
            list->AddRectFilled(ImVec2(a, cy - 3), ImVec2(std::max(a + 2, b), cy + 3), colour);
        }
        ImGui::SetCursorScreenPos(ImVec2(x0 - kKeyframeReach, row_y));
        ImGui::InvisibleButton("##row", ImVec2(width + 2 * kKeyframeReach, kRowHeight));
        float mouse_x = ImGui::GetIO().MousePos.x;
        if (ImGui::IsItemActivated()) {
            // A press on a keyframe mark grabs it; anywhere else jumps there.
            const Keyframe* grabbed = nullptr;
            for (const Keyframe& k : t->keyframes)
                if (std::fabs(x_of(k.frame) - mouse_x) <= kKeyframeReach && (!grabbed || std::fabs(x_of(k.frame) - mouse_x) < std::fabs(x_of(grabbed->frame) - mouse_x))) grabbed = &k;
            if (grabbed) dragging_ = KeyframeDrag{t->id, grabbed->frame};
            else if (app.set_frame(frame_at(mouse_x, x0, width, frames)) && !app.editor().is_selected(t->id)) {
                // And takes the track, outside there or not (O then brings it back).
                app.editor().select({t->id});
            }
        }
        bool dragging_here = dragging_ && dragging_->track_id == t->id;
        if (dragging_here && ImGui::IsItemDeactivated()) {
            long long to = frame_at(mouse_x, x0, width, frames);
            if (!app.medium_of(dragging_->from).contains(to)) {
                app.refuse({"track_crosses_media", t->id, "a keyframe stays within the video or image of its track"});
            } else if (auto moved = move_keyframe(*t, dragging_->from, to)) {
                int index = find_track(app.document(), t->id);
                app.perform(Command{"move keyframe to frame " + std::to_string(to), {}, {TrackOp::update(*t, std::move(*moved), (size_t)index)}});
            }
            dragging_.reset();
            dragging_here = false;
        }
        for (const Keyframe& k : t->keyframes) {
            if (k.frame >= frames) continue;
            bool machine = k.source == Source::Auto || k.source == Source::Model;  // a tracker's or a model's
            ImU32 fill = k.outside ? IM_COL32(120, 120, 120, 255) : machine ? IM_COL32(255, 170, 60, 255) : IM_COL32(245, 245, 245, 255);
            bool moving = dragging_here && k.frame == dragging_->from;
            diamond(list, ImVec2(x_of(k.frame), cy), moving ? 3.0f : 5.0f, moving ? IM_COL32(245, 245, 245, 120) : fill);
        }
        if (dragging_here) diamond(list, ImVec2(x_of(frame_at(mouse_x, x0, width, frames)), cy), 5.0f, IM_COL32(80, 160, 255, 255));
        if (ImGui::IsItemHovered() && !dragging_here) {
            long long f = frame_at(mouse_x, x0, width, frames);
            const Keyframe* k = keyframe_at(*t, f);
            ImGui::SetTooltip("%s, frame %lld%s", name.c_str(), f, k ? (k->outside ? ": keyframe (outside)" : ": keyframe — drag to move") : "");
        }
        ImGui::PopID();
        row_y += kRowHeight;
    }
    if (hidden) {
        char more[64];
        std::snprintf(more, sizeof more, "+%zu more tracks: select some to see them here", hidden);
        list->AddText(ImVec2((float)area.x + 6, row_y + 1), IM_COL32(150, 150, 150, 255), more);
    } else if (rows.empty()) {
        list->AddText(ImVec2((float)area.x + 6, row_y + 1), IM_COL32(150, 150, 150, 255), "No tracks yet: tick \"Track\" in the toolbar to draw one");
    }
    float px = x_of(std::min(app.frame(), frames - 1));
    list->AddLine(ImVec2(px, top), ImVec2(px, (float)(area.y + area.h) - 2), IM_COL32(80, 160, 255, 255), 2);
    ImGui::End();
}

}  // namespace pm
