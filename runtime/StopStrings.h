//===- StopStrings.h - Ending generated text at a stop string ---*- C++ -*-===//
//
// Generated text arrives a token at a time, and a stop string may span
// several tokens ("\n\n" as two "\n" pieces, "User:" as "User" and ":").
// The filter lets text through only once it is known not to be part of a
// stop string: it holds back the longest tail that could still grow into
// one, and when one appears it drops it and everything after it.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_STOPSTRINGS_H
#define LLAMAC_RUNTIME_STOPSTRINGS_H

#include <string>
#include <string_view>
#include <vector>

namespace llamac {

class StopStringFilter {
public:
  /// `stopStrings` must not be empty strings; an empty list passes all text.
  explicit StopStringFilter(std::vector<std::string> stopStrings);

  /// Adds `text` and returns what of the text so far is now final. After a
  /// stop string has appeared returns only what preceded it, then nothing.
  std::string push(std::string_view text);
  /// True once a stop string has appeared.
  bool stopped() const { return hasStopped; }
  /// The text held back at the end of generation, when no more text can
  /// complete a stop string.
  std::string finish();

private:
  /// Length of the longest tail of `held` that a stop string starts with.
  size_t partialMatchLength() const;

  std::vector<std::string> stopStrings;
  std::string held;
  bool hasStopped = false;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_STOPSTRINGS_H
