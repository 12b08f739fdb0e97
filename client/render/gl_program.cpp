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

}  // namespace pm
