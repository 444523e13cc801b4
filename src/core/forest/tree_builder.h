// Grows one CART classification tree (Gini impurity) on binned features.
//
// A builder owns the scratch buffers of one worker thread and is reused for many trees, so
// growing a tree allocates nothing but the tree itself once the buffers have grown.
// Everything it does depends only on its inputs and the tree's Rng, never on timing or on
// which thread runs it, which is what makes forests reproducible whatever the thread count.
//
// Layout: the in-bag rows of the tree are kept in node order (each node owns a contiguous
// range) as fixed-size records of 8-byte words: label and bootstrap count in the first word,
// then the row's bin codes of every feature (one byte each), so that a node's samples, with
// everything its split search reads, lie side by side in memory and a split moves them
// along with the partition. Deep nodes, which are most of the nodes, then read a few cache
// lines that the parent's partition has just written instead of one scattered byte per
// sample from each feature column. With many features (over kMaxRecordFeatures) a record
// holds the row number instead and the codes are read from the columns. A split is
// partitioned stably, so samples stay in ascending row order inside every node. Class
// statistics are integer bootstrap counts (weighted by the class weights only when scored),
// so sums do not depend on the sample order and a child's totals are its parent's minus its
// sibling's. Both layouts grow exactly the same trees.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/forest/binning.h"
#include "core/forest/params.h"
#include "core/forest/rng.h"
#include "core/forest/tree.h"

namespace ltv::forest {

struct TreeSettings {
  int n_classes = 2;
  int mtry = 1;
  int max_depth = 0;  // 0 = unlimited
  int min_samples_leaf = 1;
  int min_samples_split = 2;
  // Skip features known to be constant in a node (see FindSplit). Off only in tests, which
  // check that it does not change the tree.
  bool skip_known_constant = true;
  // Histograms of 32-bit cells for nodes of fewer than 2^15 samples and bootstrap draws (see
  // FindSplit). Off only in tests, which check that it does not change the tree.
  bool narrow_cells = true;
  // Split search per feature: histogram or sorted codes by node size (kAuto), or always one
  // of them. Only tests choose, to check that both find the same splits.
  enum class Search { kAuto, kHistogram, kSort };
  Search search = Search::kAuto;
};

// The bins of a histogram that received samples (bit b of bits[b / 64]) and are split
// candidates (all but the last), and the first and last words with a bit set.
struct BinOccupancy {
  uint64_t bits[kMaxBins / 64];
  unsigned first_word, last_word;
};

// Calls visit(b) for every bin b set in `occupancy`, in ascending order.
template <typename Visit>
[[gnu::always_inline]] inline void ForEachOccupied(const BinOccupancy& occupancy, Visit&& visit) {
  for (unsigned word = occupancy.first_word; word <= occupancy.last_word; ++word)
    for (uint64_t bits = occupancy.bits[word]; bits != 0; bits &= bits - 1)
      visit(word * 64 + static_cast<unsigned>(__builtin_ctzll(bits)));
}

struct GrownTree {
  Tree tree;
  // Per node: the bin edge index of its split (0 for leaves), for CompiledTrees.
  std::vector<uint16_t> split_bins;
  // Weighted Gini decrease per feature, summed over this tree's splits (not normalised).
  std::vector<double> impurity_decrease;
};

class TreeBuilder {
 public:
  // Features up to which the records carry the codes (a record is then at most 72 bytes).
  static constexpr int kMaxRecordFeatures = 64;
  enum class Layout { kAuto, kCodes, kRowNumbers };  // kAuto: kCodes up to kMaxRecordFeatures

  // `data` must outlive the builder; with Layout kCodes its row_codes must be filled
  // (BinFeatures does that up to kMaxRecordFeatures features).
  TreeBuilder(const BinnedFeatures& data, const std::vector<int>& labels,
              const std::vector<double>& class_weights, const TreeSettings& settings,
              Layout layout = Layout::kAuto);

  // `row_counts[r]` is how often row r was drawn for this tree (0 = out of bag). Throws
  // ltv::Interrupted soon after *stop becomes true.
  GrownTree Grow(const std::vector<uint32_t>& row_counts, Rng& rng, const std::atomic<bool>& stop);

 private:
  struct Split {
    bool found = false;
    int feature = -1;
    int bin = -1;  // go left when code <= bin
    double score = 0;
    uint64_t constant = 0;  // see FindSplit
  };

  struct Scan;
  // Finds the best split of the node [begin, end) whose weighted class totals are in
  // node_weights_ and whose bootstrap counts sum to `node_count`. Bit f of `constant` set =
  // feature f (< 64) is known to have one code in the node, because the node or an ancestor
  // found it so: it is then not scanned again (the scan would find it constant, so the tree
  // is the same, only built faster: about half of the features drawn in deep nodes are
  // constant there). The result's `constant` adds the features this node found constant,
  // for its children.
  Split FindSplit(size_t begin, size_t end, uint64_t constant, uint64_t node_count, Rng& rng);
  // Histograms of the features features[0..g) in slots 0..g-1, built in one pass over the
  // node's samples. Cell = uint32_t (samples << 16 | count, when the node's samples and
  // bootstrap counts are below 2^16) or uint64_t (samples << 32 | count). K = n_classes, or
  // 0 when it is only known at run time.
  template <int K, bool kRowNumbers, typename Cell>
  void BuildHistograms(const int* features, int g, size_t begin, size_t n);
  template <int K, bool kRowNumbers, typename Cell, int G>
  void BuildHistogramsOf(const int* features, size_t begin, size_t n);
  void BuildHistograms(const int* features, int g, size_t begin, size_t n, bool small_cells);
  // Scans the histogram in `slot` (and clears it); false when the feature is constant.
  template <int K, typename Cell>
  bool ScanHistogram(int feature, int slot, size_t n, Split& best);
  bool ScanHistogram(int feature, int slot, size_t n, bool small_cells, Split& best);
  // Split-scan kernels (split_scan_sse2.h, split_scan_scalar.h): visit the occupied bins of one
  // feature's histogram in order, make `best` the better of it and the feature's best candidate,
  // and clear the cells they visit. Four classes with unit weights and 32-bit cells, or 64-bit
  // cells with counts below 2^31 (SSE2); any case (scalar). All find the same split.
  void ScanCells32x4(int feature, uint32_t* hist, uint8_t* seen, const BinOccupancy& occupancy,
                     size_t n, size_t min_leaf, Split& best);
  void ScanCells64x4(int feature, uint64_t* hist, uint8_t* seen, const BinOccupancy& occupancy,
                     size_t n, size_t min_leaf, Split& best);
  template <int K, typename Cell>
  void ScanCellsScalar(int feature, Cell* hist, uint8_t* seen, const BinOccupancy& occupancy,
                       size_t n, size_t min_leaf, Split& best);
  template <typename Cell>
  Cell* Slots();
  template <int K, bool kRowNumbers>
  bool EvaluateSorted(int feature, size_t begin, size_t n, Split& best);
  template <bool kRowNumbers>
  bool EvaluateSorted(int feature, size_t begin, size_t n, Split& best);
  // Scores the scan's current left/right division; false once the right side has fewer
  // than min_samples_leaf rows (it only shrinks further on).
  bool ConsiderSplit(const Scan& scan, size_t n_left, size_t n_total, Split& best, int feature,
                     int bin);
  // Stable partition of [begin, end) by code <= bin; fills the left child's counts.
  size_t Partition(size_t begin, size_t end, int feature, int bin, uint32_t* left_counts);
  template <bool kFourClasses>
  size_t PartitionWith(size_t begin, size_t end, int feature, int bin, uint32_t* left_counts);
  // kFourClasses: up to 4 classes, left counts summed in a register.
  template <int W, bool kRowNumbers, bool kFourClasses>
  size_t PartitionRecords(size_t begin, size_t end, int feature, int bin, uint32_t* left_counts);

  const BinnedFeatures& data_;
  const std::vector<int>& labels_;
  std::vector<double> class_weights_;
  bool unit_weights_ = true;      // every class weight is 1
  bool counts_fit_int32_ = true;  // this tree's draws (so every count) are below 2^31
  TreeSettings settings_;
  int n_features_;
  bool row_numbers_;  // records hold row numbers (Layout kRowNumbers), else codes
  size_t words_;      // 8-byte words per record
  // Per in-bag row, in node order: word 0 = label | count << 32, then the codes (byte f of
  // the words from 1 on is feature f's code) or the row number.
  std::vector<uint64_t> records_;
  std::vector<uint64_t> scratch_;  // the right side of a partition
  std::vector<int> feature_order_;
  // Histogram slots of cells [bin * n_classes + class] (64-bit and 32-bit cells), and per
  // slot and bin whether it received samples; all zero between uses (the scan clears what
  // the build wrote).
  int slots_;  // features whose histograms are built together
  std::vector<uint64_t> histogram64_;
  std::vector<uint32_t> histogram32_;
  std::vector<uint8_t> seen_;
  std::vector<int> drawn_;              // the features a node draws (see FindSplit)
  std::vector<size_t> n_bins_;          // per feature
  std::vector<double> left_;            // weighted class counts left of a scan position
  std::vector<double> node_weights_;    // weighted class counts of the node being split
  std::vector<uint32_t> sorted_;        // code << 24 | position, for small nodes
  std::vector<uint32_t> totals_stack_;  // per pending node, its n_classes counts
};

}  // namespace ltv::forest
