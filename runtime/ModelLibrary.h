//===- ModelLibrary.h - The compiled model.so, loaded -----------*- C++ -*-===//
//
// dlopens an artifact's model.so and resolves its two entry points. The
// library stays loaded for the rest of the process (see ModelLibrary.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_MODELLIBRARY_H
#define LLAMAC_RUNTIME_MODELLIBRARY_H

#include "runtime/ModelABI.h"

#include <memory>
#include <string>

namespace llamac {

class ModelLibrary {
public:
  /// Loads `path` with RTLD_NOW | RTLD_LOCAL and resolves both symbols. On
  /// failure returns null and sets `error` to one line.
  static std::unique_ptr<ModelLibrary> open(const std::string &path,
                                            const std::string &prefillSymbol,
                                            const std::string &decodeSymbol,
                                            std::string &error);

  EntryPointFn prefill() const { return prefillFn; }
  EntryPointFn decode() const { return decodeFn; }

  /// Sets how many OpenMP threads the compiled code runs on. Returns false
  /// when the library does not use OpenMP (there is nothing to set).
  bool setThreadCount(int threads) const;

private:
  ModelLibrary(void *handle, EntryPointFn prefillFn, EntryPointFn decodeFn)
      : handle(handle), prefillFn(prefillFn), decodeFn(decodeFn) {}

  void *handle;
  EntryPointFn prefillFn;
  EntryPointFn decodeFn;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_MODELLIBRARY_H
