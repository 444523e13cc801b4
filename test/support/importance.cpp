#include "support/importance.h"

#include <numeric>

#include "core/error.h"
#include "support/forest_batch.h"
#include "core/forest/decision.h"
#include "core/forest/metrics.h"
#include "core/forest/parallel.h"
#include "core/forest/rng.h"

namespace ltv::forest {
namespace {

std::vector<uint32_t> Shuffled(size_t n, Rng& rng) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  return order;
}

// Runs score(feature, permutation) for every feature x repeat on worker threads and returns
// baseline - mean score per feature.
template <typename Score>
std::vector<double> MeanDrops(size_t n_features, size_t n_rows, double baseline,
                              const PermutationOptions& options, CancelCheck& cancel,
                              const Score& score) {
  if (options.n_repeats < 1)
    throw Error(ErrorKind::kInvalidParameter, "permutation importance needs n_repeats >= 1");
  const size_t repeats = static_cast<size_t>(options.n_repeats);
  std::vector<double> scores(n_features * repeats);
  ParallelFor(scores.size(), options.threads, cancel,
              [&](size_t task, int, const std::atomic<bool>& stop) {
                Rng rng(options.seed, task);
                const std::vector<uint32_t> order = Shuffled(n_rows, rng);
                scores[task] = score(task / repeats, order, stop);
              });
  std::vector<double> drops(n_features);
  for (size_t f = 0; f < n_features; ++f) {
    double sum = 0;
    for (size_t r = 0; r < repeats; ++r) sum += scores[f * repeats + r];
    drops[f] = baseline - sum / static_cast<double>(repeats);
  }
  return drops;
}

}  // namespace

std::vector<double> PermutationImportance(const Forest& forest, const double* rows,
                                          const int* labels, size_t n_rows, size_t n_features,
                                          const PermutationOptions& options, CancelCheck& cancel) {
  if (n_rows == 0) throw Error(ErrorKind::kInvalidInput, "permutation importance needs rows");
  const int n_classes = forest.n_classes();
  const std::vector<int> base_pred =
      PredictBatch(forest, rows, n_rows, n_features, DecisionRule::kArgmax);
  const double baseline = MacroF1(ConfusionMatrix(labels, base_pred.data(), n_rows, n_classes));
  return MeanDrops(
      n_features, n_rows, baseline, options, cancel,
      [&](size_t feature, const std::vector<uint32_t>& order, const std::atomic<bool>& stop) {
        std::vector<double> copy(rows, rows + n_rows * n_features);
        for (size_t r = 0; r < n_rows; ++r)
          copy[r * n_features + feature] = rows[order[r] * n_features + feature];
        if (stop.load()) throw Interrupted();
        const std::vector<int> pred =
            PredictBatch(forest, copy.data(), n_rows, n_features, DecisionRule::kArgmax);
        return MacroF1(ConfusionMatrix(labels, pred.data(), n_rows, n_classes));
      });
}

std::vector<double> OobPermutationImportance(const Forest& forest, const TrainingSet& set,
                                             const TrainingDiagnostics& diag,
                                             const PermutationOptions& options,
                                             CancelCheck& cancel) {
  const size_t n_rows = set.n_rows();
  const size_t n_features = set.n_features();
  const int n_classes = forest.n_classes();
  if (diag.in_bag.size() != forest.trees().size() || diag.oob_tree_counts.size() != n_rows ||
      static_cast<int>(n_features) != forest.n_features())
    throw Error(ErrorKind::kInvalidParameter,
                "OOB permutation importance needs the training set and diagnostics of this forest");
  ConfusionMatrix base(n_classes);
  for (size_t r = 0; r < n_rows; ++r)
    if (diag.oob_tree_counts[r] > 0)
      base.Add(set.labels()[r], ArgmaxClass(diag.oob_proba.data() + r * n_classes, n_classes));
  if (base.total() == 0)
    throw Error(ErrorKind::kInvalidInput,
                "no row was out of bag: train with bootstrap or a sample_fraction below 1");
  const auto& trees = forest.trees();
  return MeanDrops(
      n_features, n_rows, MacroF1(base), options, cancel,
      [&](size_t feature, const std::vector<uint32_t>& order, const std::atomic<bool>& stop) {
        ConfusionMatrix cm(n_classes);
        std::vector<double> row(n_features), proba(n_classes);
        for (size_t r = 0; r < n_rows; ++r) {
          if (diag.oob_tree_counts[r] == 0) continue;
          if ((r & 1023) == 0 && stop.load(std::memory_order_relaxed)) throw Interrupted();
          std::copy(set.row(r), set.row(r) + n_features, row.begin());
          row[feature] = set.value(order[r], feature);
          std::fill(proba.begin(), proba.end(), 0.0);
          for (size_t t = 0; t < trees.size(); ++t) {
            if (diag.InBag(t, r)) continue;
            const double* p = trees[t].Proba(trees[t].LeafFor(row.data()), n_classes);
            for (int c = 0; c < n_classes; ++c) proba[c] += p[c];
          }
          cm.Add(set.labels()[r], ArgmaxClass(proba.data(), n_classes));
        }
        return MacroF1(cm);
      });
}

}  // namespace ltv::forest
