#include "core/forest/training_set.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/forest/params.h"

namespace ltv::forest {

TrainingSet::TrainingSet(size_t n_features, TrainingLimits limits)
    : n_features_(n_features), limits_(std::move(limits)) {
  if (n_features == 0 || n_features > 1000000)
    throw Error(
        ErrorKind::kInvalidParameter,
        "a training set needs between 1 and 1000000 features, got " + std::to_string(n_features));
}

TrainingSet::TrainingSet(size_t n_features, std::vector<double>&& values, std::vector<int>&& labels,
                         TrainingLimits limits)
    : TrainingSet(n_features, std::move(limits)) {
  CheckTrainingRowLimit("", labels.size(), limits_);
  values_ = std::move(values);
  labels_ = std::move(labels);
  for (int label : labels_) max_label_ = std::max(max_label_, label);
}

namespace {

std::string Prefix(std::string_view context) {
  return context.empty() ? std::string() : std::string(context) + ": ";
}

[[noreturn, gnu::cold]] void BadValue(std::string_view context, double value, size_t feature,
                                      size_t row, const std::vector<std::string>& names) {
  std::string label = std::to_string(feature + 1);
  if (feature < names.size()) label += " (\"" + names[feature] + "\")";
  throw Error(ErrorKind::kInvalidParameter,
              Prefix(context) + "feature " + label + " of row " + std::to_string(row + 1) + " is " +
                  (std::isnan(value) ? "NaN" : "infinite"),
              {}, "Features must be finite numbers; replace missing values first.");
}

[[noreturn, gnu::cold]] void BadLabel(std::string_view context, int label, size_t row) {
  throw Error(ErrorKind::kInvalidParameter, Prefix(context) + "label " + std::to_string(label) +
                                                " of row " + std::to_string(row + 1) +
                                                " is not a class number (0.." +
                                                std::to_string(kMaxClasses - 1) + ")");
}

}  // namespace

void CheckTrainingRow(std::string_view context, const double* features, size_t n_features,
                      int label, size_t row, const std::vector<std::string>& names) {
  for (size_t f = 0; f < n_features; ++f)
    if (!std::isfinite(features[f])) BadValue(context, features[f], f, row, names);
  if (label < 0 || label >= kMaxClasses) BadLabel(context, label, row);
}

void CheckTrainingRowLimit(std::string_view context, size_t rows, const TrainingLimits& limits) {
  if (limits.max_rows > 0 && rows > limits.max_rows)
    throw Error(ErrorKind::kLimitExceeded,
                Prefix(context) + "more than " + std::to_string(limits.max_rows) + " training rows",
                {}, limits.hint);
}

void TrainingSet::AddRow(const double* features, int label) {
  const size_t row = labels_.size();
  CheckTrainingRowLimit("", row + 1, limits_);
  const size_t bytes_after = (row + 1) * (n_features_ * sizeof(double) + sizeof(int));
  if (limits_.max_bytes > 0 && bytes_after > limits_.max_bytes)
    throw Error(ErrorKind::kLimitExceeded,
                "training set needs more than " + std::to_string(limits_.max_bytes) +
                    " bytes (row " + std::to_string(row + 1) + ")",
                {}, "Train on a sample, use fewer features, or raise the memory limit.");
  CheckTrainingRow("", features, n_features_, label, row, feature_names_);
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
