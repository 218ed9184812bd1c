// Command scan benchmarks yagura's scheduler against AWS-style rate limits: moto behind a
// loopback proxy that adds per-call latency and token-bucket throttling per account, region and
// API class. It prints the wall time of a scan of a generated organization, the lower bound the
// proxy's limits and latency imply, their ratio, API calls, retries and peak memory; then the
// same scan under a throttling storm (a share of calls refused) must keep every task.
//
// With -memory (the default) a warm-up scan first records moto's answers to the EC2 and
// Organizations reads, and the measured scans are answered from that memory behind the same proxy: moto, a
// single Python process, answers only some 25 calls a second on two cores, so without it the
// benchmark measures the emulator rather than the scheduler against the modelled limits.
//
//	go run ./bench/scan -accounts 20 -regions 3
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/yagura-dev/yagura/internal/awsx"
	_ "github.com/yagura-dev/yagura/internal/collect/ec2"
	"github.com/yagura-dev/yagura/internal/faultproxy"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/procstat"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"
)

var allRegions = []string{"us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2", "eu-central-1"}

func main() {
	accounts := flag.Int("accounts", 20, "accounts in the generated organization")
	nRegions := flag.Int("regions", 3, "regions per account (at most 5)")
	groups := flag.Int("groups", 20, "security groups seeded per account and region")
	snapshots := flag.Int("snapshots", 30, "EBS snapshots seeded per account and region (each costs an unpaginated DescribeSnapshotAttribute call)")
	latency := flag.Duration("latency", 40*time.Millisecond, "latency the proxy adds to every call")
	rateScale := flag.Float64("rate-scale", 0.25, "EC2's documented rates are multiplied by this, in the proxy and the client alike (smaller makes the scan rate-bound sooner on a small emulated organization)")
	storm := flag.Float64("storm", 0.3, "share of calls refused in the storm run")
	concurrency := flag.Int("concurrency", 64, "scan concurrency")
	memory := flag.Bool("memory", true, "answer EC2 and Organizations reads from a warm-up run's recording instead of asking moto each time")
	flag.Parse()
	regions := allRegions[:min(*nRegions, len(allRegions))]
	for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_ACCESS_KEY_ID", "testing")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	ctx := context.Background()

	srv, err := mototest.Start(ctx, "")
	if err != nil {
		fatal(err)
	}
	defer srv.Stop()
	stopMoto = func() { srv.Stop() }
	base, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		fatal(err)
	}
	began := time.Now()
	ids := generateOrg(ctx, base, *accounts, regions, *groups, *snapshots)
	fmt.Printf("generated organization: %d accounts × %d regions, %d security groups and %d snapshots each, in %s\n",
		len(ids), len(regions), *groups, *snapshots, time.Since(began).Round(time.Millisecond))

	limits := map[string]awsx.Limit{}
	for class, l := range awsx.DefaultLimits {
		if strings.HasPrefix(class, "ec2:") {
			l = awsx.Limit{Rate: l.Rate * *rateScale, Burst: max(1, int(float64(l.Burst)**rateScale))}
		}
		limits[class] = l
	}
	fmt.Printf("proxy: latency %s, buckets = AWS's × %.2f (EC2 non-mutating %s, unpaginated %s)\n\n",
		*latency, *rateScale, limits["ec2:nonmutating"], limits["ec2:unpaginated"])

	// Every run writes to one database, as daily scans do: a run after the first orders its
	// tasks by the previous scan's sizes.
	dir, _ := os.MkdirTemp("", "yagura-bench")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		fatal(err)
	}
	defer db.Close()
	var memo *faultproxy.Memo
	if *memory {
		// Reads only: EC2 and Organizations. STS stays live, because the proxy learns which
		// account a key belongs to from the AssumeRole answers it forwards.
		memo = &faultproxy.Memo{Select: func(c *faultproxy.Call) bool {
			read := strings.HasPrefix(c.Action, "Describe") || strings.HasPrefix(c.Action, "Get") || strings.HasPrefix(c.Action, "List")
			return read && (c.Service == "ec2" || c.Service == "organizations")
		}}
		began := time.Now()
		res := benchRun(ctx, db, srv.URL, nil, 0, 0, regions, *concurrency, memo)
		fmt.Printf("warm-up run: %d answers recorded from moto in %s (scan %s)\n\n", memo.Len(), time.Since(began).Round(time.Millisecond), res.status)
	}
	for _, run := range []struct {
		name  string
		storm float64
	}{{"normal", 0}, {"storm", *storm}} {
		res := benchRun(ctx, db, srv.URL, limits, *latency, run.storm, regions, *concurrency, memo)
		fmt.Printf("== %s run (%.0f %% of calls refused by the proxy) ==\n", run.name, run.storm*100)
		res.print()
		fmt.Println()
	}
}

// stopMoto stops the emulator; fatal calls it, since log.Fatal skips deferred calls and would
// leave the emulator running.
var stopMoto = func() {}

func fatal(v ...any) {
	stopMoto()
	log.Fatal(v...)
}

type result struct {
	wall, bound             time.Duration
	boundAttempts           time.Duration // counting refused attempts too
	busiest                 string
	calls, proxied, retries int64
	tasks, ok               int
	status                  string
	peakRSS, peakHeap       uint64
}

func (r result) print() {
	fmt.Printf("wall time          %s\n", r.wall.Round(time.Millisecond))
	fmt.Printf("lower bound        %s   (busiest bucket: %s)\n", r.bound.Round(time.Millisecond), r.busiest)
	fmt.Printf("ratio              %.2f   (target ≤ 1.3)\n", float64(r.wall)/float64(r.bound))
	if r.boundAttempts > r.bound {
		fmt.Printf("with refused calls %s lower bound when every attempt, refused ones too, pays its bucket token; ratio %.2f\n",
			r.boundAttempts.Round(time.Millisecond), float64(r.wall)/float64(r.boundAttempts))
	}
	fmt.Printf("API calls          %d attempts by the client, %d reached the proxy\n", r.calls, r.proxied)
	fmt.Printf("retries            %d throttled attempts retried\n", r.retries)
	fmt.Printf("tasks              %d, ok %d, scan %s\n", r.tasks, r.ok, r.status)
	fmt.Printf("peak memory        %.1f MiB RSS, %.1f MiB Go heap\n", float64(r.peakRSS)/(1<<20), float64(r.peakHeap)/(1<<20))
}

func benchRun(ctx context.Context, db *store.DB, target string, limits map[string]awsx.Limit, latency time.Duration, storm float64, regions []string, concurrency int, memo *faultproxy.Memo) result {
	proxy, err := faultproxy.Start(target)
	if err != nil {
		fatal(err)
	}
	defer proxy.Close()
	proxy.Latency, proxy.Limits, proxy.StormRate, proxy.Memo = latency, limits, storm, memo
	proxy.Timeline = limits != nil
	// moto does not implement GetEbsDefaultKmsKeyId: answer it as AWS does for an account that
	// never chose a key, so that retries of an emulator gap do not count as scheduler time.
	proxy.AddFault(faultproxy.Fault{Match: func(c *faultproxy.Call) bool { return c.Action == "GetEbsDefaultKmsKeyId" }, Status: 200,
		Body: `<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>bench</requestId><kmsKeyId>alias/aws/ebs</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>`})
	perTask := map[string]int64{}
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: proxy.URL})
	if err != nil {
		fatal(err)
	}
	var peakHeap uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
	}()
	began := time.Now()
	res, err := (&scan.Scanner{DB: db, Base: cfg}).Run(ctx, scan.Options{RoleName: "OrganizationAccountAccessRole",
		Regions: regions, Services: []string{"ec2"}, Concurrency: concurrency, RateLimits: limits})
	wall := time.Since(began)
	close(stop)
	if err != nil {
		fatal(err)
	}
	cov, _ := db.CoverageOf(ctx, res.ScanID)
	var longest store.Coverage
	for _, c := range cov {
		perTask[c.Collector+"|"+c.AccountID+"|"+c.Region] = c.Calls
		if c.DurationMS > longest.DurationMS {
			longest = c
		}
	}
	fmt.Printf("longest task       %s %s %s: %d calls in %dms (mean upstream answer %s; %d calls answered from memory)\n", longest.Collector, longest.AccountID, longest.Region,
		longest.Calls, longest.DurationMS, proxy.MeanUpstream().Round(time.Millisecond), proxy.Memoized.Load())

	var chain int64
	for _, n := range perTask {
		chain = max(chain, n)
	}
	bound, busiest := lowerBound(proxy.Served(), limits, chain, latency)
	// Under a storm each refused attempt also took a client token (yagura retries wait for a
	// token like first attempts): the bound those attempts imply says what the storm itself cost.
	attempts := proxy.Served()
	for key, n := range proxy.Refused() {
		attempts[key] += n
	}
	boundAttempts, _ := lowerBound(attempts, limits, chain, latency)
	if limits != nil {
		printTimeline(proxy, began, limits)
	}
	return result{wall: wall, bound: bound, boundAttempts: boundAttempts, busiest: busiest, calls: res.Calls, proxied: proxy.Calls.Load(), retries: res.Throttles,
		tasks: res.Tasks, ok: res.ByOutcome["ok"], status: res.Status, peakRSS: procstat.PeakRSS(), peakHeap: peakHeap}
}

// lowerBound is the shortest scan the buckets allow for these call counts per
// account|region|class bucket: a bucket cannot finish before it has refilled for every call
// beyond its burst. Every account of the generated organization carries the same load, so the
// account discovered last must still drain its own buckets after discovery, which itself drains
// the Organizations bucket: bound = max(slowest bucket, discovery + the quickest account's
// slowest bucket). Add one sequential page chain (the task with the most calls) of latency.
func lowerBound(counts map[string]int64, limits map[string]awsx.Limit, chain int64, latency time.Duration) (time.Duration, string) {
	drain := map[string]time.Duration{} // account -> its slowest bucket
	var discovery, slowest time.Duration
	busiest := ""
	for key, n := range counts {
		parts := strings.Split(key, "|")
		acct, class := parts[0], parts[len(parts)-1]
		lim := limitFor(limits, class)
		d := time.Duration(float64(max(0, n-int64(lim.Burst))) / lim.Rate * float64(time.Second))
		if strings.HasPrefix(class, "organizations") {
			discovery = max(discovery, d)
		}
		drain[acct] = max(drain[acct], d)
		if d > slowest || busiest == "" {
			slowest, busiest = d, fmt.Sprintf("%s, %d calls at %s", key, n, lim)
		}
	}
	quickest := slowest
	for _, d := range drain {
		quickest = min(quickest, d)
	}
	bound := max(slowest, discovery+quickest)
	if discovery+quickest > slowest {
		busiest = fmt.Sprintf("discovery %s (Organizations calls) + %s for the last account's slowest bucket", discovery.Round(time.Millisecond), quickest.Round(time.Millisecond))
	}
	return bound + time.Duration(chain)*latency, busiest
}

// printTimeline says where the time over the bound went, for the bucket class that bounds the
// scan: how late each account × region started drawing from it, how long it then sat idle while
// calls were left (waste), and what its bucket refused.
func printTimeline(proxy *faultproxy.Proxy, began time.Time, limits map[string]awsx.Limit) {
	times, refused := proxy.Times(), proxy.Refused()
	type span struct {
		key               string
		start, end, waste time.Duration
		n                 int
	}
	byClass := map[string][]span{}
	accountStart := map[string]time.Duration{}
	for key, ts := range times {
		parts := strings.Split(key, "|")
		acct, class := parts[0], parts[len(parts)-1]
		lim := limitFor(limits, class)
		first, last := ts[0].Sub(began), ts[len(ts)-1].Sub(began)
		if s, ok := accountStart[acct]; !ok || first < s {
			accountStart[acct] = first
		}
		need := time.Duration(float64(max(0, len(ts)-lim.Burst)) / lim.Rate * float64(time.Second))
		byClass[class] = append(byClass[class], span{key, first, last, max(0, last-first-need), len(ts)})
	}
	var lastAcct string
	for a, s := range accountStart {
		if lastAcct == "" || s > accountStart[lastAcct] {
			lastAcct = a
		}
	}
	fmt.Printf("timeline           last account's first call at %s (%s)\n", accountStart[lastAcct].Round(time.Millisecond), lastAcct)
	for _, class := range slices.Sorted(maps.Keys(byClass)) {
		spans := byClass[class]
		sort.Slice(spans, func(i, j int) bool { return spans[i].end > spans[j].end })
		w := spans[0]
		var starts, wastes []time.Duration
		var refusedN int64
		for _, s := range spans {
			starts, wastes = append(starts, s.start), append(wastes, s.waste)
			refusedN += refused[s.key]
		}
		slices.Sort(starts)
		slices.Sort(wastes)
		fmt.Printf("  %-22s %3d buckets; start p50 %s max %s; idle p50 %s max %s; refused %d; last to end %s: %d calls, %s → %s, idle %s\n",
			class, len(spans), starts[len(starts)/2].Round(100*time.Millisecond), starts[len(starts)-1].Round(100*time.Millisecond),
			wastes[len(wastes)/2].Round(100*time.Millisecond), wastes[len(wastes)-1].Round(100*time.Millisecond), refusedN,
			w.key, w.n, w.start.Round(100*time.Millisecond), w.end.Round(100*time.Millisecond), w.waste.Round(100*time.Millisecond))
	}
}

func limitFor(limits map[string]awsx.Limit, class string) awsx.Limit {
	if l, ok := limits[class]; ok {
		return l
	}
	if svc, _, ok := strings.Cut(class, ":"); ok {
		if l, ok := limits[svc]; ok {
			return l
		}
	}
	return limits["*"]
}

// generateOrg creates the accounts and seeds security groups in every account and region.
func generateOrg(ctx context.Context, base aws.Config, n int, regions []string, groups, snapshots int) []string {
	oc := organizations.NewFromConfig(base)
	if _, err := oc.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		fatal(err)
	}
	ids := []string{"123456789012"}
	for i := 1; i < n; i++ {
		out, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(fmt.Sprintf("acct-%02d", i)),
			Email: aws.String(fmt.Sprintf("acct-%02d@example.com", i))})
		if err != nil {
			fatal(err)
		}
		ids = append(ids, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	sort.Strings(ids)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, id := range ids {
		for _, r := range regions {
			wg.Add(1)
			go func(id, r string) {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				cfg := awsx.AssumeConfig(base, "123456789012", id, awsx.RoleOptions{RoleName: "OrganizationAccountAccessRole"})
				cfg.Region = r
				ec := ec2.NewFromConfig(cfg)
				for g := 0; g < groups; g++ {
					sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("bench-%d", g)), Description: aws.String("bench")})
					if err != nil {
						fatal(err)
					}
					_, err = ec.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
						IpProtocol: aws.String("tcp"), FromPort: aws.Int32(int32(1000 + g)), ToPort: aws.Int32(int32(1000 + g)),
						IpRanges: []ec2types.IpRange{{CidrIp: aws.String(fmt.Sprintf("10.%d.%d.0/24", g%250, len(id)%250))}}}}})
					if err != nil {
						fatal(err)
					}
				}
				if snapshots == 0 {
					return
				}
				vol, err := ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(r + "a"), Size: aws.Int32(1)})
				if err != nil {
					fatal(err)
				}
				for i := 0; i < snapshots; i++ {
					if _, err := ec.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: vol.VolumeId}); err != nil {
						fatal(err)
					}
				}
			}(id, r)
		}
	}
	wg.Wait()
	return ids
}
