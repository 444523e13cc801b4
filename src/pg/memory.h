// A std::pmr::memory_resource backed by a Postgres memory context. Core containers built on it
// are accounted by Postgres and freed wholesale with the context, so aggregate states need no
// destructor calls. Allocation failure throws std::bad_alloc (never longjmps).
#pragma once

#include "pg/pg_includes.h"

#include <memory_resource>
#include <new>

namespace ltv::pg {

class ContextMemoryResource : public std::pmr::memory_resource {
 public:
  explicit ContextMemoryResource(MemoryContext context) : context_(context) {}

 private:
  void* do_allocate(size_t bytes, size_t alignment) override {
    if (alignment > MAXIMUM_ALIGNOF) throw std::bad_alloc();
    void* p = MemoryContextAllocExtended(context_, bytes ? bytes : 1,
                                         MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, size_t, size_t) override { pfree(p); }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  MemoryContext context_;
};

}  // namespace ltv::pg
