#include "polymark/video_index.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace pm;
using Bytes = std::vector<uint8_t>;

// [SECTION] Building files in code: every test owns its input byte for byte.

namespace {

void put16(Bytes& b, uint32_t v) { b.insert(b.end(), {uint8_t(v >> 8), uint8_t(v)}); }
void put32(Bytes& b, uint32_t v) { b.insert(b.end(), {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}); }
void put64(Bytes& b, uint64_t v) { put32(b, uint32_t(v >> 32)); put32(b, uint32_t(v)); }
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Bytes box(const char* type, const Bytes& body) {
    Bytes b;
    put32(b, uint32_t(8 + body.size()));
    b.insert(b.end(), type, type + 4);
    append(b, body);
    return b;
}

Bytes full_box(const char* type, uint8_t version, const Bytes& body) {
    Bytes b = {version, 0, 0, 0};
    append(b, body);
    return box(type, b);
}

Bytes boxes(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes& p : parts) append(b, p);
    return b;
}

// An avcC for High profile, level 3.1, with a tiny SPS and PPS.
Bytes avcc() { return {1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0x00, 0x1F, 1, 0, 2, 0x68, 0xEE}; }

struct Movie {
    std::vector<uint32_t> sizes;           // decode order
    uint32_t delta = 512;                  // stts: every sample the same
    std::vector<int32_t> composition;      // ctts offsets, empty for none
    std::vector<uint32_t> sync;            // stss sample numbers (1-based); empty with has_stss = no box
    bool has_stss = true;
    std::vector<std::pair<int64_t, uint64_t>> edits;  // (media_time, segment duration in movie ticks)
    uint32_t timescale = 15360, movie_timescale = 1000;
    uint32_t samples_per_chunk = 0;        // 0: all in one chunk
    int ctts_version = 0;
    bool moov_first = false;
    bool large_mdat = false;               // a 64-bit mdat size
    const char* entry = "avc1";            // the sample entry and its configuration box
    const char* config_type = "avcC";
    Bytes config = avcc();
    bool config_is_full_box = false;       // vpcC is a full box
};

// ftyp, mdat, moov (or ftyp, moov, mdat) for one H.264 track; samples hold their index byte.
Bytes make_mp4(const Movie& m) {
    Bytes ftyp = box("ftyp", {'i', 's', 'o', 'm', 0, 0, 2, 0, 'i', 's', 'o', 'm'});
    Bytes media;
    for (size_t i = 0; i < m.sizes.size(); ++i) media.insert(media.end(), m.sizes[i], uint8_t(i));
    uint64_t mdat_header = m.large_mdat ? 16 : 8;

    auto build_moov = [&](uint64_t first_sample_offset) {
        Bytes stsd_body;
        put32(stsd_body, 1);
        Bytes entry(6, 0);
        put16(entry, 1);
        entry.insert(entry.end(), 16, 0);
        put16(entry, 320);
        put16(entry, 240);
        put32(entry, 0x00480000);
        put32(entry, 0x00480000);
        put32(entry, 0);
        put16(entry, 1);
        entry.insert(entry.end(), 32, 0);
        put16(entry, 24);
        put16(entry, 0xFFFF);
        if (m.config_is_full_box) {
            Bytes versioned = {1, 0, 0, 0};
            append(versioned, m.config);
            append(entry, box(m.config_type, versioned));
        } else {
            append(entry, box(m.config_type, m.config));
        }
        append(stsd_body, box(m.entry, entry));

        Bytes stts;
        put32(stts, 1);
        put32(stts, uint32_t(m.sizes.size()));
        put32(stts, m.delta);
        Bytes stsz;
        put32(stsz, 0);
        put32(stsz, uint32_t(m.sizes.size()));
        for (uint32_t s : m.sizes) put32(stsz, s);
        uint32_t per_chunk = m.samples_per_chunk ? m.samples_per_chunk : uint32_t(m.sizes.size());
        Bytes stsc;
        put32(stsc, 1);
        put32(stsc, 1);
        put32(stsc, per_chunk);
        put32(stsc, 1);
        Bytes stco;
        std::vector<uint64_t> chunk_offsets;
        uint64_t at = first_sample_offset;
        for (size_t i = 0; i < m.sizes.size(); ++i) {
            if (i % per_chunk == 0) chunk_offsets.push_back(at);
            at += m.sizes[i];
        }
        put32(stco, uint32_t(chunk_offsets.size()));
        for (uint64_t o : chunk_offsets) put32(stco, uint32_t(o));

        Bytes stbl = boxes({full_box("stsd", 0, stsd_body), full_box("stts", 0, stts), full_box("stsz", 0, stsz),
                            full_box("stsc", 0, stsc), full_box("stco", 0, stco)});
        if (!m.composition.empty()) {
            Bytes ctts;
            put32(ctts, uint32_t(m.composition.size()));
            for (int32_t c : m.composition) {
                put32(ctts, 1);
                put32(ctts, uint32_t(c));
            }
            append(stbl, full_box("ctts", uint8_t(m.ctts_version), ctts));
        }
        if (m.has_stss) {
            Bytes stss;
            put32(stss, uint32_t(m.sync.size()));
            for (uint32_t s : m.sync) put32(stss, s);
            append(stbl, full_box("stss", 0, stss));
        }
        Bytes mdhd(8, 0);
        put32(mdhd, m.timescale);
        put32(mdhd, uint32_t(m.sizes.size() * m.delta));
        put32(mdhd, 0);
        Bytes hdlr(4, 0);
        hdlr.insert(hdlr.end(), {'v', 'i', 'd', 'e'});
        hdlr.insert(hdlr.end(), 13, 0);
        Bytes mdia = boxes({full_box("mdhd", 0, mdhd), full_box("hdlr", 0, hdlr), box("minf", box("stbl", stbl))});
        Bytes tkhd(8, 0);
        put32(tkhd, 1);
        tkhd.insert(tkhd.end(), 68, 0);
        Bytes trak = full_box("tkhd", 0, tkhd);
        if (!m.edits.empty()) {
            Bytes elst;
            put32(elst, uint32_t(m.edits.size()));
            for (auto [media_time, duration] : m.edits) {
                put32(elst, uint32_t(duration));
                put32(elst, uint32_t(int32_t(media_time)));
                put32(elst, 0x00010000);
            }
            append(trak, box("edts", full_box("elst", 0, elst)));
        }
        append(trak, box("mdia", mdia));
        Bytes mvhd(8, 0);
        put32(mvhd, m.movie_timescale);
        mvhd.insert(mvhd.end(), 84, 0);
        return box("moov", boxes({full_box("mvhd", 0, mvhd), box("trak", trak)}));
    };
    auto build_mdat = [&]() {
        Bytes b;
        if (m.large_mdat) {
            put32(b, 1);
            b.insert(b.end(), {'m', 'd', 'a', 't'});
            put64(b, 16 + media.size());
        } else {
            put32(b, uint32_t(8 + media.size()));
            b.insert(b.end(), {'m', 'd', 'a', 't'});
        }
        append(b, media);
        return b;
    };
    if (m.moov_first) {
        uint64_t moov_size = build_moov(0).size();
        return boxes({ftyp, build_moov(ftyp.size() + moov_size + mdat_header), build_mdat()});
    }
    return boxes({ftyp, build_mdat(), build_moov(ftyp.size() + mdat_header)});
}

// x264-like: I P B B P B B in decode order, shown I B B P B B P; ffmpeg's edit list skips the
// two-frame composition delay.
Movie bframe_movie() {
    Movie m;
    m.sizes = {100, 50, 20, 21, 51, 22, 23};
    // Composition times (decode time + offset), in frames: I=2, P=5, B=3, B=4, P=8, B=6, B=7.
    std::vector<int32_t> shown = {2, 5, 3, 4, 8, 6, 7};
    for (size_t i = 0; i < shown.size(); ++i) m.composition.push_back((shown[i] - int32_t(i)) * 512);
    m.sync = {1};
    m.edits = {{1024, 7 * 1000 / 30}};
    return m;
}

Expected<VideoIndex> index_of(const Bytes& file) { return index_video(file.data(), file.size()); }

// Feeds exactly what the indexer asks for, never more: the least a caller can do.
Expected<VideoIndex> index_stingily(const Bytes& file, uint64_t* bytes_fed = nullptr) {
    VideoIndexer indexer(file.size());
    uint64_t fed = 0;
    while (auto need = indexer.need()) {
        indexer.feed(need->offset, file.data() + need->offset, size_t(need->size));
        fed += need->size;
    }
    if (bytes_fed) *bytes_fed = fed;
    if (!indexer.done()) return indexer.error();
    return indexer.index();
}

std::vector<int64_t> frame_pts(const VideoIndex& index) {
    std::vector<int64_t> pts;
    for (const VideoFrame& f : index.frames) pts.push_back(f.pts);
    return pts;
}

std::vector<uint32_t> frame_samples(const VideoIndex& index) {
    std::vector<uint32_t> samples;
    for (const VideoFrame& f : index.frames) samples.push_back(f.sample);
    return samples;
}

// EBML: an element with an 8-byte size, or an unknown size.
Bytes element(uint32_t id, const Bytes& body, bool unknown_size = false) {
    Bytes b;
    for (int shift = 24; shift >= 0; shift -= 8)
        if ((id >> shift) || shift == 0) b.push_back(uint8_t(id >> shift));
    if (unknown_size) {
        b.push_back(0x01);
        b.insert(b.end(), 7, 0xFF);
    } else {
        b.push_back(0x01);
        for (int shift = 48; shift >= 0; shift -= 8) b.push_back(uint8_t(body.size() >> shift));
    }
    append(b, body);
    return b;
}

Bytes uint_element(uint32_t id, uint64_t v) {
    Bytes body;
    for (int shift = 56; shift >= 0; shift -= 8)
        if ((v >> shift) || shift == 0 || !body.empty()) body.push_back(uint8_t(v >> shift));
    return element(id, body);
}

Bytes string_element(uint32_t id, const std::string& s) { return element(id, Bytes(s.begin(), s.end())); }

// A block body: track 1, a relative time, flags, then the frame.
Bytes block(int16_t time, uint8_t flags, const Bytes& frame) {
    Bytes b = {0x81, uint8_t(uint16_t(time) >> 8), uint8_t(time), flags};
    append(b, frame);
    return b;
}

// A VP9 profile 0 key frame's first bytes: frame marker, profile 0, key frame, sync code.
Bytes vp9_key_frame() { return {0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xF0, 0x0E, 0xF6, 1, 2, 3}; }
Bytes vp9_inter_frame() { return {0x86, 0x00, 0x40, 0x92, 0x88, 0x2C, 7, 7}; }

struct Webm {
    bool unknown_sizes = false;
    std::string codec = "V_VP9";
    Bytes clusters;
};

Bytes make_webm(const Webm& w) {
    Bytes header = element(0x1A45DFA3, boxes({uint_element(0x4286, 1), string_element(0x4282, "webm"), uint_element(0x4287, 4)}));
    Bytes info = element(0x1549A966, boxes({uint_element(0x2AD7B1, 1000000)}));
    Bytes video = element(0xE0, boxes({uint_element(0xB0, 320), uint_element(0xBA, 240)}));
    Bytes entry = element(0xAE, boxes({uint_element(0xD7, 1), uint_element(0x83, 1), string_element(0x86, w.codec), video}));
    Bytes tracks = element(0x1654AE6B, entry);
    return boxes({header, element(0x18538067, boxes({info, tracks, w.clusters}), w.unknown_sizes)});
}

Bytes cluster(uint64_t time, std::initializer_list<Bytes> children, bool unknown_size = false) {
    Bytes body = uint_element(0xE7, time);
    for (const Bytes& c : children) append(body, c);
    return element(0x1F43B675, body, unknown_size);
}

Bytes simple_block(int16_t time, bool key, const Bytes& frame) { return element(0xA3, block(time, key ? 0x80 : 0x00, frame)); }

}  // namespace

// [SECTION] MP4

TEST_CASE("an mp4 with B-frames lists frames in presentation order, shifted by the edit list") {
    auto index = index_of(make_mp4(bframe_movie()));
    REQUIRE(index.ok());
    CHECK(index->container == "mp4");
    CHECK(index->codec == "avc1.64001f");
    CHECK(index->description == avcc());
    CHECK(index->coded_width == 320);
    CHECK(index->coded_height == 240);
    CHECK(index->timescale == 15360);
    CHECK(frame_pts(index.value()) == std::vector<int64_t>{0, 512, 1024, 1536, 2048, 2560, 3072});
    CHECK(frame_samples(index.value()) == std::vector<uint32_t>{0, 2, 3, 1, 5, 6, 4});
    CHECK(index->frames[3].pts_seconds == Approx(0.1));
    CHECK(index->frames.back().duration == 512);
    CHECK(index->duration_seconds == Approx(7.0 / 30));
    CHECK(index->samples[2].offset == 20 + 8 + 150);
    CHECK(index->samples[2].size == 20);
}

TEST_CASE("frame n decodes from the keyframe before it in decode order, up to its own sample") {
    Movie m = bframe_movie();
    m.sizes.insert(m.sizes.end(), {90, 40, 10});  // a second group: I P B, shown I B P
    for (int32_t shown : {9, 11, 10}) m.composition.push_back((shown - int32_t(m.composition.size())) * 512);
    m.sync = {1, 8};
    m.edits = {{1024, 10 * 1000 / 30}};
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    REQUIRE(index->frames.size() == 10);
    DecodeRange range = samples_to_decode(index.value(), 3);  // the P frame shown 4th, decoded 2nd
    CHECK(range.first == 0);
    CHECK(range.last == 1);
    range = samples_to_decode(index.value(), 8);  // the B of the second group
    CHECK(range.first == 7);
    CHECK(range.last == 9);
    CHECK(index->frames[7].decode_from == 7);
    CHECK(index->frames[7].sample == 7);
}

TEST_CASE("a frame shown before its keyframe decodes from the keyframe before that (open GOP)") {
    Movie m;
    m.sizes = {10, 10, 10, 10, 10};
    // Decode order I P I' B B, where the B frames are shown before I' and may refer to P.
    std::vector<int32_t> shown = {0, 1, 4, 2, 3};
    for (size_t i = 0; i < shown.size(); ++i) m.composition.push_back((shown[i] - int32_t(i)) * 512);
    m.sync = {1, 3};
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    CHECK(frame_samples(index.value()) == std::vector<uint32_t>{0, 1, 3, 4, 2});
    CHECK(index->frames[2].decode_from == 0);
    CHECK(index->frames[4].decode_from == 2);
}

TEST_CASE("without an stss box every sample is a keyframe") {
    Movie m;
    m.sizes = {10, 11, 12};
    m.has_stss = false;
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    for (const VideoSample& s : index->samples) CHECK(s.keyframe);
    CHECK(index->frames[2].decode_from == 2);
}

TEST_CASE("an empty edit delays every frame and media before the edit's media time is not shown") {
    Movie m;
    m.sizes = {10, 11, 12, 13};
    m.sync = {1};
    m.edits = {{-1, 500}, {1024, 1000}};  // half a second of nothing, then from the third sample
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    CHECK(frame_pts(index.value()) == std::vector<int64_t>{7680, 8192});
    CHECK(frame_samples(index.value()) == std::vector<uint32_t>{2, 3});
    CHECK(index->frames[0].decode_from == 0);  // the dropped samples are still needed to decode
    CHECK(index->samples.size() == 4);
}

TEST_CASE("ctts version 1 takes negative composition offsets") {
    Movie m;
    m.sizes = {10, 10, 10};
    m.composition = {0, 512, -512};
    m.ctts_version = 1;
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    CHECK(frame_pts(index.value()) == std::vector<int64_t>{0, 512, 1024});
    CHECK(frame_samples(index.value()) == std::vector<uint32_t>{0, 2, 1});
}

TEST_CASE("samples spread over several chunks get each chunk's offset") {
    Movie m;
    m.sizes = {5, 6, 7, 8, 9};
    m.samples_per_chunk = 2;
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    uint64_t at = 20 + 8;
    for (size_t i = 0; i < m.sizes.size(); ++i) {
        CHECK(index->samples[i].offset == at);
        at += m.sizes[i];
    }
}

TEST_CASE("a 64-bit mdat size and a moov at the start are both read") {
    Movie m = bframe_movie();
    m.large_mdat = true;
    m.moov_first = true;
    auto index = index_of(make_mp4(m));
    REQUIRE(index.ok());
    CHECK(index->frames.size() == 7);
    Bytes file = make_mp4(m);
    CHECK(index->samples.back().offset + index->samples.back().size == file.size());
}

TEST_CASE("an mp4 with its moov at the end is indexed without reading the media data") {
    Movie m = bframe_movie();
    m.sizes[0] = 400000;  // a large first frame, skipped unread
    Bytes file = make_mp4(m);
    uint64_t fed = 0;
    auto index = index_stingily(file, &fed);
    REQUIRE(index.ok());
    CHECK(fed < 4000);
    CHECK(frame_pts(index.value()) == frame_pts(index_of(file).value()));
}

TEST_CASE("feeding one byte at a time gives the same index as feeding everything") {
    for (const Bytes& file : {make_mp4(bframe_movie()), make_webm({false, "V_VP9", cluster(0, {simple_block(0, true, vp9_key_frame()), simple_block(40, false, vp9_inter_frame())})})}) {
        VideoIndexer indexer(file.size());
        while (auto need = indexer.need()) indexer.feed(need->offset, file.data() + need->offset, 1);
        REQUIRE(indexer.done());
        auto whole = index_of(file);
        REQUIRE(whole.ok());
        CHECK(frame_pts(indexer.index()) == frame_pts(whole.value()));
        CHECK(frame_samples(indexer.index()) == frame_samples(whole.value()));
    }
}

TEST_CASE("frame_at_time finds the frame shown at a time") {
    auto index = index_of(make_mp4(bframe_movie()));
    REQUIRE(index.ok());
    CHECK_FALSE(frame_at_time(index.value(), -0.01).has_value());
    CHECK(frame_at_time(index.value(), 0.0) == 0u);
    CHECK(frame_at_time(index.value(), 0.05) == 1u);
    CHECK(frame_at_time(index.value(), 10.0) == 6u);
}

TEST_CASE("codec strings come from hvcC, av1C and vpcC as WebCodecs names them") {
    Movie m;
    m.sizes = {10};
    m.entry = "hvc1";
    m.config_type = "hvcC";
    // Main profile, compatible with profiles 1 and 2, constraint byte B0, level 93.
    m.config = {1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93, 0xF0, 0, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0};
    auto hevc = index_of(make_mp4(m));
    REQUIRE(hevc.ok());
    CHECK(hevc->codec == "hvc1.1.6.L93.B0");
    CHECK(hevc->description == m.config);

    m.entry = "av01";
    m.config_type = "av1C";
    m.config = {0x81, 0x08, 0x0C, 0x00};  // main profile, level 4.0 (8), main tier, 8 bits
    auto av1 = index_of(make_mp4(m));
    REQUIRE(av1.ok());
    CHECK(av1->codec == "av01.0.08M.08");

    m.entry = "vp09";
    m.config_type = "vpcC";
    m.config_is_full_box = true;
    m.config = {2, 31, 0xA2, 1, 1, 1, 0, 0};  // profile 2, level 3.1, 10 bits
    auto vp9 = index_of(make_mp4(m));
    REQUIRE(vp9.ok());
    CHECK(vp9->codec == "vp09.02.31.10");
    CHECK(vp9->description.empty());

    m.entry = "mp4v";
    CHECK(index_of(make_mp4(m)).first_error().code == "unsupported");
}

// [SECTION] MP4 errors

TEST_CASE("an mp4 cut inside its moov is a truncated error naming the moov and its offset") {
    Bytes file = make_mp4(bframe_movie());
    Bytes cut(file.begin(), file.end() - 40);
    auto index = index_of(cut);
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "truncated");
    CHECK(index.first_error().path == "moov");
    CHECK(index.first_error().message.find("offset " + std::to_string(20 + 8 + 287)) != std::string::npos);
}

TEST_CASE("a box claiming more bytes than the file holds is a truncated error") {
    Bytes file = box("ftyp", {'i', 's', 'o', 'm', 0, 0, 0, 0});
    put32(file, 0xFFFFFF00);
    file.insert(file.end(), {'f', 'r', 'e', 'e'});
    file.insert(file.end(), 64, 0);
    auto index = index_of(file);
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "truncated");
    CHECK(index.first_error().path == "free");
}

TEST_CASE("a file without a moov is a truncated error") {
    Bytes file = boxes({box("ftyp", {'i', 's', 'o', 'm', 0, 0, 0, 0}), box("mdat", Bytes(100, 0))});
    auto index = index_of(file);
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "truncated");
    CHECK(index.first_error().path == "moov");
}

TEST_CASE("a hostile sample count is refused without allocating it") {
    Bytes file = make_mp4(bframe_movie());
    // Turn stsz into "every sample is 1 byte, and there are 4 billion of them".
    auto at = std::search(file.begin(), file.end(), std::begin("stsz"), std::begin("stsz") + 4) - file.begin();
    file[at + 8] = 0, file[at + 9] = 0, file[at + 10] = 0, file[at + 11] = 1;
    file[at + 12] = file[at + 13] = file[at + 14] = file[at + 15] = 0xFF;
    auto index = index_of(file);
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "too_large");
    CHECK(index.first_error().path == "moov/trak/mdia/minf/stbl/stsz");
}

TEST_CASE("a table claiming more entries than its box holds is corrupt") {
    Bytes file = make_mp4(bframe_movie());
    auto at = std::search(file.begin(), file.end(), std::begin("stts"), std::begin("stts") + 4) - file.begin();
    file[at + 8] = 0x10;  // entry_count 0x10000001
    auto index = index_of(file);
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "corrupt");
    CHECK(index.first_error().path == "moov/trak/mdia/minf/stbl/stts");
}

TEST_CASE("an mp4 cut short in its media data indexes every sample and names the first one past the cut") {
    Movie m = bframe_movie();
    m.moov_first = true;
    Bytes whole = make_mp4(m);
    Bytes file(whole.begin(), whole.end() - 30);
    auto index = index_of(file);
    REQUIRE(index.ok());
    REQUIRE(index.value().truncated);
    CHECK(index.value().truncated->code == "truncated");
    CHECK(index.value().truncated->message.find("sample 5") != std::string::npos);
    // The same frames as the whole file; only the samples past the cut are out of the file.
    auto full = index_of(whole);
    REQUIRE(full.ok());
    CHECK_FALSE(full.value().truncated);
    CHECK(index.value().frames.size() == full.value().frames.size());
    const auto& samples = index.value().samples;
    for (size_t s = 0; s < samples.size(); ++s) CHECK(sample_in_file(index.value(), samples[s]) == (s < 5));
}

TEST_CASE("empty, random and unknown files are errors, never crashes") {
    CHECK(index_of({}).first_error().code == "empty_file");
    Bytes noise;
    uint32_t x = 12345;
    for (int i = 0; i < 1000; ++i) noise.push_back(uint8_t((x = x * 1103515245 + 12345) >> 16));
    CHECK(index_of(noise).first_error().code == "unknown_format");
    CHECK(index_of({'h', 'i'}).first_error().code == "unknown_format");
}

TEST_CASE("every truncation of a small mp4 ends in an index or an error") {
    Bytes file = make_mp4(bframe_movie());
    for (size_t n = 0; n < file.size(); ++n) {
        Bytes cut(file.begin(), file.begin() + ptrdiff_t(n));
        auto index = index_of(cut);
        if (!index.ok()) CHECK_FALSE(index.first_error().code.empty());
    }
}

TEST_CASE("bytes fed at another offset than asked are refused") {
    Bytes file = make_mp4(bframe_movie());
    VideoIndexer indexer(file.size());
    REQUIRE(indexer.need().has_value());
    CHECK(indexer.feed(5, file.data() + 5, 10) == IndexerState::failed);
    CHECK(indexer.error().code == "unexpected_range");
    CHECK_FALSE(indexer.need().has_value());
}

// [SECTION] WebM

TEST_CASE("a webm gives frames from SimpleBlocks with keyframe flags and cluster-relative times") {
    Webm w;
    w.clusters = boxes({cluster(0, {simple_block(0, true, vp9_key_frame()), simple_block(33, false, vp9_inter_frame())}),
                        cluster(1000, {simple_block(-934, false, vp9_inter_frame()), simple_block(0, true, vp9_key_frame())})});
    auto index = index_of(make_webm(w));
    REQUIRE(index.ok());
    CHECK(index->container == "webm");
    CHECK(index->codec == "vp09.00.20.08");
    CHECK(index->description.empty());
    CHECK(index->timescale == 1000);
    CHECK(frame_pts(index.value()) == std::vector<int64_t>{0, 33, 66, 1000});
    CHECK(index->frames[2].decode_from == 0);
    CHECK(index->frames[3].decode_from == 3);
    CHECK(index->frames[1].duration == 33);
    CHECK(index->samples[0].size == vp9_key_frame().size());
}

TEST_CASE("unknown-size segments and clusters end where the next cluster starts") {
    Webm w;
    w.unknown_sizes = true;
    w.clusters = boxes({cluster(0, {simple_block(0, true, vp9_key_frame()), simple_block(40, false, vp9_inter_frame())}, true),
                        cluster(80, {simple_block(0, false, vp9_inter_frame())}, true)});
    auto index = index_of(make_webm(w));
    REQUIRE(index.ok());
    CHECK(frame_pts(index.value()) == std::vector<int64_t>{0, 40, 80});
}

TEST_CASE("a Block without a ReferenceBlock is a keyframe, one with it is not") {
    Webm w;
    Bytes key_group = element(0xA0, element(0xA1, block(0, 0, vp9_key_frame())));
    Bytes inter_group = element(0xA0, boxes({element(0xA1, block(40, 0, vp9_inter_frame())), element(0xFB, {0xD8})}));
    w.clusters = cluster(0, {key_group, inter_group});
    auto index = index_of(make_webm(w));
    REQUIRE(index.ok());
    REQUIRE(index->samples.size() == 2);
    CHECK(index->samples[0].keyframe);
    CHECK_FALSE(index->samples[1].keyframe);
}

TEST_CASE("the VP9 profile and bit depth come from the first frame when CodecPrivate is absent") {
    Webm w;
    // Profile 2 (high bit of the profile set), key frame, sync code, then ten_or_twelve_bit = 0.
    Bytes frame = {0x92, 0x49, 0x83, 0x42, 0x00, 0x00, 0x00, 0x00};
    w.clusters = cluster(0, {simple_block(0, true, frame)});
    auto index = index_of(make_webm(w));
    REQUIRE(index.ok());
    CHECK(index->codec == "vp09.02.20.10");
}

TEST_CASE("laced video blocks are refused with a clear error") {
    Webm w;
    w.clusters = cluster(0, {element(0xA3, block(0, 0x80 | 0x02, vp9_key_frame()))});
    auto index = index_of(make_webm(w));
    REQUIRE_FALSE(index.ok());
    CHECK(index.first_error().code == "unsupported");
    CHECK(index.first_error().path == "Segment/Cluster/SimpleBlock");
}

TEST_CASE("a webm cut inside a cluster keeps the blocks before the cut and says it is truncated") {
    Webm w;
    w.clusters = cluster(0, {simple_block(0, true, vp9_key_frame()), simple_block(40, false, vp9_inter_frame())});
    Bytes file = make_webm(w);
    file.resize(file.size() - 5);
    auto index = index_of(file);
    REQUIRE(index.ok());
    REQUIRE(index.value().truncated);
    CHECK(index.value().truncated->message.find("the file is truncated") != std::string::npos);
    REQUIRE(index.value().frames.size() == 1);
    CHECK(index.value().samples[0].keyframe);
    CHECK(sample_in_file(index.value(), index.value().samples[0]));
}

TEST_CASE("an unknown video codec in a webm is unsupported, a file without video has no video track") {
    Webm w;
    w.codec = "V_THEORA";
    w.clusters = cluster(0, {simple_block(0, true, {1, 2, 3})});
    CHECK(index_of(make_webm(w)).first_error().code == "unsupported");
}

TEST_CASE("every truncation of a small webm ends in an index or an error") {
    Webm w;
    w.clusters = boxes({cluster(0, {simple_block(0, true, vp9_key_frame())}), cluster(40, {simple_block(0, false, vp9_inter_frame())})});
    Bytes file = make_webm(w);
    for (size_t n = 0; n < file.size(); ++n) {
        auto index = index_of(Bytes(file.begin(), file.begin() + ptrdiff_t(n)));
        if (!index.ok()) CHECK_FALSE(index.first_error().code.empty());
    }
}
