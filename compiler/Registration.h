//===- Registration.h - Dialects and passes llamac tools know ---*- C++ -*-===//
#ifndef LLAMAC_COMPILER_REGISTRATION_H
#define LLAMAC_COMPILER_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace llamac {

/// The llama dialect and every upstream dialect our pipelines produce.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Our passes, our pipelines, and the upstream passes they are built from.
void registerAllPasses();

} // namespace llamac

#endif // LLAMAC_COMPILER_REGISTRATION_H
