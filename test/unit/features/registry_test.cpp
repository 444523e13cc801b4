// The feature registry (core/features/registry.h) and the derived features computed from it.
#include "core/features/registry.h"

#include <gtest/gtest.h>

#include "support/feature_vector.h"

#include <cmath>
#include <set>
#include <string>

#include "core/features/derived.h"
#include "core/ranking.h"

namespace ltv::features {
namespace {

TEST(FeatureRegistry, NamesAreUniqueAndRowsComplete) {
  std::set<std::string> names;
  for (const FeatureDef& d : FeatureRegistry()) {
    EXPECT_TRUE(names.insert(std::string(d.name)).second) << d.name;
    EXPECT_FALSE(d.description.empty()) << d.name;
    if (d.source == FeatureSource::kAggregate) {
      EXPECT_NE(d.is_null, nullptr) << d.name;
      EXPECT_TRUE(d.type == FeatureType::kTimestamp ? d.time != nullptr : d.value != nullptr)
          << d.name;
    } else {
      EXPECT_FALSE(d.argument.empty()) << d.name;
    }
  }
}

TEST(FeatureRegistry, AggregateModelInputsAreTheFeatureVector) {
  CustomerFeatures f;
  f.has_purchase = true;
  f.frequency = 3;
  f.monetary = 120;
  f.mean_days_between = 10;
  const auto v = ToVector(f);
  ASSERT_EQ(v.size(), FeatureNames().size());
  size_t i = 0;
  for (const FeatureDef& d : FeatureRegistry())
    if (d.source == FeatureSource::kAggregate && d.model_input) {
      EXPECT_EQ(FeatureNames()[i], d.name);
      EXPECT_EQ(v[i], d.value(f)) << d.name;
      ++i;
    }
  // Undefined values become the registry's missing value.
  CustomerFeatures none;
  for (size_t k = 0; k < FeatureNames().size(); ++k)
    if (FeatureNames()[k] == "mean_days_between") EXPECT_EQ(ToVector(none)[k], -1);
}

TEST(FeatureRegistry, RankArgumentsAreKnownFeatures) {
  for (const FeatureDef& d : FeatureRegistry()) {
    if (d.source != FeatureSource::kRank) continue;
    bool found = false;
    for (const FeatureDef& other : FeatureRegistry()) found = found || other.name == d.argument;
    EXPECT_TRUE(found) << d.name << " ranks unknown " << d.argument;
  }
}

TEST(DerivedFeatures, RanksEqualPercentRanksAndClvIsFinite) {
  const auto& inputs = DerivedInputs();
  const size_t n = 200;
  std::vector<std::vector<double>> columns(inputs.size(), std::vector<double>(n));
  for (size_t c = 0; c < inputs.size(); ++c)
    for (size_t i = 0; i < n; ++i) {
      const std::string& name = inputs[c];
      if (name == "frequency")
        columns[c][i] = 1 + i % 7;
      else if (name == "tenure_days")
        columns[c][i] = 30 + i;
      else if (name == "recency_days")
        columns[c][i] = (i % 30);
      else
        columns[c][i] = static_cast<double>((i * 37) % 101);
    }
  CancelCheck cancel;
  const auto derived = ComputeDerived(columns, 182, cancel);
  ASSERT_EQ(derived.size(), DerivedNames().size());
  for (size_t j = 0; j < derived.size(); ++j) {
    ASSERT_EQ(derived[j].size(), n);
    for (double x : derived[j]) EXPECT_TRUE(std::isfinite(x)) << DerivedNames()[j];
  }
  // monetary_rank is the percent rank of the monetary column.
  size_t monetary = 0, monetary_rank = 0;
  for (size_t c = 0; c < inputs.size(); ++c)
    if (inputs[c] == "monetary") monetary = c;
  for (size_t j = 0; j < DerivedNames().size(); ++j)
    if (DerivedNames()[j] == "monetary_rank") monetary_rank = j;
  EXPECT_EQ(derived[monetary_rank], PercentRanks(columns[monetary]));
  // Wrong shape: an error, not a crash.
  columns.pop_back();
  EXPECT_ANY_THROW(ComputeDerived(columns, 182, cancel));
}

}  // namespace
}  // namespace ltv::features
