// polymark_video_probe: indexes a video file the way the browser will, reading only the byte
// ranges the VideoIndexer asks for (in chunks, as HTTP Range requests would), and prints the
// index as JSON on stdout. Exit status: 0 indexed (a file cut short in its media data too, with a
// warning on stderr), 1 the file is not indexable (the reason on stderr), 2 usage or I/O error.
//
//   polymark_video_probe [--chunk BYTES] FILE
#include "polymark/video_index.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void print_index(const pm::VideoIndex& index, uint64_t file_size, uint64_t bytes_read, uint64_t reads) {
    std::string description;
    const char* digits = "0123456789abcdef";
    for (uint8_t b : index.description) description += {digits[b >> 4], digits[b & 15]};
    std::printf("{\"container\":\"%s\",\"codec\":\"%s\",\"description\":\"%s\",\"width\":%u,\"height\":%u,"
                "\"timescale\":%u,\"duration\":%.9f,\"file_size\":%" PRIu64 ",\"bytes_read\":%" PRIu64 ",\"reads\":%" PRIu64 ","
                "\"samples\":%zu,\"frames\":[",
                index.container.c_str(), index.codec.c_str(), description.c_str(), index.coded_width, index.coded_height,
                index.timescale, index.duration_seconds, file_size, bytes_read, reads, index.samples.size());
    for (size_t n = 0; n < index.frames.size(); ++n) {
        const pm::VideoFrame& f = index.frames[n];
        const pm::VideoSample& s = index.samples[f.sample];
        std::printf("%s\n{\"pts\":%.9f,\"pts_ticks\":%" PRId64 ",\"dur\":%" PRId64 ",\"key\":%s,\"offset\":%" PRIu64
                    ",\"size\":%u,\"decode\":%u,\"decode_from\":%u}",
                    n ? "," : "", f.pts_seconds, f.pts, f.duration, s.keyframe ? "true" : "false", s.offset, s.size, f.sample,
                    f.decode_from);
    }
    std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t chunk = 1 << 20;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) {
            chunk = std::strtoull(argv[++i], nullptr, 10);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            std::fprintf(stderr, "usage: polymark_video_probe [--chunk BYTES] FILE\n");
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path || chunk == 0) {
        std::fprintf(stderr, "usage: polymark_video_probe [--chunk BYTES] FILE\n");
        return 2;
    }
    std::FILE* file = std::fopen(path, "rb");
    if (!file) {
        std::fprintf(stderr, "polymark_video_probe: cannot open %s\n", path);
        return 2;
    }
    std::fseek(file, 0, SEEK_END);
    long end = std::ftell(file);
    uint64_t file_size = end < 0 ? 0 : uint64_t(end);

    pm::VideoIndexer indexer(file_size);
    uint64_t bytes_read = 0, reads = 0;
    std::vector<uint8_t> buffer;
    while (auto need = indexer.need()) {
        // What a browser does: one ranged read of what is needed, stretched to a chunk when the
        // indexer says more bytes from there would be parsed.
        uint64_t size = std::max(need->size, std::min(need->useful_size, chunk));
        size = std::min(size, file_size - need->offset);
        buffer.resize(size_t(size));
        std::fseek(file, long(need->offset), SEEK_SET);
        size_t got = std::fread(buffer.data(), 1, buffer.size(), file);
        bytes_read += got;
        ++reads;
        indexer.feed(need->offset, buffer.data(), got);
    }
    std::fclose(file);
    if (!indexer.done()) {
        const pm::Error& e = indexer.error();
        std::fprintf(stderr, "polymark_video_probe: %s: %s [%s%s%s]\n", path, e.message.c_str(), e.code.c_str(),
                     e.path.empty() ? "" : " in ", e.path.c_str());
        return 1;
    }
    if (const auto& cut = indexer.index().truncated)
        std::fprintf(stderr, "polymark_video_probe: %s: warning: %s [%s in %s]; the frames before the cut are indexed\n", path, cut->message.c_str(),
                     cut->code.c_str(), cut->path.c_str());
    print_index(indexer.index(), file_size, bytes_read, reads);
    return 0;
}
