#include "core/json.h"

#include <gtest/gtest.h>

#include "core/error.h"

using ltv::json::OptionReader;
using ltv::json::Parse;
using ltv::json::Value;

TEST(Json, ParsesNestedDocumentAndDumpsItBack) {
  Value v = Parse(R"( {"a": [1, 2.5, -3e2], "b": {"c": "x\"y\u00e9"}, "d": null, "e": true} )");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.Find("a")->as_array().size(), 3u);
  EXPECT_DOUBLE_EQ(v.Find("a")->as_array()[2].as_number(), -300.0);
  EXPECT_EQ(v.Find("b")->Find("c")->as_string(), "x\"y\xc3\xa9");
  EXPECT_TRUE(v.Find("d")->is_null());
  EXPECT_EQ(v.Dump(), R"({"a":[1,2.5,-300],"b":{"c":"x\"y)"
                      "\xc3\xa9"
                      R"("},"d":null,"e":true})");
}

TEST(Json, RejectsMalformedTextWithOffset) {
  for (const char* bad : {"{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "{} x", "01x"}) {
    try {
      Parse(bad);
      FAIL() << "accepted " << bad;
    } catch (const ltv::Error& e) {
      EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidParameter);
      EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
    }
  }
}

TEST(Json, RejectsDeepNesting) {
  std::string deep(200, '[');
  EXPECT_THROW(Parse(deep), ltv::Error);
}

TEST(OptionReader, ReadsTypedValuesAndNamesUnknownKeys) {
  Value v = Parse(R"({"trees": 50, "seed": 7, "name": "x", "typo_key": 1})");
  OptionReader r(v, "forest parameter");
  EXPECT_EQ(r.Integer("trees", 100, 1, 10000), 50);
  EXPECT_EQ(r.Integer("seed", 1, 0, 1 << 30), 7);
  EXPECT_EQ(r.String("name", ""), "x");
  EXPECT_EQ(r.Number("absent", 2.5), 2.5);
  try {
    r.RejectUnknown();
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_NE(std::string(e.what()).find("typo_key"), std::string::npos);
  }
}

TEST(OptionReader, RangeAndTypeErrorsNameTheKey) {
  Value v = Parse(R"({"trees": 0, "depth": 2.5, "flag": "yes"})");
  OptionReader r(v, "forest parameter");
  EXPECT_THROW(r.Integer("trees", 1, 1, 10), ltv::Error);
  EXPECT_THROW(r.Integer("depth", 1, 1, 10), ltv::Error);
  EXPECT_THROW(r.Bool("flag", false), ltv::Error);
}
