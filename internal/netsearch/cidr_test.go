package netsearch

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestParseCIDRNormalizes(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		fam      int
	}{
		{"10.0.0.5/24", "10.0.0.0/24", 4},
		{"203.0.113.7", "203.0.113.7/32", 4},
		{"0.0.0.0/0", "0.0.0.0/0", 4},
		{"::/0", "::/0", 6},
		{"2001:db8::1/64", "2001:db8::/64", 6},
		{"::ffff:203.0.113.7", "203.0.113.7/32", 4},
		{"::ffff:203.0.113.0/120", "203.0.113.0/24", 4},
		{"::ffff:0:0/96", "0.0.0.0/0", 4},
		{" 192.0.2.1/32 ", "192.0.2.1/32", 4},
	} {
		r, err := ParseCIDR(tc.in)
		if err != nil {
			t.Errorf("ParseCIDR(%q): %v", tc.in, err)
			continue
		}
		if r.String() != tc.want || r.Family() != tc.fam {
			t.Errorf("ParseCIDR(%q) = %s family %d, want %s family %d", tc.in, r, r.Family(), tc.want, tc.fam)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "300.1.1.1", "10.0.0/8", "fe80::1%eth0", "x/24", "::/129"} {
		if _, err := ParseCIDR(bad); err == nil {
			t.Errorf("ParseCIDR(%q) succeeded, want an error", bad)
		}
	}
	if _, err := ParseAddr("203.0.113.7/32"); err == nil {
		t.Error("ParseAddr accepted a CIDR")
	}
}

func TestRangeBounds(t *testing.T) {
	for _, tc := range []struct{ cidr, start, end string }{
		{"203.0.113.0/24", "203.0.113.0", "203.0.113.255"},
		{"0.0.0.0/0", "0.0.0.0", "255.255.255.255"},
		{"10.1.2.3/32", "10.1.2.3", "10.1.2.3"},
		{"172.16.0.0/12", "172.16.0.0", "172.31.255.255"},
		{"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8::/33", "2001:db8::", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff"},
	} {
		r, _ := ParseCIDR(tc.cidr)
		s, e := netip.MustParseAddr(tc.start).As16(), netip.MustParseAddr(tc.end).As16()
		if !bytes.Equal(r.Start(), s[:]) || !bytes.Equal(r.End(), e[:]) {
			t.Errorf("%s: start %x end %x, want %x %x", tc.cidr, r.Start(), r.End(), s, e)
		}
	}
	// The IPv4 0.0.0.0/0 and IPv6 ::ffff:0:0/96 share bytes; the family keeps them apart.
	v4, _ := ParseCIDR("0.0.0.0/0")
	v6, _ := ParseCIDR("::/0")
	a, _ := ParseCIDR("203.0.113.7")
	if !ContainsRange(4, v4.Start(), v4.End(), a) || ContainsRange(6, v6.Start(), v6.End(), a) {
		t.Error("0.0.0.0/0 must contain 203.0.113.7 and ::/0 must not")
	}
}

func TestStartAtIsTheLookupKey(t *testing.T) {
	a := netip.MustParseAddr("203.0.113.7")
	for _, tc := range []struct {
		bits int
		want string
	}{{32, "203.0.113.7"}, {24, "203.0.113.0"}, {16, "203.0.0.0"}, {0, "0.0.0.0"}, {25, "203.0.113.0"}, {29, "203.0.113.0"}, {30, "203.0.113.4"}} {
		w := netip.MustParseAddr(tc.want).As16()
		if got := StartAt(a, tc.bits); !bytes.Equal(got, w[:]) {
			t.Errorf("StartAt(/%d) = %x, want %s", tc.bits, got, tc.want)
		}
		// Every rule CIDR containing a, normalized, starts exactly there.
		r, _ := ParseCIDR(netip.PrefixFrom(a, tc.bits).String())
		if !bytes.Equal(r.Start(), w[:]) {
			t.Errorf("ParseCIDR of a/%d starts at %x", tc.bits, r.Start())
		}
	}
}

func TestContainsAndOverlaps(t *testing.T) {
	p := func(s string) Range { r, _ := ParseCIDR(s); return r }
	if !p("10.0.0.0/8").Contains(p("10.1.0.0/16")) || p("10.1.0.0/16").Contains(p("10.0.0.0/8")) {
		t.Error("containment is one way")
	}
	if !p("10.0.0.0/8").Overlaps(p("10.1.0.0/16")) || !p("10.1.0.0/16").Overlaps(p("10.0.0.0/8")) || p("10.0.0.0/8").Overlaps(p("11.0.0.0/8")) {
		t.Error("overlap")
	}
	if p("0.0.0.0/0").Overlaps(p("::/0")) || p("::/0").Contains(p("10.0.0.1")) {
		t.Error("families never mix")
	}
}
