#include "pg/copy_loader.h"

#include <cstring>
#include <exception>

extern "C" {
#include "access/table.h"
#include "commands/copy.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/rel.h"
}

namespace ltv::pg {

namespace {

// COPY's data callback takes no user argument, so the active source lives here. One COPY
// runs at a time per backend; the source is reset before and after each use.
struct ActiveSource {
  const CopyChunkProducer* producer = nullptr;
  std::string* chunk = nullptr;
  size_t offset = 0;
  bool exhausted = false;
  std::exception_ptr error;  // a producer exception, re-thrown after COPY unwinds
};
ActiveSource active_source;

// Copies up to `maxread` bytes into `outbuf`; -1 when the producer threw. Never throws.
int FillFromSource(void* outbuf, int minread, int maxread) noexcept {
  ActiveSource& src = active_source;
  int written = 0;
  try {
    while (written < minread || written == 0) {
      if (src.offset >= src.chunk->size()) {
        if (src.exhausted) break;
        src.chunk->clear();
        src.offset = 0;
        if (!(*src.producer)(*src.chunk)) src.exhausted = true;
        continue;
      }
      size_t n = std::min(static_cast<size_t>(maxread - written), src.chunk->size() - src.offset);
      std::memcpy(static_cast<char*>(outbuf) + written, src.chunk->data() + src.offset, n);
      src.offset += n;
      written += static_cast<int>(n);
      if (written >= maxread) break;
    }
  } catch (...) {
    src.error = std::current_exception();
    return -1;
  }
  return written;
}

extern "C" int CopySourceCallback(void* outbuf, int minread, int maxread) {
  int n = FillFromSource(outbuf, minread, maxread);
  if (n < 0) ereport(ERROR, (errmsg("retail_ltv: row producer failed")));
  return n;
}

}  // namespace

uint64_t CopyIntoTable(Oid relid, const std::vector<const char*>& columns,
                       const CopyChunkProducer& producer) {
  std::string chunk;
  active_source = ActiveSource{&producer, &chunk, 0, false, nullptr};
  uint64_t rows = 0;
  try {
    rows = PgCall([&]() -> uint64 {
      if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
        aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
      Relation rel = table_open(relid, RowExclusiveLock);
      // CopyFrom sets up its result relation from the parse state's range table, as for a
      // COPY statement.
      ParseState* pstate = make_parsestate(nullptr);
      addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, nullptr, false, false);
      List* attnames = NIL;
      for (const char* column : columns) attnames = lappend(attnames, makeString(pstrdup(column)));
      List* options = list_make1(makeDefElem(
          pstrdup("encoding"), reinterpret_cast<Node*>(makeString(pstrdup("UTF8"))), -1));
      CopyFromState cstate = BeginCopyFrom(pstate, rel, nullptr, nullptr, false, CopySourceCallback,
                                           attnames, options);
      uint64 processed = CopyFrom(cstate);
      EndCopyFrom(cstate);
      table_close(rel, NoLock);
      free_parsestate(pstate);
      return processed;
    });
  } catch (const PgException&) {
    std::exception_ptr producer_error = active_source.error;
    active_source = ActiveSource{};
    if (producer_error) std::rethrow_exception(producer_error);
    throw;
  }
  active_source = ActiveSource{};
  return rows;
}

uint64_t CopyIntoTable(Oid relid, const std::vector<const char*>& columns, std::string_view data) {
  // Hand the buffer over in 1 MB pieces rather than copying it whole.
  constexpr size_t kPiece = 1 << 20;
  size_t offset = 0;
  CopyChunkProducer pieces = [&](std::string& chunk) {
    if (offset >= data.size()) return false;
    size_t n = std::min(kPiece, data.size() - offset);
    chunk.assign(data.data() + offset, n);
    offset += n;
    return true;
  };
  return CopyIntoTable(relid, columns, pieces);
}

}  // namespace ltv::pg
