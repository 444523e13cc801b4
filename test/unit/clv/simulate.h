// Simulated customers from the BG/NBD and Gamma-Gamma models, for recovery tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace ltv::clv::testing {

struct SimulatedCustomers {
  std::vector<double> x, t_x, T;  // calibration period, in the unit of the parameters
  std::vector<double> holdout;    // purchases in (T, T + horizon]
};

// Each customer: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); a first purchase at time 0, then
// a Poisson process of rate lambda; after each repeat purchase the customer drops out with
// probability p. T uniform in [t_min, t_max].
inline SimulatedCustomers SimulateBgNbd(size_t n, double r, double alpha, double a, double b,
                                        double t_min, double t_max, double horizon, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda_dist(r, 1 / alpha), ga(a, 1), gb(b, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  SimulatedCustomers out;
  for (size_t i = 0; i < n; ++i) {
    const double lambda = lambda_dist(rng);
    const double ya = ga(rng), yb = gb(rng);
    const double p = ya / (ya + yb);
    const double T = t_min + (t_max - t_min) * uniform(rng);
    double t = 0, last = 0;
    double x = 0, future = 0;
    bool alive = true;
    while (alive && lambda > 0) {
      t += -std::log1p(-uniform(rng)) / lambda;
      if (t > T + horizon) break;
      if (t <= T) {
        x += 1;
        last = t;
      } else {
        future += 1;
      }
      if (uniform(rng) < p) alive = false;
    }
    out.x.push_back(x);
    out.t_x.push_back(last);
    out.T.push_back(T);
    out.holdout.push_back(future);
  }
  return out;
}

struct SimulatedValues {
  std::vector<double> n, m;
};

// nu ~ Gamma(q, rate v); each of n transactions ~ Gamma(p, rate nu); m their mean.
inline SimulatedValues SimulateGammaGamma(size_t customers, double p, double q, double v,
                                          uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> nu_dist(q, 1 / v);
  std::uniform_int_distribution<int> n_dist(2, 8);
  SimulatedValues out;
  for (size_t i = 0; i < customers; ++i) {
    const double nu = nu_dist(rng);
    const int n = n_dist(rng);
    std::gamma_distribution<double> z(p, 1 / nu);
    double sum = 0;
    for (int k = 0; k < n; ++k) sum += z(rng);
    out.n.push_back(n);
    out.m.push_back(sum / n);
  }
  return out;
}

}  // namespace ltv::clv::testing
