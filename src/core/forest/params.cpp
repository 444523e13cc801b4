#include "core/forest/params.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/error.h"

namespace ltv::forest {
namespace {

const char* const kWhat = "forest parameter";

// A value quoted in a message, cut to 60 bytes at a character boundary: a parameter can be a
// string of any length, and messages echo only an excerpt of what the user sent.
std::string Shown(const std::string& s) {
  if (s.size() <= 60) return s;
  size_t cut = 60;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "... (" + std::to_string(s.size()) + " bytes)";
}

[[noreturn]] void Bad(const std::string& key, const std::string& problem) {
  throw Error(ErrorKind::kInvalidParameter, std::string(kWhat) + " \"" + key + "\" " + problem);
}

void ReadMaxFeatures(const json::Value* v, ForestParams& p) {
  if (!v) return;
  if (v->is_string()) {
    const std::string& s = v->as_string();
    if (s == "sqrt") {
      p.max_features = MaxFeatures::kSqrt;
    } else if (s == "log2") {
      p.max_features = MaxFeatures::kLog2;
    } else if (s == "all") {
      p.max_features = MaxFeatures::kAll;
    } else {
      Bad("max_features",
          "must be \"sqrt\", \"log2\", \"all\", an integer >= 1 or a fraction "
          "in (0, 1], got \"" +
              Shown(s) + "\"");
    }
    return;
  }
  if (!v->is_number() || !std::isfinite(v->as_number()))
    Bad("max_features",
        "must be \"sqrt\", \"log2\", \"all\", an integer >= 1 or a fraction in (0, 1]");
  const double d = v->as_number();
  if (d > 0 && d < 1) {
    p.max_features = MaxFeatures::kFraction;
    p.max_features_fraction = d;
  } else if (d >= 1 && d == std::floor(d) && d <= 1e6) {
    // 1 is the integer one feature, as in scikit-learn (1.0 would be all features there;
    // JSON cannot tell 1 from 1.0, so "all" says that).
    p.max_features = MaxFeatures::kCount;
    p.max_features_count = static_cast<int>(d);
  } else {
    Bad("max_features", "must be an integer between 1 and 1000000 or a fraction in (0, 1]");
  }
}

void ReadClassWeight(const json::Value* v, ForestParams& p) {
  if (!v) return;
  if (v->is_string()) {
    if (v->as_string() == "none") {
      p.class_weight = ClassWeightMode::kNone;
    } else if (v->as_string() == "balanced") {
      p.class_weight = ClassWeightMode::kBalanced;
    } else {
      Bad("class_weight",
          "must be \"none\", \"balanced\" or an array of weights, got \"" + Shown(v->as_string()) + "\"");
    }
    return;
  }
  if (!v->is_array() || v->as_array().empty() || v->as_array().size() > kMaxClasses)
    Bad("class_weight", "must be \"none\", \"balanced\" or a non-empty array of weights");
  p.class_weight = ClassWeightMode::kExplicit;
  p.class_weights.clear();
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const json::Value& w = v->as_array()[i];
    if (!w.is_number() || !std::isfinite(w.as_number()) || w.as_number() <= 0 ||
        w.as_number() > 1e12)
      Bad("class_weight", "element " + std::to_string(i) + " must be a number > 0 (and <= 1e12)");
    p.class_weights.push_back(w.as_number());
  }
}

void ReadFeatureNames(const json::Value* v, ForestParams& p) {
  if (!v) return;
  if (!v->is_array()) Bad("feature_names", "must be an array of strings");
  p.feature_names.clear();
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const json::Value& name = v->as_array()[i];
    if (!name.is_string())
      Bad("feature_names", "element " + std::to_string(i) + " must be a string");
    // The model stores names of up to kMaxFeatureNameBytes bytes of UTF-8 (ltv.rf_info returns
    // them as jsonb): a name the model could not load again is refused here.
    if (name.as_string().size() > kMaxFeatureNameBytes || !IsValidUtf8(name.as_string()))
      Bad("feature_names", "element " + std::to_string(i) + " must be valid UTF-8 of at most " +
                               std::to_string(kMaxFeatureNameBytes) + " bytes");
    p.feature_names.push_back(name.as_string());
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == 0) return false;  // NUL: not in Postgres text
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

int ForestParams::ResolveMtry(int n_features) const {
  int m = 1;
  switch (max_features) {
    case MaxFeatures::kSqrt:
      m = static_cast<int>(std::floor(std::sqrt(static_cast<double>(n_features))));
      break;
    case MaxFeatures::kLog2:
      m = static_cast<int>(std::floor(std::log2(static_cast<double>(n_features))));
      break;
    case MaxFeatures::kAll:
      m = n_features;
      break;
    case MaxFeatures::kCount:
      m = max_features_count;
      break;
    case MaxFeatures::kFraction:
      m = static_cast<int>(std::floor(max_features_fraction * n_features));
      break;
  }
  return std::clamp(m, 1, std::max(1, n_features));
}

int ForestParams::ResolveThreads() const {
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hw, 1u, 8u));
}

ForestParams ParseForestParams(const json::Value& params) {
  json::OptionReader r(params, kWhat);
  ForestParams p;
  p.n_trees = static_cast<int>(r.Integer("n_trees", p.n_trees, 1, 10000));
  p.max_depth = static_cast<int>(r.Integer("max_depth", p.max_depth, 0, 1000));
  p.min_samples_leaf =
      static_cast<int>(r.Integer("min_samples_leaf", p.min_samples_leaf, 1, 1000000000));
  p.min_samples_split =
      static_cast<int>(r.Integer("min_samples_split", p.min_samples_split, 2, 1000000000));
  ReadMaxFeatures(r.Raw("max_features"), p);
  ReadClassWeight(r.Raw("class_weight"), p);
  p.bootstrap = r.Bool("bootstrap", p.bootstrap);
  p.sample_fraction = r.Number("sample_fraction", p.sample_fraction, 0, 1);
  if (!(p.sample_fraction > 0)) Bad("sample_fraction", "must be greater than 0 and at most 1");
  p.max_bins = static_cast<int>(r.Integer("max_bins", p.max_bins, 2, kMaxBins));
  p.seed = r.Integer("seed", p.seed, 0, int64_t{1} << 53);
  // Integer() range-checks its fallback too, so optional keys without a default go via Raw().
  if (r.Raw("threads")) p.threads = static_cast<int>(r.Integer("threads", 1, 1, 64));
  const std::string decision = r.String("decision", "argmax");
  if (decision == "argmax") {
    p.decision = DecisionRule::kArgmax;
  } else if (decision == "tuned") {
    p.decision = DecisionRule::kTuned;
  } else {
    Bad("decision", "must be \"argmax\" or \"tuned\", got \"" + Shown(decision) + "\"");
  }
  ReadFeatureNames(r.Raw("feature_names"), p);
  if (r.Raw("n_classes")) p.n_classes = static_cast<int>(r.Integer("n_classes", 1, 1, kMaxClasses));
  if (p.class_weight == ClassWeightMode::kExplicit && p.n_classes > 0 &&
      static_cast<int>(p.class_weights.size()) != p.n_classes)
    Bad("class_weight", "has " + std::to_string(p.class_weights.size()) +
                            " weights but \"n_classes\" is " + std::to_string(p.n_classes));
  r.RejectUnknown();
  return p;
}

ForestParams ParseForestParams(const std::string& json_text) {
  if (json_text.find_first_not_of(" \t\r\n") == std::string::npos)
    return ParseForestParams(json::Value());
  return ParseForestParams(json::Parse(json_text));
}

json::Value ToJson(const ForestParams& p) {
  json::Value v = json::Value::MakeObject();
  v.Set("n_trees", p.n_trees);
  v.Set("max_depth", p.max_depth);
  v.Set("min_samples_leaf", p.min_samples_leaf);
  v.Set("min_samples_split", p.min_samples_split);
  switch (p.max_features) {
    case MaxFeatures::kSqrt:
      v.Set("max_features", "sqrt");
      break;
    case MaxFeatures::kLog2:
      v.Set("max_features", "log2");
      break;
    case MaxFeatures::kAll:
      v.Set("max_features", "all");
      break;
    case MaxFeatures::kCount:
      v.Set("max_features", p.max_features_count);
      break;
    case MaxFeatures::kFraction:
      v.Set("max_features", p.max_features_fraction);
      break;
  }
  if (p.class_weight == ClassWeightMode::kExplicit) {
    json::Value weights = json::Value::MakeArray();
    for (double w : p.class_weights) weights.Push(w);
    v.Set("class_weight", std::move(weights));
  } else {
    v.Set("class_weight", p.class_weight == ClassWeightMode::kBalanced ? "balanced" : "none");
  }
  v.Set("bootstrap", p.bootstrap);
  v.Set("sample_fraction", p.sample_fraction);
  v.Set("max_bins", p.max_bins);
  v.Set("seed", p.seed);
  v.Set("decision", p.decision == DecisionRule::kTuned ? "tuned" : "argmax");
  json::Value names = json::Value::MakeArray();
  for (const auto& n : p.feature_names) names.Push(n);
  v.Set("feature_names", std::move(names));
  if (p.n_classes > 0) v.Set("n_classes", p.n_classes);
  return v;
}

}  // namespace ltv::forest
