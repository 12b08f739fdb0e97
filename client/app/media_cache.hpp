// The task's pictures: images fetched and decoded (huge ones at a reduced level, a slice a frame,
// with a finer detail region where the labeler zooms in), video frames shown by the platform, and
// the image cache that releases what is no longer shown. No GL here: render uploads FrameImage's
// pixels and resolves a video frame's platform picture. Units: image pixels; frames are task frames.
#pragma once
#include "app/frame_image.hpp"
#include "app/inbox.hpp"
#include "app/notices.hpp"
#include "app/platform_port.hpp"
#include "app/requests.hpp"
#include "polymark/image_decode.hpp"
#include "polymark/task.hpp"
#include "polymark/view.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>

namespace pm {

class MediaCache {
public:
    MediaCache(PlatformPort& platform, Requests& requests, Notices& notices) : platform_(platform), requests_(requests), notices_(notices) {}

    // The task whose media these are (kept by the app; a probed video's frame count, and the size
    // of a medium the task gave none, are written back).
    void attach(Task& task, BackendUrls urls);
    // Loads what frame `frame` shows, if it is not loaded; a video's frame is asked for.
    void show(long long frame);
    // A video whose frame count the task leaves out is probed: later frame indices need it.
    void probe_video_frame_counts();

    FrameImage* image_at(long long frame);
    const FrameImage* image_at(long long frame) const { return const_cast<MediaCache*>(this)->image_at(frame); }
    // The frame's picture is the one on screen (a video may still show the previous frame).
    bool frame_shown(long long frame) const;

    // [SECTION] Results, applied from the inbox
    void on_fetched(const PendingRequest& request, const FetchDone& done, long long frame);
    void on_decoded(const PendingRequest& request, ImageDecoded& decoded, long long frame);
    void on_video_frame(const PendingRequest& request, const VideoFrameShown& shown);
    void on_detail_decoded(uint64_t request_id, ImageDecoded& decoded);

    // Work sliced across frames: a huge PNG's reduced level, then the detail region of the view.
    void advance(long long frame, const View& view, Rect viewport);
    bool take_redraw_request() { return std::exchange(redraw_wanted_, false); }

private:
    PlatformPort& platform_;
    Requests& requests_;
    Notices& notices_;
    Task* task_ = nullptr;
    BackendUrls urls_;
    std::map<size_t, FrameImage> images_;  // by media index
    uint64_t show_clock_ = 0;              // counts current-image changes (FrameImage::last_shown)
    std::set<size_t> video_count_reported_;
    bool redraw_wanted_ = false;

    void learn_size(size_t media_index, int width, int height);

    // The reduced level of a huge PNG being decoded for the current image, a slice a frame.
    struct LevelJob {
        uint64_t request_id = 0;
        size_t media_index = 0;
        std::unique_ptr<PngLevelDecoder> decoder;
    };
    std::optional<LevelJob> level_job_;
    // What a huge image's detail regions are decoded from, kept while its frame is shown: the
    // PNG's layout (its compressed data) or, for other formats, the file's bytes.
    struct HugeSource {
        size_t media_index = 0;
        std::shared_ptr<const PngLayout> png;
        std::vector<uint8_t> bytes;
    };
    std::optional<HugeSource> huge_source_;
    // The detail region being decoded: a PNG by the core a slice a frame, others by the platform.
    struct DetailJob {
        uint64_t request_id = 0;
        size_t media_index = 0;
        PixelWindow region;
        int level = 1;
        std::unique_ptr<PngLevelDecoder> decoder;  // null: the platform's
    };
    std::optional<DetailJob> detail_job_;
    View detail_seen_view_;
    Rect detail_seen_viewport_;
    int64_t view_changed_ms_ = 0;

    void request_video_frame(size_t media_index);
    void fail(FrameImage& img, Error e);
    // Frees images not on screen: reduced levels at once, others least recently shown first while
    // the decoded bytes exceed kImageCacheBytes.
    void release_left_images(size_t current_media);
    void advance_level_decode(long long frame);
    void drop_level_decode();
    void advance_detail(long long frame, const View& view, Rect viewport);
    void drop_detail_job();
};

}  // namespace pm
