#include "core/ranking.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ltv {
namespace {

// Postgres' float8 order: NaN above everything, NaN == NaN.
bool FloatLess(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

bool FloatEqual(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b;
}

}  // namespace

std::vector<double> PercentRanks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<double> ranks(n, 0.0);
  if (n <= 1) return ranks;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return FloatLess(values[a], values[b]); });
  const double denominator = static_cast<double>(n - 1);
  size_t peers_start = 0;  // sorted position where the current run of equal values starts
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && !FloatEqual(values[order[i]], values[order[i - 1]])) peers_start = i;
    ranks[order[i]] = static_cast<double>(peers_start) / denominator;
  }
  return ranks;
}

std::vector<int32_t> RankBuckets(const std::vector<double>& values,
                                 const std::vector<double>& quantiles) {
  for (size_t q = 0; q < quantiles.size(); ++q)
    if (!(quantiles[q] > 0 && quantiles[q] < 1) || (q > 0 && quantiles[q] < quantiles[q - 1]))
      throw std::invalid_argument("RankBuckets: quantiles must be ascending fractions in (0, 1)");
  const size_t n = values.size();
  std::vector<int32_t> buckets(n, 0);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return FloatLess(values[a], values[b]); });
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && FloatEqual(values[order[j + 1]], values[order[i]])) ++j;
    // The average of the 1-based ranks i+1 .. j+1, over n.
    const double rank = (static_cast<double>(i + j) / 2.0 + 1.0) / static_cast<double>(n);
    int32_t bucket = 0;
    for (double q : quantiles) bucket += rank > q ? 1 : 0;
    for (size_t k = i; k <= j; ++k) buckets[order[k]] = bucket;
    i = j + 1;
  }
  return buckets;
}

std::vector<bool> StratifiedHoldout(const std::vector<std::optional<int32_t>>& strata,
                                    const std::vector<int64_t>& keys,
                                    const std::vector<std::string_view>& tiebreaks,
                                    double fraction) {
  const size_t n = strata.size();
  if (keys.size() != n || tiebreaks.size() != n)
    throw std::invalid_argument("StratifiedHoldout: strata, keys and tiebreaks differ in size");
  if (!(fraction >= 0 && fraction <= 1))
    throw std::invalid_argument("StratifiedHoldout: fraction must be in [0, 1]");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // Members without a stratum form one stratum of their own (ordered last, as SQL orders NULL).
  auto stratum_less = [&](uint32_t a, uint32_t b) {
    if (strata[a].has_value() != strata[b].has_value()) return strata[a].has_value();
    return strata[a].has_value() && *strata[a] < *strata[b];
  };
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (stratum_less(a, b)) return true;
    if (stratum_less(b, a)) return false;
    if (keys[a] != keys[b]) return keys[a] < keys[b];
    return tiebreaks[a] < tiebreaks[b];  // byte order, as COLLATE "C"
  });
  std::vector<bool> held_out(n, false);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    while (end < n && !stratum_less(order[start], order[end])) ++end;
    const size_t count = end - start;
    const auto take = static_cast<size_t>(std::floor(static_cast<double>(count) * fraction + 0.5));
    for (size_t i = start; i < start + std::min(take, count); ++i) held_out[order[i]] = true;
    start = end;
  }
  return held_out;
}

}  // namespace ltv
