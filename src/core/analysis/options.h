// The options of an analysis run (`ltv.run_analysis(dataset_id, options jsonb)`): one table
// of every option with its type, default, range and meaning (AnalysisOptionSpecs, from which
// docs/options.md is generated), one reader that checks them and fills in the defaults
// (ResolveAnalysisOptions), and one size policy for large data (SizePolicy). Every stage of
// the pipeline reads the resolved settings this produces, never the raw options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/transaction.h"

namespace ltv::analysis {

// One analysis option: the reader takes its default and range from here, and the docs,
// ltv.analysis_options() and the API's list of accepted options are generated from it.
struct OptionSpec {
  const char* name;
  const char* type;  // "interval", "timestamp", "number", "integer", "text", "object", "array"
  const char* default_json;   // the default as JSON; nullptr: computed (see default_note)
  const char* large_default;  // the default above SizePolicy::kLarge customers (JSON; an
                              // object is merged over default_json); nullptr: the same
  double min, max;            // numbers: the accepted range (both 0: no range)
  const char* accepted;       // accepted values in words, for what a range cannot say
  bool api;                   // accepted through ltv_api (the others are set from SQL)
  const char* description;
};

// Every analysis option, in the order the docs list them.
const std::vector<OptionSpec>& AnalysisOptionSpecs();

// A spec's default and accepted values in words, as the docs and ltv.analysis_options() show them.
std::string DefaultText(const OptionSpec& spec);
std::string AcceptedText(const OptionSpec& spec);

// The Markdown table of AnalysisOptionSpecs (the body of docs/options.md).
std::string OptionsMarkdown();

// Above this many customers (or training rows) the analysis trades evaluation breadth for
// time: one out-of-time fold, no monthly stacking, sqrt(p) features per split, and trees that
// each see a 100,000-row sample with leaves of at least 10 rows. Each extra snapshot of a
// million customers costs seconds to store and to train on; the sample keeps training time
// flat while the forest still sees every customer across its trees.
struct SizePolicy {
  static constexpr int64_t kLarge = 100000;
  static bool IsLarge(int64_t customers) { return customers > kLarge; }
  // The forest parameters for training on `rows` rows: `resolved` (the run's settings.forest)
  // with sample_fraction and min_samples_leaf set for large row counts unless the user gave
  // them (`given`: the run's options.forest, or null).
  static json::Value TrainingParams(const json::Value& resolved, const json::Value* given,
                                    int64_t rows);
};

// What the options are checked against.
struct DatasetFacts {
  int64_t dataset_id = 0;
  int64_t customers = 0;
  std::optional<TimestampMicros> first_purchase;  // nullopt: no transactions
  std::optional<TimestampMicros> last_purchase;
};

// Checks a bucket definition ({} , {"quantiles": [q1, q2, q3]} or {"amounts": [c1, c2, c3]}) as
// the "buckets" option is checked; returns it. Throws Error(kInvalidParameter) naming the problem.
json::Value CheckBuckets(const json::Value& buckets);

// Checks `options` (a JSON object or null) and returns the resolved settings: every option
// with its default filled in, intervals in Postgres's text form, the cutoff and as_of
// timestamps, the forest's parameters complete (n_classes 4, feature names not included).
// Throws Error(kInvalidParameter) naming the option on an unknown key, a wrong type, a value
// out of range, or a cutoff the data cannot support.
json::Value ResolveAnalysisOptions(const DatasetFacts& facts, const json::Value& options);

}  // namespace ltv::analysis
