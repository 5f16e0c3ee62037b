"""Training input pipeline throughput per data-loader worker (the
measurement is ``blitznet_mm.analysis.bench.pipeline``; ``make bench`` runs
it as its pipeline section).

    python tools/analysis/bench/pipeline.py                # 300 and 512
    python tools/analysis/bench/pipeline.py --sizes 300 --repeats 3 \\
        --json /tmp/pipeline.json
"""
from blitznet_mm.analysis.bench.pipeline import main

if __name__ == '__main__':
    main()
