#!/usr/bin/env bash
# Run behave with the suite's formatters and generate the Allure report. Shared by
# infra/run-suite.sh and infra/run-docker-suite.sh; arguments go to behave. Expects the
# set-up done (infra/setup.sh). Results under ${SWARMSPEC_REPORTS_DIR:-reports}.
set -euo pipefail
cd "$(dirname "$0")/.."
reports=${SWARMSPEC_REPORTS_DIR:-reports}
export SWARMSPEC_REPORTS_DIR=$reports
results=$reports/allure-results
rm -rf "$results" "$reports/junit" "$reports/figures.json"
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
.venv/bin/python -m infra.suite.figures "$reports/figures.json" || true
.venv/bin/python -m infra.suite.grade_summary "$reports/grades.json" || true

# The report is generated even when scenarios failed: that is when it is needed most.
ALLURE_NO_ANALYTICS=1 timeout 300 infra/report/node_modules/.bin/allure generate "$results" \
  -o "$reports/allure-report" --clean >/dev/null \
  || { echo "[suite] ERROR: allure generate failed" >&2; exit 3; }
echo "[suite] Allure report: $reports/allure-report/index.html"
echo "[suite] open it with: infra/report/node_modules/.bin/allure open $reports/allure-report"
exit $status
