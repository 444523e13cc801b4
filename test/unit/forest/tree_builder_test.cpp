// The tree builder's speed-ups must not change a tree: records with the codes or with row
// numbers, skipping features known to be constant, 32- or 64-bit histogram cells, and
// histograms or sorted codes all grow exactly the same trees.
#include "core/forest/tree_builder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <vector>

#include "core/forest/binning.h"
#include "core/forest/rng.h"
#include "support/synthetic.h"
#include "core/forest/training_set.h"

using namespace ltv::forest;
using ltv::CancelCheck;

namespace {

struct Data {
  TrainingSet set;
  BinnedFeatures binned;
};

// Synthetic rows plus tied, mostly-zero features (so that many features are constant in
// deep nodes, as counts and recent-window spends are in the customer features).
Data MakeData(size_t n_rows, size_t n_features, int n_classes, uint64_t seed) {
  const SyntheticData d = MakeSynthetic(n_rows, n_features, n_features / 2, n_classes, seed);
  TrainingSet set(n_features);
  std::vector<double> row(n_features);
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t f = 0; f < n_features; ++f) {
      const double v = d.values[r * n_features + f];
      row[f] = f % 3 == 1 ? (v > 1.0 ? std::floor(v * 2) : 0.0) : v;
    }
    set.AddRow(row.data(), d.labels[r]);
  }
  BinnedFeatures binned = BinFeatures(set, 64, CancelCheck::None(), 1, n_features);
  return {std::move(set), std::move(binned)};
}

GrownTree GrowOne(const Data& data, const TreeSettings& settings,
                  const std::vector<double>& class_weights, TreeBuilder::Layout layout,
                  uint64_t seed) {
  TreeBuilder builder(data.binned, data.set.labels(), class_weights, settings, layout);
  Rng rng(seed, 0);
  std::vector<uint32_t> counts(data.set.n_rows(), 0);
  for (size_t i = 0; i < data.set.n_rows(); ++i) ++counts[rng.Below(data.set.n_rows())];
  std::atomic<bool> stop{false};
  return builder.Grow(counts, rng, stop);
}

void ExpectSameTree(const GrownTree& a, const GrownTree& b) {
  ASSERT_EQ(a.tree.nodes.size(), b.tree.nodes.size());
  for (size_t i = 0; i < a.tree.nodes.size(); ++i) {
    EXPECT_EQ(a.tree.nodes[i].feature, b.tree.nodes[i].feature) << "node " << i;
    EXPECT_EQ(a.tree.nodes[i].threshold, b.tree.nodes[i].threshold) << "node " << i;
    EXPECT_EQ(a.tree.nodes[i].index, b.tree.nodes[i].index) << "node " << i;
  }
  EXPECT_EQ(a.tree.leaf_number, b.tree.leaf_number);
  EXPECT_EQ(a.tree.leaf_proba, b.tree.leaf_proba);
  EXPECT_EQ(a.split_bins, b.split_bins);
  EXPECT_EQ(a.impurity_decrease, b.impurity_decrease);
}

struct Case {
  size_t n_features;
  int n_classes;  // 4 takes the SSE scan, the others the generic one
  bool weighted;
  int min_samples_leaf;
};

class TreeBuilderSameTrees : public ::testing::TestWithParam<Case> {};

TEST_P(TreeBuilderSameTrees, LayoutsAndConstantSkippingGrowTheSameTree) {
  const Case c = GetParam();
  const Data data = MakeData(3000, c.n_features, c.n_classes, 11 + c.n_features);
  TreeSettings settings;
  settings.n_classes = c.n_classes;
  settings.mtry = 3;
  settings.min_samples_leaf = c.min_samples_leaf;
  std::vector<double> weights(c.n_classes, 1.0);
  if (c.weighted)
    for (int k = 0; k < c.n_classes; ++k) weights[k] = 1.0 + 0.5 * k;
  for (uint64_t seed : {1u, 2u}) {
    const GrownTree codes = GrowOne(data, settings, weights, TreeBuilder::Layout::kCodes, seed);
    EXPECT_GT(codes.tree.nodes.size(), 50u);
    ExpectSameTree(codes, GrowOne(data, settings, weights, TreeBuilder::Layout::kRowNumbers, seed));
    TreeSettings plain = settings;
    plain.skip_known_constant = false;
    ExpectSameTree(codes, GrowOne(data, plain, weights, TreeBuilder::Layout::kCodes, seed));
    ExpectSameTree(codes, GrowOne(data, plain, weights, TreeBuilder::Layout::kRowNumbers, seed));
    TreeSettings wide = settings;  // 64-bit histogram cells in every node
    wide.narrow_cells = false;
    ExpectSameTree(codes, GrowOne(data, wide, weights, TreeBuilder::Layout::kCodes, seed));
    ExpectSameTree(codes, GrowOne(data, wide, weights, TreeBuilder::Layout::kRowNumbers, seed));
    for (TreeSettings::Search search :
         {TreeSettings::Search::kHistogram, TreeSettings::Search::kSort}) {
      TreeSettings forced = settings;  // one split search in every node
      forced.search = search;
      ExpectSameTree(codes, GrowOne(data, forced, weights, TreeBuilder::Layout::kCodes, seed));
      ExpectSameTree(codes, GrowOne(data, forced, weights, TreeBuilder::Layout::kRowNumbers, seed));
    }
  }
}

// 1, 7, 8, 9, 23 and 64 features: records of 2 to 9 words; 70 (row numbers only, features
// beyond the 64 a mask holds).
INSTANTIATE_TEST_SUITE_P(Shapes, TreeBuilderSameTrees,
                         ::testing::Values(Case{1, 2, false, 1}, Case{7, 3, true, 1},
                                           Case{8, 4, false, 3}, Case{9, 4, true, 2},
                                           Case{23, 4, false, 3}, Case{23, 6, false, 1},
                                           Case{64, 5, true, 1}));

TEST(TreeBuilder, ManyFeaturesUseRowNumbersAndStillSkipConstants) {
  const Data data = MakeData(2000, 70, 4, 5);
  EXPECT_FALSE(data.binned.row_codes.empty());  // max_row_features = 70 in MakeData
  BinnedFeatures wide = BinFeatures(data.set, 64, CancelCheck::None(), 1, 64);
  EXPECT_TRUE(wide.row_codes.empty());
  const Data wide_data{data.set, std::move(wide)};
  TreeSettings settings;
  settings.n_classes = 4;
  settings.mtry = 8;
  const std::vector<double> weights(4, 1.0);
  const GrownTree auto_layout =
      GrowOne(wide_data, settings, weights, TreeBuilder::Layout::kAuto, 3);
  ExpectSameTree(auto_layout, GrowOne(data, settings, weights, TreeBuilder::Layout::kCodes, 3));
  TreeSettings plain = settings;
  plain.skip_known_constant = false;
  ExpectSameTree(auto_layout, GrowOne(wide_data, plain, weights, TreeBuilder::Layout::kAuto, 3));
}

}  // namespace
