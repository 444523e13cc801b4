#include "core/forest/binning.h"

#include <algorithm>
#include <cstring>

#include "core/forest/parallel.h"

namespace ltv::forest {
// LSD radix sort: 8 passes of 8 bits over order-preserving keys, skipping the passes whose
// byte is the same in every key (the high bytes, mostly).
void SortFiniteValues(std::vector<double>& values) {
  const size_t n = values.size();
  if (n < 64) {
    std::sort(values.begin(), values.end());
    return;
  }
  std::vector<uint64_t> keys(n), other(n);
  size_t counts[8][256] = {};
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    // Negative values: all bits flipped (larger magnitude sorts first); positive: sign set.
    const uint64_t key = bits ^ ((0 - (bits >> 63)) | (uint64_t{1} << 63));
    keys[i] = key;
#pragma GCC unroll 8
    for (int d = 0; d < 8; ++d) ++counts[d][(key >> (8 * d)) & 0xFF];
  }
  for (int d = 0; d < 8; ++d) {
    if (counts[d][(keys[0] >> (8 * d)) & 0xFF] == n) continue;  // one value of this byte
    size_t offset[256];
    for (size_t b = 0, sum = 0; b < 256; ++b) {
      offset[b] = sum;
      sum += counts[d][b];
    }
    for (size_t i = 0; i < n; ++i) other[offset[(keys[i] >> (8 * d)) & 0xFF]++] = keys[i];
    keys.swap(other);
  }
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = keys[i];
    const uint64_t bits = key ^ ((key >> 63) ? (uint64_t{1} << 63) : ~uint64_t{0});
    std::memcpy(&values[i], &bits, sizeof bits);
  }
}

namespace {

// A threshold t with low <= t < high, so that "x <= t" separates the two values exactly.
double EdgeBetween(double low, double high) {
  double mid = low + (high - low) / 2;
  if (!(mid < high)) mid = low;
  return mid;
}

FeatureBins ComputeBins(std::vector<double>& values, int max_bins) {
  FeatureBins bins;
  SortFiniteValues(values);
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
  // Number of edges strictly below x (std::lower_bound): x <= edge[k] <=> code <= k.
  // Branch-free halving, since which side x falls on is unpredictable.
  size_t n = upper_edges.size();
  if (n == 0) return 0;
  const double* base = upper_edges.data();
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half] < x ? base + half : base;
    n -= half;
  }
  return static_cast<uint8_t>((base - upper_edges.data()) + (*base < x ? 1 : 0));
}

BinnedFeatures BinFeatures(const TrainingSet& set, int max_bins, CancelCheck& cancel, int threads,
                           size_t max_row_features) {
  BinnedFeatures out;
  out.n_rows = set.n_rows();
  const size_t n_features = set.n_features();
  out.bins.resize(n_features);
  out.codes.resize(n_features * out.n_rows);
  ParallelForShortTasks(n_features, threads, cancel, [&](size_t f, int, const std::atomic<bool>&) {
    std::vector<double> column(out.n_rows);
    for (size_t r = 0; r < out.n_rows; ++r) column[r] = set.value(r, f);
    out.bins[f] = ComputeBins(column, max_bins);
    const FeatureBins& bins = out.bins[f];
    uint8_t* codes = out.codes.data() + f * out.n_rows;
    for (size_t r = 0; r < out.n_rows; ++r) codes[r] = bins.Code(set.value(r, f));
  });
  if (n_features <= max_row_features) {
    out.row_stride = (n_features + 7) / 8 * 8;
    out.row_codes.assign(out.n_rows * out.row_stride, 0);
    for (size_t f = 0; f < n_features; ++f) {
      const uint8_t* column = out.column(f);
      uint8_t* dst = out.row_codes.data() + f;
      for (size_t r = 0; r < out.n_rows; ++r) dst[r * out.row_stride] = column[r];
    }
  }
  return out;
}

}  // namespace ltv::forest
