#!/bin/sh
# Builds the bot rules written in Python and JavaScript into components of the
# `gopherbot` world, with each language's own tool at a pinned version, installed on
# first use under plugins/target/polyglot/tools (pip and npm; nothing global):
#
#   python/app.py -> plugins/target/polyglot/gopherbot_py.wasm   (componentize-py)
#   js/app.js     -> plugins/target/polyglot/gopherbot_js.wasm   (componentize-js)
#
# A component newer than its source and the WIT is not built again.
set -eu

COMPONENTIZE_PY=0.25.1
COMPONENTIZE_JS=0.23.0

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/plugins/target/polyglot
tools=$out/tools
mkdir -p "$out"
# One build at a time (tests and xtask may start it together); the others wait and
# then find the components built.
exec 9>"$out/.lock"
flock 9

# Whether $1 is missing or older than any of the other paths (files or directories).
stale() {
    target=$1
    shift
    [ ! -f "$target" ] || [ -n "$(find "$@" -newer "$target" -print -quit)" ]
}

py=$tools/componentize-py-$COMPONENTIZE_PY
if [ ! -x "$py/bin/componentize-py" ]; then
    # --target keeps it out of the system's Python (which Debian marks as managed).
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
        --target "$py.part" "componentize-py==$COMPONENTIZE_PY"
    rm -rf "$py" && mv "$py.part" "$py"
fi
if stale "$out/gopherbot_py.wasm" "$here/python" "$root/wit"; then
    echo "polyglot: componentize-py $COMPONENTIZE_PY: gopherbot_py.wasm"
    (cd "$here/python" && PYTHONPATH="$py" python3 "$py/bin/componentize-py" --quiet \
        -d "$root/wit" -w gopherbot componentize app -o "$out/gopherbot_py.wasm.part")
    mv "$out/gopherbot_py.wasm.part" "$out/gopherbot_py.wasm"
fi

js=$tools/componentize-js-$COMPONENTIZE_JS
if [ ! -x "$js/node_modules/.bin/componentize-js" ]; then
    mkdir -p "$js.part"
    npm install --silent --no-audit --no-fund --prefix "$js.part" \
        "@bytecodealliance/componentize-js@$COMPONENTIZE_JS"
    rm -rf "$js" && mv "$js.part" "$js"
fi
if stale "$out/gopherbot_js.wasm" "$here/js" "$root/wit"; then
    echo "polyglot: componentize-js $COMPONENTIZE_JS: gopherbot_js.wasm"
    # The default build: WASI's HTTP interfaces are imported (for fetch) and the host
    # links them, granting no request.
    (cd "$root" && "$js/node_modules/.bin/componentize-js" plugins/polyglot/js/app.js \
        --wit wit -n gopherbot -o "$out/gopherbot_js.wasm.part")
    mv "$out/gopherbot_js.wasm.part" "$out/gopherbot_js.wasm"
fi
