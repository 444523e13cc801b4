#include "core/forest/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

using namespace ltv::forest;

namespace {

// Expected values from scikit-learn 1.2.1 (Debian python3-sklearn), computed once with:
//   y = [0,1,2,3,0,1,2,0,0,1,3,3,2,1,0,0,2,1]; p = [0,1,1,3,0,2,2,0,1,1,0,3,2,1,0,2,2,0]
//   f1_score(y, p, average="macro"), accuracy_score, precision_recall_fscore_support,
//   confusion_matrix
const int kTruth[] = {0, 1, 2, 3, 0, 1, 2, 0, 0, 1, 3, 3, 2, 1, 0, 0, 2, 1};
const int kPred[] = {0, 1, 1, 3, 0, 2, 2, 0, 1, 1, 0, 3, 2, 1, 0, 2, 2, 0};
constexpr double kSklearnMacroF1 = 0.6833333333333333;
constexpr double kSklearnAccuracy = 0.6666666666666666;
const double kSklearnPrecision[] = {0.6666666666666666, 0.6, 0.6, 1.0};
const double kSklearnRecall[] = {0.6666666666666666, 0.6, 0.75, 0.6666666666666666};
const double kSklearnF1[] = {0.6666666666666666, 0.6, 0.6666666666666665, 0.8};
const int64_t kSklearnSupport[] = {6, 5, 4, 3};
const int64_t kSklearnConfusion[4][4] = {{4, 1, 1, 0}, {1, 3, 1, 0}, {0, 1, 3, 0}, {1, 0, 0, 2}};

}  // namespace

TEST(Metrics, MatchesScikitLearnOnFixedInput) {
  const ConfusionMatrix cm(kTruth, kPred, 18, 4);
  for (int t = 0; t < 4; ++t)
    for (int p = 0; p < 4; ++p) EXPECT_EQ(cm.count(t, p), kSklearnConfusion[t][p]);
  const auto scores = PerClassScores(cm);
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(scores[c].precision, kSklearnPrecision[c], 1e-12) << c;
    EXPECT_NEAR(scores[c].recall, kSklearnRecall[c], 1e-12) << c;
    EXPECT_NEAR(scores[c].f1, kSklearnF1[c], 1e-12) << c;
    EXPECT_EQ(scores[c].support, kSklearnSupport[c]);
  }
  EXPECT_NEAR(MacroF1(cm), kSklearnMacroF1, 1e-12);
  EXPECT_NEAR(Accuracy(cm), kSklearnAccuracy, 1e-12);
}

TEST(Metrics, HandComputedBinaryExample) {
  // truth 1 1 1 0 0, pred 1 0 1 1 0: class 1 tp=2 fp=1 fn=1 -> P=R=F1=2/3;
  // class 0 tp=1 fp=1 fn=1 -> 1/2. Macro F1 = (2/3 + 1/2) / 2 = 7/12.
  const int truth[] = {1, 1, 1, 0, 0};
  const int pred[] = {1, 0, 1, 1, 0};
  const ConfusionMatrix cm(truth, pred, 5, 2);
  EXPECT_DOUBLE_EQ(PerClassScores(cm)[1].precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(PerClassScores(cm)[0].f1, 0.5);
  EXPECT_DOUBLE_EQ(MacroF1(cm), 7.0 / 12);
  EXPECT_DOUBLE_EQ(Accuracy(cm), 3.0 / 5);
}

TEST(Metrics, ZeroDivisionGivesZeroAndAbsentClassesAreSkippedLikeScikitLearn) {
  // sklearn 1.2.1: y2=[0,0,1,1,2,2], p2=[0,1,1,0,3,3], zero_division=0 ->
  // precision/recall/F1 = [0.5, 0.5, 0, 0], macro F1 = 0.25. Class 2 is never predicted,
  // class 3 never true; both count (with 0) because they occur on one side.
  const int truth[] = {0, 0, 1, 1, 2, 2};
  const int pred[] = {0, 1, 1, 0, 3, 3};
  const ConfusionMatrix cm(truth, pred, 6, 5);  // class 4 occurs nowhere: left out
  const auto scores = PerClassScores(cm);
  EXPECT_EQ(scores[2].precision, 0.0);
  EXPECT_EQ(scores[3].recall, 0.0);
  EXPECT_EQ(scores[3].f1, 0.0);
  EXPECT_DOUBLE_EQ(MacroF1(cm), 0.25);
}

TEST(Metrics, LogLossMatchesScikitLearnWithClipping) {
  // sklearn 1.2.1: log_loss([0,1,2,0,2], P, eps=1e-15, labels=[0,1,2]) = 7.345606560519546;
  // row 3 gives the true class probability 0, which the clip turns into -log(1e-15).
  const double proba[] = {0.7, 0.2, 0.1, 0.1, 0.8,  0.1,  0.3, 0.3,
                          0.4, 0.0, 1.0, 0.0, 0.25, 0.25, 0.5};
  const int truth[] = {0, 1, 2, 0, 2};
  EXPECT_NEAR(LogLoss(truth, proba, 5, 3), 7.345606560519546, 1e-9);
  // Hand check without clipping: -log(0.5) for a single row.
  const double half[] = {0.5, 0.5};
  const int zero[] = {0};
  EXPECT_NEAR(LogLoss(zero, half, 1, 2), std::log(2.0), 1e-15);
}

TEST(Metrics, RejectsOutOfRangeLabels) {
  ConfusionMatrix cm(3);
  EXPECT_THROW(cm.Add(3, 0), ltv::Error);
  EXPECT_THROW(cm.Add(0, -1), ltv::Error);
  const double proba[] = {0.5, 0.5};
  const int bad[] = {2};
  EXPECT_THROW(LogLoss(bad, proba, 1, 2), ltv::Error);
}

TEST(Metrics, JsonHasScoresAndMatrix) {
  const ConfusionMatrix cm(kTruth, kPred, 18, 4);
  const ltv::json::Value j = MetricsJson(cm);
  EXPECT_NEAR(j.Find("macro_f1")->as_number(), kSklearnMacroF1, 1e-12);
  EXPECT_EQ(j.Find("per_class")->as_array().size(), 4u);
  EXPECT_EQ(j.Find("confusion_matrix")->as_array()[3].as_array()[0].as_number(), 1);
}
