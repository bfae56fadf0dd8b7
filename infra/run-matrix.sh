#!/usr/bin/env bash
# The conformance matrix: run the suite against every bundled target, each with its own
# ecosystem and its default contract, then build reports/matrix/ (HTML, Markdown, JSON)
# from the grades the runs wrote. Our own servers (reference, range-server) must be
# strict everywhere (exit 1 otherwise); third-party rows are graded, not required to pass.
#   bash infra/run-matrix.sh                          every target, local provider
#   bash infra/run-matrix.sh --ecosystem docker       the same as containers, rows labelled <target>@docker
#                                                     (every target but peerflix, which runs locally only);
#                                                     no engine and not root: "SKIPPED: ..." and exit 0
#   SWARMSPEC_MATRIX_TARGETS="reference webtorrent" bash infra/run-matrix.sh --ecosystem docker   (what CI runs)
#   bash infra/run-matrix.sh --readme                 also refresh the README's matrix section
#   SWARMSPEC_MATRIX_TARGETS="reference miauflix" SWARMSPEC_MIAUFLIX_CHECKOUT=~/src/miauflix bash infra/run-matrix.sh
# A target whose backend the project does not bundle has infra/backends/<target>/matrix-args.sh:
# it prints the -D options that start it (one per line), or exits 3 with the reason the row
# is skipped (e.g. no checkout configured); a skipped row says so in the matrix.
# Extra arguments after -- go to behave (e.g. -- features/seeking.feature). The matrix is
# built from every run under reports/matrix/runs/: local and docker rows side by side.
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
default_targets="reference range-server webtorrent peerflix miauflix"
if [ "$ecosystem" = docker ]; then
  rc=0
  infra/ecosystem/docker/engine-or-skip.sh "the docker matrix" || rc=$?
  if [ "$rc" = 3 ]; then exit 0; elif [ "$rc" != 0 ]; then exit "$rc"; fi
  default_targets="reference range-server webtorrent miauflix"   # peerflix opens a port per torrent: local only
fi
targets=${SWARMSPEC_MATRIX_TARGETS:-$default_targets}
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
