// Classification metrics with scikit-learn's conventions, so that numbers stored in
// ltv.models.metrics match what an analyst would get from sklearn.metrics on the same data.
//
// Zero division: a precision, recall or F1 whose denominator is zero is 0, which is the value
// scikit-learn returns by default (zero_division="warn" returns 0 and warns; there is no
// warning channel here, so the 0 is just documented).
// Macro averages run over the classes that occur in the truth or in the predictions, as
// scikit-learn's average="macro" does with labels=None; a class absent from both has no
// defined score and is left out rather than counted as 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/json.h"

namespace ltv::forest {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int n_classes);
  // Labels outside [0, n_classes) are ltv::Error(kInvalidInput).
  ConfusionMatrix(const int* truth, const int* predicted, size_t n, int n_classes);

  void Add(int truth, int predicted);
  void Add(int truth, int predicted, int64_t times);  // `times` rows at once (>= 0)
  int n_classes() const { return n_classes_; }
  int64_t count(int truth, int predicted) const {
    return counts_[static_cast<size_t>(truth) * n_classes_ + predicted];
  }
  int64_t total() const { return total_; }
  int64_t support(int truth) const;  // rows whose truth is `truth`
  int64_t predicted_count(int predicted) const;

 private:
  int n_classes_;
  std::vector<int64_t> counts_;  // [truth * n_classes + predicted]
  int64_t total_ = 0;
};

struct ClassScores {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  int64_t support = 0;
};

std::vector<ClassScores> PerClassScores(const ConfusionMatrix& cm);
double MacroF1(const ConfusionMatrix& cm);
double Accuracy(const ConfusionMatrix& cm);  // 0 for an empty matrix

constexpr double kLogLossEpsilon = 1e-15;
// Mean negative log probability of the true class. Rows of `proba` (row-major n x n_classes)
// are clipped to [1e-15, 1 - 1e-15] and renormalised first, as sklearn.metrics.log_loss does
// with eps=1e-15. Throws kInvalidInput for a label out of range or a non-finite probability.
double LogLoss(const int* truth, const double* proba, size_t n, int n_classes);

// {"accuracy", "macro_f1", "per_class": [{"class", "precision", "recall", "f1", "support"}],
//  "confusion_matrix": [[...], ...] (rows = truth, columns = prediction)}
json::Value MetricsJson(const ConfusionMatrix& cm);

}  // namespace ltv::forest
