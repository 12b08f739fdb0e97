#include "ui/shape_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pm {

ImU32 ShapeLayer::label_colour(const Task* task, const std::string& label, int alpha) {
    static const ImU32 palette[] = {IM_COL32(230, 25, 75, 0), IM_COL32(60, 180, 75, 0), IM_COL32(67, 99, 216, 0), IM_COL32(245, 130, 49, 0),
                                    IM_COL32(145, 30, 180, 0), IM_COL32(70, 240, 240, 0), IM_COL32(240, 50, 230, 0), IM_COL32(255, 225, 25, 0)};
    ImU32 rgb = palette[std::hash<std::string>{}(label) % 8];
    if (task)
        if (const LabelSpec* spec = task->find_label(label); spec && spec->color.size() == 7 && spec->color[0] == '#') {
            uint32_t value = 0;
            bool hex = true;
            for (size_t i = 1; i < 7 && hex; ++i) {
                char c = spec->color[i];
                int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                hex = digit >= 0;
                value = value << 4 | (uint32_t)digit;
            }
            if (hex) rgb = IM_COL32(value >> 16, (value >> 8) & 0xFF, value & 0xFF, 0);  // "#rrggbb", written without sscanf (2 KB of wasm)
        }
    return (rgb & ~IM_COL32_A_MASK) | ((ImU32)alpha << IM_COL32_A_SHIFT);
}

void ShapeLayer::draw_batch(const ImDrawList*, const ImDrawCmd* cmd) {
    auto* self = static_cast<ShapeLayer*>(cmd->UserCallbackData);
    ImDrawData* data = ImGui::GetDrawData();
    double scale = data->FramebufferScale.x;
    self->batch_.draw(self->batch_view_, self->batch_viewport_, scale, (int)(data->DisplaySize.x * scale), (int)(data->DisplaySize.y * data->FramebufferScale.y),
                      self->batch_outline_width_);
}

void ShapeLayer::fill_triangles(ImDrawList* list, const std::vector<ImVec2>& pts, const std::vector<uint32_t>& tris, ImU32 colour) {
    if (tris.empty()) return;
    ImVec2 uv = ImGui::GetFontTexUvWhitePixel();
    list->PrimReserve((int)tris.size(), (int)pts.size());
    ImDrawIdx base = (ImDrawIdx)list->_VtxCurrentIdx;
    for (const ImVec2& p : pts) list->PrimWriteVtx(p, uv, colour);
    for (uint32_t t : tris) list->PrimWriteIdx((ImDrawIdx)(base + t));
}

std::vector<ImVec2> ShapeLayer::screen_outline(const View& view, const Object& o) {
    Points outline = o.points;
    if (o.type == ShapeType::Rectangle) outline = rectangle_corners(o.points, o.rotation);
    else if (o.type == ShapeType::Ellipse) outline = ellipse_outline(o.points, o.rotation, 48);
    std::vector<ImVec2> screen(vertex_count(outline));
    for (size_t i = 0; i < screen.size(); ++i) {
        Vec2 s = view.to_screen(vertex(outline, i));
        screen[i] = ImVec2((float)s.x, (float)s.y);
    }
    return screen;
}

void ShapeLayer::add_dashed_polyline(ImDrawList* list, const ImVec2* pts, int n, ImU32 colour, bool closed, float thickness) {
    const float on = (float)(0.6 * kDashPeriod), period = (float)kDashPeriod;
    float along = 0;
    int segments = closed ? n : n - 1;
    for (int i = 0; i < segments; ++i) {
        ImVec2 a = pts[i], b = pts[(i + 1) % n];
        float len = std::hypot(b.x - a.x, b.y - a.y);
        for (float t = 0; t < len;) {
            float phase = std::fmod(along + t, period);
            float step = std::min(len - t, phase < on ? on - phase : period - phase);
            if (phase < on) {
                float u0 = t / len, u1 = (t + step) / len;
                list->AddLine(ImVec2(a.x + (b.x - a.x) * u0, a.y + (b.y - a.y) * u0), ImVec2(a.x + (b.x - a.x) * u1, a.y + (b.y - a.y) * u1), colour, thickness);
            }
            t += std::max(step, 1e-3f);
        }
        along += len;
    }
}

void ShapeLayer::draw_shape(const App& app, ImDrawList* list, const Object& o, bool selected, bool hovered, bool fill_it) {
    const View& view = app.view();
    const Task* task = app.task();
    const ShapeStyle& style = app.shape_style();
    ImU32 line = label_colour(task, o.label, 255);
    int base_alpha = (int)std::lround(style.fill_opacity * 255);
    ImU32 fill = label_colour(task, o.label, std::min(255, base_alpha + (selected ? 45 : hovered ? 25 : 0)));
    float thickness = (float)style.outline_width + (selected ? 1.0f : hovered ? 0.5f : 0.0f);
    screen_ = screen_outline(view, o);
    // Outlines skip vertices less than a pixel from the previous one: a 10,000-vertex polygon is
    // drawn with as many segments as the screen can show.
    outline_.clear();
    for (const ImVec2& p : screen_)
        if (outline_.empty() || std::fabs(p.x - outline_.back().x) + std::fabs(p.y - outline_.back().y) >= 0.75f) outline_.push_back(p);
    if (!screen_.empty() && outline_.size() > 1 && (outline_.back().x != screen_.back().x || outline_.back().y != screen_.back().y)) outline_.push_back(screen_.back());
    bool dashed = o.occluded || o.source == Source::Model;  // as ShapeBatch draws them
    auto polyline = [&](const std::vector<ImVec2>& pts, bool closed, float width) {
        if (dashed) add_dashed_polyline(list, pts.data(), (int)pts.size(), line, closed, width);
        else list->AddPolyline(pts.data(), (int)pts.size(), line, closed ? ImDrawFlags_Closed : ImDrawFlags_None, width);
    };
    if (dashed) fill = label_colour(task, o.label, std::min(255, base_alpha * 5 / 12 + (selected ? 25 : 0)));
    switch (o.type) {
        case ShapeType::Rectangle:
        case ShapeType::Ellipse:
            if (fill_it && screen_.size() >= 3) list->AddConvexPolyFilled(screen_.data(), (int)screen_.size(), fill);
            polyline(screen_, true, thickness);
            break;
        case ShapeType::Polygon:
            // A vertex drag keeps the polygon's triangles: no re-triangulation per frame.
            if (fill_it) fill_triangles(list, screen_, batch_.polygon_triangles(o, true), fill);
            polyline(outline_, true, thickness);
            break;
        case ShapeType::Polyline:
            polyline(outline_, false, thickness + 0.5f);
            break;
        case ShapeType::Points:
            for (const ImVec2& p : screen_) {
                float r = (float)kPointRadius + (selected ? 1.0f : 0.0f);
                list->AddCircleFilled(p, r, line, 12);
                list->AddCircle(p, r, IM_COL32(0, 0, 0, 160), 12, 1.5f);
            }
            break;
        case ShapeType::Tag: break;
    }
    // Named when selected or hovered (every shape is when captions are on: draw_captions).
    if ((selected || hovered) && !screen_.empty() && !style.captions) {
        ImVec2 at = screen_[0];
        for (const ImVec2& p : screen_)
            if (p.y < at.y || (p.y == at.y && p.x < at.x)) at = p;
        draw_caption(list, at, app.session().number_of(o.id) ? app.display_name(o.id) : (task && task->find_label(o.label) ? task->find_label(o.label)->name : o.label));
    }
}

void ShapeLayer::draw_caption(ImDrawList* list, ImVec2 at, const std::string& text) {
    ImVec2 size = ImGui::CalcTextSize(text.c_str());
    ImVec2 box(at.x, at.y - size.y - 4);
    list->AddRectFilled(box, ImVec2(box.x + size.x + 6, box.y + size.y + 2), IM_COL32(20, 20, 20, 190), 3.0f);
    list->AddText(ImVec2(box.x + 3, box.y + 1), IM_COL32(255, 255, 255, 255), text.c_str());
}

void ShapeLayer::draw_captions(const App& app, ImDrawList* list) {
    const Editor& editor = app.editor();
    const auto& objects = app.frame_objects();
    const View& view = app.view();
    Rect vp = app.viewport();
    for (const Object& o : objects) {
        if (o.type == ShapeType::Tag || editor.is_hidden(o.id) || o.points.size() < 2) continue;
        Rect b = shape_bounds(o);
        Vec2 a = view.to_screen({b.x, b.y}), z = view.to_screen({b.x + b.w, b.y + b.h});
        if (z.x < vp.x || z.y < vp.y || a.x > vp.x + vp.w || a.y > vp.y + vp.h) continue;
        draw_caption(list, ImVec2((float)a.x, (float)a.y), app.display_name(o.id));
    }
}

// A model's prediction not yet confirmed carries its score under its bottom right corner, in
// amber (the review's tags sit at the top right, issue numbers at the bottom left): the labeler
// sees how sure the model was before pressing Enter.
void ShapeLayer::draw_prediction_scores(const App& app, ImDrawList* list) {
    const Editor& editor = app.editor();
    const View& view = app.view();
    Rect vp = app.viewport();
    char text[16];
    for (const Object& o : app.frame_objects()) {
        if (o.source != Source::Model || o.type == ShapeType::Tag || editor.is_hidden(o.id) || o.points.size() < 2) continue;
        Rect b = shape_bounds(o);
        Vec2 a = view.to_screen({b.x, b.y}), z = view.to_screen({b.x + b.w, b.y + b.h});
        if (z.x < vp.x || z.y < vp.y || a.x > vp.x + vp.w || a.y > vp.y + vp.h) continue;
        if (o.score && std::isfinite(*o.score)) std::snprintf(text, sizeof text, "%.2f", *o.score);
        else std::snprintf(text, sizeof text, "model");
        ImVec2 size = ImGui::CalcTextSize(text);
        ImVec2 at((float)z.x - size.x - 6, (float)z.y + 2);
        list->AddRectFilled(at, ImVec2(at.x + size.x + 6, at.y + size.y + 2), IM_COL32(200, 140, 20, 220), 3.0f);
        list->AddText(ImVec2(at.x + 3, at.y + 1), IM_COL32(20, 20, 20, 255), text);
    }
}

void ShapeLayer::draw_tag_chips(const App& app, ImDrawList* list) {
    Rect vp = app.viewport();
    float x = (float)vp.x + 8, y = (float)vp.y + 8, h = ImGui::GetTextLineHeight() + 6;
    for (const Object& o : app.frame_objects()) {
        if (o.type != ShapeType::Tag) continue;
        const LabelSpec* spec = app.task() ? app.task()->find_label(o.label) : nullptr;
        const std::string& name = spec ? spec->name : o.label;
        float w = ImGui::CalcTextSize(name.c_str()).x + 16;
        if (x + w > vp.x + vp.w - 8 && x > vp.x + 8) { x = (float)vp.x + 8; y += h + 4; }  // next row
        ImU32 colour = label_colour(app.task(), o.label, 235);
        list->AddRectFilled(ImVec2(x, y), ImVec2(x + w, y + h), colour, h / 2);
        list->AddRect(ImVec2(x, y), ImVec2(x + w, y + h), IM_COL32(0, 0, 0, 200), h / 2, 0, 1.5f);
        // Dark text on light label colours, white on dark ones.
        unsigned r = colour & 0xff, g = (colour >> 8) & 0xff, b = (colour >> 16) & 0xff;
        ImU32 text = r * 299 + g * 587 + b * 114 > 150000 ? IM_COL32(20, 20, 20, 255) : IM_COL32(255, 255, 255, 255);
        list->AddText(ImVec2(x + 8, y + 3), text, name.c_str());
        x += w + 6;
    }
}

void ShapeLayer::draw_handles(const App& app, ImDrawList* list, const Object& o, double radius, bool hover_only) {
    const View& view = app.view();
    Rect vp = app.viewport();
    auto to_screen = [&](Vec2 p) { Vec2 s = view.to_screen(p); return ImVec2((float)s.x, (float)s.y); };
    auto visible = [&](ImVec2 p) { return p.x >= vp.x - radius && p.y >= vp.y - radius && p.x <= vp.x + vp.w + radius && p.y <= vp.y + vp.h + radius; };
    float r = (float)radius * (hover_only ? 0.55f : 0.75f);
    // Handles closer together on screen than a handle's size are not drawn (a 10,000-vertex
    // polygon at a low zoom would be a solid smear of them): zoom in to reach them.
    float spacing = 2.5f * r;
    Points vertices = editable_vertices(o);
    size_t n = vertex_count(vertices);
    if (!hover_only && (o.type == ShapeType::Polygon || o.type == ShapeType::Polyline)) {
        size_t edges = o.type == ShapeType::Polygon ? n : n - 1;
        for (size_t e = 0; e < edges; ++e) {
            ImVec2 a = to_screen(vertex(o.points, e)), b = to_screen(vertex(o.points, (e + 1) % n));
            if (std::hypot(b.x - a.x, b.y - a.y) < 2 * spacing) continue;
            ImVec2 mid((a.x + b.x) / 2, (a.y + b.y) / 2);
            if (visible(mid)) list->AddCircleFilled(mid, r * 0.6f, IM_COL32(255, 255, 255, 150), 10);
        }
    }
    ImVec2 last(-1e9f, -1e9f);
    for (size_t i = 0; i < n; ++i) {
        ImVec2 p = to_screen(vertex(vertices, i));
        if (!visible(p) || std::hypot(p.x - last.x, p.y - last.y) < spacing) continue;
        last = p;
        list->AddRectFilled(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), IM_COL32(255, 255, 255, hover_only ? 170 : 255));
        list->AddRect(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), IM_COL32(0, 0, 0, hover_only ? 170 : 255));
    }
    if (!hover_only && (o.type == ShapeType::Rectangle || o.type == ShapeType::Ellipse)) {
        double pick = radius / view.zoom;
        Vec2 c = box_centre(o.points);
        Vec2 top = unrotate({c.x, o.points[1]}, c, -o.rotation);
        ImVec2 h = to_screen(Editor::rotation_handle(o, pick));
        list->AddLine(to_screen(top), h, IM_COL32(255, 255, 255, 200), 1.5f);
        list->AddCircleFilled(h, r * 1.2f, IM_COL32(255, 255, 255, 255), 16);
        list->AddCircle(h, r * 1.2f, IM_COL32(0, 0, 0, 255), 16);
    }
}

uint64_t ShapeLayer::sync_batch(App& app) {
    Editor& editor = app.editor();
    const auto& objects = app.frame_objects();
    const auto& previews = editor.previews();
    const ShapeStyle& style = app.shape_style();
    BatchKey key{app.revision(), editor.display_version(), app.frame(), (uint32_t)std::lround(style.fill_opacity * 255)};
    if (!(key == batch_key_)) {
        batch_key_ = key;
        std::vector<BatchShape> batch;
        batch.reserve(editor.frame_shapes().size());
        for (uint32_t i : editor.frame_shapes()) {
            const Object& o = objects[i];
            bool previewed = std::any_of(previews.begin(), previews.end(), [&](const Object& p) { return p.id == o.id; });
            if (!editor.is_hidden(o.id) && !previewed) batch.push_back({&o, label_colour(app.task(), o.label, 255)});
        }
        batch_.rebuild(batch, key.fill_alpha);
    }
    batch_outline_width_ = style.outline_width;
    uint64_t digest = key.revision;
    for (uint64_t part : {key.display, (uint64_t)key.frame, (uint64_t)key.fill_alpha, (uint64_t)std::llround(style.outline_width * 1000)})
        digest = (digest ^ part) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    return digest;
}

void ShapeLayer::paint_batch(const View& view, Rect clip, double scale, int fb_w, int fb_h) {
    batch_.draw(view, clip, scale, fb_w, fb_h, batch_outline_width_);
}

void ShapeLayer::draw(App& app, ImDrawList* list, double handle_radius, bool with_batch) {
    Editor& editor = app.editor();
    const auto& objects = app.frame_objects();
    const auto& previews = editor.previews();
    auto preview_of = [&](const std::string& id) -> const Object* {
        for (const Object& p : previews)
            if (p.id == id) return &p;
        return nullptr;
    };
    const auto& shapes = editor.frame_shapes();
    const ShapeStyle& style = app.shape_style();
    sync_batch(app);
    batch_view_ = app.view();
    batch_viewport_ = app.viewport();
    if (with_batch) {
        list->AddCallback(&ShapeLayer::draw_batch, this);
        list->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
    }
    for (const Object& p : previews) draw_shape(app, list, p, true, false, true);
    // Highlights over the batch: the selected shapes' outlines, thicker; the shape a press would
    // take (hovered) filled and with its vertices, so that stacked shapes are told apart. In
    // stacking order; nothing to look for among 100,000 shapes when nothing is marked.
    bool marked = !editor.selection().empty() || !editor.hovered().empty();
    for (uint32_t i : shapes) {
        if (!marked) break;
        const Object& o = objects[i];
        bool selected = editor.is_selected(o.id), hovered = editor.hovered() == o.id && previews.empty() && !editor.draft();
        if (!(selected || hovered) || editor.is_hidden(o.id) || preview_of(o.id)) continue;
        draw_shape(app, list, o, selected, hovered, hovered && !selected);
        if (hovered && !selected) draw_handles(app, list, o, handle_radius, true);
    }
    if (editor.selection().size() == 1) {
        int i = editor.find_shape(editor.selection()[0]);
        if (i >= 0 && objects[i].type != ShapeType::Tag && !editor.is_hidden(objects[i].id) && !editor.is_locked(objects[i].id)) {
            const Object* shown = preview_of(objects[i].id);
            draw_handles(app, list, shown ? *shown : objects[i], handle_radius);
        }
    }
    const View& view = app.view();
    auto to_screen = [&](Vec2 p) { Vec2 s = view.to_screen(p); return ImVec2((float)s.x, (float)s.y); };
    if (const auto& draft = editor.draft()) {
        draw_shape(app, list, *draft, true, false, true);
        bool open_ended = draft->type == ShapeType::Polygon || draft->type == ShapeType::Polyline;
        size_t n = vertex_count(draft->points);
        ImU32 colour = ShapeLayer::label_colour(app.task(), draft->label, 200);
        if (const Points* path = editor.scissors_preview()) {  // the edge-following path to the cursor
            std::vector<ImVec2> pts;
            for (size_t k = 0; k < vertex_count(*path); ++k) pts.push_back(to_screen(vertex(*path, k)));
            list->AddPolyline(pts.data(), (int)pts.size(), colour, ImDrawFlags_None, 2.0f);
        } else if (open_ended && n > 0) {
            list->AddLine(to_screen(vertex(draft->points, n - 1)), to_screen(editor.cursor()), colour, 1.5f);
        }
        auto handle = [&](size_t k) {
            float r = k == 0 && draft->type == ShapeType::Polygon ? 5.0f : 3.0f;
            list->AddCircleFilled(to_screen(vertex(draft->points, k)), r, IM_COL32(255, 255, 255, 230), 12);
        };
        if (editor.tool() == Tool::Scissors) {
            for (size_t k : editor.scissors_anchors())
                if (k < n) handle(k);
        } else {
            for (size_t k = 0; k < n; ++k) handle(k);
        }
    }
    if (auto pending = editor.assist_pending_box()) {  // a wand click or an outline box the worker is on
        ImVec2 a = to_screen({pending->x, pending->y}), b = to_screen({pending->x + pending->w, pending->y + pending->h});
        ImU32 busy = IM_COL32(255, 220, 0, 230);
        if (pending->w > 0) {
            list->AddRect(a, b, busy, 0, 0, 1.5f);
            list->AddRectFilled(a, ImVec2(a.x + (b.x - a.x) * (float)editor.assist_progress(), a.y + 4), busy);
        } else {
            list->AddCircle(a, 8, busy, 16, 2.0f);
        }
    }
    if (const Points* path = editor.redraw_path()) {
        std::vector<ImVec2> pts;
        if (auto start = editor.redraw_start()) pts.push_back(to_screen(*start));
        for (size_t k = 0; k < vertex_count(*path); ++k) pts.push_back(to_screen(vertex(*path, k)));
        pts.push_back(to_screen(editor.cursor()));
        list->AddPolyline(pts.data(), (int)pts.size(), IM_COL32(255, 220, 0, 255), ImDrawFlags_None, 2.0f);
        // On the end vertex: the polygon the click would make.
        if (const Points* result = editor.redraw_result()) {
            std::vector<ImVec2> outline;
            for (size_t k = 0; k < vertex_count(*result); ++k) outline.push_back(to_screen(vertex(*result, k)));
            list->AddPolyline(outline.data(), (int)outline.size(), IM_COL32(255, 220, 0, 140), ImDrawFlags_Closed, 4.0f);
        }
    }
    if (style.captions) draw_captions(app, list);
    draw_prediction_scores(app, list);
    draw_tag_chips(app, list);
    if (auto box = editor.box_selection()) {
        ImVec2 a = to_screen({box->x, box->y}), b = to_screen({box->x + box->w, box->y + box->h});
        list->AddRectFilled(a, b, IM_COL32(80, 160, 255, 40));
        list->AddRect(a, b, IM_COL32(80, 160, 255, 220), 0, 0, 1.5f);
    }
}

}  // namespace pm
