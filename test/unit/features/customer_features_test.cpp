#include "core/features/customer_features.h"

#include <gtest/gtest.h>

#include "support/feature_vector.h"

#include <algorithm>
#include <map>
#include <memory_resource>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/civil_time.h"

#include "core/error.h"

namespace ltv::features {
namespace {

constexpr int64_t kHour = 3600LL * kMicrosPerSecond;

const TimestampMicros kCutoff = DaysFromCivil(2011, 6, 1) * kMicrosPerDay;

TimestampMicros DaysBefore(double days) {
  return kCutoff - static_cast<int64_t>(days * kMicrosPerDay);
}

struct Line {
  std::string invoice;
  std::string stock_code;
  TimestampMicros time;
  double amount;
};

void Feed(FeatureAccumulator& acc, const std::vector<Line>& lines) {
  for (const Line& l : lines) acc.Add(l.invoice, l.stock_code, l.time, l.amount);
}

void ExpectSameFeatures(const CustomerFeatures& a, const CustomerFeatures& b) {
  EXPECT_EQ(ToVector(a), ToVector(b));
  EXPECT_EQ(a.first_purchase, b.first_purchase);
  EXPECT_EQ(a.last_purchase, b.last_purchase);
  EXPECT_EQ(a.has_purchase, b.has_purchase);
}

std::vector<uint8_t> Bytes(const FeatureAccumulator& acc) {
  std::vector<uint8_t> out;
  acc.SerializeTo(out);
  return out;
}

// One customer, cutoff 2011-06-01 00:00, worked by hand:
//   A0  P7   C-400d   8.00      purchase, outside every window
//   A1  P1   C-200d  10.00      purchase (365d window)
//   A1  P2   C-200d   5.50      same invoice
//   A2  P1   C-100d  20.00      purchase (180d window)
//   A3  P3   C-40d   30.00      purchase (90d window)
//   C1  P1   C-35d  -10.00      return   (90d window)
//   A4  P4   C-10d   12.25      purchase (30d window)
//   A4  P1   C-10d    2.75      same invoice
//   C2  P2   C-5d    -5.50      return   (30d window)
//   A5  P5   C        100       exactly at the cutoff: ignored
//   A6  P6   C+5d      50       after the cutoff: ignored
// Invoice totals of purchases: A0 8, A1 15.5, A2 20, A3 30, A4 15 -> sum 88.5, frequency 5.
//   monetary          = 88.5 - 15.5 = 73
//   avg_order_value   = 88.5 / 5 = 17.7
//   recency_days      = 10 (last purchase A4), tenure_days = 400 (first purchase A0)
//   mean_days_between = (400 - 10) / (5 - 1) = 97.5
//   spend_30d  = 15 - 5.5          = 9.5     orders_30d  = 1 (A4)
//   spend_90d  = 9.5 + 30 - 10     = 29.5    orders_90d  = 2 (A3, A4)
//   spend_180d = 29.5 + 20         = 49.5    orders_180d = 3 (A2..A4)
//   spend_365d = 49.5 + 15.5       = 65      orders_365d = 4 (A1..A4)
//   trend_90d  = 29.5 - (49.5 - 29.5) = 9.5
//   returns_amount = 15.5, returns_count = 2 (C1, C2)
//   distinct_products = |{P7, P1, P2, P3, P4}| = 5 (P5, P6 only after the cutoff)
std::vector<Line> HandWorkedCustomer() {
  return {
      {"A0", "P7", DaysBefore(400), 8.00},
      {"A1", "P1", DaysBefore(200), 10.00},
      {"A1", "P2", DaysBefore(200), 5.50},
      {"A2", "P1", DaysBefore(100), 20.00},
      {"A3", "P3", DaysBefore(40), 30.00},
      {"C1", "P1", DaysBefore(35), -10.00},
      {"A4", "P4", DaysBefore(10), 12.25},
      {"A4", "P1", DaysBefore(10), 2.75},
      {"C2", "P2", DaysBefore(5), -5.50},
      {"A5", "P5", kCutoff, 100},
      {"A6", "P6", kCutoff + 5 * kMicrosPerDay, 50},
  };
}

TEST(CustomerFeatures, NamesMatchVectorOrder) {
  CustomerFeatures f;
  EXPECT_EQ(FeatureNames().size(), ToVector(f).size());
  EXPECT_EQ(FeatureNames().front(), "recency_days");
  EXPECT_EQ(FeatureNames().back(), "mean_days_between");
}

TEST(CustomerFeatures, HandWorkedCustomer) {
  FeatureAccumulator acc(kCutoff);
  Feed(acc, HandWorkedCustomer());
  const CustomerFeatures f = acc.Finalize();
  EXPECT_TRUE(f.has_purchase);
  EXPECT_DOUBLE_EQ(f.recency_days, 10);
  EXPECT_DOUBLE_EQ(f.frequency, 5);
  EXPECT_DOUBLE_EQ(f.monetary, 73);
  EXPECT_DOUBLE_EQ(f.avg_order_value, 17.7);
  EXPECT_DOUBLE_EQ(f.tenure_days, 400);
  EXPECT_DOUBLE_EQ(f.spend_30d, 9.5);
  EXPECT_DOUBLE_EQ(f.spend_90d, 29.5);
  EXPECT_DOUBLE_EQ(f.spend_180d, 49.5);
  EXPECT_DOUBLE_EQ(f.spend_365d, 65);
  EXPECT_DOUBLE_EQ(f.orders_30d, 1);
  EXPECT_DOUBLE_EQ(f.orders_90d, 2);
  EXPECT_DOUBLE_EQ(f.orders_180d, 3);
  EXPECT_DOUBLE_EQ(f.orders_365d, 4);
  EXPECT_DOUBLE_EQ(f.trend_90d, 9.5);
  EXPECT_DOUBLE_EQ(f.returns_amount, 15.5);
  EXPECT_DOUBLE_EQ(f.returns_count, 2);
  EXPECT_DOUBLE_EQ(f.distinct_products, 5);
  EXPECT_DOUBLE_EQ(f.mean_days_between, 97.5);
  EXPECT_EQ(f.first_purchase, DaysBefore(400));
  EXPECT_EQ(f.last_purchase, DaysBefore(10));
}

TEST(CustomerFeatures, LineExactlyAtCutoffIsExcluded) {
  FeatureAccumulator acc(kCutoff);
  acc.Add("X", "P", kCutoff, 10);
  CustomerFeatures f = acc.Finalize();
  EXPECT_FALSE(f.has_purchase);
  EXPECT_EQ(f.frequency, 0);
  EXPECT_EQ(f.monetary, 0);
  EXPECT_EQ(f.recency_days, -1);
  EXPECT_EQ(f.tenure_days, -1);
  EXPECT_EQ(f.mean_days_between, -1);

  acc.Add("Y", "P", kCutoff - 1, 10);  // one microsecond earlier counts
  f = acc.Finalize();
  EXPECT_TRUE(f.has_purchase);
  EXPECT_EQ(f.frequency, 1);
  EXPECT_EQ(f.spend_30d, 10);
}

TEST(CustomerFeatures, WindowStartIsInclusive) {
  FeatureAccumulator acc(kCutoff);
  acc.Add("IN", "P", kCutoff - 30 * kMicrosPerDay, 7);        // exactly cutoff - 30d: inside
  acc.Add("OUT", "P", kCutoff - 30 * kMicrosPerDay - 1, 11);  // 1 us earlier: outside
  const CustomerFeatures f = acc.Finalize();
  EXPECT_EQ(f.spend_30d, 7);
  EXPECT_EQ(f.orders_30d, 1);
  EXPECT_EQ(f.spend_90d, 18);
  EXPECT_EQ(f.orders_90d, 2);
  EXPECT_DOUBLE_EQ(f.recency_days, 30);
}

TEST(CustomerFeatures, InvoiceWindowMembershipUsesLatestPurchaseLine) {
  // An invoice whose lines straddle a window start counts as an order in the window, but only
  // the lines inside count as spend.
  FeatureAccumulator acc(kCutoff);
  acc.Add("I", "P1", DaysBefore(31), 5);
  acc.Add("I", "P2", DaysBefore(29), 3);
  const CustomerFeatures f = acc.Finalize();
  EXPECT_EQ(f.orders_30d, 1);
  EXPECT_EQ(f.spend_30d, 3);
  EXPECT_EQ(f.frequency, 1);
}

TEST(CustomerFeatures, ReturnsAreNetted) {
  FeatureAccumulator acc(kCutoff);
  acc.Add("A", "P1", DaysBefore(20), 50);
  acc.Add("C", "P1", DaysBefore(10), -20);
  acc.Add("C", "P2", DaysBefore(10), -5);
  // A return line on a purchase invoice: the invoice is both an order and a return.
  acc.Add("B", "P3", DaysBefore(5), 8);
  acc.Add("B", "P3", DaysBefore(5), -8);
  const CustomerFeatures f = acc.Finalize();
  EXPECT_EQ(f.monetary, 25);
  EXPECT_EQ(f.spend_30d, 25);
  EXPECT_EQ(f.returns_amount, 33);
  EXPECT_EQ(f.returns_count, 2);
  EXPECT_EQ(f.frequency, 2);
  EXPECT_EQ(f.avg_order_value, 29);  // (50 + 8) / 2
  EXPECT_EQ(f.distinct_products, 2);
}

TEST(CustomerFeatures, ReturnsOnlyCustomerHasNoPurchase) {
  FeatureAccumulator acc(kCutoff);
  acc.Add("C1", "P1", DaysBefore(3), -12);
  acc.Add("Z", "P9", DaysBefore(2), 0);  // a zero line is neither
  const CustomerFeatures f = acc.Finalize();
  EXPECT_FALSE(f.has_purchase);
  EXPECT_EQ(f.monetary, -12);
  EXPECT_EQ(f.frequency, 0);
  EXPECT_EQ(f.avg_order_value, 0);
  EXPECT_EQ(f.returns_count, 1);
  EXPECT_EQ(f.recency_days, -1);
  EXPECT_EQ(f.tenure_days, -1);
  EXPECT_EQ(f.distinct_products, 0);
}

TEST(CustomerFeatures, NonFiniteAmountIsRejected) {
  FeatureAccumulator acc(kCutoff);
  EXPECT_THROW(acc.Add("A", "P", DaysBefore(1), std::nan("")), Error);
  EXPECT_THROW(acc.Add("A", "P", DaysBefore(1), 1e300), Error);
  // ... but the future is ignored before it is looked at.
  EXPECT_NO_THROW(acc.Add("A", "P", kCutoff + 1, std::nan("")));
}

TEST(CustomerFeatures, ExtremeTimesDoNotOverflow) {
  FeatureAccumulator early(INT64_MIN + 5);
  early.Add("A", "P", INT64_MIN, 1);
  EXPECT_TRUE(early.Finalize().has_purchase);
  FeatureAccumulator late(INT64_MAX);
  late.Add("A", "P", INT64_MIN, 1);
  late.Add("B", "P", INT64_MAX - 1, 1);
  const CustomerFeatures f = late.Finalize();
  EXPECT_GT(f.tenure_days, 1e8);
  EXPECT_EQ(f.orders_30d, 1);
}

TEST(CustomerFeatures, MergeWithDifferentCutoffIsAnError) {
  FeatureAccumulator a(kCutoff), b(kCutoff + kMicrosPerDay);
  try {
    a.Merge(b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter);
  }
}

TEST(CustomerFeatures, MergeIntoSelfDoublesSums) {
  FeatureAccumulator acc(kCutoff);
  Feed(acc, HandWorkedCustomer());
  acc.Merge(acc);
  const CustomerFeatures f = acc.Finalize();
  EXPECT_DOUBLE_EQ(f.monetary, 146);
  EXPECT_DOUBLE_EQ(f.frequency, 5);  // distinct counts unchanged
}

// Random lines for one customer: some invoices with many lines (consecutive or not), returns,
// lines after the cutoff, zero lines, and sometimes thousands of invoices (the index path).
std::vector<Line> RandomCustomer(std::mt19937_64& rng) {
  std::vector<Line> lines;
  const int invoices = std::uniform_int_distribution<int>(0, 1)(rng)
                           ? std::uniform_int_distribution<int>(1, 12)(rng)
                           : std::uniform_int_distribution<int>(1, 3000)(rng);
  std::uniform_real_distribution<double> days(-60, 700);
  std::uniform_int_distribution<int> product(0, 300);
  std::uniform_int_distribution<int> cents(-5000, 20000);
  for (int i = 0; i < invoices; ++i) {
    const bool is_return = rng() % 8 == 0;
    const std::string invoice = (is_return ? "C" : "") + std::to_string(500000 + i);
    const TimestampMicros time = DaysBefore(days(rng));
    const int line_count = 1 + static_cast<int>(rng() % 6);
    for (int j = 0; j < line_count; ++j) {
      double amount = std::abs(cents(rng)) / 100.0 * (is_return ? -1 : 1);
      if (rng() % 20 == 0) amount = -amount;
      if (rng() % 50 == 0) amount = 0;
      // Lines of an invoice are usually a few minutes apart, sometimes straddle a window start.
      lines.push_back({invoice, "S" + std::to_string(product(rng)),
                       time + static_cast<int64_t>(rng() % (3 * kHour)), amount});
    }
  }
  // Interleave some invoices so that the fast path misses.
  for (size_t k = 0; k < lines.size() / 10; ++k) {
    std::swap(lines[rng() % lines.size()], lines[rng() % lines.size()]);
  }
  return lines;
}

// The definitions of docs/features.md computed the obvious way, with real strings.
CustomerFeatures Reference(const std::vector<Line>& lines) {
  CustomerFeatures f;
  std::map<std::string, TimestampMicros> latest_purchase;
  std::set<std::string> returns, products;
  double purchases = 0, returned = 0, windows[4] = {0, 0, 0, 0};
  const int window_days[4] = {30, 90, 180, 365};
  for (const Line& l : lines) {
    if (l.time >= kCutoff || l.amount == 0) continue;
    for (int w = 0; w < 4; ++w) {
      if (l.time >= kCutoff - window_days[w] * kMicrosPerDay) windows[w] += l.amount;
    }
    if (l.amount > 0) {
      purchases += l.amount;
      auto [it, inserted] = latest_purchase.emplace(l.invoice, l.time);
      if (!inserted) it->second = std::max(it->second, l.time);
      products.insert(l.stock_code);
      if (!f.has_purchase) f.first_purchase = f.last_purchase = l.time;
      f.has_purchase = true;
      f.first_purchase = std::min(f.first_purchase, l.time);
      f.last_purchase = std::max(f.last_purchase, l.time);
    } else {
      returned -= l.amount;
      returns.insert(l.invoice);
    }
  }
  f.frequency = latest_purchase.size();
  double orders[4] = {0, 0, 0, 0};
  for (const auto& [invoice, time] : latest_purchase) {
    for (int w = 0; w < 4; ++w) orders[w] += time >= kCutoff - window_days[w] * kMicrosPerDay;
  }
  f.monetary = purchases - returned;
  f.avg_order_value = f.frequency > 0 ? purchases / f.frequency : 0;
  f.spend_30d = windows[0];
  f.spend_90d = windows[1];
  f.spend_180d = windows[2];
  f.spend_365d = windows[3];
  f.orders_30d = orders[0];
  f.orders_90d = orders[1];
  f.orders_180d = orders[2];
  f.orders_365d = orders[3];
  f.trend_90d = windows[1] - (windows[2] - windows[1]);
  f.returns_amount = returned;
  f.returns_count = returns.size();
  f.distinct_products = products.size();
  const double day = static_cast<double>(kMicrosPerDay);
  f.recency_days = f.has_purchase ? (kCutoff - f.last_purchase) / day : -1;
  f.tenure_days = f.has_purchase ? (kCutoff - f.first_purchase) / day : -1;
  f.mean_days_between =
      f.frequency >= 2 ? (f.last_purchase - f.first_purchase) / day / (f.frequency - 1) : -1;
  return f;
}

TEST(CustomerFeatures, MatchesReferenceOnRandomCustomers) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 60; ++trial) {
    const std::vector<Line> lines = RandomCustomer(rng);
    FeatureAccumulator acc(kCutoff);
    Feed(acc, lines);
    const std::vector<double> got = ToVector(acc.Finalize());
    const CustomerFeatures expected_features = Reference(lines);
    const std::vector<double> expected = ToVector(expected_features);
    for (size_t i = 0; i < got.size(); ++i) {
      // Sums of cents agree to rounding of the reference's double sum.
      EXPECT_NEAR(got[i], expected[i], 1e-6 * std::max(1.0, std::abs(expected[i])))
          << FeatureNames()[i] << " trial " << trial;
    }
    EXPECT_EQ(acc.Finalize().has_purchase, expected_features.has_purchase);
  }
}

TEST(CustomerFeatures, MergeOfRandomSplitsEqualsSerial) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const std::vector<Line> lines = RandomCustomer(rng);
    FeatureAccumulator serial(kCutoff);
    Feed(serial, lines);

    const int parts = 1 + static_cast<int>(rng() % 5);
    std::vector<std::vector<Line>> split(parts);
    for (const Line& l : lines) split[rng() % parts].push_back(l);
    FeatureAccumulator merged(kCutoff);
    for (const auto& part : split) {
      FeatureAccumulator partial(kCutoff);
      Feed(partial, part);
      // The parallel-query path: partial states travel as bytes.
      const std::vector<uint8_t> bytes = Bytes(partial);
      merged.Merge(FeatureAccumulator::Deserialize(bytes.data(), bytes.size()));
    }
    ExpectSameFeatures(merged.Finalize(), serial.Finalize());
    // The byte form is canonical, so equal states have equal bytes.
    EXPECT_EQ(Bytes(merged), Bytes(serial)) << "trial " << trial;

    // Merging in a tree (b into a, then the result into an empty state) is the same too.
    FeatureAccumulator tree(kCutoff), left(kCutoff), right(kCutoff);
    Feed(left, split[0]);
    for (int p = 1; p < parts; ++p) Feed(right, split[p]);
    right.Merge(left);
    tree.Merge(right);
    ExpectSameFeatures(tree.Finalize(), serial.Finalize());
  }
}

// The product set compacts its appended hashes when it runs out of room and when it is read
// (Finalize, serialization): reads in the middle of a stream, long runs of repeats and tens of
// thousands of distinct products must all leave the exact distinct count.
TEST(CustomerFeatures, DistinctProductsExactThroughCompactionsAndReads) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 12; ++trial) {
    const int alphabet = trial % 3 == 0 ? 5 : trial % 3 == 1 ? 400 : 40000;
    FeatureAccumulator acc(kCutoff);
    std::set<std::string> seen;
    const int lines = 1 + static_cast<int>(rng() % 60000);
    for (int i = 0; i < lines; ++i) {
      std::string code = "P" + std::to_string(rng() % alphabet);
      const int repeats = rng() % 10 == 0 ? 1 + static_cast<int>(rng() % 20) : 1;
      for (int r = 0; r < repeats; ++r) {
        acc.Add("INV" + std::to_string(i / 7), code, kCutoff - kHour, 1.0);
      }
      seen.insert(code);
      if (rng() % 1000 == 0) {
        ASSERT_EQ(acc.Finalize().distinct_products, static_cast<double>(seen.size()));
        const std::vector<uint8_t> bytes = Bytes(acc);
        FeatureAccumulator copy = FeatureAccumulator::Deserialize(bytes.data(), bytes.size());
        ASSERT_EQ(copy.Finalize().distinct_products, static_cast<double>(seen.size()));
        ASSERT_EQ(Bytes(copy), bytes);
      }
    }
    EXPECT_EQ(acc.Finalize().distinct_products, static_cast<double>(seen.size()))
        << "trial " << trial;
    // Merging a state with itself keeps the set (every hash is a duplicate).
    acc.Merge(acc);
    EXPECT_EQ(acc.Finalize().distinct_products, static_cast<double>(seen.size()));
  }
}

TEST(CustomerFeatures, SerializeRoundTrip) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 30; ++trial) {
    FeatureAccumulator acc(kCutoff);
    Feed(acc, trial == 0 ? std::vector<Line>{} : RandomCustomer(rng));
    const std::vector<uint8_t> bytes = Bytes(acc);
    const FeatureAccumulator back = FeatureAccumulator::Deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.cutoff(), kCutoff);
    ExpectSameFeatures(back.Finalize(), acc.Finalize());
    EXPECT_EQ(Bytes(back), bytes);
  }
}

TEST(CustomerFeatures, DeserializedStateKeepsAccumulating) {
  const std::vector<Line> lines = HandWorkedCustomer();
  FeatureAccumulator first_half(kCutoff), serial(kCutoff);
  Feed(serial, lines);
  Feed(first_half, std::vector<Line>(lines.begin(), lines.begin() + 5));
  const std::vector<uint8_t> bytes = Bytes(first_half);
  FeatureAccumulator resumed = FeatureAccumulator::Deserialize(bytes.data(), bytes.size());
  Feed(resumed, std::vector<Line>(lines.begin() + 5, lines.end()));
  ExpectSameFeatures(resumed.Finalize(), serial.Finalize());
}

void ExpectCorrupt(const std::vector<uint8_t>& bytes) {
  try {
    FeatureAccumulator::Deserialize(bytes.data(), bytes.size());
    FAIL() << "accepted " << bytes.size() << " bytes";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kDataCorrupted);
  }
}

TEST(CustomerFeatures, CorruptBytesAreRejected) {
  FeatureAccumulator acc(kCutoff);
  Feed(acc, HandWorkedCustomer());
  const std::vector<uint8_t> good = Bytes(acc);

  for (size_t length = 0; length < good.size(); ++length) {
    ExpectCorrupt(std::vector<uint8_t>(good.begin(), good.begin() + length));
  }
  std::vector<uint8_t> bad = good;
  bad.push_back(0);  // trailing garbage
  ExpectCorrupt(bad);

  bad = good;
  bad[3] = 2;  // unknown version
  ExpectCorrupt(bad);

  bad = good;
  bad[4] = 0xff;  // unknown flags
  ExpectCorrupt(bad);

  // A huge invoice count must be rejected before anything is allocated for it.
  const size_t invoice_count_offset = 4 + 1 + 8 + 8 * 6 + 16;
  bad = good;
  bad[invoice_count_offset] = bad[invoice_count_offset + 1] = bad[invoice_count_offset + 2] =
      bad[invoice_count_offset + 3] = 0xff;
  ExpectCorrupt(bad);

  // Swapping the first two invoice keys breaks the strict order (a duplicate would too).
  bad = good;
  const size_t first_invoice = invoice_count_offset + 4;
  std::fill(bad.begin() + first_invoice, bad.begin() + first_invoice + 8, 0xff);
  ExpectCorrupt(bad);

  // Negative returns total.
  bad = good;
  bad[4 + 1 + 8 + 8 + 7] = 0x80;
  ExpectCorrupt(bad);

  ExpectCorrupt({});
  EXPECT_THROW(FeatureAccumulator::Deserialize(nullptr, 10), Error);
}

TEST(CustomerFeatures, RandomByteFlipsNeverCrash) {
  FeatureAccumulator acc(kCutoff);
  std::mt19937_64 rng(5);
  Feed(acc, RandomCustomer(rng));
  const std::vector<uint8_t> good = Bytes(acc);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> bad = good;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) {
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    try {
      const FeatureAccumulator back = FeatureAccumulator::Deserialize(bad.data(), bad.size());
      back.Finalize();  // accepted states (a flipped sum, say) must still be usable
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDataCorrupted);
    }
  }
}

// A small customer lives inside the state (first invoice, up to 7 products); a bigger one moves
// to the heap. Copies, moves and assignments of both kinds keep every feature and byte, and
// the results keep accumulating on their own.
TEST(CustomerFeatures, CopiesAndMovesKeepTheState) {
  std::mt19937_64 rng(11);
  std::vector<Line> big;
  while (big.size() < 200) big = RandomCustomer(rng);
  const std::vector<std::vector<Line>> customers = {
      {}, {{"A1", "P1", DaysBefore(3), 5}}, HandWorkedCustomer(), big};
  std::pmr::monotonic_buffer_resource arena;
  for (const std::vector<Line>& lines : customers) {
    FeatureAccumulator original(kCutoff);
    Feed(original, lines);
    const std::vector<uint8_t> bytes = Bytes(original);

    FeatureAccumulator copy(original);
    EXPECT_EQ(Bytes(copy), bytes);
    FeatureAccumulator moved(std::move(copy));
    EXPECT_EQ(Bytes(moved), bytes);
    EXPECT_EQ(Bytes(copy), Bytes(FeatureAccumulator(kCutoff)));  // moved-from: empty
    Feed(copy, lines);                                           // ... and usable
    EXPECT_EQ(Bytes(copy), bytes);

    FeatureAccumulator assigned(kCutoff);
    Feed(assigned, big);
    assigned = original;
    EXPECT_EQ(Bytes(assigned), bytes);
    FeatureAccumulator move_assigned(kCutoff);
    Feed(move_assigned, HandWorkedCustomer());
    move_assigned = std::move(moved);
    EXPECT_EQ(Bytes(move_assigned), bytes);
    // Another resource: the state is copied into it, not stolen.
    FeatureAccumulator elsewhere(kCutoff, &arena);
    elsewhere = std::move(move_assigned);
    EXPECT_EQ(Bytes(elsewhere), bytes);

    // Independent from now on: feeding the lines again doubles the sums of one state only.
    Feed(assigned, lines);
    FeatureAccumulator twice(kCutoff);
    Feed(twice, lines);
    Feed(twice, lines);
    EXPECT_EQ(Bytes(assigned), Bytes(twice));
    EXPECT_EQ(Bytes(original), bytes);
    EXPECT_EQ(Bytes(elsewhere), bytes);
  }
}

// Every allocation goes to the resource given: with the default resource disabled, a state
// built on a monotonic buffer works, and dropping the buffer frees everything at once.
TEST(CustomerFeatures, AllocatesOnlyFromGivenResource) {
  std::pmr::monotonic_buffer_resource arena;
  std::pmr::memory_resource* previous =
      std::pmr::set_default_resource(std::pmr::null_memory_resource());
  std::vector<uint8_t> bytes;
  CustomerFeatures f;
  try {
    std::mt19937_64 rng(3);
    std::vector<Line> lines;
    while (lines.size() < 2000) lines = RandomCustomer(rng);  // needs the invoice index
    auto* acc = new (arena.allocate(sizeof(FeatureAccumulator), alignof(FeatureAccumulator)))
        FeatureAccumulator(kCutoff, &arena);
    Feed(*acc, lines);
    acc->SerializeTo(bytes);
    auto* copy = new (arena.allocate(sizeof(FeatureAccumulator), alignof(FeatureAccumulator)))
        FeatureAccumulator(FeatureAccumulator::Deserialize(bytes.data(), bytes.size(), &arena));
    acc->Merge(*copy);
    f = acc->Finalize();
    // No destructor runs: the arena releases the memory wholesale.
  } catch (...) {
    std::pmr::set_default_resource(previous);
    throw;
  }
  std::pmr::set_default_resource(previous);
  EXPECT_TRUE(f.has_purchase);
}

TEST(CustomerFeatures, HashKeyIsStableAndNonZero) {
  // Part of the serialized format: these values must never change within format version 1.
  EXPECT_EQ(HashKey("536365"), 0x51eaa8cbd7f86f34ull);
  EXPECT_EQ(HashKey("85123A"), 0x56460ed149aab848ull);
  EXPECT_NE(HashKey("a"), HashKey(std::string_view("a\0", 2)));
  EXPECT_NE(HashKey(""), 0u);
  std::set<uint64_t> seen;
  for (int i = 0; i < 200000; ++i) seen.insert(HashKey(std::to_string(i)));
  EXPECT_EQ(seen.size(), 200000u);
}

// HashKey as format version 1 defines it, written the plain way: 8-byte little-endian words,
// then the remaining bytes one by one into a zero-padded word.
uint64_t ReferenceHashKey(std::string_view text) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                     k2 = 0x8ebc6af09c88c6e3ull, k3 = 0x589965cc75374cc3ull;
  auto mum = [](uint64_t a, uint64_t b) {
    const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
    return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
  };
  const size_t n = text.size();
  uint64_t h = k0 ^ mum(static_cast<uint64_t>(n) ^ k1, k2);
  size_t i = 0;
  for (; i < n; i += 8) {
    uint64_t word = 0;
    for (size_t j = 0; j < 8 && i + j < n; ++j) {
      word |= static_cast<uint64_t>(static_cast<uint8_t>(text[i + j])) << (8 * j);
    }
    h = mum(h ^ word ^ k1, k2);
  }
  h = mum(h ^ k3, k0 ^ (h >> 29));
  return h == 0 ? 1 : h;
}

TEST(CustomerFeatures, HashKeyMatchesItsDefinitionForEveryLength) {
  std::mt19937_64 random(7);
  for (size_t length = 0; length <= 40; ++length) {
    for (int round = 0; round < 200; ++round) {
      std::string text(length, '\0');
      // All byte values, high bit included (a sign-extended byte would corrupt the tail).
      for (char& c : text) c = static_cast<char>(random() & 0xff);
      ASSERT_EQ(HashKey(text), ReferenceHashKey(text)) << "length " << length;
      // The same bytes at every alignment.
      std::string shifted = "x" + text;
      ASSERT_EQ(HashKey(std::string_view(shifted).substr(1)), ReferenceHashKey(text));
    }
  }
}

}  // namespace
}  // namespace ltv::features
