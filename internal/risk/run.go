package risk

import (
	"context"
	"fmt"

	"github.com/yagura-dev/yagura/internal/finding"
	"github.com/yagura-dev/yagura/internal/inventory"
	"github.com/yagura-dev/yagura/internal/store"
)

// PublicBucketChecks are the check ids whose FAIL findings mark a bucket public: the S3 checks
// already judge bucket policies, ACLs and both public access blocks, so the graph reuses their
// verdict instead of judging again.
var PublicBucketChecks = []string{"s3.bucket_public_read", "s3.bucket_public_write"}

// EnvironmentTagKeys are the account (or resource) tag keys read as the environment.
var EnvironmentTagKeys = []string{"Environment", "environment", "Env", "env", "Stage", "stage"}

// Load builds the graph of a scan from the store and returns it with the scan's current failed
// findings and the accounts' environments.
func Load(ctx context.Context, db *store.DB, scanID int64) (*Graph, []*finding.Finding, map[string]string, error) {
	b := NewBuilder()
	if err := db.EachResource(ctx, scanID, store.ResourceFilter{}, func(r *inventory.Resource) error {
		b.Add(r)
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("risk: reading inventory: %w", err)
	}
	accts, err := db.Accounts(ctx, scanID)
	if err != nil {
		return nil, nil, nil, err
	}
	env := map[string]string{}
	for _, a := range accts {
		b.AddAccount(a.ID, a.OUPath, a.OUIDs...)
		for _, k := range EnvironmentTagKeys {
			if v := a.Tags[k]; v != "" {
				env[a.ID] = v
				break
			}
		}
	}
	rels, err := db.Relationships(ctx, scanID, "", false)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("risk: reading relationships: %w", err)
	}
	for _, r := range rels {
		b.AddRelationship(r)
	}
	var fails []*finding.Finding
	if err := db.EachFinding(ctx, store.FindingFilter{Statuses: []string{string(finding.Fail)},
		Lifecycles: []string{finding.LifecycleNew, finding.LifecycleOpen}}, func(f *finding.Finding) error {
		fails = append(fails, f)
		for _, c := range PublicBucketChecks {
			if f.CheckID == c {
				b.MarkPublicBucket(f.ResourceARN, f.ID)
			}
		}
		return nil
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("risk: reading findings: %w", err)
	}
	return b.Build(), fails, env, nil
}

// Result summarizes one risk run.
type Result struct {
	Resources   int
	Exposed     int
	AttackPaths int
	Scored      int
}

// Run analyzes a scan: writes its attack paths as findings and scores every failed finding.
func Run(ctx context.Context, db *store.DB, scanID int64, w Weights) (Result, error) {
	g, fails, env, err := Load(ctx, db, scanID)
	if err != nil {
		return Result{}, err
	}
	a := Analyze(g, fails, env, w)
	res := Result{Resources: len(g.Nodes), Exposed: len(a.X.Reachable)}
	paths := a.AttackPaths()
	fw := db.NewFindingWriter(scanID)
	for _, p := range paths {
		if err := fw.Put(p); err != nil {
			fw.Close()
			return res, err
		}
	}
	if err := fw.Close(); err != nil {
		return res, err
	}
	// Record the task per account so that paths no longer found are resolved, not left open
	// forever (store.FinalizeFindings matches a finding's collector|account|region to coverage).
	accts, err := db.Accounts(ctx, scanID)
	if err != nil {
		return res, err
	}
	perAccount := map[string]int64{}
	for _, p := range paths {
		perAccount[p.AccountID]++
	}
	for _, ac := range accts {
		c := store.Coverage{AccountID: ac.ID, Region: "global", Collector: Collector, Service: "risk", Status: store.CoverageOK, Items: perAccount[ac.ID]}
		// Nothing was seen in an account whose role was refused (or failed): a missing path
		// proves nothing there, so the task takes the account's outcome, like every task of it.
		switch ac.Access {
		case "denied":
			c.Status, c.Reason = store.CoverageDenied, ac.AccessReason
		case "error":
			c.Status, c.Reason = store.CoverageError, ac.AccessReason
		}
		if err := db.PutCoverage(ctx, scanID, c); err != nil {
			return res, err
		}
	}
	res.AttackPaths = len(paths)
	inRun := map[string]bool{}
	for _, p := range paths {
		inRun[p.ID] = true
	}
	risks := map[string]*finding.Risk{}
	for _, f := range fails {
		if f.CheckID == CheckAttackPath && !inRun[f.ID] {
			continue // an older path: FinalizeFindings resolves it
		}
		risks[f.ID] = a.Score(f)
	}
	for _, p := range paths {
		risks[p.ID] = a.Score(p)
	}
	res.Scored = len(risks)
	return res, db.SetRisks(ctx, risks)
}
