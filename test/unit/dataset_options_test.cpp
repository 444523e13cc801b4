#include "core/dataset_options.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ltv {
namespace {

TEST(DatasetOptions, TakesItsKeysAndLeavesTheRest) {
  json::Value options = json::Parse(R"({"replace": true, "delimiter": ";", "freeze": false})");
  DatasetOptions got = TakeDatasetOptions(options);
  EXPECT_TRUE(got.replace);
  EXPECT_FALSE(got.freeze);
  EXPECT_EQ(options.Dump(), R"({"delimiter":";"})");
}

TEST(DatasetOptions, DefaultsAndNull) {
  json::Value options;
  DatasetOptions got = TakeDatasetOptions(options);
  EXPECT_FALSE(got.replace);
  EXPECT_TRUE(got.freeze);
  EXPECT_TRUE(options.is_object());
}

TEST(DatasetOptions, WrongTypesNameTheOption) {
  json::Value bad = json::Parse(R"({"freeze": "yes"})");
  try {
    TakeDatasetOptions(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "option \"freeze\" must be true or false");
  }
  json::Value array = json::Parse("[1]");
  EXPECT_THROW(TakeDatasetOptions(array), Error);
}

}  // namespace
}  // namespace ltv
