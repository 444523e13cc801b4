// The snapshot-level features of the registry (kRank and kClv rows): computed over all the
// customers of one snapshot at once, from per-customer columns the SQL layer passes by name.
#pragma once

#include <string>
#include <vector>

#include "core/cancel.h"

namespace ltv::features {

// The per-customer columns ComputeDerived needs, by registry name (the ranked columns and the
// CLV fit's inputs), in a fixed order.
const std::vector<std::string>& DerivedInputs();

// The registry's kRank and kClv features, in registry order, for n customers.
// `columns` holds the DerivedInputs() columns (each of n values, in that order); NaN marks an
// undefined value (recency without a purchase). horizon_days sets the CLV expectation window.
// Returns one vector of n values per derived feature.
std::vector<std::vector<double>> ComputeDerived(const std::vector<std::vector<double>>& columns,
                                                double horizon_days, CancelCheck& cancel);

// Names of the derived features, in the order ComputeDerived returns them.
const std::vector<std::string>& DerivedNames();

}  // namespace ltv::features
