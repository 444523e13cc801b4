#include "core/forest/forest.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/forest/decision.h"
#include "core/forest/parallel.h"

namespace ltv::forest {
namespace {

// Rows per block in batch prediction. Every tree is read once per block and walked by all of
// the block's rows, so a large forest is streamed from memory n_rows / block times: blocks are
// as big as the encoded rows can be while they stay in L2/L3 (docs/benchmarks.md, forest).
constexpr size_t kBlockRows = 262144;
constexpr size_t kBlockBytes = 4 * 1024 * 1024;
// Blocks of at least this many rows are walked in the order of the first tree's leaves: rows
// that share paths then walk the same nodes one after the other, while they are cached.
constexpr size_t kReorderRows = 4096;

}  // namespace

Forest::Forest(ForestParams params, std::vector<std::string> feature_names, int n_classes,
               std::vector<Tree> trees, TrainingSummary summary)
    : params_(std::move(params)),
      feature_names_(std::move(feature_names)),
      n_classes_(n_classes),
      trees_(std::move(trees)),
      summary_(std::move(summary)),
      compiled_(trees_, feature_names_.size()) {}

Forest::Forest(ForestParams params, std::vector<std::string> feature_names, int n_classes,
               std::vector<Tree> trees, TrainingSummary summary, CompiledTrees compiled)
    : params_(std::move(params)),
      feature_names_(std::move(feature_names)),
      n_classes_(n_classes),
      trees_(std::move(trees)),
      summary_(std::move(summary)),
      compiled_(std::move(compiled)) {}

void Forest::CheckRow(const double* row, size_t n_features, size_t row_number) const {
  if (n_features != feature_names_.size())
    throw Error(ErrorKind::kInvalidInput, "the model expects " +
                                              std::to_string(feature_names_.size()) +
                                              " features, got " + std::to_string(n_features));
  for (size_t f = 0; f < n_features; ++f) {
    if (std::isnan(row[f]))
      throw Error(ErrorKind::kInvalidInput,
                  "row " + std::to_string(row_number) + ", feature " + std::to_string(f) + " (\"" +
                      feature_names_[f] + "\") is NaN",
                  {}, "Fill missing values the same way as for training.");
  }
}

size_t Forest::BlockRows() const {
  return compiled_.usable()
             ? std::clamp<size_t>(kBlockBytes / std::max<size_t>(compiled_.row_bytes(), 1), 256,
                                  kBlockRows)
             : kBlockRows;
}

void Forest::AccumulateBlock(const double* rows, size_t n_rows, double* out,
                             const std::atomic<bool>* stop, CancelCheck* cancel) const {
  const size_t n_features = feature_names_.size();
  const int n_classes = n_classes_;
  std::fill(out, out + n_rows * n_classes, 0.0);
  const bool compiled = compiled_.usable();
  const size_t block_rows = BlockRows();
  std::vector<uint32_t> leaves(std::min(block_rows, n_rows));
  std::vector<uint8_t> coded(compiled ? leaves.size() * compiled_.row_bytes() : 0);
  // Rows are walked in the order of their leaf in the first tree (rows that share it have
  // similar values, so they take similar paths in the other trees too and find the nodes
  // their neighbours just brought into the caches): their codes are permuted into that
  // order, the sums kept in it and put back at the end. Each row still adds its trees in
  // index order, so the results are the same bit for bit.
  const bool reorder =
      compiled && trees_.size() > 1 && std::min(block_rows, n_rows) >= kReorderRows;
  std::vector<uint8_t> sorted_codes(reorder ? coded.size() : 0);
  std::vector<uint32_t> order(reorder ? leaves.size() : 0), first(reorder ? 1 : 0);
  std::vector<double> sorted_out(reorder ? leaves.size() * n_classes : 0);
  for (size_t begin = 0; begin < n_rows; begin += block_rows) {
    const size_t count = std::min(block_rows, n_rows - begin);
    double* block_out = out + begin * n_classes;
    if (compiled) compiled_.Encode(rows + begin * n_features, count, coded.data());
    const bool sorting = reorder && count >= kReorderRows;
    const uint8_t* walk_codes = coded.data();
    double* sums = block_out;
    if (sorting) {
      compiled_.Leaves(trees_[0], 0, coded.data(), nullptr, count, leaves.data());
      // Counting sort by leaf number (stable: ascending rows within a leaf).
      first.assign(trees_[0].n_leaves() + 1, 0);
      for (size_t r = 0; r < count; ++r) ++first[leaves[r] + 1];
      for (size_t l = 1; l < first.size(); ++l) first[l] += first[l - 1];
      for (size_t r = 0; r < count; ++r) order[first[leaves[r]]++] = static_cast<uint32_t>(r);
      const size_t row_bytes = compiled_.row_bytes();
      for (size_t k = 0; k < count; ++k)
        std::memcpy(sorted_codes.data() + k * row_bytes, coded.data() + order[k] * row_bytes,
                    row_bytes);
      walk_codes = sorted_codes.data();
      sums = sorted_out.data();
      std::fill(sums, sums + count * n_classes, 0.0);
    }
    for (size_t t = 0; t < trees_.size(); ++t) {
      if (stop && stop->load(std::memory_order_relaxed)) throw Interrupted();
      if (cancel) cancel->Check();
      const Tree& tree = trees_[t];
      if (compiled) {
        compiled_.Leaves(tree, t, walk_codes, nullptr, count, leaves.data());
      } else {
        tree.LeavesFor(rows + begin * n_features, n_features, count, leaves.data());
      }
      // The leaves' class rows are scattered over the tree's leaf table (MBs for deep trees):
      // fetch them a few rows ahead, so that the misses overlap.
      constexpr size_t kAhead = 16;
      for (size_t r = 0; r < count; ++r) {
        if (r + kAhead < count) __builtin_prefetch(tree.Proba(leaves[r + kAhead], n_classes));
        const double* proba = tree.Proba(leaves[r], n_classes);
        double* dst = sums + r * n_classes;
        for (int c = 0; c < n_classes; ++c) dst[c] += proba[c];
      }
    }
    if (sorting)
      for (size_t k = 0; k < count; ++k)
        std::copy(sums + k * n_classes, sums + (k + 1) * n_classes,
                  block_out + static_cast<size_t>(order[k]) * n_classes);
  }
  const double scale = trees_.empty() ? 0.0 : 1.0 / static_cast<double>(trees_.size());
  for (size_t i = 0; i < n_rows * n_classes; ++i) out[i] *= scale;
}

void Forest::PredictProba(const double* row, size_t n_features, double* out) const {
  CheckRow(row, n_features, 0);
  AccumulateBlock(row, 1, out);
}

int Forest::Decide(const double* proba, DecisionRule rule) const {
  if (rule == DecisionRule::kTuned &&
      summary_.tuned_weights.size() == static_cast<size_t>(n_classes_))
    return WeightedArgmaxClass(proba, summary_.tuned_weights.data(), n_classes_);
  return ArgmaxClass(proba, n_classes_);
}

int Forest::Predict(const double* row, size_t n_features) const {
  return Predict(row, n_features, params_.decision);
}

int Forest::Predict(const double* row, size_t n_features, DecisionRule rule) const {
  std::vector<double> proba(n_classes_);
  PredictProba(row, n_features, proba.data());
  return Decide(proba.data(), rule);
}

void Forest::PredictProbaInto(const double* rows, size_t n_rows, size_t n_features, double* out,
                              int threads, CancelCheck& cancel) const {
  for (size_t r = 0; r < n_rows; ++r) CheckRow(rows + r * n_features, n_features, r);
  if (n_rows == 0) return;
  // Rows are independent, so how they are split never changes a result. Below kMinTaskRows
  // per thread a thread costs more than it saves; above, every thread gets at least one
  // task and no task is bigger than one block (AccumulateBlock streams the forest once per
  // block), so a cancel is seen within one tree's walk of one block.
  constexpr size_t kMinTaskRows = 256;
  const size_t max_block = BlockRows();
  const size_t useful =
      std::max<size_t>(1, std::min<size_t>(std::max(threads, 1), n_rows / kMinTaskRows));
  const size_t per_task = std::min(max_block, (n_rows + useful - 1) / useful);
  const size_t n_tasks = (n_rows + per_task - 1) / per_task;
  auto run = [&](size_t task, const std::atomic<bool>* stop, CancelCheck* poll) {
    const size_t begin = task * per_task;
    const size_t count = std::min(per_task, n_rows - begin);
    AccumulateBlock(rows + begin * n_features, count, out + begin * n_classes_, stop, poll);
  };
  if (useful == 1) {
    // One thread's worth of work: on this thread, polling the host between trees (no thread
    // to start, and nothing to wait for when the machine is busy).
    for (size_t task = 0; task < n_tasks; ++task) run(task, nullptr, &cancel);
    return;
  }
  ParallelFor(n_tasks, static_cast<int>(useful), cancel,
              [&](size_t task, int, const std::atomic<bool>& stop) { run(task, &stop, nullptr); });
}

}  // namespace ltv::forest
