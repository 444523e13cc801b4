#include "core/ranking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/xoshiro.h"

namespace ltv {
namespace {

TEST(PercentRanks, HandWorkedWithTies) {
  // Sorted: 1, 2, 2, 5, 7 -> rank-1 = 0, 1, 1, 3, 4; divided by n-1 = 4.
  std::vector<double> ranks = PercentRanks({5, 2, 7, 1, 2});
  EXPECT_EQ(ranks, (std::vector<double>{0.75, 0.25, 1.0, 0.0, 0.25}));
}

TEST(PercentRanks, EmptyAndSingleValue) {
  EXPECT_TRUE(PercentRanks({}).empty());
  EXPECT_EQ(PercentRanks({42}), std::vector<double>{0.0});
  EXPECT_EQ(PercentRanks({3, 3, 3}), (std::vector<double>{0, 0, 0}));
}

TEST(PercentRanks, NanOrdersAboveNumbersAndEqualsItself) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> ranks = PercentRanks({nan, 1, inf, nan, -inf});
  EXPECT_EQ(ranks, (std::vector<double>{0.75, 0.25, 0.5, 0.75, 0.0}));
}

TEST(PercentRanks, NegativeZeroEqualsZero) {
  EXPECT_EQ(PercentRanks({0.0, -0.0, -1}), (std::vector<double>{0.5, 0.5, 0.0}));
}

// The definition, computed the slow way: count the values strictly below each one.
TEST(PercentRanks, MatchesCountingDefinitionOnRandomData) {
  Xoshiro256 rng(7);
  std::vector<double> values(2000);
  for (double& v : values) v = static_cast<double>(rng.Next() % 300);  // many ties
  std::vector<double> ranks = PercentRanks(values);
  for (size_t i = 0; i < values.size(); ++i) {
    size_t below = 0;
    for (double w : values) below += w < values[i];
    ASSERT_EQ(ranks[i], static_cast<double>(below) / static_cast<double>(values.size() - 1)) << i;
  }
}

TEST(StratifiedHoldout, HandWorked) {
  // Stratum 0: keys 5, 1, 3, 9 -> order by key: 1 (#1), 3 (#2), 5 (#0), 9 (#3);
  // 4 * 0.5 + 0.5 = 2.5 -> the first 2: #1 and #2.
  // Stratum 1: three members, 3 * 0.5 + 0.5 = 2 -> keys tie at 4: tiebreak "a" < "b" < "c".
  // No stratum: one member, 1 * 0.5 + 0.5 = 1 -> held out.
  std::vector<std::optional<int32_t>> strata = {0, 0, 0, 0, 1, 1, 1, std::nullopt};
  std::vector<int64_t> keys = {5, 1, 3, 9, 4, 4, 4, -7};
  std::vector<std::string> ids = {"w", "x", "y", "z", "c", "a", "b", "n"};
  std::vector<std::string_view> views(ids.begin(), ids.end());
  std::vector<bool> held = StratifiedHoldout(strata, keys, views, 0.5);
  EXPECT_EQ(held, (std::vector<bool>{false, true, true, false, false, true, true, true}));
}

TEST(StratifiedHoldout, TiebreakIsByteOrder) {
  // As COLLATE "C": "B" (0x42) < "a" (0x61) < "ab" < "\xc3\xa9" (a high byte sorts last).
  std::vector<std::optional<int32_t>> strata(4, 2);
  std::vector<int64_t> keys(4, 0);
  std::vector<std::string> ids = {"\xc3\xa9", "ab", "a", "B"};
  std::vector<std::string_view> views(ids.begin(), ids.end());
  // 4 * 0.3 + 0.5 = 1.7 -> one member held out: "B".
  EXPECT_EQ(StratifiedHoldout(strata, keys, views, 0.3),
            (std::vector<bool>{false, false, false, true}));
  // 4 * 0.6 + 0.5 = 2.9 -> two: "B" and "a".
  EXPECT_EQ(StratifiedHoldout(strata, keys, views, 0.6),
            (std::vector<bool>{false, false, true, true}));
}

TEST(StratifiedHoldout, CountsPerStratumAndOrderIndependence) {
  Xoshiro256 rng(11);
  const size_t n = 5000;
  std::vector<std::optional<int32_t>> strata(n);
  std::vector<int64_t> keys(n);
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) {
    strata[i] = static_cast<int32_t>(rng.Next() % 4);
    keys[i] = static_cast<int64_t>(rng.Next());
    ids[i] = "c" + std::to_string(i);
  }
  std::vector<std::string_view> views(ids.begin(), ids.end());
  std::vector<bool> held = StratifiedHoldout(strata, keys, views, 0.2);
  for (int32_t s = 0; s < 4; ++s) {
    size_t count = 0, taken = 0;
    for (size_t i = 0; i < n; ++i)
      if (strata[i] == s) ++count, taken += held[i];
    EXPECT_EQ(taken, static_cast<size_t>(std::floor(count * 0.2 + 0.5))) << "stratum " << s;
    // Every held-out member's key is below every kept member's key in the stratum.
    int64_t max_held = INT64_MIN, min_kept = INT64_MAX;
    for (size_t i = 0; i < n; ++i) {
      if (strata[i] != s) continue;
      if (held[i])
        max_held = std::max(max_held, keys[i]);
      else
        min_kept = std::min(min_kept, keys[i]);
    }
    EXPECT_LT(max_held, min_kept);
  }
  // The same members come out whatever order they are given in.
  std::vector<size_t> reversed(n);
  for (size_t i = 0; i < n; ++i) reversed[i] = n - 1 - i;
  std::vector<std::optional<int32_t>> strata_r(n);
  std::vector<int64_t> keys_r(n);
  std::vector<std::string_view> views_r(n);
  for (size_t i = 0; i < n; ++i)
    strata_r[i] = strata[reversed[i]], keys_r[i] = keys[reversed[i]],
    views_r[i] = views[reversed[i]];
  std::vector<bool> held_r = StratifiedHoldout(strata_r, keys_r, views_r, 0.2);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(held_r[i], held[reversed[i]]);
}

TEST(StratifiedHoldout, RejectsMismatchedSizesAndBadFraction) {
  std::vector<std::optional<int32_t>> strata = {0, 1};
  std::vector<int64_t> keys = {1};
  std::vector<std::string_view> ids = {"a", "b"};
  EXPECT_THROW(StratifiedHoldout(strata, keys, ids, 0.5), std::invalid_argument);
  keys.push_back(2);
  EXPECT_THROW(StratifiedHoldout(strata, keys, ids, 1.5), std::invalid_argument);
  EXPECT_THROW(StratifiedHoldout(strata, keys, ids, std::nan("")), std::invalid_argument);
  EXPECT_EQ(StratifiedHoldout(strata, keys, ids, 0.0), (std::vector<bool>{false, false}));
  EXPECT_EQ(StratifiedHoldout(strata, keys, ids, 1.0), (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace ltv
