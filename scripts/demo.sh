#!/usr/bin/env bash
# make demo: a local 3-voter Apache ZooKeeper ensemble (Debian's zookeeper
# jars) on loopback, plus `zkobserver run` following it on the default
# engine (pebble) with Prometheus metrics.
#
#   scripts/demo.sh            start, print where everything listens, follow
#                              the observer's log; Ctrl-C stops everything
#   scripts/demo.sh --check    start, wait for the observer's first sync and
#                              its metrics, stop everything; exit 0 if all worked
#   scripts/demo.sh stop       stop a demo started from another terminal
#
# Everything lives in $ZKOBSERVER_DEMO_DIR (default ${TMPDIR:-/tmp}/zkobserver-demo):
# zoo.cfg, dataDir and log of each server, the observer's data directory and
# log, and the pids. A new start wipes it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${ZKOBSERVER_DEMO_DIR:-${TMPDIR:-/tmp}/zkobserver-demo}"
bin="${ZKOBSERVER_DEMO_BIN:-$here/bin/zkobserver}" # ZKOBSERVER_DEMO_BIN: a prebuilt binary (not rebuilt)
java="${ZKOBS_JAVA:-$(command -v java || echo /usr/bin/java)}"
classpath="${ZKOBS_ZK_CLASSPATH:-/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar}"
observer_sid=10
timeout_s=90

check=0
case "${1:-}" in
"") ;;
--check) check=1 ;;
stop)
	mode=stop
	;;
-h | --help)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: $0 [--check | stop]" >&2
	exit 2
	;;
esac

say() { printf '%s\n' "$*"; }

# alive PID: the process exists (and is not a zombie).
alive() { kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]; }

# stop_all: the observer first (SIGTERM: it flushes and logs its durable
# zxid), then the Java servers; SIGKILL whatever is left after 10 s.
stop_all() {
	[[ -f "$dir/pids" ]] || return 0
	local obs="" pids=() p name
	while read -r name p; do
		if [[ "$name" == observer ]]; then obs=$p; else pids+=("$p"); fi
	done <"$dir/pids"
	if [[ -n "$obs" ]] && alive "$obs"; then
		kill -TERM "$obs" 2>/dev/null || true
		for _ in $(seq 100); do alive "$obs" || break; sleep 0.1; done
		alive "$obs" && kill -KILL "$obs" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		local left=0
		for p in "${pids[@]}"; do alive "$p" && left=1; done
		((left)) || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$dir/pids"
	if [[ -f "$dir/zkobserver.log" ]]; then
		grep 'observer stopped' "$dir/zkobserver.log" | tail -1 || true
	fi
	say "demo stopped (files kept in $dir)"
}

if [[ "${mode:-}" == stop ]]; then
	if [[ ! -f "$dir/pids" ]]; then
		say "no demo running in $dir"
		exit 0
	fi
	stop_all
	exit 0
fi

if [[ -f "$dir/pids" ]]; then
	while read -r _ p; do
		if alive "$p"; then
			echo "a demo is already running in $dir (pid $p); stop it first: make demo-stop" >&2
			exit 1
		fi
	done <"$dir/pids"
fi

# What the demo needs: Java and ZooKeeper (install-deps.sh installs them
# with apt-get when missing), Go to build zkobserver.
bash "$here/scripts/install-deps.sh"
if [[ -z "${ZKOBSERVER_DEMO_BIN:-}" ]] && ! command -v go >/dev/null; then
	echo "demo: Go is needed to build zkobserver (https://go.dev/dl/)" >&2
	exit 1
fi
command -v python3 >/dev/null || { echo "demo: python3 is needed to pick free ports" >&2; exit 1; }
if [[ -z "${ZKOBSERVER_DEMO_BIN:-}" ]]; then
	(cd "$here" && go build -o "$bin" ./cmd/zkobserver)
fi

rm -rf "$dir"
mkdir -p "$dir"
trap 'stop_all' EXIT
trap 'exit 130' INT TERM

# Free loopback ports: client, quorum, election for 3 voters and the
# observer, plus metrics.
read -r -a ports < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(13):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
port() { echo "${ports[$1]}"; } # port INDEX

servers=""
for sid in 1 2 3 $observer_sid; do
	i=$(((sid == observer_sid ? 3 : sid - 1) * 3))
	line="server.$sid=127.0.0.1:$(port $((i + 1))):$(port $((i + 2)))"
	((sid == observer_sid)) && line+=":observer"
	servers+="$line"$'\n'
done
metrics_port=$(port 12)

for sid in 1 2 3; do
	i=$(((sid - 1) * 3))
	mkdir -p "$dir/zk$sid/data"
	echo "$sid" >"$dir/zk$sid/data/myid"
	cat >"$dir/zk$sid/zoo.cfg" <<EOF
# zkobserver demo: voter $sid
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/zk$sid/data
clientPort=$(port "$i")
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
standaloneEnabled=false
reconfigEnabled=false
$servers
EOF
	"$java" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.awt.headless=true \
		-Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
		-cp "$classpath" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zk$sid/zoo.cfg" \
		>"$dir/zk$sid.log" 2>&1 </dev/null &
	echo "zk$sid $!" >>"$dir/pids"
done

# srvr PORT: the server's srvr answer ("" when it does not answer).
srvr() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && timeout 2 cat <&3) 2>/dev/null || true
}

say "starting 3 ZooKeeper voters (logs in $dir/zk*.log) ..."
leader=""
for _ in $(seq $((timeout_s * 5))); do
	modes=""
	for sid in 1 2 3; do
		m="$(srvr "$(port $(((sid - 1) * 3)))" | sed -n 's/^Mode: //p')"
		modes+="$m "
		[[ "$m" == leader ]] && leader=$sid
	done
	[[ "$modes" == *leader* && "$(grep -o follower <<<"$modes" | wc -l)" -eq 2 ]] && break
	leader=""
	sleep 0.2
done
if [[ -z "$leader" ]]; then
	echo "demo: the ensemble elected no leader in ${timeout_s}s; see $dir/zk*.log" >&2
	exit 1
fi

"$bin" run --zoo-cfg "$dir/zk1/zoo.cfg" --sid "$observer_sid" --storage pebble --data "$dir/observer-data" \
	--metrics-addr "127.0.0.1:$metrics_port" --log-format json >"$dir/zkobserver.log" 2>&1 </dev/null &
obs=$!
echo "observer $obs" >>"$dir/pids"

say "starting zkobserver (log in $dir/zkobserver.log) ..."
synced=0
for _ in $(seq $((timeout_s * 5))); do
	if grep -q 'synced with the leader' "$dir/zkobserver.log"; then synced=1; break; fi
	alive "$obs" || break
	sleep 0.2
done
if ((!synced)); then
	echo "demo: zkobserver did not sync with the leader; its log:" >&2
	tail -20 "$dir/zkobserver.log" >&2
	exit 1
fi

metrics="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
	"http://127.0.0.1:$metrics_port/metrics")"
if ! grep -q '^observer_state{state="OBSERVING"} 1' <<<"$metrics"; then
	echo "demo: the metrics do not say OBSERVING:" >&2
	echo "$metrics" >&2
	exit 1
fi

say ""
say "zkobserver demo is running (leader: server $leader)"
say ""
printf '  %-10s %-17s %-12s %-14s %s\n' server "client" "quorum port" "election port" "data dir / log"
for sid in 1 2 3; do
	i=$(((sid - 1) * 3))
	printf '  %-10s %-17s %-12s %-14s %s\n' "zk$sid" "127.0.0.1:$(port "$i")" "$(port $((i + 1)))" "$(port $((i + 2)))" \
		"$dir/zk$sid/data  $dir/zk$sid.log"
done
printf '  %-10s %-17s %-12s %-14s %s\n' "zkobserver" "(issue 6)" "-" "-" "$dir/observer-data  $dir/zkobserver.log"
say ""
say "  sid $observer_sid, storage pebble; metrics: http://127.0.0.1:$metrics_port/metrics"
say "  $(grep 'synced with the leader' "$dir/zkobserver.log" | tail -1)"
say ""
say "  try:  /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:$(port 0) create /hello world"
say "        curl -s http://127.0.0.1:$metrics_port/metrics | grep zxid"
say ""

if ((check)); then
	say "--check: all started and synced; stopping"
	exit 0
fi

say "stop: Ctrl-C here, or 'make demo-stop' from another terminal"
say "---- zkobserver log ----"
tail -n +1 -f --pid="$obs" "$dir/zkobserver.log" &
wait "$obs" || true
