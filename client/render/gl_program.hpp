// Shader programs for our own GL drawing (the shape batch, adjusted image tiles): the GLSL
// version line for WebGL2 or desktop GL 3.0 is added here, attributes bound by index.
#pragma once
#include <initializer_list>

namespace pm {

// Compiles and links; `attributes` are bound to locations 0, 1, 2... Returns 0 on failure (the
// compiler's log goes to stderr).
unsigned link_program(const char* vertex_body, const char* fragment_body, std::initializer_list<const char*> attributes);

}  // namespace pm
