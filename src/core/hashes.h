// The project's non-cryptographic hashes, named by what they are for. Each one's values are
// part of a stored format or a cache key: changing a function's output needs a new format
// version of what stores it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/le_bytes.h"

namespace ltv {

// 64x64 -> 128-bit multiply, folded: the mixing step of TextKeyHash.
inline uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

// Keys of short texts (invoice numbers, stock codes) in the customer feature accumulator's
// hash tables and its serialized state: well mixed, never 0 (0 marks an empty slot), and
// inlined into the per-line path of the aggregate.
[[gnu::always_inline]] inline uint64_t TextKeyHash(std::string_view text) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                     k2 = 0x8ebc6af09c88c6e3ull, k3 = 0x589965cc75374cc3ull;
  const char* p = text.data();
  const size_t n = text.size();
  // The length seeds the state, so zero-padding of the tail cannot make "a" equal "a\0".
  uint64_t h = k0 ^ Mum(static_cast<uint64_t>(n) ^ k1, k2);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) h = Mum(h ^ LoadLe64(p + i) ^ k1, k2);
  // The last r = n - i (1..7) bytes, little-endian in the low bytes of `tail` (as if read one
  // by one). Invoice numbers and stock codes are mostly 5-7 bytes long, so this runs for
  // nearly every key: two overlapping loads (or three single bytes) instead of a byte loop.
  // Overlapping bytes are the same bytes, so OR-ing them in is exact.
  if (const size_t r = n - i; r != 0) {
    const char* q = p + i;
    uint64_t tail;
    if (r >= 4) {
      tail = LoadLe32(q) | (static_cast<uint64_t>(LoadLe32(q + r - 4)) << (8 * (r - 4)));
    } else {
      tail = static_cast<uint64_t>(static_cast<uint8_t>(q[0])) |
             static_cast<uint64_t>(static_cast<uint8_t>(q[r >> 1])) << (8 * (r >> 1)) |
             static_cast<uint64_t>(static_cast<uint8_t>(q[r - 1])) << (8 * (r - 1));
    }
    h = Mum(h ^ tail ^ k1, k2);
  }
  h = Mum(h ^ k3, k0 ^ (h >> 29));
  return h == 0 ? 1 : h;
}

// Model integrity: the trailer checksum of a forest model (core/forest/model_format.h).
// Checksum64 (format version 2 on): FNV-1a's step over 8-byte little-endian words in four
// interleaved lanes (then the lanes, the tail bytes and the size), so it runs at memory speed;
// a change confined to one word always changes it. Fnv1a64: plain FNV-1a 64, format version 1.
uint64_t Checksum64(const uint8_t* data, size_t size);
uint64_t Fnv1a64(const uint8_t* data, size_t size);

// Model cache identity: a word-at-a-time multiply-xorshift hash of every byte and the size,
// several GB/s, far cheaper than decoding and validating a model. Not collision resistant
// against crafted input (a collision can only make the cache serve the other model).
uint64_t ContentHash64(const uint8_t* data, size_t size);

// Duplicate-row detection in the CSV import: a 128-bit hash of a cleaned record (MurmurHash3
// x64/128, public domain, A. Appleby). With 2^-128 collision odds
// per pair, storing hashes instead of records is exact for any realistic file while keeping
// memory at 16 bytes per loaded record.
struct Hash128 {
  uint64_t lo = 0, hi = 0;
  bool operator==(const Hash128& o) const { return lo == o.lo && hi == o.hi; }
};
Hash128 MurmurHash3_128(const void* data, size_t len, uint64_t seed);

}  // namespace ltv
