// Split search by sorting a small node's codes of one feature (instead of a histogram).
#include "core/forest/tree_builder_internal.h"

#include <algorithm>

namespace ltv::forest {

using namespace builder;

template <bool kRowNumbers>
bool TreeBuilder::EvaluateSorted(int feature, size_t begin, size_t n, Split& best) {
  switch (settings_.n_classes) {
#define LTV_EVALUATE(K) \
  case K:               \
    return EvaluateSorted<K, kRowNumbers>(feature, begin, n, best);
    LTV_EVALUATE(2)
    LTV_EVALUATE(3)
    LTV_EVALUATE(4)
    LTV_EVALUATE(5)
#undef LTV_EVALUATE
    default:
      return EvaluateSorted<0, kRowNumbers>(feature, begin, n, best);
  }
}

inline bool TreeBuilder::ConsiderSplit(const Scan& scan, size_t n_left, size_t n_total, Split& best,
                                       int feature, int bin) {
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
  if (n_left < min_leaf) return true;
  if (n_total - n_left < min_leaf) return false;  // only gets worse further right
  const double right_w = scan.total_w - scan.left_w;
  if (!(scan.left_w > 0) || !(right_w > 0)) return true;
  // Maximising sum(l^2)/W_l + sum(r^2)/W_r is minimising the weighted child Gini.
  const double score = scan.left_sq / scan.left_w + scan.right_sq / right_w;
  if (score > best.score) best = {true, feature, bin, score};
  return true;
}

template <int K, bool kRowNumbers>
bool TreeBuilder::EvaluateSorted(int feature, size_t begin, size_t n, Split& best) {
  const uint8_t* column = kRowNumbers ? data_.column(feature) : nullptr;
  const size_t words = words_;
  const uint64_t* records = records_.data() + begin * words;
  sorted_.resize(n);
  uint32_t* keys = sorted_.data();
  // Key = code in the top byte, position in the node below: all keys differ, so the order is
  // unique whatever the sort does, and sorting plain integers is fast. (n < 2^24: a node
  // only sorts when rows * 128 < 256 bins * 1024 classes.)
  for (size_t i = 0; i < n; ++i)
    keys[i] =
        CodeOf<kRowNumbers>(records + i * words, column, feature) << 24 | static_cast<uint32_t>(i);
  std::sort(keys, keys + n);
  if (keys[0] >> 24 == keys[n - 1] >> 24) return false;
  const int n_classes = K ? K : settings_.n_classes;
  const double* cw = class_weights_.data();
  Scan scan;
  scan.Init(left_.data(), node_weights_.data(), n_classes);
  for (size_t k = 0; k + 1 < n; ++k) {
    const uint64_t head = records[(keys[k] & 0xFFFFFF) * words];
    const int c = static_cast<int>(LabelOf(head));
    const uint32_t count = CountOf(head);
    scan.Move(c, unit_weights_ ? count : cw[c] * count);
    const uint32_t code = keys[k] >> 24;
    if (code == keys[k + 1] >> 24) continue;
    if (!ConsiderSplit(scan, k + 1, n, best, feature, static_cast<int>(code))) break;
  }
  return true;
}

template bool TreeBuilder::EvaluateSorted<true>(int, size_t, size_t, Split&);
template bool TreeBuilder::EvaluateSorted<false>(int, size_t, size_t, Split&);

}  // namespace ltv::forest
