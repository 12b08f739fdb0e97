#include "ui/image_layer.hpp"

#include <algorithm>
#include <cstdint>

namespace pm {

void ImageLayer::draw_adjusted(const ImDrawList*, const ImDrawCmd* cmd) {
    auto* self = static_cast<ImageLayer*>(cmd->UserCallbackData);
    ImDrawData* data = ImGui::GetDrawData();
    double scale = data->FramebufferScale.x;
    int fb_w = (int)(data->DisplaySize.x * scale), fb_h = (int)(data->DisplaySize.y * data->FramebufferScale.y);
    self->textures_->draw_adjusted(self->tiles_, self->view_, self->clip_, self->adjust_, scale, fb_w, fb_h);
}

void ImageLayer::draw(ImageTextures& textures, const FrameImage& image, const View& view, Rect vp, ImDrawList* list, const ImageAdjust& adjust) {
    std::vector<const ImageTextures::Tile*> tiles = textures.tiles(image);
    if (tiles.empty()) return;
    // The last pixels of a reduced level cover less than level x level image pixels: clip at the
    // image's edge so that the level lines up with the image pixels exactly.
    Vec2 image_min = view.to_screen({0, 0}), image_max = view.to_screen({(double)image.width, (double)image.height});
    double x0 = std::max(vp.x, image_min.x), y0 = std::max(vp.y, image_min.y);
    double x1 = std::min(vp.x + vp.w, image_max.x), y1 = std::min(vp.y + vp.h, image_max.y);
    if (x1 <= x0 || y1 <= y0) return;
    vp = Rect{x0, y0, x1 - x0, y1 - y0};
    if (!adjust.identity()) {
        textures_ = &textures;
        tiles_ = std::move(tiles);
        view_ = view;
        clip_ = vp;
        adjust_ = adjust;
        list->AddCallback(&ImageLayer::draw_adjusted, this);
        list->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
        return;
    }
    list->PushClipRect(ImVec2((float)vp.x, (float)vp.y), ImVec2((float)(vp.x + vp.w), (float)(vp.y + vp.h)), true);
    for (const ImageTextures::Tile* t : tiles) {
        Vec2 a = view.to_screen({(double)t->x, (double)t->y});
        Vec2 b = view.to_screen({(double)(t->x + t->w), (double)(t->y + t->h)});
        list->AddImage((ImTextureID)(intptr_t)t->texture, ImVec2((float)a.x, (float)a.y), ImVec2((float)b.x, (float)b.y));
    }
    list->PopClipRect();
}

}  // namespace pm
