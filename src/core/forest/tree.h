// One decision tree in the flat layout used for prediction.
//
// Nodes live in one array in topological order: the root is node 0 and the two children of
// an internal node are adjacent (left, left + 1) and come after their parent. A leaf points
// to itself (feature 0, threshold +inf, index = its own position), so a walk can take a
// fixed number of branch-free steps (the tree's depth) and rows that reach a leaf early
// just stay there. That lets batch prediction walk many rows through a tree in lock-step,
// overlapping their memory latencies instead of waiting on one row's chain of loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace ltv::forest {

struct Node {
  double threshold;  // go right when x[feature] > threshold (NaN goes left)
  int32_t feature;
  uint32_t index;  // left child (right is index + 1); a leaf's own position
};
static_assert(sizeof(Node) == 16, "nodes are meant to be 16 bytes");

struct Tree {
  std::vector<Node> nodes;
  std::vector<uint32_t> leaf_number;  // per node; the leaf's row in leaf_proba
  // Class probabilities of each leaf, leaf-major: leaf_proba[leaf * n_classes + class].
  std::vector<double> leaf_proba;
  int depth = 0;  // depth of the deepest leaf (0 for a single leaf)

  uint32_t AddNode() {
    const auto id = static_cast<uint32_t>(nodes.size());
    // Fields stored in place: writing a temporary Node with three stores and reloading it as
    // 16 bytes would stall on store forwarding.
    Node& node = nodes.emplace_back();
    node.threshold = std::numeric_limits<double>::infinity();
    node.feature = 0;
    node.index = id;
    leaf_number.push_back(0);
    return id;
  }
  void MakeLeaf(uint32_t node, uint32_t leaf) {
    nodes[node] = {std::numeric_limits<double>::infinity(), 0, node};
    leaf_number[node] = leaf;
  }
  void MakeSplit(uint32_t node, int32_t feature, double threshold, uint32_t left) {
    nodes[node] = {threshold, feature, left};
  }
  bool IsLeaf(uint32_t node) const { return nodes[node].index == node; }
  size_t n_leaves() const { return (nodes.size() + 1) / 2; }  // a full binary tree
  // Recomputes `depth`; children come after parents, so one forward pass is enough.
  void ComputeDepth();

  uint32_t LeafFor(const double* row) const {
    const Node* n = nodes.data();
    uint32_t i = 0;
    while (n[i].index != i) i = n[i].index + (row[n[i].feature] > n[i].threshold ? 1u : 0u);
    return leaf_number[i];
  }
  // Leaf numbers of `count` rows (row r at rows + r * stride), walked in lock-step groups.
  void LeavesFor(const double* rows, size_t stride, size_t count, uint32_t* leaves) const;

  const double* Proba(uint32_t leaf, int n_classes) const {
    return leaf_proba.data() + static_cast<size_t>(leaf) * n_classes;
  }
};

// 8-byte node of the prediction layout: go to `next + 1` when code(x[feature]) > cut, else
// to `next`. A leaf points to itself with cut 0xFFFF, above every code.
struct CompiledNode {
  uint16_t feature;
  uint16_t cut;
  uint32_t next;
};
static_assert(sizeof(CompiledNode) == 8, "compiled nodes are meant to be 8 bytes");

// The trees of a forest in the layout batch prediction walks. Every threshold of feature f
// is one of the ascending "cuts" of f, so a row is encoded once, each value as its code =
// the number of cuts of its feature below it (1 byte when every feature has at most 255
// cuts, else 2), and "x > cut k" becomes exactly "code > k": trees are then walked on small
// integer rows with half-size nodes, and give the same leaves as walking the doubles.
// A forest whose features have more than 65534 distinct thresholds (only possible by
// merging many forests) or that has more than 65535 features has no compiled form
// (usable() is false) and is walked on the doubles instead.
class CompiledTrees {
 public:
  CompiledTrees() = default;
  // From the thresholds of any trees (a loaded or merged model).
  CompiledTrees(const std::vector<Tree>& trees, size_t n_features);
  // From training, where the cuts are the bin edges (cuts[f], ascending) and split_bins[t][i]
  // is the edge index of node i of tree t (ignored for leaves).
  // Large forests are laid out on `threads` threads.
  CompiledTrees(const std::vector<Tree>& trees, std::vector<std::vector<double>> cuts,
                const std::vector<std::vector<uint16_t>>& split_bins, int threads = 1);

  bool usable() const { return code_bytes_ > 0; }
  int code_bytes() const { return code_bytes_; }  // 1 or 2 when usable
  // Bytes of an encoded row.
  size_t row_bytes() const { return cuts_.size() * static_cast<size_t>(code_bytes_); }
  // Encodes `count` rows (row r at rows + r * n_features) into out (count * row_bytes()).
  void Encode(const double* rows, size_t count, uint8_t* out) const;
  // Leaf numbers in tree t (whose Tree is `tree`) of `count` encoded rows: row k is
  // coded + ids[k] * row_bytes(), or coded + k * row_bytes() when ids is null.
  void Leaves(const Tree& tree, size_t t, const uint8_t* coded, const uint32_t* ids, size_t count,
              uint32_t* leaves) const;

 private:
  // The nodes of every tree; an internal node's cut is split_bins[t][i], or 0 without them.
  void Build(const std::vector<Tree>& trees, const std::vector<std::vector<uint16_t>>* split_bins,
             int threads);
  template <typename Code>
  void LeavesTyped(const Tree& tree, size_t t, const uint8_t* coded, const uint32_t* ids,
                   size_t count, uint32_t* leaves) const;

  int code_bytes_ = 0;
  std::vector<std::vector<double>> cuts_;  // per feature
  std::vector<CompiledNode> nodes_;        // all trees, tree t from offsets_[t]
  std::vector<size_t> offsets_;
};

}  // namespace ltv::forest
