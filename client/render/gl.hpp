// The one place that picks OpenGL headers: WebGL2 (OpenGL ES 3.0) on the web, desktop GL 3.0
// natively. CMake defines POLYMARK_GLES for the web build.
#pragma once
#if defined(POLYMARK_GLES)
#include <GLES3/gl3.h>
#else
#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#endif
