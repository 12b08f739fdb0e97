// The native platform: a desktop window through SDL2 + OpenGL 3, HTTP through libcurl and image
// decoding through stb_image on a worker thread that posts each answer to the app's inbox,
// tracking on a thread of its own (as the web runs it in a Web Worker), events printed to stdout as JSON lines
// (for tools and the smoke test).
#include "app/app.hpp"
#include "platform/sdl_frame.hpp"
#include "polymark/track_forward.hpp"

#include <SDL.h>
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <thread>

namespace pm {
namespace {

FetchDone http_get(uint64_t id, const std::string& url);
ImageDecoded decode_here(uint64_t id, const std::vector<uint8_t>& bytes);

// "Track forward" on a thread of its own: the job (TrackForwardJob::from_spec) fetches and decodes
// the task's images itself, so the window never waits for it. No video: this platform has no
// video decoder, so a video frame fails the objects as a frame that cannot be read does.
class TrackingThread {
public:
    ~TrackingThread() { stop(); }
    void start(Json spec, Inbox* inbox) {
        stop();
        cancel_ = false;
        thread_ = std::thread([this, spec = std::move(spec), inbox] { run(spec, *inbox); });
    }
    void cancel() { cancel_ = true; }

private:
    std::thread thread_;
    std::atomic<bool> cancel_{false};

    void stop() {
        cancel_ = true;
        if (thread_.joinable()) thread_.join();
    }

    static const Json* media_of(const Json& spec, long long frame) {
        if (!spec.contains("media") || !spec["media"].is_array()) return nullptr;
        for (const Json& m : spec["media"]) {
            long long first = m.value("first", 0LL), frames = m.value("frames", 0LL);
            if (frame >= first && frame < first + frames) return &m;
        }
        return nullptr;
    }

    void run(const Json& spec, Inbox& inbox) {
        auto job = TrackForwardJob::from_spec(spec);
        if (!job) {
            inbox.post(TrackingFinished{Json{{"state", "failed"}, {"message", job.first_error().message}}, Json::array()});
            return;
        }
        std::string prefix = spec.value("idPrefix", std::string("tracked."));
        long long next_id = 1, fed = 0;
        NewId new_id = [&] { return prefix + std::to_string(next_id++); };
        std::string image_url;  // one image is one frame: the last one decoded is kept for its frame
        ImageDecoded image;
        auto last_status = std::chrono::steady_clock::now();
        while (auto frame = job->next_frame()) {
            if (cancel_) {
                job->cancel();
                break;
            }
            const Json* media = media_of(spec, *frame);
            if (!media) {
                job->frame_failed(*frame, "frame " + std::to_string(*frame + 1) + " is outside the task");
                continue;
            }
            if (media->value("type", std::string()) != "image") {
                job->frame_failed(*frame, "this platform has no video decoder");
                continue;
            }
            std::string url = media->value("url", std::string());
            if (url != image_url) {
                image_url = url;
                FetchDone got = http_get(0, url);
                image = got.error.empty() && got.status == 200 ? decode_here(0, got.body) : ImageDecoded{};
                if (!got.error.empty() || got.status != 200) image.error = got.error.empty() ? "HTTP " + std::to_string(got.status) + " for " + url : got.error;
            }
            if (!image.error.empty() || image.rgba.empty()) {
                job->frame_failed(*frame, image.error.empty() ? "no pixels" : image.error);
                continue;
            }
            job->feed(*frame, FrameView{image.width, image.height, image.width * 4, image.rgba.data(), PixelFormat::rgba8}, new_id);
            ++fed;
            auto now = std::chrono::steady_clock::now();
            if (now - last_status >= std::chrono::milliseconds(100)) {
                last_status = now;
                inbox.post(TrackingProgress{job->status_json("running", fed)});
            }
        }
        inbox.post(TrackingFinished{job->status_json(cancel_ ? "cancelled" : "done", fed), track_written_to_json(job->written())});
    }
};

class NativePlatform : public PlatformPort {
public:
    NativePlatform() {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        worker_ = std::thread([this] { run(); });
    }
    ~NativePlatform() override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        worker_.join();
        curl_global_cleanup();
    }

    void fetch(uint64_t request_id, const std::string& url) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back({request_id, url, {}});
        }
        wake_.notify_all();
    }

    bool decode_image(uint64_t request_id, const std::vector<uint8_t>& bytes, const std::string& /*url*/) override {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back({request_id, {}, bytes});
        }
        wake_.notify_all();
        return true;
    }

    bool start_tracking_worker(const Json& spec) override {
        tracking_.start(spec, inbox_);
        return true;
    }
    void cancel_tracking_worker() override { tracking_.cancel(); }

    void emit(const std::string& event, const Json& detail) override {
        std::cout << Json{{"event", event}, {"detail", detail}}.dump() << std::endl;
        if (event == "ready") ready = true;
        if (event == "error" && detail.value("fatal", false)) fatal = true;
    }

    // Where answers go; set before the first fetch.
    void deliver_to(Inbox& inbox) { inbox_ = &inbox; }

    bool ready = false;
    bool fatal = false;

private:
    struct Request { uint64_t id; std::string url; std::vector<uint8_t> image; };  // a fetch, or an image to decode
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Request> requests_;
    Inbox* inbox_ = nullptr;
    bool stopping_ = false;
    std::thread worker_;
    TrackingThread tracking_;

    void run() {
        for (;;) {
            Request req;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !requests_.empty(); });
                if (stopping_) return;
                req = std::move(requests_.front());
                requests_.pop_front();
            }
            inbox_->post(req.url.empty() ? Message(decode_here(req.id, req.image)) : Message(http_get(req.id, req.url)));
        }
    }
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
    auto* body = static_cast<std::vector<uint8_t>*>(user);
    body->insert(body->end(), data, data + size * count);
    return size * count;
}

FetchDone http_get(uint64_t id, const std::string& url) {
    FetchDone r;
    r.request_id = id;
    CURL* curl = curl_easy_init();
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        r.status = (int)status;
    } else {
        r.error = error[0] ? error : curl_easy_strerror(code);
    }
    curl_easy_cleanup(curl);
    return r;
}

ImageDecoded decode_here(uint64_t id, const std::vector<uint8_t>& bytes) {
    ImageDecoded r;
    r.request_id = id;
    auto image = decode_image(bytes.data(), bytes.size(), "the file");
    if (!image) {
        r.error = image.first_error().message;
        return r;
    }
    r.width = image->width;
    r.height = image->height;
    r.rgba = std::move(image->pixels);
    return r;
}

const char* kUsage =
    "usage: polymark [--backend URL] [--task ID] [--frame N] [--size WxH] [--font FILE.ttf]\n"
    "                [--exit-after-ready SECONDS]\n"
    "Opens a task from a Polymark backend (default http://127.0.0.1:8080, task demo).\n";

}  // namespace

int run_platform(int argc, char** argv) {
    AppOptions options;
    options.backend = "http://127.0.0.1:8080";
    options.task_id = "demo";
    FrameConfig config;
    std::string font_path = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf";
    double exit_after_ready = -1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--backend") options.backend = next();
        else if (a == "--task") options.task_id = next();
        else if (a == "--frame") options.initial_frame = std::atoll(next().c_str());
        else if (a == "--size") std::sscanf(next().c_str(), "%dx%d", &config.width, &config.height);
        else if (a == "--font") font_path = next();
        else if (a == "--exit-after-ready") exit_after_ready = std::atof(next().c_str());
        else { std::cerr << kUsage; return a == "--help" || a == "-h" ? 0 : 2; }
    }
    std::ifstream font(font_path, std::ios::binary);
    if (font) config.font_ttf.assign(std::istreambuf_iterator<char>(font), {});

    NativePlatform platform;
    App app(platform, options);
    platform.deliver_to(app.inbox());
    SdlFrame frame;
    std::string failure = frame.init(config);
    if (!failure.empty()) {
        std::cerr << "polymark: " << failure << "\n";
        return 1;
    }
    app.start();
    Uint64 ready_at = 0;
    while (frame.tick(app)) {
        if (platform.ready && !ready_at) {
            ready_at = SDL_GetTicks64();
            // Where the image is on screen, for tools and the smoke test (the API's getView).
            std::cout << Json{{"event", "view"}, {"detail", app.view_json(1)}}.dump() << std::endl;
        }
        if (exit_after_ready >= 0 && ready_at && SDL_GetTicks64() - ready_at >= exit_after_ready * 1000) break;
        if (exit_after_ready >= 0 && platform.fatal) return 1;
        SDL_Delay(app.busy() ? 1 : 8);
    }
    return 0;
}

}  // namespace pm
