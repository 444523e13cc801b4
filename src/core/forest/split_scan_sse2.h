// Split-scan kernels for four classes with unit weights, in SSE2: 32-bit histogram cells, and
// 64-bit cells with counts below 2^31. Included by split_scan_kernel.cpp only, so that they
// are inlined into the scan.
#pragma once

#include <limits>

#include "core/forest/tree_builder_internal.h"

namespace ltv::forest {

#if defined(__SSE2__)
inline void TreeBuilder::ScanCells32x4(int feature, uint32_t* hist, uint8_t* seen,
                                       const BinOccupancy& occupancy, size_t n, size_t min_leaf,
                                       Split& best) {
  // 32-bit cells (the node's samples and counts are below 2^15): cell = samples << 16 |
  // count is a pair of int16, and so are the running left counts l_c and the right ones
  // r_c = t_c - l_c, so one multiply-add gives the sums of squares as exact integers
  // (below 2^30), as doubles the same values as summing the squares of doubles. The best
  // candidate is kept in registers and replaced by masks.
  const __m128i mask16 = _mm_set1_epi32(0xFFFF);
  int node_total = 0;
  alignas(16) int32_t totals[4];
  for (int c = 0; c < 4; ++c) node_total += totals[c] = static_cast<int32_t>(node_weights_[c]);
  const __m128i t = _mm_load_si128(reinterpret_cast<const __m128i*>(totals));
  // (lw, rw) = (lw, total - lw) = (lw ^ 0, (lw ^ -1) + total + 1)
  const __m128i flip = _mm_set_epi32(-1, 0, -1, 0);
  const __m128i flip_add = _mm_set_epi32(node_total + 1, 0, node_total + 1, 0);
  const __m128i min_left = _mm_set1_epi32(static_cast<int>(min_leaf) - 1);
  const __m128i max_left = _mm_set1_epi32(static_cast<int>(n - min_leaf) + 1);
  const __m128i zero = _mm_setzero_si128();
  __m128i cum = zero;
  __m128d best_v = _mm_set_sd(best.score);
  __m128i best_bin_v = _mm_set1_epi32(-1);
  const __m128d minus_inf = _mm_set1_pd(-std::numeric_limits<double>::infinity());
  ForEachOccupied(occupancy, [&](unsigned b) {
    __m128i* cell = reinterpret_cast<__m128i*>(hist + b * 4);
    cum = _mm_add_epi32(cum, _mm_loadu_si128(cell));
    _mm_storeu_si128(cell, zero);
    seen[b] = 0;
    const __m128i l = _mm_and_si128(cum, mask16);
    const __m128i p = _mm_packs_epi32(l, _mm_sub_epi32(t, l));  // l0..l3, r0..r3
    __m128i sq = _mm_madd_epi16(p, p);               // l0²+l1², l2²+l3², r0²+r1², r2²+r3²
    sq = _mm_add_epi32(sq, _mm_srli_epi64(sq, 32));  // lanes 0, 2: left_sq, right_sq
    // Every lane: (samples << 16 | count) summed over the classes, i.e. n_left, lw.
    __m128i h = _mm_add_epi32(cum, _mm_shuffle_epi32(cum, _MM_SHUFFLE(2, 3, 0, 1)));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m128i w = _mm_add_epi32(_mm_xor_si128(_mm_and_si128(h, mask16), flip), flip_add);
    const __m128d q = _mm_div_pd(_mm_cvtepi32_pd(_mm_shuffle_epi32(sq, _MM_SHUFFLE(3, 1, 2, 0))),
                                 _mm_cvtepi32_pd(w));
    const __m128d score = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
    const __m128i n_left = _mm_srli_epi32(h, 16);
    const __m128i valid =
        _mm_and_si128(_mm_cmpgt_epi32(n_left, min_left), _mm_cmpgt_epi32(max_left, n_left));
    // Invalid candidates score -inf; the running best is then a max (one short
    // dependency from bin to bin), the bin a mask select off that chain.
    const __m128d candidate = _mm_or_pd(_mm_and_pd(_mm_castsi128_pd(valid), score),
                                        _mm_andnot_pd(_mm_castsi128_pd(valid), minus_inf));
    const __m128d better = _mm_cmplt_pd(best_v, candidate);  // lane 0
    best_v = _mm_max_sd(candidate, best_v);                  // candidate if better
    const __m128i better_i = _mm_castpd_si128(better);
    best_bin_v = _mm_or_si128(_mm_and_si128(better_i, _mm_cvtsi32_si128(static_cast<int>(b))),
                              _mm_andnot_si128(better_i, best_bin_v));
  });
  // Without a branch (whether this feature won is unpredictable); best_v is the old best
  // score unless the feature beat it.
  const int best_bin = _mm_cvtsi128_si32(best_bin_v);
  const int won = best_bin >= 0 ? -1 : 0;  // masks: the compiler branched on a bool
  best.found = best.found | (won != 0);
  best.feature = (feature & won) | (best.feature & ~won);
  best.bin = (best_bin & won) | (best.bin & ~won);
  best.score = _mm_cvtsd_f64(best_v);
}

inline void TreeBuilder::ScanCells64x4(int feature, uint64_t* hist, uint8_t* seen,
                                       const BinOccupancy& occupancy, size_t n, size_t min_leaf,
                                       Split& best) {
  const size_t span = n - 2 * min_leaf;
  // 64-bit cells, counts below 2^31: the running left counts (and samples) as integers in
  // SSE registers, converted to doubles per bin. Every value is an integer below 2^53, so
  // this is exact and gives the same sums as Scan::Move. With unit weights and n_left >=
  // min_leaf >= 1 on both sides, both sides weigh more than 0.
  const __m128d t01 = _mm_loadu_pd(node_weights_.data());
  const __m128d t23 = _mm_loadu_pd(node_weights_.data() + 2);
  double total_w = 0;
  for (int c = 0; c < 4; ++c) total_w += node_weights_[c];
  const __m128d total_w2 = _mm_set1_pd(total_w);
  const __m128i zero = _mm_setzero_si128();
  __m128i cum01 = zero, cum23 = zero;
  __m128d best_v = _mm_set_sd(best.score);
  int best_bin = -1;
  ForEachOccupied(occupancy, [&](unsigned b) {
    __m128i* cell = reinterpret_cast<__m128i*>(hist + b * 4);
    cum01 = _mm_add_epi64(cum01, _mm_loadu_si128(cell));
    cum23 = _mm_add_epi64(cum23, _mm_loadu_si128(cell + 1));
    _mm_storeu_si128(cell, zero);
    _mm_storeu_si128(cell + 1, zero);
    seen[b] = 0;
    // Low halves = the class counts, high halves = the samples.
    const __m128i counts = _mm_castps_si128(
        _mm_shuffle_ps(_mm_castsi128_ps(cum01), _mm_castsi128_ps(cum23), _MM_SHUFFLE(2, 0, 2, 0)));
    const __m128i samples = _mm_add_epi64(_mm_srli_epi64(cum01, 32), _mm_srli_epi64(cum23, 32));
    const size_t n_left =
        static_cast<uint64_t>(_mm_cvtsi128_si64(samples)) +
        static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(samples, samples)));
    const __m128d l01 = _mm_cvtepi32_pd(counts);
    const __m128d l23 = _mm_cvtepi32_pd(_mm_unpackhi_epi64(counts, counts));
    const __m128d r01 = _mm_sub_pd(t01, l01), r23 = _mm_sub_pd(t23, l23);
    const __m128d w = _mm_add_pd(l01, l23);
    const __m128d lsq = _mm_add_pd(_mm_mul_pd(l01, l01), _mm_mul_pd(l23, l23));
    const __m128d rsq = _mm_add_pd(_mm_mul_pd(r01, r01), _mm_mul_pd(r23, r23));
    // (left_sq, right_sq) / (left_w, right_w), each sum taken as lane 0 + lane 1.
    const __m128d sq = _mm_add_pd(_mm_unpacklo_pd(lsq, rsq), _mm_unpackhi_pd(lsq, rsq));
    const __m128d left_w = _mm_add_pd(w, _mm_shuffle_pd(w, w, 1));
    const __m128d q = _mm_div_pd(sq, _mm_move_sd(_mm_sub_pd(total_w2, left_w), left_w));
    const __m128d score = _mm_add_sd(q, _mm_unpackhi_pd(q, q));
    const bool valid = n_left - min_leaf <= span;
    const __m128d better =
        _mm_and_pd(_mm_cmpgt_sd(score, best_v), _mm_castsi128_pd(_mm_set1_epi64x(-int64_t{valid})));
    best_v = _mm_or_pd(_mm_and_pd(better, score), _mm_andnot_pd(better, best_v));
    const int64_t mask = _mm_cvtsi128_si64(_mm_castpd_si128(better));
    best_bin = static_cast<int>((b & mask) | (best_bin & ~mask));
  });
  if (best_bin >= 0) best = {true, feature, best_bin, _mm_cvtsd_f64(best_v)};
}
#endif

}  // namespace ltv::forest
