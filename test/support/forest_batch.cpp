#include "support/forest_batch.h"

#include "core/cancel.h"

namespace ltv::forest {

RowMatrix PredictProbaBatch(const Forest& forest, const double* rows, size_t n_rows,
                            size_t n_features, int threads) {
  RowMatrix out(static_cast<Eigen::Index>(n_rows), forest.n_classes());
  forest.PredictProbaInto(rows, n_rows, n_features, out.data(), threads, CancelCheck::None());
  return out;
}

std::vector<int> PredictBatch(const Forest& forest, const double* rows, size_t n_rows,
                              size_t n_features, DecisionRule rule, int threads) {
  const RowMatrix proba = PredictProbaBatch(forest, rows, n_rows, n_features, threads);
  std::vector<int> out(n_rows);
  for (size_t r = 0; r < n_rows; ++r)
    out[r] = forest.Decide(proba.data() + r * forest.n_classes(), rule);
  return out;
}

}  // namespace ltv::forest
