#include "core/forest/training_rows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"

using namespace ltv::forest;

namespace {

TrainingLimits NoLimits() { return TrainingLimits{}; }

// n rows of `width` small integers (many ties, so whole rows get compared) and labels.
struct Rows {
  std::vector<std::vector<double>> values;
  std::vector<int> labels;
};

Rows MakeRows(size_t n, size_t width, unsigned seed) {
  std::mt19937 rng(seed);
  Rows r;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> row(width);
    for (double& v : row) v = static_cast<double>(rng() % 3);
    r.values.push_back(row);
    r.labels.push_back(static_cast<int>(rng() % 4));
  }
  return r;
}

TrainingRows Collect(const Rows& r, const std::vector<size_t>& order) {
  TrainingRows rows("test", "{}", NoLimits());
  for (size_t i : order) rows.Add(r.values[i].data(), r.values[i].size(), r.labels[i]);
  return rows;
}

// The canonical order computed independently: a stable sort of (row, label) tuples.
std::vector<std::pair<std::vector<double>, int>> Sorted(const Rows& r) {
  std::vector<std::pair<std::vector<double>, int>> all;
  for (size_t i = 0; i < r.labels.size(); ++i) all.emplace_back(r.values[i], r.labels[i]);
  std::stable_sort(all.begin(), all.end());
  return all;
}

void ExpectSet(const TrainingSet& set,
               const std::vector<std::pair<std::vector<double>, int>>& want) {
  ASSERT_EQ(set.n_rows(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(set.labels()[i], want[i].second) << "row " << i;
    for (size_t j = 0; j < want[i].first.size(); ++j)
      ASSERT_EQ(set.value(i, j), want[i].first[j]) << "row " << i << " feature " << j;
  }
}

}  // namespace

TEST(TrainingRows, CanonicalOrderIsTheSortedSetWhateverTheArrivalOrder) {
  const Rows r = MakeRows(2000, 4, 1);
  const auto want = Sorted(r);
  std::vector<size_t> order(r.labels.size());
  std::iota(order.begin(), order.end(), 0);
  for (unsigned seed = 0; seed < 3; ++seed) {
    std::shuffle(order.begin(), order.end(), std::mt19937(seed));
    TrainingRows rows = Collect(r, order);
    const TrainingSet set = rows.TakeCanonical();
    ExpectSet(set, want);
    EXPECT_EQ(set.max_label(), *std::max_element(r.labels.begin(), r.labels.end()));
    EXPECT_EQ(rows.n_rows(), 0u);  // moved out
  }
}

TEST(TrainingRows, MergedAndSerializedPartsGiveTheSameSet) {
  const Rows r = MakeRows(900, 3, 2);
  std::vector<size_t> a, b, c;
  for (size_t i = 0; i < r.labels.size(); ++i) (i % 3 == 0 ? a : i % 3 == 1 ? b : c).push_back(i);
  TrainingRows left = Collect(r, a);
  // Parts travel as bytes between processes.
  for (const auto* part : {&b, &c}) {
    const TrainingRows rows = Collect(r, *part);
    std::vector<uint8_t> bytes(rows.SerializedSize());
    rows.SerializeInto(bytes.data());
    const TrainingRows back =
        TrainingRows::Deserialize(bytes.data(), bytes.size(), "test", NoLimits());
    EXPECT_EQ(back.params_json(), "{}");
    left.Merge(back);
  }
  ExpectSet(left.TakeCanonical(), Sorted(r));
}

TEST(TrainingRows, RejectsBadRowsWithTheirNumbers) {
  TrainingRows rows("ltv.rf_train", "{}", NoLimits());
  const double good[2] = {1, 2}, nan_row[2] = {1, NAN}, inf_row[2] = {INFINITY, 0};
  const double wide[3] = {1, 2, 3};
  EXPECT_THROW(rows.Add(good, 0, 0), ltv::Error);
  rows.Add(good, 2, 0);
  auto message = [&](auto&& add) {
    try {
      add();
    } catch (const ltv::Error& e) {
      EXPECT_EQ(e.kind(), ltv::ErrorKind::kInvalidParameter);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { rows.Add(wide, 3, 0); }),
            "ltv.rf_train: row 2 has 3 features, earlier rows have 2");
  EXPECT_EQ(message([&] { rows.Add(nan_row, 2, 0); }), "ltv.rf_train: feature 2 of row 2 is NaN");
  EXPECT_EQ(message([&] { rows.Add(inf_row, 2, 0); }),
            "ltv.rf_train: feature 1 of row 2 is infinite");
  EXPECT_EQ(message([&] { rows.Add(good, 2, -1); }),
            "ltv.rf_train: label -1 of row 2 is not a class number (0..63)");
  EXPECT_EQ(rows.n_rows(), 1u);  // failed rows leave the rows unchanged
}

TEST(TrainingRows, RowLimitOnAddAndMerge) {
  TrainingLimits limits;
  limits.max_rows = 3;
  limits.hint = "raise it";
  TrainingRows rows("ctx", "{}", limits), more("ctx", "{}", limits);
  const double row[1] = {1};
  for (int i = 0; i < 3; ++i) rows.Add(row, 1, 0);
  try {
    rows.Add(row, 1, 0);
    FAIL();
  } catch (const ltv::Error& e) {
    EXPECT_EQ(e.kind(), ltv::ErrorKind::kLimitExceeded);
    EXPECT_EQ(std::string(e.what()), "ctx: more than 3 training rows");
    EXPECT_EQ(e.hint(), "raise it");
  }
  more.Add(row, 1, 1);
  EXPECT_THROW(rows.Merge(more), ltv::Error);
  EXPECT_EQ(rows.n_rows(), 3u);
}

TEST(TrainingRows, CorruptStatesAreRejectedNotRead) {
  const Rows r = MakeRows(10, 2, 3);
  std::vector<size_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  const TrainingRows rows = Collect(r, all);
  std::vector<uint8_t> bytes(rows.SerializedSize());
  rows.SerializeInto(bytes.data());
  // Every truncation, and a wrong row count, is corrupt.
  for (size_t size = 0; size < bytes.size(); ++size) {
    try {
      TrainingRows::Deserialize(bytes.data(), size, "ctx", NoLimits());
      FAIL() << "size " << size;
    } catch (const ltv::Error& e) {
      EXPECT_EQ(e.kind(), ltv::ErrorKind::kDataCorrupted);
      EXPECT_EQ(std::string(e.what()), "ctx: corrupt partial state");
    }
  }
  std::vector<uint8_t> wrong = bytes;
  wrong[4 + 2 + 8] ^= 1;  // n_rows (after u32 length, "{}", u64 width)
  EXPECT_THROW(TrainingRows::Deserialize(wrong.data(), wrong.size(), "ctx", NoLimits()),
               ltv::Error);
}
