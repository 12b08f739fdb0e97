// What the app needs from its platform (web or native), as an interface the app calls down into.
// Every result flows back up as a typed message posted to the app's Inbox (app/inbox.hpp), named
// below for each request, and is applied at the start of the next frame, on the main thread: the
// app never blocks on I/O.
#pragma once
#include "polymark/image_decode.hpp"
#include "polymark/json_reader.hpp"
#include "polymark/sync.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pm {

class PlatformPort {
public:
    virtual ~PlatformPort() = default;
    // Starts an HTTP GET; a FetchDone with this request_id answers it.
    virtual void fetch(uint64_t request_id, const std::string& url) = 0;
    // Tells the host (the embedding page, or the native shell) about something that happened.
    virtual void emit(const std::string& event, const Json& detail) = 0;
    // Decodes image bytes (JPEG, PNG, and what else the platform reads: WebP, AVIF in browsers)
    // away from the frame (the browser's decoder on the web, stb_image on the native I/O thread):
    // the RGBA pixels, EXIF orientation applied, arrive as an ImageDecoded. `url` is where the bytes
    // came from: the page may have decoded them already (the first image, while the module loaded).
    // False: no decoder here.
    virtual bool decode_image(uint64_t /*request_id*/, const std::vector<uint8_t>& /*bytes*/, const std::string& /*url*/) { return false; }
    // Decodes a huge image only at a reduced level, never holding its full-size pixels: the RGBA of
    // ceil(w/factor) x ceil(h/factor) pixels, pixel (i, j) the mean of image pixels
    // [i*factor, (i+1)*factor) x [j*factor, (j+1)*factor), arrives like decode_image's. False: not
    // available (the app then decodes the image whole if it may).
    virtual bool decode_image_level(uint64_t /*request_id*/, const std::vector<uint8_t>& /*bytes*/, int /*factor*/) { return false; }
    // Decodes only `region` (image pixels) of a huge image at level `level`: the RGBA of
    // ceil(width/level) x ceil(height/level) pixels arrives like decode_image's. False: not available.
    virtual bool decode_image_region(uint64_t /*request_id*/, const std::vector<uint8_t>& /*bytes*/, PixelWindow /*region*/, int /*level*/) { return false; }
    // Shows frame `frame` (0-based, presentation order) of the video at `url`: the platform
    // decodes it into a picture of its own on the GPU and answers with a VideoFrameShown holding the
    // frame's size, the picture's handle and the video's frame count. The pixels never pass through the app.
    // False: this platform has no video decoder.
    virtual bool show_video_frame(uint64_t /*request_id*/, const std::string& /*url*/, long long /*frame*/) { return false; }
    // Runs a "track forward" job away from the UI thread (Web Workers, or the tracking module in
    // the page when a browser has none; a thread natively), which reads the frames' pixels itself:
    // spec {tracks, ids, start, frameCount, frames, lastFrame, idPrefix, media: [{url, type, first,
    // frames}]} (TrackForwardJob::from_spec); progress and the outcome come back as
    // TrackingProgress and TrackingFinished. False: tracking cannot run here.
    virtual bool start_tracking_worker(const Json& /*spec*/) { return false; }
    virtual void cancel_tracking_worker() {}
    // Sends one request to the assisted tools' worker (the assist module, in a Web Worker): {id,
    // type: anchor | path | wand | outline | snap | cancel, x, y, ..., media: {url, type, frame}};
    // the page gives the worker that frame's pixels first when it holds another one. Replies come
    // back as AssistReplied, in the order the requests were sent; a "path" request marked
    // `coalesce` may be dropped when a newer one follows it. False: no assist module here.
    virtual bool assist(const Json& /*request*/) { return false; }
    // Sync journal (docs/API.md, "Sync"): stores `put` then deletes `remove` (keys) in one durable
    // transaction, then answers with a JournalWritten. False: this platform keeps no journal.
    virtual bool sync_journal(const std::vector<JournalRecord>& /*put*/, const std::vector<std::string>& /*remove*/) { return false; }
    // Sends one sync request to `url` (the backend's base joined with request.path); the answer
    // comes back as a SyncReplied or a SyncFailed. False: no network for sync here.
    virtual bool sync_request(const SyncRequest& /*request*/, const std::string& /*url*/) { return false; }
    // An import or export in another tool's format, run by the page (the formats module in a Web
    // Worker): {kind: "import"} opens a file picker, {kind: "export", format} converts the document
    // and downloads it. The page reports progress through the API (formatProgress) and feeds an
    // import's document to FormatsController. False: no formats module here.
    virtual bool start_format_job(const Json& /*spec*/) { return false; }
    virtual void cancel_format_job() {}
};

}  // namespace pm
