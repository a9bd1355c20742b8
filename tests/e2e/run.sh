#!/bin/sh
# Run the end-to-end tests against the binaries in ${PORTEN_BUILD:-<repo>/build}.
here=$(cd "$(dirname "$0")" && pwd)
: "${PORTEN_BUILD:=$(cd "$here/../.." && pwd)/build}"
export PORTEN_BUILD
exec /usr/bin/python3 -m pytest -q "$here" "$@"
