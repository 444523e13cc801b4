// Histogram building: one pass over a node's samples fills the histograms of up to `slots_`
// features at once.
#include "core/forest/tree_builder_internal.h"

namespace ltv::forest {

using namespace builder;

void TreeBuilder::BuildHistograms(const int* features, int g, size_t begin, size_t n,
                                  bool small_cells) {
  const bool four = settings_.n_classes == 4;
#define LTV_BUILD(K, ROWS, CELL) BuildHistograms<K, ROWS, CELL>(features, g, begin, n)
  if (row_numbers_) {
    if (small_cells)
      four ? LTV_BUILD(4, true, uint32_t) : LTV_BUILD(0, true, uint32_t);
    else
      four ? LTV_BUILD(4, true, uint64_t) : LTV_BUILD(0, true, uint64_t);
  } else {
    if (small_cells)
      four ? LTV_BUILD(4, false, uint32_t) : LTV_BUILD(0, false, uint32_t);
    else
      four ? LTV_BUILD(4, false, uint64_t) : LTV_BUILD(0, false, uint64_t);
  }
#undef LTV_BUILD
}

template <int K, bool kRowNumbers, typename Cell>
void TreeBuilder::BuildHistograms(const int* features, int g, size_t begin, size_t n) {
  switch (g) {
    case 1:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 1>(features, begin, n);
    case 2:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 2>(features, begin, n);
    case 3:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 3>(features, begin, n);
    default:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 4>(features, begin, n);
  }
}

template <int K, bool kRowNumbers, typename Cell, int G>
void TreeBuilder::BuildHistogramsOf(const int* features, size_t begin, size_t n) {
  // One pass over the node's samples for G features: the record's head word is read once,
  // then each feature adds to its own histogram. A cell holds the class's bootstrap count
  // in its low half and its number of samples in the high half (both sums are below
  // 2^(half's bits) by the choice of Cell); `seen` marks the bins that received samples
  // with plain stores. Runs of samples with the same code and class (frequent: many
  // features are mostly zeros) chain read-modify-writes of one cell; the G features' chains
  // are independent and overlap, which is why features are built together.
  const size_t n_classes = K ? K : static_cast<size_t>(settings_.n_classes);
  constexpr unsigned kShift = sizeof(Cell) * 4;
  const size_t stride = static_cast<size_t>(kMaxBins) * n_classes;
  Cell* hist = Slots<Cell>();
  uint8_t* seen = seen_.data();
  const size_t words = words_;
  const uint64_t* record = records_.data() + begin * words;
  const uint8_t* column[G];
  int offset[G];
  for (int g = 0; g < G; ++g) {
    column[g] = kRowNumbers ? data_.column(features[g]) : nullptr;
    offset[g] = features[g];
  }
  // With row numbers: rows are ascending but sparse in deep nodes, so the column reads miss
  // the caches on large data: fetch kPrefetch rows ahead (the records are sequential).
  // Columns that fit in the caches skip that.
  const size_t prefetched =
      kRowNumbers && n > kPrefetch && data_.n_rows >= kPrefetchRows ? n - kPrefetch : 0;
  for (size_t i = 0; i < n; ++i, record += words) {
    const uint64_t head = record[0];
    const size_t label = LabelOf(head);
    const Cell add = static_cast<Cell>(Cell{1} << kShift | CountOf(head));
    if (kRowNumbers && i < prefetched)
      for (int g = 0; g < G; ++g)
        __builtin_prefetch(column[g] + static_cast<uint32_t>(record[kPrefetch * 2 + 1]));
    for (int g = 0; g < G; ++g) {
      const unsigned code = kRowNumbers ? column[g][static_cast<uint32_t>(record[1])]
                                        : reinterpret_cast<const uint8_t*>(record + 1)[offset[g]];
      hist[g * stride + code * n_classes + label] += add;
      seen[g * kMaxBins + code] = kSeen;
    }
  }
}

}  // namespace ltv::forest
