// Draws the current frame's shapes, the draft being drawn, drag previews, handles of the
// selection and the box selection, into an ImGui draw list clipped to the viewport. Concave
// polygon fills are triangulated once per shape change and cached by object id.
#pragma once
#include "app/app.hpp"

#include <imgui.h>

#include <string>
#include <unordered_map>

namespace pm {

class ShapeLayer {
public:
    void draw(App& app, ImDrawList* list, double handle_radius_screen);
    static ImU32 label_colour(const Task* task, const std::string& label, int alpha);

private:
    struct Mesh { Points points; std::vector<uint32_t> triangles; };
    std::unordered_map<std::string, Mesh> meshes_;
    uint64_t pruned_at_revision_ = 0;
    std::vector<ImVec2> screen_;

    const std::vector<uint32_t>& triangles_for(const Object& o);
    void draw_shape(const App& app, ImDrawList* list, const Object& o, bool selected, bool hovered, bool cached_mesh);
    void draw_handles(const App& app, ImDrawList* list, const Object& o, double radius);
    void fill_triangles(ImDrawList* list, const std::vector<ImVec2>& pts, const std::vector<uint32_t>& tris, ImU32 colour);
};

}  // namespace pm
