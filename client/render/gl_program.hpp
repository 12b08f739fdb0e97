// Shader programs for our own GL drawing (the shape batch, adjusted image tiles): the GLSL
// version line for WebGL2 or desktop GL 3.0 is added here, attributes bound by index.
#pragma once
#include <initializer_list>

namespace pm {

// Compiles and links; `attributes` are bound to locations 0, 1, 2... Returns 0 on failure (the
// compiler's log goes to stderr).
unsigned link_program(const char* vertex_body, const char* fragment_body, std::initializer_list<const char*> attributes);

// A program that draws a texture onto a rectangle given in device pixels: a unit square (a
// triangle strip at attribute 0) mapped by the uniforms u_rect (x0, y0, x1, y1) and u_screen (the
// framebuffer's size). `fragment_body` samples u_texture at v_uv; with `bottom_up`, v_uv counts
// rows from the bottom (a texture GL painted into, as the scene cache's).
struct RectProgram {
    unsigned program = 0, vao = 0, vbo = 0;
    int u_rect = -1, u_screen = -1, u_texture = -1;
    bool create(const char* fragment_body, bool bottom_up);
    // Binds the program and its quad, with the framebuffer's size and texture unit 0.
    void use(int framebuffer_w, int framebuffer_h) const;
    void draw(float x0, float y0, float x1, float y1) const;
    void release();
};

}  // namespace pm
