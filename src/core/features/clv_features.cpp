// The CLV features of a snapshot: BG/NBD + Gamma-Gamma fitted on its customers (core/clv),
// unsupervised and from the snapshot's own past only, so no label leaks into them.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/clv/clv.h"

namespace ltv::features {

std::map<std::string, std::vector<double>> ClvOutputs(const std::vector<double>& frequency,
                                                      const std::vector<double>& recency_days,
                                                      const std::vector<double>& tenure_days,
                                                      const std::vector<double>& avg_order_value,
                                                      double horizon_days, CancelCheck& cancel) {
  const size_t n = frequency.size();
  // A customer with returns only has no purchase: recency and tenure are undefined (NaN);
  // the models see x = 0 over no time.
  std::vector<double> f(n), recency(n), tenure(n), value(n);
  for (size_t i = 0; i < n; ++i) {
    const bool defined = std::isfinite(recency_days[i]) && std::isfinite(tenure_days[i]) &&
                         tenure_days[i] >= 0 && recency_days[i] >= 0;
    f[i] = std::isfinite(frequency[i]) ? std::max(0.0, std::floor(frequency[i])) : 0;
    // Whole days: the models' time scale is weeks, and customers with the same (x, t_x, T)
    // are fitted as one weighted group, so a million customers with timestamps to the
    // microsecond would otherwise be a million groups (minutes of Newton steps, not seconds).
    tenure[i] = defined ? std::round(tenure_days[i]) : 0;
    recency[i] = defined ? std::min(std::round(recency_days[i]), tenure[i]) : 0;
    if (!defined) f[i] = 0;
    value[i] = std::isfinite(avg_order_value[i]) ? avg_order_value[i] : 0;
  }
  clv::ClvInput input{clv::DoubleSpan(f), clv::DoubleSpan(recency), clv::DoubleSpan(tenure),
                      clv::DoubleSpan(value)};
  clv::ClvResult result = clv::FitAndScore(input, horizon_days, cancel);
  std::map<std::string, std::vector<double>> out;
  out["expected_spend"] = std::move(result.expected_spend);
  out["p_alive"] = std::move(result.p_alive);
  out["expected_purchases"] = std::move(result.expected_purchases);
  return out;
}

}  // namespace ltv::features
