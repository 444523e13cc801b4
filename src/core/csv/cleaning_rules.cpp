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

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
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

Hash128 MurmurHash3_128(const void* key, size_t len, uint64_t seed) {
  const auto* data = static_cast<const uint8_t*>(key);
  const size_t nblocks = len / 16;
  uint64_t h1 = seed, h2 = seed;
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1, k2;
    std::memcpy(&k1, data + i * 16, 8);
    std::memcpy(&k2, data + i * 16 + 8, 8);
    k1 *= c1;
    k1 = Rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = Rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = Rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = Rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + nblocks * 16;
  uint64_t k1 = 0, k2 = 0;
  switch (len & 15) {
    case 15:
      k2 ^= static_cast<uint64_t>(tail[14]) << 48;
      [[fallthrough]];
    case 14:
      k2 ^= static_cast<uint64_t>(tail[13]) << 40;
      [[fallthrough]];
    case 13:
      k2 ^= static_cast<uint64_t>(tail[12]) << 32;
      [[fallthrough]];
    case 12:
      k2 ^= static_cast<uint64_t>(tail[11]) << 24;
      [[fallthrough]];
    case 11:
      k2 ^= static_cast<uint64_t>(tail[10]) << 16;
      [[fallthrough]];
    case 10:
      k2 ^= static_cast<uint64_t>(tail[9]) << 8;
      [[fallthrough]];
    case 9:
      k2 ^= static_cast<uint64_t>(tail[8]);
      k2 *= c2;
      k2 = Rotl(k2, 33);
      k2 *= c1;
      h2 ^= k2;
      [[fallthrough]];
    case 8:
      k1 ^= static_cast<uint64_t>(tail[7]) << 56;
      [[fallthrough]];
    case 7:
      k1 ^= static_cast<uint64_t>(tail[6]) << 48;
      [[fallthrough]];
    case 6:
      k1 ^= static_cast<uint64_t>(tail[5]) << 40;
      [[fallthrough]];
    case 5:
      k1 ^= static_cast<uint64_t>(tail[4]) << 32;
      [[fallthrough]];
    case 4:
      k1 ^= static_cast<uint64_t>(tail[3]) << 24;
      [[fallthrough]];
    case 3:
      k1 ^= static_cast<uint64_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k1 ^= static_cast<uint64_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k1 ^= static_cast<uint64_t>(tail[0]);
      k1 *= c1;
      k1 = Rotl(k1, 31);
      k1 *= c2;
      h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = Fmix(h1);
  h2 = Fmix(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

}  // namespace ltv::csv
