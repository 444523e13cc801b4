// Quantile binning of the training features: each feature gets up to max_bins bins, and each
// training value is replaced by its bin code (uint8). Split search then works on small
// per-bin histograms instead of sorting values at every node, which is where the speed comes
// from. A split "code <= k" is stored as the real threshold "x <= upper_edge[k]", so the
// model predicts on raw doubles and never needs the bins again.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cancel.h"
#include "core/forest/training_set.h"

namespace ltv::forest {

struct FeatureBins {
  // Bin k holds values x with upper_edges[k-1] < x <= upper_edges[k]; the last bin has no
  // upper edge, so there are n_bins - 1 edges. An edge lies strictly between the largest
  // training value of its bin and the smallest of the next (their midpoint, as scikit-learn
  // places thresholds).
  std::vector<double> upper_edges;
  int n_bins() const { return static_cast<int>(upper_edges.size()) + 1; }
  uint8_t Code(double x) const;
};

struct BinnedFeatures {
  size_t n_rows = 0;
  std::vector<FeatureBins> bins;  // one per feature
  std::vector<uint8_t> codes;     // column-major: codes[feature * n_rows + row]
  const uint8_t* column(size_t feature) const { return codes.data() + feature * n_rows; }
  // The same codes row-major, each row padded with zeros to row_stride bytes (a multiple of
  // 8), for tree building; empty when there are more than max_row_features features.
  std::vector<uint8_t> row_codes;
  size_t row_stride = 0;
  const uint8_t* row(size_t r) const { return row_codes.data() + r * row_stride; }
};

// Sorts finite doubles ascending (-0.0 and +0.0 compare equal and end up side by side in
// either order, as with std::sort), by radix sort of their bit patterns: a column is
// sorted in a few linear passes instead of std::sort's n log n comparisons.
void SortFiniteValues(std::vector<double>& values);

// Bin edges come from the distinct values of each feature, greedily grouped into bins of
// about n_rows / max_bins rows. Deterministic (features are independent, so `threads` never
// changes the result); cancel.Check() is polled as in ParallelFor. row_codes is filled when
// there are at most max_row_features features.
BinnedFeatures BinFeatures(const TrainingSet& set, int max_bins, CancelCheck& cancel,
                           int threads = 1, size_t max_row_features = 64);

}  // namespace ltv::forest
