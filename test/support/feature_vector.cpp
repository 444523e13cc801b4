#include "support/feature_vector.h"

#include "core/features/registry.h"

namespace ltv::features {

const std::vector<std::string_view>& FeatureNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const FeatureDef& d : FeatureRegistry())
      if (d.source == FeatureSource::kAggregate && d.model_input) out.push_back(d.name);
    return out;
  }();
  return names;
}

std::vector<double> ToVector(const CustomerFeatures& f) {
  std::vector<double> out;
  for (const FeatureDef& d : FeatureRegistry())
    if (d.source == FeatureSource::kAggregate && d.model_input)
      out.push_back(d.is_null(f) ? d.missing : d.value(f));
  return out;
}

}  // namespace ltv::features
