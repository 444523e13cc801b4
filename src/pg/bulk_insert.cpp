#include "pg/bulk_insert.h"

#include "pg/convert.h"

#include <cstring>
#include <new>
#include <string>

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace ltv::pg {

namespace {

// Rows and text bytes per table_multi_insert call, as COPY FROM batches them.
constexpr size_t kBatchRows = 1000;
constexpr size_t kBatchBytes = 1 << 20;

}  // namespace

BulkInserter::BulkInserter(Oid relid, const std::vector<const char*>& columns,
                           const std::vector<Oid>& types, bool freeze)
    : attribute_of_column_(columns.size()) {
  PgCall([&] {
    if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
      aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
    relation_ = table_open(relid, RowExclusiveLock);
    const char* name = RelationGetRelationName(relation_);
    // Rows go in as they are: only a plain table with nothing to check or maintain per row
    // qualifies (see the header). Its CHECK constraints are the caller's to honour.
    if (relation_->rd_rel->relkind != RELKIND_RELATION || relation_->rd_rel->relhasindex ||
        relation_->trigdesc != nullptr || relation_->rd_rel->relhasrules)
      elog(ERROR,
           "retail_ltv: table \"%s\" cannot be bulk loaded (it has indexes, triggers or "
           "rules, or is not a plain table)",
           name);
    TupleDesc desc = RelationGetDescr(relation_);
    int live_attributes = 0;
    for (int a = 0; a < desc->natts; ++a) live_attributes += !TupleDescAttr(desc, a)->attisdropped;
    if (live_attributes != static_cast<int>(columns.size()))
      elog(ERROR, "retail_ltv: bulk load of \"%s\" must fill all of its %d columns", name,
           live_attributes);
    for (size_t i = 0; i < columns.size(); ++i) {
      AttrNumber attnum = get_attnum(relid, columns[i]);
      if (attnum <= 0 || TupleDescAttr(desc, attnum - 1)->atttypid != types[i])
        elog(ERROR, "retail_ltv: table \"%s\" has no column \"%s\" of the expected type", name,
             columns[i]);
      attribute_of_column_[i] = attnum - 1;
    }
    // A table created by this transaction is not in the free space map yet: searching it only
    // costs time (COPY FROM skips it too).
    if (relation_->rd_createSubid != InvalidSubTransactionId ||
        relation_->rd_firstRelfilenodeSubid != InvalidSubTransactionId)
      table_options_ |= TABLE_INSERT_SKIP_FSM;
    // Rows go in frozen under COPY FREEZE's conditions: the table was created by this very
    // subtransaction (if it aborts, the table goes with it), and this transaction has no
    // earlier snapshot or open cursor that could see them. The pages are then marked
    // all-visible as they are written, so the first reader does not rewrite every page to set
    // hint bits (420 MB of writes during the first feature scan of a million customers), and
    // autovacuum finds nothing to do on the new partition. As with COPY FREEZE, a REPEATABLE
    // READ or SERIALIZABLE transaction of another session whose snapshot predates the
    // import's commit sees the partition's rows once the import commits (README); the import
    // option "freeze": false stores them the ordinary way.
    if (freeze && relation_->rd_createSubid == GetCurrentSubTransactionId()) {
      InvalidateCatalogSnapshot();
      if (ThereAreNoPriorRegisteredSnapshots() && ThereAreNoReadyPortals())
        table_options_ |= TABLE_INSERT_FROZEN;
    }
    database_is_utf8_ = GetDatabaseEncoding() == PG_UTF8;
    batch_context_ = AllocSetContextCreate(CurrentMemoryContext, "retail_ltv bulk insert batch",
                                           ALLOCSET_DEFAULT_SIZES);
    bulk_state_ = GetBulkInsertState();
    slots_.resize(kBatchRows);
    for (TupleTableSlot*& slot : slots_) {
      slot = table_slot_create(relation_, nullptr);
      for (int a = 0; a < desc->natts; ++a) slot->tts_isnull[a] = true;  // dropped columns
      for (int attribute : attribute_of_column_) slot->tts_isnull[attribute] = false;
    }
  });
  row_values_.resize(columns.size());
}

// Nothing is released here: on success Finish() did it, and on an error the aborting
// (sub)transaction releases the relation, buffers and memory, as for any failed statement.
BulkInserter::~BulkInserter() = default;

void BulkInserter::SetTimestamp(int i, TimestampMicros unix_micros) {
  // (The second test only runs when the first shows the subtraction cannot overflow.)
  if (unix_micros < MIN_TIMESTAMP + kPostgresEpochOffsetMicros ||
      unix_micros - kPostgresEpochOffsetMicros >= END_TIMESTAMP)
    throw Error(ErrorKind::kInvalidInput, "timestamp out of range: " + std::to_string(unix_micros) +
                                              " microseconds since 1970-01-01");
  Row()[i] = TimestampGetDatum(ToPgTime(unix_micros));
}

void BulkInserter::SetText(int i, std::string_view utf8) {
  const char* bytes = utf8.data();
  size_t length = utf8.size();
  if (!database_is_utf8_) {
    // Converts (or errors on a character the database encoding cannot hold, as COPY would).
    char* converted = PgCall([&] {
      MemoryContext old = MemoryContextSwitchTo(batch_context_);
      char* result = pg_any_to_server(bytes, static_cast<int>(length), PG_UTF8);
      MemoryContextSwitchTo(old);
      return result;
    });
    if (converted != bytes) {  // unchanged input comes back as it was, unterminated
      bytes = converted;
      length = std::strlen(converted);
    }
  }
  // (An allocation of 1 GB or more errors even with MCXT_ALLOC_NO_OOM, and must not longjmp
  // from here: a file of up to 16 GB can hold such a field.)
  if (length > MaxAllocSize - VARHDRSZ)
    throw Error(
        ErrorKind::kLimitExceeded,
        "a value of " + std::to_string(length) + " bytes for column \"" +
            NameStr(TupleDescAttr(RelationGetDescr(relation_), attribute_of_column_[i])->attname) +
            "\" is over PostgreSQL's limit of 1 GB for a text value");
  void* memory = MemoryContextAllocExtended(batch_context_, VARHDRSZ + length, MCXT_ALLOC_NO_OOM);
  if (!memory) throw std::bad_alloc();
  text* value = static_cast<text*>(memory);
  SET_VARSIZE(value, VARHDRSZ + length);
  std::memcpy(VARDATA(value), bytes, length);
  batch_bytes_ += length;
  Row()[i] = PointerGetDatum(value);
}

void BulkInserter::EndRow() {
  TupleTableSlot* slot = slots_[batch_rows_];
  for (size_t i = 0; i < row_values_.size(); ++i)
    slot->tts_values[attribute_of_column_[i]] = row_values_[i];
  ExecStoreVirtualTuple(slot);
  if (++batch_rows_ == kBatchRows || batch_bytes_ >= kBatchBytes) Flush();
}

void BulkInserter::Flush() {
  if (batch_rows_ == 0) return;
  PgCall([&] {
    // Tuples are formed (and toasted) in the batch context, freed with the batch.
    MemoryContext old = MemoryContextSwitchTo(batch_context_);
    table_multi_insert(relation_, slots_.data(), static_cast<int>(batch_rows_),
                       GetCurrentCommandId(true), table_options_, bulk_state_);
    MemoryContextSwitchTo(old);
    for (size_t k = 0; k < batch_rows_; ++k) ExecClearTuple(slots_[k]);
    MemoryContextReset(batch_context_);
    CHECK_FOR_INTERRUPTS();
  });
  rows_inserted_ += batch_rows_;
  batch_rows_ = 0;
  batch_bytes_ = 0;
}

uint64_t BulkInserter::Finish() {
  if (relation_ == nullptr) return rows_inserted_;
  Flush();
  PgCall([&] {
    for (TupleTableSlot* slot : slots_) ExecDropSingleTupleTableSlot(slot);
    FreeBulkInsertState(bulk_state_);
    table_finish_bulk_insert(relation_, table_options_);
    MemoryContextDelete(batch_context_);
    table_close(relation_, NoLock);  // the lock is kept until the end of the transaction
  });
  relation_ = nullptr;
  slots_.clear();
  return rows_inserted_;
}

}  // namespace ltv::pg
