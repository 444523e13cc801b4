// libFuzzer target, structure-aware: the fuzzer's bytes choose the fields of a model in the
// binary format (model_format.h) rather than the bytes themselves, and the blob is sealed with
// the right checksum, so nearly every input reaches the checks behind the checksum: counts,
// UTF-8 names, parameters, the training summary, tree links and leaf distributions. Most
// choices are valid and a few are not (a flipped link, a NaN threshold, a name with a stray
// byte, a count off by one), so the decoder is exercised on models that are almost right.
//
// Deserialize must load the model or throw ltv::Error(kDataCorrupted); a loaded model must
// predict probabilities summing to 1, describe itself as valid UTF-8 (ltv.rf_info's jsonb),
// and serialize to a fixed point.
//
//   ./fuzz_forest_model_structured -max_total_time=60
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/forest/model_format.h"

using namespace ltv::forest;

namespace {

class Blob {
 public:
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void F64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    Le(bits, 8);
  }
  void Bytes(const std::string& s) { bytes.insert(bytes.end(), s.begin(), s.end()); }
  void String(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    Bytes(s);
  }
  std::vector<uint8_t> bytes;

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
};

// Mostly `valid`; sometimes something else the fuzzer picks. `odds` in 256ths.
uint32_t Maybe(FuzzedDataProvider& in, uint32_t valid, int odds = 8) {
  if (in.ConsumeIntegral<uint8_t>() >= odds) return valid;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return valid + 1;
    case 1: return valid - 1;
    case 2: return 0;
    default: return in.ConsumeIntegral<uint32_t>();
  }
}

double MaybeDouble(FuzzedDataProvider& in, double valid) {
  if (in.ConsumeIntegral<uint8_t>() >= 8) return valid;
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -valid;
    case 3: return valid * 2 + 1e-3;
    default: return in.ConsumeFloatingPoint<double>();
  }
}

std::string Name(FuzzedDataProvider& in, int f) {
  std::string name = "f" + std::to_string(f);
  if (in.ConsumeIntegral<uint8_t>() < 16) name = in.ConsumeRandomLengthString(24);  // any bytes
  return name;
}

std::string Params(FuzzedDataProvider& in, uint32_t n_trees, uint32_t n_classes) {
  std::string p = "{\"n_trees\": " + std::to_string(Maybe(in, n_trees)) +
                  ", \"n_classes\": " + std::to_string(Maybe(in, n_classes));
  static const char* const kExtras[] = {
      ", \"max_depth\": 4",         ", \"min_samples_leaf\": 3",   ", \"max_features\": \"all\"",
      ", \"max_features\": 0.5",    ", \"class_weight\": \"balanced\"", ", \"bootstrap\": false",
      ", \"sample_fraction\": 0.7", ", \"max_bins\": 64",          ", \"seed\": 7",
      ", \"decision\": \"tuned\"",  ", \"class_weight\": [1, 2]",  ", \"feature_names\": [\"a\"]",
      ", \"n_trees\": -1",          ", \"unknown\": 1",            ", \"max_bins\": 1e30"};
  const int extras = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < extras; ++i) {
    const size_t k = in.ConsumeIntegralInRange<size_t>(0, std::size(kExtras) - 1);
    // The invalid extras (last four) are rare.
    if (k >= std::size(kExtras) - 4 && in.ConsumeIntegral<uint8_t>() >= 16) continue;
    p += kExtras[k];
  }
  p += "}";
  if (in.ConsumeIntegral<uint8_t>() < 4) p = in.ConsumeRandomLengthString(64);
  return p;
}

// One tree in the format's topological order: each split's children are appended at the end.
void WriteTree(FuzzedDataProvider& in, Blob& b, uint32_t n_features, uint32_t n_classes) {
  struct Node {
    double threshold = 0;
    int32_t feature = -1;
    uint32_t index = 0;
  };
  std::vector<Node> nodes(1);
  const size_t max_nodes = 2 * in.ConsumeIntegralInRange<size_t>(0, 40) + 1;
  uint32_t leaves = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes.size() + 2 <= max_nodes && in.ConsumeBool()) {
      nodes[i].feature = static_cast<int32_t>(in.ConsumeIntegralInRange<uint32_t>(0, n_features - 1));
      nodes[i].threshold = in.ConsumeFloatingPointInRange<double>(-100, 100);
      nodes[i].index = static_cast<uint32_t>(nodes.size());
      nodes.resize(nodes.size() + 2);
    } else {
      nodes[i].feature = -1;
      nodes[i].index = leaves++;
    }
  }
  b.U32(Maybe(in, static_cast<uint32_t>(nodes.size()), 4));
  b.U32(Maybe(in, leaves, 4));
  for (const Node& n : nodes) {
    b.F64(n.feature < 0 ? 0.0 : MaybeDouble(in, n.threshold));
    b.U32(static_cast<uint32_t>(Maybe(in, static_cast<uint32_t>(n.feature), 2)));
    b.U32(Maybe(in, n.index, 2));
  }
  for (uint32_t leaf = 0; leaf < leaves; ++leaf) {
    std::vector<double> p(n_classes);
    double sum = 0;
    for (double& v : p) sum += v = in.ConsumeIntegralInRange<int>(0, 9);
    for (uint32_t c = 0; c < n_classes; ++c)
      b.F64(MaybeDouble(in, sum > 0 ? p[c] / sum : 1.0 / n_classes));
  }
}

bool ValidUtf8Json(const std::string& s) { return IsValidUtf8(s); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Blob b;
  b.Bytes("LTVRF");
  const uint16_t version = in.ConsumeIntegral<uint8_t>() < 16 ? 1 : kFormatVersion;
  b.U16(static_cast<uint16_t>(Maybe(in, version, 2)));
  const uint32_t n_features = in.ConsumeIntegralInRange<uint32_t>(1, 6);
  b.U32(Maybe(in, n_features, 2));
  for (uint32_t f = 0; f < n_features; ++f) b.String(Name(in, static_cast<int>(f)));
  const uint32_t n_classes = in.ConsumeIntegralInRange<uint32_t>(1, 5);
  b.U32(Maybe(in, n_classes, 2));
  const uint32_t n_trees = in.ConsumeIntegralInRange<uint32_t>(1, 4);
  b.String(Params(in, n_trees, n_classes));

  // Training summary: class counts that add up to the rows, scores in range, importances
  // summing to 1 (or all 0).
  std::vector<uint64_t> counts(n_classes);
  uint64_t rows = 0;
  for (uint64_t& c : counts) rows += c = in.ConsumeIntegralInRange<uint64_t>(0, 1000);
  b.U64(Maybe(in, static_cast<uint32_t>(rows), 4));
  b.U64(Maybe(in, static_cast<uint32_t>(rows / 2), 4));
  for (int s = 0; s < 3; ++s) b.F64(MaybeDouble(in, in.ConsumeProbability<double>()));
  b.F64(MaybeDouble(in, in.ConsumeFloatingPointInRange<double>(0, 10)));
  for (uint64_t c : counts) b.U64(Maybe(in, static_cast<uint32_t>(c), 4));
  for (int k = 0; k < 2; ++k)
    for (uint32_t c = 0; c < n_classes; ++c)
      b.F64(MaybeDouble(in, in.ConsumeFloatingPointInRange<double>(0.1, 10)));
  std::vector<double> importance(n_features);
  double total = 0;
  for (double& v : importance) total += v = in.ConsumeIntegralInRange<int>(0, 9);
  for (double v : importance) b.F64(MaybeDouble(in, total > 0 ? v / total : 0.0));

  b.U32(Maybe(in, n_trees, 4));
  for (uint32_t t = 0; t < n_trees; ++t) WriteTree(in, b, n_features, n_classes);
  if (in.ConsumeIntegral<uint8_t>() < 4) b.Bytes(in.ConsumeRandomLengthString(8));  // trailing
  b.U64(0);
  Reseal(b.bytes);  // the checksum of the version written (Fnv1a64 for 1)

  try {
    const Forest forest = Deserialize(b.bytes.data(), b.bytes.size());
    std::vector<double> row(forest.n_features());
    for (size_t f = 0; f < row.size(); ++f) row[f] = static_cast<double>(f) * 7.5 - 10.0;
    std::vector<double> proba(forest.n_classes());
    forest.PredictProba(row.data(), row.size(), proba.data());
    double sum = 0;
    for (double p : proba) sum += p;
    if (sum < 1 - 1e-6 || sum > 1 + 1e-6) std::abort();
    const int label = forest.Predict(row.data(), row.size(), DecisionRule::kTuned);
    if (label < 0 || label >= forest.n_classes()) std::abort();
    if (!ValidUtf8Json(Info(forest).Dump())) std::abort();  // item 8 of issue 14
    const std::vector<uint8_t> again = Serialize(forest);
    const Forest reloaded = Deserialize(again.data(), again.size());
    if (Serialize(reloaded) != again) std::abort();
  } catch (const ltv::Error& e) {
    if (e.kind() != ltv::ErrorKind::kDataCorrupted) std::abort();
    if (!IsValidUtf8(e.what())) {  // messages never carry raw bytes
      fprintf(stderr, "invalid message: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
