#include "ui/formats_panel.hpp"

#include <imgui.h>

#include <cstdio>
#include <string>

namespace pm {

namespace {

struct FormatChoice {
    const char* id;
    const char* name;
};
// In the order teams reach for them; the ids are those of exportAnnotations (docs/FORMATS.md).
constexpr FormatChoice kExportFormats[] = {
    {"coco", "COCO instances (.json)"}, {"cvat", "CVAT XML 1.1"}, {"yolo", "YOLO (.zip of .txt)"}, {"voc", "Pascal VOC (.zip of .xml)"},
    {"labelme", "LabelMe (.zip of .json)"}, {"labelstudio", "Label Studio (.json)"}, {"via", "VIA 2 (.json)"}, {"mot", "MOT (gt.txt)"},
    {"polymark", "Polymark document (.json)"}};

void record(std::vector<UiControl>& layout, std::string id, const char* place) {
    ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    layout.push_back({std::move(id), place, Rect{min.x, min.y, max.x - min.x, max.y - min.y}});
}

}  // namespace

float FormatsPanel::menu_width() { return ImGui::CalcTextSize("Data").x + ImGui::GetStyle().FramePadding.x * 2; }

bool FormatsPanel::draw_menu(App& app, std::vector<UiControl>& layout) {
    bool acted = false;
    if (ImGui::Button("Data")) ImGui::OpenPopup("##data");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Import labels from a file (COCO, CVAT, YOLO, VOC, LabelMe, Label Studio, VIA, MOT) or export them; a file dropped on the canvas imports too");
    if (ImGui::BeginPopup("##data")) {
        const bool busy = app.formats().progress().has_value() || app.formats().pending_mapping();
        ImGui::BeginDisabled(busy);
        if (ImGui::MenuItem("Import…")) acted = app.formats().request_import();
        record(layout, "data-import", "data");
        ImGui::Separator();
        ImGui::TextDisabled("Export as");
        for (const FormatChoice& f : kExportFormats) {
            if (ImGui::MenuItem(f.name)) acted = app.formats().request_export(f.id);
            record(layout, std::string("data-export-") + f.id, "data");
        }
        ImGui::EndDisabled();
        ImGui::EndPopup();
    }
    return acted;
}

void FormatsPanel::draw(App& app, double canvas_w, double canvas_h, std::vector<UiControl>& layout) {
    FormatsController& formats = app.formats();
    if (const auto& p = formats.progress()) {
        ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, (float)canvas_h - 40), ImGuiCond_Always, ImVec2(0.5f, 1));
        ImGui::Begin("##format-job", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing);
        ImGui::Text("%s %s%s%s", p->kind == "export" ? "Exporting" : "Importing", p->name.c_str(), p->stage.empty() ? "" : ": ", p->stage.c_str());
        char pct[16];
        std::snprintf(pct, sizeof pct, "%.0f%%", p->fraction * 100);
        ImGui::ProgressBar((float)p->fraction, ImVec2(260, 0), pct);
        ImGui::SameLine();
        if (ImGui::Button("Cancel")) formats.cancel();
        record(layout, "format-cancel", "format-job");
        ImGui::End();
    }
    FormatsController::PendingMapping* m = formats.pending_mapping();
    const Task* task = app.task();
    if (!m || !task) return;
    ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, (float)canvas_h / 2), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(520.0f, (float)canvas_w - 20), 0));
    ImGui::Begin("Labels to map", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize);
    const bool one = m->unknown.size() == 1;
    ImGui::TextWrapped("%zu label%s of %s %s of this task. Map each onto one of the task's labels, or skip its shapes.", m->unknown.size(),
                       one ? "" : "s", m->name.empty() ? "the file" : m->name.c_str(), one ? "is not a label" : "are not labels");
    size_t left = 0;  // labels with nothing chosen yet
    for (size_t i = 0; i < m->unknown.size(); ++i) {
        const FormatsController::UnknownLabel& u = m->unknown[i];
        ImGui::PushID((int)i);
        ImGui::AlignTextToFramePadding();
        ImGui::Text("%s", u.name.c_str());
        ImGui::SameLine();
        ImGui::TextDisabled("(%lld shape%s, %lld track%s)", u.objects, u.objects == 1 ? "" : "s", u.tracks, u.tracks == 1 ? "" : "s");
        ImGui::SameLine(300);
        ImGui::SetNextItemWidth(180);
        const std::optional<std::string>& choice = m->choice[i];
        const LabelSpec* chosen = choice && !choice->empty() ? task->find_label(*choice) : nullptr;
        const char* shown = !choice ? "choose…" : chosen ? chosen->name.c_str() : "skip";
        if (ImGui::BeginCombo("##target", shown)) {
            for (const LabelSpec& l : task->labels) {
                if (ImGui::Selectable(l.name.c_str(), chosen == &l)) m->choice[i] = l.id;
                record(layout, "map-" + std::to_string(i) + "-" + l.id, "mapping");
            }
            if (ImGui::Selectable("skip its shapes", choice && choice->empty())) m->choice[i] = std::string();
            record(layout, "map-" + std::to_string(i) + "-skip", "mapping");
            ImGui::EndCombo();
        }
        record(layout, "map-" + std::to_string(i), "mapping");
        left += !m->choice[i].has_value();
        ImGui::PopID();
    }
    ImGui::Separator();
    ImGui::BeginDisabled(left > 0);
    bool import = ImGui::Button("Import");
    ImGui::EndDisabled();
    if (left > 0 && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Choose a label, or skip, for each label above first");
    record(layout, "map-import", "mapping");
    ImGui::SameLine();
    bool cancel = ImGui::Button("Cancel import");
    record(layout, "map-cancel", "mapping");
    if (left > 0) {
        ImGui::SameLine();
        ImGui::TextDisabled("%zu label%s still to choose", left, left == 1 ? "" : "s");
    }
    ImGui::End();
    if (import) formats.apply_mapping();  // after the window: they end the mapping step
    else if (cancel) formats.cancel_mapping();
}

}  // namespace pm
