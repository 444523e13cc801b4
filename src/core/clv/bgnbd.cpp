#include "core/clv/bgnbd.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/clv/optimize.h"
#include "core/clv/special.h"
#include "core/error.h"

namespace ltv::clv {

namespace {

std::string Position(const char* name, size_t i, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return std::string(name) + "[" + std::to_string(i + 1) + "] = " + buf;
}

[[noreturn]] void Reject(const std::string& message) {
  throw Error(ErrorKind::kInvalidParameter, "clv: " + message);
}

struct Key {
  double x, t_x, T;
  uint32_t index;
};

// Customers with the same x, in [begin, end) of the triples.
struct Group {
  double x;
  size_t begin, end;
  double weight;
};

std::vector<Group> GroupsByX(const BgNbdData& data) {
  std::vector<Group> groups;
  for (size_t j = 0; j < data.x.size(); ++j) {
    if (groups.empty() || groups.back().x != data.x[j]) groups.push_back({data.x[j], j, j, 0});
    groups.back().end = j + 1;
    groups.back().weight += data.weight[j];
  }
  return groups;
}

// The log-likelihood over all triples and its gradient and Hessian in theta = log(r, alpha,
// a, b). Per customer (the paper's equation 6, as in the `lifetimes` package):
//   ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4)),
//   A1 = lgamma(r + x) - lgamma(r) + r log(alpha),
//   A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x),
//   A3 = -(r + x) log(alpha + T),  A4 = log(a) - log(b + x - 1) - (r + x) log(alpha + t_x).
// A1 and A2 depend on x only and are computed once per distinct x. The mixture's Hessian is
// w3 H3 + w4 H4 + w3 w4 (g3 - g4)(g3 - g4)' with w the softmax weights of A3, A4.
double BgNbdObjective(const BgNbdData& data, const std::vector<Group>& groups,
                      const Eigen::VectorXd& theta, Eigen::VectorXd& gradient,
                      Eigen::MatrixXd& hessian) {
  const double r = std::exp(theta[0]), al = std::exp(theta[1]), a = std::exp(theta[2]),
               b = std::exp(theta[3]);
  if (!(r > 0 && al > 0 && a > 0 && b > 0 && std::isfinite(r) && std::isfinite(al) &&
        std::isfinite(a) && std::isfinite(b)))
    return -std::numeric_limits<double>::infinity();
  const double log_al = std::log(al);
  double ll = 0;
  double g[4] = {0, 0, 0, 0};
  double h[4][4] = {};
  const double* T = data.T.data();
  const double* tx = data.t_x.data();
  const double* w = data.weight.data();
  for (const Group& group : groups) {
    const double x = group.x, W = group.weight;
    if (x == 0) {
      // A1 = r log(alpha), A2 = 0, no second component.
      ll += W * r * log_al;
      g[0] += W * log_al;
      g[1] += W * r / al;
      h[0][1] += W / al;
      h[1][1] -= W * r / (al * al);
      double s_ll = 0, s_l = 0, s_i = 0, s_i2 = 0;
      for (size_t j = group.begin; j < group.end; ++j) {
        const double s = al + T[j];
        const double ls = std::log(s), is = 1 / s;
        s_l += w[j] * ls;
        s_i += w[j] * is;
        s_i2 += w[j] * is * is;
      }
      s_ll = -r * s_l;
      ll += s_ll;
      g[0] -= s_l;
      g[1] -= r * s_i;
      h[0][1] -= s_i;
      h[1][1] += r * s_i2;
      continue;
    }
    const double rx = r + x, bx1 = b + x - 1;
    ll += W * (std::lgamma(rx) - std::lgamma(r) + r * log_al + std::lgamma(a + b) +
               std::lgamma(b + x) - std::lgamma(b) - std::lgamma(a + b + x));
    const double psi_ab = Digamma(a + b), psi_abx = Digamma(a + b + x);
    const double tri_ab = Trigamma(a + b), tri_abx = Trigamma(a + b + x);
    g[0] += W * (Digamma(rx) - Digamma(r) + log_al);
    g[1] += W * r / al;
    g[2] += W * (psi_ab - psi_abx);
    g[3] += W * (psi_ab + Digamma(b + x) - Digamma(b) - psi_abx);
    h[0][0] += W * (Trigamma(rx) - Trigamma(r));
    h[0][1] += W / al;
    h[1][1] -= W * r / (al * al);
    h[2][2] += W * (tri_ab - tri_abx);
    h[2][3] += W * (tri_ab - tri_abx);
    h[3][3] += W * (tri_ab + Trigamma(b + x) - Trigamma(b) - tri_abx);

    const double c4 = std::log(a) - std::log(bx1);
    // Sums over the group's triples, weighted by w (and by w3 w4 for the outer product).
    double s_ll = 0, s_gr = 0, s_gal = 0, s_w4 = 0, s_hral = 0, s_halal = 0;
    double s_c = 0, s_cdr = 0, s_cdal = 0, s_cdrdr = 0, s_cdrdal = 0, s_cdaldal = 0;
    for (size_t j = group.begin; j < group.end; ++j) {
      const double s3 = al + T[j], s4 = al + tx[j];
      const double l3 = std::log(s3), l4 = std::log(s4);
      const double i3 = 1 / s3, i4 = 1 / s4;
      const double a3 = -rx * l3, a4 = c4 - rx * l4;
      const double d = a4 - a3;
      const double e = std::exp(-std::abs(d));
      const double big = 1 / (1 + e), small = e * big;
      const double w3 = d > 0 ? small : big, w4 = d > 0 ? big : small;
      const double wj = w[j];
      s_ll += wj * (std::max(a3, a4) + std::log1p(e));
      s_gr -= wj * (w3 * l3 + w4 * l4);
      s_gal -= wj * (w3 * i3 + w4 * i4);
      s_w4 += wj * w4;
      s_halal += wj * (w3 * i3 * i3 + w4 * i4 * i4);
      const double c = wj * w3 * w4;
      const double dr = l4 - l3, dal = rx * (i4 - i3);
      s_c += c;
      s_cdr += c * dr;
      s_cdal += c * dal;
      s_cdrdr += c * dr * dr;
      s_cdrdal += c * dr * dal;
      s_cdaldal += c * dal * dal;
    }
    s_hral = s_gal;  // d2 A/dr dalpha = -1/(alpha + t) = dA/dalpha / (r + x)
    ll += s_ll;
    g[0] += s_gr;
    g[1] += rx * s_gal;
    g[2] += s_w4 / a;
    g[3] -= s_w4 / bx1;
    h[0][1] += s_hral;
    h[1][1] += rx * s_halal;
    h[2][2] -= s_w4 / (a * a);
    h[3][3] += s_w4 / (bx1 * bx1);
    // Outer product of delta = (l4 - l3, (r + x)(i4 - i3), -1/a, 1/(b + x - 1)).
    const double da = -1 / a, db = 1 / bx1;
    h[0][0] += s_cdrdr;
    h[0][1] += s_cdrdal;
    h[1][1] += s_cdaldal;
    h[0][2] += s_cdr * da;
    h[0][3] += s_cdr * db;
    h[1][2] += s_cdal * da;
    h[1][3] += s_cdal * db;
    h[2][2] += s_c * da * da;
    h[2][3] += s_c * da * db;
    h[3][3] += s_c * db * db;
  }
  // Chain rule to log-parameters: d/dtheta_i = p_i d/dp_i,
  // d2/dtheta_i dtheta_j = p_i p_j H_ij + [i = j] p_i g_i.
  const double p[4] = {r, al, a, b};
  for (int i = 0; i < 4; ++i) {
    gradient[i] = p[i] * g[i];
    for (int j = i; j < 4; ++j) {
      double v = p[i] * p[j] * h[i][j];
      if (i == j) v += p[i] * g[i];
      hessian(i, j) = v;
      hessian(j, i) = v;
    }
  }
  return ll;
}

}  // namespace

BgNbdData AggregateBgNbd(DoubleSpan x, DoubleSpan t_x, DoubleSpan T) {
  const size_t n = x.size;
  if (t_x.size != n || T.size != n)
    Reject("x, t_x and T must have the same length (" + std::to_string(x.size) + ", " +
           std::to_string(t_x.size) + ", " + std::to_string(T.size) + ")");
  if (n > std::numeric_limits<uint32_t>::max()) Reject("too many customers");
  std::vector<Key> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const double xi = x[i], ti = t_x[i], Ti = T[i];
    if (!std::isfinite(xi) || xi < 0 || xi != std::floor(xi))
      Reject(Position("x", i, xi) + " is not a whole number >= 0");
    if (!std::isfinite(Ti) || Ti < 0) Reject(Position("T", i, Ti) + " is not a finite number >= 0");
    if (!std::isfinite(ti) || ti < 0 || ti > Ti)
      Reject(Position("t_x", i, ti) + " is not between 0 and T");
    keys[i] = {xi, ti, Ti, static_cast<uint32_t>(i)};
  }
  // Sorted with the index as the last key: a total order, so the result is deterministic.
  std::sort(keys.begin(), keys.end(), [](const Key& l, const Key& r) {
    if (l.x != r.x) return l.x < r.x;
    if (l.t_x != r.t_x) return l.t_x < r.t_x;
    if (l.T != r.T) return l.T < r.T;
    return l.index < r.index;
  });
  BgNbdData data;
  data.customers = static_cast<int64_t>(n);
  data.triple_of.resize(n);
  for (size_t k = 0; k < n; ++k) {
    const Key& key = keys[k];
    if (k == 0 || key.x != data.x.back() || key.t_x != data.t_x.back() || key.T != data.T.back()) {
      data.x.push_back(key.x);
      data.t_x.push_back(key.t_x);
      data.T.push_back(key.T);
      data.weight.push_back(0);
    }
    data.weight.back() += 1;
    data.triple_of[key.index] = static_cast<uint32_t>(data.x.size() - 1);
  }
  return data;
}

BgNbdFit FitBgNbd(const BgNbdData& data, CancelCheck& cancel) {
  BgNbdFit fit;
  fit.customers = data.customers;
  if (data.x.empty()) Reject("the BG/NBD model needs at least one customer");
  const std::vector<Group> groups = GroupsByX(data);
  // Start: r = 1 and alpha from the mean purchase rate (sum x / sum T), so that the start (and
  // so the whole iteration, which is invariant under a change of time unit in log-parameters)
  // scales with the data's time unit; a = b = 1.
  double sum_x = 0, sum_T = 0, sum_w = 0;
  for (size_t j = 0; j < data.x.size(); ++j) {
    sum_x += data.weight[j] * data.x[j];
    sum_T += data.weight[j] * data.T[j];
    sum_w += data.weight[j];
  }
  double alpha0 = 1;
  if (sum_T > 0) alpha0 = sum_x > 0 ? sum_T / sum_x : 100 * sum_T / sum_w;
  Eigen::VectorXd theta(4);
  theta << 0, std::log(alpha0), 0, 0;
  NewtonOptions options;
  const NewtonResult result =
      MaximizeNewton([&](const Eigen::VectorXd& t, Eigen::VectorXd& g,
                         Eigen::MatrixXd& h) { return BgNbdObjective(data, groups, t, g, h); },
                     theta, options, cancel);
  fit.params = {std::exp(result.theta[0]), std::exp(result.theta[1]), std::exp(result.theta[2]),
                std::exp(result.theta[3])};
  fit.loglik = result.value;
  fit.iterations = result.iterations;
  fit.converged = result.converged;
  return fit;
}

BgNbdFit FitBgNbd(DoubleSpan x, DoubleSpan t_x, DoubleSpan T, CancelCheck& cancel) {
  return FitBgNbd(AggregateBgNbd(x, t_x, T), cancel);
}

double BgNbdLogLikelihood(const BgNbdParams& p, double x, double t_x, double T) {
  const double a1 = std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha);
  const double a2 =
      std::lgamma(p.a + p.b) + std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
  const double a3 = -(p.r + x) * std::log(p.alpha + T);
  if (x == 0) return a1 + a2 + a3;
  const double a4 = std::log(p.a) - std::log(p.b + x - 1) - (p.r + x) * std::log(p.alpha + t_x);
  const double m = std::max(a3, a4);
  return a1 + a2 + m + std::log(std::exp(a3 - m) + std::exp(a4 - m));
}

double ProbabilityAlive(const BgNbdParams& p, double x, double t_x, double T) {
  if (x == 0) return 1;
  // log of a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x); the ratio as
  // 1 + (T - t_x) / (alpha + t_x) keeps its digits when T - t_x is small against alpha.
  const double l =
      std::log(p.a) - std::log(p.b + x - 1) + (p.r + x) * std::log1p((T - t_x) / (p.alpha + t_x));
  return 1 / (1 + std::exp(l));
}

// E[Y(t)] without the P(alive) factor. With A = r + x, c = a + b + x - 1, a' = a - 1 and
// u = t / (alpha + T) (so z = u / (1 + u)), Pfaff's transformation turns the paper's bracket
// into  1 - (1 - z)^A 2F1(A, b + x; c; z) = 1 - 2F1(a', A; c; -u),  and since
// (a')_k = a' (a)_{k-1} and c / (c)_k = 1 / (c + 1)_{k-1}:
//   E[Y(t)] / P(alive) = c / a' * bracket = P(u)
//     = sum_{k>=1} (-1)^(k+1) (a)_{k-1} (A)_k / ((c + 1)_{k-1} k!) u^k,
// a series without the removable singularity at a = 1 and none at c = 0, whose coefficients
// never grow with a or b ((a)_{k-1} / (c + 1)_{k-1} <= 1), so degenerate fits (a, b -> inf)
// are fine too. It is summed directly where A u <= 1 and u <= 1/2 (the alternating terms then
// shrink from the start: no cancellation); beyond, P is carried along the fixed grid
// u_{j+1} = 1.25 u_j by Taylor steps of the ODE it satisfies,
//   u (1 + u) P'' + (c + (a' + A + 1) u) P' + a' A P = c A,
// whose singular points u = 0 and u = -1 are at least u_j away, so a step of at most u_j / 4
// converges like 4^-n. On the disk of such a step |1 + u| >= 1, so nothing there is large
// and the steps are stable. The grid depends only on the parameters and x: every customer's
// value is the same whichever others were scored before it.
struct ExpectedPurchases::Series {
  double x, a, ap, c, A;
  std::vector<double> u, P, dP;  // the grid: u_j, P(u_j), P'(u_j)
};

namespace {

constexpr double kSeriesEpsilon = 1e-17;
constexpr int kMaxTerms = 5000;

// P and P' at u (A u <= 1, u <= 1/2) by the power series.
void DirectP(double a, double A, double c, double u, double* value, double* derivative) {
  double coefficient = A;  // (a)_0 (A)_1 / ((c + 1)_0 1!), sign included, without u^k
  double uk = u;           // u^k
  double sum = coefficient * uk, dsum = coefficient;
  for (int k = 1; k < kMaxTerms; ++k) {
    coefficient *= -(a + k - 1) * (A + k) / ((c + k) * (k + 1));
    const double dterm = coefficient * uk * (k + 1);  // d/du of coefficient u^(k+1)
    uk *= u;
    const double term = coefficient * uk;
    sum += term;
    dsum += dterm;
    if (term == 0 || (std::abs(term) <= kSeriesEpsilon * std::abs(sum) &&
                      std::abs(dterm) <= kSeriesEpsilon * std::abs(dsum)))
      break;
  }
  *value = sum;
  *derivative = dsum;
}

// P and P' at u0 + h from (u0, P0, P0') by the Taylor series of the ODE, g_n = f_n h^n:
//   f_{n+2} = ([n = 0] c A - (n + 1)((1 + 2 u0) n + q0) f_{n+1} - (n + a')(n + A) f_n)
//             / (u0 (1 + u0) (n + 2)(n + 1)),  q0 = c + (a' + A + 1) u0.
void TaylorStep(double ap, double A, double c, double u0, double p0_value, double dp0, double h,
                double* value, double* derivative) {
  if (h == 0) {
    *value = p0_value;
    *derivative = dp0;
    return;
  }
  const double p0 = u0 * (1 + u0), p1 = 1 + 2 * u0, q0 = c + (ap + A + 1) * u0;
  double g0 = p0_value, g1 = dp0 * h;
  double sum = g0 + g1, dsum = dp0;
  for (int n = 0; n < kMaxTerms; ++n) {
    double numerator = -(n + 1) * (p1 * n + q0) * g1 * h - (n + ap) * (n + A) * g0 * h * h;
    if (n == 0) numerator += c * A * h * h;
    const double g2 = numerator / (p0 * (n + 2) * (n + 1));
    sum += g2;
    dsum += (n + 2) * g2 / h;
    if (n >= 2 && std::abs(g2) <= kSeriesEpsilon * std::abs(sum) &&
        std::abs(g1) <= kSeriesEpsilon * std::abs(sum))
      break;
    g0 = g1;
    g1 = g2;
  }
  *value = sum;
  *derivative = dsum;
}

}  // namespace

ExpectedPurchases::ExpectedPurchases(const BgNbdParams& params) : params_(params) {}
ExpectedPurchases::~ExpectedPurchases() = default;

ExpectedPurchases::Series& ExpectedPurchases::SeriesFor(double x) {
  auto it = cache_.find(x);
  if (it != cache_.end()) return *it->second;
  auto series = std::make_unique<Series>();
  const BgNbdParams& p = params_;
  series->x = x;
  series->a = p.a;
  series->ap = p.a - 1;
  series->c = p.a + p.b + x - 1;
  series->A = p.r + x;
  const double start = std::min(0.5, 1 / series->A);
  double value = 0, derivative = 0;
  DirectP(series->a, series->A, series->c, start, &value, &derivative);
  series->u.push_back(start);
  series->P.push_back(value);
  series->dP.push_back(derivative);
  Series& ref = *series;
  cache_.emplace(x, std::move(series));
  return ref;
}

namespace {

// E_p[(1 - (1 + p u)^-A) / p] for p ~ Beta(a, B) by the second-order delta method around the
// mean. Used where the series and its ODE are too stiff to carry: Beta(a, B) concentrated
// (a + B >= 1e7, error ~ 1/(a + B)^2 relative), and as the last resort of degenerate fits
// (parameters on the optimizer's bound, converged = false) where the exact form overflows.
double ConcentratedBeta(double a, double B, double A, double u) {
  const double n = a + B, p = a / n, var = a * B / (n * n * (n + 1));
  const double l = std::log1p(p * u);
  const double h = -std::expm1(-A * l);                             // 1 - (1 + p u)^-A
  const double h1 = A * u * std::exp(-(A + 1) * l);                 // h'
  const double h2 = -A * (A + 1) * u * u * std::exp(-(A + 2) * l);  // h''
  const double g = h / p, g2 = h2 / p - 2 * h1 / (p * p) + 2 * h / (p * p * p);
  const double value = g + 0.5 * var * g2;
  return std::isfinite(value) ? value : g;
}

}  // namespace

double ExpectedPurchases::Unconditional(double x, double T, double t) {
  if (t == 0) return 0;
  Series& s = (last_ && last_->x == x) ? *last_ : SeriesFor(x);
  last_ = &s;
  const double u = t / (params_.alpha + T);
  const double B = params_.b + x;
  if (params_.a + B >= 1e7) return ConcentratedBeta(params_.a, B, s.A, u);
  double value = 0, derivative = 0;
  if (u <= s.u[0]) {
    DirectP(s.a, s.A, s.c, u, &value, &derivative);
  } else {
    // Extend the grid to the last point at or below u (binary search once it is long enough),
    // then one step.
    while (s.u.back() * 1.25 <= u) {
      const size_t j = s.u.size() - 1;
      double next_value = 0, next_derivative = 0;
      const double next = 1.25 * s.u[j];
      TaylorStep(s.ap, s.A, s.c, s.u[j], s.P[j], s.dP[j], next - s.u[j], &next_value,
                 &next_derivative);
      s.u.push_back(next);
      s.P.push_back(next_value);
      s.dP.push_back(next_derivative);
    }
    const size_t j =
        static_cast<size_t>(std::upper_bound(s.u.begin(), s.u.end(), u) - s.u.begin()) - 1;
    TaylorStep(s.ap, s.A, s.c, s.u[j], s.P[j], s.dP[j], u - s.u[j], &value, &derivative);
  }
  if (!std::isfinite(value)) return ConcentratedBeta(params_.a, B, s.A, u);
  return value < 0 ? 0 : value;  // rounding below 0 near t = 0
}

double ExpectedPurchases::operator()(double x, double t_x, double T, double t) {
  return Unconditional(x, T, t) * ProbabilityAlive(params_, x, t_x, T);
}

}  // namespace ltv::clv
