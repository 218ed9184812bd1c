// Package netsearch normalizes the address-bearing rules of an inventory (security group rules,
// network ACL entries, S3 bucket policy IP conditions) into address ranges stored in an index,
// and answers "which rules contain / lie within / overlap this address or CIDR" from it.
package netsearch

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/yagura-dev/yagura/internal/store"
)

// Range is a normalized CIDR: masked (host bits cleared), IPv4-mapped IPv6 written as IPv4.
type Range struct {
	Prefix netip.Prefix
}

// ParseCIDR reads a CIDR as AWS and users write it. Host bits are cleared (10.0.0.5/24 is
// 10.0.0.0/24), an IPv4-mapped IPv6 prefix of at least /96 becomes the IPv4 prefix it denotes,
// and a bare address is its single-host prefix. Zones are refused.
func ParseCIDR(s string) (Range, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Range{}, fmt.Errorf("empty CIDR")
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return Range{}, fmt.Errorf("invalid CIDR %q: %v", s, err)
		}
	} else {
		a, err := ParseAddr(s)
		if err != nil {
			return Range{}, err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Zone() != "" {
		return Range{}, fmt.Errorf("invalid CIDR %q: zones are not allowed", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			// ::ffff:0:0/95 and shorter cover more than the mapped space: keep it IPv6.
			return Range{Prefix: p.Masked()}, nil
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return Range{Prefix: p.Masked()}, nil
}

// ParseAddr reads a single address; an IPv4-mapped IPv6 address is the IPv4 address.
func ParseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid IP address %q: %v", s, err)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("invalid IP address %q: zones are not allowed", s)
	}
	return a.Unmap(), nil
}

// Family is 4 or 6.
func (r Range) Family() int {
	if r.Prefix.Addr().Is4() {
		return 4
	}
	return 6
}

// Bits is the prefix length in the family's own bits.
func (r Range) Bits() int { return r.Prefix.Bits() }

// String is the canonical CIDR text.
func (r Range) String() string { return r.Prefix.String() }

// IsHost reports a /32 or /128.
func (r Range) IsHost() bool { return r.Prefix.Bits() == r.Prefix.Addr().BitLen() }

// Start is the first address as 16 bytes (IPv4-mapped for IPv4).
func (r Range) Start() []byte {
	b := r.Prefix.Addr().As16()
	return b[:]
}

// End is the last address as 16 bytes (IPv4-mapped for IPv4).
func (r Range) End() []byte {
	b := r.Prefix.Addr().As16()
	// Host bits of the 128-bit form: an IPv4 prefix sits in the low 32 bits.
	bits := r.Prefix.Bits()
	if r.Family() == 4 {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return b[:]
}

// StartAt returns the network start of the prefix of length bits containing a, as 16 bytes:
// the key of the point lookup for that prefix length.
func StartAt(a netip.Addr, bits int) []byte {
	p, _ := a.Prefix(bits)
	b := p.Addr().As16()
	return b[:]
}

// ContainsRange reports whether the rule range [start, end] of family fam contains the whole
// range q.
func ContainsRange(fam int, start, end []byte, q Range) bool {
	return fam == q.Family() && bytes.Compare(start, q.Start()) <= 0 && bytes.Compare(q.End(), end) <= 0
}

// Overlaps reports whether two ranges of the same family share an address. CIDRs either nest or
// are disjoint, so this is containment one way or the other.
func (r Range) Overlaps(o Range) bool {
	return r.Family() == o.Family() && r.Prefix.Overlaps(o.Prefix)
}

// Contains reports whether r contains the whole of o.
func (r Range) Contains(o Range) bool {
	return r.Family() == o.Family() && r.Bits() <= o.Bits() && r.Prefix.Contains(o.Prefix.Addr())
}

// ruleRange is the range of a stored rule, rebuilt from its network start and prefix length: a
// query classifies thousands of rules, and parsing each rule's CIDR text again cost more than
// reading it. False for a rule without a range (Family 0).
func ruleRange(r *store.NetRule) (Range, bool) {
	if len(r.Start) != 16 || (r.Family != 4 && r.Family != 6) {
		return Range{}, false
	}
	a := netip.AddrFrom16([16]byte(r.Start))
	if r.Family == 4 {
		a = a.Unmap()
	}
	p := netip.PrefixFrom(a, r.PrefixLen)
	if !p.IsValid() {
		return Range{}, false
	}
	return Range{Prefix: p}, true
}
