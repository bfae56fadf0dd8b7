#!/usr/bin/env bash
# The suite against the docker ecosystem: the same swarm as containers (infra/ecosystem/docker/provider.py).
# Like infra/run-suite.sh (infra/behave-run.sh: same formatters, Allure results and JUnit
# under ${SWARMSPEC_REPORTS_DIR:-reports}, Allure report), with -D ecosystem=docker; extra
# arguments go to behave:
#   bash infra/run-docker-suite.sh
#   bash infra/run-docker-suite.sh features/resilience.feature
#   SWARMSPEC_REPORTS_DIR=reports/docker bash infra/run-docker-suite.sh
# No engine and not root (infra/ecosystem/docker/ensure-engine.sh exits 3): prints "SKIPPED: ..." and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh

rc=0
infra/ecosystem/docker/engine-or-skip.sh "the docker suite" || rc=$?
if [ "$rc" = 3 ]; then exit 0; elif [ "$rc" != 0 ]; then exit "$rc"; fi

# Images: the runtime (build-images.sh) and one per service role; warm, this builds nothing.
started=$(date +%s)
.venv/bin/python -m infra.ecosystem.docker build
echo "[suite] docker images ready in $(( $(date +%s) - started ))s"

exec bash infra/behave-run.sh -D ecosystem=docker "$@"
