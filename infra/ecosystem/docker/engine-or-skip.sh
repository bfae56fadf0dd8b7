#!/usr/bin/env bash
# A Docker engine for a docker run, or the reason there is none:
#   bash infra/ecosystem/docker/engine-or-skip.sh "the docker suite"
# Exit 0: an engine answers (ensure-engine.sh started one if it could, as root).
# Exit 3: none answers and none can be started here (not root): prints
#         "SKIPPED: <what> needs a Docker engine: <reason>" on stdout; callers exit 0 then.
# Anything else: ensure-engine.sh failed; its exit status, with its output on stderr.
set -euo pipefail
what=${1:?usage: engine-or-skip.sh WHAT}
here=$(dirname "$0")
rc=0
engine_log=$(mktemp)
trap 'rm -f "$engine_log"' EXIT
"$here/ensure-engine.sh" 2>"$engine_log" || rc=$?
cat "$engine_log" >&2
if [ "$rc" = 3 ]; then
  reason=$(grep -m1 'no Docker engine reachable' "$engine_log" | sed 's/^\[[^]]*\] //' || true)
  echo "SKIPPED: $what needs a Docker engine: ${reason:-none answers and none can be started here (not root)}"
elif [ "$rc" != 0 ]; then
  echo "[$what] ERROR: infra/ecosystem/docker/ensure-engine.sh failed (exit $rc)" >&2
fi
exit "$rc"
