#!/bin/sh
# Install nfvo, the SDK and every driver from a source tree with exactly the versions of
# requirements/service.txt (hash-checked): `sh requirements/install-service.sh /src`.
# The tree is copied first, because building writes into it and it may be read-only.
set -eu
src=${1:-.}
work=$(mktemp -d)
tar -C "$src" --exclude=./.venv --exclude=./.venv-latest --exclude=./.nfvo --exclude=./.cache --exclude=./.git \
    -cf - . | tar -C "$work" -xf -
python -m pip install -q --require-hashes --no-deps -r "$work/requirements/service.txt"
python -m pip install -q --no-deps --no-build-isolation "$work/plugins/sdk" "$work"/drivers/*/ "$work"
python -m pip check
rm -rf "$work"
