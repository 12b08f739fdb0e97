// COCO instances JSON (docs/FORMATS.md, "COCO"): images → frames, categories → labels,
// annotations → objects (polygons, RLE traced to polygons, boxes, keypoints as points).
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/formats/mask.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace pm::formats {

namespace {

class CocoReader : ImportState {
public:
    CocoReader(const std::string& file, const ImportOptions& options)
        : ImportState(options), file_(file) {}

    Expected<Conversion> read(const Json& root) {
        if (root.is_array()) return read_results(root);
        if (!root.is_object()) return bad("", "a COCO dataset: an object with \"images\", \"annotations\" and \"categories\"");
        Json meta = Json::object();
        for (const char* key : {"info", "licenses"})
            if (auto it = root.find(key); it != root.end()) meta[key] = *it;
        const Json* categories = member(root, "categories");
        const Json* images = member(root, "images");
        const Json* annotations = member(root, "annotations");
        if (!categories || !categories->is_array()) return bad("/categories", "an array of categories");
        if (!images || !images->is_array()) return bad("/images", "an array of images");
        if (!annotations || !annotations->is_array()) return bad("/annotations", "an array of annotations");

        meta["categories"] = *categories;
        for (size_t i = 0; i < categories->size(); ++i) {
            const Json& c = (*categories)[i];
            std::string p = "/categories/" + std::to_string(i);
            if (!c.is_object()) return bad(p, "a category object");
            auto id = integer_at(c, p, "id");
            if (!id) return error_;
            auto name = string_at(c, p, "name");
            if (!name) return error_;
            auto label = labels_.resolve(*name);
            if (!label) return fail("unknown_label", p + "/name", "category \"" + *name + "\" is not a label of the task");
            if (!categories_.emplace(*id, *label).second) return fail("duplicate_id", p + "/id", "category id " + std::to_string(*id) + " is used twice");
        }

        Json image_meta = Json::array();
        for (size_t i = 0; i < images->size(); ++i) {
            const Json& im = (*images)[i];
            std::string p = "/images/" + std::to_string(i);
            if (!im.is_object()) return bad(p, "an image object");
            auto id = integer_at(im, p, "id");
            if (!id) return error_;
            auto name = string_at(im, p, "file_name");
            if (!name) return error_;
            long long w = 0, h = 0;
            for (const char* key : {"width", "height"}) {
                if (!im.contains(key)) continue;
                auto v = integer_at(im, p, key);
                if (!v) return error_;
                if (*v < 0 || *v > 1000000) return fail("out_of_range", p + "/" + key, std::string(key) + " must be 0 to 1000000");
                (key[0] == 'w' ? w : h) = *v;
            }
            auto frame = images_.frame_of(*name, (int)w, (int)h);
            if (!frame) return fail("unknown_image", p + "/file_name", "image \"" + *name + "\" is not in the task");
            if (!image_frames_.emplace(*id, *frame).second) return fail("duplicate_id", p + "/id", "image id " + std::to_string(*id) + " is used twice");
            image_meta.push_back(im);
        }
        meta["images"] = std::move(image_meta);

        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t i = 0; i < annotations->size(); ++i) {
            if (!progress.step(i, annotations->size())) return cancelled_error();
            if (!read_annotation((*annotations)[i], "/annotations/" + std::to_string(i))) return error_;
        }
        if (traced_) notes_.add("RLE masks traced to polygons along pixel edges, simplified at a tolerance of " + number_text(options_.rle_tolerance) + " px", traced_);
        Conversion out;
        out.document = std::move(doc_);
        out.document.meta = Json{{"coco", std::move(meta)}};
        out.task = made_task(options_.task, images_, labels_, "coco");
        if (options_.task) adopt_added_labels(out, labels_);
        out.notes = notes_.list();
        return out;
    }

    // A results list (a detector's output): [{image_id, category_id, bbox | segmentation, score}].
    // With a task, image id N is its frame N-1 and category id N its label N-1 (the numbering of
    // our COCO export); without, images and labels are made, named by the number.
    Expected<Conversion> read_results(const Json& root) {
        for (const Json& a : root) {
            if (!a.is_object()) continue;
            const Json* image = member(a, "image_id");
            const Json* category = member(a, "category_id");
            if (image && image->is_number_integer() && !image_frames_.count(image->get<long long>())) {
                long long id = image->get<long long>();
                if (options_.task) {
                    if (id >= 1 && id <= options_.task->frame_count()) image_frames_.emplace(id, id - 1);
                } else if (auto frame = images_.frame_of(std::to_string(id), 0, 0)) {
                    image_frames_.emplace(id, *frame);
                }
            }
            if (category && category->is_number_integer() && !categories_.count(category->get<long long>())) {
                long long id = category->get<long long>();
                if (options_.task) {
                    if (id >= 1 && id <= (long long)options_.task->labels.size()) categories_.emplace(id, options_.task->labels[(size_t)id - 1].id);
                } else if (auto label = labels_.resolve(std::to_string(id))) {
                    categories_.emplace(id, *label);
                }
            }
        }
        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t i = 0; i < root.size(); ++i) {
            if (!progress.step(i, root.size())) return cancelled_error();
            if (!read_annotation(root[i], "/" + std::to_string(i))) return error_;
        }
        if (traced_) notes_.add("RLE masks traced to polygons along pixel edges, simplified at a tolerance of " + number_text(options_.rle_tolerance) + " px", traced_);
        Conversion out;
        std::stable_sort(doc_.objects.begin(), doc_.objects.end(), [](const Object& a, const Object& b) { return a.frame < b.frame; });
        out.document = std::move(doc_);
        out.task = made_task(options_.task, images_, labels_, "coco");
        if (options_.task) adopt_added_labels(out, labels_);
        out.notes = notes_.list();
        return out;
    }

private:
    Error fail(const std::string& code, const std::string& pointer, const std::string& message) {
        error_ = Error{code, file_ + "#" + pointer, file_ + "#" + pointer + ": " + message};
        return error_;
    }
    Error bad(const std::string& pointer, const std::string& expected) { return fail("bad_coco", pointer, "expected " + expected); }

    static const Json* member(const Json& o, const char* key) {
        auto it = o.find(key);
        return it == o.end() ? nullptr : &*it;
    }
    std::optional<long long> integer_at(const Json& o, const std::string& p, const char* key) {
        const Json* v = member(o, key);
        if (!v || !(v->is_number_integer() || v->is_number_unsigned()) || v->get<long long>() > kMaxExactInteger || v->get<long long>() < -kMaxExactInteger) {
            bad(p + "/" + key, std::string("an integer \"") + key + "\"");
            return std::nullopt;
        }
        return v->get<long long>();
    }
    std::optional<std::string> string_at(const Json& o, const std::string& p, const char* key) {
        const Json* v = member(o, key);
        if (!v || !v->is_string()) {
            bad(p + "/" + key, std::string("a string \"") + key + "\"");
            return std::nullopt;
        }
        return v->get<std::string>();
    }
    bool numbers(const Json& a, const std::string& p, std::vector<double>& out) {
        out.clear();
        if (!a.is_array()) { bad(p, "an array of numbers"); return false; }
        out.reserve(a.size());
        for (size_t k = 0; k < a.size(); ++k) {
            if (!a[k].is_number()) { bad(p + "/" + std::to_string(k), "a number"); return false; }
            out.push_back(a[k].get<double>());
        }
        return true;
    }

    bool read_annotation(const Json& a, const std::string& p) {
        if (!a.is_object()) { bad(p, "an annotation object"); return false; }
        auto image_id = integer_at(a, p, "image_id");
        if (!image_id) return false;
        auto category_id = integer_at(a, p, "category_id");
        if (!category_id) return false;
        auto frame = image_frames_.find(*image_id);
        if (frame == image_frames_.end()) { fail("unknown_image", p + "/image_id", "no image has id " + std::to_string(*image_id)); return false; }
        auto label = categories_.find(*category_id);
        if (label == categories_.end()) { fail("unknown_label", p + "/category_id", "no category has id " + std::to_string(*category_id)); return false; }
        std::string id_hint = "a" + std::to_string(next_index_++);
        if (a.contains("id")) {
            auto id = integer_at(a, p, "id");
            if (!id) return false;
            id_hint = "a" + std::to_string(*id);
        }

        Object base;
        base.frame = frame->second;
        base.label = label->second;
        base.source = Source::Imported;
        if (const Json* score = member(a, "score")) {
            if (!score->is_number()) { bad(p + "/score", "a number"); return false; }
            set_prediction_score(base, score->get<double>(), notes_);
        }
        Json meta = base.meta;
        if (const Json* iscrowd = member(a, "iscrowd")) {
            if (!iscrowd->is_number_integer() || (iscrowd->get<long long>() != 0 && iscrowd->get<long long>() != 1)) { bad(p + "/iscrowd", "0 or 1"); return false; }
            if (iscrowd->get<long long>() == 1) base.attributes.push_back({labels_.attribute_id(base.label, "iscrowd", true), true});
        }
        if (const Json* attrs = member(a, "attributes")) {
            if (!attrs->is_object()) { bad(p + "/attributes", "an object of attribute values"); return false; }
            for (auto it = attrs->begin(); it != attrs->end(); ++it) {
                const Json& v = it.value();
                if (!v.is_string() && !v.is_number() && !v.is_boolean()) { bad(p + "/attributes/" + json_pointer_escape(it.key()), "a string, number or boolean"); return false; }
                if (it.key() == "occluded" && v.is_boolean()) { base.occluded = v.get<bool>(); continue; }
                if (it.key() == "iscrowd") continue;
                base.attributes.push_back({labels_.attribute_id(base.label, it.key(), v), v});
            }
        }

        std::vector<Object> made;
        auto add = [&](ShapeType type, std::vector<double> points) {
            Object o = base;
            o.type = type;
            o.points = std::move(points);
            o.meta = meta;
            made.push_back(std::move(o));
        };
        std::vector<double> nums;
        const Json* seg = member(a, "segmentation");
        bool has_geometry = false;
        if (seg && seg->is_array()) {
            for (size_t k = 0; k < seg->size(); ++k) {
                if (!numbers((*seg)[k], p + "/segmentation/" + std::to_string(k), nums)) return false;
                if (nums.size() % 2) { bad(p + "/segmentation/" + std::to_string(k), "an even count of numbers (x, y pairs)"); return false; }
                if (nums.size() < 6) { notes_.add("COCO polygons of fewer than 3 vertices left out"); continue; }
                add(ShapeType::Polygon, nums);
                has_geometry = true;
            }
        } else if (seg && seg->is_object()) {
            if (!read_rle(*seg, p + "/segmentation", add)) return false;
            has_geometry = !made.empty();
        } else if (seg && !seg->is_null()) {
            bad(p + "/segmentation", "a list of polygons or an RLE object");
            return false;
        }
        if (!has_geometry) {
            const Json* bbox = member(a, "bbox");
            if (bbox) {
                if (!numbers(*bbox, p + "/bbox", nums)) return false;
                if (nums.size() != 4) { bad(p + "/bbox", "[x, y, width, height]"); return false; }
                if (nums[2] < 0 || nums[3] < 0) { fail("bad_box", p + "/bbox", "a box of negative width or height"); return false; }
                if (!std::isfinite(nums[0] + nums[2]) || !std::isfinite(nums[1] + nums[3])) { fail("out_of_range", p + "/bbox", "a box past the range of numbers"); return false; }
                add(ShapeType::Rectangle, {nums[0], nums[1], nums[0] + nums[2], nums[1] + nums[3]});
            }
        }
        if (const Json* kp = member(a, "keypoints"); kp && !(kp->is_array() && kp->empty())) {
            if (!numbers(*kp, p + "/keypoints", nums)) return false;
            if (nums.size() % 3) { bad(p + "/keypoints", "x, y, visibility triples"); return false; }
            std::vector<double> pts;
            Json visibility = Json::array();
            for (size_t k = 0; k < nums.size(); k += 3) {
                double v = nums[k + 2];
                if (v != 0 && v != 1 && v != 2) { bad(p + "/keypoints/" + std::to_string(k + 2), "a visibility of 0, 1 or 2"); return false; }
                pts.push_back(nums[k]);
                pts.push_back(nums[k + 1]);
                visibility.push_back((int)v);
            }
            Object o = base;
            o.type = ShapeType::Points;
            o.points = std::move(pts);
            o.meta = meta.is_null() ? Json::object() : meta;
            o.meta["visibility"] = std::move(visibility);
            made.push_back(std::move(o));
        }
        if (made.empty()) { notes_.add("COCO annotations without geometry left out"); return true; }
        std::string group = made.size() > 1 ? sanitized_id(id_hint) : std::string();
        for (Object& o : made) {
            o.id = ids_.make(id_hint);
            o.group = group;
            doc_.objects.push_back(std::move(o));
        }
        return true;
    }

    template <class Add>
    bool read_rle(const Json& rle, const std::string& p, Add& add) {
        const Json* size = member(rle, "size");
        if (!size || !size->is_array() || size->size() != 2 || !(*size)[0].is_number_unsigned() || !(*size)[1].is_number_unsigned()) {
            bad(p + "/size", "[height, width]");
            return false;
        }
        uint64_t h = (*size)[0].get<uint64_t>(), w = (*size)[1].get<uint64_t>();
        if (h > kMaxMaskPixels || w > kMaxMaskPixels || h * w > kMaxMaskPixels) {
            fail("too_large", p + "/size", "an RLE mask of more than " + std::to_string(kMaxMaskPixels) + " pixels is not read");
            return false;
        }
        const Json* counts = member(rle, "counts");
        std::vector<uint64_t> runs;
        if (counts && counts->is_string()) {
            auto decoded = decode_rle_string(counts->get_ref<const std::string&>());
            if (!decoded) { bad(p + "/counts", "a compressed RLE string (characters '0' to 'o')"); return false; }
            runs = std::move(*decoded);
        } else if (counts && counts->is_array()) {
            for (size_t k = 0; k < counts->size(); ++k) {
                if (!(*counts)[k].is_number_unsigned()) { bad(p + "/counts/" + std::to_string(k), "a run length (an integer >= 0)"); return false; }
                runs.push_back((*counts)[k].get<uint64_t>());
            }
        } else {
            bad(p + "/counts", "RLE counts: a string or a list of run lengths");
            return false;
        }
        uint64_t total = 0;
        for (uint64_t r : runs) {
            total += r;
            if (total > h * w) break;
        }
        if (total != h * w) {
            fail("bad_rle", p + "/counts", "the runs cover " + std::to_string(total) + " pixels, not height x width = " + std::to_string(h * w));
            return false;
        }
        TracedMask traced = trace_mask(mask_from_runs(runs, (uint32_t)h, (uint32_t)w), (uint32_t)h, (uint32_t)w, options_.rle_tolerance);
        ++traced_;
        if (traced.holes) notes_.add("holes in RLE masks filled (a polygon holds none)", traced.holes);
        for (auto& poly : traced.polygons) add(ShapeType::Polygon, std::move(poly));
        return true;
    }

    std::string file_;
    Error error_;
    std::unordered_map<long long, std::string> categories_;
    std::unordered_map<long long, long long> image_frames_;
    size_t next_index_ = 1, traced_ = 0;
};

// [SECTION] Export

void append_json_string(std::string& out, const std::string& s) { out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace); }

std::optional<long long> numbered_id(const std::string& id, char prefix) {
    if (id.size() < 2 || id[0] != prefix) return std::nullopt;
    for (size_t i = 1; i < id.size(); ++i)
        if (id[i] < '0' || id[i] > '9') return std::nullopt;
    return parse_integer(std::string_view(id).substr(1));
}

struct Bounds {
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    void add(const std::vector<double>& pts) {
        for (size_t i = 0; i + 1 < pts.size(); i += 2) {
            x0 = std::min(x0, pts[i]); x1 = std::max(x1, pts[i]);
            y0 = std::min(y0, pts[i + 1]); y1 = std::max(y1, pts[i + 1]);
        }
    }
    bool empty() const { return x0 > x1; }
};

double polygon_area(const std::vector<double>& p) {
    double a = 0;
    size_t n = p.size() / 2;
    for (size_t i = 0; i < n; ++i) {
        size_t j = (i + 1) % n;
        a += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
    }
    return std::abs(a) / 2;
}

}  // namespace

Expected<Conversion> import_coco(const FileSet& files, const ImportOptions& options) {
    if (files.empty()) return Error{"no_input", "", "no COCO file given"};
    const FileEntry& f = files.front();
    auto json = parse_file_json(f);
    if (!json) return json.first_error();
    if (options.progress && !options.progress(0)) return cancelled_error();
    return CocoReader(f.path, options).read(json.value());
}

Expected<Exported> export_coco(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past_task = 0;
    std::vector<std::vector<Object>> frames = shapes_per_frame(doc, task, (long long)images.size(), past_task);
    if (past_task) notes.add("objects on frames past the task's last frame left out", past_task);
    const Json* coco_meta = nullptr;
    if (doc.meta.is_object())
        if (auto it = doc.meta.find("coco"); it != doc.meta.end() && it->is_object()) coco_meta = &*it;
    auto meta_list = [&](const char* key) -> const Json* {
        if (!coco_meta) return nullptr;
        auto it = coco_meta->find(key);
        return it != coco_meta->end() && it->is_array() ? &*it : nullptr;
    };

    std::string out;
    out.reserve(1 << 20);
    out += "{";
    bool first_key = true;
    for (const char* key : {"info", "licenses"}) {
        if (!coco_meta || !coco_meta->contains(key)) continue;
        out += first_key ? "" : ",";
        first_key = false;
        append_json_string(out, key);
        out += ":" + (*coco_meta)[key].dump();
    }

    // Images: the ids and extra fields the import kept, matched by file name; new ones numbered on.
    std::unordered_map<std::string, const Json*> known_images;
    long long next_image_id = 1;
    if (const Json* list = meta_list("images"))
        for (const Json& im : *list)
            if (im.is_object() && im.contains("file_name") && im["file_name"].is_string() && im.contains("id") && im["id"].is_number_integer()) {
                known_images.emplace(im["file_name"].get<std::string>(), &im);
                next_image_id = std::max(next_image_id, im["id"].get<long long>() + 1);
            }
    std::vector<long long> image_ids(images.size());
    out += first_key ? "" : ",";
    out += "\"images\":[";
    for (size_t f = 0; f < images.size(); ++f) {
        Json record = Json::object();
        if (auto it = known_images.find(images[f].name); it != known_images.end()) record = *it->second;
        else record["id"] = next_image_id++;
        image_ids[f] = record["id"].get<long long>();
        record["file_name"] = images[f].name;
        if (images[f].width > 0 || !record.contains("width")) record["width"] = images[f].width;
        if (images[f].height > 0 || !record.contains("height")) record["height"] = images[f].height;
        if (images[f].width == 0 || images[f].height == 0) notes.add("images of unknown size written with width or height 0");
        out += f ? "," : "";
        out += record.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    out += "],\"categories\":[";
    std::unordered_map<std::string, long long> category_ids;
    std::unordered_map<std::string, const Json*> known_categories;
    long long next_category_id = 1;
    if (const Json* list = meta_list("categories"))
        for (const Json& c : *list)
            if (c.is_object() && c.contains("name") && c["name"].is_string() && c.contains("id") && c["id"].is_number_integer()) {
                known_categories.emplace(c["name"].get<std::string>(), &c);
                next_category_id = std::max(next_category_id, c["id"].get<long long>() + 1);
            }
    std::vector<std::string> label_ids;
    for (const LabelSpec& l : task.labels) label_ids.push_back(l.id);
    for (const Object& o : doc.objects)
        if (!task.find_label(o.label) && std::find(label_ids.begin(), label_ids.end(), o.label) == label_ids.end()) label_ids.push_back(o.label);
    for (const Track& t : doc.tracks)
        if (!task.find_label(t.label) && std::find(label_ids.begin(), label_ids.end(), t.label) == label_ids.end()) label_ids.push_back(t.label);
    for (size_t i = 0; i < label_ids.size(); ++i) {
        std::string name = label_name(task, label_ids[i]);
        Json record = Json::object();
        if (auto it = known_categories.find(name); it != known_categories.end()) record = *it->second;
        else record = Json{{"id", next_category_id++}, {"name", name}, {"supercategory", ""}};
        category_ids[label_ids[i]] = record["id"].get<long long>();
        out += i ? "," : "";
        out += record.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    out += "],\"annotations\":[";

    // Annotation ids: "a<N>" keeps N; the others count on from the largest.
    long long next_ann_id = 1;
    for (const Object& o : doc.objects)
        if (auto n = numbered_id(o.id, 'a')) next_ann_id = std::max(next_ann_id, *n + 1);
    std::unordered_map<long long, bool> ann_ids_used;
    bool first_ann = true;
    size_t done = 0;
    ProgressTicker progress(options.progress, 0, 1);
    for (size_t f = 0; f < frames.size(); ++f) {
        std::vector<Object>& shapes = frames[f];
        // Objects of one group, label and frame become one annotation: polygons are its
        // segmentation, a rectangle its bbox, a points object its keypoints.
        std::vector<std::vector<const Object*>> annotations;
        std::map<std::pair<std::string, std::string>, size_t> by_group;
        for (const Object& o : shapes) {
            if (!progress.step(++done, doc.objects.size() + 1)) return cancelled_error();
            if (o.type == ShapeType::Tag) { notes.add("tags left out (COCO has none)"); continue; }
            if (o.type == ShapeType::Polyline) { notes.add("polylines left out (COCO has none)"); continue; }
            if (!o.group.empty()) {
                auto key = std::make_pair(o.group, o.label);
                auto it = by_group.find(key);
                if (it != by_group.end()) {
                    auto& members = annotations[it->second];
                    size_t polygons = 0, points = 0, boxes = 0;
                    for (const Object* m : members) {
                        if (m->type == ShapeType::Points) ++points;
                        else if (m->type == ShapeType::Rectangle && m->rotation == 0) ++boxes;
                        else ++polygons;
                    }
                    bool fits = o.type == ShapeType::Points ? points == 0
                                : o.type == ShapeType::Rectangle && o.rotation == 0 ? boxes == 0 && polygons == 0
                                : boxes == 0;
                    if (fits) { members.push_back(&o); continue; }
                }
                by_group[key] = annotations.size();
            }
            annotations.push_back({&o});
        }
        for (auto& members : annotations) {
            const Object& head = *members.front();
            long long id = 0;
            if (auto n = numbered_id(head.id, 'a'); n && !ann_ids_used.count(*n)) id = *n;
            else id = next_ann_id++;
            ann_ids_used[id] = true;
            std::string seg = "[";
            Bounds bounds;
            double area = 0;
            const Object* keypoints = nullptr;
            const Object* box = nullptr;
            for (const Object* m : members) {
                std::vector<double> polygon;
                if (m->type == ShapeType::Polygon) polygon = m->points;
                else if (m->type == ShapeType::Rectangle && m->rotation != 0) { polygon = rectangle_corners(m->points, m->rotation); notes.add("rotated rectangles written as 4-vertex polygons"); }
                else if (m->type == ShapeType::Ellipse) { polygon = ellipse_polygon(m->points, m->rotation, 32); notes.add("ellipses written as 32-vertex polygons"); }
                else if (m->type == ShapeType::Rectangle) box = m;
                else if (m->type == ShapeType::Points) keypoints = m;
                if (polygon.empty()) continue;
                seg += seg.size() > 1 ? ",[" : "[";
                for (size_t k = 0; k < polygon.size(); ++k) {
                    if (k) seg += ',';
                    append_number(seg, polygon[k]);
                }
                seg += "]";
                bounds.add(polygon);
                area += polygon_area(polygon);
            }
            seg += "]";
            if (box) {
                bounds = Bounds();
                bounds.add(box->points);
                if (seg == "[]") area = (box->points[2] - box->points[0]) * (box->points[3] - box->points[1]);
            }
            if (keypoints && bounds.empty()) bounds.add(keypoints->points);
            out += first_ann ? "{" : ",{";
            first_ann = false;
            out += "\"id\":" + std::to_string(id) + ",\"image_id\":" + std::to_string(image_ids[f]) +
                   ",\"category_id\":" + std::to_string(category_ids[head.label]) + ",\"segmentation\":" + seg + ",\"area\":";
            append_number(out, area);
            out += ",\"bbox\":[";
            append_number(out, bounds.x0); out += ',';
            append_number(out, bounds.y0); out += ',';
            append_number(out, bounds.x1 - bounds.x0); out += ',';
            append_number(out, bounds.y1 - bounds.y0);
            bool crowd = false;
            Json attributes = Json::object();
            for (const Attribute& a : head.attributes) {
                if (a.id == "iscrowd" && a.value == true) crowd = true;
                else if (a.id != "iscrowd") attributes[attribute_name(task, head.label, a.id)] = a.value;
            }
            if (head.occluded) attributes["occluded"] = true;
            out += "],\"iscrowd\":";
            out += crowd ? "1" : "0";
            if (keypoints) {
                const Json* vis = nullptr;
                if (keypoints->meta.is_object())
                    if (auto it = keypoints->meta.find("visibility"); it != keypoints->meta.end() && it->is_array() && it->size() * 2 == keypoints->points.size()) vis = &*it;
                out += ",\"keypoints\":[";
                int labelled = 0;
                for (size_t k = 0; k * 2 < keypoints->points.size(); ++k) {
                    int v = vis && (*vis)[k].is_number_integer() ? (*vis)[k].get<int>() : 2;
                    labelled += v > 0;
                    if (k) out += ',';
                    append_number(out, keypoints->points[2 * k]); out += ',';
                    append_number(out, keypoints->points[2 * k + 1]); out += ',';
                    out += std::to_string(v);
                }
                out += "],\"num_keypoints\":" + std::to_string(labelled);
            }
            if (!attributes.empty()) out += ",\"attributes\":" + attributes.dump(-1, ' ', false, Json::error_handler_t::replace);
            if (auto score = prediction_score(head)) {
                out += ",\"score\":";
                append_number(out, *score);
            }
            out += "}";
        }
    }
    out += "]}";
    size_t dropped_tracks = 0;
    for (const Track& t : doc.tracks) dropped_tracks += !t.keyframes.empty();
    if (dropped_tracks) notes.add("tracks written as one annotation per frame (COCO has no tracks)", dropped_tracks);
    Exported e;
    e.files.push_back({"annotations.json", std::move(out)});
    e.notes = notes.list();
    return e;
}

}  // namespace pm::formats
