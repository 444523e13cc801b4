// Decoded models, most recently used first, bounded by ltv.model_cache_entries.
#include "pg/model_cache.h"

#include <cstring>
#include <list>
#include <utility>

#include "core/forest/model_format.h"
#include "core/hashes.h"
#include "pg/settings.h"

namespace ltv::pg {
namespace {

// A blob in memory is keyed by its size and a 64-bit hash of every byte (ContentHash64).
// A blob that differs anywhere gets another key, so a changed or corrupt model is never
// served from the cache. Only a deliberately crafted hash collision could alias two models;
// that yields a wrong prediction for the crafted blob, never unsafe memory access.
struct ContentKey {
  size_t size = 0;
  uint64_t hash = 0;
  bool operator==(const ContentKey& o) const { return size == o.size && hash == o.hash; }
};

ContentKey KeyOf(const uint8_t* data, size_t size) {
  return ContentKey{size, ContentHash64(data, size)};
}

// A value stored out of line is identified by its TOAST table and value OID: Postgres never
// changes a stored value in place (an UPDATE writes a new value with a new OID), and an OID
// is only reused after the value was deleted and the OID counter wrapped around.
struct ToastKey {
  Oid toast_relid = InvalidOid;
  Oid value_id = InvalidOid;
  int32 raw_size = 0;
  bool operator==(const ToastKey& o) const {
    return toast_relid == o.toast_relid && value_id == o.value_id && raw_size == o.raw_size;
  }
};

struct Entry {
  ContentKey content;
  ToastKey toast;  // toast_relid InvalidOid when the model was only seen in memory
  std::shared_ptr<const forest::Forest> model;
};

std::list<Entry> cache;
uint64_t decodes = 0;

void Remember(Entry entry) {
  if (model_cache_entries <= 0) return;
  cache.push_front(std::move(entry));
  while (cache.size() > static_cast<size_t>(model_cache_entries)) cache.pop_back();
}

template <typename Match>
std::shared_ptr<const forest::Forest> Find(Match match) {
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    if (match(*it)) {
      cache.splice(cache.begin(), cache, it);  // most recent first
      return it->model;
    }
  }
  return nullptr;
}

}  // namespace

std::shared_ptr<const forest::Forest> LoadModel(const uint8_t* data, size_t size) {
  ContentKey key = KeyOf(data, size);
  if (auto hit = Find([&](const Entry& e) { return e.content == key; })) return hit;
  auto model = std::make_shared<const forest::Forest>(forest::Deserialize(data, size));
  ++decodes;
  Remember(Entry{key, ToastKey{}, model});
  return model;
}

std::shared_ptr<const forest::Forest> LoadModelDatum(Datum datum) {
  auto* raw = reinterpret_cast<struct varlena*>(DatumGetPointer(datum));
  ToastKey toast;
  if (VARATT_IS_EXTERNAL_ONDISK(raw)) {
    varatt_external pointer;
    VARATT_EXTERNAL_GET_POINTER(pointer, raw);
    toast = ToastKey{pointer.va_toastrelid, pointer.va_valueid, pointer.va_rawsize};
    if (auto hit = Find([&](const Entry& e) { return e.toast == toast; })) return hit;
  }
  struct varlena* plain = PgCall([&] { return pg_detoast_datum_packed(raw); });
  auto model =
      LoadModel(reinterpret_cast<const uint8_t*>(VARDATA_ANY(plain)), VARSIZE_ANY_EXHDR(plain));
  if (toast.toast_relid != InvalidOid) {
    // Tag the entry LoadModel just found or made with the TOAST identity as well.
    for (Entry& e : cache)
      if (e.model == model) {
        e.toast = toast;
        break;
      }
  }
  if (plain != raw) pfree(plain);
  return model;
}

uint64_t ModelDecodes() { return decodes; }

}  // namespace ltv::pg
