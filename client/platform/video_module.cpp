// The video indexing module: a small wasm of its own (dist/polymark_video.js + .wasm) that
// shell/video.js loads only for tasks with video, so the main app stays small. C exports around
// pm::VideoIndexer; the JS side does every read (HTTP Range requests) and every decode
// (WebCodecs). Depends on polymark_core only: no SDL, no ImGui, no GL.
//
// Handles are small positive integers; 0 means "no such indexer". Results are handed to JS as
// pointers into the wasm heap that stay valid until the next call on the same handle (JS copies
// them out at once). Numbers cross as doubles: byte offsets and ticks stay exact below 2^53.
#include "polymark/video_index.hpp"

#include <emscripten.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Slot {
    std::unique_ptr<pm::VideoIndexer> indexer;
    std::string text;          // the last JSON string handed out
    std::vector<double> numbers;  // the last table handed out
};

std::map<int, Slot> g_slots;
int g_next_handle = 1;

Slot* find(int handle) {
    auto it = g_slots.find(handle);
    return it == g_slots.end() ? nullptr : &it->second;
}

void append_json_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

void append_error(std::string& out, const pm::Error& e) {
    out += "{\"code\":";
    append_json_string(out, e.code);
    out += ",\"path\":";
    append_json_string(out, e.path);
    out += ",\"message\":";
    append_json_string(out, e.message);
    out += '}';
}

void append_number(std::string& out, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out += buf;
}

int state_code(pm::IndexerState s) {
    switch (s) {
    case pm::IndexerState::need_bytes: return 0;
    case pm::IndexerState::done: return 1;
    case pm::IndexerState::failed: return 2;
    }
    return 2;
}

}  // namespace

extern "C" {

// A new indexer for a file of `file_size` bytes. Returns its handle.
EMSCRIPTEN_KEEPALIVE int pm_video_open(double file_size) {
    int handle = g_next_handle++;
    Slot& slot = g_slots[handle];
    slot.indexer = std::make_unique<pm::VideoIndexer>(file_size > 0 ? uint64_t(file_size) : 0);
    return handle;
}

// 0 reading, 1 done, 2 failed, -1 unknown handle.
EMSCRIPTEN_KEEPALIVE int pm_video_state(int handle) {
    Slot* slot = find(handle);
    return slot ? state_code(slot->indexer->state()) : -1;
}

// The next byte range to read as three doubles [offset, size, useful_size], or null once the
// indexer is done or failed.
EMSCRIPTEN_KEEPALIVE const double* pm_video_need(int handle) {
    Slot* slot = find(handle);
    if (!slot) return nullptr;
    auto need = slot->indexer->need();
    if (!need) return nullptr;
    slot->numbers = {double(need->offset), double(need->size), double(need->useful_size)};
    return slot->numbers.data();
}

// Bytes read from `offset` (which must be the offset need() gave). Returns the state as
// pm_video_state does. An empty read (size 0) means the file ends early: the indexer fails
// with "truncated".
EMSCRIPTEN_KEEPALIVE int pm_video_feed(int handle, double offset, const uint8_t* data, int size) {
    Slot* slot = find(handle);
    if (!slot) return -1;
    return state_code(slot->indexer->feed(uint64_t(offset), data, size_t(size < 0 ? 0 : size)));
}

// Once done: the index header as JSON {container, codec, description (hex), codedWidth,
// codedHeight, timescale, durationSeconds, frameCount, sampleCount, truncated (an error
// {code, path, message} when the file is cut short, else null)}; null otherwise.
EMSCRIPTEN_KEEPALIVE const char* pm_video_info(int handle) {
    Slot* slot = find(handle);
    if (!slot || !slot->indexer->done()) return nullptr;
    const pm::VideoIndex& index = slot->indexer->index();
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(index.description.size() * 2);
    for (uint8_t b : index.description) {
        hex += kHex[b >> 4];
        hex += kHex[b & 15];
    }
    std::string& out = slot->text;
    out = "{\"container\":";
    append_json_string(out, index.container);
    out += ",\"codec\":";
    append_json_string(out, index.codec);
    out += ",\"description\":";
    append_json_string(out, hex);
    out += ",\"codedWidth\":";
    append_number(out, index.coded_width);
    out += ",\"codedHeight\":";
    append_number(out, index.coded_height);
    out += ",\"timescale\":";
    append_number(out, index.timescale);
    out += ",\"durationSeconds\":";
    append_number(out, index.duration_seconds);
    out += ",\"frameCount\":";
    append_number(out, double(index.frames.size()));
    out += ",\"sampleCount\":";
    append_number(out, double(index.samples.size()));
    out += ",\"truncated\":";
    if (index.truncated) append_error(out, *index.truncated);
    else out += "null";
    out += '}';
    return out.c_str();
}

// Once done: frameCount rows of 4 doubles, presentation order:
// [pts ticks, duration ticks, sample index, decode_from sample index]; null otherwise.
EMSCRIPTEN_KEEPALIVE const double* pm_video_frames(int handle) {
    Slot* slot = find(handle);
    if (!slot || !slot->indexer->done()) return nullptr;
    const pm::VideoIndex& index = slot->indexer->index();
    std::vector<double>& t = slot->numbers;
    t.clear();
    t.reserve(index.frames.size() * 4);
    for (const pm::VideoFrame& f : index.frames) {
        t.push_back(double(f.pts));
        t.push_back(double(f.duration));
        t.push_back(double(f.sample));
        t.push_back(double(f.decode_from));
    }
    return t.data();
}

// Once done: sampleCount rows of 6 doubles, decode order:
// [byte offset, byte size, keyframe 0/1, composition time ticks, decode time ticks, duration ticks].
EMSCRIPTEN_KEEPALIVE const double* pm_video_samples(int handle) {
    Slot* slot = find(handle);
    if (!slot || !slot->indexer->done()) return nullptr;
    const pm::VideoIndex& index = slot->indexer->index();
    std::vector<double>& t = slot->numbers;
    t.clear();
    t.reserve(index.samples.size() * 6);
    for (const pm::VideoSample& s : index.samples) {
        t.push_back(double(s.offset));
        t.push_back(double(s.size));
        t.push_back(s.keyframe ? 1.0 : 0.0);
        t.push_back(double(s.composition_time));
        t.push_back(double(s.decode_time));
        t.push_back(double(s.duration));
    }
    return t.data();
}

// Once failed: JSON {code, path, message}; null otherwise.
EMSCRIPTEN_KEEPALIVE const char* pm_video_error(int handle) {
    Slot* slot = find(handle);
    if (!slot || slot->indexer->state() != pm::IndexerState::failed) return nullptr;
    std::string& out = slot->text;
    out.clear();
    append_error(out, slot->indexer->error());
    return out.c_str();
}

// Frees the indexer and everything it holds.
EMSCRIPTEN_KEEPALIVE void pm_video_close(int handle) { g_slots.erase(handle); }

}  // extern "C"
