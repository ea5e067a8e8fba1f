#!/usr/bin/env bash
# The GPU check (see benchmarks/gpu_check.py): every model trains on the GPU, dcgan28 against
# PyTorch CUDA, and the window's throughput; under 5 minutes on one recent NVIDIA GPU.
#   benchmarks/gpu_check.sh [--data-dir DIR] [--steps 200] [--devices 1|all|N] [--skip-bench] [--skip-gui]
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
exec python benchmarks/gpu_check.py "$@"
