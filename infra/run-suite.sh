#!/usr/bin/env bash
# The main job: set up, run every feature against the reference backend (or what the
# -D options choose), then generate the Allure HTML report. Extra arguments go to behave:
#   bash infra/run-suite.sh -D target=range-server
#   bash infra/run-suite.sh -D endpoints=.run/endpoints.json        (attach to `python -m infra up`)
#   bash infra/run-suite.sh -D backend_url=http://127.0.0.1:9000    (another backend, our swarm)
#   SWARMSPEC_REPORTS_DIR=reports/other bash infra/run-suite.sh ...  (keep another run's report)
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec bash infra/behave-run.sh "$@"
