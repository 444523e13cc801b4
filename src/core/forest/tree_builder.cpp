#include "core/forest/tree_builder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.h"
#include "core/forest/params.h"

namespace ltv::forest {
namespace {

// A node sorts its codes of a feature instead of building a histogram when
// rows * kSortFactor < bins * classes: the histogram scan costs O(classes) per occupied bin,
// the sort O(log rows) per row. Measured (instructions and mispredicted branches under
// callgrind, 4 classes, 256 bins): with histograms built several features at a time, the
// histogram wins down to ~4 rows (UCI, min_samples_leaf 3: 3% less training time than
// sorting below 8 rows; min_samples_leaf 1: 15% fewer mispredictions).
constexpr size_t kSortFactor = 256;
constexpr size_t kWeightedSortFactor = 128;

// How many samples ahead the column reads are prefetched, from how many training rows.
constexpr size_t kPrefetch = 24;
constexpr size_t kPrefetchRows = 65536;

// Loops over a handful of features, words or classes carry "#pragma GCC unroll": the
// extension is built with -O2, where GCC 12 left them as loops (the histogram build ran
// 2.3x the instructions of -O3's).

// What the build stores in seen[code]: the top bit, which pmovmskb gathers directly.
constexpr uint8_t kSeen = 0x80;

// Sets bit b of occupied[b / 64] when seen[b] != 0 (seen[b] is 0 or kSeen), for all
// kMaxBins bins (a feature's codes are below its bin count, the rest of seen stays zero).
// Whole words in registers: no per-feature trip count to mispredict, no read-modify-write.
void OccupiedBins(const uint8_t* seen, uint64_t* occupied) {
  static_assert(kMaxBins == 256, "four 64-bit words");
#pragma GCC unroll 8
  for (int word = 0; word < 4; ++word) {
#if defined(__SSE2__)
    uint64_t bits = 0;
#pragma GCC unroll 8
    for (int group = 0; group < 4; ++group)
      bits |= static_cast<uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_loadu_si128(
                  reinterpret_cast<const __m128i*>(seen + word * 64 + group * 16)))))
              << (group * 16);
    occupied[word] = bits;
#else
    uint64_t bits = 0;
    for (int b = 0; b < 64; ++b) bits |= static_cast<uint64_t>(seen[word * 64 + b] != 0) << b;
    occupied[word] = bits;
#endif
  }
}

// A record's first word: label in the low 16 bits, bootstrap count in the high 32.
inline unsigned LabelOf(uint64_t head) { return static_cast<unsigned>(head & 0xFFFF); }
inline uint32_t CountOf(uint64_t head) { return static_cast<uint32_t>(head >> 32); }

// Feature `feature`'s code in a record: its byte from word 1 on, or the column's entry for
// the record's row number.
template <bool kRowNumbers>
inline unsigned CodeOf(const uint64_t* record, const uint8_t* column, int feature) {
  if (kRowNumbers) return column[static_cast<uint32_t>(record[1])];
  return reinterpret_cast<const uint8_t*>(record + 1)[feature];
}

double SumOfSquares(const double* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i] * v[i];
  return s;
}

}  // namespace

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
  // by hand (push_back was an out-of-line call per node).
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

template <bool kRowNumbers>
bool TreeBuilder::EvaluateSorted(int feature, size_t begin, size_t n, Split& best) {
  switch (settings_.n_classes) {
#define LTV_EVALUATE(K) \
  case K:               \
    return EvaluateSorted<K, kRowNumbers>(feature, begin, n, best);
    LTV_EVALUATE(2)
    LTV_EVALUATE(3)
    LTV_EVALUATE(4)
    LTV_EVALUATE(5)
#undef LTV_EVALUATE
    default:
      return EvaluateSorted<0, kRowNumbers>(feature, begin, n, best);
  }
}

// The running state of a scan over candidate splits, left to right. Gini needs
// sum(l_c^2) / L + sum(r_c^2) / R (l_c, r_c the weighted class counts of the two sides), and
// moving a weight d of class c to the left changes the sums of squares by d * (2 l_c + d)
// and d * (d - 2 r_c), so a sample (or a bin's class cell) costs O(1) instead of O(classes).
// With unit weights every value is an integer below 2^53, so the arithmetic is exact and
// the result is the same as summing from scratch.
struct TreeBuilder::Scan {
  double left_w = 0, left_sq = 0, right_sq = 0;
  double total_w = 0;
  double* left;         // per class, weighted
  const double* total;  // per class, weighted

  void Init(double* left_buffer, const double* totals, int n_classes) {
    left = left_buffer;
    total = totals;
    left_w = left_sq = right_sq = total_w = 0;
    for (int c = 0; c < n_classes; ++c) {
      left[c] = 0;
      total_w += totals[c];
      right_sq += totals[c] * totals[c];
    }
  }
  void Move(int c, double d) {
    const double l = left[c], r = total[c] - l;
    left_sq += d * (2 * l + d);
    right_sq += d * (d - 2 * r);
    left[c] = l + d;
    left_w += d;
  }
};

inline bool TreeBuilder::ConsiderSplit(const Scan& scan, size_t n_left, size_t n_total, Split& best,
                                       int feature, int bin) {
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
  if (n_left < min_leaf) return true;
  if (n_total - n_left < min_leaf) return false;  // only gets worse further right
  const double right_w = scan.total_w - scan.left_w;
  if (!(scan.left_w > 0) || !(right_w > 0)) return true;
  // Maximising sum(l^2)/W_l + sum(r^2)/W_r is minimising the weighted child Gini. (Measured:
  // comparing cross-multiplied fractions instead of dividing is no faster.)
  const double score = scan.left_sq / scan.left_w + scan.right_sq / right_w;
  if (score > best.score) best = {true, feature, bin, score};
  return true;
}

template <typename Cell>
Cell* TreeBuilder::Slots() {
  if constexpr (sizeof(Cell) == 4) {
    return histogram32_.data();
  } else {
    return histogram64_.data();
  }
}

void TreeBuilder::BuildHistograms(const int* features, int g, size_t begin, size_t n,
                                  bool small_cells) {
  const bool four = settings_.n_classes == 4;
#define LTV_BUILD(K, ROWS, CELL) BuildHistograms<K, ROWS, CELL>(features, g, begin, n)
  if (row_numbers_) {
    if (small_cells)
      four ? LTV_BUILD(4, true, uint32_t) : LTV_BUILD(0, true, uint32_t);
    else
      four ? LTV_BUILD(4, true, uint64_t) : LTV_BUILD(0, true, uint64_t);
  } else {
    if (small_cells)
      four ? LTV_BUILD(4, false, uint32_t) : LTV_BUILD(0, false, uint32_t);
    else
      four ? LTV_BUILD(4, false, uint64_t) : LTV_BUILD(0, false, uint64_t);
  }
#undef LTV_BUILD
}

template <int K, bool kRowNumbers, typename Cell>
void TreeBuilder::BuildHistograms(const int* features, int g, size_t begin, size_t n) {
  switch (g) {
    case 1:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 1>(features, begin, n);
    case 2:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 2>(features, begin, n);
    case 3:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 3>(features, begin, n);
    default:
      return BuildHistogramsOf<K, kRowNumbers, Cell, 4>(features, begin, n);
  }
}

template <int K, bool kRowNumbers, typename Cell, int G>
void TreeBuilder::BuildHistogramsOf(const int* features, size_t begin, size_t n) {
  // One pass over the node's samples for G features: the record's head word is read once,
  // then each feature adds to its own histogram. A cell holds the class's bootstrap count
  // in its low half and its number of samples in the high half (both sums are below
  // 2^(half's bits) by the choice of Cell); `seen` marks the bins that received samples
  // with plain stores. Runs of samples with the same code and class (frequent: many
  // features are mostly zeros) chain read-modify-writes of one cell, but the G features'
  // chains overlap (two alternating copies per feature, even and odd samples, which broke
  // those chains when features were built one at a time, made UCI training 5% slower).
  const size_t n_classes = K ? K : static_cast<size_t>(settings_.n_classes);
  constexpr unsigned kShift = sizeof(Cell) * 4;
  const size_t stride = static_cast<size_t>(kMaxBins) * n_classes;
  Cell* hist = Slots<Cell>();
  uint8_t* seen = seen_.data();
  const size_t words = words_;
  const uint64_t* record = records_.data() + begin * words;
  const uint8_t* column[G];
  int offset[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    column[g] = kRowNumbers ? data_.column(features[g]) : nullptr;
    offset[g] = features[g];
  }
  // With row numbers: rows are ascending but sparse in deep nodes, so the column reads miss
  // the caches on large data: fetch kPrefetch rows ahead (the records are sequential).
  // Columns that fit in the caches skip that.
  const size_t prefetched =
      kRowNumbers && n > kPrefetch && data_.n_rows >= kPrefetchRows ? n - kPrefetch : 0;
  for (size_t i = 0; i < n; ++i, record += words) {
    const uint64_t head = record[0];
    const size_t label = LabelOf(head);
    const Cell add = static_cast<Cell>(Cell{1} << kShift | CountOf(head));
    if (kRowNumbers && i < prefetched)
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g)
        __builtin_prefetch(column[g] + static_cast<uint32_t>(record[kPrefetch * 2 + 1]));
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const unsigned code = kRowNumbers ? column[g][static_cast<uint32_t>(record[1])]
                                        : reinterpret_cast<const uint8_t*>(record + 1)[offset[g]];
      hist[g * stride + code * n_classes + label] += add;
      seen[g * kMaxBins + code] = kSeen;
    }
  }
}

bool TreeBuilder::ScanHistogram(int feature, int slot, size_t n, bool small_cells, Split& best) {
  switch (settings_.n_classes) {
#define LTV_SCAN(K)                                                         \
  case K:                                                                   \
    return small_cells ? ScanHistogram<K, uint32_t>(feature, slot, n, best) \
                       : ScanHistogram<K, uint64_t>(feature, slot, n, best);
    LTV_SCAN(2)
    LTV_SCAN(3)
    LTV_SCAN(4)
    LTV_SCAN(5)
#undef LTV_SCAN
    default:
      return small_cells ? ScanHistogram<0, uint32_t>(feature, slot, n, best)
                         : ScanHistogram<0, uint64_t>(feature, slot, n, best);
  }
}

template <int K, typename Cell>
bool TreeBuilder::ScanHistogram(int feature, int slot, size_t n, Split& best) {
  const size_t n_classes = K ? K : static_cast<size_t>(settings_.n_classes);
  constexpr unsigned kShift = sizeof(Cell) * 4;
  constexpr Cell kCountMask = static_cast<Cell>((Cell{1} << kShift) - 1);
  Cell* hist = Slots<Cell>() + static_cast<size_t>(slot) * kMaxBins * n_classes;
  uint8_t* seen = seen_.data() + static_cast<size_t>(slot) * kMaxBins;
  // Visit only the bins that received samples, in order, through a bitmap of them; the scan
  // also clears every cell the build wrote, so the histograms are all zero again for the
  // next feature without clearing their whole range (and skipping the empty bins one by one
  // would be a badly predicted branch per bin).
  uint64_t occupied[kMaxBins / 64];
  OccupiedBins(seen, occupied);
  // The first and last occupied words and bins, without branches (n > 0: some bin is
  // occupied).
  unsigned nonzero = 0;  // bit w: occupied[w] != 0
#pragma GCC unroll 8
  for (unsigned word = 0; word < 4; ++word) nonzero |= (occupied[word] != 0 ? 1u : 0u) << word;
  const unsigned first_word = static_cast<unsigned>(__builtin_ctz(nonzero));
  const unsigned last_word = 31 - static_cast<unsigned>(__builtin_clz(nonzero));
  const unsigned lo =
      first_word * 64 + static_cast<unsigned>(__builtin_ctzll(occupied[first_word]));
  const unsigned hi =
      last_word * 64 + 63 - static_cast<unsigned>(__builtin_clzll(occupied[last_word]));
  // The last occupied bin is no candidate (nothing would be right of it): cleared here, not
  // visited.
  seen[hi] = 0;
#if defined(__SSE2__)
  if (K == 4 && sizeof(Cell) == 4) {  // (std::fill became a call to memset)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(hist + hi * 4), _mm_setzero_si128());
  } else {
    std::fill(hist + hi * n_classes, hist + (hi + 1) * n_classes, Cell{0});
  }
#else
  std::fill(hist + hi * n_classes, hist + (hi + 1) * n_classes, Cell{0});
#endif
  if (lo == hi) return false;
  occupied[last_word] &= ~(uint64_t{1} << (hi % 64));

  // A candidate needs min_samples_leaf rows on each side: min_leaf <= n_left <= n - min_leaf,
  // i.e. n_left - min_leaf <= span in unsigned arithmetic (n >= 2 * min_leaf). The best
  // candidate is tracked in locals without branches (which one wins is unpredictable), and
  // the first of equal scores wins, as always.
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
  const size_t span = n - 2 * min_leaf;
#if defined(__SSE2__)
  // Four classes, unit weights, counts below 2^31 (the usual case): the running left counts
  // (and samples) as integers in SSE registers, converted to doubles per bin. Every value is
  // an integer below 2^53, so this is exact and gives the same sums as Scan::Move. With unit
  // weights and n_left >= min_leaf >= 1 on both sides, both sides weigh more than 0.
  if (K == 4 && unit_weights_ && sizeof(Cell) == 4) {
    // 32-bit cells (the node's samples and counts are below 2^15): cell = samples << 16 |
    // count is a pair of int16, and so are the running left counts l_c and the right ones
    // r_c = t_c - l_c, so one multiply-add gives the sums of squares as exact integers
    // (below 2^30), as doubles the same values as summing the squares of doubles. The best
    // candidate is kept in registers and replaced by masks.
    const __m128i mask16 = _mm_set1_epi32(0xFFFF);
    int node_total = 0;
    alignas(16) int32_t totals[4];
#pragma GCC unroll 8
    for (int c = 0; c < 4; ++c) node_total += totals[c] = static_cast<int32_t>(node_weights_[c]);
    const __m128i t = _mm_load_si128(reinterpret_cast<const __m128i*>(totals));
    // (lw, rw) = (lw, total - lw) = (lw ^ 0, (lw ^ -1) + total + 1)
    const __m128i flip = _mm_set_epi32(-1, 0, -1, 0);
    const __m128i flip_add = _mm_set_epi32(node_total + 1, 0, node_total + 1, 0);
    const __m128i min_left = _mm_set1_epi32(static_cast<int>(min_leaf) - 1);
    const __m128i max_left = _mm_set1_epi32(static_cast<int>(n - min_leaf) + 1);
    const __m128i zero = _mm_setzero_si128();
    __m128i cum = zero;
    __m128d best_v = _mm_set_sd(best.score);
    __m128i best_bin_v = _mm_set1_epi32(-1);
    const __m128d minus_inf = _mm_set1_pd(-std::numeric_limits<double>::infinity());
    for (unsigned word = first_word; word <= last_word; ++word) {
      for (uint64_t bits = occupied[word]; bits != 0; bits &= bits - 1) {
        const unsigned b = word * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
        __m128i* cell = reinterpret_cast<__m128i*>(hist + b * 4);
        cum = _mm_add_epi32(cum, _mm_loadu_si128(cell));
        _mm_storeu_si128(cell, zero);
        seen[b] = 0;
        const __m128i l = _mm_and_si128(cum, mask16);
        const __m128i p = _mm_packs_epi32(l, _mm_sub_epi32(t, l));  // l0..l3, r0..r3
        __m128i sq = _mm_madd_epi16(p, p);  // l0²+l1², l2²+l3², r0²+r1², r2²+r3²
        sq = _mm_add_epi32(sq, _mm_srli_epi64(sq, 32));  // lanes 0, 2: left_sq, right_sq
        // Every lane: (samples << 16 | count) summed over the classes, i.e. n_left, lw.
        __m128i h = _mm_add_epi32(cum, _mm_shuffle_epi32(cum, _MM_SHUFFLE(2, 3, 0, 1)));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
        const __m128i w = _mm_add_epi32(_mm_xor_si128(_mm_and_si128(h, mask16), flip), flip_add);
        const __m128d q = _mm_div_pd(
            _mm_cvtepi32_pd(_mm_shuffle_epi32(sq, _MM_SHUFFLE(3, 1, 2, 0))), _mm_cvtepi32_pd(w));
        const __m128d score = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
        const __m128i n_left = _mm_srli_epi32(h, 16);
        const __m128i valid =
            _mm_and_si128(_mm_cmpgt_epi32(n_left, min_left), _mm_cmpgt_epi32(max_left, n_left));
        // Invalid candidates score -inf; the running best is then a max (one short
        // dependency from bin to bin), the bin a mask select off that chain.
        const __m128d candidate = _mm_or_pd(_mm_and_pd(_mm_castsi128_pd(valid), score),
                                            _mm_andnot_pd(_mm_castsi128_pd(valid), minus_inf));
        const __m128d better = _mm_cmplt_pd(best_v, candidate);  // lane 0
        best_v = _mm_max_sd(candidate, best_v);                  // candidate if better
        const __m128i better_i = _mm_castpd_si128(better);
        best_bin_v = _mm_or_si128(_mm_and_si128(better_i, _mm_cvtsi32_si128(static_cast<int>(b))),
                                  _mm_andnot_si128(better_i, best_bin_v));
      }
    }
    // Without a branch (whether this feature won is unpredictable); best_v is the old best
    // score unless the feature beat it.
    const int best_bin = _mm_cvtsi128_si32(best_bin_v);
    const int won = best_bin >= 0 ? -1 : 0;  // masks: the compiler branched on a bool
    best.found = best.found | (won != 0);
    best.feature = (feature & won) | (best.feature & ~won);
    best.bin = (best_bin & won) | (best.bin & ~won);
    best.score = _mm_cvtsd_f64(best_v);
    return true;
  }
  if (K == 4 && unit_weights_ && counts_fit_int32_) {
    // 64-bit cells, counts below 2^31: the running left counts (and samples) as integers in
    // SSE registers, converted to doubles per bin. Every value is an integer below 2^53, so
    // this is exact and gives the same sums as Scan::Move. With unit weights and n_left >=
    // min_leaf >= 1 on both sides, both sides weigh more than 0.
    const __m128d t01 = _mm_loadu_pd(node_weights_.data());
    const __m128d t23 = _mm_loadu_pd(node_weights_.data() + 2);
    double total_w = 0;
    for (int c = 0; c < 4; ++c) total_w += node_weights_[c];
    const __m128d total_w2 = _mm_set1_pd(total_w);
    const __m128i zero = _mm_setzero_si128();
    __m128i cum01 = zero, cum23 = zero;
    __m128d best_v = _mm_set_sd(best.score);
    int best_bin = -1;
    for (unsigned word = first_word; word <= last_word; ++word) {
      for (uint64_t bits = occupied[word]; bits != 0; bits &= bits - 1) {
        const unsigned b = word * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
        __m128i* cell = reinterpret_cast<__m128i*>(hist + b * 4);
        cum01 = _mm_add_epi64(cum01, _mm_loadu_si128(cell));
        cum23 = _mm_add_epi64(cum23, _mm_loadu_si128(cell + 1));
        _mm_storeu_si128(cell, zero);
        _mm_storeu_si128(cell + 1, zero);
        seen[b] = 0;
        // Low halves = the class counts, high halves = the samples.
        const __m128i counts = _mm_castps_si128(_mm_shuffle_ps(
            _mm_castsi128_ps(cum01), _mm_castsi128_ps(cum23), _MM_SHUFFLE(2, 0, 2, 0)));
        const __m128i samples = _mm_add_epi64(_mm_srli_epi64(cum01, 32), _mm_srli_epi64(cum23, 32));
        const size_t n_left =
            static_cast<uint64_t>(_mm_cvtsi128_si64(samples)) +
            static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(samples, samples)));
        const __m128d l01 = _mm_cvtepi32_pd(counts);
        const __m128d l23 = _mm_cvtepi32_pd(_mm_unpackhi_epi64(counts, counts));
        const __m128d r01 = _mm_sub_pd(t01, l01), r23 = _mm_sub_pd(t23, l23);
        const __m128d w = _mm_add_pd(l01, l23);
        const __m128d lsq = _mm_add_pd(_mm_mul_pd(l01, l01), _mm_mul_pd(l23, l23));
        const __m128d rsq = _mm_add_pd(_mm_mul_pd(r01, r01), _mm_mul_pd(r23, r23));
        // (left_sq, right_sq) / (left_w, right_w), each sum taken as lane 0 + lane 1.
        const __m128d sq = _mm_add_pd(_mm_unpacklo_pd(lsq, rsq), _mm_unpackhi_pd(lsq, rsq));
        const __m128d left_w = _mm_add_pd(w, _mm_shuffle_pd(w, w, 1));
        const __m128d q = _mm_div_pd(sq, _mm_move_sd(_mm_sub_pd(total_w2, left_w), left_w));
        const __m128d score = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
        const bool valid = n_left - min_leaf <= span;
        const __m128d better = _mm_and_pd(_mm_cmpgt_sd(score, best_v),
                                          _mm_castsi128_pd(_mm_set1_epi64x(-int64_t{valid})));
        best_v = _mm_or_pd(_mm_and_pd(better, score), _mm_andnot_pd(better, best_v));
        const int64_t mask = _mm_cvtsi128_si64(_mm_castpd_si128(better));
        best_bin = static_cast<int>((b & mask) | (best_bin & ~mask));
      }
    }
    if (best_bin >= 0) best = {true, feature, best_bin, _mm_cvtsd_f64(best_v)};
    return true;
  }
#endif
  double best_score = best.score;
  int best_bin = -1;
  Scan scan;
  scan.Init(left_.data(), node_weights_.data(), static_cast<int>(n_classes));
  const double* cw = class_weights_.data();
  const bool unit_weights = unit_weights_;
  size_t n_left = 0;
  for (unsigned word = first_word; word <= last_word; ++word) {
    for (uint64_t bits = occupied[word]; bits != 0; bits &= bits - 1) {
      const unsigned b = word * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
      Cell* cell = hist + b * n_classes;
      for (size_t c = 0; c < n_classes; ++c) {
        const Cell v = cell[c];
        cell[c] = 0;
        const uint32_t count = static_cast<uint32_t>(v & kCountMask);
        scan.Move(static_cast<int>(c), unit_weights ? count : cw[c] * count);  // exact no-op when 0
        n_left += static_cast<size_t>(v >> kShift);
      }
      seen[b] = 0;
      const double right_w = scan.total_w - scan.left_w;
      const double score = scan.left_sq / scan.left_w + scan.right_sq / right_w;
      const bool better =
          (n_left - min_leaf <= span) & (scan.left_w > 0) & (right_w > 0) & (score > best_score);
      best_score = better ? score : best_score;
      best_bin = better ? static_cast<int>(b) : best_bin;
    }
  }
  if (best_bin >= 0) best = {true, feature, best_bin, best_score};
  return true;
}

template <int K, bool kRowNumbers>
bool TreeBuilder::EvaluateSorted(int feature, size_t begin, size_t n, Split& best) {
  const uint8_t* column = kRowNumbers ? data_.column(feature) : nullptr;
  const size_t words = words_;
  const uint64_t* records = records_.data() + begin * words;
  sorted_.resize(n);
  uint32_t* keys = sorted_.data();
  // Key = code in the top byte, position in the node below: all keys differ, so the order is
  // unique whatever the sort does, and sorting plain integers is fast. (n < 2^24: a node
  // only sorts when rows * 128 < 256 bins * 1024 classes.)
  for (size_t i = 0; i < n; ++i)
    keys[i] =
        CodeOf<kRowNumbers>(records + i * words, column, feature) << 24 | static_cast<uint32_t>(i);
  std::sort(keys, keys + n);
  if (keys[0] >> 24 == keys[n - 1] >> 24) return false;
  const int n_classes = K ? K : settings_.n_classes;
  const double* cw = class_weights_.data();
  Scan scan;
  scan.Init(left_.data(), node_weights_.data(), n_classes);
  for (size_t k = 0; k + 1 < n; ++k) {
    const uint64_t head = records[(keys[k] & 0xFFFFFF) * words];
    const int c = static_cast<int>(LabelOf(head));
    const uint32_t count = CountOf(head);
    scan.Move(c, unit_weights_ ? count : cw[c] * count);
    const uint32_t code = keys[k] >> 24;
    if (code == keys[k + 1] >> 24) continue;
    if (!ConsiderSplit(scan, k + 1, n, best, feature, static_cast<int>(code))) break;
  }
  return true;
}

size_t TreeBuilder::Partition(size_t begin, size_t end, int feature, int bin,
                              uint32_t* left_counts) {
  std::fill(left_counts, left_counts + settings_.n_classes, 0u);
  return settings_.n_classes <= 4 ? PartitionWith<true>(begin, end, feature, bin, left_counts)
                                  : PartitionWith<false>(begin, end, feature, bin, left_counts);
}

template <bool kFourClasses>
size_t TreeBuilder::PartitionWith(size_t begin, size_t end, int feature, int bin,
                                  uint32_t* left_counts) {
  if (row_numbers_)
    return PartitionRecords<2, true, kFourClasses>(begin, end, feature, bin, left_counts);
  switch (words_) {
#define LTV_PARTITION(W) \
  case W:                \
    return PartitionRecords<W, false, kFourClasses>(begin, end, feature, bin, left_counts);
    LTV_PARTITION(2)
    LTV_PARTITION(3)
    LTV_PARTITION(4)
    LTV_PARTITION(5)
    LTV_PARTITION(6)
    LTV_PARTITION(7)
    LTV_PARTITION(8)
    LTV_PARTITION(9)
#undef LTV_PARTITION
    default:
      return PartitionRecords<0, false, kFourClasses>(begin, end, feature, bin, left_counts);
  }
}

template <int W, bool kRowNumbers, bool kFourClasses>
size_t TreeBuilder::PartitionRecords(size_t begin, size_t end, int feature, int bin,
                                     uint32_t* left_counts) {
  // Stable: left records are compacted forwards in place (the write position never passes
  // the read position), right ones go to scratch and are copied back behind them.
  // Branch-free, since the side of a record is unpredictable: each record is written to
  // both places and only the position of its side advances. W = words per record (0: known
  // at run time only).
  const size_t words = W ? W : words_;
  const uint8_t* column = kRowNumbers ? data_.column(feature) : nullptr;
  uint64_t* records = records_.data() + begin * words;
  uint64_t* right = scratch_.data();
  const size_t n = end - begin;
  size_t l = 0, r = 0;
  const size_t prefetched =
      kRowNumbers && n > kPrefetch && data_.n_rows >= kPrefetchRows ? n - kPrefetch : 0;
#if defined(__SSE2__)
  alignas(16) static constexpr uint32_t kOneHot[4][4] = {
      {~0u, 0, 0, 0}, {0, ~0u, 0, 0}, {0, 0, ~0u, 0}, {0, 0, 0, ~0u}};
  __m128i counts = _mm_setzero_si128();
#endif
  for (size_t i = 0; i < n; ++i) {
    const uint64_t* record = records + i * words;
    if (kRowNumbers && i < prefetched)
      __builtin_prefetch(column + static_cast<uint32_t>(record[kPrefetch * 2 + 1]));
    const uint64_t head = record[0];
    const uint32_t go_left =
        CodeOf<kRowNumbers>(record, column, feature) <= static_cast<unsigned>(bin) ? 1 : 0;
    if (W) {
      // Held in registers (a local array got stored to the stack as well).
#if defined(__SSE2__)
      __m128i pairs[W / 2 > 0 ? W / 2 : 1];
#pragma GCC unroll 8
      for (int k = 0; k < W / 2; ++k)
        pairs[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(record + 2 * k));
      const uint64_t last = record[W - 1];
      uint64_t* to_left = records + l * words;
      uint64_t* to_right = right + r * words;
#pragma GCC unroll 8
      for (int k = 0; k < W / 2; ++k) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to_left + 2 * k), pairs[k]);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to_right + 2 * k), pairs[k]);
      }
      if (W % 2) to_left[W - 1] = to_right[W - 1] = last;
#else
      uint64_t copy[W ? W : 1];
      std::memcpy(copy, record, sizeof(copy));
      std::memcpy(records + l * words, copy, sizeof(copy));
      std::memcpy(right + r * words, copy, sizeof(copy));
#endif
    } else {
      // l <= i: moving forwards within the same array.
      std::memmove(records + l * words, record, words * sizeof(uint64_t));
      std::memcpy(right + r * words, records + l * words, words * sizeof(uint64_t));
    }
    const uint32_t left_count = CountOf(head) & (0u - go_left);
#if defined(__SSE2__)
    if (kFourClasses) {
      // Up to 4 classes: the counts in one register (a read-modify-write of
      // left_counts[label] would chain runs of samples of the same class through memory).
      counts = _mm_add_epi32(
          counts,
          _mm_and_si128(_mm_set1_epi32(static_cast<int>(left_count)),
                        _mm_load_si128(reinterpret_cast<const __m128i*>(kOneHot[LabelOf(head)]))));
    } else {
      left_counts[LabelOf(head)] += left_count;
    }
#else
    left_counts[LabelOf(head)] += left_count;
#endif
    l += go_left;
    r += 1 - go_left;
  }
#if defined(__SSE2__)
  if (kFourClasses) {
    alignas(16) uint32_t sums[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(sums), counts);
    for (int c = 0; c < settings_.n_classes; ++c) left_counts[c] = sums[c];
  }
#endif
  std::memcpy(records + l * words, right, r * words * sizeof(uint64_t));
  return begin + l;
}

}  // namespace ltv::forest
