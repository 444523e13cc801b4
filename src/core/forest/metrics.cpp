#include "core/forest/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace ltv::forest {

ConfusionMatrix::ConfusionMatrix(int n_classes) : n_classes_(n_classes) {
  if (n_classes < 1)
    throw Error(ErrorKind::kInvalidParameter, "a confusion matrix needs at least one class");
  counts_.assign(static_cast<size_t>(n_classes) * n_classes, 0);
}

ConfusionMatrix::ConfusionMatrix(const int* truth, const int* predicted, size_t n, int n_classes)
    : ConfusionMatrix(n_classes) {
  for (size_t i = 0; i < n; ++i) Add(truth[i], predicted[i]);
}

void ConfusionMatrix::Add(int truth, int predicted) { Add(truth, predicted, 1); }

void ConfusionMatrix::Add(int truth, int predicted, int64_t times) {
  if (truth < 0 || truth >= n_classes_ || predicted < 0 || predicted >= n_classes_)
    throw Error(ErrorKind::kInvalidInput, "class label out of range: truth " +
                                              std::to_string(truth) + ", prediction " +
                                              std::to_string(predicted) + " (classes are 0.." +
                                              std::to_string(n_classes_ - 1) + ")");
  counts_[static_cast<size_t>(truth) * n_classes_ + predicted] += times;
  total_ += times;
}

int64_t ConfusionMatrix::support(int truth) const {
  int64_t s = 0;
  for (int p = 0; p < n_classes_; ++p) s += count(truth, p);
  return s;
}

int64_t ConfusionMatrix::predicted_count(int predicted) const {
  int64_t s = 0;
  for (int t = 0; t < n_classes_; ++t) s += count(t, predicted);
  return s;
}

std::vector<ClassScores> PerClassScores(const ConfusionMatrix& cm) {
  std::vector<ClassScores> scores(cm.n_classes());
  for (int c = 0; c < cm.n_classes(); ++c) {
    const double tp = static_cast<double>(cm.count(c, c));
    const int64_t predicted = cm.predicted_count(c);
    ClassScores& s = scores[c];
    s.support = cm.support(c);
    s.precision = predicted > 0 ? tp / static_cast<double>(predicted) : 0.0;
    s.recall = s.support > 0 ? tp / static_cast<double>(s.support) : 0.0;
    // 2tp / (2tp + fp + fn), the form scikit-learn uses; 0 when the class never occurs.
    const double denominator = static_cast<double>(predicted + s.support);
    s.f1 = denominator > 0 ? 2 * tp / denominator : 0.0;
  }
  return scores;
}

double MacroF1(const ConfusionMatrix& cm) {
  const std::vector<ClassScores> scores = PerClassScores(cm);
  double sum = 0;
  int present = 0;
  for (int c = 0; c < cm.n_classes(); ++c) {
    if (scores[c].support == 0 && cm.predicted_count(c) == 0) continue;
    sum += scores[c].f1;
    ++present;
  }
  return present > 0 ? sum / present : 0.0;
}

double Accuracy(const ConfusionMatrix& cm) {
  if (cm.total() == 0) return 0.0;
  int64_t correct = 0;
  for (int c = 0; c < cm.n_classes(); ++c) correct += cm.count(c, c);
  return static_cast<double>(correct) / static_cast<double>(cm.total());
}

double LogLoss(const int* truth, const double* proba, size_t n, int n_classes) {
  if (n == 0) throw Error(ErrorKind::kInvalidInput, "log loss of an empty set is undefined");
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const int y = truth[i];
    if (y < 0 || y >= n_classes)
      throw Error(ErrorKind::kInvalidInput, "class label " + std::to_string(y) + " out of range");
    const double* row = proba + i * n_classes;
    double row_sum = 0;
    for (int c = 0; c < n_classes; ++c) {
      if (!std::isfinite(row[c]))
        throw Error(ErrorKind::kInvalidInput,
                    "probability of row " + std::to_string(i) + " is not finite");
      row_sum += std::clamp(row[c], kLogLossEpsilon, 1 - kLogLossEpsilon);
    }
    const double p = std::clamp(row[y], kLogLossEpsilon, 1 - kLogLossEpsilon) / row_sum;
    total -= std::log(p);
  }
  return total / static_cast<double>(n);
}

json::Value MetricsJson(const ConfusionMatrix& cm) {
  json::Value out = json::Value::MakeObject();
  out.Set("accuracy", Accuracy(cm));
  out.Set("macro_f1", MacroF1(cm));
  json::Value per_class = json::Value::MakeArray();
  const std::vector<ClassScores> scores = PerClassScores(cm);
  for (int c = 0; c < cm.n_classes(); ++c) {
    json::Value s = json::Value::MakeObject();
    s.Set("class", c);
    s.Set("precision", scores[c].precision);
    s.Set("recall", scores[c].recall);
    s.Set("f1", scores[c].f1);
    s.Set("support", scores[c].support);
    per_class.Push(std::move(s));
  }
  out.Set("per_class", std::move(per_class));
  json::Value matrix = json::Value::MakeArray();
  for (int t = 0; t < cm.n_classes(); ++t) {
    json::Value row = json::Value::MakeArray();
    for (int p = 0; p < cm.n_classes(); ++p) row.Push(cm.count(t, p));
    matrix.Push(std::move(row));
  }
  out.Set("confusion_matrix", std::move(matrix));
  return out;
}

}  // namespace ltv::forest
