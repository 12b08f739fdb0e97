#include "polymark/assignment.hpp"

#include <algorithm>
#include <limits>

namespace pm {

namespace {

// rows <= cols. Shortest augmenting paths with row and column potentials (u, v); p[j] is the
// row holding column j (1-based, 0: free). Strict comparisons keep the lowest index on ties.
std::vector<int> assign_wide(const std::vector<double>& cost, size_t n, size_t m, bool transposed) {
    const double inf = std::numeric_limits<double>::infinity();
    auto at = [&](size_t i, size_t j) { return transposed ? cost[j * n + i] : cost[i * m + j]; };
    std::vector<double> u(n + 1, 0), v(m + 1, 0), minv(m + 1);
    std::vector<size_t> p(m + 1, 0), way(m + 1, 0);
    std::vector<char> used(m + 1);
    for (size_t i = 1; i <= n; ++i) {
        p[0] = i;
        size_t j0 = 0;
        std::fill(minv.begin(), minv.end(), inf);
        std::fill(used.begin(), used.end(), 0);
        do {
            used[j0] = 1;
            size_t i0 = p[j0], j1 = 0;
            double delta = inf;
            for (size_t j = 1; j <= m; ++j) {
                if (used[j]) continue;
                double cur = at(i0 - 1, j - 1) - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            if (j1 == 0) break;  // cannot happen with finite costs; keeps a bad input from looping
            for (size_t j = 0; j <= m; ++j) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    std::vector<int> row_to_col(n, -1);
    for (size_t j = 1; j <= m; ++j)
        if (p[j]) row_to_col[p[j] - 1] = (int)(j - 1);
    return row_to_col;
}

}  // namespace

std::vector<int> assign_min_cost(const std::vector<double>& cost, size_t rows, size_t cols) {
    if (rows == 0) return {};
    if (cols == 0) return std::vector<int>(rows, -1);
    if (rows <= cols) return assign_wide(cost, rows, cols, false);
    // More rows than columns: assign the columns to rows, then invert.
    std::vector<int> col_to_row = assign_wide(cost, cols, rows, true);
    std::vector<int> out(rows, -1);
    for (size_t j = 0; j < cols; ++j)
        if (col_to_row[j] >= 0) out[(size_t)col_to_row[j]] = (int)j;
    return out;
}

std::vector<int> assign_max_weight(const std::vector<double>& weight, size_t rows, size_t cols) {
    std::vector<double> cost(weight.size());
    for (size_t k = 0; k < weight.size(); ++k) cost[k] = -weight[k];
    return assign_min_cost(cost, rows, cols);
}

}  // namespace pm
