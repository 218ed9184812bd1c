// Package procstat reads this process's own resource use for benchmarks: peak resident memory
// and CPU time. On a shared machine wall clock measures the neighbours too; CPU time and peak RSS
// measure the work.
package procstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSS is the process's peak resident set size in bytes: VmHWM on Linux (which ResetPeakRSS
// can restart), else getrusage's maximum.
func PeakRSS() uint64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Maxrss) << 10 // Linux reports KiB
}

// PeakRSSMiB is PeakRSS in MiB.
func PeakRSSMiB() float64 { return float64(PeakRSS()) / (1 << 20) }

// ResetPeakRSS starts a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM), so
// that setting a benchmark up does not count. Elsewhere it does nothing.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// CPU is the process's user plus system CPU time so far.
func CPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
