// Every layer's includes, checked so that a slip fails the tests (the build already fails for most:
// a layer's CMake target does not link the layers above it). Dependencies point down only:
//   shared/ (core) <- client/app <- client/render <- client/ui <- client/platform <- client/main.cpp
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Rule {
    const char* layer;        // a folder under the source root
    const char* forbidden;    // what an #include line there must not name
};

const Rule kRules[] = {
    {"shared", R"(#\s*include\s*[<"](imgui|SDL|emscripten|GL/|GLES|EGL|curl/|fstream|cstdio|stdio\.h|filesystem|app/|render/|ui/|platform/))"},
    {"client/app", R"(#\s*include\s*[<"](imgui|SDL|emscripten|GL/|GLES|EGL|curl/|render/|ui/|platform/))"},
    {"client/render", R"(#\s*include\s*[<"](imgui|SDL|emscripten|curl/|ui/|platform/|app/app\.hpp))"},
    {"client/ui", R"(#\s*include\s*[<"](SDL|emscripten|GL/|GLES|EGL|curl/|render/gl\.hpp|render/gl_program\.hpp|platform/))"},
    // The platform is the top: emscripten only in the web files, curl only in the native one.
    {"client/platform", R"(#\s*include\s*[<"](ui/panels|ui/shape_layer|ui/timeline|ui/image_layer))"},
};

// "file:line: text" for every line of the layer's C++ files that includes something forbidden.
std::vector<std::string> violations(const fs::path& root, const Rule& rule, int& files) {
    const std::regex forbidden(rule.forbidden);
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(root / rule.layer)) {
        if (!e.is_regular_file()) continue;
        auto ext = e.path().extension();
        if (ext != ".cpp" && ext != ".hpp") continue;
        ++files;
        std::ifstream in(e.path());
        std::string line;
        for (int n = 1; std::getline(in, line); ++n)
            if (std::regex_search(line, forbidden)) found.push_back(e.path().string() + ":" + std::to_string(n) + ": " + line);
    }
    return found;
}

bool forbidden_in(const char* layer, const std::string& line) {
    for (const Rule& r : kRules)
        if (std::string(r.layer) == layer) return std::regex_search(line, std::regex(r.forbidden));
    FAIL("no rule for " << layer);
    return false;
}

}  // namespace

TEST_CASE("no layer includes a header of a layer above it or of a library it must not know") {
    for (const Rule& rule : kRules) {
        int files = 0;
        std::vector<std::string> found = violations(POLYMARK_SOURCE_DIR, rule, files);
        INFO(rule.layer);
        CHECK(files >= 3);
        for (const std::string& v : found) FAIL_CHECK(v);
    }
}

TEST_CASE("the layering rules catch the includes they are meant to") {
    CHECK(forbidden_in("shared", "#include <imgui.h>"));
    CHECK(forbidden_in("shared", "#include \"app/app.hpp\""));
    CHECK(forbidden_in("shared", "#include <fstream>"));
    CHECK(forbidden_in("client/app", "#include <imgui.h>"));
    CHECK(forbidden_in("client/app", "#  include <GLES3/gl3.h>"));
    CHECK(forbidden_in("client/app", "#include \"render/image_textures.hpp\""));
    CHECK(forbidden_in("client/render", "#include <imgui.h>"));
    CHECK(forbidden_in("client/render", "#include \"ui/workspace.hpp\""));
    CHECK(forbidden_in("client/ui", "#include <SDL.h>"));
    CHECK(forbidden_in("client/ui", "#include \"render/gl.hpp\""));
    CHECK(forbidden_in("client/ui", "#include <emscripten.h>"));
    CHECK(forbidden_in("client/platform", "#include \"ui/panels.hpp\""));
    CHECK_FALSE(forbidden_in("client/app", "#include \"polymark/document.hpp\""));
    CHECK_FALSE(forbidden_in("client/render", "#include \"app/frame_image.hpp\""));
    CHECK_FALSE(forbidden_in("client/ui", "#include <imgui.h>"));
}

TEST_CASE("emscripten is included only by the web platform's files (web.cpp and the *_module.cpp wasm modules), curl only by the native one") {
    const std::regex emscripten(R"(#\s*include\s*[<"]emscripten)"), curl(R"(#\s*include\s*[<"]curl/)");
    for (const auto& e : fs::recursive_directory_iterator(fs::path(POLYMARK_SOURCE_DIR) / "client")) {
        if (!e.is_regular_file()) continue;
        const std::string name = e.path().filename().string();
        std::ifstream in(e.path());
        std::string line;
        for (int n = 1; std::getline(in, line); ++n) {
            INFO(e.path().string() << ":" << n << ": " << line);
            const bool web_module = name == "web.cpp" || (e.path().parent_path().filename() == "platform" && name.size() > 11 &&
                                                          name.compare(name.size() - 11, 11, "_module.cpp") == 0);
            if (std::regex_search(line, emscripten)) CHECK(web_module);
            if (std::regex_search(line, curl)) CHECK(name == "native.cpp");
        }
    }
}
