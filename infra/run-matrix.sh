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
#
# Sharded (rows run as separate CI jobs, the CI's own job matrix; README "The matrix in shards, merged, and remembered"):
#   bash infra/run-matrix.sh --shard 1/2 --out reports/matrix-1    rows 1, 3, 5... of the list above
#   bash infra/run-matrix.sh --shard 2/2 --out reports/matrix-2    rows 2, 4, ...
#   bash infra/run-matrix.sh merge reports/matrix-1 reports/matrix-2   one matrix + one Allure report in reports/matrix
#   --balance-from reports/matrix/history   split by each row's wall time in the last matrix instead (every
#                                           job must see the same history: merge refuses shards split apart)
# A shard builds only its own rows' matrix (and fails, like the whole, if our own servers slip);
# merge (or an unsharded run) builds the full matrix, one Allure report of every row
# (reports/matrix/allure-report) and a history record with the versions judged
# (reports/matrix/history/, page: history/index.html). --history DIR keeps it elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ecosystem=local readme="" shard="" out=reports/matrix history="" balance=()
usage="usage: $0 [--ecosystem local|docker] [--shard i/n [--balance-from HISTORY_DIR]] [--out DIR] [--history DIR] [--readme] [-- behave args]
       $0 merge [--out DIR] [--history DIR] [--readme] SHARD_DIR..."
if [ "${1:-}" = merge ]; then
  shift
  shards=()
  while [ $# -gt 0 ]; do
    case $1 in
      --out) out=$2; shift 2 ;;
      --history) history=$2; shift 2 ;;
      --readme) readme="--readme README.md"; shift ;;
      -*) echo "$usage" >&2; exit 2 ;;
      *) shards+=("$1"); shift ;;
    esac
  done
  [ ${#shards[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
  bash infra/setup.sh
  .venv/bin/python -m infra.suite.matrix_shards gather --out "$out" "${shards[@]}"
  exec bash infra/matrix-finish.sh "$out" "${history:-$out/history}" $readme
fi
while [ $# -gt 0 ]; do
  case $1 in
    --ecosystem) ecosystem=$2; shift 2 ;;
    --shard) shard=$2; shift 2 ;;
    --balance-from) balance=(--balance-from "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --history) history=$2; shift 2 ;;
    --readme) readme="--readme README.md"; shift ;;
    --) shift; break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
bash infra/setup.sh
default_targets="reference range-server webtorrent webtorrent2 peerflix miauflix"
if [ "$ecosystem" = docker ]; then
  rc=0
  infra/ecosystem/docker/engine-or-skip.sh "the docker matrix" || rc=$?
  if [ "$rc" = 3 ]; then exit 0; elif [ "$rc" != 0 ]; then exit "$rc"; fi
  default_targets="reference range-server webtorrent webtorrent2 miauflix"   # peerflix opens a port per torrent: local only
fi
targets=${SWARMSPEC_MATRIX_TARGETS:-$default_targets}
suffix=""; [ "$ecosystem" = local ] || suffix="@$ecosystem"
if [ -n "$shard" ]; then
  # shellcheck disable=SC2086
  targets=$(.venv/bin/python -m infra.suite.matrix_shards select --shard "$shard" --record "$out/shard.json" \
            --suffix "$suffix" "${balance[@]}" $targets)
  echo "=== matrix shard $shard: $(echo $targets)"
  if [ -z "$targets" ]; then
    mkdir -p "$out/runs"      # an empty share, still a shard merge can count
    echo "[matrix] shard $shard has no rows (more shards than rows): nothing to run"; exit 0
  fi
fi
runs=$out/runs
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
      .venv/bin/python -c 'import json, sys; print(json.dumps({"target": sys.argv[1], "skipped": sys.argv[2],
        "version": "unknown"}))' "$target" "$hook_out" > "$dir/run.json"
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
  version=$(.venv/bin/python -m infra.suite.versions "$target")
  .venv/bin/python -c 'import json, sys; print(json.dumps({"target": sys.argv[1], "version": sys.argv[2],
    "wall_seconds": int(sys.argv[3]) / 1000, "exit_status": int(sys.argv[4])}))' \
    "$target" "$version" "$ms" "$status" > "$dir/run.json"
  grep -E "^(grades for|[0-9]+ (features|scenarios) )" "$dir/console.log" || true
  if [ ! -f "$dir/grades.json" ]; then
    echo "[matrix] $label: no grades (the run did not get to grading); tail of its console:" >&2
    tail -20 "$dir/console.log" >&2
  fi
done
if [ -n "$shard" ]; then   # a shard's own rows only: the full matrix, report and history come with merge
  exec .venv/bin/python -m infra.suite.matrix --runs "$runs" --out "$out"
fi
exec bash infra/matrix-finish.sh "$out" "${history:-$out/history}" $readme
