// The scan of one feature's histogram for the best split: finds its occupied bins, then hands
// them to a kernel (split_scan_sse2.h, split_scan_scalar.h), inlined here: the scan runs for
// every feature a node draws.
#include "core/forest/tree_builder_internal.h"

#include <algorithm>

#include "core/forest/split_scan_scalar.h"
#include "core/forest/split_scan_sse2.h"

namespace ltv::forest {

using namespace builder;

bool TreeBuilder::ScanHistogram(int feature, int slot, size_t n, bool small_cells, Split& best) {
  switch (settings_.n_classes) {
#define LTV_SCAN(K)                                                         \
  case K:                                                                   \
    return small_cells ? ScanHistogram<K, uint32_t>(feature, slot, n, best) \
                       : ScanHistogram<K, uint64_t>(feature, slot, n, best);
    LTV_SCAN(2)
    LTV_SCAN(3)
    LTV_SCAN(4)
    LTV_SCAN(5)
#undef LTV_SCAN
    default:
      return small_cells ? ScanHistogram<0, uint32_t>(feature, slot, n, best)
                         : ScanHistogram<0, uint64_t>(feature, slot, n, best);
  }
}

template <int K, typename Cell>
bool TreeBuilder::ScanHistogram(int feature, int slot, size_t n, Split& best) {
  const size_t n_classes = K ? K : static_cast<size_t>(settings_.n_classes);
  Cell* hist = Slots<Cell>() + static_cast<size_t>(slot) * kMaxBins * n_classes;
  uint8_t* seen = seen_.data() + static_cast<size_t>(slot) * kMaxBins;
  // Visit only the bins that received samples, in order, through a bitmap of them; the scan
  // also clears every cell the build wrote, so the histograms are all zero again for the
  // next feature without clearing their whole range (and skipping the empty bins one by one
  // would be a badly predicted branch per bin).
  BinOccupancy occupancy;
  uint64_t* occupied = occupancy.bits;
  OccupiedBins(seen, occupied);
  // The first and last occupied words and bins, without branches (n > 0: some bin is
  // occupied).
  const unsigned nonzero =  // bit w: occupied[w] != 0
      (occupied[0] != 0 ? 1u : 0u) | (occupied[1] != 0 ? 2u : 0u) | (occupied[2] != 0 ? 4u : 0u) |
      (occupied[3] != 0 ? 8u : 0u);
  const unsigned first_word = occupancy.first_word = static_cast<unsigned>(__builtin_ctz(nonzero));
  const unsigned last_word = occupancy.last_word =
      31 - static_cast<unsigned>(__builtin_clz(nonzero));
  const unsigned lo =
      first_word * 64 + static_cast<unsigned>(__builtin_ctzll(occupied[first_word]));
  const unsigned hi =
      last_word * 64 + 63 - static_cast<unsigned>(__builtin_clzll(occupied[last_word]));
  // The last occupied bin is no candidate (nothing would be right of it): cleared here, not
  // visited.
  seen[hi] = 0;
#if defined(__SSE2__)
  if (K == 4 && sizeof(Cell) == 4) {  // (std::fill became a call to memset)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(hist + hi * 4), _mm_setzero_si128());
  } else {
    std::fill(hist + hi * n_classes, hist + (hi + 1) * n_classes, Cell{0});
  }
#else
  std::fill(hist + hi * n_classes, hist + (hi + 1) * n_classes, Cell{0});
#endif
  if (lo == hi) return false;
  occupied[last_word] &= ~(uint64_t{1} << (hi % 64));

  // Every kernel takes a candidate only with min_samples_leaf rows on each side: min_leaf <=
  // n_left <= n - min_leaf, i.e. n_left - min_leaf <= n - 2 * min_leaf in unsigned arithmetic
  // (n >= 2 * min_leaf). The best candidate is tracked without branches (which one wins is
  // unpredictable), and the first of equal scores wins, so every kernel picks the same bin.
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
#if defined(__SSE2__)
  if constexpr (K == 4 && sizeof(Cell) == 4) {
    if (unit_weights_) {
      ScanCells32x4(feature, hist, seen, occupancy, n, min_leaf, best);
      return true;
    }
  }
  if constexpr (K == 4 && sizeof(Cell) == 8) {
    if (unit_weights_ && counts_fit_int32_) {
      ScanCells64x4(feature, hist, seen, occupancy, n, min_leaf, best);
      return true;
    }
  }
#endif
  ScanCellsScalar<K, Cell>(feature, hist, seen, occupancy, n, min_leaf, best);
  return true;
}

}  // namespace ltv::forest
