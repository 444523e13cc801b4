#include "core/features/customer_features.h"
#include "core/features/registry.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/hashes.h"
#include "core/le_bytes.h"

namespace ltv::features {

namespace {

// Amounts are summed as integers of this many units per currency unit (see docs/features.md).
constexpr double kMicrosPerUnit = 1e6;
// |amount| above this cannot be represented in int64 micro-units with room to sum; no retail
// line comes near it.
constexpr double kMaxAbsAmount = 1e12;

// Invoice lookups scan linearly up to this many invoices (most customers have a handful);
// beyond it an index is built.
constexpr uint32_t kLinearScanLimit = 8;
constexpr uint32_t kMinInvoiceIndexCapacity = 64;
// Customers with more products than this cannot be represented (the array's capacity is a
// 32-bit count); no customer comes near it.
constexpr uint32_t kMaxProductCapacity = 1u << 30;

// Window lengths in microseconds. A line at `time` (< cutoff) is inside the N-day window iff
// cutoff - time <= N days, computed on unsigned 64 bits: exact for every pair of int64 times,
// and the same as `time >= cutoff - N days` with the start saturated at INT64_MIN.
constexpr uint64_t kWindowMicros[FeatureAccumulator::kWindowCount] = {
    30 * static_cast<uint64_t>(kMicrosPerDay), 90 * static_cast<uint64_t>(kMicrosPerDay),
    180 * static_cast<uint64_t>(kMicrosPerDay), 365 * static_cast<uint64_t>(kMicrosPerDay)};

inline uint64_t AgeAt(TimestampMicros cutoff, TimestampMicros time) {
  return static_cast<uint64_t>(cutoff) - static_cast<uint64_t>(time);
}

// Slot of a 64-bit hash in a power-of-two table. The hashes are already well mixed.
inline size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>(hash) & mask; }

// Errors are thrown from out-of-line functions so that the checks on the per-line path stay
// small enough to inline.
[[noreturn, gnu::noinline, gnu::cold]] void ThrowBadAmount(double amount) {
  if (!std::isfinite(amount)) {
    throw Error(ErrorKind::kInvalidInput, "customer_features: amount must be finite",
                "got " + std::to_string(amount));
  }
  throw Error(ErrorKind::kLimitExceeded, "customer_features: amount out of range",
              "|amount| must not exceed 1e12, got " + std::to_string(amount));
}

[[noreturn, gnu::noinline, gnu::cold]] void ThrowSumOverflow() {
  throw Error(ErrorKind::kLimitExceeded, "customer_features: spend sum overflows",
              "a customer's summed amounts must stay below about 9.2e12");
}

// round(amount * 1e6) to the nearest integer, halves away from zero (as llround, without the
// library call). |amount * 1e6| <= 1e18 < 2^63, so the truncation is exact, and so is the
// fraction for values below 2^52 (above, every double is an integer and the fraction is 0).
inline int64_t AmountToMicros(double amount) {
  if (!(std::fabs(amount) <= kMaxAbsAmount)) ThrowBadAmount(amount);  // also NaN
  const double scaled = amount * kMicrosPerUnit;
  int64_t micros = static_cast<int64_t>(scaled);
  const double fraction = scaled - static_cast<double>(micros);
  if (fraction >= 0.5) {
    ++micros;
  } else if (fraction <= -0.5) {
    --micros;
  }
  return micros;
}

inline void AddChecked(int64_t& total, int64_t value) {
  if (__builtin_add_overflow(total, value, &total)) ThrowSumOverflow();
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

[[noreturn, gnu::noinline, gnu::cold]] void Corrupt(const std::string& what) {
  throw Error(ErrorKind::kDataCorrupted, "customer_features state is corrupted", what);
}

[[noreturn, gnu::noinline, gnu::cold]] void Truncated(size_t offset) {
  Corrupt("truncated at byte " + std::to_string(offset));
}

// A short state: LeReader's handler.
void ShortState(const char*, uint64_t, size_t offset, size_t) { Truncated(offset); }
}  // namespace

uint64_t HashKey(std::string_view text) { return TextKeyHash(text); }

FeatureAccumulator::FeatureAccumulator(TimestampMicros cutoff,
                                       std::pmr::memory_resource* memory) noexcept
    : memory_(memory), cutoff_(cutoff), invoices_(inline_invoices_), products_(inline_products_) {}

FeatureAccumulator::FeatureAccumulator(const FeatureAccumulator& other)
    : FeatureAccumulator(other, other.memory_) {}

FeatureAccumulator::FeatureAccumulator(const FeatureAccumulator& other,
                                       std::pmr::memory_resource* memory)
    : FeatureAccumulator(other.cutoff_, memory) {
  CopyContainersFrom(other);
}

FeatureAccumulator::FeatureAccumulator(FeatureAccumulator&& other) noexcept
    : FeatureAccumulator(other.cutoff_, other.memory_) {
  StealContainersFrom(other);
}

FeatureAccumulator& FeatureAccumulator::operator=(const FeatureAccumulator& other) {
  if (this != &other) *this = FeatureAccumulator(other, memory_);
  return *this;
}

FeatureAccumulator& FeatureAccumulator::operator=(FeatureAccumulator&& other) {
  if (this == &other) return *this;
  if (memory_ == other.memory_ || memory_->is_equal(*other.memory_)) {
    Clear();
    cutoff_ = other.cutoff_;
    StealContainersFrom(other);
  } else {
    *this = FeatureAccumulator(other, memory_);  // our resource: copy, then steal the copy
  }
  return *this;
}

FeatureAccumulator::~FeatureAccumulator() { Clear(); }

template <typename T>
T* FeatureAccumulator::Allocate(size_t count) {
  return static_cast<T*>(memory_->allocate(count * sizeof(T), alignof(T)));
}

template <typename T>
void FeatureAccumulator::Free(T* data, size_t count) {
  memory_->deallocate(data, count * sizeof(T), alignof(T));
}

void FeatureAccumulator::Clear() {
  if (invoices_ != inline_invoices_) Free(invoices_, invoice_capacity_);
  if (invoice_index_ != nullptr) Free(invoice_index_, invoice_index_capacity_);
  if (products_ != inline_products_) Free(products_, product_capacity_);
  invoices_ = inline_invoices_;
  invoice_count_ = 0;
  invoice_capacity_ = kInlineInvoices;
  invoice_index_ = nullptr;
  invoice_index_capacity_ = 0;
  products_ = inline_products_;
  product_capacity_ = kInlineProductSlots;
  product_sorted_ = product_pending_ = 0;
  // ... and the rest, so that an emptied (moved-from) state is a consistent empty state.
  purchase_micros_ = return_micros_ = 0;
  std::fill(std::begin(window_net_micros_), std::end(window_net_micros_), 0);
  first_purchase_ = last_purchase_ = kNoTime;
  purchase_invoices_ = return_invoices_ = 0;
  std::fill(std::begin(window_orders_), std::end(window_orders_), 0);
}

// The totals, windows and flags: everything but the containers.
void FeatureAccumulator::CopyScalarsFrom(const FeatureAccumulator& other) {
  purchase_micros_ = other.purchase_micros_;
  return_micros_ = other.return_micros_;
  std::copy(std::begin(other.window_net_micros_), std::end(other.window_net_micros_),
            window_net_micros_);
  first_purchase_ = other.first_purchase_;
  last_purchase_ = other.last_purchase_;
  purchase_invoices_ = other.purchase_invoices_;
  return_invoices_ = other.return_invoices_;
  std::copy(std::begin(other.window_orders_), std::end(other.window_orders_), window_orders_);
}

// Scalars plus the containers' contents, into this state's (empty) containers. Allocates
// with this state's resource.
void FeatureAccumulator::CopyContainersFrom(const FeatureAccumulator& other) {
  CopyScalarsFrom(other);

  if (other.invoice_capacity_ > kInlineInvoices) {
    invoices_ = Allocate<InvoiceEntry>(other.invoice_capacity_);
    invoice_capacity_ = other.invoice_capacity_;
  }
  std::copy(other.invoices_, other.invoices_ + other.invoice_count_, invoices_);
  invoice_count_ = other.invoice_count_;
  if (other.invoice_index_ != nullptr) {
    invoice_index_ = Allocate<uint32_t>(other.invoice_index_capacity_);
    invoice_index_capacity_ = other.invoice_index_capacity_;
    std::copy(other.invoice_index_, other.invoice_index_ + other.invoice_index_capacity_,
              invoice_index_);
  }
  if (other.products_ != other.inline_products_) {
    products_ = Allocate<uint64_t>(other.product_capacity_);
    product_capacity_ = other.product_capacity_;
  }
  std::copy(other.products_, other.products_ + other.product_sorted_ + other.product_pending_,
            products_);
  product_sorted_ = other.product_sorted_;
  product_pending_ = other.product_pending_;
}

// Takes other's containers (same resource), leaving `other` empty.
void FeatureAccumulator::StealContainersFrom(FeatureAccumulator& other) {
  CopyScalarsFrom(other);

  if (other.invoices_ == other.inline_invoices_) {
    std::copy(other.invoices_, other.invoices_ + other.invoice_count_, inline_invoices_);
    invoices_ = inline_invoices_;
  } else {
    invoices_ = other.invoices_;
  }
  invoice_count_ = other.invoice_count_;
  invoice_capacity_ = other.invoice_capacity_;
  invoice_index_ = other.invoice_index_;
  invoice_index_capacity_ = other.invoice_index_capacity_;
  if (other.products_ == other.inline_products_) {
    std::copy(std::begin(other.inline_products_), std::end(other.inline_products_),
              inline_products_);
    products_ = inline_products_;
  } else {
    products_ = other.products_;
  }
  product_capacity_ = other.product_capacity_;
  product_sorted_ = other.product_sorted_;
  product_pending_ = other.product_pending_;

  other.invoices_ = other.inline_invoices_;
  other.invoice_index_ = nullptr;
  other.products_ = other.inline_products_;
  other.Clear();  // nothing left to free: resets it to an empty state
}

void FeatureAccumulator::GrowInvoices() {
  if (invoice_count_ >= UINT32_MAX / 4) {
    throw Error(ErrorKind::kLimitExceeded, "customer_features: too many invoices for one customer");
  }
  const uint32_t capacity = std::max<uint32_t>(4, invoice_capacity_ * 2);
  InvoiceEntry* grown = Allocate<InvoiceEntry>(capacity);
  std::copy(invoices_, invoices_ + invoice_count_, grown);
  if (invoices_ != inline_invoices_) Free(invoices_, invoice_capacity_);
  invoices_ = grown;
  invoice_capacity_ = capacity;
}

void FeatureAccumulator::RebuildInvoiceIndex(uint32_t capacity) {
  uint32_t* index = Allocate<uint32_t>(capacity);
  if (invoice_index_ != nullptr) Free(invoice_index_, invoice_index_capacity_);
  std::fill(index, index + capacity, 0);
  invoice_index_ = index;
  invoice_index_capacity_ = capacity;
  for (uint32_t position = 0; position < invoice_count_; ++position) {
    InsertIntoInvoiceIndex(position);
  }
}

void FeatureAccumulator::InsertIntoInvoiceIndex(uint32_t position) {
  const size_t mask = invoice_index_capacity_ - 1;
  size_t slot = SlotOf(invoices_[position].hash, mask);
  while (invoice_index_[slot] != 0) slot = (slot + 1) & mask;
  invoice_index_[slot] = position + 1;
}

FeatureAccumulator::InvoiceEntry& FeatureAccumulator::FindOrAddInvoice(uint64_t hash) {
  // Fast path: the previous line's invoice.
  if (invoice_count_ > 0 && invoices_[invoice_count_ - 1].hash == hash) {
    return invoices_[invoice_count_ - 1];
  }
  if (invoice_index_ == nullptr) {
    for (uint32_t i = 0; i < invoice_count_; ++i) {
      if (invoices_[i].hash == hash) return invoices_[i];
    }
  } else {
    const size_t mask = invoice_index_capacity_ - 1;
    for (size_t slot = SlotOf(hash, mask); invoice_index_[slot] != 0; slot = (slot + 1) & mask) {
      InvoiceEntry& entry = invoices_[invoice_index_[slot] - 1];
      if (entry.hash == hash) return entry;
    }
  }

  if (invoice_count_ == invoice_capacity_) GrowInvoices();
  invoices_[invoice_count_] = InvoiceEntry{hash, kNoTime, 0};
  const uint32_t count = ++invoice_count_;
  if (count > kLinearScanLimit) {
    // Keep the load factor at or below 1/2.
    if (invoice_index_capacity_ < 2 * count) {
      RebuildInvoiceIndex(std::max(kMinInvoiceIndexCapacity, invoice_index_capacity_ * 2));
    } else {
      InsertIntoInvoiceIndex(count - 1);
    }
  }
  return invoices_[count - 1];
}

void FeatureAccumulator::NotePurchase(InvoiceEntry& entry, TimestampMicros time) {
  // An invoice is in a window iff its latest purchase line is. That time only grows, so a
  // change can only bring the invoice into more windows.
  uint64_t previous_age = UINT64_MAX;  // no purchase yet: in no window
  if (entry.flags & kHasPurchase) {
    if (time <= entry.latest_purchase) return;
    previous_age = AgeAt(cutoff_, entry.latest_purchase);
  } else {
    entry.flags |= kHasPurchase;
    ++purchase_invoices_;
  }
  entry.latest_purchase = time;
  const uint64_t age = AgeAt(cutoff_, time);
  for (int w = 0; w < kWindowCount; ++w) {
    window_orders_[w] += (age <= kWindowMicros[w]) & (previous_age > kWindowMicros[w]);
  }
}

void FeatureAccumulator::NoteReturn(InvoiceEntry& entry) {
  if (entry.flags & kHasReturn) return;
  entry.flags |= kHasReturn;
  ++return_invoices_;
}

// An array keeps a quarter of its slots (at least 2) free behind the sorted run, so that at
// least an eighth of it can be appended between compactions (see the invariant in the header):
// a compaction then costs O(log n) per appended hash, amortized. The inline array holds 6
// distinct products.
uint32_t FeatureAccumulator::MinProductRoom(uint32_t capacity) {
  return std::max<uint32_t>(2, capacity / 4);
}

uint32_t FeatureAccumulator::ProductCapacityFor(uint32_t count) {
  uint32_t capacity = kInlineProductSlots;
  while (capacity - std::min(capacity, count) < MinProductRoom(capacity)) {
    if (capacity >= kMaxProductCapacity) {
      throw Error(ErrorKind::kLimitExceeded,
                  "customer_features: too many distinct products for one customer");
    }
    capacity *= 2;
  }
  return capacity;
}

void FeatureAccumulator::CompactProducts() const noexcept {
  uint32_t appended = product_pending_;
  if (appended == 0) return;
  uint64_t* const p = products_;
  const uint32_t sorted = product_sorted_;
  uint64_t* const run = p + sorted;
  std::sort(run, run + appended);
  appended = static_cast<uint32_t>(std::unique(run, run + appended) - run);
  // Move the new run to the end of the array, then merge both runs backwards into the front,
  // dropping hashes present in both. The invariant sorted + 2 * pending <= capacity keeps every
  // write below the unread part of the moved run; writes stay at or above the unread part of
  // the old run, since each write consumes at least one of its hashes or one of the new run's.
  uint64_t* const moved = p + product_capacity_ - appended;
  std::memmove(moved, run, appended * sizeof(uint64_t));
  int64_t i = static_cast<int64_t>(sorted) - 1;    // old run, read backwards
  int64_t j = static_cast<int64_t>(appended) - 1;  // new run, read backwards
  int64_t w = static_cast<int64_t>(sorted) + appended - 1;
  while (j >= 0) {
    if (i >= 0 && p[i] >= moved[j]) {
      if (p[i] == moved[j]) --j;
      p[w--] = p[i--];
    } else {
      p[w--] = moved[j--];
    }
  }
  // p[0, i] (the old run's smallest hashes) are in place; close the gap duplicates left.
  const int64_t merged_top = static_cast<int64_t>(sorted) + appended;
  if (w > i) std::memmove(p + i + 1, p + w + 1, (merged_top - w - 1) * sizeof(uint64_t));
  product_sorted_ = static_cast<uint32_t>(i + 1 + (merged_top - w - 1));
  product_pending_ = 0;
}

void FeatureAccumulator::MakeProductRoom() {
  CompactProducts();
  if (product_capacity_ - product_sorted_ >= MinProductRoom(product_capacity_)) return;
  const uint32_t capacity = ProductCapacityFor(product_sorted_);
  uint64_t* grown = Allocate<uint64_t>(capacity);
  std::copy(products_, products_ + product_sorted_, grown);
  if (products_ != inline_products_) Free(products_, product_capacity_);
  products_ = grown;
  product_capacity_ = capacity;
}

inline void FeatureAccumulator::AddProduct(uint64_t hash) {
  uint32_t end = product_sorted_ + product_pending_;
  // Consecutive lines often repeat a stock code: no need to store it twice in a row.
  if (product_pending_ != 0 && products_[end - 1] == hash) return;
  if (end + product_pending_ + 2 > product_capacity_) {  // keep sorted + 2 * pending <= capacity
    MakeProductRoom();
    end = product_sorted_;
  }
  products_[end] = hash;
  ++product_pending_;
}

void FeatureAccumulator::Add(std::string_view invoice, std::string_view stock_code,
                             TimestampMicros time, double amount) {
  if (time >= cutoff_) return;  // the future is the label's business, never a feature's
  const int64_t micros = AmountToMicros(amount);
  // A zero line neither buys nor returns anything and adds nothing to any sum.
  if (!(amount > 0) && !(amount < 0)) return;

  InvoiceEntry& entry = FindOrAddInvoice(TextKeyHash(invoice));
  if (amount > 0) {
    const bool first_purchase = !has_purchase();
    NotePurchase(entry, time);
    AddChecked(purchase_micros_, micros);
    if (first_purchase) {
      first_purchase_ = last_purchase_ = time;
    } else {
      first_purchase_ = std::min(first_purchase_, time);
      last_purchase_ = std::max(last_purchase_, time);
    }
    AddProduct(TextKeyHash(stock_code));
  } else {
    NoteReturn(entry);
    AddChecked(return_micros_, -micros);
  }
  // Windows are nested: a line outside the widest is in none.
  const uint64_t age = AgeAt(cutoff_, time);
  if (age <= kWindowMicros[kWindowCount - 1]) {
    for (int w = 0; w < kWindowCount; ++w) {
      if (age <= kWindowMicros[w]) AddChecked(window_net_micros_[w], micros);
    }
  }
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
  for (int w = 0; w < kWindowCount; ++w) {
    AddChecked(window_net_micros_[w], other.window_net_micros_[w]);
  }
  // (Before the invoices are merged: has_purchase() counts them.)
  if (other.has_purchase()) {
    if (!has_purchase()) {
      first_purchase_ = other.first_purchase_;
      last_purchase_ = other.last_purchase_;
    } else {
      first_purchase_ = std::min(first_purchase_, other.first_purchase_);
      last_purchase_ = std::max(last_purchase_, other.last_purchase_);
    }
  }
  for (uint32_t i = 0; i < other.invoice_count_; ++i) {
    const InvoiceEntry& theirs = other.invoices_[i];
    InvoiceEntry& mine = FindOrAddInvoice(theirs.hash);
    if (theirs.flags & kHasPurchase) NotePurchase(mine, theirs.latest_purchase);
    if (theirs.flags & kHasReturn) NoteReturn(mine);
  }
  other.CompactProducts();
  for (uint32_t i = 0; i < other.product_sorted_; ++i) AddProduct(other.products_[i]);
}

CustomerFeatures FeatureAccumulator::Finalize() const noexcept {
  CustomerFeatures f;
  const double frequency = purchase_invoices_;
  f.frequency = frequency;
  f.returns_count = return_invoices_;
  f.orders_30d = window_orders_[0];
  f.orders_90d = window_orders_[1];
  f.orders_180d = window_orders_[2];
  f.orders_365d = window_orders_[3];

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
  CompactProducts();
  f.distinct_products = product_sorted_;

  f.has_purchase = has_purchase();
  if (f.has_purchase) {
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

size_t FeatureAccumulator::SerializedSize() const {
  CompactProducts();
  return kHeaderSize + 4 + static_cast<size_t>(invoice_count_) * kMinInvoiceBytes +
         static_cast<size_t>(purchase_invoices_) * 8 + 4 + static_cast<size_t>(product_sorted_) * 8;
}

void FeatureAccumulator::SerializeTo(std::vector<uint8_t>& out) const {
  const size_t start = out.size();
  out.resize(start + SerializedSize());
  SerializeInto(out.data() + start);
}

void FeatureAccumulator::SerializeInto(uint8_t* out) const {
  // The keys are written sorted (canonical bytes). Products are kept sorted already; sorting
  // the invoices needs a copy: on the stack for the usual small customer (serialization runs
  // once per customer and worker in parallel query, so a heap allocation each time would
  // show), on the heap beyond that.
  constexpr size_t kStackInvoices = 32;
  InvoiceEntry stack_invoices[kStackInvoices];
  std::vector<InvoiceEntry> heap_invoices;

  const size_t invoice_count = invoice_count_;
  InvoiceEntry* sorted_invoices = stack_invoices;
  if (invoice_count > kStackInvoices) {
    heap_invoices.resize(invoice_count);
    sorted_invoices = heap_invoices.data();
  }
  std::copy(invoices_, invoices_ + invoice_count, sorted_invoices);
  std::sort(sorted_invoices, sorted_invoices + invoice_count,
            [](const InvoiceEntry& a, const InvoiceEntry& b) { return a.hash < b.hash; });

  CompactProducts();
  const size_t product_count = product_sorted_;
  const uint64_t* sorted_products = products_;

  std::memcpy(out, kMagic, sizeof(kMagic));
  out += sizeof(kMagic);
  *out++ = has_purchase() ? 1 : 0;
  out = StoreLe64(out, static_cast<uint64_t>(cutoff_));
  out = StoreLe64(out, static_cast<uint64_t>(purchase_micros_));
  out = StoreLe64(out, static_cast<uint64_t>(return_micros_));
  for (int64_t net : window_net_micros_) out = StoreLe64(out, static_cast<uint64_t>(net));
  out = StoreLe64(out, static_cast<uint64_t>(first_purchase_));
  out = StoreLe64(out, static_cast<uint64_t>(last_purchase_));
  out = StoreLe32(out, static_cast<uint32_t>(invoice_count));
  for (size_t i = 0; i < invoice_count; ++i) {
    const InvoiceEntry& entry = sorted_invoices[i];
    out = StoreLe64(out, entry.hash);
    *out++ = entry.flags;
    if (entry.flags & kHasPurchase) {
      out = StoreLe64(out, static_cast<uint64_t>(entry.latest_purchase));
    }
  }
  out = StoreLe32(out, static_cast<uint32_t>(product_count));
  for (size_t i = 0; i < product_count; ++i) out = StoreLe64(out, sorted_products[i]);
}

FeatureAccumulator FeatureAccumulator::Deserialize(const uint8_t* data, size_t size,
                                                   std::pmr::memory_resource* memory) {
  if (data == nullptr && size != 0) Corrupt("null buffer");
  LeReader in(data, size, ShortState);
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
  if (has_purchase) {
    if (state.first_purchase_ > state.last_purchase_ || state.last_purchase_ >= state.cutoff_) {
      Corrupt("purchase times out of order or not before the cutoff");
    }
  } else if (state.first_purchase_ != kNoTime || state.last_purchase_ != kNoTime) {
    Corrupt("purchase times set without a purchase");
  }

  const uint32_t invoice_count = in.U32();
  if (invoice_count > in.remaining() / kMinInvoiceBytes) Corrupt("invoice count exceeds buffer");
  if (invoice_count > kInlineInvoices) {
    state.invoices_ = state.Allocate<InvoiceEntry>(invoice_count);
    state.invoice_capacity_ = invoice_count;
  }
  uint64_t previous_hash = 0;
  bool any_invoice_purchase = false;
  for (uint32_t i = 0; i < invoice_count; ++i) {
    const uint64_t hash = in.U64();
    const uint8_t invoice_flags = in.U8();
    if (hash <= previous_hash) Corrupt("invoice keys not strictly increasing");
    previous_hash = hash;
    if (invoice_flags == 0 || (invoice_flags & ~(kHasPurchase | kHasReturn))) {
      Corrupt("bad invoice flags");
    }
    InvoiceEntry& entry = state.invoices_[i];
    entry = InvoiceEntry{hash, kNoTime, 0};
    state.invoice_count_ = i + 1;
    // The distinct counts are derived the way Add derives them, never read from the bytes.
    if (invoice_flags & kHasPurchase) {
      const TimestampMicros latest_purchase = in.I64();
      if (!has_purchase || latest_purchase < state.first_purchase_ ||
          latest_purchase > state.last_purchase_) {
        Corrupt("invoice purchase time outside the purchase span");
      }
      any_invoice_purchase = true;
      state.NotePurchase(entry, latest_purchase);
    }
    if (invoice_flags & kHasReturn) state.NoteReturn(entry);
  }
  if (any_invoice_purchase != has_purchase) Corrupt("purchase flag disagrees with invoices");
  if (state.invoice_count_ > kLinearScanLimit) {
    uint32_t capacity = kMinInvoiceIndexCapacity;
    while (capacity < 2 * state.invoice_count_) capacity *= 2;
    state.RebuildInvoiceIndex(capacity);
  }

  const uint32_t product_count = in.U32();
  if (product_count != in.remaining() / 8 || in.remaining() % 8 != 0) {
    Corrupt("product count disagrees with buffer size");
  }
  if (product_count > 0 && !has_purchase) Corrupt("products without a purchase");
  // Sized once for all of them instead of growing step by step.
  const uint32_t capacity = ProductCapacityFor(product_count);
  if (capacity > kInlineProductSlots) {
    state.products_ = state.Allocate<uint64_t>(capacity);
    state.product_capacity_ = capacity;
  }
  previous_hash = 0;
  for (uint32_t i = 0; i < product_count; ++i) {
    const uint64_t hash = in.U64();
    if (hash <= previous_hash) Corrupt("product keys not strictly increasing");
    previous_hash = hash;
    state.products_[i] = hash;  // sorted, as the array keeps them
    state.product_sorted_ = i + 1;
  }
  return state;
}

}  // namespace ltv::features
