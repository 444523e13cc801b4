// The options every dataset load takes besides its source's own (CSV import options,
// generator options): how the dataset is stored. Read with json::OptionReader and taken out
// of the object, so that the source's reader, which rejects unknown keys, sees only its own.
#pragma once

#include "core/json.h"

namespace ltv {

struct DatasetOptions {
  bool replace = false;  // replace an existing dataset of the same name
  bool freeze = true;    // store the rows frozen where COPY FREEZE could
};

// Reads "replace" and "freeze" (true or false) and removes them from `options`; a null
// `options` becomes an empty object. Throws Error(kInvalidParameter) for a non-object or a
// value of the wrong type, naming the option.
DatasetOptions TakeDatasetOptions(json::Value& options);

}  // namespace ltv
