"""The benchmark: the reference backend side by side with the third-party servers people
use (WebTorrent 3, peerflix) and a plain file server as the physical limit, against the
same swarm, in one run (`python -m infra.measure.bench`; `--soak MINUTES` for the memory soak).

Figures only, no pass/fail: the suite's budgets live in features/performance.feature.
The reference backend's targets are printed as ratios within the run, because figures
from different runs on a shared machine are not comparable.
"""
