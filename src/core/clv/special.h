// Special functions the CLV models need beyond <cmath>: digamma and trigamma for the analytic
// gradients and Hessians of the log-likelihoods.
#pragma once

namespace ltv::clv {

// psi(x) = d/dx log Gamma(x), for x > 0 (relative error ~1e-15): upward recurrence to
// x >= 10, then the asymptotic series.
double Digamma(double x);
// psi'(x), for x > 0, the same way.
double Trigamma(double x);

}  // namespace ltv::clv
