//===- MappedFile.cpp - Read-only memory mappings of checkpoint files -----===//

#include "frontends/Errors.h"
#include "frontends/ModelSpec.h"

#include <cassert>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace llamac {

namespace {
/// Closes the descriptor on every path out of open(); the mapping outlives it.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0)
      ::close(fd);
  }
};

[[noreturn]] void failWithErrno(const char *what) {
  fail(std::string(what) + ": " + std::strerror(errno));
}
} // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string &path,
                                             std::string &error) {
  return reportFailures(path, error, [&] {
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0)
      failWithErrno("cannot open");
    struct stat status;
    if (::fstat(file.fd, &status) != 0)
      failWithErrno("cannot stat");
    if (!S_ISREG(status.st_mode))
      fail("not a regular file");

    std::shared_ptr<MappedFile> mapped(new MappedFile());
    mapped->path_ = path;
    mapped->size_ = static_cast<size_t>(status.st_size);
    // mmap refuses a zero-length mapping; an empty file is simply no bytes.
    if (mapped->size_ == 0)
      return mapped;
    void *address =
        ::mmap(nullptr, mapped->size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (address == MAP_FAILED)
      failWithErrno("cannot map");
    mapped->data_ = static_cast<const uint8_t *>(address);
    return mapped;
  });
}

void MappedFile::releasePages(const void *begin, size_t bytes) const {
  const auto pageSize = uintptr_t(::sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(begin);
  assert(first >= uintptr_t(data_) && first + bytes <= uintptr_t(data_) + size_ &&
         "the range lies in the mapping");
  // Only pages wholly inside the range: their neighbours may hold data
  // still in use.
  const uintptr_t pagesBegin = (first + pageSize - 1) / pageSize * pageSize;
  const uintptr_t pagesEnd = (first + bytes) / pageSize * pageSize;
  // Advice only: a failure leaves the pages resident, nothing worse.
  if (pagesBegin < pagesEnd)
    ::madvise(reinterpret_cast<void *>(pagesBegin), pagesEnd - pagesBegin,
              MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_)
    ::munmap(const_cast<uint8_t *>(data_), size_);
}

} // namespace llamac
