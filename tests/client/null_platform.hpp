// A platform with no window, no network and no GPU, for testing the app headless (as sokol's
// tests run against a null backend): it records what the app asks for and what it emits, and the
// test answers requests by posting messages to the app's inbox, as a real platform would.
#pragma once
#include "app/app.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pm::testing {

class NullPlatform : public PlatformPort {
public:
    struct Fetch { uint64_t id; std::string url; };
    std::vector<Fetch> fetches;
    std::vector<std::pair<std::string, Json>> events;

    void fetch(uint64_t request_id, const std::string& url) override { fetches.push_back({request_id, url}); }
    // Decoded at once with the core's decoder; the test posts the answers (answered_decodes).
    bool decode_image(uint64_t request_id, const std::vector<uint8_t>& bytes, const std::string& /*url*/) override {
        ImageDecoded r;
        r.request_id = request_id;
        auto image = pm::decode_image(bytes.data(), bytes.size(), "the file");
        if (image) {
            r.width = image->width;
            r.height = image->height;
            r.rgba = std::move(image->pixels);
        } else {
            r.error = image.first_error().message;
        }
        decodes.push_back(std::move(r));
        return true;
    }
    std::vector<ImageDecoded> decodes;
    void emit(const std::string& event, const Json& detail) override { events.push_back({event, detail}); }

    // Sync requests and journal writes, recorded when `network` is on (off: the platform has neither).
    struct SentSync { SyncRequest request; std::string url; };
    bool network = false;
    std::vector<SentSync> sync_requests;
    std::vector<std::vector<JournalRecord>> journal_puts;
    bool sync_request(const SyncRequest& request, const std::string& url) override {
        if (network) sync_requests.push_back({request, url});
        return network;
    }
    bool sync_journal(const std::vector<JournalRecord>& put, const std::vector<std::string>& /*remove*/) override {
        if (network) journal_puts.push_back(put);
        return network;
    }
    // The request sent last to a path (with its query), or nothing.
    const SentSync* sent(const std::string& method, const std::string& path) const {
        for (size_t i = sync_requests.size(); i-- > 0;)
            if (sync_requests[i].request.method == method && sync_requests[i].request.path == path) return &sync_requests[i];
        return nullptr;
    }

    // Requests to the assist worker, recorded when `assist_worker` is on (off: there is none).
    bool assist_worker = false;
    std::vector<Json> assists;
    bool assist(const Json& request) override {
        if (assist_worker) assists.push_back(request);
        return assist_worker;
    }

    int count(const std::string& event) const {
        int n = 0;
        for (const auto& e : events) n += e.first == event;
        return n;
    }
};

// A 24-bit BMP of width x height mid-grey pixels: a file the core decodes, made without an encoder.
inline std::vector<uint8_t> grey_bmp(int width, int height) {
    const int row = (width * 3 + 3) / 4 * 4;
    const uint32_t size = 54 + (uint32_t)(row * height);
    std::vector<uint8_t> b(size, 0x80);
    auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = (uint8_t)(v >> (8 * i)); };
    auto put16 = [&](size_t at, uint16_t v) { b[at] = (uint8_t)v; b[at + 1] = (uint8_t)(v >> 8); };
    b[0] = 'B';
    b[1] = 'M';
    put32(2, size);
    put32(6, 0);
    put32(10, 54);
    put32(14, 40);
    put32(18, (uint32_t)width);
    put32(22, (uint32_t)height);
    put16(26, 1);
    put16(28, 24);
    put32(30, 0);
    put32(34, (uint32_t)(row * height));
    put32(38, 2835);
    put32(42, 2835);
    put32(46, 0);
    put32(50, 0);
    return b;
}

// A task of `frames` images of 400 x 300 pixels with one label that may be any shape; with
// `video`, one video of `frames` frames instead (the null platform shows none of them).
inline std::string task_json(int frames, bool video = false) {
    Json media = Json::array();
    if (video) media.push_back(Json{{"id", "v"}, {"type", "video"}, {"url", "/media/v.mp4"}, {"frames", frames}, {"fps", 25}});
    for (int i = 0; i < frames && !video; ++i)
        media.push_back(Json{{"id", "m" + std::to_string(i)}, {"type", "image"}, {"url", "/media/" + std::to_string(i) + ".bmp"}});
    return Json{{"format", "polymark.task"}, {"version", 1}, {"id", "t"}, {"media", media},
                {"labels", Json::array({Json{{"id", "thing"}, {"name", "Thing"}}})}}
        .dump();
}

// An app started on an inline task, its first image answered and applied as a frame would.
struct LoadedApp {
    NullPlatform platform;
    App app;

    explicit LoadedApp(int frames = 1, std::string annotations = R"({"format":"polymark.annotations","version":1,"objects":[]})",
                       bool video = false)
        : app(platform, options(frames, std::move(annotations), video)) {
        app.start();
        answer_images();
        app.frame_presented();
    }
    static AppOptions options(int frames, std::string annotations, bool video = false) {
        AppOptions o;
        o.task_json = task_json(frames, video);
        o.annotations_json = std::move(annotations);
        return o;
    }
    // Answers every image fetch so far with a 400 x 300 BMP, then applies the inbox.
    void answer_images() {
        for (const auto& f : platform.fetches) app.inbox().post(FetchDone{f.id, 200, "", grey_bmp(400, 300)});
        platform.fetches.clear();
        app.apply_inbox();
        for (ImageDecoded& d : platform.decodes) app.inbox().post(std::move(d));
        platform.decodes.clear();
        app.apply_inbox();
        if (FrameImage* img = app.current_image()) img->pixels.clear();  // what render does on upload
    }
    void go_to(long long frame) {
        REQUIRE(app.set_frame(frame));
        answer_images();
    }
};

inline PointerInput at(double x, double y) {
    PointerInput in;
    in.at = {x, y};
    in.pick_radius = 4;
    return in;
}

}  // namespace pm::testing
