#include "render/scene_cache.hpp"

#include "render/gl.hpp"
#include "render/gl_program.hpp"

#include <algorithm>
#include <cmath>

namespace pm {

namespace {
constexpr const char* kFragment = R"(
uniform sampler2D u_texture;
in vec2 v_uv;
out vec4 o_colour;
void main() { o_colour = texture(u_texture, v_uv); }
)";
}  // namespace

bool SceneCache::can_show(uint64_t content, const View& view, Rect vp, double scale, bool moving) const {
    if (!valid_ || content != content_ || scale > scale_ + 1e-6) return false;
    if (!moving && (scale != scale_ || view.zoom != view_.zoom || view.offset.x != view_.offset.x || view.offset.y != view_.offset.y)) return false;
    double k = view.zoom / view_.zoom;
    if (k > kZoomBand || k < 1 / kZoomBand) return false;
    double x0 = view.offset.x + (region_.x - view_.offset.x) * k, y0 = view.offset.y + (region_.y - view_.offset.y) * k;
    double x1 = x0 + region_.w * k, y1 = y0 + region_.h * k;
    const double slack = 0.5;
    return x0 <= vp.x + slack && y0 <= vp.y + slack && x1 >= vp.x + vp.w - slack && y1 >= vp.y + vp.h - slack;
}

bool SceneCache::ensure_target(int width, int height) {
    if (texture_ && width == width_ && height == height_) return true;
    if (!texture_) glGenTextures(1, &texture_);
    if (!framebuffer_) glGenFramebuffers(1, &framebuffer_);
    glBindTexture(GL_TEXTURE_2D, texture_);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
    glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture_, 0);
    bool complete = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    width_ = complete ? width : 0;
    height_ = complete ? height : 0;
    return complete;
}

bool SceneCache::capture(uint64_t content, const View& view, Rect vp, double scale, double margin, int max_texture_size, uint32_t background,
                         const Painter& paint) {
    valid_ = false;
    // Whole device pixels, so that a cached frame shown under the view it was painted under
    // lands texel on pixel.
    double mx = std::round(vp.w * margin * scale) / scale, my = std::round(vp.h * margin * scale) / scale;
    Rect region{vp.x - mx, vp.y - my, vp.w + 2 * mx, vp.h + 2 * my};
    int width = (int)std::ceil(region.w * scale), height = (int)std::ceil(region.h * scale);
    if (max_texture_size > 0 && (width > max_texture_size || height > max_texture_size)) {
        region = vp;  // no room for a margin: the viewport alone
        width = (int)std::ceil(region.w * scale);
        height = (int)std::ceil(region.h * scale);
        if (width > max_texture_size || height > max_texture_size) return false;
    }
    if (width <= 0 || height <= 0 || !ensure_target(width, height)) return false;
    glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_);
    glDisable(GL_SCISSOR_TEST);
    glViewport(0, 0, width, height);
    glClearColor((float)((background >> 16) & 0xff) / 255.0f, (float)((background >> 8) & 0xff) / 255.0f, (float)(background & 0xff) / 255.0f, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    View shifted = view;
    shifted.offset.x -= region.x;
    shifted.offset.y -= region.y;
    paint(shifted, Rect{0, 0, region.w, region.h}, scale, width, height);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    valid_ = true;
    content_ = content;
    view_ = view;
    region_ = region;
    scale_ = scale;
    ++captures_;
    return true;
}

void SceneCache::show(const View& view, Rect vp, double scale, int fb_w, int fb_h) {
    if (!valid_ || !rect_.create(kFragment, true)) return;
    double k = view.zoom / view_.zoom;
    double x0 = view.offset.x + (region_.x - view_.offset.x) * k, y0 = view.offset.y + (region_.y - view_.offset.y) * k;
    rect_.use(fb_w, fb_h);
    glBindTexture(GL_TEXTURE_2D, texture_);
    glDisable(GL_BLEND);
    glEnable(GL_SCISSOR_TEST);
    glScissor((int)(vp.x * scale), (int)(fb_h - (vp.y + vp.h) * scale), (int)(vp.w * scale), (int)(vp.h * scale));
    glViewport(0, 0, fb_w, fb_h);
    rect_.draw((float)(x0 * scale), (float)(y0 * scale), (float)((x0 + region_.w * k) * scale), (float)((y0 + region_.h * k) * scale));
    glBindVertexArray(0);
}

void SceneCache::release() {
    rect_.release();
    if (framebuffer_) glDeleteFramebuffers(1, &framebuffer_);
    if (texture_) glDeleteTextures(1, &texture_);
    framebuffer_ = texture_ = 0;
    width_ = height_ = 0;
    valid_ = false;
}

}  // namespace pm
