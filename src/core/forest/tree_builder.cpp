#include "core/forest/tree_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/forest/params.h"
#include "core/forest/tree_builder_internal.h"

namespace ltv::forest {
namespace {

// A node sorts its codes of a feature instead of building a histogram when
// rows * kSortFactor < bins * classes: the histogram scan costs O(classes) per occupied bin,
// the sort O(log rows) per row, and with histograms built several features at a time the
// histogram stays cheaper down to a few rows (docs/benchmarks.md, forest).
constexpr size_t kSortFactor = 256;
constexpr size_t kWeightedSortFactor = 128;

double SumOfSquares(const double* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i] * v[i];
  return s;
}

}  // namespace

using namespace builder;

TreeBuilder::TreeBuilder(const BinnedFeatures& data, const std::vector<int>& labels,
                         const std::vector<double>& class_weights, const TreeSettings& settings,
                         Layout layout)
    : data_(data),
      labels_(labels),
      class_weights_(class_weights),
      settings_(settings),
      n_features_(static_cast<int>(data.bins.size())),
      row_numbers_(layout == Layout::kRowNumbers ||
                   (layout == Layout::kAuto && data.row_codes.empty())),
      words_(row_numbers_ ? 2 : 1 + data.row_stride / 8),
      slots_(settings.n_classes <= 8 ? 4 : 2),
      histogram64_(static_cast<size_t>(slots_) * kMaxBins * settings.n_classes, 0),
      histogram32_(static_cast<size_t>(slots_) * kMaxBins * settings.n_classes, 0),
      seen_(static_cast<size_t>(slots_) * kMaxBins, 0),
      drawn_(2 * static_cast<size_t>(n_features_) + 1),
      left_(settings.n_classes),
      node_weights_(settings.n_classes) {
  class_weights_.resize(settings.n_classes, 1.0);
  n_bins_.resize(n_features_);
  for (int f = 0; f < n_features_; ++f) n_bins_[f] = static_cast<size_t>(data.bins[f].n_bins());
  for (double w : class_weights_) unit_weights_ = unit_weights_ && w == 1.0;
  if (!row_numbers_ && (data.row_codes.size() != data.n_rows * data.row_stride ||
                        data.row_stride < static_cast<size_t>(n_features_)))
    throw Error(ErrorKind::kInternal, "tree builder: the row-major codes are missing");
}

GrownTree TreeBuilder::Grow(const std::vector<uint32_t>& row_counts, Rng& rng,
                            const std::atomic<bool>& stop) {
  const int n_classes = settings_.n_classes;
  size_t n_samples = 0;
  for (uint32_t count : row_counts) n_samples += count > 0 ? 1 : 0;
  const size_t words = words_;
  if (records_.size() < (n_samples + 1) * words) {  // + 1: see below
    records_.resize((n_samples + 1) * words);
    scratch_.resize((n_samples + 1) * words);
  }
  uint64_t draws = 0;
  // When most rows are in the bag, every row is written at the next position, which
  // advances only for in-bag rows, into a spare record at the end (a branch per row would
  // be mispredicted for about a third of the rows); a small bag skips the others.
  const bool write_all = n_samples * 4 >= row_counts.size();
  for (size_t r = 0, i = 0; r < row_counts.size(); ++r) {
    if (!write_all && row_counts[r] == 0) continue;
    uint64_t* record = records_.data() + i * words;
    record[0] = static_cast<uint64_t>(labels_[r]) | static_cast<uint64_t>(row_counts[r]) << 32;
    if (row_numbers_) {
      record[1] = r;
    } else {
      const uint8_t* codes = data_.row(r);  // row_stride = 8 * (words - 1) bytes
      for (size_t w = 1; w < words; ++w) std::memcpy(record + w, codes + 8 * (w - 1), 8);
    }
    draws += row_counts[r];
    i += row_counts[r] != 0 ? 1 : 0;
  }
  counts_fit_int32_ = draws < (uint64_t{1} << 31);
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
    uint64_t constant;  // features known to be constant in the node (see FindSplit)
  };
  // Pending nodes, with their n_classes counts at the same depth of totals_stack_; indexed
  // by hand, so that pushing a node is inline stores, not a call.
  std::vector<Work> stack(64);
  size_t top = 0;
  stack[top++] = {0, 0, n_samples, 0, 0};
  totals_stack_.assign(stack.size() * n_classes, 0);
  for (size_t i = 0; i < n_samples; ++i) {
    const uint64_t head = records_[i * words];
    totals_stack_[LabelOf(head)] += CountOf(head);
  }

  std::vector<uint32_t> totals(n_classes), left_counts(n_classes), right_counts(n_classes);
  std::vector<double> weights(n_classes), child_weights(n_classes);
  const double* cw = class_weights_.data();
  while (top > 0) {
    if (stop.load(std::memory_order_relaxed)) throw Interrupted();
    const Work work = stack[--top];
    std::copy_n(totals_stack_.begin() + top * n_classes, n_classes, totals.begin());

    double total_w = 0;
    int classes_present = 0;
    uint64_t node_count = 0;
    for (int c = 0; c < n_classes; ++c) {
      node_count += totals[c];
      weights[c] = cw[c] * totals[c];
      total_w += weights[c];
      classes_present += weights[c] > 0 ? 1 : 0;
    }
    const size_t n = work.end - work.begin;

    Split split;
    const bool may_split = n >= static_cast<size_t>(settings_.min_samples_split) &&
                           n >= 2 * static_cast<size_t>(settings_.min_samples_leaf) &&
                           (settings_.max_depth == 0 || work.depth < settings_.max_depth) &&
                           classes_present > 1;
    if (may_split) {
      std::copy(weights.begin(), weights.end(), node_weights_.begin());
      split = FindSplit(work.begin, work.end, work.constant, node_count, rng);
    }

    if (!split.found) {
      tree.MakeLeaf(work.node, n_leaves++);
      for (int c = 0; c < n_classes; ++c) tree.leaf_proba.push_back(weights[c] / total_w);
      continue;
    }

    const size_t middle =
        Partition(work.begin, work.end, split.feature, split.bin, left_counts.data());
    for (int c = 0; c < n_classes; ++c) right_counts[c] = totals[c] - left_counts[c];
    const uint32_t left = tree.AddNode();
    tree.AddNode();
    tree.MakeSplit(work.node, split.feature, data_.bins[split.feature].upper_edges[split.bin],
                   left);
    if (out.split_bins.size() < tree.nodes.size())  // by doubling; trimmed at the end
      out.split_bins.resize(std::max(tree.nodes.size(), 2 * out.split_bins.size()), 0);
    out.split_bins[work.node] = static_cast<uint16_t>(split.bin);

    // Weighted Gini decrease W*G - W_l*G_l - W_r*G_r, with W*G = W - sum(s_c^2)/W.
    double decrease = total_w - SumOfSquares(weights.data(), n_classes) / total_w;
    auto child_term = [&](const std::vector<uint32_t>& counts) {
      double w = 0;
      for (int c = 0; c < n_classes; ++c) {
        child_weights[c] = cw[c] * counts[c];
        w += child_weights[c];
      }
      return w - SumOfSquares(child_weights.data(), n_classes) / w;
    };
    decrease -= child_term(left_counts);
    decrease -= child_term(right_counts);
    out.impurity_decrease[split.feature] += std::max(decrease, 0.0);

    // A feature constant in a node is constant in its children. Right first so the left subtree is
    // grown next: depth-first keeps the stack small.
    if (top + 2 > stack.size()) {
      stack.resize(2 * stack.size());
      totals_stack_.resize(stack.size() * n_classes);
    }
    std::copy_n(right_counts.begin(), n_classes, totals_stack_.begin() + top * n_classes);
    stack[top++] = {left + 1, middle, work.end, work.depth + 1, split.constant};
    std::copy_n(left_counts.begin(), n_classes, totals_stack_.begin() + top * n_classes);
    stack[top++] = {left, work.begin, middle, work.depth + 1, split.constant};
  }
  tree.ComputeDepth();
  out.split_bins.resize(tree.nodes.size(), 0);  // (entries past the last split are 0)
  // The arrays grew by doubling: give back the unused capacity (up to half of each), which
  // a 200-tree forest of deep trees holds for as long as the model lives.
  tree.nodes.shrink_to_fit();
  tree.leaf_number.shrink_to_fit();
  tree.leaf_proba.shrink_to_fit();
  out.split_bins.shrink_to_fit();
  return out;
}

TreeBuilder::Split TreeBuilder::FindSplit(size_t begin, size_t end, uint64_t constant,
                                          uint64_t node_count, Rng& rng) {
  // Like scikit-learn, keep drawing features until mtry non-constant ones were tried, so a
  // node is not turned into a leaf just because the first draws were constant there.
  //
  // The features are drawn in batches: each batch makes the draws that drawing one feature
  // at a time would surely make, up to the point where as many features not known to be
  // constant were drawn as remain to be tried (only when some of them turn out constant
  // is another batch drawn), so the generator is used exactly as by one-at-a-time draws.
  // The histograms of a batch are built together, in one pass over the node's samples,
  // and the features are then evaluated in draw order, so ties go to the same candidate.
  Split best;
  best.score = -std::numeric_limits<double>::infinity();
  // (best.constant is set on return: `best` is overwritten by every better candidate.)
  const size_t n = end - begin;
  // Histograms of 32-bit cells when the node's samples and draws fit in 15 bits: half the
  // memory, and an integer scan (see ScanHistogram).
  const bool small_cells =
      settings_.narrow_cells && n < (size_t{1} << 15) && node_count < (uint64_t{1} << 15);
  const size_t classes = static_cast<size_t>(settings_.n_classes);
  // With class weights other than 1, the sorted scan adds weight * count per sample and
  // the histogram scan per bin, which may round differently: those keep the factor the
  // forest was always grown with, so the same nodes sort and no model changes.
  const size_t sort_factor = unit_weights_ ? kSortFactor : kWeightedSortFactor;
  // Features found constant in this node are not drawn again in it (no replacement), so
  // the node's incoming mask is enough to know which draws to skip.
  const uint64_t skip = settings_.skip_known_constant ? constant : 0;
  enum : int { kKnownConstant = 0, kHistogram = 1, kSorted = 2 };
  int tried = 0;
  int i = 0;
  while (i < n_features_ && tried < settings_.mtry) {
    // drawn_[k] = feature << 2 | how it is evaluated; the histogram features, in draw order,
    // from drawn_[n_features_] on.
    int* hist = drawn_.data() + n_features_;
    int m = 0, pending = 0, n_hist = 0;
    while (i < n_features_ && tried + pending < settings_.mtry) {
      const int j = i + static_cast<int>(rng.Below(static_cast<uint64_t>(n_features_ - i)));
      std::swap(feature_order_[i], feature_order_[j]);
      const int feature = feature_order_[i++];
      const bool known =
          (feature < 64) & static_cast<bool>(skip >> (static_cast<unsigned>(feature) & 63) & 1);
      // Both ways consider the same candidate bins in the same order, so the choice between
      // them only affects speed.
      const bool sort = settings_.search == TreeSettings::Search::kAuto
                            ? n * sort_factor < n_bins_[feature] * classes
                            : settings_.search == TreeSettings::Search::kSort;
      const int kind = known ? kKnownConstant : sort ? kSorted : kHistogram;
      drawn_[m++] = feature << 2 | kind;
      hist[n_hist] = feature;
      n_hist += kind == kHistogram ? 1 : 0;
      pending += known ? 0 : 1;
    }
    int group_begin = 0, group_end = 0, h = 0;
    for (int k = 0; k < m; ++k) {
      const int feature = drawn_[k] >> 2;
      const int kind = drawn_[k] & 3;
      bool varies = false;
      if (kind == kHistogram) {
        if (h == group_end) {
          group_begin = h;
          group_end = std::min(n_hist, h + slots_);
          BuildHistograms(hist + group_begin, group_end - group_begin, begin, n, small_cells);
        }
        varies = ScanHistogram(feature, h - group_begin, n, small_cells, best);
        ++h;
      } else if (kind == kSorted) {
        varies = row_numbers_ ? EvaluateSorted<true>(feature, begin, n, best)
                              : EvaluateSorted<false>(feature, begin, n, best);
      }
      if (!varies && feature < 64) constant |= uint64_t{1} << feature;
      if (varies) ++tried;
    }
  }
  best.constant = constant;
  return best;
}

}  // namespace ltv::forest
