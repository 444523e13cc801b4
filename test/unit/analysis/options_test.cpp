#include "core/analysis/options.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "core/civil_time.h"
#include "core/error.h"

namespace ltv::analysis {
namespace {

TimestampMicros At(int y, int m, int d, int hh = 0, int mm = 0) {
  return (DaysFromCivil(y, m, d) * 86400 + hh * 3600 + mm * 60) * 1000000LL;
}

DatasetFacts Facts(int64_t customers = 4000) {
  DatasetFacts f;
  f.dataset_id = 7;
  f.customers = customers;
  f.first_purchase = At(2009, 12, 1, 7, 45);
  f.last_purchase = At(2011, 12, 9, 12, 50);
  return f;
}

json::Value Resolve(const char* options, int64_t customers = 4000) {
  return ResolveAnalysisOptions(Facts(customers), json::Parse(options));
}

std::string ErrorOf(const char* options, DatasetFacts facts = Facts()) {
  try {
    ResolveAnalysisOptions(facts, json::Parse(options));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter);
    return e.what();
  }
  return "no error";
}

TEST(AnalysisOptions, DefaultsAreFilledIn) {
  json::Value s = Resolve("{}");
  EXPECT_EQ(s.Find("cutoff")->as_string(), "2011-06-09T12:50:00");  // last purchase - 6 months
  EXPECT_EQ(s.Find("horizon")->as_string(), "6 mons");
  EXPECT_TRUE(s.Find("buckets")->is_object());
  EXPECT_EQ(s.Find("test_fraction")->as_number(), 0.25);
  EXPECT_EQ(s.Find("seed")->as_number(), 42);
  EXPECT_EQ(s.Find("evaluation")->as_string(), "auto");
  EXPECT_EQ(s.Find("backtest_folds")->as_number(), 3);
  EXPECT_EQ(s.Find("backtest_step")->as_string(), "2 mons");
  EXPECT_EQ(s.Find("stack_snapshots")->as_number(), 12);
  EXPECT_EQ(s.Find("stack_step")->as_string(), "1 mon");
  EXPECT_EQ(s.Find("min_customers")->as_number(), 20);
  EXPECT_TRUE(s.Find("candidates")->is_null());
  const json::Value& f = *s.Find("forest");
  EXPECT_EQ(f.Find("n_trees")->as_number(), 200);
  EXPECT_EQ(f.Find("min_samples_leaf")->as_number(), 3);
  EXPECT_EQ(f.Find("max_features")->as_string(), "all");
  EXPECT_EQ(f.Find("class_weight")->as_string(), "balanced");
  EXPECT_EQ(f.Find("decision")->as_string(), "tuned");
  EXPECT_EQ(f.Find("n_classes")->as_number(), 4);
  EXPECT_EQ(f.Find("seed")->as_number(), 42);
  EXPECT_EQ(f.Find("feature_names"), nullptr);
}

TEST(AnalysisOptions, SizePolicyAboveOneHundredThousandCustomers) {
  json::Value small = Resolve("{}", SizePolicy::kLarge);
  json::Value large = Resolve("{}", SizePolicy::kLarge + 1);
  EXPECT_EQ(small.Find("backtest_folds")->as_number(), 3);
  EXPECT_EQ(large.Find("backtest_folds")->as_number(), 1);
  EXPECT_EQ(large.Find("stack_snapshots")->as_number(), 0);
  EXPECT_EQ(large.Find("forest")->Find("max_features")->as_string(), "sqrt");
  // Given values win over the policy.
  EXPECT_EQ(Resolve(R"({"backtest_folds": 2})", 500000).Find("backtest_folds")->as_number(), 2);
}

TEST(AnalysisOptions, TrainingParamsSampleLargeRowCounts) {
  json::Value forest = *Resolve("{}").Find("forest");
  json::Value same = SizePolicy::TrainingParams(forest, nullptr, SizePolicy::kLarge);
  EXPECT_EQ(same.Dump(), forest.Dump());
  json::Value big = SizePolicy::TrainingParams(forest, nullptr, 400000);
  EXPECT_EQ(big.Find("sample_fraction")->as_number(), 0.25);
  EXPECT_EQ(big.Find("min_samples_leaf")->as_number(), 10);
  json::Value given = json::Parse(R"({"min_samples_leaf": 5})");
  EXPECT_EQ(
      SizePolicy::TrainingParams(forest, &given, 400000).Find("min_samples_leaf")->as_number(), 3);
}

TEST(AnalysisOptions, GivenValuesAreChecked) {
  json::Value s = Resolve(R"({"horizon": "26 weeks", "seed": 7, "evaluation": "backtest",
      "buckets": {"quantiles": [0.6, 0.9, 0.99]}, "candidates": ["naive", "model_rank"],
      "forest": {"n_trees": 50}, "cutoff": "2011-01-01"})");
  EXPECT_EQ(s.Find("horizon")->as_string(), "182 days");
  EXPECT_EQ(s.Find("evaluation")->as_string(), "out_of_time");
  EXPECT_EQ(s.Find("cutoff")->as_string(), "2011-01-01T00:00:00");
  EXPECT_EQ(s.Find("forest")->Find("n_trees")->as_number(), 50);
  EXPECT_EQ(s.Find("forest")->Find("seed")->as_number(), 7);
  EXPECT_EQ(s.Find("candidates")->as_array().size(), 2u);
  EXPECT_EQ(s.Find("buckets")->Dump(), R"({"quantiles":[0.6,0.9,0.99]})");
}

TEST(AnalysisOptions, ErrorsNameTheOption) {
  EXPECT_EQ(ErrorOf(R"({"trees": 10})"), "unknown analysis option \"trees\"");
  EXPECT_EQ(ErrorOf("[1]"), "analysis options must be a JSON object, got [1]");
  EXPECT_EQ(ErrorOf(R"({"horizon": "soon"})"),
            "analysis option \"horizon\" must be an interval such as \"6 months\", got \"soon\"");
  EXPECT_EQ(ErrorOf(R"({"horizon": 6})"),
            "analysis option \"horizon\" must be an interval such as \"6 months\", got 6");
  EXPECT_EQ(ErrorOf(R"({"horizon": "-1 month"})"),
            "analysis option \"horizon\" must be positive, got -1 mons");
  EXPECT_EQ(ErrorOf(R"({"stack_step": "0 days"})"),
            "analysis option \"stack_step\" must be positive, got 00:00:00");
  EXPECT_EQ(ErrorOf(R"({"test_fraction": 0.99})"),
            "analysis option \"test_fraction\" must be between 0.05 and 0.9, got 0.99");
  EXPECT_EQ(ErrorOf(R"({"seed": 1.5})"), "analysis option \"seed\" must be a whole number");
  EXPECT_EQ(ErrorOf(R"({"backtest_folds": 1e30})"),
            "analysis option \"backtest_folds\" must be between 1 and 12, got 1e+30");
  EXPECT_EQ(ErrorOf(R"({"evaluation": "cross"})"),
            "analysis option \"evaluation\" must be \"auto\", \"out_of_time\" or \"split\", got "
            "\"cross\"");
  EXPECT_EQ(ErrorOf(R"({"buckets": {"quantiles": [0.5, 0.4, 0.9]}})"),
            "analysis option \"buckets\": \"quantiles\" must be three ascending fractions in (0, "
            "1), got [0.5, 0.4, 0.9]");
  EXPECT_EQ(ErrorOf(R"({"buckets": {"amounts": [1, 2]}})"),
            "analysis option \"buckets\": \"amounts\" must be three ascending amounts, got [1, 2]");
  EXPECT_NE(ErrorOf(R"({"buckets": {"quantiles": [0.5, 0.8, 0.95], "amounts": [1, 2, 3]}})")
                .find("must be {"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(R"({"candidates": ["magic"]})"),
            "analysis option \"candidates\": unknown candidate \"magic\"");
  EXPECT_EQ(ErrorOf(R"({"candidates": []})"),
            "analysis option \"candidates\" must be a non-empty array of candidate names, got []");
  EXPECT_EQ(ErrorOf(R"({"forest": {"n_classes": 3}})"),
            "analysis option \"forest\" must not set \"feature_names\" or \"n_classes\": the "
            "analysis sets them");
  EXPECT_EQ(ErrorOf(R"({"forest": {"n_tree": 3}})"), "unknown forest parameter \"n_tree\"");
  EXPECT_EQ(
      ErrorOf(R"({"cutoff": "yesterday"})"),
      "analysis option \"cutoff\" must be a timestamp such as \"2011-06-01\", got \"yesterday\"");
  EXPECT_EQ(ErrorOf(R"({"cutoff": "2030-01-01"})"),
            "cutoff 2030-01-01 00:00:00 plus the horizon 6 mons passes the end of dataset 7 "
            "(2011-12-09 12:50:00): the training labels would not be fully observed");
  EXPECT_EQ(ErrorOf(R"({"cutoff": "2009-01-01"})").substr(0, 60),
            "cutoff 2009-01-01 00:00:00 is not after the first purchase o");
  EXPECT_EQ(ErrorOf(R"({"horizon": "1000000 years"})"),
            "analysis option \"horizon\" (1000000 years) reaches before any representable time");
  DatasetFacts empty = Facts();
  empty.first_purchase.reset();
  empty.last_purchase.reset();
  EXPECT_EQ(ErrorOf("{}", empty), "dataset 7 has no transactions to analyse");
}

TEST(AnalysisOptions, LongValuesAreCutInMessages) {
  std::string big = R"({"evaluation": ")" + std::string(5000, 'x') + "\"}";
  try {
    ResolveAnalysisOptions(Facts(), json::Parse(big));
    FAIL();
  } catch (const Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
}

TEST(AnalysisOptions, SpecsListEveryOptionOnceAndTheDocsMatch) {
  std::set<std::string> names;
  for (const OptionSpec& s : AnalysisOptionSpecs())
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
  // Every option the reader accepts is in the table: an option absent from it is unknown.
  for (const std::string& name : names) {
    std::string one = "{\"" + name + "\": null}";
    EXPECT_NO_THROW(Resolve(one.c_str())) << name;
  }
  std::ifstream in(LTV_SOURCE_DIR "/docs/options.md");
  ASSERT_TRUE(in.good()) << "docs/options.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find(OptionsMarkdown()), std::string::npos)
      << "docs/options.md does not contain the generated table; regenerate it with "
         "scripts/gen-options-doc.sh";
}

}  // namespace
}  // namespace ltv::analysis
