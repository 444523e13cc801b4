// Internals shared by the files of the tree builder (tree_builder.cpp, the builder; the hot
// *_kernel.cpp files, compiled at -O3: histogram building, split scans, sorted scans,
// partitioning). Not part of the forest's interface.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/forest/tree_builder.h"

namespace ltv::forest::builder {

// How many samples ahead the column reads are prefetched, from how many training rows.
constexpr size_t kPrefetch = 24;
constexpr size_t kPrefetchRows = 65536;

// What the build stores in seen[code]: the top bit, which pmovmskb gathers directly.
constexpr uint8_t kSeen = 0x80;

// Sets bit b of occupied[b / 64] when seen[b] != 0 (seen[b] is 0 or kSeen), for all
// kMaxBins bins (a feature's codes are below its bin count, the rest of seen stays zero).
// Whole words in registers: no per-feature trip count to mispredict, no read-modify-write.
inline uint64_t OccupiedWord(const uint8_t* seen) {
#if defined(__SSE2__)
  const auto group = [seen](int g) {
    return static_cast<uint64_t>(static_cast<unsigned>(
        _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(seen + 16 * g)))));
  };
  return group(0) | group(1) << 16 | group(2) << 32 | group(3) << 48;
#else
  uint64_t bits = 0;
  for (int b = 0; b < 64; ++b) bits |= static_cast<uint64_t>(seen[b] != 0) << b;
  return bits;
#endif
}

inline void OccupiedBins(const uint8_t* seen, uint64_t* occupied) {
  static_assert(kMaxBins == 256, "four 64-bit words");
  occupied[0] = OccupiedWord(seen);
  occupied[1] = OccupiedWord(seen + 64);
  occupied[2] = OccupiedWord(seen + 128);
  occupied[3] = OccupiedWord(seen + 192);
}

// A record's first word: label in the low 16 bits, bootstrap count in the high 32.
inline unsigned LabelOf(uint64_t head) { return static_cast<unsigned>(head & 0xFFFF); }
inline uint32_t CountOf(uint64_t head) { return static_cast<uint32_t>(head >> 32); }

// Feature `feature`'s code in a record: its byte from word 1 on, or the column's entry for
// the record's row number.
template <bool kRowNumbers>
inline unsigned CodeOf(const uint64_t* record, const uint8_t* column, int feature) {
  if (kRowNumbers) return column[static_cast<uint32_t>(record[1])];
  return reinterpret_cast<const uint8_t*>(record + 1)[feature];
}

}  // namespace ltv::forest::builder

namespace ltv::forest {

// The running state of a scan over candidate splits, left to right. Gini needs
// sum(l_c^2) / L + sum(r_c^2) / R (l_c, r_c the weighted class counts of the two sides), and
// moving a weight d of class c to the left changes the sums of squares by d * (2 l_c + d)
// and d * (d - 2 r_c), so a sample (or a bin's class cell) costs O(1) instead of O(classes).
// With unit weights every value is an integer below 2^53, so the arithmetic is exact and
// the result is the same as summing from scratch.
struct TreeBuilder::Scan {
  double left_w = 0, left_sq = 0, right_sq = 0;
  double total_w = 0;
  double* left;         // per class, weighted
  const double* total;  // per class, weighted

  void Init(double* left_buffer, const double* totals, int n_classes) {
    left = left_buffer;
    total = totals;
    left_w = left_sq = right_sq = total_w = 0;
    for (int c = 0; c < n_classes; ++c) {
      left[c] = 0;
      total_w += totals[c];
      right_sq += totals[c] * totals[c];
    }
  }
  void Move(int c, double d) {
    const double l = left[c], r = total[c] - l;
    left_sq += d * (2 * l + d);
    right_sq += d * (d - 2 * r);
    left[c] = l + d;
    left_w += d;
  }
};

template <typename Cell>
inline Cell* TreeBuilder::Slots() {
  if constexpr (sizeof(Cell) == 4) {
    return histogram32_.data();
  } else {
    return histogram64_.data();
  }
}

}  // namespace ltv::forest
