#include "core/forest/tree.h"

#include <algorithm>

namespace ltv::forest {

void Tree::ComputeDepth() {
  std::vector<int> node_depth(nodes.size(), 0);
  depth = 0;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    depth = std::max(depth, node_depth[i]);
    if (!IsLeaf(i)) {
      node_depth[nodes[i].index] = node_depth[i] + 1;
      node_depth[nodes[i].index + 1] = node_depth[i] + 1;
    }
  }
}

void Tree::LeavesFor(const double* rows, size_t stride, size_t count, uint32_t* leaves) const {
  constexpr size_t kGroup = 16;
  const Node* n = nodes.data();
  for (size_t begin = 0; begin < count; begin += kGroup) {
    const size_t group = std::min(kGroup, count - begin);
    uint32_t at[kGroup] = {};
    const double* row = rows + begin * stride;
    // Leaves point to themselves, so once a step moves no row the whole group is done.
    for (int step = 0; step < depth; ++step) {
      uint32_t moved = 0;
      for (size_t k = 0; k < group; ++k) {
        const Node& node = n[at[k]];
        const uint32_t next =
            node.index + (row[k * stride + node.feature] > node.threshold ? 1u : 0u);
        moved |= next ^ at[k];
        at[k] = next;
      }
      if (moved == 0) break;
    }
    for (size_t k = 0; k < group; ++k) leaves[begin + k] = leaf_number[at[k]];
  }
}

}  // namespace ltv::forest
