#include "core/forest/train.h"

#include <cmath>
#include <memory>
#include <numeric>

#include "core/error.h"
#include "core/forest/binning.h"
#include "core/forest/decision.h"
#include "core/forest/metrics.h"
#include "core/forest/parallel.h"
#include "core/forest/rng.h"
#include "core/forest/tree_builder.h"

namespace ltv::forest {
namespace {

// Rows per block of out-of-bag scoring. Each tree is walked once per block, by the block's
// rows that are out of bag for it, so a block must hold many rows for the walk to reuse the
// tree's cached nodes (docs/benchmarks.md, forest).
constexpr size_t kOobBlockRows = 65536;
// Below this many rows, binning runs on the calling thread: sorting each feature's values
// then costs less than starting a thread.
constexpr size_t kParallelBinningRows = 1000;

// How often each row is drawn for one tree.
std::vector<uint32_t> DrawRows(size_t n_rows, const ForestParams& params, Rng& rng) {
  std::vector<uint32_t> counts(n_rows, 0);
  const size_t draws = std::max<size_t>(
      1, static_cast<size_t>(std::llround(params.sample_fraction * static_cast<double>(n_rows))));
  if (params.bootstrap) {
    for (size_t i = 0; i < draws; ++i) ++counts[rng.Below(n_rows)];
  } else if (draws >= n_rows) {
    std::fill(counts.begin(), counts.end(), 1u);
  } else {
    std::vector<uint32_t> order(n_rows);
    std::iota(order.begin(), order.end(), 0u);
    for (size_t i = 0; i < draws; ++i) {
      const size_t j = i + rng.Below(n_rows - i);
      std::swap(order[i], order[j]);
      counts[order[i]] = 1;
    }
  }
  return counts;
}

std::vector<std::string> ResolveFeatureNames(const ForestParams& params, size_t n_features) {
  if (params.feature_names.empty()) {
    std::vector<std::string> names;
    for (size_t f = 0; f < n_features; ++f) names.push_back("f" + std::to_string(f));
    return names;
  }
  if (params.feature_names.size() != n_features)
    throw Error(ErrorKind::kInvalidParameter, "forest parameter \"feature_names\" has " +
                                                  std::to_string(params.feature_names.size()) +
                                                  " names but the training set has " +
                                                  std::to_string(n_features) + " features");
  return params.feature_names;
}

std::vector<double> ResolveClassWeights(const ForestParams& params, int n_classes,
                                        const std::vector<uint64_t>& class_counts, size_t n_rows) {
  std::vector<double> weights(n_classes, 1.0);
  if (params.class_weight == ClassWeightMode::kExplicit) {
    if (static_cast<int>(params.class_weights.size()) != n_classes)
      throw Error(ErrorKind::kInvalidParameter, "forest parameter \"class_weight\" has " +
                                                    std::to_string(params.class_weights.size()) +
                                                    " weights but there are " +
                                                    std::to_string(n_classes) + " classes");
    weights = params.class_weights;
  } else if (params.class_weight == ClassWeightMode::kBalanced) {
    // scikit-learn: n_samples / (n_classes * bincount(y)), over the classes present.
    int present = 0;
    for (uint64_t count : class_counts) present += count > 0 ? 1 : 0;
    for (int c = 0; c < n_classes; ++c)
      if (class_counts[c] > 0)
        weights[c] = static_cast<double>(n_rows) /
                     (static_cast<double>(present) * static_cast<double>(class_counts[c]));
  }
  return weights;
}

// Mean over trees of each tree's normalised importances, normalised again (scikit-learn).
std::vector<double> ImpurityImportance(const std::vector<GrownTree>& grown, size_t n_features) {
  std::vector<double> total(n_features, 0.0);
  for (const GrownTree& g : grown) {
    const double tree_sum =
        std::accumulate(g.impurity_decrease.begin(), g.impurity_decrease.end(), 0.0);
    if (!(tree_sum > 0)) continue;
    for (size_t f = 0; f < n_features; ++f) total[f] += g.impurity_decrease[f] / tree_sum;
  }
  const double sum = std::accumulate(total.begin(), total.end(), 0.0);
  if (sum > 0)
    for (double& v : total) v /= sum;
  return total;
}

void ScoreOutOfBag(const TrainingSet& set, const BinnedFeatures& binned, int n_classes,
                   const std::vector<Tree>& trees, const CompiledTrees& compiled,
                   const std::vector<std::vector<uint64_t>>& in_bag, int threads,
                   CancelCheck& cancel, TrainingSummary& summary, TrainingDiagnostics& diag) {
  const size_t n = set.n_rows();
  diag.oob_proba = RowMatrix::Zero(static_cast<Eigen::Index>(n), n_classes);
  diag.oob_tree_counts.assign(n, 0);
  // Blocks of at most kOobBlockRows rows, and at least 4 per thread when there are enough
  // rows, so that small sets keep every thread busy.
  // Blocks start at multiples of 64 rows (a word of the in-bag bits).
  const size_t wanted = std::max((n + kOobBlockRows - 1) / kOobBlockRows,
                                 std::min<size_t>(4 * std::max(threads, 1), (n + 63) / 64));
  const size_t block_rows = ((n + wanted - 1) / wanted + 63) / 64 * 64;
  const size_t n_blocks = (n + block_rows - 1) / block_rows;
  // Each row sums its trees in index order, so the result does not depend on the blocks'
  // thread assignment.
  const size_t n_features = set.n_features();
  ParallelFor(n_blocks, threads, cancel, [&](size_t block, int, const std::atomic<bool>& stop) {
    const size_t begin = block * block_rows;
    const size_t end = std::min(n, begin + block_rows);
    // The block's rows encoded for the compiled trees: their bin codes, which are exactly
    // the codes CompiledTrees::Encode gives with the bin edges as cuts (one byte each).
    // Without a compiled form (over 65535 features) the trees are walked on the doubles.
    const bool use_codes = compiled.usable() && compiled.code_bytes() == 1;
    std::vector<uint8_t> coded(use_codes ? (end - begin) * n_features : 0);
    for (size_t f = 0; use_codes && f < n_features; ++f) {
      const uint8_t* column = binned.column(f);
      for (size_t r = begin; r < end; ++r) coded[(r - begin) * n_features + f] = column[r];
    }
    std::vector<double> rows;
    std::vector<uint32_t> row_ids, leaves;
    for (size_t t = 0; t < trees.size(); ++t) {
      if (stop.load(std::memory_order_relaxed)) throw Interrupted();
      // The block's rows that are out of bag for this tree, walked together.
      row_ids.clear();
      for (size_t word = begin / 64; word * 64 < end; ++word) {
        uint64_t out = ~in_bag[t][word];
        if (end - word * 64 < 64) out &= (uint64_t{1} << (end - word * 64)) - 1;
        for (; out != 0; out &= out - 1)
          row_ids.push_back(
              static_cast<uint32_t>(word * 64 + static_cast<size_t>(__builtin_ctzll(out)) - begin));
      }
      leaves.resize(row_ids.size());
      if (use_codes) {
        compiled.Leaves(trees[t], t, coded.data(), row_ids.data(), row_ids.size(), leaves.data());
      } else {
        rows.clear();
        for (uint32_t id : row_ids)
          rows.insert(rows.end(), set.row(begin + id), set.row(begin + id) + n_features);
        trees[t].LeavesFor(rows.data(), n_features, row_ids.size(), leaves.data());
      }
      for (size_t k = 0; k < row_ids.size(); ++k) {
        const double* p = trees[t].Proba(leaves[k], n_classes);
        const size_t r = begin + row_ids[k];
        double* dst = diag.oob_proba.data() + r * n_classes;
        for (int c = 0; c < n_classes; ++c) dst[c] += p[c];
        ++diag.oob_tree_counts[r];
      }
    }
    for (size_t r = begin; r < end; ++r) {
      double* dst = diag.oob_proba.data() + r * n_classes;
      if (diag.oob_tree_counts[r] > 0)
        for (int c = 0; c < n_classes; ++c) dst[c] /= diag.oob_tree_counts[r];
    }
  });

  std::vector<double> proba;
  std::vector<int> labels;
  for (size_t r = 0; r < n; ++r) {
    if (diag.oob_tree_counts[r] == 0) continue;
    proba.insert(proba.end(), diag.oob_proba.data() + r * n_classes,
                 diag.oob_proba.data() + (r + 1) * n_classes);
    labels.push_back(set.labels()[r]);
  }
  summary.oob_rows = labels.size();
  summary.tuned_weights.assign(n_classes, 1.0);
  if (labels.empty()) return;
  ConfusionMatrix cm(n_classes);
  for (size_t i = 0; i < labels.size(); ++i)
    cm.Add(labels[i], ArgmaxClass(proba.data() + i * n_classes, n_classes));
  summary.oob_accuracy = Accuracy(cm);
  summary.oob_macro_f1 = MacroF1(cm);
  summary.oob_log_loss = LogLoss(labels.data(), proba.data(), labels.size(), n_classes);
  TunedDecision tuned =
      TuneDecisionWeights(proba.data(), labels.data(), labels.size(), n_classes, cancel);
  summary.tuned_weights = tuned.weights;
  summary.oob_macro_f1_tuned = tuned.macro_f1_tuned;
}

}  // namespace

Forest Train(const TrainingSet& set, const ForestParams& params, CancelCheck& cancel,
             TrainingDiagnostics* diagnostics) {
  cancel.Check();
  const size_t n = set.n_rows();
  if (n == 0)
    throw Error(ErrorKind::kInvalidInput, "cannot train a forest on an empty training set");
  if (n > UINT32_MAX)
    throw Error(ErrorKind::kLimitExceeded, "a forest trains on at most 4294967295 rows");
  const int n_classes = params.n_classes > 0 ? params.n_classes : set.max_label() + 1;
  if (set.max_label() >= n_classes) {
    for (size_t r = 0; r < n; ++r)
      if (set.labels()[r] >= n_classes)
        throw Error(ErrorKind::kInvalidInput,
                    "training row " + std::to_string(r) + " has label " +
                        std::to_string(set.labels()[r]) + " but \"n_classes\" is " +
                        std::to_string(n_classes) + " (labels must be 0.." +
                        std::to_string(n_classes - 1) + ")");
  }
  std::vector<std::string> feature_names = ResolveFeatureNames(params, set.n_features());

  TrainingSummary summary;
  summary.n_rows = n;
  summary.class_counts.assign(n_classes, 0);
  for (int label : set.labels()) ++summary.class_counts[label];
  summary.class_weights = ResolveClassWeights(params, n_classes, summary.class_counts, n);

  const int threads = params.ResolveThreads();
  const BinnedFeatures binned =
      BinFeatures(set, params.max_bins, cancel, n >= kParallelBinningRows ? threads : 1,
                  TreeBuilder::kMaxRecordFeatures);
  TreeSettings settings;
  settings.n_classes = n_classes;
  settings.mtry = params.ResolveMtry(static_cast<int>(set.n_features()));
  settings.max_depth = params.max_depth;
  settings.min_samples_leaf = params.min_samples_leaf;
  settings.min_samples_split = params.min_samples_split;

  const size_t n_trees = static_cast<size_t>(params.n_trees);
  std::vector<GrownTree> grown(n_trees);
  std::vector<std::vector<uint64_t>> in_bag(n_trees);
  std::vector<std::unique_ptr<TreeBuilder>> builders(threads);
  const uint64_t seed = static_cast<uint64_t>(params.seed);
  ParallelFor(n_trees, threads, cancel, [&](size_t t, int worker, const std::atomic<bool>& stop) {
    if (!builders[worker])
      builders[worker] =
          std::make_unique<TreeBuilder>(binned, set.labels(), summary.class_weights, settings);
    Rng rng(seed, t);
    const std::vector<uint32_t> counts = DrawRows(n, params, rng);
    std::vector<uint64_t>& bits = in_bag[t];
    bits.assign((n + 63) / 64, 0);
    for (size_t r = 0; r < n; ++r)
      if (counts[r] > 0) bits[r / 64] |= uint64_t{1} << (r % 64);
    grown[t] = builders[worker]->Grow(counts, rng, stop);
  });
  builders.clear();

  summary.impurity_importance = ImpurityImportance(grown, set.n_features());
  std::vector<Tree> trees;
  std::vector<std::vector<uint16_t>> split_bins;
  trees.reserve(n_trees);
  split_bins.reserve(n_trees);
  for (GrownTree& g : grown) {
    trees.push_back(std::move(g.tree));
    split_bins.push_back(std::move(g.split_bins));
  }
  grown.clear();
  // The prediction layout, with the bin edges as cuts (see CompiledTrees).
  std::vector<std::vector<double>> cuts;
  cuts.reserve(binned.bins.size());
  for (const FeatureBins& b : binned.bins) cuts.push_back(b.upper_edges);
  CompiledTrees compiled(trees, std::move(cuts), split_bins, threads);
  split_bins.clear();

  TrainingDiagnostics local;
  TrainingDiagnostics& diag = diagnostics ? *diagnostics : local;
  ScoreOutOfBag(set, binned, n_classes, trees, compiled, in_bag, threads, cancel, summary, diag);
  diag.in_bag = std::move(in_bag);

  // The stored parameters describe the model: resolved class count, no execution settings,
  // names kept once (in the model's feature list).
  ForestParams stored = params;
  stored.threads = 0;
  stored.n_classes = n_classes;
  stored.feature_names.clear();
  return Forest(stored, std::move(feature_names), n_classes, std::move(trees), std::move(summary),
                std::move(compiled));
}

}  // namespace ltv::forest
