#include "ui/review_panel.hpp"

#include "polymark/geometry.hpp"
#include "polymark/interpolate.hpp"
#include "ui/shape_layer.hpp"

#include <algorithm>
#include <cstring>

namespace pm {

namespace {

const ImU32 kOpenColour = IM_COL32(255, 150, 40, 255);
const ImU32 kResolvedColour = IM_COL32(150, 150, 150, 200);
// What changed since the last review: new, edited, deleted (ChangeMark order).
const ImU32 kChangeColours[3] = {IM_COL32(80, 230, 120, 255), IM_COL32(90, 170, 255, 255), IM_COL32(255, 80, 80, 230)};
const char* const kChangeWords[3] = {"new", "edited", "deleted"};

bool may(const std::string& role, std::initializer_list<const char*> roles) {
    if (role.empty()) return true;  // not told: offer everything, the server decides
    return std::any_of(roles.begin(), roles.end(), [&](const char* r) { return role == r; });
}

const Object* selected_shape(App& app) {
    const auto& sel = app.editor().selection();
    if (sel.size() != 1) return nullptr;
    for (const Object& o : app.frame_objects())
        if (o.id == sel[0]) return &o;
    return nullptr;
}

std::string frames_text(const Job& job) {
    return job.stop_frame ? "frames " + std::to_string(job.start_frame) + "-" + std::to_string(*job.stop_frame)
                          : "frames " + std::to_string(job.start_frame) + " on";
}

}  // namespace

void ReviewPanel::report(const char* id) {
    ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    if (layout_) layout_->push_back({id, "sidebar", Rect{min.x, min.y, max.x - min.x, max.y - min.y}});
}

void ReviewPanel::draw(App& app, std::vector<UiControl>& layout) {
    layout_ = &layout;
    ReviewLink& review = app.sync().review();
    if (!review.started()) {
        ImGui::TextDisabled("Loading review…");
        return;
    }
    if (const Job* job = review.job_at_frame(app.frame())) draw_job(app, *job);
    else ImGui::TextDisabled("This frame is in no job.");

    // A new issue: its words, then where (the selected shape, or a clicked point).
    ImGui::Separator();
    if (focus_words_) {
        ImGui::SetKeyboardFocusHere();
        focus_words_ = false;
    }
    ImGui::SetNextItemWidth(-1);
    ImGui::InputTextWithHint("##review-words", "what is wrong (issue or rejection)", words_, sizeof words_);
    report("review-words");
    const Object* shape = selected_shape(app);
    if (ImGui::Button(pin_wanted_ ? "Click the image…" : shape ? "Issue on selection (P)" : "Pin issue (P)")) open_issue(app);
    report("review-issue");
    if (pin_wanted_) {
        ImGui::SameLine();
        if (ImGui::SmallButton("Cancel")) pin_wanted_ = false;
    }
    if (shape && may(review.role(), {"reviewer", "manager"})) {
        ImGui::SameLine();
        if (ImGui::Button("Accept (A)")) judge(app, Verdict::Accepted);
        report("review-accept");
        ImGui::SameLine();
        if (ImGui::Button("Reject (X)")) judge(app, Verdict::Rejected);
        report("review-reject");
        if (const Decision* d = review.board().verdict_on(shape->id))
            ImGui::TextDisabled("%s by %s%s%s", d->verdict == Verdict::Accepted ? "Accepted" : "Rejected", d->author.c_str(),
                                d->reason.empty() ? "" : ": ", d->reason.c_str());
    }
    if (shape) draw_history(app, shape->id);

    // The issues of this frame, open ones first, each with its thread.
    auto issues = review.board().issues_on(app.frame());
    ImGui::Separator();
    if (issues.empty()) ImGui::TextDisabled("No issues on this frame.");
    int number = 0;
    for (const Issue* issue : issues) draw_issue(app, *issue, ++number);

    for (const SetAsideItem& refused : review.set_aside())
        ImGui::TextColored(ImVec4(1, 0.55f, 0.45f, 1), "Not saved: %s", refused.message.c_str());
}

void ReviewPanel::draw_job(App& app, const Job& job) {
    ReviewLink& review = app.sync().review();
    const std::string& role = review.role();
    ImGui::Text("Job %lld, %s: %s", (long long)job.id, frames_text(job).c_str(), to_string(job.stage));
    if (!job.assignee.empty() || !job.reviewer.empty())
        ImGui::TextDisabled("%s%s%s%s", job.assignee.empty() ? "" : "labeler ", job.assignee.c_str(),
                            job.reviewer.empty() ? "" : (job.assignee.empty() ? "reviewer " : ", reviewer "), job.reviewer.c_str());
    size_t open = review.board().open_issues(job.start_frame, job.stop_frame).size();
    if (open) ImGui::TextColored(ImVec4(1, 0.6f, 0.2f, 1), "%zu open issue%s in this job", open, open == 1 ? "" : "s");
    std::optional<JobStage> moving = review.moving_to(job.id);
    if (moving) ImGui::TextDisabled("Moving to %s once every edit is saved...", to_string(*moving));
    auto move = [&](const char* label, JobStage to, const char* why_not) {
        if (moving) why_not = "The job is moving already";
        bool blocked = why_not != nullptr;
        if (blocked) ImGui::BeginDisabled();
        if (ImGui::Button(label)) review.move_job(job.id, to);
        report(to == JobStage::Review ? "review-submit" : to == JobStage::Accepted ? "review-accept-job"
               : job.stage == JobStage::Review ? "review-return" : "review-reopen");
        if (blocked) ImGui::EndDisabled();
        if (blocked && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) ImGui::SetTooltip("%s", why_not);
    };
    if (job.stage == JobStage::Annotation && may(role, {"labeler", "manager"})) move("Submit for review", JobStage::Review, nullptr);
    if (job.stage == JobStage::Review && may(role, {"reviewer", "manager"})) {
        move("Accept job", JobStage::Accepted, open ? "Resolve the open issues first" : nullptr);
        ImGui::SameLine();
        move("Return to labeler", JobStage::Annotation, open ? nullptr : "Open an issue saying what to fix first");
    }
    if (job.stage == JobStage::Accepted && may(role, {"manager"})) move("Reopen", JobStage::Annotation, nullptr);

    if (job.stage != JobStage::Review) return;
    // The reviewer's walk, and what changed since the last review (read once per review pass).
    if (marks_job_ != job.id || marks_revision_ != job.reviewed_revision) {
        marks_job_ = job.id;
        marks_revision_ = job.reviewed_revision;
        review.fetch_changes_since_review(job);
    }
    const auto& stops = walk(app, job);
    const auto& judged = verdicts(app);
    if (judged_walk_revision_ != walk_revision_ || judged_version_ != verdicts_version_) {
        judged_walk_revision_ = walk_revision_;
        judged_version_ = verdicts_version_;
        judged_count_ = (int)std::count_if(stops.begin(), stops.end(), [&](const ReviewStop& s) { return judged.count(s.id) > 0; });
    }
    ImGui::Text("Object %d of %zu, %d judged", stop_ < 0 ? 0 : std::min(stop_ + 1, (int)stops.size()), stops.size(), judged_count_);
    ImGui::SameLine();
    if (ImGui::SmallButton("Previous")) step(app, -1);
    ImGui::SameLine();
    if (ImGui::SmallButton("Next (W)")) step(app, +1);
    report("review-next");
    if (job.reviewed_revision) {
        int counts[3] = {0, 0, 0};
        for (const auto& [id, change] : review.changes_since_review()) ++counts[(int)change.mark];
        ImGui::TextDisabled("Since the last review:");
        for (int m = 0; m < 3; ++m) {
            ImGui::SameLine();
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kChangeColours[m]), "%d %s", counts[m], kChangeWords[m]);
        }
    }
}

void ReviewPanel::draw_history(App& app, const std::string& id) {
    ReviewLink& review = app.sync().review();
    bool open = ImGui::TreeNodeEx("##history", 0, "History of %s", id.c_str());
    report("review-history");
    // Read again when another object is selected or the server's revision moved on.
    int64_t revision = app.sync().server_revision();
    if (!open) return;
    if (history_id_ != id || history_revision_ != revision) {
        history_id_ = id;
        history_revision_ = revision;
        review.fetch_item_history(id);
    }
    const std::vector<ItemEvent>* events = review.item_history(id);
    if (!review.keeps_history()) ImGui::TextDisabled("This backend keeps no history.");
    else if (!events) ImGui::TextDisabled("Reading…");
    else if (events->empty()) ImGui::TextDisabled("Not saved yet.");
    else
        for (const ItemEvent& e : *events)
            ImGui::TextWrapped("r%lld %.16s %s by %s%s%s%s%s", (long long)e.revision, e.at.c_str(), e.op.c_str(), e.user.empty() ? "?" : e.user.c_str(),
                               e.role.empty() ? "" : " (", e.role.c_str(), e.stage.empty() ? "" : ", in ", e.stage.empty() ? (e.role.empty() ? "" : ")") : (e.stage + ")").c_str());
    for (const Decision* d : review.board().decisions_on(id))
        ImGui::TextWrapped("%s by %s%s%s", d->verdict == Verdict::Accepted ? "accepted" : "rejected", d->author.c_str(), d->reason.empty() ? "" : ": ", d->reason.c_str());
    ImGui::TreePop();
}

void ReviewPanel::draw_issue(App& app, const Issue& issue, int number) {
    ReviewLink& review = app.sync().review();
    ImGui::PushID(issue.id.c_str());
    auto thread = review.board().thread(issue.id);
    std::string first = thread.empty() ? "(no words)" : thread.front()->text;
    bool open = issue.status == IssueStatus::Open;
    ImGui::PushStyleColor(ImGuiCol_Text, open ? ImVec4(1, 0.65f, 0.3f, 1) : ImVec4(0.6f, 0.6f, 0.6f, 1));
    bool expanded = ImGui::TreeNodeEx("##issue", ImGuiTreeNodeFlags_SpanAvailWidth, "#%d %s: %s", number, open ? "open" : "resolved", first.c_str());
    ImGui::PopStyleColor();
    std::string name = "review-issue-" + std::to_string(number);
    report(name.c_str());
    if (expanded) {
        for (const Comment* c : thread) {
            const ReviewStamp* s = review.board().stamp(c->id);
            ImGui::TextWrapped("%s%s%s: %s", c->author.c_str(), s && !s->role.empty() ? ", " : "", s ? s->role.c_str() : "", c->text.c_str());
            if (s && s->revision == 0) {
                ImGui::SameLine();
                ImGui::TextDisabled("(not saved yet)");
            }
        }
        auto& words = replies_[issue.id];
        ImGui::SetNextItemWidth(-70);
        bool enter = ImGui::InputTextWithHint("##reply", "reply", words.data(), words.size(), ImGuiInputTextFlags_EnterReturnsTrue);
        report((name + "-reply").c_str());
        ImGui::SameLine();
        bool click = ImGui::Button("Reply");
        if ((enter || click) && words[0]) {
            auto sent = review.reply(issue.id, words.data());
            if (sent) words[0] = 0;
            else app.refuse(sent.first_error());
        }
        if (may(review.role(), {"reviewer", "manager"})) {
            if (ImGui::SmallButton(open ? "Resolve" : "Reopen"))
                for (const Error& e : review.set_issue_status(issue.id, open ? IssueStatus::Resolved : IssueStatus::Open)) app.refuse(e);
            report((name + "-status").c_str());
            ImGui::SameLine();
        }
        if (ImGui::SmallButton("Show")) {
            Rect r = issue.is_box() ? Rect{issue.points[0], issue.points[1], issue.points[2] - issue.points[0], issue.points[3] - issue.points[1]}
                                    : Rect{issue.points[0] - 20, issue.points[1] - 20, 40, 40};
            app.reveal(r);
            if (!issue.item.empty()) app.editor().select({issue.item});
        }
        ImGui::TreePop();
    }
    ImGui::PopID();
}

const std::vector<ReviewStop>& ReviewPanel::walk(App& app, const Job& job) {
    // Made again only when the document or the job changed, not every frame.
    if (walk_revision_ != app.revision() || walk_job_ != job.id) {
        walk_ = review_stops(app.document(), job);
        walk_revision_ = app.revision();
        walk_job_ = job.id;
    }
    return walk_;
}

void ReviewPanel::draw_markers(App& app, ImDrawList* list) {
    ReviewLink& review = app.sync().review();
    if (!review.started()) return;
    const View& view = app.view();
    const Job* job = review.job_at_frame(app.frame());
    if (job && job->stage == JobStage::Review && marks_job_ == job->id) draw_changes(app, list);
    if (job) draw_verdicts(app, list);
    int number = 0;
    for (const Issue* issue : review.board().issues_on(app.frame())) {
        ++number;
        ImU32 colour = issue->status == IssueStatus::Open ? kOpenColour : kResolvedColour;
        Vec2 a = view.to_screen({issue->points[0], issue->points[1]});
        ImVec2 tag((float)a.x + 4, (float)a.y - 18);
        if (issue->is_box()) {
            Vec2 b = view.to_screen({issue->points[2], issue->points[3]});
            list->AddRect(ImVec2((float)a.x - 2, (float)a.y - 2), ImVec2((float)b.x + 2, (float)b.y + 2), colour, 0, 0, 2.5f);
            tag = ImVec2((float)a.x - 2, (float)b.y + 4);  // under the box: the shape's caption is over it
        } else {
            list->AddCircle(ImVec2((float)a.x, (float)a.y), 9, colour, 16, 2.5f);
            list->AddLine(ImVec2((float)a.x, (float)a.y - 4), ImVec2((float)a.x, (float)a.y + 1), colour, 2.5f);
            list->AddCircleFilled(ImVec2((float)a.x, (float)a.y + 4), 1.5f, colour);
            tag = ImVec2((float)a.x + 11, (float)a.y - 8);
        }
        std::string text = "#" + std::to_string(number);
        ImVec2 size = ImGui::CalcTextSize(text.c_str());
        list->AddRectFilled(tag, ImVec2(tag.x + size.x + 6, tag.y + size.y + 2), colour, 3);
        list->AddText(ImVec2(tag.x + 3, tag.y + 1), IM_COL32(20, 20, 20, 255), text.c_str());
    }
}

void ReviewPanel::draw_changes(App& app, ImDrawList* list) {
    ReviewLink& review = app.sync().review();
    const auto& marks = review.changes_since_review();
    if (marks.empty()) return;
    // The word ends at the shape's right edge, over it: the caption takes the left.
    auto tag = [&](ImVec2 top_right, ChangeMark mark) {
        const char* word = kChangeWords[(int)mark];
        ImVec2 size = ImGui::CalcTextSize(word);
        ImVec2 at(top_right.x - size.x - 6, top_right.y - size.y - 4);
        list->AddRectFilled(at, ImVec2(top_right.x, top_right.y - 2), kChangeColours[(int)mark], 3);
        list->AddText(ImVec2(at.x + 3, at.y + 1), IM_COL32(20, 20, 20, 255), word);
    };
    auto outline = [&](const Object& o, ChangeMark mark) {
        if (o.type == ShapeType::Tag) return;
        std::vector<ImVec2> pts = ShapeLayer::screen_outline(app.view(), o);
        if (pts.empty()) return;
        bool closed = o.type != ShapeType::Polyline && o.type != ShapeType::Points;
        if (mark == ChangeMark::Deleted) ShapeLayer::add_dashed_polyline(list, pts.data(), (int)pts.size(), kChangeColours[2], closed, 2.0f);
        else list->AddPolyline(pts.data(), (int)pts.size(), kChangeColours[(int)mark], closed ? ImDrawFlags_Closed : 0, 3.0f);
        ImVec2 top_right = pts[0];
        for (const ImVec2& p : pts) top_right = ImVec2(std::max(top_right.x, p.x), std::min(top_right.y, p.y));
        tag(top_right, mark);
    };
    for (const Object& o : app.frame_objects()) {
        auto found = marks.find(o.id);
        if (found != marks.end() && found->second.mark != ChangeMark::Deleted) outline(o, found->second.mark);
    }
    for (const FrameShape& ghost : shapes_on_frame(review.removed_since_review(), app.frame(), {}, nullptr, app.medium()))
        outline(ghost.object, ChangeMark::Deleted);
}

const std::map<std::string, Verdict>& ReviewPanel::verdicts(App& app) {
    const ReviewLink& review = app.sync().review();
    if (verdicts_version_ != review.revision()) {
        verdicts_version_ = review.revision();
        verdicts_.clear();
        for (const auto& [item, d] : review.board().verdicts()) verdicts_[item] = d->verdict;
    }
    return verdicts_;
}

void ReviewPanel::draw_verdicts(App& app, ImDrawList* list) {
    // A tick (accepted) or a cross (rejected) inside each judged shape's top right corner.
    const auto& judged = verdicts(app);
    if (judged.empty()) return;
    const View& view = app.view();
    for (const Object& o : app.frame_objects()) {
        auto found = judged.find(o.id);
        if (found == judged.end() || o.type == ShapeType::Tag) continue;
        Rect b = shape_bounds(o);
        Vec2 corner = view.to_screen({b.x + b.w, b.y});
        float x = (float)corner.x - 13, y = (float)corner.y + 3;
        list->AddRectFilled(ImVec2(x - 1, y - 1), ImVec2(x + 11, y + 11), IM_COL32(20, 20, 20, 200), 2);
        if (found->second == Verdict::Accepted) list->AddPolyline(std::array<ImVec2, 3>{ImVec2(x + 1, y + 5), ImVec2(x + 4, y + 8), ImVec2(x + 9, y + 1)}.data(), 3, kChangeColours[0], 0, 2.0f);
        else {
            list->AddLine(ImVec2(x + 1, y + 1), ImVec2(x + 9, y + 9), kChangeColours[2], 2.0f);
            list->AddLine(ImVec2(x + 9, y + 1), ImVec2(x + 1, y + 9), kChangeColours[2], 2.0f);
        }
    }
}

void ReviewPanel::handle_keys(App& app) {
    if (!app.sync().review().started()) return;
    const ImGuiIO& io = ImGui::GetIO();
    if (io.KeyCtrl || io.KeySuper || io.KeyAlt) return;
    if (ImGui::IsKeyPressed(ImGuiKey_W, false)) step(app, io.KeyShift ? -1 : +1);
    // Verdicts where they count: a job in review, by a role that may give them.
    const Job* job = app.sync().review().job_at_frame(app.frame());
    bool judging = job && job->stage == JobStage::Review && may(app.sync().review().role(), {"reviewer", "manager"});
    if (judging && ImGui::IsKeyPressed(ImGuiKey_A, false)) judge(app, Verdict::Accepted);
    if (judging && ImGui::IsKeyPressed(ImGuiKey_X, false)) judge(app, Verdict::Rejected);
    if (ImGui::IsKeyPressed(ImGuiKey_P, false)) open_issue(app);
    if (ImGui::IsKeyPressed(ImGuiKey_Escape, false)) pin_wanted_ = false;
}

void ReviewPanel::step(App& app, int delta) {
    ReviewLink& review = app.sync().review();
    const Job* job = review.job_at_frame(app.frame());
    if (!job) return app.refuse({"no_job", "", "this frame is in no job"});
    const auto& stops = walk(app, *job);
    if (stops.empty()) return app.refuse({"nothing_to_review", "", "the job has no objects"});
    stop_ = std::clamp(stop_ + delta, 0, (int)stops.size() - 1);
    const ReviewStop& s = stops[(size_t)stop_];
    app.set_frame(s.frame);
    app.editor().select({s.id});
    if (const Object* o = selected_shape(app))
        if (o->type != ShapeType::Tag) app.reveal(shape_bounds(*o));
}

void ReviewPanel::open_issue(App& app) {
    if (!words_[0]) {
        focus_words_ = true;
        return app.refuse({"no_words", "", "say what is wrong in the review box first, then press P again"});
    }
    if (const Object* shape = selected_shape(app)) {
        Rect r = shape->type == ShapeType::Tag ? Rect{0, 0, 0, 0} : shape_bounds(*shape);
        std::vector<double> points = shape->type == ShapeType::Tag ? std::vector<double>{0, 0} : std::vector<double>{r.x, r.y, r.x + r.w, r.y + r.h};
        auto id = app.sync().review().open_issue(app.frame(), points, shape->id, words_);
        if (!id) return app.refuse(id.first_error());
        words_[0] = 0;
        return;
    }
    pin_wanted_ = true;  // the next click on the image places it
}

void ReviewPanel::pin_at(App& app, Vec2 image_point) {
    pin_wanted_ = false;
    auto id = app.sync().review().open_issue(app.frame(), {image_point.x, image_point.y}, "", words_);
    if (!id) return app.refuse(id.first_error());
    words_[0] = 0;
}

void ReviewPanel::judge(App& app, Verdict verdict) {
    const Object* shape = selected_shape(app);
    if (!shape) return app.refuse({"nothing_selected", "", "select the object to judge first (W steps through the job)"});
    ReviewLink& review = app.sync().review();
    if (verdict == Verdict::Rejected && !words_[0]) {
        focus_words_ = true;
        return app.refuse({"no_words", "", "say why in the review box, then press X again"});
    }
    std::string reason = verdict == Verdict::Rejected ? words_ : "";
    auto decided = review.decide(shape->id, app.frame(), verdict, reason, 0);
    if (!decided) return app.refuse(decided.first_error());
    if (verdict == Verdict::Rejected) open_issue(app);  // the reason becomes an issue the labeler sees and answers
    else step(app, +1);
}

}  // namespace pm
