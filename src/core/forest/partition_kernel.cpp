// Partitioning: a split moves a node's records to its two children, stably.
#include "core/forest/tree_builder_internal.h"

#include <algorithm>

namespace ltv::forest {

using namespace builder;

size_t TreeBuilder::Partition(size_t begin, size_t end, int feature, int bin,
                              uint32_t* left_counts) {
  std::fill(left_counts, left_counts + settings_.n_classes, 0u);
  return settings_.n_classes <= 4 ? PartitionWith<true>(begin, end, feature, bin, left_counts)
                                  : PartitionWith<false>(begin, end, feature, bin, left_counts);
}

template <bool kFourClasses>
size_t TreeBuilder::PartitionWith(size_t begin, size_t end, int feature, int bin,
                                  uint32_t* left_counts) {
  if (row_numbers_)
    return PartitionRecords<2, true, kFourClasses>(begin, end, feature, bin, left_counts);
  switch (words_) {
#define LTV_PARTITION(W) \
  case W:                \
    return PartitionRecords<W, false, kFourClasses>(begin, end, feature, bin, left_counts);
    LTV_PARTITION(2)
    LTV_PARTITION(3)
    LTV_PARTITION(4)
    LTV_PARTITION(5)
    LTV_PARTITION(6)
    LTV_PARTITION(7)
    LTV_PARTITION(8)
    LTV_PARTITION(9)
#undef LTV_PARTITION
    default:
      return PartitionRecords<0, false, kFourClasses>(begin, end, feature, bin, left_counts);
  }
}

template <int W, bool kRowNumbers, bool kFourClasses>
size_t TreeBuilder::PartitionRecords(size_t begin, size_t end, int feature, int bin,
                                     uint32_t* left_counts) {
  // Stable: left records are compacted forwards in place (the write position never passes
  // the read position), right ones go to scratch and are copied back behind them.
  // Branch-free, since the side of a record is unpredictable: each record is written to
  // both places and only the position of its side advances. W = words per record (0: known
  // at run time only).
  const size_t words = W ? W : words_;
  const uint8_t* column = kRowNumbers ? data_.column(feature) : nullptr;
  uint64_t* records = records_.data() + begin * words;
  uint64_t* right = scratch_.data();
  const size_t n = end - begin;
  size_t l = 0, r = 0;
  const size_t prefetched =
      kRowNumbers && n > kPrefetch && data_.n_rows >= kPrefetchRows ? n - kPrefetch : 0;
#if defined(__SSE2__)
  alignas(16) static constexpr uint32_t kOneHot[4][4] = {
      {~0u, 0, 0, 0}, {0, ~0u, 0, 0}, {0, 0, ~0u, 0}, {0, 0, 0, ~0u}};
  __m128i counts = _mm_setzero_si128();
#endif
  for (size_t i = 0; i < n; ++i) {
    const uint64_t* record = records + i * words;
    if (kRowNumbers && i < prefetched)
      __builtin_prefetch(column + static_cast<uint32_t>(record[kPrefetch * 2 + 1]));
    const uint64_t head = record[0];
    const uint32_t go_left =
        CodeOf<kRowNumbers>(record, column, feature) <= static_cast<unsigned>(bin) ? 1 : 0;
    if (W) {
      // Held in registers (a local array got stored to the stack as well).
#if defined(__SSE2__)
      __m128i pairs[W / 2 > 0 ? W / 2 : 1];
      for (int k = 0; k < W / 2; ++k)
        pairs[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(record + 2 * k));
      const uint64_t last = record[W - 1];
      uint64_t* to_left = records + l * words;
      uint64_t* to_right = right + r * words;
      for (int k = 0; k < W / 2; ++k) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to_left + 2 * k), pairs[k]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to_right + 2 * k), pairs[k]);
      }
      if (W % 2) to_left[W - 1] = to_right[W - 1] = last;
#else
      uint64_t copy[W ? W : 1];
      std::memcpy(copy, record, sizeof(copy));
      std::memcpy(records + l * words, copy, sizeof(copy));
      std::memcpy(right + r * words, copy, sizeof(copy));
#endif
    } else {
      // l <= i: moving forwards within the same array.
      std::memmove(records + l * words, record, words * sizeof(uint64_t));
      std::memcpy(right + r * words, records + l * words, words * sizeof(uint64_t));
    }
    const uint32_t left_count = CountOf(head) & (0u - go_left);
#if defined(__SSE2__)
    if (kFourClasses) {
      // Up to 4 classes: the counts in one register (a read-modify-write of
      // left_counts[label] would chain runs of samples of the same class through memory).
      counts = _mm_add_epi32(
          counts,
          _mm_and_si128(_mm_set1_epi32(static_cast<int>(left_count)),
                        _mm_load_si128(reinterpret_cast<const __m128i*>(kOneHot[LabelOf(head)]))));
    } else {
      left_counts[LabelOf(head)] += left_count;
    }
#else
    left_counts[LabelOf(head)] += left_count;
#endif
    l += go_left;
    r += 1 - go_left;
  }
#if defined(__SSE2__)
  if (kFourClasses) {
    alignas(16) uint32_t sums[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(sums), counts);
    for (int c = 0; c < settings_.n_classes; ++c) left_counts[c] = sums[c];
  }
#endif
  std::memcpy(records + l * words, right, r * words * sizeof(uint64_t));
  return begin + l;
}

}  // namespace ltv::forest
