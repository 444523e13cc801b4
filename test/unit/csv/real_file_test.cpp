// The full UCI Online Retail file, when present (see DESIGN.md "Data for tests").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <sys/stat.h>

#include "core/csv/csv_import.h"

namespace ltv::csv {
namespace {

struct CountingSink : ImportSink {
  int64_t loaded = 0, rejected = 0;
  void Loaded(const Transaction&) override { ++loaded; }
  void Rejected(const RejectedRow&) override { ++rejected; }
};

TEST(RealFile, OnlineRetail) {
  const std::string path = LTV_SOURCE_DIR "/../shared/data/online_retail.csv.gz";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) GTEST_SKIP() << "data file absent: " << path;
  FILE* pipe = popen(("gzip -dc '" + path + "'").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) bytes.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0) << "gzip -dc failed";

  CountingSink sink;
  auto start = std::chrono::steady_clock::now();
  ImportReport report = ImportCsv(bytes, {}, sink);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("parse+clean of %zu bytes: %.3f s\n%s\n", bytes.size(), seconds,
              report.ToJson().Dump().c_str());

  EXPECT_EQ(report.rows_read, 541909);
  EXPECT_EQ(report.rows_read, report.rows_loaded + report.rows_excluded + report.rows_rejected);
  EXPECT_EQ(report.rows_loaded, sink.loaded);
  EXPECT_EQ(report.rows_rejected, sink.rejected);
  EXPECT_EQ(report.customers_before_cleaning, 4372);
  EXPECT_EQ(report.excluded_by_rule.at("missing_customer"), 135080);
  EXPECT_EQ(report.encoding, "utf-8");
  EXPECT_EQ(report.delimiter, ',');
}

}  // namespace
}  // namespace ltv::csv
