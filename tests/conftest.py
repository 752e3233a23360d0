"""Settings for the whole test session."""

import os

# Under xdist each worker gets one thread: TVM's pool spins while it waits, and two workers with two
# spinning threads each on a 2-core CI machine slow every kernel call by orders of magnitude.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("TVM_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
