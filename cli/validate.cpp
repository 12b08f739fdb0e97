// polymark_validate: checks annotation documents with the core's reader, as the app does, and
// prints one JSON line per file: {"file","ok","code","path","message"} with the first error, or
// with --lenient the objects and tracks the app would leave out when opening it ({"file","ok",
// "skipped":[{"kind","id","code","path"}]}). Files are named as arguments, or one a line on stdin
// when there are none. Exit status: 0 every file checked (valid or not), 2 usage or I/O error.
//
//   polymark_validate [--lenient] [FILE...]
#include "polymark/document.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

pm::Json strict_report(const std::string& text) {
    auto doc = pm::parse_document(text);
    if (doc) return pm::Json{{"ok", true}};
    const pm::Error& e = doc.first_error();
    return pm::Json{{"ok", false}, {"code", e.code}, {"path", e.path}, {"message", e.message}};
}

pm::Json lenient_report(const std::string& text) {
    auto json = pm::parse_json_text_tolerant(text, "the annotation document");
    if (!json) return pm::Json{{"ok", false}, {"code", json.first_error().code}, {"path", json.first_error().path}};
    auto doc = pm::document_from_json_skipping_invalid(json->value, json->problems);
    if (!doc) return pm::Json{{"ok", false}, {"code", doc.first_error().code}, {"path", doc.first_error().path}};
    pm::Json skipped = pm::Json::array();
    for (const pm::SkippedItem& s : doc->skipped)
        skipped.push_back({{"kind", s.kind}, {"id", s.id}, {"code", s.error.code}, {"path", s.error.path}});
    return pm::Json{{"ok", true}, {"objects", doc->document.objects.size()}, {"tracks", doc->document.tracks.size()}, {"skipped", skipped}};
}

}  // namespace

int main(int argc, char** argv) {
    bool lenient = false;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--lenient") == 0) lenient = true;
        else if (argv[i][0] == '-' && argv[i][1]) { std::fprintf(stderr, "usage: polymark_validate [--lenient] [FILE...]\n"); return 2; }
        else files.push_back(argv[i]);
    }
    if (files.empty())
        for (std::string line; std::getline(std::cin, line);)
            if (!line.empty()) files.push_back(line);
    for (const std::string& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) { std::fprintf(stderr, "polymark_validate: cannot read %s\n", file.c_str()); return 2; }
        std::stringstream buffer;
        buffer << in.rdbuf();
        pm::Json line = lenient ? lenient_report(buffer.str()) : strict_report(buffer.str());
        line["file"] = file;
        std::string out = line.dump(-1, ' ', false, pm::Json::error_handler_t::replace);
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fputc('\n', stdout);
    }
    return 0;
}
