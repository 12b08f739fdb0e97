#include "app/media_cache.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace pm {

namespace {

// Decoded images kept for going back, besides the one on screen (reduced levels are never kept).
constexpr size_t kImageCacheBytes = 256u << 20;
// A huge PNG is decoded in slices of this many inflated bytes, as many a frame as fit its time
// share: a fixed amount a frame is 10 ms on one machine and 100 ms on another, and no frame of
// the UI may pass 50 ms while work runs.
constexpr size_t kDecodeSliceBytes = 1u << 20;
constexpr int64_t kLevelDecodeMsPerFrame = 20;
// A detail region is decoded while the labeler looks and works: a smaller share of each frame.
constexpr int64_t kDetailDecodeMsPerFrame = 12;
// A detail region is decoded once the view has not changed for this long: not on every wheel step.
constexpr int64_t kDetailSettleMs = 150;

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Steps the decoder slice by slice until it is done (false) or the frame's share is used (true).
bool decode_for(PngLevelDecoder& decoder, int64_t budget_ms) {
    int64_t began = steady_ms();
    while (decoder.step(kDecodeSliceBytes))
        if (steady_ms() - began >= budget_ms) return true;
    return false;
}

void clear_detail(FrameImage& img) {
    if (img.detail.width == 0 && img.detail.pixels.empty()) return;
    img.detail = FrameImage::Detail{{}, {}, {}, {}, 1, 0, 0, {}, img.detail.generation + 1};
}

}  // namespace

void MediaCache::attach(Task& task, BackendUrls urls) {
    task_ = &task;
    urls_ = std::move(urls);
}

FrameImage* MediaCache::image_at(long long frame) {
    if (!task_) return nullptr;
    auto ref = task_->locate_frame(frame);
    if (!ref) return nullptr;
    return &images_[ref->media_index];
}

bool MediaCache::frame_shown(long long frame) const {
    if (!task_) return false;
    auto ref = task_->locate_frame(frame);
    const FrameImage* img = image_at(frame);
    if (!ref || !img || img->state != LoadState::Ready) return false;
    return task_->media[ref->media_index].type != MediaType::Video || img->shown_frame == ref->local_frame;
}

void MediaCache::fail(FrameImage& img, Error e) {
    img.state = LoadState::Failed;
    img.error = e;
    notices_.report(std::move(e));
}

// [SECTION] Loading what a frame shows

void MediaCache::show(long long frame) {
    if (!task_) return;
    auto ref = task_->locate_frame(frame);
    if (!ref) return;
    const Media& m = task_->media[ref->media_index];
    FrameImage& img = images_[ref->media_index];
    if (img.last_shown != show_clock_ || show_clock_ == 0) {
        img.last_shown = ++show_clock_;
        release_left_images(ref->media_index);
    }
    if (m.type == MediaType::Video) {
        img.wanted_frame = ref->local_frame;
        if (img.state == LoadState::Idle || (img.state == LoadState::Failed && img.shown_frame != img.wanted_frame)) img.state = LoadState::Loading;
        return request_video_frame(ref->media_index);
    }
    if (img.state != LoadState::Idle) return;
    img.state = LoadState::Loading;
    std::string url = urls_.media(m);
    platform_.fetch(requests_.add({RequestKind::Media, ref->media_index, url}), url);
}

void MediaCache::probe_video_frame_counts() {
    for (size_t i = 0; i < task_->media.size(); ++i)
        if (task_->media[i].type == MediaType::Video && task_->media[i].frames == 0 && images_[i].wanted_frame < 0) {
            images_[i].wanted_frame = 0;
            images_[i].state = LoadState::Loading;
            request_video_frame(i);
        }
}

void MediaCache::on_fetched(const PendingRequest& request, const FetchDone& r, long long frame) {
    const size_t media_index = request.media_index;
    const std::string& url = request.url;
    FrameImage& img = images_[media_index];
    if (auto e = http_error(r.status, r.error, url, "image")) return fail(img, *e);
    // The header first: a bomb is refused by its declared size, and a huge image is decoded only at
    // a reduced level, so its full-size pixels never exist (the wasm heap never shrinks).
    if (auto header = read_image_header(r.body.data(), r.body.size())) {
        if (auto refused = check_image_size(*header, task_->media[media_index].name, url)) return fail(img, *refused);
        int factor = reduction_factor(header->width, header->height);
        if (factor > 1) {
            // A PNG is inflated and reduced here, a slice a frame (advance_level_decode); other
            // formats by the platform's decoder when it can shrink while decoding.
            uint64_t id = requests_.new_id();
            bool started = false;
            if (std::string(header->format) == "PNG") {
                auto layout = read_png_layout(r.body.data(), r.body.size(), url);
                if (!layout) return fail(img, layout.first_error());
                if (png_reducible(layout.value())) {
                    drop_level_decode();
                    auto shared = std::make_shared<const PngLayout>(std::move(layout.value()));
                    level_job_ = LevelJob{id, media_index, std::make_unique<PngLevelDecoder>(shared, factor, PixelWindow{})};
                    huge_source_ = HugeSource{media_index, shared, {}};
                    started = true;
                }
            }
            if (!started && platform_.decode_image_level(id, r.body, factor)) {
                started = true;
                huge_source_ = HugeSource{media_index, nullptr, r.body};
            }
            if (started) {
                img.width = header->width;
                img.height = header->height;
                img.level = factor;
                requests_.expect(id, {RequestKind::Decode, media_index, url});
                return;
            }
        }
    }
    (void)frame;
    uint64_t id = requests_.new_id();
    if (!platform_.decode_image(id, r.body, url))
        return fail(img, {"decode_failed", url, url + " could not be decoded: this platform has no image decoder"});
    requests_.expect(id, {RequestKind::Decode, media_index, url});
}

// A size the task left out, from the decoded picture: exports need it (normalised coordinates).
void MediaCache::learn_size(size_t media_index, int width, int height) {
    Media& m = task_->media[media_index];
    if (m.width <= 0 || m.height <= 0) {
        m.width = width;
        m.height = height;
    }
}

void MediaCache::on_decoded(const PendingRequest& request, ImageDecoded& r, long long frame) {
    const size_t media_index = request.media_index;
    FrameImage& img = images_[media_index];
    if (r.width <= 0 || r.height <= 0 || r.rgba.size() != (size_t)r.width * r.height * 4) {
        img.state = LoadState::Failed;
        img.level = 1;
        img.error = {"decode_failed", request.url, request.url + " could not be decoded" + (r.error.empty() ? std::string() : ": " + r.error)};
        notices_.report(img.error);
        return;
    }
    if (img.level > 1) {
        auto ref = task_->locate_frame(frame);
        if (!ref || ref->media_index != media_index) {  // left while decoding: not kept (release_left_images)
            img.state = LoadState::Idle;
            img.level = 1;
            return;
        }
        img.level_width = r.width;
        img.level_height = r.height;
    } else {
        img.width = r.width;
        img.height = r.height;
    }
    learn_size(media_index, img.width, img.height);
    img.state = LoadState::Ready;
    img.pixels = std::move(r.rgba);
    img.generation++;
}

// One request per video at a time: while the labeler scrubs, only the latest wanted frame is asked
// for next, so the decoder never falls behind a queue of frames nobody looks at any more.
void MediaCache::request_video_frame(size_t media_index) {
    FrameImage& img = images_[media_index];
    if (img.video_request_out || img.wanted_frame < 0 || img.wanted_frame == img.shown_frame) return;
    // A frame that just failed is asked for again only when the labeler comes back to it.
    if (img.state == LoadState::Failed && img.wanted_frame == img.failed_frame) return;
    const Media& m = task_->media[media_index];
    uint64_t id = requests_.new_id();
    if (!platform_.show_video_frame(id, urls_.media(m), img.wanted_frame)) {
        img.state = LoadState::Failed;
        img.error = {"video_not_supported", m.url, "frames of the video " + m.name + " cannot be shown: this platform has no video decoder"};
        return;
    }
    img.video_request_out = true;
    requests_.expect(id, {RequestKind::VideoFrame, media_index, urls_.media(m)});
}

void MediaCache::on_video_frame(const PendingRequest& request, const VideoFrameShown& r) {
    const size_t media_index = request.media_index;
    const std::string& url = request.url;
    FrameImage& img = images_[media_index];
    img.video_request_out = false;
    Media& m = task_->media[media_index];
    if (r.video_frames > 0 && m.frames != r.video_frames) {
        if (m.frames == 0) m.frames = r.video_frames;  // the task left it to the probe
        else if (!video_count_reported_.count(media_index)) {
            video_count_reported_.insert(media_index);
            notices_.report({"frame_count_mismatch", url, "the task gives " + m.name + " " + std::to_string(m.frames) + " frames but the video has " +
                                                              std::to_string(r.video_frames) + "; frames past the shorter count cannot be shown"});
        }
    }
    if (r.width <= 0 || r.height <= 0 || !r.picture) {
        if (r.frame == img.wanted_frame) {
            img.state = LoadState::Failed;
            img.shown_frame = -1;
            img.error = {"video_frame_failed", url, "frame " + std::to_string(r.frame) + " of " + m.name + " could not be shown" +
                                                        (r.error.empty() ? std::string() : ": " + r.error)};
            img.failed_frame = r.frame;
            if (r.error.empty() || r.error != img.reported_failure) notices_.report(img.error);
            img.reported_failure = r.error;
        }
    } else {
        img.state = LoadState::Ready;
        img.width = r.width;
        img.height = r.height;
        learn_size(media_index, r.width, r.height);
        img.platform_picture = r.picture;
        img.shown_frame = r.frame;
        img.shown_seconds = r.frame_seconds;
        img.generation++;
    }
    request_video_frame(media_index);  // the labeler may have moved on meanwhile
}

// [SECTION] The image cache and reduced levels

void MediaCache::release_left_images(size_t current_media) {
    auto decoded_bytes = [](const FrameImage& i) { return i.level > 1 ? (size_t)i.level_width * i.level_height * 4 : (size_t)i.width * i.height * 4; };
    auto release = [](FrameImage& i) {
        i.state = LoadState::Idle;
        i.pixels = {};
        i.level = 1;
        i.detail = FrameImage::Detail{{}, {}, {}, {}, 1, 0, 0, {}, i.detail.generation + 1};
        i.generation++;  // the renderer deletes the textures of a generation it no longer sees
    };
    std::vector<std::pair<uint64_t, size_t>> kept;  // (last shown, media index)
    size_t total = 0;
    for (auto& [index, img] : images_) {
        if (index == current_media || img.state != LoadState::Ready || task_->media[index].type == MediaType::Video) continue;
        if (img.level > 1) {
            release(img);
            continue;
        }
        total += decoded_bytes(img);
        kept.emplace_back(img.last_shown, index);
    }
    std::sort(kept.begin(), kept.end());
    for (auto& [shown, index] : kept) {
        if (total <= kImageCacheBytes) break;
        total -= decoded_bytes(images_[index]);
        release(images_[index]);
    }
}

void MediaCache::drop_level_decode() {
    if (!level_job_) return;
    requests_.forget(level_job_->request_id);
    FrameImage& img = images_[level_job_->media_index];
    img.state = LoadState::Idle;
    img.level = 1;
    level_job_.reset();
}

void MediaCache::advance(long long frame, const View& view, Rect viewport) {
    advance_level_decode(frame);
    advance_detail(frame, view, viewport);
}

void MediaCache::advance_level_decode(long long frame) {
    if (!level_job_ || !task_) return;
    auto ref = task_->locate_frame(frame);
    if (!ref || ref->media_index != level_job_->media_index) return drop_level_decode();  // left: decoded again if shown again
    if (decode_for(*level_job_->decoder, kLevelDecodeMsPerFrame)) return;
    std::optional<PendingRequest> request = requests_.take(level_job_->request_id);
    std::string url = request ? request->url : task_->media[level_job_->media_index].url;
    auto level = level_job_->decoder->finish(url);
    size_t media_index = level_job_->media_index;
    level_job_.reset();
    if (!level) {
        FrameImage& img = images_[media_index];
        img.level = 1;
        return fail(img, level.first_error());
    }
    ImageDecoded decoded{0, level->width, level->height, std::move(level->pixels), {}};
    on_decoded(PendingRequest{RequestKind::Decode, media_index, url}, decoded, frame);
}

// [SECTION] Detail regions of huge images
// Zoomed in past a reduced level (a screen pixel covering less than a level pixel), the visible
// region plus a margin is decoded at the coarsest power-of-two level that still gives a screen
// pixel at least one image sample (1: full resolution), coarser only when the region would pass
// kLevelMaxPixels, and drawn over the level. One region at a time: memory is the level plus at
// most one region and the one being decoded.

void MediaCache::drop_detail_job() {
    if (!detail_job_) return;
    requests_.forget(detail_job_->request_id);
    detail_job_.reset();
}

void MediaCache::advance_detail(long long frame, const View& view, Rect viewport) {
    if (!task_) return;
    auto ref = task_->locate_frame(frame);
    if (huge_source_ && (!ref || ref->media_index != huge_source_->media_index)) huge_source_.reset();  // left
    if (detail_job_ && (!ref || ref->media_index != detail_job_->media_index)) drop_detail_job();
    if (!ref) return;
    auto found = images_.find(ref->media_index);
    if (found == images_.end()) return;
    FrameImage& img = found->second;
    if (img.state != LoadState::Ready || img.level <= 1 || !huge_source_) {
        drop_detail_job();
        clear_detail(img);
        return;
    }
    const int64_t now = steady_ms();
    if (view.zoom != detail_seen_view_.zoom || view.offset.x != detail_seen_view_.offset.x || view.offset.y != detail_seen_view_.offset.y ||
        viewport.x != detail_seen_viewport_.x || viewport.y != detail_seen_viewport_.y || viewport.w != detail_seen_viewport_.w ||
        viewport.h != detail_seen_viewport_.h) {
        detail_seen_view_ = view;
        detail_seen_viewport_ = viewport;
        view_changed_ms_ = now;
    }
    // Zoomed out to where the level has a pixel for every screen pixel: it is all that is needed.
    if (view.zoom * img.level <= 1.0 + 1e-9) {
        drop_detail_job();
        clear_detail(img);
        return;
    }
    // The visible image pixels.
    Vec2 a = view.to_image({viewport.x, viewport.y}), b = view.to_image({viewport.x + viewport.w, viewport.y + viewport.h});
    const int vx0 = std::clamp((int)std::floor(a.x), 0, img.width), vy0 = std::clamp((int)std::floor(a.y), 0, img.height);
    const int vx1 = std::clamp((int)std::ceil(b.x), 0, img.width), vy1 = std::clamp((int)std::ceil(b.y), 0, img.height);
    auto covers = [&](int x, int y, int w, int h) { return x <= vx0 && y <= vy0 && x + w >= vx1 && y + h >= vy1; };
    if (vx1 <= vx0 || vy1 <= vy0) {  // the image is off screen
        drop_detail_job();
        clear_detail(img);
        return;
    }
    // The level wanted: a screen pixel gets at least one sample; finer than the reduced level.
    int want = 1;
    while (want * 2 < img.level && want * 2 <= 1.0 / view.zoom) want *= 2;
    FrameImage::Detail& d = img.detail;
    const bool shown_covers = d.width > 0 && covers(d.x, d.y, d.width, d.height);
    if (d.width > 0 && (d.x >= vx1 || d.y >= vy1 || d.x + d.width <= vx0 || d.y + d.height <= vy0)) clear_detail(img);  // moved away
    if (shown_covers && d.level <= want) {
        drop_detail_job();
        return;
    }
    if (detail_job_) {
        const PixelWindow& r = detail_job_->region;
        if (!covers(r.x, r.y, r.width, r.height) || detail_job_->level > want) drop_detail_job();  // moved on: again once settled
    }
    if (!detail_job_) {
        if (now - view_changed_ms_ < kDetailSettleMs) return;
        // A margin of an eighth of the view each side, so that a small pan needs no new region.
        const int mx = (vx1 - vx0) / 8 + 16, my = (vy1 - vy0) / 8 + 16;
        int level = want;
        PixelWindow region;
        for (;; level *= 2) {
            if (level >= img.level) return;  // no finer level fits: the reduced level is shown
            // On the level's grid, so that its pixels are the means of aligned boxes.
            int x0 = std::max(0, vx0 - mx) / level * level, y0 = std::max(0, vy0 - my) / level * level;
            int x1 = std::min(img.width, (std::min(img.width, vx1 + mx) + level - 1) / level * level);
            int y1 = std::min(img.height, (std::min(img.height, vy1 + my) + level - 1) / level * level);
            region = PixelWindow{x0, y0, x1 - x0, y1 - y0};
            long long w = (region.width + level - 1) / level, h = (region.height + level - 1) / level;
            if (w * h <= kLevelMaxPixels && w <= kLevelMaxSide && h <= kLevelMaxSide) break;
        }
        uint64_t id = requests_.new_id();
        std::unique_ptr<PngLevelDecoder> decoder;
        if (huge_source_->png) decoder = std::make_unique<PngLevelDecoder>(huge_source_->png, level, region);
        else if (!platform_.decode_image_region(id, huge_source_->bytes, region, level)) return;
        detail_job_ = DetailJob{id, ref->media_index, region, level, std::move(decoder)};
        requests_.expect(id, {RequestKind::Detail, ref->media_index, task_->media[ref->media_index].url});
    }
    if (!detail_job_->decoder || decode_for(*detail_job_->decoder, kDetailDecodeMsPerFrame)) return;
    ImageDecoded r;
    r.request_id = detail_job_->request_id;
    auto part = detail_job_->decoder->finish(task_->media[ref->media_index].url);
    if (part) {
        r.width = part->width;
        r.height = part->height;
        r.rgba = std::move(part->pixels);
    } else {
        r.error = part.first_error().message;
    }
    on_detail_decoded(r.request_id, r);
}

void MediaCache::on_detail_decoded(uint64_t request_id, ImageDecoded& r) {
    if (!detail_job_ || detail_job_->request_id != request_id) return;  // dropped meanwhile
    DetailJob job = std::move(*detail_job_);
    drop_detail_job();
    auto found = images_.find(job.media_index);
    if (found == images_.end()) return;
    FrameImage& img = found->second;
    const int w = (job.region.width + job.level - 1) / job.level, h = (job.region.height + job.level - 1) / job.level;
    if (r.width != w || r.height != h || r.rgba.size() != (size_t)w * h * 4) {
        // The reduced level stays shown; the labeler learns the file is damaged where it is.
        if (!r.error.empty()) notices_.report({"decode_failed", task_->media[job.media_index].url, r.error});
        huge_source_.reset();  // no retry on every settle
        return;
    }
    img.detail = FrameImage::Detail{job.region.x, job.region.y, job.region.width, job.region.height, job.level, w, h, std::move(r.rgba), img.detail.generation + 1};
    redraw_wanted_ = true;
}

}  // namespace pm
