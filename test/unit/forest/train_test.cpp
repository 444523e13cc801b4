#include "core/forest/train.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <cmath>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/forest/binning.h"
#include "support/importance.h"
#include "core/forest/metrics.h"
#include "core/forest/model_format.h"
#include "core/forest/rng.h"
#include "support/forest_batch.h"
#include "support/forest_merge.h"
#include "support/synthetic.h"

using namespace ltv::forest;
using ltv::CancelCheck;

namespace {

ForestParams Params(const std::string& json) { return ParseForestParams(json); }

TrainingSet SetFrom(const SyntheticData& d) {
  TrainingSet set(d.n_features);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  return set;
}

}  // namespace

TEST(Train, StumpFindsTheSeparatingThreshold) {
  // x = 1..10, label = x > 5: the only sensible split is between 5 and 6.
  TrainingSet set(1);
  for (int x = 1; x <= 10; ++x) {
    const double v = x;
    set.AddRow(&v, x > 5 ? 1 : 0);
  }
  const Forest forest = Train(set, Params(R"({"n_trees": 1, "bootstrap": false, "max_depth": 1})"),
                              CancelCheck::None());
  const Tree& tree = forest.trees()[0];
  ASSERT_EQ(tree.nodes.size(), 3u);
  EXPECT_EQ(tree.nodes[0].feature, 0);
  EXPECT_DOUBLE_EQ(tree.nodes[0].threshold, 5.5);
  for (double x : {-100.0, 5.0, 5.5}) EXPECT_EQ(forest.Predict(&x, 1), 0) << x;
  for (double x : {5.6, 6.0, 1e9}) EXPECT_EQ(forest.Predict(&x, 1), 1) << x;
  double proba[2];
  const double x = 2;
  forest.PredictProba(&x, 1, proba);
  EXPECT_EQ(proba[0], 1.0);
  EXPECT_EQ(proba[1], 0.0);
}

TEST(Train, PicksTheInformativeFeatureAmongNoise) {
  // Feature 1 separates at 0; features 0 and 2 are noise.
  const SyntheticData noise = MakeSynthetic(400, 3, 0, 2, 5, 0);
  TrainingSet set(3);
  for (size_t r = 0; r < noise.n_rows; ++r) {
    const double* row = noise.values.data() + r * 3;
    set.AddRow(row, row[1] > 0 ? 1 : 0);
  }
  const Forest forest = Train(
      set, Params(R"({"n_trees": 1, "bootstrap": false, "max_features": "all", "max_depth": 1})"),
      CancelCheck::None());
  EXPECT_EQ(forest.trees()[0].nodes[0].feature, 1);
  EXPECT_NEAR(forest.trees()[0].nodes[0].threshold, 0.0, 0.05);
}

TEST(Train, LearnsASyntheticProblemAndReportsOob) {
  const SyntheticData d = MakeSynthetic(3000, 8, 4, 4, 11);
  const Forest forest =
      Train(SetFrom(d), Params(R"({"n_trees": 40, "min_samples_leaf": 2})"), CancelCheck::None());
  const TrainingSummary& s = forest.summary();
  EXPECT_EQ(s.n_rows, 3000u);
  EXPECT_GT(s.oob_rows, 2900u);
  EXPECT_GT(s.oob_macro_f1, 0.4);
  EXPECT_GE(s.oob_macro_f1_tuned, s.oob_macro_f1);
  EXPECT_GT(s.oob_accuracy, 0.6);
  EXPECT_GT(s.oob_log_loss, 0.0);
  ASSERT_EQ(s.tuned_weights.size(), 4u);
  EXPECT_EQ(s.tuned_weights[0], 1.0);
  // Batch and single-row prediction agree bit for bit.
  const RowMatrix batch = PredictProbaBatch(forest, d.values.data(), 200, 8, 2);
  for (size_t r = 0; r < 200; ++r) {
    double proba[4];
    forest.PredictProba(d.values.data() + r * 8, 8, proba);
    for (int c = 0; c < 4; ++c) EXPECT_EQ(proba[c], batch(r, c));
    EXPECT_NEAR(batch.row(r).sum(), 1.0, 1e-12);
  }
}

TEST(Train, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  const SyntheticData d = MakeSynthetic(1500, 6, 4, 3, 3);
  const TrainingSet set = SetFrom(d);
  const auto one =
      Serialize(Train(set, Params(R"({"n_trees": 12, "threads": 1})"), CancelCheck::None()));
  const auto four =
      Serialize(Train(set, Params(R"({"n_trees": 12, "threads": 4})"), CancelCheck::None()));
  const auto again =
      Serialize(Train(set, Params(R"({"n_trees": 12, "threads": 3})"), CancelCheck::None()));
  EXPECT_EQ(one, four);
  EXPECT_EQ(one, again);
  const auto other_seed =
      Serialize(Train(set, Params(R"({"n_trees": 12, "seed": 43})"), CancelCheck::None()));
  EXPECT_NE(one, other_seed);
}

TEST(Train, ImportancesSumToOneAndRankTheInformativeFeatureFirst) {
  // Only feature 0 carries signal.
  const SyntheticData d = MakeSynthetic(2000, 5, 1, 2, 21, 0.02);
  TrainingDiagnostics diag;
  const TrainingSet set = SetFrom(d);
  const Forest forest =
      Train(set, Params(R"({"n_trees": 30, "min_samples_leaf": 5})"), CancelCheck::None(), &diag);
  const auto& imp = forest.summary().impurity_importance;
  ASSERT_EQ(imp.size(), 5u);
  EXPECT_NEAR(std::accumulate(imp.begin(), imp.end(), 0.0), 1.0, 1e-9);
  for (size_t f = 1; f < 5; ++f) EXPECT_GT(imp[0], imp[f]);

  PermutationOptions options;
  options.n_repeats = 2;
  options.threads = 2;
  const auto oob = OobPermutationImportance(forest, set, diag, options, CancelCheck::None());
  for (size_t f = 1; f < 5; ++f) EXPECT_GT(oob[0], oob[f]);
  EXPECT_GT(oob[0], 0.2);
  const SyntheticData test = MakeSynthetic(500, 5, 1, 2, 22, 0.02);
  const auto held_out = PermutationImportance(forest, test.values.data(), test.labels.data(), 500,
                                              5, options, CancelCheck::None());
  for (size_t f = 1; f < 5; ++f) EXPECT_GT(held_out[0], held_out[f]);
}

TEST(Train, ClassWeightsChangePredictionsOnAnImbalancedSet) {
  // Where x0 > 1 only a third of the rows are class 1 (about 5% overall), so unweighted
  // leaves there still favour class 0; weighting class 1 up flips them.
  const SyntheticData d = MakeSynthetic(2000, 4, 2, 2, 8, 0.0);
  TrainingSet set(4);
  int minority = 0;
  for (size_t r = 0; r < d.n_rows; ++r) {
    const double* row = d.values.data() + r * 4;
    const int label = (row[0] > 1.0 && r % 3 == 0) ? 1 : 0;
    minority += label;
    set.AddRow(row, label);
  }
  ASSERT_LT(minority, 200);
  const std::string base = R"({"n_trees": 20, "min_samples_leaf": 20, "seed": 1)";
  auto count_minority = [&](const Forest& f) {
    const auto pred = PredictBatch(f, d.values.data(), d.n_rows, 4, DecisionRule::kArgmax);
    return std::count(pred.begin(), pred.end(), 1);
  };
  const Forest plain = Train(set, Params(base + "}"), CancelCheck::None());
  const Forest balanced =
      Train(set, Params(base + R"(, "class_weight": "balanced"})"), CancelCheck::None());
  const Forest explicit_w =
      Train(set, Params(base + R"(, "class_weight": [1, 10]})"), CancelCheck::None());
  EXPECT_GT(count_minority(balanced), count_minority(plain) + 20);
  EXPECT_GT(count_minority(explicit_w), count_minority(plain) + 20);
  const double n = 2000;
  EXPECT_DOUBLE_EQ(balanced.summary().class_weights[1], n / (2.0 * minority));
  EXPECT_DOUBLE_EQ(explicit_w.summary().class_weights[1], 10.0);
}

TEST(Train, TunedDecisionIsUsedWhenAsked) {
  const SyntheticData d = MakeSynthetic(3000, 6, 3, 4, 17);
  const Forest argmax =
      Train(SetFrom(d), Params(R"({"n_trees": 20, "min_samples_leaf": 3})"), CancelCheck::None());
  const Forest tuned =
      Train(SetFrom(d), Params(R"({"n_trees": 20, "min_samples_leaf": 3, "decision": "tuned"})"),
            CancelCheck::None());
  // Same trees and weights, different default rule.
  EXPECT_EQ(argmax.summary().tuned_weights, tuned.summary().tuned_weights);
  bool any_difference = false;
  for (size_t r = 0; r < d.n_rows; ++r) {
    const double* row = d.values.data() + r * 6;
    EXPECT_EQ(tuned.Predict(row, 6), argmax.Predict(row, 6, DecisionRule::kTuned));
    any_difference |= argmax.Predict(row, 6) != tuned.Predict(row, 6);
  }
  const auto& w = tuned.summary().tuned_weights;
  if (std::any_of(w.begin(), w.end(), [](double x) { return x != 1.0; })) {
    EXPECT_TRUE(any_difference);
  }
}

TEST(Train, LimitsAndParametersAreHonoured) {
  const SyntheticData d = MakeSynthetic(1000, 5, 3, 3, 2);
  const Forest shallow =
      Train(SetFrom(d), Params(R"({"n_trees": 5, "max_depth": 3})"), CancelCheck::None());
  for (const Tree& t : shallow.trees()) EXPECT_LE(t.depth, 3);
  const Forest leafy =
      Train(SetFrom(d), Params(R"({"n_trees": 3, "min_samples_leaf": 50, "bootstrap": false})"),
            CancelCheck::None());
  for (const Tree& t : leafy.trees()) EXPECT_LE(t.n_leaves(), 1000u / 50);
  const Forest no_oob =
      Train(SetFrom(d), Params(R"({"n_trees": 3, "bootstrap": false})"), CancelCheck::None());
  EXPECT_EQ(no_oob.summary().oob_rows, 0u);
  EXPECT_TRUE(std::isnan(no_oob.summary().oob_macro_f1));
  const Forest few_bins =
      Train(SetFrom(d), Params(R"({"n_trees": 2, "max_bins": 4})"), CancelCheck::None());
  for (const Tree& t : few_bins.trees()) {
    std::set<double> thresholds;
    for (uint32_t i = 0; i < t.nodes.size(); ++i)
      if (!t.IsLeaf(i) && t.nodes[i].feature == 0) thresholds.insert(t.nodes[i].threshold);
    EXPECT_LE(thresholds.size(), 3u);
  }
}

TEST(Train, SingleClassGivesAConstantForest) {
  TrainingSet set(2);
  for (int i = 0; i < 20; ++i) {
    const double row[2] = {double(i), double(-i)};
    set.AddRow(row, 2);
  }
  const Forest forest = Train(set, Params(R"({"n_trees": 3})"), CancelCheck::None());
  EXPECT_EQ(forest.n_classes(), 3);
  const double row[2] = {1, 1};
  EXPECT_EQ(forest.Predict(row, 2), 2);
  for (const Tree& t : forest.trees()) EXPECT_EQ(t.nodes.size(), 1u);
}

TEST(Train, RejectsBadData) {
  TrainingSet empty(3);
  EXPECT_THROW(Train(empty, Params("{}"), CancelCheck::None()), ltv::Error);

  TrainingSet set(2);
  set.SetFeatureNames({"recency", "frequency"});
  const double good[2] = {1, 2};
  const double nan_row[2] = {1, std::nan("")};
  set.AddRow(good, 0);
  try {
    set.AddRow(nan_row, 0);
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidParameter);
    EXPECT_EQ(std::string(e.what()), "feature 2 (\"frequency\") of row 2 is NaN");
  }
  const double inf_row[2] = {INFINITY, 0};
  EXPECT_THROW(set.AddRow(inf_row, 0), ltv::Error);
  EXPECT_THROW(set.AddRow(good, -1), ltv::Error);
  EXPECT_EQ(set.n_rows(), 1u);  // failed rows leave the set unchanged
  set.AddRow(good, 3);
  try {
    Train(set, Params(R"({"n_classes": 2})"), CancelCheck::None());
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 has label 3"), std::string::npos) << e.what();
  }
  try {
    Train(set, Params(R"({"feature_names": ["a"]})"), CancelCheck::None());
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("feature_names"), std::string::npos);
  }
  try {
    Train(set, Params(R"({"class_weight": [1, 2]})"), CancelCheck::None());
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("class_weight"), std::string::npos);
  }
}

TEST(Train, TrainingSetLimitsFailCleanly) {
  TrainingSet rows_limited(2, TrainingLimits{3, 0});
  const double row[2] = {0, 1};
  for (int i = 0; i < 3; ++i) rows_limited.AddRow(row, 0);
  try {
    rows_limited.AddRow(row, 0);
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kLimitExceeded);
  }
  TrainingSet bytes_limited(2, TrainingLimits{0, 100});
  EXPECT_THROW(
      {
        for (int i = 0; i < 10; ++i) bytes_limited.AddRow(row, 0);
      },
      ltv::Error);
  EXPECT_EQ(bytes_limited.n_rows(), 5u);  // 5 rows x 20 bytes fit in 100
}

TEST(Train, CancelStopsPromptlyAndPropagates) {
  const SyntheticData d = MakeSynthetic(20000, 10, 5, 4, 4);
  const TrainingSet set = SetFrom(d);
  struct Stop {};
  int polls = 0;
  CancelCheck cancel([&] {
    if (++polls >= 5) throw Stop();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(Train(set, Params(R"({"n_trees": 2000, "threads": 2})"), cancel), Stop);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(polls, 5);
  EXPECT_TRUE(cancel.Stopping());
  // 2000 trees would take a minute; five polls ~20 ms apart plus one tree per worker to
  // notice the stop flag is well under a few seconds even on a loaded machine.
  EXPECT_LT(seconds, 5.0);
}

TEST(Binning, SortFiniteValuesSortsLikeStdSort) {
  Rng rng(5, 0);
  const double specials[] = {0.0,
                             -0.0,
                             5e-324,
                             -5e-324,
                             1e-300,
                             -1e-300,
                             1.0,
                             -1.0,
                             1e300,
                             -1e300,
                             0.37,
                             -0.37,
                             1.7976931348623157e308,
                             -1.7976931348623157e308};
  for (size_t n : {0, 1, 2, 63, 64, 65, 1000, 5000}) {
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<double> values(n);
      for (double& v : values) {
        const uint64_t r = rng.Below(1u << 30);
        v = kind == 0   ? specials[r % 14]                                // heavy ties
            : kind == 1 ? (static_cast<double>(r) - (1 << 29)) * 1e-3     // mixed signs
                        : static_cast<double>(r % 7) * (r % 2 ? 1 : -1);  // few values, ±0
      }
      std::vector<double> want = values;
      std::sort(want.begin(), want.end());
      SortFiniteValues(values);
      ASSERT_EQ(values.size(), want.size());
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(values[i], want[i]) << "n " << n << " at " << i;
    }
  }
}

TEST(Binning, EdgesSeparateValuesAndCodesMatchThresholds) {
  TrainingSet set(1);
  for (int i = 0; i < 1000; ++i) {
    const double v = (i % 10 == 0) ? 0.0 : i * 0.37;  // a heavy zero and many distinct values
    set.AddRow(&v, 0);
  }
  const BinnedFeatures b = BinFeatures(set, 16, CancelCheck::None());
  const FeatureBins& bins = b.bins[0];
  EXPECT_LE(bins.n_bins(), 16);
  EXPECT_GE(bins.n_bins(), 12);
  for (size_t r = 0; r < 1000; ++r) {
    const double x = set.value(r, 0);
    const int code = b.column(0)[r];
    if (code > 0) {
      EXPECT_GT(x, bins.upper_edges[code - 1]);
    }
    if (code < bins.n_bins() - 1) {
      EXPECT_LE(x, bins.upper_edges[code]);
    }
  }
  EXPECT_EQ(bins.Code(0.0), 0);
}

TEST(Merge, ConcatenatesTreesOfCompatibleForests) {
  const SyntheticData d = MakeSynthetic(600, 4, 2, 2, 9);
  const Forest a = Train(SetFrom(d), Params(R"({"n_trees": 3, "seed": 1})"), CancelCheck::None());
  const Forest b = Train(SetFrom(d), Params(R"({"n_trees": 2, "seed": 2})"), CancelCheck::None());
  const Forest merged = Merge({&a, &b});
  EXPECT_EQ(merged.trees().size(), 5u);
  EXPECT_EQ(merged.summary().n_rows, 1200u);
  const auto blob = Serialize(merged);
  EXPECT_EQ(Serialize(Deserialize(blob.data(), blob.size())), blob);
  const SyntheticData other = MakeSynthetic(100, 3, 2, 2, 9);
  const Forest c = Train(SetFrom(other), Params(R"({"n_trees": 1})"), CancelCheck::None());
  EXPECT_THROW(Merge({&a, &c}), ltv::Error);
}
