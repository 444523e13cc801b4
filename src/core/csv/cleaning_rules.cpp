#include "core/csv/cleaning_rules.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace ltv::csv {

namespace {

char ToUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToUpper(c);
  return out;
}

}  // namespace

NonProductMatcher::NonProductMatcher(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      prefixes_.push_back(Upper(std::string_view(p).substr(0, p.size() - 1)));
    } else {
      exact_.insert(Upper(p));
      if (p.size() > max_exact_length_) max_exact_length_ = p.size();
    }
  }
}

bool NonProductMatcher::Matches(std::string_view code) const {
  for (const auto& prefix : prefixes_) {
    if (code.size() < prefix.size()) continue;
    bool equal = true;
    for (size_t i = 0; i < prefix.size() && equal; ++i) equal = ToUpper(code[i]) == prefix[i];
    if (equal) return true;
  }
  if (code.size() > max_exact_length_) return false;  // most codes: no copy, no lookup
  scratch_.assign(code);
  for (char& c : scratch_) c = ToUpper(c);
  return exact_.count(scratch_) != 0;
}

bool DuplicateFilter::Insert(Hash128 h) {
  if (h.lo == 0 && h.hi == 0) {
    bool fresh = !has_zero_;
    has_zero_ = true;
    return fresh;
  }
  if ((size_ + 1) * 2 > capacity_) Grow();
  size_t mask = capacity_ - 1;
  for (size_t i = static_cast<size_t>(h.lo) & mask;; i = (i + 1) & mask) {
    Hash128& slot = slots_[i];
    if (slot == h) return false;
    if (slot.lo == 0 && slot.hi == 0) {
      slot = h;
      ++size_;
      return true;
    }
  }
}

void DuplicateFilter::FreeSlots::operator()(Hash128* p) const { std::free(p); }

void DuplicateFilter::Grow() {
  const size_t capacity = capacity_ == 0 ? 1024 : capacity_ * 2;
  const size_t bytes = capacity * sizeof(Hash128);
  constexpr size_t kHugePage = size_t{2} << 20;
  void* memory = nullptr;
  if (bytes >= kHugePage) {
    if (posix_memalign(&memory, kHugePage, bytes) != 0) memory = nullptr;
#ifdef MADV_HUGEPAGE
    if (memory) madvise(memory, bytes, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  } else {
    memory = std::malloc(bytes);
  }
  if (!memory) throw std::bad_alloc();
  std::memset(memory, 0, bytes);
  std::unique_ptr<Hash128[], FreeSlots> slots(static_cast<Hash128*>(memory));
  const size_t mask = capacity - 1;
  for (size_t k = 0; k < capacity_; ++k) {
    const Hash128& h = slots_[k];
    if (h.lo == 0 && h.hi == 0) continue;
    size_t i = static_cast<size_t>(h.lo) & mask;
    while (!(slots[i].lo == 0 && slots[i].hi == 0)) i = (i + 1) & mask;
    slots[i] = h;
  }
  slots_ = std::move(slots);
  capacity_ = capacity;
}

}  // namespace ltv::csv
