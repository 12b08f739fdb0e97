#include "polymark/sort_by_key.hpp"

namespace pm {

// The one sort behind every stable_sort_by_key: positions are unique, so pairs never tie.
void sort_key_positions(std::vector<std::pair<uint64_t, uint32_t>>& order) { std::sort(order.begin(), order.end()); }

}  // namespace pm
