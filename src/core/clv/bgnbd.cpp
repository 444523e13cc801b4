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

// E[Y(t)] without the P(alive) factor. With A = r + x, c = a + b + x - 1, a' = a - 1,
// b' = c - A = a + b - 1 - r, u = t / (alpha + T), z = u / (1 + u), Pfaff's transformation
// turns the paper's bracket into
//   1 - (1 - z)^A 2F1(A, b + x; c; z) = 1 - (1 - z)^a' 2F1(a', b'; c; z),
// and 2F1(a', b'; c; z) = 1 + a' S(z) with S(z) = sum_{k>=1} (a)_{k-1} (b')_k / ((c)_k k!) z^k.
// So with R(z) = c S(z) = sum_{k>=1} (a)_{k-1} (b')_k / ((c + 1)_{k-1} k!) z^k,
//   E[Y(t)] / P(alive) = c / a' * bracket = c (1 - (1 - z)^a') / a' - (1 - z)^a' R(z),
// which has no singularity at a = 1 ((1 - (1 - z)^a') / a' -> -log(1 - z)) and none at c = 0.
// R is summed directly for z <= 1/2 (terms shrink at least like 2^-k); beyond, it is carried
// along a fixed grid 1 - z_j = 0.5 * 0.75^j by Taylor steps of the ODE it satisfies,
//   z (1 - z) R'' + (c - (a' + b' + 1) z) R' - a' b' R = c b',
// each step reaching a quarter of the way to the singular point z = 1 (so its series shrinks
// like 4^-n). The grid depends only on the parameters and x, so every customer's value is the
// same whichever others were scored before it.
struct ExpectedPurchases::Series {
  double x, a, ap, bp, c, A;
  std::vector<double> omz, R, dR;  // the grid: 1 - z_j, R(z_j), R'(z_j)
};

namespace {

constexpr double kSeriesEpsilon = 1e-17;
constexpr int kMaxTerms = 5000;

// R and R' at z in [0, 1/2] by the power series.
void DirectR(double a, double bp, double c, double z, double* value, double* derivative) {
  if (z == 0) {
    *value = 0;
    *derivative = bp;
    return;
  }
  double term = bp;  // (a)_0 (b')_1 / ((c + 1)_0 1!) z^1, kept without its z^k for R'
  double zk = z;
  double sum = term * zk, dsum = term;
  for (int k = 1; k < kMaxTerms; ++k) {
    term *= (a + k - 1) * (bp + k) / ((c + k) * (k + 1));
    const double dterm = term * zk * (k + 1);  // d/dz of term z^(k+1)
    zk *= z;
    const double t = term * zk;
    sum += t;
    dsum += dterm;
    if (t == 0 || (std::abs(t) <= kSeriesEpsilon * std::abs(sum) &&
                   std::abs(dterm) <= kSeriesEpsilon * std::abs(dsum)))
      break;
  }
  *value = sum;
  *derivative = dsum;
}

// R and R' at 1 - omz, from (omz0, R0, dR0) with omz <= omz0, by the Taylor series of the ODE
// around z0 = 1 - omz0 in h = omz0 - omz. g_n = f_n h^n with f_n the Taylor coefficients:
//   f_{n+2} = ([n = 0] c b' + (n + a')(n + b') f_n - (n + 1)((1 - 2 z0) n + q0) f_{n+1})
//             / (z0 (1 - z0) (n + 2)(n + 1)),  q0 = c - (a' + b' + 1) z0.
void TaylorStep(double ap, double bp, double c, double omz0, double r0, double dr0, double omz,
                double* value, double* derivative) {
  const double h = omz0 - omz;
  if (h == 0) {
    *value = r0;
    *derivative = dr0;
    return;
  }
  const double z0 = 1 - omz0;
  const double p0 = z0 * omz0, p1 = omz0 - z0, q0 = c - (ap + bp + 1) * z0;
  double g0 = r0, g1 = dr0 * h;
  double sum = g0 + g1, dsum = dr0;
  for (int n = 0; n < kMaxTerms; ++n) {
    double numerator = (n + ap) * (n + bp) * g0 * h * h - (n + 1) * (p1 * n + q0) * g1 * h;
    if (n == 0) numerator += c * bp * h * h;
    const double g2 = numerator / (p0 * (n + 2) * (n + 1));
    sum += g2;
    dsum += (n + 2) * g2 / h;
    if (std::abs(g2) <= kSeriesEpsilon * std::abs(sum) &&
        std::abs(g1) <= kSeriesEpsilon * std::abs(sum) && n >= 2)
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
  series->bp = p.a + p.b - 1 - p.r;
  series->c = p.a + p.b + x - 1;
  series->A = p.r + x;
  double r = 0, dr = 0;
  DirectR(series->a, series->bp, series->c, 0.5, &r, &dr);
  series->omz.push_back(0.5);
  series->R.push_back(r);
  series->dR.push_back(dr);
  Series& ref = *series;
  cache_.emplace(x, std::move(series));
  return ref;
}

double ExpectedPurchases::Unconditional(double x, double T, double t) {
  if (t == 0) return 0;
  Series& s = (last_ && last_->x == x) ? *last_ : SeriesFor(x);
  last_ = &s;
  const double u = t / (params_.alpha + T);
  const double log_omz = -std::log1p(u);  // log(1 - z)
  const double omz = 1 / (1 + u), z = u / (1 + u);
  double r = 0, dr = 0;
  if (z <= 0.5) {
    DirectR(s.a, s.bp, s.c, z, &r, &dr);
  } else {
    // Extend the grid to the last point at or before z, then one step.
    size_t j = 0;
    while (true) {
      if (j + 1 == s.omz.size()) {
        const double next = 0.75 * s.omz[j];
        if (next < omz) break;
        double rn = 0, drn = 0;
        TaylorStep(s.ap, s.bp, s.c, s.omz[j], s.R[j], s.dR[j], next, &rn, &drn);
        s.omz.push_back(next);
        s.R.push_back(rn);
        s.dR.push_back(drn);
      }
      if (s.omz[j + 1] < omz) break;
      ++j;
    }
    TaylorStep(s.ap, s.bp, s.c, s.omz[j], s.R[j], s.dR[j], omz, &r, &dr);
  }
  const double y = s.ap * log_omz;
  const double pow_omz = std::exp(y);                             // (1 - z)^a'
  const double v = s.ap == 0 ? -log_omz : -std::expm1(y) / s.ap;  // (1 - (1 - z)^a') / a'
  return std::max(0.0, s.c * v - pow_omz * r);
}

double ExpectedPurchases::operator()(double x, double t_x, double T, double t) {
  return Unconditional(x, T, t) * ProbabilityAlive(params_, x, t_x, T);
}

}  // namespace ltv::clv
