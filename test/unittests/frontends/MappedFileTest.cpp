//===- MappedFileTest.cpp - Read-only mappings of checkpoint files --------===//

#include "TestSupport.h"

#include "frontends/ModelSpec.h"

#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace llamac;
using namespace llamac::testing;

namespace {

/// The kilobytes of the mapping that holds `address` which this process has
/// resident (its "Rss:" line in /proc/self/smaps), or -1.
int64_t residentKilobytes(const void *address) {
  const auto target = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  bool inMapping = false;
  for (std::string line; std::getline(smaps, line);) {
    std::istringstream range(line);
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inMapping = begin <= target && target < end;
      continue;
    }
    if (inMapping && line.rfind("Rss:", 0) == 0)
      return std::stoll(line.substr(4));
  }
  return -1;
}

std::string contents(const MappedFile &file) {
  return std::string(reinterpret_cast<const char *>(file.data()), file.size());
}

} // namespace

TEST(MappedFile, ReleasedPagesLeaveTheResidentSetAndReadBackTheSame) {
  const auto page = size_t(::sysconf(_SC_PAGESIZE));
  std::string bytes(5 * page, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = char(i * 7 + i / page);
  TempDir dir;
  std::string error;
  std::shared_ptr<MappedFile> file = MappedFile::open(dir.write("w.bin", bytes), error);
  ASSERT_TRUE(file) << error;
  ASSERT_EQ(contents(*file), bytes);
  EXPECT_EQ(residentKilobytes(file->data()), int64_t(5 * page / 1024));

  // From the middle of page 0 to the middle of page 4: pages 1 to 3 go, the
  // two that the range only shares stay.
  file->releasePages(file->data() + page / 2, 4 * page);
  EXPECT_EQ(residentKilobytes(file->data()), int64_t(2 * page / 1024));
  EXPECT_EQ(contents(*file), bytes);

  // A range inside one page releases nothing.
  file->releasePages(file->data() + 1, page - 2);
  EXPECT_EQ(residentKilobytes(file->data()), int64_t(5 * page / 1024));
}
