#include "core/forest/training_rows.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/le_bytes.h"

namespace ltv::forest {
namespace {

// Widths a partial state may claim (TrainingSet takes up to 1,000,000 features).
constexpr uint64_t kMaxStateFeatures = 1u << 20;

[[noreturn]] void CorruptState(const std::string& context) {
  throw Error(ErrorKind::kDataCorrupted, context + ": corrupt partial state");
}

}  // namespace

TrainingRows::TrainingRows(std::string context, std::string params_json, TrainingLimits limits)
    : context_(std::move(context)),
      params_json_(std::move(params_json)),
      limits_(std::move(limits)) {}

void TrainingRows::CheckRowLimit(size_t rows) const {
  CheckTrainingRowLimit(context_, rows, limits_);
}

void TrainingRows::Add(const double* features, size_t n_features, int label) {
  const size_t row = n_rows();
  if (n_features_ == 0 && n_features == 0)
    throw Error(ErrorKind::kInvalidParameter, context_ + ": features must not be empty");
  if (n_features_ != 0 && n_features != n_features_)
    throw Error(ErrorKind::kInvalidParameter, context_ + ": row " + std::to_string(row + 1) +
                                                  " has " + std::to_string(n_features) +
                                                  " features, earlier rows have " +
                                                  std::to_string(n_features_));
  CheckTrainingRow(context_, features, n_features, label, row);
  CheckRowLimit(row + 1);
  n_features_ = n_features;
  values_.insert(values_.end(), features, features + n_features);
  labels_.push_back(label);
}

void TrainingRows::Merge(const TrainingRows& other) {
  if (other.n_rows() == 0) return;
  if (n_features_ != 0 && n_features_ != other.n_features_)
    throw Error(ErrorKind::kInvalidParameter, context_ + ": rows have different feature counts");
  CheckRowLimit(n_rows() + other.n_rows());
  n_features_ = other.n_features_;
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
  labels_.insert(labels_.end(), other.labels_.begin(), other.labels_.end());
}

size_t TrainingRows::SerializedSize() const {
  return 4 + params_json_.size() + 8 + 8 + values_.size() * sizeof(double) +
         labels_.size() * sizeof(int32_t);
}

void TrainingRows::SerializeInto(uint8_t* out) const {
  static_assert(sizeof(int) == sizeof(int32_t), "labels are stored as i32");
  out = StoreLe32(out, static_cast<uint32_t>(params_json_.size()));
  std::memcpy(out, params_json_.data(), params_json_.size());
  out += params_json_.size();
  out = StoreLe64(out, n_features_);
  out = StoreLe64(out, n_rows());
  std::memcpy(out, values_.data(), values_.size() * sizeof(double));
  out += values_.size() * sizeof(double);
  std::memcpy(out, labels_.data(), labels_.size() * sizeof(int32_t));
}

TrainingRows TrainingRows::Deserialize(const uint8_t* data, size_t size, std::string context,
                                       TrainingLimits limits) {
  // The handler cannot capture the context: it reports a short buffer as a generic
  // exception, turned into the context's message below.
  struct Short {};
  try {
    LeReader in(data, size, [](const char*, uint64_t, size_t, size_t) { throw Short(); });
    const uint32_t params_length = in.U32();
    const uint8_t* params = in.Take(params_length);
    const uint64_t n_features = in.U64();
    const uint64_t n_rows = in.U64();
    const uint64_t row_bytes = n_features * sizeof(double) + sizeof(int32_t);
    if (n_features > kMaxStateFeatures || n_rows > in.remaining() ||
        n_rows * row_bytes != in.remaining() || (n_features == 0) != (n_rows == 0))
      CorruptState(context);
    TrainingRows rows(context, std::string(reinterpret_cast<const char*>(params), params_length),
                      std::move(limits));
    rows.n_features_ = n_features;
    rows.values_.resize(n_rows * n_features);
    rows.labels_.resize(n_rows);
    std::memcpy(rows.values_.data(), in.Take(rows.values_.size() * sizeof(double)),
                rows.values_.size() * sizeof(double));
    std::memcpy(rows.labels_.data(), in.Take(rows.labels_.size() * sizeof(int32_t)),
                rows.labels_.size() * sizeof(int32_t));
    return rows;
  } catch (const Short&) {
    CorruptState(context);
  }
}

// Sorting (first feature, row) pairs keeps most comparisons within one array instead of
// reaching into rows far apart; only ties on the first feature compare whole rows. std::sort
// is not stable, but rows that compare equal are identical, so the result is unique.
std::vector<size_t> TrainingRows::CanonicalOrder() const {
  const size_t n = n_features_;
  struct Key {
    double first;
    size_t row;
  };
  std::vector<Key> keys(n_rows());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = {values_[i * n], i};
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    if (a.first != b.first) return a.first < b.first;
    const double* ra = values_.data() + a.row * n;
    const double* rb = values_.data() + b.row * n;
    for (size_t j = 1; j < n; ++j) {
      if (ra[j] != rb[j]) return ra[j] < rb[j];
    }
    return labels_[a.row] < labels_[b.row];
  });
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].row;
  return order;
}

TrainingSet TrainingRows::TakeCanonical() {
  if (n_rows() == 0) throw Error(ErrorKind::kInvalidParameter, context_ + ": no training rows");
  // Row i of the result is row order[i]: apply the permutation in place, cycle by cycle,
  // with one row of scratch; order[i] = i marks a row in place.
  std::vector<size_t> order = CanonicalOrder();
  const size_t n = n_features_;
  std::vector<double> row(n);
  for (size_t start = 0; start < order.size(); ++start) {
    if (order[start] == start) continue;
    std::copy_n(values_.begin() + start * n, n, row.begin());
    const int label = labels_[start];
    size_t to = start;
    for (;;) {
      const size_t from = order[to];
      order[to] = to;
      if (from == start) {
        std::copy_n(row.begin(), n, values_.begin() + to * n);
        labels_[to] = label;
        break;
      }
      std::copy_n(values_.begin() + from * n, n, values_.begin() + to * n);
      labels_[to] = labels_[from];
      to = from;
    }
  }
  TrainingSet set(n_features_, std::move(values_), std::move(labels_), limits_);
  n_features_ = 0;
  values_.clear();
  labels_.clear();
  return set;
}

}  // namespace ltv::forest
