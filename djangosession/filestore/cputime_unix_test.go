//go:build unix

package filestore

import (
	"syscall"
	"time"
)

// cpuTime is the user+system CPU time of this process so far. Benchmarks
// report it per operation (cpu-ns/op) next to wall time: on a machine
// shared with other work, CPU time is what compares fairly with the Python
// side, which measures time.process_time().
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
