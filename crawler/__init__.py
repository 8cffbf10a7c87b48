"""readouts: crawl, clean, deduplicate and archive official readouts of diplomatic meetings."""

import os

# One BLAS thread, set before numpy loads: OpenBLAS starts a thread per core at load, and each extraction worker
# forked from a many-core crawl would start them all again inside its memory bound (on 64 cores, over 500 MB).
# Language detection's one matrix product is faster on one thread anyway.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
