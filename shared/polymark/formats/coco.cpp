// COCO instances JSON (docs/FORMATS.md, "COCO"): images → frames, categories → labels,
// annotations → objects (polygons, RLE traced to polygons, boxes, keypoints as points).
#include "polymark/formats/format_common.hpp"
#include "polymark/formats/format_readers.hpp"
#include "polymark/formats/mask.hpp"
#include "polymark/json_stream.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace pm::formats {

namespace {

// Annotations are read as they come and their image and category ids resolved once the whole file
// is read: COCO files often list the categories last.
class CocoReader : ImportState {
public:
    CocoReader(const std::string& file, const ImportOptions& options)
        : ImportState(options), file_(file) {}

    Expected<Conversion> read(JsonStream& in) {
        stream_ = &in;
        char first = in.peek();
        if (first == '[') return read_results(in);
        if (first != '{') {
            in.skip_value();
            if (in.error() || !in.finish()) return not_json(in);
            return bad("", "a COCO dataset: an object with \"images\", \"annotations\" and \"categories\"");
        }
        prefix_ = "/annotations/";
        Json meta = Json::object();
        bool have_categories = false, have_images = false, have_annotations = false;
        in.begin_object();
        while (auto key = in.next_key()) {
            if (*key == "annotations") {
                if (have_annotations) return fail("bad_coco", "/annotations", "\"annotations\" is given twice");
                have_annotations = true;
                if (in.peek() != '[') {
                    in.skip_value();
                    if (in.error()) return not_json(in);
                    return bad("/annotations", "an array of annotations");
                }
                in.begin_array();
                annotations_from_ = in.offset();
                for (size_t i = 0; in.next_element(); ++i) {
                    if (size_t used = read_plain_annotation(in.held(), i)) {
                        in.advance(used);
                    } else {
                        if (!error_.code.empty()) return error_;
                        std::string_view text = in.take_value();
                        if (in.error()) return not_json(in);
                        auto value = parse_part(text, prefix_ + std::to_string(i));
                        if (!value || !read_annotation(*value, i)) return error_;
                    }
                    if ((i & 4095) == 0 && options_.progress && !options_.progress(in.fraction())) return cancelled_error();
                }
                if (in.error()) return not_json(in);
                continue;
            }
            bool wanted = *key == "categories" || *key == "images" || *key == "info" || *key == "licenses";
            std::string_view text = in.take_value();
            if (in.error()) return not_json(in);
            if (!wanted) continue;
            auto value = parse_part(text, "/" + *key);
            if (!value) return error_;
            if (*key == "categories") {
                if (have_categories) return fail("bad_coco", "/categories", "\"categories\" is given twice");
                have_categories = true;
                if (!value->is_array()) return bad("/categories", "an array of categories");
                if (!read_categories(*value)) return error_;
                meta["categories"] = std::move(*value);
                if (have_images && !resolve_ids()) return error_;
            } else if (*key == "images") {
                if (have_images) return fail("bad_coco", "/images", "\"images\" is given twice");
                have_images = true;
                if (!value->is_array()) return bad("/images", "an array of images");
                if (!read_images(*value)) return error_;
                meta["images"] = std::move(*value);
                if (have_categories && !resolve_ids()) return error_;
            } else {
                meta[*key] = std::move(*value);
            }
        }
        if (in.error() || !in.finish()) return not_json(in);
        if (!have_categories) return bad("/categories", "an array of categories");
        if (!have_images) return bad("/images", "an array of images");
        if (!have_annotations) return bad("/annotations", "an array of annotations");
        if (!resolve_ids()) return error_;
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
    Expected<Conversion> read_results(JsonStream& in) {
        std::string_view text = in.take_value();
        if (in.error()) return not_json(in);
        auto parsed = parse_part(text, "");
        if (!parsed) return error_;
        if (!in.finish()) return not_json(in);
        const Json& root = *parsed;
        prefix_ = "/";
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
        ids_known_ = true;
        ProgressTicker progress(options_.progress, 0, 1);
        for (size_t i = 0; i < root.size(); ++i) {
            if (!progress.step(i, root.size())) return cancelled_error();
            if (!read_annotation(root[i], i)) return error_;
        }
        if (!resolve_ids()) return error_;
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
    // An annotation read before its image and category are known: its objects are
    // doc_.objects[first, first + count), their frame and label set by resolve_ids().
    struct Unresolved {
        long long image_id, category_id;
        size_t annotation, first, count;
    };

    Error fail(const std::string& code, const std::string& pointer, const std::string& message) {
        error_ = Error{code, file_ + "#" + pointer, file_ + "#" + pointer + ": " + message};
        return error_;
    }
    Error bad(const std::string& pointer, const std::string& expected) { return fail("bad_coco", pointer, "expected " + expected); }
    Error not_json(const JsonStream& in) {
        Error e = in.error() ? *in.error() : Error{"not_json", "", file_ + " is not valid JSON"};
        error_ = Error{e.code, file_ + "#" + e.path, file_ + ": " + e.message};
        return error_;
    }
    // One value's text, parsed; its errors' pointers start at `pointer`.
    std::optional<Json> parse_part(std::string_view text, const std::string& pointer) {
        auto json = parse_json_text(text, file_);
        if (json) return std::move(json.value());
        Error e = json.first_error();
        error_ = Error{e.code, file_ + "#" + pointer + e.path, file_ + "#" + pointer + e.path + ": " + e.message};
        return std::nullopt;
    }

    bool read_categories(const Json& categories) {
        for (size_t i = 0; i < categories.size(); ++i) {
            const Json& c = categories[i];
            std::string p = "/categories/" + std::to_string(i);
            if (!c.is_object()) { bad(p, "a category object"); return false; }
            auto id = integer_at(c, p, "id");
            if (!id) return false;
            auto name = string_at(c, p, "name");
            if (!name) return false;
            auto label = labels_.resolve(*name);
            if (!label) { fail("unknown_label", p + "/name", "category \"" + *name + "\" is not a label of the task"); return false; }
            if (!categories_.emplace(*id, *label).second) { fail("duplicate_id", p + "/id", "category id " + std::to_string(*id) + " is used twice"); return false; }
        }
        return true;
    }

    bool read_images(const Json& images) {
        images_.reserve(images.size());
        image_frames_.reserve(images.size());
        for (size_t i = 0; i < images.size(); ++i) {
            const Json& im = images[i];
            std::string p = "/images/" + std::to_string(i);
            if (!im.is_object()) { bad(p, "an image object"); return false; }
            auto id = integer_at(im, p, "id");
            if (!id) return false;
            auto name = string_at(im, p, "file_name");
            if (!name) return false;
            long long w = 0, h = 0;
            for (const char* key : {"width", "height"}) {
                if (!im.contains(key)) continue;
                auto v = integer_at(im, p, key);
                if (!v) return false;
                if (*v < 0 || *v > 1000000) { fail("out_of_range", p + "/" + key, std::string(key) + " must be 0 to 1000000"); return false; }
                (key[0] == 'w' ? w : h) = *v;
            }
            auto frame = images_.frame_of(*name, (int)w, (int)h);
            if (!frame) { fail("unknown_image", p + "/file_name", "image \"" + *name + "\" is not in the task"); return false; }
            if (!image_frames_.emplace(*id, *frame).second) { fail("duplicate_id", p + "/id", "image id " + std::to_string(*id) + " is used twice"); return false; }
        }
        return true;
    }

    bool resolve(const Unresolved& u) {
        auto frame = image_frames_.find(u.image_id);
        if (frame == image_frames_.end()) { fail("unknown_image", prefix_ + std::to_string(u.annotation) + "/image_id", "no image has id " + std::to_string(u.image_id)); return false; }
        auto label = categories_.find(u.category_id);
        if (label == categories_.end()) { fail("unknown_label", prefix_ + std::to_string(u.annotation) + "/category_id", "no category has id " + std::to_string(u.category_id)); return false; }
        for (size_t k = u.first; k < u.first + u.count; ++k) {
            Object& o = doc_.objects[k];
            o.frame = frame->second;
            o.label = label->second;
            for (Attribute& a : o.attributes) a.id = labels_.attribute_id(o.label, a.id, a.value);
        }
        return true;
    }
    bool resolve_ids() {
        for (const Unresolved& u : unresolved_)
            if (!resolve(u)) return false;
        unresolved_.clear();
        ids_known_ = true;
        return true;
    }

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

    // The checks and notes one polygon of a segmentation list and a bbox get, however read.
    // A polygon too small is left out (false, no error); error_ says when it is malformed.
    bool polygon_fits(const std::vector<double>& nums, const std::string& p) {
        if (nums.size() % 2) { bad(p, "an even count of numbers (x, y pairs)"); return false; }
        if (nums.size() < 6) notes_.add("COCO polygons of fewer than 3 vertices left out");
        return nums.size() >= 6;
    }
    std::optional<std::vector<double>> box_from_bbox(const std::vector<double>& nums, const std::string& p) {
        if (nums.size() != 4) { bad(p, "[x, y, width, height]"); return std::nullopt; }
        if (nums[2] < 0 || nums[3] < 0) { fail("bad_box", p, "a box of negative width or height"); return std::nullopt; }
        if (!std::isfinite(nums[0] + nums[2]) || !std::isfinite(nums[1] + nums[3])) { fail("out_of_range", p, "a box past the range of numbers"); return std::nullopt; }
        return std::vector<double>{nums[0], nums[1], nums[0] + nums[2], nums[1] + nums[3]};
    }

    // Adds an annotation's objects (one group when several), their image and category resolved
    // now when the images and categories have been read, else remembered to resolve at the end.
    bool add_objects(std::vector<Object>& made, long long image_id, long long category_id, size_t index, const std::string& id_hint) {
        if (made.empty()) notes_.add("COCO annotations without geometry left out");
        std::string group = made.size() > 1 ? sanitized_id(id_hint) : std::string();
        std::vector<Object>& objects = doc_.objects;
        size_t read = stream_ ? stream_->offset() - annotations_from_ : 0;
        size_t all = stream_ && stream_->total_size() > annotations_from_ ? stream_->total_size() - annotations_from_ : 0;
        if (objects.size() + made.size() > objects.capacity() && all && read > all / 50) {
            // Grown to what the rest of the annotations likely hold: doubling would briefly hold 3x.
            size_t likely = size_t(double(objects.size()) * double(all) / double(read) * 1.03) + 1024;
            objects.reserve(std::max(likely, objects.size() + objects.size() / 4 + made.size()));
        }
        Unresolved u{image_id, category_id, index, objects.size(), made.size()};
        for (Object& o : made) {
            o.id = ids_.make(id_hint);
            o.group = group;
            objects.push_back(std::move(o));
        }
        if (ids_known_) return resolve(u);
        unresolved_.push_back(u);
        return true;
    }

    // The usual annotation (ids, a list of polygons, a bbox, its area, iscrowd 0, a score) read
    // straight from the held text: the bytes it took, or 0 for any other (an RLE mask, keypoints,
    // attributes, a value out of the ordinary, one running past the held text), which the careful
    // reader then takes and says what is wrong with. Its grammar is a strict subset of JSON's.
    size_t read_plain_annotation(std::string_view s, size_t index) {
        size_t i = 0;
        auto space = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i; };
        auto take = [&](char c) { space(); if (i < s.size() && s[i] == c) { ++i; return true; } return false; };
        auto number = [&](double& out, bool& integer) {
            space();
            size_t used = json_number_prefix(s.substr(i), out, integer);
            i += used;
            return used > 0;
        };
        auto integer_value = [&](long long& out) {
            double v;
            bool integer;
            if (!number(v, integer) || !integer || std::abs(v) > double(kMaxExactInteger)) return false;
            out = (long long)v;
            return true;
        };
        auto number_list = [&](std::vector<double>& out) {
            scratch_.clear();
            if (!take('[')) return false;
            if (!take(']')) {
                do {
                    double v;
                    bool integer;
                    if (!number(v, integer)) return false;
                    scratch_.push_back(v);
                } while (take(','));
                if (!take(']')) return false;
            }
            out.assign(scratch_.begin(), scratch_.end());
            return true;
        };

        long long image_id = 0, category_id = 0, id = 0, iscrowd = 0;
        double score = 0, area = 0;
        bool integer = false;
        std::vector<std::vector<double>> polygons;
        std::vector<double> bbox;
        unsigned seen = 0;
        constexpr unsigned kId = 1, kImage = 2, kCategory = 4, kSegmentation = 8, kBbox = 16, kArea = 32, kCrowd = 64, kScore = 128;
        if (!take('{')) return 0;
        if (!take('}')) {
            do {
                space();
                if (i >= s.size() || s[i] != '"') return 0;
                size_t end = s.find('"', i + 1);
                if (end == std::string_view::npos || end - i > 16) return 0;
                std::string_view key = s.substr(i + 1, end - i - 1);
                i = end + 1;
                if (!take(':')) return 0;
                unsigned bit = key == "id" ? kId : key == "image_id" ? kImage : key == "category_id" ? kCategory
                             : key == "segmentation" ? kSegmentation : key == "bbox" ? kBbox : key == "area" ? kArea
                             : key == "iscrowd" ? kCrowd : key == "score" ? kScore : 0;
                if (bit == 0 || (seen & bit)) return 0;
                seen |= bit;
                bool ok = false;
                switch (bit) {
                    case kId: ok = integer_value(id); break;
                    case kImage: ok = integer_value(image_id); break;
                    case kCategory: ok = integer_value(category_id); break;
                    case kCrowd: ok = integer_value(iscrowd) && iscrowd == 0; break;
                    case kArea: ok = number(area, integer); break;
                    case kScore: ok = number(score, integer); break;
                    case kBbox: ok = number_list(bbox); break;
                    case kSegmentation:
                        space();
                        if (s.substr(i, 4) == "null") { i += 4; ok = true; seen &= ~kSegmentation; break; }
                        if (!take('[')) break;
                        ok = true;
                        if (take(']')) break;
                        do {
                            polygons.emplace_back();
                            ok = number_list(polygons.back());
                        } while (ok && take(','));
                        ok = ok && take(']');
                        break;
                }
                if (!ok) return 0;
            } while (take(','));
            if (!take('}')) return 0;
        }
        if (!(seen & kImage) || !(seen & kCategory)) return 0;

        std::string p = prefix_ + std::to_string(index);
        std::string id_hint = "a" + std::to_string(next_index_++);
        if (seen & kId) id_hint = "a" + std::to_string(id);
        Object base;
        base.source = Source::Imported;
        if (seen & kScore) set_prediction_score(base, score, notes_);
        std::vector<Object> made;
        for (size_t k = 0; k < polygons.size(); ++k) {
            if (!polygon_fits(polygons[k], p + "/segmentation/" + std::to_string(k))) {
                if (!error_.code.empty()) return 0;
                continue;
            }
            made.push_back(base);
            made.back().type = ShapeType::Polygon;
            made.back().points = std::move(polygons[k]);
        }
        if (made.empty() && (seen & kBbox)) {
            auto box = box_from_bbox(bbox, p + "/bbox");
            if (!box) return 0;
            made.push_back(std::move(base));
            made.back().type = ShapeType::Rectangle;
            made.back().points = std::move(*box);
        }
        return add_objects(made, image_id, category_id, index, id_hint) ? i : 0;
    }

    bool read_annotation(const Json& a, size_t index) {
        std::string p = prefix_ + std::to_string(index);
        if (!a.is_object()) { bad(p, "an annotation object"); return false; }
        auto image_id = integer_at(a, p, "image_id");
        if (!image_id) return false;
        auto category_id = integer_at(a, p, "category_id");
        if (!category_id) return false;
        std::string id_hint = "a" + std::to_string(next_index_++);
        if (a.contains("id")) {
            auto id = integer_at(a, p, "id");
            if (!id) return false;
            id_hint = "a" + std::to_string(*id);
        }

        // Attributes carry their names until resolve_ids() knows the label.
        Object base;
        base.source = Source::Imported;
        if (const Json* score = member(a, "score")) {
            if (!score->is_number()) { bad(p + "/score", "a number"); return false; }
            set_prediction_score(base, score->get<double>(), notes_);
        }
        Json meta = base.meta;
        if (const Json* iscrowd = member(a, "iscrowd")) {
            if (!iscrowd->is_number_integer() || (iscrowd->get<long long>() != 0 && iscrowd->get<long long>() != 1)) { bad(p + "/iscrowd", "0 or 1"); return false; }
            if (iscrowd->get<long long>() == 1) base.attributes.push_back({"iscrowd", true});
        }
        if (const Json* attrs = member(a, "attributes")) {
            if (!attrs->is_object()) { bad(p + "/attributes", "an object of attribute values"); return false; }
            for (auto it = attrs->begin(); it != attrs->end(); ++it) {
                const Json& v = it.value();
                if (!v.is_string() && !v.is_number() && !v.is_boolean()) { bad(p + "/attributes/" + json_pointer_escape(it.key()), "a string, number or boolean"); return false; }
                if (it.key() == "occluded" && v.is_boolean()) { base.occluded = v.get<bool>(); continue; }
                if (it.key() == "iscrowd") continue;
                base.attributes.push_back({it.key(), v});
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
                std::string pk = p + "/segmentation/" + std::to_string(k);
                if (!numbers((*seg)[k], pk, nums)) return false;
                if (!polygon_fits(nums, pk)) {
                    if (!error_.code.empty()) return false;
                    continue;
                }
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
            if (const Json* bbox = member(a, "bbox")) {
                if (!numbers(*bbox, p + "/bbox", nums)) return false;
                auto box = box_from_bbox(nums, p + "/bbox");
                if (!box) return false;
                add(ShapeType::Rectangle, std::move(*box));
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
        return add_objects(made, *image_id, *category_id, index, id_hint);
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
    std::string prefix_;  // of an annotation's pointer: "/annotations/" or "/" (a results list)
    Error error_;
    std::vector<Unresolved> unresolved_;
    bool ids_known_ = false;  // images and categories read: annotations resolve as they come
    const JsonStream* stream_ = nullptr;
    size_t annotations_from_ = 0;  // where the list of annotations starts in the text
    std::vector<double> scratch_;
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
    if (options.progress && !options.progress(0)) return cancelled_error();
    JsonStream in(f.bytes, f.more, f.path, f.size);
    return CocoReader(f.path, options).read(in);
}

Expected<Exported> export_coco(const Document& doc, const Task& task, const ExportOptions& options) {
    Notes notes;
    std::vector<FrameImage> images = frame_images(task);
    size_t past_task = 0;
    FrameShapes frames = shapes_per_frame(doc, task, (long long)images.size(), past_task);
    if (past_task) notes.add("objects on frames past the task's last frame left out", past_task);
    const Json* coco_meta = nullptr;
    if (doc.meta.is_object())
        if (auto it = doc.meta.find("coco"); it != doc.meta.end() && it->is_object()) coco_meta = &*it;
    auto meta_list = [&](const char* key) -> const Json* {
        if (!coco_meta) return nullptr;
        auto it = coco_meta->find(key);
        return it != coco_meta->end() && it->is_array() ? &*it : nullptr;
    };

    // About what the text takes (a number ~8 characters, an annotation's keys ~160): growing by
    // doubling would briefly hold three times the file.
    size_t likely = (size_t(1) << 20) + images.size() * 96;
    for (const Object& o : doc.objects) likely += 160 + o.points.size() * 8;
    std::string out;
    out.reserve(likely);
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
        const auto& shapes = frames[f];
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
