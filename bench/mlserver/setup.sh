#!/bin/sh
# Prepares what bench/mlserver.ts serves, all under bench/.work (gitignored):
#   mlserver-venv/        a venv with bench/mlserver/requirements.txt (mlserver, mlserver-sklearn and what they pull in),
#                         reinstalled when that file changes; PYTHON picks the interpreter that creates it (python3)
#   mlserver/repo/        MLServer's model repository: settings.json, iris/model-settings.json, iris/model.joblib
#   mlserver/omaf-iris/   the omaf GPPI artifact (bench/mlserver/omaf-artifact) with odahuflow_model/model.joblib
# The model is trained once per setup, in the venv, and the same file goes to both servers.
#   sh bench/mlserver/setup.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work="$(cd "$here/.." && pwd)/.work"
venv="$work/mlserver-venv"
out="$work/mlserver"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$venv/.requirements.sha256"
fi

rm -rf "$out"
mkdir -p "$out/repo/iris"
cp "$here/settings.json" "$out/repo/settings.json"
cp "$here/model-settings.json" "$out/repo/iris/model-settings.json"
cp -R "$here/omaf-artifact" "$out/omaf-iris"
"$venv/bin/python" "$here/train.py" "$out/repo/iris/model.joblib" "$out/omaf-iris/odahuflow_model/model.joblib"
