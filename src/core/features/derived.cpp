#include "core/features/derived.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/features/registry.h"
#include "core/ranking.h"

namespace ltv::features {
namespace {

bool IsDerived(const FeatureDef& d) {
  return d.source == FeatureSource::kRank || d.source == FeatureSource::kClv;
}

// The CLV fit's inputs, by registry name.
const char* const kClvInputs[] = {"frequency", "recency_days", "tenure_days", "avg_order_value"};

}  // namespace

const std::vector<std::string>& DerivedInputs() {
  static const std::vector<std::string> inputs = [] {
    std::vector<std::string> out;
    auto add = [&](std::string_view name) {
      for (const FeatureDef& d : FeatureRegistry())
        if (d.name == name && IsDerived(d)) return;  // computed here, not an input
      if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    };
    bool clv = false;
    for (const FeatureDef& d : FeatureRegistry()) {
      if (d.source == FeatureSource::kRank) add(d.argument);
      if (d.source == FeatureSource::kClv) clv = true;
    }
    if (clv)
      for (const char* name : kClvInputs) add(name);
    return out;
  }();
  return inputs;
}

const std::vector<std::string>& DerivedNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const FeatureDef& d : FeatureRegistry())
      if (IsDerived(d)) out.emplace_back(d.name);
    return out;
  }();
  return names;
}

// Defined in clv_features.cpp: the CLV outputs by name ("expected_spend", "p_alive", ...).
std::map<std::string, std::vector<double>> ClvOutputs(const std::vector<double>& frequency,
                                                      const std::vector<double>& recency_days,
                                                      const std::vector<double>& tenure_days,
                                                      const std::vector<double>& avg_order_value,
                                                      double horizon_days, CancelCheck& cancel);

std::vector<std::vector<double>> ComputeDerived(const std::vector<std::vector<double>>& columns,
                                                double horizon_days, CancelCheck& cancel) {
  const auto& inputs = DerivedInputs();
  if (columns.size() != inputs.size())
    throw Error(ErrorKind::kInvalidInput, "derived features need " + std::to_string(inputs.size()) +
                                              " input columns, got " +
                                              std::to_string(columns.size()));
  const size_t n = columns.empty() ? 0 : columns[0].size();
  std::map<std::string, const std::vector<double>*> by_name;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size() != n)
      throw Error(ErrorKind::kInvalidInput, "derived feature input \"" + inputs[c] + "\" has " +
                                                std::to_string(columns[c].size()) +
                                                " values, expected " + std::to_string(n));
    by_name[inputs[c]] = &columns[c];
  }
  std::map<std::string, std::vector<double>> clv;
  bool clv_done = false;
  std::vector<std::vector<double>> out;
  std::map<std::string, size_t> computed;  // derived name -> index in out
  for (const FeatureDef& d : FeatureRegistry()) {
    if (!IsDerived(d)) continue;
    if (d.source == FeatureSource::kClv) {
      if (!clv_done) {
        clv = n == 0 ? std::map<std::string, std::vector<double>>{}
                     : ClvOutputs(*by_name.at("frequency"), *by_name.at("recency_days"),
                                  *by_name.at("tenure_days"), *by_name.at("avg_order_value"),
                                  horizon_days, cancel);
        clv_done = true;
      }
      auto it = clv.find(std::string(d.argument));
      out.push_back(it == clv.end() ? std::vector<double>(n, 0.0) : it->second);
    } else {
      const std::string source(d.argument);
      const std::vector<double>* values = nullptr;
      if (auto it = computed.find(source); it != computed.end())
        values = &out[it->second];
      else
        values = by_name.at(source);
      out.push_back(PercentRanks(*values));
    }
    computed[std::string(d.name)] = out.size() - 1;
    cancel.Check();
  }
  return out;
}

}  // namespace ltv::features
