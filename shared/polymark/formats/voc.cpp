// Pascal VOC XML (docs/FORMATS.md, "Pascal VOC"): one <annotation> per image, boxes only, in
// 1-based inclusive pixel indices: xmin = x1 + 1, xmax = x2 (a box over pixels 1..10 is [0, 10]).
// `difficult`, `truncated`, `occluded` are boolean attributes, `pose` a text one.
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/formats/xml.hpp"

#include <algorithm>
#include <cmath>

namespace pm::formats {

namespace {

class VocReader : ImportState {
public:
    explicit VocReader(const ImportOptions& options) : ImportState(options) {}

    Expected<Conversion> read(const FileSet& files) {
        const std::vector<const FileEntry*> xmls = files_ending_with(files, ".xml");
        for (size_t i = 0; i < xmls.size(); ++i) {
            if (options_.progress && !options_.progress(double(i) / double(xmls.size()))) return cancelled_error();
            if (!read_file(*xmls[i])) return error_;
        }
        return finish("voc");
    }

private:
    struct ObjectRead {
        std::string name, pose;
        std::vector<std::pair<std::string, std::string>> flags;  // difficult, truncated, occluded
        std::optional<double> box[4];
        std::optional<Error> bad;
    };

    bool fail_at(XmlReader& r, const std::string& code, const std::string& message) {
        error_ = r.error_here(code, message);
        return false;
    }

    bool read_file(const FileEntry& f) {
        XmlReader r(f.bytes, f.path);
        auto e = r.next();
        if (e == XmlReader::Event::Failed) { error_ = r.error(); return false; }
        if (e != XmlReader::Event::StartElement || r.name() != "annotation") return fail_at(r, "bad_voc", "expected the root element <annotation>");
        std::string filename = std::string(stem(f.path)) + ".jpg";
        long long width = 0, height = 0;
        std::vector<ObjectRead> objects;
        while (true) {
            e = r.next();
            if (e == XmlReader::Event::Failed) { error_ = r.error(); return false; }
            if (e == XmlReader::Event::EndElement) break;
            if (e == XmlReader::Event::Text) return fail_at(r, "bad_voc", "unexpected text inside <annotation>");
            if (e != XmlReader::Event::StartElement) return fail_at(r, "bad_voc", "unexpected end of file");
            std::string_view name = r.name();
            std::string text;
            if (name == "filename") {
                if (!r.read_text_content(filename)) { error_ = r.error(); return false; }
            } else if (name == "size") {
                size_t depth = r.depth();
                while (true) {
                    auto se = r.next();
                    if (se == XmlReader::Event::Failed || se == XmlReader::Event::End) { error_ = r.error(); return false; }
                    if (se == XmlReader::Event::EndElement && r.depth() < depth) break;
                    if (se != XmlReader::Event::StartElement) continue;
                    std::string key(r.name());
                    if (!r.read_text_content(text)) { error_ = r.error(); return false; }
                    if (key != "width" && key != "height") continue;
                    auto v = parse_integer(text);
                    if (!v || *v < 0 || *v > 1000000) return fail_at(r, "bad_voc", "expected an image " + key + " of 0 to 1000000, found \"" + text.substr(0, 20) + "\"");
                    (key == "width" ? width : height) = *v;
                }
            } else if (name == "object") {
                if (!read_object(r, objects.emplace_back())) return false;
            } else if (!r.skip_element()) {
                error_ = r.error();
                return false;
            }
        }
        auto frame = images_.frame_of(filename, (int)width, (int)height);
        if (!frame) {
            error_ = Error{"unknown_image", f.path, f.path + ": image \"" + filename + "\" is not in the task"};
            return false;
        }
        for (size_t i = 0; i < objects.size(); ++i) {
            ObjectRead& o = objects[i];
            auto label = labels_.resolve(o.name);
            if (!label) {
                error_ = Error{"unknown_label", f.path, f.path + ": object " + std::to_string(i + 1) + ": label \"" + o.name + "\" is not a label of the task"};
                return false;
            }
            Object obj;
            obj.id = ids_.make(std::string(stem(f.path)) + ":" + std::to_string(i + 1));
            obj.frame = *frame;
            obj.label = *label;
            obj.source = Source::Imported;
            obj.points = {*o.box[0] - 1, *o.box[1] - 1, *o.box[2], *o.box[3]};
            for (const auto& [key, value] : o.flags) {
                Json v = value == "1" || lower(value) == "true";
                obj.attributes.push_back({labels_.attribute_id(*label, key, v), v});
            }
            if (!o.pose.empty()) obj.attributes.push_back({labels_.attribute_id(*label, "pose", o.pose), o.pose});
            doc_.objects.push_back(std::move(obj));
        }
        return true;
    }

    bool read_object(XmlReader& r, ObjectRead& o) {
        size_t depth = r.depth();
        bool has_box = false;
        std::string text;
        while (true) {
            auto e = r.next();
            if (e == XmlReader::Event::Failed || e == XmlReader::Event::End) { error_ = r.error(); return false; }
            if (e == XmlReader::Event::EndElement && r.depth() < depth) break;
            if (e == XmlReader::Event::Text) return fail_at(r, "bad_voc", "unexpected text inside <object>");
            if (e != XmlReader::Event::StartElement) continue;
            std::string key(r.name());
            if (key == "bndbox") {
                has_box = true;
                size_t bdepth = r.depth();
                while (true) {
                    auto be = r.next();
                    if (be == XmlReader::Event::Failed || be == XmlReader::Event::End) { error_ = r.error(); return false; }
                    if (be == XmlReader::Event::EndElement && r.depth() < bdepth) break;
                    if (be != XmlReader::Event::StartElement) continue;
                    std::string corner(r.name());
                    if (!r.read_text_content(text)) { error_ = r.error(); return false; }
                    int k = corner == "xmin" ? 0 : corner == "ymin" ? 1 : corner == "xmax" ? 2 : corner == "ymax" ? 3 : -1;
                    if (k < 0) continue;
                    auto v = parse_double(std::string(text.find_first_not_of(" \t\r\n") == std::string::npos ? "" : text.substr(text.find_first_not_of(" \t\r\n"), text.find_last_not_of(" \t\r\n") - text.find_first_not_of(" \t\r\n") + 1)));
                    if (!v) return fail_at(r, "bad_voc", "expected a number in <" + corner + ">, found \"" + text.substr(0, 20) + "\"");
                    o.box[k] = v;
                }
                if (!o.box[0] || !o.box[1] || !o.box[2] || !o.box[3]) return fail_at(r, "bad_voc", "a <bndbox> needs xmin, ymin, xmax and ymax");
                if (*o.box[0] - 1 > *o.box[2] || *o.box[1] - 1 > *o.box[3]) return fail_at(r, "bad_box", "a box with xmin > xmax + 1 or ymin > ymax + 1");
            } else if (key == "name" || key == "pose" || key == "difficult" || key == "truncated" || key == "occluded") {
                if (!r.read_text_content(text)) { error_ = r.error(); return false; }
                if (key == "name") o.name = text;
                else if (key == "pose") o.pose = text;
                else {
                    if (text != "0" && text != "1" && lower(text) != "true" && lower(text) != "false") return fail_at(r, "bad_voc", "expected 0 or 1 in <" + key + ">");
                    o.flags.emplace_back(key, text);
                }
            } else {
                if (key == "part") notes_.add("VOC object parts left out");
                if (!r.skip_element()) { error_ = r.error(); return false; }
            }
        }
        if (o.name.empty()) return fail_at(r, "bad_voc", "an <object> needs a <name>");
        if (!has_box) return fail_at(r, "bad_voc", "an <object> needs a <bndbox>");
        return true;
    }

    Error error_;
};

}  // namespace

Expected<Conversion> import_voc(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no Pascal VOC file given"};
    return VocReader(options).read(files);
}

Expected<Exported> export_voc(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past = 0;
    FrameShapes frames = shapes_per_frame(doc, task, (long long)images.size(), past);
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    FileSet files;
    for (size_t f = 0; f < images.size(); ++f) {
        if (options.progress && (f & 255) == 0 && !options.progress(double(f) / double(images.size()))) return cancelled_error();
        const FrameImage& im = images[f];
        std::string x = "<annotation>\n  <filename>";
        append_xml_escaped(x, im.name);
        x += "</filename>\n  <size>\n    <width>" + std::to_string(im.width) + "</width>\n    <height>" + std::to_string(im.height) +
             "</height>\n    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n";
        for (const Object& o : frames[f]) {
            if (o.type == ShapeType::Tag) { notes.add("tags left out (VOC has none)"); continue; }
            std::vector<double> pts = o.type == ShapeType::Rectangle && o.rotation != 0 ? rectangle_corners(o.points, o.rotation) : o.points;
            if (o.type != ShapeType::Rectangle || o.rotation != 0) notes.add("shapes other than upright rectangles written as their bounding boxes");
            double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
            for (size_t k = 0; k + 1 < pts.size(); k += 2) { x0 = std::min(x0, pts[k]); x1 = std::max(x1, pts[k]); y0 = std::min(y0, pts[k + 1]); y1 = std::max(y1, pts[k + 1]); }
            std::string pose = "Unspecified";
            bool flag[3] = {false, false, o.occluded};
            const char* flag_names[3] = {"truncated", "difficult", "occluded"};
            for (const Attribute& a : o.attributes) {
                std::string name = attribute_name(task, o.label, a.id);
                bool used = false;
                for (int k = 0; k < 3; ++k)
                    if (name == flag_names[k] && a.value.is_boolean()) { flag[k] = flag[k] || a.value.get<bool>(); used = true; }
                if (name == "pose" && a.value.is_string()) { pose = a.value.get<std::string>(); used = true; }
                if (!used) notes.add("attributes other than difficult, truncated, occluded and pose left out");
            }
            x += "  <object>\n    <name>";
            append_xml_escaped(x, label_name(task, o.label));
            x += "</name>\n    <pose>";
            append_xml_escaped(x, pose);
            x += "</pose>\n";
            for (int k = 0; k < 3; ++k) x += std::string("    <") + flag_names[k] + ">" + (flag[k] ? "1" : "0") + "</" + flag_names[k] + ">\n";
            x += "    <bndbox>\n      <xmin>" + number_text(x0 + 1) + "</xmin>\n      <ymin>" + number_text(y0 + 1) + "</ymin>\n      <xmax>" +
                 number_text(x1) + "</xmax>\n      <ymax>" + number_text(y1) + "</ymax>\n    </bndbox>\n  </object>\n";
        }
        x += "</annotation>\n";
        std::string stem_name(stem(im.name));
        if (task.media[im.media_index].type == MediaType::Video) stem_name = std::string(stem(media_file_name(task.media[im.media_index]))) + "_" + std::to_string(im.local_frame);
        files.push_back({"Annotations/" + stem_name + ".xml", std::move(x)});
    }
    if (!doc.tracks.empty()) notes.add("tracks written frame by frame (VOC has no tracks)", doc.tracks.size());
    Exported e;
    e.files = std::move(files);
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
