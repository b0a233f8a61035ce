//===- ReliabilityTestSupport.cpp - Helpers for the reliability tests -----===//

#include "test/unittests/reliability/ReliabilityTestSupport.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace llamac::reliability {

namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
  std::string pattern =
      (fs::temp_directory_path() / "llamac-reliability-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    ADD_FAILURE() << "cannot create a temporary directory";
  root = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(root, ignored);
}

std::string ScratchDir::path(const std::string &name) const {
  return name.empty() ? root : (fs::path(root) / name).string();
}

std::string ScratchDir::write(const std::string &name,
                              const std::string &bytes) const {
  std::string file = path(name);
  std::ofstream(file, std::ios::binary) << bytes;
  return file;
}

/// VmHWM of /proc/self/status, in KiB.
static int64_t peakResidentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::strtoll(line.c_str() + 6, nullptr, 10);
  return -1;
}

int64_t peakMemoryGrowthMiB(const std::function<void()> &body) {
  int fds[2];
  if (pipe(fds) != 0)
    return -1;
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    // "5" resets the peak to the current resident size.
    std::ofstream("/proc/self/clear_refs") << "5";
    int64_t before = peakResidentKiB();
    body();
    int64_t growth = (peakResidentKiB() - before) / 1024;
    ssize_t ignored = write(fds[1], &growth, sizeof(growth));
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  int64_t growth = -1;
  if (read(fds[0], &growth, sizeof(growth)) != sizeof(growth))
    growth = -1;
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? growth : -1;
}

::testing::AssertionResult isOneLineNaming(const std::string &error,
                                           std::initializer_list<std::string> parts) {
  if (error.empty() || error.find('\n') != std::string::npos)
    return ::testing::AssertionFailure()
           << "error is not one line: \"" << error << "\"";
  for (const std::string &part : parts)
    if (error.find(part) == std::string::npos)
      return ::testing::AssertionFailure()
             << "error \"" << error << "\" does not mention \"" << part << "\"";
  return ::testing::AssertionSuccess() << error;
}

std::string safetensorsBytes(const std::string &header, size_t dataBytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return bytes + header + std::string(dataBytes, '\0');
}

std::string llama2cHeader(int32_t dim, int32_t hiddenDim, int32_t layers,
                          int32_t heads, int32_t kvHeads, int32_t vocab,
                          int32_t seqLen) {
  std::string bytes;
  for (int32_t field : {dim, hiddenDim, layers, heads, kvHeads, vocab, seqLen})
    for (int i = 0; i < 4; ++i)
      bytes += static_cast<char>(uint32_t(field) >> (8 * i));
  return bytes;
}

} // namespace llamac::reliability
