// The feature contract: every customer feature the product computes, stores, feeds to models
// and shows, in one table. Everything else derives from it:
//  * the aggregate ltv.customer_features returns the kAggregate rows, in this order, as the
//    composite type ltv.features (its columns are created from this table at install);
//  * the table ltv.customer_features stores every row (created from this table too);
//  * ltv.feature_names() lists the model inputs, and ltv.feature_vector(customer_features)
//    builds a model's input vector from them (NULL becomes `missing`);
//  * a model records the names it was trained on; ltv.predict builds vectors by those names.
// Adding a feature: one row here, its computation (the aggregate for kAggregate, a window
// definition for kWindow, the ranked column for kRank), and its tests.
#pragma once

#include <string_view>
#include <vector>

#include "core/features/customer_features.h"

namespace ltv::features {

enum class FeatureSource {
  kAggregate,  // computed per customer by the aggregate (FeatureAccumulator)
  kWindow,     // net spend in a window set by the horizon, summed beside the aggregate
  kRank,       // percent rank of another feature among the snapshot's customers
  kClv,        // from the BG/NBD + Gamma-Gamma fit on the snapshot's customers
};

enum class FeatureType { kDouble, kInteger, kTimestamp };

struct FeatureDef {
  std::string_view name;
  FeatureType type;
  FeatureSource source;
  bool model_input;
  // The model's value where the feature is NULL (undefined: no purchase, one purchase).
  double missing;
  // kWindow: "baseline" ([cutoff - horizon, cutoff)) or "season" ([cutoff - 1 year,
  // cutoff - 1 year + horizon)); kRank: the feature ranked; kClv: the fit's output
  // ("expected_spend", "p_alive", "expected_purchases").
  std::string_view argument;
  std::string_view description;
  // kAggregate only: the value, and whether it is NULL, for a customer.
  double (*value)(const CustomerFeatures&) = nullptr;
  bool (*is_null)(const CustomerFeatures&) = nullptr;
  // kAggregate timestamps: the value.
  TimestampMicros (*time)(const CustomerFeatures&) = nullptr;
};

const std::vector<FeatureDef>& FeatureRegistry();

std::string_view SourceName(FeatureSource source);
std::string_view SqlTypeName(FeatureType type);

}  // namespace ltv::features
