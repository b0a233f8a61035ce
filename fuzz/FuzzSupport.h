//===- FuzzSupport.h - Shared pieces of the libFuzzer targets ---*- C++ -*-===//
//
// The parsers read files by path (they map them), so each target hands its
// input over as a file: an in-memory one (memfd, reached through
// /proc/self/fd) where a single file is parsed, or a scratch directory where
// the parser looks at several files. FUZZ_CHECK turns a broken promise of a
// parser's contract into a crash that libFuzzer records, like a sanitizer
// report.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FUZZ_FUZZSUPPORT_H
#define LLAMAC_FUZZ_FUZZSUPPORT_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace llamac::fuzz {

[[noreturn]] void checkFailed(const char *condition, const std::string &detail,
                              const char *file, int line);

#define FUZZ_CHECK(condition, detail)                                          \
  do {                                                                         \
    if (!(condition))                                                          \
      ::llamac::fuzz::checkFailed(#condition, (detail), __FILE__, __LINE__);   \
  } while (false)

/// A file that lives in memory; rewritten for every input.
class MemoryFile {
public:
  explicit MemoryFile(const char *name);
  MemoryFile(const MemoryFile &) = delete;
  MemoryFile &operator=(const MemoryFile &) = delete;
  /// Replaces the contents with [data, data + size).
  void write(const uint8_t *data, size_t size);
  void write(const std::string &bytes) {
    write(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  }
  const std::string &path() const { return filePath; }

private:
  int fd = -1;
  std::string filePath;
};

/// A fresh directory under $TMPDIR (or /tmp), removed when the process exits
/// normally.
class ScratchDir {
public:
  ScratchDir();
  const std::string &path() const { return root; }
  std::string file(const std::string &name) const { return root + "/" + name; }
  /// Writes `bytes` to `name` in the directory (replacing it).
  void write(const std::string &name, const uint8_t *data, size_t size) const;
  void write(const std::string &name, const std::string &bytes) const {
    write(name, reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  }

private:
  std::string root;
};

/// The contract every loader's failure must keep: one non-empty line that
/// starts with `prefix` (the path the caller named).
void checkErrorMessage(const std::string &error, const std::string &prefix);

/// The shared fixtures: $LLAMAC_SHARED_DIR, else the directory the build was
/// configured with.
std::string sharedDir();

} // namespace llamac::fuzz

#endif // LLAMAC_FUZZ_FUZZSUPPORT_H
