//===- ModelLibrary.cpp - The compiled model.so, loaded -------------------===//
//
// The handle is never dlclosed: model.so pulls in libomp, and unloading
// libomp while its worker threads are parked is not safe. A process loads
// one artifact, so nothing accumulates.
//
//===----------------------------------------------------------------------===//

#include "runtime/ModelLibrary.h"

#include <dlfcn.h>

namespace llamac {

/// dlerror() is the only source of detail; it is reset by reading it.
static std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dynamic loader error";
}

std::unique_ptr<ModelLibrary>
ModelLibrary::open(const std::string &path, const std::string &prefillSymbol,
                   const std::string &decodeSymbol, std::string &error) {
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = "cannot load " + path + ": " + lastDlError();
    return nullptr;
  }
  auto resolve = [&](const std::string &symbol) -> EntryPointFn {
    void *address = dlsym(handle, symbol.c_str());
    if (!address)
      error = path + ": entry point '" + symbol + "' not found";
    return reinterpret_cast<EntryPointFn>(address);
  };
  EntryPointFn prefillFn = resolve(prefillSymbol);
  if (!prefillFn)
    return nullptr;
  EntryPointFn decodeFn = resolve(decodeSymbol);
  if (!decodeFn)
    return nullptr;
  return std::unique_ptr<ModelLibrary>(
      new ModelLibrary(handle, prefillFn, decodeFn));
}

bool ModelLibrary::setThreadCount(int threads) const {
  // Looked up through the handle, which searches model.so's dependencies:
  // RTLD_LOCAL keeps libomp's symbols out of the global scope.
  using SetNumThreadsFn = void (*)(int);
  auto setNumThreads =
      reinterpret_cast<SetNumThreadsFn>(dlsym(handle, "omp_set_num_threads"));
  if (!setNumThreads)
    return false;
  setNumThreads(threads);
  return true;
}

} // namespace llamac
