"""Runs the command in argv and then prints `exit code: N`, so RUN lines can check exact codes.

`not` accepts any non-zero status; the tools promise 1 for user errors and 2 for usage errors.
"""

import subprocess
import sys

status = subprocess.run(sys.argv[1:], check=False).returncode
print(f"exit code: {status}", flush=True)
