"""Our training step against PyTorch eager and Keras on the same models (``ganplay bench``).

    pip install -e '.[bench]'   # the peers: torch and keras (optional; ours is measured anyway)
    python benchmarks/bench.py [--workloads toy-mlp,dcgan28] [--seconds 1] [--repeat 5] [--json]
"""
from __future__ import annotations

import sys

from ganplay.bench import main
from ganplay.engine.compile_cache import enable_compilation_cache
from ganplay.errors import GanplayError

if __name__ == "__main__":
    enable_compilation_cache()  # as `ganplay bench` does
    try:
        sys.exit(main(sys.argv[1:]))
    except GanplayError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        sys.exit(1)
