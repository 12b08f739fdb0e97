// Draws the current frame's picture under the shapes: its tiles through ImGui's draw list, or,
// with brightness/contrast/gamma adjustments, through render's shader queued as a draw-list
// callback so that it lands at the same place in the frame. Units: view and clip in CSS pixels.
#pragma once
#include "render/image_textures.hpp"

#include <imgui.h>

namespace pm {

class ImageLayer {
public:
    // `image` already synced to `textures` this frame.
    void draw(ImageTextures& textures, const FrameImage& image, const View& view, Rect viewport, ImDrawList* list, const ImageAdjust& adjust);

private:
    // The adjusted draw, read by the callback during rendering.
    ImageTextures* textures_ = nullptr;
    std::vector<const ImageTextures::Tile*> tiles_;
    View view_;
    Rect clip_;
    ImageAdjust adjust_;
    static void draw_adjusted(const ImDrawList* list, const ImDrawCmd* cmd);
};

}  // namespace pm
