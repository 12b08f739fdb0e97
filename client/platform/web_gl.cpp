// The web build looks up no GL function by name: the client, Dear ImGui's OpenGL ES 3 backend
// and SDL's emscripten driver call WebGL through the GLES headers. Emscripten's own
// eglGetProcAddress (system/lib/gl/libprocaddr.c), which SDL's EGL layer keeps reachable, holds
// a table of every GL function: linking it puts all of WebGL into the JS glue and their names into
// the wasm (bench/README.md, "First load": 15 KB gzip). This definition is found first, so that
// one is never linked; SDL treats a null answer as "not available".
extern "C" void* eglGetProcAddress(const char* name) {
    (void)name;
    return nullptr;
}
