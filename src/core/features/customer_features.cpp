#include "core/features/customer_features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"

namespace ltv::features {

namespace {

// Amounts are summed as integers of this many units per currency unit (see docs/features.md).
constexpr double kMicrosPerUnit = 1e6;
// |amount| above this cannot be represented in int64 micro-units with room to sum; no retail
// line comes near it.
constexpr double kMaxAbsAmount = 1e12;

// Invoice lookups scan linearly up to this many invoices (most customers have a handful);
// beyond it an index is built.
constexpr size_t kLinearScanLimit = 8;
constexpr size_t kInitialProductCapacity = 16;

inline uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t ReadLittle64(const char* p) {
  uint64_t value;
  std::memcpy(&value, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  value = __builtin_bswap64(value);
#endif
  return value;
}

// Slot of a 64-bit hash in a power-of-two table. The hashes are already well mixed.
inline size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>(hash) & mask; }

int64_t AmountToMicros(double amount) {
  if (!std::isfinite(amount)) {
    throw Error(ErrorKind::kInvalidInput, "customer_features: amount must be finite",
                "got " + std::to_string(amount));
  }
  if (std::fabs(amount) > kMaxAbsAmount) {
    throw Error(ErrorKind::kLimitExceeded, "customer_features: amount out of range",
                "|amount| must not exceed 1e12, got " + std::to_string(amount));
  }
  return std::llround(amount * kMicrosPerUnit);
}

void AddChecked(int64_t& total, int64_t value) {
  if (__builtin_add_overflow(total, value, &total)) {
    throw Error(ErrorKind::kLimitExceeded, "customer_features: spend sum overflows",
                "a customer's summed amounts must stay below about 9.2e12");
  }
}

TimestampMicros SaturatingSubtract(TimestampMicros time, int64_t delta) {
  TimestampMicros result;
  if (__builtin_sub_overflow(time, delta, &result)) return INT64_MIN;
  return result;
}

// later - earlier in days, for later >= earlier, without signed overflow.
double DaysBetween(TimestampMicros earlier, TimestampMicros later) {
  const uint64_t micros = static_cast<uint64_t>(later) - static_cast<uint64_t>(earlier);
  return static_cast<double>(micros) / static_cast<double>(kMicrosPerDay);
}

double MicrosToAmount(int64_t micros) { return static_cast<double>(micros) / kMicrosPerUnit; }

// ---- serialization helpers ----

// Format version 1 (little-endian throughout):
//   "LTF" 0x01                magic + version
//   u8  flags                 bit 0: has_purchase; other bits must be 0
//   i64 cutoff
//   i64 purchase_micros, return_micros, window_net_micros[4]
//   i64 first_purchase, last_purchase   (INT64_MIN when !has_purchase)
//   u32 invoice_count, then per invoice, strictly increasing by hash:
//       u64 hash, u8 flags (1 purchase, 2 return; non-zero), i64 latest_purchase iff flag 1
//   u32 product_count, then u64 hashes, strictly increasing
// Sorting makes the bytes canonical: equal states serialize to equal bytes.
constexpr uint8_t kMagic[4] = {'L', 'T', 'F', 1};
constexpr size_t kHeaderSize = 4 + 1 + 8 + 8 * (2 + FeatureAccumulator::kWindowCount) + 8 + 8;
constexpr size_t kMinInvoiceBytes = 8 + 1;

void PutU64(std::vector<uint8_t>& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void PutU32(std::vector<uint8_t>& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

[[noreturn]] void Corrupt(const std::string& what) {
  throw Error(ErrorKind::kDataCorrupted, "customer_features state is corrupted", what);
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t remaining() const { return size_ - offset_; }
  uint8_t U8() {
    Need(1);
    return data_[offset_++];
  }
  uint32_t U32() {
    Need(4);
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(data_[offset_ + i]) << (8 * i);
    offset_ += 4;
    return value;
  }
  uint64_t U64() {
    Need(8);
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(data_[offset_ + i]) << (8 * i);
    offset_ += 8;
    return value;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }

 private:
  void Need(size_t n) const {
    if (remaining() < n) Corrupt("truncated at byte " + std::to_string(offset_));
  }
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

}  // namespace

uint64_t HashKey(std::string_view text) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                     k2 = 0x8ebc6af09c88c6e3ull, k3 = 0x589965cc75374cc3ull;
  const char* p = text.data();
  const size_t n = text.size();
  // The length seeds the state, so zero-padding of the tail cannot make "a" equal "a\0".
  uint64_t h = k0 ^ Mum(static_cast<uint64_t>(n) ^ k1, k2);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) h = Mum(h ^ ReadLittle64(p + i) ^ k1, k2);
  if (i < n) {
    uint64_t tail = 0;
    for (size_t j = 0; i + j < n; ++j) {
      tail |= static_cast<uint64_t>(static_cast<uint8_t>(p[i + j])) << (8 * j);
    }
    h = Mum(h ^ tail ^ k1, k2);
  }
  h = Mum(h ^ k3, k0 ^ (h >> 29));
  return h == 0 ? 1 : h;  // 0 marks an empty slot in the hash tables
}

const std::vector<std::string_view>& FeatureNames() {
  static const std::vector<std::string_view> names = {
      "recency_days",  "frequency",         "monetary",         "avg_order_value", "tenure_days",
      "spend_30d",     "spend_90d",         "spend_180d",       "spend_365d",      "orders_30d",
      "orders_90d",    "orders_180d",       "orders_365d",      "trend_90d",       "returns_amount",
      "returns_count", "distinct_products", "mean_days_between"};
  return names;
}

std::vector<double> ToVector(const CustomerFeatures& f) {
  return {f.recency_days,      f.frequency,        f.monetary,       f.avg_order_value,
          f.tenure_days,       f.spend_30d,        f.spend_90d,      f.spend_180d,
          f.spend_365d,        f.orders_30d,       f.orders_90d,     f.orders_180d,
          f.orders_365d,       f.trend_90d,        f.returns_amount, f.returns_count,
          f.distinct_products, f.mean_days_between};
}

FeatureAccumulator::FeatureAccumulator(TimestampMicros cutoff, std::pmr::memory_resource* memory)
    : cutoff_(cutoff), invoices_(memory), invoice_index_(memory), product_set_(memory) {
  for (int w = 0; w < kWindowCount; ++w) {
    window_start_[w] = SaturatingSubtract(cutoff, kWindowDays[w] * kMicrosPerDay);
  }
}

FeatureAccumulator::FeatureAccumulator(const FeatureAccumulator& other)
    : cutoff_(other.cutoff_),
      purchase_micros_(other.purchase_micros_),
      return_micros_(other.return_micros_),
      first_purchase_(other.first_purchase_),
      last_purchase_(other.last_purchase_),
      has_purchase_(other.has_purchase_),
      invoices_(other.invoices_, other.invoices_.get_allocator()),
      invoice_index_(other.invoice_index_, other.invoice_index_.get_allocator()),
      product_set_(other.product_set_, other.product_set_.get_allocator()),
      product_count_(other.product_count_) {
  std::copy(std::begin(other.window_start_), std::end(other.window_start_), window_start_);
  std::copy(std::begin(other.window_net_micros_), std::end(other.window_net_micros_),
            window_net_micros_);
}

TimestampMicros FeatureAccumulator::cutoff() const { return cutoff_; }

void FeatureAccumulator::RebuildInvoiceIndex(size_t capacity) {
  invoice_index_.assign(capacity, 0);
  for (uint32_t position = 0; position < invoices_.size(); ++position) {
    InsertIntoInvoiceIndex(position);
  }
}

void FeatureAccumulator::InsertIntoInvoiceIndex(uint32_t position) {
  const size_t mask = invoice_index_.size() - 1;
  size_t slot = SlotOf(invoices_[position].hash, mask);
  while (invoice_index_[slot] != 0) slot = (slot + 1) & mask;
  invoice_index_[slot] = position + 1;
}

FeatureAccumulator::InvoiceEntry& FeatureAccumulator::FindOrAddInvoice(uint64_t hash) {
  // Fast path: the previous line's invoice.
  if (!invoices_.empty() && invoices_.back().hash == hash) return invoices_.back();

  if (invoice_index_.empty()) {
    for (InvoiceEntry& entry : invoices_) {
      if (entry.hash == hash) return entry;
    }
  } else {
    const size_t mask = invoice_index_.size() - 1;
    for (size_t slot = SlotOf(hash, mask); invoice_index_[slot] != 0; slot = (slot + 1) & mask) {
      InvoiceEntry& entry = invoices_[invoice_index_[slot] - 1];
      if (entry.hash == hash) return entry;
    }
  }

  if (invoices_.size() >= UINT32_MAX / 4) {
    throw Error(ErrorKind::kLimitExceeded, "customer_features: too many invoices for one customer");
  }
  invoices_.push_back(InvoiceEntry{hash, kNoTime, 0});
  const size_t count = invoices_.size();
  if (count > kLinearScanLimit) {
    // Keep the load factor at or below 1/2.
    if (invoice_index_.size() < 2 * count) {
      RebuildInvoiceIndex(std::max<size_t>(64, invoice_index_.size() * 2));
    } else {
      InsertIntoInvoiceIndex(static_cast<uint32_t>(count - 1));
    }
  }
  return invoices_.back();
}

void FeatureAccumulator::GrowProductSet() {
  std::pmr::vector<uint64_t> old(std::move(product_set_));
  product_set_ = std::pmr::vector<uint64_t>(old.get_allocator());
  product_set_.assign(old.empty() ? kInitialProductCapacity : old.size() * 2, 0);
  const size_t mask = product_set_.size() - 1;
  for (uint64_t hash : old) {
    if (hash == 0) continue;
    size_t slot = SlotOf(hash, mask);
    while (product_set_[slot] != 0) slot = (slot + 1) & mask;
    product_set_[slot] = hash;
  }
}

bool FeatureAccumulator::InsertProduct(uint64_t hash) {
  // Keep the load factor at or below 1/2 (also allocates the table on first use).
  if (2 * (static_cast<size_t>(product_count_) + 1) > product_set_.size()) GrowProductSet();
  const size_t mask = product_set_.size() - 1;
  size_t slot = SlotOf(hash, mask);
  while (product_set_[slot] != 0) {
    if (product_set_[slot] == hash) return false;
    slot = (slot + 1) & mask;
  }
  product_set_[slot] = hash;
  ++product_count_;
  return true;
}

void FeatureAccumulator::AddWindowed(TimestampMicros time, int64_t amount_micros) {
  // Windows are nested: once a line is outside the 30-day window the wider ones may still
  // hold it, so test each.
  for (int w = 0; w < kWindowCount; ++w) {
    if (time >= window_start_[w]) AddChecked(window_net_micros_[w], amount_micros);
  }
}

void FeatureAccumulator::Add(std::string_view invoice, std::string_view stock_code,
                             TimestampMicros time, double amount) {
  if (time >= cutoff_) return;  // the future is the label's business, never a feature's
  const int64_t micros = AmountToMicros(amount);
  // A zero line neither buys nor returns anything and adds nothing to any sum.
  if (!(amount > 0) && !(amount < 0)) return;

  InvoiceEntry& entry = FindOrAddInvoice(HashKey(invoice));
  if (amount > 0) {
    entry.flags |= kHasPurchase;
    entry.latest_purchase = std::max(entry.latest_purchase, time);
    AddChecked(purchase_micros_, micros);
    if (!has_purchase_) {
      has_purchase_ = true;
      first_purchase_ = last_purchase_ = time;
    } else {
      first_purchase_ = std::min(first_purchase_, time);
      last_purchase_ = std::max(last_purchase_, time);
    }
    InsertProduct(HashKey(stock_code));
  } else {
    entry.flags |= kHasReturn;
    AddChecked(return_micros_, -micros);
  }
  AddWindowed(time, micros);
}

void FeatureAccumulator::Merge(const FeatureAccumulator& other) {
  if (other.cutoff_ != cutoff_) {
    throw Error(ErrorKind::kInvalidParameter,
                "customer_features: cannot merge states computed for different cutoffs",
                "cutoffs " + std::to_string(cutoff_) + " and " + std::to_string(other.cutoff_) +
                    " (microseconds since 1970-01-01)",
                "use one cutoff value per aggregate call");
  }
  // Read `other` through a copy when merging into itself, since the loops below grow *this.
  if (&other == this) {
    const FeatureAccumulator copy(other);
    Merge(copy);
    return;
  }
  AddChecked(purchase_micros_, other.purchase_micros_);
  AddChecked(return_micros_, other.return_micros_);
  for (int w = 0; w < kWindowCount; ++w)
    AddChecked(window_net_micros_[w], other.window_net_micros_[w]);
  if (other.has_purchase_) {
    if (!has_purchase_) {
      has_purchase_ = true;
      first_purchase_ = other.first_purchase_;
      last_purchase_ = other.last_purchase_;
    } else {
      first_purchase_ = std::min(first_purchase_, other.first_purchase_);
      last_purchase_ = std::max(last_purchase_, other.last_purchase_);
    }
  }
  invoices_.reserve(invoices_.size() + other.invoices_.size());
  for (const InvoiceEntry& theirs : other.invoices_) {
    InvoiceEntry& mine = FindOrAddInvoice(theirs.hash);
    mine.flags |= theirs.flags;
    mine.latest_purchase = std::max(mine.latest_purchase, theirs.latest_purchase);
  }
  for (uint64_t hash : other.product_set_) {
    if (hash != 0) InsertProduct(hash);
  }
}

CustomerFeatures FeatureAccumulator::Finalize() const {
  CustomerFeatures f;
  double orders[kWindowCount] = {0, 0, 0, 0};
  double frequency = 0, returns_count = 0;
  for (const InvoiceEntry& entry : invoices_) {
    if (entry.flags & kHasReturn) returns_count += 1;
    if (!(entry.flags & kHasPurchase)) continue;
    frequency += 1;
    for (int w = 0; w < kWindowCount; ++w) {
      if (entry.latest_purchase >= window_start_[w]) orders[w] += 1;
    }
  }
  f.frequency = frequency;
  f.returns_count = returns_count;
  f.orders_30d = orders[0];
  f.orders_90d = orders[1];
  f.orders_180d = orders[2];
  f.orders_365d = orders[3];

  f.monetary = MicrosToAmount(purchase_micros_ - return_micros_);
  f.returns_amount = MicrosToAmount(return_micros_);
  f.avg_order_value = frequency > 0 ? MicrosToAmount(purchase_micros_) / frequency : 0;
  f.spend_30d = MicrosToAmount(window_net_micros_[0]);
  f.spend_90d = MicrosToAmount(window_net_micros_[1]);
  f.spend_180d = MicrosToAmount(window_net_micros_[2]);
  f.spend_365d = MicrosToAmount(window_net_micros_[3]);
  // spend_90d - (spend_180d - spend_90d), computed on the integers so it is exact too.
  // (In 128 bits: a deserialized state may hold any int64 sums.)
  const __int128 trend_micros = static_cast<__int128>(window_net_micros_[1]) * 2 -
                                static_cast<__int128>(window_net_micros_[2]);
  f.trend_90d = static_cast<double>(trend_micros) / kMicrosPerUnit;
  f.distinct_products = product_count_;

  f.has_purchase = has_purchase_;
  if (has_purchase_) {
    f.first_purchase = first_purchase_;
    f.last_purchase = last_purchase_;
    f.recency_days = DaysBetween(last_purchase_, cutoff_);
    f.tenure_days = DaysBetween(first_purchase_, cutoff_);
    f.mean_days_between =
        frequency >= 2 ? DaysBetween(first_purchase_, last_purchase_) / (frequency - 1) : -1;
  } else {
    f.recency_days = -1;
    f.tenure_days = -1;
    f.mean_days_between = -1;
  }
  return f;
}

void FeatureAccumulator::SerializeTo(std::vector<uint8_t>& out) const {
  std::vector<const InvoiceEntry*> sorted_invoices;
  sorted_invoices.reserve(invoices_.size());
  for (const InvoiceEntry& entry : invoices_) sorted_invoices.push_back(&entry);
  std::sort(sorted_invoices.begin(), sorted_invoices.end(),
            [](const InvoiceEntry* a, const InvoiceEntry* b) { return a->hash < b->hash; });
  std::vector<uint64_t> sorted_products;
  sorted_products.reserve(product_count_);
  for (uint64_t hash : product_set_) {
    if (hash != 0) sorted_products.push_back(hash);
  }
  std::sort(sorted_products.begin(), sorted_products.end());

  out.reserve(out.size() + kHeaderSize + 8 + invoices_.size() * 17 + sorted_products.size() * 8);
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  out.push_back(has_purchase_ ? 1 : 0);
  PutU64(out, static_cast<uint64_t>(cutoff_));
  PutU64(out, static_cast<uint64_t>(purchase_micros_));
  PutU64(out, static_cast<uint64_t>(return_micros_));
  for (int64_t net : window_net_micros_) PutU64(out, static_cast<uint64_t>(net));
  PutU64(out, static_cast<uint64_t>(first_purchase_));
  PutU64(out, static_cast<uint64_t>(last_purchase_));
  PutU32(out, static_cast<uint32_t>(sorted_invoices.size()));
  for (const InvoiceEntry* entry : sorted_invoices) {
    PutU64(out, entry->hash);
    out.push_back(entry->flags);
    if (entry->flags & kHasPurchase) PutU64(out, static_cast<uint64_t>(entry->latest_purchase));
  }
  PutU32(out, static_cast<uint32_t>(sorted_products.size()));
  for (uint64_t hash : sorted_products) PutU64(out, hash);
}

FeatureAccumulator FeatureAccumulator::Deserialize(const uint8_t* data, size_t size,
                                                   std::pmr::memory_resource* memory) {
  if (data == nullptr && size != 0) Corrupt("null buffer");
  Reader in(data, size);
  for (uint8_t expected : kMagic) {
    if (in.U8() != expected) Corrupt("bad magic or unsupported version");
  }
  const uint8_t flags = in.U8();
  if (flags & ~1u) Corrupt("unknown flag bits");
  const bool has_purchase = flags & 1;

  FeatureAccumulator state(in.I64(), memory);
  state.purchase_micros_ = in.I64();
  state.return_micros_ = in.I64();
  if (state.purchase_micros_ < 0 || state.return_micros_ < 0) Corrupt("negative total");
  for (int64_t& net : state.window_net_micros_) net = in.I64();
  state.first_purchase_ = in.I64();
  state.last_purchase_ = in.I64();
  state.has_purchase_ = has_purchase;
  if (has_purchase) {
    if (state.first_purchase_ > state.last_purchase_ || state.last_purchase_ >= state.cutoff_) {
      Corrupt("purchase times out of order or not before the cutoff");
    }
  } else if (state.first_purchase_ != kNoTime || state.last_purchase_ != kNoTime) {
    Corrupt("purchase times set without a purchase");
  }

  const uint32_t invoice_count = in.U32();
  if (invoice_count > in.remaining() / kMinInvoiceBytes) Corrupt("invoice count exceeds buffer");
  state.invoices_.reserve(invoice_count);
  bool any_invoice_purchase = false;
  uint64_t previous_hash = 0;
  for (uint32_t i = 0; i < invoice_count; ++i) {
    InvoiceEntry entry{in.U64(), kNoTime, in.U8()};
    if (entry.hash <= previous_hash) Corrupt("invoice keys not strictly increasing");
    previous_hash = entry.hash;
    if (entry.flags == 0 || (entry.flags & ~(kHasPurchase | kHasReturn))) {
      Corrupt("bad invoice flags");
    }
    if (entry.flags & kHasPurchase) {
      entry.latest_purchase = in.I64();
      if (!has_purchase || entry.latest_purchase < state.first_purchase_ ||
          entry.latest_purchase > state.last_purchase_) {
        Corrupt("invoice purchase time outside the purchase span");
      }
      any_invoice_purchase = true;
    }
    state.invoices_.push_back(entry);
  }
  if (any_invoice_purchase != has_purchase) Corrupt("purchase flag disagrees with invoices");
  if (state.invoices_.size() > kLinearScanLimit) {
    size_t capacity = 64;
    while (capacity < 2 * state.invoices_.size()) capacity *= 2;
    state.RebuildInvoiceIndex(capacity);
  }

  const uint32_t product_count = in.U32();
  if (product_count != in.remaining() / 8 || in.remaining() % 8 != 0) {
    Corrupt("product count disagrees with buffer size");
  }
  if (product_count > 0 && !has_purchase) Corrupt("products without a purchase");
  previous_hash = 0;
  for (uint32_t i = 0; i < product_count; ++i) {
    const uint64_t hash = in.U64();
    if (hash <= previous_hash) Corrupt("product keys not strictly increasing");
    previous_hash = hash;
    state.InsertProduct(hash);
  }
  return state;
}

}  // namespace ltv::features
