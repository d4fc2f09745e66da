package usage

import "testing"

func TestSizingMath(t *testing.T) {
	xs := []float64{0.1, 0.5, 0.2, 0.3, 0.9, 0.4, 0.2, 0.1, 0.3, 0.2}
	if p := percentile(xs, 0.95); p != 0.9 {
		t.Errorf("p95 of ten: %v, want 0.9 (nearest rank)", p)
	}
	if p := percentile(xs, 0.5); p != 0.2 {
		t.Errorf("p50: %v, want 0.2", p)
	}
	for _, tc := range []struct {
		got, want int64
	}{
		{roundCPU(57.5), 60}, {roundCPU(3), 10}, {roundCPU(1000), 1000},
		{roundMemory(100.5 * (1 << 20)), 101 << 20}, {roundMemory(1 << 20), 16 << 20},
	} {
		if tc.got != tc.want {
			t.Errorf("rounded %d, want %d", tc.got, tc.want)
		}
	}
	tests := []struct {
		name                  string
		req, newReq, lim      int64
		wantChange, wantLimit string
	}{
		{"lower, limit keeps its ratio", 500, 60, 1000, "lower", "120m"},
		{"raise, no limit", 100, 250, 0, "raise", ""},
		{"within 10%: keep", 500, 520, 500, "keep", "520m"},
	}
	for _, tc := range tests {
		s := sizing("", "", "", "", tc.req, tc.newReq, tc.lim, CPU, roundCPU)
		if s.Change != tc.wantChange || s.SuggestedLimit != tc.wantLimit {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}
}
