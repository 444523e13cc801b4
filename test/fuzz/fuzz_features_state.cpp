// libFuzzer target: FeatureAccumulator::Deserialize must reject malformed bytes with
// ltv::Error(kDataCorrupted) and never crash, read out of bounds or over-allocate. Whatever it
// accepts must finalize, merge and re-serialize to the very same (canonical) bytes.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/features/customer_features.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ltv::features::FeatureAccumulator;
  try {
    FeatureAccumulator state = FeatureAccumulator::Deserialize(data, size);
    state.Finalize();
    std::vector<uint8_t> again;
    state.SerializeTo(again);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
    FeatureAccumulator other(state.cutoff());
    other.Add("536365", "85123A", state.cutoff() - 1, 15.3);
    other.Add("C536379", "D", state.cutoff() - 2, -27.5);
    try {
      state.Merge(other);  // may overflow a hostile sum: that is an Error, not a crash
      state.Merge(state);
      state.Finalize();
    } catch (const ltv::Error& e) {
      if (e.kind() != ltv::ErrorKind::kLimitExceeded) std::abort();
    }
  } catch (const ltv::Error& e) {
    if (e.kind() != ltv::ErrorKind::kDataCorrupted) std::abort();
  }
  return 0;
}
