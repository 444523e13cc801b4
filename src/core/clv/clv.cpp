#include "core/clv/clv.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "core/error.h"

namespace ltv::clv {

namespace {

constexpr size_t kCancelEvery = 4096;

[[noreturn]] void Reject(const std::string& message) {
  throw Error(ErrorKind::kInvalidParameter, "clv: " + message);
}

std::string At(const char* name, size_t i, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return std::string(name) + "[" + std::to_string(i + 1) + "] = " + buf;
}

// One customer in model units (weeks). Every path (fit, batch scores, one customer) converts
// with this function, so the same customer gets the same bits everywhere.
struct ModelCustomer {
  double x, t_x, T;
};

ModelCustomer ToModel(double frequency, double recency_days, double tenure_days) {
  return {frequency > 0 ? frequency - 1 : 0, (tenure_days - recency_days) / kTimeUnitDays,
          tenure_days / kTimeUnitDays};
}

void CheckCustomer(size_t i, double f, double recency, double tenure, double m) {
  if (!std::isfinite(f) || f < 0 || f != std::floor(f))
    Reject(At("frequency", i, f) + " is not a whole number >= 0");
  if (!std::isfinite(tenure) || tenure < 0)
    Reject(At("tenure_days", i, tenure) + " is not a finite number >= 0");
  if (!std::isfinite(recency) || recency < 0)
    Reject(At("recency_days", i, recency) + " is not a finite number >= 0");
  if (recency > tenure)
    Reject(At("recency_days", i, recency) + " is greater than tenure_days (" +
           At("tenure_days", i, tenure) + "): the last purchase cannot precede the first");
  if (!std::isfinite(m)) Reject(At("avg_order_value", i, m) + " is not a finite number");
}

void CheckHorizon(double horizon_days) {
  if (!std::isfinite(horizon_days) || horizon_days < 0)
    Reject("horizon_days must be a finite number >= 0, got " + std::to_string(horizon_days));
}

size_t CheckInput(const ClvInput& in, CancelCheck& cancel) {
  const size_t n = in.frequency.size;
  if (in.recency_days.size != n || in.tenure_days.size != n || in.avg_order_value.size != n)
    Reject("frequency, recency_days, tenure_days and avg_order_value must have the same length (" +
           std::to_string(n) + ", " + std::to_string(in.recency_days.size) + ", " +
           std::to_string(in.tenure_days.size) + ", " + std::to_string(in.avg_order_value.size) +
           ")");
  for (size_t i = 0; i < n; ++i) {
    if (i % (16 * kCancelEvery) == 0) cancel.Check();
    CheckCustomer(i, in.frequency[i], in.recency_days[i], in.tenure_days[i], in.avg_order_value[i]);
  }
  return n;
}

// Fits both models on checked input; leaves the merged BG/NBD data for scoring.
ClvParams Fit(const ClvInput& in, BgNbdData& data, CancelCheck& cancel) {
  const size_t n = in.frequency.size;
  if (n == 0) Reject("at least one customer is needed to fit the models");
  std::vector<double> x(n), t_x(n), T(n);
  std::vector<double> gg_n, gg_m;
  double positive_sum = 0;
  size_t positive_count = 0;
  for (size_t i = 0; i < n; ++i) {
    const ModelCustomer c = ToModel(in.frequency[i], in.recency_days[i], in.tenure_days[i]);
    x[i] = c.x;
    t_x[i] = c.t_x;
    T[i] = c.T;
    const double m = in.avg_order_value[i];
    if (m > 0) {
      positive_sum += m;
      ++positive_count;
      // The Gamma-Gamma model's customers: repeat buyers with a positive mean, n = f events.
      if (c.x > 0) {
        gg_n.push_back(in.frequency[i]);
        gg_m.push_back(m);
      }
    }
  }
  cancel.Check();
  ClvParams params;
  data = AggregateBgNbd(x, t_x, T);
  params.bgnbd = FitBgNbd(data, cancel);
  params.gamma_gamma = FitGammaGamma(gg_n, gg_m, cancel);
  if (params.gamma_gamma.customers == 0) {
    // Nobody to fit: the mean of the positive values, or 0 when there is none.
    params.gamma_gamma.mean_value =
        positive_count > 0 ? positive_sum / static_cast<double>(positive_count) : 0;
  }
  return params;
}

}  // namespace

ClvParams FitClv(const ClvInput& input, CancelCheck& cancel) {
  CheckInput(input, cancel);
  BgNbdData data;
  return Fit(input, data, cancel);
}

ClvResult FitAndScore(const ClvInput& input, double horizon_days, CancelCheck& cancel) {
  CheckHorizon(horizon_days);
  const size_t n = CheckInput(input, cancel);
  ClvResult result;
  BgNbdData data;
  result.params = Fit(input, data, cancel);
  // Scores per distinct (x, t_x, T) triple (sorted by x, which the per-x cache of the
  // expectation likes), then copied to every customer of the triple.
  const double t = horizon_days / kTimeUnitDays;
  const BgNbdParams& bg = result.params.bgnbd.params;
  ExpectedPurchases expected(bg);
  const size_t triples = data.x.size();
  std::vector<double> ep(triples), pa(triples);
  for (size_t j = 0; j < triples; ++j) {
    if (j % kCancelEvery == 0) cancel.Check();
    pa[j] = ProbabilityAlive(bg, data.x[j], data.t_x[j], data.T[j]);
    ep[j] = expected.Unconditional(data.x[j], data.T[j], t) * pa[j];
  }
  result.expected_purchases.resize(n);
  result.p_alive.resize(n);
  result.expected_spend.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % (16 * kCancelEvery) == 0) cancel.Check();
    const uint32_t j = data.triple_of[i];
    const double value = ExpectedAverageValue(result.params.gamma_gamma, input.frequency[i],
                                              input.avg_order_value[i]);
    result.expected_purchases[i] = ep[j];
    result.p_alive[i] = pa[j];
    result.expected_spend[i] = ep[j] * value;
  }
  return result;
}

void ScoreAll(const ClvParams& params, const ClvInput& input, double horizon_days,
              ClvResult& result, CancelCheck& cancel) {
  CheckHorizon(horizon_days);
  const size_t n = CheckInput(input, cancel);
  result.params = params;
  result.expected_purchases.resize(n);
  result.p_alive.resize(n);
  result.expected_spend.resize(n);
  const double t = horizon_days / kTimeUnitDays;
  ExpectedPurchases expected(params.bgnbd.params);
  for (size_t i = 0; i < n; ++i) {
    if (i % kCancelEvery == 0) cancel.Check();
    const ModelCustomer c =
        ToModel(input.frequency[i], input.recency_days[i], input.tenure_days[i]);
    const double pa = ProbabilityAlive(params.bgnbd.params, c.x, c.t_x, c.T);
    const double ep = expected.Unconditional(c.x, c.T, t) * pa;
    result.p_alive[i] = pa;
    result.expected_purchases[i] = ep;
    result.expected_spend[i] =
        ep * ExpectedAverageValue(params.gamma_gamma, input.frequency[i], input.avg_order_value[i]);
  }
}

CustomerScore ScoreCustomer(const ClvParams& params, double frequency, double recency_days,
                            double tenure_days, double avg_order_value, double horizon_days) {
  CheckHorizon(horizon_days);
  CheckCustomer(0, frequency, recency_days, tenure_days, avg_order_value);
  const ModelCustomer c = ToModel(frequency, recency_days, tenure_days);
  ExpectedPurchases expected(params.bgnbd.params);
  CustomerScore score;
  score.p_alive = ProbabilityAlive(params.bgnbd.params, c.x, c.t_x, c.T);
  score.expected_purchases =
      expected.Unconditional(c.x, c.T, horizon_days / kTimeUnitDays) * score.p_alive;
  score.expected_value = ExpectedAverageValue(params.gamma_gamma, frequency, avg_order_value);
  score.expected_spend = score.expected_purchases * score.expected_value;
  return score;
}

json::Value ToJson(const ClvParams& params) {
  const BgNbdFit& bg = params.bgnbd;
  const GammaGammaFit& gg = params.gamma_gamma;
  json::Value bgnbd = json::Value::MakeObject();
  bgnbd.Set("r", bg.params.r)
      .Set("alpha", bg.params.alpha)
      .Set("a", bg.params.a)
      .Set("b", bg.params.b)
      .Set("loglik", bg.loglik)
      .Set("iterations", bg.iterations)
      .Set("converged", bg.converged)
      .Set("customers", bg.customers);
  json::Value gamma = json::Value::MakeObject();
  gamma.Set("p", gg.params.p)
      .Set("q", gg.params.q)
      .Set("v", gg.params.v)
      .Set("loglik", gg.loglik)
      .Set("iterations", gg.iterations)
      .Set("converged", gg.converged)
      .Set("customers", gg.customers)
      .Set("fallback", gg.fallback)
      .Set("mean_value", gg.mean_value);
  json::Value out = json::Value::MakeObject();
  out.Set("bgnbd", std::move(bgnbd))
      .Set("gamma_gamma", std::move(gamma))
      .Set("time_unit_days", params.time_unit_days);
  return out;
}

namespace {

const json::Value& Section(const json::Value& value, const char* key) {
  const json::Value* section = value.Find(key);
  if (!section) Reject(std::string("params: \"") + key + "\" is missing");
  if (!section->is_object()) Reject(std::string("params: \"") + key + "\" must be an object");
  return *section;
}

// A number of the section; `min_exclusive` when given is a strict lower bound.
double Number(const json::Value& section, const char* section_name, const char* key, bool positive,
              double greater_than = -std::numeric_limits<double>::infinity()) {
  const std::string name = std::string(section_name) + "." + key;
  const json::Value* v = section.Find(key);
  if (!v || v->is_null()) Reject("params: " + name + " is missing");
  if (!v->is_number()) Reject("params: " + name + " must be a number");
  const double d = v->as_number();
  if (!std::isfinite(d)) Reject("params: " + name + " must be finite");
  if (positive && !(d > 0)) Reject("params: " + name + " must be > 0, got " + std::to_string(d));
  if (!(d > greater_than))
    Reject("params: " + name + " must be > " + std::to_string(greater_than) + ", got " +
           std::to_string(d));
  return d;
}

double Optional(const json::Value& section, const char* key, double fallback) {
  const json::Value* v = section.Find(key);
  return v && v->is_number() ? v->as_number() : fallback;
}

}  // namespace

ClvParams ParamsFromJson(const json::Value& value) {
  if (!value.is_object()) Reject("params must be a JSON object as ltv.clv_fit returns");
  ClvParams params;
  const json::Value& bg = Section(value, "bgnbd");
  params.bgnbd.params.r = Number(bg, "bgnbd", "r", true);
  params.bgnbd.params.alpha = Number(bg, "bgnbd", "alpha", true);
  params.bgnbd.params.a = Number(bg, "bgnbd", "a", true);
  params.bgnbd.params.b = Number(bg, "bgnbd", "b", true);
  params.bgnbd.loglik = Optional(bg, "loglik", 0);
  params.bgnbd.iterations = static_cast<int>(Optional(bg, "iterations", 0));
  params.bgnbd.customers = static_cast<int64_t>(Optional(bg, "customers", 0));
  if (const json::Value* c = bg.Find("converged"); c && c->is_bool())
    params.bgnbd.converged = c->as_bool();

  const json::Value* unit = value.Find("time_unit_days");
  if (!unit || !unit->is_number()) Reject("params: time_unit_days is missing");
  params.time_unit_days = unit->as_number();
  if (!(params.time_unit_days > 0) || !std::isfinite(params.time_unit_days))
    Reject("params: time_unit_days must be a finite number > 0");
  if (params.time_unit_days != kTimeUnitDays) {
    // Parameters in another time unit: alpha is a time, so it converts to weeks.
    params.bgnbd.params.alpha *= params.time_unit_days / kTimeUnitDays;
    params.time_unit_days = kTimeUnitDays;
  }

  const json::Value& gg = Section(value, "gamma_gamma");
  GammaGammaFit& fit = params.gamma_gamma;
  const json::Value* fallback = gg.Find("fallback");
  if (fallback && !fallback->is_bool()) Reject("params: gamma_gamma.fallback must be a boolean");
  fit.fallback = fallback && fallback->as_bool();
  fit.mean_value = Number(gg, "gamma_gamma", "mean_value", false);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (fit.fallback) {
    fit.params = {Optional(gg, "p", nan), Optional(gg, "q", nan), Optional(gg, "v", nan)};
  } else {
    fit.params.p = Number(gg, "gamma_gamma", "p", true);
    fit.params.q = Number(gg, "gamma_gamma", "q", true, 1.0);
    fit.params.v = Number(gg, "gamma_gamma", "v", true);
  }
  fit.loglik = Optional(gg, "loglik", 0);
  fit.iterations = static_cast<int>(Optional(gg, "iterations", 0));
  fit.customers = static_cast<int64_t>(Optional(gg, "customers", 0));
  if (const json::Value* c = gg.Find("converged"); c && c->is_bool()) fit.converged = c->as_bool();
  return params;
}

}  // namespace ltv::clv
