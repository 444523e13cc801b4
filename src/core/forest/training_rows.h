// Training rows collected from a stream that may be split over parallel workers (the
// rf_train aggregate), the counterpart of features::FeatureAccumulator for training: rows are
// checked once as they arrive, partial collections are merged and carried between processes
// as bytes, and the whole is put in a canonical order so that the model depends on the set of
// rows, never on the order a scan or its workers delivered them in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/forest/training_set.h"

namespace ltv::forest {

class TrainingRows {
 public:
  // `context` starts every error message (e.g. "ltv.rf_train"); `params_json` travels with
  // the rows (every partial state carries the training parameters); passing limits.max_rows
  // is ltv::Error(kLimitExceeded) with limits.hint.
  TrainingRows(std::string context, std::string params_json, TrainingLimits limits);

  // Checks the row (CheckTrainingRow; the first row fixes the width, which must be >= 1)
  // and copies it. Throws ltv::Error(kInvalidParameter), the rows unchanged.
  void Add(const double* features, size_t n_features, int label);
  // Appends the rows of `other` (already checked; same width, or either one empty).
  void Merge(const TrainingRows& other);

  // Partial-state bytes: u32 params length, params, u64 width, u64 rows, then the values
  // (f64) and labels (i32) in host byte order, as the state only travels between processes
  // of one server within one query. Deserialize checks every length against the buffer
  // (ltv::Error(kDataCorrupted)).
  size_t SerializedSize() const;
  void SerializeInto(uint8_t* out) const;
  static TrainingRows Deserialize(const uint8_t* data, size_t size, std::string context,
                                  TrainingLimits limits);

  // The rows as a training set, in canonical order: ascending by the features compared
  // lexicographically, then by label. Rows that compare equal are identical, so the order
  // is unique. Moves the rows into the set (no copy): this collection is left empty.
  TrainingSet TakeCanonical();

  const std::string& params_json() const { return params_json_; }
  size_t n_rows() const { return labels_.size(); }
  size_t n_features() const { return n_features_; }

 private:
  void CheckRowLimit(size_t rows) const;
  std::vector<size_t> CanonicalOrder() const;

  std::string context_;
  std::string params_json_;
  TrainingLimits limits_;
  size_t n_features_ = 0;       // 0 until the first row
  std::vector<double> values_;  // row-major
  std::vector<int> labels_;
};

}  // namespace ltv::forest
