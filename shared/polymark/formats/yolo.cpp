// YOLO text labels (docs/FORMATS.md, "YOLO"): one .txt per image, a line per shape, class index
// then coordinates normalised by the image's width and height: detection boxes (cx cy w h),
// segmentation polygons, oriented boxes (4 corners, their order kept) and pose (box + keypoints),
// with an optional trailing confidence. Class names from data.yaml or classes.txt / obj.names.
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/image_decode.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace pm::formats {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_image_name(const std::string& path) {
    std::string l = lower(path);
    for (const char* ext : {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
        if (ends_with(l, ext)) return true;
    return false;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string unquote(std::string_view s) {
    s = trim(s);
    if (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) return std::string(s.substr(1, s.size() - 2));
    return std::string(s);
}

// What data.yaml says that we use: `names` (a list, inline or as "- name" lines, or a map
// "index: name"), `kpt_shape: [K, D]` and `task`. A small reader of that subset of YAML.
struct DataYaml {
    std::map<long long, std::string> names;
    long long keypoints = 0, keypoint_dims = 0;
    std::string task;
};

std::optional<std::string> read_data_yaml(std::string_view text, DataYaml& out) {
    std::vector<std::string_view> lines = lines_of(text);
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (size_t hash = line.find(" #"); hash != std::string_view::npos) line = line.substr(0, hash);
        if (!line.empty() && line[0] == '#') continue;
        if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '-') continue;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string key(trim(line.substr(0, colon)));
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "task") out.task = unquote(value);
        if (key == "kpt_shape") {
            if (value.size() < 2 || value.front() != '[' || value.back() != ']') return "line " + std::to_string(i + 1) + ": kpt_shape must be [K, D]";
            std::string_view inner = value.substr(1, value.size() - 2);
            size_t comma = inner.find(',');
            auto k = comma == std::string_view::npos ? std::nullopt : parse_integer(trim(inner.substr(0, comma)));
            auto d = comma == std::string_view::npos ? std::nullopt : parse_integer(trim(inner.substr(comma + 1)));
            if (!k || !d || *k < 1 || *k > 10000 || (*d != 2 && *d != 3)) return "line " + std::to_string(i + 1) + ": kpt_shape must be [K, 2] or [K, 3]";
            out.keypoints = *k;
            out.keypoint_dims = *d;
        }
        if (key != "names") continue;
        if (!value.empty() && value.front() == '[') {
            if (value.back() != ']') return "line " + std::to_string(i + 1) + ": names: a list that does not end on its line";
            std::string_view inner = value.substr(1, value.size() - 2);
            long long index = 0;
            std::string item;
            char quote = 0;
            for (char c : inner) {
                if (quote) { if (c == quote) quote = 0; item += c; continue; }
                if (c == '\'' || c == '"') quote = c;
                if (c == ',') { out.names[index++] = unquote(item); item.clear(); continue; }
                item += c;
            }
            if (quote) return "line " + std::to_string(i + 1) + ": a name whose quote never ends";
            if (!trim(item).empty() || index > 0) out.names[index++] = unquote(item);
            continue;
        }
        if (!value.empty()) return "line " + std::to_string(i + 1) + ": names must be a list or a map";
        long long index = 0;
        for (size_t j = i + 1; j < lines.size(); ++j) {
            std::string_view item = lines[j];
            if (trim(item).empty() || trim(item)[0] == '#') continue;
            if (item[0] != ' ' && item[0] != '\t' && item[0] != '-') break;
            item = trim(item);
            if (item[0] == '-') {
                out.names[index++] = unquote(item.substr(1));
            } else {
                size_t c = item.find(':');
                auto n = c == std::string_view::npos ? std::nullopt : parse_integer(trim(item.substr(0, c)));
                if (!n || *n < 0) return "line " + std::to_string(j + 1) + ": expected \"index: name\" under names";
                out.names[*n] = unquote(item.substr(c + 1));
            }
            i = j;
        }
    }
    return std::nullopt;
}

class YoloReader : ImportState {
public:
    YoloReader(const FileSet& files, const ImportOptions& options) : ImportState(options), files_(files) {}

    Expected<Conversion> read() {
        DataYaml yaml;
        std::vector<const FileEntry*> label_files;
        for (const FileEntry& f : files_) {
            std::string name = lower(base_name(f.path));
            size_t bad_at = 0;
            if ((name == "data.yaml" || name == "data.yml" || name == "dataset.yaml" || name == "classes.txt" || name == "obj.names") && !valid_utf8(f.bytes, bad_at))
                return Error{"bad_yolo", f.path, f.path + ": not UTF-8 text (byte " + std::to_string(bad_at) + ")"};
            if (name == "data.yaml" || name == "data.yml" || name == "dataset.yaml") {
                if (auto problem = read_data_yaml(f.bytes, yaml)) return Error{"bad_yolo", f.path, f.path + ": " + *problem};
            } else if (name == "classes.txt" || name == "obj.names") {
                long long index = 0;
                for (std::string_view line : lines_of(f.bytes))
                    if (!trim(line).empty()) yaml.names.emplace(index++, std::string(trim(line)));
                    else ++index;
            } else if (ends_with(name, ".txt") && name != "train.txt" && name != "val.txt" && name != "test.txt" && name != "readme.txt") {
                label_files.push_back(&f);
            }
        }
        // Without a task the images of the set give the frames and their sizes (from their headers).
        if (!options_.task) {
            for (const FileEntry& f : files_) {
                if (!is_image_name(f.path)) continue;
                auto header = read_image_header((const uint8_t*)f.bytes.data(), f.bytes.size());
                if (!header) return Error{"bad_image", f.path, f.path + ": expected an image whose header gives its size"};
                images_.frame_of(f.path, header->width, header->height);
            }
        }
        obb_ = options_.yolo_task == "obb" || (options_.yolo_task == "auto" && yaml.task == "obb");
        yaml_ = yaml;
        for (const auto& [index, name] : yaml.names) labels_.declare(name);
        std::sort(label_files.begin(), label_files.end(), [](const FileEntry* a, const FileEntry* b) { return a->path < b->path; });
        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t i = 0; i < label_files.size(); ++i) {
            if (!progress.at(double(i) / double(label_files.size()))) return cancelled_error();
            if (!read_labels(*label_files[i])) return error_;
        }
        // Objects in frame order, each file's lines in order.
        return finish("yolo");
    }

private:
    bool fail(const FileEntry& f, size_t line, size_t column, const std::string& code, const std::string& message) {
        std::string where = f.path + ":" + std::to_string(line) + ":" + std::to_string(column);
        error_ = Error{code, where, where + ": " + message};
        return false;
    }

    bool read_labels(const FileEntry& f) {
        auto frame = images_.frame_of(std::string(stem(f.path)), 0, 0, true);
        if (!frame) return fail(f, 1, 1, "unknown_image", "no image of the task is named " + std::string(stem(f.path)) + ".*");
        auto [w, h] = images_.size_of(*frame);
        std::vector<std::string_view> lines = lines_of(f.bytes);
        std::vector<double> nums;
        std::vector<size_t> columns;
        for (size_t li = 0; li < lines.size(); ++li) {
            std::string_view line = lines[li];
            if (trim(line).empty()) continue;
            nums.clear();
            columns.clear();
            std::optional<long long> cls;
            size_t b = 0;
            while (b < line.size()) {
                while (b < line.size() && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r')) ++b;
                if (b >= line.size()) break;
                size_t e = b;
                while (e < line.size() && line[e] != ' ' && line[e] != '\t' && line[e] != '\r') ++e;
                std::string_view token = line.substr(b, e - b);
                if (!cls) {
                    cls = parse_integer(token);
                    if (!cls || *cls < 0) return fail(f, li + 1, b + 1, "bad_yolo", "expected a class index (an integer >= 0), found \"" + std::string(token.substr(0, 20)) + "\"");
                } else {
                    auto v = parse_double(token);
                    if (!v) return fail(f, li + 1, b + 1, "bad_yolo", "expected a number, found \"" + std::string(token.substr(0, 20)) + "\"");
                    nums.push_back(*v);
                    columns.push_back(b + 1);
                }
                b = e;
            }
            if (w <= 0 || h <= 0) return fail(f, li + 1, 1, "unknown_size", "the size of image " + std::string(stem(f.path)) + " is not known: give a task with media sizes, or the images");
            std::string name;
            auto it = yaml_.names.find(*cls);
            // No names file: class i is the task's label i, else a label named by the number.
            if (it != yaml_.names.end()) name = it->second;
            else if (options_.task && yaml_.names.empty() && *cls < (long long)options_.task->labels.size()) name = options_.task->labels[(size_t)*cls].id;
            else name = std::to_string(*cls);
            auto label = labels_.resolve(name);
            if (!label) return fail(f, li + 1, 1, "unknown_label", "class " + std::to_string(*cls) + " (\"" + name + "\") is not a label of the task");
            if (!add_line(f, li + 1, *frame, *label, nums, w, h)) return false;
        }
        return true;
    }

    bool add_line(const FileEntry& f, size_t line, long long frame, const std::string& label, std::vector<double>& nums, int w, int h) {
        Object o;
        o.frame = frame;
        o.label = label;
        o.source = Source::Imported;
        size_t n = nums.size();
        size_t pose = yaml_.keypoints > 0 ? 4 + (size_t)(yaml_.keypoints * yaml_.keypoint_dims) : 0;
        bool scored = pose ? n == pose + 1 : n % 2 == 1;
        if (scored) {
            set_prediction_score(o, nums.back(), notes_);
            nums.pop_back();
            --n;
        }
        auto px = [&](double x) { return x * w; };
        auto py = [&](double y) { return y * h; };
        std::string id_hint = std::string(stem(f.path)) + ":" + std::to_string(line);
        if (pose && n != pose) return fail(f, line, 1, "bad_yolo", "expected a pose line: class, box and " + std::to_string(yaml_.keypoints) + " keypoints of " + std::to_string(yaml_.keypoint_dims) + " numbers (kpt_shape)");
        if (n == 4 || pose) {
            if (nums[2] < 0 || nums[3] < 0) return fail(f, line, 1, "bad_box", "a box of negative width or height");
            o.type = ShapeType::Rectangle;
            o.points = {px(nums[0] - nums[2] / 2), py(nums[1] - nums[3] / 2), px(nums[0] + nums[2] / 2), py(nums[1] + nums[3] / 2)};
            if (o.points[0] > o.points[2] || o.points[1] > o.points[3]) std::swap(o.points[0], o.points[2]);  // only rounding can do this
            if (!pose) return add(o, id_hint);
            Object k = o;
            k.type = ShapeType::Points;
            k.points.clear();
            Json visibility = Json::array();
            for (size_t i = 4; i + 1 < n; i += (size_t)yaml_.keypoint_dims) {
                k.points.push_back(px(nums[i]));
                k.points.push_back(py(nums[i + 1]));
                if (yaml_.keypoint_dims == 3) visibility.push_back((int)std::lround(nums[i + 2]));
            }
            if (yaml_.keypoint_dims == 3) {
                if (k.meta.is_null()) k.meta = Json::object();
                k.meta["visibility"] = std::move(visibility);
            }
            o.group = k.group = sanitized_id(id_hint);
            return add(o, id_hint) && add(k, id_hint);
        }
        if (n < 6 || n % 2) return fail(f, line, 1, "bad_yolo", "expected 4 numbers (a box), 8 (an oriented box) or an even count of 6 or more (a polygon), found " + std::to_string(n));
        std::vector<double> pts(n);
        for (size_t i = 0; i < n; i += 2) { pts[i] = px(nums[i]); pts[i + 1] = py(nums[i + 1]); }
        if (n == 8 && obb_ && rectangle_from_corners(pts, o)) return add(o, id_hint);
        o.type = ShapeType::Polygon;
        o.points = std::move(pts);
        if (n == 8 && obb_) notes_.add("oriented boxes that are not rectangles in clockwise order kept as 4-vertex polygons (corner order kept)");
        return add(o, id_hint);
    }

    // Four corners, clockwise on screen, that are a rectangle to within 0.01 px (files round
    // their numbers): a rectangle turned by the direction of its first edge, so that writing its
    // corners gives them back in the same order.
    static bool rectangle_from_corners(const std::vector<double>& p, Object& o) {
        double ux = p[2] - p[0], uy = p[3] - p[1], vx = p[4] - p[2], vy = p[5] - p[3];
        if (ux * vy - uy * vx <= 0) return false;  // counter-clockwise, or degenerate
        double w = (std::hypot(ux, uy) + std::hypot(p[4] - p[6], p[5] - p[7])) / 2;
        double h = (std::hypot(vx, vy) + std::hypot(p[6] - p[0], p[7] - p[1])) / 2;
        double cx = (p[0] + p[2] + p[4] + p[6]) / 4, cy = (p[1] + p[3] + p[5] + p[7]) / 4;
        double rotation = normalized_degrees(std::atan2(uy, ux) * 180.0 / kPi);
        std::vector<double> box = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
        std::vector<double> back = rectangle_corners(box, rotation);
        for (size_t i = 0; i < 8; ++i)
            if (!(std::abs(back[i] - p[i]) <= 0.01)) return false;
        o.type = ShapeType::Rectangle;
        o.points = box;
        o.rotation = rotation;
        return true;
    }

    bool add(Object& o, const std::string& id_hint) {
        o.id = ids_.make(id_hint);
        doc_.objects.push_back(o);
        return true;
    }

    const FileSet& files_;
    Error error_;
    DataYaml yaml_;
    bool obb_ = false;
};

std::string yaml_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

}  // namespace

Expected<Conversion> import_yolo(const FileSet& files, const ImportOptions& options) {
    if (options.yolo_task != "auto" && options.yolo_task != "obb" && options.yolo_task != "segment")
        return Error{"bad_option", "yolo_task", "the YOLO task must be auto, obb or segment"};
    return YoloReader(files, options).read();
}

Expected<Exported> export_yolo(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past = 0;
    FrameShapes frames = shapes_per_frame(doc, task, (long long)images.size(), past);
    if (past) notes.add("objects on frames past the task's last frame left out", past);
    std::vector<std::string> label_ids;
    for (const LabelSpec& l : task.labels) label_ids.push_back(l.id);
    auto class_of = [&](const std::string& label) {
        auto it = std::find(label_ids.begin(), label_ids.end(), label);
        if (it != label_ids.end()) return (size_t)(it - label_ids.begin());
        label_ids.push_back(label);
        return label_ids.size() - 1;
    };
    bool obb = options.yolo_task == "obb";
    if (options.yolo_task == "auto")
        for (const auto& shapes : frames.frames)
            for (const Object& o : shapes) obb = obb || (o.type == ShapeType::Rectangle && o.rotation != 0);
    long long keypoints = 0;
    FileSet files;
    ProgressTicker progress(options.progress, 0, 1);
    for (size_t f = 0; f < images.size(); ++f) {
        if (!progress.step(f, images.size())) return cancelled_error();
        const FrameImage& im = images[f];
        std::string text;
        const auto& shapes = frames[f];
        if (!shapes.empty() && (im.width <= 0 || im.height <= 0))
            return Error{"unknown_size", im.name, "the size of image " + im.name + " is not known: YOLO coordinates are normalised by it (give media sizes in the task)"};
        double W = im.width, H = im.height;
        auto put = [&](double v) { text += ' '; append_number(text, v); };
        auto score = [&](const Object& o) {
            if (auto s = prediction_score(o)) put(*s);
        };
        std::vector<bool> used(shapes.size(), false);
        for (size_t i = 0; i < shapes.size(); ++i) {
            const Object& o = shapes[i];
            if (used[i]) continue;
            if (o.type == ShapeType::Tag) { notes.add("tags left out (YOLO has none)"); continue; }
            if (o.type == ShapeType::Polyline) { notes.add("polylines left out (YOLO has none)"); continue; }
            // Pose: a rectangle and a points object of one group and label.
            const Object* kp = nullptr;
            if (o.type == ShapeType::Rectangle && o.rotation == 0 && !o.group.empty())
                for (size_t j = 0; j < shapes.size(); ++j)
                    if (const Object& s = shapes[j]; !used[j] && s.type == ShapeType::Points && s.group == o.group && s.label == o.label) { kp = &s; used[j] = true; break; }
            if (o.type == ShapeType::Points) kp = &o;
            text += std::to_string(class_of(o.label));
            if (kp) {
                std::vector<double> box = o.type == ShapeType::Rectangle ? o.points : std::vector<double>{};
                if (box.empty()) {
                    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
                    for (size_t k = 0; k + 1 < kp->points.size(); k += 2) { x0 = std::min(x0, kp->points[k]); x1 = std::max(x1, kp->points[k]); y0 = std::min(y0, kp->points[k + 1]); y1 = std::max(y1, kp->points[k + 1]); }
                    box = {x0, y0, x1, y1};
                }
                put((box[0] + box[2]) / 2 / W); put((box[1] + box[3]) / 2 / H); put((box[2] - box[0]) / W); put((box[3] - box[1]) / H);
                long long k = (long long)kp->points.size() / 2;
                if (keypoints && keypoints != k) return Error{"mixed_keypoints", kp->id, "YOLO pose needs one keypoint count for the dataset: " + std::to_string(keypoints) + " and " + std::to_string(k) + " met"};
                keypoints = k;
                const Json* vis = nullptr;
                if (kp->meta.is_object())
                    if (auto it = kp->meta.find("visibility"); it != kp->meta.end() && it->is_array() && (long long)it->size() == k) vis = &*it;
                for (long long j = 0; j < k; ++j) {
                    put(kp->points[2 * j] / W);
                    put(kp->points[2 * j + 1] / H);
                    put(vis && (*vis)[j].is_number() ? (*vis)[j].get<double>() : 2);
                }
                score(o);
            } else if (o.type == ShapeType::Rectangle && o.rotation == 0 && !obb) {
                put((o.points[0] + o.points[2]) / 2 / W); put((o.points[1] + o.points[3]) / 2 / H);
                put((o.points[2] - o.points[0]) / W); put((o.points[3] - o.points[1]) / H);
                score(o);
            } else {
                std::vector<double> pts = o.type == ShapeType::Rectangle ? rectangle_corners(o.points, o.rotation)
                                          : o.type == ShapeType::Ellipse ? ellipse_polygon(o.points, o.rotation, 32)
                                                                         : o.points;
                if (o.type == ShapeType::Ellipse) notes.add("ellipses written as 32-vertex polygons");
                for (size_t k = 0; k + 1 < pts.size(); k += 2) { put(pts[k] / W); put(pts[k + 1] / H); }
                score(o);
            }
            text += '\n';
        }
        std::string stem_name(stem(im.name));
        if (task.media[im.media_index].type == MediaType::Video) stem_name = std::string(stem(media_file_name(task.media[im.media_index]))) + "_" + std::to_string(im.local_frame);
        files.push_back({"labels/" + stem_name + ".txt", std::move(text)});
    }
    std::string yaml = "# Written by Polymark\n";
    if (obb) yaml += "task: obb\n";
    if (keypoints) yaml += "kpt_shape: [" + std::to_string(keypoints) + ", 3]\n";
    yaml += "nc: " + std::to_string(label_ids.size()) + "\nnames:\n";
    for (size_t i = 0; i < label_ids.size(); ++i) yaml += "  " + std::to_string(i) + ": " + yaml_quoted(label_name(task, label_ids[i])) + "\n";
    files.insert(files.begin(), FileEntry{"data.yaml", std::move(yaml)});
    if (!doc.tracks.empty()) notes.add("tracks written frame by frame (YOLO has no tracks)", doc.tracks.size());
    Exported e;
    e.files = std::move(files);
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
