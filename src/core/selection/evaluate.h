// Out-of-time scores of every candidate over one or more folds, and the choice of the one to
// serve. A fold is one evaluation cutoff: the candidates' buckets for the customers active
// before it (from models trained on snapshots whose labels ended by that cutoff), the true
// bucket and the future spend of each.
//
// Reported per candidate: macro F1 per fold and its mean; the lift over the naive rule (its
// mean over folds) with a 90% bootstrap interval over customers; Spearman's rank correlation
// of the candidate's score with future spend; the normalized Gini of that score.
// The choice: among the candidates whose lift over the naive rule is above zero across its 90%
// bootstrap interval, the one with the highest mean macro F1, where candidates within 0.002 of
// it count as tied and the best mean Spearman among them wins (then the earlier one in
// StandardCandidates order); when there is none, the naive rule. A run never serves something
// its own evaluation did not find better than the rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/selection/candidates.h"

namespace ltv::selection {

struct Fold {
  std::string label;  // e.g. the cutoff, echoed in the report
  ScoreInputs inputs;
  std::vector<int> truth;  // 0..3
  std::vector<double> future_spend;
  Shares shares{};  // bucket shares the rank candidates assign to
};

struct EvaluationOptions {
  uint64_t seed = 42;
  int bootstrap_rounds = 1000;
};

// {"candidates": [{"name", "mean_macro_f1", "mean_lift", "lift_ci90": [lo, hi],
//   "mean_spearman", "mean_gini", "folds": [{"label", "macro_f1", "lift", "spearman", "gini",
//   "customers"}]}], "naive_mean_macro_f1", "chosen", "reason"}
json::Value EvaluateCandidates(const std::vector<Fold>& folds, const EvaluationOptions& options);

// Spearman correlation (average ranks for ties); 0 when either side is constant.
double Spearman(const std::vector<double>& a, const std::vector<double>& b);
// Normalized Gini of `score` as an ordering of `actual` (1 = the perfect order, 0 = random).
double NormalizedGini(const std::vector<double>& actual, const std::vector<double>& score);
// Macro F1 over 4 classes from a 4x4 confusion matrix of counts (sklearn's conventions: classes
// absent from truth and predictions are left out).
double MacroF1Of(const double* matrix16);

}  // namespace ltv::selection
