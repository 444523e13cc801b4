// Writes a synthetic retail dataset as UCI-format CSV to stdout:
//   ltv_generate --customers N --seed S [--malformed K] [--options '{"months": 24}'] > file.csv
// Customers are generated and written in chunks, so memory stays flat at any size.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "core/error.h"
#include "core/generator/synthetic_generator.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: ltv_generate --customers N [--seed S] [--malformed K] [--options JSON]\n"
               "  --customers N   number of customers (default 1000)\n"
               "  --seed S        random seed (default 42); same seed, same file\n"
               "  --malformed K   inject K malformed rows (bad field count, date, number)\n"
               "  --options JSON  further generator options, see docs/generator.md\n");
}

int64_t ParseCount(const char* flag, const char* text) {
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || value < 0) {
    std::fprintf(stderr, "ltv_generate: %s needs a non-negative integer, got \"%s\"\n", flag, text);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::string options_text = "{}";
  int64_t customers = 1000, seed = 42, malformed = 0;
  for (int i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    if (std::strcmp(flag, "--help") == 0 || std::strcmp(flag, "-h") == 0) {
      Usage();
      return 0;
    }
    if (i + 1 >= argc) {
      Usage();
      return 2;
    }
    const char* value = argv[++i];
    if (std::strcmp(flag, "--customers") == 0) {
      customers = ParseCount(flag, value);
    } else if (std::strcmp(flag, "--seed") == 0) {
      seed = ParseCount(flag, value);
    } else if (std::strcmp(flag, "--malformed") == 0) {
      malformed = ParseCount(flag, value);
    } else if (std::strcmp(flag, "--options") == 0) {
      options_text = value;
    } else {
      std::fprintf(stderr, "ltv_generate: unknown flag %s\n", flag);
      Usage();
      return 2;
    }
  }

  try {
    ltv::json::Value options = ltv::json::Parse(options_text);
    if (!options.is_object())
      throw ltv::Error(ltv::ErrorKind::kInvalidParameter, "--options must be a JSON object");
    options.Set("customers", ltv::json::Value(customers));
    options.Set("seed", ltv::json::Value(seed));
    const ltv::generator::SyntheticGenerator generator(
        ltv::generator::ParseGeneratorOptions(options));

    std::ios::sync_with_stdio(false);
    ltv::generator::CsvWriteOptions csv;
    csv.malformed_rows = malformed;
    // Spread the bad rows over the file (about 20 lines per customer).
    csv.malformed_every = std::max<int64_t>(1, customers * 20 / (malformed + 1));
    ltv::generator::CsvWriter writer(std::cout, csv);
    std::vector<ltv::Transaction> chunk;
    constexpr int64_t kChunk = 10000;
    for (int64_t first = 0; first < customers; first += kChunk) {
      chunk.clear();
      generator.GenerateRange(first, std::min(kChunk, customers - first), chunk);
      writer.Write(chunk);
    }
    writer.Finish();
    std::cout.flush();
    if (!std::cout) {
      std::fprintf(stderr, "ltv_generate: write failed\n");
      return 1;
    }
    std::fprintf(stderr, "ltv_generate: %lld customers, %lld rows, %lld malformed\n",
                 static_cast<long long>(customers), static_cast<long long>(writer.rows_written()),
                 static_cast<long long>(writer.malformed_written()));
  } catch (const ltv::Error& e) {
    std::fprintf(stderr, "ltv_generate: %s%s%s\n", e.what(), e.detail().empty() ? "" : ": ",
                 e.detail().c_str());
    return 2;
  }
  return 0;
}
