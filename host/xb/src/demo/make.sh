#!/bin/sh
# Builds the demo: checks every script, then assembles bin/words from lib/.
set -e
cd "$(dirname "$0")"
for f in lib/*.sh tests/*.sh; do sh -n "$f"; done
mkdir -p bin
{ echo '#!/bin/sh'; cat lib/*.sh; echo '"$@"'; } > bin/words
chmod +x bin/words
echo "built bin/words from $(ls lib | wc -l) files"
