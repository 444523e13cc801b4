#include "core/forest/decision.h"

#include <cmath>

#include "core/forest/metrics.h"

namespace ltv::forest {

int ArgmaxClass(const double* proba, int n_classes) {
  int best = 0;
  for (int c = 1; c < n_classes; ++c)
    if (proba[c] > proba[best]) best = c;
  return best;
}

int WeightedArgmaxClass(const double* proba, const double* weights, int n_classes) {
  int best = 0;
  double best_score = proba[0] * weights[0];
  for (int c = 1; c < n_classes; ++c) {
    const double score = proba[c] * weights[c];
    if (score > best_score) {
      best = c;
      best_score = score;
    }
  }
  return best;
}

namespace {

double MacroF1With(const double* proba, const int* labels, size_t n, int n_classes,
                   const std::vector<double>& weights) {
  ConfusionMatrix cm(n_classes);
  for (size_t i = 0; i < n; ++i)
    cm.Add(labels[i], WeightedArgmaxClass(proba + i * n_classes, weights.data(), n_classes));
  return MacroF1(cm);
}

}  // namespace

TunedDecision TuneDecisionWeights(const double* proba, const int* labels, size_t n, int n_classes,
                                  CancelCheck& cancel) {
  TunedDecision out;
  out.weights.assign(n_classes, 1.0);
  if (n == 0) return out;
  out.macro_f1_argmax = MacroF1With(proba, labels, n, n_classes, out.weights);
  double best = out.macro_f1_argmax;
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (int c = 1; c < n_classes; ++c) {
      std::vector<double> candidate = out.weights;
      for (int k = -12; k <= 12; ++k) {
        cancel.Check();
        candidate[c] = std::exp2(k / 4.0);
        if (candidate[c] == out.weights[c]) continue;
        const double f1 = MacroF1With(proba, labels, n, n_classes, candidate);
        if (f1 > best + 1e-12) {
          best = f1;
          out.weights[c] = candidate[c];
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  out.macro_f1_tuned = best;
  return out;
}

}  // namespace ltv::forest
