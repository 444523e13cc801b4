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
                                  CancelCheck& cancel) {
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
  double grid[kGridSize];
  for (size_t g = 0; g < kGridSize; ++g) grid[g] = GridValue(g);
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
      // Whether c wins a row only grows with w_c (p * w rounds monotonically), so each row
      // switches from its other class to c at one grid index; the confusion counts of every
      // grid value then follow by one sweep over the grid. Same decisions as scoring every
      // row at every grid value, with O(n + grid) confusion updates instead of O(n grid).
      const size_t cells = static_cast<size_t>(n_classes) * n_classes;
      std::vector<int64_t> counts(cells, 0);                      // every row at its other class
      std::vector<int64_t> switches((kGridSize + 1) * cells, 0);  // [first winning g][cell]
      for (size_t i = 0; i < n; ++i) {
        const double p = proba[i * n_classes + c];
        const double s = other_score[i];
        const int o = other_class[i];
        // Wins are a suffix of the grid, so the first winning index is the number of values
        // where c loses: a binary search whose steps are selects, not branches (which
        // way each goes is unpredictable).
        const bool loses_ties = c > o;
        auto loses = [&](double w) {
          const double score = p * w;
          return (score < s) | ((score == s) & loses_ties);
        };
        const double* base = grid;
        for (size_t len = kGridSize; len > 1;) {
          const size_t half = len / 2;
          base = loses(base[half]) ? base + half : base;
          len -= half;
        }
        const size_t lo = static_cast<size_t>(base - grid) + (loses(*base) ? 1 : 0);
        const size_t row = static_cast<size_t>(labels[i]) * n_classes;
        ++counts[row + o];
        ++switches[lo * cells + row + o];
      }
      std::vector<double> f1(kGridSize);
      for (size_t g = 0; g < kGridSize; ++g) {
        if ((g & 7) == 0) cancel.Check();
        for (size_t t = 0; t < static_cast<size_t>(n_classes); ++t)
          for (size_t k = 0; k < static_cast<size_t>(n_classes); ++k) {
            const int64_t moved = switches[g * cells + t * n_classes + k];
            counts[t * n_classes + k] -= moved;
            counts[t * n_classes + c] += moved;
          }
        f1[g] = MacroF1Of(counts, n_classes);
      }
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
