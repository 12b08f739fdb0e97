#include "render/image_textures.hpp"

#include "render/gl.hpp"

#include <imgui.h>

#include <algorithm>

namespace pm {

ImageTextures::~ImageTextures() { release_all(); }

void ImageTextures::release_all() {
    for (auto& [image, entry] : entries_)
        for (Tile& t : entry.tiles) glDeleteTextures(1, &t.texture);
    entries_.clear();
}

void ImageTextures::sync(FrameImage& image) {
    if (image.state != LoadState::Ready || image.pixels.empty()) return;
    Entry& entry = entries_[&image];
    if (entry.generation == image.generation && !entry.tiles.empty()) return;
    for (Tile& t : entry.tiles) glDeleteTextures(1, &t.texture);
    entry.tiles.clear();
    if (max_size_ == 0) {
        GLint m = 0;
        glGetIntegerv(GL_MAX_TEXTURE_SIZE, &m);
        max_size_ = std::max(256, (int)m);
    }
    const int tile = std::min(max_size_, 8192);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, image.width);
    for (int y = 0; y < image.height; y += tile) {
        for (int x = 0; x < image.width; x += tile) {
            Tile t;
            t.x = x;
            t.y = y;
            t.w = std::min(tile, image.width - x);
            t.h = std::min(tile, image.height - y);
            glGenTextures(1, &t.texture);
            glBindTexture(GL_TEXTURE_2D, t.texture);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
            // Nearest when magnified: labelers zoom in to see exact pixels, not a blur.
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
            glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
            const uint8_t* first = image.pixels.data() + ((size_t)y * image.width + x) * 4;
            glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, t.w, t.h, 0, GL_RGBA, GL_UNSIGNED_BYTE, first);
            entry.tiles.push_back(t);
        }
    }
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    entry.generation = image.generation;
    image.pixels.clear();
    image.pixels.shrink_to_fit();
}

void ImageTextures::draw(const FrameImage& image, const View& view, Rect vp, ImDrawList* list) const {
    auto it = entries_.find(&image);
    if (it == entries_.end()) return;
    list->PushClipRect(ImVec2((float)vp.x, (float)vp.y), ImVec2((float)(vp.x + vp.w), (float)(vp.y + vp.h)), true);
    for (const Tile& t : it->second.tiles) {
        Vec2 a = view.to_screen({(double)t.x, (double)t.y});
        Vec2 b = view.to_screen({(double)(t.x + t.w), (double)(t.y + t.h)});
        list->AddImage((ImTextureID)(intptr_t)t.texture, ImVec2((float)a.x, (float)a.y), ImVec2((float)b.x, (float)b.y));
    }
    list->PopClipRect();
}

}  // namespace pm
