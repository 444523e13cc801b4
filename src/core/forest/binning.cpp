#include "core/forest/binning.h"

#include <algorithm>

namespace ltv::forest {
namespace {

// A threshold t with low <= t < high, so that "x <= t" separates the two values exactly.
double EdgeBetween(double low, double high) {
  double mid = low + (high - low) / 2;
  if (!(mid < high)) mid = low;
  return mid;
}

FeatureBins ComputeBins(std::vector<double>& values, int max_bins) {
  FeatureBins bins;
  std::sort(values.begin(), values.end());
  // Distinct values and how many rows hold each.
  std::vector<double> distinct;
  std::vector<size_t> counts;
  for (double v : values) {
    if (distinct.empty() || v != distinct.back()) {
      distinct.push_back(v);
      counts.push_back(1);
    } else {
      ++counts.back();
    }
  }
  if (distinct.size() <= static_cast<size_t>(max_bins)) {
    for (size_t i = 0; i + 1 < distinct.size(); ++i)
      bins.upper_edges.push_back(EdgeBetween(distinct[i], distinct[i + 1]));
    return bins;
  }
  // Close a bin once it reaches the next multiple of n / max_bins rows, so heavy values
  // (e.g. many zeros) get a bin of their own and the rest spread evenly.
  const double n = static_cast<double>(values.size());
  const double per_bin = n / max_bins;
  size_t cumulative = 0;
  for (size_t i = 0; i + 1 < distinct.size(); ++i) {
    cumulative += counts[i];
    const double target = per_bin * static_cast<double>(bins.upper_edges.size() + 1);
    if (static_cast<double>(cumulative) >= target) {
      bins.upper_edges.push_back(EdgeBetween(distinct[i], distinct[i + 1]));
      if (bins.upper_edges.size() + 1 == static_cast<size_t>(max_bins)) break;
    }
  }
  return bins;
}

}  // namespace

uint8_t FeatureBins::Code(double x) const {
  // Number of edges strictly below x: x <= edge[k] <=> code <= k.
  return static_cast<uint8_t>(std::lower_bound(upper_edges.begin(), upper_edges.end(), x) -
                              upper_edges.begin());
}

BinnedFeatures BinFeatures(const TrainingSet& set, int max_bins, CancelCheck& cancel) {
  BinnedFeatures out;
  out.n_rows = set.n_rows();
  const size_t n_features = set.n_features();
  out.bins.resize(n_features);
  out.codes.resize(n_features * out.n_rows);
  std::vector<double> column(out.n_rows);
  for (size_t f = 0; f < n_features; ++f) {
    cancel.Check();
    for (size_t r = 0; r < out.n_rows; ++r) column[r] = set.value(r, f);
    out.bins[f] = ComputeBins(column, max_bins);
    const FeatureBins& bins = out.bins[f];
    uint8_t* codes = out.codes.data() + f * out.n_rows;
    for (size_t r = 0; r < out.n_rows; ++r) codes[r] = bins.Code(set.value(r, f));
  }
  return out;
}

}  // namespace ltv::forest
