// The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV:
// using iso-value curves for customer base analysis", JMR 42(4); Fader & Hardie's note "The
// Gamma-Gamma model of monetary value"): a customer's transaction values are
// Gamma(p, nu), nu ~ Gamma(q, v) across customers, independent of the purchase process. The
// data per customer: n transactions and their mean value m > 0. Fitted by maximum likelihood
// (Newton in theta = log(p, q - 1, v), so q > 1 always: the population mean p v / (q - 1) is
// then finite).
#pragma once

#include <cstdint>

#include "core/cancel.h"
#include "core/clv/bgnbd.h"

namespace ltv::clv {

struct GammaGammaParams {
  double p = 0;
  double q = 0;  // > 1
  double v = 0;  // in the money unit of the data
};

struct GammaGammaFit {
  GammaGammaParams params;  // NaN when there was no customer to fit
  double loglik = 0;
  int iterations = 0;
  bool converged = false;
  int64_t customers = 0;
  // True when the fit is unusable (fewer than 2 customers, or q ran to its bound q -> 1, where
  // the mean value is infinite): then E[M] is the customer's own mean value when the model
  // would have used it, and mean_value (the customers' sample mean) otherwise.
  bool fallback = false;
  // The population mean value: p v / (q - 1), or the sample mean under fallback.
  double mean_value = 0;
};

// n: transactions per customer (whole numbers >= 1), m: their mean value (finite, > 0);
// otherwise throws ltv::Error(kInvalidParameter) naming the position. Money is rescaled
// internally by the mean of m; v comes back in the unit of m.
GammaGammaFit FitGammaGamma(DoubleSpan n, DoubleSpan m, CancelCheck& cancel = CancelCheck::None());

// The log-likelihood of one customer's mean (for tests):
// lgamma(p n + q) - lgamma(p n) - lgamma(q) + q log v + (p n - 1) log m + p n log n
//   - (p n + q) log(n m + v).
double GammaGammaLogLikelihood(const GammaGammaParams& params, double n, double m);

// E[M | n, m] = p (v + n m) / (p n + q - 1) for a customer the model covers (n >= 2, m > 0),
// mean_value for everyone else (one-time buyers, non-positive mean values); see `fallback`.
double ExpectedAverageValue(const GammaGammaFit& fit, double n, double m);

}  // namespace ltv::clv
