//===- StopStrings.cpp - Ending generated text at a stop string -----------===//

#include "runtime/StopStrings.h"

#include <algorithm>
#include <cassert>

namespace llamac {

StopStringFilter::StopStringFilter(std::vector<std::string> stopStrings)
    : stopStrings(std::move(stopStrings)) {
  assert(std::none_of(this->stopStrings.begin(), this->stopStrings.end(),
                      [](const std::string &stop) { return stop.empty(); }));
}

std::string StopStringFilter::push(std::string_view text) {
  if (hasStopped)
    return "";
  held += text;
  // The earliest stop string to appear ends the text, whichever it is.
  size_t stopAt = std::string::npos;
  for (const std::string &stop : stopStrings)
    stopAt = std::min(stopAt, held.find(stop));
  if (stopAt != std::string::npos) {
    hasStopped = true;
    std::string out = held.substr(0, stopAt);
    held.clear();
    return out;
  }
  size_t settled = held.size() - partialMatchLength();
  std::string out = held.substr(0, settled);
  held.erase(0, settled);
  return out;
}

std::string StopStringFilter::finish() {
  std::string out = std::move(held);
  held.clear();
  return out;
}

size_t StopStringFilter::partialMatchLength() const {
  size_t longest = 0;
  for (const std::string &stop : stopStrings) {
    // Only proper prefixes: a whole stop string would have been found.
    size_t most = std::min(held.size(), stop.size() - 1);
    for (size_t length = most; length > longest; --length)
      if (std::string_view(held).substr(held.size() - length) ==
          std::string_view(stop).substr(0, length)) {
        longest = length;
        break;
      }
  }
  return longest;
}

} // namespace llamac
