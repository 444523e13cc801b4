// Split-scan kernel: four classes, unit weights, 64-bit histogram cells with counts below
// 2^31, SSE2. Included by split_scan_kernel.cpp only, so that it is inlined into the scan.
#pragma once

#include "core/forest/tree_builder_internal.h"

namespace ltv::forest {

#if defined(__SSE2__)
inline void TreeBuilder::ScanCells64x4(int feature, uint64_t* hist, uint8_t* seen,
                                       const BinOccupancy& occupancy, size_t n, Split& best) {
  const size_t min_leaf = static_cast<size_t>(settings_.min_samples_leaf);
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
