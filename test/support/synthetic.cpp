#include "support/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/forest/rng.h"

namespace ltv::forest {
namespace {

double Uniform(Rng& rng) { return static_cast<double>(rng.Next() >> 11) * 0x1.0p-53; }

double Normal(Rng& rng) {
  // Box-Muller; deterministic given the stream.
  const double u1 = std::max(Uniform(rng), 1e-300);
  const double u2 = Uniform(rng);
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

}  // namespace

SyntheticData MakeSynthetic(size_t n_rows, size_t n_features, size_t n_informative, int n_classes,
                            uint64_t seed, double label_noise) {
  SyntheticData d;
  d.n_rows = n_rows;
  d.n_features = n_features;
  d.values.resize(n_rows * n_features);
  d.labels.resize(n_rows);
  n_informative = std::min(n_informative, n_features);
  Rng rng(seed, 0);
  std::vector<double> score(n_rows);
  for (size_t r = 0; r < n_rows; ++r) {
    double s = 0;
    for (size_t f = 0; f < n_features; ++f) {
      const double z = Normal(rng);
      double value = z;
      if (f < n_informative) {
        const double strength = 1.0 / (1.0 + static_cast<double>(f));
        s += strength * (f % 3 == 2 ? z * z - 1 : z);  // some signal is non-linear
        // Present the feature the way retail features look: skewed amounts, counts.
        if (f % 3 == 1) value = std::exp(z);              // monetary-like
        if (f % 4 == 3) value = std::floor(2 * (z + 3));  // count-like
      }
      d.values[r * n_features + f] = value;
    }
    score[r] = s + 0.3 * Normal(rng);
  }
  std::vector<size_t> order(n_rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] < score[b]; });
  std::vector<double> shares;
  if (n_classes == 4) {
    shares = {0.5, 0.3, 0.15, 0.05};
  } else {
    shares.assign(n_classes, 1.0 / n_classes);
  }
  size_t pos = 0;
  double cumulative = 0;
  for (int c = 0; c < n_classes; ++c) {
    cumulative += shares[c];
    const size_t end = c + 1 == n_classes ? n_rows : static_cast<size_t>(cumulative * n_rows);
    for (; pos < end && pos < n_rows; ++pos) d.labels[order[pos]] = c;
  }
  for (size_t r = 0; r < n_rows; ++r)
    if (Uniform(rng) < label_noise) d.labels[r] = static_cast<int>(rng.Below(n_classes));
  return d;
}

}  // namespace ltv::forest
