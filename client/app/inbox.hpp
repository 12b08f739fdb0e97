// The one way asynchronous results reach the app: the platform posts a typed message (from any
// thread), and App::apply_inbox() applies them, in order, at one point at the start of a frame.
// Nothing here knows JSON envelopes or a request's purpose: that is the app's (requests.hpp).
#pragma once
#include "polymark/json_reader.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pm {

// An HTTP GET finished (PlatformPort::fetch). status 0: no answer, `error` says why.
struct FetchDone {
    uint64_t request_id = 0;
    int status = 0;
    std::string error;
    std::vector<uint8_t> body;
};

// The platform decoded image bytes (decode_image, decode_image_level, decode_image_region):
// width x height RGBA pixels, or width 0 and `error`.
struct ImageDecoded {
    uint64_t request_id = 0;
    int width = 0, height = 0;
    std::vector<uint8_t> rgba;
    std::string error;
};

// A video frame is shown on a picture the platform keeps on the GPU (show_video_frame). `picture`
// is the platform's opaque handle for it (0: none, `error` says why); only render resolves it.
struct VideoFrameShown {
    uint64_t request_id = 0;
    long long frame = 0;          // which frame of the video (0-based, presentation order)
    int width = 0, height = 0;
    uint32_t picture = 0;
    long long video_frames = 0;   // the video's frame count
    double frame_seconds = 0;     // how long this frame is shown (0: unknown)
    std::string error;
};

// Sync (PlatformPort::sync_request, sync_journal): a reply, a failure, a journal write committed,
// and the journal read late (the writer lock was held by another tab until now).
struct SyncReplied { uint64_t seq = 0; int status = 0; std::string body; };
struct SyncFailed { uint64_t seq = 0; bool timeout = false; };
struct JournalWritten { bool ok = true; std::string message; };
struct JournalRead { std::vector<std::string> records; std::string device_id; };

// A tracking run in a worker (PlatformPort::start_tracking_worker): its progress, and its end with
// what it wrote (track_written_to_json).
struct TrackingProgress { Json status; };
struct TrackingFinished { Json status; Json written; };

// A reply of the assist worker (PlatformPort::assist): {id, type, points, x, y, moved, done,
// total, code, message, ms}, as docs/API.md, "Assisted tools", lists them.
struct AssistReplied { Json reply; };

// The page resized the canvas (CSS pixels).
struct CanvasResized { int width = 0, height = 0; };

using Message = std::variant<FetchDone, ImageDecoded, VideoFrameShown, SyncReplied, SyncFailed, JournalWritten,
                             JournalRead, TrackingProgress, TrackingFinished, AssistReplied, CanvasResized>;

class Inbox {
public:
    void post(Message message) {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(message));
    }
    std::vector<Message> take() {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::exchange(queue_, {});
    }
    // Messages taken but not applied yet go back in front of those posted meanwhile, in order.
    void put_back(std::vector<Message> messages) {
        if (messages.empty()) return;
        std::lock_guard<std::mutex> lock(mutex_);
        for (Message& m : queue_) messages.push_back(std::move(m));
        queue_ = std::move(messages);
    }
    template <class Predicate>
    bool any_of(Predicate predicate) const {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const Message& m : queue_)
            if (predicate(m)) return true;
        return false;
    }

private:
    mutable std::mutex mutex_;
    std::vector<Message> queue_;
};

}  // namespace pm
