#include "core/explain/tree_shap.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/forest/parallel.h"

namespace ltv::explain {

using forest::Forest;
using forest::Tree;

namespace {

// The share of a node with cover `child` under a parent with cover `parent`: half when no
// reference weight reaches the parent, so that the expectation stays defined below it.
double Share(double child, double parent) { return parent > 0 ? child / parent : 0.5; }

std::vector<double> SharesOfCovers(const Tree& tree, const std::vector<double>& cover) {
  std::vector<double> share(tree.nodes.size(), 1.0);
  for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.IsLeaf(i)) continue;
    const uint32_t left = tree.nodes[i].index;
    share[left] = Share(cover[left], cover[i]);
    share[left + 1] = Share(cover[left + 1], cover[i]);
  }
  return share;
}

// Rows per task of ExplainInto: a row takes ~T * L * D^2 steps, so small tasks balance the
// threads and let a cancel stop the work quickly.
constexpr size_t kRowsPerTask = 16;

}  // namespace

NodeShares NodeShares::FromRows(const Forest& forest, const double* rows, size_t n_rows,
                                size_t n_features, int threads, CancelCheck& cancel) {
  // The forest's own check of every row (width, NaN), with its messages.
  std::vector<double> proba(n_rows * static_cast<size_t>(forest.n_classes()));
  forest.PredictProbaInto(rows, n_rows, n_features, proba.data(), threads, cancel);
  std::vector<std::vector<double>> covers(forest.trees().size());
  forest::ParallelForShortTasks(
      forest.trees().size(), threads, cancel, [&](size_t t, int, const std::atomic<bool>&) {
        const Tree& tree = forest.trees()[t];
        std::vector<double>& cover = covers[t];
        cover.assign(tree.nodes.size(), 0.0);
        const forest::Node* n = tree.nodes.data();
        for (size_t r = 0; r < n_rows; ++r) {
          const double* row = rows + r * n_features;
          uint32_t i = 0;
          cover[0] += 1;
          while (n[i].index != i) {
            i = n[i].index + (row[n[i].feature] > n[i].threshold ? 1u : 0u);
            cover[i] += 1;
          }
        }
      });
  NodeShares out;
  out.shares_.resize(covers.size());
  for (size_t t = 0; t < covers.size(); ++t)
    out.shares_[t] = SharesOfCovers(forest.trees()[t], covers[t]);
  return out;
}

NodeShares NodeShares::FromCovers(const Forest& forest,
                                  const std::vector<std::vector<double>>& covers) {
  if (covers.size() != forest.trees().size())
    throw Error(ErrorKind::kInvalidInput, "covers are given for " + std::to_string(covers.size()) +
                                              " trees, the forest has " +
                                              std::to_string(forest.trees().size()));
  NodeShares out;
  for (size_t t = 0; t < covers.size(); ++t) {
    const Tree& tree = forest.trees()[t];
    const std::vector<double>& cover = covers[t];
    if (cover.size() != tree.nodes.size())
      throw Error(ErrorKind::kInvalidInput,
                  "tree " + std::to_string(t) + " has " + std::to_string(tree.nodes.size()) +
                      " nodes, its covers " + std::to_string(cover.size()));
    for (uint32_t i = 0; i < cover.size(); ++i) {
      if (!std::isfinite(cover[i]) || cover[i] < 0)
        throw Error(ErrorKind::kInvalidInput, "cover of node " + std::to_string(i) + " of tree " +
                                                  std::to_string(t) +
                                                  " is not a finite non-negative number");
      if (!tree.IsLeaf(i) &&
          (cover[tree.nodes[i].index] > cover[i] || cover[tree.nodes[i].index + 1] > cover[i]))
        throw Error(ErrorKind::kInvalidInput, "a child of node " + std::to_string(i) + " of tree " +
                                                  std::to_string(t) +
                                                  " has a larger cover than the node");
    }
    out.shares_.push_back(SharesOfCovers(tree, cover));
  }
  return out;
}

NodeShares NodeShares::Equal(const Forest& forest) {
  NodeShares out;
  for (const Tree& tree : forest.trees())
    out.shares_.push_back(SharesOfCovers(tree, std::vector<double>(tree.nodes.size(), 0.0)));
  return out;
}

TreeExplainer::TreeExplainer(const Forest& forest, NodeShares shares)
    : forest_(forest), shares_(std::move(shares)) {
  if (shares_.n_trees() != forest.trees().size())
    throw Error(ErrorKind::kInvalidParameter, "the node shares belong to another forest");
  const int n_classes = forest.n_classes();
  base_.assign(n_classes, 0.0);
  for (size_t t = 0; t < forest.trees().size(); ++t) {
    const Tree& tree = forest.trees()[t];
    const std::vector<double>& share = shares_.tree(t);
    if (share.size() != tree.nodes.size())
      throw Error(ErrorKind::kInvalidParameter, "the node shares belong to another forest");
    if (tree.depth > kMaxDepth)
      throw Error(ErrorKind::kLimitExceeded,
                  "tree " + std::to_string(t) + " is " + std::to_string(tree.depth) +
                      " levels deep; trees deeper than " + std::to_string(kMaxDepth) +
                      " are not explained",
                  {}, "Train with a \"max_depth\" limit.");
    max_depth_ = std::max(max_depth_, tree.depth);
    // The tree's expectation: every leaf's values weighted by the product of the shares on
    // its path (children come after their parents, so one forward pass has every weight).
    std::vector<double> reach(tree.nodes.size(), 0.0);
    reach[0] = 1.0;
    std::vector<double> expected(n_classes, 0.0);
    for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
      if (tree.IsLeaf(i)) {
        const double* v = tree.Proba(tree.leaf_number[i], n_classes);
        for (int c = 0; c < n_classes; ++c) expected[c] += reach[i] * v[c];
      } else {
        const uint32_t left = tree.nodes[i].index;
        reach[left] = reach[i] * share[left];
        reach[left + 1] = reach[i] * share[left + 1];
      }
    }
    for (int c = 0; c < n_classes; ++c) base_[c] += expected[c];
  }
  const double scale = forest.trees().empty() ? 0.0 : 1.0 / forest.trees().size();
  for (double& b : base_) b *= scale;
}

// The ratios Algorithm 2 multiplies by at unique depth d, i < d, row-major by d (so that
// the inner loops multiply instead of divide): up = (d + 1) / (i + 1), rise = 1 / up,
// down = (d - i) / (d + 1), and inverse_down = 1 / down.
struct Ratios {
  explicit Ratios(int max_depth) : stride(static_cast<size_t>(max_depth) + 2) {
    up.resize(stride * stride);
    rise.resize(stride * stride);
    down.resize(stride * stride);
    inverse_down.resize(stride * stride);
    for (size_t d = 0; d < stride; ++d)
      for (size_t i = 0; i < d; ++i) {
        up[d * stride + i] = static_cast<double>(d + 1) / static_cast<double>(i + 1);
        rise[d * stride + i] = static_cast<double>(i + 1) / static_cast<double>(d + 1);
        down[d * stride + i] = static_cast<double>(d - i) / static_cast<double>(d + 1);
        inverse_down[d * stride + i] = static_cast<double>(d + 1) / static_cast<double>(d - i);
      }
  }
  size_t stride;
  std::vector<double> up, rise, down, inverse_down;
};

namespace {

// Algorithm 2's EXTEND: adds a feature with the given fractions at position `depth`.
void Extend(PathElement* path, unsigned depth, double zero_fraction, double one_fraction,
            int feature, const Ratios& ratios) {
  path[depth].feature = feature;
  path[depth].zero_fraction = zero_fraction;
  path[depth].one_fraction = one_fraction;
  path[depth].weight = depth == 0 ? 1.0 : 0.0;
  const double* rise = ratios.rise.data() + depth * ratios.stride;
  const double* down = ratios.down.data() + depth * ratios.stride;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    path[i + 1].weight += one_fraction * path[i].weight * rise[i];
    path[i].weight = zero_fraction * path[i].weight * down[i];
  }
}

// Algorithm 2's UNWIND: removes element `index` (whose feature is split on again below).
void Unwind(PathElement* path, unsigned depth, unsigned index, const Ratios& ratios) {
  const double one_fraction = path[index].one_fraction;
  const double zero_fraction = path[index].zero_fraction;
  const double* up = ratios.up.data() + depth * ratios.stride;
  const double* down = ratios.down.data() + depth * ratios.stride;
  const double* inverse_down = ratios.inverse_down.data() + depth * ratios.stride;
  double next = path[depth].weight;
  if (one_fraction != 0) {
    const double inverse_one = 1.0 / one_fraction;
    for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
      const double tmp = path[i].weight;
      path[i].weight = next * up[i] * inverse_one;
      next = tmp - path[i].weight * zero_fraction * down[i];
    }
  } else {
    const double inverse_zero = 1.0 / zero_fraction;
    for (int i = static_cast<int>(depth) - 1; i >= 0; --i)
      path[i].weight = path[i].weight * inverse_down[i] * inverse_zero;
  }
  for (unsigned i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

// The total weight of the path with element `index[k]` unwound (Algorithm 2's UNWOUND-SUM)
// into out[k], for `count` elements the row's branch goes through (one fraction not 0). Each
// sum is a chain of dependent multiplications; up to four independent chains run in one loop
// so that their latencies overlap (each gives the same bits as computed alone).
void UnwoundSumsOne(const PathElement* path, unsigned depth, const unsigned* index, int count,
                    const Ratios& ratios, double* out) {
  const double* up = ratios.up.data() + depth * ratios.stride;
  const double* down = ratios.down.data() + depth * ratios.stride;
  constexpr int kLanes = 4;
  for (int begin = 0; begin < count; begin += kLanes) {
    const int lanes = std::min(kLanes, count - begin);
    double inverse_one[kLanes], zero[kLanes], next[kLanes], total[kLanes];
    for (int k = 0; k < kLanes; ++k) {
      const PathElement& e = path[index[begin + std::min(k, lanes - 1)]];
      inverse_one[k] = 1.0 / e.one_fraction;
      zero[k] = e.zero_fraction;
      next[k] = path[depth].weight;
      total[k] = 0;
    }
    for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
      const double weight = path[i].weight;
      for (int k = 0; k < kLanes; ++k) {
        const double tmp = next[k] * up[i] * inverse_one[k];
        total[k] += tmp;
        next[k] = weight - tmp * zero[k] * down[i];
      }
    }
    for (int k = 0; k < lanes; ++k) out[begin + k] = total[k];
  }
}

// UNWOUND-SUM of an element with one fraction 0 is sum_i weight_i * (d + 1) / (d - i), divided
// by the element's zero fraction: the sum is the same for every such element of the path.
double ZeroOneSum(const PathElement* path, unsigned depth, const Ratios& ratios) {
  const double* inverse_down = ratios.inverse_down.data() + depth * ratios.stride;
  double total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) total += path[i].weight * inverse_down[i];
  return total;
}

}  // namespace

void TreeExplainer::Recurse(size_t t, const double* row, double* phi, PathElement* parent_path,
                            unsigned depth, uint32_t node, double zero_fraction,
                            double one_fraction, int feature, const Ratios& ratios) const {
  PathElement* path = parent_path + depth + 1;
  std::copy(parent_path, parent_path + depth + 1, path);
  Extend(path, depth, zero_fraction, one_fraction, feature, ratios);
  const Tree& tree = forest_.trees()[t];
  const forest::Node& n = tree.nodes[node];
  if (n.index == node) {  // a leaf
    const int n_classes = forest_.n_classes();
    const size_t n_features = static_cast<size_t>(forest_.n_features());
    const double* v = tree.Proba(tree.leaf_number[node], n_classes);
    // Unwound sums: one shared sum for the elements with one fraction 0, the others' chains
    // side by side. (Elements with both fractions 0 are never on the path: see below.)
    constexpr unsigned kOnStack = 128;  // longer paths (over 127 features) use the heap
    unsigned stack_elements[kOnStack];
    double stack_sums[kOnStack];
    std::vector<unsigned> heap_elements;
    std::vector<double> heap_sums;
    unsigned* hot_elements = stack_elements;
    double* hot_sums = stack_sums;
    if (depth >= kOnStack) {
      heap_elements.resize(depth);
      heap_sums.resize(depth);
      hot_elements = heap_elements.data();
      hot_sums = heap_sums.data();
    }
    int n_hot = 0;
    bool any_cold = false;
    for (unsigned i = 1; i <= depth; ++i) {
      if (path[i].one_fraction != 0) {
        hot_elements[n_hot++] = i;
      } else {
        any_cold = true;
      }
    }
    UnwoundSumsOne(path, depth, hot_elements, n_hot, ratios, hot_sums);
    const double zero_one_sum = any_cold ? ZeroOneSum(path, depth, ratios) : 0.0;
    for (unsigned i = 1, h = 0; i <= depth; ++i) {
      const double w =
          path[i].one_fraction != 0 ? hot_sums[h++] : zero_one_sum / path[i].zero_fraction;
      const double scale = w * (path[i].one_fraction - path[i].zero_fraction);
      double* dst = phi + path[i].feature;
      for (int c = 0; c < n_classes; ++c) dst[c * n_features] += scale * v[c];
    }
    return;
  }
  const uint32_t hot = n.index + (row[n.feature] > n.threshold ? 1u : 0u);
  const uint32_t cold = hot == n.index ? n.index + 1 : n.index;
  const std::vector<double>& share = shares_.tree(t);
  double incoming_zero = 1, incoming_one = 1;
  // A feature already on the path is taken out and put back with both splits' fractions
  // combined (a row's subsets decide a feature once, however often the path tests it).
  unsigned k = 1;
  for (; k <= depth; ++k)
    if (path[k].feature == n.feature) break;
  if (k <= depth) {
    incoming_zero = path[k].zero_fraction;
    incoming_one = path[k].one_fraction;
    Unwind(path, depth, k, ratios);
    --depth;
  }
  // A branch that neither the row (one fraction) nor the population (zero fraction) takes
  // carries no weight for any subset: it adds nothing, and unwinding its element would
  // divide by 0.
  const double hot_zero = share[hot] * incoming_zero;
  if (hot_zero != 0 || incoming_one != 0)
    Recurse(t, row, phi, path, depth + 1, hot, hot_zero, incoming_one, n.feature, ratios);
  const double cold_zero = share[cold] * incoming_zero;
  if (cold_zero != 0) Recurse(t, row, phi, path, depth + 1, cold, cold_zero, 0, n.feature, ratios);
}

void TreeExplainer::ExplainRow(const double* row, double* phi, std::vector<PathElement>& path,
                               const Ratios& ratios) const {
  const size_t size = static_cast<size_t>(forest_.n_classes()) * forest_.n_features();
  std::fill(phi, phi + size, 0.0);
  for (size_t t = 0; t < forest_.trees().size(); ++t)
    Recurse(t, row, phi, path.data(), 0, 0, 1.0, 1.0, -1, ratios);
  const double scale = forest_.trees().empty() ? 0.0 : 1.0 / forest_.trees().size();
  for (size_t i = 0; i < size; ++i) phi[i] *= scale;
}

void TreeExplainer::ExplainInto(const double* rows, size_t n_rows, size_t n_features, double* out,
                                int threads, CancelCheck& cancel) const {
  // The forest's own check of every row (width, NaN), with its messages.
  std::vector<double> proba(n_rows * static_cast<size_t>(forest_.n_classes()));
  forest_.PredictProbaInto(rows, n_rows, n_features, proba.data(), threads, cancel);
  const size_t per_row = static_cast<size_t>(forest_.n_classes()) * n_features;
  // A path holds each feature at most once (plus the root's element), so its length at
  // recursion level l is at most min(l, n_features) + 1; every level has its own copy.
  const int longest = std::min(max_depth_, forest_.n_features());
  const Ratios ratios(longest);
  size_t path_size = 0;
  for (int level = 0; level <= max_depth_ + 1; ++level)
    path_size += static_cast<size_t>(std::min(level, longest)) + 1;
  const size_t n_tasks = (n_rows + kRowsPerTask - 1) / kRowsPerTask;
  const int workers = static_cast<int>(std::min<size_t>(std::max(threads, 1), n_tasks));
  std::vector<std::vector<PathElement>> paths(std::max(workers, 1),
                                              std::vector<PathElement>(path_size));
  forest::ParallelForShortTasks(
      n_tasks, workers, cancel, [&](size_t task, int worker, const std::atomic<bool>& stop) {
        const size_t end = std::min(n_rows, (task + 1) * kRowsPerTask);
        for (size_t r = task * kRowsPerTask; r < end; ++r) {
          if (stop.load(std::memory_order_relaxed)) throw Interrupted();
          ExplainRow(rows + r * n_features, out + r * per_row, paths[worker], ratios);
        }
      });
}

std::vector<double> TreeExplainer::Explain(const double* row, size_t n_features) const {
  std::vector<double> out(static_cast<size_t>(forest_.n_classes()) * n_features);
  ExplainInto(row, 1, n_features, out.data());
  return out;
}

}  // namespace ltv::explain
