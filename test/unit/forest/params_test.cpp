#include "core/forest/params.h"

#include <gtest/gtest.h>

#include "core/error.h"

using namespace ltv::forest;

namespace {

// Expects ParseForestParams(text) to throw kInvalidParameter with `key` in the message.
void ExpectErrorNaming(const std::string& text, const std::string& key) {
  try {
    ParseForestParams(text);
    FAIL() << "accepted " << text;
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidParameter);
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(ForestParams, Defaults) {
  const ForestParams p = ParseForestParams(std::string("{}"));
  EXPECT_EQ(p.n_trees, 100);
  EXPECT_EQ(p.max_depth, 0);
  EXPECT_EQ(p.min_samples_leaf, 1);
  EXPECT_EQ(p.min_samples_split, 2);
  EXPECT_EQ(p.max_features, MaxFeatures::kSqrt);
  EXPECT_EQ(p.ResolveMtry(19), 4);
  EXPECT_EQ(p.ResolveMtry(1), 1);
  EXPECT_TRUE(p.bootstrap);
  EXPECT_EQ(p.max_bins, 256);
  EXPECT_EQ(p.seed, 42);
  EXPECT_GE(p.ResolveThreads(), 1);
  EXPECT_LE(p.ResolveThreads(), 8);
  EXPECT_EQ(p.decision, DecisionRule::kArgmax);
  EXPECT_EQ(ParseForestParams(std::string("")).n_trees, 100);
}

TEST(ForestParams, ParsesEveryKey) {
  const ForestParams p = ParseForestParams(std::string(
      R"({"n_trees": 7, "max_depth": 5, "min_samples_leaf": 3, "min_samples_split": 6,
          "max_features": 0.5, "class_weight": [1, 2.5], "bootstrap": false,
          "sample_fraction": 0.7, "max_bins": 32, "seed": 9, "threads": 3, "decision": "tuned",
          "feature_names": ["a", "b"], "n_classes": 2})"));
  EXPECT_EQ(p.n_trees, 7);
  EXPECT_EQ(p.max_depth, 5);
  EXPECT_EQ(p.min_samples_leaf, 3);
  EXPECT_EQ(p.min_samples_split, 6);
  EXPECT_EQ(p.max_features, MaxFeatures::kFraction);
  EXPECT_EQ(p.ResolveMtry(10), 5);
  EXPECT_EQ(p.class_weight, ClassWeightMode::kExplicit);
  EXPECT_EQ(p.class_weights, (std::vector<double>{1, 2.5}));
  EXPECT_FALSE(p.bootstrap);
  EXPECT_DOUBLE_EQ(p.sample_fraction, 0.7);
  EXPECT_EQ(p.max_bins, 32);
  EXPECT_EQ(p.seed, 9);
  EXPECT_EQ(p.threads, 3);
  EXPECT_EQ(p.decision, DecisionRule::kTuned);
  EXPECT_EQ(p.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.n_classes, 2);
  EXPECT_EQ(ParseForestParams(std::string(R"({"max_features": "log2"})")).ResolveMtry(19), 4);
  EXPECT_EQ(ParseForestParams(std::string(R"({"max_features": "all"})")).ResolveMtry(19), 19);
  EXPECT_EQ(ParseForestParams(std::string(R"({"max_features": 7})")).ResolveMtry(19), 7);
  EXPECT_EQ(ParseForestParams(std::string(R"({"max_features": 70})")).ResolveMtry(19), 19);
  EXPECT_EQ(ParseForestParams(std::string(R"({"class_weight": "balanced"})")).class_weight,
            ClassWeightMode::kBalanced);
}

TEST(ForestParams, RoundTripsThroughJsonWithoutThreads) {
  ForestParams p = ParseForestParams(std::string(
      R"({"n_trees": 3, "max_features": 0.25, "class_weight": [1, 2], "threads": 4, "n_classes": 2})"));
  const std::string text = ToJson(p).Dump();
  EXPECT_EQ(text.find("threads"), std::string::npos);
  const ForestParams q = ParseForestParams(text);
  EXPECT_EQ(ToJson(q).Dump(), text);
}

TEST(ForestParams, ErrorsNameTheKey) {
  ExpectErrorNaming(R"({"n_tress": 5})", "n_tress");
  ExpectErrorNaming(R"({"n_trees": 0})", "n_trees");
  ExpectErrorNaming(R"({"n_trees": 2.5})", "n_trees");
  ExpectErrorNaming(R"({"max_depth": -1})", "max_depth");
  ExpectErrorNaming(R"({"min_samples_leaf": 0})", "min_samples_leaf");
  ExpectErrorNaming(R"({"min_samples_split": 1})", "min_samples_split");
  ExpectErrorNaming(R"({"max_features": "half"})", "max_features");
  ExpectErrorNaming(R"({"max_features": 0})", "max_features");
  ExpectErrorNaming(R"({"max_features": 1.5})", "max_features");
  ExpectErrorNaming(R"({"class_weight": "auto"})", "class_weight");
  ExpectErrorNaming(R"({"class_weight": [1, -2]})", "class_weight");
  ExpectErrorNaming(R"({"class_weight": [1, 2], "n_classes": 3})", "class_weight");
  ExpectErrorNaming(R"({"bootstrap": 1})", "bootstrap");
  ExpectErrorNaming(R"({"sample_fraction": 0})", "sample_fraction");
  ExpectErrorNaming(R"({"sample_fraction": 1.5})", "sample_fraction");
  ExpectErrorNaming(R"({"max_bins": 257})", "max_bins");
  ExpectErrorNaming(R"({"max_bins": 1})", "max_bins");
  ExpectErrorNaming(R"({"seed": -1})", "seed");
  ExpectErrorNaming(R"({"threads": 0})", "threads");
  ExpectErrorNaming(R"({"decision": "vote"})", "decision");
  ExpectErrorNaming(R"({"feature_names": ["a", 3]})", "feature_names");
  ExpectErrorNaming(R"({"n_classes": 0})", "n_classes");
  ExpectErrorNaming(R"([1, 2])", "forest parameter");
}
