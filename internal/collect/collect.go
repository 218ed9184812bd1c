// Package collect declares collectors as data: which service, global or regional, which API
// actions, which resource types. Each service has its own subpackage that registers its
// collectors here; the scan engine runs them as account × region × collector tasks.
package collect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// Target is the account and region a task collects from, with credentials for that account.
type Target struct {
	AccountID string
	Region    string // the region to call; for global collectors the home region
	Partition string
	Config    aws.Config // credentials of the account, Region set, rate limits attached
	// OrgAccounts lists every account id of the organization, for collectors that judge trust.
	OrgAccounts []string
}

// ARN builds an ARN in the target's partition.
func (t *Target) ARN(service, region, resource string) string {
	p := t.Partition
	if p == "" {
		p = "aws"
	}
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p, service, region, t.AccountID, resource)
}

// Sink receives records. Collectors of native findings use PutFinding.
type Sink interface {
	inventory.Sink
	PutFinding(f *finding.Finding) error
}

// Collector is one unit of collection.
type Collector struct {
	Name          string   // unique, "<service>.<what>", e.g. ec2.security-groups
	Service       string   // as in --services, e.g. ec2
	Global        bool     // runs once per account (IAM, S3 bucket listing, Organizations)
	Actions       []string // IAM actions it calls, e.g. ec2:DescribeSecurityGroups
	ResourceTypes []string // what it produces, CloudFormation naming
	// ManagementOnly collectors run only in the account the scan's caller is in (e.g. the
	// organization's service control policies).
	ManagementOnly bool
	Run            func(ctx context.Context, t *Target, sink Sink) error
}

var (
	mu       sync.Mutex
	registry = map[string]*Collector{}
)

// Register adds a collector; service packages call it from init.
func Register(c *Collector) {
	mu.Lock()
	defer mu.Unlock()
	if c.Name == "" || c.Service == "" || c.Run == nil {
		panic("collect: incomplete collector " + c.Name)
	}
	if _, dup := registry[c.Name]; dup {
		panic("collect: duplicate collector " + c.Name)
	}
	registry[c.Name] = c
}

// All returns every registered collector, sorted by name.
func All() []*Collector {
	mu.Lock()
	defer mu.Unlock()
	out := make([]*Collector, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Select returns the collectors of the given services (all when empty). Unknown service names
// are an error so that a typo does not silently scan nothing.
func Select(services []string) ([]*Collector, error) {
	all := All()
	if len(services) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, s := range services {
		want[strings.ToLower(strings.TrimSpace(s))] = true
	}
	var out []*Collector
	seen := map[string]bool{}
	for _, c := range all {
		if want[c.Service] || want[c.Name] {
			out = append(out, c)
			seen[c.Service] = true
			seen[c.Name] = true
		}
	}
	for s := range want {
		if !seen[s] {
			return nil, fmt.Errorf("unknown service %q (known: %s)", s, strings.Join(Services(), ", "))
		}
	}
	return out, nil
}

// Services lists the distinct service names.
func Services() []string {
	set := map[string]bool{}
	for _, c := range All() {
		set[c.Service] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Actions lists every IAM action all collectors need, sorted, for the audit role's policy.
func Actions() []string {
	set := map[string]bool{}
	for _, c := range All() {
		for _, a := range c.Actions {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
