#include "polymark/video_index.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace pm {

namespace {

// [SECTION] Bytes and names

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be24(const uint8_t* p) { return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]; }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint64_t be64(const uint8_t* p) { return uint64_t(be32(p)) << 32 | be32(p + 4); }

constexpr uint32_t fourcc(const char (&s)[5]) {
    return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 | uint32_t(uint8_t(s[2])) << 8 |
           uint32_t(uint8_t(s[3]));
}

std::string fourcc_name(uint32_t type) {
    std::string name;
    for (int shift = 24; shift >= 0; shift -= 8) {
        char c = char((type >> shift) & 0xFF);
        name += (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    return name;
}

// Text from the file, fit for a message: printable ASCII only, and not too long.
std::string printable(const std::string& text) {
    std::string out;
    for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
    return text.size() > 64 ? out + "..." : out;
}

std::string hex_byte(uint8_t b, bool upper = false) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
}

std::string two_digits(unsigned v) {
    std::string s = std::to_string(v);
    return s.size() < 2 ? "0" + s : s;
}

std::string at_offset(uint64_t offset) { return "at offset " + std::to_string(offset); }

// a * b / c rounded to nearest, saturating instead of overflowing (edit durations between timescales).
int64_t rescale(uint64_t a, uint32_t b, uint32_t c) {
    if (c == 0) return 0;
    uint64_t whole = a / c, rest = a % c;
    if (whole > uint64_t(std::numeric_limits<int64_t>::max()) / (uint64_t(b) + 1)) return std::numeric_limits<int64_t>::max();
    return int64_t(whole * b + (rest * b + c / 2) / c);
}

// Times beyond 2^53 ticks (over 28 years at 10 MHz) are refused, so sums of them never overflow.
constexpr int64_t kMaxTicks = int64_t(1) << 53;

// [SECTION] Codec strings (WebCodecs registry: avc1.PPCCLL, hvc1.*, vp09.PP.LL.DD, av01.P.LLT.DD)

std::string avc_codec(uint32_t entry, const std::vector<uint8_t>& avcc) {
    return fourcc_name(entry) + "." + hex_byte(avcc[1]) + hex_byte(avcc[2]) + hex_byte(avcc[3]);
}

std::string hevc_codec(uint32_t entry, const std::vector<uint8_t>& hvcc) {
    unsigned profile_space = hvcc[1] >> 6, tier = (hvcc[1] >> 5) & 1, profile_idc = hvcc[1] & 31;
    uint32_t compat = be32(&hvcc[2]), reversed = 0;
    for (int bit = 0; bit < 32; ++bit)
        if (compat & (1u << bit)) reversed |= 1u << (31 - bit);
    std::string s = fourcc_name(entry) + ".";
    if (profile_space > 0) s += char('A' + profile_space - 1);
    s += std::to_string(profile_idc) + ".";
    const char* digits = "0123456789ABCDEF";
    std::string compat_hex;
    for (int shift = 28; shift >= 0; shift -= 4) compat_hex += digits[(reversed >> shift) & 15];
    compat_hex.erase(0, std::min(compat_hex.find_first_not_of('0'), compat_hex.size() - 1));
    s += compat_hex + "." + (tier ? "H" : "L") + std::to_string(hvcc[12]);
    int last = 5;
    while (last >= 0 && hvcc[6 + last] == 0) --last;
    for (int i = 0; i <= last; ++i) s += "." + hex_byte(hvcc[6 + i], true);
    return s;
}

std::string vp9_codec(unsigned profile, unsigned level, unsigned bit_depth) {
    return "vp09." + two_digits(profile) + "." + two_digits(level) + "." + two_digits(bit_depth);
}

// The lowest VP9 level whose picture size limit holds width x height; files rarely say it.
unsigned vp9_level_for(uint32_t width, uint32_t height) {
    static const std::pair<uint64_t, unsigned> limits[] = {
        {36864, 10}, {73728, 11}, {122880, 20}, {245760, 21}, {552960, 30}, {983040, 31},
        {2228224, 40}, {8912896, 50}, {35651584, 60}};
    uint64_t samples = uint64_t(width) * height;
    for (const auto& [max_samples, level] : limits)
        if (samples <= max_samples) return level;
    return 62;
}

std::string av1_codec(const std::vector<uint8_t>& av1c) {
    unsigned profile = av1c[1] >> 5, level = av1c[1] & 31, tier = av1c[2] >> 7;
    unsigned high_bitdepth = (av1c[2] >> 6) & 1, twelve_bit = (av1c[2] >> 5) & 1;
    unsigned bit_depth = high_bitdepth ? (twelve_bit ? 12 : 10) : 8;
    return "av01." + std::to_string(profile) + "." + two_digits(level) + (tier ? "H" : "M") + "." + two_digits(bit_depth);
}

// [SECTION] MP4 boxes held in memory

struct Box {
    uint32_t type = 0;
    const uint8_t* body = nullptr;  // after the header
    uint64_t body_size = 0;
    uint64_t offset = 0;            // file offset of the box header
    std::string path;               // "moov/trak/mdia"
};

// Walks the boxes inside a parent already in memory; stops at the parent's end or the first
// malformed child (then `error` says which and where).
class BoxReader {
public:
    BoxReader(const uint8_t* data, uint64_t size, uint64_t base, std::string path)
        : data_(data), size_(size), base_(base), path_(std::move(path)) {}

    bool next(Box& box) {
        if (error || at_ >= size_) return false;
        uint64_t left = size_ - at_, offset = base_ + at_;
        const uint8_t* p = data_ + at_;
        if (left < 8) return broken("a box header " + at_offset(offset) + " inside '" + path_ + "' is cut off: " + std::to_string(left) + " bytes left");
        uint64_t size = be32(p), header = 8;
        uint32_t type = be32(p + 4);
        if (size == 1) {
            if (left < 16) return broken("box '" + fourcc_name(type) + "' " + at_offset(offset) + " has a 64-bit size cut off");
            size = be64(p + 8);
            header = 16;
        } else if (size == 0) {
            size = left;
        }
        if (type == fourcc("uuid")) header += 16;
        std::string name = path_.empty() ? fourcc_name(type) : path_ + "/" + fourcc_name(type);
        if (size < header || size > left)
            return broken("box '" + name + "' " + at_offset(offset) + " claims " + std::to_string(size) + " bytes, but " +
                                      (size < header ? "its header alone is " + std::to_string(header) : "its parent ends after " + std::to_string(left)));
        box.type = type;
        box.body = p + header;
        box.body_size = size - header;
        box.offset = offset;
        box.path = std::move(name);
        at_ += size;
        return true;
    }

    std::optional<Error> error;

private:
    const uint8_t* data_;
    uint64_t size_, base_;
    std::string path_;
    uint64_t at_ = 0;

    bool broken(std::string message) {
        error = Error{"corrupt", path_, std::move(message)};
        return false;
    }
};

struct TableView {
    const uint8_t* entries = nullptr;
    uint32_t count = 0;
    uint64_t offset = 0;  // file offset of the box, for messages
    bool present = false;
    int version = 0;
};

struct RawEdit {
    uint64_t segment_duration = 0;  // movie timescale
    int64_t media_time = 0;         // media timescale; -1 = empty edit
    int16_t rate = 1;
};

struct TrackDefaults {  // trex
    uint32_t track_id = 0, duration = 0, size = 0, flags = 0;
};

struct Mp4Track {
    uint32_t id = 0, handler = 0, timescale = 0;
    uint32_t entry_type = 0, config_type = 0;
    uint64_t entry_offset = 0;
    uint16_t width = 0, height = 0;
    std::vector<uint8_t> config;
    bool has_edit_list = false;
    std::vector<RawEdit> edits;
    TableView stts, ctts, stss, stsz, stsc, stco;
    uint32_t constant_sample_size = 0;
    int sample_size_bits = 32;  // stz2 packs 4, 8 or 16 bits a sample
    bool co64 = false;
};

// The edit list in media ticks.
struct Edit {
    int64_t media_time = 0;  // -1: empty (shifts what follows)
    int64_t duration = 0;    // 0: to the end of the media
};

// [SECTION] EBML (WebM/Matroska)

namespace ebml {
constexpr uint32_t kHeader = 0x1A45DFA3, kDocType = 0x4282;
constexpr uint32_t kSegment = 0x18538067, kSeekHead = 0x114D9B74, kInfo = 0x1549A966, kTracks = 0x1654AE6B,
                   kCluster = 0x1F43B675, kCues = 0x1C53BB6B, kTags = 0x1254C367;
constexpr uint32_t kTimestampScale = 0x2AD7B1, kDuration = 0x4489;
constexpr uint32_t kTrackEntry = 0xAE, kTrackNumber = 0xD7, kTrackType = 0x83, kCodecId = 0x86,
                   kCodecPrivate = 0x63A2, kVideo = 0xE0, kPixelWidth = 0xB0, kPixelHeight = 0xBA,
                   kDefaultDuration = 0x23E383, kContentEncodings = 0x6D80;
constexpr uint32_t kTimestamp = 0xE7, kSimpleBlock = 0xA3, kBlockGroup = 0xA0, kBlock = 0xA1,
                   kBlockDuration = 0x9B, kReferenceBlock = 0xFB, kPosition = 0xA7, kPrevSize = 0xAB,
                   kSilentTracks = 0x5854, kEncryptedBlock = 0xAF, kVoid = 0xEC, kCrc32 = 0xBF;

std::string name(uint32_t id) {
    switch (id) {
        case kHeader: return "EBML";
        case kSegment: return "Segment";
        case kSeekHead: return "SeekHead";
        case kInfo: return "Info";
        case kTracks: return "Tracks";
        case kCluster: return "Cluster";
        case kCues: return "Cues";
        case kTags: return "Tags";
        case kTrackEntry: return "TrackEntry";
        case kTimestamp: return "Timestamp";
        case kSimpleBlock: return "SimpleBlock";
        case kBlockGroup: return "BlockGroup";
        case kBlock: return "Block";
        case kBlockDuration: return "BlockDuration";
        case kReferenceBlock: return "ReferenceBlock";
        case kVoid: return "Void";
        default: break;
    }
    static const char* digits = "0123456789ABCDEF";
    std::string hex = "0x";
    bool started = false;
    for (int shift = 28; shift >= 0; shift -= 4) {
        unsigned d = (id >> shift) & 15;
        if (d || started || shift == 0) { hex += digits[d]; started = true; }
    }
    return hex;
}

bool is_cluster_child(uint32_t id) {
    return id == kTimestamp || id == kSimpleBlock || id == kBlockGroup || id == kPosition || id == kPrevSize ||
           id == kSilentTracks || id == kEncryptedBlock || id == kVoid || id == kCrc32;
}

struct Header {
    uint32_t id = 0;
    uint64_t size = 0;
    bool unknown_size = false;
    uint32_t length = 0;  // bytes of ID + size
};

enum class Read { ok, short_input, invalid };

// An element's ID and size (variable-length integers, RFC 8794).
Read read_header(const uint8_t* p, size_t n, Header& h) {
    if (n < 1) return Read::short_input;
    unsigned id_length = 1;
    while (id_length <= 4 && !(p[0] & (0x80 >> (id_length - 1)))) ++id_length;
    if (id_length > 4) return Read::invalid;
    if (n < id_length + 1) return Read::short_input;
    h.id = 0;
    for (unsigned i = 0; i < id_length; ++i) h.id = h.id << 8 | p[i];
    const uint8_t* s = p + id_length;
    if (s[0] == 0) return Read::invalid;
    unsigned size_length = 1;
    while (!(s[0] & (0x80 >> (size_length - 1)))) ++size_length;
    if (n < id_length + size_length) return Read::short_input;
    uint64_t value = s[0] & (0xFF >> size_length);
    bool all_ones = value == (0xFFu >> size_length);
    for (unsigned i = 1; i < size_length; ++i) {
        value = value << 8 | s[i];
        all_ones = all_ones && s[i] == 0xFF;
    }
    h.size = value;
    h.unknown_size = all_ones;
    h.length = id_length + size_length;
    return Read::ok;
}

// A track number in a Block header: a variable-length integer of up to 8 bytes.
Read read_vint(const uint8_t* p, size_t n, uint64_t& value, unsigned& length) {
    if (n < 1) return Read::short_input;
    if (p[0] == 0) return Read::invalid;
    length = 1;
    while (!(p[0] & (0x80 >> (length - 1)))) ++length;
    if (n < length) return Read::short_input;
    value = p[0] & (0xFF >> length);
    for (unsigned i = 1; i < length; ++i) value = value << 8 | p[i];
    return Read::ok;
}

uint64_t read_uint(const uint8_t* p, uint64_t size) {
    uint64_t v = 0;
    for (uint64_t i = 0; i < size && i < 8; ++i) v = v << 8 | p[i];
    return v;
}

double read_float(const uint8_t* p, uint64_t size) {
    if (size == 4) {
        uint32_t bits = be32(p);
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    if (size == 8) {
        uint64_t bits = be64(p);
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    return 0;
}
}  // namespace ebml

struct EbmlLevel {
    uint32_t id = 0;
    uint64_t end = 0;  // file offset; the file's end for an unknown size
    bool unknown_size = false;
};

struct WebmTrack {
    uint64_t number = 0;
    std::string codec_id;
    std::vector<uint8_t> codec_private;
    uint32_t width = 0, height = 0;
    uint64_t default_duration_ns = 0;
};

// A Block inside a BlockGroup waits for the group's end: ReferenceBlock may follow it.
struct PendingBlock {
    bool present = false;
    bool referenced = false;
    int64_t time = 0;
    uint64_t offset = 0;
    uint32_t size = 0;
    uint64_t duration = 0;
};

// Profile and bit depth from the start of a VP9 frame (the uncompressed header, VP9 spec 6.2);
// the bit depth only if it is a key frame, which carries it.
std::optional<std::pair<int, int>> vp9_frame_header(const std::vector<uint8_t>& bytes) {
    size_t bit = 0;
    auto read = [&](int n) {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i, ++bit) v = v << 1 | ((bit / 8 < bytes.size()) ? (bytes[bit / 8] >> (7 - bit % 8)) & 1 : 0);
        return v;
    };
    if (bytes.size() < 5 || read(2) != 2) return std::nullopt;
    int profile = int(read(1));
    profile |= int(read(1)) << 1;
    if (profile == 3) read(1);
    if (read(1)) return std::make_pair(profile, profile >= 2 ? 10 : 8);  // show_existing_frame
    bool key = read(1) == 0;
    read(2);  // show_frame, error_resilient_mode
    if (!key || read(24) != 0x498342) return std::make_pair(profile, profile >= 2 ? 10 : 8);
    int bit_depth = profile >= 2 ? (read(1) ? 12 : 10) : 8;
    return std::make_pair(profile, bit_depth);
}

bool is_mp4_top_level(uint32_t type) {
    static const uint32_t known[] = {fourcc("ftyp"), fourcc("styp"), fourcc("moov"), fourcc("mdat"), fourcc("free"),
                                     fourcc("skip"), fourcc("wide"), fourcc("pnot"), fourcc("uuid"), fourcc("sidx"),
                                     fourcc("moof"), fourcc("pdin"), fourcc("meta"), fourcc("junk")};
    return std::find(std::begin(known), std::end(known), type) != std::end(known);
}

}  // namespace

// [SECTION] The indexer

struct VideoIndexer::Impl {
    enum class Format { unknown, mp4, webm };
    enum class Step { progress, wait, stop };

    uint64_t file_size = 0;
    IndexerState state = IndexerState::need_bytes;
    Error error;
    VideoIndex index;
    Format format = Format::unknown;

    // Bytes the caller fed that may still be parsed: [window_begin, window_begin + window.size()).
    uint64_t window_begin = 0;
    std::vector<uint8_t> window;
    Need want;

    uint64_t pos = 0;  // the next byte to parse

    // MP4
    bool have_moov = false, fragmented = false;
    Mp4Track track;
    TrackDefaults defaults;
    uint32_t movie_timescale = 0;
    int64_t next_fragment_time = 0;

    // WebM
    bool in_segment = false, have_tracks = false;
    std::vector<EbmlLevel> levels;
    uint64_t timestamp_scale = 1000000;  // ns a tick
    double segment_duration = 0;         // ticks
    WebmTrack webm_track;
    bool have_cluster_time = false;
    uint64_t cluster_time = 0;
    PendingBlock pending;
    std::vector<uint8_t> first_frame_start;  // a few bytes of the first frame: VP9 profile and bit depth

    explicit Impl(uint64_t size) : file_size(size) {
        index.file_size = size;
        if (file_size == 0) {
            fail("empty_file", "", "the file is empty (0 bytes)");
            return;
        }
        run();
    }

    // ---- plumbing

    Step fail(std::string code, std::string path, std::string message) {
        if (state != IndexerState::failed) {
            state = IndexerState::failed;
            error = Error{std::move(code), std::move(path), std::move(message)};
        }
        window.clear();
        window.shrink_to_fit();
        return Step::stop;
    }
    Step fail(const Error& e) { return fail(e.code, e.path, e.message); }
    // The media data is cut short: not a failure, the frames before the cut are still shown. The
    // first cut found is the one reported.
    void note_truncation(std::string path, std::string message) {
        if (!index.truncated) index.truncated = Error{"truncated", std::move(path), std::move(message)};
    }

    // The bytes [offset, offset + size) if fed already, else nullptr (and they are asked for).
    const uint8_t* require(uint64_t offset, uint64_t size, uint64_t useful = 0) {
        if (offset >= window_begin && offset - window_begin <= window.size() && size <= window.size() - (offset - window_begin))
            return window.data() + (offset - window_begin);
        want = Need{offset, size, std::max(size, std::min(useful, file_size - offset))};
        return nullptr;
    }

    std::optional<Need> need() const {
        if (state != IndexerState::need_bytes) return std::nullopt;
        uint64_t window_end = window_begin + window.size();
        uint64_t start = (want.offset >= window_begin && want.offset <= window_end) ? window_end : want.offset;
        uint64_t end = want.offset + want.size, useful_end = want.offset + want.useful_size;
        return Need{start, end - start, useful_end - start};
    }

    IndexerState feed(uint64_t offset, const uint8_t* data, size_t size) {
        if (state != IndexerState::need_bytes) return state;
        Need asked = *need();
        if (offset != asked.offset) {
            fail("unexpected_range", "", "bytes fed " + at_offset(offset) + ", but the indexer asked for bytes " + at_offset(asked.offset));
            return state;
        }
        if (size == 0) {
            fail("truncated", "", "no bytes could be read " + at_offset(offset) + ", before the file's declared end at " + std::to_string(file_size));
            return state;
        }
        uint64_t usable = std::min<uint64_t>(size, file_size - offset);
        uint64_t window_end = window_begin + window.size();
        if (want.offset >= window_begin && want.offset <= window_end) {
            window.erase(window.begin(), window.begin() + ptrdiff_t(want.offset - window_begin));
            window_begin = want.offset;
        } else {
            window.clear();
            window_begin = offset;
        }
        window.insert(window.end(), data, data + usable);
        run();
        return state;
    }

    void run() {
        while (state == IndexerState::need_bytes) {
            Step step = format == Format::mp4 ? mp4_step() : format == Format::webm ? webm_step() : sniff();
            if (step == Step::wait) return;
        }
        window.clear();
        window.shrink_to_fit();
    }

    Step sniff() {
        uint64_t n = std::min<uint64_t>(file_size, 12);
        const uint8_t* p = require(0, n, 64 << 10);  // small header boxes or elements usually follow
        if (!p) return Step::wait;
        if (n >= 4 && be32(p) == ebml::kHeader) {
            format = Format::webm;
            return Step::progress;
        }
        if (n >= 8 && is_mp4_top_level(be32(p + 4))) {
            format = Format::mp4;
            index.container = "mp4";
            return Step::progress;
        }
        std::string start;
        for (uint64_t i = 0; i < n; ++i) start += (i ? " " : "") + hex_byte(p[i]);
        return fail("unknown_format", "", "neither an MP4 nor a WebM/Matroska file: it starts with bytes " + start);
    }

    // ---- presentation: edit list, order, durations, where decoding starts

    // Frames from samples: every sample is shown at its composition time moved by the edits.
    // A sample is shown by an edit when its composition time falls inside the edit's media range
    // (what FFmpeg, and so Chromium and Firefox, do for video); empty edits delay what follows.
    Step present(const std::vector<Edit>& edits, int64_t end_of_media) {
        std::vector<VideoFrame>& frames = index.frames;
        const std::vector<VideoSample>& samples = index.samples;
        frames.clear();
        auto add = [&](uint32_t s, int64_t pts) {
            VideoFrame f;
            f.pts = pts;
            f.sample = s;
            frames.push_back(f);
        };
        bool any_media_edit = std::any_of(edits.begin(), edits.end(), [](const Edit& e) { return e.media_time >= 0; });
        if (!any_media_edit) {
            int64_t delay = 0;
            for (const Edit& e : edits) delay += e.duration;
            for (uint32_t s = 0; s < samples.size(); ++s) add(s, samples[s].composition_time + delay);
        } else {
            std::vector<uint32_t> by_time(samples.size());
            for (uint32_t s = 0; s < by_time.size(); ++s) by_time[s] = s;
            std::stable_sort(by_time.begin(), by_time.end(), [&](uint32_t a, uint32_t b) { return samples[a].composition_time < samples[b].composition_time; });
            auto first_at = [&](int64_t time) {
                return std::lower_bound(by_time.begin(), by_time.end(), time, [&](uint32_t s, int64_t t) { return samples[s].composition_time < t; });
            };
            int64_t start = 0;
            for (const Edit& e : edits) {
                if (e.media_time < 0) {
                    start += e.duration;
                    continue;
                }
                auto from = first_at(e.media_time), to = e.duration > 0 ? first_at(e.media_time + e.duration) : by_time.end();
                if (uint64_t(to - from) + frames.size() > kMaxVideoSamples)
                    return fail("too_large", "moov/trak/edts/elst", "the edit list shows more than " + std::to_string(kMaxVideoSamples) + " frames");
                for (auto s = from; s < to; ++s) add(*s, start + samples[*s].composition_time - e.media_time);
                start += e.duration > 0 ? e.duration : std::max<int64_t>(0, end_of_media - e.media_time);
            }
        }
        if (frames.empty())
            return fail("no_video_track", "", samples.empty() ? "the video track has no frames"
                                                              : "the edit list shows none of the video track's " + std::to_string(samples.size()) + " samples");
        return finish();
    }

    Step finish() {
        std::vector<VideoFrame>& frames = index.frames;
        std::vector<VideoSample>& samples = index.samples;
        std::stable_sort(frames.begin(), frames.end(), [](const VideoFrame& a, const VideoFrame& b) {
            return a.pts != b.pts ? a.pts < b.pts : a.sample < b.sample;
        });
        for (size_t n = 0; n < frames.size(); ++n) {
            VideoFrame& f = frames[n];
            f.duration = n + 1 < frames.size() ? frames[n + 1].pts - f.pts : samples[f.sample].duration;
            f.pts_seconds = double(f.pts) / index.timescale;
        }
        std::vector<uint32_t> keyframes;
        for (uint32_t s = 0; s < samples.size(); ++s)
            if (samples[s].keyframe) keyframes.push_back(s);
        for (VideoFrame& f : frames) {
            auto after = std::upper_bound(keyframes.begin(), keyframes.end(), f.sample);
            if (after == keyframes.begin()) {
                f.decode_from = 0;
                continue;
            }
            size_t k = size_t(after - keyframes.begin()) - 1;
            // A frame shown before its keyframe (an open-GOP leading picture) may refer to the
            // previous group: start one keyframe earlier.
            if (k > 0 && samples[keyframes[k]].composition_time > samples[f.sample].composition_time) --k;
            f.decode_from = keyframes[k];
        }
        const VideoFrame& last = frames.back();
        index.duration_seconds = double(last.pts + last.duration) / index.timescale;
        state = IndexerState::done;
        return Step::stop;
    }

    // ---- MP4

    Step mp4_step() {
        if (pos >= file_size) return mp4_end_of_file();
        uint64_t left = file_size - pos;
        if (left < 8)
            return fail("truncated", "", "a box header " + at_offset(pos) + " is cut off: the file ends " + std::to_string(left) + " bytes later");
        const uint8_t* h = require(pos, std::min<uint64_t>(left, 16), std::min<uint64_t>(left, 16));
        if (!h) return Step::wait;
        uint64_t size = be32(h), header = 8;
        uint32_t type = be32(h + 4);
        std::string name = fourcc_name(type);
        if (size == 1) {
            if (left < 16) return fail("truncated", name, "box '" + name + "' " + at_offset(pos) + " has its 64-bit size cut off by the end of the file");
            size = be64(h + 8);
            header = 16;
        } else if (size == 0) {
            size = left;
        }
        if (size < header)
            return fail("corrupt", name, "box '" + name + "' " + at_offset(pos) + " claims " + std::to_string(size) + " bytes, less than its own header");
        if (size > left && have_moov) {
            // The sample tables are read: what is cut off is media data (or a later fragment).
            note_truncation(name, "box '" + name + "' " + at_offset(pos) + " claims " + std::to_string(size) + " bytes, but the file ends " +
                                      std::to_string(left) + " bytes after it starts (file size " + std::to_string(file_size) + "): the file is truncated");
            return mp4_end_of_file();
        }
        if (size > left)
            return fail("truncated", name, "box '" + name + "' " + at_offset(pos) + " claims " + std::to_string(size) +
                                               " bytes, but the file ends " + std::to_string(left) + " bytes after it starts (file size " +
                                               std::to_string(file_size) + "): the file is truncated");
        bool whole_box = (type == fourcc("moov") && !have_moov) || (type == fourcc("moof") && fragmented);
        if (type == fourcc("moof") && !have_moov)
            return fail("unsupported", name, "box 'moof' " + at_offset(pos) + " comes before the 'moov' box; a fragment needs the movie header first");
        if (whole_box) {
            if (size > kMaxVideoHeaderBytes)
                return fail("too_large", name, "box '" + name + "' " + at_offset(pos) + " is " + std::to_string(size) + " bytes; at most " +
                                                   std::to_string(kMaxVideoHeaderBytes) + " are read");
            const uint8_t* p = require(pos, size, size);
            if (!p) return Step::wait;
            Box box{type, p + header, size - header, pos, name};
            if (type == fourcc("moov")) {
                if (!parse_moov(box)) return Step::stop;
                have_moov = true;
                if (!fragmented) return mp4_samples_ready();
            } else if (!parse_moof(box)) {
                return Step::stop;
            }
        }
        pos += size;
        return Step::progress;
    }

    Step mp4_end_of_file() {
        if (!have_moov)
            return fail("truncated", "moov", "no 'moov' box (the movie header with the sample tables) in the file's " + std::to_string(file_size) +
                                                 " bytes: the file is incomplete, e.g. a recording that was not finished");
        return mp4_samples_ready();
    }

    Step mp4_samples_ready() {
        if (index.samples.empty())
            return fail("no_video_track", "moov", "the video track (track " + std::to_string(track.id) + ") has no samples" +
                                                      (fragmented ? " in 'moov' or any 'moof'" : ""));
        std::vector<Edit> edits;
        if (track.has_edit_list) {
            if (movie_timescale == 0)
                return fail("corrupt", "moov/mvhd", "the movie timescale in 'mvhd' is 0, so the edit list cannot be read");
            for (const RawEdit& raw : track.edits) {
                if (raw.media_time > kMaxTicks || raw.segment_duration > uint64_t(kMaxTicks))
                    return fail("corrupt", "moov/trak/edts/elst", "an edit in 'elst' lasts or starts beyond any real video (media time " +
                                                                      std::to_string(raw.media_time) + ", duration " + std::to_string(raw.segment_duration) + ")");
                Edit e;
                e.duration = std::min(rescale(raw.segment_duration, track.timescale, movie_timescale), kMaxTicks);
                e.media_time = raw.rate == 0 ? -1 : raw.media_time < 0 ? -1 : raw.media_time;  // a dwell holds a picture: a delay for us
                if (e.media_time < 0 && e.duration == 0) continue;
                edits.push_back(e);
            }
        }
        const VideoSample& last = index.samples.back();
        int64_t end_of_media = last.composition_time + int64_t(last.duration);
        for (const VideoSample& s : index.samples) end_of_media = std::max(end_of_media, s.composition_time + int64_t(s.duration));
        return present(edits, end_of_media);
    }

    bool failed_with(const Error& e) {
        fail(e);
        return false;
    }
    bool failed_with(std::string code, std::string path, std::string message) {
        fail(std::move(code), std::move(path), std::move(message));
        return false;
    }

    static bool full_box(const Box& b, uint64_t need) { return b.body_size >= 4 + need; }

    bool too_short(const Box& b) {
        return failed_with("corrupt", b.path, "box '" + b.path + "' " + at_offset(b.offset) + " is too short (" + std::to_string(b.body_size) + " bytes of content)");
    }

    bool parse_moov(const Box& moov) {
        BoxReader children = child_reader(moov);
        Box b;
        bool found = false;
        unsigned tracks = 0;
        std::vector<TrackDefaults> all_defaults;
        while (children.next(b)) {
            if (b.type == fourcc("mvhd")) {
                if (!full_box(b, 20)) return too_short(b);
                movie_timescale = be32(b.body + 4 + (b.body[0] == 1 ? 16 : 8));
            } else if (b.type == fourcc("trak")) {
                ++tracks;
                if (found) continue;
                Mp4Track t;
                if (!parse_trak(b, t)) return false;
                if (t.handler == fourcc("vide")) {
                    track = std::move(t);
                    found = true;
                }
            } else if (b.type == fourcc("mvex")) {
                fragmented = true;
                BoxReader mvex = child_reader(b);
                Box t;
                while (mvex.next(t)) {
                    if (t.type != fourcc("trex")) continue;
                    if (!full_box(t, 20)) return too_short(t);
                    all_defaults.push_back({be32(t.body + 4), be32(t.body + 12), be32(t.body + 16), be32(t.body + 20)});
                }
                if (mvex.error) return failed_with(*mvex.error);
            }
        }
        if (children.error) return failed_with(*children.error);
        if (!found)
            return failed_with("no_video_track", "moov", "no video track among the " + std::to_string(tracks) + " tracks in 'moov' " + at_offset(moov.offset));
        for (const TrackDefaults& d : all_defaults)
            if (d.track_id == track.id) defaults = d;
        if (!describe_codec()) return false;
        return build_mp4_samples();
    }

    bool parse_trak(const Box& trak, Mp4Track& t) {
        // Find the handler first: only the video track's tables are read.
        Box b;
        BoxReader children = child_reader(trak);
        std::vector<Box> boxes;
        while (children.next(b)) boxes.push_back(b);
        if (children.error) return failed_with(*children.error);
        const Box* mdia = nullptr;
        for (const Box& c : boxes)
            if (c.type == fourcc("mdia")) mdia = &c;
        if (!mdia) return failed_with("corrupt", trak.path, "track " + at_offset(trak.offset) + " has no 'mdia' box");
        std::vector<Box> media;
        BoxReader media_reader = child_reader(*mdia);
        while (media_reader.next(b)) media.push_back(b);
        if (media_reader.error) return failed_with(*media_reader.error);
        const Box* minf = nullptr;
        for (const Box& c : media) {
            if (c.type == fourcc("hdlr")) {
                if (!full_box(c, 8)) return too_short(c);
                t.handler = be32(c.body + 8);
            } else if (c.type == fourcc("mdhd")) {
                if (!full_box(c, 20)) return too_short(c);
                t.timescale = be32(c.body + 4 + (c.body[0] == 1 ? 16 : 8));
            } else if (c.type == fourcc("minf")) {
                minf = &c;
            }
        }
        if (t.handler != fourcc("vide")) return true;
        if (t.timescale == 0) return failed_with("corrupt", mdia->path + "/mdhd", "the video track's timescale in 'mdhd' is 0 or missing");
        for (const Box& c : boxes) {
            if (c.type == fourcc("tkhd")) {
                if (!full_box(c, 20)) return too_short(c);
                t.id = be32(c.body + 4 + (c.body[0] == 1 ? 16 : 8));
            } else if (c.type == fourcc("edts")) {
                BoxReader edts = child_reader(c);
                Box e;
                while (edts.next(e))
                    if (e.type == fourcc("elst") && !parse_elst(e, t)) return false;
                if (edts.error) return failed_with(*edts.error);
            }
        }
        if (!minf) return failed_with("corrupt", mdia->path, "the video track has no 'minf' box");
        BoxReader minf_reader = child_reader(*minf);
        const Box* stbl = nullptr;
        std::vector<Box> info;
        while (minf_reader.next(b)) info.push_back(b);
        if (minf_reader.error) return failed_with(*minf_reader.error);
        for (const Box& c : info)
            if (c.type == fourcc("stbl")) stbl = &c;
        if (!stbl) return failed_with("corrupt", minf->path, "the video track has no sample table ('stbl')");
        return parse_stbl(*stbl, t);
    }

    BoxReader child_reader(const Box& parent, uint64_t skip = 0) {
        // The body's file offset: the box's offset plus its header length, recovered from where
        // the body sits in the window.
        uint64_t body_offset = window_begin + uint64_t(parent.body - window.data());
        return BoxReader(parent.body + skip, parent.body_size - skip, body_offset + skip, parent.path);
    }

    bool parse_elst(const Box& b, Mp4Track& t) {
        if (!full_box(b, 4)) return too_short(b);
        int version = b.body[0];
        uint32_t count = be32(b.body + 4);
        uint64_t entry_size = version == 1 ? 20 : 12;
        if (uint64_t(count) * entry_size > b.body_size - 8)
            return failed_with("corrupt", b.path, "'elst' " + at_offset(b.offset) + " lists " + std::to_string(count) + " edits but holds bytes for " +
                                                      std::to_string((b.body_size - 8) / entry_size));
        if (count > 256)
            return failed_with("unsupported", b.path, "'elst' " + at_offset(b.offset) + " has " + std::to_string(count) + " edits; at most 256 are supported");
        t.has_edit_list = true;
        const uint8_t* p = b.body + 8;
        for (uint32_t i = 0; i < count; ++i, p += entry_size) {
            RawEdit e;
            if (version == 1) {
                e.segment_duration = be64(p);
                e.media_time = int64_t(be64(p + 8));
                e.rate = int16_t(be16(p + 16));
            } else {
                e.segment_duration = be32(p);
                e.media_time = int32_t(be32(p + 4));
                e.rate = int16_t(be16(p + 8));
            }
            t.edits.push_back(e);
        }
        return true;
    }

    // A table box: a full box header, `extra` bytes of fields, a 32-bit count, then count entries.
    bool table(const Box& b, TableView& view, uint64_t entry_bits, uint64_t extra = 0) {
        if (!full_box(b, extra + 4)) return too_short(b);
        view.present = true;
        view.version = b.body[0];
        view.offset = b.offset;
        view.count = be32(b.body + 4 + extra);
        view.entries = b.body + 8 + extra;
        uint64_t room = b.body_size - 8 - extra;
        if ((uint64_t(view.count) * entry_bits + 7) / 8 > room)
            return failed_with("corrupt", b.path, "'" + fourcc_name(b.type) + "' " + at_offset(b.offset) + " declares " + std::to_string(view.count) +
                                                      " entries, but the box holds " + std::to_string(room) + " bytes for them");
        return true;
    }

    bool parse_stbl(const Box& stbl, Mp4Track& t) {
        BoxReader reader = child_reader(stbl);
        Box b;
        while (reader.next(b)) {
            switch (b.type) {
                case fourcc("stsd"):
                    if (!parse_stsd(b, t)) return false;
                    break;
                case fourcc("stts"):
                    if (!table(b, t.stts, 64)) return false;
                    break;
                case fourcc("ctts"):
                    if (!table(b, t.ctts, 64)) return false;
                    break;
                case fourcc("stss"):
                    if (!table(b, t.stss, 32)) return false;
                    break;
                case fourcc("stsc"):
                    if (!table(b, t.stsc, 96)) return false;
                    break;
                case fourcc("stco"):
                    if (!table(b, t.stco, 32)) return false;
                    t.co64 = false;
                    break;
                case fourcc("co64"):
                    if (!table(b, t.stco, 64)) return false;
                    t.co64 = true;
                    break;
                case fourcc("stsz"): {
                    if (!full_box(b, 8)) return too_short(b);
                    t.constant_sample_size = be32(b.body + 4);
                    t.sample_size_bits = 32;
                    if (!table(b, t.stsz, t.constant_sample_size ? 0 : 32, 4)) return false;
                    break;
                }
                case fourcc("stz2"): {
                    if (!full_box(b, 8)) return too_short(b);
                    unsigned bits = b.body[4 + 3];
                    if (bits != 4 && bits != 8 && bits != 16)
                        return failed_with("corrupt", b.path, "'stz2' " + at_offset(b.offset) + " has a field size of " + std::to_string(bits) + " bits (4, 8 or 16 allowed)");
                    t.constant_sample_size = 0;
                    t.sample_size_bits = int(bits);
                    if (!table(b, t.stsz, bits, 4)) return false;
                    break;
                }
                default:
                    break;
            }
        }
        if (reader.error) return failed_with(*reader.error);
        if (t.entry_type == 0) return failed_with("corrupt", stbl.path, "the video track has no sample description ('stsd')");
        const char* missing = !t.stts.present ? "stts" : !t.stsz.present ? "stsz" : !t.stsc.present ? "stsc" : !t.stco.present ? "stco" : nullptr;
        if (missing)
            return failed_with("corrupt", stbl.path, "the video track's sample table " + at_offset(stbl.offset) + " has no '" + missing + "' box");
        return true;
    }

    bool parse_stsd(const Box& stsd, Mp4Track& t) {
        if (!full_box(stsd, 4)) return too_short(stsd);
        if (be32(stsd.body + 4) == 0) return failed_with("corrupt", stsd.path, "'stsd' " + at_offset(stsd.offset) + " has no sample description");
        BoxReader entries = child_reader(stsd, 8);
        Box entry;
        if (!entries.next(entry)) return failed_with(entries.error ? *entries.error : Error{"corrupt", stsd.path, "'stsd' holds no sample entry"});
        t.entry_type = entry.type;
        t.entry_offset = entry.offset;
        if (entry.type == fourcc("encv"))
            return failed_with("unsupported", entry.path, "the video track is encrypted (sample entry 'encv' " + at_offset(entry.offset) + ")");
        constexpr uint64_t kVisualEntryFields = 78;
        if (entry.body_size < kVisualEntryFields) return too_short(entry);
        t.width = be16(entry.body + 24);
        t.height = be16(entry.body + 26);
        BoxReader children = child_reader(entry, kVisualEntryFields);
        Box c;
        while (children.next(c)) {
            if (c.type == fourcc("avcC") || c.type == fourcc("hvcC") || c.type == fourcc("vpcC") || c.type == fourcc("av1C")) {
                t.config_type = c.type;
                t.config.assign(c.body, c.body + c.body_size);
            }
        }
        if (children.error) return failed_with(*children.error);
        return true;
    }

    bool describe_codec() {
        index.coded_width = track.width;
        index.coded_height = track.height;
        index.timescale = track.timescale;
        const std::vector<uint8_t>& config = track.config;
        std::string where = "moov/trak/mdia/minf/stbl/stsd/" + fourcc_name(track.entry_type);
        auto missing = [&](const char* box, size_t least) {
            return failed_with("corrupt", where, "the '" + fourcc_name(track.entry_type) + "' sample entry " + at_offset(track.entry_offset) +
                                                     " has no usable '" + box + "' box (" + std::to_string(least) + " bytes at least)");
        };
        switch (track.entry_type) {
            case fourcc("avc1"):
            case fourcc("avc3"):
                if (track.config_type != fourcc("avcC") || config.size() < 7) return missing("avcC", 7);
                index.codec = avc_codec(track.entry_type, config);
                index.description = config;
                return true;
            case fourcc("hvc1"):
            case fourcc("hev1"):
                if (track.config_type != fourcc("hvcC") || config.size() < 23) return missing("hvcC", 23);
                index.codec = hevc_codec(track.entry_type, config);
                index.description = config;
                return true;
            case fourcc("vp09"):
                if (track.config_type != fourcc("vpcC") || config.size() < 8) return missing("vpcC", 8);
                index.codec = vp9_codec(config[4], config[5], config[6] >> 4);
                return true;
            case fourcc("vp08"):
                index.codec = "vp8";
                return true;
            case fourcc("av01"):
                if (track.config_type != fourcc("av1C") || config.size() < 4) return missing("av1C", 4);
                index.codec = av1_codec(config);
                index.description = config;
                return true;
            default:
                return failed_with("unsupported", where, "the video codec '" + fourcc_name(track.entry_type) + "' " + at_offset(track.entry_offset) +
                                                             " is not one WebCodecs decodes here (H.264, H.265, VP8, VP9, AV1)");
        }
    }

    uint32_t sample_size_at(uint32_t i) const {
        const TableView& v = track.stsz;
        if (track.constant_sample_size) return track.constant_sample_size;
        switch (track.sample_size_bits) {
            case 4: return (i & 1) ? v.entries[i / 2] & 15 : v.entries[i / 2] >> 4;
            case 8: return v.entries[i];
            case 16: return be16(v.entries + 2 * uint64_t(i));
            default: return be32(v.entries + 4 * uint64_t(i));
        }
    }

    bool build_mp4_samples() {
        const Mp4Track& t = track;
        const std::string stbl = "moov/trak/mdia/minf/stbl";
        uint32_t count = t.stsz.count;
        if (count > kMaxVideoSamples || count > file_size)
            return failed_with("too_large", stbl + "/stsz", "'stsz' " + at_offset(t.stsz.offset) + " declares " + std::to_string(count) +
                                                                " samples, more than the " + std::to_string(file_size) + "-byte file can hold or the " +
                                                                std::to_string(kMaxVideoSamples) + " an index takes");
        if (t.constant_sample_size && uint64_t(count) * t.constant_sample_size > file_size)
            return failed_with("corrupt", stbl + "/stsz", "'stsz' " + at_offset(t.stsz.offset) + " declares " + std::to_string(count) + " samples of " +
                                                              std::to_string(t.constant_sample_size) + " bytes, more than the " +
                                                              std::to_string(file_size) + "-byte file holds");
        std::vector<VideoSample>& samples = index.samples;
        samples.assign(count, VideoSample{});

        // Sizes and where each chunk's samples lie.
        uint32_t s = 0;
        size_t entry = 0;
        const uint8_t* stsc = t.stsc.entries;
        for (uint32_t chunk = 1; chunk <= t.stco.count && s < count; ++chunk) {
            while (entry + 1 < t.stsc.count && be32(stsc + 12 * (entry + 1)) <= chunk) ++entry;
            if (t.stsc.count == 0 || be32(stsc) != 1)
                return failed_with("corrupt", stbl + "/stsc", "'stsc' " + at_offset(t.stsc.offset) + " does not start at chunk 1");
            if (entry + 1 < t.stsc.count && be32(stsc + 12 * (entry + 1)) <= be32(stsc + 12 * entry))
                return failed_with("corrupt", stbl + "/stsc", "'stsc' " + at_offset(t.stsc.offset) + " lists chunks out of order at entry " + std::to_string(entry + 1));
            uint32_t per_chunk = be32(stsc + 12 * entry + 4);
            uint64_t offset = t.co64 ? be64(t.stco.entries + 8 * uint64_t(chunk - 1)) : be32(t.stco.entries + 4 * uint64_t(chunk - 1));
            for (uint32_t k = 0; k < per_chunk && s < count; ++k, ++s) {
                uint32_t size = sample_size_at(s);
                if (offset > file_size || size > file_size - offset)
                    note_truncation(stbl, "sample " + std::to_string(s) + " (" + std::to_string(size) + " bytes " + at_offset(offset) +
                                              ") lies beyond the end of the " + std::to_string(file_size) + "-byte file: the media data is truncated");
                samples[s].offset = offset;
                samples[s].size = size;
                offset += size;
            }
        }
        if (s < count)
            return failed_with("corrupt", stbl + "/stsc", "'stsc' and 'stco' place only " + std::to_string(s) + " of the " + std::to_string(count) + " samples");

        // Decode times.
        s = 0;
        int64_t time = 0;
        for (uint32_t e = 0; e < t.stts.count && s < count; ++e) {
            uint32_t n = be32(t.stts.entries + 8 * uint64_t(e)), delta = be32(t.stts.entries + 8 * uint64_t(e) + 4);
            for (uint32_t k = 0; k < n && s < count; ++k, ++s) {
                samples[s].decode_time = time;
                samples[s].duration = delta;
                time += delta;
            }
        }
        if (s < count)
            return failed_with("corrupt", stbl + "/stts", "'stts' " + at_offset(t.stts.offset) + " times only " + std::to_string(s) + " of the " + std::to_string(count) + " samples");

        // Composition offsets: signed in practice whatever the version says (as FFmpeg reads them).
        s = 0;
        for (uint32_t e = 0; e < t.ctts.count && s < count; ++e) {
            uint32_t n = be32(t.ctts.entries + 8 * uint64_t(e));
            int32_t offset = int32_t(be32(t.ctts.entries + 8 * uint64_t(e) + 4));
            for (uint32_t k = 0; k < n && s < count; ++k, ++s) samples[s].composition_time = offset;
        }
        for (VideoSample& sample : samples) sample.composition_time += sample.decode_time;

        // Sync samples: no 'stss' means every sample is one.
        if (!t.stss.present) {
            for (VideoSample& sample : samples) sample.keyframe = true;
        } else {
            for (uint32_t e = 0; e < t.stss.count; ++e) {
                uint32_t number = be32(t.stss.entries + 4 * uint64_t(e));
                if (number >= 1 && number <= count) samples[number - 1].keyframe = true;
            }
        }
        next_fragment_time = time;
        return true;
    }

    // Fragmented MP4: each 'moof' adds runs of samples ('trun') for our track.
    bool parse_moof(const Box& moof) {
        BoxReader reader = child_reader(moof);
        Box traf;
        uint64_t previous_data_end = moof.offset;
        while (reader.next(traf)) {
            if (traf.type != fourcc("traf")) continue;
            BoxReader parts = child_reader(traf);
            Box b;
            std::vector<Box> boxes;
            while (parts.next(b)) boxes.push_back(b);
            if (parts.error) return failed_with(*parts.error);
            auto tfhd = std::find_if(boxes.begin(), boxes.end(), [](const Box& x) { return x.type == fourcc("tfhd"); });
            if (tfhd == boxes.end()) return failed_with("corrupt", traf.path, "'traf' " + at_offset(traf.offset) + " has no 'tfhd'");
            if (!full_box(*tfhd, 4)) return too_short(*tfhd);
            uint32_t flags = be24(tfhd->body + 1);
            if (be32(tfhd->body + 4) != track.id) continue;
            uint64_t need = 4;
            need += (flags & 0x01) ? 8 : 0;
            need += (flags & 0x02) ? 4 : 0;
            need += (flags & 0x08) ? 4 : 0;
            need += (flags & 0x10) ? 4 : 0;
            need += (flags & 0x20) ? 4 : 0;
            if (!full_box(*tfhd, need)) return too_short(*tfhd);
            const uint8_t* p = tfhd->body + 8;
            uint64_t base = (flags & 0x020000) ? moof.offset : previous_data_end;
            if (flags & 0x01) { base = be64(p); p += 8; }
            if (flags & 0x02) p += 4;
            uint32_t default_duration = defaults.duration, default_size = defaults.size, default_flags = defaults.flags;
            if (flags & 0x08) { default_duration = be32(p); p += 4; }
            if (flags & 0x10) { default_size = be32(p); p += 4; }
            if (flags & 0x20) { default_flags = be32(p); p += 4; }

            int64_t time = next_fragment_time;
            for (const Box& x : boxes) {
                if (x.type != fourcc("tfdt")) continue;
                if (!full_box(x, x.body[0] == 1 ? 8 : 4)) return too_short(x);
                uint64_t base_time = x.body[0] == 1 ? be64(x.body + 4) : be32(x.body + 4);
                if (base_time > uint64_t(kMaxTicks))
                    return failed_with("corrupt", x.path, "'tfdt' " + at_offset(x.offset) + " starts the fragment at " + std::to_string(base_time) + " ticks, beyond any real video");
                time = int64_t(base_time);
            }
            uint64_t data = base;
            for (const Box& run : boxes) {
                if (run.type != fourcc("trun")) continue;
                if (!full_box(run, 4)) return too_short(run);
                uint32_t run_flags = be24(run.body + 1);
                uint32_t count = be32(run.body + 4);
                const uint8_t* q = run.body + 8;
                const uint8_t* end = run.body + run.body_size;
                if (run_flags & 0x01) {
                    if (end - q < 4) return too_short(run);
                    data = base + uint64_t(int64_t(int32_t(be32(q))));
                    q += 4;
                }
                uint32_t first_flags = default_flags;
                bool has_first_flags = run_flags & 0x04;
                if (has_first_flags) {
                    if (end - q < 4) return too_short(run);
                    first_flags = be32(q);
                    q += 4;
                }
                uint64_t per_sample = 4 * (!!(run_flags & 0x100) + !!(run_flags & 0x200) + !!(run_flags & 0x400) + !!(run_flags & 0x800));
                if (uint64_t(count) * per_sample > uint64_t(end - q))
                    return failed_with("corrupt", run.path, "'trun' " + at_offset(run.offset) + " declares " + std::to_string(count) + " samples, more than it holds");
                if (uint64_t(count) + index.samples.size() > std::min<uint64_t>(kMaxVideoSamples, file_size))
                    return failed_with("too_large", run.path, "'trun' " + at_offset(run.offset) + " brings the track to more than " +
                                                                  std::to_string(std::min<uint64_t>(kMaxVideoSamples, file_size)) + " samples");
                for (uint32_t i = 0; i < count; ++i) {
                    VideoSample sample;
                    uint32_t duration = default_duration, size = default_size, sample_flags = (i == 0 && has_first_flags) ? first_flags : default_flags;
                    int32_t composition_offset = 0;
                    if (run_flags & 0x100) { duration = be32(q); q += 4; }
                    if (run_flags & 0x200) { size = be32(q); q += 4; }
                    if (run_flags & 0x400) {
                        uint32_t f = be32(q);
                        q += 4;
                        if (!(i == 0 && has_first_flags)) sample_flags = f;
                    }
                    if (run_flags & 0x800) { composition_offset = int32_t(be32(q)); q += 4; }
                    if (data > file_size || size > file_size - data)
                        note_truncation(run.path, "fragment sample (" + std::to_string(size) + " bytes " + at_offset(data) +
                                                      ") lies beyond the end of the " + std::to_string(file_size) + "-byte file: the media data is truncated");
                    sample.offset = data;
                    sample.size = size;
                    sample.duration = duration;
                    sample.decode_time = time;
                    sample.composition_time = time + composition_offset;
                    sample.keyframe = !(sample_flags & 0x00010000) && !(sample_flags & 0x01000000 && !(sample_flags & 0x02000000));
                    index.samples.push_back(sample);
                    data += size;
                    time += duration;
                }
            }
            previous_data_end = data;
            next_fragment_time = time;
        }
        if (reader.error) return failed_with(*reader.error);
        return true;
    }

    // ---- WebM / Matroska

    std::string webm_path(uint32_t id) const {
        std::string path;
        for (const EbmlLevel& level : levels) path += (path.empty() ? "" : "/") + ebml::name(level.id);
        if (id == 0) return path;  // where a malformed header sits
        return path + (path.empty() ? "" : "/") + ebml::name(id);
    }

    // Reads the element header at `pos`; nullopt when bytes are still to come (or it failed).
    std::optional<ebml::Header> element_header(uint64_t limit, uint64_t useful, Step& step) {
        uint64_t left = limit - pos;
        const uint8_t* p = require(pos, std::min<uint64_t>(left, 12), useful);
        if (!p) {
            step = Step::wait;
            return std::nullopt;
        }
        ebml::Header h;
        ebml::Read r = ebml::read_header(p, size_t(std::min<uint64_t>(left, 12)), h);
        if (r == ebml::Read::ok) return h;
        std::string parent = levels.empty() ? "the file" : std::string("'") + ebml::name(levels.back().id) + "'";
        if (r != ebml::Read::invalid && in_segment && limit == file_size) {
            note_truncation(webm_path(0), "an element header " + at_offset(pos) + " is cut off by the end of the " + std::to_string(file_size) +
                                              "-byte file: the file is truncated");
            pos = file_size;
            step = Step::progress;
            return std::nullopt;
        }
        step = r == ebml::Read::invalid
                   ? fail("corrupt", webm_path(0), "an invalid element header " + at_offset(pos) + " inside " + parent)
                   : fail("truncated", webm_path(0), "an element header " + at_offset(pos) + " is cut off by the end of " + parent);
        return std::nullopt;
    }

    Step webm_step() {
        if (index.container.empty()) return webm_ebml_header();
        // Close the levels that end here.
        while (!levels.empty() && pos >= levels.back().end) {
            if (pos > levels.back().end)
                return fail("corrupt", webm_path(0), "an element runs past the end of its '" + std::string(ebml::name(levels.back().id)) + "' " + at_offset(pos));
            close_level();
        }
        if (state != IndexerState::need_bytes) return Step::stop;
        if (levels.empty()) {
            if (in_segment) return webm_finish();
            if (pos >= file_size) return fail("corrupt", "Segment", "no Segment element in the file");
        }
        uint64_t limit = levels.empty() ? file_size : levels.back().end;
        // Inside the Segment everything is read in order but frame payloads and the odd Cues or
        // Tags: reading on through them costs less than a round trip a frame.
        uint64_t useful = levels.empty() ? 12 : levels.front().end - pos;
        Step step = Step::progress;
        auto header = element_header(limit, useful, step);
        if (!header) return step;
        const ebml::Header& h = *header;
        uint32_t parent = levels.empty() ? 0 : levels.back().id;

        // An element of unknown size ends where something that cannot be its child starts.
        if (!levels.empty() && levels.back().unknown_size) {
            bool belongs = parent == ebml::kCluster ? ebml::is_cluster_child(h.id) : h.id != ebml::kHeader;
            if (!belongs) {
                close_level();
                return state == IndexerState::need_bytes ? Step::progress : Step::stop;
            }
        }
        uint64_t data = pos + h.length;
        bool may_be_unknown = h.id == ebml::kSegment || h.id == ebml::kCluster;
        if (h.unknown_size && !may_be_unknown)
            return fail("unsupported", webm_path(h.id), std::string("element '") + ebml::name(h.id) + "' " + at_offset(pos) + " has an unknown size");
        uint64_t end = h.unknown_size ? limit : data + h.size;
        if (!h.unknown_size && (h.size > limit - std::min(limit, data) || data > limit)) {
            bool past_file = data > file_size || h.size > file_size - data;
            if (past_file && limit == file_size && (in_segment || h.id == ebml::kSegment)) {
                // Cut short in the middle of the Segment: what came before still counts. The
                // Segment and a Cluster are read up to the cut; any other element is dropped.
                note_truncation(webm_path(h.id), std::string("element '") + ebml::name(h.id) + "' " + at_offset(pos) + " claims " + std::to_string(h.size) +
                                                     " bytes, but the file ends at " + std::to_string(file_size) + ": the file is truncated");
                if (h.id == ebml::kSegment || h.id == ebml::kCluster) {
                    end = file_size;
                } else {
                    pos = file_size;
                    return Step::progress;
                }
            } else {
                return fail(past_file ? "truncated" : "corrupt", webm_path(h.id),
                            std::string("element '") + ebml::name(h.id) + "' " + at_offset(pos) + " claims " + std::to_string(h.size) + " bytes, but " +
                                (past_file ? "the file ends at " + std::to_string(file_size) + ": the file is truncated"
                                           : std::string("its parent '") + ebml::name(parent) + "' ends at " + std::to_string(limit)));
            }
        }

        if (levels.empty()) {
            if (h.id == ebml::kSegment) {
                levels.push_back({h.id, end, h.unknown_size});
                in_segment = true;
                pos = data;
            } else {
                pos = end;
            }
            return Step::progress;
        }
        switch (parent) {
            case ebml::kSegment:
                if (h.id == ebml::kInfo || h.id == ebml::kTracks) {
                    if (h.size > kMaxVideoHeaderBytes)
                        return fail("too_large", webm_path(h.id), std::string("'") + ebml::name(h.id) + "' " + at_offset(pos) + " is " + std::to_string(h.size) + " bytes");
                    const uint8_t* p = require(pos, h.length + h.size, h.length + h.size);
                    if (!p) return Step::wait;
                    p += h.length;
                    if (!(h.id == ebml::kInfo ? parse_info(p, h.size, data) : parse_tracks(p, h.size, data))) return Step::stop;
                    pos = end;
                } else if (h.id == ebml::kCluster) {
                    if (!have_tracks)
                        return fail("corrupt", webm_path(h.id), "a Cluster " + at_offset(pos) + " comes before the Tracks element that describes it");
                    levels.push_back({h.id, end, h.unknown_size});
                    have_cluster_time = false;
                    pos = data;
                } else {
                    pos = end;
                }
                return Step::progress;
            case ebml::kCluster:
                if (h.id == ebml::kTimestamp) {
                    if (h.size > 8) return fail("corrupt", webm_path(h.id), "a Cluster Timestamp " + at_offset(pos) + " is " + std::to_string(h.size) + " bytes long");
                    const uint8_t* p = require(pos, h.length + h.size, levels.front().end - pos);
                    if (!p) return Step::wait;
                    p += h.length;
                    cluster_time = ebml::read_uint(p, h.size);
                    have_cluster_time = true;
                    pos = end;
                } else if (h.id == ebml::kSimpleBlock) {
                    Step s = read_block(h, data, end, true);
                    if (s != Step::progress) return s;
                    pos = end;
                } else if (h.id == ebml::kBlockGroup) {
                    levels.push_back({h.id, end, false});
                    pending = PendingBlock{};
                    pos = data;
                } else {
                    pos = end;
                }
                return Step::progress;
            case ebml::kBlockGroup:
                if (h.id == ebml::kBlock) {
                    Step s = read_block(h, data, end, false);
                    if (s != Step::progress) return s;
                } else if (h.id == ebml::kReferenceBlock) {
                    pending.referenced = true;
                } else if (h.id == ebml::kBlockDuration) {
                    const uint8_t* p = require(pos, h.length + std::min<uint64_t>(h.size, 8), levels.front().end - pos);
                    if (!p) return Step::wait;
                    p += h.length;
                    pending.duration = ebml::read_uint(p, std::min<uint64_t>(h.size, 8));
                }
                pos = end;
                return Step::progress;
            default:
                pos = end;
                return Step::progress;
        }
    }

    Step webm_ebml_header() {
        Step step = Step::progress;
        auto header = element_header(file_size, 64, step);
        if (!header) return step;
        if (header->unknown_size || header->size > 4096 || header->size > file_size - header->length)
            return fail("corrupt", "EBML", "the EBML header at offset 0 claims " + std::to_string(header->size) + " bytes");
        const uint8_t* p = require(0, header->length + header->size);
        if (!p) return Step::wait;
        p += header->length;
        std::string doc_type;
        uint64_t at = 0;
        while (at < header->size) {
            ebml::Header c;
            if (ebml::read_header(p + at, size_t(header->size - at), c) != ebml::Read::ok || c.unknown_size || c.size > header->size - at - c.length)
                return fail("corrupt", "EBML", "a malformed element " + at_offset(header->length + at) + " in the EBML header");
            if (c.id == ebml::kDocType) doc_type.assign(reinterpret_cast<const char*>(p + at + c.length), size_t(c.size));
            at += c.length + c.size;
        }
        while (!doc_type.empty() && doc_type.back() == '\0') doc_type.pop_back();
        if (doc_type != "webm" && doc_type != "matroska")
            return fail("unknown_format", "EBML/DocType", "an EBML file of type '" + printable(doc_type) + "', not WebM or Matroska");
        index.container = doc_type;
        pos = header->length + header->size;
        return Step::progress;
    }

    // Iterates the children of an element held in memory; false (and failed) on a malformed one.
    template <class Visit>
    bool each_child(const uint8_t* p, uint64_t size, uint64_t base, uint32_t parent, Visit visit) {
        uint64_t at = 0;
        while (at < size) {
            ebml::Header c;
            if (ebml::read_header(p + at, size_t(std::min<uint64_t>(size - at, 12)), c) != ebml::Read::ok || c.unknown_size ||
                c.size > size - at - c.length)
                return failed_with("corrupt", webm_path(parent), std::string("a malformed element ") + at_offset(base + at) + " inside '" + ebml::name(parent) + "'");
            if (!visit(c, p + at + c.length, base + at)) return false;
            at += c.length + c.size;
        }
        return true;
    }

    bool parse_info(const uint8_t* p, uint64_t size, uint64_t base) {
        double duration = 0;
        bool ok = each_child(p, size, base, ebml::kInfo, [&](const ebml::Header& c, const uint8_t* value, uint64_t) {
            if (c.id == ebml::kTimestampScale) timestamp_scale = ebml::read_uint(value, c.size);
            if (c.id == ebml::kDuration) duration = ebml::read_float(value, c.size);
            return true;
        });
        if (!ok) return false;
        if (timestamp_scale == 0 || timestamp_scale > 1000000000ull)
            return failed_with("corrupt", "Segment/Info/TimestampScale", "TimestampScale " + std::to_string(timestamp_scale) + " ns " + at_offset(base) + " is not usable");
        segment_duration = duration > 0 && duration < 1e15 ? duration : 0;
        return true;
    }

    bool parse_tracks(const uint8_t* p, uint64_t size, uint64_t base) {
        bool found = false;
        bool ok = each_child(p, size, base, ebml::kTracks, [&](const ebml::Header& entry, const uint8_t* value, uint64_t entry_offset) {
            if (entry.id != ebml::kTrackEntry || found) return true;
            WebmTrack t;
            uint64_t type = 0;
            bool encoded = false;
            bool entry_ok = each_child(value, entry.size, entry_offset + entry.length, ebml::kTrackEntry, [&](const ebml::Header& c, const uint8_t* v, uint64_t at) {
                switch (c.id) {
                    case ebml::kTrackNumber: t.number = ebml::read_uint(v, c.size); break;
                    case ebml::kTrackType: type = ebml::read_uint(v, c.size); break;
                    case ebml::kCodecId: t.codec_id.assign(reinterpret_cast<const char*>(v), size_t(c.size)); break;
                    case ebml::kCodecPrivate: t.codec_private.assign(v, v + c.size); break;
                    case ebml::kDefaultDuration: t.default_duration_ns = ebml::read_uint(v, c.size); break;
                    case ebml::kContentEncodings: encoded = true; break;
                    case ebml::kVideo:
                        return each_child(v, c.size, at + c.length, ebml::kVideo, [&](const ebml::Header& d, const uint8_t* w, uint64_t) {
                            if (d.id == ebml::kPixelWidth) t.width = uint32_t(std::min<uint64_t>(ebml::read_uint(w, d.size), 1u << 30));
                            if (d.id == ebml::kPixelHeight) t.height = uint32_t(std::min<uint64_t>(ebml::read_uint(w, d.size), 1u << 30));
                            return true;
                        });
                    default: break;
                }
                return true;
            });
            if (!entry_ok) return false;
            if (type != 1) return true;
            while (!t.codec_id.empty() && t.codec_id.back() == '\0') t.codec_id.pop_back();
            if (encoded)
                return failed_with("unsupported", "Segment/Tracks/TrackEntry/ContentEncodings",
                                   "the video track " + at_offset(entry_offset) + " is compressed or encrypted (ContentEncodings)");
            webm_track = std::move(t);
            found = true;
            return true;
        });
        if (!ok) return false;
        if (!found) return failed_with("no_video_track", "Segment/Tracks", "no video track in Tracks " + at_offset(base));
        have_tracks = true;
        index.coded_width = webm_track.width;
        index.coded_height = webm_track.height;
        if (1000000000ull % timestamp_scale == 0) {
            index.timescale = uint32_t(1000000000ull / timestamp_scale);
        } else {
            index.timescale = 1000000000u;
        }
        const std::string& id = webm_track.codec_id;
        if (id != "V_VP8" && id != "V_VP9" && id != "V_AV1" && id != "V_MPEG4/ISO/AVC" && id != "V_MPEGH/ISO/HEVC")
            return failed_with("unsupported", "Segment/Tracks/TrackEntry/CodecID",
                               "the video codec '" + printable(id) + "' is not one WebCodecs decodes here (V_VP8, V_VP9, V_AV1, V_MPEG4/ISO/AVC, V_MPEGH/ISO/HEVC)");
        return true;
    }

    // Ticks from the file's raw timestamps (in TimestampScale units); nanoseconds when the scale
    // does not divide a second, saturating rather than overflowing.
    int64_t ticks(int64_t raw) const {
        if (index.timescale != 1000000000u || timestamp_scale == 1) return raw;
        int64_t limit = kMaxTicks / int64_t(timestamp_scale);
        return std::clamp(raw, -limit, limit) * int64_t(timestamp_scale);
    }

    // A SimpleBlock or Block: its track, time and flags; the payload is skipped.
    Step read_block(const ebml::Header& h, uint64_t data, uint64_t end, bool simple) {
        bool want_peek = first_frame_start.empty() && webm_track.codec_id == "V_VP9";
        uint64_t header_room = std::min<uint64_t>(end - data, 8 + 3 + (want_peek ? 16 : 0));
        const uint8_t* p = require(pos, h.length + header_room, levels.front().end - pos);
        if (!p) return Step::wait;
        p += h.length;
        uint64_t track_number = 0;
        unsigned length = 0;
        std::string name = simple ? "SimpleBlock" : "Block";
        ebml::Read r = ebml::read_vint(p, size_t(header_room), track_number, length);
        if (r != ebml::Read::ok || header_room < length + 3)
            return fail("corrupt", webm_path(h.id), "a " + name + " " + at_offset(pos) + " has a malformed header");
        if (track_number != webm_track.number) return Step::progress;
        int16_t relative = int16_t(be16(p + length));
        uint8_t flags = p[length + 2];
        if (flags & 0x06)
            return fail("unsupported", webm_path(h.id), "a " + name + " " + at_offset(pos) + " of the video track uses lacing (several frames in one block)");
        if (!have_cluster_time)
            return fail("corrupt", webm_path(h.id), "a " + name + " " + at_offset(pos) + " comes before its Cluster's Timestamp");
        uint64_t payload = data + length + 3;
        uint64_t size = end - payload;
        if (size == 0 || size > std::numeric_limits<uint32_t>::max())
            return fail("corrupt", webm_path(h.id), "a " + name + " " + at_offset(pos) + " holds a frame of " + std::to_string(size) + " bytes");
        if (cluster_time > (uint64_t(1) << 52))
            return fail("corrupt", "Segment/Cluster/Timestamp", "a Cluster Timestamp of " + std::to_string(cluster_time) + " is out of range");
        if (want_peek) first_frame_start.assign(p + length + 3, p + header_room);
        int64_t time = ticks(int64_t(cluster_time) + relative);
        if (simple) {
            return add_webm_sample(payload, uint32_t(size), time, (flags & 0x80) != 0, 0, h.id);
        }
        pending.present = true;
        pending.time = time;
        pending.offset = payload;
        pending.size = uint32_t(size);
        return Step::progress;
    }

    Step add_webm_sample(uint64_t offset, uint32_t size, int64_t time, bool keyframe, uint64_t duration, uint32_t id) {
        if (index.samples.size() >= std::min<uint64_t>(kMaxVideoSamples, file_size))
            return fail("too_large", webm_path(id), "the video track has more than " + std::to_string(kMaxVideoSamples) + " frames");
        VideoSample s;
        s.offset = offset;
        s.size = size;
        s.decode_time = s.composition_time = time;
        s.keyframe = keyframe;
        s.duration = uint32_t(std::min<uint64_t>(ticks(int64_t(duration)), std::numeric_limits<uint32_t>::max()));
        index.samples.push_back(s);
        return Step::progress;
    }

    void close_level() {
        EbmlLevel level = levels.back();
        levels.pop_back();
        if (level.id == ebml::kBlockGroup && pending.present) {
            pending.present = false;
            add_webm_sample(pending.offset, pending.size, pending.time, !pending.referenced, pending.duration, ebml::kBlock);
        }
    }

    Step webm_finish() {
        std::vector<VideoSample>& samples = index.samples;
        if (samples.empty()) return fail("no_video_track", "Segment", "the video track has no frames");
        if (!describe_webm_codec()) return Step::stop;
        // Samples without a BlockDuration last until the next frame is shown; the last one, until
        // the DefaultDuration or the Segment's Duration.
        std::vector<uint32_t> order(samples.size());
        for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return samples[a].composition_time < samples[b].composition_time; });
        int64_t default_duration = webm_track.default_duration_ns
                                       ? int64_t((webm_track.default_duration_ns * index.timescale + 500000000ull) / 1000000000ull)
                                       : 0;
        for (size_t n = 0; n < order.size(); ++n) {
            VideoSample& s = samples[order[n]];
            if (s.duration) continue;
            int64_t gap = 0;
            if (n + 1 < order.size()) gap = samples[order[n + 1]].composition_time - s.composition_time;
            else if (default_duration) gap = default_duration;
            else if (segment_duration > 0) gap = ticks(int64_t(segment_duration)) - s.composition_time;
            s.duration = uint32_t(std::clamp<int64_t>(gap, 0, std::numeric_limits<uint32_t>::max()));
        }
        return present({}, 0);
    }

    bool describe_webm_codec() {
        const std::string& id = webm_track.codec_id;
        const std::vector<uint8_t>& priv = webm_track.codec_private;
        if (id == "V_VP8") {
            index.codec = "vp8";
        } else if (id == "V_VP9") {
            // CodecPrivate, when present, lists profile (1), level (2) and bit depth (3); otherwise
            // the first frame's header tells the profile and bit depth.
            int profile = -1, level = -1, bit_depth = -1;
            for (size_t at = 0; at + 2 <= priv.size();) {
                unsigned feature = priv[at], length = priv[at + 1];
                if (at + 2 + length > priv.size()) break;
                if (length == 1 && feature == 1) profile = priv[at + 2];
                if (length == 1 && feature == 2) level = priv[at + 2];
                if (length == 1 && feature == 3) bit_depth = priv[at + 2];
                at += 2 + length;
            }
            if (auto header = vp9_frame_header(first_frame_start)) {
                if (profile < 0) profile = header->first;
                if (bit_depth < 0) bit_depth = header->second;
            }
            if (profile < 0) profile = 0;
            if (bit_depth < 0) bit_depth = 8;
            if (level < 0) level = int(vp9_level_for(webm_track.width, webm_track.height));
            index.codec = vp9_codec(unsigned(profile), unsigned(level), unsigned(bit_depth));
        } else if (id == "V_AV1") {
            if (priv.size() < 4) return failed_with("unsupported", "Segment/Tracks/TrackEntry/CodecPrivate", "the AV1 track has no av1C CodecPrivate");
            index.codec = av1_codec(priv);
            index.description = priv;
        } else if (id == "V_MPEG4/ISO/AVC") {
            if (priv.size() < 7) return failed_with("corrupt", "Segment/Tracks/TrackEntry/CodecPrivate", "the H.264 track has no avcC CodecPrivate");
            index.codec = avc_codec(fourcc("avc1"), priv);
            index.description = priv;
        } else {
            if (priv.size() < 23) return failed_with("corrupt", "Segment/Tracks/TrackEntry/CodecPrivate", "the H.265 track has no hvcC CodecPrivate");
            index.codec = hevc_codec(fourcc("hvc1"), priv);
            index.description = priv;
        }
        return true;
    }
};

// [SECTION] Public API

VideoIndexer::VideoIndexer(uint64_t file_size) : impl_(std::make_unique<Impl>(file_size)) {}
VideoIndexer::~VideoIndexer() = default;
VideoIndexer::VideoIndexer(VideoIndexer&&) noexcept = default;
VideoIndexer& VideoIndexer::operator=(VideoIndexer&&) noexcept = default;

std::optional<VideoIndexer::Need> VideoIndexer::need() const { return impl_->need(); }
IndexerState VideoIndexer::feed(uint64_t offset, const uint8_t* data, size_t size) { return impl_->feed(offset, data, size); }
IndexerState VideoIndexer::state() const { return impl_->state; }
const VideoIndex& VideoIndexer::index() const { return impl_->index; }
const Error& VideoIndexer::error() const { return impl_->error; }

Expected<VideoIndex> index_video(const uint8_t* data, size_t size) {
    VideoIndexer indexer(size);
    while (auto need = indexer.need()) {
        uint64_t available = size - need->offset;
        indexer.feed(need->offset, data + need->offset, size_t(available));
    }
    if (!indexer.done()) return indexer.error();
    return indexer.index();
}

DecodeRange samples_to_decode(const VideoIndex& index, size_t frame) {
    if (frame >= index.frames.size()) return {};
    const VideoFrame& f = index.frames[frame];
    return {f.decode_from, f.sample};
}

std::optional<size_t> frame_at_time(const VideoIndex& index, double seconds) {
    auto after = std::upper_bound(index.frames.begin(), index.frames.end(), seconds,
                                  [](double t, const VideoFrame& f) { return t < f.pts_seconds; });
    if (after == index.frames.begin()) return std::nullopt;
    return size_t(after - index.frames.begin()) - 1;
}

}  // namespace pm
