#include "core/clv/bgnbd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/clv/special.h"
#include "core/error.h"
#include "simulate.h"

namespace ltv::clv {
namespace {

const BgNbdParams kCdnow{0.243, 4.414, 0.793, 2.426};  // the paper's CDNOW fit, weeks

// The paper's equation (10) with 2F1 summed directly in long double: a slow but plain
// reference for z = t / (alpha + T + t) not too near 1 and a not too near 1.
long double Hyp2F1(long double a, long double b, long double c, long double z) {
  long double term = 1, sum = 1;
  for (int k = 0; k < 2000000; ++k) {
    term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
    sum += term;
    if (std::fabs(term) < 1e-22L * std::fabs(sum) && k > 10) break;
  }
  return sum;
}

long double ReferenceExpected(const BgNbdParams& p, double x, double t_x, double T, double t) {
  const long double r = p.r, al = p.alpha, a = p.a, b = p.b;
  const long double z = t / (al + T + t);
  const long double first = (a + b + x - 1) / (a - 1);
  const long double second =
      1 - Hyp2F1(r + x, b + x, a + b + x - 1, z) * std::pow((al + T) / (al + T + t), r + x);
  long double denominator = 1;
  if (x > 0) denominator += a / (b + x - 1) * std::pow((al + T) / (al + t_x), r + x);
  return first * second / denominator;
}

TEST(clvSpecial, DigammaAndTrigammaKnownValues) {
  const double euler = 0.57721566490153286061;
  const double pi2 = M_PI * M_PI;
  EXPECT_NEAR(Digamma(1), -euler, 4e-15);
  EXPECT_NEAR(Digamma(0.5), -euler - 2 * std::log(2.0), 1e-14);
  EXPECT_NEAR(Digamma(1e-8) / (-1e8 - euler), 1, 1e-15);
  EXPECT_NEAR(Digamma(1000) - (std::log(1000.0) - 0.5 / 1000 - 1.0 / 12e6), 0, 1e-14);
  EXPECT_NEAR(Trigamma(1), pi2 / 6, 1e-14);
  EXPECT_NEAR(Trigamma(0.5), pi2 / 2, 1e-13);
  EXPECT_NEAR(Trigamma(2.5), pi2 / 2 - 4 - 4.0 / 9, 1e-14);
  // psi(x + 1) = psi(x) + 1/x across the switch to the asymptotic series.
  for (double x : {0.3, 3.7, 9.5, 9.999, 10.0, 10.001, 25.0})
    EXPECT_NEAR(Digamma(x + 1) - Digamma(x), 1 / x, 1e-14) << x;
}

// Published figure: the paper's CDNOW customer with x = 2, t_x = 30.43, T = 38.86 weeks is
// expected to make 1.226 purchases in the next 39 weeks.
TEST(clvBgNbd, PaperExampleExpectedPurchases) {
  ExpectedPurchases expected(kCdnow);
  EXPECT_NEAR(expected(2, 30.43, 38.86, 39), 1.226, 0.0005);
  EXPECT_NEAR(static_cast<double>(ReferenceExpected(kCdnow, 2, 30.43, 38.86, 39)), 1.226, 0.0005);
}

TEST(clvBgNbd, ExpectedPurchasesMatchesDirectSeries) {
  const std::vector<BgNbdParams> params = {
      kCdnow, {0.5, 10, 2.5, 3}, {1.3, 2, 0.3, 0.4}, {0.05, 0.3, 1.7, 0.2}, {3, 40, 0.6, 8}};
  int compared = 0;
  for (const BgNbdParams& p : params) {
    ExpectedPurchases expected(p);
    for (double x : {0.0, 1.0, 2.0, 5.0, 20.0, 100.0}) {
      for (double T : {0.0, 1.0, 5.0, 30.0, 78.0}) {
        for (double t : {0.01, 0.5, 5.0, 39.0, 200.0}) {
          const double t_x = x == 0 ? 0 : 0.6 * T;
          const double z = t / (p.alpha + T + t);
          if (z > 0.995) continue;  // the reference series would take too long
          const long double reference = ReferenceExpected(p, x, t_x, T, t);
          const double value = expected(x, t_x, T, t);
          EXPECT_NEAR(value / static_cast<double>(reference), 1, 2e-12)
              << "r=" << p.r << " alpha=" << p.alpha << " a=" << p.a << " b=" << p.b << " x=" << x
              << " T=" << T << " t=" << t << " z=" << z;
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 500);
}

// z up to 1 - 1e-3 (alpha small, T = 0, a long horizon): the continuation along the grid
// against the direct series, which still converges there.
TEST(clvBgNbd, ExpectedPurchasesNearZOne) {
  for (const BgNbdParams& p :
       {BgNbdParams{0.243, 0.05, 0.793, 2.426}, BgNbdParams{0.8, 0.02, 2.2, 1.1}}) {
    ExpectedPurchases expected(p);
    for (double x : {0.0, 1.0, 3.0}) {
      for (double t : {10.0, 30.0, 49.95}) {
        const double value = expected(x, 0, 0, t);
        const long double reference = ReferenceExpected(p, x, 0, 0, t);
        EXPECT_NEAR(value / static_cast<double>(reference), 1, 1e-11)
            << "a=" << p.a << " x=" << x << " t=" << t;
      }
    }
    // Beyond: finite, increasing in t, and for a > 1 below the limit (a + b + x - 1)/(a - 1).
    double previous = 0;
    for (double t : {1e2, 1e4, 1e6, 1e9, 1e12}) {
      const double value = expected(1, 0, 0, t);
      EXPECT_TRUE(std::isfinite(value));
      EXPECT_GE(value, previous);
      previous = value;
    }
    if (p.a > 1) {
      const double limit = (p.a + p.b) / (p.a - 1) * ProbabilityAlive(p, 1, 0, 0);
      EXPECT_NEAR(expected(1, 0, 0, 1e12) / limit, 1, 1e-6);
    }
  }
}

// The closed form has (a - 1) in a denominator; the value is continuous through a = 1.
TEST(clvBgNbd, ExpectedPurchasesContinuousAtAOne) {
  for (double x : {0.0, 2.0}) {
    for (double t : {0.3, 39.0, 500.0}) {
      BgNbdParams p = kCdnow;
      p.a = 1;
      const double at_one = ExpectedPurchases(p)(x, 0.5 * 30, 30, t);
      EXPECT_TRUE(std::isfinite(at_one));
      EXPECT_GT(at_one, 0);
      for (double d : {1e-12, 1e-9, 1e-6}) {
        p.a = 1 + d;
        const double above = ExpectedPurchases(p)(x, 15, 30, t);
        p.a = 1 - d;
        const double below = ExpectedPurchases(p)(x, 15, 30, t);
        EXPECT_NEAR(above / at_one, 1, 100 * d + 1e-14);
        EXPECT_NEAR(below / at_one, 1, 100 * d + 1e-14);
      }
      // Against the reference a little away from 1, where its own cancellation is mild.
      for (double a : {1 - 1e-3, 1 + 1e-3}) {
        p.a = a;
        EXPECT_NEAR(ExpectedPurchases(p)(x, 15, 30, t) /
                        static_cast<double>(ReferenceExpected(p, x, 15, 30, t)),
                    1, 1e-11);
      }
    }
  }
}

TEST(clvBgNbd, ProbabilityAlive) {
  EXPECT_EQ(ProbabilityAlive(kCdnow, 0, 0, 30), 1);
  // By hand: 1 / (1 + a/(b + x - 1) ((alpha + T)/(alpha + t_x))^(r + x)).
  const double expected =
      1 / (1 + 0.793 / (2.426 + 1) * std::pow((4.414 + 38.86) / (4.414 + 30.43), 2.243));
  EXPECT_NEAR(ProbabilityAlive(kCdnow, 2, 30.43, 38.86), expected, 1e-15);
  // A purchase right at the cutoff: a/(b + x - 1) alone.
  EXPECT_NEAR(ProbabilityAlive(kCdnow, 1, 10, 10), 1 / (1 + 0.793 / 2.426), 1e-15);
  // Long silence: nearly certainly gone, still a number.
  const double silent = ProbabilityAlive(kCdnow, 500, 0, 1e6);
  EXPECT_GE(silent, 0);
  EXPECT_LT(silent, 1e-100);
  // b -> 0 with x = 1.
  EXPECT_NEAR(ProbabilityAlive({0.243, 4.414, 0.793, 1e-300}, 1, 30, 30), 0, 1e-290);
}

TEST(clvBgNbd, LogLikelihoodAgreesWithFitObjective) {
  // The fit's aggregated log-likelihood equals the sum of the per-customer formula.
  const auto sim = testing::SimulateBgNbd(3000, 0.243, 4.414, 0.793, 2.426, 27, 39, 0, 7);
  const BgNbdFit fit = FitBgNbd(sim.x, sim.t_x, sim.T);
  double sum = 0;
  for (size_t i = 0; i < sim.x.size(); ++i)
    sum += BgNbdLogLikelihood(fit.params, sim.x[i], sim.t_x[i], sim.T[i]);
  EXPECT_NEAR(fit.loglik / sum, 1, 1e-12);
  // And it is a maximum: nudging any parameter lowers it.
  for (int k = 0; k < 4; ++k) {
    for (double f : {0.99, 1.01}) {
      BgNbdParams q = fit.params;
      double* field[4] = {&q.r, &q.alpha, &q.a, &q.b};
      *field[k] *= f;
      double nudged = 0;
      for (size_t i = 0; i < sim.x.size(); ++i)
        nudged += BgNbdLogLikelihood(q, sim.x[i], sim.t_x[i], sim.T[i]);
      EXPECT_LT(nudged, sum) << k << " " << f;
    }
  }
}

// Parameter recovery: 40,000 simulated customers from the paper's CDNOW estimates.
TEST(clvBgNbd, RecoversSimulatedParameters) {
  const auto sim = testing::SimulateBgNbd(40000, 0.243, 4.414, 0.793, 2.426, 27, 39, 0, 2005);
  const BgNbdFit fit = FitBgNbd(sim.x, sim.t_x, sim.T);
  EXPECT_TRUE(fit.converged);
  EXPECT_EQ(fit.customers, 40000);
  std::printf("BG/NBD recovery (40k): r=%.4f alpha=%.4f a=%.4f b=%.4f, %d iterations\n",
              fit.params.r, fit.params.alpha, fit.params.a, fit.params.b, fit.iterations);
  EXPECT_NEAR(fit.params.r / 0.243, 1, 0.10);
  EXPECT_NEAR(fit.params.alpha / 4.414, 1, 0.10);
  EXPECT_NEAR(fit.params.a / 0.793, 1, 0.20);
  EXPECT_NEAR(fit.params.b / 2.426, 1, 0.20);
  EXPECT_LT(fit.iterations, 50);
}

TEST(clvBgNbd, OtherParametersRecovered) {
  const auto sim = testing::SimulateBgNbd(30000, 1.5, 20, 2.0, 5.0, 10, 100, 0, 11);
  const BgNbdFit fit = FitBgNbd(sim.x, sim.t_x, sim.T);
  EXPECT_TRUE(fit.converged);
  std::printf("BG/NBD recovery (30k, r=1.5 alpha=20 a=2 b=5): r=%.4f alpha=%.4f a=%.4f b=%.4f\n",
              fit.params.r, fit.params.alpha, fit.params.a, fit.params.b);
  EXPECT_NEAR(fit.params.r / 1.5, 1, 0.10);
  EXPECT_NEAR(fit.params.alpha / 20, 1, 0.10);
  EXPECT_NEAR(fit.params.a / 2.0, 1, 0.25);
  EXPECT_NEAR(fit.params.b / 5.0, 1, 0.25);
}

// Holdout: the fitted model's expected purchases add up to what the simulated customers did.
TEST(clvBgNbd, PredictsHoldoutPurchases) {
  const auto sim = testing::SimulateBgNbd(40000, 0.243, 4.414, 0.793, 2.426, 27, 39, 39, 99);
  const BgNbdFit fit = FitBgNbd(sim.x, sim.t_x, sim.T);
  ExpectedPurchases expected(fit.params);
  double predicted = 0, actual = 0;
  for (size_t i = 0; i < sim.x.size(); ++i) {
    predicted += expected(sim.x[i], sim.t_x[i], sim.T[i], 39);
    actual += sim.holdout[i];
  }
  std::printf("holdout purchases: predicted %.0f, actual %.0f\n", predicted, actual);
  EXPECT_NEAR(predicted / actual, 1, 0.05);
}

TEST(clvBgNbd, FitIsUnitInvariant) {
  const auto sim = testing::SimulateBgNbd(5000, 0.243, 4.414, 0.793, 2.426, 27, 39, 0, 5);
  std::vector<double> t_x_days(sim.t_x), T_days(sim.T);
  for (double& v : t_x_days) v *= 7;
  for (double& v : T_days) v *= 7;
  const BgNbdFit weeks = FitBgNbd(sim.x, sim.t_x, sim.T);
  const BgNbdFit days = FitBgNbd(sim.x, t_x_days, T_days);
  EXPECT_NEAR(days.params.r / weeks.params.r, 1, 1e-8);
  EXPECT_NEAR(days.params.alpha / weeks.params.alpha, 7, 7e-8);
  EXPECT_NEAR(days.params.a / weeks.params.a, 1, 1e-8);
  EXPECT_NEAR(days.params.b / weeks.params.b, 1, 1e-8);
}

TEST(clvBgNbd, EdgeCasesDoNotThrow) {
  // Every customer without a repeat purchase: the likelihood grows as r -> 0; the fit stops on
  // the bound and says it did not converge.
  std::vector<double> zeros(50, 0), T(50);
  for (size_t i = 0; i < T.size(); ++i) T[i] = 1 + static_cast<double>(i);
  const BgNbdFit none = FitBgNbd(zeros, zeros, T);
  EXPECT_FALSE(none.converged);
  EXPECT_TRUE(std::isfinite(none.loglik));
  for (double v : {none.params.r, none.params.alpha, none.params.a, none.params.b})
    EXPECT_TRUE(std::isfinite(v) && v > 0);
  const double e = ExpectedPurchases(none.params)(0, 0, 10, 26);
  EXPECT_TRUE(std::isfinite(e));
  EXPECT_GE(e, 0);
  EXPECT_LT(e, 1e-3);

  // One customer; customers all at T = 0; repeat purchases at t_x = 0.
  for (const auto& c :
       std::vector<std::vector<double>>{{3, 10, 20}, {0, 0, 0}, {2, 0, 0}, {1, 0, 5}}) {
    const BgNbdFit fit =
        FitBgNbd(std::vector<double>{c[0]}, std::vector<double>{c[1]}, std::vector<double>{c[2]});
    EXPECT_TRUE(std::isfinite(fit.loglik));
    const double value = ExpectedPurchases(fit.params)(c[0], c[1], c[2], 10);
    EXPECT_TRUE(std::isfinite(value)) << c[0] << " " << c[1] << " " << c[2];
  }
}

TEST(clvBgNbd, RejectsBadInputNamingIt) {
  auto message = [](std::vector<double> x, std::vector<double> t_x, std::vector<double> T) {
    try {
      FitBgNbd(x, t_x, T);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({1, NAN}, {1, 1}, {2, 2}).find("x[2]"), std::string::npos);
  EXPECT_NE(message({1.5}, {1}, {2}).find("whole number"), std::string::npos);
  EXPECT_NE(message({1}, {3}, {2}).find("t_x[1]"), std::string::npos);
  EXPECT_NE(message({1}, {1}, {INFINITY}).find("T[1]"), std::string::npos);
  EXPECT_NE(message({1}, {-1}, {2}).find("t_x[1]"), std::string::npos);
  EXPECT_NE(message({1, 2}, {1}, {2}).find("same length"), std::string::npos);
  EXPECT_NE(message({}, {}, {}).find("at least one customer"), std::string::npos);
}

TEST(clvBgNbd, AggregatesDuplicates) {
  const BgNbdData data =
      AggregateBgNbd(std::vector<double>{1, 0, 1, 0, 1}, std::vector<double>{2, 0, 2, 0, 3},
                     std::vector<double>{5, 4, 5, 4, 5});
  ASSERT_EQ(data.x.size(), 3u);
  EXPECT_EQ(data.weight, (std::vector<double>{2, 2, 1}));
  EXPECT_EQ(data.triple_of, (std::vector<uint32_t>{1, 0, 1, 0, 2}));
}

}  // namespace
}  // namespace ltv::clv

namespace ltv::clv {
namespace {

// Degenerate fits with a + b -> infinity (p all but fixed) use the delta method around the
// Beta mean; it meets the exact series at the switch (a + b + x = 1e7).
TEST(clvBgNbd, ConcentratedBetaMeetsSeries) {
  for (double t : {0.5, 3.0, 5.0}) {
    // a + b + x just below and just above 1e7 (b differs by 1: ~1e-7 of the value).
    const double below = ExpectedPurchases({0.7, 10, 3e6, 7e6 - 2.5})(2, 20, 30, t);
    const double above = ExpectedPurchases({0.7, 10, 3e6, 7e6 - 1.5})(2, 20, 30, t);
    EXPECT_TRUE(std::isfinite(below));
    EXPECT_NEAR(above / below, 1, 1e-6) << t;
  }
  // Large u with huge a and b: finite and positive (the series' ODE is too stiff there).
  const double far = ExpectedPurchases({0.67, 1.6, 6.8e6, 3.9e7})(3, 10, 20, 26);
  EXPECT_TRUE(std::isfinite(far));
  EXPECT_GT(far, 0);
}

}  // namespace
}  // namespace ltv::clv
