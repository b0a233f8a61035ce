//===- SimtEmulator.h - GPU blocks run as fibers on one CPU thread -*- C++ -*-===//
//
// What lmc-convert-gpu-to-cpu-emulation's calls reach: lmcEmuLaunch runs a
// kernel's blocks one after another, each block's threads as fibers
// (ucontext) switched at gpu.barrier and at the warp collectives (shuffle,
// mma.sync, ldmatrix). A barrier releases when every live thread of the
// block waits at one; a collective when every lane of the warp waits at
// it, each lane then receiving its share (its xor partner's value, its
// accumulator fragment, its words of the matrices).
// Anything else (a warp whose lanes wait at different points, a block
// whose threads split between a barrier and exit) is a divergence bug of
// the kernel: the emulator reports it and stops. Fibers start with
// makecontext and switch with _setjmp/_longjmp.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_TOOLS_GPU_EMULATE_SIMTEMULATOR_H
#define LLAMAC_TOOLS_GPU_EMULATE_SIMTEMULATOR_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace llamac::emu {

/// A kernel as the emulation pass builds it, behind ExecutionEngine's
/// packed interface: args[0] points to the kernel's argument words.
using PackedKernel = void (*)(void **);

/// The kernels lmcEmuLaunch can start, by number (lmc.emulated_kernels).
void setKernels(std::vector<PackedKernel> kernels);

/// The runtime functions the emulated code calls, by name, for the JIT.
std::vector<std::pair<std::string, void *>> runtimeSymbols();

} // namespace llamac::emu

#endif // LLAMAC_TOOLS_GPU_EMULATE_SIMTEMULATOR_H
