// Grows one CART classification tree (Gini impurity) on binned features.
//
// A builder owns the scratch buffers of one worker thread and is reused for many trees, so
// growing a tree allocates nothing but the tree itself once the buffers have grown.
// Everything it does depends only on its inputs and the tree's Rng, never on timing or on
// which thread runs it, which is what makes forests reproducible whatever the thread count.
//
// Layout: the in-bag rows of the tree are kept in node order (each node owns a contiguous
// range) as three parallel arrays: row number, bootstrap count and label. A split is
// partitioned stably, so rows stay in ascending order inside every node and reading a
// feature column for a node walks memory forwards. Class statistics are integer bootstrap
// counts (weighted by the class weights only when scored), so sums do not depend on the
// sample order and a child's totals are its parent's minus its sibling's.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/forest/binning.h"
#include "core/forest/rng.h"
#include "core/forest/tree.h"

namespace ltv::forest {

struct TreeSettings {
  int n_classes = 2;
  int mtry = 1;
  int max_depth = 0;  // 0 = unlimited
  int min_samples_leaf = 1;
  int min_samples_split = 2;
};

struct GrownTree {
  Tree tree;
  // Per node: the bin edge index of its split (0 for leaves), for CompiledTrees.
  std::vector<uint16_t> split_bins;
  // Weighted Gini decrease per feature, summed over this tree's splits (not normalised).
  std::vector<double> impurity_decrease;
};

class TreeBuilder {
 public:
  TreeBuilder(const BinnedFeatures& data, const std::vector<int>& labels,
              const std::vector<double>& class_weights, const TreeSettings& settings);

  // `row_counts[r]` is how often row r was drawn for this tree (0 = out of bag). Throws
  // ltv::Interrupted soon after *stop becomes true.
  GrownTree Grow(const std::vector<uint32_t>& row_counts, Rng& rng, const std::atomic<bool>& stop);

 private:
  struct Split {
    bool found = false;
    int feature = -1;
    int bin = -1;  // go left when code <= bin
    double score = 0;
  };

  struct Scan;
  // Finds the best split of the node [begin, end) whose weighted class totals are in
  // node_weights_.
  Split FindSplit(size_t begin, size_t end, Rng& rng);
  // Each returns false when the feature is constant in the node. K = n_classes, or 0 when
  // it is only known at run time.
  template <int K>
  bool EvaluateHistogram(int feature, size_t begin, size_t n, Split& best);
  template <int K>
  bool EvaluateSorted(int feature, size_t begin, size_t n, Split& best);
  // Scores the scan's current left/right division; false once the right side has fewer
  // than min_samples_leaf rows (it only shrinks further on).
  bool ConsiderSplit(const Scan& scan, size_t n_left, size_t n_total, Split& best, int feature,
                     int bin);
  // Stable partition of [begin, end) by code <= bin; fills the left child's counts.
  size_t Partition(size_t begin, size_t end, int feature, int bin, uint32_t* left_counts);

  const BinnedFeatures& data_;
  const std::vector<int>& labels_;
  std::vector<double> class_weights_;
  bool unit_weights_ = true;      // every class weight is 1
  bool counts_fit_int32_ = true;  // this tree's draws (so every count) are below 2^31
  TreeSettings settings_;
  int n_features_;
  // Per in-bag row, in node order.
  std::vector<uint32_t> rows_;
  std::vector<uint32_t> counts_;
  std::vector<uint16_t> sample_labels_;
  std::vector<int> feature_order_;
  // Bootstrap counts [bin * n_classes + class] and distinct rows per bin; both all zero
  // between uses (the scan clears what the build wrote).
  std::vector<uint32_t> histogram_;
  std::vector<uint32_t> bin_rows_;
  std::vector<double> left_;          // weighted class counts left of a scan position
  std::vector<double> node_weights_;  // weighted class counts of the node being split
  std::vector<uint32_t> sorted_;      // code << 24 | position, for small nodes
  std::vector<uint32_t> scratch_rows_, scratch_counts_;
  std::vector<uint16_t> scratch_labels_;
  std::vector<uint32_t> totals_stack_;  // per pending node, its n_classes counts
};

}  // namespace ltv::forest
