// Exact per-row explanations of a random forest's class probabilities: path-dependent
// TreeSHAP (Lundberg et al., "From local explanations to global understanding with
// explainable AI for trees", 2020, Algorithm 2), in O(T * L * D^2) per row for T trees of at
// most L leaves and depth D.
//
// For each class c and row x: base[c] + sum_f contribution[f][c] == the forest's probability
// of c for x (up to rounding), and contribution[f][c] is the Shapley value of feature f for
// the game v(S) = E[f_c(x) | x_S], where the expectation over the features not in S follows
// every split they decide in proportion to the split's cover (the tree's "path-dependent"
// conditional expectation). Features the trees never split on get exactly 0.
//
// Covers: a node's cover is the weight of a population that reaches it. The model format
// stores no covers, so they are counted by routing reference rows through the trees (e.g. the
// dataset's customers): base[c] is then the mean probability of c over those rows. A node no
// reference row reaches splits its weight equally between its children, so the expectation is
// defined everywhere. The explanation depends only on the forest, the covers and the row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cancel.h"
#include "core/forest/forest.h"

namespace ltv::explain {

// Per tree, per node (in the tree's node order): the share of the node's parent's cover that
// the node receives (1 for a root). Built by FromRows or Equal; shares of two siblings add up
// to 1 (up to rounding).
class NodeShares {
 public:
  // Covers counted by routing `n_rows` reference rows (row-major, n_features each) through
  // every tree; trees on `threads` threads while the calling thread polls `cancel`.
  // Throws ltv::Error(kInvalidInput) for a row of the wrong width or with a NaN.
  static NodeShares FromRows(const forest::Forest& forest, const double* rows, size_t n_rows,
                             size_t n_features, int threads = 1,
                             CancelCheck& cancel = CancelCheck::None());
  // From explicit covers: covers[t][node] >= 0 and finite, a child's cover at most its
  // parent's (kInvalidInput otherwise).
  static NodeShares FromCovers(const forest::Forest& forest,
                               const std::vector<std::vector<double>>& covers);
  // No reference: every split sends half of the weight each way.
  static NodeShares Equal(const forest::Forest& forest);

  const std::vector<double>& tree(size_t t) const { return shares_[t]; }
  size_t n_trees() const { return shares_.size(); }

 private:
  std::vector<std::vector<double>> shares_;
};

// One element of the path of unique features from the root to the current node: the
// feature, the share of the weight that goes on when the feature is unknown (zero) or known
// (one: 1 on the row's own branch, 0 on the other), and the weight of the subsets of each
// size that the path has seen (Algorithm 2's `w`).
struct PathElement {
  int feature;
  double zero_fraction;
  double one_fraction;
  double weight;
};

struct Ratios;  // constants of the recursion (tree_shap.cpp)

class TreeExplainer {
 public:
  // The recursion takes one stack frame per level of a tree (on worker threads, whose stacks
  // are a few MB), so deeper trees are refused with ltv::Error(kLimitExceeded): trained trees
  // are far shallower, so only a hand-made or hostile model has them.
  static constexpr int kMaxDepth = 2000;

  // `forest` must outlive the explainer; `shares` must come from the same forest.
  TreeExplainer(const forest::Forest& forest, NodeShares shares);

  int n_features() const { return forest_.n_features(); }
  int n_classes() const { return forest_.n_classes(); }
  // The expected probability of each class under the shares (n_classes values).
  const std::vector<double>& base() const { return base_; }

  // Contributions of n_rows rows into out, laid out [row][class][feature]
  // (n_rows * n_classes * n_features doubles). Rows are checked as Forest::PredictProba
  // checks them. Rows are split over `threads` worker threads (core code only) while the
  // calling thread polls cancel.Check() about every 20 ms; each row's sum runs over the
  // trees in order, so the result is the same bit for bit whatever `threads`.
  void ExplainInto(const double* rows, size_t n_rows, size_t n_features, double* out,
                   int threads = 1, CancelCheck& cancel = CancelCheck::None()) const;
  std::vector<double> Explain(const double* row, size_t n_features) const;

 private:
  void ExplainRow(const double* row, double* phi, std::vector<PathElement>& path,
                  const Ratios& ratios) const;
  void Recurse(size_t t, const double* row, double* phi, PathElement* parent_path, unsigned depth,
               uint32_t node, double zero_fraction, double one_fraction, int feature,
               const Ratios& ratios) const;

  const forest::Forest& forest_;
  NodeShares shares_;
  std::vector<double> base_;
  int max_depth_ = 0;
};

}  // namespace ltv::explain
