#include "core/clv/clv.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "simulate.h"

namespace ltv::clv {
namespace {

// Customers in the product's units: frequency (purchase events), recency and tenure in days,
// average order value; simulated from the CDNOW BG/NBD and the paper's Gamma-Gamma values.
struct Features {
  std::vector<double> frequency, recency, tenure, value, holdout;
  ClvInput Input() const { return {frequency, recency, tenure, value}; }
};

Features Simulate(size_t n, uint64_t seed) {
  const auto sim = testing::SimulateBgNbd(n, 0.243, 4.414, 0.793, 2.426, 27, 39, 26, seed);
  std::mt19937_64 rng(seed + 1);
  std::gamma_distribution<double> nu(3.74, 1 / 15.44);
  Features f;
  for (size_t i = 0; i < n; ++i) {
    f.frequency.push_back(sim.x[i] + 1);
    f.tenure.push_back(sim.T[i] * 7);
    f.recency.push_back((sim.T[i] - sim.t_x[i]) * 7);
    std::gamma_distribution<double> z(6.25 * (sim.x[i] + 1), 1 / (nu(rng) * (sim.x[i] + 1)));
    f.value.push_back(z(rng));
    f.holdout.push_back(sim.holdout[i]);
  }
  return f;
}

TEST(clvFitAndScore, ScoresEveryCustomer) {
  const Features f = Simulate(20000, 42);
  const ClvResult result = FitAndScore(f.Input(), 26 * 7);
  const ClvParams& params = result.params;
  EXPECT_TRUE(params.bgnbd.converged);
  EXPECT_EQ(params.bgnbd.customers, 20000);
  EXPECT_NEAR(params.bgnbd.params.alpha / 4.414, 1, 0.15);  // weeks
  EXPECT_FALSE(params.gamma_gamma.fallback);
  // Most repeat buyers here have 2 purchases, which pin p down loosely (the Gamma-Gamma
  // recovery test has its own data).
  EXPECT_NEAR(params.gamma_gamma.params.p / 6.25, 1, 0.35);
  ASSERT_EQ(result.expected_purchases.size(), 20000u);
  double predicted = 0, actual = 0;
  for (size_t i = 0; i < 20000; ++i) {
    EXPECT_GE(result.expected_purchases[i], 0);
    EXPECT_GE(result.p_alive[i], 0);
    EXPECT_LE(result.p_alive[i], 1);
    EXPECT_TRUE(std::isfinite(result.expected_spend[i]));
    predicted += result.expected_purchases[i];
    actual += f.holdout[i];
  }
  EXPECT_NEAR(predicted / actual, 1, 0.06);
  // The same numbers one customer at a time, and with the parameters through JSON text.
  const ClvParams reread = ParamsFromJson(json::Parse(ToJson(params).Dump()));
  for (size_t i = 0; i < 20000; i += 97) {
    for (const ClvParams* p : {&params, &reread}) {
      const CustomerScore s =
          ScoreCustomer(*p, f.frequency[i], f.recency[i], f.tenure[i], f.value[i], 26 * 7);
      EXPECT_EQ(s.expected_purchases, result.expected_purchases[i]) << i;
      EXPECT_EQ(s.p_alive, result.p_alive[i]) << i;
      EXPECT_EQ(s.expected_spend, result.expected_spend[i]) << i;
    }
  }
  ClvResult scored;
  ScoreAll(reread, f.Input(), 26 * 7, scored);
  EXPECT_EQ(scored.expected_purchases, result.expected_purchases);
  EXPECT_EQ(scored.expected_spend, result.expected_spend);
}

TEST(clvFitAndScore, Deterministic) {
  const Features f = Simulate(5000, 7);
  const ClvResult a = FitAndScore(f.Input(), 180), b = FitAndScore(f.Input(), 180);
  EXPECT_EQ(ToJson(a.params).Dump(), ToJson(b.params).Dump());
  ASSERT_EQ(a.expected_spend.size(), b.expected_spend.size());
  EXPECT_EQ(0, std::memcmp(a.expected_spend.data(), b.expected_spend.data(),
                           a.expected_spend.size() * sizeof(double)));
  EXPECT_EQ(0, std::memcmp(a.p_alive.data(), b.p_alive.data(), a.p_alive.size() * sizeof(double)));
  // Input order does not change anyone's numbers (customers are merged and sorted first).
  Features r = f;
  for (auto* v : {&r.frequency, &r.recency, &r.tenure, &r.value})
    std::reverse(v->begin(), v->end());
  const ClvResult c = FitAndScore(r.Input(), 180);
  EXPECT_EQ(ToJson(a.params).Dump(), ToJson(c.params).Dump());
  for (size_t i = 0; i < f.frequency.size(); ++i)
    ASSERT_EQ(a.expected_spend[i], c.expected_spend[f.frequency.size() - 1 - i]);
}

TEST(clvFitAndScore, EdgeCases) {
  // One customer; frequency 0 (returns only) counts as no repeat purchase; negative value.
  const ClvResult one = FitAndScore({std::vector<double>{3}, std::vector<double>{10},
                                     std::vector<double>{100}, std::vector<double>{25}},
                                    90);
  EXPECT_TRUE(std::isfinite(one.expected_spend[0]));
  EXPECT_TRUE(one.params.gamma_gamma.fallback);
  const ClvResult mixed =
      FitAndScore({std::vector<double>{0, 1, 1, 2}, std::vector<double>{5, 0, 30, 3},
                   std::vector<double>{5, 0, 30, 40}, std::vector<double>{-20, 10, 0, -5}},
                  90);
  for (double v : mixed.expected_spend) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(mixed.p_alive[0], 1);
  EXPECT_EQ(mixed.params.gamma_gamma.customers, 0);
  EXPECT_EQ(mixed.params.gamma_gamma.mean_value, 10);  // the only positive value
  // Horizon 0: nothing expected.
  const Features f = Simulate(500, 3);
  const ClvResult zero = FitAndScore(f.Input(), 0);
  for (double v : zero.expected_purchases) EXPECT_EQ(v, 0);
}

TEST(clvFitAndScore, RejectsBadInputNamingIt) {
  auto message = [](std::vector<double> f, std::vector<double> r, std::vector<double> t,
                    std::vector<double> m, double horizon = 90) {
    try {
      FitAndScore({f, r, t, m}, horizon);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({1, 2}, {1}, {1, 2}, {1, 2}).find("same length"), std::string::npos);
  EXPECT_NE(message({1, -1}, {1, 1}, {1, 2}, {1, 2}).find("frequency[2]"), std::string::npos);
  EXPECT_NE(message({1, 2.5}, {1, 1}, {1, 2}, {1, 2}).find("frequency[2]"), std::string::npos);
  EXPECT_NE(message({1}, {NAN}, {1}, {1}).find("recency_days[1]"), std::string::npos);
  EXPECT_NE(message({1}, {5}, {1}, {1}).find("greater than tenure_days"), std::string::npos);
  EXPECT_NE(message({1}, {1}, {INFINITY}, {1}).find("tenure_days[1]"), std::string::npos);
  EXPECT_NE(message({1}, {1}, {1}, {NAN}).find("avg_order_value[1]"), std::string::npos);
  EXPECT_NE(message({1}, {1}, {1}, {1}, -1).find("horizon_days"), std::string::npos);
  EXPECT_NE(message({}, {}, {}, {}).find("at least one customer"), std::string::npos);
}

TEST(clvFitAndScore, ParamsFromJsonValidates) {
  auto message = [](const char* text) {
    try {
      ParamsFromJson(json::Parse(text));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const char* good =
      R"({"bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
          "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44, "mean_value": 35.2},
          "time_unit_days": 7})";
  EXPECT_EQ(message(good), "no error");
  EXPECT_NE(message("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"gamma_gamma": {}, "time_unit_days": 7})").find("\"bgnbd\" is missing"),
            std::string::npos);
  EXPECT_NE(message(R"({"bgnbd": {"r": 1, "alpha": -1, "a": 1, "b": 1}})").find("bgnbd.alpha"),
            std::string::npos);
  EXPECT_NE(message(R"({"bgnbd": {"r": 1, "alpha": 1, "a": 1}})").find("bgnbd.b is missing"),
            std::string::npos);
  EXPECT_NE(message(R"({"bgnbd": {"r": 1, "alpha": 1, "a": 1, "b": 1}, "time_unit_days": 7,
                        "gamma_gamma": {"p": 1, "q": 0.5, "v": 1, "mean_value": 1}})")
                .find("gamma_gamma.q"),
            std::string::npos);
  EXPECT_NE(message(R"({"bgnbd": {"r": 1, "alpha": 1, "a": 1, "b": "x"}})").find("a number"),
            std::string::npos);
  // Under fallback, p, q, v may be null; alpha in days (time_unit_days = 1) converts to weeks.
  const ClvParams p = ParamsFromJson(json::Parse(
      R"({"bgnbd": {"r": 0.243, "alpha": 30.898, "a": 0.793, "b": 2.426}, "time_unit_days": 1,
          "gamma_gamma": {"p": null, "q": null, "v": null, "fallback": true, "mean_value": 9}})"));
  EXPECT_NEAR(p.bgnbd.params.alpha, 4.414, 1e-12);
  EXPECT_EQ(ScoreCustomer(p, 1, 0, 10, 5, 7).expected_value, 9);
}

TEST(clvFitAndScore, Cancels) {
  const Features f = Simulate(50000, 9);
  int calls = 0;
  CancelCheck cancel([&] {
    if (++calls > 5) throw Interrupted();
  });
  EXPECT_THROW(FitAndScore(f.Input(), 180, cancel), Interrupted);
}

// One million customers, fit + score; the figure quoted in docs/clv.md comes from
// test/tools/clv_bench (Release build). Here only a loose bound, since unit tests may run in
// debug builds or under sanitizers.
TEST(clvFitAndScore, MillionCustomers) {
  const Features f = Simulate(1000000, 1);
  const auto start = std::chrono::steady_clock::now();
  const ClvResult result = FitAndScore(f.Input(), 180);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("1M customers: fit + score %.2f s, BG/NBD %d iterations, Gamma-Gamma %d\n", seconds,
              result.params.bgnbd.iterations, result.params.gamma_gamma.iterations);
  EXPECT_TRUE(result.params.bgnbd.converged);
  EXPECT_EQ(result.expected_spend.size(), 1000000u);
}

}  // namespace
}  // namespace ltv::clv
