// libFuzzer target: one importer (POLYMARK_FUZZ_FORMAT) fed arbitrary bytes, with and without a
// task; whatever it accepts must be a valid document that its made task accepts, and must export
// to every format without crashing. Built by tests/fuzz/run.sh under ASan and UBSan.
#include "polymark/document.hpp"
#include "polymark/formats/formats.hpp"
#include "polymark/task.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

// The input as the importer's files: YOLO takes "data.yaml \0 labels of img1 \0 labels of img2",
// MOT "seqinfo.ini \0 gt/gt.txt \0 gt/labels.txt".
pm::FileSet files_of(const std::string& input, pm::AnnotationFormat format) {
    if (format != pm::AnnotationFormat::Yolo && format != pm::AnnotationFormat::Mot) return {{"input", input}};
    pm::FileSet files;
    const char* yolo[] = {"data.yaml", "labels/img1.txt", "labels/img2.txt"};
    const char* mot[] = {"seqinfo.ini", "gt/gt.txt", "gt/labels.txt"};
    const char** names = format == pm::AnnotationFormat::Yolo ? yolo : mot;
    size_t b = 0;
    for (int i = 0; i < 3 && b <= input.size(); ++i) {
        size_t e = input.find('\0', b);
        if (e == std::string::npos) e = input.size();
        files.push_back({names[i], input.substr(b, e - b)});
        b = e + 1;
    }
    return files;
}

const pm::Task& fixture_task() {
    static pm::Task task = [] {
        pm::Task t;
        t.id = "fuzz";
        t.media = {{"img1", pm::MediaType::Image, "img1.jpg", "img1.jpg", 640, 480, 1, 0},
                   {"img2", pm::MediaType::Image, "img2.jpg", "img2.jpg", 7, 3, 1, 0}};
        t.labels = {{"person", "person", "", {}, {}}, {"car", "car", "", {}, {}}};
        return t;
    }();
    return task;
}

constexpr long long kLongTaskFrames = 1000;

void check(const pm::Expected<pm::Conversion>& c, bool made_task) {
    if (!c) {
        if (c.errors().empty() || c.first_error().code.empty()) std::abort();  // an error must say what
        return;
    }
    auto reread = pm::document_from_json(pm::document_to_json(c->document));
    if (!reread) std::abort();  // an importer produced a document the reader refuses
    if (made_task && !c->task.media.empty() && !pm::check_document_against_task(c->document, c->task).empty()) std::abort();
    // COCO, YOLO, VOC, LabelMe and VIA write one file or entry per image, MOT one row per frame of
    // each track: a video of a million frames costs a million of them by design (noted in
    // docs/FORMATS.md), which is not worth the fuzzer's time. Every other format is exported
    // whatever the length.
    const bool long_task = c->task.frame_count() > kLongTaskFrames;
    for (pm::AnnotationFormat to : pm::all_annotation_formats()) {
        if (long_task && (to == pm::AnnotationFormat::Coco || to == pm::AnnotationFormat::Yolo || to == pm::AnnotationFormat::Voc || to == pm::AnnotationFormat::LabelMe ||
                          to == pm::AnnotationFormat::Via || to == pm::AnnotationFormat::Mot))
            continue;
        auto out = pm::export_annotations(to, c->document, c->task);
        (void)out;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 1 << 20) return 0;
    std::string input(reinterpret_cast<const char*>(data), size);
    pm::AnnotationFormat format = *pm::annotation_format_from_string(POLYMARK_FUZZ_FORMAT);
    pm::FileSet files = files_of(input, format);
    pm::ImportOptions options;
    options.rle_tolerance = size % 2 ? 0.0 : 0.5;
    if (format != pm::AnnotationFormat::Yolo) check(pm::import_annotations(format, files, options), true);
    options.task = &fixture_task();
    auto whole = pm::import_annotations(format, files, options);
    check(whole, false);
    (void)pm::detect_annotation_format(files);
    // The same bytes handed over in pieces (a big file from the command line) give the same outcome.
    if (format == pm::AnnotationFormat::Coco && size > 0) {
        size_t piece = 1 + data[0] % 13, at = std::min(size, piece);
        pm::FileEntry f("input", input.substr(0, at));
        f.more = [&](char* out, size_t capacity) {
            size_t n = std::min({capacity, piece, size - at});
            std::copy(input.data() + at, input.data() + at + n, out);
            at += n;
            return n;
        };
        auto pieces = pm::import_annotations(format, {f}, options);
        if (bool(pieces) != bool(whole)) std::abort();
        if (pieces && pieces->document.objects != whole->document.objects) std::abort();
        if (!pieces && pieces.first_error().code != whole.first_error().code) std::abort();
    }
    return 0;
}
