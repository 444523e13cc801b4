#include "core/hashes.h"

#include <cstring>

namespace ltv {

uint64_t Fnv1a64(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t Checksum64(const uint8_t* data, size_t size) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  // Four lanes in locals (as members of a struct, their stores could alias the bytes read).
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL, c = 0xcbf29ce484222325ULL ^ 1,
           d = 0x84222325cbf29ce4ULL ^ 1;
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    a = (a ^ LoadLe64(data + i)) * kPrime;
    b = (b ^ LoadLe64(data + i + 8)) * kPrime;
    c = (c ^ LoadLe64(data + i + 16)) * kPrime;
    d = (d ^ LoadLe64(data + i + 24)) * kPrime;
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint64_t v : {a, b, c, d}) h = (h ^ v) * kPrime;
  for (; i < size; ++i) h = (h ^ data[i]) * kPrime;
  return (h ^ static_cast<uint64_t>(size)) * kPrime;
}

uint64_t ContentHash64(const uint8_t* data, size_t size) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = 0x243F6A8885A308D3ULL ^ size;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data + i, size - i);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  return h;
}

}  // namespace ltv
