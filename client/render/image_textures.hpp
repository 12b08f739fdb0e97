// Keeps decoded frame images on the GPU. Images larger than the GPU's maximum texture size are
// split into tiles; each tile is drawn as a textured quad through the view transform. GL only: the
// UI decides when (ui/image_layer.hpp). Owns every texture it creates; a video frame's picture
// stays the platform's (its handle is the GL texture name of a texture the platform filled).
#pragma once
#include "app/frame_image.hpp"
#include "polymark/view.hpp"
#include "render/gl_program.hpp"

#include <map>
#include <vector>

namespace pm {

class ImageTextures {
public:
    ImageTextures() = default;
    ImageTextures(const ImageTextures&) = delete;
    ImageTextures& operator=(const ImageTextures&) = delete;
    ~ImageTextures();

    struct Tile {
        unsigned texture = 0;
        int x = 0, y = 0, w = 0, h = 0;  // image pixels
        bool owned = true;  // false: the platform's texture (a video frame), never deleted here
    };

    // Uploads `image`'s pixels if they are new (and frees them on the CPU side). An image the
    // platform already put in a texture of its own (a video frame) is drawn from that texture.
    void sync(FrameImage& image);
    // The tiles of a synced image, then those of its detail region; nothing when it has none.
    std::vector<const Tile*> tiles(const FrameImage& image) const;
    // Draws the tiles through a shader of ours with the adjustments, in the current GL context:
    // `view` and `clip` in CSS pixels, `scale` the device pixel ratio, the framebuffer in device pixels.
    void draw_adjusted(const std::vector<const Tile*>& tiles, const View& view, Rect clip, const ImageAdjust& adjust, double scale, int framebuffer_w,
                       int framebuffer_h);
    void release_all();
    int max_texture_size() const { return max_size_; }

private:
    struct Entry {
        uint64_t generation = 0;
        std::vector<Tile> tiles;
        // A huge image's detail region (FrameImage::Detail), drawn over the tiles.
        uint64_t detail_generation = 0;
        std::vector<Tile> detail;
    };
    // Uploads `pixels` (width x height, each covering `scale` x `scale` image pixels, the first at
    // image pixel (x, y)) as tiles of at most the GPU's maximum size.
    void upload(const uint8_t* pixels, int width, int height, int scale, int x, int y, std::vector<Tile>& tiles);
    static void delete_tiles(std::vector<Tile>& tiles);
    std::map<const FrameImage*, Entry> entries_;
    int max_size_ = 0;
    RectProgram rect_;
    int u_adjust_ = -1;
    bool ensure_program();
};

}  // namespace pm
