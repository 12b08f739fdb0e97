// Stable sorting by an integer key with one std::sort for the whole program: each call sorts
// (key, position) pairs of one type, so the wasm holds one sort instead of a merge sort (and its
// buffer code) per call site of std::stable_sort. The order is exactly std::stable_sort's with
// `a.key < b.key`: equal keys keep their positions, which break the ties.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace pm {

// Signed keys are mapped to unsigned ones in the same order (the sign bit flipped), so that every
// key type shares the one instantiation of the sort.
template <class K>
inline uint64_t sort_key_bits(K key) {
    static_assert(std::is_integral_v<K>, "sort_by_key sorts by integer keys");
    if constexpr (std::is_signed_v<K>) return (uint64_t)(int64_t)key ^ (uint64_t(1) << 63);
    else return (uint64_t)key;
}

void sort_key_positions(std::vector<std::pair<uint64_t, uint32_t>>& order);

// Sorts `items` by key(item), stably.
template <class T, class KeyFn>
void stable_sort_by_key(std::vector<T>& items, KeyFn key) {
    if (items.size() < 2) return;
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(items.size());
    for (uint32_t i = 0; i < (uint32_t)items.size(); ++i) order.emplace_back(sort_key_bits(key(items[i])), i);
    sort_key_positions(order);
    std::vector<T> sorted;
    sorted.reserve(items.size());
    for (const auto& entry : order) sorted.push_back(std::move(items[entry.second]));
    items = std::move(sorted);
}

}  // namespace pm
