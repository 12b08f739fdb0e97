// LabelMe JSON (docs/FORMATS.md, "LabelMe"): one file per image; shapes of type polygon,
// rectangle (2 corners), circle (centre and a point on the rim), line, linestrip, point, points;
// `group_id`; shape flags and image flags. `imageData` is never read and never written.
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace pm::formats {

namespace {

class LabelMeReader : JsonFilesImport {
public:
    explicit LabelMeReader(const ImportOptions& options) : JsonFilesImport(options, "bad_labelme") {}

    Expected<Conversion> read(const FileSet& files) {
        if (auto error = read_json_files(files)) return *error;
        return finish("labelme");
    }

private:
    bool read_json(const Json& root, const FileEntry& f) override {
        if (!root.is_object()) return bad("", "a LabelMe object with \"shapes\"");
        auto it = root.find("shapes");
        if (it == root.end() || !it->is_array()) return bad("/shapes", "an array of shapes");
        const Json& shapes = *it;
        std::string image = std::string(stem(f.path)) + ".jpg";
        if (auto p = root.find("imagePath"); p != root.end()) {
            if (!p->is_string()) return bad("/imagePath", "a string");
            image = p->get<std::string>();
        }
        int size[2] = {0, 0};
        const char* keys[2] = {"imageWidth", "imageHeight"};
        for (int k = 0; k < 2; ++k)
            if (auto v = root.find(keys[k]); v != root.end() && !v->is_null()) {
                if (!v->is_number_integer() || v->get<long long>() < 0 || v->get<long long>() > 1000000) return bad(std::string("/") + keys[k], "an integer 0 to 1000000");
                size[k] = (int)v->get<long long>();
            }
        auto frame = images_.frame_of(image, size[0], size[1]);
        if (!frame) return fail("unknown_image", "/imagePath", "image \"" + image + "\" is not in the task");
        if (auto flags = root.find("flags"); flags != root.end() && !flags->is_null()) {
            if (!flags->is_object()) return bad("/flags", "an object of flags");
            for (auto fl = flags->begin(); fl != flags->end(); ++fl) {
                if (!fl.value().is_boolean()) return bad("/flags/" + json_pointer_escape(fl.key()), "true or false");
                if (!fl.value().get<bool>()) continue;
                auto label = labels_.resolve(fl.key());
                if (!label) return fail("unknown_label", "/flags/" + json_pointer_escape(fl.key()), "flag \"" + fl.key() + "\" is not a label of the task");
                Object tag;
                tag.id = ids_.make(std::string(stem(f.path)) + ":flag");
                tag.type = ShapeType::Tag;
                tag.frame = *frame;
                tag.label = *label;
                tag.source = Source::Imported;
                doc_.objects.push_back(std::move(tag));
            }
        }
        for (size_t i = 0; i < shapes.size(); ++i)
            if (!read_shape(shapes[i], "/shapes/" + std::to_string(i), *frame, std::string(stem(f.path)) + ":" + std::to_string(i))) return false;
        return true;
    }

    bool read_shape(const Json& s, const std::string& p, long long frame, const std::string& id_hint) {
        if (!s.is_object()) return bad(p, "a shape object");
        auto label_it = s.find("label");
        if (label_it == s.end() || !label_it->is_string()) return bad(p + "/label", "a string label");
        std::string type = "polygon";
        if (auto t = s.find("shape_type"); t != s.end() && !t->is_null()) {
            if (!t->is_string()) return bad(p + "/shape_type", "a string");
            type = t->get<std::string>();
        }
        if (type == "mask" || type == "cuboid") {
            notes_.add("LabelMe " + type + " shapes left out");
            return true;
        }
        auto pts_it = s.find("points");
        if (pts_it == s.end() || !pts_it->is_array()) return bad(p + "/points", "an array of [x, y] points");
        std::vector<double> pts;
        for (size_t k = 0; k < pts_it->size(); ++k) {
            const Json& pt = (*pts_it)[k];
            if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number()) return bad(p + "/points/" + std::to_string(k), "[x, y]");
            pts.push_back(pt[0].get<double>());
            pts.push_back(pt[1].get<double>());
        }
        size_t n = pts.size() / 2;
        auto label = labels_.resolve(label_it->get<std::string>());
        if (!label) return fail("unknown_label", p + "/label", "label \"" + label_it->get<std::string>() + "\" is not a label of the task");
        Object o;
        o.frame = frame;
        o.label = *label;
        o.source = Source::Imported;
        auto need = [&](size_t least, size_t most) {
            if (n >= least && n <= most) return true;
            return fail("bad_points", p + "/points", "a " + type + " needs " + (least == most ? std::to_string(least) : std::to_string(least) + " or more") + " points, not " + std::to_string(n));
        };
        if (type == "polygon") {
            if (!need(3, SIZE_MAX)) return false;
            o.type = ShapeType::Polygon;
            o.points = pts;
        } else if (type == "rectangle") {
            if (!need(2, 2)) return false;
            o.type = ShapeType::Rectangle;
            o.points = {std::min(pts[0], pts[2]), std::min(pts[1], pts[3]), std::max(pts[0], pts[2]), std::max(pts[1], pts[3])};
        } else if (type == "circle") {
            if (!need(2, 2)) return false;
            double r = std::hypot(pts[2] - pts[0], pts[3] - pts[1]);
            o.type = ShapeType::Ellipse;
            o.points = {pts[0] - r, pts[1] - r, pts[0] + r, pts[1] + r};
        } else if (type == "line") {
            if (!need(2, 2)) return false;
            o.type = ShapeType::Polyline;
            o.points = pts;
        } else if (type == "linestrip") {
            if (!need(2, SIZE_MAX)) return false;
            o.type = ShapeType::Polyline;
            o.points = pts;
        } else if (type == "point" || type == "points") {
            if (!need(1, type == "point" ? 1 : SIZE_MAX)) return false;
            o.type = ShapeType::Points;
            o.points = pts;
        } else {
            return bad(p + "/shape_type", "polygon, rectangle, circle, line, linestrip, point or points");
        }
        if (auto g = s.find("group_id"); g != s.end() && !g->is_null()) {
            if (!g->is_number_integer()) return bad(p + "/group_id", "an integer or null");
            o.group = "g" + std::to_string(g->get<long long>());
        }
        if (auto fl = s.find("flags"); fl != s.end() && !fl->is_null()) {
            if (!fl->is_object()) return bad(p + "/flags", "an object of flags");
            for (auto it = fl->begin(); it != fl->end(); ++it) {
                if (!it.value().is_boolean()) return bad(p + "/flags/" + json_pointer_escape(it.key()), "true or false");
                o.attributes.push_back({labels_.attribute_id(o.label, it.key(), it.value()), it.value()});
            }
        }
        if (auto d = s.find("description"); d != s.end() && d->is_string() && !d->get<std::string>().empty())
            o.attributes.push_back({labels_.attribute_id(o.label, "description", *d), *d});
        if (auto score = s.find("score"); score != s.end() && score->is_number()) set_prediction_score(o, score->get<double>(), notes_);
        o.id = ids_.make(id_hint);
        doc_.objects.push_back(std::move(o));
        return true;
    }

};

Json point_list(const std::vector<double>& pts) {
    Json out = Json::array();
    for (size_t i = 0; i + 1 < pts.size(); i += 2) out.push_back(Json::array({pts[i], pts[i + 1]}));
    return out;
}

}  // namespace

Expected<Conversion> import_labelme(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no LabelMe file given"};
    return LabelMeReader(options).read(files);
}

Expected<Exported> export_labelme(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past = 0;
    FrameShapes frames = shapes_per_frame(doc, task, (long long)images.size(), past);
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    std::map<std::string, long long> groups;
    long long next_group = 1;
    for (const Object& o : doc.objects)
        if (o.group.size() > 1 && o.group[0] == 'g')
            if (auto n = parse_integer(std::string_view(o.group).substr(1))) next_group = std::max(next_group, *n + 1);
    auto group_number = [&](const std::string& g) -> Json {
        if (g.empty()) return nullptr;
        if (auto it = groups.find(g); it != groups.end()) return it->second;
        long long n = 0;
        if (g.size() > 1 && g[0] == 'g')
            if (auto v = parse_integer(std::string_view(g).substr(1))) n = *v;
        if (!n) n = next_group++;
        groups[g] = n;
        return n;
    };
    FileSet files;
    for (size_t f = 0; f < images.size(); ++f) {
        if (options.progress && (f & 255) == 0 && !options.progress(double(f) / double(images.size()))) return cancelled_error();
        const FrameImage& im = images[f];
        Json flags = Json::object();
        Json shapes = Json::array();
        for (const Object& o : frames[f]) {
            if (o.type == ShapeType::Tag) {
                flags[label_name(task, o.label)] = true;
                continue;
            }
            Json s = Json::object();
            s["label"] = label_name(task, o.label);
            std::string type;
            std::vector<double> pts = o.points;
            switch (o.type) {
                case ShapeType::Rectangle:
                    if (o.rotation == 0) type = "rectangle";
                    else { type = "polygon"; pts = rectangle_corners(o.points, o.rotation); notes.add("rotated rectangles written as polygons"); }
                    break;
                case ShapeType::Ellipse: {
                    double rx = (pts[2] - pts[0]) / 2, ry = (pts[3] - pts[1]) / 2, cx = (pts[0] + pts[2]) / 2, cy = (pts[1] + pts[3]) / 2;
                    if (rx == ry) { type = "circle"; pts = {cx, cy, cx + rx, cy}; }
                    else { type = "polygon"; pts = ellipse_polygon(o.points, o.rotation, 32); notes.add("ellipses that are not circles written as 32-vertex polygons"); }
                    break;
                }
                case ShapeType::Polygon: type = "polygon"; break;
                case ShapeType::Polyline: type = pts.size() == 4 ? "line" : "linestrip"; break;
                case ShapeType::Points: type = pts.size() == 2 ? "point" : "points"; break;
                case ShapeType::Tag: break;
            }
            s["points"] = point_list(pts);
            s["group_id"] = group_number(o.group);
            std::string description;
            Json shape_flags = Json::object();
            for (const Attribute& a : o.attributes) {
                std::string name = attribute_name(task, o.label, a.id);
                if (a.value.is_boolean()) shape_flags[name] = a.value;
                else if (name == "description" && a.value.is_string()) description = a.value.get<std::string>();
                else notes.add("attributes that are neither flags nor a description left out");
            }
            s["description"] = description;
            s["shape_type"] = type;
            s["flags"] = std::move(shape_flags);
            if (auto score = prediction_score(o)) s["score"] = *score;
            shapes.push_back(std::move(s));
        }
        Json file = {{"version", "5.4.1"}, {"flags", std::move(flags)}, {"shapes", std::move(shapes)}, {"imagePath", im.name},
                     {"imageData", nullptr}, {"imageHeight", im.height}, {"imageWidth", im.width}};
        std::string stem_name(stem(im.name));
        if (task.media[im.media_index].type == MediaType::Video) stem_name = std::string(stem(media_file_name(task.media[im.media_index]))) + "_" + std::to_string(im.local_frame);
        files.push_back({stem_name + ".json", file.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"});
    }
    if (!doc.tracks.empty()) notes.add("tracks written frame by frame (LabelMe has no tracks)", doc.tracks.size());
    Exported e;
    e.files = std::move(files);
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
