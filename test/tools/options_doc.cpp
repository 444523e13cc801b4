// Prints the table of analysis options (core/analysis/options.h) as Markdown: the body of
// docs/options.md (scripts/gen-options-doc.sh writes it there).
#include <cstdio>

#include "core/analysis/options.h"

int main() {
  std::fputs(ltv::analysis::OptionsMarkdown().c_str(), stdout);
  return 0;
}
