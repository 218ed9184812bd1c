package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// StableID is stored: finding histories across scans depend on it never changing. This is the
// definition (SHA-256 over the parts, each followed by a zero byte; the first 24 hex digits).
func referenceID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

func TestStableIDKeepsItsDefinition(t *testing.T) {
	cases := [][]string{
		nil,
		{""},
		{"ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:111111111111:security-group/sg-1"},
		{"a", "b"}, {"ab"}, // the separator keeps these apart
		{strings.Repeat("x", 2000), "long parts spill off the stack buffer"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		got := StableID(c...)
		if want := referenceID(c...); got != want {
			t.Errorf("StableID(%q) = %s, want %s", c, got, want)
		}
		if seen[got] {
			t.Errorf("StableID(%q) collides with an earlier case", c)
		}
		seen[got] = true
	}
}

func BenchmarkStableID(b *testing.B) {
	for i := 0; i < b.N; i++ {
		StableID("ec2.sg_ingress_ssh_world", "arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123456789abcdef0", "us-east-1")
	}
}
