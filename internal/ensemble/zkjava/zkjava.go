// Package zkjava locates and describes the Apache ZooKeeper 3.8 Java server
// that tests and benchmarks run (Debian's zookeeper package: zookeeper.jar,
// run with the system's java), without depending on package testing, so
// that the `zkobserver bench` commands can use it as well as the test
// harness (package ensemble).
//
// Environment overrides: ZKOBS_JAVA (the java binary), ZKOBS_ZK_CLASSPATH
// (the server classpath), ZKOBS_ZKCLI (zkCli.sh).
package zkjava

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Locations of Debian's zookeeper package (3.8.0). zookeeper.jar's manifest
// Class-Path pulls in slf4j-api, netty, jute, metrics-core, commons-cli,
// snappy-java etc., but no slf4j binding, so slf4j-simple (logs to stderr)
// is added explicitly; without it the server logs nothing at all.
const (
	defaultJava    = "/usr/bin/java"
	zookeeperJar   = "/usr/share/java/zookeeper.jar"
	slf4jSimpleJar = "/usr/share/java/slf4j-simple.jar"
	defaultZkCli   = "/usr/share/zookeeper/bin/zkCli.sh"
	envJava        = "ZKOBS_JAVA"
	envClasspath   = "ZKOBS_ZK_CLASSPATH"
	envZkCli       = "ZKOBS_ZKCLI"
)

// QuorumPeerMain is the server's main class. Given a zoo.cfg without
// server.N lines it runs a standalone server (ZooKeeperServerMain).
const QuorumPeerMain = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

// InstallHint says how to install what Missing reports.
const InstallHint = "run scripts/install-deps.sh (apt-get install -y --no-install-recommends zookeeper python3-kazoo default-jre-headless)"

// Java returns the java binary: $ZKOBS_JAVA, else java on $PATH, else
// /usr/bin/java.
func Java() string {
	if p := os.Getenv(envJava); p != "" {
		return p
	}
	if p, err := exec.LookPath("java"); err == nil {
		return p
	}
	return defaultJava
}

// Classpath returns the server classpath: $ZKOBS_ZK_CLASSPATH, else
// zookeeper.jar and slf4j-simple.jar from /usr/share/java.
func Classpath() string {
	if cp := os.Getenv(envClasspath); cp != "" {
		return cp
	}
	return zookeeperJar + string(filepath.ListSeparator) + slf4jSimpleJar
}

// ZkCli returns the path of zkCli.sh: $ZKOBS_ZKCLI, else Debian's.
func ZkCli() string {
	if p := os.Getenv(envZkCli); p != "" {
		return p
	}
	return defaultZkCli
}

// Missing lists what is needed to run the Java server (and, with zkCli,
// zkCli.sh) but absent; empty when everything is there.
func Missing(zkCli bool) []string {
	var missing []string
	if _, err := exec.LookPath(Java()); err != nil {
		missing = append(missing, "java ("+Java()+")")
	}
	for _, p := range filepath.SplitList(Classpath()) {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := os.Stat(ZkCli()); zkCli && err != nil {
		missing = append(missing, ZkCli())
	}
	return missing
}

// MissingError describes Missing's list with the install hint, or returns
// "" when nothing is missing.
func MissingError(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	return "missing " + strings.Join(missing, ", ") + "; " + InstallHint
}
