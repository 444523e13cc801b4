#include "core/analysis/options.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/analysis/interval.h"
#include "core/civil_time.h"
#include "core/csv/value_parsing.h"
#include "core/error.h"
#include "core/forest/params.h"
#include "core/selection/candidates.h"

namespace ltv::analysis {
namespace {

constexpr char kWhat[] = "analysis option";

json::Value Default(const char* name, bool large);  // below, from the table of options

[[noreturn]] void Bad(const std::string& message, std::string hint = {}) {
  throw Error(ErrorKind::kInvalidParameter, message, {}, std::move(hint));
}

// A JSON value as a short excerpt for messages (options can be any size).
std::string Excerpt(const json::Value& v) {
  std::string text = v.Dump();
  if (text.size() > 100) {
    size_t cut = 100;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

// Numbers as a person wrote them, arrays of numbers with ", " between them.
std::string Describe(const json::Value& v) {
  if (v.is_number()) return v.Dump();
  if (v.is_array() && v.as_array().size() <= 16) {
    std::string out = "[";
    for (const json::Value& x : v.as_array()) {
      if (!x.is_number()) return Excerpt(v);
      out += (out.size() > 1 ? ", " : "") + Describe(x);
    }
    return out + "]";
  }
  return Excerpt(v);
}

// The ISO text jsonb gives a timestamp ("2011-06-10T12:30:00").
std::string JsonTimestamp(TimestampMicros t) {
  std::string s = FormatTimestamp(t);
  s[10] = 'T';
  return s;
}

std::string DisplayTimestamp(TimestampMicros t) { return FormatTimestamp(t); }

Interval ReadInterval(json::OptionReader& reader, const char* key, const std::string& fallback) {
  const json::Value* v = reader.Raw(key);
  std::string text = fallback;
  if (v != nullptr) {
    if (!v->is_string())
      Bad(std::string(kWhat) + " \"" + key + "\" must be an interval such as \"6 months\", got " +
          Excerpt(*v));
    text = v->as_string();
  }
  std::optional<Interval> parsed = ParseInterval(text);
  if (!parsed)
    Bad(std::string(kWhat) + " \"" + key + "\" must be an interval such as \"6 months\", got " +
        Excerpt(json::Value(text)));
  if (!parsed->IsPositive())
    Bad(std::string(kWhat) + " \"" + key + "\" must be positive, got " + FormatInterval(*parsed));
  return *parsed;
}

// Three ascending numbers; quantiles also within (0, 1).
bool ThreeAscending(const json::Value& v, bool fractions) {
  if (!v.is_array() || v.as_array().size() != 3) return false;
  double previous = -INFINITY;
  for (const json::Value& x : v.as_array()) {
    if (!x.is_number() || !std::isfinite(x.as_number()) || x.as_number() < previous) return false;
    if (fractions && !(x.as_number() > 0 && x.as_number() < 1)) return false;
    previous = x.as_number();
  }
  return true;
}

json::Value ReadBuckets(json::OptionReader& reader) {
  const json::Value* v = reader.Raw("buckets");
  if (v == nullptr) return Default("buckets", false);
  const char* shape = "must be {\"quantiles\": [q1, q2, q3]} or {\"amounts\": [c1, c2, c3]}, got ";
  if (!v->is_object() || v->as_object().size() > 1)
    Bad(std::string(kWhat) + " \"buckets\" " + shape + Excerpt(*v));
  if (const json::Value* q = v->Find("quantiles")) {
    if (!ThreeAscending(*q, true))
      Bad(std::string(kWhat) +
          " \"buckets\": \"quantiles\" must be three ascending fractions in (0, 1), got " +
          Describe(*q));
  } else if (const json::Value* a = v->Find("amounts")) {
    if (!ThreeAscending(*a, false))
      Bad(std::string(kWhat) + " \"buckets\": \"amounts\" must be three ascending amounts, got " +
          Describe(*a));
  } else if (!v->as_object().empty()) {
    Bad(std::string(kWhat) + " \"buckets\" " + shape + Excerpt(*v));
  }
  return *v;
}

json::Value ReadCandidates(json::OptionReader& reader) {
  const json::Value* v = reader.Raw("candidates");
  if (v == nullptr) return Default("candidates", false);
  bool ok = v->is_array() && !v->as_array().empty();
  if (ok)
    for (const json::Value& c : v->as_array()) ok = ok && c.is_string();
  if (!ok)
    Bad(std::string(kWhat) + " \"candidates\" must be a non-empty array of candidate names, got " +
        Excerpt(*v));
  for (const json::Value& c : v->as_array()) {
    try {
      selection::ParseCandidate(c.as_string());
    } catch (const Error& e) {
      std::string names;
      for (const auto& spec : selection::StandardCandidates(true, true))
        names += (names.empty() ? "" : ", ") + spec.name;
      Bad(std::string(kWhat) + " \"candidates\": unknown candidate " + Excerpt(c),
          "Candidates: " + names + ".");
    }
  }
  return *v;
}

// The analysis's forest: its defaults, then the user's parameters, checked by the forest's own
// reader. The analysis sets the class count and the feature names itself.
json::Value ReadForest(json::OptionReader& reader, bool large, int64_t seed) {
  const json::Value* given = reader.Raw("forest");
  if (given != nullptr && !given->is_object())
    Bad(std::string(kWhat) + " \"forest\" must be an object of ltv.rf_train parameters, got " +
        Excerpt(*given));
  if (given != nullptr && (given->Find("feature_names") || given->Find("n_classes")))
    Bad(std::string(kWhat) +
        " \"forest\" must not set \"feature_names\" or \"n_classes\": the analysis sets them");
  json::Value forest = Default("forest", large);
  forest.Set("seed", seed);
  if (given != nullptr)
    for (const auto& [key, value] : given->as_object()) forest.Set(key, value);
  forest.Set("n_classes", 4);
  json::Value checked = forest::ToJson(forest::ParseForestParams(forest));
  json::Value out = json::Value::MakeObject();
  for (const auto& [key, value] : checked.as_object())
    if (key != "feature_names") out.Set(key, value);
  return out;
}

}  // namespace

const std::vector<OptionSpec>& AnalysisOptionSpecs() {
  // Every feature at every split on small data: the forest then ranks customers more steadily
  // across seeds, which the rank candidates need; on large data sqrt keeps training time down.
  static const std::vector<OptionSpec> specs = {
      {"cutoff", "timestamp", nullptr, nullptr, 0, 0,
       "a date or time after the first purchase, with cutoff + horizon at most the last purchase",
       true,
       "The newest training snapshot: features before it, labels from the spend in [cutoff, cutoff "
       "+ horizon). Default: the last purchase minus the horizon."},
      {"horizon", "interval", R"("6 months")", nullptr, 0, 0,
       R"(a positive interval, e.g. "3 months", "26 weeks", "182 days")", true,
       "How far ahead the buckets predict spend."},
      {"buckets", "object", R"({})", nullptr, 0, 0,
       R"({"quantiles": [q1, q2, q3]} (default 0.5, 0.8, 0.95) or {"amounts": [c1, c2, c3]})", true,
       "Bucket definition: shares of customers by spend rank (ties share their rank), or fixed "
       "money amounts."},
      {"evaluation", "text", R"("auto")", nullptr, 0, 0, R"("auto", "out_of_time" or "split")",
       true,
       "auto: out of time where the data is long enough, else a stratified customer split "
       "(docs/evaluation.md)."},
      {"test_fraction", "number", "0.25", nullptr, 0.05, 0.9, "", false,
       "Share of each true bucket held out in the customer split."},
      {"seed", "integer", "42", nullptr, 0, 2147483647, "", false,
       "Seed of the forests, the split and the bootstrap: the same seed gives the same run."},
      {"backtest_folds", "integer", "3", "1", 1, 12, "", false,
       "Out-of-time folds: evaluation cutoffs at the cutoff and every backtest_step before it."},
      {"backtest_step", "interval", R"("2 months")", nullptr, 0, 0, "a positive interval", false,
       "Time between the evaluation cutoffs of the folds."},
      {"stack_snapshots", "integer", "12", "0", 0, 24, "", false,
       "Monthly snapshots stacked before each training cutoff (the snapshot a year earlier is "
       "always added)."},
      {"stack_step", "interval", R"("1 month")", nullptr, 0, 0, "a positive interval", false,
       "Time between the stacked training snapshots."},
      {"min_customers", "integer", "20", nullptr, 4, 1000000000, "", false,
       "Fewest labelled customers a model is trained on; a fold with fewer is left out."},
      {"candidates", "array", "null", nullptr, 0, 0, "names of ltv.candidates() (null: all)", false,
       "Restricts the choice to these candidates (the naive rule stays the fallback only when "
       "listed)."},
      {"forest", "object",
       R"({"n_trees": 200, "min_samples_leaf": 3, "max_features": "all", "class_weight": "balanced", "decision": "tuned"})",
       R"({"max_features": "sqrt"})", 0, 0,
       "ltv.rf_train parameters (docs/forest.md) but n_classes and feature_names, merged over the "
       "default",
       false,
       "The random forest. Above 100,000 training rows each tree also samples 100,000 rows with "
       "leaves of at least 10 (SizePolicy), unless given."},
  };
  return specs;
}

namespace {

const OptionSpec& Spec(const char* name) {
  for (const OptionSpec& s : AnalysisOptionSpecs())
    if (std::string_view(s.name) == name) return s;
  throw Error(ErrorKind::kInternal, std::string("no analysis option spec for ") + name);
}

// The spec's default for a dataset of this size.
json::Value Default(const char* name, bool large) {
  const OptionSpec& s = Spec(name);
  json::Value v = json::Parse(s.default_json ? s.default_json : "null");
  if (large && s.large_default != nullptr) {
    json::Value over = json::Parse(s.large_default);
    if (v.is_object() && over.is_object()) {
      for (const auto& [key, value] : over.as_object()) v.Set(key, value);
    } else {
      v = over;
    }
  }
  return v;
}

double NumberOption(json::OptionReader& reader, const char* name, bool large) {
  const OptionSpec& s = Spec(name);
  const double fallback = Default(name, large).as_number();
  if (std::string(s.type) == "integer")
    return static_cast<double>(reader.Integer(name, static_cast<int64_t>(fallback),
                                              static_cast<int64_t>(s.min),
                                              static_cast<int64_t>(s.max)));
  return reader.Number(name, fallback, s.min, s.max);
}

}  // namespace

namespace {
std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}
}  // namespace

std::string DefaultText(const OptionSpec& s) {
  if (s.default_json == nullptr) return "computed";
  std::string out = std::string("`") + s.default_json + "`";
  if (s.large_default != nullptr)
    out += " (above " + Thousands(SizePolicy::kLarge) + " customers " +
           (json::Parse(s.default_json).is_object() ? "with " : "") + "`" + s.large_default + "`)";
  return out;
}

std::string AcceptedText(const OptionSpec& s) {
  if (s.min == 0 && s.max == 0) return s.accepted;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %.15g to %.15g",
                std::string(s.type) == "integer" ? "whole numbers" : "numbers", s.min, s.max);
  return buf;
}

std::string OptionsMarkdown() {
  std::string out = "| option | type | default | accepted | API | meaning |\n";
  out += "| --- | --- | --- | --- | --- | --- |\n";
  for (const OptionSpec& s : AnalysisOptionSpecs()) {
    out += std::string("| `") + s.name + "` | " + s.type + " | " + DefaultText(s) + " | " +
           AcceptedText(s) + " | " + (s.api ? "yes" : "no") + " | " + s.description + " |\n";
  }
  return out;
}

json::Value SizePolicy::TrainingParams(const json::Value& resolved, const json::Value* given,
                                       int64_t rows) {
  json::Value params = resolved;
  if (rows > kLarge) {
    auto unset = [&](const char* key) {
      return given == nullptr || !given->is_object() || given->Find(key) == nullptr;
    };
    if (unset("sample_fraction"))
      params.Set("sample_fraction",
                 std::round(static_cast<double>(kLarge) / static_cast<double>(rows) * 1e6) / 1e6);
    if (unset("min_samples_leaf")) params.Set("min_samples_leaf", 10);
  }
  return params;
}

json::Value CheckBuckets(const json::Value& buckets) {
  json::Value wrapper = json::Value::MakeObject();
  wrapper.Set("buckets", buckets);
  json::OptionReader reader(wrapper, kWhat);
  return ReadBuckets(reader);
}

json::Value ResolveAnalysisOptions(const DatasetFacts& facts, const json::Value& options) {
  if (!options.is_null() && !options.is_object())
    Bad("analysis options must be a JSON object, got " + Excerpt(options));
  json::OptionReader reader(options, kWhat);
  for (const OptionSpec& spec : AnalysisOptionSpecs()) reader.Raw(spec.name);
  reader.RejectUnknown();
  if (!facts.last_purchase || !facts.first_purchase)
    Bad("dataset " + std::to_string(facts.dataset_id) + " has no transactions to analyse");
  const bool large = SizePolicy::IsLarge(facts.customers);

  Interval horizon = ReadInterval(reader, "horizon", Default("horizon", large).as_string());
  TimestampMicros cutoff;
  if (const json::Value* c = reader.Raw("cutoff")) {
    TimestampMicros t = 0;
    csv::DateForm form;
    if (!c->is_string() ||
        csv::ParseTimestamp(c->as_string(), csv::SlashOrder::kMonthFirst, &t, &form) !=
            csv::DateParse::kOk ||
        form != csv::DateForm::kIso)
      Bad(std::string(kWhat) + " \"cutoff\" must be a timestamp such as \"2011-06-01\", got " +
          Excerpt(*c));
    cutoff = t;
  } else {
    std::optional<TimestampMicros> t = SubtractInterval(*facts.last_purchase, horizon);
    if (!t)
      Bad(std::string(kWhat) + " \"horizon\" (" + FormatInterval(horizon) +
              ") reaches before any representable time",
          "Use a horizon such as \"6 months\".");
    cutoff = *t;
  }
  if (cutoff <= *facts.first_purchase)
    Bad("cutoff " + DisplayTimestamp(cutoff) + " is not after the first purchase of dataset " +
            std::to_string(facts.dataset_id) + " (" + DisplayTimestamp(*facts.first_purchase) +
            "): there is no history to learn from",
        "The data must span more than the horizon (" + FormatInterval(horizon) +
            "); choose a shorter \"horizon\".");
  std::optional<TimestampMicros> label_end = AddInterval(cutoff, horizon);
  if (!label_end || *label_end > *facts.last_purchase)
    Bad("cutoff " + DisplayTimestamp(cutoff) + " plus the horizon " + FormatInterval(horizon) +
        " passes the end of dataset " + std::to_string(facts.dataset_id) + " (" +
        DisplayTimestamp(*facts.last_purchase) +
        "): the training labels would not be fully observed");

  json::Value buckets = ReadBuckets(reader);
  const double test_fraction = NumberOption(reader, "test_fraction", large);
  const auto seed = static_cast<int64_t>(NumberOption(reader, "seed", large));
  std::string evaluation = Default("evaluation", large).as_string();
  if (const json::Value* e = reader.Raw("evaluation")) {
    evaluation = e->is_string() ? e->as_string() : std::string();
    if (evaluation == "backtest") evaluation = "out_of_time";  // the name of earlier versions
    if (evaluation != "auto" && evaluation != "out_of_time" && evaluation != "split")
      Bad(std::string(kWhat) +
          " \"evaluation\" must be \"auto\", \"out_of_time\" or \"split\", got " + Excerpt(*e));
  }
  const auto folds = static_cast<int64_t>(NumberOption(reader, "backtest_folds", large));
  const auto stack = static_cast<int64_t>(NumberOption(reader, "stack_snapshots", large));
  const Interval backtest_step =
      ReadInterval(reader, "backtest_step", Default("backtest_step", large).as_string());
  const Interval stack_step =
      ReadInterval(reader, "stack_step", Default("stack_step", large).as_string());
  const auto min_customers = static_cast<int64_t>(NumberOption(reader, "min_customers", large));
  json::Value candidates = ReadCandidates(reader);
  json::Value forest = ReadForest(reader, large, seed);

  json::Value settings = json::Value::MakeObject();
  settings.Set("cutoff", JsonTimestamp(cutoff))
      .Set("horizon", FormatInterval(horizon))
      .Set("buckets", buckets)
      .Set("test_fraction", test_fraction)
      .Set("seed", seed)
      .Set("evaluation", evaluation)
      .Set("backtest_folds", folds)
      .Set("backtest_step", FormatInterval(backtest_step))
      .Set("stack_snapshots", stack)
      .Set("stack_step", FormatInterval(stack_step))
      .Set("forest", forest)
      .Set("min_customers", min_customers)
      .Set("candidates", candidates);
  return settings;
}

}  // namespace ltv::analysis
