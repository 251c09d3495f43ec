package task

import "runtime"

type runtime_MemStats = runtime.MemStats

func readMem(ms *runtime.MemStats) {
	runtime.GC()
	runtime.ReadMemStats(ms)
}
