// Customer-lifetime-value scores from the BG/NBD and Gamma-Gamma models, on the product's
// per-customer features (times in days). See docs/clv.md.
//
// Inputs per customer:
//  * frequency f: distinct purchase events before the cutoff, a whole number >= 0; the repeat
//    purchases are x = max(f - 1, 0) (f = 0, a customer with returns only, counts as x = 0);
//  * recency_days: days from the last purchase to the cutoff; tenure_days: days from the first
//    purchase to the cutoff (T), 0 <= recency_days <= tenure_days; t_x = tenure - recency;
//  * avg_order_value m: the mean net spend per purchase event, any finite number.
// The BG/NBD model works in weeks (kTimeUnitDays, as in the paper, so alpha compares with
// published fits); the Gamma-Gamma model is fitted on the customers with x > 0 and m > 0, each
// with n = f transactions of mean m (avg_order_value averages all f events, the first
// included).
#pragma once

#include <cstdint>
#include <vector>

#include "core/cancel.h"
#include "core/clv/bgnbd.h"
#include "core/clv/gamma_gamma.h"
#include "core/json.h"

namespace ltv::clv {

// The time unit of the BG/NBD parameters, in days (alpha is in weeks).
constexpr double kTimeUnitDays = 7;

struct ClvParams {
  BgNbdFit bgnbd;             // alpha in units of time_unit_days
  GammaGammaFit gamma_gamma;  // v in the money unit of avg_order_value
  double time_unit_days = kTimeUnitDays;
};

struct ClvInput {
  DoubleSpan frequency, recency_days, tenure_days, avg_order_value;
};

struct ClvResult {
  ClvParams params;
  // Per input position: E[purchases in (cutoff, cutoff + horizon]], P(alive at the cutoff),
  // E[purchases] * E[value per purchase].
  std::vector<double> expected_purchases, p_alive, expected_spend;
};

struct CustomerScore {
  double expected_purchases = 0, p_alive = 0, expected_value = 0, expected_spend = 0;
};

// Fits both models. Throws ltv::Error(kInvalidParameter) for arrays of different lengths, no
// customer, or a bad value (the message names the array and the 1-based position); never for
// a fit that does not converge (see BgNbdFit::converged, GammaGammaFit::fallback).
ClvParams FitClv(const ClvInput& input, CancelCheck& cancel = CancelCheck::None());

// Fits both models and scores every customer over (cutoff, cutoff + horizon_days].
ClvResult FitAndScore(const ClvInput& input, double horizon_days,
                      CancelCheck& cancel = CancelCheck::None());

// Scores every customer with given parameters (same checks as FitClv).
void ScoreAll(const ClvParams& params, const ClvInput& input, double horizon_days,
              ClvResult& result, CancelCheck& cancel = CancelCheck::None());

// One customer with given parameters: the same numbers FitAndScore gives that customer.
CustomerScore ScoreCustomer(const ClvParams& params, double frequency, double recency_days,
                            double tenure_days, double avg_order_value, double horizon_days);

// {"bgnbd": {"r", "alpha", "a", "b", "loglik", "iterations", "converged", "customers"},
//  "gamma_gamma": {"p", "q", "v", "loglik", "iterations", "converged", "customers",
//                  "fallback", "mean_value"}, "time_unit_days": 7}
json::Value ToJson(const ClvParams& params);
// Reads what ToJson writes (numbers as text keep every bit: "%.17g"). Needs bgnbd r, alpha,
// a, b (finite, > 0), time_unit_days (> 0), gamma_gamma.mean_value (finite) and, unless
// gamma_gamma.fallback is true, gamma_gamma p, v (> 0) and q (> 1); the other keys are
// informational. Throws ltv::Error(kInvalidParameter) naming the missing or bad key.
ClvParams ParamsFromJson(const json::Value& value);

}  // namespace ltv::clv
