#include "render/gl_program.hpp"

#include "render/gl.hpp"

#include <cstdio>

namespace pm {

namespace {

#if defined(POLYMARK_GLES)
constexpr const char* kHeader = "#version 300 es\nprecision highp float;\n";
#else
constexpr const char* kHeader = "#version 130\n";
#endif

unsigned compile(unsigned kind, const char* body) {
    unsigned s = glCreateShader(kind);
    const char* sources[2] = {kHeader, body};
    glShaderSource(s, 2, sources, nullptr);
    glCompileShader(s);
    int ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[512] = "";
        glGetShaderInfoLog(s, sizeof log, nullptr, log);
        std::fprintf(stderr, "polymark: shader: %s\n", log);
        glDeleteShader(s);
        return 0;
    }
    return s;
}

}  // namespace

unsigned link_program(const char* vertex_body, const char* fragment_body, std::initializer_list<const char*> attributes) {
    unsigned vs = compile(GL_VERTEX_SHADER, vertex_body), fs = compile(GL_FRAGMENT_SHADER, fragment_body);
    if (!vs || !fs) {
        if (vs) glDeleteShader(vs);
        if (fs) glDeleteShader(fs);
        return 0;
    }
    unsigned program = glCreateProgram();
    glAttachShader(program, vs);
    glAttachShader(program, fs);
    unsigned location = 0;
    for (const char* name : attributes) glBindAttribLocation(program, location++, name);
    glLinkProgram(program);
    glDeleteShader(vs);
    glDeleteShader(fs);
    int ok = 0;
    glGetProgramiv(program, GL_LINK_STATUS, &ok);
    if (!ok) {
        glDeleteProgram(program);
        return 0;
    }
    return program;
}

namespace {
constexpr const char* kRectVertex = R"(
uniform vec4 u_rect;    // x0, y0, x1, y1 in device pixels
uniform vec2 u_screen;
uniform float u_bottom_up;  // 1: rows counted from the bottom
in vec2 a_unit;
out vec2 v_uv;
void main() {
    vec2 s = mix(u_rect.xy, u_rect.zw, a_unit);
    gl_Position = vec4(s.x / u_screen.x * 2.0 - 1.0, 1.0 - s.y / u_screen.y * 2.0, 0.0, 1.0);
    v_uv = vec2(a_unit.x, mix(a_unit.y, 1.0 - a_unit.y, u_bottom_up));
}
)";
}  // namespace

bool RectProgram::create(const char* fragment_body, bool bottom_up) {
    if (program) return true;
    program = link_program(kRectVertex, fragment_body, {"a_unit"});
    if (!program) return false;
    glUseProgram(program);
    glUniform1f(glGetUniformLocation(program, "u_bottom_up"), bottom_up ? 1.0f : 0.0f);
    u_rect = glGetUniformLocation(program, "u_rect");
    u_screen = glGetUniformLocation(program, "u_screen");
    u_texture = glGetUniformLocation(program, "u_texture");
    static const float unit[] = {0, 0, 1, 0, 0, 1, 1, 1};
    glGenVertexArrays(1, &vao);
    glGenBuffers(1, &vbo);
    glBindVertexArray(vao);
    glBindBuffer(GL_ARRAY_BUFFER, vbo);
    glBufferData(GL_ARRAY_BUFFER, sizeof unit, unit, GL_STATIC_DRAW);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, nullptr);
    glBindVertexArray(0);
    return true;
}

void RectProgram::use(int fb_w, int fb_h) const {
    glUseProgram(program);
    glBindVertexArray(vao);
    glUniform2f(u_screen, (float)fb_w, (float)fb_h);
    glUniform1i(u_texture, 0);
    glActiveTexture(GL_TEXTURE0);
}

void RectProgram::draw(float x0, float y0, float x1, float y1) const {
    glUniform4f(u_rect, x0, y0, x1, y1);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

void RectProgram::release() {
    if (program) glDeleteProgram(program);
    if (vbo) glDeleteBuffers(1, &vbo);
    if (vao) glDeleteVertexArrays(1, &vao);
    program = vao = vbo = 0;
}

}  // namespace pm
