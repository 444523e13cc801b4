// A trained random forest: the trees, what they were trained with, and prediction.
//
// A Forest is immutable once built (by Train, Deserialize or Merge) and safe to share between
// threads for prediction. Probabilities are the mean of the trees' leaf class distributions
// (as scikit-learn's predict_proba), summed in tree order so every entry point gives
// bit-identical results for the same row.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/forest/params.h"
#include "core/forest/training_set.h"
#include "core/forest/tree.h"

namespace ltv::forest {

// What training learned about the data and the model; stored in the model blob.
struct TrainingSummary {
  uint64_t n_rows = 0;
  std::vector<uint64_t> class_counts;  // training rows per class
  std::vector<double> class_weights;   // per-class weights training used (1 = none)
  // Out-of-bag estimates over the rows that were out of bag for at least one tree
  // (oob_rows of them); NaN when there were none (bootstrap false with sample_fraction 1).
  uint64_t oob_rows = 0;
  double oob_accuracy = std::numeric_limits<double>::quiet_NaN();
  double oob_macro_f1 = std::numeric_limits<double>::quiet_NaN();        // argmax rule
  double oob_macro_f1_tuned = std::numeric_limits<double>::quiet_NaN();  // tuned rule
  double oob_log_loss = std::numeric_limits<double>::quiet_NaN();
  // Mean decrease in impurity per feature, normalised to sum 1 (all 0 if no tree split).
  std::vector<double> impurity_importance;
  // Per-class multipliers of the "tuned" decision rule (all 1 without OOB rows).
  std::vector<double> tuned_weights;
};

class Forest {
 public:
  Forest() = default;
  // Takes parts that are already consistent (Train, Deserialize and Merge check them).
  Forest(ForestParams params, std::vector<std::string> feature_names, int n_classes,
         std::vector<Tree> trees, TrainingSummary summary);
  // The same, with the prediction layout of `trees` already built (by Train).
  Forest(ForestParams params, std::vector<std::string> feature_names, int n_classes,
         std::vector<Tree> trees, TrainingSummary summary, CompiledTrees compiled);

  int n_features() const { return static_cast<int>(feature_names_.size()); }
  int n_classes() const { return n_classes_; }
  const ForestParams& params() const { return params_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const std::vector<Tree>& trees() const { return trees_; }
  const TrainingSummary& summary() const { return summary_; }

  // Class probabilities of one row into out[0..n_classes). Throws ltv::Error(kInvalidInput)
  // when n_features differs from the model's or a feature is NaN. (+-Infinity is allowed:
  // it simply falls on the matching side of every threshold.)
  void PredictProba(const double* row, size_t n_features, double* out) const;
  // The class of one row under `rule`, or under params().decision.
  int Predict(const double* row, size_t n_features) const;
  int Predict(const double* row, size_t n_features, DecisionRule rule) const;
  // The class for given probabilities under `rule`.
  int Decide(const double* proba, DecisionRule rule) const;

  // Row-major n_rows x n_features in, n_rows x n_classes out (a caller's buffer). Rows are
  // processed in blocks, encoded once (see CompiledTrees), then each tree is walked for the
  // whole block while it is in cache; threads split the blocks. For hosts:
  // the calling thread polls cancel.Check() about every 20 ms while the workers predict
  // (they stop between two trees), or between two trees when it predicts alone (fewer than
  // 512 rows or threads <= 1), so a cancel stops a large batch within milliseconds.
  // Same results as PredictProba, bit for bit, whatever `threads`.
  void PredictProbaInto(const double* rows, size_t n_rows, size_t n_features, double* out,
                        int threads, CancelCheck& cancel) const;

 private:
  void CheckRow(const double* row, size_t n_features, size_t row_number) const;
  size_t BlockRows() const;  // rows per block of batch prediction
  // Probabilities of rows [0, n_rows) into out. Between two trees: throws ltv::Interrupted
  // once *stop is set (worker threads), and calls cancel->Check() (the host's thread).
  void AccumulateBlock(const double* rows, size_t n_rows, double* out,
                       const std::atomic<bool>* stop = nullptr,
                       CancelCheck* cancel = nullptr) const;

  ForestParams params_;
  std::vector<std::string> feature_names_;
  int n_classes_ = 0;
  std::vector<Tree> trees_;
  TrainingSummary summary_;
  CompiledTrees compiled_;  // the trees in prediction layout (see tree.h)
};

}  // namespace ltv::forest
