// Permutation feature importance: how much macro F1 drops when one feature's values are
// shuffled across rows, breaking its link to the label. Unlike impurity importance it is
// measured on rows the trees did not train on, so it does not favour features with many
// distinct values. Values are score drops (not normalised) and may be slightly negative for
// useless features.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cancel.h"
#include "core/forest/forest.h"
#include "core/forest/train.h"

namespace ltv::forest {

struct PermutationOptions {
  int n_repeats = 5;  // shuffles per feature, averaged
  uint64_t seed = 42;
  int threads = 1;
};

// On a given (held-out) set: row-major n_rows x n_features and labels, all trees, argmax rule.
std::vector<double> PermutationImportance(const Forest& forest, const double* rows,
                                          const int* labels, size_t n_rows, size_t n_features,
                                          const PermutationOptions& options, CancelCheck& cancel);

// On the out-of-bag rows of the training set: each row is scored only by the trees it was
// out of bag for (Breiman's original measure). Needs the diagnostics Train filled in.
std::vector<double> OobPermutationImportance(const Forest& forest, const TrainingSet& set,
                                             const TrainingDiagnostics& diagnostics,
                                             const PermutationOptions& options,
                                             CancelCheck& cancel);

}  // namespace ltv::forest
