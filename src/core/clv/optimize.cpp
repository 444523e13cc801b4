#include "core/clv/optimize.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace ltv::clv {

namespace {

bool AllFinite(const Eigen::VectorXd& g, const Eigen::MatrixXd& h) {
  return g.allFinite() && h.allFinite();
}

}  // namespace

NewtonResult MaximizeNewton(const Objective& objective, Eigen::VectorXd theta,
                            const NewtonOptions& options, CancelCheck& cancel) {
  const Eigen::Index n = theta.size();
  for (Eigen::Index i = 0; i < n; ++i)
    theta[i] = std::clamp(theta[i], options.lower, options.upper);
  Eigen::VectorXd gradient(n), trial_gradient(n);
  Eigen::MatrixXd hessian(n, n), trial_hessian(n, n);
  cancel.Check();
  double value = objective(theta, gradient, hessian);
  if (!std::isfinite(value) || !AllFinite(gradient, hessian))
    throw Error(ErrorKind::kInternal, "clv: the log-likelihood is not finite at the start point");

  NewtonResult result;
  int stalled = 0;
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    result.iterations = iteration;
    // Coordinates on the box whose gradient points outward are held for this step.
    std::vector<bool> held(static_cast<size_t>(n), false);
    bool any_on_box = false;
    for (Eigen::Index i = 0; i < n; ++i) {
      const bool at_lower = theta[i] <= options.lower && gradient[i] < 0;
      const bool at_upper = theta[i] >= options.upper && gradient[i] > 0;
      held[i] = at_lower || at_upper;
      any_on_box = any_on_box || theta[i] <= options.lower || theta[i] >= options.upper;
    }
    Eigen::MatrixXd m = -hessian;
    Eigen::VectorXd g = gradient;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!held[i]) continue;
      m.row(i).setZero();
      m.col(i).setZero();
      m(i, i) = 1;
      g[i] = 0;
    }
    if (g.isZero(0)) {
      // Stationary (flat likelihood, e.g. one customer with x = 0 and T = 0).
      result.converged = !any_on_box;
      break;
    }
    // The smallest damping that makes the system positive definite.
    double scale = 0;
    for (Eigen::Index i = 0; i < n; ++i) scale = std::max(scale, std::abs(m(i, i)));
    scale = std::max(scale, 1e-300);
    Eigen::VectorXd step;
    double mu = 0;
    for (int attempt = 0; attempt < 40; ++attempt) {
      Eigen::MatrixXd damped = m;
      damped.diagonal().array() += mu;
      Eigen::LLT<Eigen::MatrixXd> llt(damped);
      if (llt.info() == Eigen::Success) {
        step = llt.solve(g);
        if (step.allFinite() && g.dot(step) > 0) break;
      }
      step.resize(0);
      mu = mu == 0 ? 1e-10 * scale : mu * 10;
    }
    if (step.size() == 0) break;  // no ascent direction: leave converged = false
    const double decrement = g.dot(step);
    const bool small = decrement <= options.tolerance * std::max(1.0, std::abs(value));

    // Longest step along d inside the box.
    double max_length = 1;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (step[i] > 0 && theta[i] + step[i] > options.upper)
        max_length = std::min(max_length, (options.upper - theta[i]) / step[i]);
      if (step[i] < 0 && theta[i] + step[i] < options.lower)
        max_length = std::min(max_length, (options.lower - theta[i]) / step[i]);
    }
    double length = max_length;
    bool accepted = false;
    Eigen::VectorXd trial(n);
    double trial_value = 0;
    for (int halving = 0; halving < 60; ++halving) {
      trial = theta + length * step;
      for (Eigen::Index i = 0; i < n; ++i)
        trial[i] = std::clamp(trial[i], options.lower, options.upper);
      cancel.Check();
      trial_value = objective(trial, trial_gradient, trial_hessian);
      if (std::isfinite(trial_value) && AllFinite(trial_gradient, trial_hessian) &&
          trial_value >= value + 1e-4 * length * decrement) {
        accepted = true;
        break;
      }
      // At the optimum the gain is below rounding: a step that does not lose is still taken.
      if (small && std::isfinite(trial_value) && AllFinite(trial_gradient, trial_hessian) &&
          trial_value >= value) {
        accepted = true;
        break;
      }
      length *= 0.5;
    }
    if (accepted) {
      // A run of steps that gain almost nothing is a ridge towards a maximum at infinity
      // (e.g. a, b -> infinity when nobody drops out): the likelihood is flat there, further
      // steps move parameters that no longer change any expectation, and each costs a pass
      // over every customer group (~0.4 s for 200,000 groups).
      stalled = trial_value - value <= options.stall_tolerance * std::max(1.0, std::abs(value))
                    ? stalled + 1
                    : 0;
      theta = trial;
      value = trial_value;
      gradient = trial_gradient;
      hessian = trial_hessian;
    }
    if (small || !accepted) {
      // Stationary (or as good as rounding allows): converged unless pinned on the box.
      bool on_box = false;
      for (Eigen::Index i = 0; i < n; ++i)
        on_box = on_box || theta[i] <= options.lower || theta[i] >= options.upper;
      result.converged = small && !on_box && !any_on_box;
      break;
    }
    if (stalled >= options.stall_iterations) break;  // converged stays false: a ridge
  }
  result.theta = theta;
  result.value = value;
  return result;
}

}  // namespace ltv::clv
