// Package risk correlates a scan's inventory, relationships and findings into an asset graph,
// decides what the internet can reach (and through which rules), walks attack paths from
// exposed, exploitable workloads through their identities to what those identities reach, and
// gives every failed finding an explainable risk score.
package risk

import (
	"encoding/json"
	"strings"

	"github.com/yagura-dev/yagura/internal/check/policy"
	"github.com/yagura-dev/yagura/internal/inventory"
)

// NodeID is a compact node index: the graph holds ints and slices, not maps of pointers, so a
// 100k-resource organization fits in a few tens of megabytes.
type NodeID int32

// Edge is one directed relationship.
type Edge struct {
	To   NodeID
	Kind uint8
}

// Node is one resource of the graph, with only what the analysis reads.
type Node struct {
	ARN, Type, Account, Region, Name string
	// Sensitivity is the resource's data classification tag value (lower case), "" when none.
	Sensitivity string
	// Env is the resource's Environment tag, when it has one.
	Env string
}

// Resource types the analysis reads.
const (
	TypeInstance     = "AWS::EC2::Instance"
	TypeSG           = "AWS::EC2::SecurityGroup"
	TypeSubnet       = "AWS::EC2::Subnet"
	TypeVPC          = "AWS::EC2::VPC"
	TypeRouteTable   = "AWS::EC2::RouteTable"
	TypeNACL         = "AWS::EC2::NetworkAcl"
	TypeIGW          = "AWS::EC2::InternetGateway"
	TypeENI          = "AWS::EC2::NetworkInterface"
	TypeEIP          = "AWS::EC2::EIP"
	TypeLB           = "AWS::ElasticLoadBalancingV2::LoadBalancer"
	TypeListener     = "AWS::ElasticLoadBalancingV2::Listener"
	TypeTargetGroup  = "AWS::ElasticLoadBalancingV2::TargetGroup"
	TypeBucket       = "AWS::S3::Bucket"
	TypeDB           = "AWS::RDS::DBInstance"
	TypeFunction     = "AWS::Lambda::Function"
	TypeEKS          = "AWS::EKS::Cluster"
	TypeRole         = "AWS::IAM::Role"
	TypeProfile      = "AWS::IAM::InstanceProfile"
	TypePolicy       = "AWS::IAM::ManagedPolicy"
	TypeUser         = "AWS::IAM::User"
	TypeGroup        = "AWS::IAM::Group"
	TypeSCP          = "AWS::Organizations::Policy"
	TypeOrganization = "AWS::Organizations::Organization"
	TypeAdminTarget  = "yagura::Administrator" // synthetic end of a path: full control of an account
	TypeAccountReach = "yagura::Account"       // synthetic end of a path: another account via trust
)

// Edge kinds, compact.
const (
	EdgeOther uint8 = iota
	EdgeForwardsTo
	EdgeUsesSG
	EdgeInSubnet
	EdgeHasProfile
	EdgeAssumesRole
	EdgeAttachedTo
	EdgeAssociatedWith
)

var edgeKinds = map[string]uint8{
	inventory.RelForwardsTo: EdgeForwardsTo, inventory.RelUsesSecurityGroup: EdgeUsesSG,
	inventory.RelInSubnet: EdgeInSubnet, inventory.RelHasInstanceProfile: EdgeHasProfile,
	inventory.RelAssumesRole: EdgeAssumesRole, inventory.RelAttachedTo: EdgeAttachedTo,
	inventory.RelAssociatedWith: EdgeAssociatedWith,
}

// SensitivityKeys are the tag keys read as data classification, first match wins.
var SensitivityKeys = []string{"DataClassification", "data-classification", "Classification", "Sensitivity", "DataSensitivity"}

// Graph is the asset graph of one scan.
type Graph struct {
	Nodes []Node
	index map[string]NodeID
	out   [][]Edge
	in    [][]Edge

	// Parsed network and identity facts, keyed by "account|region|id" (EC2 ids) or ARN.
	instances map[NodeID]*instance
	sgs       map[string]*secGroup
	subnets   map[string]*subnet
	vpcs      map[string]*vpc
	subnetRT  map[string]*routeTable // explicit association subnet -> table
	mainRT    map[string]*routeTable // vpc -> main table
	subnetACL map[string]*nacl
	eips      map[string]string // account|region|instance-id -> public ip
	lbs       map[NodeID]*loadBalancer
	listeners map[NodeID]*listener
	tgs       map[NodeID]*targetGroup
	dbs       map[NodeID]*dbInstance
	functions map[NodeID]*function
	clusters  map[NodeID]*cluster
	buckets   map[string][]NodeID   // by account
	reachOf   map[string][]Reach    // RoleReach, memoized
	roles     map[string]*principal // roles and users
	groups    map[string]*group     // account||group name
	parsed    map[string]*policy.Document
	dbsOf     map[string][]NodeID // by account
	org       orgPolicies
	profiles  map[string][]string // profile ARN -> role ARNs
	policies  map[string]json.RawMessage
	// trustedBy maps a principal (account id or role ARN) to the roles of other accounts that trust it.
	trustedBy map[string][]string
	// publicBuckets holds buckets that the checks judged public (s3.bucket_public_read/write FAIL).
	publicBuckets map[NodeID][]string
}

// Builder assembles a Graph from streamed resources and relationships.
type Builder struct{ g *Graph }

// NewBuilder starts an empty graph.
func NewBuilder() *Builder {
	return &Builder{g: &Graph{
		index: map[string]NodeID{}, instances: map[NodeID]*instance{}, sgs: map[string]*secGroup{},
		subnets: map[string]*subnet{}, vpcs: map[string]*vpc{}, subnetRT: map[string]*routeTable{},
		mainRT: map[string]*routeTable{}, subnetACL: map[string]*nacl{}, eips: map[string]string{},
		lbs: map[NodeID]*loadBalancer{}, listeners: map[NodeID]*listener{}, tgs: map[NodeID]*targetGroup{},
		dbs: map[NodeID]*dbInstance{}, functions: map[NodeID]*function{}, clusters: map[NodeID]*cluster{},
		roles: map[string]*principal{}, profiles: map[string][]string{}, policies: map[string]json.RawMessage{},
		trustedBy: map[string][]string{}, publicBuckets: map[NodeID][]string{},
		buckets: map[string][]NodeID{}, reachOf: map[string][]Reach{},
		groups: map[string]*group{}, parsed: map[string]*policy.Document{}, dbsOf: map[string][]NodeID{},
		org: orgPolicies{accountOU: map[string]string{}, layers: map[string][]policy.Layer{}},
	}}
}

// node returns the id of an ARN, adding a bare node when the resource was not collected
// (e.g. a relationship to a resource outside the scan).
func (g *Graph) node(arn string) NodeID {
	if id, ok := g.index[arn]; ok {
		return id
	}
	id := NodeID(len(g.Nodes))
	g.Nodes = append(g.Nodes, Node{ARN: arn})
	g.out = append(g.out, nil)
	g.in = append(g.in, nil)
	g.index[arn] = id
	return id
}

// Lookup finds a node by ARN.
func (g *Graph) Lookup(arn string) (NodeID, bool) {
	id, ok := g.index[arn]
	return id, ok
}

// Find resolves an ARN, or a bare id / name that ends an ARN (i-0abc, a bucket name, a role name).
func (g *Graph) Find(ref string) (NodeID, bool) {
	if id, ok := g.index[ref]; ok {
		return id, true
	}
	for i, n := range g.Nodes {
		if n.Type == "" {
			continue
		}
		if n.Name == ref || strings.HasSuffix(n.ARN, "/"+ref) || strings.HasSuffix(n.ARN, ":"+ref) {
			return NodeID(i), true
		}
	}
	return 0, false
}

// Out lists the edges leaving n.
func (g *Graph) Out(n NodeID) []Edge { return g.out[n] }

// In lists the edges reaching n.
func (g *Graph) In(n NodeID) []Edge { return g.in[n] }

func key(account, region, id string) string { return account + "|" + region + "|" + id }

// AddRelationship adds an edge.
func (b *Builder) AddRelationship(r inventory.Relationship) {
	g := b.g
	from, to := g.node(r.From), g.node(r.To)
	k := edgeKinds[r.Kind]
	g.out[from] = append(g.out[from], Edge{To: to, Kind: k})
	g.in[to] = append(g.in[to], Edge{To: from, Kind: k})
}

// MarkPublicBucket records that the checks judged a bucket public, with the finding ids saying so.
func (b *Builder) MarkPublicBucket(arn, findingID string) {
	id := b.g.node(arn)
	b.g.publicBuckets[id] = append(b.g.publicBuckets[id], findingID)
}

// Build finishes the graph.
func (b *Builder) Build() *Graph {
	g := b.g
	for _, r := range g.roles {
		r.resolve(g)
	}
	return g
}

// Add parses one resource into the graph. Types the analysis does not read become plain nodes.
func (b *Builder) Add(r *inventory.Resource) {
	g := b.g
	id := g.node(r.ARN)
	n := &g.Nodes[id]
	n.Type, n.Account, n.Region, n.Name = r.Type, r.AccountID, r.Region, r.Name
	for _, k := range SensitivityKeys {
		if v, ok := r.Tags[k]; ok && v != "" {
			n.Sensitivity = strings.ToLower(v)
			break
		}
	}
	if v := r.Tags["Environment"]; v != "" {
		n.Env = strings.ToLower(v)
	}
	switch r.Type {
	case TypeInstance:
		b.addInstance(id, r)
	case TypeSG:
		b.addSG(r)
	case TypeSubnet:
		var c struct{ SubnetId, VpcId, CidrBlock string }
		if json.Unmarshal(r.Config, &c) == nil {
			g.subnets[key(r.AccountID, r.Region, c.SubnetId)] = &subnet{id: id, vpc: c.VpcId, cidr: c.CidrBlock}
		}
	case TypeVPC:
		var c struct{ VpcId, CidrBlock string }
		if json.Unmarshal(r.Config, &c) == nil {
			g.vpcs[key(r.AccountID, r.Region, c.VpcId)] = &vpc{cidr: c.CidrBlock}
		}
	case TypeRouteTable:
		b.addRouteTable(id, r)
	case TypeNACL:
		b.addNACL(id, r)
	case TypeEIP:
		var c struct{ PublicIp, InstanceId *string }
		if json.Unmarshal(r.Config, &c) == nil && c.InstanceId != nil && c.PublicIp != nil {
			g.eips[key(r.AccountID, r.Region, *c.InstanceId)] = *c.PublicIp
		}
	case TypeLB:
		var c struct {
			Scheme, Type, VpcId string
			SecurityGroups      []string
			AvailabilityZones   []struct{ SubnetId string }
		}
		if json.Unmarshal(r.Config, &c) == nil {
			lb := &loadBalancer{scheme: c.Scheme, kind: c.Type, vpc: c.VpcId, sgs: c.SecurityGroups}
			for _, az := range c.AvailabilityZones {
				lb.subnets = append(lb.subnets, az.SubnetId)
			}
			g.lbs[id] = lb
		}
	case TypeListener:
		var c struct {
			Protocol string
			Port     *int32
		}
		if json.Unmarshal(r.Config, &c) == nil && c.Port != nil {
			g.listeners[id] = &listener{protocol: c.Protocol, port: int(*c.Port)}
		}
	case TypeTargetGroup:
		var c struct {
			Protocol, TargetType string
			Port                 *int32
			TargetHealth         []struct {
				Target struct {
					Id   string
					Port *int32
				}
			}
		}
		if json.Unmarshal(r.Config, &c) == nil {
			tg := &targetGroup{protocol: c.Protocol, kind: c.TargetType, ports: map[string]int{}}
			if c.Port != nil {
				tg.port = int(*c.Port)
			}
			for _, t := range c.TargetHealth {
				if t.Target.Port != nil {
					tg.ports[t.Target.Id] = int(*t.Target.Port)
				}
			}
			g.tgs[id] = tg
		}
	case TypeBucket:
		g.buckets[r.AccountID] = append(g.buckets[r.AccountID], id)
	case TypeDB:
		var c struct {
			PubliclyAccessible *bool
			VpcSecurityGroups  []struct{ VpcSecurityGroupId string }
			DBSubnetGroup      *struct {
				VpcId   string
				Subnets []struct{ SubnetIdentifier string }
			}
			Endpoint                         *struct{ Port *int32 }
			DbiResourceId                    string
			IAMDatabaseAuthenticationEnabled *bool
		}
		if json.Unmarshal(r.Config, &c) == nil {
			d := &dbInstance{public: c.PubliclyAccessible != nil && *c.PubliclyAccessible, resourceID: c.DbiResourceId,
				iamAuth: c.IAMDatabaseAuthenticationEnabled != nil && *c.IAMDatabaseAuthenticationEnabled}
			for _, s := range c.VpcSecurityGroups {
				d.sgs = append(d.sgs, s.VpcSecurityGroupId)
			}
			if c.DBSubnetGroup != nil {
				for _, s := range c.DBSubnetGroup.Subnets {
					d.subnets = append(d.subnets, s.SubnetIdentifier)
				}
			}
			if c.Endpoint != nil && c.Endpoint.Port != nil {
				d.port = int(*c.Endpoint.Port)
			}
			g.dbs[id] = d
			g.dbsOf[r.AccountID] = append(g.dbsOf[r.AccountID], id)
		}
	case TypeFunction:
		var c struct {
			Role               string
			FunctionUrlConfigs []struct{ AuthType, FunctionUrl string }
		}
		if json.Unmarshal(r.Config, &c) == nil {
			f := &function{role: c.Role}
			for _, u := range c.FunctionUrlConfigs {
				if u.AuthType == "NONE" {
					f.openURL = u.FunctionUrl
					if f.openURL == "" {
						f.openURL = "function URL"
					}
				}
			}
			g.functions[id] = f
		}
	case TypeEKS:
		var c struct {
			RoleArn            string
			ResourcesVpcConfig *struct {
				EndpointPublicAccess bool
				PublicAccessCidrs    []string
			}
		}
		if json.Unmarshal(r.Config, &c) == nil && c.ResourcesVpcConfig != nil {
			cl := &cluster{role: c.RoleArn}
			if c.ResourcesVpcConfig.EndpointPublicAccess {
				for _, cidr := range c.ResourcesVpcConfig.PublicAccessCidrs {
					if isInternetCIDR(cidr) {
						cl.publicCIDR = cidr
						break
					}
				}
				if len(c.ResourcesVpcConfig.PublicAccessCidrs) == 0 {
					cl.publicCIDR = "0.0.0.0/0"
				}
			}
			g.clusters[id] = cl
		}
	case TypeRole, TypeUser:
		b.addPrincipal(r)
	case TypeGroup:
		b.addGroup(r)
	case TypeSCP:
		b.addSCP(r)
	case TypeOrganization:
		b.addOrganization(r)
	case TypeProfile:
		var c struct{ Roles []struct{ Arn string } }
		if json.Unmarshal(r.Config, &c) == nil {
			for _, ro := range c.Roles {
				g.profiles[r.ARN] = append(g.profiles[r.ARN], ro.Arn)
			}
		}
	case TypePolicy:
		var c struct{ DefaultVersionDocument json.RawMessage }
		if json.Unmarshal(r.Config, &c) == nil && len(c.DefaultVersionDocument) > 0 {
			g.policies[r.ARN] = c.DefaultVersionDocument
		}
	}
}
