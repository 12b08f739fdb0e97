#include "polymark/max_flow.hpp"

#include <algorithm>
#include <limits>

namespace pm {

namespace {
constexpr int32_t kFree = -1;      // in no tree
constexpr int32_t kTerminal = -2;  // its parent is the terminal itself
constexpr int32_t kOrphan = -3;    // lost its parent arc during an augmentation
}  // namespace

MaxFlowGraph::MaxFlowGraph(int nodes, size_t edges_hint) : nodes_(size_t(std::max(nodes, 0))) {
    arcs_.reserve(2 * edges_hint);
}

void MaxFlowGraph::add_terminal(int node, float source_cap, float sink_cap) {
    // What both terminals give the node goes straight through: count it as flow.
    flow_ += std::min(source_cap, sink_cap);
    nodes_[size_t(node)].residual += source_cap - sink_cap;
}

void MaxFlowGraph::add_edge(int a, int b, float cap, float reverse_cap) {
    const int32_t k = int32_t(arcs_.size());
    arcs_.push_back({b, nodes_[size_t(a)].first, cap});
    arcs_.push_back({a, nodes_[size_t(b)].first, reverse_cap});
    nodes_[size_t(a)].first = k;
    nodes_[size_t(b)].first = k + 1;
}

void MaxFlowGraph::activate(int32_t i) {
    Node& n = nodes_[size_t(i)];
    if (n.active) return;
    n.active = true;
    n.next_active = -1;
    if (queue_last_ >= 0) nodes_[size_t(queue_last_)].next_active = i;
    else queue_first_ = i;
    queue_last_ = i;
}

int32_t MaxFlowGraph::next_active() {
    while (queue_first_ >= 0) {
        const int32_t i = queue_first_;
        Node& n = nodes_[size_t(i)];
        queue_first_ = n.next_active;
        if (queue_first_ < 0) queue_last_ = -1;
        n.active = false;
        if (n.parent != kFree) return i;
    }
    return -1;
}

void MaxFlowGraph::augment(int32_t meet) {
    const int32_t s_end = arcs_[size_t(meet ^ 1)].head, t_end = arcs_[size_t(meet)].head;
    float bottleneck = arcs_[size_t(meet)].cap;
    int32_t u = s_end;
    while (nodes_[size_t(u)].parent != kTerminal) {
        const int32_t p = nodes_[size_t(u)].parent;
        bottleneck = std::min(bottleneck, arcs_[size_t(p ^ 1)].cap);
        u = arcs_[size_t(p)].head;
    }
    bottleneck = std::min(bottleneck, nodes_[size_t(u)].residual);
    u = t_end;
    while (nodes_[size_t(u)].parent != kTerminal) {
        const int32_t p = nodes_[size_t(u)].parent;
        bottleneck = std::min(bottleneck, arcs_[size_t(p)].cap);
        u = arcs_[size_t(p)].head;
    }
    bottleneck = std::min(bottleneck, -nodes_[size_t(u)].residual);

    arcs_[size_t(meet)].cap -= bottleneck;
    arcs_[size_t(meet ^ 1)].cap += bottleneck;
    for (u = s_end;;) {
        Node& n = nodes_[size_t(u)];
        const int32_t p = n.parent;
        if (p == kTerminal) {
            n.residual -= bottleneck;
            if (n.residual == 0) n.parent = kOrphan, orphans_.push_back(u);
            break;
        }
        arcs_[size_t(p ^ 1)].cap -= bottleneck;
        arcs_[size_t(p)].cap += bottleneck;
        const int32_t up = arcs_[size_t(p)].head;
        if (arcs_[size_t(p ^ 1)].cap == 0) n.parent = kOrphan, orphans_.push_back(u);
        u = up;
    }
    for (u = t_end;;) {
        Node& n = nodes_[size_t(u)];
        const int32_t p = n.parent;
        if (p == kTerminal) {
            n.residual += bottleneck;
            if (n.residual == 0) n.parent = kOrphan, orphans_.push_back(u);
            break;
        }
        arcs_[size_t(p)].cap -= bottleneck;
        arcs_[size_t(p ^ 1)].cap += bottleneck;
        const int32_t up = arcs_[size_t(p)].head;
        if (arcs_[size_t(p)].cap == 0) n.parent = kOrphan, orphans_.push_back(u);
        u = up;
    }
    flow_ += bottleneck;
}

void MaxFlowGraph::adopt(int32_t o) {
    Node& node = nodes_[size_t(o)];
    const bool sink = node.sink;
    int32_t best = -1;
    int32_t best_dist = std::numeric_limits<int32_t>::max();
    for (int32_t a = node.first; a >= 0; a = arcs_[size_t(a)].next) {
        const int32_t j = arcs_[size_t(a)].head;
        const Node& nj = nodes_[size_t(j)];
        if (nj.parent == kFree || nj.sink != sink) continue;
        if ((sink ? arcs_[size_t(a)].cap : arcs_[size_t(a ^ 1)].cap) <= 0) continue;
        // Does j still reach its terminal? Walk up, stopping at a node checked this round.
        int32_t d = 0, u = j;
        bool valid = false;
        for (;;) {
            Node& nu = nodes_[size_t(u)];
            if (nu.time == time_) { d += nu.dist; valid = true; break; }
            ++d;
            if (nu.parent == kTerminal) { nu.time = time_; nu.dist = 1; valid = true; break; }
            if (nu.parent < 0) break;  // an orphan or free: not rooted
            u = arcs_[size_t(nu.parent)].head;
        }
        if (!valid) continue;
        if (d < best_dist) best = a, best_dist = d;
        for (u = j; nodes_[size_t(u)].time != time_; u = arcs_[size_t(nodes_[size_t(u)].parent)].head) {
            nodes_[size_t(u)].time = time_;
            nodes_[size_t(u)].dist = d--;
        }
    }
    if (best >= 0) {
        node.parent = best;
        node.time = time_;
        node.dist = best_dist + 1;
        return;
    }
    for (int32_t a = node.first; a >= 0; a = arcs_[size_t(a)].next) {
        const int32_t j = arcs_[size_t(a)].head;
        Node& nj = nodes_[size_t(j)];
        if (nj.parent == kFree || nj.sink != sink) continue;
        if ((sink ? arcs_[size_t(a)].cap : arcs_[size_t(a ^ 1)].cap) > 0) activate(j);
        if (nj.parent >= 0 && arcs_[size_t(nj.parent)].head == o) {
            nj.parent = kOrphan;
            orphans_.push_back(j);
        }
    }
    node.parent = kFree;
}

double MaxFlowGraph::solve() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
        Node& n = nodes_[i];
        if (n.residual != 0) {
            n.parent = kTerminal;
            n.sink = n.residual < 0;
            n.dist = 1;
            n.time = 0;
            activate(int32_t(i));
        } else {
            n.parent = kFree;
        }
    }
    time_ = 0;
    for (int32_t i; (i = next_active()) >= 0;) {
        const bool sink = nodes_[size_t(i)].sink;
        int32_t meet = -1;
        for (int32_t a = nodes_[size_t(i)].first; a >= 0; a = arcs_[size_t(a)].next) {
            if ((sink ? arcs_[size_t(a ^ 1)].cap : arcs_[size_t(a)].cap) <= 0) continue;
            const int32_t j = arcs_[size_t(a)].head;
            Node& nj = nodes_[size_t(j)];
            const Node& ni = nodes_[size_t(i)];
            if (nj.parent == kFree) {
                nj.sink = sink;
                nj.parent = a ^ 1;
                nj.time = ni.time;
                nj.dist = ni.dist + 1;
                activate(j);
            } else if (nj.sink != sink) {
                meet = sink ? (a ^ 1) : a;
                break;
            } else if (nj.time <= ni.time && nj.dist > ni.dist) {
                nj.parent = a ^ 1;
                nj.time = ni.time;
                nj.dist = ni.dist + 1;
            }
        }
        if (meet < 0) continue;
        ++time_;
        augment(meet);
        for (size_t k = 0; k < orphans_.size(); ++k) adopt(orphans_[k]);
        orphans_.clear();
        if (nodes_[size_t(i)].parent != kFree) activate(i);
    }
    return flow_;
}

bool MaxFlowGraph::source_side(int node) const {
    const Node& n = nodes_[size_t(node)];
    return n.parent != kFree && !n.sink;
}

}  // namespace pm
