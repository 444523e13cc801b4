// The rows a forest is trained on: a dense row-major matrix of finite doubles and one class
// label per row, validated as rows arrive so that a bad value is reported with its row and
// feature instead of surfacing later as a strange model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Dense>

namespace ltv::forest {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

// Guards against a training set larger than the host is willing to hold in memory.
// Passing either limit is ltv::Error(kLimitExceeded) at the row that passes it.
struct TrainingLimits {
  size_t max_rows = 0;   // 0 = no limit
  size_t max_bytes = 0;  // 0 = no limit; counts the feature and label storage of the set
  std::string hint = "Train on a sample, or raise the row limit.";  // of the max_rows error
};

// The rule for one training row, in one place: every value finite, the label a class number
// (0..kMaxClasses-1). `row` counts from 0, messages count rows and features from 1 and start
// with "context: " (nothing when empty); `names` (may be empty) name the features in them.
// Throws ltv::Error(kInvalidParameter).
void CheckTrainingRow(std::string_view context, const double* features, size_t n_features,
                      int label, size_t row, const std::vector<std::string>& names = {});
// ltv::Error(kLimitExceeded) when `rows` passes limits.max_rows.
void CheckTrainingRowLimit(std::string_view context, size_t rows, const TrainingLimits& limits);

class TrainingRows;

class TrainingSet {
 public:
  // n_features >= 1 (and <= 1'000'000), else ltv::Error(kInvalidParameter).
  explicit TrainingSet(size_t n_features, TrainingLimits limits = {});

  // Copies a row, checked by CheckTrainingRow (rows numbered in arrival order), and
  // kLimitExceeded when a limit is passed. The set is unchanged when it throws.
  void AddRow(const double* features, int label);
  // Convenience for a whole matrix; row numbers in messages count from the first row added.
  void AddRows(const double* row_major, const int* labels, size_t n_rows);

  // Optional names used in error messages (the forest takes its names from the parameters).
  void SetFeatureNames(std::vector<std::string> names) { feature_names_ = std::move(names); }

  size_t n_rows() const { return labels_.size(); }
  size_t n_features() const { return n_features_; }
  const double* row(size_t i) const { return values_.data() + i * n_features_; }
  double value(size_t row, size_t feature) const { return values_[row * n_features_ + feature]; }
  const std::vector<int>& labels() const { return labels_; }
  const std::vector<double>& values() const { return values_; }
  ConstRowMap matrix() const {
    return ConstRowMap(values_.data(), static_cast<Eigen::Index>(n_rows()),
                       static_cast<Eigen::Index>(n_features_));
  }
  int max_label() const { return max_label_; }

 private:
  friend class TrainingRows;
  // Adopts rows that CheckTrainingRow already passed (TrainingRows::TakeCanonical).
  TrainingSet(size_t n_features, std::vector<double>&& values, std::vector<int>&& labels,
              TrainingLimits limits);

  size_t n_features_;
  TrainingLimits limits_;
  std::vector<double> values_;
  std::vector<int> labels_;
  std::vector<std::string> feature_names_;
  int max_label_ = -1;
};

}  // namespace ltv::forest
