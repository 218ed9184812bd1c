// Package collecttest runs collectors in tests: an in-memory sink and a helper that runs one
// collector against an emulator endpoint as a scan task would.
package collecttest

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Sink keeps everything in memory.
type Sink struct {
	mu            sync.Mutex
	Resources     []*inventory.Resource
	Relationships []inventory.Relationship
	Findings      []*finding.Finding
}

func (s *Sink) PutResource(r *inventory.Resource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Resources = append(s.Resources, r)
	return nil
}

func (s *Sink) PutRelationship(r inventory.Relationship) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Relationships = append(s.Relationships, r)
	return nil
}

func (s *Sink) PutFinding(f *finding.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Findings = append(s.Findings, f)
	return nil
}

// ByType returns the resources of one type.
func (s *Sink) ByType(typ string) []*inventory.Resource {
	var out []*inventory.Resource
	for _, r := range s.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByARN returns the resource with that ARN, or nil.
func (s *Sink) ByARN(arn string) *inventory.Resource {
	for _, r := range s.Resources {
		if r.ARN == arn {
			return r
		}
	}
	return nil
}

// HasRelationship reports whether from -kind-> to was recorded.
func (s *Sink) HasRelationship(from, kind, to string) bool {
	for _, r := range s.Relationships {
		if r.From == from && r.Kind == kind && r.To == to {
			return true
		}
	}
	return false
}

// Run runs the named collector against cfg (whose credentials decide the account) in region,
// returning what it produced and its error.
func Run(t testing.TB, name string, cfg aws.Config, account, region string) (*Sink, error) {
	t.Helper()
	var c *collect.Collector
	for _, x := range collect.All() {
		if x.Name == name {
			c = x
		}
	}
	if c == nil {
		t.Fatalf("no collector %q registered (import its package)", name)
	}
	cfg = cfg.Copy()
	cfg.Region = region
	awsx.NewLimiter(nil).Attach(&cfg, account)
	sink := &Sink{}
	err := c.Run(context.Background(), &collect.Target{AccountID: account, Region: region, Partition: "aws", Config: cfg}, sink)
	return sink, err
}
