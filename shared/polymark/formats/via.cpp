// VIA 2 JSON (docs/FORMATS.md, "VIA"): a project (`_via_img_metadata`, `_via_attributes`, ...)
// or its annotations alone (the metadata map). Per image (`filename`, `size` in bytes):
// `regions[]` (VIA 1: an object keyed "0", "1", ...), each `shape_attributes` (rect, polygon,
// polyline, point, circle, ellipse with theta in radians) and `region_attributes` (the label under
// "label", else "class", "name" or "type"; the others become attributes). Pixel coordinates.
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_set>

namespace pm::formats {

namespace {

constexpr const char* kLabelKeys[] = {"label", "class", "name", "type"};

class ViaReader : JsonFilesImport {
public:
    explicit ViaReader(const ImportOptions& options) : JsonFilesImport(options, "bad_via") {}

    Expected<Conversion> read(const FileSet& files) {
        if (auto error = read_json_files(files)) return *error;
        return finish("via");
    }

private:
    bool read_json(const Json& root, const FileEntry& /*file*/) override {
        if (!root.is_object()) return bad("", "a VIA project or its annotations (an object keyed by image)");
        const Json* images = &root;
        std::string base;
        if (auto m = root.find("_via_img_metadata"); m != root.end()) {
            if (!m->is_object()) return bad("/_via_img_metadata", "an object keyed by image");
            images = &*m;
            base = "/_via_img_metadata";
        } else if (root.contains("project") && root.contains("file") && root.contains("metadata")) {
            return read_via3(root);
        }
        // Images in the order of _via_image_id_list when there is one, else as in the file.
        std::vector<std::string> order;
        if (auto list = root.find("_via_image_id_list"); list != root.end() && list->is_array())
            for (const Json& k : *list)
                if (k.is_string() && images->contains(k.get<std::string>())) order.push_back(k.get<std::string>());
        if (order.size() != images->size()) {
            order.clear();
            for (auto it = images->begin(); it != images->end(); ++it) order.push_back(it.key());
        }
        for (const std::string& key : order)
            if (!read_image((*images)[key], base + "/" + json_pointer_escape(key), key)) return false;
        return true;
    }

    bool read_image(const Json& im, const std::string& p, const std::string& key) {
        if (!im.is_object()) return bad(p, "an image object with \"filename\" and \"regions\"");
        auto fn = im.find("filename");
        if (fn == im.end() || !fn->is_string() || fn->get<std::string>().empty()) return bad(p + "/filename", "the image's file name");
        std::string name = fn->get<std::string>();
        auto frame = images_.frame_of(name, 0, 0);
        if (!frame) return fail("unknown_image", p + "/filename", "image \"" + name + "\" is not in the task");
        if (auto fa = im.find("file_attributes"); fa != im.end() && fa->is_object() && !fa->empty()) notes_.add("VIA file attributes left out", fa->size());
        auto regions = im.find("regions");
        if (regions == im.end() || regions->is_null()) return true;
        if (regions->is_array()) {
            for (size_t i = 0; i < regions->size(); ++i)
                if (!read_region((*regions)[i], p + "/regions/" + std::to_string(i), *frame, std::string(stem(name)) + ":" + std::to_string(i))) return false;
            return true;
        }
        if (!regions->is_object()) return bad(p + "/regions", "an array of regions");
        for (auto it = regions->begin(); it != regions->end(); ++it)
            if (!read_region(it.value(), p + "/regions/" + json_pointer_escape(it.key()), *frame, std::string(stem(name)) + ":" + it.key())) return false;
        (void)key;
        return true;
    }

    std::optional<double> number(const Json& v, const std::string& p, const char* key) {
        auto it = v.find(key);
        if (it == v.end() || !it->is_number()) { bad(p + "/" + key, "a number"); return std::nullopt; }
        return it->get<double>();
    }

    bool coordinates(const Json& s, const std::string& p, std::vector<double>& out) {
        auto xs = s.find("all_points_x"), ys = s.find("all_points_y");
        if (xs == s.end() || !xs->is_array()) return bad(p + "/all_points_x", "an array of x coordinates");
        if (ys == s.end() || !ys->is_array()) return bad(p + "/all_points_y", "an array of y coordinates");
        if (xs->size() != ys->size()) return fail("bad_points", p + "/all_points_y", "as many y coordinates as x coordinates (" + std::to_string(xs->size()) + "), not " + std::to_string(ys->size()));
        for (size_t i = 0; i < xs->size(); ++i) {
            if (!(*xs)[i].is_number()) return bad(p + "/all_points_x/" + std::to_string(i), "a number");
            if (!(*ys)[i].is_number()) return bad(p + "/all_points_y/" + std::to_string(i), "a number");
            out.push_back((*xs)[i].get<double>());
            out.push_back((*ys)[i].get<double>());
        }
        return true;
    }

    bool read_region(const Json& r, const std::string& p, long long frame, const std::string& id_hint) {
        if (!r.is_object()) return bad(p, "a region object with \"shape_attributes\"");
        auto sa = r.find("shape_attributes");
        if (sa == r.end() || !sa->is_object()) return bad(p + "/shape_attributes", "an object");
        std::string sp = p + "/shape_attributes";
        auto name_it = sa->find("name");
        if (name_it == sa->end() || !name_it->is_string()) return bad(sp + "/name", "the shape's name (rect, polygon, polyline, point, circle, ellipse)");
        std::string shape = name_it->get<std::string>();
        // The label: the first of label, class, name, type among the region attributes.
        std::string label_name, label_key;
        const Json* ra = nullptr;
        if (auto it = r.find("region_attributes"); it != r.end() && !it->is_null()) {
            if (!it->is_object()) return bad(p + "/region_attributes", "an object");
            ra = &*it;
            for (const char* k : kLabelKeys)
                if (auto l = ra->find(k); l != ra->end() && l->is_string() && !l->get<std::string>().empty()) { label_name = l->get<std::string>(); label_key = k; break; }
        }
        if (label_name.empty()) {
            notes_.add("VIA regions without a label (region attribute label, class, name or type) read as label \"object\"");
            label_name = "object";
        }
        auto label = labels_.resolve(label_name);
        if (!label) return fail("unknown_label", p + "/region_attributes/" + (label_key.empty() ? std::string("label") : label_key), "label \"" + label_name + "\" is not a label of the task");
        Object o;
        o.frame = frame;
        o.label = *label;
        o.source = Source::Imported;
        if (shape == "rect") {
            auto x = number(*sa, sp, "x"), y = number(*sa, sp, "y"), w = number(*sa, sp, "width"), h = number(*sa, sp, "height");
            if (!x || !y || !w || !h) return false;
            if (*w < 0 || *h < 0) return fail("bad_box", sp, "a rect of negative width or height");
            o.type = ShapeType::Rectangle;
            o.points = {*x, *y, *x + *w, *y + *h};
        } else if (shape == "polygon" || shape == "polyline") {
            if (!coordinates(*sa, sp, o.points)) return false;
            bool polygon = shape == "polygon";
            size_t least = polygon ? 3 : 2;
            if (o.points.size() / 2 < least) return fail("bad_points", sp + "/all_points_x", "a " + shape + " needs " + std::to_string(least) + " or more points, not " + std::to_string(o.points.size() / 2));
            o.type = polygon ? ShapeType::Polygon : ShapeType::Polyline;
        } else if (shape == "point") {
            auto x = number(*sa, sp, "cx"), y = number(*sa, sp, "cy");
            if (!x || !y) return false;
            o.type = ShapeType::Points;
            o.points = {*x, *y};
        } else if (shape == "circle") {
            auto x = number(*sa, sp, "cx"), y = number(*sa, sp, "cy"), rr = number(*sa, sp, "r");
            if (!x || !y || !rr) return false;
            if (*rr < 0) return fail("bad_box", sp + "/r", "a circle of negative radius");
            o.type = ShapeType::Ellipse;
            o.points = {*x - *rr, *y - *rr, *x + *rr, *y + *rr};
        } else if (shape == "ellipse") {
            auto x = number(*sa, sp, "cx"), y = number(*sa, sp, "cy"), rx = number(*sa, sp, "rx"), ry = number(*sa, sp, "ry");
            if (!x || !y || !rx || !ry) return false;
            if (*rx < 0 || *ry < 0) return fail("bad_box", sp, "an ellipse of negative radius");
            double theta = 0;
            if (auto t = sa->find("theta"); t != sa->end() && !t->is_null()) {
                if (!t->is_number()) return bad(sp + "/theta", "a number (radians)");
                theta = t->get<double>();
            }
            o.type = ShapeType::Ellipse;
            o.points = {*x - *rx, *y - *ry, *x + *rx, *y + *ry};
            o.rotation = normalized_degrees(theta * 180.0 / kPi);
        } else {
            return bad(sp + "/name", "rect, polygon, polyline, point, circle or ellipse");
        }
        if (ra)
            for (auto it = ra->begin(); it != ra->end(); ++it) {
                if (it.key() == label_key) continue;
                const Json& v = it.value();
                if (v.is_string() && v.get<std::string>().empty()) continue;  // VIA writes "" for unset
                if (v.is_object()) {  // a checkbox: {"option": true, ...}
                    std::string joined;
                    for (auto opt = v.begin(); opt != v.end(); ++opt)
                        if (opt.value() == true) joined += (joined.empty() ? "" : ",") + opt.key();
                    o.attributes.push_back({labels_.attribute_id(o.label, it.key(), Json(joined)), joined});
                    notes_.add("VIA checkbox attributes read as text (the options ticked, comma-separated)");
                    continue;
                }
                if (!v.is_string() && !v.is_number() && !v.is_boolean()) return bad(p + "/region_attributes/" + json_pointer_escape(it.key()), "a string, number or boolean");
                o.attributes.push_back({labels_.attribute_id(o.label, it.key(), v), v});
            }
        o.id = ids_.make(id_hint);
        doc_.objects.push_back(std::move(o));
        return true;
    }

    // VIA 3: `file` (fid -> fname), `view` (vid -> fid_list), `attribute` (aid -> aname, type,
    // options), `metadata` (mid -> vid, xy = [shape, coordinates...], z = [] on an image, [t] a
    // video frame at t seconds, [t1, t2] a temporal segment, av = aid -> value or option id).
    bool read_via3(const Json& root) {
        const Json& files = root["file"];
        const Json& views = root.contains("view") ? root["view"] : Json::object();
        const Json& attributes = root.contains("attribute") ? root["attribute"] : Json::object();
        const Json& metadata = root["metadata"];
        if (!files.is_object()) return bad("/file", "an object of files");
        if (!views.is_object()) return bad("/view", "an object of views");
        if (!attributes.is_object()) return bad("/attribute", "an object of attributes");
        if (!metadata.is_object()) return bad("/metadata", "an object of metadata");
        // The label attribute: named label, class, name or type, else the first radio or select.
        std::string label_aid;
        for (const char* k : kLabelKeys)
            for (auto it = attributes.begin(); it != attributes.end() && label_aid.empty(); ++it)
                if (it.value().is_object() && it.value().contains("aname") && it.value()["aname"] == k) label_aid = it.key();
        for (auto it = attributes.begin(); it != attributes.end() && label_aid.empty(); ++it)
            if (it.value().is_object() && it.value().contains("type") && (it.value()["type"] == 3 || it.value()["type"] == 4)) label_aid = it.key();
        auto value_text = [&](const std::string& aid, const Json& v) -> std::optional<std::string> {
            auto a = attributes.find(aid);
            if (v.is_string() && a != attributes.end() && a->is_object())
                if (auto o = a->find("options"); o != a->end() && o->is_object())
                    if (auto n = o->find(v.get<std::string>()); n != o->end() && n->is_string()) return n->get<std::string>();
            if (v.is_string()) return v.get<std::string>();
            return std::nullopt;
        };
        for (auto it = metadata.begin(); it != metadata.end(); ++it) {
            std::string p = "/metadata/" + json_pointer_escape(it.key());
            const Json& m = it.value();
            if (!m.is_object()) return bad(p, "a metadata object with vid, xy, z and av");
            auto vid = m.find("vid");
            if (vid == m.end() || !vid->is_string()) return bad(p + "/vid", "a view id");
            auto view = views.find(vid->get<std::string>());
            std::string fid = vid->get<std::string>();
            if (view != views.end() && view->is_object())
                if (auto fl = view->find("fid_list"); fl != view->end() && fl->is_array() && !fl->empty() && (*fl)[0].is_string()) fid = (*fl)[0].get<std::string>();
            auto file = files.find(fid);
            if (file == files.end() || !file->is_object() || !file->contains("fname") || !(*file)["fname"].is_string()) return fail("unknown_image", p + "/vid", "view \"" + vid->get<std::string>() + "\" names no file with a fname");
            std::string name = (*file)["fname"].get<std::string>();
            auto xy = m.find("xy"), z = m.find("z");
            std::vector<double> nums, times;
            for (auto [list, out, key] : {std::make_tuple(xy, &nums, "xy"), std::make_tuple(z, &times, "z")}) {
                if (list == m.end() || list->is_null()) continue;
                if (!list->is_array()) return bad(p + "/" + key, "an array of numbers");
                for (size_t k = 0; k < list->size(); ++k) {
                    if (!(*list)[k].is_number()) return bad(p + "/" + key + "/" + std::to_string(k), "a number");
                    out->push_back((*list)[k].get<double>());
                }
            }
            if (times.size() > 1) { notes_.add("VIA 3 temporal segments left out"); continue; }
            std::optional<long long> frame;
            if (times.empty()) {
                frame = images_.frame_of(name, 0, 0);
            } else {
                // A video frame at t seconds: frame round(t · fps), the fps from the task's medium.
                const Media* video = nullptr;
                if (options_.task)
                    for (const Media& md : options_.task->media)
                        if (md.type == MediaType::Video && (media_file_name(md) == name || base_name(md.url) == base_name(name))) video = &md;
                if (!video || video->fps <= 0) return fail("unknown_frame", p + "/z", "a video time needs the frame rate of \"" + name + "\": give a task whose video has fps");
                long long local = std::llround(times[0] * video->fps);
                frame = images_.frame_of(media_file_name(*video) + "#" + std::to_string(local), 0, 0);
            }
            if (!frame) return fail("unknown_image", p + "/vid", "\"" + name + "\" (at that time) is not in the task");
            std::string label_name;
            Object o;
            o.frame = *frame;
            o.source = Source::Imported;
            const Json* av = nullptr;
            if (auto a = m.find("av"); a != m.end() && !a->is_null()) {
                if (!a->is_object()) return bad(p + "/av", "an object of attribute values");
                av = &*a;
                if (auto l = av->find(label_aid); !label_aid.empty() && l != av->end())
                    if (auto t = value_text(label_aid, *l)) label_name = *t;
            }
            if (label_name.empty()) {
                if (nums.empty()) continue;  // an image's attributes without a label
                notes_.add("VIA regions without a label (region attribute label, class, name or type) read as label \"object\"");
                label_name = "object";
            }
            auto label = labels_.resolve(label_name);
            if (!label) return fail("unknown_label", p + "/av", "label \"" + label_name + "\" is not a label of the task");
            o.label = *label;
            size_t n = nums.size();
            // A shape id outside VIA's few is no shape of ours (and out of int's range, no int at all).
            int shape = n == 0 ? 0 : nums[0] >= 0 && nums[0] <= 1000 ? (int)nums[0] : -1;
            auto need = [&](size_t count, bool exact) {
                if (exact ? n == count : (n >= count && (n - 1) % 2 == 0)) return true;
                return fail("bad_points", p + "/xy", "shape " + std::to_string(shape) + " needs " + (exact ? std::to_string(count - 1) : std::to_string(count - 1) + " or more (x, y pairs)") + " numbers after the shape, not " + std::to_string(n ? n - 1 : 0));
            };
            if (n == 0) {
                o.type = ShapeType::Tag;
            } else if (shape == 1) {
                if (!need(3, true)) return false;
                o.type = ShapeType::Points; o.points = {nums[1], nums[2]};
            } else if (shape == 2) {
                if (!need(5, true)) return false;
                if (nums[3] < 0 || nums[4] < 0) return fail("bad_box", p + "/xy", "a rectangle of negative width or height");
                o.type = ShapeType::Rectangle; o.points = {nums[1], nums[2], nums[1] + nums[3], nums[2] + nums[4]};
            } else if (shape == 3 || shape == 4) {
                if (!need(shape == 3 ? 4 : 5, true)) return false;
                double rx = nums[3], ry = shape == 3 ? nums[3] : nums[4];
                if (rx < 0 || ry < 0) return fail("bad_box", p + "/xy", "a circle or ellipse of negative radius");
                o.type = ShapeType::Ellipse; o.points = {nums[1] - rx, nums[2] - ry, nums[1] + rx, nums[2] + ry};
            } else if (shape == 5 || shape == 6) {
                if (!need(5, false)) return false;
                o.type = ShapeType::Polyline; o.points.assign(nums.begin() + 1, nums.end());
            } else if (shape == 7) {
                if (!need(7, false)) return false;
                o.type = ShapeType::Polygon; o.points.assign(nums.begin() + 1, nums.end());
            } else if (shape == 8) {
                if (!need(3, false)) return false;
                double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
                for (size_t k = 1; k + 1 < n; k += 2) { x0 = std::min(x0, nums[k]); x1 = std::max(x1, nums[k]); y0 = std::min(y0, nums[k + 1]); y1 = std::max(y1, nums[k + 1]); }
                o.type = ShapeType::Rectangle; o.points = {x0, y0, x1, y1};
            } else {
                notes_.add("VIA 3 shapes other than point, rectangle, circle, ellipse, line, polyline, polygon and extreme rectangle left out");
                continue;
            }
            if (av)
                for (auto a = av->begin(); a != av->end(); ++a) {
                    if (a.key() == label_aid) continue;
                    auto spec = attributes.find(a.key());
                    std::string an = spec != attributes.end() && spec->is_object() && spec->contains("aname") && (*spec)["aname"].is_string() ? (*spec)["aname"].get<std::string>() : a.key();
                    auto text = value_text(a.key(), a.value());
                    if (!text || text->empty()) continue;
                    o.attributes.push_back({labels_.attribute_id(o.label, an, Json(*text)), *text});
                }
            o.id = ids_.make(it.key());
            doc_.objects.push_back(std::move(o));
        }
        return true;
    }

};

}  // namespace

Expected<Conversion> import_via(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no VIA file given"};
    return ViaReader(options).read(files);
}

Expected<Exported> export_via(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past = 0;
    FrameShapes frames = shapes_per_frame(doc, task, (long long)images.size(), past);
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    // The images' records are appended to the object's list as they are (an ordered_json object
    // finds a key by a linear search: one insert per image would make the export quadratic).
    Json metadata = Json::object();
    Json::object_t& records = metadata.get_ref<Json::object_t&>();
    std::unordered_set<std::string> keys;
    Json id_list = Json::array();
    Json region_specs = Json::object();
    Json label_options = Json::object();
    for (size_t f = 0; f < images.size(); ++f) {
        if (options.progress && (f & 255) == 0 && !options.progress(double(f) / double(images.size()))) return cancelled_error();
        const FrameImage& im = images[f];
        Json regions = Json::array();
        for (const Object& o : frames[f]) {
            if (o.type == ShapeType::Tag) { notes.add("tags left out (VIA 2 file attributes are not written)"); continue; }
            Json sa = Json::object();
            auto xy = [&](const std::vector<double>& pts) {
                Json xs = Json::array(), ys = Json::array();
                for (size_t k = 0; k + 1 < pts.size(); k += 2) { xs.push_back(pts[k]); ys.push_back(pts[k + 1]); }
                sa["all_points_x"] = std::move(xs);
                sa["all_points_y"] = std::move(ys);
            };
            switch (o.type) {
                case ShapeType::Rectangle:
                    if (o.rotation == 0) {
                        sa = {{"name", "rect"}, {"x", o.points[0]}, {"y", o.points[1]}, {"width", o.points[2] - o.points[0]}, {"height", o.points[3] - o.points[1]}};
                    } else {
                        sa["name"] = "polygon";
                        xy(rectangle_corners(o.points, o.rotation));
                        notes.add("rotated rectangles written as polygons");
                    }
                    break;
                case ShapeType::Polygon: sa["name"] = "polygon"; xy(o.points); break;
                case ShapeType::Polyline: sa["name"] = "polyline"; xy(o.points); break;
                case ShapeType::Points:
                    if (o.points.size() > 2) notes.add("points objects of several points written as one point region each");
                    for (size_t k = 0; k + 1 < o.points.size(); k += 2) {
                        Json one = {{"name", "point"}, {"cx", o.points[k]}, {"cy", o.points[k + 1]}};
                        if (k + 2 < o.points.size()) regions.push_back({{"shape_attributes", one}, {"region_attributes", {{"label", label_name(task, o.label)}}}});
                        else sa = one;
                    }
                    break;
                case ShapeType::Ellipse: {
                    double cx = (o.points[0] + o.points[2]) / 2, cy = (o.points[1] + o.points[3]) / 2, rx = (o.points[2] - o.points[0]) / 2, ry = (o.points[3] - o.points[1]) / 2;
                    if (rx == ry && o.rotation == 0) sa = {{"name", "circle"}, {"cx", cx}, {"cy", cy}, {"r", rx}};
                    else {
                        double theta = o.rotation > 180 ? (o.rotation - 360) * kPi / 180.0 : o.rotation * kPi / 180.0;
                        sa = {{"name", "ellipse"}, {"cx", cx}, {"cy", cy}, {"rx", rx}, {"ry", ry}, {"theta", theta}};
                    }
                    break;
                }
                case ShapeType::Tag: break;
            }
            Json ra = Json::object();
            std::string name = label_name(task, o.label);
            ra["label"] = name;
            label_options[name] = "";
            for (const Attribute& a : o.attributes) {
                std::string an = attribute_name(task, o.label, a.id);
                if (an == "label") { notes.add("attributes named label left out (the label's key)"); continue; }
                ra[an] = a.value;
                if (!region_specs.contains(an)) region_specs[an] = {{"type", "text"}, {"description", ""}, {"default_value", ""}};
            }
            regions.push_back({{"shape_attributes", std::move(sa)}, {"region_attributes", std::move(ra)}});
        }
        std::string key = im.name + "-1";
        for (size_t n = 2; !keys.insert(key).second; ++n) key = im.name + "-1." + std::to_string(n);  // two media of one name
        records.push_back({key, Json{{"filename", im.name}, {"size", -1}, {"regions", std::move(regions)}, {"file_attributes", Json::object()}}});
        id_list.push_back(key);
    }
    region_specs["label"] = {{"type", "dropdown"}, {"description", ""}, {"options", std::move(label_options)}, {"default_options", Json::object()}};
    Json project = {{"_via_settings", {{"ui", {{"annotation_editor_height", 25}, {"annotation_editor_fontsize", 0.8}, {"leftsidebar_width", 18}}},
                                       {"core", {{"buffer_size", 18}, {"filepath", Json::object()}, {"default_filepath", ""}}},
                                       {"project", {{"name", task.name.empty() ? task.id : task.name}}}}},
                    {"_via_img_metadata", std::move(metadata)},
                    {"_via_attributes", {{"region", std::move(region_specs)}, {"file", Json::object()}}},
                    {"_via_data_format_version", "2.0.10"},
                    {"_via_image_id_list", std::move(id_list)}};
    if (!doc.tracks.empty()) notes.add("tracks written frame by frame (VIA 2 has no tracks)", doc.tracks.size());
    Exported e;
    e.files.push_back({"via_project.json", project.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"});
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
