#!/bin/sh
# test.sh -list: the names of the tests. test.sh [NAME...]: runs them (all by default).
cd "$(dirname "$0")"
if [ "$1" = "-list" ]; then
    for t in tests/*.sh; do basename "$t" .sh; done
    exit 0
fi
[ $# -gt 0 ] || set -- $(for t in tests/*.sh; do basename "$t" .sh; done)
status=0
for t in "$@"; do
    sleep 1 # a test that takes a moment, so the status page shows it running
    if sh "tests/$t.sh"; then echo "ok   $t"; else echo "FAIL $t"; status=1; fi
done
exit $status
