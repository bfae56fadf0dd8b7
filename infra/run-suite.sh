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
reports=${SWARMSPEC_REPORTS_DIR:-reports}
export SWARMSPEC_REPORTS_DIR=$reports
results=$reports/allure-results
rm -rf "$results" "$reports/junit"
mkdir -p "$results" "$reports/junit"
# Keep Allure's history (trend charts) from the previous report, then start afresh.
if [ -d "$reports/allure-report/history" ]; then cp -r "$reports/allure-report/history" "$results/history"; fi
rm -rf "$reports/allure-report"

# Pretty in a terminal, compact progress in CI or when piped.
format=pretty
if [ -n "${CI:-}" ] || [ ! -t 1 ]; then format=progress; fi

status=0
started=$(date +%s)
.venv/bin/python -m behave \
  -f allure_behave.formatter:AllureFormatter -o "$results" \
  -f "$format" \
  --junit --junit-directory "$reports/junit" \
  "$@" || status=$?
echo "[suite] behave finished with status $status in $(( $(date +%s) - started ))s"

# The report is generated even when scenarios failed: that is when it is needed most.
ALLURE_NO_ANALYTICS=1 timeout 300 infra/report/node_modules/.bin/allure generate "$results" \
  -o "$reports/allure-report" --clean >/dev/null \
  || { echo "[suite] ERROR: allure generate failed" >&2; exit 3; }
echo "[suite] Allure report: $reports/allure-report/index.html"
echo "[suite] open it with: infra/report/node_modules/.bin/allure open $reports/allure-report"
exit $status
