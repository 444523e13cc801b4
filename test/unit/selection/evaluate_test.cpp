// Out-of-time scores and the choice (core/selection/evaluate.h): rank statistics against
// hand-worked values, macro F1 against the forest's sklearn-convention metrics, and the choice
// on data where the naive rule must win and on data where the model must.
#include "core/selection/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/forest/metrics.h"
#include "core/ranking.h"
#include "core/xoshiro.h"

namespace ltv::selection {
namespace {

TEST(SelectionEvaluate, SpearmanHandWorked) {
  // ranks a = 1 2 3 4 5, b = 2 1 4 3 5: sum d^2 = 4, rho = 1 - 6*4/(5*24) = 0.8
  EXPECT_NEAR(Spearman({10, 20, 30, 40, 50}, {2, 1, 4, 3, 5}), 0.8, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  EXPECT_EQ(Spearman({1, 1, 1}, {1, 2, 3}), 0.0);  // constant side
}

TEST(SelectionEvaluate, NormalizedGiniBounds) {
  const std::vector<double> actual = {0, 0, 5, 10, 100};
  EXPECT_NEAR(NormalizedGini(actual, actual), 1.0, 1e-12);
  EXPECT_NEAR(NormalizedGini(actual, {0, 0, 5, 10, 100}), 1.0, 1e-12);
  EXPECT_LT(NormalizedGini(actual, {100, 10, 5, 0, 0}), 0.0);
  // A constant score orders nothing: ties count both ways, which averages to 0.
  EXPECT_NEAR(NormalizedGini(actual, {1, 1, 1, 1, 1}), 0.0, 1e-12);
}

TEST(SelectionEvaluate, MacroF1MatchesForestMetrics) {
  Xoshiro256 rng(5);
  std::vector<int> t(500), p(500);
  double m[16] = {0};
  for (int i = 0; i < 500; ++i) {
    t[i] = static_cast<int>(rng.Next() % 3);  // class 3 absent from both: left out
    p[i] = static_cast<int>(rng.Next() % 3);
    m[t[i] * 4 + p[i]] += 1;
  }
  forest::ConfusionMatrix cm(t.data(), p.data(), t.size(), 4);
  EXPECT_NEAR(MacroF1Of(m), forest::MacroF1(cm), 1e-12);
}

// n customers whose future spend is known; the naive score and the model score are each
// either informative (the spend plus a little noise) or pure noise.
Fold MakeFold(uint64_t seed, bool naive_informative, bool model_informative, size_t n = 4000) {
  Xoshiro256 rng(seed);
  auto uniform = [&] { return (rng.Next() >> 11) * (1.0 / 9007199254740992.0); };
  Fold f;
  f.label = "fold";
  std::vector<double> spend(n);
  for (size_t i = 0; i < n; ++i) spend[i] = i % 2 ? 0 : std::exp(5 * uniform());
  f.future_spend = spend;
  const std::vector<int32_t> truth = RankBuckets(spend, {0.5, 0.8, 0.95});
  f.truth.assign(truth.begin(), truth.end());
  for (size_t i = 0; i < n; ++i) {
    const double informative = spend[i] * (0.7 + 0.6 * uniform());
    f.inputs.naive_score.push_back(naive_informative ? informative : 100 * uniform());
    f.inputs.model_score.push_back(model_informative ? informative : 100 * uniform());
  }
  const std::vector<int32_t> nb = RankBuckets(f.inputs.naive_score, {0.5, 0.8, 0.95});
  f.inputs.naive_bucket.assign(nb.begin(), nb.end());
  const std::vector<int32_t> mb = RankBuckets(f.inputs.model_score, {0.5, 0.8, 0.95});
  f.inputs.model_class.assign(mb.begin(), mb.end());
  f.shares = Shares{0.5, 0.3, 0.15, 0.05};
  return f;
}

const json::Value* Candidate(const json::Value& result, const std::string& name) {
  for (const json::Value& c : result.Find("candidates")->as_array())
    if (c.Find("name")->as_string() == name) return &c;
  return nullptr;
}

TEST(SelectionEvaluate, NaiveWinsWhenTheModelIsNoise) {
  std::vector<Fold> folds = {MakeFold(1, true, false), MakeFold(2, true, false)};
  const json::Value r = EvaluateCandidates(folds, EvaluationOptions{});
  EXPECT_EQ(r.Find("chosen")->as_string(), "naive");
  const json::Value* naive = Candidate(r, "naive");
  ASSERT_NE(naive, nullptr);
  EXPECT_DOUBLE_EQ(naive->Find("mean_lift")->as_number(), 0.0);
  EXPECT_LT(Candidate(r, "classifier")->Find("mean_lift")->as_number(), 0.0);
}

TEST(SelectionEvaluate, ModelWinsWhenTheNaiveRuleIsNoise) {
  std::vector<Fold> folds = {MakeFold(3, false, true), MakeFold(4, false, true)};
  const json::Value r = EvaluateCandidates(folds, EvaluationOptions{});
  const std::string chosen = r.Find("chosen")->as_string();
  EXPECT_NE(chosen, "naive");
  const json::Value* c = Candidate(r, chosen);
  ASSERT_NE(c, nullptr);
  const auto& ci = c->Find("lift_ci90")->as_array();
  EXPECT_GT(ci[0].as_number(), 0.0);
  EXPECT_LE(ci[0].as_number(), c->Find("mean_lift")->as_number());
  EXPECT_GE(ci[1].as_number(), c->Find("mean_lift")->as_number());
  EXPECT_GT(c->Find("mean_spearman")->as_number(), 0.5);
  EXPECT_EQ(c->Find("folds")->as_array().size(), 2u);
}

TEST(SelectionEvaluate, SameInputsSameReport) {
  std::vector<Fold> folds = {MakeFold(7, true, true, 1000)};
  EXPECT_EQ(EvaluateCandidates(folds, EvaluationOptions{}).Dump(),
            EvaluateCandidates(folds, EvaluationOptions{}).Dump());
}

}  // namespace
}  // namespace ltv::selection
