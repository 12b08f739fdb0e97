#include "app/notices.hpp"

namespace pm {

void Notices::keep(Error error) {
    notices_.push_back(Notice{std::move(error), 0});
    while (notices_.size() > kMaxNotices) notices_.pop_front();
}

void Notices::report(Error error) {
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", false}});
    keep(std::move(error));
}

void Notices::report_skipped(const SkippedItem& item) {
    const Error& e = item.error;
    platform_.emit("error", Json{{"code", e.code}, {"message", e.message}, {"where", e.path}, {"fatal", false},
                                 {"skipped", Json{{"kind", item.kind}, {"id", item.id}, {"path", item.path}}}});
    keep(e);
}

void Notices::fail_startup(Error error) {
    if (fatal_) return;
    fatal_ = error;
    platform_.emit("error", Json{{"code", error.code}, {"message", error.message}, {"where", error.path}, {"fatal", true}});
}

void Notices::dismiss(size_t index) {
    if (index < notices_.size()) notices_.erase(notices_.begin() + (std::ptrdiff_t)index);
}

}  // namespace pm
