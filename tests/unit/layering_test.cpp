// The core library knows no UI, platform, GL or files: checked here so a slip fails the build's tests.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace fs = std::filesystem;

TEST_CASE("shared/ includes no ui, platform, gl or file-io headers") {
    const std::regex forbidden(R"(#\s*include\s*[<"](imgui|SDL|emscripten|GL/|GLES|EGL|fstream|cstdio|stdio\.h|filesystem))");
    int files = 0;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(POLYMARK_SOURCE_DIR) / "shared")) {
        if (!e.is_regular_file()) continue;
        auto ext = e.path().extension();
        if (ext != ".cpp" && ext != ".hpp") continue;
        ++files;
        std::ifstream in(e.path());
        std::string line;
        int n = 0;
        while (std::getline(in, line)) {
            ++n;
            INFO(e.path().string() << ":" << n << ": " << line);
            CHECK_FALSE(std::regex_search(line, forbidden));
        }
    }
    CHECK(files >= 10);
}
