"""Run a command and write the peak resident memory of its process tree's largest process (KiB) to a file.

Used as `python -m tests.peak OUTFILE CMD...`: ru_maxrss of RUSAGE_CHILDREN covers every descendant waited for,
extraction workers included.
"""

from __future__ import annotations

import resource
import subprocess
import sys


def main() -> int:
    """Run the command, record the peak, return its exit code."""
    out, cmd = sys.argv[1], sys.argv[2:]
    code = subprocess.call(cmd)
    with open(out, "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
    return code


if __name__ == "__main__":
    sys.exit(main())
