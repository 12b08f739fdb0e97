// The picture and the stored shapes under the UI, drawn one of two ways: directly (ImageLayer's
// tiles, then the shape batch), or through a SceneCache (render/scene_cache.hpp) on software
// rasterisers, where a frame that pans, zooms or only changes the UI draws one textured quad.
// While the view moves the cache is painted with a margin around the viewport, so that panning
// shows cached pixels until the view leaves it.
#pragma once
#include "render/scene_cache.hpp"
#include "ui/image_layer.hpp"
#include "ui/shape_layer.hpp"

#include <imgui.h>

#include <vector>

namespace pm {

class SceneLayer {
public:
    struct Mode {
        bool cached = false;
        bool moving = false;  // the view changed within the last moments: paint a margin
    };
    // Queues the scene on `list`; then `shapes` draws what goes over it.
    void draw(App& app, ImageTextures& textures, const FrameImage& image, Rect viewport, ImDrawList* list, ShapeLayer& shapes, Mode mode);
    uint64_t captures() const { return cache_.captures(); }
    void release() { cache_.release(); }

    // The share of the viewport's width and height painted beyond each side while moving.
    static constexpr double kMotionMargin = 0.25;
    static constexpr uint32_t kBackground = 0x26282c;  // the canvas's background (Workspace), rgb(38, 40, 44)

private:
    ImageLayer image_layer_;
    SceneCache cache_;
    // Read by the callback during rendering.
    ImageTextures* textures_ = nullptr;
    ShapeLayer* shapes_ = nullptr;
    std::vector<const ImageTextures::Tile*> tiles_;
    View view_;
    Rect viewport_;
    ImageAdjust adjust_;
    double image_w_ = 0, image_h_ = 0;
    uint64_t content_ = 0;
    bool moving_ = false;
    static void draw_cached(const ImDrawList* list, const ImDrawCmd* cmd);
    // The picture and the batch into the framebuffer bound now.
    void paint(const View& view, Rect clip, double scale, int width, int height);
};

}  // namespace pm
