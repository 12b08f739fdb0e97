// The scene under the UI (the frame's picture and its stored shapes) kept in a texture. Where WebGL
// runs on a software rasteriser (SwiftShader, llvmpipe: remote desktops, virtual machines), every
// triangle costs CPU time, and 5,000 outlined polygons take longer to draw than a frame lasts. With
// the scene cached, a frame that pans, zooms or only changes the UI over the canvas draws one
// textured quad; the scene is drawn again only when it changes, when the view leaves the cached
// region, or when the zoom strays too far from the cached zoom for the texture to stay sharp.
#pragma once
#include "polymark/view.hpp"
#include "render/gl_program.hpp"

#include <cstdint>
#include <functional>

namespace pm {

class SceneCache {
public:
    SceneCache() = default;
    SceneCache(const SceneCache&) = delete;
    SceneCache& operator=(const SceneCache&) = delete;
    ~SceneCache() { release(); }

    // Draws the scene under `view` into the current framebuffer, `clip` and `view` in CSS pixels,
    // `scale` device pixels per CSS pixel, the framebuffer `width` x `height` device pixels.
    using Painter = std::function<void(const View& view, Rect clip, double scale, int width, int height)>;

    // Whether the cache holds `content` (a digest of everything the painter draws) and can show
    // `viewport` under `view` at `scale`: the region covers it and was painted at that scale
    // (or finer, while `moving`). A still view must be the one it was painted under, so that
    // it shows texel on pixel; a moving one may be zoomed within kZoomBand of it (outlines keep
    // about their width within that band; past it they would thicken or thin).
    bool can_show(uint64_t content, const View& view, Rect viewport, double scale, bool moving) const;
    // Paints the region around `viewport` (`margin` times its size more on each side, for
    // panning) into the texture at `scale`, as `content`, over `background` (0xRRGGBB). False
    // when the GPU cannot hold it.
    bool capture(uint64_t content, const View& view, Rect viewport, double scale, double margin, int max_texture_size, uint32_t background,
                 const Painter& paint);
    // Draws the cached region where `view` puts it, clipped to `viewport`, into the framebuffer
    // bound now (the canvas).
    void show(const View& view, Rect viewport, double scale, int framebuffer_w, int framebuffer_h);
    void invalidate() { valid_ = false; }
    void release();

    static constexpr double kZoomBand = 1.25;
    uint64_t captures() const { return captures_; }

private:
    bool valid_ = false;
    uint64_t content_ = 0, captures_ = 0;
    View view_;          // the view the region was painted under
    Rect region_;        // CSS pixels under view_
    double scale_ = 1;   // device pixels per CSS pixel it was painted at
    int width_ = 0, height_ = 0;  // the texture, device pixels
    unsigned texture_ = 0, framebuffer_ = 0;
    RectProgram rect_;
    bool ensure_target(int width, int height);
};

}  // namespace pm
