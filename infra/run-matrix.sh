#!/usr/bin/env bash
# The conformance matrix: run the suite against every bundled target, each with its own
# ecosystem and its default contract, then build reports/matrix/ (HTML, Markdown, JSON)
# from the grades the runs wrote. Our own servers (reference, range-server) must be
# strict everywhere (exit 1 otherwise); third-party rows are graded, not required to pass.
#   bash infra/run-matrix.sh                          every target, local provider
#   bash infra/run-matrix.sh --ecosystem docker       the same as containers
#   SWARMSPEC_MATRIX_TARGETS="reference webtorrent" bash infra/run-matrix.sh
#   bash infra/run-matrix.sh --readme                 also refresh the README's matrix section
#   SWARMSPEC_MATRIX_TARGETS="reference miauflix" SWARMSPEC_MIAUFLIX_CHECKOUT=~/src/miauflix bash infra/run-matrix.sh
# A target whose backend the project does not bundle has infra/backends/<target>/matrix-args.sh:
# it prints the -D options that start it (one per line), or exits 3 with the reason the row
# is skipped (e.g. no checkout configured); a skipped row says so in the matrix.
# Extra arguments after -- go to behave (e.g. -- features/seeking.feature).
set -euo pipefail
cd "$(dirname "$0")/.."
ecosystem=local readme=""
while [ $# -gt 0 ]; do
  case $1 in
    --ecosystem) ecosystem=$2; shift 2 ;;
    --readme) readme="--readme README.md"; shift ;;
    --) shift; break ;;
    *) echo "usage: $0 [--ecosystem local|docker] [--readme] [-- behave args]" >&2; exit 2 ;;
  esac
done
bash infra/setup.sh
targets=${SWARMSPEC_MATRIX_TARGETS:-"reference range-server webtorrent peerflix miauflix"}
out=reports/matrix
runs=$out/runs
suffix=""; [ "$ecosystem" = local ] || suffix="@$ecosystem"
for target in $targets; do
  label=$target$suffix
  dir=$runs/$label
  rm -rf "$dir"; mkdir -p "$dir"
  echo "=== matrix: $label"
  extra=()
  hook=infra/backends/$target/matrix-args.sh
  if [ -f "$hook" ]; then
    hook_status=0
    hook_out=$(bash "$hook" "$ecosystem") || hook_status=$?
    if [ "$hook_status" -eq 3 ]; then
      echo "[matrix] $label: skipped: $hook_out"
      .venv/bin/python -c 'import json, sys; print(json.dumps({"target": sys.argv[1], "skipped": sys.argv[2]}))' \
        "$target" "$hook_out" > "$dir/run.json"
      continue
    elif [ "$hook_status" -ne 0 ]; then
      echo "[matrix] $label: $hook failed ($hook_status): $hook_out" >&2; exit 2
    fi
    mapfile -t extra <<< "$hook_out"
  fi
  started=$(date +%s%N)
  status=0
  SWARMSPEC_REPORTS_DIR=$dir bash infra/behave-run.sh -D target="$target" -D ecosystem="$ecosystem" "${extra[@]}" "$@" \
    > "$dir/console.log" 2>&1 || status=$?
  ms=$(( ($(date +%s%N) - started) / 1000000 ))
  printf '{"wall_seconds": %d.%03d, "exit_status": %s}\n' $((ms / 1000)) $((ms % 1000)) "$status" > "$dir/run.json"
  grep -E "^(grades for|[0-9]+ (features|scenarios) )" "$dir/console.log" || true
  if [ ! -f "$dir/grades.json" ]; then
    echo "[matrix] $label: no grades (the run did not get to grading); tail of its console:" >&2
    tail -20 "$dir/console.log" >&2
  fi
done
exec .venv/bin/python -m infra.suite.matrix --runs "$runs" --out "$out" $readme
