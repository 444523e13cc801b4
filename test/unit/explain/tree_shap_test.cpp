#include "core/explain/tree_shap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/forest/train.h"

using ltv::explain::NodeShares;
using ltv::explain::TreeExplainer;
using namespace ltv::forest;

namespace {

// Rows of small integers (many ties, values equal to thresholds) with some constant features.
std::vector<double> Rows(size_t n_rows, size_t n_features, uint32_t seed,
                         const std::vector<bool>& constant) {
  std::mt19937 gen(seed);
  std::vector<double> rows(n_rows * n_features);
  for (size_t r = 0; r < n_rows; ++r)
    for (size_t f = 0; f < n_features; ++f)
      rows[r * n_features + f] = constant[f] ? 7.0 : static_cast<double>(gen() % 5);
  return rows;
}

Forest TrainSmall(size_t n_features, uint32_t seed, const std::string& params) {
  std::vector<bool> constant(n_features, false);
  if (n_features >= 3) constant[1] = true;
  const size_t n_rows = 120;
  const std::vector<double> rows = Rows(n_rows, n_features, seed, constant);
  std::vector<int> labels(n_rows);
  std::mt19937 gen(seed + 1);
  for (size_t r = 0; r < n_rows; ++r) {
    // Labels depend on a few features, with noise, so trees are deep and reuse features.
    const double* x = rows.data() + r * n_features;
    const double s = x[0] + (n_features > 2 ? x[2] : 0) - (n_features > 3 ? x[3] : 0);
    labels[r] = std::clamp(static_cast<int>(s / 2) + static_cast<int>(gen() % 2), 0, 3);
  }
  TrainingSet set(n_features);
  set.AddRows(rows.data(), labels.data(), n_rows);
  ltv::json::Value p = ltv::json::Parse(params);
  p.Set("n_classes", ltv::json::Value(4));
  p.Set("seed", ltv::json::Value(static_cast<int>(seed)));
  return Train(set, ParseForestParams(p), ltv::CancelCheck::None());
}

// The tree's path-dependent conditional expectation of every class given the features in
// `known` (bit f): a split on a known feature follows the row, any other split averages its
// children weighted by their shares. Written from the definition, independently of the
// recursion under test.
void Expectation(const Tree& tree, const std::vector<double>& share, int n_classes,
                 const double* row, unsigned known, uint32_t node, double weight,
                 std::vector<double>& out) {
  const Node& n = tree.nodes[node];
  if (n.index == node) {
    const double* v = tree.Proba(tree.leaf_number[node], n_classes);
    for (int c = 0; c < n_classes; ++c) out[c] += weight * v[c];
    return;
  }
  if (known >> n.feature & 1u) {
    Expectation(tree, share, n_classes, row, known,
                row[n.feature] > n.threshold ? n.index + 1 : n.index, weight, out);
  } else {
    Expectation(tree, share, n_classes, row, known, n.index, weight * share[n.index], out);
    Expectation(tree, share, n_classes, row, known, n.index + 1, weight * share[n.index + 1], out);
  }
}

// Shapley values by enumerating every subset: phi_f = sum over S without f of
// |S|! (M - |S| - 1)! / M! * (v(S + f) - v(S)), v the forest's mean expectation. Laid out
// [class][feature] like TreeExplainer.
std::vector<double> Oracle(const Forest& forest, const NodeShares& shares, const double* row,
                           std::vector<double>* base) {
  const int m = forest.n_features(), k = forest.n_classes();
  std::vector<std::vector<double>> v(size_t{1} << m, std::vector<double>(k, 0.0));
  for (unsigned s = 0; s < (1u << m); ++s) {
    for (size_t t = 0; t < forest.trees().size(); ++t)
      Expectation(forest.trees()[t], shares.tree(t), k, row, s, 0, 1.0, v[s]);
    for (double& x : v[s]) x /= forest.trees().size();
  }
  std::vector<double> fact(m + 1, 1.0);
  for (int i = 1; i <= m; ++i) fact[i] = fact[i - 1] * i;
  std::vector<double> phi(static_cast<size_t>(k) * m, 0.0);
  for (int f = 0; f < m; ++f)
    for (unsigned s = 0; s < (1u << m); ++s) {
      if (s >> f & 1u) continue;
      const int size = __builtin_popcount(s);
      const double w = fact[size] * fact[m - size - 1] / fact[m];
      for (int c = 0; c < k; ++c) phi[c * m + f] += w * (v[s | 1u << f][c] - v[s][c]);
    }
  *base = v[0];
  return phi;
}

struct Case {
  size_t n_features;
  std::string params;
};

}  // namespace

TEST(TreeShap, AgreesWithExactShapleyOracle) {
  const std::vector<Case> cases = {
      {1, R"({"n_trees": 3})"},
      {2, R"({"n_trees": 4, "max_features": "all"})"},
      {3, R"({"n_trees": 5})"},
      {5, R"({"n_trees": 4, "max_depth": 6})"},
      {8, R"({"n_trees": 3, "min_samples_leaf": 2})"},
      {8, R"({"n_trees": 2, "bootstrap": false, "max_features": "all"})"},
  };
  int checked = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const Forest forest = TrainSmall(c.n_features, 11 + static_cast<uint32_t>(i), c.params);
    std::vector<bool> constant(c.n_features, false);
    if (c.n_features >= 3) constant[1] = true;
    // A small reference leaves some nodes uncovered (the equal-split rule is exercised).
    const std::vector<double> reference = Rows(9, c.n_features, 100 + i, constant);
    const std::vector<double> rows = Rows(12, c.n_features, 200 + i, constant);
    for (int kind = 0; kind < 2; ++kind) {
      NodeShares shares = kind == 0
                              ? NodeShares::FromRows(forest, reference.data(), 9, c.n_features)
                              : NodeShares::Equal(forest);
      NodeShares oracle_shares = shares;
      TreeExplainer explainer(forest, std::move(shares));
      std::vector<double> out(12 * 4 * c.n_features);
      explainer.ExplainInto(rows.data(), 12, c.n_features, out.data());
      for (size_t r = 0; r < 12; ++r) {
        const double* row = rows.data() + r * c.n_features;
        std::vector<double> base;
        const std::vector<double> expected = Oracle(forest, oracle_shares, row, &base);
        std::vector<double> proba(4);
        forest.PredictProba(row, c.n_features, proba.data());
        for (int k = 0; k < 4; ++k) {
          EXPECT_NEAR(explainer.base()[k], base[k], 1e-12);
          double sum = explainer.base()[k];
          for (size_t f = 0; f < c.n_features; ++f) {
            const double got = out[(r * 4 + k) * c.n_features + f];
            EXPECT_NEAR(got, expected[k * c.n_features + f], 1e-12)
                << "case " << i << " kind " << kind << " row " << r << " class " << k << " feature "
                << f;
            if (constant[f]) {
              EXPECT_EQ(got, 0.0);
            }
            sum += got;
            ++checked;
          }
          EXPECT_NEAR(sum, proba[k], 1e-12);
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

// A hand-built tree that tests feature 0 three times on one path, once at the same threshold
// twice (a tie), under a split on feature 1: the unwinding of repeated features.
TEST(TreeShap, RepeatedFeatureOnOnePath) {
  Tree tree;
  for (int i = 0; i < 9; ++i) tree.AddNode();
  tree.MakeSplit(0, 0, 1.5, 1);
  tree.MakeSplit(1, 1, 0.5, 3);
  tree.MakeLeaf(2, 0);
  tree.MakeSplit(3, 0, 1.5, 5);
  tree.MakeLeaf(4, 1);
  tree.MakeSplit(5, 0, 0.5, 7);
  tree.MakeLeaf(6, 2);
  tree.MakeLeaf(7, 3);
  tree.MakeLeaf(8, 4);
  tree.leaf_proba = {1, 0, 0.25, 0.75, 0.5, 0.5, 0, 1, 0.6, 0.4};
  tree.ComputeDepth();
  ForestParams params;
  params.feature_names = {"a", "b", "c"};
  const Forest forest(params, {"a", "b", "c"}, 2, {tree}, TrainingSummary{});
  const std::vector<double> covers = {10, 6, 4, 5, 1, 3, 2, 1, 2};
  const NodeShares shares = NodeShares::FromCovers(forest, {covers});
  TreeExplainer explainer(forest, shares);
  for (double a : {0.0, 0.5, 1.0, 1.5, 2.0})
    for (double b : {0.0, 0.5, 1.0}) {
      const double row[3] = {a, b, 3.0};
      std::vector<double> base;
      const std::vector<double> expected = Oracle(forest, shares, row, &base);
      const std::vector<double> got = explainer.Explain(row, 3);
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
      EXPECT_EQ(got[2], 0.0);  // "c" is never split on
    }
}

TEST(TreeShap, SameResultWhateverTheThreads) {
  const Forest forest = TrainSmall(6, 5, R"({"n_trees": 20})");
  const std::vector<double> rows = Rows(700, 6, 9, std::vector<bool>(6, false));
  TreeExplainer explainer(forest, NodeShares::FromRows(forest, rows.data(), 700, 6, 2));
  std::vector<double> one(700 * 4 * 6), two(one.size());
  explainer.ExplainInto(rows.data(), 700, 6, one.data(), 1);
  explainer.ExplainInto(rows.data(), 700, 6, two.data(), 2);
  EXPECT_EQ(one, two);
  // Base = the mean probability over the reference rows when the shares come from them.
  std::vector<double> proba(700 * 4);
  forest.PredictProbaInto(rows.data(), 700, 6, proba.data(), 1, ltv::CancelCheck::None());
  for (int k = 0; k < 4; ++k) {
    double mean = 0;
    for (size_t r = 0; r < 700; ++r) mean += proba[r * 4 + k];
    EXPECT_NEAR(explainer.base()[k], mean / 700, 1e-12);
  }
}

TEST(TreeShap, BadRowsAreErrors) {
  const Forest forest = TrainSmall(3, 1, R"({"n_trees": 2})");
  TreeExplainer explainer(forest, NodeShares::Equal(forest));
  const double nan_row[3] = {1, std::nan(""), 2};
  try {
    explainer.Explain(nan_row, 3);
    FAIL() << "a NaN was accepted";
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
  }
  const double short_row[2] = {1, 2};
  EXPECT_THROW(explainer.Explain(short_row, 2), ltv::Error);
  EXPECT_THROW(NodeShares::FromCovers(forest, {{1.0}}), ltv::Error);
  const Forest other = TrainSmall(3, 2, R"({"n_trees": 3})");
  EXPECT_THROW(TreeExplainer(forest, NodeShares::Equal(other)), ltv::Error);
}

TEST(TreeShap, CancelStopsTheWork) {
  const Forest forest = TrainSmall(6, 3, R"({"n_trees": 30})");
  const std::vector<double> rows = Rows(2000, 6, 4, std::vector<bool>(6, false));
  TreeExplainer explainer(forest, NodeShares::Equal(forest));
  int polls = 0;
  ltv::CancelCheck cancel([&] {
    if (++polls > 2) throw ltv::Interrupted();
  });
  std::vector<double> out(2000 * 4 * 6);
  EXPECT_THROW(explainer.ExplainInto(rows.data(), 2000, 6, out.data(), 2, cancel),
               ltv::Interrupted);
}

// A chain tree deeper than kMaxDepth (a hostile model) is refused, not a stack overflow.
TEST(TreeShap, TooDeepATreeIsAnError) {
  Tree tree;
  const int depth = TreeExplainer::kMaxDepth + 1;
  for (int i = 0; i < 2 * depth + 1; ++i) tree.AddNode();
  uint32_t leaf = 0;
  for (int level = 0; level < depth; ++level) {
    const uint32_t node = level == 0 ? 0 : 2 * level;  // the right child of the previous split
    tree.MakeSplit(node, 0, level, 2 * level + 1);
    tree.MakeLeaf(2 * level + 1, leaf++);
  }
  tree.MakeLeaf(2 * depth, leaf++);
  tree.leaf_proba.assign(leaf * 2, 0.5);
  tree.ComputeDepth();
  ASSERT_EQ(tree.depth, depth);
  ForestParams params;
  const Forest forest(params, {"a"}, 2, {tree}, TrainingSummary{});
  try {
    TreeExplainer explainer(forest, NodeShares::Equal(forest));
    FAIL() << "a tree of depth " << depth << " was accepted";
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kLimitExceeded);
  }
}
