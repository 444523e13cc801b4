#include "core/features/registry.h"

namespace ltv::features {
namespace {

using F = CustomerFeatures;
constexpr auto kD = FeatureType::kDouble;
constexpr auto kI = FeatureType::kInteger;
constexpr auto kT = FeatureType::kTimestamp;
constexpr auto kAgg = FeatureSource::kAggregate;

bool NoPurchase(const F& f) { return !f.has_purchase; }
bool Never(const F&) { return false; }
bool UnderTwoPurchases(const F& f) { return f.frequency < 2; }

FeatureDef Agg(std::string_view name, FeatureType type, double (*value)(const F&),
               std::string_view description, bool (*is_null)(const F&) = Never,
               bool model_input = true) {
  FeatureDef d{name, type, kAgg, model_input, -1, {}, description};
  d.value = value;
  d.is_null = is_null;
  return d;
}

FeatureDef Time(std::string_view name, TimestampMicros (*time)(const F&),
                std::string_view description) {
  FeatureDef d{name, kT, kAgg, false, -1, {}, description};
  d.is_null = NoPurchase;
  d.time = time;
  return d;
}

FeatureDef Derived(std::string_view name, FeatureSource source, std::string_view argument,
                   std::string_view description) {
  return FeatureDef{name, kD, source, true, -1, argument, description};
}

}  // namespace

const std::vector<FeatureDef>& FeatureRegistry() {
  static const std::vector<FeatureDef> registry = {
      Agg(
          "recency_days", kD, [](const F& f) { return f.recency_days; },
          "days from the last purchase to the cutoff (NULL without a purchase)", NoPurchase),
      Agg(
          "frequency", kI, [](const F& f) { return f.frequency; },
          "distinct invoices with a positive line before the cutoff"),
      Agg(
          "monetary", kD, [](const F& f) { return f.monetary; },
          "net spend before the cutoff (returns subtracted)"),
      Agg(
          "avg_order_value", kD, [](const F& f) { return f.avg_order_value; },
          "positive spend per invoice"),
      Agg(
          "tenure_days", kD, [](const F& f) { return f.tenure_days; },
          "days from the first purchase to the cutoff (NULL without a purchase)", NoPurchase),
      Agg(
          "spend_30d", kD, [](const F& f) { return f.spend_30d; },
          "net spend in the 30 days before the cutoff"),
      Agg(
          "spend_90d", kD, [](const F& f) { return f.spend_90d; },
          "net spend in the 90 days before the cutoff"),
      Agg(
          "spend_180d", kD, [](const F& f) { return f.spend_180d; },
          "net spend in the 180 days before the cutoff"),
      Agg(
          "spend_365d", kD, [](const F& f) { return f.spend_365d; },
          "net spend in the 365 days before the cutoff"),
      Agg(
          "orders_30d", kI, [](const F& f) { return f.orders_30d; },
          "invoices in the 30 days before the cutoff"),
      Agg(
          "orders_90d", kI, [](const F& f) { return f.orders_90d; },
          "invoices in the 90 days before the cutoff"),
      Agg(
          "orders_180d", kI, [](const F& f) { return f.orders_180d; },
          "invoices in the 180 days before the cutoff"),
      Agg(
          "orders_365d", kI, [](const F& f) { return f.orders_365d; },
          "invoices in the 365 days before the cutoff"),
      Agg(
          "trend_90d", kD, [](const F& f) { return f.trend_90d; },
          "spend in the last 90 days minus the 90 days before them"),
      Agg(
          "returns_amount", kD, [](const F& f) { return f.returns_amount; },
          "amount returned (positive)"),
      Agg(
          "returns_count", kI, [](const F& f) { return f.returns_count; },
          "invoices with a return line"),
      Agg(
          "distinct_products", kI, [](const F& f) { return f.distinct_products; },
          "distinct stock codes bought"),
      Agg(
          "mean_days_between", kD, [](const F& f) { return f.mean_days_between; },
          "mean days between purchases (NULL under two purchases)", UnderTwoPurchases),
      Time(
          "first_purchase", [](const F& f) { return f.first_purchase; },
          "first purchase before the cutoff"),
      Time(
          "last_purchase", [](const F& f) { return f.last_purchase; },
          "last purchase before the cutoff"),
      Derived("baseline_spend", FeatureSource::kWindow, "baseline",
              "net spend in [cutoff - horizon, cutoff): what the naive rule buckets"),
      Derived("season_spend", FeatureSource::kWindow, "season",
              "net spend in the same window a year earlier: [cutoff - 1 year, cutoff - 1 year + "
              "horizon)"),
      Derived("baseline_spend_rank", FeatureSource::kRank, "baseline_spend",
              "percent rank of baseline_spend among the snapshot's customers"),
      Derived("season_spend_rank", FeatureSource::kRank, "season_spend",
              "percent rank of season_spend among the snapshot's customers"),
      Derived("monetary_rank", FeatureSource::kRank, "monetary",
              "percent rank of monetary among the snapshot's customers"),
      Derived("frequency_rank", FeatureSource::kRank, "frequency",
              "percent rank of frequency among the snapshot's customers"),
      Derived("spend_90d_rank", FeatureSource::kRank, "spend_90d",
              "percent rank of spend_90d among the snapshot's customers"),
      Derived("clv_expected_spend", FeatureSource::kClv, "expected_spend",
              "BG/NBD x Gamma-Gamma expected spend over the horizon, fitted on the snapshot"),
      Derived("clv_p_alive", FeatureSource::kClv, "p_alive",
              "BG/NBD probability that the customer is still active"),
      Derived("clv_expected_spend_rank", FeatureSource::kRank, "clv_expected_spend",
              "percent rank of clv_expected_spend among the snapshot's customers"),
  };
  return registry;
}

std::string_view SourceName(FeatureSource source) {
  switch (source) {
    case FeatureSource::kAggregate:
      return "aggregate";
    case FeatureSource::kWindow:
      return "window";
    case FeatureSource::kRank:
      return "rank";
    case FeatureSource::kClv:
      return "clv";
  }
  return "?";
}

std::string_view SqlTypeName(FeatureType type) {
  switch (type) {
    case FeatureType::kDouble:
      return "double precision";
    case FeatureType::kInteger:
      return "integer";
    case FeatureType::kTimestamp:
      return "timestamp";
  }
  return "?";
}

}  // namespace ltv::features
