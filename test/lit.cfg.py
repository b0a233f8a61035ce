# -*- Python -*-
import os
import shutil
import subprocess

import lit.formats

config.name = "llamac"
config.test_format = lit.formats.ShTest(not lit_config.useValgrind)
config.suffixes = [".mlir", ".test", ".json"]
config.excludes = ["Inputs", "unittests", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llamac_obj_root, "test")

# The shared fixtures are the ground truth: without them the suite must fail,
# never pass by skipping.
shared = config.llamac_shared_dir
for required in ("fixtures/hf", "fixtures/tokenizer/llama2", "models/stories260K", "configs"):
    if not os.path.isdir(os.path.join(shared, required)):
        lit_config.fatal(
            f"LLAMAC_SHARED_DIR={shared} lacks {required}: the tests need the shared "
            "fixtures (configure with -DLLAMAC_SHARED_DIR=/path/to/shared)")

config.environment["FILECHECK_OPTS"] = "--enable-var-scope"
config.environment["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "2")
for var in ("HOME", "TMPDIR", "LLAMAC_SANITIZE"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
config.environment["PATH"] = os.pathsep.join(
    [config.llamac_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])

config.substitutions.append(("%shared", shared))
config.substitutions.append(("%src", config.llamac_src_root))
config.substitutions.append(("%python", shutil.which("python3") or "python3"))
config.substitutions.append(("%testtools", os.path.join(config.llamac_src_root, "test", "tools")))

if config.llamac_enable_compiler:
    config.available_features.add("compiler")
if config.llamac_have_cuda_toolkit:
    config.available_features.add("cuda-toolkit")


def _has_cuda_device():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        return subprocess.run([smi, "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


if _has_cuda_device():
    config.available_features.add("cuda-device")
