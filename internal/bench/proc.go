package bench

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// peakRSSOf returns VmHWM, the peak resident set, of process pid ("self"
// for this one), from /proc/<pid>/status; 0 where there is none.
func peakRSSOf(pid string) int64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			if fields := strings.Fields(v); len(fields) > 0 {
				kb, _ := strconv.ParseInt(fields[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
