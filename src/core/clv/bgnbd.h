// The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
// the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2)):
//  * while alive, a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha);
//  * after every repeat purchase the customer drops out for good with probability
//    p ~ Beta(a, b).
// A customer's data are x repeat purchases (purchases after the first), t_x the time of the last
// purchase and T the time of observation, both counted from the first purchase. Times are in
// one unit of the caller's choice; alpha comes out in that unit. Fitted by maximum likelihood
// (Newton in log-parameters, analytic gradient and Hessian) over identical (x, t_x, T) triples
// merged with weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/cancel.h"

namespace ltv::clv {

// A read-only view of doubles (C++17 has no std::span).
struct DoubleSpan {
  const double* data = nullptr;
  size_t size = 0;
  DoubleSpan() = default;
  DoubleSpan(const double* d, size_t n) : data(d), size(n) {}
  DoubleSpan(const std::vector<double>& v) : data(v.data()), size(v.size()) {}
  double operator[](size_t i) const { return data[i]; }
};

struct BgNbdParams {
  double r = 0;
  double alpha = 0;  // in the time unit of the data
  double a = 0;
  double b = 0;
};

struct BgNbdFit {
  BgNbdParams params;
  double loglik = 0;  // at params, summed over customers
  int iterations = 0;
  // False when the maximum was not found: iteration limit, or a parameter ran to its bound
  // (e.g. every customer has x = 0, whose likelihood grows without bound as r -> 0). The
  // best point reached is still returned.
  bool converged = false;
  int64_t customers = 0;
};

// Customers merged into distinct (x, t_x, T) triples, sorted by x, then t_x, then T.
struct BgNbdData {
  std::vector<double> x, t_x, T, weight;  // one entry per distinct triple
  std::vector<uint32_t> triple_of;        // customer i -> its triple
  int64_t customers = 0;
};

// Checks and merges: x a whole number >= 0, 0 <= t_x <= T, all finite; otherwise throws
// ltv::Error(kInvalidParameter) naming the array ("x", "t_x", "T") and the 1-based position.
// At most 2^32 - 1 customers.
BgNbdData AggregateBgNbd(DoubleSpan x, DoubleSpan t_x, DoubleSpan T);

BgNbdFit FitBgNbd(const BgNbdData& data, CancelCheck& cancel = CancelCheck::None());
BgNbdFit FitBgNbd(DoubleSpan x, DoubleSpan t_x, DoubleSpan T,
                  CancelCheck& cancel = CancelCheck::None());

// The log-likelihood of one customer (for tests and diagnostics).
double BgNbdLogLikelihood(const BgNbdParams& params, double x, double t_x, double T);

// P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r +
// x)).
double ProbabilityAlive(const BgNbdParams& params, double x, double t_x, double T);

// E[number of purchases in (T, T + t] | x, t_x, T]: the paper's equation (10),
//   (a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
//     * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))] * P(alive).
// Evaluated as a series in u = t / (alpha + T) without the removable singularity at a = 1,
// carried to large u by Taylor steps of its ODE (see bgnbd.cpp), to ~1e-12 relative for
// every u >= 0, a and b (also a, b -> infinity in degenerate fits). Keeps a
// per-x cache: reuse one object for many customers of the same parameters. Not thread-safe.
class ExpectedPurchases {
 public:
  explicit ExpectedPurchases(const BgNbdParams& params);
  double operator()(double x, double t_x, double T, double t);
  // The bracket times (a + b + x - 1) / (a - 1), before the P(alive) factor (tests).
  double Unconditional(double x, double T, double t);

 private:
  struct Series;  // per x: constants and the continuation grid (bgnbd.cpp)
  Series& SeriesFor(double x);
  BgNbdParams params_;
  std::map<double, std::unique_ptr<Series>> cache_;
  Series* last_ = nullptr;  // customers come sorted by x: most lookups hit the last one

 public:
  ~ExpectedPurchases();
  ExpectedPurchases(const ExpectedPurchases&) = delete;
  ExpectedPurchases& operator=(const ExpectedPurchases&) = delete;
};

}  // namespace ltv::clv
