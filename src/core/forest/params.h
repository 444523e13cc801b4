// Random forest parameters, read from a JSON object (`params jsonb` of ltv.rf_train).
//
// Every key is optional; an unknown key, a wrong type or an out-of-range value is an
// ltv::Error(kInvalidParameter) that names the key. Keys (see also docs/forest.md):
//
//   n_trees            int  >= 1 (<= 10000)      100     trees in the forest
//   max_depth          int  >= 0 (<= 1000)       0       0 = grow until the leaf limits stop it
//   min_samples_leaf   int  >= 1                 1       distinct in-bag rows per leaf
//   min_samples_split  int  >= 2                 2       distinct in-bag rows to try a split
//   max_features       "sqrt" | "log2" | "all" | integer >= 1 | fraction in (0, 1]
//                                                "sqrt"  features drawn per split (at least 1;
//                                                        an integer above n_features means all)
//   class_weight       "none" | "balanced" | [w0, w1, ...]   "none"
//                      "balanced" is scikit-learn's n_rows / (n_classes * count(class));
//                      an array needs one finite weight > 0 per class
//   bootstrap          bool                      true    draw rows with replacement
//   sample_fraction    number in (0, 1]          1.0     rows drawn per tree, as a fraction
//   max_bins           int in [2, 256]           256     quantile bins per feature
//   seed               int in [0, 2^53]          42      same seed -> bit-identical model
//   threads            int in [1, 64]            min(hardware threads, 8)
//                      execution only: not stored in the model, never changes the result
//   decision           "argmax" | "tuned"        "argmax" rule used by Forest::Predict
//   feature_names      [string, ...]             f0, f1, ...  one per feature
//   n_classes          int in [1, 64]            max label + 1; labels must be 0..n_classes-1
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace ltv::forest {

enum class MaxFeatures { kSqrt, kLog2, kAll, kCount, kFraction };
enum class ClassWeightMode { kNone, kBalanced, kExplicit };
enum class DecisionRule { kArgmax, kTuned };

// At most 64 classes: training's cost grows with the fourth power of the class count (the
// tuned decision rule and the out-of-bag scoring compare every pair of classes per grid
// step), so hundreds of classes take minutes even on a few rows, while 64 train in well
// under a second (ModelLimits.SixtyFourClassesTrainQuickly); the pipeline uses 4.
constexpr int kMaxClasses = 64;
// Longest feature name a model stores (the model format reads names of up to 64 kB).
constexpr size_t kMaxFeatureNameBytes = 1024;

// Whether `s` is well-formed UTF-8 without NUL (what Postgres text and jsonb accept).
bool IsValidUtf8(std::string_view s);
constexpr int kMaxBins = 256;

struct ForestParams {
  int n_trees = 100;
  int max_depth = 0;
  int min_samples_leaf = 1;
  int min_samples_split = 2;
  MaxFeatures max_features = MaxFeatures::kSqrt;
  int max_features_count = 0;        // for kCount
  double max_features_fraction = 0;  // for kFraction
  ClassWeightMode class_weight = ClassWeightMode::kNone;
  std::vector<double> class_weights;  // for kExplicit
  bool bootstrap = true;
  double sample_fraction = 1.0;
  int max_bins = kMaxBins;
  int64_t seed = 42;
  int threads = 0;  // 0 = default (hardware threads, at most 8)
  DecisionRule decision = DecisionRule::kArgmax;
  std::vector<std::string> feature_names;  // empty = f0, f1, ...
  int n_classes = 0;                       // 0 = max label + 1

  // Features drawn per split for a data set with n_features columns (at least 1).
  int ResolveMtry(int n_features) const;
  // The worker count Train will use.
  int ResolveThreads() const;
};

// Parses and validates. `params` may be null (all defaults) or an object.
ForestParams ParseForestParams(const json::Value& params);
ForestParams ParseForestParams(const std::string& json_text);

// The model-defining parameters as JSON, in a fixed key order, so that Serialize is
// deterministic and ParseForestParams(ToJson(p)) gives p back. `threads` is left out
// because it never changes the model.
json::Value ToJson(const ForestParams& params);

}  // namespace ltv::forest
