// A frame-exact index of the first video track of an MP4 (ISO-BMFF) or WebM/Matroska file, for
// decoding with WebCodecs: where each coded sample lies in the file, when each frame is shown,
// and which samples to feed the decoder to get frame n.
//
// Incremental: the caller asks `need()` which bytes to read, reads them (from a file, an HTTP
// Range request, ...) and `feed()`s them, until `state()` is done or failed. Only the parts the
// index needs are kept in memory: the MP4 'moov' box, WebM element headers; media payloads are
// skipped. Knows nothing of files, networks, decoders or the UI: bytes in, values out.
//
// Words and units:
//   sample  a coded frame (access unit) in decode order, the order it is stored and fed to a
//           decoder. `VideoIndex::samples[i]`.
//   frame   a presented picture. Frame n is the n-th picture shown, in presentation order, after
//           the MP4 edit list is applied. `VideoIndex::frames[n]`.
//   ticks   track time units, `VideoIndex::timescale` ticks a second (MP4: the media timescale;
//           WebM: the TimestampScale, 1000 a second by default). Seconds are ticks / timescale.
#pragma once
#include "polymark/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pm {

// A hostile file must not make the index allocate without bound: more samples than this (about
// 19 hours at 30 frames a second, ~150 MB of index), or a header box larger than this, is refused.
inline constexpr uint32_t kMaxVideoSamples = 1u << 21;
inline constexpr uint64_t kMaxVideoHeaderBytes = 64ull << 20;

struct VideoSample {
    uint64_t offset = 0;           // byte offset of the coded data in the file
    uint32_t size = 0;             // bytes of coded data
    uint32_t duration = 0;         // ticks (MP4: the stts delta; WebM: until the next block)
    int64_t decode_time = 0;       // ticks (WebM has none: equal to composition_time)
    int64_t composition_time = 0;  // ticks, before the edit list
    bool keyframe = false;         // a sync sample: decoding can start here
};

struct VideoFrame {
    int64_t pts = 0;            // presentation time in ticks, after the edit list
    double pts_seconds = 0;     // pts / timescale
    int64_t duration = 0;       // ticks until the next frame is shown; the last frame: its sample's duration
    uint32_t sample = 0;        // index into VideoIndex::samples (its decode order position)
    uint32_t decode_from = 0;   // the keyframe sample decoding must start from to get this frame
};

struct VideoIndex {
    std::string container;                 // "mp4" or "webm" ("matroska" for other Matroska files)
    std::string codec;                     // WebCodecs codec string: "avc1.64001f", "vp09.00.20.08", "vp8", ...
    std::vector<uint8_t> description;      // WebCodecs `description`: avcC / hvcC / av1C bytes; empty for VP8/VP9
    uint32_t coded_width = 0, coded_height = 0;
    uint32_t timescale = 0;                // ticks a second
    double duration_seconds = 0;           // end of the last frame
    std::vector<VideoSample> samples;      // decode order
    std::vector<VideoFrame> frames;        // presentation order
    // Set when the file ends before its media data does (a download or a recording cut short):
    // the frames whose samples lie inside the file still decode. MP4 keeps every sample its
    // tables describe (those past the end cannot be read: see sample_in_file); WebM keeps the
    // blocks before the cut.
    std::optional<Error> truncated;
    uint64_t file_size = 0;
};

// Whether every byte of the sample lies inside the file (false past the cut of a truncated file).
inline bool sample_in_file(const VideoIndex& index, const VideoSample& s) {
    return s.offset <= index.file_size && s.size <= index.file_size - s.offset;
}

// The samples to feed a decoder, in decode order, to get frame n: samples[first..last] inclusive,
// starting at a keyframe, then flush. The decoder also outputs the other frames of that run;
// match outputs to frames by timestamp.
struct DecodeRange {
    uint32_t first = 0;
    uint32_t last = 0;
};
DecodeRange samples_to_decode(const VideoIndex& index, size_t frame);

// The frame shown at `seconds` (the last frame whose pts is not after it); nullopt before the
// first frame or for an empty index.
std::optional<size_t> frame_at_time(const VideoIndex& index, double seconds);

enum class IndexerState { need_bytes, done, failed };

class VideoIndexer {
public:
    // A byte range to read next. `size` bytes are needed; reading up to `useful_size` bytes in
    // one go saves round trips (the indexer will parse them); any more is read-ahead it may keep
    // but will not use. Both stop at the end of the file.
    struct Need {
        uint64_t offset = 0;
        uint64_t size = 0;
        uint64_t useful_size = 0;
    };

    explicit VideoIndexer(uint64_t file_size);
    ~VideoIndexer();
    VideoIndexer(VideoIndexer&&) noexcept;
    VideoIndexer& operator=(VideoIndexer&&) noexcept;

    // What to read next; nullopt once done or failed.
    std::optional<Need> need() const;
    // Hands over bytes starting exactly at need()->offset: fewer than asked (the indexer then asks
    // for the rest) or more (kept until parsed past). Other offsets fail with "unexpected_range".
    IndexerState feed(uint64_t offset, const uint8_t* data, size_t size);
    IndexerState state() const;
    bool done() const { return state() == IndexerState::done; }
    // Valid once done().
    const VideoIndex& index() const;
    // Valid once failed: a code ("empty_file", "truncated", "corrupt", "unsupported",
    // "unknown_format", "too_large", "no_video_track", "unexpected_range"), `path` names the box or element
    // ("moov/trak/mdia/minf/stbl/stsz", "Segment/Cluster/SimpleBlock"), and the message names
    // it and its byte offset.
    const Error& error() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Indexes a whole file already in memory (tests, small files).
Expected<VideoIndex> index_video(const uint8_t* data, size_t size);

}  // namespace pm
