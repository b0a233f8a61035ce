//===- AtomicFile.cpp - Files that appear whole or not at all -------------===//

#include "frontends/AtomicFile.h"

#include "frontends/Errors.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace llamac {

namespace {
[[noreturn]] void failWithErrno(const char *what) {
  fail(std::string(what) + ": " + std::strerror(errno));
}

/// Large sequential writes; the default few-KiB buffer costs syscalls.
constexpr size_t kStreamBufferBytes = 1 << 20;
} // namespace

AtomicFile::AtomicFile(std::string finalPath)
    : path(std::move(finalPath)), temporaryPath(path + ".tmp.XXXXXX") {
  int fd = ::mkstemp(temporaryPath.data());
  if (fd < 0)
    failWithErrno("cannot create a temporary file");
  // mkstemp creates 0600; the result should be an ordinary readable file.
  ::fchmod(fd, 0644);
  stream = ::fdopen(fd, "wb");
  if (!stream) {
    int savedErrno = errno;
    ::close(fd);
    ::unlink(temporaryPath.c_str());
    errno = savedErrno;
    failWithErrno("cannot open the temporary file");
  }
  std::setvbuf(stream, nullptr, _IOFBF, kStreamBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!stream)
    return;
  std::fclose(stream);
  ::unlink(temporaryPath.c_str());
}

void AtomicFile::write(const void *data, size_t size) {
  if (size && std::fwrite(data, 1, size, stream) != size)
    failWithErrno("cannot write");
}

void AtomicFile::commit() {
  std::FILE *closing = stream;
  stream = nullptr;
  bool written = std::fflush(closing) == 0 && !std::ferror(closing);
  int savedErrno = errno;
  bool closed = std::fclose(closing) == 0;
  if (!written || !closed) {
    errno = written ? errno : savedErrno;
    ::unlink(temporaryPath.c_str());
    failWithErrno("cannot write");
  }
  if (std::rename(temporaryPath.c_str(), path.c_str()) != 0) {
    savedErrno = errno;
    ::unlink(temporaryPath.c_str());
    errno = savedErrno;
    failWithErrno("cannot rename the temporary file into place");
  }
}

void writeWholeFile(const std::string &path, std::string_view contents) {
  attributeTo(path, [&] {
    AtomicFile file(path);
    file.write(contents.data(), contents.size());
    file.commit();
  });
}

} // namespace llamac
