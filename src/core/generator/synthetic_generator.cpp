#include "core/generator/synthetic_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "core/generator/random.h"

namespace ltv::generator {

namespace {

constexpr double kDaysPerYear = 365.25;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
// Invoice numbers are (customer index + 1) * kInvoicesPerCustomer + sequence: unique across
// the dataset without coordination between chunks. A customer never gets more invoices.
constexpr int64_t kInvoicesPerCustomer = 10000;
constexpr int64_t kFirstCustomerId = 12346;  // as in the UCI data
constexpr uint64_t kCatalogStream = 0xCA7A1067ull;

// Customer segments. Purchase rates are gamma distributed within a segment (most customers
// buy rarely), basket sizes lognormal; wholesalers buy often and in bulk and churn least.
struct Segment {
  double orders_per_year;   // mean of the gamma-distributed purchase rate
  double rate_shape;        // gamma shape: smaller = more spread
  double lines_per_order;   // median lines per invoice
  double quantity_scale;    // multiplies each product's usual pack size
  double churn_multiplier;  // times the base churn hazard
};
constexpr Segment kCasual{1.8, 1.5, 5, 1.0, 1.6};
constexpr Segment kRegular{4.5, 2.0, 5, 1.2, 1.0};
constexpr Segment kLoyal{10, 3.0, 6, 1.4, 0.5};
constexpr Segment kWholesaler{16, 2.0, 10, 4.0, 0.35};
constexpr double kRegularShare = 0.30, kLoyalShare = 0.10;

// Relative purchase intensity by calendar month (Jan..Dec): autumn build-up to a Christmas
// peak in November and early December, as in gift retail.
constexpr double kMonthWeight[12] = {0.75, 0.75, 0.95, 0.8, 1.0,  0.9,
                                     0.9,  0.95, 1.35, 1.5, 1.95, 1.5};
// Sunday..Saturday: a trading week with little weekend business.
constexpr double kWeekdayWeight[7] = {0.6, 1.0, 1.1, 1.1, 1.25, 0.8, 0.05};
// Hours 0..23: office hours, lunchtime peak.
constexpr double kHourWeight[24] = {0,  0,  0,  0, 0, 0, 0, 0.5, 3,   6, 10, 12,
                                    14, 12, 11, 9, 6, 3, 1, 1,   0.5, 0, 0,  0};

struct CountryWeight {
  const char* name;
  double weight;
};
// Abroad (the domestic share goes to the United Kingdom).
constexpr CountryWeight kForeignCountries[] = {
    {"Germany", 0.22},     {"France", 0.20},  {"EIRE", 0.16},        {"Spain", 0.06},
    {"Netherlands", 0.06}, {"Belgium", 0.05}, {"Switzerland", 0.05}, {"Portugal", 0.04},
    {"Australia", 0.03},   {"Norway", 0.03},  {"Italy", 0.03},       {"Channel Islands", 0.02},
    {"Finland", 0.02},     {"Sweden", 0.02},  {"Denmark", 0.01}};

// Description parts; products are distinct (pattern, colour, item) combinations.
constexpr const char* kPatterns[] = {
    "VINTAGE", "REGENCY",  "RETROSPOT", "PAISLEY", "WOODLAND",  "SPOTTY",  "STRIPY",  "FLORAL",
    "HEART",   "STAR",     "BIRD",      "ROSE",    "CHRISTMAS", "GINGHAM", "LACE",    "BAROQUE",
    "DOILY",   "POLKADOT", "JUMBO",     "SMALL",   "HANGING",   "ENAMEL",  "ANTIQUE", "PARTY"};
constexpr const char* kColours[] = {"WHITE",  "RED",   "PINK",   "BLUE",   "GREEN",  "IVORY",
                                    "CREAM",  "BLACK", "SILVER", "GOLD",   "PURPLE", "ORANGE",
                                    "YELLOW", "GREY",  "MINT",   "NATURAL"};
constexpr const char* kItems[] = {"T-LIGHT HOLDER",
                                  "LANTERN",
                                  "MUG",
                                  "TEACUP AND SAUCER",
                                  "CAKE STAND",
                                  "LUNCH BAG",
                                  "JUMBO BAG",
                                  "BUNTING",
                                  "PHOTO FRAME",
                                  "CUSHION COVER",
                                  "DOORMAT",
                                  "CLOCK",
                                  "NOTEBOOK",
                                  "PENCIL SET",
                                  "GIFT WRAP",
                                  "CANDLE",
                                  "HOT WATER BOTTLE",
                                  "PURSE",
                                  "TISSUES",
                                  "COAT HANGER",
                                  "SIGN",
                                  "BOWL",
                                  "PLATE",
                                  "NAPKINS",
                                  "PAPER CUPS",
                                  "TRINKET BOX",
                                  "KEY RING",
                                  "MIRROR",
                                  "WALL ART",
                                  "STORAGE TIN",
                                  "CHOPSTICKS",
                                  "APRON",
                                  "OVEN GLOVE",
                                  "ALARM CLOCK",
                                  "DRAWER KNOB",
                                  "BAUBLE",
                                  "CAKE TINS, SET OF 3",
                                  "GARLAND, 10 LIGHTS",
                                  "BEAKER",
                                  "SHOPPING BAG"};
constexpr size_t kPatternCount = sizeof(kPatterns) / sizeof(kPatterns[0]);
constexpr size_t kColourCount = sizeof(kColours) / sizeof(kColours[0]);
constexpr size_t kItemCount = sizeof(kItems) / sizeof(kItems[0]);
constexpr int kMaxCatalogSize = 15000;  // < kPatternCount * kColourCount * kItemCount

[[noreturn]] void BadOption(const std::string& message) {
  throw Error(ErrorKind::kInvalidParameter, "generator option " + message);
}

double RoundCents(double value) { return std::round(value * 100) / 100; }

// A retail-looking price: x.x5 steps under 10, x.95 above.
double NicePrice(double raw) {
  if (raw < 10) return std::max(0.1, std::round(raw * 20) / 20);
  return std::round(raw) - 0.05;
}

int64_t ParseDate(const std::string& text) {
  int year = 0, month = 0, day = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &tail) != 3 ||
      text.size() != 10 || month < 1 || month > 12 || day < 1 || day > 31 || year < 1900 ||
      year > 2999) {
    BadOption("\"start_date\" must be a date YYYY-MM-DD, got \"" + text + "\"");
  }
  const int64_t days = DaysFromCivil(year, month, day);
  int y, m, d;
  CivilFromDays(days, y, m, d);
  if (m != month) BadOption("\"start_date\" is not a calendar date: \"" + text + "\"");
  return days;
}

// Sequential invoice number as text, without iostreams (hot path).
std::string InvoiceNumber(int64_t customer_index, int64_t sequence, bool is_return) {
  char buffer[32];
  const int length =
      std::snprintf(buffer, sizeof buffer, "%s%lld", is_return ? "C" : "",
                    static_cast<long long>((customer_index + 1) * kInvoicesPerCustomer + sequence));
  return std::string(buffer, static_cast<size_t>(length));
}

}  // namespace

// ---- options ----

TimestampMicros GeneratorOptions::end() const {
  int year, month, day;
  CivilFromDays(start / kMicrosPerDay, year, month, day);
  const int total_months = (month - 1) + months;
  return DaysFromCivil(year + total_months / 12, total_months % 12 + 1, day) * kMicrosPerDay;
}

GeneratorOptions ParseGeneratorOptions(const json::Value& options) {
  json::OptionReader reader(options, "generator option");
  GeneratorOptions parsed;
  parsed.customers = reader.Integer("customers", parsed.customers, 1, 1000000000);
  parsed.seed =
      static_cast<uint64_t>(reader.Integer("seed", 42, 0, (int64_t{1} << 53)));  // exact in JSON
  parsed.start = ParseDate(reader.String("start_date", "2010-12-01")) * kMicrosPerDay;
  parsed.months = static_cast<int>(reader.Integer("months", parsed.months, 1, 120));
  parsed.missing_customer_rate =
      reader.Number("missing_customer_rate", parsed.missing_customer_rate, 0, 1);
  parsed.return_rate = reader.Number("return_rate", parsed.return_rate, 0, 0.5);
  parsed.new_customer_share = reader.Number("new_customer_share", parsed.new_customer_share, 0, 1);
  parsed.churn_rate = reader.Number("churn_rate", parsed.churn_rate, 0, 10);
  parsed.wholesaler_share = reader.Number("wholesaler_share", parsed.wholesaler_share, 0, 0.5);
  parsed.catalog_size =
      static_cast<int>(reader.Integer("catalog_size", parsed.catalog_size, 10, kMaxCatalogSize));
  parsed.domestic_share = reader.Number("domestic_share", parsed.domestic_share, 0, 1);
  reader.RejectUnknown();
  return parsed;
}

// ---- generator ----

SyntheticGenerator::SyntheticGenerator(const GeneratorOptions& options) : options_(options) {
  if (options_.customers < 0) BadOption("\"customers\" must not be negative");
  if (options_.months < 1 || options_.months > 120) BadOption("\"months\" must be 1..120");
  if (options_.catalog_size < 10 || options_.catalog_size > kMaxCatalogSize) {
    BadOption("\"catalog_size\" must be 10.." + std::to_string(kMaxCatalogSize));
  }
  auto check_share = [](double value, double max, const char* name) {
    if (!(value >= 0 && value <= max)) {
      BadOption(std::string("\"") + name + "\" must be between 0 and " + std::to_string(max));
    }
  };
  check_share(options_.missing_customer_rate, 1, "missing_customer_rate");
  check_share(options_.return_rate, 0.5, "return_rate");
  check_share(options_.new_customer_share, 1, "new_customer_share");
  check_share(options_.churn_rate, 10, "churn_rate");
  check_share(options_.wholesaler_share, 0.5, "wholesaler_share");
  check_share(options_.domestic_share, 1, "domestic_share");
  if (options_.start % kMicrosPerDay != 0) BadOption("\"start\" must be a midnight");

  // Catalog: distinct descriptions by a stride through all (pattern, colour, item)
  // combinations (the stride is coprime with their count), codes like the UCI ones.
  Rng rng(StreamSeed(options_.seed, kCatalogStream));
  const size_t combinations = kPatternCount * kColourCount * kItemCount;
  const size_t stride = 7919;  // prime, not a factor of combinations
  catalog_.reserve(static_cast<size_t>(options_.catalog_size));
  for (int i = 0; i < options_.catalog_size; ++i) {
    const size_t combination = (static_cast<size_t>(i) * stride + 17) % combinations;
    Product product;
    product.stock_code = std::to_string(20000 + i);
    if (rng.Bernoulli(0.15)) product.stock_code += static_cast<char>('A' + rng.Below(6));
    product.description = std::string(kPatterns[combination % kPatternCount]) + " " +
                          kColours[combination / kPatternCount % kColourCount] + " " +
                          kItems[combination / (kPatternCount * kColourCount)];
    product.unit_price = NicePrice(std::min(60.0, rng.LogNormal(std::log(2.1), 0.8)));
    static constexpr int kCheapPacks[] = {6, 12, 12, 24};
    static constexpr int kMidPacks[] = {1, 2, 4, 6, 12};
    static constexpr int kDearPacks[] = {1, 1, 2, 3, 4};
    product.pack_size = product.unit_price < 1   ? kCheapPacks[rng.Below(4)]
                        : product.unit_price < 4 ? kMidPacks[rng.Below(5)]
                                                 : kDearPacks[rng.Below(5)];
    catalog_.push_back(std::move(product));
  }

  // Zipf popularity over a random ranking (so popularity does not follow code order),
  // sampled in O(1) by Vose's alias method.
  const size_t n = catalog_.size();
  std::vector<uint32_t> rank(n);
  std::iota(rank.begin(), rank.end(), 0);
  for (size_t i = n - 1; i > 0; --i) std::swap(rank[i], rank[rng.Below(i + 1)]);
  std::vector<double> scaled(n);
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += scaled[i] = 1 / std::pow(rank[i] + 1.0, 0.95);
  for (double& p : scaled) p *= static_cast<double>(n) / total;
  product_popularity_.probability.assign(n, 1);
  product_popularity_.alias.resize(n);
  std::iota(product_popularity_.alias.begin(), product_popularity_.alias.end(), 0);
  std::vector<uint32_t> small, large;
  for (uint32_t i = 0; i < n; ++i) (scaled[i] < 1 ? small : large).push_back(i);
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    product_popularity_.probability[s] = scaled[s];
    product_popularity_.alias[s] = l;
    scaled[l] -= 1 - scaled[s];
    if (scaled[l] < 1) {
      large.pop_back();
      small.push_back(l);
    }
  }

  // Calendar: per-day intensity = month season x weekday, closed over Christmas/New Year.
  period_days_ = (options_.end() - options_.start) / kMicrosPerDay;
  day_weight_.resize(static_cast<size_t>(period_days_));
  const int64_t first_day = options_.start / kMicrosPerDay;
  double sum = 0;
  for (int64_t d = 0; d < period_days_; ++d) {
    int year, month, day;
    CivilFromDays(first_day + d, year, month, day);
    const int weekday = static_cast<int>(((first_day + d) % 7 + 7 + 4) % 7);  // 1970-01-01: Thu
    const bool closed = (month == 12 && day >= 24) || (month == 1 && day <= 3);
    const double weight = closed ? 0 : kMonthWeight[month - 1] * kWeekdayWeight[weekday];
    day_weight_[static_cast<size_t>(d)] = weight;
    sum += weight;
  }
  if (sum <= 0) {  // a period entirely inside the closure: trade anyway
    std::fill(day_weight_.begin(), day_weight_.end(), 1.0);
    sum = static_cast<double>(period_days_);
  }
  day_weight_cdf_.resize(day_weight_.size());
  double running = 0;
  for (size_t d = 0; d < day_weight_.size(); ++d) {
    day_weight_[d] *= static_cast<double>(period_days_) / sum;
    running += day_weight_[d];
    day_weight_cdf_[d] = running;
  }
  max_day_weight_ = *std::max_element(day_weight_.begin(), day_weight_.end());
}

std::string SyntheticGenerator::CustomerId(int64_t index) {
  return std::to_string(kFirstCustomerId + index);
}

void SyntheticGenerator::GenerateRange(int64_t first, int64_t count,
                                       std::vector<Transaction>& out) const {
  for (int64_t i = first; i < first + count; ++i) GenerateCustomer(i, out);
}

void SyntheticGenerator::GenerateCustomer(int64_t index, std::vector<Transaction>& out) const {
  if (index < 0 || index >= options_.customers) {
    throw Error(ErrorKind::kInvalidParameter, "customer index " + std::to_string(index) +
                                                  " out of range [0, " +
                                                  std::to_string(options_.customers) + ")");
  }
  Rng rng(StreamSeed(options_.seed, static_cast<uint64_t>(index)));
  const double period_years = static_cast<double>(period_days_) / kDaysPerYear;

  // ---- who the customer is: traits that persist, so the past predicts the future ----
  const double segment_draw = rng.Uniform();
  const Segment& segment = segment_draw < options_.wholesaler_share                 ? kWholesaler
                           : segment_draw < options_.wholesaler_share + kLoyalShare ? kLoyal
                           : segment_draw < options_.wholesaler_share + kLoyalShare + kRegularShare
                               ? kRegular
                               : kCasual;
  const double base_rate = std::clamp(
      rng.Gamma(segment.rate_shape, segment.orders_per_year / segment.rate_shape), 0.05, 300.0);
  // Slow drift of the purchase rate (growing or fading customers), per year, log scale.
  const double drift_per_year = 0.35 * rng.Normal();
  const double lines_per_order = segment.lines_per_order * rng.LogNormal(0, 0.35);
  const double quantity_scale = segment.quantity_scale * rng.LogNormal(0, 0.3);
  // Return propensity: gamma with mean 1 times the mean rate (most rarely return, a few often).
  const double return_probability = std::min(0.8, options_.return_rate * rng.Gamma(0.5, 2.0));
  const double churn_hazard =
      options_.churn_rate * segment.churn_multiplier * rng.LogNormal(0, 0.3);

  const char* country = "United Kingdom";
  if (!rng.Bernoulli(options_.domestic_share)) {
    double total = 0;
    for (const CountryWeight& c : kForeignCountries) total += c.weight;
    double pick = rng.Uniform() * total;
    for (const CountryWeight& c : kForeignCountries) {
      country = c.name;
      if ((pick -= c.weight) < 0) break;
    }
  }

  auto draw_product = [&]() -> uint32_t {
    const uint32_t slot = static_cast<uint32_t>(rng.Below(catalog_.size()));
    return rng.Uniform() < product_popularity_.probability[slot] ? slot
                                                                 : product_popularity_.alias[slot];
  };
  uint32_t favorites[10];
  const int favorite_count = 2 + static_cast<int>(rng.Below(9));
  for (int i = 0; i < favorite_count; ++i) favorites[i] = draw_product();

  // ---- when the customer buys: a thinned Poisson process over the active period ----
  const bool is_new = rng.Bernoulli(options_.new_customer_share);
  double arrival_day = 0;  // days since start, fractional
  if (is_new) {
    // Acquisition follows the season too.
    const double target = rng.Uniform() * day_weight_cdf_.back();
    arrival_day = static_cast<double>(
        std::upper_bound(day_weight_cdf_.begin(), day_weight_cdf_.end(), target) -
        day_weight_cdf_.begin());
    arrival_day = std::min(arrival_day, static_cast<double>(period_days_ - 1));
  }
  const double lifetime_days =
      churn_hazard > 0 ? rng.Exponential(churn_hazard) * kDaysPerYear : 1e18;
  const double active_end_day =
      std::min(static_cast<double>(period_days_), arrival_day + std::max(1.0, lifetime_days));
  auto drift = [&](double day) {
    return std::exp(std::clamp(drift_per_year * day / kDaysPerYear, -2.0, 2.0));
  };
  const double max_drift = std::exp(std::clamp(std::abs(drift_per_year) * period_years, 0.0, 2.0));
  const double envelope_per_day = base_rate / kDaysPerYear * max_day_weight_ * max_drift;

  std::vector<int64_t> order_days;  // day index of each purchase
  if (is_new) order_days.push_back(static_cast<int64_t>(arrival_day));  // the first purchase
  for (double day = arrival_day;;) {
    day += rng.Exponential(envelope_per_day);
    if (day >= active_end_day) break;
    const int64_t d = static_cast<int64_t>(day);
    const double accept =
        day_weight_[static_cast<size_t>(d)] * drift(day) / (max_day_weight_ * max_drift);
    if (rng.Uniform() < accept) order_days.push_back(d);
    if (order_days.size() >= kInvoicesPerCustomer / 2) break;
  }
  if (order_days.empty()) {
    // Every customer in the dataset bought at least once: an existing customer whose process
    // produced nothing buys once, on an open day, before churning.
    const int64_t last = std::max<int64_t>(1, static_cast<int64_t>(active_end_day));
    int64_t d = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(last)));
    for (int tries = 0; tries < 30 && day_weight_[static_cast<size_t>(d)] == 0; ++tries) {
      d = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(period_days_)));
    }
    order_days.push_back(d);
  }

  auto time_of_day = [&]() -> int64_t {
    double pick = rng.Uniform() * 109.0;  // sum of kHourWeight
    int hour = 7;
    for (int h = 0; h < 24; ++h) {
      if (kHourWeight[h] == 0) continue;
      hour = h;
      if ((pick -= kHourWeight[h]) < 0) break;
    }
    return hour * 3600 * kMicrosPerSecond + static_cast<int64_t>(rng.Below(60)) * kMicrosPerMinute;
  };

  // Invoices: purchases, then returns of earlier purchases; ordered by time at the end.
  struct Invoice {
    TimestampMicros time;
    int32_t source;  // for a return: index of the purchase invoice it returns from; else -1
    bool missing_customer;
  };
  std::vector<Invoice> invoices;
  invoices.reserve(order_days.size() + order_days.size() / 4 + 1);
  const TimestampMicros end = options_.end();
  for (int64_t d : order_days) {
    invoices.push_back({options_.start + d * kMicrosPerDay + time_of_day(), -1,
                        rng.Bernoulli(options_.missing_customer_rate)});
  }
  std::sort(invoices.begin(), invoices.end(),
            [](const Invoice& a, const Invoice& b) { return a.time < b.time; });
  const size_t purchase_count = invoices.size();
  for (size_t i = 0; i < purchase_count; ++i) {
    if (!rng.Bernoulli(return_probability)) continue;
    // Returned a few days to weeks later, in office hours, inside the period.
    const int64_t delay_days = 1 + static_cast<int64_t>(rng.Exponential(1.0 / 10));
    const TimestampMicros day_start =
        (invoices[i].time / kMicrosPerDay + delay_days) * kMicrosPerDay;
    const TimestampMicros time = day_start + time_of_day();
    if (time < end)
      invoices.push_back({time, static_cast<int32_t>(i), invoices[i].missing_customer});
  }
  // Stable: a return never precedes its purchase (it is at least a day later).
  std::stable_sort(invoices.begin() + static_cast<std::ptrdiff_t>(purchase_count), invoices.end(),
                   [](const Invoice& a, const Invoice& b) { return a.time < b.time; });
  std::vector<size_t> order;  // emission order: merge purchases and returns by time
  order.resize(invoices.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return invoices[a].time < invoices[b].time; });

  // ---- the lines ----
  const std::string customer_id = CustomerId(index);
  std::vector<std::pair<size_t, size_t>> purchase_lines(purchase_count, {0, 0});  // [begin, end)
  int64_t sequence = 0;
  for (size_t which : order) {
    const Invoice& invoice = invoices[which];
    const bool is_return = invoice.source >= 0;
    const std::string number = InvoiceNumber(index, sequence++, is_return);
    auto add_line = [&](const Product& product, double quantity) {
      Transaction& line = out.emplace_back();
      line.invoice = number;
      line.stock_code = product.stock_code;
      line.description = product.description;
      line.quantity = quantity;
      line.unit_price = product.unit_price;
      line.amount = RoundCents(quantity * product.unit_price);
      line.invoice_time = invoice.time;
      if (!invoice.missing_customer) line.customer_id = customer_id;
      line.country = country;
      line.is_return = is_return;
    };
    if (!is_return) {
      const size_t begin = out.size();
      const int line_count = static_cast<int>(
          std::clamp(std::round(lines_per_order * rng.LogNormal(0, 0.5)), 1.0, 200.0));
      for (int l = 0; l < line_count; ++l) {
        const uint32_t p =
            rng.Bernoulli(0.3) ? favorites[rng.Below(favorite_count)] : draw_product();
        const Product& product = catalog_[p];
        const double quantity =
            std::max(1.0, std::round(product.pack_size * quantity_scale * rng.LogNormal(0, 0.3)));
        add_line(product, quantity);
      }
      purchase_lines[which] = {begin, out.size()};
    } else {
      // Give back part of one to three lines of the purchase.
      const auto [begin, end_line] = purchase_lines[static_cast<size_t>(invoice.source)];
      const size_t available = end_line - begin;
      const size_t returned = std::min<size_t>(available, 1 + rng.Below(3));
      const size_t first = begin + rng.Below(available - returned + 1);
      for (size_t l = first; l < first + returned; ++l) {
        Transaction line = out[l];  // a copy: emplacing below may move out's storage
        const double quantity =
            -1 - static_cast<double>(rng.Below(static_cast<uint64_t>(line.quantity)));
        line.line_no = 0;
        line.invoice = number;
        line.quantity = quantity;
        line.amount = RoundCents(quantity * line.unit_price);
        line.invoice_time = invoice.time;
        line.is_return = true;
        out.push_back(std::move(line));
      }
    }
  }
}

// ---- CSV ----

namespace {

void AppendField(std::string& buffer, const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) {
    buffer += value;
    return;
  }
  buffer += '"';
  for (char c : value) {
    if (c == '"') buffer += '"';
    buffer += c;
  }
  buffer += '"';
}

// The writer's hot path: no snprintf/locale for the common shapes.
void AppendInteger(std::string& buffer, int64_t value) {
  char text[24];
  char* p = text + sizeof text;
  const bool negative = value < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  do {
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  buffer.append(p, static_cast<size_t>(text + sizeof text - p));
}

void AppendNumber(std::string& buffer, double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    AppendInteger(buffer, static_cast<int64_t>(value));
    return;
  }
  const double cents = std::round(value * 100);
  if (std::fabs(value) < 1e13 && cents / 100 == value) {  // exactly a 2-decimal amount
    const int64_t whole = static_cast<int64_t>(cents);
    const int64_t magnitude = whole < 0 ? -whole : whole;
    if (whole < 0) buffer += '-';
    AppendInteger(buffer, magnitude / 100);
    buffer += '.';
    buffer += static_cast<char>('0' + magnitude / 10 % 10);
    if (magnitude % 10 != 0) buffer += static_cast<char>('0' + magnitude % 10);
    return;
  }
  char text[32];
  const int length = std::snprintf(text, sizeof text, "%.17g", value);  // round-trips
  buffer.append(text, static_cast<size_t>(length));
}

}  // namespace

CsvWriter::CsvWriter(std::ostream& out, CsvWriteOptions options)
    : out_(out), options_(options), header_pending_(options.header) {
  if (options_.malformed_every < 1) options_.malformed_every = 1;
}

void CsvWriter::WriteMalformed(std::string& buffer) {
  const int64_t kind = malformed_written_ % 3;
  const std::string invoice = "M" + std::to_string(900000 + malformed_written_);
  if (kind == 0) {
    buffer += invoice + ",22423,ROW WITH MISSING FIELDS,3\n";  // 4 fields instead of 8
  } else if (kind == 1) {
    buffer +=
        invoice + ",22423,ROW WITH BAD DATE,3,2011-13-45 25:61:00,2.55,12346,United Kingdom\n";
  } else {
    buffer += invoice +
              ",22423,ROW WITH BAD QUANTITY,three,2011-05-04 10:00:00,2.55,12346,United Kingdom\n";
  }
  ++malformed_written_;
}

void CsvWriter::Write(const std::vector<Transaction>& lines) {
  std::string buffer;
  buffer.reserve(1 << 16);
  if (header_pending_) {
    buffer += "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    header_pending_ = false;
  }
  for (const Transaction& line : lines) {
    AppendField(buffer, line.invoice);
    buffer += ',';
    AppendField(buffer, line.stock_code);
    buffer += ',';
    AppendField(buffer, line.description);
    buffer += ',';
    AppendNumber(buffer, line.quantity);
    buffer += ',';
    AppendTimestamp(buffer, line.invoice_time);
    buffer += ',';
    AppendNumber(buffer, line.unit_price);
    buffer += ',';
    AppendField(buffer, line.customer_id);
    buffer += ',';
    AppendField(buffer, line.country);
    buffer += '\n';
    ++rows_written_;
    if (malformed_written_ < options_.malformed_rows &&
        rows_written_ % options_.malformed_every == 0) {
      WriteMalformed(buffer);
    }
    if (buffer.size() > (1 << 16) - 512) {
      out_.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  out_.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

void CsvWriter::Finish() {
  std::string buffer;
  if (header_pending_) {
    buffer += "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    header_pending_ = false;
  }
  while (malformed_written_ < options_.malformed_rows) WriteMalformed(buffer);
  out_.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

void WriteCsv(std::ostream& out, const std::vector<Transaction>& lines,
              const CsvWriteOptions& options) {
  CsvWriter writer(out, options);
  writer.Write(lines);
  writer.Finish();
}

}  // namespace ltv::generator
