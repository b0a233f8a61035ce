//===- Inspect.h - llamac inspect: an artifact in words ---------*- C++ -*-===//
#ifndef LLAMAC_TOOLS_LLAMAC_INSPECT_H
#define LLAMAC_TOOLS_LLAMAC_INSPECT_H

namespace llamac {

/// `llamac inspect OUT.lmc`: prints the artifact's manifest in words (model
/// shape, target, kernels per function and layer, memory plan).
int runInspect(int argc, char **argv);

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_INSPECT_H
