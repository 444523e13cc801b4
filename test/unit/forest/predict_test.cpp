// Prediction through the compiled layout (CompiledTrees: 8-byte nodes walked on row codes)
// must give exactly what walking the stored double thresholds gives.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/forest/forest.h"
#include "support/forest_merge.h"
#include "support/forest_batch.h"
#include "support/synthetic.h"
#include "core/forest/train.h"

using namespace ltv::forest;
using ltv::CancelCheck;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Forest TrainOn(const SyntheticData& d, const std::string& params) {
  TrainingSet set(d.n_features);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  return Train(set, ParseForestParams(std::string(params)), CancelCheck::None());
}

// The reference: mean over trees of the leaf reached by comparing doubles, in tree order.
std::vector<double> ReferenceProba(const Forest& forest, const double* row) {
  std::vector<double> out(forest.n_classes(), 0.0);
  for (const Tree& tree : forest.trees()) {
    const double* p = tree.Proba(tree.LeafFor(row), forest.n_classes());
    for (int c = 0; c < forest.n_classes(); ++c) out[c] += p[c];
  }
  for (double& v : out) v *= 1.0 / static_cast<double>(forest.trees().size());
  return out;
}

// Rows that sit exactly on, just below and just above every threshold of every feature,
// plus the infinities: the places where an encoding error would show.
std::vector<double> EdgeRows(const Forest& forest, const std::vector<double>& base) {
  const size_t n_features = forest.n_features();
  std::vector<double> rows;
  for (const Tree& tree : forest.trees())
    for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
      if (tree.IsLeaf(i)) continue;
      const Node& node = tree.nodes[i];
      for (double x : {node.threshold, std::nextafter(node.threshold, -kInf),
                       std::nextafter(node.threshold, kInf)}) {
        std::vector<double> row(base.begin(), base.begin() + n_features);
        row[node.feature] = x;
        rows.insert(rows.end(), row.begin(), row.end());
      }
    }
  for (double x : {-kInf, kInf, 0.0, -0.0})
    for (size_t f = 0; f < n_features; ++f) {
      std::vector<double> row(base.begin(), base.begin() + n_features);
      row[f] = x;
      rows.insert(rows.end(), row.begin(), row.end());
    }
  return rows;
}

void ExpectMatchesReference(const Forest& forest, const std::vector<double>& rows) {
  const size_t n_features = forest.n_features();
  const size_t n_rows = rows.size() / n_features;
  const RowMatrix batch1 = PredictProbaBatch(forest, rows.data(), n_rows, n_features, 1);
  const RowMatrix batch2 = PredictProbaBatch(forest, rows.data(), n_rows, n_features, 2);
  std::vector<double> single(forest.n_classes());
  for (size_t r = 0; r < n_rows; ++r) {
    const double* row = rows.data() + r * n_features;
    const std::vector<double> want = ReferenceProba(forest, row);
    forest.PredictProba(row, n_features, single.data());
    for (int c = 0; c < forest.n_classes(); ++c) {
      ASSERT_EQ(single[c], want[c]) << "row " << r << " class " << c;
      ASSERT_EQ(batch1(static_cast<Eigen::Index>(r), c), want[c]) << "row " << r;
      ASSERT_EQ(batch2(static_cast<Eigen::Index>(r), c), want[c]) << "row " << r;
    }
  }
}

// A two-class tree on feature 0 that is a chain: "x <= thresholds[i]" goes left to leaf i
// (class 1 or 0 in turn), otherwise on to the next split; the last leaf is {0.5, 0.5}.
Tree ChainTree(const std::vector<double>& thresholds) {
  Tree tree;
  tree.AddNode();
  uint32_t node = 0, leaves = 0;
  for (double threshold : thresholds) {
    const uint32_t left = tree.AddNode();
    tree.AddNode();
    tree.MakeSplit(node, 0, threshold, left);
    tree.MakeLeaf(left, leaves);
    tree.leaf_proba.insert(tree.leaf_proba.end(), {leaves % 2 ? 1.0 : 0.0, leaves % 2 ? 0.0 : 1.0});
    ++leaves;
    node = left + 1;
  }
  tree.MakeLeaf(node, leaves);
  tree.leaf_proba.insert(tree.leaf_proba.end(), {0.5, 0.5});
  tree.ComputeDepth();
  return tree;
}

// A two-class forest of one feature "x" made of the given trees.
Forest OneFeatureForest(std::vector<Tree> trees) {
  TrainingSummary summary;
  summary.class_counts = {1, 1};
  summary.class_weights = {1, 1};
  summary.tuned_weights = {1, 1};
  summary.impurity_importance = {1};
  return Forest(ParseForestParams(std::string(R"({"n_classes": 2})")), {"x"}, 2, std::move(trees),
                summary);
}

}  // namespace

TEST(Predict, CompiledWalkMatchesDoubleThresholdsExactly) {
  const SyntheticData d = MakeSynthetic(3000, 6, 4, 4, 21);
  const Forest forest = TrainOn(d, R"({"n_trees": 15, "min_samples_leaf": 2, "seed": 4})");
  const SyntheticData test = MakeSynthetic(1500, 6, 4, 4, 22);
  ExpectMatchesReference(forest, test.values);
  ExpectMatchesReference(forest, EdgeRows(forest, test.values));
}

TEST(Predict, LoadedAndMergedForestsWithManyThresholdsUseTwoByteCodes) {
  // Forests binned on different data have different edges: merged, one feature has more
  // than 255 distinct thresholds, so rows need 2-byte codes.
  std::vector<Forest> parts;
  for (uint64_t seed = 1; seed <= 6; ++seed)
    parts.push_back(TrainOn(MakeSynthetic(4000, 3, 3, 2, seed), R"({"n_trees": 4})"));
  std::vector<const Forest*> pointers;
  for (const Forest& f : parts) pointers.push_back(&f);
  const Forest merged = Merge(pointers);
  const CompiledTrees compiled(merged.trees(), merged.n_features());
  ASSERT_TRUE(compiled.usable());
  EXPECT_EQ(compiled.code_bytes(), 2);
  const SyntheticData test = MakeSynthetic(800, 3, 3, 2, 99);
  ExpectMatchesReference(merged, test.values);
  ExpectMatchesReference(merged, EdgeRows(merged, test.values));
}

TEST(Predict, TooManyThresholdsFallBackToTheDoubleWalk) {
  // One tree: a chain of 70000 splits on feature 0 (more distinct thresholds than 2-byte
  // codes can tell apart): no compiled form, same predictions.
  std::vector<double> thresholds(70000);
  for (size_t i = 0; i < thresholds.size(); ++i) thresholds[i] = static_cast<double>(i);
  std::vector<Tree> trees{ChainTree(thresholds)};
  EXPECT_FALSE(CompiledTrees(trees, 1).usable());
  const Forest forest = OneFeatureForest(std::move(trees));
  std::vector<double> rows;
  for (double x : {-1.0, 0.0, 0.5, 1.0, 12345.5, 69999.0, 69999.5, 1e9, kInf}) rows.push_back(x);
  ExpectMatchesReference(forest, rows);
}

TEST(Predict, LoadedThresholdsOfBothZeroSignsAreOneCut) {
  // Two trees of one feature: "x <= -0.0" and "x <= +0.0" are the same split (and one cut),
  // beside thresholds that differ only in their lowest or highest bits.
  std::vector<Tree> trees;
  for (double first : {-0.0, 0.0})
    trees.push_back(ChainTree({first, 1.0, std::nextafter(1.0, 2.0), 1e300, -1e-300}));
  ASSERT_TRUE(CompiledTrees(trees, 1).usable());
  const Forest forest = OneFeatureForest(std::move(trees));
  std::vector<double> rows;
  for (double x : {-kInf, -1.0, -1e-300, -0.0, 0.0, 5e-324, 0.5, 1.0, std::nextafter(1.0, 2.0), 2.0,
                   1e300, kInf})
    rows.push_back(x);
  ExpectMatchesReference(forest, rows);
  ExpectMatchesReference(forest, EdgeRows(forest, rows));
}

TEST(Predict, IntoBufferSplitsLargeBatchesIntoTasksWithTheSameResults) {
  // More rows than one block (262144 rows of 1-byte codes), so the rows are split into
  // several tasks, with 1, 2 and 3 threads: the same bits as row-by-row prediction.
  const SyntheticData d = MakeSynthetic(2000, 5, 4, 3, 31);
  const Forest forest = TrainOn(d, R"({"n_trees": 6, "min_samples_leaf": 2, "seed": 5})");
  const SyntheticData test = MakeSynthetic(270000, 5, 4, 3, 32);
  const size_t k = static_cast<size_t>(forest.n_classes());
  std::vector<double> want(test.n_rows * k);
  for (size_t r = 0; r < test.n_rows; ++r)
    forest.PredictProba(test.values.data() + r * 5, 5, want.data() + r * k);
  for (int threads : {1, 2, 3}) {
    std::vector<double> got(test.n_rows * k, -1.0);
    CancelCheck cancel;
    forest.PredictProbaInto(test.values.data(), test.n_rows, 5, got.data(), threads, cancel);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << "threads " << threads << " value " << i;
  }
}

TEST(Predict, IntoBufferStopsWhenTheHostCancels) {
  const SyntheticData d = MakeSynthetic(2000, 5, 4, 3, 33);
  const Forest forest = TrainOn(d, R"({"n_trees": 20, "seed": 6})");
  const SyntheticData test = MakeSynthetic(5000, 5, 4, 3, 34);
  std::vector<double> out(test.n_rows * forest.n_classes());
  int polls = 0;
  CancelCheck cancel([&] {
    ++polls;
    throw ltv::Interrupted();
  });
  for (int threads : {1, 2}) {
    EXPECT_THROW(
        forest.PredictProbaInto(test.values.data(), test.n_rows, 5, out.data(), threads, cancel),
        ltv::Interrupted);
  }
  EXPECT_GE(polls, 2);
  // Bad input is still reported before any work starts.
  std::vector<double> bad(test.values.begin(), test.values.begin() + 10);
  bad[7] = std::nan("");
  CancelCheck none;
  EXPECT_THROW(forest.PredictProbaInto(bad.data(), 2, 5, out.data(), 2, none), ltv::Error);
}
