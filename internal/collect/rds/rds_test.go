package rds_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/collect/collecttest"
	_ "github.com/yagura-dev/yagura/internal/collect/rds"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const mgmt = collecttest.Mgmt

type network struct{ sg, subnetA, subnetB, vpc string }

func makeNetwork(t *testing.T, cfg aws.Config, region string) network {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.Copy()
	cfg.Region = region
	c := ec2.NewFromConfig(cfg)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	n := network{vpc: aws.ToString(vpc.Vpc.VpcId)}
	for i, cidr := range []string{"10.0.1.0/24", "10.0.2.0/24"} {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(region + string(rune('a'+i)))})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			n.subnetA = aws.ToString(sn.Subnet.SubnetId)
		} else {
			n.subnetB = aws.ToString(sn.Subnet.SubnetId)
		}
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	n.sg = aws.ToString(sg.GroupId)
	return n
}

func TestRDSCollectors(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	cfg := srv.Config(t, "us-east-1")
	member, memberCfg := collecttest.MemberAccount(t, cfg)

	// Management account, us-east-1: a public, unencrypted instance with a public snapshot.
	net := makeNetwork(t, cfg, "us-east-1")
	db := rds.NewFromConfig(cfg)
	if _, err := db.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{
		DBSubnetGroupName: aws.String("public"), DBSubnetGroupDescription: aws.String("public"),
		SubnetIds: []string{net.subnetA, net.subnetB},
	}); err != nil {
		t.Fatal(err)
	}
	inst, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("orders"), DBInstanceClass: aws.String("db.t3.micro"),
		Engine: aws.String("postgres"), AllocatedStorage: aws.Int32(20),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("secret-password"),
		PubliclyAccessible: aws.Bool(true), StorageEncrypted: aws.Bool(false),
		DBSubnetGroupName: aws.String("public"), VpcSecurityGroupIds: []string{net.sg},
		BackupRetentionPeriod: aws.Int32(0),
		Tags:                  []rdstypes.Tag{{Key: aws.String("Team"), Value: aws.String("payments")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	instARN := aws.ToString(inst.DBInstance.DBInstanceArn)
	for _, id := range []string{"orders-public", "orders-private"} {
		if _, err := db.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("orders"), DBSnapshotIdentifier: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ModifyDBSnapshotAttribute(ctx, &rds.ModifyDBSnapshotAttributeInput{
		DBSnapshotIdentifier: aws.String("orders-public"), AttributeName: aws.String("restore"), ValuesToAdd: []string{"all", "210987654321"},
	}); err != nil {
		t.Fatal(err)
	}

	// Member account, eu-west-1: an encrypted private cluster and a cluster snapshot.
	euMember := memberCfg.Copy()
	euMember.Region = "eu-west-1"
	mdb := rds.NewFromConfig(euMember)
	cl, err := mdb.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String("analytics"), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("secret-password"),
		StorageEncrypted: aws.Bool(true), DeletionProtection: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mdb.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String("analytics"), DBClusterSnapshotIdentifier: aws.String("analytics-manual")}); err != nil {
		t.Fatal(err)
	}

	t.Run("instances", func(t *testing.T) {
		sink, err := collecttest.Run(t, "rds.db-instances", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		wantARN := "arn:aws:rds:us-east-1:" + mgmt + ":db:orders"
		if instARN != wantARN {
			t.Fatalf("moto ARN %s", instARN)
		}
		r := sink.ByARN(wantARN)
		if r == nil {
			t.Fatalf("instance not collected: %+v", sink.Resources)
		}
		if r.Type != "AWS::RDS::DBInstance" || r.AccountID != mgmt || r.Region != "us-east-1" || r.Name != "orders" || r.Tags["Team"] != "payments" {
			t.Errorf("resource = %+v", r)
		}
		c := collecttest.Decode(t, r)
		if c["PubliclyAccessible"] != true || c["StorageEncrypted"] != false || c["Engine"] != "postgres" {
			t.Errorf("config: PubliclyAccessible=%v StorageEncrypted=%v Engine=%v", c["PubliclyAccessible"], c["StorageEncrypted"], c["Engine"])
		}
		if _, ok := c["BackupRetentionPeriod"]; !ok {
			t.Error("BackupRetentionPeriod missing")
		}
		if !sink.HasRelationship(wantARN, inventory.RelUsesSecurityGroup, "arn:aws:ec2:us-east-1:"+mgmt+":security-group/"+net.sg) {
			t.Errorf("no instance->sg relationship: %+v", sink.Relationships)
		}
		for _, sn := range []string{net.subnetA, net.subnetB} {
			if !sink.HasRelationship(wantARN, inventory.RelInSubnet, "arn:aws:ec2:us-east-1:"+mgmt+":subnet/"+sn) {
				t.Errorf("no instance->subnet %s relationship: %+v", sn, sink.Relationships)
			}
		}
		// The member's instances are not the management account's.
		other, err := collecttest.Run(t, "rds.db-instances", memberCfg, member, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(other.Resources) != 0 {
			t.Errorf("member account sees %d instances", len(other.Resources))
		}
	})

	t.Run("snapshots", func(t *testing.T) {
		sink, err := collecttest.Run(t, "rds.db-snapshots", cfg, mgmt, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		pub := sink.ByARN("arn:aws:rds:us-east-1:" + mgmt + ":snapshot:orders-public")
		priv := sink.ByARN("arn:aws:rds:us-east-1:" + mgmt + ":snapshot:orders-private")
		if pub == nil || priv == nil {
			t.Fatalf("snapshots not collected: %+v", sink.Resources)
		}
		if pub.Type != "AWS::RDS::DBSnapshot" || pub.Region != "us-east-1" || pub.AccountID != mgmt {
			t.Errorf("resource = %+v", pub)
		}
		pc, vc := collecttest.Decode(t, pub), collecttest.Decode(t, priv)
		if pc["Public"] != true || vc["Public"] != false {
			t.Errorf("Public: public snapshot %v, private snapshot %v", pc["Public"], vc["Public"])
		}
		if sw, _ := pc["SharedWith"].([]any); len(sw) != 1 || sw[0] != "210987654321" {
			t.Errorf("SharedWith = %v", pc["SharedWith"])
		}
		if pc["DBInstanceIdentifier"] != "orders" || pc["SnapshotType"] != "manual" {
			t.Errorf("snapshot config = %v", pc)
		}
	})

	t.Run("clusters in member account", func(t *testing.T) {
		sink, err := collecttest.Run(t, "rds.db-clusters", memberCfg, member, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(cl.DBCluster.DBClusterArn)
		if arn != "arn:aws:rds:eu-west-1:"+member+":cluster:analytics" {
			t.Errorf("cluster ARN %s", arn)
		}
		r := sink.ByARN(arn)
		if r == nil || r.Type != "AWS::RDS::DBCluster" || r.AccountID != member || r.Region != "eu-west-1" {
			t.Fatalf("cluster = %+v (all %+v)", r, sink.Resources)
		}
		c := collecttest.Decode(t, r)
		if c["StorageEncrypted"] != true || c["DeletionProtection"] != true {
			t.Errorf("cluster config = %v", c)
		}
		// Nothing in the other region.
		us, err := collecttest.Run(t, "rds.db-clusters", memberCfg, member, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(us.Resources) != 0 {
			t.Errorf("us-east-1 has %d clusters", len(us.Resources))
		}
	})

	t.Run("cluster snapshots", func(t *testing.T) {
		sink, err := collecttest.Run(t, "rds.db-cluster-snapshots", memberCfg, member, "eu-west-1")
		if err != nil {
			t.Fatal(err)
		}
		r := sink.ByARN("arn:aws:rds:eu-west-1:" + member + ":cluster-snapshot:analytics-manual")
		if r == nil {
			t.Fatalf("cluster snapshot not collected: %+v", sink.Resources)
		}
		c := collecttest.Decode(t, r)
		if r.Type != "AWS::RDS::DBClusterSnapshot" || c["Public"] != false || c["DBClusterIdentifier"] != "analytics" {
			t.Errorf("cluster snapshot = %+v %v (errors %v)", r, c, r.Errors)
		}
	})
}

// An RDS endpoint that refuses the listing: the collector fails, and the scan records "denied".
func TestRDSAccessDenied(t *testing.T) {
	mototest.SetTestEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/yagura-audit/s is not authorized to perform: rds:DescribeDBInstances</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
	}))
	defer srv.Close()
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rds.db-instances", "rds.db-snapshots"} {
		sink, err := collecttest.Run(t, name, cfg, mgmt, "us-east-1")
		if outcome, _ := awsx.Classify(err); outcome != awsx.OutcomeDenied {
			t.Errorf("%s: outcome %q (err %v)", name, outcome, err)
		}
		if len(sink.Resources) != 0 {
			t.Errorf("%s: wrote %d resources", name, len(sink.Resources))
		}
	}
}

// When DescribeDBSnapshotAttributes is refused the snapshot is still recorded, and Public is
// unknown (null) with the reason, rather than false.
func TestRDSSnapshotAttributesDenied(t *testing.T) {
	srv := mototest.New(t)
	ctx := context.Background()
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Action=DescribeDBSnapshotAttributes") {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: rds:DescribeDBSnapshotAttributes</Message></Error><RequestId>2</RequestId></ErrorResponse>`))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: front.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	db := rds.NewFromConfig(cfg)
	if _, err := db.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("ledger"), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("mysql"),
		AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("admin"), MasterUserPassword: aws.String("secret-password"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("ledger"), DBSnapshotIdentifier: aws.String("ledger-1")}); err != nil {
		t.Fatal(err)
	}
	sink, err := collecttest.Run(t, "rds.db-snapshots", cfg, mgmt, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r := sink.ByARN("arn:aws:rds:us-east-1:" + mgmt + ":snapshot:ledger-1")
	if r == nil {
		t.Fatalf("resources = %+v", sink.Resources)
	}
	if !strings.HasPrefix(r.Errors["Public"], "access denied") {
		t.Errorf("errors = %v", r.Errors)
	}
	if c := collecttest.Decode(t, r); c["Public"] != nil || c["DBInstanceIdentifier"] != "ledger" {
		t.Errorf("config = %v", c)
	}
}
