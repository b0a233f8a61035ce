//===- TokenConstraint.h - Limiting the tokens a row may choose -*- C++ -*-===//
//
// A row's constraint (JSON mode, JsonConstraint.h) sees its logits before
// each choice and removes the tokens that may not come next, then learns the
// token chosen. The generation loop asks GenerationOptions::makeConstraint
// for one per row.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_TOKENCONSTRAINT_H
#define LLAMAC_RUNTIME_TOKENCONSTRAINT_H

#include <cstdint>

namespace llamac {

class TokenConstraint {
public:
  virtual ~TokenConstraint() = default;
  /// Sets the logit of every token that may not come next to -infinity,
  /// leaving at least one.
  virtual void mask(float *logits, int64_t vocab) const = 0;
  /// The row chose `token`, one that mask() left.
  virtual void accept(int32_t token) = 0;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_TOKENCONSTRAINT_H
