//===- Errors.cpp - How the frontends report failures ---------------------===//

#include "frontends/Errors.h"

namespace llamac {

std::string oneLine(std::string text) {
  for (char &c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
  return text;
}

std::string printable(const std::string &text) {
  constexpr size_t kMaxChars = 64;
  std::string shown = text.substr(0, kMaxChars);
  for (char &c : shown)
    if (c < 0x20 || c > 0x7e)
      c = '?';
  return text.size() > kMaxChars ? shown + "..." : shown;
}

} // namespace llamac
