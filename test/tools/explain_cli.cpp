// Per-row cost of exact TreeSHAP (core/explain) on a stored model:
//   explain_cli MODEL.bin ROWS.csv [N_ROWS] [THREADS]
// MODEL.bin is a model bytea (e.g. `psql -At -c "SELECT encode(model,'hex') ..." | xxd -r -p`),
// ROWS.csv one comma-separated input vector per line (the reference population and the rows
// explained: the first N_ROWS). Prints seconds for the covers and for the rows.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/explain/tree_shap.h"
#include "core/forest/model_format.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: explain_cli MODEL.bin ROWS.csv [N_ROWS] [THREADS]\n");
    return 2;
  }
  std::ifstream model_file(argv[1], std::ios::binary);
  const std::vector<uint8_t> blob((std::istreambuf_iterator<char>(model_file)), {});
  const ltv::forest::Forest forest = ltv::forest::Deserialize(blob.data(), blob.size());
  std::vector<double> rows;
  size_t n_rows = 0;
  std::ifstream rows_file(argv[2]);
  for (std::string line; std::getline(rows_file, line); ++n_rows) {
    std::stringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) rows.push_back(std::stod(cell));
  }
  const size_t width = static_cast<size_t>(forest.n_features());
  const size_t explain_rows = argc > 3 ? std::min<size_t>(std::stoul(argv[3]), n_rows) : n_rows;
  const int threads = argc > 4 ? std::stoi(argv[4]) : 1;
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  ltv::explain::TreeExplainer explainer(
      forest, ltv::explain::NodeShares::FromRows(forest, rows.data(), n_rows, width, threads));
  const auto t1 = Clock::now();
  std::vector<double> out(explain_rows * forest.n_classes() * width);
  explainer.ExplainInto(rows.data(), explain_rows, width, out.data(), threads);
  const auto t2 = Clock::now();
  const double covers = std::chrono::duration<double>(t1 - t0).count();
  const double explain = std::chrono::duration<double>(t2 - t1).count();
  double checksum = 0;
  for (double x : out) checksum += x;
  std::printf(
      "trees %zu, reference rows %zu, explained %zu on %d thread(s): covers %.3f s, "
      "explain %.3f s (%.2f ms per row), checksum %.17g\n",
      forest.trees().size(), n_rows, explain_rows, threads, covers, explain,
      1000 * explain / explain_rows, checksum);
}
