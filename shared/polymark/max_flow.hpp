// Minimum s-t cut of a sparse graph (Boykov-Kolmogorov augmenting paths with two search trees
// that are reused between augmentations: fast on image grids). For box-to-polygon segmentation.
// Platform-free, no I/O, never throws. Capacities are floats >= 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pm {

class MaxFlowGraph {
public:
    explicit MaxFlowGraph(int nodes, size_t edges_hint = 0);
    // Terminal capacities: source -> node, node -> sink (once per node).
    void add_terminal(int node, float source_cap, float sink_cap);
    // An edge in both directions: a -> b with `cap`, b -> a with `reverse_cap`.
    void add_edge(int a, int b, float cap, float reverse_cap);
    // Runs to the maximum flow; returns its value (the terminal capacities both sides shared
    // included).
    double solve();
    // After solve(): whether the node stays on the source side of the minimum cut.
    bool source_side(int node) const;
    int nodes() const { return int(nodes_.size()); }

private:
    struct Node {
        int32_t first = -1;      // first arc out
        int32_t parent = -1;     // arc to the parent in the tree, or kTerminal / kOrphan / kFree
        int32_t next_active = -1;
        int32_t time = 0;        // when `dist` was last checked to reach a terminal
        int32_t dist = 0;        // arcs to the terminal
        bool sink = false;       // in the sink's tree
        bool active = false;
        float residual = 0;      // > 0: from the source, < 0: to the sink
    };
    struct Arc {
        int32_t head;
        int32_t next;
        float cap;
    };
    void activate(int32_t i);
    int32_t next_active();
    void augment(int32_t arc);
    void adopt(int32_t orphan);

    std::vector<Node> nodes_;
    std::vector<Arc> arcs_;  // in pairs: arc a's reverse is a ^ 1
    std::vector<int32_t> orphans_;
    int32_t queue_first_ = -1, queue_last_ = -1;
    int32_t time_ = 0;
    double flow_ = 0;
};

}  // namespace pm
