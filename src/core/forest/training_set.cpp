#include "core/forest/training_set.h"

#include <cmath>

#include "core/error.h"
#include "core/forest/params.h"

namespace ltv::forest {

TrainingSet::TrainingSet(size_t n_features, TrainingLimits limits)
    : n_features_(n_features), limits_(limits) {
  if (n_features == 0 || n_features > 1000000)
    throw Error(
        ErrorKind::kInvalidParameter,
        "a training set needs between 1 and 1000000 features, got " + std::to_string(n_features));
}

std::string TrainingSet::FeatureLabel(size_t feature) const {
  std::string s = std::to_string(feature);
  if (feature < feature_names_.size()) s += " (\"" + feature_names_[feature] + "\")";
  return s;
}

void TrainingSet::AddRow(const double* features, int label) {
  const size_t row = labels_.size();
  if (limits_.max_rows > 0 && row + 1 > limits_.max_rows)
    throw Error(ErrorKind::kLimitExceeded,
                "training set has more than " + std::to_string(limits_.max_rows) + " rows", {},
                "Train on a sample, or raise the row limit.");
  const size_t bytes_after = (row + 1) * (n_features_ * sizeof(double) + sizeof(int));
  if (limits_.max_bytes > 0 && bytes_after > limits_.max_bytes)
    throw Error(ErrorKind::kLimitExceeded,
                "training set needs more than " + std::to_string(limits_.max_bytes) +
                    " bytes (row " + std::to_string(row) + ")",
                {}, "Train on a sample, use fewer features, or raise the memory limit.");
  for (size_t f = 0; f < n_features_; ++f) {
    if (!std::isfinite(features[f]))
      throw Error(ErrorKind::kInvalidInput,
                  "training row " + std::to_string(row) + ", feature " + FeatureLabel(f) + " is " +
                      (std::isnan(features[f]) ? "NaN" : "infinite"),
                  {}, "Replace missing values (e.g. with 0 or a sentinel) before training.");
  }
  if (label < 0 || label >= kMaxClasses)
    throw Error(ErrorKind::kInvalidInput,
                "training row " + std::to_string(row) + " has label " + std::to_string(label) +
                    "; labels must be class numbers 0.." + std::to_string(kMaxClasses - 1));
  values_.insert(values_.end(), features, features + n_features_);
  labels_.push_back(label);
  if (label > max_label_) max_label_ = label;
}

void TrainingSet::AddRows(const double* row_major, const int* labels, size_t n_rows) {
  if (limits_.max_rows == 0 && limits_.max_bytes == 0) {
    values_.reserve(values_.size() + n_rows * n_features_);
    labels_.reserve(labels_.size() + n_rows);
  }
  for (size_t i = 0; i < n_rows; ++i) AddRow(row_major + i * n_features_, labels[i]);
}

}  // namespace ltv::forest
