package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func netRuleFixture(i int) *NetRule {
	r := &NetRule{
		Family: 4, PrefixLen: 0, Start: make([]byte, 16), End: make([]byte, 16),
		AccountID: fmt.Sprintf("%012d", 100+i%3), Region: "us-east-1", ResourceARN: fmt.Sprintf("arn:aws:ec2:us-east-1:1:security-group/sg-%d", i/2),
		ResourceType: "AWS::EC2::SecurityGroup", ResourceName: "web", Kind: "security-group", Direction: "ingress", Protocol: "tcp",
		FromPort: 443, ToPort: 443 + i, RuleID: fmt.Sprintf("sgr-%d", i), CIDR: "0.0.0.0/0", Action: "allow",
	}
	r.Start[10], r.Start[11], r.End[10], r.End[11] = 0xff, 0xff, 0xff, 0xff
	for j := 12; j < 16; j++ {
		r.End[j] = 0xff
	}
	return r
}

// Records survive the encoding, with and without back-references to the previous record.
func TestNetRuleEncodingRoundTrip(t *testing.T) {
	rules := []*NetRule{netRuleFixture(0), netRuleFixture(1), netRuleFixture(2),
		{Kind: "security-group", Direction: "egress", Protocol: "-1", FromPort: -1, ToPort: -1, PrefixListID: "pl-1", Note: "unreadable"}}
	var blob []byte
	var prev *NetRule
	for _, r := range rules {
		blob = appendNetRule(blob, r, prev)
		prev = r
	}
	var got []*NetRule
	if err := decodeNetRules(blob, 2, func(r *NetRule) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rules) {
		t.Fatalf("decoded %d records, want %d", len(got), len(rules))
	}
	for i := range rules {
		want := *rules[i]
		if want.Start == nil {
			want.Start, want.End = nil, nil
		}
		if !reflect.DeepEqual(*got[i], want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, *got[i], want)
		}
	}
	if err := decodeNetRules(blob[:len(blob)-3], 4, func(*NetRule) error { return nil }); err == nil {
		t.Error("a truncated blob decoded without error")
	}
}

// A CIDR with more rules than one part holds spans parts, read back in extraction order;
// NotIpAddress rules come back ordered by resource and statement.
func TestNetRuleWriterGroups(t *testing.T) {
	// Small parts and statements: groups span parts, and inserts have full and partial batches.
	oldPart, oldRows := netGroupPart, netRulesPerInsert
	netGroupPart, netRulesPerInsert = 3, 2
	t.Cleanup(func() { netGroupPart, netRulesPerInsert = oldPart, oldRows })
	ctx := context.Background()
	db, id, w := newTestNetRuleWriter(t)
	for i := 0; i < 8; i++ {
		if err := w.Put(ctx, netRuleFixture(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []struct{ arn, stmt, cidr string }{{"arn:aws:s3:::b", "1", "10.0.0.0/8"}, {"arn:aws:s3:::a", "0", "192.168.0.0/16"}, {"arn:aws:s3:::b", "0", "10.1.0.0/16"}} {
		r := netRuleFixture(0)
		r.PrefixLen, r.Kind, r.ResourceARN, r.RuleID, r.CIDR, r.Condition = 8, "s3-bucket-policy", n.arn, n.stmt, n.cidr, condNotIP
		if err := w.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var parts int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM netrule_groups WHERE scan_id = ? AND family = 4`, id).Scan(&parts); err != nil || parts != 3 {
		t.Errorf("8 rules of one CIDR in %d parts (%v), want 3", parts, err)
	}
	var staged int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM netrule_staging`).Scan(&staged); err != nil || staged != 0 {
		t.Errorf("%d staged rows left (%v)", staged, err)
	}
	l, err := db.PrepareNetRuleLookup(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ids []string
	if err := l.At(ctx, 4, 0, netRuleFixture(0).Start, func(r *NetRule) error { ids = append(ids, r.RuleID); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[sgr-0 sgr-1 sgr-2 sgr-3 sgr-4 sgr-5 sgr-6 sgr-7]" {
		t.Errorf("lookup gave %v", ids)
	}
	var notIP []string
	err = db.NetRulesByCondition(ctx, id, "s3-bucket-policy", []string{condNotIP}, func(r *NetRule) error {
		notIP = append(notIP, r.ResourceARN+"#"+r.RuleID+" "+r.CIDR)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(notIP) != "[arn:aws:s3:::a#0 192.168.0.0/16 arn:aws:s3:::b#0 10.1.0.0/16 arn:aws:s3:::b#1 10.0.0.0/8]" {
		t.Errorf("NotIpAddress rules %v", notIP)
	}
	ix, err := db.NetRuleIndexOf(ctx, id)
	if err != nil || ix.Rules != 11 || fmt.Sprint(ix.Prefixes) != "map[4:[0] 6:[]]" {
		t.Errorf("index marker %+v %v, want 11 rules and only IPv4 /0 (NotIpAddress rules are not looked up by range)", ix, err)
	}
	var n int
	if err := db.EachNetRule(ctx, id, func(*NetRule) error { n++; return nil }); err != nil || n != 11 {
		t.Errorf("EachNetRule gave %d rules (%v), want 11", n, err)
	}
}

// With an Order, each group is stored in that order, ties in extraction order; the NotIpAddress
// group keeps resource and statement order.
func TestNetRuleWriterOrder(t *testing.T) {
	ctx := context.Background()
	db, id, w := newTestNetRuleWriter(t)
	w.Order = func(a, b *NetRule) int { return strings.Compare(a.AccountID, b.AccountID) }
	for i := 0; i < 6; i++ {
		r := netRuleFixture(i) // accounts 100, 101, 102, 100, 101, 102
		if err := w.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []struct{ account, arn string }{{"9", "arn:aws:s3:::a"}, {"1", "arn:aws:s3:::b"}} {
		r := netRuleFixture(0)
		r.AccountID, r.ResourceARN, r.Kind, r.Condition = n.account, n.arn, "s3-bucket-policy", condNotIP
		if err := w.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := db.PrepareNetRuleLookup(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got []string
	if err := l.At(ctx, 4, 0, netRuleFixture(0).Start, func(r *NetRule) error { got = append(got, r.AccountID[9:]+"/"+r.RuleID); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[100/sgr-0 100/sgr-3 101/sgr-1 101/sgr-4 102/sgr-2 102/sgr-5]" {
		t.Errorf("stored order %v", got)
	}
	got = nil
	if err := db.NetRulesByCondition(ctx, id, "s3-bucket-policy", []string{condNotIP}, func(r *NetRule) error { got = append(got, r.ResourceARN); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[arn:aws:s3:::a arn:aws:s3:::b]" {
		t.Errorf("NotIpAddress order %v", got)
	}
}

// newTestNetRuleWriter opens a database with one scan and starts its rule writer.
func newTestNetRuleWriter(t *testing.T) (*DB, int64, *NetRuleWriter) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	id, err := db.CreateScan(ctx, "arn:aws:iam::1:root", "1", "", struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := db.NewNetRuleWriter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return db, id, w
}
