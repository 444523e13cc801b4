#include "core/dataset_options.h"

#include <algorithm>

#include "core/error.h"

namespace ltv {

DatasetOptions TakeDatasetOptions(json::Value& options) {
  if (options.is_null()) options = json::Value::MakeObject();
  if (!options.is_object())
    throw Error(ErrorKind::kInvalidParameter, "options must be a JSON object");
  DatasetOptions out;
  json::OptionReader reader(options, "option");
  out.replace = reader.Bool("replace", out.replace);
  out.freeze = reader.Bool("freeze", out.freeze);
  auto& fields = options.as_object();
  fields.erase(
      std::remove_if(fields.begin(), fields.end(),
                     [](const auto& f) { return f.first == "replace" || f.first == "freeze"; }),
      fields.end());
  return out;
}

}  // namespace ltv
