#include "core/forest/decision.h"

#include <cmath>

#include "core/forest/metrics.h"
#include "core/forest/parallel.h"

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

// The weight grid 2^(k/4), k = -12..12.
constexpr size_t kGridSize = 25;
double GridValue(size_t g) { return std::exp2((static_cast<int>(g) - 12) / 4.0); }

double MacroF1Of(const std::vector<int64_t>& counts, int n_classes) {
  ConfusionMatrix cm(n_classes);
  for (int t = 0; t < n_classes; ++t)
    for (int p = 0; p < n_classes; ++p)
      cm.Add(t, p, counts[static_cast<size_t>(t) * n_classes + p]);
  return MacroF1(cm);
}

}  // namespace

TunedDecision TuneDecisionWeights(const double* proba, const int* labels, size_t n, int n_classes,
                                  CancelCheck& cancel, int threads) {
  TunedDecision out;
  out.weights.assign(n_classes, 1.0);
  if (n == 0) return out;
  {
    ConfusionMatrix cm(n_classes);  // validates the labels
    for (size_t i = 0; i < n; ++i)
      cm.Add(labels[i], WeightedArgmaxClass(proba + i * n_classes, out.weights.data(), n_classes));
    out.macro_f1_argmax = MacroF1(cm);
  }
  double best = out.macro_f1_argmax;
  // Only w_c moves while class c is searched, so each row's best other class (the first
  // maximum of p_d * w_d over d != c, as WeightedArgmaxClass breaks ties) is computed once
  // per class; a candidate then only compares p_c * w_c with it: c wins when greater, or
  // equal with c the lower class number. Same decisions as WeightedArgmaxClass, O(1) a row.
  std::vector<double> other_score(n);
  std::vector<int> other_class(n);
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (int c = 1; c < n_classes; ++c) {
      for (size_t i = 0; i < n; ++i) {
        const double* p = proba + i * n_classes;
        int o = c == 0 ? 1 : 0;
        double s = p[o] * out.weights[o];
        for (int d = o + 1; d < n_classes; ++d) {
          if (d == c) continue;
          const double score = p[d] * out.weights[d];
          if (score > s) {
            o = d;
            s = score;
          }
        }
        other_score[i] = s;
        other_class[i] = o;
      }
      // Every grid value is scored (they do not depend on each other: only w_c differs),
      // then taken in grid order, a value kept only when it strictly raises the best score.
      std::vector<double> f1(kGridSize);
      ParallelFor(kGridSize, threads, cancel, [&](size_t g, int, const std::atomic<bool>&) {
        const double candidate = GridValue(g);
        std::vector<int64_t> counts(static_cast<size_t>(n_classes) * n_classes, 0);
        for (size_t i = 0; i < n; ++i) {
          const double score = proba[i * n_classes + c] * candidate;
          const int o = other_class[i];
          // Branch-free: whether c wins is unpredictable.
          const int wins = (score > other_score[i]) | ((score == other_score[i]) & (c < o));
          ++counts[static_cast<size_t>(labels[i]) * n_classes + o + (c - o) * wins];
        }
        f1[g] = MacroF1Of(counts, n_classes);
      });
      for (size_t g = 0; g < kGridSize; ++g) {
        if (GridValue(g) == out.weights[c]) continue;
        if (f1[g] > best + 1e-12) {
          best = f1[g];
          out.weights[c] = GridValue(g);
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
