// The backend profile module: a small wasm of its own (dist/polymark_profile.js + .wasm) that
// polymark.js loads only for mounts with a `profile`, so the app's first load carries none of the
// profiles' mapping code. One ProfileHost for the page; the app's ProfileClient sends it each call
// as JSON text (profile_wire.hpp). Depends on polymark_core only.
#include "polymark/profile_wire.hpp"

#include <emscripten.h>

#include <string>

namespace {
pm::ProfileHost g_host;
std::string g_answer;  // the last answer, valid until the next call
}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* pm_profile_call(const char* call) {
    g_answer = g_host.call(call ? call : "");
    return g_answer.c_str();
}

}  // extern "C"
