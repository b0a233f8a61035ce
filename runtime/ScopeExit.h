//===- ScopeExit.h - A release step on every way out of a scope -*- C++ -*-===//
#ifndef LLAMAC_RUNTIME_SCOPEEXIT_H
#define LLAMAC_RUNTIME_SCOPEEXIT_H

#include <utility>

namespace llamac {

/// Calls `release` when it goes out of scope, so that the early returns of
/// a failed step free what the earlier steps acquired.
template <typename Release> class ScopeExit {
public:
  explicit ScopeExit(Release release) : release(std::move(release)) {}
  ~ScopeExit() { release(); }
  ScopeExit(const ScopeExit &) = delete;
  ScopeExit &operator=(const ScopeExit &) = delete;

private:
  Release release;
};

/// `ScopeExit cleanup([&] { ... });` deduces the lambda's type.
template <typename Release> ScopeExit(Release) -> ScopeExit<Release>;

} // namespace llamac

#endif // LLAMAC_RUNTIME_SCOPEEXIT_H
