//===- FuzzSupport.cpp - Shared pieces of the libFuzzer targets -----------===//

#include "fuzz/FuzzSupport.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/mman.h>
#include <unistd.h>

namespace llamac::fuzz {

[[noreturn]] void checkFailed(const char *condition, const std::string &detail,
                              const char *file, int line) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line,
               condition, detail.c_str());
  std::abort();
}

[[noreturn]] static void fatal(const std::string &what) {
  std::fprintf(stderr, "fuzz setup: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(2);
}

MemoryFile::MemoryFile(const char *name) {
  fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0)
    fatal("memfd_create");
  filePath = "/proc/self/fd/" + std::to_string(fd);
}

void MemoryFile::write(const uint8_t *data, size_t size) {
  // Every mapping of the previous contents is gone by now: the parsers' results
  // do not outlive one input.
  if (ftruncate(fd, 0) != 0)
    fatal("ftruncate");
  size_t written = 0;
  while (written < size) {
    ssize_t n = pwrite(fd, data + written, size - written, off_t(written));
    if (n <= 0)
      fatal("pwrite");
    written += size_t(n);
  }
}

namespace {
std::string *scratchRoot = nullptr;
void removeScratch() {
  if (scratchRoot) {
    std::error_code ignored;
    std::filesystem::remove_all(*scratchRoot, ignored);
  }
}
} // namespace

ScratchDir::ScratchDir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") +
                        "/llamac-fuzz-XXXXXX";
  if (!mkdtemp(pattern.data()))
    fatal("mkdtemp " + pattern);
  root = pattern;
  scratchRoot = new std::string(root);
  std::atexit(removeScratch);
}

void ScratchDir::write(const std::string &name, const uint8_t *data,
                       size_t size) const {
  std::string path = file(name);
  FILE *out = std::fopen(path.c_str(), "wb");
  if (!out || (size && std::fwrite(data, 1, size, out) != size) ||
      std::fclose(out) != 0)
    fatal("writing " + path);
}

void checkErrorMessage(const std::string &error, const std::string &prefix) {
  FUZZ_CHECK(!error.empty(), "a failure without a message");
  FUZZ_CHECK(error.find('\n') == std::string::npos &&
                 error.find('\r') == std::string::npos,
             "the message is not one line: " + error);
  FUZZ_CHECK(error.compare(0, prefix.size(), prefix) == 0,
             "the message does not start with '" + prefix + "': " + error);
}

std::string sharedDir() {
  const char *fromEnvironment = std::getenv("LLAMAC_SHARED_DIR");
  return fromEnvironment && *fromEnvironment ? fromEnvironment
                                             : LLAMAC_SHARED_DIR;
}

} // namespace llamac::fuzz
