// Issue 14, items 8 and 9: model names are valid UTF-8 or the model is corrupt; messages about
// parameters never carry raw bytes or whole values.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "core/error.h"
#include "core/forest/model_format.h"
#include "support/synthetic.h"
#include "core/forest/train.h"

using namespace ltv::forest;

namespace {

std::vector<uint8_t> SmallModel() {
  const SyntheticData d = MakeSynthetic(200, 3, 3, 3, 5);
  TrainingSet set(3);
  set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
  ltv::json::Value p = ltv::json::Parse(R"({"n_trees": 2, "max_depth": 3})");
  p.Set("feature_names",
        ltv::json::Value(ltv::json::Value::Array{"recency", "frequency", "monetary"}));
  return Serialize(Train(set, ParseForestParams(p), ltv::CancelCheck::None()));
}

std::string CorruptMessage(std::vector<uint8_t> blob) {
  try {
    Deserialize(blob.data(), blob.size());
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kDataCorrupted);
    return e.what();
  }
  return "(loaded)";
}

TEST(ModelNames, InvalidUtf8WithAValidChecksumIsCorrupt) {
  std::vector<uint8_t> blob = SmallModel();
  const std::string name = "frequency";
  auto at = std::search(blob.begin(), blob.end(), name.begin(), name.end());
  ASSERT_NE(at, blob.end());
  for (uint8_t bad : {uint8_t{0xFF}, uint8_t{0xC0}, uint8_t{0x00}, uint8_t{0xED}}) {
    std::vector<uint8_t> copy = blob;
    copy[at - blob.begin() + 2] = bad;
    Reseal(copy);
    EXPECT_EQ(CorruptMessage(copy), "model is corrupt: feature name 1 is not valid UTF-8");
  }
  // A valid two-byte character in place of two letters still loads (same length).
  std::vector<uint8_t> copy = blob;
  copy[at - blob.begin() + 2] = 0xC3;
  copy[at - blob.begin() + 3] = 0xA9;
  Reseal(copy);
  const Forest forest = Deserialize(copy.data(), copy.size());
  EXPECT_EQ(forest.feature_names()[1], "fr\xC3\xA9uency");
}

TEST(ModelNames, TrainingRefusesNamesTheModelCouldNotCarry) {
  for (const std::string& name : {std::string("a\xFF"), std::string(1025, 'n')}) {
    ltv::json::Value p = ltv::json::Value::MakeObject();
    p.Set("feature_names", ltv::json::Value(ltv::json::Value::Array{name}));
    try {
      ParseForestParams(p);
      ADD_FAILURE();
    } catch (const ltv::Error& e) {
      EXPECT_STREQ(e.what(),
                   "forest parameter \"feature_names\" element 0 must be valid UTF-8 of at most "
                   "1024 bytes");
    }
  }
  EXPECT_TRUE(IsValidUtf8("r\xC3\xA9sum\xC3\xA9 \xF0\x9F\x9B\x92"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

// Item 9: {"n_trees": 1e30} printed "got -9223372036854775808".
TEST(ParamMessages, OutOfRangeNumbersAreShownAsGiven) {
  try {
    ParseForestParams(std::string(R"({"n_trees": 1e30})"));
    ADD_FAILURE();
  } catch (const ltv::Error& e) {
    EXPECT_STREQ(e.what(), "forest parameter \"n_trees\" must be between 1 and 10000, got 1e+30");
  }
  try {
    ParseForestParams(std::string(R"({"decision": ")") + std::string(20000, 'x') + "\"}");
    ADD_FAILURE();
  } catch (const ltv::Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
  try {
    ParseForestParams(std::string(R"({")") + std::string(20000, 'k') + "\": 1}");
    ADD_FAILURE();
  } catch (const ltv::Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
}

// Item 5: the class count is bounded by what trains quickly.
TEST(ModelLimits, SixtyFourClassesTrainQuickly) {
  TrainingSet set(2);
  std::vector<double> values;
  std::vector<int> labels;
  for (int i = 0; i < 640; ++i) {
    values.push_back(i % 17);
    values.push_back(i % 5);
    labels.push_back(i % 64);
  }
  set.AddRows(values.data(), labels.data(), labels.size());
  const auto t0 = std::chrono::steady_clock::now();
  const Forest forest = Train(
      set,
      ParseForestParams(std::string(R"({"n_classes": 64, "n_trees": 20, "decision": "tuned"})")),
      ltv::CancelCheck::None());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(forest.n_classes(), 64);
  EXPECT_LT(seconds, 5.0);  // ~0.1 s; the bound leaves room for a loaded machine
  try {
    ParseForestParams(std::string(R"({"n_classes": 65})"));
    ADD_FAILURE();
  } catch (const ltv::Error& e) {
    EXPECT_STREQ(e.what(), "forest parameter \"n_classes\" must be between 1 and 64, got 65");
  }
}

}  // namespace
