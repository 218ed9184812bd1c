// Command risk benchmarks the risk analysis: it builds the asset graph of a synthetic
// organization (100k resources by default), runs the exposure analysis, walks attack paths and
// scores every failed finding, and prints the time of each stage and the peak memory, beside a
// baseline measured in the same run: generating and JSON-encoding the same inventory, the least
// any reader of it must pay.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/procstat"
	"github.com/yagura-dev/yagura/internal/risk"
)

type M = map[string]any

// gen streams a synthetic organization: per account one VPC with a public and a private subnet
// (internet gateway vs NAT route), a network ACL, security groups (a tenth open to the world),
// roles (a few administrators, most reading some buckets, a tenth under a permissions boundary),
// instances spread over both subnets (a fifth IMDSv1), buckets (a tenth confidential), one
// internet-facing ALB per 100 instances; and the organization's SCPs (FullAWSAccess on the root,
// a deny of object writes on every fifth account).
func gen(accounts, perAccount int, sink func(*inventory.Resource), rel func(inventory.Relationship), fs *[]*finding.Finding) int {
	n := 0
	const region = "us-east-1"
	for a := 0; a < accounts; a++ {
		acct := fmt.Sprintf("%012d", 100000000000+a)
		add := func(typ, arn string, cfg any, tags map[string]string) {
			sink(&inventory.Resource{ARN: arn, Type: typ, AccountID: acct, Region: region, Name: arn[len(arn)-12:], Tags: tags, Config: inventory.MarshalConfig(cfg)})
			n++
		}
		ec2 := func(kind, id string) string { return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", region, acct, kind, id) }
		add(risk.TypeVPC, ec2("vpc", "vpc-1"), M{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}, nil)
		add(risk.TypeSubnet, ec2("subnet", "subnet-pub"), M{"SubnetId": "subnet-pub", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}, nil)
		add(risk.TypeSubnet, ec2("subnet", "subnet-priv"), M{"SubnetId": "subnet-priv", "VpcId": "vpc-1", "CidrBlock": "10.0.2.0/24"}, nil)
		add(risk.TypeRouteTable, ec2("route-table", "rtb-pub"), M{"RouteTableId": "rtb-pub", "VpcId": "vpc-1",
			"Routes": []M{{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}}, "Associations": []M{{"SubnetId": "subnet-pub"}}}, nil)
		add(risk.TypeRouteTable, ec2("route-table", "rtb-main"), M{"RouteTableId": "rtb-main", "VpcId": "vpc-1",
			"Routes": []M{{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}}, "Associations": []M{{"Main": true}}}, nil)
		add(risk.TypeNACL, ec2("network-acl", "acl-1"), M{"NetworkAclId": "acl-1", "Entries": []M{
			{"RuleNumber": 50, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0", "PortRange": M{"From": 3389, "To": 3389}},
			{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"},
			{"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"},
			{"RuleNumber": 100, "Egress": true, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0", "PortRange": M{"From": 1024, "To": 65535}},
			{"RuleNumber": 32767, "Egress": true, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}},
			"Associations": []M{{"SubnetId": "subnet-pub"}, {"SubnetId": "subnet-priv"}}}, nil)
		fixed := 8
		if a == 0 {
			// The organization: FullAWSAccess on the root, and an SCP denying object writes
			// attached to every fifth account.
			org := "arn:aws:organizations::" + acct + ":"
			add(risk.TypeOrganization, org+"organization/o-1", M{"Id": "o-1", "MasterAccountId": acct, "EnabledPolicyTypes": []string{"SERVICE_CONTROL_POLICY"}}, nil)
			add(risk.TypeSCP, org+"policy/o-1/service_control_policy/p-full", M{"Name": "FullAWSAccess", "Type": "SERVICE_CONTROL_POLICY",
				"Content": M{"Statement": []M{{"Effect": "Allow", "Action": "*", "Resource": "*"}}}, "Targets": []M{{"Type": "ROOT", "TargetId": "r-1"}}}, nil)
			var targets []M
			for t := 0; t < accounts; t += 5 {
				targets = append(targets, M{"Type": "ACCOUNT", "TargetId": fmt.Sprintf("%012d", 100000000000+t)})
			}
			add(risk.TypeSCP, org+"policy/o-1/service_control_policy/p-nowrite", M{"Name": "deny-object-writes", "Type": "SERVICE_CONTROL_POLICY",
				"Content": M{"Statement": []M{{"Effect": "Deny", "Action": []string{"s3:PutObject", "s3:DeleteObject"}, "Resource": "*"}}}, "Targets": targets}, nil)
			fixed += 3
		}
		// A permissions boundary for a tenth of the roles: reads and logs only.
		boundary := "arn:aws:iam::" + acct + ":policy/boundary"
		add(risk.TypePolicy, boundary, M{"DefaultVersionDocument": M{"Statement": []M{{"Effect": "Allow", "Action": []string{"s3:GetObject", "logs:*"}, "Resource": "*"}}}}, nil)
		sgs := 20
		for i := 0; i < sgs; i++ {
			cidr := "10.0.0.0/16"
			if i%10 == 0 {
				cidr = "0.0.0.0/0"
			}
			add(risk.TypeSG, ec2("security-group", fmt.Sprintf("sg-%d", i)), M{"GroupId": fmt.Sprintf("sg-%d", i), "IpPermissions": []M{
				{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": []M{{"CidrIp": cidr}}},
				{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": []M{{"CidrIp": cidr}}}}}, nil)
		}
		rest := perAccount - fixed - sgs
		roles, buckets := rest/20, rest/10
		lbs := rest / 200
		instances := rest - 2*roles - buckets - 3*lbs
		for i := 0; i < roles; i++ {
			name := fmt.Sprintf("role-%d", i)
			arn := "arn:aws:iam::" + acct + ":role/" + name
			cfg := M{"RoleName": name, "RolePolicyList": []M{{"PolicyName": "p", "PolicyDocument": M{"Statement": []M{
				{"Effect": "Allow", "Action": []string{"s3:GetObject"}, "Resource": fmt.Sprintf("arn:aws:s3:::b-%s-%d*/*", acct, i%10)}}}}}}
			if i%25 == 0 {
				cfg["AttachedManagedPolicies"] = []M{{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}
			}
			if i%10 == 5 {
				cfg["PermissionsBoundary"] = M{"PermissionsBoundaryArn": boundary}
			}
			add(risk.TypeRole, arn, cfg, nil)
			add(risk.TypeProfile, "arn:aws:iam::"+acct+":instance-profile/"+name, M{"Roles": []M{{"Arn": arn}}}, nil)
		}
		for i := 0; i < buckets; i++ {
			var tags map[string]string
			if i%10 == 0 {
				tags = map[string]string{"DataClassification": "confidential"}
			}
			add(risk.TypeBucket, fmt.Sprintf("arn:aws:s3:::b-%s-%d", acct, i), M{"Name": fmt.Sprintf("b-%s-%d", acct, i)}, tags)
		}
		for i := 0; i < instances; i++ {
			id := fmt.Sprintf("i-%08d", i)
			sub, pub := "subnet-priv", ""
			if i%3 == 0 {
				sub, pub = "subnet-pub", fmt.Sprintf("198.51.%d.%d", (i/250)%250, i%250)
			}
			tokens := "required"
			if i%5 == 0 {
				tokens = "optional"
			}
			arn := ec2("instance", id)
			add(risk.TypeInstance, arn, M{"InstanceId": id, "SubnetId": sub, "VpcId": "vpc-1", "State": M{"Name": "running"},
				"PublicIpAddress": pub, "MetadataOptions": M{"HttpTokens": tokens, "HttpEndpoint": "enabled"},
				"IamInstanceProfile": M{"Arn": fmt.Sprintf("arn:aws:iam::%s:instance-profile/role-%d", acct, i%max(roles, 1))},
				"NetworkInterfaces":  []M{{"SubnetId": sub, "Groups": []M{{"GroupId": fmt.Sprintf("sg-%d", i%sgs)}}, "Association": M{"PublicIp": pub}}}}, nil)
			if i%4 == 0 {
				ev, _ := json.Marshal(M{"exploitAvailable": []string{"NO", "YES"}[i%8/4], "epss": float64(i%100) / 100})
				*fs = append(*fs, &finding.Finding{ID: fmt.Sprintf("f-%s-%d", acct, i), Source: "inspector2", Sources: []string{"inspector2"},
					CheckID: "PACKAGE_VULNERABILITY", Status: finding.Fail, Severity: finding.Severity(i % 5), AccountID: acct, Region: region,
					ResourceARN: arn, ResourceType: risk.TypeInstance, Title: "CVE", Evidence: ev})
			}
		}
		for l := 0; l < lbs; l++ {
			lb := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/lb%d/1", region, acct, l)
			ln := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/app/lb%d/1/2", region, acct, l)
			tg := fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/tg%d/3", region, acct, l)
			add(risk.TypeLB, lb, M{"Scheme": "internet-facing", "Type": "application", "VpcId": "vpc-1", "SecurityGroups": []string{"sg-0"}}, nil)
			add(risk.TypeListener, ln, M{"Protocol": "HTTPS", "Port": 443}, nil)
			add(risk.TypeTargetGroup, tg, M{"Protocol": "HTTPS", "Port": 443, "TargetType": "instance"}, nil)
			rel(inventory.Relationship{From: lb, To: ln, Kind: inventory.RelForwardsTo})
			rel(inventory.Relationship{From: ln, To: tg, Kind: inventory.RelForwardsTo})
			for k := 0; k < 10; k++ {
				rel(inventory.Relationship{From: tg, To: ec2("instance", fmt.Sprintf("i-%08d", (l*10+k)%max(instances, 1))), Kind: inventory.RelForwardsTo})
			}
		}
	}
	return n
}

type stage struct {
	wall, cpu time.Duration
}

func measure(fn func()) stage {
	w, c := time.Now(), procstat.CPU()
	fn()
	return stage{time.Since(w), procstat.CPU() - c}
}

func (s stage) String() string {
	return fmt.Sprintf("wall %8v  cpu %8v", s.wall.Round(time.Millisecond), s.cpu.Round(time.Millisecond))
}

func main() {
	total := flag.Int("resources", 100000, "resources in the synthetic organization")
	accounts := flag.Int("accounts", 50, "accounts")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the analysis here")
	memprofile := flag.String("memprofile", "", "write a heap profile at the end here")
	flag.Parse()
	per := *total / *accounts

	// Baseline: produce (and encode) the same inventory without analysing it.
	var count int
	base := measure(func() {
		var discard []*finding.Finding
		count = gen(*accounts, per, func(*inventory.Resource) {}, func(inventory.Relationship) {}, &discard)
	})
	runtime.GC()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var fs []*finding.Finding
	var g *risk.Graph
	build := measure(func() {
		b := risk.NewBuilder()
		gen(*accounts, per, b.Add, b.AddRelationship, &fs)
		g = b.Build()
	})
	var a *risk.Analysis
	exposure := measure(func() { a = risk.Analyze(g, fs, map[string]string{}, risk.DefaultWeights) })
	var paths []*finding.Finding
	walk := measure(func() { paths = a.AttackPaths() })
	score := measure(func() {
		for _, f := range fs {
			a.Score(f)
		}
		for _, p := range paths {
			a.Score(p)
		}
	})
	sum := stage{build.wall + exposure.wall + walk.wall + score.wall, build.cpu + exposure.cpu + walk.cpu + score.cpu}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inUse := ms.HeapInuse
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(g)
	runtime.KeepAlive(a)
	runtime.KeepAlive(paths)
	if *memprofile != "" {
		if f, err := os.Create(*memprofile); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	fmt.Printf("resources %d in %d accounts, %d graph nodes, %d failed findings\n", count, *accounts, len(g.Nodes), len(fs))
	fmt.Printf("baseline: generate + encode inventory  %v\n", base)
	fmt.Printf("build graph (incl. generating)         %v\n", build)
	fmt.Printf("exposure analysis                      %v  (%d resources exposed)\n", exposure, len(a.X.Reachable))
	fmt.Printf("attack paths                           %v  (%d paths)\n", walk, len(paths))
	fmt.Printf("score findings                         %v  (%d scored)\n", score, len(fs)+len(paths))
	fmt.Printf("total                                  %v  = %.2fx baseline (cpu)\n", sum, float64(sum.cpu)/float64(max(base.cpu, 1)))
	fmt.Printf("peak RSS %.1f MiB; heap in use at end %.1f MiB, live after GC %.1f MiB (graph, exposures, findings, paths); total allocated %.1f MiB\n",
		float64(procstat.PeakRSS())/(1<<20), float64(inUse)/(1<<20), float64(ms.HeapAlloc)/(1<<20), float64(ms.TotalAlloc)/(1<<20))
}
