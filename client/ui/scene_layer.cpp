#include "ui/scene_layer.hpp"

#include <algorithm>

namespace pm {

namespace {
uint64_t mix(uint64_t digest, uint64_t part) { return (digest ^ part) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull; }
}  // namespace

void SceneLayer::draw(App& app, ImageTextures& textures, const FrameImage& image, Rect viewport, ImDrawList* list, ShapeLayer& shapes, Mode mode) {
    if (!mode.cached) {
        cache_.invalidate();
        image_layer_.draw(textures, image, app.view(), viewport, list, app.image_adjust());
        return;
    }
    textures_ = &textures;
    shapes_ = &shapes;
    tiles_ = textures.tiles(image);
    view_ = app.view();
    viewport_ = viewport;
    adjust_ = app.image_adjust();
    image_w_ = image.width;
    image_h_ = image.height;
    moving_ = mode.moving;
    // Everything the painter draws: the stored shapes, the picture's tiles, the adjustments.
    uint64_t digest = mix(shapes.sync_batch(app), (uint64_t)(uintptr_t)&image);
    for (const ImageTextures::Tile* t : tiles_)
        for (uint64_t part : {(uint64_t)t->texture, (uint64_t)t->x, (uint64_t)t->y, (uint64_t)t->w, (uint64_t)t->h}) digest = mix(digest, part);
    for (double a : {adjust_.brightness, adjust_.contrast, adjust_.gamma}) digest = mix(digest, (uint64_t)std::llround(a * 1e6));
    content_ = mix(digest, image.generation);
    list->AddCallback(&SceneLayer::draw_cached, this);
    list->AddCallback(ImDrawCallback_ResetRenderState, nullptr);
}

void SceneLayer::paint(const View& view, Rect clip, double scale, int width, int height) {
    // The picture clipped at its edge: a reduced level's last pixels cover less than a level's
    // worth of image pixels.
    Vec2 a = view.to_screen({0, 0}), b = view.to_screen({image_w_, image_h_});
    Rect picture{std::max(clip.x, a.x), std::max(clip.y, a.y), 0, 0};
    picture.w = std::min(clip.x + clip.w, b.x) - picture.x;
    picture.h = std::min(clip.y + clip.h, b.y) - picture.y;
    if (picture.w > 0 && picture.h > 0) textures_->draw_adjusted(tiles_, view, picture, adjust_, scale, width, height);
    shapes_->paint_batch(view, clip, scale, width, height);
}

void SceneLayer::draw_cached(const ImDrawList*, const ImDrawCmd* cmd) {
    auto* self = static_cast<SceneLayer*>(cmd->UserCallbackData);
    ImDrawData* data = ImGui::GetDrawData();
    double scale = data->FramebufferScale.x;
    int fb_w = (int)(data->DisplaySize.x * scale), fb_h = (int)(data->DisplaySize.y * data->FramebufferScale.y);
    auto painter = [self](const View& v, Rect clip, double s, int w, int h) { self->paint(v, clip, s, w, h); };
    if (!self->cache_.can_show(self->content_, self->view_, self->viewport_, scale, self->moving_) &&
        !self->cache_.capture(self->content_, self->view_, self->viewport_, scale, self->moving_ ? kMotionMargin : 0, self->textures_->max_texture_size(),
                              kBackground, painter)) {
        self->paint(self->view_, self->viewport_, scale, fb_w, fb_h);  // no texture this size: drawn directly
        return;
    }
    self->cache_.show(self->view_, self->viewport_, scale, fb_w, fb_h);
}

}  // namespace pm
