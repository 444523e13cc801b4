// Training a random forest.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cancel.h"
#include "core/forest/forest.h"
#include "core/forest/params.h"
#include "core/forest/training_set.h"

namespace ltv::forest {

// By-products of training that are too big or too specific to keep in the model.
struct TrainingDiagnostics {
  // in_bag[tree] is a bitset over rows (bit r of word r / 64): 1 = row drawn for the tree.
  std::vector<std::vector<uint64_t>> in_bag;
  // Out-of-bag class probabilities (n_rows x n_classes; rows never out of bag are all 0)
  // and the number of trees each row was out of bag for.
  RowMatrix oob_proba;
  std::vector<uint32_t> oob_tree_counts;

  bool InBag(size_t tree, size_t row) const { return (in_bag[tree][row / 64] >> (row % 64)) & 1; }
};

// Trains a classification forest. Errors (all ltv::Error):
//   kInvalidInput      empty training set; a label >= params.n_classes
//   kInvalidParameter  feature_names or class_weight of the wrong length
// A training set with a single class is allowed: every tree is a single leaf and the forest
// always predicts that class (with probability 1).
// The calling thread polls cancel.Check() at least every ~20 ms while workers train; when it
// throws, workers stop at their next node and the exception propagates from here.
// The result depends only on the rows, their order and the parameters (not on `threads`).
Forest Train(const TrainingSet& set, const ForestParams& params, CancelCheck& cancel,
             TrainingDiagnostics* diagnostics = nullptr);

}  // namespace ltv::forest
