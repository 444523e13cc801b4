#include "core/forest/tree.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/forest/parallel.h"

namespace ltv::forest {

void Tree::ComputeDepth() {
  std::vector<int> node_depth(nodes.size(), 0);
  depth = 0;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    depth = std::max(depth, node_depth[i]);
    if (!IsLeaf(i)) {
      node_depth[nodes[i].index] = node_depth[i] + 1;
      node_depth[nodes[i].index + 1] = node_depth[i] + 1;
    }
  }
}

void Tree::LeavesFor(const double* rows, size_t stride, size_t count, uint32_t* leaves) const {
  constexpr size_t kGroup = 16;
  const Node* n = nodes.data();
  for (size_t begin = 0; begin < count; begin += kGroup) {
    const size_t group = std::min(kGroup, count - begin);
    uint32_t at[kGroup] = {};
    const double* row = rows + begin * stride;
    // Leaves point to themselves, so once a step moves no row the whole group is done.
    for (int step = 0; step < depth; ++step) {
      uint32_t moved = 0;
      for (size_t k = 0; k < group; ++k) {
        const Node& node = n[at[k]];
        const uint32_t next =
            node.index + (row[k * stride + node.feature] > node.threshold ? 1u : 0u);
        moved |= next ^ at[k];
        at[k] = next;
      }
      if (moved == 0) break;
    }
    for (size_t k = 0; k < group; ++k) leaves[begin + k] = leaf_number[at[k]];
  }
}

namespace {

constexpr uint16_t kLeafCut = 0xFFFF;
// Nodes from which CompiledTrees are laid out on threads (below, starting them costs more).
constexpr size_t kParallelNodes = 1 << 20;
constexpr size_t kMaxCuts = 0xFFFE;

// Number of cuts below x (std::lower_bound), without data-dependent branches.
inline uint32_t CodeOf(const double* cuts, size_t n, double x) {
  if (n == 0) return 0;
  const double* base = cuts;
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half] < x ? base + half : base;
    n -= half;
  }
  return static_cast<uint32_t>(base - cuts) + (*base < x ? 1u : 0u);
}

}  // namespace

namespace {

// The distinct split thresholds of each feature, and each split's index among its feature's
// sorted thresholds, by hashing (feature, value) once per split: a forest's splits reuse few
// values (a trained model's are bin edges, at most 255 per feature), so sorting every
// threshold and binary-searching each split's took most of the time of loading a model.
class ThresholdIndex {
 public:
  // Returns the entry of (feature, x), added if new. x == 0 is stored as +0.0 (-0.0 is the
  // same threshold).
  uint32_t Find(uint32_t feature, double x) {
    if (x == 0) x = 0.0;
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    if (2 * (entries_.size() + 1) > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t slot = Hash(feature, bits) & mask;; slot = (slot + 1) & mask) {
      const uint32_t e = slots_[slot];
      if (e == kEmpty) {
        slots_[slot] = static_cast<uint32_t>(entries_.size());
        entries_.push_back({bits, x, feature, 0});
        return slots_[slot];
      }
      if (entries_[e].bits == bits && entries_[e].feature == feature) return e;
    }
  }
  struct Entry {
    uint64_t bits;
    double value;
    uint32_t feature;
    uint32_t cut;  // index among the feature's sorted distinct values (set by the caller)
  };
  std::vector<Entry>& entries() { return entries_; }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFF;
  // splitmix64's finalizer: thresholds often differ only in high bits (low mantissa bits
  // are zero for round values), so every output bit must depend on every input bit.
  static size_t Hash(uint32_t feature, uint64_t bits) {
    uint64_t h = bits ^ (uint64_t{feature} * 0x9E3779B97F4A7C15ULL);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    return static_cast<size_t>(h ^ (h >> 31));
  }
  void Grow() {
    slots_.assign(std::max<size_t>(1024, 2 * slots_.size()), kEmpty);
    const size_t mask = slots_.size() - 1;
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      size_t slot = Hash(entries_[e].feature, entries_[e].bits) & mask;
      while (slots_[slot] != kEmpty) slot = (slot + 1) & mask;
      slots_[slot] = e;
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<Entry> entries_;
};

}  // namespace

CompiledTrees::CompiledTrees(const std::vector<Tree>& trees, size_t n_features) {
  if (n_features > 0xFFFF) return;
  ThresholdIndex index;
  // Per node (all trees in a row), its threshold's entry; leaves are skipped.
  std::vector<uint32_t> entry_of;
  size_t total = 0;
  for (const Tree& tree : trees) total += tree.nodes.size();
  entry_of.resize(total);
  for (size_t t = 0, k = 0; t < trees.size(); ++t)
    for (uint32_t i = 0; i < trees[t].nodes.size(); ++i, ++k) {
      const Node& node = trees[t].nodes[i];
      if (node.index == i) continue;  // a leaf
      if (node.feature < 0 || static_cast<size_t>(node.feature) >= n_features) return;
      entry_of[k] = index.Find(static_cast<uint32_t>(node.feature), node.threshold);
    }
  cuts_.resize(n_features);
  for (const ThresholdIndex::Entry& e : index.entries()) cuts_[e.feature].push_back(e.value);
  for (std::vector<double>& c : cuts_) {
    if (c.size() > kMaxCuts) {
      cuts_.clear();
      return;
    }
    std::sort(c.begin(), c.end());
  }
  for (ThresholdIndex::Entry& e : index.entries()) {
    const std::vector<double>& c = cuts_[e.feature];
    e.cut = static_cast<uint32_t>(std::lower_bound(c.begin(), c.end(), e.value) - c.begin());
  }
  Build(trees, nullptr, 1);
  const std::vector<ThresholdIndex::Entry>& entries = index.entries();
  for (size_t k = 0; k < total; ++k)
    if (nodes_[k].cut != kLeafCut) nodes_[k].cut = static_cast<uint16_t>(entries[entry_of[k]].cut);
}

CompiledTrees::CompiledTrees(const std::vector<Tree>& trees, std::vector<std::vector<double>> cuts,
                             const std::vector<std::vector<uint16_t>>& split_bins, int threads)
    : cuts_(std::move(cuts)) {
  for (const std::vector<double>& c : cuts_)
    if (c.size() > kMaxCuts || cuts_.size() > 0xFFFF) {
      cuts_.clear();
      return;
    }
  Build(trees, &split_bins, threads);
}

void CompiledTrees::Build(const std::vector<Tree>& trees,
                          const std::vector<std::vector<uint16_t>>* split_bins, int threads) {
  size_t max_cuts = 0;
  for (const std::vector<double>& c : cuts_) max_cuts = std::max(max_cuts, c.size());
  code_bytes_ = max_cuts <= 255 ? 1 : 2;
  size_t total = 0;
  offsets_.clear();
  for (const Tree& tree : trees) {
    offsets_.push_back(total);
    total += tree.nodes.size();
  }
  nodes_.resize(total);
  // Trees on threads: on large forests most of the time goes to first-touch page faults of
  // the nodes. Short tasks; the host is not polled.
  ParallelForShortTasks(trees.size(), total >= kParallelNodes ? threads : 1, CancelCheck::None(),
                        [&](size_t t, int, const std::atomic<bool>&) {
                          const Node* src = trees[t].nodes.data();
                          const uint16_t* bins = split_bins ? (*split_bins)[t].data() : nullptr;
                          CompiledNode* dst = nodes_.data() + offsets_[t];
                          // Branch-free: whether a node is a leaf is unpredictable (half of them
                          // are).
                          for (uint32_t i = 0; i < trees[t].nodes.size(); ++i) {
                            const bool leaf = src[i].index == i;
                            dst[i].feature = leaf ? 0 : static_cast<uint16_t>(src[i].feature);
                            dst[i].cut = leaf ? kLeafCut : bins ? bins[i] : 0;
                            dst[i].next = src[i].index;  // a leaf's own position
                          }
                        });
}

void CompiledTrees::Encode(const double* rows, size_t count, uint8_t* out) const {
  const size_t n_features = cuts_.size();
  for (size_t r = 0; r < count; ++r) {
    const double* row = rows + r * n_features;
    if (code_bytes_ == 1) {
      uint8_t* dst = out + r * n_features;
      for (size_t f = 0; f < n_features; ++f)
        dst[f] = static_cast<uint8_t>(CodeOf(cuts_[f].data(), cuts_[f].size(), row[f]));
    } else {
      uint16_t* dst = reinterpret_cast<uint16_t*>(out) + r * n_features;
      for (size_t f = 0; f < n_features; ++f)
        dst[f] = static_cast<uint16_t>(CodeOf(cuts_[f].data(), cuts_[f].size(), row[f]));
    }
  }
}

void CompiledTrees::Leaves(const Tree& tree, size_t t, const uint8_t* coded, const uint32_t* ids,
                           size_t count, uint32_t* leaves) const {
  if (code_bytes_ == 1) {
    LeavesTyped<uint8_t>(tree, t, coded, ids, count, leaves);
  } else {
    LeavesTyped<uint16_t>(tree, t, coded, ids, count, leaves);
  }
}

template <typename Code>
void CompiledTrees::LeavesTyped(const Tree& tree, size_t t, const uint8_t* coded,
                                const uint32_t* ids, size_t count, uint32_t* leaves) const {
  // Lock-step groups as in Tree::LeavesFor: the rows' chains of dependent loads overlap.
  // Full groups only, so the inner loop has a fixed trip count; the last few rows (and a
  // single row, as per-row SQL calls predict) are walked one by one. A group walks until its
  // deepest row is done, so smaller groups idle less, and larger ones overlap more loads:
  // 8 balances the two on deep trees (docs/benchmarks.md, forest). A finished row keeps its
  // slot until the group ends: refilling slots costs more than the idle lanes.
  constexpr size_t kGroup = 8;
  const CompiledNode* n = nodes_.data() + offsets_[t];
  const Code* codes = reinterpret_cast<const Code*>(coded);
  const size_t n_features = cuts_.size();
  const int depth = tree.depth;
  const uint32_t* leaf_number = tree.leaf_number.data();
  auto row_of = [&](size_t i) { return codes + (ids ? size_t{ids[i]} : i) * n_features; };
  size_t begin = 0;
  // The loops over a group are unrolled by pragma: this file is built at -O2 (only *_kernel.cpp
  // files get -O3), where GCC keeps them as loops with the group's positions in memory
  // instead of registers (docs/benchmarks.md, forest).
  for (; begin + kGroup <= count; begin += kGroup) {
    uint32_t at[kGroup] = {};
    const Code* row[kGroup];
#pragma GCC unroll 8
    for (size_t k = 0; k < kGroup; ++k) row[k] = row_of(begin + k);
    for (int step = 0; step < depth; ++step) {
      uint32_t moved = 0;
#pragma GCC unroll 8
      for (size_t k = 0; k < kGroup; ++k) {
        const CompiledNode node = n[at[k]];
        const uint32_t next = node.next + (row[k][node.feature] > node.cut ? 1u : 0u);
        moved |= next ^ at[k];
        at[k] = next;
      }
      if (moved == 0) break;
    }
#pragma GCC unroll 8
    for (size_t k = 0; k < kGroup; ++k) leaves[begin + k] = leaf_number[at[k]];
  }
  for (; begin < count; ++begin) {
    const Code* row = row_of(begin);
    uint32_t at = 0;
    for (;;) {
      const CompiledNode node = n[at];
      const uint32_t next = node.next + (row[node.feature] > node.cut ? 1u : 0u);
      if (next == at) break;
      at = next;
    }
    leaves[begin] = leaf_number[at];
  }
}

}  // namespace ltv::forest
