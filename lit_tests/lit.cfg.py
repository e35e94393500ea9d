"""lit configuration: RUN lines call the installed localconv tools and the Python FileCheck."""

import os
import shutil
import sys

import lit.formats

config.name = "localconv"
config.test_format = lit.formats.ShTest()
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.environment["PYTHONUNBUFFERED"] = "1"
for name in ("HOME", "JAX_PLATFORMS", "XLA_FLAGS"):
    if name in os.environ:
        config.environment[name] = os.environ[name]

# The tools (localconv, localconv-opt, filecheck) are found next to the running Python, so
# RUN lines read like LLVM's whether or not the virtualenv is activated.
bin_dir = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
for name in ("localconv", "localconv-opt", "filecheck"):
    if shutil.which(name, path=config.environment["PATH"]) is None:
        raise RuntimeError(f"lit: {name} is not installed (pip install -e '.[test]')")
config.substitutions.append(("FileCheck", "filecheck"))
config.substitutions.append(("%python", sys.executable))
