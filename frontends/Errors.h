//===- Errors.h - How the frontends report failures -------------*- C++ -*-===//
//
// Inside the frontends a malformed input throws FormatError with a message
// that describes the problem; the public entry point that owns the file
// catches it (and anything else, e.g. std::bad_alloc) and turns it into the
// one-line "PATH: problem" string its caller gets. So public functions never
// throw and never abort.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_ERRORS_H
#define LLAMAC_FRONTENDS_ERRORS_H

#include <new>
#include <stdexcept>
#include <string>

namespace llamac {

/// A problem with an input, described without the file name.
class FormatError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A problem already described as "PATH: problem" (e.g. by a nested loader
/// that reports about a file other than the one being loaded).
class ReportedError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string &message) {
  throw FormatError(message);
}

/// Rethrows a nested loader's failure unchanged.
[[noreturn]] inline void failReported(const std::string &message) {
  throw ReportedError(message);
}

/// Runs `body`, turning a FormatError into a ReportedError about `path`: for
/// a problem found in a file other than the one the caller reports about.
template <typename Body> auto attributeTo(const std::string &path, Body &&body) {
  try {
    return body();
  } catch (const FormatError &e) {
    throw ReportedError(path + ": " + e.what());
  }
}

/// Joins the lines of `text` so that every reported error is one line.
std::string oneLine(std::string text);

/// `text` from an untrusted file (a tensor name, a dtype), made fit for a
/// one-line message: cut to a few dozen characters, with control and
/// non-ASCII bytes (which may not be valid UTF-8) shown as '?'.
std::string printable(const std::string &text);

/// Runs `body`; on any exception sets `error` to "PATH: problem" (or to the
/// already-reported message) and returns a value-initialized result
/// (nullopt, false, nullptr).
template <typename Body>
auto reportFailures(const std::string &path, std::string &error, Body &&body)
    -> decltype(body()) {
  try {
    return body();
  } catch (const ReportedError &e) {
    error = oneLine(e.what());
  } catch (const std::bad_alloc &) {
    error = path + ": out of memory";
  } catch (const std::exception &e) {
    error = oneLine(path + ": " + e.what());
  } catch (...) {
    error = path + ": unknown error";
  }
  return {};
}

} // namespace llamac

#endif // LLAMAC_FRONTENDS_ERRORS_H
