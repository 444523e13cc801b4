// The forest's binary model format (the bytea of ltv.models.model and of ltv.rf_predict).
//
// Layout, all integers and doubles little-endian:
//   "LTVRF"                        magic, 5 bytes
//   u16 format_version             kFormatVersion (2; version 1 is still read)
//   u32 n_features, then per feature: u32 byte length + UTF-8 name
//   u32 n_classes                  classes are 0..n_classes-1
//   u32 length + JSON text         model parameters (ToJson(ForestParams))
//   training summary: u64 n_rows, u64 oob_rows, f64 oob_accuracy, f64 oob_macro_f1,
//     f64 oob_macro_f1_tuned, f64 oob_log_loss (NaN = not available),
//     n_classes x u64 class_counts, n_classes x f64 class_weights,
//     n_classes x f64 tuned_weights, n_features x f64 impurity_importance
//   u32 n_trees, then per tree:
//     u32 n_nodes, u32 n_leaves,
//     n_nodes x {f64 threshold, i32 feature (-1 = leaf), u32 left child or leaf number},
//     n_leaves x n_classes x f64 leaf class probabilities
//   u64 checksum of every byte before it: Checksum64 (version 2), or FNV-1a 64 (version 1,
//     the same layout otherwise; read only: its byte-at-a-time loop is too slow for large
//     models), see core/hashes.h
//
// Deserialize trusts nothing: it checks the checksum, then every count against the bytes
// that remain before allocating anything (so the largest allocation is bounded by the blob's
// size), then that every tree is a proper binary tree in topological order (children come
// after their parent, every node but the root has exactly one parent, every leaf number is
// used once), feature indices, finite thresholds and leaf distributions (finite, in [0, 1],
// summing to 1 within 1e-6). Any failure is ltv::Error(kDataCorrupted) starting with
// "model is corrupt: ", never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/cancel.h"
#include "core/forest/forest.h"
#include "core/json.h"

namespace ltv::forest {

constexpr uint16_t kFormatVersion = 2;
constexpr uint16_t kOldestReadableVersion = 1;
constexpr size_t kChecksumBytes = 8;

std::vector<uint8_t> Serialize(const Forest& forest);
// The same bytes, written straight into memory the host allocates (e.g. a bytea's payload):
// `allocate(size)` is called once, on the calling thread, with the exact size and returns
// where to write (it may throw). Saves a model-sized copy and its page faults. Models over
// 16 MB are written by `threads` threads (which never call the host; the calling thread
// polls `cancel`).
void SerializeInto(const Forest& forest, const std::function<uint8_t*(size_t)>& allocate,
                   int threads = 1, CancelCheck& cancel = CancelCheck::None());
Forest Deserialize(const uint8_t* data, size_t size);

// Rewrites the last 8 bytes of `blob` with the checksum of the bytes before them, of the
// kind its format version (bytes 5-6) uses (Checksum64 for any version but 1).
void Reseal(std::vector<uint8_t>& blob);

// A JSON description of the model for ltv.rf_info: format version, parameters, features,
// classes, tree/node/leaf counts, depth min/mean/max, the training summary (OOB scores,
// tuned weights) and impurity importances (sorted, most important first).
json::Value Info(const Forest& forest);

}  // namespace ltv::forest
