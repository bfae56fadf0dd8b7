#!/usr/bin/env bash
# Our own tests (pytest): unit tests of infra/ and videos/, and integration tests that
# start the ecosystem. Extra arguments go to pytest (e.g. -m "not integration").
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
exec .venv/bin/python -m pytest -q tests "$@"
