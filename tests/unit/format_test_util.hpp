// Helpers of the format tests: fixtures, documents compared as JSON, XML compared in its own terms.
#pragma once
#include "polymark/document.hpp"
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/formats.hpp"
#include "polymark/formats/xml.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace format_test {

inline std::string fixture(const std::string& relative) {
    std::ifstream in(std::string(POLYMARK_SOURCE_DIR) + "/tests/data/formats/" + relative, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Every file under tests/data/formats/`relative`, by path relative to it, in path order.
inline pm::FileSet fixture_dir(const std::string& relative) {
    namespace fs = std::filesystem;
    pm::FileSet files;
    fs::path root = fs::path(POLYMARK_SOURCE_DIR) / "tests/data/formats" / relative;
    std::vector<fs::path> found;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file()) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    for (const auto& p : found) files.push_back({fs::relative(p, root).generic_string(), fixture(relative + "/" + fs::relative(p, root).generic_string())});
    return files;
}

inline pm::FileSet one_file(const std::string& name, std::string bytes) { return {{name, std::move(bytes)}}; }

// Documents are equal when their canonical JSON is.
inline std::string canonical(const pm::Document& d) { return pm::document_to_json(d).dump(); }

// Whether two JSON values are equal but for numbers within `eps` of each other.
inline bool json_close(const pm::Json& a, const pm::Json& b, double eps) {
    if (a.is_number() && b.is_number()) return std::abs(a.get<double>() - b.get<double>()) <= eps;
    if (a.type() != b.type() || a.size() != b.size()) return false;
    if (a.is_array()) {
        for (size_t i = 0; i < a.size(); ++i)
            if (!json_close(a[i], b[i], eps)) return false;
        return true;
    }
    if (a.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it)
            if (!b.contains(it.key()) || !json_close(it.value(), b[it.key()], eps)) return false;
        return true;
    }
    return a == b;
}

// An XML file as sorted lines "element path | attributes sorted, numbers canonical | text", the
// elements under `skip` left out: what two files must share to say the same thing.
inline std::vector<std::string> xml_lines(const std::string& text, const std::vector<std::string>& skip = {"meta"}) {
    pm::formats::XmlReader r(text, "x.xml");
    std::vector<std::string> lines;
    std::vector<size_t> open;
    while (true) {
        auto e = r.next();
        if (e == pm::formats::XmlReader::Event::End || e == pm::formats::XmlReader::Event::Failed) break;
        if (e == pm::formats::XmlReader::Event::StartElement) {
            if (std::find(skip.begin(), skip.end(), std::string(r.name())) != skip.end()) { r.skip_element(); continue; }
            std::vector<std::string> attrs;
            for (size_t i = 0; i < r.attribute_count(); ++i) {
                std::string v(r.attribute_value(i));
                if (auto d = pm::formats::parse_double(v)) v = pm::formats::number_text(*d);
                if (r.attribute_name(i) == "rotation" && v == "0") continue;
                attrs.push_back(std::string(r.attribute_name(i)) + "=" + v);
            }
            std::sort(attrs.begin(), attrs.end());
            std::string line = r.element_path() + " |";
            for (auto& a : attrs) line += " " + a;
            open.push_back(lines.size());
            lines.push_back(line);
        } else if (e == pm::formats::XmlReader::Event::Text) {
            if (!open.empty()) lines[open.back()] += " | " + r.text();
        } else if (e == pm::formats::XmlReader::Event::EndElement) {
            if (!open.empty()) open.pop_back();
        }
    }
    return lines;
}

}  // namespace format_test
