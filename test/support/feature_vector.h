// Test support: the aggregate's model inputs of the feature registry as a plain vector, for unit
// tests that check the accumulator against the registry (the extension builds its vectors in
// SQL from ltv.feature_names()).
#pragma once

#include <string_view>
#include <vector>

#include "core/features/customer_features.h"

namespace ltv::features {

// The registry's per-customer model inputs (source aggregate), in registry order.
const std::vector<std::string_view>& FeatureNames();
// The numeric features as a vector, in FeatureNames() order (missing values as the registry says).
std::vector<double> ToVector(const CustomerFeatures& f);

}  // namespace ltv::features
