# Where the fetched dependencies live. tools/setup.sh puts them in the cache; nothing here
# downloads. Header-only libraries are staged into a build-local folder for the web build,
# because adding /usr/include to an emscripten build mixes glibc headers into its libc.
if(DEFINED ENV{POLYMARK_CACHE})
  set(POLYMARK_CACHE_DEFAULT "$ENV{POLYMARK_CACHE}")
else()
  set(POLYMARK_CACHE_DEFAULT "$ENV{HOME}/.cache/polymark")
endif()
set(POLYMARK_CACHE "${POLYMARK_CACHE_DEFAULT}" CACHE PATH "Folder tools/setup.sh filled")

# The core's two header-only libraries (Debian: nlohmann-json3-dev, libstb-dev).
set(POLYMARK_THIRD_PARTY_INCLUDE "${CMAKE_BINARY_DIR}/third_party_include")
file(MAKE_DIRECTORY "${POLYMARK_THIRD_PARTY_INCLUDE}/stb")
file(COPY /usr/include/nlohmann DESTINATION "${POLYMARK_THIRD_PARTY_INCLUDE}")
file(COPY /usr/include/stb/stb_image.h DESTINATION "${POLYMARK_THIRD_PARTY_INCLUDE}/stb")

# Everything below is the client's and the tests': a core-only build never looks for it.
if(POLYMARK_CORE_ONLY)
  return()
endif()

set(IMGUI_DIR "${POLYMARK_CACHE}/src/imgui-1.90.1" CACHE PATH "Dear ImGui 1.90.1 sources")
if(NOT EXISTS "${IMGUI_DIR}/imgui.cpp")
  message(FATAL_ERROR "Dear ImGui sources not found in ${IMGUI_DIR}: run tools/setup.sh first")
endif()

if(EMSCRIPTEN)
  # SDL2 2.26.5 built for the web with the options in cmake/sdl2_web_options.txt, in a cache
  # folder named after that file's hash (tools/setup.sh builds it there).
  set(SDL2_WEB_OPTIONS_FILE "${PROJECT_SOURCE_DIR}/cmake/sdl2_web_options.txt")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${SDL2_WEB_OPTIONS_FILE}")
  file(SHA256 "${SDL2_WEB_OPTIONS_FILE}" sdl2_web_hash)
  string(SUBSTRING "${sdl2_web_hash}" 0 12 sdl2_web_key)
  set(SDL2_WEB_PREFIX "${POLYMARK_CACHE}/sdl2-web-${sdl2_web_key}")
  if(NOT EXISTS "${SDL2_WEB_PREFIX}/lib/libSDL2.a")
    message(FATAL_ERROR "SDL2 for the web not found in ${SDL2_WEB_PREFIX}: run tools/setup.sh first")
  endif()
  add_library(sdl2_web STATIC IMPORTED)
  set_target_properties(sdl2_web PROPERTIES
    IMPORTED_LOCATION "${SDL2_WEB_PREFIX}/lib/libSDL2.a"
    INTERFACE_INCLUDE_DIRECTORIES "${SDL2_WEB_PREFIX}/include/SDL2")
else()
  find_package(SDL2 REQUIRED)
  find_package(OpenGL REQUIRED)
  find_package(CURL REQUIRED)
  find_package(Catch2 2 REQUIRED)
  find_package(Threads REQUIRED)
endif()
