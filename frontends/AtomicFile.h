//===- AtomicFile.h - Files that appear whole or not at all -----*- C++ -*-===//
//
// Written files (safetensors, config.json) go to a temporary sibling and are
// renamed into place when complete, so a crash, a full disk or a concurrent
// reader never sees half a file under the final name.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_ATOMICFILE_H
#define LLAMAC_FRONTENDS_ATOMICFILE_H

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace llamac {

/// Failures throw FormatError (without the path; callers attribute it).
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  void write(const void *data, size_t size);
  /// Flushes, closes and renames the temporary file to the final path.
  void commit();

private:
  std::string path;
  std::string temporaryPath;
  std::FILE *stream = nullptr;
};

/// Writes `contents` to `path` through an AtomicFile; a failure throws
/// ReportedError naming `path`.
void writeWholeFile(const std::string &path, std::string_view contents);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_ATOMICFILE_H
