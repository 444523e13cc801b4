// Little-endian byte formats: loads, stores and one bounds-checked reader, shared by every
// decoder of bytes that may come from outside the process (model bytea, aggregate states), so
// that no decoder reads past its buffer and all read the same byte order on any host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ltv {

// The low n bytes (n <= 8) of a little-endian value at p, as one memory access on a
// little-endian host (a byte loop is not always turned into one load at -O2).
inline uint64_t LoadLe(const void* p, int n) {
  uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(&v, p, static_cast<size_t>(n));
#else
  const uint8_t* b = static_cast<const uint8_t*>(p);
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
#endif
  return v;
}
inline uint64_t LoadLe64(const void* p) { return LoadLe(p, 8); }
inline uint32_t LoadLe32(const void* p) { return static_cast<uint32_t>(LoadLe(p, 4)); }
inline double LoadLeF64(const void* p) {
  const uint64_t bits = LoadLe64(p);
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

// Stores the low n bytes (n <= 8) of v little-endian at p; returns p + n.
inline uint8_t* StoreLe(uint8_t* p, uint64_t v, int n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(p, &v, static_cast<size_t>(n));
#else
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
#endif
  return p + n;
}
inline uint8_t* StoreLe64(uint8_t* p, uint64_t v) { return StoreLe(p, v, 8); }
inline uint8_t* StoreLe32(uint8_t* p, uint32_t v) { return StoreLe(p, v, 4); }
inline uint8_t* StoreLeF64(uint8_t* p, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return StoreLe64(p, bits);
}

// Reads little-endian fields from [data, data + size) front to back. Every read checks that
// the bytes are there first; when they are not, the reader calls the decoder's `on_short`,
// which must throw (each format reports a short buffer in its own words).
class LeReader {
 public:
  // what: the field being read (may be null); needed: its bytes; offset: where it starts.
  using ShortHandler = void (*)(const char* what, uint64_t needed, size_t offset, size_t remaining);

  LeReader(const uint8_t* data, size_t size, ShortHandler on_short)
      : data_(data), size_(size), on_short_(on_short) {}

  size_t remaining() const { return size_ - pos_; }
  size_t offset() const { return pos_; }

  void Need(uint64_t n, const char* what = nullptr) const {
    if (n > remaining()) {
      on_short_(what, n, pos_, remaining());
      std::abort();  // a handler that returns is a bug: never read past the buffer
    }
  }
  uint64_t Le(int n, const char* what = nullptr) {
    Need(static_cast<uint64_t>(n), what);
    const uint64_t v = LoadLe(data_ + pos_, n);
    pos_ += static_cast<size_t>(n);
    return v;
  }
  uint8_t U8(const char* what = nullptr) { return static_cast<uint8_t>(Le(1, what)); }
  uint16_t U16(const char* what = nullptr) { return static_cast<uint16_t>(Le(2, what)); }
  uint32_t U32(const char* what = nullptr) { return static_cast<uint32_t>(Le(4, what)); }
  int32_t I32(const char* what = nullptr) { return static_cast<int32_t>(U32(what)); }
  uint64_t U64(const char* what = nullptr) { return Le(8, what); }
  int64_t I64(const char* what = nullptr) { return static_cast<int64_t>(U64(what)); }
  double F64(const char* what = nullptr) {
    const uint64_t bits = U64(what);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  // The next n bytes, in place.
  const uint8_t* Take(uint64_t n, const char* what = nullptr) {
    Need(n, what);
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  ShortHandler on_short_;
};

}  // namespace ltv
