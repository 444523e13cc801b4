// Deterministic synthetic classification data for tests, the fuzzer's seed corpus and
// benchmarks: an LTV-like problem where a hidden score drives imbalanced ordered classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ltv::forest {

struct SyntheticData {
  size_t n_rows = 0;
  size_t n_features = 0;
  std::vector<double> values;  // row-major
  std::vector<int> labels;
};

// Features 0..n_informative-1 carry signal (feature 0 the most, then decreasing; some
// skewed, some count-like), the rest are noise. Classes are score quantiles with shares
// 50/30/15/5% for 4 classes (equal shares otherwise), with `label_noise` of labels
// redrawn at random.
SyntheticData MakeSynthetic(size_t n_rows, size_t n_features, size_t n_informative, int n_classes,
                            uint64_t seed, double label_noise = 0.05);

}  // namespace ltv::forest
