// The named cleaning rules applied at import and the small matchers they need.
//
// Rules are evaluated in the order of kCleaningRules; the first that matches excludes the
// record and is the one counted in the report:
//   missing_customer    the customer id is empty
//   non_product_code    the stock code is postage, a fee, a manual adjustment, ...
//   zero_quantity       quantity == 0
//   non_positive_price  unit_price <= 0 (with only an amount column: amount == 0)
//   exact_duplicate     every mapped field equals that of a record loaded earlier
// Cancellations and returns are not excluded: they are loaded as negative spend and counted
// as "cancellation_return_kept".
#pragma once

#include "core/hashes.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ltv::csv {

enum class CleaningRule {
  kMissingCustomer,
  kNonProductCode,
  kZeroQuantity,
  kNonPositivePrice,
  kExactDuplicate,
};
constexpr int kCleaningRuleCount = 5;
constexpr std::array<const char*, kCleaningRuleCount> kCleaningRules = {
    "missing_customer", "non_product_code", "zero_quantity", "non_positive_price",
    "exact_duplicate"};
constexpr const char* kReturnsKeptName = "cancellation_return_kept";

inline const char* RuleName(CleaningRule r) { return kCleaningRules[static_cast<int>(r)]; }

// Case-insensitive stock code matcher. A pattern ending in '*' matches by prefix
// ("gift_0001*"), any other pattern matches the whole (trimmed) code.
class NonProductMatcher {
 public:
  explicit NonProductMatcher(const std::vector<std::string>& patterns);
  bool Matches(std::string_view code) const;

 private:
  std::unordered_set<std::string> exact_;  // upper-cased
  std::vector<std::string> prefixes_;      // upper-cased
  size_t max_exact_length_ = 0;
  mutable std::string scratch_;
};

// Remembers the hashes of loaded records; Insert returns false for a repeat. An open-addressing
// table of the 128-bit hashes themselves (linear probing, load <= 1/2): one probe usually
// touches one cache line, where a node-based set would chase two pointers per lookup.
class DuplicateFilter {
 public:
  DuplicateFilter() = default;
  DuplicateFilter(const DuplicateFilter&) = delete;
  DuplicateFilter& operator=(const DuplicateFilter&) = delete;
  bool Insert(Hash128 h);
  // Starts fetching the slot where Insert(h) will look (a hint; no effect on the contents).
  void Prefetch(Hash128 h) const {
    if (capacity_ > 0) __builtin_prefetch(&slots_[static_cast<size_t>(h.lo) & (capacity_ - 1)]);
  }
  size_t size() const { return size_; }

 private:
  struct FreeSlots {
    void operator()(Hash128* p) const;
  };
  void Grow();
  // Open addressing, {0, 0} marks an empty slot. Each insert lands on a random slot of a
  // table of tens of megabytes: on 2 MB pages where the system allows (see Grow), so that
  // the lookups miss the cache but not also the TLB.
  std::unique_ptr<Hash128[], FreeSlots> slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  bool has_zero_ = false;  // the (astronomically unlikely) hash {0, 0} itself
};

}  // namespace ltv::csv
