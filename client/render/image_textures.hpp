// Keeps decoded frame images on the GPU. Images larger than the GPU's maximum texture size are
// split into tiles; each tile is drawn as a textured quad through the view transform.
#pragma once
#include "app/app.hpp"

#include <map>
#include <vector>

struct ImDrawList;
struct ImDrawCmd;

namespace pm {

class ImageTextures {
public:
    ImageTextures() = default;
    ImageTextures(const ImageTextures&) = delete;
    ImageTextures& operator=(const ImageTextures&) = delete;
    ~ImageTextures();

    // Uploads `image`'s pixels if they are new (and frees them on the CPU side). An image the
    // platform already put in a texture of its own (a video frame) is drawn from that texture.
    void sync(FrameImage& image);
    // Draws `image` (already synced) under `view`, clipped to `viewport`. With adjustments, the
    // tiles go through a shader of ours (queued as a draw-list callback), else through ImGui.
    void draw(const FrameImage& image, const View& view, Rect viewport, ImDrawList* list, const ImageAdjust& adjust);
    void release_all();
    int max_texture_size() const { return max_size_; }

private:
    struct Tile {
        unsigned texture = 0;
        int x = 0, y = 0, w = 0, h = 0;
        bool owned = true;  // false: the platform's texture (a video frame), never deleted here
    };
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
    // The adjusted draw, read by the callback.
    struct Pending { const Entry* entry = nullptr; View view; Rect viewport; ImageAdjust adjust; } pending_;
    unsigned program_ = 0, vao_ = 0, vbo_ = 0;
    int u_rect_ = -1, u_screen_ = -1, u_adjust_ = -1, u_texture_ = -1;
    bool ensure_program();
    static void draw_adjusted(const ImDrawList* list, const ImDrawCmd* cmd);
};

}  // namespace pm
