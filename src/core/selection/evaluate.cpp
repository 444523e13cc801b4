#include "core/selection/evaluate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/xoshiro.h"

namespace ltv::selection {
namespace {

// Cells [truth][candidate][naive] of one fold: enough to recompute both macro F1s of any
// resample of its customers.
using Cells = std::array<double, 64>;

double Lift(const Cells& cells) {
  double candidate[16] = {0}, naive[16] = {0};
  for (int t = 0; t < 4; ++t)
    for (int c = 0; c < 4; ++c)
      for (int b = 0; b < 4; ++b) {
        double n = cells[t * 16 + c * 4 + b];
        candidate[t * 4 + c] += n;
        naive[t * 4 + b] += n;
      }
  return MacroF1Of(candidate) - MacroF1Of(naive);
}

double UniformOpen(Xoshiro256& rng) {  // (0, 1)
  return (static_cast<double>(rng.Next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// Poisson(lambda) draw: the count of a cell under the Poisson bootstrap (every customer's
// weight Poisson(1), so a cell of c customers gets Poisson(c)). Exact by multiplication for
// small means; the normal approximation above 30, where it is within the interval's noise.
double Poisson(double lambda, Xoshiro256& rng) {
  if (lambda <= 0) return 0;
  if (lambda < 30) {
    const double limit = std::exp(-lambda);
    double product = UniformOpen(rng);
    int k = 0;
    while (product > limit) {
      product *= UniformOpen(rng);
      ++k;
    }
    return k;
  }
  const double z =
      std::sqrt(-2 * std::log(UniformOpen(rng))) * std::cos(6.283185307179586 * UniformOpen(rng));
  return std::max(0.0, std::round(lambda + std::sqrt(lambda) * z));
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double at = q * (values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(values.size() - 1, lo + 1);
  return values[lo] + (values[hi] - values[lo]) * (at - lo);
}

std::vector<double> AverageRanks(const std::vector<double>& v) {
  const size_t n = v.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
    const double average = (i + j) / 2.0 + 1;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = average;
    i = j + 1;
  }
  return ranks;
}

double Pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  if (n < 2) return 0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

double GiniOf(const std::vector<double>& actual, const std::vector<size_t>& order) {
  const size_t n = actual.size();
  double total = 0;
  for (double a : actual) total += a;
  if (n == 0 || total == 0) return 0;
  double cumulative = 0, sum = 0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += actual[order[i]];
    sum += cumulative / total;
  }
  return sum / n - (n + 1) / (2.0 * n);
}

}  // namespace

// Mean macro F1 differences below this are treated as ties (see EvaluateCandidates).
constexpr double kF1Tie = 0.002;

double MacroF1Of(const double* m) {
  double sum = 0;
  int classes = 0;
  for (int c = 0; c < 4; ++c) {
    double tp = m[c * 4 + c], truth = 0, predicted = 0;
    for (int k = 0; k < 4; ++k) truth += m[c * 4 + k], predicted += m[k * 4 + c];
    if (truth == 0 && predicted == 0) continue;
    ++classes;
    sum += tp == 0 ? 0 : 2 * tp / (truth + predicted);
  }
  return classes == 0 ? 0 : sum / classes;
}

double Spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw Error(ErrorKind::kInvalidInput, "Spearman: lengths differ");
  return Pearson(AverageRanks(a), AverageRanks(b));
}

double NormalizedGini(const std::vector<double>& actual, const std::vector<double>& score) {
  if (actual.size() != score.size())
    throw Error(ErrorKind::kInvalidInput, "NormalizedGini: lengths differ");
  const size_t n = actual.size();
  // Descending by score; ties in score count as the mean of their orders (both ways).
  std::vector<size_t> by_score(n), by_actual(n);
  std::iota(by_score.begin(), by_score.end(), size_t{0});
  std::iota(by_actual.begin(), by_actual.end(), size_t{0});
  auto by = [](const std::vector<double>& key, const std::vector<double>& tie, bool tie_up) {
    return [&key, &tie, tie_up](size_t x, size_t y) {
      if (key[x] != key[y]) return key[x] > key[y];
      if (tie[x] != tie[y]) return tie_up ? tie[x] > tie[y] : tie[x] < tie[y];
      return x < y;
    };
  };
  std::stable_sort(by_score.begin(), by_score.end(), by(score, actual, true));
  const double optimistic = GiniOf(actual, by_score);
  std::stable_sort(by_score.begin(), by_score.end(), by(score, actual, false));
  const double pessimistic = GiniOf(actual, by_score);
  std::stable_sort(by_actual.begin(), by_actual.end(), by(actual, actual, true));
  const double perfect = GiniOf(actual, by_actual);
  return perfect == 0 ? 0 : (optimistic + pessimistic) / 2 / perfect;
}

json::Value EvaluateCandidates(const std::vector<Fold>& folds, const EvaluationOptions& options) {
  if (folds.empty()) throw Error(ErrorKind::kInvalidInput, "no folds to evaluate");
  bool has_model = true, has_clv = true;
  for (const Fold& f : folds) {
    f.inputs.Validate();
    const size_t n = f.inputs.size();
    if (f.truth.size() != n || f.future_spend.size() != n)
      throw Error(ErrorKind::kInvalidInput,
                  "fold " + f.label + ": truth and future spend must match the customers");
    for (int t : f.truth)
      if (t < 0 || t > 3) throw Error(ErrorKind::kInvalidInput, "truth values must be 0..3");
    has_model = has_model && f.inputs.has_model();
    has_clv = has_clv && f.inputs.has_clv();
  }
  const std::vector<CandidateSpec> specs = StandardCandidates(has_model, has_clv);
  const size_t n_folds = folds.size();

  json::Value list = json::Value::MakeArray();
  double naive_mean = 0;
  std::string chosen = "naive";
  double best_f1 = -1, best_lift = 0;
  struct Eligible {
    std::string name;
    double mean_f1, mean_lift, mean_spearman;
  };
  std::vector<Eligible> eligible;
  for (size_t c = 0; c < specs.size(); ++c) {
    const CandidateSpec& spec = specs[c];
    std::vector<Cells> cells(n_folds);
    json::Value per_fold = json::Value::MakeArray();
    double mean_f1 = 0, mean_lift = 0, mean_spearman = 0, mean_gini = 0;
    for (size_t k = 0; k < n_folds; ++k) {
      const Fold& f = folds[k];
      const std::vector<int> predicted = Assign(spec, f.inputs, f.shares);
      cells[k].fill(0);
      double matrix[16] = {0};
      for (size_t i = 0; i < predicted.size(); ++i) {
        cells[k][f.truth[i] * 16 + predicted[i] * 4 + f.inputs.naive_bucket[i]] += 1;
        matrix[f.truth[i] * 4 + predicted[i]] += 1;
      }
      const std::vector<double> score = CandidateScore(spec, f.inputs);
      const double f1 = MacroF1Of(matrix), lift = Lift(cells[k]);
      const double spearman = Spearman(score, f.future_spend);
      const double gini = NormalizedGini(f.future_spend, score);
      json::Value fold = json::Value::MakeObject();
      fold.Set("label", f.label);
      fold.Set("customers", static_cast<int64_t>(predicted.size()));
      fold.Set("macro_f1", f1);
      fold.Set("lift", lift);
      fold.Set("spearman", spearman);
      fold.Set("gini", gini);
      per_fold.Push(std::move(fold));
      mean_f1 += f1 / n_folds;
      mean_lift += lift / n_folds;
      mean_spearman += spearman / n_folds;
      mean_gini += gini / n_folds;
    }
    // Poisson bootstrap over customers, each fold resampled on its own, the lift averaged
    // over folds as the point estimate is.
    std::vector<double> lifts;
    if (spec.kind != CandidateSpec::Kind::kNaive) {
      Xoshiro256 rng(options.seed * 0x9E3779B97F4A7C15ULL + c);
      lifts.reserve(options.bootstrap_rounds);
      for (int r = 0; r < options.bootstrap_rounds; ++r) {
        double sum = 0;
        for (size_t k = 0; k < n_folds; ++k) {
          Cells drawn;
          for (int i = 0; i < 64; ++i) drawn[i] = Poisson(cells[k][i], rng);
          sum += Lift(drawn);
        }
        lifts.push_back(sum / n_folds);
      }
    }
    json::Value entry = json::Value::MakeObject();
    entry.Set("name", spec.name);
    entry.Set("mean_macro_f1", mean_f1);
    entry.Set("mean_lift", mean_lift);
    json::Value ci = json::Value::MakeArray();
    ci.Push(lifts.empty() ? 0.0 : Quantile(lifts, 0.05));
    ci.Push(lifts.empty() ? 0.0 : Quantile(lifts, 0.95));
    entry.Set("lift_ci90", std::move(ci));
    entry.Set("mean_spearman", mean_spearman);
    entry.Set("mean_gini", mean_gini);
    entry.Set("folds", std::move(per_fold));
    list.Push(std::move(entry));
    if (spec.kind == CandidateSpec::Kind::kNaive) naive_mean = mean_f1;
    // Only a candidate whose lift is above zero across the interval (its 5th bootstrap
    // percentile) may replace the naive rule: on small or short data a lucky fold is common,
    // and serving it would lose to the rule where it counts.
    const bool convincing =
        spec.kind == CandidateSpec::Kind::kNaive || (!lifts.empty() && Quantile(lifts, 0.05) > 0);
    if (convincing) eligible.push_back({spec.name, mean_f1, mean_lift, mean_spearman});
  }
  json::Value out = json::Value::MakeObject();
  out.Set("candidates", std::move(list));
  out.Set("naive_mean_macro_f1", naive_mean);
  // The best mean macro F1; among the eligible within kF1Tie of it, the one whose score
  // orders future spend best (mean Spearman), ties to the earlier in StandardCandidates.
  // Macro F1 counts bucket hits and jumps with a few customers at the cut points: on the
  // Online Retail II folds the top blends differed by under 0.001 and swapped places with
  // the seed, while Spearman, over every customer's order, separated them.
  for (const Eligible& e : eligible) best_f1 = std::max(best_f1, e.mean_f1);
  double best_spearman = -2;
  for (const Eligible& e : eligible)
    if (e.mean_f1 >= best_f1 - kF1Tie && e.mean_spearman > best_spearman) {
      best_spearman = e.mean_spearman;
      best_lift = e.mean_lift;
      chosen = e.name;
    }
  if (chosen != "naive" && !(best_lift > 0)) chosen = "naive";  // (implied by the interval)
  out.Set("chosen", chosen);
  out.Set("reason",
          chosen == "naive"
              ? "no candidate beat the naive rule convincingly (lift above zero across its 90% "
                "interval): the naive rule is served"
              : "highest mean macro F1 (within 0.002: best mean Spearman) among the candidates "
                "whose lift over the naive rule is above zero across its 90% interval");
  return out;
}

}  // namespace ltv::selection
