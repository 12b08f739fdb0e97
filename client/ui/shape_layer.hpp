// Draws the current frame's shapes: the stored ones through the retained GL batch (one draw call,
// queued as a draw-list callback so that it lands between the image and the UI), and on top,
// through ImGui, what changes every frame: drag previews, the highlight and handles of the
// selection, the draft being drawn, the redraw path and the selection box.
#pragma once
#include "app/app.hpp"
#include "render/shape_batch.hpp"

#include <imgui.h>

#include <string>
#include <unordered_map>

namespace pm {

class ShapeLayer {
public:
    // Rebuilds the batch of stored shapes when they changed; returns a digest of what it draws.
    uint64_t sync_batch(App& app);
    // Draws the stored shapes (the batch) with the current GL context (SceneLayer does, into
    // the canvas or its cache).
    void paint_batch(const View& view, Rect clip, double scale, int framebuffer_w, int framebuffer_h);
    // What is drawn over the stored shapes; with `with_batch`, the stored shapes first (queued
    // as a draw-list callback).
    void draw(App& app, ImDrawList* list, double handle_radius_screen, bool with_batch);
    void release() { batch_.release(); }
    static ImU32 label_colour(const Task* task, const std::string& label, int alpha);
    // A shape's outline in screen pixels: a rectangle's turned corners, an ellipse's polygon, the
    // vertices of the others.
    static std::vector<ImVec2> screen_outline(const View& view, const Object& o);
    // An outline as dashes of kDashPeriod CSS pixels (on 60 %, off 40 %), as occluded shapes are drawn.
    static void add_dashed_polyline(ImDrawList* list, const ImVec2* pts, int n, ImU32 colour, bool closed, float thickness);

private:
    ShapeBatch batch_;
    struct BatchKey {
        uint64_t revision = ~0ull, display = 0;
        long long frame = -1;
        uint32_t fill_alpha = 0;
        bool operator==(const BatchKey& o) const { return revision == o.revision && display == o.display && frame == o.frame && fill_alpha == o.fill_alpha; }
    } batch_key_;
    View batch_view_;
    Rect batch_viewport_;
    double batch_outline_width_ = 1.5;
    std::vector<ImVec2> screen_, outline_;

    static void draw_batch(const ImDrawList* list, const ImDrawCmd* cmd);
    void draw_shape(const App& app, ImDrawList* list, const Object& o, bool selected, bool hovered, bool fill_it);
    void draw_handles(const App& app, ImDrawList* list, const Object& o, double radius, bool hover_only = false);
    void fill_triangles(ImDrawList* list, const std::vector<ImVec2>& pts, const std::vector<uint32_t>& tris, ImU32 colour);
    static void draw_caption(ImDrawList* list, ImVec2 bottom_left, const std::string& text);
    // Every shape's name over it (ShapeStyle::captions), the shapes inside the viewport only.
    void draw_captions(const App& app, ImDrawList* list);
    // The score of each unconfirmed model prediction in view (source model), beside the shape.
    static void draw_prediction_scores(const App& app, ImDrawList* list);
    // The frame's tags (shapes of type tag, which have no outline) as chips in the viewport's top left corner.
    static void draw_tag_chips(const App& app, ImDrawList* list);
};

}  // namespace pm
