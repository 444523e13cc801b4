#include "core/generator/synthetic_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"

namespace ltv::generator {
namespace {

GeneratorOptions Options(int64_t customers, uint64_t seed = 42) {
  GeneratorOptions options = ParseGeneratorOptions(json::Value::MakeObject());
  options.customers = customers;
  options.seed = seed;
  return options;
}

std::vector<Transaction> GenerateAll(const GeneratorOptions& options) {
  SyntheticGenerator generator(options);
  std::vector<Transaction> out;
  generator.GenerateRange(0, options.customers, out);
  return out;
}

std::string Csv(const std::vector<Transaction>& lines, CsvWriteOptions options = {}) {
  std::ostringstream out;
  WriteCsv(out, lines, options);
  return out.str();
}

bool SameLine(const Transaction& a, const Transaction& b) {
  return a.invoice == b.invoice && a.stock_code == b.stock_code && a.description == b.description &&
         a.quantity == b.quantity && a.unit_price == b.unit_price && a.amount == b.amount &&
         a.invoice_time == b.invoice_time && a.customer_id == b.customer_id &&
         a.country == b.country && a.is_return == b.is_return;
}

int MonthOf(TimestampMicros time) {
  int year, month, day;
  CivilFromDays(time / kMicrosPerDay, year, month, day);
  return month;
}

TEST(GeneratorOptions, DefaultsAndParsing) {
  const GeneratorOptions defaults = ParseGeneratorOptions(json::Value());
  EXPECT_EQ(defaults.start, DaysFromCivil(2010, 12, 1) * kMicrosPerDay);
  EXPECT_EQ(defaults.months, 13);
  EXPECT_EQ(defaults.end(), DaysFromCivil(2012, 1, 1) * kMicrosPerDay);

  const GeneratorOptions parsed = ParseGeneratorOptions(json::Parse(
      R"({"customers": 50, "seed": 7, "start_date": "2019-03-15", "months": 2,
          "missing_customer_rate": 0, "return_rate": 0.2, "catalog_size": 100})"));
  EXPECT_EQ(parsed.customers, 50);
  EXPECT_EQ(parsed.seed, 7u);
  EXPECT_EQ(parsed.start, DaysFromCivil(2019, 3, 15) * kMicrosPerDay);
  EXPECT_EQ(parsed.end(), DaysFromCivil(2019, 5, 15) * kMicrosPerDay);
  EXPECT_EQ(parsed.missing_customer_rate, 0);
  EXPECT_EQ(parsed.catalog_size, 100);
}

TEST(GeneratorOptions, RejectsUnknownKeysAndBadValues) {
  for (const char* bad : {R"({"custmers": 5})", R"({"months": 0})", R"({"return_rate": 2})",
                          R"({"start_date": "2011-02-30"})", R"({"start_date": "12/1/2010"})",
                          R"({"seed": -1})", R"({"customers": 1.5})", R"([1])"}) {
    try {
      ParseGeneratorOptions(json::Parse(bad));
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidParameter) << bad;
    }
  }
}

TEST(SyntheticGenerator, SameSeedSameOutputAndChunkedEqualsWhole) {
  const GeneratorOptions options = Options(300);
  const std::vector<Transaction> whole = GenerateAll(options);
  const std::vector<Transaction> again = GenerateAll(options);
  ASSERT_EQ(whole.size(), again.size());
  EXPECT_EQ(Csv(whole), Csv(again));

  // Chunks of odd sizes, each from its own generator object, in reverse order.
  std::vector<std::vector<Transaction>> chunks;
  for (int64_t first = 0; first < options.customers; first += 37) {
    SyntheticGenerator generator(options);
    chunks.emplace_back();
    generator.GenerateRange(first, std::min<int64_t>(37, options.customers - first), chunks.back());
  }
  std::vector<Transaction> chunked;
  for (const auto& chunk : chunks) chunked.insert(chunked.end(), chunk.begin(), chunk.end());
  ASSERT_EQ(chunked.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) ASSERT_TRUE(SameLine(whole[i], chunked[i])) << i;

  // A single customer is the same whether or not others were generated first.
  SyntheticGenerator generator(options);
  std::vector<Transaction> single;
  generator.GenerateCustomer(123, single);
  const auto first_of_123 = std::find_if(whole.begin(), whole.end(), [&](const Transaction& t) {
    return t.invoice == single.front().invoice;
  });
  ASSERT_NE(first_of_123, whole.end());
  for (size_t i = 0; i < single.size(); ++i) EXPECT_TRUE(SameLine(single[i], first_of_123[i]));
}

TEST(SyntheticGenerator, DifferentSeedsDiffer) {
  EXPECT_NE(Csv(GenerateAll(Options(100, 1))), Csv(GenerateAll(Options(100, 2))));
}

TEST(SyntheticGenerator, IndexOutOfRangeIsAnError) {
  SyntheticGenerator generator(Options(10));
  std::vector<Transaction> out;
  EXPECT_THROW(generator.GenerateCustomer(10, out), Error);
  EXPECT_THROW(generator.GenerateCustomer(-1, out), Error);
}

TEST(SyntheticGenerator, LinesAreConsistent) {
  const GeneratorOptions options = Options(2000);
  const std::vector<Transaction> lines = GenerateAll(options);
  std::set<std::string> invoice_customers;  // "invoice|customer": one customer per invoice
  std::map<std::string, TimestampMicros> invoice_time;
  // For each customer: earliest purchase time per stock code, to check returns refer back.
  std::map<std::pair<std::string, std::string>, TimestampMicros> first_bought;
  for (const Transaction& t : lines) {
    ASSERT_GE(t.invoice_time, options.start);
    ASSERT_LT(t.invoice_time, options.end());
    EXPECT_EQ(t.amount, std::round(t.quantity * t.unit_price * 100) / 100);
    EXPECT_GT(t.unit_price, 0);
    EXPECT_FALSE(t.country.empty());
    EXPECT_EQ(t.is_return, t.invoice[0] == 'C');
    EXPECT_EQ(t.is_return, t.quantity < 0);
    auto [it, inserted] = invoice_time.emplace(t.invoice, t.invoice_time);
    if (!inserted) {
      EXPECT_EQ(it->second, t.invoice_time) << "one time per invoice";
    }
    invoice_customers.insert(t.invoice + "|" + t.customer_id);
    const std::string invoice_number = t.is_return ? t.invoice.substr(1) : t.invoice;
    const std::string customer = std::to_string(std::stoll(invoice_number) / 10000 - 1);
    if (!t.is_return) {
      first_bought.emplace(std::make_pair(customer, t.stock_code), t.invoice_time);
    } else {
      auto bought = first_bought.find({customer, t.stock_code});
      ASSERT_NE(bought, first_bought.end()) << "return of something never bought";
      EXPECT_LT(bought->second, t.invoice_time);
    }
  }
  EXPECT_EQ(invoice_customers.size(), invoice_time.size()) << "invoice ids unique per customer";
  EXPECT_EQ(SyntheticGenerator::CustomerId(0), "12346");
}

struct Shape {
  double return_line_share = 0, missing_id_share = 0;
  double november_spend = 0, july_spend = 0;
  double top5_share = 0;
  double lines_per_customer = 0;
  size_t customers_with_id = 0;
  std::map<int, int> first_purchase_month_cohorts;
};

Shape Measure(const GeneratorOptions& options) {
  const std::vector<Transaction> lines = GenerateAll(options);
  Shape shape;
  std::unordered_map<std::string, double> spend;
  std::unordered_map<std::string, TimestampMicros> first;
  size_t returns = 0, missing = 0;
  for (const Transaction& t : lines) {
    returns += t.is_return;
    missing += t.customer_id.empty();
    if (MonthOf(t.invoice_time) == 11) shape.november_spend += t.amount;
    if (MonthOf(t.invoice_time) == 7) shape.july_spend += t.amount;
    if (t.customer_id.empty()) continue;
    spend[t.customer_id] += t.amount;
    auto [it, inserted] = first.emplace(t.customer_id, t.invoice_time);
    if (!inserted) it->second = std::min(it->second, t.invoice_time);
  }
  shape.return_line_share = static_cast<double>(returns) / lines.size();
  shape.missing_id_share = static_cast<double>(missing) / lines.size();
  shape.lines_per_customer = static_cast<double>(lines.size()) / options.customers;
  std::vector<double> totals;
  for (const auto& [id, total] : spend) totals.push_back(total);
  std::sort(totals.rbegin(), totals.rend());
  const double all = std::accumulate(totals.begin(), totals.end(), 0.0);
  shape.top5_share =
      std::accumulate(totals.begin(), totals.begin() + totals.size() / 20, 0.0) / all;
  shape.customers_with_id = spend.size();
  for (const auto& [id, time] : first) {
    int year, month, day;
    CivilFromDays(time / kMicrosPerDay, year, month, day);
    ++shape.first_purchase_month_cohorts[year * 100 + month];
  }
  return shape;
}

TEST(SyntheticGenerator, PlausibleShape) {
  const Shape shape = Measure(Options(20000));
  // UCI Online Retail: 1.7% of lines are cancellations.
  EXPECT_GT(shape.return_line_share, 0.005);
  EXPECT_LT(shape.return_line_share, 0.05);
  EXPECT_NEAR(shape.missing_id_share, 0.05, 0.015);
  EXPECT_GT(shape.november_spend, 1.5 * shape.july_spend) << "Christmas peak";
  EXPECT_GT(shape.top5_share, 0.35) << "heavy tail of spend";
  EXPECT_LT(shape.top5_share, 0.85);
  EXPECT_GT(shape.lines_per_customer, 10);
  EXPECT_LT(shape.lines_per_customer, 40);
  EXPECT_GT(shape.customers_with_id, 19000u);  // almost every customer appears
  // New customers keep arriving: every month of the period is a cohort of some size.
  EXPECT_EQ(shape.first_purchase_month_cohorts.size(), 13u);
  for (const auto& [month, count] : shape.first_purchase_month_cohorts) {
    EXPECT_GT(count, 200) << month;
  }
}

TEST(SyntheticGenerator, OptionsMoveTheShape) {
  GeneratorOptions options = Options(5000);
  options.missing_customer_rate = 0;
  options.return_rate = 0;
  const Shape none = Measure(options);
  EXPECT_EQ(none.missing_id_share, 0);
  EXPECT_EQ(none.return_line_share, 0);
  options.return_rate = 0.3;
  EXPECT_GT(Measure(options).return_line_share, 0.05);
}

// Spearman rank correlation.
double RankCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<size_t> index(v.size());
    std::iota(index.begin(), index.end(), 0);
    std::sort(index.begin(), index.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> rank(v.size());
    for (size_t i = 0; i < index.size();) {  // average ranks over ties
      size_t j = i;
      while (j < index.size() && v[index[j]] == v[index[i]]) ++j;
      for (size_t k = i; k < j; ++k) rank[index[k]] = (i + j - 1) / 2.0;
      i = j;
    }
    return rank;
  };
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double n = static_cast<double>(x.size()), mean = (n - 1) / 2;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  return sxy / std::sqrt(sxx * syy);
}

// The point of the dataset: future spend follows past behaviour, but not exactly.
TEST(SyntheticGenerator, FutureSpendIsNoisilyPredictable) {
  const GeneratorOptions options = Options(20000);
  const TimestampMicros cutoff = DaysFromCivil(2011, 6, 1) * kMicrosPerDay;
  std::unordered_map<std::string, std::pair<double, double>> past_future;
  for (const Transaction& t : GenerateAll(options)) {
    if (t.customer_id.empty()) continue;
    auto& [past, future] = past_future[t.customer_id];
    (t.invoice_time < cutoff ? past : future) += t.amount;
  }
  std::vector<double> past, future;
  for (const auto& [id, pf] : past_future) {
    if (pf.first <= 0) continue;  // active before the cutoff
    past.push_back(pf.first);
    future.push_back(pf.second);
  }
  const double correlation = RankCorrelation(past, future);
  RecordProperty("past_future_rank_correlation", std::to_string(correlation));
  EXPECT_GT(correlation, 0.3);
  EXPECT_LT(correlation, 0.9);
  // Churn: a good share of customers active before the cutoff buy nothing after it.
  const double silent = std::count(future.begin(), future.end(), 0.0) / double(future.size());
  RecordProperty("silent_after_cutoff", std::to_string(silent));
  EXPECT_GT(silent, 0.2);
  EXPECT_LT(silent, 0.8);
}

TEST(SyntheticGenerator, SpeedSanity) {
  const GeneratorOptions options = Options(50000);
  SyntheticGenerator generator(options);
  std::vector<Transaction> out;
  size_t lines = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < options.customers; first += 5000) {
    out.clear();
    generator.GenerateRange(first, 5000, out);
    lines += out.size();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A million customers must take well under a minute; allow for slow shared CI machines
  // and unoptimized builds.
  EXPECT_LT(seconds, 10.0);
  RecordProperty("customers_per_second", static_cast<int>(options.customers / seconds));
  RecordProperty("lines_per_second", static_cast<int>(lines / seconds));
}

TEST(CsvWriter, UciHeaderQuotingAndDates) {
  Transaction t;
  t.invoice = "536365";
  t.stock_code = "85123A";
  t.description = "CAKE TINS, SET OF 3 \"PANTRY\"";
  t.quantity = 6;
  t.unit_price = 2.55;
  t.amount = 15.3;
  t.invoice_time =
      DaysFromCivil(2010, 12, 1) * kMicrosPerDay + (8 * 3600 + 26 * 60) * kMicrosPerSecond;
  t.customer_id = "17850";
  t.country = "United Kingdom";
  Transaction missing = t;
  missing.customer_id.clear();
  missing.quantity = -1;
  EXPECT_EQ(Csv({t, missing}),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
            "536365,85123A,\"CAKE TINS, SET OF 3 \"\"PANTRY\"\"\",6,2010-12-01 08:26:00,2.55,"
            "17850,United Kingdom\n"
            "536365,85123A,\"CAKE TINS, SET OF 3 \"\"PANTRY\"\"\",-1,2010-12-01 08:26:00,2.55,,"
            "United Kingdom\n");
  EXPECT_EQ(FormatTimestamp(-kMicrosPerSecond), "1969-12-31 23:59:59");

  // Prices: shortest form for cents, exact round-trip for anything else.
  std::vector<Transaction> priced;
  for (double price : {0.4, 2.05, 1234.5, 0.125, 7.0}) {
    priced.push_back(t);
    priced.back().description = "X";
    priced.back().unit_price = price;
    priced.back().quantity = -3;
  }
  const std::string text = Csv(priced, {false, 0, 1});
  EXPECT_EQ(text,
            "536365,85123A,X,-3,2010-12-01 08:26:00,0.4,17850,United Kingdom\n"
            "536365,85123A,X,-3,2010-12-01 08:26:00,2.05,17850,United Kingdom\n"
            "536365,85123A,X,-3,2010-12-01 08:26:00,1234.5,17850,United Kingdom\n"
            "536365,85123A,X,-3,2010-12-01 08:26:00,0.125,17850,United Kingdom\n"
            "536365,85123A,X,-3,2010-12-01 08:26:00,7,17850,United Kingdom\n");
}

TEST(CsvWriter, InjectsMalformedRowsAcrossChunks) {
  const std::vector<Transaction> lines = GenerateAll(Options(50));
  std::ostringstream out;
  CsvWriter writer(out, {true, 3, 10});
  const size_t half = lines.size() / 2;
  writer.Write(std::vector<Transaction>(lines.begin(), lines.begin() + half));
  writer.Write(std::vector<Transaction>(lines.begin() + half, lines.end()));
  ASSERT_GE(lines.size(), 30u);
  EXPECT_EQ(writer.malformed_written(), 3);
  EXPECT_EQ(writer.rows_written(), static_cast<int64_t>(lines.size()));
  const std::string text = out.str();
  EXPECT_EQ(text.find("InvoiceNo,"), 0u);
  EXPECT_EQ(text.find("InvoiceNo,", 1), std::string::npos) << "one header";
  EXPECT_NE(text.find("ROW WITH MISSING FIELDS,3\n"), std::string::npos);
  EXPECT_NE(text.find("2011-13-45 25:61:00"), std::string::npos);
  EXPECT_NE(text.find(",three,"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), static_cast<long>(lines.size() + 1 + 3));

  // Fewer rows than the schedule needs: Finish places the rest at the end.
  std::ostringstream short_out;
  CsvWriter short_writer(short_out, {true, 4, 1000});
  short_writer.Write(lines);
  short_writer.Finish();
  EXPECT_EQ(short_writer.malformed_written(), 4);
  const std::string short_text = short_out.str();
  EXPECT_EQ(std::count(short_text.begin(), short_text.end(), '\n'),
            static_cast<long>(lines.size() + 1 + 4));
}

}  // namespace
}  // namespace ltv::generator
