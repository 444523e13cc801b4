// Command-line driver for the forest engine, for benchmarks and for building fuzz corpora.
//
//   forest_cli generate ROWS FEATURES INFORMATIVE CLASSES SEED OUT.csv
//       writes a synthetic data set (header f0..fN-1,label)
//   forest_cli bench TRAIN.csv TEST.csv PARAMS_JSON [REPEATS] [PREDICT_THREADS]
//       trains REPEATS times, predicts the test set, prints one JSON line with the median
//       train seconds, batch predict rows/s, test macro F1 / accuracy and OOB scores
//   forest_cli train TRAIN.csv PARAMS_JSON MODEL.bin
//   forest_cli predict MODEL.bin TEST.csv        prints test macro F1 and accuracy
//   forest_cli predict-bench MODEL.bin TEST.csv REPEATS THREADS
//                                                prints the median batch predict seconds
//   forest_cli info MODEL.bin                    prints Info() JSON
//   forest_cli corpus DIR                        writes a few small valid models
//
// CSV files are numeric with a header; the column named "label" holds classes 0..K-1 and
// every other column is a feature.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/forest/forest.h"
#include "support/forest_batch.h"
#include "core/forest/metrics.h"
#include "core/forest/model_format.h"
#include "support/synthetic.h"
#include "core/forest/train.h"

using namespace ltv::forest;

namespace {

struct Table {
  std::vector<std::string> feature_names;
  std::vector<double> values;
  std::vector<int> labels;
  size_t n_rows() const { return labels.size(); }
  size_t n_features() const { return feature_names.size(); }
};

Table ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  Table t;
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      header.push_back(cell);
    }
  }
  const auto label_it = std::find(header.begin(), header.end(), "label");
  if (label_it == header.end()) throw std::runtime_error(path + " has no \"label\" column");
  const size_t label_col = label_it - header.begin();
  for (size_t i = 0; i < header.size(); ++i)
    if (i != label_col) t.feature_names.push_back(header[i]);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const char* p = line.c_str();
    for (size_t col = 0; col < header.size(); ++col) {
      char* end = nullptr;
      const double v = std::strtod(p, &end);
      if (col == label_col) {
        t.labels.push_back(static_cast<int>(v));
      } else {
        t.values.push_back(v);
      }
      p = (*end == ',') ? end + 1 : end;
    }
  }
  return t;
}

void WriteCsv(const std::string& path, const SyntheticData& d) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  for (size_t j = 0; j < d.n_features; ++j) std::fprintf(f, "f%zu,", j);
  std::fprintf(f, "label\n");
  for (size_t r = 0; r < d.n_rows; ++r) {
    for (size_t j = 0; j < d.n_features; ++j)
      std::fprintf(f, "%.17g,", d.values[r * d.n_features + j]);
    std::fprintf(f, "%d\n", d.labels[r]);
  }
  std::fclose(f);
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

Forest TrainOn(const Table& t, const std::string& params_json) {
  TrainingSet set(t.n_features());
  set.AddRows(t.values.data(), t.labels.data(), t.n_rows());
  ltv::json::Value params = ltv::json::Parse(params_json);
  if (!params.Find("feature_names")) {
    ltv::json::Value names = ltv::json::Value::MakeArray();
    for (const auto& n : t.feature_names) names.Push(n);
    params.Set("feature_names", std::move(names));
  }
  return Train(set, ParseForestParams(params), ltv::CancelCheck::None());
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Peak resident set of this process in MB (VmHWM: this program's own memory, not counting the
// process that started it, which ru_maxrss would include after fork + exec).
double PeakRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// CPU time of the whole process (all threads): less sensitive than wall time to other
// programs on a shared machine, for comparing versions of the engine.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int Bench(const std::string& train_path, const std::string& test_path, const std::string& params,
          int repeats, int predict_threads) {
  const Table train = ReadCsv(train_path);
  const Table test = ReadCsv(test_path);
  std::vector<double> train_times, train_cpu_times, predict_times;
  Forest forest;
  for (int i = 0; i < repeats; ++i) {
    forest = Forest();  // the peak RSS is that of one training, not two forests
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = CpuSeconds();
    forest = TrainOn(train, params);
    train_times.push_back(Seconds(start));
    train_cpu_times.push_back(CpuSeconds() - cpu_start);
  }
  std::vector<int> predicted;
  for (int i = 0; i < std::max(repeats, 3); ++i) {
    const auto start = std::chrono::steady_clock::now();
    predicted = PredictBatch(forest, test.values.data(), test.n_rows(), test.n_features(),
                             DecisionRule::kArgmax, predict_threads);
    predict_times.push_back(Seconds(start));
  }
  const int n_classes = forest.n_classes();
  std::vector<int> truth = test.labels;
  for (int& y : truth) y = std::min(y, n_classes - 1);
  const ConfusionMatrix cm(truth.data(), predicted.data(), truth.size(), n_classes);
  const std::vector<int> tuned = PredictBatch(forest, test.values.data(), test.n_rows(),
                                              test.n_features(), DecisionRule::kTuned, 1);
  const ConfusionMatrix cm_tuned(truth.data(), tuned.data(), truth.size(), n_classes);
  const double predict_s = Median(predict_times);
  std::printf(
      "{\"train_seconds\": %.4f, \"train_cpu_seconds\": %.4f, \"predict_seconds\": %.5f, "
      "\"predict_rows_per_s\": %.1f, "
      "\"macro_f1\": %.5f, \"accuracy\": %.5f, \"macro_f1_tuned\": %.5f, \"oob_macro_f1\": %.5f, "
      "\"oob_macro_f1_tuned\": %.5f, \"model_bytes\": %zu, \"threads\": %d, \"peak_rss_mb\": "
      "%.1f}\n",
      Median(train_times), Median(train_cpu_times), predict_s,
      static_cast<double>(test.n_rows()) / predict_s, MacroF1(cm), Accuracy(cm), MacroF1(cm_tuned),
      forest.summary().oob_macro_f1, forest.summary().oob_macro_f1_tuned, Serialize(forest).size(),
      forest.params().ResolveThreads(), PeakRssMb());
  return 0;
}

int Corpus(const std::string& dir) {
  struct Spec {
    size_t rows, features;
    int classes;
    const char* params;
  };
  const Spec specs[] = {
      {60, 3, 2, R"({"n_trees": 2, "max_depth": 3})"},
      {80, 4, 3, R"({"n_trees": 3, "class_weight": "balanced", "decision": "tuned"})"},
      {40, 2, 4, R"({"n_trees": 1, "max_features": "all", "min_samples_leaf": 5})"},
      {50, 5, 1, R"({"n_trees": 2})"},
      {100, 3, 2, R"({"n_trees": 2, "bootstrap": false, "class_weight": [1, 3], "max_bins": 8})"},
  };
  int i = 0;
  for (const Spec& s : specs) {
    const SyntheticData d = MakeSynthetic(s.rows, s.features, s.features, s.classes, 7 + i);
    TrainingSet set(d.n_features);
    set.AddRows(d.values.data(), d.labels.data(), d.n_rows);
    const Forest forest =
        Train(set, ParseForestParams(std::string(s.params)), ltv::CancelCheck::None());
    WriteFile(dir + "/model_" + std::to_string(i++) + ".bin", Serialize(forest));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const std::string cmd = args.empty() ? "" : args[0];
    if (cmd == "generate" && args.size() == 7) {
      const SyntheticData d =
          MakeSynthetic(std::stoul(args[1]), std::stoul(args[2]), std::stoul(args[3]),
                        std::stoi(args[4]), std::stoull(args[5]));
      WriteCsv(args[6], d);
      return 0;
    }
    if (cmd == "bench" && args.size() >= 4)
      return Bench(args[1], args[2], args[3], args.size() > 4 ? std::stoi(args[4]) : 3,
                   args.size() > 5 ? std::stoi(args[5]) : 1);
    if (cmd == "train" && args.size() == 4) {
      WriteFile(args[3], Serialize(TrainOn(ReadCsv(args[1]), args[2])));
      return 0;
    }
    if (cmd == "predict" && args.size() == 3) {
      const std::vector<uint8_t> blob = ReadFile(args[1]);
      const Forest forest = Deserialize(blob.data(), blob.size());
      const Table test = ReadCsv(args[2]);
      const std::vector<int> pred = PredictBatch(forest, test.values.data(), test.n_rows(),
                                                 test.n_features(), forest.params().decision);
      const ConfusionMatrix cm(test.labels.data(), pred.data(), pred.size(), forest.n_classes());
      std::printf("{\"macro_f1\": %.5f, \"accuracy\": %.5f}\n", MacroF1(cm), Accuracy(cm));
      return 0;
    }
    if (cmd == "predict-bench" && args.size() == 5) {
      const std::vector<uint8_t> blob = ReadFile(args[1]);
      const Forest forest = Deserialize(blob.data(), blob.size());
      const Table test = ReadCsv(args[2]);
      std::vector<double> times;
      for (int i = 0; i < std::stoi(args[3]); ++i) {
        const auto start = std::chrono::steady_clock::now();
        PredictBatch(forest, test.values.data(), test.n_rows(), test.n_features(),
                     DecisionRule::kArgmax, std::stoi(args[4]));
        times.push_back(Seconds(start));
      }
      std::printf("{\"predict_seconds\": %.5f, \"rows_per_s\": %.1f}\n", Median(times),
                  static_cast<double>(test.n_rows()) / Median(times));
      return 0;
    }
    if (cmd == "info" && args.size() == 2) {
      const std::vector<uint8_t> blob = ReadFile(args[1]);
      std::printf("%s\n", Info(Deserialize(blob.data(), blob.size())).Dump().c_str());
      return 0;
    }
    if (cmd == "corpus" && args.size() == 2) return Corpus(args[1]);
    std::fprintf(stderr, "usage: see the comment at the top of test/tools/forest_cli.cpp\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
