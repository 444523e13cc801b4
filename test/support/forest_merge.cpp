#include "support/forest_merge.h"

#include <string>
#include <utility>

#include "core/error.h"

namespace ltv::forest {

Forest Merge(const std::vector<const Forest*>& forests) {
  if (forests.empty()) throw Error(ErrorKind::kInvalidParameter, "nothing to merge");
  const Forest& first = *forests.front();
  std::vector<Tree> trees;
  TrainingSummary summary;
  summary.class_counts.assign(first.n_classes(), 0);
  summary.class_weights = first.summary().class_weights;
  summary.impurity_importance.assign(first.n_features(), 0.0);
  summary.tuned_weights.assign(first.n_classes(), 1.0);
  size_t total_trees = 0;
  for (const Forest* f : forests) total_trees += f->trees().size();
  if (total_trees > 10000)
    throw Error(ErrorKind::kLimitExceeded, "the merged forest would have " +
                                               std::to_string(total_trees) +
                                               " trees; at most 10000 are allowed");
  for (size_t i = 0; i < forests.size(); ++i) {
    const Forest& f = *forests[i];
    if (f.n_features() != first.n_features() || f.n_classes() != first.n_classes() ||
        f.feature_names() != first.feature_names())
      throw Error(ErrorKind::kInvalidParameter,
                  "forest " + std::to_string(i) +
                      " has different features or classes than forest 0 and cannot be merged");
    summary.n_rows += f.summary().n_rows;
    for (int c = 0; c < first.n_classes() && c < static_cast<int>(f.summary().class_counts.size());
         ++c)
      summary.class_counts[c] += f.summary().class_counts[c];
    const double share = static_cast<double>(f.trees().size()) / static_cast<double>(total_trees);
    for (int j = 0;
         j < first.n_features() && j < static_cast<int>(f.summary().impurity_importance.size());
         ++j)
      summary.impurity_importance[j] += share * f.summary().impurity_importance[j];
    trees.insert(trees.end(), f.trees().begin(), f.trees().end());
  }
  ForestParams params = first.params();
  params.n_trees = static_cast<int>(total_trees);
  return Forest(params, first.feature_names(), first.n_classes(), std::move(trees),
                std::move(summary));
}

}  // namespace ltv::forest
