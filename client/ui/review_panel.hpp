// Review in the sidebar and on the canvas (docs/API.md, "Review"): the job of the current frame
// and its stage with the moves the role may ask for, the reviewer's walk through the job's objects
// (W / Shift+W), accept (A) and reject with a reason (X), issues pinned to the selection or to a
// clicked point (P) with their threads, replies, resolve and reopen, and what changed since the
// last review. Issues are drawn on the canvas over the shapes. Acts only through the ReviewLink
// and the App; the server decides who may do what.
#pragma once
#include "app/app.hpp"

#include <imgui.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pm {

class ReviewPanel {
public:
    // Inside the sidebar's window; reports where its controls went ("review-*", place "sidebar").
    void draw(App& app, std::vector<UiControl>& layout);
    void draw_markers(App& app, ImDrawList* list);    // over the shapes, clipped to the viewport
    void handle_keys(App& app);                       // when no text field has the keyboard
    bool pinning() const { return pin_wanted_; }
    void pin_at(App& app, Vec2 image_point);          // the canvas click a pending issue waits for

private:
    char words_[1024] = "";  // a new issue's first comment, or a rejection's reason
    std::map<std::string, std::array<char, 1024>> replies_;  // each issue's reply being typed
    bool pin_wanted_ = false;
    bool focus_words_ = false;
    int stop_ = -1;          // the reviewer's place in the walk
    int64_t marks_job_ = 0;
    std::optional<int64_t> marks_revision_;
    std::vector<ReviewStop> walk_;  // the job's stops, for walk_revision_ of the document
    uint64_t walk_revision_ = ~0ull;
    int64_t walk_job_ = 0;
    std::map<std::string, Verdict> verdicts_;  // every judged item's verdict, for verdicts_version_ of the review
    uint64_t verdicts_version_ = ~0ull;
    int judged_count_ = 0;  // stops of the walk with a verdict
    uint64_t judged_walk_revision_ = ~0ull, judged_version_ = ~0ull;
    std::string history_id_;  // the object whose history was read last, at history_revision_
    int64_t history_revision_ = -1;

    const std::vector<ReviewStop>& walk(App& app, const Job& job);

    std::vector<UiControl>* layout_ = nullptr;  // this frame's, while drawing

    void report(const char* id);  // the last item's place, for getLayout()
    void draw_job(App& app, const Job& job);
    void draw_issue(App& app, const Issue& issue, int number);
    void draw_history(App& app, const std::string& id);
    void draw_changes(App& app, ImDrawList* list);  // new, edited and deleted shapes since the last review
    void draw_verdicts(App& app, ImDrawList* list);
    const std::map<std::string, Verdict>& verdicts(App& app);
    void step(App& app, int delta);
    void open_issue(App& app);
    void judge(App& app, Verdict verdict);
};

}  // namespace pm
