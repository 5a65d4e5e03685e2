#!/usr/bin/env sh
# Creates test/.venv with the real Python clients the conformance suite drives and securesystemslib for the signing
# interop test (requirements.txt beside this file).
# Run again to update it. OMAF_TEST_VENV_PYTHON picks the interpreter that creates it (default: Debian's python3).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/../../.venv"
base=${OMAF_TEST_VENV_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
if [ ! -x "$venv/bin/python" ]; then
  "$base" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -c "import tritonclient.http, tritonclient.grpc, requests, securesystemslib.dsse, cryptography; print('test/.venv ready:', tritonclient.__name__, 'http+grpc, requests, securesystemslib')"
