#include "core/forest/tree_builder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/forest/params.h"

namespace ltv::forest {
namespace {

// A node sorts its samples instead of building a histogram when it has fewer than
// 1/16 as many samples as histogram cells in its bin range (measured: sorting more often
// is slower, the branchy sort loses to the straight histogram loop).
constexpr size_t kSortFactor = 16;

double SumOfSquares(const double* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i] * v[i];
  return s;
}

}  // namespace

TreeBuilder::TreeBuilder(const BinnedFeatures& data, const std::vector<int>& labels,
                         const std::vector<double>& class_weights, const TreeSettings& settings)
    : data_(data),
      labels_(labels),
      class_weights_(class_weights),
      settings_(settings),
      n_features_(static_cast<int>(data.bins.size())),
      histogram_(static_cast<size_t>(kMaxBins) * settings.n_classes),
      bin_counts_(kMaxBins),
      left_sums_(settings.n_classes),
      total_sums_(settings.n_classes) {}

void TreeBuilder::ClassSums(size_t begin, size_t end, double* sums, double& total) const {
  std::fill(sums, sums + settings_.n_classes, 0.0);
  total = 0;
  for (size_t i = begin; i < end; ++i) sums[samples_[i].label] += samples_[i].weight;
  for (int c = 0; c < settings_.n_classes; ++c) total += sums[c];
}

GrownTree TreeBuilder::Grow(const std::vector<uint32_t>& row_counts, Rng& rng,
                            const std::atomic<bool>& stop) {
  const int n_classes = settings_.n_classes;
  samples_.clear();
  for (size_t r = 0; r < row_counts.size(); ++r) {
    if (row_counts[r] == 0) continue;
    const int label = labels_[r];
    samples_.push_back({static_cast<uint32_t>(r), label, row_counts[r] * class_weights_[label]});
  }
  feature_order_.resize(n_features_);
  for (int f = 0; f < n_features_; ++f) feature_order_[f] = f;

  GrownTree out;
  out.impurity_decrease.assign(n_features_, 0.0);
  Tree& tree = out.tree;
  tree.AddNode();
  uint32_t n_leaves = 0;

  struct Work {
    uint32_t node;
    size_t begin, end;
    int depth;
  };
  std::vector<Work> stack{{0, 0, samples_.size(), 0}};
  std::vector<double> child_sums(n_classes);
  while (!stack.empty()) {
    if (stop.load(std::memory_order_relaxed)) throw Interrupted();
    const Work work = stack.back();
    stack.pop_back();
    double total_w = 0;
    ClassSums(work.begin, work.end, total_sums_.data(), total_w);
    const size_t n = work.end - work.begin;
    int classes_present = 0;
    for (int c = 0; c < n_classes; ++c) classes_present += total_sums_[c] > 0 ? 1 : 0;

    Split split;
    const bool may_split = n >= static_cast<size_t>(settings_.min_samples_split) &&
                           n >= 2 * static_cast<size_t>(settings_.min_samples_leaf) &&
                           (settings_.max_depth == 0 || work.depth < settings_.max_depth) &&
                           classes_present > 1;
    if (may_split) split = FindSplit(work.begin, work.end, 0, rng);

    if (!split.found) {
      tree.MakeLeaf(work.node, n_leaves++);
      for (int c = 0; c < n_classes; ++c) tree.leaf_proba.push_back(total_sums_[c] / total_w);
      continue;
    }

    const size_t middle = Partition(work.begin, work.end, split.feature, split.bin);
    const uint32_t left = tree.AddNode();
    tree.AddNode();
    tree.MakeSplit(work.node, split.feature, data_.bins[split.feature].upper_edges[split.bin],
                   left);

    // Weighted Gini decrease W*G - W_l*G_l - W_r*G_r, with W*G = W - sum(s_c^2)/W.
    double decrease = total_w - SumOfSquares(total_sums_.data(), n_classes) / total_w;
    for (auto [b, e] : {std::pair{work.begin, middle}, std::pair{middle, work.end}}) {
      double w = 0;
      ClassSums(b, e, child_sums.data(), w);
      decrease -= w - SumOfSquares(child_sums.data(), n_classes) / w;
    }
    out.impurity_decrease[split.feature] += std::max(decrease, 0.0);

    // Right first so the left subtree is grown next: depth-first keeps the stack small.
    stack.push_back({left + 1, middle, work.end, work.depth + 1});
    stack.push_back({left, work.begin, middle, work.depth + 1});
  }
  tree.ComputeDepth();
  return out;
}

TreeBuilder::Split TreeBuilder::FindSplit(size_t begin, size_t end, double, Rng& rng) {
  // Like scikit-learn, keep drawing features until mtry non-constant ones were tried, so a
  // node is not turned into a leaf just because the first draws were constant there.
  Split best;
  best.score = -std::numeric_limits<double>::infinity();
  int tried = 0;
  for (int i = 0; i < n_features_ && tried < settings_.mtry; ++i) {
    const int j = i + static_cast<int>(rng.Below(static_cast<uint64_t>(n_features_ - i)));
    std::swap(feature_order_[i], feature_order_[j]);
    bool constant = false;
    EvaluateFeature(feature_order_[i], begin, end, best, constant);
    if (!constant) ++tried;
  }
  return best;
}

inline bool TreeBuilder::ConsiderSplit(const double* left, double left_w, size_t n_left,
                                       const double* total, double total_w, size_t n_total,
                                       Split& best, int feature, int bin) {
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
  if (n_left < min_leaf) return true;
  if (n_total - n_left < min_leaf) return false;  // only gets worse further right
  const int n_classes = settings_.n_classes;
  double left_sq = 0, right_sq = 0;
  for (int c = 0; c < n_classes; ++c) {
    const double r = total[c] - left[c];
    left_sq += left[c] * left[c];
    right_sq += r * r;
  }
  const double right_w = total_w - left_w;
  if (!(left_w > 0) || !(right_w > 0)) return true;
  // Maximising sum(l^2)/W_l + sum(r^2)/W_r is minimising the weighted child Gini.
  const double score = left_sq / left_w + right_sq / right_w;
  if (score > best.score) {
    best = {true, feature, bin, score};
  }
  return true;
}

void TreeBuilder::EvaluateFeature(int feature, size_t begin, size_t end, Split& best,
                                  bool& constant) {
  const uint8_t* column = data_.column(feature);
  int lo = 255, hi = 0;
  for (size_t i = begin; i < end; ++i) {
    const int code = column[samples_[i].row];
    lo = std::min(lo, code);
    hi = std::max(hi, code);
  }
  constant = lo >= hi;
  if (constant) return;
  const size_t n = end - begin;
  const int n_classes = settings_.n_classes;
  // Small nodes: sorting their few samples is cheaper than clearing and scanning a histogram
  // over the whole bin range.
  if (n * kSortFactor < static_cast<size_t>(hi - lo + 1) * static_cast<size_t>(n_classes) &&
      n < (1u << 24)) {
    EvaluateFeatureSorted(feature, begin, end, best, constant);
    return;
  }
  double* hist = histogram_.data();
  std::fill(hist + static_cast<size_t>(lo) * n_classes,
            hist + static_cast<size_t>(hi + 1) * n_classes, 0.0);
  std::fill(bin_counts_.begin() + lo, bin_counts_.begin() + hi + 1, 0u);
  for (size_t i = begin; i < end; ++i) {
    const Sample& s = samples_[i];
    const int code = column[s.row];
    hist[static_cast<size_t>(code) * n_classes + s.label] += s.weight;
    ++bin_counts_[code];
  }
  std::fill(left_sums_.begin(), left_sums_.end(), 0.0);
  double total_w = 0;
  for (int c = 0; c < n_classes; ++c) total_w += total_sums_[c];
  double left_w = 0;
  size_t n_left = 0;
  for (int b = lo; b < hi; ++b) {
    if (bin_counts_[b] == 0) continue;
    const double* row = hist + static_cast<size_t>(b) * n_classes;
    for (int c = 0; c < n_classes; ++c) {
      left_sums_[c] += row[c];
      left_w += row[c];
    }
    n_left += bin_counts_[b];
    if (!ConsiderSplit(left_sums_.data(), left_w, n_left, total_sums_.data(), total_w, n, best,
                       feature, b))
      break;
  }
}

void TreeBuilder::EvaluateFeatureSorted(int feature, size_t begin, size_t end, Split& best, bool&) {
  const uint8_t* column = data_.column(feature);
  sorted_.clear();
  // Key = code in the top byte, position in the node below: all keys differ, so the order is
  // unique whatever the sort does, and sorting plain integers is fast.
  for (size_t i = begin; i < end; ++i)
    sorted_.push_back(static_cast<uint32_t>(column[samples_[i].row]) << 24 |
                      static_cast<uint32_t>(i - begin));
  std::sort(sorted_.begin(), sorted_.end());
  const int n_classes = settings_.n_classes;
  std::fill(left_sums_.begin(), left_sums_.end(), 0.0);
  double total_w = 0;
  for (int c = 0; c < n_classes; ++c) total_w += total_sums_[c];
  double left_w = 0;
  const size_t n = sorted_.size();
  for (size_t k = 0; k + 1 < n; ++k) {
    const Sample& s = samples_[begin + (sorted_[k] & 0xFFFFFF)];
    left_sums_[s.label] += s.weight;
    left_w += s.weight;
    const uint32_t code = sorted_[k] >> 24;
    if (code == sorted_[k + 1] >> 24) continue;
    if (!ConsiderSplit(left_sums_.data(), left_w, k + 1, total_sums_.data(), total_w, n, best,
                       feature, static_cast<int>(code)))
      break;
  }
}

size_t TreeBuilder::Partition(size_t begin, size_t end, int feature, int bin) {
  // Hand-written rather than std::partition so the sample order (and with it every later
  // floating-point sum) is the same with any standard library.
  const uint8_t* column = data_.column(feature);
  size_t i = begin, j = end;
  while (i < j) {
    if (column[samples_[i].row] <= bin) {
      ++i;
    } else {
      --j;
      std::swap(samples_[i], samples_[j]);
    }
  }
  return i;
}

}  // namespace ltv::forest
