#include "core/clv/special.h"

#include <cmath>

namespace ltv::clv {

double Digamma(double x) {
  // psi(x) = psi(x + 1) - 1/x moves x up to where the asymptotic series
  // psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k) is accurate to double precision.
  double shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const double f = 1 / (x * x);
  const double series =
      f *
      (1.0 / 12 -
       f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132 - f * (691.0 / 32760))))));
  return shift + std::log(x) - 0.5 / x - series;
}

double Trigamma(double x) {
  // psi'(x) = psi'(x + 1) + 1/x^2, then psi'(x) ~ 1/x + 1/(2x^2) + sum B_2k / x^(2k+1).
  double shift = 0;
  while (x < 10) {
    shift += 1 / (x * x);
    x += 1;
  }
  const double f = 1 / (x * x);
  const double series =
      f * (1.0 / 6 -
           f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * (5.0 / 66 - f * (691.0 / 2730))))));
  return shift + 1 / x + 0.5 * f + series / x;
}

}  // namespace ltv::clv
