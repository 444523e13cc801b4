// Per-backend cache of decoded forest models, so that per-row rf_predict calls (and repeated
// pipeline stages) do not decode and validate the same model bytea again.
#pragma once

#include "pg/guard.h"

#include <cstdint>
#include <memory>

#include "core/forest/forest.h"

namespace ltv::pg {

// The decoded model of a blob already in memory (keyed by size and a hash of every byte).
std::shared_ptr<const forest::Forest> LoadModel(const uint8_t* data, size_t size);

// The decoded model of a bytea datum as passed to a function, possibly still TOASTed. A value
// stored out of line in a table (the usual case for a model read from ltv.models) is keyed by
// its TOAST pointer, so a hit costs neither the detoasting nor the hash of the whole blob.
// Calls Postgres (through PgCall) to detoast; use inside a guarded body.
std::shared_ptr<const forest::Forest> LoadModelDatum(Datum model);

// How many blobs this backend has decoded (rf_info reports it; tests use it).
uint64_t ModelDecodes();

}  // namespace ltv::pg
