// SQL entry points of the random forest: the rf_train aggregate (parallel-safe, over the core's
// TrainingRows), rf_predict / rf_predict_proba with a per-backend cache of decoded models, and
// rf_info.
#include "pg/guard.h"

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/forest/forest.h"
#include "core/forest/model_format.h"
#include "core/forest/params.h"
#include "core/forest/train.h"
#include "core/forest/training_rows.h"
#include "pg/aggregate.h"
#include "pg/convert.h"
#include "pg/model_cache.h"
#include "pg/settings.h"

extern "C" {
PG_FUNCTION_INFO_V1(ltv_rf_train_transfn);
PG_FUNCTION_INFO_V1(ltv_rf_train_combinefn);
PG_FUNCTION_INFO_V1(ltv_rf_train_serialfn);
PG_FUNCTION_INFO_V1(ltv_rf_train_deserialfn);
PG_FUNCTION_INFO_V1(ltv_rf_train_finalfn);
PG_FUNCTION_INFO_V1(ltv_rf_predict);
PG_FUNCTION_INFO_V1(ltv_rf_predict_proba);
PG_FUNCTION_INFO_V1(ltv_rf_info);
PG_FUNCTION_INFO_V1(ltv_rf_check_params);
PG_FUNCTION_INFO_V1(ltv_rf_feature_names);
}

namespace ltv::pg {
namespace {

// The rf_train aggregate's state: the core's row collection, on the C++ heap. A reset callback
// on the aggregate's memory context deletes it, so it is freed on success, error and cancel
// alike.
struct TrainState {
  ltv::forest::TrainingRows rows;
  MemoryContextCallback callback;

  explicit TrainState(ltv::forest::TrainingRows r) : rows(std::move(r)) {}
};

void DeleteTrainState(void* arg) { delete static_cast<TrainState*>(arg); }

TrainState* NewTrainState(MemoryContext context, ltv::forest::TrainingRows rows) {
  auto* state = new TrainState(std::move(rows));
  state->callback.func = DeleteTrainState;
  state->callback.arg = state;
  // Registration only links a struct into the context: it cannot fail or throw.
  MemoryContextRegisterResetCallback(context, &state->callback);
  return state;
}

constexpr const char* kTrain = "ltv.rf_train";

ltv::forest::TrainingLimits Limits() {
  ltv::forest::TrainingLimits limits;
  limits.max_rows = static_cast<size_t>(max_training_rows);
  limits.hint = "Raise the limit with SET ltv.max_training_rows, or train on a sample.";
  return limits;
}

}  // namespace
}  // namespace ltv::pg

using namespace ltv::pg;

// transfn(state, features float8[], label int, params jsonb)
extern "C" Datum ltv_rf_train_transfn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_rf_train_transfn");
  auto* state = StateArg<TrainState>(fcinfo, 0);
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_train: features must not be NULL")));
  if (PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("ltv.rf_train: label must not be NULL")));
  ArrayType* features = PG_GETARG_ARRAYTYPE_P(1);
  int32 label = PG_GETARG_INT32(2);
  char* params = nullptr;
  if (!state)
    params =
        PG_ARGISNULL(3) ? pstrdup("{}") : JsonbToCString(nullptr, &PG_GETARG_JSONB_P(3)->root, 0);
  LTV_GUARDED({
    if (!state) {
      ltv::forest::ParseForestParams(std::string(params));  // report bad parameters at once
      state = NewTrainState(context, ltv::forest::TrainingRows(kTrain, params, Limits()));
    }
    const DoubleValues row = DoubleArrayValues(features, "ltv.rf_train: features");
    state->rows.Add(row.data, row.size, label);
    return PointerGetDatum(state);
  });
}

extern "C" Datum ltv_rf_train_combinefn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_rf_train_combinefn");
  auto* left = StateArg<TrainState>(fcinfo, 0);
  auto* right = StateArg<TrainState>(fcinfo, 1);
  if (!right) PG_RETURN_POINTER(left);
  LTV_GUARDED({
    if (!left)
      left = NewTrainState(context,
                           ltv::forest::TrainingRows(kTrain, right->rows.params_json(), Limits()));
    left->rows.Merge(right->rows);
    return PointerGetDatum(left);
  });
}

// Partial states: TrainingRows' bytes.
extern "C" Datum ltv_rf_train_serialfn(PG_FUNCTION_ARGS) {
  auto* state = reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
  LTV_GUARDED({
    bytea* out = AllocateBytea(state->rows.SerializedSize());
    state->rows.SerializeInto(reinterpret_cast<uint8_t*>(VARDATA(out)));
    return PointerGetDatum(out);
  });
}

extern "C" Datum ltv_rf_train_deserialfn(PG_FUNCTION_ARGS) {
  MemoryContext context = AggregateContext(fcinfo, "ltv_rf_train_deserialfn");
  bytea* bytes = PG_GETARG_BYTEA_PP(0);
  LTV_GUARDED({
    return PointerGetDatum(NewTrainState(
        context,
        ltv::forest::TrainingRows::Deserialize(reinterpret_cast<const uint8_t*>(VARDATA_ANY(bytes)),
                                               VARSIZE_ANY_EXHDR(bytes), kTrain, Limits())));
  });
}

extern "C" Datum ltv_rf_train_finalfn(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0))
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ltv.rf_train: no training rows"),
             errhint("The query feeding ltv.rf_train returned no rows.")));
  auto* state = reinterpret_cast<TrainState*>(PG_GETARG_POINTER(0));
  LTV_GUARDED({
    ltv::forest::ForestParams params = ltv::forest::ParseForestParams(state->rows.params_json());
    // The rows move into the set (the state is left empty), in canonical order.
    std::optional<ltv::forest::TrainingSet> set(std::in_place, state->rows.TakeCanonical());
    ltv::CancelCheck cancel = MakeCancelCheck();
    // The rows are freed once trained and the model is written straight into the result
    // bytea, so the peak is the model plus its bytes rather than the rows + model + bytes
    // (large forests are hundreds of MB).
    bytea* result = nullptr;
    {
      ltv::forest::Forest model = ltv::forest::Train(*set, params, cancel);
      set.reset();
      ltv::forest::SerializeInto(
          model,
          [&](size_t size) {
            result = AllocateBytea(size);
            return reinterpret_cast<uint8_t*>(VARDATA(result));
          },
          params.ResolveThreads(), cancel);
    }
    return PointerGetDatum(result);
  });
}

namespace {

struct PredictArgs {
  Datum model;  // possibly still TOASTed: LoadModelDatum keys stored models by TOAST pointer
  ArrayType* features;
};

// NULL model or features give NULL, as for any strict function.
bool FetchPredictArgs(FunctionCallInfo fcinfo, PredictArgs& args) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) return false;
  args.model = PG_GETARG_DATUM(0);
  args.features = PG_GETARG_ARRAYTYPE_P(1);
  return true;
}

std::shared_ptr<const ltv::forest::Forest> ModelOf(const PredictArgs& args) {
  return LoadModelDatum(args.model);
}

}  // namespace

extern "C" Datum ltv_rf_predict(PG_FUNCTION_ARGS) {
  PredictArgs args;
  if (!FetchPredictArgs(fcinfo, args)) PG_RETURN_NULL();
  LTV_GUARDED({
    auto model = ModelOf(args);
    const DoubleValues row = DoubleArrayValues(args.features, "features");
    return Int32GetDatum(model->Predict(row.data, row.size));
  });
}

extern "C" Datum ltv_rf_predict_proba(PG_FUNCTION_ARGS) {
  PredictArgs args;
  if (!FetchPredictArgs(fcinfo, args)) PG_RETURN_NULL();
  LTV_GUARDED({
    auto model = ModelOf(args);
    const DoubleValues row = DoubleArrayValues(args.features, "features");
    std::vector<double> proba(static_cast<size_t>(model->n_classes()));
    model->PredictProba(row.data, row.size, proba.data());
    return PointerGetDatum(MakeDoubleArray(proba.data(), proba.size()));
  });
}

extern "C" Datum ltv_rf_info(PG_FUNCTION_ARGS) {
  bytea* blob = PG_GETARG_BYTEA_PP(0);
  char* info = nullptr;
  ltv::pg::Guarded([&]() -> int {
    auto model =
        LoadModel(reinterpret_cast<const uint8_t*>(VARDATA_ANY(blob)), VARSIZE_ANY_EXHDR(blob));
    ltv::json::Value value = ltv::forest::Info(*model);
    value.Set("model_bytes", static_cast<int64_t>(VARSIZE_ANY_EXHDR(blob)));
    value.Set("backend_decodes", static_cast<int64_t>(ModelDecodes()));
    std::string text = value.Dump();
    info = static_cast<char*>(PgCall([&] { return palloc(text.size() + 1); }));
    std::memcpy(info, text.c_str(), text.size() + 1);
    return 0;
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(info)));
}

// rf_check_params(params jsonb) RETURNS jsonb: the parameters with defaults filled in, or the
// error rf_train would raise for them (unknown key, wrong type, value out of range).
extern "C" Datum ltv_rf_check_params(PG_FUNCTION_ARGS) {
  char* params = JsonbToCString(nullptr, &PG_GETARG_JSONB_P(0)->root, 0);
  char* normalized = ltv::pg::Guarded([&]() -> char* {
    std::string text =
        ltv::forest::ToJson(ltv::forest::ParseForestParams(std::string(params))).Dump();
    char* copy = static_cast<char*>(PgCall([&] { return palloc(text.size() + 1); }));
    std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
  });
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(normalized)));
}

// rf_feature_names(model bytea) RETURNS text[]: the names of the features the model was
// trained on, in its input order (through the per-backend model cache).
extern "C" Datum ltv_rf_feature_names(PG_FUNCTION_ARGS) {
  Datum model_datum = PG_GETARG_DATUM(0);
  size_t n = 0;
  char** texts = nullptr;
  ltv::pg::Guarded([&]() -> int {
    auto model = LoadModelDatum(model_datum);
    const auto& feature_names = model->feature_names();
    n = feature_names.size();
    texts = static_cast<char**>(PgCall([&] { return palloc(sizeof(char*) * (n + 1)); }));
    for (size_t i = 0; i < n; ++i) {
      const std::string& name = feature_names[i];
      char* copy = static_cast<char*>(PgCall([&] { return palloc(name.size() + 1); }));
      std::memcpy(copy, name.c_str(), name.size() + 1);
      texts[i] = copy;
    }
    return 0;
  });
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
  for (size_t i = 0; i < n; ++i) datums[i] = CStringGetTextDatum(texts[i]);
  PG_RETURN_ARRAYTYPE_P(
      construct_array(datums, static_cast<int>(n), TEXTOID, -1, false, TYPALIGN_INT));
}
