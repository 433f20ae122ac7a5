#!/bin/bash
# Regenerates the golden ZooKeeper 3.8.0 files in snapshot/testdata/java/.
# Needs the Debian packages zookeeper (3.8.0), default-jre and python3-kazoo,
# and a free port 21810. Not run by the tests; the outputs are committed.
#
#   phase a: fresh server (writes snapshot.0), workload a, killed with a
#            session and its ephemeral still open
#   phase b: restart with zookeeper.digest.enabled=false (a snapshot without
#            digest block / seal #2, log entries without TxnDigest), workload b
#   phase c: restart with gz compression (snapshot.<z>.gz), workload c
#   phase d: restart with snappy compression (snapshot.<z>.snappy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../java}
work=$(mktemp -d)
trap 'kill $zkpid 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/data"
printf 'tickTime=2000\nclientPort=21810\ndataDir=%s/data\n4lw.commands.whitelist=*\nadmin.enableServer=false\nsnapCount=20\n' "$work" > "$work/zoo.cfg"

start() {
	java -Dzookeeper.extendedTypesEnabled=true "$@" \
		-cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
		org.apache.zookeeper.server.ZooKeeperServerMain "$work/zoo.cfg" >>"$work/server.log" 2>&1 &
	zkpid=$!
	for _ in $(seq 100); do
		if echo ruok | timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/21810; cat >&3; cat <&3' 2>/dev/null | grep -q imok; then
			return 0
		fi
		sleep 0.2
	done
	echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill -9 "$zkpid"; wait "$zkpid" 2>/dev/null || true; }
cli() { /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:21810 "$@" >>"$work/cli.log" 2>&1; }

start
cli create -c /cont ""
cli create -t 600000 /ttl t
/usr/bin/python3 "$here/workload.py" a > "$work/wl.out" &
wl=$!
for _ in $(seq 300); do grep -q READY "$work/wl.out" 2>/dev/null && break; sleep 0.2; done
grep -q READY "$work/wl.out"
stop
kill "$wl"; wait "$wl" 2>/dev/null || true

start -Dzookeeper.digest.enabled=false
/usr/bin/python3 "$here/workload.py" b
stop

start -Dzookeeper.snapshot.compression.method=gz
/usr/bin/python3 "$here/workload.py" c
stop

start -Dzookeeper.snapshot.compression.method=snappy
stop

mkdir -p "$out"
rm -f "$out"/snapshot.* "$out"/log.*
cp "$work"/data/version-2/snapshot.* "$out"/
# Strip the zero-filled preallocated tail: every entry ends in 'B', so the
# real data ends at the last non-zero byte (but never cut into the header).
for f in "$work"/data/version-2/log.*; do
	/usr/bin/python3 - "$f" "$out/$(basename "$f")" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
n = max(len(b.rstrip(b'\0')), 16)
open(sys.argv[2], 'wb').write(b[:n])
PY
done
ls -l "$out"; echo "work dir: $work"
# Sanity: the set must contain every variant the tests rely on.
ls "$out"/snapshot.*.gz "$out"/snapshot.*.snappy >/dev/null
[ "$(ls "$out"/log.* | wc -l)" -ge 3 ]
