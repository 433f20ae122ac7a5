package fourletter

import (
	"bufio"
	"math"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// KV is one line of envi.
type KV struct{ Key, Value string }

// These are swapped by tests for fixed values.
var (
	environment     = processEnvironment
	fileDescriptors = processFDs
)

// writeEnvi is EnvCommand: "Environment:" and one key=value line per
// entry. Java prints Environment.list(): zookeeper.version, host.name,
// eleven java.* properties, os.*, user.* and the JVM heap. zkobserver is
// no JVM, so it prints the same keys where they mean the same thing and
// Go's facts in place of the java.* ones:
//
//	zookeeper.version   Server.Version (kazoo reads the version here)
//	host.name           os.Hostname (Java: the canonical name of the local address)
//	go.version          runtime.Version
//	go.compiler         runtime.Compiler
//	go.maxprocs         GOMAXPROCS
//	go.executable       os.Executable
//	os.name             Java's os.name for GOOS ("Linux", "Mac OS X", ...)
//	os.arch             GOARCH
//	os.version          the kernel release (/proc/sys/kernel/osrelease), <NA> elsewhere
//	user.name, user.home, user.dir
//	os.memory.free      heap held from the OS but unused (HeapIdle-HeapReleased), NMB
//	os.memory.max       the Go memory limit (GOMEMLIMIT), NMB, <NA> when unlimited
//	os.memory.total     memory obtained from the OS (Sys), NMB
//
// Values that cannot be read print as <NA>, as Java prints them.
func writeEnvi(w *bufio.Writer, s Server) {
	w.WriteString("Environment:\n")
	w.WriteString("zookeeper.version=" + s.Version() + "\n")
	for _, e := range environment() {
		w.WriteString(e.Key + "=" + e.Value + "\n")
	}
}

// processEnvironment returns the envi entries after zookeeper.version.
func processEnvironment() []KV {
	na := func(s string, err error) string {
		if err != nil || s == "" {
			return "<NA>"
		}
		return s
	}
	host := na(os.Hostname())
	exe := na(os.Executable())
	osVersion := "<NA>"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		osVersion = na(strings.TrimSpace(string(b)), nil)
	}
	userName, userHome := "<NA>", "<NA>"
	if u, err := user.Current(); err == nil {
		userName, userHome = na(u.Username, nil), na(u.HomeDir, nil)
	} else {
		userHome = na(os.UserHomeDir())
	}
	wd := na(os.Getwd())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mb = 1 << 20
	maxMem := "<NA>"
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		maxMem = strconv.FormatInt(lim/mb, 10) + "MB"
	}
	return []KV{
		{"host.name", host},
		{"go.version", runtime.Version()},
		{"go.compiler", runtime.Compiler},
		{"go.maxprocs", strconv.Itoa(runtime.GOMAXPROCS(0))},
		{"go.executable", exe},
		{"os.name", javaOSName(runtime.GOOS)},
		{"os.arch", runtime.GOARCH},
		{"os.version", osVersion},
		{"user.name", userName},
		{"user.home", userHome},
		{"user.dir", wd},
		{"os.memory.free", strconv.FormatUint((ms.HeapIdle-ms.HeapReleased)/mb, 10) + "MB"},
		{"os.memory.max", maxMem},
		{"os.memory.total", strconv.FormatUint(ms.Sys/mb, 10) + "MB"},
	}
}

// javaOSName is the os.name a JVM reports on GOOS.
func javaOSName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Mac OS X"
	case "freebsd":
		return "FreeBSD"
	case "openbsd":
		return "OpenBSD"
	case "netbsd":
		return "NetBSD"
	case "solaris":
		return "SunOS"
	case "aix":
		return "AIX"
	case "windows":
		return "Windows"
	}
	return goos
}
