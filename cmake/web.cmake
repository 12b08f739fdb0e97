# The WebAssembly client: client/main.cpp + the web platform, linked into a MODULARIZE factory
# (polymark_app.js + polymark_app.wasm) that polymark.js (shell/src/loader.js) instantiates once per mount.
# No exception handling on the web (Emscripten's default: a throw aborts): outside data never
# reaches throwing code (errors are values), and an abort after `ready` remounts the instance,
# which replays the journal (remountOnAbort, docs/API.md). Handling them cost 52 KB gzip.
target_link_libraries(imgui_backends PUBLIC sdl2_web)
# nlohmann/json then aborts where it would throw, without building the exception's message first.
target_compile_definitions(polymark_core PUBLIC JSON_NOEXCEPTION)
set(POLYMARK_ESBUILD "${PROJECT_SOURCE_DIR}/node_modules/.bin/esbuild")
if(NOT EXISTS "${POLYMARK_ESBUILD}")
  message(FATAL_ERROR "esbuild is missing (${POLYMARK_ESBUILD}): run tools/setup.sh, which installs it with npm ci")
endif()
# Emscripten's JS glue minified, local names too (there is no closure compiler here): the app's
# 24.7 -> 18.9 KB gzip. Globals and property names stay, so the factories keep their names.
function(polymark_minify_glue target)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${POLYMARK_ESBUILD}" "$<TARGET_FILE:${target}>" --minify --target=es2020 --log-level=warning
      --allow-overwrite "--outfile=$<TARGET_FILE:${target}>"
    VERBATIM)
endfunction()
target_compile_definitions(polymark_render PUBLIC POLYMARK_GLES)
# Size is the first lever for labelers on slow links: -Oz everywhere in the web build, and
# link-time optimisation (-flto: the objects are LLVM bitcode, optimised together when the app
# links; 20 KB less gzip, bench/README.md "First load"). Video and tracker modules link the same
# bitcode core; wasm-ld optimises it with them the same way.
foreach(t polymark_core imgui imgui_backends polymark_app polymark_render polymark_ui polymark_platform)
  target_compile_options(${t} PRIVATE -Oz -flto)
endforeach()

# platform/web_gl.cpp: no GL lookup by name (eglGetProcAddress), which would link every WebGL
# function into the JS glue and a table of their names into the wasm (15 KB gzip). A source of
# the program itself, so that it always replaces the library's lookup.
# platform/web_no_gamepad.cpp: the same for the three game controller calls of ImGui's SDL2
# backend, so that SDL's game controller and joystick layers are not linked (8.9 KB gzip).
add_executable(polymark_app_web main.cpp platform/web_gl.cpp platform/web_no_gamepad.cpp)
set_target_properties(polymark_app_web PROPERTIES OUTPUT_NAME polymark_app SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_app_web PRIVATE polymark_platform)
set(POLYMARK_WEB_LINK_FLAGS
  -Oz
  -flto
  -sMODULARIZE=1                       # one factory, one independent instance per mount()
  -sEXPORT_NAME=createPolymarkModule
  -sENVIRONMENT=web                    # no node/worker loader code in the page
  -sMAX_WEBGL_VERSION=2 -sMIN_WEBGL_VERSION=2   # WebGL2 only; mount() reports when it is missing
  -sALLOW_MEMORY_GROWTH=1              # big images and documents grow the heap on demand
  -sINITIAL_MEMORY=33554432
  -sTOTAL_STACK=1048576
  -sEXIT_RUNTIME=0                     # main() returns; the main loop keeps the instance alive
  -sFILESYSTEM=0                       # no virtual file system: bytes arrive through fetch
  -sEXPORTED_FUNCTIONS=_main,_malloc,_free,_pm_call,_pm_fetch_done,_pm_resize,_pm_destroy,_pm_wants_text,_pm_insert_text,_pm_add_glyphs,_pm_decode_done,_pm_video_done
  -sEXPORTED_RUNTIME_METHODS=specialHTMLTargets,ENV,UTF8ToString,stringToUTF8,lengthBytesUTF8,HEAPU8,HEAPU32
  # Size of the first load (bench/wasm_size.py; each measured alone in bench/README.md):
  -sMALLOC=emmalloc                    # a smaller allocator than dlmalloc (3 KB gzip)
  -sBINARYEN_EXTRA_PASSES=--converge   # wasm-opt repeats -Oz until nothing changes (3 KB gzip)
  # JS glue: only what this page uses (1 KB gzip together). The module reads only these of the
  # object polymark.js (shell/src) hands it; UTF-8 through TextDecoder (every browser with WebGL2
  # has it); no eval, setjmp, errno from JS, SDL1 JS library or deferred fullscreen requests.
  -sINCOMING_MODULE_JS_API=canvas,instantiateWasm,preRun,print,printErr,onAbort
  -sTEXTDECODER=2 -sDYNAMIC_EXECUTION=0 -sSUPPORT_LONGJMP=0 -sSUPPORT_ERRNO=0 -sUSE_SDL=0
  -sHTML5_SUPPORT_DEFERRING_USER_SENSITIVE_REQUESTS=0
  # GL glue: no extensions enabled behind the app's back (it asks for none), no GL error
  # tracking or temporary buffer pools in JS, WebGL's own version strings (0.8 KB gzip).
  -sGL_SUPPORT_AUTOMATIC_ENABLE_EXTENSIONS=0 -sGL_EXTENSIONS_IN_PREFIXED_FORMAT=0
  -sGL_EMULATE_GLES_VERSION_STRING_FORMAT=0 -sGL_TRACK_ERRORS=0 -sGL_POOL_TEMP_BUFFERS=0
  --js-library ${PROJECT_SOURCE_DIR}/client/platform/web_library.js)
target_link_options(polymark_app_web PRIVATE ${POLYMARK_WEB_LINK_FLAGS})
set_property(TARGET polymark_app_web APPEND PROPERTY LINK_DEPENDS ${PROJECT_SOURCE_DIR}/client/platform/web_library.js)
polymark_minify_glue(polymark_app_web)

# The page, the embedding API and the UI fonts go beside the module: a Latin font every task
# loads, and slices for other scripts that a task loads only when its labels need them.
set(POLYMARK_FONT_SOURCE /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf)
set(POLYMARK_CJK_FONT_SOURCE /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf)
add_custom_command(OUTPUT "${CMAKE_BINARY_DIR}/dist/fonts/ui-latin.ttf"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/dist/fonts"
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/subset_font.py" latin "${POLYMARK_FONT_SOURCE}" "${CMAKE_BINARY_DIR}/dist/fonts/ui-latin.ttf"
  DEPENDS "${PROJECT_SOURCE_DIR}/tools/subset_font.py"
  COMMENT "Subsetting the UI font to Latin")
add_custom_command(OUTPUT "${CMAKE_BINARY_DIR}/dist/fonts/manifest.json"
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/subset_font.py" slices "${CMAKE_BINARY_DIR}/dist/fonts" "${POLYMARK_FONT_SOURCE}" "${POLYMARK_CJK_FONT_SOURCE}"
  DEPENDS "${PROJECT_SOURCE_DIR}/tools/subset_font.py"
  COMMENT "Slicing the fonts for Cyrillic, Greek and CJK")
file(GLOB POLYMARK_SHELL_FILES LIST_DIRECTORIES false CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/shell/*")
# polymark.js is bundled from the ES modules in shell/src into one classic script (embedders load
# it with one <script>); esbuild comes from package-lock.json (tools/setup.sh). Minified, local
# names too (1.3 KB gzip less than keeping them); what reaches a host is PolymarkError's code and
# message, which minifying leaves alone.
file(GLOB POLYMARK_SHELL_MODULES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/shell/src/*.js" "${PROJECT_SOURCE_DIR}/shell/workers/*.js")
# The built-in backend profiles, fetched by name (mount option `profile`, docs/PROFILES.md).
file(GLOB POLYMARK_PROFILE_FILES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/profiles/*.json")
add_custom_target(polymark_shell ALL
  COMMAND ${CMAKE_COMMAND} -E copy ${POLYMARK_SHELL_FILES} "${CMAKE_BINARY_DIR}/dist/"
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/main.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/polymark.js"
  # The guidelines panel (shell/src/guidelines_panel.js): a classic script polymark.js loads only
  # when a task has guidelines (docs/API.md, "Guidelines"), so the first load carries none of it.
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/guidelines_panel.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/guidelines.js"
  # The manager view (shell/src/quality_panel.js), loaded on its first use (docs/API.md, "Quality").
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/quality_panel.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/quality.js"
  # Queue mode (shell/src/queue_panel.js), loaded only by a mount with `queue` (docs/API.md, "Work queue").
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/queue_panel.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/queue.js"
  # The tracking feed (shell/src/tracking_feed.js), loaded when tracking first starts.
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/tracking_feed.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/tracking.js"
  # The assisted tools' feed (shell/src/assist_feed.js), loaded on the first use of a tool.
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/src/assist_feed.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/assist.js"
  # Workers bundled the same way, each one classic script (loaded with importScripts).
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/workers/format_worker.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/format_worker.js"
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/workers/quality_worker.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/quality_worker.js"
  COMMAND "${POLYMARK_ESBUILD}" "${PROJECT_SOURCE_DIR}/shell/workers/assist_worker.js" --bundle --format=iife
    --target=es2020 --minify --log-level=warning "--outfile=${CMAKE_BINARY_DIR}/dist/assist_worker.js"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${CMAKE_BINARY_DIR}/dist/profiles"
  COMMAND ${CMAKE_COMMAND} -E copy ${POLYMARK_PROFILE_FILES} "${CMAKE_BINARY_DIR}/dist/profiles/"
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/stamp_bundle.py" "${CMAKE_BINARY_DIR}/dist"
  # Then a content-hashed copy of every file loaded after polymark.js (polymark_app.<16 hex>.wasm),
  # which servers and CDNs cache as immutable, and their map stamped into polymark.js.
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/stamp_names.py" "${CMAKE_BINARY_DIR}/dist"
  # Last: the service worker's list of the build's files (the hashed names) and their hashes (sw.js changes with any of them).
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/stamp_offline.py" "${CMAKE_BINARY_DIR}/dist"
  # Then a zopfli .gz and a brotli .br beside each file that changed, which serve.py sends in its place.
  COMMAND /usr/bin/python3 "${PROJECT_SOURCE_DIR}/tools/precompress.py" "${CMAKE_BINARY_DIR}/dist"
  DEPENDS ${POLYMARK_SHELL_FILES} ${POLYMARK_SHELL_MODULES} ${POLYMARK_PROFILE_FILES} "${CMAKE_BINARY_DIR}/dist/fonts/ui-latin.ttf" "${CMAKE_BINARY_DIR}/dist/fonts/manifest.json" polymark_app_web
  "${PROJECT_SOURCE_DIR}/tools/stamp_bundle.py" "${PROJECT_SOURCE_DIR}/tools/stamp_names.py" "${PROJECT_SOURCE_DIR}/tools/stamp_offline.py" "${PROJECT_SOURCE_DIR}/tools/precompress.py")

# The video indexing module: pm::VideoIndexer behind a few C exports, in a wasm of its own
# (polymark_video.js + polymark_video.wasm) that shell/video.js loads only when a task has video,
# so tasks of images never download it. polymark_core only: no SDL, ImGui or GL.
add_executable(polymark_video_web platform/video_module.cpp)
set_target_properties(polymark_video_web PROPERTIES OUTPUT_NAME polymark_video SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_video_web PRIVATE polymark_core)
target_compile_options(polymark_video_web PRIVATE -Oz)
target_link_options(polymark_video_web PRIVATE
  -Oz
  -sMODULARIZE=1                       # one factory; video.js makes one instance per page
  -sEXPORT_NAME=createPolymarkVideoModule
  -sENVIRONMENT=web,worker             # the page today, a decoding worker later
  -sALLOW_MEMORY_GROWTH=1              # a long video's index grows the heap on demand
  -sFILESYSTEM=0                       # bytes arrive through fetch, never through files
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_video_open,_pm_video_state,_pm_video_need,_pm_video_feed,_pm_video_info,_pm_video_frames,_pm_video_samples,_pm_video_error,_pm_video_close
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,HEAPU8,HEAPF64)
polymark_minify_glue(polymark_video_web)
add_dependencies(polymark_shell polymark_video_web)

# The backend profile module (polymark_profile.js + .wasm): ProfileSync and the profiles' mapping
# behind one C export, which polymark.js loads only for mounts with a `profile` (docs/PROFILES.md);
# the app talks to it through ProfileClient (profile_wire.hpp), so its first load has none of it.
add_executable(polymark_profile_web platform/profile_module.cpp)
set_target_properties(polymark_profile_web PROPERTIES OUTPUT_NAME polymark_profile SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_profile_web PRIVATE polymark_core)
target_compile_options(polymark_profile_web PRIVATE -Oz)
target_link_options(polymark_profile_web PRIVATE
  -Oz
  -sMODULARIZE=1
  -sEXPORT_NAME=createPolymarkProfileModule
  -sENVIRONMENT=web
  -sALLOW_MEMORY_GROWTH=1
  -sFILESYSTEM=0
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_profile_call
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8)
polymark_minify_glue(polymark_profile_web)
add_dependencies(polymark_shell polymark_profile_web)

# The quality module (polymark_quality.js + .wasm): golden, consensus, throughput and pre-label
# reports behind one C export (quality_wire.hpp), run in the manager view's Web Worker
# (shell/workers/quality_worker.js), loaded on the view's first use.
# The measures' own sources are compiled here again at -O2: the core's copies are built -Oz, whose
# size attributes stay with LTO bitcode and make them several times slower (bench/README.md, "Quality").
set(POLYMARK_QUALITY_SOURCES
  ${PROJECT_SOURCE_DIR}/shared/polymark/assignment.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/similarity.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/quality.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/throughput.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/prelabel.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/quality_wire.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/interpolate.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/geometry.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/document.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/json_reader.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/json_pointer.cpp)
add_executable(polymark_quality_web platform/quality_module.cpp ${POLYMARK_QUALITY_SOURCES})
set_target_properties(polymark_quality_web PROPERTIES OUTPUT_NAME polymark_quality SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_quality_web PRIVATE polymark_core)
target_compile_options(polymark_quality_web PRIVATE -O2)
target_link_options(polymark_quality_web PRIVATE
  -O2                                  # the measures are the hot path here, not its size
  -sMODULARIZE=1
  -sEXPORT_NAME=createPolymarkQualityModule
  -sENVIRONMENT=worker
  -sALLOW_MEMORY_GROWTH=1
  -sFILESYSTEM=0
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_quality_call
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8)
polymark_minify_glue(polymark_quality_web)
add_dependencies(polymark_shell polymark_quality_web)

# The tracking module (polymark_tracker.js + .wasm): shell/track_worker.js runs it in a Web Worker
# when the labeler tracks forward, so that tracking takes no time from the page's thread (or in
# the page, in slices, when the browser has no workers); the app has no tracker of its own. Speed
# over size here (-O3): it is fetched only when tracking starts.
# The tracker is compiled again for it, at -O3: the core's -Oz does not vectorise loops, and the
# tracker's are written to be. The archive's tracker.cpp.o is then never pulled in: this object
# defines all it does.
add_executable(polymark_tracker_web platform/tracker_module.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/tracker.cpp)
target_compile_options(polymark_tracker_web PRIVATE -O3 -msimd128 -fno-math-errno)
set_target_properties(polymark_tracker_web PROPERTIES OUTPUT_NAME polymark_tracker SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_tracker_web PRIVATE polymark_core)
target_link_options(polymark_tracker_web PRIVATE
  -O3
  -msimd128
  -sMODULARIZE=1
  -sEXPORT_NAME=createPolymarkTrackerModule
  -sENVIRONMENT=web,worker             # a Web Worker, or the page when the browser has none
  -sALLOW_MEMORY_GROWTH=1
  -sFILESYSTEM=0
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_tf_start,_pm_tf_next,_pm_tf_feed,_pm_tf_failed,_pm_tf_cancel,_pm_tf_status,_pm_tf_written
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8,HEAPU8)
polymark_minify_glue(polymark_tracker_web)
add_dependencies(polymark_shell polymark_tracker_web)

# The assisted polygon tools' module (polymark_assist.js + .wasm): intelligent scissors, magic
# wand, box to polygon and snap to edges, run by shell/workers/assist_worker.js in a Web Worker and
# fetched on a tool's first use, so not in the first load. Their sources are compiled again here at
# -O2 (the core's copies are -Oz LTO bitcode, several times slower on pixel loops; this object
# defines all they do, so the archive's are never pulled in).
set(POLYMARK_ASSIST_SOURCES
  ${PROJECT_SOURCE_DIR}/shared/polymark/live_wire.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/magic_wand.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/box_segment.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/max_flow.cpp
  ${PROJECT_SOURCE_DIR}/shared/polymark/mask_outline.cpp ${PROJECT_SOURCE_DIR}/shared/polymark/geometry.cpp)
add_executable(polymark_assist_web platform/assist_module.cpp ${POLYMARK_ASSIST_SOURCES})
set_target_properties(polymark_assist_web PROPERTIES OUTPUT_NAME polymark_assist SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_assist_web PRIVATE polymark_core)
target_compile_options(polymark_assist_web PRIVATE -O2 -fno-math-errno)
target_link_options(polymark_assist_web PRIVATE
  -O2
  -sMODULARIZE=1
  -sEXPORT_NAME=createPolymarkAssistModule
  -sENVIRONMENT=worker
  -sALLOW_MEMORY_GROWTH=1              # a 1080p image's edge costs take about 40 MB
  -sFILESYSTEM=0
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_assist_error_code,_pm_assist_error_message,_pm_assist_result,_pm_assist_result_size,_pm_assist_warm,_pm_assist_image,_pm_assist_anchor,_pm_assist_path,_pm_assist_expand,_pm_assist_snap,_pm_assist_wand,_pm_assist_box_start,_pm_assist_box_step,_pm_assist_box_total,_pm_assist_box_result,_pm_assist_box_cancel
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,HEAPU8,HEAPF64)
polymark_minify_glue(polymark_assist_web)
add_dependencies(polymark_shell polymark_assist_web)

# The formats module (polymark_formats.js + .wasm): imports and exports in other tools' formats,
# run by shell/workers/format_worker.js in a Web Worker (bundled with shell/src/zip.js into
# dist/format_worker.js), fetched only when the labeler imports or exports. Speed over size (-O2):
# a 100 MB COCO file is read here.
add_executable(polymark_formats_web platform/formats_module.cpp)
set_target_properties(polymark_formats_web PROPERTIES OUTPUT_NAME polymark_formats SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/dist")
target_link_libraries(polymark_formats_web PRIVATE polymark_formats)
target_compile_options(polymark_formats_web PRIVATE -O2)
target_link_options(polymark_formats_web PRIVATE
  -O2
  -sMODULARIZE=1
  -sEXPORT_NAME=createPolymarkFormatsModule
  -sENVIRONMENT=worker
  -sALLOW_MEMORY_GROWTH=1
                  # a big import holds its file and its document at once
  -sFILESYSTEM=0
  -sEXPORTED_FUNCTIONS=_malloc,_free,_pm_fmt_clear,_pm_fmt_new_file,_pm_fmt_import,_pm_fmt_plan,_pm_fmt_plan_part,_pm_fmt_export,_pm_fmt_file_data,_pm_fmt_file_size
  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8,HEAPU8)
polymark_minify_glue(polymark_formats_web)
add_dependencies(polymark_shell polymark_formats_web)

# The quality bench in wasm (bench/README.md, "Quality"): the native bench's source, linked as the
# quality module is, run by Node. Built on demand only:
#   cmake --build build-web --target polymark_quality_bench_web && node build-web/bench/polymark_quality_bench.js --no-peers
add_executable(polymark_quality_bench_web EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/bench/quality_bench.cpp ${POLYMARK_QUALITY_SOURCES})
set_target_properties(polymark_quality_bench_web PROPERTIES OUTPUT_NAME polymark_quality_bench SUFFIX ".js"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bench")
target_link_libraries(polymark_quality_bench_web PRIVATE polymark_core)
target_compile_definitions(polymark_quality_bench_web PRIVATE POLYMARK_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_compile_options(polymark_quality_bench_web PRIVATE -O2)
# Synchronous instantiation: this emscripten's Node glue would fetch() a file path on Node 18+.
target_link_options(polymark_quality_bench_web PRIVATE -O2 -sENVIRONMENT=node -sALLOW_MEMORY_GROWTH=1 -sEXIT_RUNTIME=1
  -sWASM_ASYNC_COMPILATION=0)
# The repository's package.json makes .js files ES modules; emscripten's Node glue is CommonJS.
file(WRITE "${CMAKE_BINARY_DIR}/bench/package.json" "{\"type\": \"commonjs\"}\n")
