// A small deterministic random number generator for the forest.
//
// The standard library's engines are portable but its distributions are not (their output may
// differ between libstdc++ and libc++), so a model trained with a given seed would not be
// reproducible across builds. SplitMix64 seeding + xoshiro256** with Lemire's bounded draw gives
// the same stream everywhere.
#pragma once

#include <cstdint>

#include "core/xoshiro.h"

namespace ltv::forest {

class Rng {
 public:
  // Each (seed, stream) pair gives an independent stream: trees use their index as the stream,
  // so that tree i is the same whichever thread builds it.
  Rng(uint64_t seed, uint64_t stream)
      : engine_(seed ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL)) {}

  uint64_t Next() { return engine_.Next(); }

  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint64_t Below(uint64_t bound) {
    __uint128_t m = static_cast<__uint128_t>(Next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        m = static_cast<__uint128_t>(Next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  Xoshiro256 engine_;
};

}  // namespace ltv::forest
