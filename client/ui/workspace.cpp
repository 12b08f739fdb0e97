#include "ui/workspace.hpp"

#include <imgui.h>

#include <cmath>
#include <cstdio>

namespace pm {

static constexpr ImGuiWindowFlags kBarFlags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                               ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
                                               ImGuiWindowFlags_NoBringToFrontOnFocus;

void Workspace::draw(App& app, ImageTextures& textures, double canvas_w, double canvas_h) {
    Rect viewport{0, kToolbarHeight, canvas_w, std::max(1.0, canvas_h - kToolbarHeight - kStatusBarHeight)};
    app.set_viewport(viewport);

    ImDrawList* bg = ImGui::GetBackgroundDrawList();
    bg->AddRectFilled(ImVec2(0, 0), ImVec2((float)canvas_w, (float)canvas_h), IM_COL32(38, 40, 44, 255));

    if (FrameImage* img = app.current_image()) {
        textures.sync(*img);
        if (img->state == LoadState::Ready) {
            textures.draw(*img, app.view(), viewport, bg);
        } else {
            const char* what = img->state == LoadState::Failed ? img->error.message.c_str() : "Loading…";
            ImVec2 size = ImGui::CalcTextSize(what, nullptr, false, (float)canvas_w * 0.8f);
            ImVec2 at((float)(viewport.x + (viewport.w - size.x) / 2), (float)(viewport.y + (viewport.h - size.y) / 2));
            ImU32 colour = img->state == LoadState::Failed ? IM_COL32(255, 140, 120, 255) : IM_COL32(200, 200, 200, 255);
            bg->AddText(nullptr, 0, at, colour, what, nullptr, (float)canvas_w * 0.8f);
        }
    }

    if (const auto& fatal = app.fatal_error()) {
        ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, (float)canvas_h / 2), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
        ImGui::SetNextWindowSize(ImVec2(std::min(560.0f, (float)canvas_w - 20), 0));
        ImGui::Begin("Polymark could not open this task", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize);
        ImGui::TextWrapped("%s", fatal->message.c_str());
        ImGui::TextDisabled("code: %s", fatal->code.c_str());
        ImGui::End();
        return;
    }

    draw_toolbar(app, canvas_w);
    draw_status_bar(app, canvas_w, canvas_h);
    draw_notices(app, canvas_w, canvas_h);
    handle_canvas_input(app);
    handle_shortcuts(app);
}

void Workspace::draw_toolbar(App& app, double canvas_w) {
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2((float)canvas_w, kToolbarHeight));
    ImGui::Begin("##toolbar", nullptr, kBarFlags);
    long long frames = app.frame_count();
    ImGui::BeginDisabled(app.frame() <= 0);
    if (ImGui::ArrowButton("##prev", ImGuiDir_Left)) app.set_frame(app.frame() - 1);
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Previous frame (D)");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(64);
    if (!ImGui::IsItemActive() && !ImGui::IsAnyItemActive()) std::snprintf(frame_input_, sizeof frame_input_, "%lld", app.frame() + 1);
    if (ImGui::InputText("##frame", frame_input_, sizeof frame_input_, ImGuiInputTextFlags_CharsDecimal | ImGuiInputTextFlags_EnterReturnsTrue)) {
        long long n = std::atoll(frame_input_);
        if (n >= 1 && n <= frames) app.set_frame(n - 1);
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Frame number: type one and press Enter");
    ImGui::SameLine();
    ImGui::Text("/ %lld", frames);
    ImGui::SameLine();
    ImGui::BeginDisabled(app.frame() + 1 >= frames);
    if (ImGui::ArrowButton("##next", ImGuiDir_Right)) app.set_frame(app.frame() + 1);
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("Next frame (F)");
    ImGui::SameLine(0, 24);
    if (ImGui::Button("Fit")) app.fit_to_viewport();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Fit the image to the window (0)");
    ImGui::SameLine();
    Rect vp = app.viewport();
    Vec2 centre{vp.x + vp.w / 2, vp.y + vp.h / 2};
    if (ImGui::Button("-")) app.zoom_around(centre, 1 / 1.2);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Zoom out ([)");
    ImGui::SameLine();
    if (ImGui::Button("+")) app.zoom_around(centre, 1.2);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Zoom in (])");
    ImGui::SameLine(0, 24);
    ImGui::TextUnformatted(app.current_media_name().c_str());
    ImGui::End();
}

void Workspace::draw_status_bar(App& app, double canvas_w, double canvas_h) {
    ImGui::SetNextWindowPos(ImVec2(0, (float)canvas_h - kStatusBarHeight));
    ImGui::SetNextWindowSize(ImVec2((float)canvas_w, kStatusBarHeight));
    ImGui::Begin("##status", nullptr, kBarFlags);
    if (cursor_over_image_) ImGui::Text("x %.1f  y %.1f px", cursor_image_.x, cursor_image_.y);
    else ImGui::TextDisabled("x –  y –");
    ImGui::SameLine(170);
    ImGui::Text("zoom %.0f%%", app.view().zoom * 100);
    ImGui::SameLine(270);
    const FrameImage* img = app.current_image();
    if (img && img->state == LoadState::Ready) ImGui::Text("%d × %d", img->width, img->height);
    ImGui::SameLine(400);
    ImGui::Text("frame %lld of %lld", app.frame() + 1, app.frame_count());
    ImGui::End();
}

void Workspace::draw_notices(App& app, double canvas_w, double canvas_h) {
    const auto& notices = app.notices();
    float y = (float)canvas_h - kStatusBarHeight - 8;
    for (size_t i = notices.size(); i-- > 0;) {
        char name[32];
        std::snprintf(name, sizeof name, "##notice%zu", i);
        ImGui::SetNextWindowPos(ImVec2((float)canvas_w - 8, y), ImGuiCond_Always, ImVec2(1, 1));
        ImGui::SetNextWindowSize(ImVec2(std::min(420.0f, (float)canvas_w - 16), 0));
        ImGui::PushStyleColor(ImGuiCol_WindowBg, IM_COL32(90, 30, 30, 235));
        ImGui::Begin(name, nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing);
        ImGui::PushTextWrapPos(ImGui::GetContentRegionAvail().x - 24);
        ImGui::TextUnformatted(notices[i].error.message.c_str());
        ImGui::PopTextWrapPos();
        ImGui::SameLine(ImGui::GetContentRegionMax().x - 16);
        bool dismiss = ImGui::SmallButton("x");
        y -= ImGui::GetWindowHeight() + 6;
        ImGui::End();
        ImGui::PopStyleColor();
        if (dismiss) {
            app.dismiss_notice(i);
            break;
        }
    }
}

void Workspace::handle_canvas_input(App& app) {
    ImGuiIO& io = ImGui::GetIO();
    Rect vp = app.viewport();
    Vec2 mouse{io.MousePos.x, io.MousePos.y};
    bool inside = ImGui::IsMousePosValid() && mouse.x >= vp.x && mouse.y >= vp.y && mouse.x < vp.x + vp.w && mouse.y < vp.y + vp.h;
    bool over_ui = ImGui::IsWindowHovered(ImGuiHoveredFlags_AnyWindow) || ImGui::IsAnyItemActive();
    bool canvas_hovered = inside && !over_ui;

    const FrameImage* img = app.current_image();
    cursor_image_ = app.view().to_image(mouse);
    cursor_over_image_ = canvas_hovered && img && img->state == LoadState::Ready && cursor_image_.x >= 0 && cursor_image_.y >= 0 &&
                         cursor_image_.x < img->width && cursor_image_.y < img->height;

    if (canvas_hovered && io.MouseWheel != 0) app.zoom_around(mouse, wheel_zoom_factor(io.MouseWheel));

    bool space = ImGui::IsKeyDown(ImGuiKey_Space) && !io.WantTextInput;
    bool start_pan = canvas_hovered && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) || (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left)));
    if (start_pan) panning_ = true;
    if (panning_) {
        bool held = ImGui::IsMouseDown(ImGuiMouseButton_Middle) || ImGui::IsMouseDown(ImGuiMouseButton_Left);
        if (!held) panning_ = false;
        else if (io.MouseDelta.x != 0 || io.MouseDelta.y != 0) app.pan_by({io.MouseDelta.x, io.MouseDelta.y});
        ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeAll);
    } else if (canvas_hovered && space) {
        ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
    }
}

void Workspace::handle_shortcuts(App& app) {
    ImGuiIO& io = ImGui::GetIO();
    if (io.WantTextInput || io.KeyCtrl || io.KeyAlt || io.KeySuper) return;
    Rect vp = app.viewport();
    Vec2 mouse{io.MousePos.x, io.MousePos.y};
    bool mouse_inside = ImGui::IsMousePosValid() && mouse.x >= vp.x && mouse.y >= vp.y && mouse.x < vp.x + vp.w && mouse.y < vp.y + vp.h;
    Vec2 anchor = mouse_inside ? mouse : Vec2{vp.x + vp.w / 2, vp.y + vp.h / 2};
    // Zoom keys avoid CVAT's defaults, where + and - change z-order.
    if (ImGui::IsKeyPressed(ImGuiKey_RightBracket)) app.zoom_around(anchor, 1.2);
    if (ImGui::IsKeyPressed(ImGuiKey_LeftBracket)) app.zoom_around(anchor, 1 / 1.2);
    if (ImGui::IsKeyPressed(ImGuiKey_0, false)) app.fit_to_viewport();
    if (ImGui::IsKeyPressed(ImGuiKey_F)) app.set_frame(app.frame() + 1);
    if (ImGui::IsKeyPressed(ImGuiKey_D)) app.set_frame(app.frame() - 1);
}

}  // namespace pm
