// Grows one CART classification tree (Gini impurity) on binned features.
//
// A builder owns the scratch buffers of one worker thread and is reused for many trees.
// Everything it does depends only on its inputs and the tree's Rng, never on timing or on
// which thread runs it, which is what makes forests reproducible whatever the thread count.
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
  struct Sample {
    uint32_t row;
    int32_t label;
    double weight;
  };
  struct Split {
    bool found = false;
    int feature = -1;
    int bin = -1;  // go left when code <= bin
    double score = 0;
  };

  Split FindSplit(size_t begin, size_t end, double node_score, Rng& rng);
  void EvaluateFeature(int feature, size_t begin, size_t end, Split& best, bool& constant);
  void EvaluateFeatureSorted(int feature, size_t begin, size_t end, Split& best, bool& constant);
  bool ConsiderSplit(const double* left, double left_w, size_t n_left, const double* total,
                     double total_w, size_t n_total, Split& best, int feature, int bin);
  size_t Partition(size_t begin, size_t end, int feature, int bin);
  void ClassSums(size_t begin, size_t end, double* sums, double& total) const;

  const BinnedFeatures& data_;
  const std::vector<int>& labels_;
  const std::vector<double>& class_weights_;
  TreeSettings settings_;
  int n_features_;
  std::vector<Sample> samples_;
  std::vector<int> feature_order_;
  std::vector<double> histogram_;     // [bin * n_classes + class]
  std::vector<uint32_t> bin_counts_;  // distinct samples per bin
  std::vector<double> left_sums_;
  std::vector<double> total_sums_;
  std::vector<uint32_t> sorted_;  // code << 24 | position, for small nodes
};

}  // namespace ltv::forest
