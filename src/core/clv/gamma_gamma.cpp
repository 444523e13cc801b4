#include "core/clv/gamma_gamma.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/clv/optimize.h"
#include "core/clv/special.h"
#include "core/error.h"

namespace ltv::clv {

namespace {

// Distinct (n, m) pairs with weights, grouped by n; m already divided by the money scale.
struct Pairs {
  std::vector<double> m, log_m, weight;
  struct Group {
    double n;
    size_t begin, end;
    double weight, sum_log_m;  // sum_log_m weighted
  };
  std::vector<Group> groups;
};

// Log-likelihood over all pairs (see GammaGammaLogLikelihood) and its gradient and Hessian in
// theta = (log p, log(q - 1), log v). Terms in n alone are computed once per distinct n; per
// pair only log(n m + v) and 1 / (n m + v) are needed.
double GammaGammaObjective(const Pairs& pairs, const Eigen::VectorXd& theta,
                           Eigen::VectorXd& gradient, Eigen::MatrixXd& hessian) {
  const double p = std::exp(theta[0]), q1 = std::exp(theta[1]), v = std::exp(theta[2]);
  const double q = 1 + q1;
  if (!(std::isfinite(p) && std::isfinite(q) && std::isfinite(v) && p > 0 && v > 0))
    return -std::numeric_limits<double>::infinity();
  const double log_v = std::log(v);
  const double lgamma_q = std::lgamma(q), psi_q = Digamma(q), tri_q = Trigamma(q);
  double ll = 0;
  double g[3] = {0, 0, 0};
  double h[3][3] = {};
  for (const Pairs::Group& group : pairs.groups) {
    const double n = group.n, W = group.weight;
    const double pn = p * n, log_n = std::log(n);
    double s_l = 0, s_i = 0, s_i2 = 0;
    for (size_t j = group.begin; j < group.end; ++j) {
      const double s = n * pairs.m[j] + v;
      const double is = 1 / s;
      s_l += pairs.weight[j] * std::log(s);
      s_i += pairs.weight[j] * is;
      s_i2 += pairs.weight[j] * is * is;
    }
    const double psi_pnq = Digamma(pn + q), tri_pnq = Trigamma(pn + q);
    ll += W * (std::lgamma(pn + q) - std::lgamma(pn) - lgamma_q + q * log_v + pn * log_n) +
          (pn - 1) * group.sum_log_m - (pn + q) * s_l;
    g[0] += n * (W * (psi_pnq - Digamma(pn) + log_n) + group.sum_log_m - s_l);
    g[1] += W * (psi_pnq - psi_q + log_v) - s_l;
    g[2] += W * q / v - (pn + q) * s_i;
    h[0][0] += n * n * W * (tri_pnq - Trigamma(pn));
    h[0][1] += n * W * tri_pnq;
    h[0][2] -= n * s_i;
    h[1][1] += W * (tri_pnq - tri_q);
    h[1][2] += W / v - s_i;
    h[2][2] += -W * q / (v * v) + (pn + q) * s_i2;
  }
  // theta = log(p), log(q - 1), log(v): d/dtheta_i = J_i d/dx_i with J = (p, q - 1, v), and
  // d2/dtheta_i dtheta_j = J_i J_j H_ij + [i = j] J_i g_i.
  const double jac[3] = {p, q1, v};
  for (int i = 0; i < 3; ++i) {
    gradient[i] = jac[i] * g[i];
    for (int j = i; j < 3; ++j) {
      double value = jac[i] * jac[j] * h[i][j];
      if (i == j) value += jac[i] * g[i];
      hessian(i, j) = value;
      hessian(j, i) = value;
    }
  }
  return ll;
}

}  // namespace

double GammaGammaLogLikelihood(const GammaGammaParams& params, double n, double m) {
  const double p = params.p, q = params.q, v = params.v, pn = p * n;
  return std::lgamma(pn + q) - std::lgamma(pn) - std::lgamma(q) + q * std::log(v) +
         (pn - 1) * std::log(m) + pn * std::log(n) - (pn + q) * std::log(n * m + v);
}

GammaGammaFit FitGammaGamma(DoubleSpan n, DoubleSpan m, CancelCheck& cancel) {
  if (n.size != m.size)
    throw Error(ErrorKind::kInvalidParameter, "clv: n and m must have the same length");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  GammaGammaFit fit;
  fit.customers = static_cast<int64_t>(n.size);
  fit.params = {nan, nan, nan};
  std::vector<std::pair<double, double>> keys(n.size);
  double sum_m = 0;
  for (size_t i = 0; i < n.size; ++i) {
    if (!std::isfinite(n[i]) || n[i] < 1 || n[i] != std::floor(n[i]))
      throw Error(ErrorKind::kInvalidParameter,
                  "clv: n[" + std::to_string(i + 1) + "] is not a whole number >= 1");
    if (!std::isfinite(m[i]) || m[i] <= 0)
      throw Error(ErrorKind::kInvalidParameter,
                  "clv: m[" + std::to_string(i + 1) + "] is not a finite number > 0");
    keys[i] = {n[i], m[i]};
  }
  // Sorted first, so that the sums (and the fit) do not depend on the input order.
  std::sort(keys.begin(), keys.end());
  for (const auto& key : keys) sum_m += key.second;
  if (n.size == 0) {
    fit.fallback = true;
    fit.mean_value = nan;
    return fit;
  }
  const double scale = sum_m / static_cast<double>(n.size);
  fit.mean_value = scale;
  if (n.size < 2) {
    fit.fallback = true;
    return fit;
  }
  Pairs pairs;
  for (size_t k = 0; k < keys.size(); ++k) {
    const double nk = keys[k].first, mk = keys[k].second / scale;
    if (pairs.groups.empty() || pairs.groups.back().n != nk)
      pairs.groups.push_back({nk, pairs.m.size(), pairs.m.size(), 0, 0});
    if (pairs.m.empty() || pairs.groups.back().end == pairs.groups.back().begin ||
        pairs.m.back() != mk) {
      pairs.m.push_back(mk);
      pairs.log_m.push_back(std::log(mk));
      pairs.weight.push_back(0);
    }
    Pairs::Group& group = pairs.groups.back();
    group.end = pairs.m.size();
    group.weight += 1;
    group.sum_log_m += pairs.log_m.back();
    pairs.weight.back() += 1;
  }
  // Start at p = 1, q = 2, v = 1 (the mean of m after scaling), which gives E[M] = the sample
  // mean.
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(3);
  NewtonOptions options;
  const NewtonResult result =
      MaximizeNewton([&](const Eigen::VectorXd& t, Eigen::VectorXd& g,
                         Eigen::MatrixXd& h) { return GammaGammaObjective(pairs, t, g, h); },
                     theta, options, cancel);
  fit.params = {std::exp(result.theta[0]), 1 + std::exp(result.theta[1]),
                std::exp(result.theta[2]) * scale};
  // The log-likelihood in the data's money unit: each m's density gains 1 / scale.
  fit.loglik = result.value - static_cast<double>(n.size) * std::log(scale);
  fit.iterations = result.iterations;
  fit.converged = result.converged;
  if (result.theta[1] <= options.lower) {
    // q -> 1: the mean value is infinite under the model; use the sample mean instead.
    fit.fallback = true;
  } else {
    fit.mean_value = fit.params.p * fit.params.v / (fit.params.q - 1);
  }
  return fit;
}

double ExpectedAverageValue(const GammaGammaFit& fit, double n, double m) {
  if (!(n >= 2 && m > 0)) return fit.mean_value;
  if (fit.fallback) return m;
  const GammaGammaParams& p = fit.params;
  return p.p * (p.v + n * m) / (p.p * n + p.q - 1);
}

}  // namespace ltv::clv
