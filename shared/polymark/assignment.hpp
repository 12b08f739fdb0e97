// One-to-one assignment (the Hungarian method, O(n^3), as shortest augmenting paths with
// potentials) on rectangular matrices: what matches shapes in the quality measures.
// Depends on nothing but the standard library.
//
// Ties: rows are added to the assignment in index order; while one is added, the column reached
// at the least reduced cost is taken, the lowest column index among equal ones. So among equally
// good assignments the result is fixed by the input order: with every cost equal, row i takes
// column i. With more rows than columns the roles swap (columns are added in order).
// docs/QUALITY.md, "Assignment".
#pragma once
#include <cstddef>
#include <vector>

namespace pm {

// Least total cost. `cost` is rows x cols, row-major, finite (the caller checks). Returns, for
// each row, its column or -1 (only when rows > cols: the rows left over).
std::vector<int> assign_min_cost(const std::vector<double>& cost, size_t rows, size_t cols);
// Greatest total weight (e.g. similarity), the same ties.
std::vector<int> assign_max_weight(const std::vector<double>& weight, size_t rows, size_t cols);

}  // namespace pm
