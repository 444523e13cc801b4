// A small deterministic Newton maximizer for the CLV models' log-likelihoods, in
// log-parameters (so every parameter stays positive), inside a box.
#pragma once

#include <Eigen/Dense>
#include <functional>

#include "core/cancel.h"

namespace ltv::clv {

// Returns the objective at theta and fills its gradient and Hessian. A non-finite value means
// "outside the domain": the line search backs off from it.
using Objective = std::function<double(const Eigen::VectorXd& theta, Eigen::VectorXd& gradient,
                                       Eigen::MatrixXd& hessian)>;

struct NewtonOptions {
  int max_iterations = 200;
  // Every coordinate of theta stays in [lower, upper]: log-parameters beyond +-30 are a
  // degenerate fit (the maximum lies at infinity), not a number anyone should use.
  double lower = -30;
  double upper = 30;
  // Converged when the Newton decrement g' (-H)^-1 g (twice the predicted gain) is below
  // tolerance * max(1, |f|); the last step is still taken, so parameters are then accurate to
  // about the square root of that relative to their standard errors, and better in practice.
  double tolerance = 1e-13;
  // Stop (not converged) after stall_iterations accepted steps in a row that each gain less
  // than stall_tolerance * max(1, |f|).
  double stall_tolerance = 1e-10;
  int stall_iterations = 5;
};

struct NewtonResult {
  Eigen::VectorXd theta;
  double value = 0;
  int iterations = 0;
  // False when the iteration limit was hit, the line search could not improve a point that is
  // not stationary, or a coordinate ended on the box (the maximum is at infinity).
  bool converged = false;
};

// Damped Newton: the step solves (-H + mu I) d = g with the smallest mu (0, then growing
// tenfold) for which the matrix is positive definite, coordinates pinned on the box with the
// gradient pointing out are held, and a backtracking line search (Armijo) keeps the objective
// increasing. Deterministic: no randomness, a fixed order of operations. Calls cancel.Check()
// once per evaluation. Throws only for a non-finite objective at the start.
NewtonResult MaximizeNewton(const Objective& objective, Eigen::VectorXd theta,
                            const NewtonOptions& options, CancelCheck& cancel);

}  // namespace ltv::clv
