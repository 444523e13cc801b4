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

// The features, in this order, are also the forest's input columns.
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

// Names of the numeric features in CustomerFeatures order (first_purchase/last_purchase and
// has_purchase are not model inputs).
const std::vector<std::string_view>& FeatureNames();
// The numeric features as a vector, in FeatureNames() order.
std::vector<double> ToVector(const CustomerFeatures& f);

class FeatureAccumulator {
 public:
  FeatureAccumulator(TimestampMicros cutoff,
                     std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  // One transaction line. Lines at or after the cutoff are ignored (no leakage).
  void Add(std::string_view invoice, std::string_view stock_code, TimestampMicros time,
           double amount);
  // Folds another partial state in. Throws ltv::Error if the cutoffs differ.
  void Merge(const FeatureAccumulator& other);

  // Compact, versioned byte form; Deserialize validates it and throws ltv::Error
  // (kDataCorrupted) on anything malformed, never reads out of bounds.
  void SerializeTo(std::vector<uint8_t>& out) const;
  static FeatureAccumulator Deserialize(
      const uint8_t* data, size_t size,
      std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  CustomerFeatures Finalize() const;
  TimestampMicros cutoff() const;

  // Copies keep the source's memory resource (a plain pmr copy would fall back to the
  // default resource); moves keep it too.
  FeatureAccumulator(const FeatureAccumulator& other);
  FeatureAccumulator(FeatureAccumulator&& other) noexcept = default;
  FeatureAccumulator& operator=(const FeatureAccumulator&) = default;
  FeatureAccumulator& operator=(FeatureAccumulator&&) = default;
  ~FeatureAccumulator() = default;

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

  InvoiceEntry& FindOrAddInvoice(uint64_t hash);
  void InsertIntoInvoiceIndex(uint32_t position);
  void RebuildInvoiceIndex(size_t capacity);
  // Returns false when the hash was already present.
  bool InsertProduct(uint64_t hash);
  void GrowProductSet();
  void AddWindowed(TimestampMicros time, int64_t amount_micros);

  TimestampMicros cutoff_;
  TimestampMicros window_start_[kWindowCount];
  // Money in integer micro-units (1e-6 of the currency unit): integer sums are associative,
  // so merging partial states in any order gives bit-identical results.
  int64_t purchase_micros_ = 0;  // sum of positive amounts
  int64_t return_micros_ = 0;    // -sum of negative amounts
  int64_t window_net_micros_[kWindowCount] = {0, 0, 0, 0};
  TimestampMicros first_purchase_ = kNoTime;
  TimestampMicros last_purchase_ = kNoTime;
  bool has_purchase_ = false;

  // Invoices in first-seen order; lines of one invoice usually arrive together, so Add checks
  // the last entry first. Beyond a few invoices an open-addressing index (positions + 1,
  // 0 = empty) keeps lookups O(1).
  std::pmr::vector<InvoiceEntry> invoices_;
  std::pmr::vector<uint32_t> invoice_index_;
  // Open-addressing set of stock-code hashes of purchase lines (0 = empty slot).
  std::pmr::vector<uint64_t> product_set_;
  uint32_t product_count_ = 0;
};

// The stable 64-bit hash used for invoice and stock-code keys. Part of the serialized
// format: changing it needs a new format version.
uint64_t HashKey(std::string_view text);

}  // namespace ltv::features
