#!/usr/bin/env bash
# Everything issue 7 asks to check on a lent GPU, prepared for the device tool's `run` verb
# (one command may run 10 minutes at most, and a session has ~15 minutes of device time in
# all), from the repository root on the device machine:
#
#   bash bench/gpu_session.sh machine tests     # first call: facts, GPU-marked tests (<= 5.5 min)
#   bash bench/gpu_session.sh bench samples     # second call: bench/gpu.py, the samples (<= 5 min)
#   bash bench/gpu_session.sh                   # all four stages in one go
#
# Outputs land under $OUT (or ./gpu-session/). The device image has CuPy, PyTorch, h5py, pytest,
# hypothesis and rich but not Textual, graphviz or pytest-asyncio, and no network: graphlab
# runs from the checkout (PYTHONPATH=.), the workbench's tests (tests/tui) are left out, and
# only GPU-marked tests run. CuPy compiles each kernel once, into ~/.cupy/kernel_cache, which a
# warm machine keeps between the two calls. Each stage has its own time limit, so one that
# hangs still leaves the others' figures; the exit status is the GPU tests' (0 when not run).
set -u
out="${OUT:-gpu-session}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
py="${PYTHON:-python3}"
stages="${*:-machine tests bench samples}"
want() { [[ " $stages " == *" $1 "* ]]; }
tests_status=0

# The recorder's C hooks (graphlab/trace/_fastrec.c) are built in place once per machine (the
# device tool carries no build outputs); without a compiler graphlab runs its Python hooks.
ls graphlab/trace/_fastrec*.so > /dev/null 2>&1 ||
    timeout 120 "$py" setup.py -q build_ext --inplace > "$out/build.txt" 2>&1 ||
    echo "the C recorder was not built (see $out/build.txt): the Python hooks record"

want machine && {
    date -u +"%Y-%m-%d %H:%M UTC"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    "$py" -c 'import sys, numpy, cupy; print(sys.version.split()[0], "numpy", numpy.__version__, "cupy", cupy.__version__, "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())'
    "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true
    "$py" -c 'from graphlab.trace import _accel; print("C recorder hooks:", _accel.enabled)' || true
} 2>&1 | tee "$out/machine.txt"

if want tests; then
    echo "== GPU-marked tests"
    timeout 300 "$py" -m pytest -m gpu -q -p no:cacheprovider -o addopts="-ra" \
        --ignore=tests/tui --continue-on-collection-errors \
        --junitxml="$out/gpu-tests.xml" 2>&1 | tee "$out/gpu-tests.txt"
    tests_status=${PIPESTATUS[0]}
fi

if want bench; then
    echo "== bench/gpu.py"
    timeout 240 "$py" bench/gpu.py --out "$out/gpu.md" 2>&1 | tee "$out/gpu.txt"
fi

want samples || exit "$tests_status"
echo "== samples/transfer_costs.py"
timeout 30 "$py" samples/transfer_costs.py 2>&1 | tee "$out/transfer_costs.txt"

echo "== the demo session on the GPU (recorded, saved, reloaded)"
timeout 30 "$py" - "$out/demo.h5" <<'EOF' 2>&1 | tee "$out/demo.txt"
import os
import sys

from exporters.session import load_session, save_session
from graphlab.trace.memory import format_device_memory
from samples import demo_session

session = demo_session.build(device=os.environ.get("DEMO_DEVICE"))  # a GPU when there is one
save_session(session, sys.argv[1])
back = load_session(sys.argv[1])
print(back)
for snap in back.models:
    devices = sorted({info.device for info in snap.tensor_info.values()})
    print(f"{snap.name}: tensors on {devices}, {len(snap.traces)} passes")
    if snap.traces:
        last = snap.traces[-1]
        print(last.transfer_report())
        print(format_device_memory(last))
EOF

exit "$tests_status"
