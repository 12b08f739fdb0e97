#include "render/image_textures.hpp"

#include "render/gl.hpp"
#include "render/gl_program.hpp"

#include <algorithm>

namespace pm {

ImageTextures::~ImageTextures() { release_all(); }

void ImageTextures::delete_tiles(std::vector<Tile>& tiles) {
    for (Tile& t : tiles)
        if (t.owned) glDeleteTextures(1, &t.texture);
    tiles.clear();
}

void ImageTextures::release_all() {
    for (auto& [image, entry] : entries_) {
        delete_tiles(entry.tiles);
        delete_tiles(entry.detail);
    }
    entries_.clear();
    rect_.release();
}

namespace {
constexpr const char* kFragment = R"(
uniform sampler2D u_texture;
uniform vec3 u_adjust;  // brightness, contrast, gamma
in vec2 v_uv;
out vec4 o_colour;
void main() {
    vec4 c = texture(u_texture, v_uv);
    vec3 rgb = clamp((c.rgb - 0.5) * u_adjust.y + 0.5 + u_adjust.x, 0.0, 1.0);
    o_colour = vec4(pow(rgb, vec3(1.0 / u_adjust.z)), c.a);
}
)";

}  // namespace

bool ImageTextures::ensure_program() {
    if (!rect_.create(kFragment, false)) return false;
    u_adjust_ = glGetUniformLocation(rect_.program, "u_adjust");
    return true;
}

std::vector<const ImageTextures::Tile*> ImageTextures::tiles(const FrameImage& image) const {
    std::vector<const Tile*> all;
    auto it = entries_.find(&image);
    if (it == entries_.end()) return all;
    for (const auto* list : {&it->second.tiles, &it->second.detail})
        for (const Tile& t : *list) all.push_back(&t);
    return all;
}

void ImageTextures::draw_adjusted(const std::vector<const Tile*>& tiles, const View& view, Rect clip, const ImageAdjust& adjust, double scale, int fb_w,
                                  int fb_h) {
    if (tiles.empty() || !ensure_program()) return;
    rect_.use(fb_w, fb_h);
    glUniform3f(u_adjust_, (float)adjust.brightness, (float)adjust.contrast, (float)adjust.gamma);
    glDisable(GL_BLEND);
    glEnable(GL_SCISSOR_TEST);
    glScissor((int)(clip.x * scale), (int)(fb_h - (clip.y + clip.h) * scale), (int)(clip.w * scale), (int)(clip.h * scale));
    glViewport(0, 0, fb_w, fb_h);
    for (const Tile* t : tiles) {
        Vec2 a = view.to_screen({(double)t->x, (double)t->y}), b = view.to_screen({(double)(t->x + t->w), (double)(t->y + t->h)});
        glBindTexture(GL_TEXTURE_2D, t->texture);
        rect_.draw((float)(a.x * scale), (float)(a.y * scale), (float)(b.x * scale), (float)(b.y * scale));
    }
    glBindVertexArray(0);
}

void ImageTextures::sync(FrameImage& image) {
    // Images the app released (a left frame, the image cache's cap) or replaced: their textures go.
    for (auto it = entries_.begin(); it != entries_.end();) {
        const FrameImage* other = it->first;
        if (other != &image && (other->state != LoadState::Ready || other->generation != it->second.generation)) {
            delete_tiles(it->second.tiles);
            delete_tiles(it->second.detail);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    if (image.state != LoadState::Ready) return;
    if (image.platform_picture) {
        Entry& entry = entries_[&image];
        if (entry.generation == image.generation && !entry.tiles.empty()) return;
        for (Tile& t : entry.tiles)
            if (t.owned) glDeleteTextures(1, &t.texture);
        entry.tiles = {Tile{image.platform_picture, 0, 0, image.width, image.height, false}};
        entry.generation = image.generation;
        return;
    }
    Entry& entry = entries_[&image];
    // The detail region: replaced or deleted whenever the app changes it.
    if (entry.detail_generation != image.detail.generation) {
        delete_tiles(entry.detail);
        if (image.detail.width > 0 && !image.detail.pixels.empty())
            upload(image.detail.pixels.data(), image.detail.pixels_width, image.detail.pixels_height, image.detail.level, image.detail.x, image.detail.y, entry.detail);
        entry.detail_generation = image.detail.generation;
        image.detail.pixels.clear();
        image.detail.pixels.shrink_to_fit();
    }
    if (image.pixels.empty()) return;
    if (entry.generation == image.generation && !entry.tiles.empty()) return;
    delete_tiles(entry.tiles);
    // A reduced level: `pixels` are smaller, each covering level x level image pixels; tiles are
    // placed in image pixels all the same.
    const int scale = image.level > 1 ? image.level : 1;
    const int pixels_w = scale > 1 ? image.level_width : image.width, pixels_h = scale > 1 ? image.level_height : image.height;
    upload(image.pixels.data(), pixels_w, pixels_h, scale, 0, 0, entry.tiles);
    entry.generation = image.generation;
    image.pixels.clear();
    image.pixels.shrink_to_fit();
}

void ImageTextures::upload(const uint8_t* pixels, int pixels_w, int pixels_h, int scale, int origin_x, int origin_y, std::vector<Tile>& tiles) {
    if (max_size_ == 0) {
        GLint m = 0;
        glGetIntegerv(GL_MAX_TEXTURE_SIZE, &m);
        max_size_ = std::max(256, (int)m);
    }
    const int tile = std::min(max_size_, 8192);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, pixels_w);
    for (int y = 0; y < pixels_h; y += tile) {
        for (int x = 0; x < pixels_w; x += tile) {
            Tile t;
            int tw = std::min(tile, pixels_w - x), th = std::min(tile, pixels_h - y);
            t.x = origin_x + x * scale;
            t.y = origin_y + y * scale;
            t.w = tw * scale;
            t.h = th * scale;
            glGenTextures(1, &t.texture);
            glBindTexture(GL_TEXTURE_2D, t.texture);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
            // Nearest when magnified: labelers zoom in to see exact pixels, not a blur.
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
            const uint8_t* first = pixels + ((size_t)y * pixels_w + x) * 4;
            glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, tw, th, 0, GL_RGBA, GL_UNSIGNED_BYTE, first);
            tiles.push_back(t);
        }
    }
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
}

}  // namespace pm
