// Bulk loading through Postgres's own COPY FROM machinery (multi-insert, index maintenance,
// constraints, triggers), fed from memory instead of a client connection.
#pragma once

#include "pg/guard.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ltv::pg {

// Produces the next piece of COPY text (appending to `chunk`); returns false when done.
// May throw: the exception is carried out of COPY and re-thrown by CopyIntoTable.
using CopyChunkProducer = std::function<bool(std::string& chunk)>;

// COPY text format (tab-separated, UTF-8) into `relid`'s `columns`. Returns rows inserted.
// Checks the current user's INSERT privilege on the table.
uint64_t CopyIntoTable(Oid relid, const std::vector<const char*>& columns,
                       const CopyChunkProducer& producer);
uint64_t CopyIntoTable(Oid relid, const std::vector<const char*>& columns, std::string_view data);

}  // namespace ltv::pg
