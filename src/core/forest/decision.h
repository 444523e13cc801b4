// Turning class probabilities into one class.
//
// kArgmax picks the most probable class (lowest class number on ties, like numpy.argmax).
// kTuned picks argmax_c(w_c * p_c) with per-class weights w tuned on the out-of-bag
// predictions to maximise macro F1. With imbalanced buckets (few VIPs) argmax rarely predicts
// the small classes; the weights trade some accuracy on the big class for recall on the small
// ones. Training always computes and stores the weights; the "decision" parameter only says
// which rule Forest::Predict uses by default.
#pragma once

#include <cstddef>
#include <vector>

#include "core/cancel.h"

namespace ltv::forest {

int ArgmaxClass(const double* proba, int n_classes);
int WeightedArgmaxClass(const double* proba, const double* weights, int n_classes);

struct TunedDecision {
  std::vector<double> weights;  // one per class; class 0 stays 1 (only ratios matter)
  double macro_f1_argmax = 0;
  double macro_f1_tuned = 0;  // >= macro_f1_argmax: all-ones is where the search starts
};

// Deterministic coordinate search: weights of classes 1.. move over the grid 2^(k/4),
// k = -12..12, one class at a time, keeping a value only when it strictly raises macro F1,
// for up to 4 rounds or until a round changes nothing. `proba` is row-major n x n_classes.
// Each class's search scores the grid in one pass over the rows (see decision.cpp);
// cancel.Check() is polled between grid values.
TunedDecision TuneDecisionWeights(const double* proba, const int* labels, size_t n, int n_classes,
                                  CancelCheck& cancel);

}  // namespace ltv::forest
