#include "ui/workspace.hpp"

#include "polymark/track_edit.hpp"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pm {

// The window listing changes the server refused (dark red: seen on light and dark images).
static constexpr ImU32 kSetAsideBackground = IM_COL32(110, 28, 36, 245);
// A refusal in the status bar: amber, apart from the red of errors that need the labeler.
static constexpr ImU32 kRefusalColour = IM_COL32(240, 190, 80, 255);
static constexpr float kStatusMessageX = 640;

static constexpr ImGuiWindowFlags kBarFlags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                               ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoFocusOnAppearing |
                                               ImGuiWindowFlags_NoBringToFrontOnFocus;

void Workspace::draw(App& app, ImageTextures& textures, double canvas_w, double canvas_h, SceneLayer::Mode scene) {
    // The sidebar sits beside the image on wide canvases; on narrow embeds it starts hidden and,
    // shown, lies over the image. "Panels" toggles it; each width keeps its own choice.
    layout_.clear();
    const bool wide = canvas_w >= kWideCanvas;
    const bool sidebar_open = wide ? sidebar_open_wide_ : sidebar_open_narrow_;
    const double sidebar_w = wide ? std::min<double>(kSidebarWidth, canvas_w * 0.35) : std::min<double>(kSidebarWidth, canvas_w - 48);
    const double beside = wide && sidebar_open ? sidebar_w : 0;
    double timeline = Timeline::height(app);
    Rect viewport{0, kToolbarHeight, std::max(1.0, canvas_w - beside), std::max(1.0, canvas_h - kToolbarHeight - kStatusBarHeight - timeline)};
    app.set_viewport(viewport);

    ImDrawList* bg = ImGui::GetBackgroundDrawList();
    // The canvas's background. A cached scene covers the viewport with an opaque quad: the
    // background goes around it only (each full-canvas quad costs a software rasteriser
    // milliseconds).
    auto background = [bg](double x0, double y0, double x1, double y1) {
        if (x1 > x0 && y1 > y0) bg->AddRectFilled(ImVec2((float)x0, (float)y0), ImVec2((float)x1, (float)y1), IM_COL32(38, 40, 44, 255));
    };
    if (scene.cached) {
        background(0, 0, canvas_w, viewport.y);
        background(0, viewport.y + viewport.h, canvas_w, canvas_h);
        background(0, viewport.y, viewport.x, viewport.y + viewport.h);
        background(viewport.x + viewport.w, viewport.y, canvas_w, viewport.y + viewport.h);
    } else {
        background(0, 0, canvas_w, canvas_h);
    }

    if (FrameImage* img = app.current_image()) {
        textures.sync(*img);
        if (img->state == LoadState::Ready) {
            scene_.draw(app, textures, *img, viewport, bg, shapes_, scene);
            bg->PushClipRect(ImVec2((float)viewport.x, (float)viewport.y), ImVec2((float)(viewport.x + viewport.w), (float)(viewport.y + viewport.h)), true);
            shapes_.draw(app, bg, kHandleRadius, !scene.cached);
            panels_.review().draw_markers(app, bg);
            bg->PopClipRect();
        } else {
            const char* what = img->state == LoadState::Failed ? img->error.message.c_str() : "Loading…";
            ImVec2 size = ImGui::CalcTextSize(what, nullptr, false, (float)canvas_w * 0.8f);
            ImVec2 at((float)(viewport.x + (viewport.w - size.x) / 2), (float)(viewport.y + (viewport.h - size.y) / 2));
            ImU32 colour = img->state == LoadState::Failed ? IM_COL32(255, 140, 120, 255) : IM_COL32(200, 200, 200, 255);
            bg->AddText(nullptr, 0, at, colour, what, nullptr, (float)canvas_w * 0.8f);
        }
    }

    if (const auto& fatal = app.notices().fatal()) {
        ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, (float)canvas_h / 2), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
        ImGui::SetNextWindowSize(ImVec2(std::min(560.0f, (float)canvas_w - 20), 0));
        ImGui::Begin("Polymark could not open this task", nullptr, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize);
        ImGui::TextWrapped("%s", fatal->message.c_str());
        ImGui::TextDisabled("code: %s", fatal->code.c_str());
        ImGui::End();
        return;
    }

    Toolbar::Wants wants = toolbar_.draw(app, (float)canvas_w, kToolbarHeight, sidebar_open, layout_);
    if (wants.toggle_help) show_help_ = !show_help_;
    if (wants.toggle_sidebar) (wide ? sidebar_open_wide_ : sidebar_open_narrow_) = !sidebar_open;
    timeline_.draw(app, {0, viewport.y + viewport.h, viewport.w, timeline});
    if (timeline > 0) layout_.push_back({"timeline", "timeline", {0, viewport.y + viewport.h, viewport.w, timeline}});
    if (sidebar_open) {
        Rect area{canvas_w - sidebar_w, viewport.y, sidebar_w, viewport.h + timeline};
        panels_.draw(app, area, layout_);
        layout_.push_back({"sidebar", "sidebar", area});
    }
    draw_status_bar(app, canvas_w, canvas_h);
    if (show_help_) draw_help(canvas_w, canvas_h);
    draw_notices(app, canvas_w);
    draw_conflicts(app, canvas_w);
    draw_set_aside(app, canvas_w);
    formats_.draw(app, canvas_w, canvas_h, layout_);
    handle_canvas_input(app);
    draw_shape_menu(app);
    handle_shortcuts(app);
    app.report_ui_layout(std::move(layout_));
}

// The status bar, one line: cursor, zoom, image size, frame, media name, the refusal or step
// note or selection (elided to the room left), and the sync state on the right. At fixed columns
// while everything fits; on narrow canvases the least needed leave first, the rest close up.
void Workspace::draw_status_bar(App& app, double canvas_w, double canvas_h) {
    struct Item {
        const char* id;
        std::string text;
        ImU32 colour;
        int priority;
        float column;
    };
    const ImU32 plain = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
    std::vector<Item> items;
    char text[96];
    if (cursor_over_image_) std::snprintf(text, sizeof text, "x %.1f  y %.1f px", cursor_image_.x, cursor_image_.y);
    items.push_back({"status-cursor", cursor_over_image_ ? text : "x –  y –", cursor_over_image_ ? plain : dim, 2, 0});
    std::snprintf(text, sizeof text, "zoom %.0f%%", app.view().zoom * 100);
    items.push_back({"status-zoom", text, plain, 3, 170});
    const FrameImage* img = app.current_image();
    std::snprintf(text, sizeof text, "%d × %d", img ? img->width : 0, img ? img->height : 0);
    items.push_back({"status-size", img && img->state == LoadState::Ready ? text : "", plain, 1, 270});
    std::snprintf(text, sizeof text, "frame %lld (%lld of %lld)", app.frame(), app.frame() + 1, app.frame_count());
    items.push_back({"status-frame", text, plain, 8, 380});
    items.push_back({"status-media", app.current_media_name(), plain, 4, 560});
    // What the last action refused, and why, until it fades; else what the last undo or redo did,
    // and where; else the selection's name.
    Item message{"status-message", "", plain, 9, kStatusMessageX};
    if (const Notice* refusal = app.notices().latest_refusal()) message = {"status-message", refusal->error.message, kRefusalColour, 9, kStatusMessageX};
    else if (std::string note = app.step_note(); !note.empty()) message = {"status-message", note, IM_COL32(140, 204, 255, 255), 9, kStatusMessageX};
    else if (app.editor().assist_busy()) {
        int percent = (int)std::lround(100 * app.editor().assist_progress());
        message.text = app.editor().tool() == Tool::Wand ? "Finding the region…" : "Outlining the object… " + std::to_string(percent) + "% (Esc cancels)";
    } else if (app.editor().selection().size() == 1) {
        const std::string& id = app.editor().selection()[0];
        message.text = app.display_name(id);
        int i = app.editor().find_shape(id);
        if (i >= 0 && app.editor().shapes()[(size_t)i].source == Source::Model)
            message.text += " · a model's prediction: Enter accepts it, Delete rejects it";
    }
    else if (!app.editor().selection().empty()) message.text = std::to_string(app.editor().selection().size()) + " selected";
    items.push_back(message);

    ImGui::SetNextWindowPos(ImVec2(0, (float)canvas_h - kStatusBarHeight));
    ImGui::SetNextWindowSize(ImVec2((float)canvas_w, kStatusBarHeight));
    ImGui::Begin("##status", nullptr, kBarFlags);
    const float pad = ImGui::GetStyle().WindowPadding.x, gap = 16;
    SyncBadge sync = sync_badge(app);
    const float sync_w = sync.text.empty() ? 0 : ImGui::CalcTextSize(sync.text.c_str()).x + gap;
    const float room = (float)canvas_w - pad * 2 - sync_w;
    // The message takes what is left (elided), so it counts with a short minimum.
    const float message_min = std::min(ImGui::CalcTextSize(message.text.c_str()).x, 120.0f);
    std::vector<float> widths;
    std::vector<int> priorities;
    bool columns = true;
    float x = 0;
    for (const Item& item : items) {
        float w = &item == &items.back() ? message_min : ImGui::CalcTextSize(item.text.c_str()).x;
        widths.push_back(w);
        priorities.push_back(item.text.empty() ? 0 : item.priority);
        x = std::max(x, item.column) + w + gap;
    }
    columns = x - gap <= room;
    std::vector<bool> shown = columns ? std::vector<bool>(items.size(), true) : fit_by_priority(widths, priorities, gap, room);
    float at = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!shown[i] || items[i].text.empty()) continue;
        at = columns ? std::max(at, items[i].column) : at;
        float left = room - at;
        if (left <= 0) break;
        ImGui::SetCursorPosX(pad + at);
        ImGui::PushStyleColor(ImGuiCol_Text, items[i].colour);
        std::string shown_text = elided(items[i].text, left);
        ImGui::TextUnformatted(shown_text.c_str());
        ImGui::PopStyleColor();
        if (shown_text != items[i].text && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", items[i].text.c_str());
        layout_.push_back({items[i].id, "status", {ImGui::GetItemRectMin().x, ImGui::GetItemRectMin().y, ImGui::GetItemRectSize().x, ImGui::GetItemRectSize().y}});
        ImGui::SameLine();
        at += ImGui::GetItemRectSize().x + gap;
    }
    if (!sync.text.empty()) {
        ImGui::SetCursorPosX((float)canvas_w - pad - sync_w + gap);
        ImGui::PushStyleColor(ImGuiCol_Text, sync.colour);
        ImGui::TextUnformatted(sync.text.c_str());
        ImGui::PopStyleColor();
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", sync.tip.c_str());
        layout_.push_back({"status-sync", "status", {ImGui::GetItemRectMin().x, ImGui::GetItemRectMin().y, ImGui::GetItemRectSize().x, ImGui::GetItemRectSize().y}});
    }
    ImGui::End();
}

// `text` cut to fit `width` pixels, with an ellipsis where it was cut.
std::string Workspace::elided(const std::string& text, float width) {
    if (ImGui::CalcTextSize(text.c_str()).x <= width) return text;
    const float ellipsis = ImGui::CalcTextSize("…").x;
    size_t keep = text.size();
    while (keep > 0 && ImGui::CalcTextSize(text.c_str(), text.c_str() + keep).x + ellipsis > width) {
        --keep;
        while (keep > 0 && (text[keep] & 0xC0) == 0x80) --keep;  // never inside a UTF-8 sequence
    }
    return text.substr(0, keep) + "…";
}

// Items another device changed first: the server's version dashed (magenta) over the canvas (the local one
// is the document's, drawn as usual), and a window to keep mine or take theirs, per item or all.
void Workspace::draw_conflicts(App& app, double canvas_w) {
    std::vector<SyncConflict> conflicts = app.sync().conflicts();
    if (conflicts.empty()) return;
    ImDrawList* dl = ImGui::GetBackgroundDrawList();
    const ImU32 colour = IM_COL32(255, 60, 255, 255);  // magenta: no label colour, rare in photographs
    for (const SyncConflict& c : conflicts) {
        if (!c.theirs) continue;
        // Their object on this frame, or their track's shape here.
        std::optional<Object> theirs;
        if (c.kind == SyncKind::Object) {
            if (auto o = object_from_json(*c.theirs, "/theirs"); o && o->frame == app.frame()) theirs = o.value();
        } else if (auto t = track_from_json(*c.theirs, "/theirs")) {
            if (auto state = track_shape_at(t.value(), app.frame(), {}, nullptr, app.medium())) {
                Object o;
                o.type = t->type;
                o.points = state->points;
                o.rotation = state->rotation;
                theirs = o;
            }
        }
        if (!theirs || theirs->type == ShapeType::Tag) continue;
        std::vector<ImVec2> outline = ShapeLayer::screen_outline(app.view(), *theirs);
        if (theirs->type == ShapeType::Points) {
            for (const ImVec2& p : outline) dl->AddCircle(p, 6, colour, 12, 2);
            continue;
        }
        bool closed = theirs->type != ShapeType::Polyline;
        ShapeLayer::add_dashed_polyline(dl, outline.data(), (int)outline.size(), IM_COL32(0, 0, 0, 200), closed, 4);  // a dark rim: seen on light and dark images
        ShapeLayer::add_dashed_polyline(dl, outline.data(), (int)outline.size(), colour, closed, 2);
    }
    ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, kToolbarHeight + 8), ImGuiCond_Always, ImVec2(0.5f, 0));
    ImGui::SetNextWindowSize(ImVec2(std::min(480.0f, (float)canvas_w - 16), 0));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, IM_COL32(60, 40, 30, 240));
    ImGui::Begin("##conflicts", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing);
    ImGui::Text("%zu changed on another device too (theirs: dashed)", conflicts.size());
    std::string pick_id;
    std::optional<Resolution> pick;
    for (const SyncConflict& c : conflicts) {
        ImGui::PushID(c.id.c_str());
        ImGui::Text("%s: %s by %s", app.display_name(c.id).c_str(), c.theirs ? "changed" : "deleted", c.user.empty() ? "someone" : c.user.c_str());
        ImGui::SameLine();
        if (ImGui::SmallButton("Keep mine")) { pick_id = c.id; pick = Resolution::Mine; }
        ImGui::SameLine();
        if (ImGui::SmallButton("Take theirs")) { pick_id = c.id; pick = Resolution::Theirs; }
        ImGui::PopID();
    }
    if (conflicts.size() > 1) {
        if (ImGui::Button("Keep all mine")) { pick_id.clear(); pick = Resolution::Mine; }
        ImGui::SameLine();
        if (ImGui::Button("Take all theirs")) { pick_id.clear(); pick = Resolution::Theirs; }
    }
    ImGui::End();
    ImGui::PopStyleColor();
    if (pick) app.sync().resolve_conflict(pick_id, *pick);  // after the loop: it changes the list
}

// Items the server refused for their content (sync.hpp): each named with the server's reason,
// kept in the document, with Retry (after a fix on the server) and Discard (back to the server's
// version). Top left under the toolbar, where the conflicts window (top centre) leaves room.
void Workspace::draw_set_aside(App& app, double canvas_w) {
    std::vector<SetAsideItem> items = app.sync().set_aside();
    if (items.empty()) return;
    ImGui::SetNextWindowPos(ImVec2(8, kToolbarHeight + 8), ImGuiCond_Always);
    ImGui::SetNextWindowSizeConstraints(ImVec2(0, 0), ImVec2(std::min(420.0f, (float)canvas_w - 16), 320));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, kSetAsideBackground);
    ImGui::Begin("##set-aside", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoFocusOnAppearing);
    ImGui::Text("%zu %s could not be saved", items.size(), items.size() == 1 ? "change" : "changes");
    std::vector<std::string> ids;
    bool retry = false, discard = false;
    float wrap = std::min(400.0f, (float)canvas_w - 32);
    for (const SetAsideItem& item : items) {
        ImGui::PushID(item.id.c_str());
        ImGui::Separator();
        std::string name = std::string(to_string(item.kind)) + " " + item.id + (item.label.empty() ? "" : " (" + item.label + ")");
        ImGui::TextUnformatted(name.c_str());
        ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + wrap);
        ImGui::TextDisabled("%s: %s", item.code.c_str(), item.message.c_str());
        ImGui::PopTextWrapPos();
        if (ImGui::SmallButton("Retry")) { ids = {item.id}; retry = true; }
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Send it again (after the server was fixed, or the item edited)");
        ImGui::SameLine();
        if (ImGui::SmallButton("Discard")) { ids = {item.id}; discard = true; }
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Drop this change: the item goes back to the server's version");
        ImGui::PopID();
    }
    if (items.size() > 1) {
        ImGui::Separator();
        if (ImGui::Button("Retry all")) { ids.clear(); retry = true; }
        ImGui::SameLine();
        if (ImGui::Button("Discard all")) { ids.clear(); discard = true; }
    }
    ImGui::End();
    ImGui::PopStyleColor();
    // After the loop: both change the list.
    if (retry) app.sync().retry_set_aside(ids);
    else if (discard) app.sync().discard_set_aside(ids);
}

// Right-aligned in the status bar: whether the labeler's work is on the server yet.
Workspace::SyncBadge Workspace::sync_badge(App& app) {
    if (!app.sync().enabled()) return {};
    Json s = app.sync().status_json();
    std::string state = s.value("state", std::string());
    auto count = [&](const char* k) { return s.contains(k) && s[k].is_number_unsigned() ? s[k].get<size_t>() : (size_t)0; };
    std::string message = s.contains("message") && s["message"].is_string() ? s["message"].get<std::string>() : std::string();
    std::string text;
    ImU32 colour = IM_COL32(200, 200, 200, 255);
    if (state == "saved") { text = "saved"; colour = IM_COL32(120, 200, 120, 255); }
    else if (state == "saving") text = "saving… " + std::to_string(count("pending")) + " pending";
    else if (state == "offline") { text = "offline, " + std::to_string(count("pending")) + " pending"; colour = IM_COL32(240, 190, 80, 255); }
    else if (state == "conflict") { text = "conflict " + std::to_string(count("conflicts")); colour = IM_COL32(255, 140, 90, 255); }
    else if (state == "needs-auth") { text = "needs sign-in"; colour = IM_COL32(255, 140, 90, 255); }
    else if (state == "error") { text = "error: " + message; colour = IM_COL32(255, 110, 110, 255); }
    else if (state == "read-only") { text = "read-only: " + message; colour = IM_COL32(240, 190, 80, 255); }
    else text = state;
    if (size_t refused = count("set_aside")) {
        text = (state == "set-aside" ? "" : text + " · ") + std::to_string(refused) + (refused == 1 ? " change" : " changes") + " could not be saved";
        colour = IM_COL32(255, 110, 110, 255);
    }
    if (count("localWrites") > 0) text += " (storing locally)";
    if (s.contains("journalError")) { text += " (not stored locally)"; colour = IM_COL32(255, 110, 110, 255); }
    // A backend without conflict detection: said on the bar, explained on hover.
    std::string last_writer = s.contains("lastWriterWins") && s["lastWriterWins"].is_string() ? s["lastWriterWins"].get<std::string>() : std::string();
    if (!last_writer.empty()) text += " · last save wins";
    std::string tip = message.empty() ? "Ctrl+S sends now" : message + " (Ctrl+S retries now)";
    if (!last_writer.empty()) tip += "\n" + last_writer;
    return {text, colour, tip};
}

void Workspace::draw_notices(App& app, double canvas_w) {
    const auto& notices = app.notices().list();
    // Over the image's lower right corner: above the timeline and the status bar, beside the sidebar.
    float y = (float)(app.viewport().y + app.viewport().h) - 8;
    float right = (float)std::min(canvas_w, app.viewport().x + app.viewport().w);
    // Windows are named by their place among the notices that stay, so that a refusal fading
    // (said in the status bar, not here) does not rename them: a new window is hidden for a frame.
    size_t place = 0;
    for (const Notice& n : notices) place += n.fades ? 0 : 1;
    for (size_t i = notices.size(); i-- > 0;) {
        if (notices[i].fades) continue;
        char name[32];
        std::snprintf(name, sizeof name, "##notice%zu", --place);
        ImGui::SetNextWindowPos(ImVec2(right - 8, y), ImGuiCond_Always, ImVec2(1, 1));
        ImGui::SetNextWindowSize(ImVec2(std::min(420.0f, right - 16), 0));
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
            app.notices().dismiss(i);
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
    if (!canvas_hovered && !editor_pressed_) app.editor().pointer_left();

    const FrameImage* img = app.current_image();
    cursor_image_ = app.view().to_image(mouse);
    cursor_over_image_ = canvas_hovered && img && img->state == LoadState::Ready && cursor_image_.x >= 0 && cursor_image_.y >= 0 &&
                         cursor_image_.x < img->width && cursor_image_.y < img->height;

    view_gesture_ = canvas_hovered && io.MouseWheel != 0;
    if (view_gesture_) app.zoom_around(mouse, wheel_zoom_factor(io.MouseWheel));

    bool space = ImGui::IsKeyDown(ImGuiKey_Space) && !io.WantTextInput;
    // Space tapped (not held to pan) plays or pauses, as in CVAT.
    if (ImGui::IsKeyPressed(ImGuiKey_Space, false)) space_panned_ = false;
    if (ImGui::IsKeyReleased(ImGuiKey_Space) && !io.WantTextInput && !space_panned_ && app.frame_count() > 1) app.set_playing(!app.playing());
    bool start_pan = canvas_hovered && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) || (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left)));
    if (start_pan && space) space_panned_ = true;
    if (start_pan) panning_ = true;
    if (panning_) {
        bool held = ImGui::IsMouseDown(ImGuiMouseButton_Middle) || ImGui::IsMouseDown(ImGuiMouseButton_Left);
        if (!held) panning_ = false;
        else if (io.MouseDelta.x != 0 || io.MouseDelta.y != 0) app.pan_by({io.MouseDelta.x, io.MouseDelta.y});
        view_gesture_ = view_gesture_ || held;
        ImGui::SetMouseCursor(ImGuiMouseCursor_ResizeAll);
    } else if (canvas_hovered && space) {
        ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
    }
    if (panning_ || space || !img || img->state != LoadState::Ready) return;

    Editor& editor = app.editor();
    if (canvas_hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && panels_.review().pinning()) {
        panels_.review().pin_at(app, cursor_image_);  // the click places the issue waiting for it
        return;
    }
    PointerInput in = pointer_input(app);
    if (canvas_hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Left)) {
        editor.pointer_down(in, PointerButton::Left);
        editor_pressed_ = true;
    }
    if (canvas_hovered && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
        editor.pointer_down(in, PointerButton::Right);
        menu_shape_ = editor.take_context_menu_request();
        if (!menu_shape_.empty()) ImGui::OpenPopup("##shape-menu");
    }
    // Shift changes what a gesture in progress would do (the side a redraw replaces): re-evaluate.
    bool shift_changed = false;
    for (ImGuiKey k : {ImGuiKey_LeftShift, ImGuiKey_RightShift}) shift_changed |= ImGui::IsKeyPressed(k, false) || ImGui::IsKeyReleased(k);
    if ((canvas_hovered || editor_pressed_) && (io.MouseDelta.x != 0 || io.MouseDelta.y != 0 || (shift_changed && editor.busy())))
        editor.pointer_move(in, editor_pressed_ && ImGui::IsMouseDown(ImGuiMouseButton_Left));
    if (editor_pressed_ && !ImGui::IsMouseDown(ImGuiMouseButton_Left)) {
        editor.pointer_up(in);
        editor_pressed_ = false;
    }
    if (canvas_hovered && editor.tool() != Tool::Select) ImGui::SetMouseCursor(ImGuiMouseCursor_Arrow);
}

// Right-click on a shape: what its keys do, by mouse, on the selection (which holds the shape).
// Each item is the same editor operation as its key: one undoable command.
void Workspace::draw_shape_menu(App& app) {
    if (!ImGui::BeginPopup("##shape-menu")) return;
    Editor& editor = app.editor();
    const Task* task = app.task();
    int index = editor.find_shape(menu_shape_);
    if (index < 0 || !task) {  // gone meanwhile (undone, another frame)
        ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
        return;
    }
    const Object o = app.frame_objects()[(size_t)index];
    if (ImGui::BeginMenu("Label")) {
        // Only the labels that allow the shape's type.
        for (const LabelSpec& l : task->labels)
            if (l.allows(o.type) && ImGui::MenuItem(l.name.c_str(), nullptr, l.id == o.label) && l.id != o.label) editor.relabel_selection(l.id);
        ImGui::EndMenu();
    }
    if (ImGui::MenuItem("Duplicate", "Ctrl+D")) editor.duplicate_selection();
    if (ImGui::MenuItem("Bring to front", "+")) editor.bring_to_front();
    if (ImGui::MenuItem("Send to back", "-")) editor.send_to_back();
    if (ImGui::MenuItem("Lock", "L", editor.is_locked(o.id))) editor.toggle_lock();
    if (const Track* track = app.session().track(o.id)) {
        ImGui::Separator();
        if (ImGui::MenuItem("Keyframe", "K", keyframe_at(*track, app.frame()) != nullptr)) editor.toggle_keyframe();
        if (ImGui::MenuItem("Outside from here", "O")) editor.toggle_outside();
    }
    ImGui::Separator();
    if (ImGui::MenuItem("Delete", "Delete")) editor.delete_selection();
    ImGui::EndPopup();
}

PointerInput Workspace::pointer_input(const App& app) const {
    ImGuiIO& io = ImGui::GetIO();
    PointerInput in;
    in.at = app.view().to_image({io.MousePos.x, io.MousePos.y});
    in.pick_radius = kHandleRadius / app.view().zoom;
    in.freehand_spacing = 8 / app.view().zoom;
    in.shift = io.KeyShift;
    in.ctrl = io.KeyCtrl || io.KeySuper;
    in.alt = io.KeyAlt;
    return in;
}

void Workspace::handle_shortcuts(App& app) {
    ImGuiIO& io = ImGui::GetIO();
    if (io.WantTextInput) return;
    Editor& editor = app.editor();
    const Task* task = app.task();
    Rect vp = app.viewport();
    Vec2 mouse{io.MousePos.x, io.MousePos.y};
    bool mouse_inside = ImGui::IsMousePosValid() && mouse.x >= vp.x && mouse.y >= vp.y && mouse.x < vp.x + vp.w && mouse.y < vp.y + vp.h;
    auto pressed = [](ImGuiKey key, bool repeat = false) { return ImGui::IsKeyPressed(key, repeat); };
    static const ImGuiKey digits[9] = {ImGuiKey_1, ImGuiKey_2, ImGuiKey_3, ImGuiKey_4, ImGuiKey_5, ImGuiKey_6, ImGuiKey_7, ImGuiKey_8, ImGuiKey_9};
    if (io.KeyCtrl || io.KeySuper) {
        if (pressed(ImGuiKey_Z, true)) io.KeyShift ? app.redo() : app.undo();
        if (pressed(ImGuiKey_Y, true)) app.redo();
        if (pressed(ImGuiKey_S)) app.sync().flush();
        if (pressed(ImGuiKey_C)) editor.copy_selection();
        if (pressed(ImGuiKey_V)) editor.paste(mouse_inside ? std::optional<Vec2>(app.view().to_image(mouse)) : std::nullopt);
        if (pressed(ImGuiKey_D)) editor.duplicate_selection();
        if (pressed(ImGuiKey_B)) editor.propagate_selection(kPropagateFrames);
        for (int i = 0; i < 9; ++i)
            if (pressed(digits[i]) && task && i < (int)task->labels.size()) editor.relabel_selection(task->labels[i].id);
        return;
    }
    if (io.KeyAlt) return;
    if (pressed(ImGuiKey_F1)) show_help_ = !show_help_;
    if (pressed(ImGuiKey_Escape)) show_help_ ? (void)(show_help_ = false) : app.tracking().running() ? app.tracking().cancel() : editor.cancel();
    if (pressed(ImGuiKey_Enter) || pressed(ImGuiKey_KeypadEnter)) editor.drawing() ? editor.finish_drawing() : editor.confirm_predictions();
    if (pressed(ImGuiKey_N)) editor.repeat_last_tool();
    if (pressed(ImGuiKey_Y)) editor.set_tool(Tool::Scissors);
    if (pressed(ImGuiKey_J)) editor.set_tool(Tool::Wand);
    if (pressed(ImGuiKey_B)) editor.set_tool(Tool::Outline);
    panels_.review().handle_keys(app);
    if (pressed(ImGuiKey_Backspace, true) && editor.drawing()) editor.remove_last_vertex();
    if (pressed(ImGuiKey_Delete)) io.KeyShift ? editor.delete_selected_track_from_here() : editor.delete_selection();
    if (pressed(ImGuiKey_S)) editor.split_selected_track();
    if (pressed(ImGuiKey_Tab, true)) editor.cycle_selection(io.KeyShift ? -1 : 1);
    // CVAT's defaults: + and - change z-order, so zoom lives on ] and [.
    if (pressed(ImGuiKey_Equal) || pressed(ImGuiKey_KeypadAdd)) editor.bring_to_front();
    if (pressed(ImGuiKey_Minus) || pressed(ImGuiKey_KeypadSubtract)) editor.send_to_back();
    if (pressed(ImGuiKey_L)) editor.toggle_lock();
    if (pressed(ImGuiKey_H)) editor.toggle_hide();
    if (pressed(ImGuiKey_I)) {
        ShapeStyle style = app.shape_style();
        style.captions = !style.captions;
        app.set_shape_style(style);
    }
    for (int i = 0; i < 9; ++i) {
        if (!pressed(digits[i]) || !task || i >= (int)task->labels.size()) continue;
        const LabelSpec& l = task->labels[(size_t)i];
        if (editor.label_allows(l.id, editor.tool())) editor.set_label(l.id);
        else app.refuse({"type_not_allowed", l.id, "label \"" + l.name + "\" cannot be drawn with the " + to_string(editor.tool()) + " tool"});
    }
    Vec2 anchor = mouse_inside ? mouse : Vec2{vp.x + vp.w / 2, vp.y + vp.h / 2};
    if (pressed(ImGuiKey_RightBracket, true)) app.zoom_around(anchor, 1.2);
    if (pressed(ImGuiKey_LeftBracket, true)) app.zoom_around(anchor, 1 / 1.2);
    if (pressed(ImGuiKey_0)) app.fit_to_viewport();
    if (pressed(ImGuiKey_Z) && !editor.selection().empty()) {
        // Zoom to the selection.
        double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
        for (const std::string& id : editor.selection()) {
            int i = app.editor().find_shape(id);
            if (i < 0 || app.frame_objects()[(size_t)i].type == ShapeType::Tag) continue;
            Rect b = shape_bounds(app.frame_objects()[(size_t)i]);
            x0 = std::min(x0, b.x); y0 = std::min(y0, b.y); x1 = std::max(x1, b.x + b.w); y1 = std::max(y1, b.y + b.h);
        }
        if (x0 <= x1) app.focus_on({x0, y0, x1 - x0, y1 - y0}, true);
    } else if (pressed(ImGuiKey_Z)) {
        app.refuse({"nothing_selected", "selection", "select a shape to zoom to (click it, or Tab)"});
    }
    if (pressed(ImGuiKey_F, true)) app.set_frame(app.frame() + 1);
    if (pressed(ImGuiKey_D, true)) app.set_frame(app.frame() - 1);
    if (pressed(ImGuiKey_V, true)) app.set_frame(std::min(app.frame() + kFrameStep, app.frame_count() - 1));
    if (pressed(ImGuiKey_C, true)) app.set_frame(std::max(app.frame() - kFrameStep, 0LL));
    if (pressed(ImGuiKey_K)) editor.toggle_keyframe();
    if (pressed(ImGuiKey_O)) editor.toggle_outside();
    if (pressed(ImGuiKey_Q)) editor.toggle_occluded();
    if (pressed(ImGuiKey_R)) editor.jump_to_keyframe(+1);
    if (pressed(ImGuiKey_E)) editor.jump_to_keyframe(-1);
    if (pressed(ImGuiKey_M)) editor.merge_selection();
    if (pressed(ImGuiKey_T) && !app.tracking().running()) editor.track_selection_forward();
}

void Workspace::draw_help(double canvas_w, double canvas_h) {
    static const char* rows[][2] = {
        {"Wheel", "zoom around the cursor"}, {"Middle-drag, Space+drag", "pan"}, {"] / [", "zoom in / out"}, {"0", "fit the image"},
        {"Z", "zoom to the selection"}, {"F / D", "next / previous frame"}, {"V / C", "10 frames forward / back"}, {"Space (tap)", "play / pause"},
        {"K", "keyframe on / off (selected tracks)"}, {"O / Q", "outside / occluded from this frame on"},
        {"R / E", "next / previous keyframe"}, {"M", "merge the selection into one track"}, {"T, Esc", "track the selected tracks forward (frames: sidebar, 0 = until lost); cancel"}, {"S, Shift+Delete", "split the selected track here; delete it from here on"}, {"Ctrl+B", "propagate the selection to the next 10 frames"}, {"N", "draw again with the last tool and label; while drawing: finish"}, {"Y / J / B", "scissors (outline along edges) / magic wand / outline a boxed object"},
        {"Enter", "finish the polygon, polyline or points; else accept the selected predictions, go to the next"},
        {"Delete (predictions)", "reject them, go to the next (lowest score first)"}, {"Esc", "cancel drawing, or clear the selection"},
        {"Backspace", "remove the last placed vertex"}, {"Shift+drag (drawing)", "add polygon vertices freehand"},
        {"Click / Ctrl+click", "select / add to the selection; click again on the spot: the shape below"}, {"Drag on empty image", "box-select"},
        {"Tab / Shift+Tab", "next / previous shape"}, {"Drag a vertex / a midpoint", "move it / insert a vertex"},
        {"Alt+click, right-click a vertex", "delete the vertex"}, {"Right-click a shape", "its menu: label, duplicate, order, lock, keyframe / outside, delete"}, {"Shift+click a vertex", "redraw part of the polygon up to another vertex (the shorter side; Shift on the last click: the longer)"},
        {"Ctrl (held)", "no snapping"}, {"Delete", "delete the selection"}, {"Ctrl+C / Ctrl+V", "copy / paste at the cursor"},
        {"Ctrl+D", "duplicate"}, {"+ / -", "bring to front / send to back"}, {"L / H", "lock / hide the selection"}, {"I", "names on all shapes on / off (sidebar, Shapes: outline width, fill)"},
        {"1..9", "label of the next shape"}, {"Ctrl+1..9", "change the label of the selection"},
        {"Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y", "undo, redo"}, {"G", "the task's guidelines beside the image: show / hide"},
        {"W / Shift+W", "review: next / previous object of the job"}, {"A / X", "review: accept / reject the selected object (the reason in the Review box)"},
        {"P", "review: an issue with the Review box's words, on the selection or the next point clicked"},
        {"Ctrl+Enter / Ctrl+K", "queue mode: submit the job, open the next / skip it with a reason"}, {"F1", "this help"}};
    ImGui::SetNextWindowPos(ImVec2((float)canvas_w / 2, (float)canvas_h / 2), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::Begin("Keyboard and mouse", &show_help_, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize);
    // Two columns by hand, every other row shaded: ImGui's tables would cost the first load 6 KB.
    float keys_width = 0, words_width = 0;
    for (const auto& r : rows) {
        keys_width = std::max(keys_width, ImGui::CalcTextSize(r[0]).x);
        words_width = std::max(words_width, ImGui::CalcTextSize(r[1]).x);
    }
    const float gap = ImGui::GetStyle().ItemSpacing.x * 2;
    ImDrawList* list = ImGui::GetWindowDrawList();
    int row = 0;
    for (const auto& r : rows) {
        ImVec2 at = ImGui::GetCursorScreenPos();
        if (row++ % 2) {
            ImVec2 size(keys_width + gap + words_width, ImGui::GetTextLineHeight());
            list->AddRectFilled(ImVec2(at.x - 4, at.y - 1), ImVec2(at.x + size.x + 4, at.y + size.y + 1), ImGui::GetColorU32(ImGuiCol_TableRowBgAlt));
        }
        ImGui::TextUnformatted(r[0]);
        ImGui::SameLine(keys_width + gap + ImGui::GetStyle().WindowPadding.x);
        ImGui::TextUnformatted(r[1]);
    }
    ImGui::End();
}

}  // namespace pm
