// A small, fast, portable random source for the generator. The standard distributions are
// not specified bit for bit (libstdc++ and libc++ give different streams), so everything the
// generator draws goes through these functions: the same seed gives the same dataset on every
// platform with an IEEE libm.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/xoshiro.h"

namespace ltv::generator {

// A well-mixed seed for one stream (e.g. one customer) of a dataset.
inline uint64_t StreamSeed(uint64_t seed, uint64_t stream) {
  uint64_t state = seed;
  const uint64_t a = SplitMix64(state);
  state = a ^ (stream * 0xd1b54a32d192ed03ull);
  return SplitMix64(state);
}

// Distributions over the core's xoshiro256** engine.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_.Next(); }

  // [0, 1)
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // (0, 1): safe for log()
  double UniformOpen() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
  // [0, n)
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  double Exponential(double rate) { return -std::log(UniformOpen()) / rate; }

  double Normal() {
    // Marsaglia's polar method; the second value is dropped to keep the stream simple.
    for (;;) {
      const double u = 2 * Uniform() - 1, v = 2 * Uniform() - 1;
      const double s = u * u + v * v;
      if (s > 0 && s < 1) return u * std::sqrt(-2 * std::log(s) / s);
    }
  }
  double LogNormal(double mu, double sigma) { return std::exp(mu + sigma * Normal()); }

  // Marsaglia and Tsang; shape < 1 via the boost Gamma(shape + 1) * U^(1/shape).
  double Gamma(double shape, double scale) {
    if (shape < 1) return Gamma(shape + 1, scale) * std::pow(UniformOpen(), 1 / shape);
    const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
      double x, v;
      do {
        x = Normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = UniformOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v * scale;
    }
  }

 private:
  Xoshiro256 engine_;
};

}  // namespace ltv::generator
