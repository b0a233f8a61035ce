# -*- Python -*-
# GoogleTest executables, each test case reported to lit individually.
import os

import lit.formats

config.name = "llamac-unit"
config.suffixes = []
config.test_source_root = os.path.join(config.llamac_obj_root, "test", "unittests")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
config.environment["LLAMAC_SHARED_DIR"] = config.llamac_shared_dir
