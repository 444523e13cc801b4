// libFuzzer target: Deserialize must turn any bytes into a valid Forest or an
// ltv::Error(kDataCorrupted), never a crash, hang or huge allocation; a model that loads must
// predict and describe itself.
//
// A checksum stops nearly every mutation at the door, so for inputs whose first byte is odd
// the fuzzer rewrites the trailer with the right checksum first: then the mutations reach
// the checks behind it (counts, tree links, probabilities, parameters).
//
//   forest_cli corpus corpus_dir    # a few valid models as the seed corpus
//   ./fuzz_forest_model -max_total_time=120 corpus_dir
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/forest/model_format.h"
#include "support/forest_batch.h"

using namespace ltv::forest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> blob(data, data + size);
  if (size > 0 && (data[size / 2] & 1)) Reseal(blob);
  try {
    const Forest forest = Deserialize(blob.data(), blob.size());
    std::vector<double> row(forest.n_features());
    for (size_t f = 0; f < row.size(); ++f) row[f] = static_cast<double>(f) * 0.5 - 1.0;
    std::vector<double> proba(forest.n_classes());
    forest.PredictProba(row.data(), row.size(), proba.data());
    double sum = 0;
    for (double p : proba) sum += p;
    if (sum < 1 - 1e-6 || sum > 1 + 1e-6) std::abort();  // leaves were validated to sum to 1
    const int label = forest.Predict(row.data(), row.size(), DecisionRule::kTuned);
    if (label < 0 || label >= forest.n_classes()) std::abort();
    (void)PredictBatch(forest, row.data(), 1, row.size(), DecisionRule::kArgmax);
    (void)Info(forest).Dump();
    // What it serializes to must load again and be a fixed point (the input itself may differ
    // in ignored details such as JSON spacing).
    const std::vector<uint8_t> again = Serialize(forest);
    const Forest reloaded = Deserialize(again.data(), again.size());
    if (Serialize(reloaded) != again) std::abort();
  } catch (const ltv::Error& e) {
    if (e.kind() != ltv::ErrorKind::kDataCorrupted) std::abort();
  }
  return 0;
}
