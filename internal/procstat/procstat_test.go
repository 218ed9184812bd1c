package procstat

import (
	"testing"
	"time"
)

// Holding 64 MiB raises the peak by about that much, and burning CPU shows in CPU time.
func TestPeakRSSAndCPU(t *testing.T) {
	before := PeakRSS()
	if before == 0 {
		t.Fatal("no peak RSS reading")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if grew := PeakRSS() - before; grew < 48<<20 {
		t.Fatalf("peak RSS grew %d MiB after touching 64 MiB", grew>>20)
	}
	_ = buf[len(buf)-1]
	c0 := CPU()
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	if d := CPU() - c0; d < 20*time.Millisecond {
		t.Fatalf("CPU time grew %s over a 50 ms busy loop", d)
	}
}
