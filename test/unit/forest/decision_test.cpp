#include "core/forest/decision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/forest/metrics.h"
#include "core/forest/rng.h"

using namespace ltv::forest;

namespace {

// The search as first written: every grid value scored on every row with
// WeightedArgmaxClass. TuneDecisionWeights must choose exactly the same weights.
TunedDecision ReferenceTune(const double* proba, const int* labels, size_t n, int k) {
  TunedDecision out;
  out.weights.assign(k, 1.0);
  auto macro_f1 = [&](const std::vector<double>& weights) {
    ConfusionMatrix cm(k);
    for (size_t i = 0; i < n; ++i)
      cm.Add(labels[i], WeightedArgmaxClass(proba + i * k, weights.data(), k));
    return MacroF1(cm);
  };
  out.macro_f1_argmax = macro_f1(out.weights);
  double best = out.macro_f1_argmax;
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (int c = 1; c < k; ++c) {
      std::vector<double> f1(25);
      for (int g = 0; g < 25; ++g) {
        std::vector<double> w = out.weights;
        w[c] = std::exp2((g - 12) / 4.0);
        f1[g] = macro_f1(w);
      }
      for (int g = 0; g < 25; ++g) {
        const double value = std::exp2((g - 12) / 4.0);
        if (value == out.weights[c]) continue;
        if (f1[g] > best + 1e-12) {
          best = f1[g];
          out.weights[c] = value;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  out.macro_f1_tuned = best;
  return out;
}

// Random class probabilities; with `coarse`, multiples of 1/8 (many exact ties, zeros,
// rows whose products tie at some grid value).
void RandomCase(Rng& rng, size_t n, int k, bool coarse, std::vector<double>& proba,
                std::vector<int>& labels) {
  proba.assign(n * k, 0.0);
  labels.assign(n, 0);
  std::vector<double> hidden(k);
  for (double& w : hidden) w = std::exp2(static_cast<double>(rng.Below(9)) / 4.0 - 1.0);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int c = 0; c < k; ++c) {
      const double v = static_cast<double>(coarse ? rng.Below(4) : rng.Below(uint64_t{1} << 30));
      proba[i * k + c] = v;
      sum += v;
    }
    if (sum == 0) {
      proba[i * k] = 1;
      sum = 1;
    }
    for (int c = 0; c < k; ++c)
      proba[i * k + c] = coarse ? proba[i * k + c] / 8 : proba[i * k + c] / sum;
    // Labels follow the probabilities with hidden per-class weights (so that weights other
    // than 1 score better), plus noise.
    labels[i] = rng.Below(10) < 8 ? WeightedArgmaxClass(&proba[i * k], hidden.data(), k)
                                  : static_cast<int>(rng.Below(static_cast<uint64_t>(k)));
  }
}

}  // namespace

TEST(TuneDecisionWeights, ChoosesWhatScoringEveryGridValueChooses) {
  Rng rng(7, 0);
  int tuned_somewhere = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int k = 2 + trial % 4;
    const size_t n = 1 + rng.Below(400);
    std::vector<double> proba;
    std::vector<int> labels;
    RandomCase(rng, n, k, trial % 2 == 0, proba, labels);
    const TunedDecision expected = ReferenceTune(proba.data(), labels.data(), n, k);
    const TunedDecision got =
        TuneDecisionWeights(proba.data(), labels.data(), n, k, ltv::CancelCheck::None());
    ASSERT_EQ(got.weights, expected.weights) << "trial " << trial;
    EXPECT_EQ(got.macro_f1_argmax, expected.macro_f1_argmax) << "trial " << trial;
    EXPECT_EQ(got.macro_f1_tuned, expected.macro_f1_tuned) << "trial " << trial;
    tuned_somewhere += got.weights != std::vector<double>(k, 1.0);
  }
  // The comparison means something only if the search moved weights in many cases.
  EXPECT_GT(tuned_somewhere, 20);
}

TEST(TuneDecisionWeights, RaisesMacroF1OnAnImbalancedCase) {
  // Class 1 is rare and never the most probable: argmax never predicts it; a weight on it
  // recovers rows where its probability is high.
  std::vector<double> proba;
  std::vector<int> labels;
  for (int i = 0; i < 100; ++i) {
    const bool rare = i % 10 == 0;
    const double row[2] = {rare ? 0.55 : 0.8, rare ? 0.45 : 0.2};
    proba.insert(proba.end(), row, row + 2);
    labels.push_back(rare ? 1 : 0);
  }
  const TunedDecision t =
      TuneDecisionWeights(proba.data(), labels.data(), labels.size(), 2, ltv::CancelCheck::None());
  EXPECT_EQ(t.weights[0], 1.0);
  EXPECT_GT(t.weights[1], 0.55 / 0.45);
  EXPECT_LT(t.weights[1] * 0.2, 0.8);
  EXPECT_EQ(t.macro_f1_tuned, 1.0);
  EXPECT_LT(t.macro_f1_argmax, 0.5);
}
