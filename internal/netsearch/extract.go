package netsearch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// Resource types read, and the rule kinds they give.
const (
	TypeSecurityGroup = "AWS::EC2::SecurityGroup"
	TypeNetworkACL    = "AWS::EC2::NetworkAcl"
	TypePrefixList    = "AWS::EC2::PrefixList"
	TypeBucket        = "AWS::S3::Bucket"

	KindSecurityGroup = "security-group"
	KindNetworkACL    = "network-acl"
	KindBucketPolicy  = "s3-bucket-policy"

	Ingress = "ingress"
	Egress  = "egress"

	CondIpAddress    = "IpAddress"
	CondNotIpAddress = "NotIpAddress"
)

// naclDefaultRule is the catch-all entry (`*`, number 32767) every ACL ends with: it denies
// everything and cannot be changed, so it says nothing about an address in particular; an ACL
// with no other matching entry denies by it.
const naclDefaultRule = 32767

// PrefixLists resolves a managed prefix list id (in a region) to its entries' CIDRs.
type PrefixLists map[string][]string

func plKey(region, id string) string { return region + "|" + id }

// AddPrefixList records the entries of one AWS::EC2::PrefixList resource. A list whose entries
// could not be read (Errors["Entries"]) is recorded as unreadable, with the reason, so that rules
// naming it are reported as unresolved and say why.
func (p PrefixLists) AddPrefixList(r *inventory.Resource) error {
	var c struct {
		PrefixListId string
		Entries      []struct{ Cidr *string }
	}
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return fmt.Errorf("%s: %w", r.ARN, err)
	}
	if c.PrefixListId == "" {
		return nil
	}
	key := plKey(r.Region, c.PrefixListId)
	if _, seen := p[key]; seen {
		// AWS-managed lists are seen by every account of the region, with the same entries.
		return nil
	}
	if c.Entries == nil {
		why := r.Errors["Entries"]
		if why == "" {
			why = "no entries recorded"
		}
		// Another account of the region may still read the entries of a shared or AWS-managed
		// list: only the reason is kept, under its own key.
		p[plErrKey(key)] = []string{why}
		return nil
	}
	delete(p, plErrKey(key))
	cidrs := make([]string, 0, len(c.Entries))
	for _, e := range c.Entries {
		if e.Cidr != nil {
			cidrs = append(cidrs, *e.Cidr)
		}
	}
	p[key] = cidrs
	return nil
}

func plErrKey(key string) string { return key + "|unreadable" }

// resolve returns the entries of a list, or why there are none to search.
func (p PrefixLists) resolve(region, id string) (cidrs []string, why string, ok bool) {
	key := plKey(region, id)
	if cidrs, ok := p[key]; ok {
		return cidrs, "", true
	}
	if e := p[plErrKey(key)]; len(e) > 0 {
		return nil, "its entries could not be read: " + e[0], false
	}
	return nil, "it is not in the inventory (not collected, or shared from an account that was not scanned)", false
}

// Extractor turns inventory resources into rule rows.
type Extractor struct {
	PrefixLists PrefixLists
	// Unresolved counts rule references that could not be turned into addresses: prefix lists
	// absent from the inventory, and CIDRs that do not parse.
	Unresolved []string
}

// Extract calls put for every address range of every rule of r. Resources of other types give
// nothing.
func (x *Extractor) Extract(r *inventory.Resource, put func(*store.NetRule) error) error {
	switch r.Type {
	case TypeSecurityGroup:
		return x.securityGroup(r, put)
	case TypeNetworkACL:
		return x.networkACL(r, put)
	case TypeBucket:
		return x.bucketPolicy(r, put)
	}
	return nil
}

func (x *Extractor) row(r *inventory.Resource, kind, cidr string) (*store.NetRule, bool) {
	rg, err := ParseCIDR(cidr)
	if err != nil {
		x.Unresolved = append(x.Unresolved, fmt.Sprintf("%s: %v", r.ARN, err))
		return nil, false
	}
	row := x.unranged(r, kind)
	row.Family, row.PrefixLen, row.Start, row.End, row.CIDR = rg.Family(), rg.Bits(), rg.Start(), rg.End(), cidr
	return row, true
}

// unranged is a rule of r without an address range (Family 0).
func (x *Extractor) unranged(r *inventory.Resource, kind string) *store.NetRule {
	return &store.NetRule{
		AccountID: r.AccountID, Region: r.Region, ResourceARN: r.ARN, ResourceType: r.Type, ResourceName: r.Name,
		Kind: kind, FromPort: -1, ToPort: -1,
	}
}

// sgPermission is types.IpPermission as the collector marshals it.
type sgPermission struct {
	IpProtocol string
	FromPort   *int
	ToPort     *int
	IpRanges   []struct {
		CidrIp      string
		Description *string
	}
	Ipv6Ranges []struct {
		CidrIpv6    string
		Description *string
	}
	PrefixListIds []struct {
		PrefixListId string
		Description  *string
	}
}

// sgRule is types.SecurityGroupRule, read only to name each permission's rule id.
type sgRule struct {
	SecurityGroupRuleId string
	IsEgress            bool
	IpProtocol          string
	FromPort, ToPort    *int
	CidrIpv4, CidrIpv6  *string
	PrefixListId        *string
}

func ruleKey(egress bool, proto string, from, to *int, target string) string {
	p := func(v *int) string {
		if v == nil {
			return "-1"
		}
		return strconv.Itoa(*v)
	}
	return fmt.Sprintf("%t|%s|%s|%s|%s", egress, proto, p(from), p(to), target)
}

func (x *Extractor) securityGroup(r *inventory.Resource, put func(*store.NetRule) error) error {
	var c struct {
		IpPermissions       []sgPermission
		IpPermissionsEgress []sgPermission
		Rules               []sgRule
	}
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return fmt.Errorf("%s: %w", r.ARN, err)
	}
	ids := map[string]string{}
	for _, rule := range c.Rules {
		target := ""
		switch {
		case rule.CidrIpv4 != nil:
			target = *rule.CidrIpv4
		case rule.CidrIpv6 != nil:
			target = *rule.CidrIpv6
		case rule.PrefixListId != nil:
			target = *rule.PrefixListId
		}
		ids[ruleKey(rule.IsEgress, rule.IpProtocol, rule.FromPort, rule.ToPort, target)] = rule.SecurityGroupRuleId
	}
	for _, dir := range []struct {
		name  string
		perms []sgPermission
	}{{Ingress, c.IpPermissions}, {Egress, c.IpPermissionsEgress}} {
		for _, p := range dir.perms {
			fill := func(row *store.NetRule, target string, desc *string) {
				row.Direction, row.Protocol = dir.name, p.IpProtocol
				if p.IpProtocol != "-1" {
					if p.FromPort != nil {
						row.FromPort = *p.FromPort
					}
					if p.ToPort != nil {
						row.ToPort = *p.ToPort
					}
				}
				row.Action = "allow"
				row.RuleID = ids[ruleKey(dir.name == Egress, p.IpProtocol, p.FromPort, p.ToPort, target)]
				if desc != nil {
					row.Description = *desc
				}
			}
			for _, ipr := range p.IpRanges {
				if row, ok := x.row(r, KindSecurityGroup, ipr.CidrIp); ok {
					fill(row, ipr.CidrIp, ipr.Description)
					if err := put(row); err != nil {
						return err
					}
				}
			}
			for _, ipr := range p.Ipv6Ranges {
				if row, ok := x.row(r, KindSecurityGroup, ipr.CidrIpv6); ok {
					fill(row, ipr.CidrIpv6, ipr.Description)
					if err := put(row); err != nil {
						return err
					}
				}
			}
			for _, pl := range p.PrefixListIds {
				cidrs, why, ok := x.PrefixLists.resolve(r.Region, pl.PrefixListId)
				if !ok {
					x.Unresolved = append(x.Unresolved, fmt.Sprintf("%s: prefix list %s: %s", r.ARN, pl.PrefixListId, why))
					// The rule may admit any address: stored without a range, every query shows it
					// as unresolved rather than dropping it.
					row := x.unranged(r, KindSecurityGroup)
					fill(row, pl.PrefixListId, pl.Description)
					row.PrefixListID, row.Note = pl.PrefixListId, why
					if err := put(row); err != nil {
						return err
					}
					continue
				}
				for _, cidr := range cidrs {
					if row, ok := x.row(r, KindSecurityGroup, cidr); ok {
						fill(row, pl.PrefixListId, pl.Description)
						row.PrefixListID = pl.PrefixListId
						if err := put(row); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

func (x *Extractor) networkACL(r *inventory.Resource, put func(*store.NetRule) error) error {
	var c struct {
		Entries []struct {
			RuleNumber    int
			Egress        bool
			Protocol      string
			RuleAction    string
			CidrBlock     *string
			Ipv6CidrBlock *string
			PortRange     *struct{ From, To *int }
			IcmpTypeCode  *struct{ Code, Type *int }
		}
	}
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return fmt.Errorf("%s: %w", r.ARN, err)
	}
	for _, e := range c.Entries {
		if e.RuleNumber == naclDefaultRule {
			continue
		}
		cidr := ""
		if e.CidrBlock != nil {
			cidr = *e.CidrBlock
		} else if e.Ipv6CidrBlock != nil {
			cidr = *e.Ipv6CidrBlock
		}
		row, ok := x.row(r, KindNetworkACL, cidr)
		if !ok {
			continue
		}
		row.Direction = Ingress
		if e.Egress {
			row.Direction = Egress
		}
		row.Protocol, row.RuleNumber, row.Action = e.Protocol, e.RuleNumber, strings.ToLower(e.RuleAction)
		row.RuleID = strconv.Itoa(e.RuleNumber)
		if e.PortRange != nil && e.PortRange.From != nil && e.PortRange.To != nil && protocolName(e.Protocol) != "all" {
			row.FromPort, row.ToPort = *e.PortRange.From, *e.PortRange.To
		}
		if err := put(row); err != nil {
			return err
		}
	}
	return nil
}

// ipConditionOp returns IpAddress or NotIpAddress for an operator that tests addresses, with
// the set qualifiers and IfExists suffix taken off ("ForAnyValue:IpAddressIfExists").
func ipConditionOp(op string) string {
	base := op
	if i := strings.LastIndex(base, ":"); i >= 0 {
		base = base[i+1:]
	}
	base = strings.TrimSuffix(base, "IfExists")
	switch strings.ToLower(base) {
	case "ipaddress":
		return CondIpAddress
	case "notipaddress":
		return CondNotIpAddress
	}
	return ""
}

func (x *Extractor) bucketPolicy(r *inventory.Resource, put func(*store.NetRule) error) error {
	var c struct{ Policy json.RawMessage }
	if err := json.Unmarshal(r.Config, &c); err != nil {
		return fmt.Errorf("%s: %w", r.ARN, err)
	}
	if len(c.Policy) == 0 || string(c.Policy) == "null" {
		return nil
	}
	doc, err := policy.Parse(c.Policy)
	if err != nil {
		x.Unresolved = append(x.Unresolved, fmt.Sprintf("%s: bucket policy: %v", r.ARN, err))
		return nil
	}
	for i, st := range doc.Statement {
		actions := strings.Join(st.Action, ",")
		if len(st.NotAction) > 0 {
			actions = "NotAction " + strings.Join(st.NotAction, ",")
		}
		for op, keys := range st.Condition {
			cond := ipConditionOp(op)
			if cond == "" {
				continue
			}
			for _, cidr := range keys["aws:sourceip"] {
				row, ok := x.row(r, KindBucketPolicy, cidr)
				if !ok {
					continue
				}
				// A request reaches the bucket from the address: inbound.
				row.Direction, row.Protocol = Ingress, "tcp"
				row.RuleID = strconv.Itoa(i)
				row.Sid, row.Effect, row.Condition = st.Sid, st.Effect, cond
				row.Action = strings.ToLower(st.Effect)
				row.Description = actions
				if err := put(row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
