"""dcsim's benchmarks: ``make bench`` (or ``python -m bench [NAME...]``).

Each ``bench/bench_*.py`` module has ``run(report)``: it measures dcsim and its peers in
the same run and adds figures to the report, which prints one table at the end.
"""
