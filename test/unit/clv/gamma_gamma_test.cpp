#include "core/clv/gamma_gamma.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "simulate.h"

namespace ltv::clv {
namespace {

// Parameter recovery: 20,000 simulated customers from the paper's estimates
// (p = 6.25, q = 3.74, v = 15.44), 2 to 8 transactions each.
TEST(clvGammaGamma, RecoversSimulatedParameters) {
  const auto sim = testing::SimulateGammaGamma(20000, 6.25, 3.74, 15.44, 2005);
  const GammaGammaFit fit = FitGammaGamma(sim.n, sim.m);
  EXPECT_TRUE(fit.converged);
  EXPECT_FALSE(fit.fallback);
  std::printf("Gamma-Gamma recovery (20k): p=%.4f q=%.4f v=%.4f, %d iterations\n", fit.params.p,
              fit.params.q, fit.params.v, fit.iterations);
  EXPECT_NEAR(fit.params.p / 6.25, 1, 0.05);
  EXPECT_NEAR(fit.params.q / 3.74, 1, 0.10);
  EXPECT_NEAR(fit.params.v / 15.44, 1, 0.15);
  EXPECT_NEAR(fit.mean_value, fit.params.p * fit.params.v / (fit.params.q - 1), 1e-12);
  // The sum of the per-customer formula is the fit's log-likelihood.
  double sum = 0;
  for (size_t i = 0; i < sim.n.size(); ++i)
    sum += GammaGammaLogLikelihood(fit.params, sim.n[i], sim.m[i]);
  EXPECT_NEAR(fit.loglik / sum, 1, 1e-12);
}

TEST(clvGammaGamma, MoneyUnitInvariant) {
  const auto sim = testing::SimulateGammaGamma(3000, 6.25, 3.74, 15.44, 3);
  std::vector<double> cents(sim.m);
  for (double& v : cents) v *= 100;
  const GammaGammaFit a = FitGammaGamma(sim.n, sim.m), b = FitGammaGamma(sim.n, cents);
  // Equal up to rounding of the data, which moves the maximum along the likelihood's flattest
  // direction by ~1e-8 (the standard errors are ~1e-1).
  EXPECT_NEAR(b.params.p / a.params.p, 1, 1e-6);
  EXPECT_NEAR(b.params.q / a.params.q, 1, 1e-6);
  EXPECT_NEAR(b.params.v / a.params.v, 100, 1e-4);
}

// The posterior mean by hand, with the paper's parameters.
TEST(clvGammaGamma, ExpectedAverageValueByHand) {
  GammaGammaFit fit;
  fit.params = {6.25, 3.74, 15.44};
  fit.mean_value = 6.25 * 15.44 / 2.74;  // 35.22
  EXPECT_NEAR(ExpectedAverageValue(fit, 3, 50), 6.25 * (15.44 + 150) / (6.25 * 3 + 2.74), 1e-12);
  EXPECT_NEAR(ExpectedAverageValue(fit, 3, 50), 48.115, 0.001);  // shrunk from 50 toward 35.2
  EXPECT_EQ(ExpectedAverageValue(fit, 1, 50), fit.mean_value);   // one-time buyer
  EXPECT_EQ(ExpectedAverageValue(fit, 4, -10), fit.mean_value);  // returns exceed spend
  EXPECT_EQ(ExpectedAverageValue(fit, 4, 0), fit.mean_value);
  fit.fallback = true;
  EXPECT_EQ(ExpectedAverageValue(fit, 4, 12.5), 12.5);
}

TEST(clvGammaGamma, EdgeCases) {
  // Nobody: fallback with NaN parameters.
  const GammaGammaFit none = FitGammaGamma(std::vector<double>{}, std::vector<double>{});
  EXPECT_TRUE(none.fallback);
  EXPECT_EQ(none.customers, 0);
  // One customer: fallback to the sample mean.
  const GammaGammaFit one = FitGammaGamma(std::vector<double>{3}, std::vector<double>{20});
  EXPECT_TRUE(one.fallback);
  EXPECT_EQ(one.mean_value, 20);
  // All the same value: no spread between customers; whatever the fit does, E[M] is finite
  // and close to that value.
  const GammaGammaFit same =
      FitGammaGamma(std::vector<double>(100, 2), std::vector<double>(100, 7.5));
  const double value = ExpectedAverageValue(same, 2, 7.5);
  EXPECT_TRUE(std::isfinite(value));
  EXPECT_NEAR(value, 7.5, 0.5);
  // Heavy tail (q -> 1 territory): still finite.
  std::vector<double> n(200, 2), m(200);
  for (size_t i = 0; i < m.size(); ++i) m[i] = std::pow(10.0, static_cast<double>(i % 20) / 2);
  const GammaGammaFit heavy = FitGammaGamma(n, m);
  EXPECT_GT(heavy.params.q, 1);
  EXPECT_TRUE(std::isfinite(heavy.mean_value));
  EXPECT_TRUE(std::isfinite(ExpectedAverageValue(heavy, 2, 100)));
}

TEST(clvGammaGamma, RejectsBadInput) {
  EXPECT_THROW(FitGammaGamma(std::vector<double>{2}, std::vector<double>{0}), Error);
  EXPECT_THROW(FitGammaGamma(std::vector<double>{0}, std::vector<double>{5}), Error);
  EXPECT_THROW(FitGammaGamma(std::vector<double>{2}, std::vector<double>{NAN}), Error);
  EXPECT_THROW(FitGammaGamma(std::vector<double>{2, 3}, std::vector<double>{1}), Error);
}

}  // namespace
}  // namespace ltv::clv
