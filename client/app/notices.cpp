#include "app/notices.hpp"

#include <algorithm>

namespace pm {

void Notices::keep(Error error, bool fades) {
    // A refusal repeated (Enter pressed again) replaces the one showing instead of stacking.
    if (fades)
        notices_.erase(std::remove_if(notices_.begin(), notices_.end(), [&](const Notice& n) { return n.fades && n.error.code == error.code; }), notices_.end());
    notices_.push_back(Notice{std::move(error), fades, -1});
    // Over the limit, refusals go first: a problem the labeler has to act on is not pushed out by them.
    while (notices_.size() > kMaxNotices) {
        auto refusal = std::find_if(notices_.begin(), notices_.end(), [](const Notice& n) { return n.fades; });
        notices_.erase(refusal != notices_.end() ? refusal : notices_.begin());
    }
}

void Notices::report(Error error) {
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", false}});
    keep(std::move(error), false);
}

void Notices::refuse(Error error) {
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", false}});
    keep(std::move(error), true);
}

void Notices::report_skipped(const SkippedItem& item) {
    const Error& e = item.error;
    platform_.emit("error", Json{{"code", e.code}, {"message", e.message}, {"where", e.path}, {"fatal", false},
                                 {"skipped", Json{{"kind", item.kind}, {"id", item.id}, {"path", item.path}}}});
    keep(e, false);
}

void Notices::fail_startup(Error error) {
    if (fatal_) return;
    fatal_ = error;
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", true}});
}

void Notices::dismiss(size_t index) {
    if (index < notices_.size()) notices_.erase(notices_.begin() + (std::ptrdiff_t)index);
}

bool Notices::expire(double now) {
    size_t before = notices_.size();
    for (Notice& n : notices_)
        if (n.fades && n.shown_at < 0) n.shown_at = now;
    notices_.erase(std::remove_if(notices_.begin(), notices_.end(), [&](const Notice& n) { return n.fades && now - n.shown_at >= kFadeSeconds; }), notices_.end());
    return notices_.size() != before;
}

const Notice* Notices::latest_refusal() const {
    for (size_t i = notices_.size(); i-- > 0;)
        if (notices_[i].fades) return &notices_[i];
    return nullptr;
}

}  // namespace pm
