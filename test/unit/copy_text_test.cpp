#include "core/copy_text.h"

#include <gtest/gtest.h>

using namespace ltv;

TEST(CopyText, EscapesSpecialCharactersAndRepairsEncoding) {
  std::string out;
  AppendCopyText(out, std::string("a\tb\nc\\d\re\0f", 12));
  EXPECT_EQ(out, "a\\tb\\nc\\\\d\\ref");
  out.clear();
  AppendCopyText(out, "\xC2\xA3 5 \xA3 \xED\xA0\x80");  // pound, lone 0xA3, a surrogate
  EXPECT_EQ(out, "\xC2\xA3 5 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));  // overlong NUL
}

TEST(CopyText, FormatsTimestampsIncludingBefore1970AndFractions) {
  std::string out;
  // 2010-12-01 08:26:00 = 1291191960 s since the epoch.
  AppendCopyTimestamp(out, 1291191960LL * kMicrosPerSecond);
  EXPECT_EQ(out, "2010-12-01 08:26:00");
  out.clear();
  AppendCopyTimestamp(out, -1);  // one microsecond before the epoch
  EXPECT_EQ(out, "1969-12-31 23:59:59.999999");
  out.clear();
  AppendCopyTimestamp(out, 951782400LL * kMicrosPerSecond + 5);  // 2000-02-29, leap day
  EXPECT_EQ(out, "2000-02-29 00:00:00.000005");
}

TEST(CopyText, DoublesRoundTrip) {
  std::string out;
  AppendCopyDouble(out, 0.1 + 0.2);
  EXPECT_EQ(std::stod(out), 0.1 + 0.2);
  out.clear();
  AppendCopyDouble(out, -6);
  EXPECT_EQ(out, "-6");
}
