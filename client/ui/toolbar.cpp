#include "ui/toolbar.hpp"

#include "ui/formats_panel.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace pm {

namespace {

// One control (or a group that belongs together) of the bar.
struct Item {
    const char* id;
    int priority;                // higher stays on the bar longer
    float width;
    std::function<bool()> draw;  // true: it acted (the More menu then closes)
};

constexpr ImGuiWindowFlags kBarFlags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
                                       ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoBringToFrontOnFocus;

float button_width(const char* text) { return ImGui::CalcTextSize(text, nullptr, true).x + ImGui::GetStyle().FramePadding.x * 2; }
float checkbox_width(const char* text) { return ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize(text, nullptr, true).x; }

void record(std::vector<UiControl>& layout, const char* id, const char* place, ImVec2 min, ImVec2 max) {
    layout.push_back({id, place, Rect{min.x, min.y, max.x - min.x, max.y - min.y}});
}

bool tip(const char* text) {
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", text);
    return false;
}

}  // namespace

Toolbar::Wants Toolbar::draw(App& app, float width, float height, bool sidebar_open, std::vector<UiControl>& layout) {
    Wants wants;
    Editor& editor = app.editor();
    const ImGuiStyle& style = ImGui::GetStyle();
    const long long frames = app.frame_count();
    std::vector<Item> items;

    char count_text[48];
    std::snprintf(count_text, sizeof count_text, "(%lld of %lld)", app.frame() + 1, frames);
    float arrow = ImGui::GetFrameHeight();
    items.push_back({"frame", 10, arrow * 2 + 64 + ImGui::CalcTextSize(count_text).x + style.ItemSpacing.x * 3, [&, count_text] {
        bool acted = false;
        ImGui::BeginDisabled(app.frame() <= 0);
        if (ImGui::ArrowButton("##prev", ImGuiDir_Left)) acted = app.set_frame(app.frame() - 1);
        ImGui::EndDisabled();
        tip("Previous frame (D)");
        ImGui::SameLine();
        ImGui::SetNextItemWidth(64);
        // Frames are numbered from 0, as in the API, the exports and CVAT; "(25 of 94)" counts them.
        if (!ImGui::IsAnyItemActive()) std::snprintf(frame_input_, sizeof frame_input_, "%lld", app.frame());
        if (ImGui::InputText("##frame", frame_input_, sizeof frame_input_, ImGuiInputTextFlags_CharsDecimal | ImGuiInputTextFlags_EnterReturnsTrue)) {
            long long n = std::atoll(frame_input_);
            if (frame_input_[0] != 0 && n >= 0 && n < frames) acted = app.set_frame(n);
            else app.refuse({"out_of_range", "frame", std::string("frame \"") + frame_input_ + "\" is outside 0.." + std::to_string(frames - 1)});
        }
        tip("Frame number, from 0: type one and press Enter");
        ImGui::SameLine();
        ImGui::TextUnformatted(count_text);
        ImGui::SameLine();
        ImGui::BeginDisabled(app.frame() + 1 >= frames);
        if (ImGui::ArrowButton("##next", ImGuiDir_Right)) acted = app.set_frame(app.frame() + 1);
        ImGui::EndDisabled();
        tip("Next frame (F)");
        return acted;
    }});

    Rect vp = app.viewport();
    Vec2 centre{vp.x + vp.w / 2, vp.y + vp.h / 2};
    items.push_back({"fit", 4, button_width("Fit"), [&] {
        bool acted = ImGui::Button("Fit");
        if (acted) app.fit_to_viewport();
        return tip("Fit the image to the window (0)") || acted;
    }});
    items.push_back({"zoom-out", 3, button_width("-"), [&] {
        bool acted = ImGui::Button("-");
        if (acted) app.zoom_around(centre, 1 / 1.2);
        return tip("Zoom out ([)") || acted;
    }});
    items.push_back({"zoom-in", 3, button_width("+"), [&] {
        bool acted = ImGui::Button("+");
        if (acted) app.zoom_around(centre, 1.2);
        return tip("Zoom in (])") || acted;
    }});

    struct ToolButton { Tool tool; const char* id; const char* text; int priority; const char* tip; };
    static const ToolButton tools[] = {
        {Tool::Select, "tool-select", "Select", 9, "Select, move and reshape (Esc)"},
        {Tool::Rectangle, "tool-box", "Box", 8, "Draw a rectangle: drag"},
        {Tool::Polygon, "tool-polygon", "Polygon", 8, "Draw a polygon: click vertices, close on the first one or Enter; Shift+drag draws freehand"},
        {Tool::Polyline, "tool-line", "Line", 5, "Draw a polyline: click vertices, Enter finishes"},
        {Tool::Points, "tool-points", "Points", 5, "Place points: click, Enter finishes"},
        {Tool::Ellipse, "tool-ellipse", "Ellipse", 5, "Draw an ellipse: drag"},
        {Tool::Scissors, "tool-scissors", "Scissors", 4, "Intelligent scissors (Y): click around an object; between clicks the outline follows the image's edges. Close on the first point or Enter; Backspace takes back a click"},
        {Tool::Wand, "tool-wand", "Wand", 4, "Magic wand (J): click a region to outline the area of similar colour around it"},
        {Tool::Outline, "tool-outline", "Outline", 4, "Outline (B): drag a box around one object to get its outline as a polygon"}};
    for (const ToolButton& b : tools)
        items.push_back({b.id, b.priority, button_width(b.text), [&editor, &b] {
            bool active = editor.tool() == b.tool;
            if (active) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
            bool acted = ImGui::Button(b.text);
            if (active) ImGui::PopStyleColor();
            if (acted) editor.set_tool(b.tool);
            return tip(b.tip) || acted;
        }});

    if (const Task* task = app.task())
        items.push_back({"label", 8, 120, [&editor, task] {
            bool acted = false;
            ImGui::SetNextItemWidth(120);
            const LabelSpec* current = task->find_label(editor.label());
            if (ImGui::BeginCombo("##label", current ? current->name.c_str() : "label…")) {
                // Only the labels the tool may draw (a tag-only label is for "+tag" in the Labels panel).
                for (const LabelSpec& l : task->labels)
                    if (editor.label_allows(l.id, editor.tool()) && ImGui::Selectable(l.name.c_str(), current == &l)) acted = editor.set_label(l.id);
                ImGui::EndCombo();
            }
            return tip("Label of the next shape (1-9): those this tool may draw") || acted;
        }});
    items.push_back({"snap", 2, checkbox_width("Snap"), [&editor] {
        bool snap = editor.snapping();
        if (ImGui::Checkbox("Snap", &snap)) editor.set_snapping(snap);
        return tip("Snap to the vertices and edges of other shapes (Ctrl held: off)");
    }});
    items.push_back({"edges", 2, checkbox_width("Edges"), [&editor] {
        bool edges = editor.edge_snapping();
        if (ImGui::Checkbox("Edges", &edges)) editor.set_edge_snapping(edges);
        return tip("A dragged vertex snaps to the strongest image edge near it (Ctrl held: off)");
    }});
    if (editor.tool() == Tool::Wand)
        items.push_back({"wand-tolerance", 4, 110, [&editor] {
            int tolerance = editor.wand_tolerance();
            ImGui::SetNextItemWidth(110);
            bool acted = ImGui::InputInt("##tolerance", &tolerance, 8, 32);
            if (acted) editor.set_wand_tolerance(tolerance);
            return tip("How far in colour the wand's region may reach from the clicked pixel") || acted;
        }});
    items.push_back({"track", 2, checkbox_width("Track"), [&editor] {
        bool tracks = editor.draw_tracks();
        if (ImGui::Checkbox("Track", &tracks)) editor.set_draw_tracks(tracks);
        return tip("New shapes become tracks that follow the object across the frames of this video (keyframes, interpolation); a track never leaves its video or image");
    }});
    items.push_back({"undo", 7, button_width("Undo"), [&app] {
        ImGui::BeginDisabled(!app.session().history().can_undo());
        bool acted = ImGui::Button("Undo");
        ImGui::EndDisabled();
        if (acted) app.undo();
        return tip("Undo (Ctrl+Z)") || acted;
    }});
    items.push_back({"redo", 6, button_width("Redo"), [&app] {
        ImGui::BeginDisabled(!app.session().history().can_redo());
        bool acted = ImGui::Button("Redo");
        ImGui::EndDisabled();
        if (acted) app.redo();
        return tip("Redo (Ctrl+Y, Ctrl+Shift+Z)") || acted;
    }});
    items.push_back({"panels", 6, button_width("Panels"), [&wants, sidebar_open] {
        if (sidebar_open) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        bool acted = ImGui::Button("Panels");
        if (sidebar_open) ImGui::PopStyleColor();
        wants.toggle_sidebar = acted;
        return tip("Show or hide the sidebar: labels, objects, attributes, history") || acted;
    }});
    items.push_back({"data", 1, FormatsPanel::menu_width(), [&app, &layout] { return FormatsPanel::draw_menu(app, layout); }});
    items.push_back({"help", 1, button_width("?"), [&wants] {
        bool acted = ImGui::Button("?");
        wants.toggle_help = acted;
        return tip("Keyboard shortcuts (F1)") || acted;
    }});

    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(width, height));
    ImGui::Begin("##toolbar", nullptr, kBarFlags);
    std::vector<float> widths;
    std::vector<int> priorities;
    for (const Item& item : items) {
        widths.push_back(item.width);
        priorities.push_back(item.priority);
    }
    const float gap = style.ItemSpacing.x;
    const float available = width - style.WindowPadding.x * 2;
    std::vector<bool> shown = fit_by_priority(widths, priorities, gap, available);
    bool all_shown = true;
    for (bool s : shown) all_shown = all_shown && s;
    if (!all_shown) shown = fit_by_priority(widths, priorities, gap, available - button_width("More") - gap);

    bool first = true;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!shown[i]) continue;
        if (!first) ImGui::SameLine(0, gap);
        first = false;
        ImGui::BeginGroup();
        items[i].draw();
        ImGui::EndGroup();
        record(layout, items[i].id, "toolbar", ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
    }
    if (!all_shown) {
        ImGui::SameLine(0, gap);
        if (ImGui::Button("More")) ImGui::OpenPopup("##more");
        tip("The controls this width has no room for");
        record(layout, "more", "toolbar", ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
        if (ImGui::BeginPopup("##more")) {
            // In columns when one would run past the canvas's bottom edge.
            const float room = ImGui::GetIO().DisplaySize.y - ImGui::GetCursorScreenPos().y - style.WindowPadding.y * 2;
            const int per_column = std::max(1, (int)(room / ImGui::GetFrameHeightWithSpacing()));
            int in_column = 0;
            ImGui::BeginGroup();
            for (size_t i = 0; i < items.size(); ++i) {
                if (shown[i]) continue;
                if (in_column == per_column) {
                    ImGui::EndGroup();
                    ImGui::SameLine(0, gap);
                    ImGui::BeginGroup();
                    in_column = 0;
                }
                ++in_column;
                ImGui::BeginGroup();
                bool acted = items[i].draw();
                ImGui::EndGroup();
                record(layout, items[i].id, "more", ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
                if (acted) ImGui::CloseCurrentPopup();
            }
            ImGui::EndGroup();
            ImGui::EndPopup();
        }
    }
    ImGui::End();
    return wants;
}

}  // namespace pm
