// Times the CSV import's parse and cleaning alone (no Postgres), for profiling:
//   csv_import_cli FILE [REPEATS] [--background] [--tokenize-thread]
// --background runs it through BackgroundImport, as ltv.import_csv does; --tokenize-thread
// runs libcsv on a thread of its own (ThreadedRecordReader), as ltv.import_csv also does.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "core/csv/background_import.h"
#include "core/csv/csv_import.h"

namespace {

class CountingSink : public ltv::csv::ImportSink {
 public:
  void Loaded(const ltv::Transaction&) override { ++loaded; }
  void Rejected(const ltv::csv::RejectedRow&) override { ++rejected; }
  long loaded = 0, rejected = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [REPEATS] [--background] [--tokenize-thread]\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  const std::string bytes = content.str();
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  bool background = false;
  ltv::csv::ImportOptions options;
  for (int a = 3; a < argc; ++a) {
    background |= std::strcmp(argv[a], "--background") == 0;
    options.tokenize_on_thread |= std::strcmp(argv[a], "--tokenize-thread") == 0;
  }
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    long loaded = 0;
    if (background) {
      ltv::csv::BackgroundImport parse(bytes, options);
      while (!parse.done())
        if (auto batch = parse.Next(std::chrono::milliseconds(20))) loaded += batch->loaded.size();
      parse.TakeReport();
    } else {
      CountingSink sink;
      ltv::csv::ImportCsv(bytes, options, sink);
      loaded = sink.loaded;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("run %d: %ld rows loaded in %.1f ms\n", r + 1, loaded, ms);
  }
  return 0;
}
