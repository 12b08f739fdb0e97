// The quality module: a small wasm of its own (dist/polymark_quality.js + .wasm) that the manager
// view runs in a Web Worker (shell/workers/quality_worker.js), so neither the app's first load nor
// the page's thread carries the quality measures. One call, JSON text in and out
// (shared/polymark/quality_wire.hpp). Depends on polymark_core only.
#include "polymark/quality_wire.hpp"

#include <emscripten.h>

#include <string>

namespace {
std::string g_answer;  // the last answer, valid until the next call
}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* pm_quality_call(const char* call) {
    g_answer = pm::quality_call_text(call ? call : "");
    return g_answer.c_str();
}

}  // extern "C"
