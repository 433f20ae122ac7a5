#!/usr/bin/env bash
# Installs what the integration tests need (idempotent):
#   - Apache ZooKeeper 3.8 from Debian (/usr/share/java/zookeeper.jar,
#     /usr/share/zookeeper/bin/zkCli.sh) for internal/ensemble,
#   - a headless Java runtime,
#   - kazoo for /usr/bin/python3 (the system Python; a python3 found first on
#     PATH may be a pyenv interpreter without it).
# Does nothing if everything is present; otherwise runs apt-get update once
# and apt-get install. Exits non-zero if installation fails or something is
# still missing afterwards.
set -euo pipefail

packages=(zookeeper python3-kazoo default-jre-headless)

missing() {
	local m=()
	[[ -f /usr/share/java/zookeeper.jar ]] || m+=("/usr/share/java/zookeeper.jar")
	[[ -x /usr/share/zookeeper/bin/zkCli.sh ]] || m+=("/usr/share/zookeeper/bin/zkCli.sh")
	command -v java >/dev/null 2>&1 || m+=("java")
	{ [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import kazoo' >/dev/null 2>&1; } || m+=("kazoo for /usr/bin/python3")
	if ((${#m[@]})); then
		printf '%s\n' "${m[@]}"
	fi
}

todo="$(missing)"
if [[ -z "$todo" ]]; then
	echo "install-deps: all dependencies present"
	exit 0
fi
echo "install-deps: missing:"
sed 's/^/  /' <<<"$todo"

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-deps: not root and sudo is not available" >&2
		exit 1
	fi
	sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}"

todo="$(missing)"
if [[ -n "$todo" ]]; then
	echo "install-deps: still missing after installation:" >&2
	sed 's/^/  /' <<<"$todo" >&2
	exit 1
fi
echo "install-deps: done"
