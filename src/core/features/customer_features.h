// Per-customer feature accumulator behind the SQL aggregate ltv.customer_features
// (pipeline stage 3). It is fed one transaction line at a time, can be merged with another
// partial state (parallel query, sharding), serialized to bytes and back, and finalized into
// the feature vector as of the cutoff. See docs/features.md for the exact definitions; the
// pg_regress test checks every feature against plain SQL aggregates.
//
// Memory: every container uses the std::pmr::memory_resource given at construction, so the
// Postgres layer can place states in the aggregate's memory context (accounted for, freed with
// it, no destructor needed). Tests use the default new/delete resource.
#pragma once

#include <cstdint>
#include <cstddef>
#include <memory_resource>
#include <string_view>
#include <vector>

#include "core/transaction.h"

namespace ltv::features {

// One customer's features as of a cutoff. What SQL and the models see of them, in which order
// and under which names, is the registry's business (core/features/registry.h).
struct CustomerFeatures {
  double recency_days = 0;     // cutoff - last purchase line, in days (fractional)
  double frequency = 0;        // distinct invoices with a positive-amount line
  double monetary = 0;         // sum of amount (net of returns)
  double avg_order_value = 0;  // sum of positive amounts / frequency (0 if frequency = 0)
  double tenure_days = 0;      // cutoff - first purchase line, in days
  double spend_30d = 0, spend_90d = 0, spend_180d = 0, spend_365d = 0;      // net, t >= cutoff - N
  double orders_30d = 0, orders_90d = 0, orders_180d = 0, orders_365d = 0;  // distinct invoices
  double trend_90d = 0;  // spend in [cutoff-90d, cutoff) minus spend in [cutoff-180d, cutoff-90d)
  double returns_amount = 0;      // -sum of negative amounts (>= 0)
  double returns_count = 0;       // distinct invoices with a negative-amount line
  double distinct_products = 0;   // distinct stock codes among positive-amount lines
  double mean_days_between = -1;  // (last - first purchase) / (frequency - 1); -1 if frequency < 2
  TimestampMicros first_purchase = 0;  // first / last positive-amount line before the cutoff
  TimestampMicros last_purchase = 0;
  bool has_purchase = false;  // false: no positive line before the cutoff
};

class FeatureAccumulator {
 public:
  // Allocates nothing (small customers live in the state itself, see below).
  FeatureAccumulator(TimestampMicros cutoff,
                     std::pmr::memory_resource* memory = std::pmr::get_default_resource()) noexcept;

  // One transaction line. Lines at or after the cutoff are ignored (no leakage).
  void Add(std::string_view invoice, std::string_view stock_code, TimestampMicros time,
           double amount);
  // Folds another partial state in. Throws ltv::Error if the cutoffs differ.
  void Merge(const FeatureAccumulator& other);

  // Compact, versioned byte form; Deserialize validates it and throws ltv::Error
  // (kDataCorrupted) on anything malformed, never reads out of bounds.
  void SerializeTo(std::vector<uint8_t>& out) const;
  // The same bytes written straight into a buffer of SerializedSize() bytes (the Postgres
  // layer serializes into the bytea it returns, without an intermediate copy).
  size_t SerializedSize() const;
  void SerializeInto(uint8_t* out) const;
  static FeatureAccumulator Deserialize(
      const uint8_t* data, size_t size,
      std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  CustomerFeatures Finalize() const noexcept;
  TimestampMicros cutoff() const { return cutoff_; }

  // Copies and moves keep the memory resource of the state they are made from; assignment
  // keeps the target's. A moved-from state is empty (same cutoff and resource).
  FeatureAccumulator(const FeatureAccumulator& other);
  FeatureAccumulator(FeatureAccumulator&& other) noexcept;
  FeatureAccumulator& operator=(const FeatureAccumulator& other);
  FeatureAccumulator& operator=(FeatureAccumulator&& other);
  ~FeatureAccumulator();

  // The look-back windows of the spend_/orders_ features, in days.
  static constexpr int kWindowCount = 4;
  static constexpr int kWindowDays[kWindowCount] = {30, 90, 180, 365};

 private:
  // One distinct invoice, keyed by a 64-bit hash of its text (see docs/features.md for why a
  // hash is enough). `latest_purchase` is the time of its latest positive line; an invoice
  // counts in a window iff that time is inside it.
  struct InvoiceEntry {
    uint64_t hash;
    TimestampMicros latest_purchase;  // kNoTime unless kHasPurchase
    uint8_t flags;
  };
  static constexpr uint8_t kHasPurchase = 1;
  static constexpr uint8_t kHasReturn = 2;
  static constexpr TimestampMicros kNoTime = INT64_MIN;
  // Most customers have one or two invoices and a handful of products (median 1 and 7 on the
  // synthetic data): the first invoice and 8 product slots (6 distinct products, see
  // MakeProductRoom) live inside the state, so such a customer costs one allocation, and the
  // Postgres state stays within a 256-byte chunk.
  static constexpr uint32_t kInlineInvoices = 1;
  static constexpr uint32_t kInlineProductSlots = 8;

  FeatureAccumulator(const FeatureAccumulator& other, std::pmr::memory_resource* memory);
  void CopyScalarsFrom(const FeatureAccumulator& other);
  void CopyContainersFrom(const FeatureAccumulator& other);
  void StealContainersFrom(FeatureAccumulator& other);
  // Whether a purchase line was seen (one is iff an invoice has one).
  bool has_purchase() const { return purchase_invoices_ != 0; }
  // Frees the containers and resets every sum and count: an empty state again.
  void Clear();
  template <typename T>
  T* Allocate(size_t count);
  template <typename T>
  void Free(T* data, size_t count);

  InvoiceEntry& FindOrAddInvoice(uint64_t hash);
  void GrowInvoices();
  void InsertIntoInvoiceIndex(uint32_t position);
  void RebuildInvoiceIndex(uint32_t capacity);
  // Marks `entry` as having a purchase line at `time` (< cutoff) / a return line, keeping the
  // distinct counts up to date.
  void NotePurchase(InvoiceEntry& entry, TimestampMicros time);
  void NoteReturn(InvoiceEntry& entry);
  // Adds a stock-code hash to the product set (appended; duplicates go at the next compaction).
  void AddProduct(uint64_t hash);
  // Compacts, then grows the array if the sorted run leaves too little room behind it.
  void MakeProductRoom();
  // Sorts the appended hashes into the sorted run, dropping duplicates, in place: afterwards
  // products_[0, product_sorted_) is the whole set. Logically const (the set does not change),
  // allocation-free and noexcept, so Finalize and serialization can call it.
  void CompactProducts() const noexcept;
  // Room an array of `capacity` slots keeps free behind its sorted run.
  static uint32_t MinProductRoom(uint32_t capacity);
  // The capacity for a set of `count` products (Deserialize).
  static uint32_t ProductCapacityFor(uint32_t count);

  std::pmr::memory_resource* memory_;
  TimestampMicros cutoff_;
  // Money in integer micro-units (1e-6 of the currency unit): integer sums are associative,
  // so merging partial states in any order gives bit-identical results.
  int64_t purchase_micros_ = 0;  // sum of positive amounts
  int64_t return_micros_ = 0;    // -sum of negative amounts
  int64_t window_net_micros_[kWindowCount] = {0, 0, 0, 0};
  TimestampMicros first_purchase_ = kNoTime;
  TimestampMicros last_purchase_ = kNoTime;
  // Distinct counts, kept up to date as invoices change so that Finalize reads no invoice
  // (finalizing a million customers otherwise walks a million cold arrays).
  uint32_t purchase_invoices_ = 0;                       // frequency
  uint32_t return_invoices_ = 0;                         // returns_count
  uint32_t window_orders_[kWindowCount] = {0, 0, 0, 0};  // orders_Nd

  // Invoices in first-seen order; lines of one invoice usually arrive together, so Add checks
  // the last entry first. Beyond a few invoices an open-addressing index (positions + 1,
  // 0 = empty) keeps lookups O(1).
  InvoiceEntry* invoices_;
  uint32_t* invoice_index_ = nullptr;
  // The distinct stock-code hashes of purchase lines, in one array: a sorted, duplicate-free run
  // products_[0, product_sorted_), followed by the hashes appended since the last compaction,
  // products_[product_sorted_, product_sorted_ + product_pending_), unsorted and possibly
  // repeated. Appending writes one slot next to the previous one, where a hash set would probe
  // a random slot of a table that is usually out of cache (a customer's lines are far apart
  // in a scan in time order). Invariant: product_sorted_ + 2 * product_pending_ <=
  // product_capacity_, which lets CompactProducts merge in place (see there).
  uint64_t* products_;
  uint32_t invoice_count_ = 0;
  uint32_t invoice_capacity_ = kInlineInvoices;
  uint32_t invoice_index_capacity_ = 0;
  mutable uint32_t product_sorted_ = 0;
  mutable uint32_t product_pending_ = 0;
  uint32_t product_capacity_ = kInlineProductSlots;

  InvoiceEntry inline_invoices_[kInlineInvoices];
  mutable uint64_t inline_products_[kInlineProductSlots] = {};
};

// The stable 64-bit hash used for invoice and stock-code keys. Part of the serialized
// format: changing it needs a new format version.
uint64_t HashKey(std::string_view text);

}  // namespace ltv::features
