// Split-scan kernel for any number of classes, class weights and cell width. Included by
// split_scan_kernel.cpp only, so that it is inlined into the scan.
#pragma once

#include "core/forest/tree_builder_internal.h"

namespace ltv::forest {

template <int K, typename Cell>
inline void TreeBuilder::ScanCellsScalar(int feature, Cell* hist, uint8_t* seen,
                                         const BinOccupancy& occupancy, size_t n, size_t min_leaf,
                                         Split& best) {
  const size_t n_classes = K ? K : static_cast<size_t>(settings_.n_classes);
  constexpr unsigned kShift = sizeof(Cell) * 4;
  constexpr Cell kCountMask = static_cast<Cell>((Cell{1} << kShift) - 1);
  const size_t span = n - 2 * min_leaf;
  double best_score = best.score;
  int best_bin = -1;
  Scan scan;
  scan.Init(left_.data(), node_weights_.data(), static_cast<int>(n_classes));
  const double* cw = class_weights_.data();
  const bool unit_weights = unit_weights_;
  size_t n_left = 0;
  ForEachOccupied(occupancy, [&](unsigned b) {
    Cell* cell = hist + b * n_classes;
    for (size_t c = 0; c < n_classes; ++c) {
      const Cell v = cell[c];
      cell[c] = 0;
      const uint32_t count = static_cast<uint32_t>(v & kCountMask);
      scan.Move(static_cast<int>(c), unit_weights ? count : cw[c] * count);  // exact no-op when 0
      n_left += static_cast<size_t>(v >> kShift);
    }
    seen[b] = 0;
    const double right_w = scan.total_w - scan.left_w;
    const double score = scan.left_sq / scan.left_w + scan.right_sq / right_w;
    const bool better =
        (n_left - min_leaf <= span) & (scan.left_w > 0) & (right_w > 0) & (score > best_score);
    best_score = better ? score : best_score;
    best_bin = better ? static_cast<int>(b) : best_bin;
  });
  if (best_bin >= 0) best = {true, feature, best_bin, best_score};
}

}  // namespace ltv::forest
