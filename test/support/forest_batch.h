// Test support: whole-matrix predictions into Eigen matrices and class vectors (hosts use
// Forest::PredictProbaInto into their own buffers).
#pragma once

#include <vector>

#include "core/forest/forest.h"

namespace ltv::forest {

// Row-major n_rows x n_features in, n_rows x n_classes out; same results as PredictProba.
RowMatrix PredictProbaBatch(const Forest& forest, const double* rows, size_t n_rows,
                            size_t n_features, int threads = 1);
// The class of every row under `rule`.
std::vector<int> PredictBatch(const Forest& forest, const double* rows, size_t n_rows,
                              size_t n_features, DecisionRule rule, int threads = 1);

}  // namespace ltv::forest
