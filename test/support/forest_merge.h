// Test support: merging forests trained separately.
#pragma once

#include <vector>

#include "core/forest/forest.h"

namespace ltv::forest {

// One forest from forests trained separately (e.g. on shards of the customers), as the
// design's "forests trained on separate shards can be merged" asks: the trees are
// concatenated in argument order. Features and classes must match (kInvalidParameter
// otherwise). Importances are averaged weighted by tree count; OOB scores are not
// comparable across shards and become NaN; tuned weights are reset to 1.
Forest Merge(const std::vector<const Forest*>& forests);

}  // namespace ltv::forest
