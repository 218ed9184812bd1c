// Command trail measures how fast yagura reads a CloudTrail archive, against baselines measured
// in the same run on the same files: zcat alone (the cost of decompression) and zcat | jq.
//
//	go run ./bench/trail -size 1GB
//
// It generates a synthetic archive with a realistic event mix into a temporary directory (about
// 1 KB per event, a thousand events per file, AWSLogs/ layout), then prints MB/s of uncompressed
// JSON for each reader and the ratios between them.
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yagura-dev/yagura/internal/procstat"
	"github.com/yagura-dev/yagura/internal/trail"
)

func main() {
	sizeFlag := flag.String("size", "1GB", "uncompressed JSON to generate (e.g. 200MB, 1GB)")
	dirFlag := flag.String("dir", "", "archive directory (default: a new temporary directory, removed afterwards)")
	keep := flag.Bool("keep", false, "keep the generated archive")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the yagura runs to this file")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		fatal(err)
	}
	dir := *dirFlag
	if dir == "" {
		if dir, err = os.MkdirTemp("", "yagura-trail-bench-"); err != nil {
			fatal(err)
		}
		if !*keep {
			defer os.RemoveAll(dir)
		}
	}
	cores := runtime.GOMAXPROCS(0)
	fmt.Printf("generating %s of CloudTrail JSON into %s (%d cores)\n", human(size), dir, cores)
	t0 := time.Now()
	files, raw, gz := generate(dir, size, cores)
	fmt.Printf("  %d files, %s uncompressed, %s gzipped (%.1fx), %.1fs\n\n", len(files), human(raw), human(gz), float64(raw)/float64(gz), time.Since(t0).Seconds())

	mbps := func(d time.Duration) float64 { return float64(raw) / 1e6 / d.Seconds() }
	results := map[string]float64{}
	cpuRate := map[string]float64{}
	fmt.Printf("  %-50s %10s  %7s  %14s\n", "", "wall MB/s", "wall s", "MB per CPU-s")
	row := func(name string, m measure, note string) {
		results[name] = mbps(m.wall)
		cpuRate[name] = float64(raw) / 1e6 / m.cpu.Seconds()
		fmt.Printf("  %-50s %10.1f  %7.2f  %14.1f  %s\n", name, mbps(m.wall), m.wall.Seconds(), cpuRate[name], note)
	}

	// Warm the page cache so every reader starts from the same place.
	runZcat(files, 1)

	d := runZcat(files, 1)
	row("zcat > /dev/null (1 process)", d, "")
	d = runZcat(files, cores)
	row(fmt.Sprintf("zcat > /dev/null (%d processes)", cores), d, "decompression-only baseline, all cores")

	if _, err := exec.LookPath("jq"); err == nil {
		d, n := runJQ(files, cores)
		row(fmt.Sprintf("zcat | jq eventName==ConsoleLogin (%d pipes)", cores), d, fmt.Sprintf("%d events", n))
	} else {
		fmt.Println("  zcat | jq: skipped, jq is not installed (apt-get install -y jq)")
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	d, st := runReader(dir, func(*trail.Event) bool { return false })
	row("yagura decode only", d, fmt.Sprintf("%d records", st.Records))

	flt := &trail.Filter{EventNames: []string{"ConsoleLogin"}}
	if err := flt.Compile(); err != nil {
		fatal(err)
	}
	d, st = runReader(dir, flt.Match)
	row("yagura trail search --event-name ConsoleLogin", d, fmt.Sprintf("%d events", st.Matched))

	rules, bad, err := trail.BuiltinRules(trail.Placeholders{"org_accounts": accounts})
	if err != nil || len(bad) > 0 {
		fatal(fmt.Errorf("rules: %v %v", err, bad))
	}
	h := trail.NewHunter(rules)
	d, st = runReader(dir, h.Observe)
	row(fmt.Sprintf("yagura trail hunt (%d built-in rules)", len(rules)), d, fmt.Sprintf("%d matching events, %d alerts", st.Matched, len(h.Alerts())))

	// The same work through the real command line, as users run it.
	bin := filepath.Join(dir, "yagura-bench-bin")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/yagura").CombinedOutput(); err != nil {
		fmt.Printf("  yagura binary: skipped, go build ./cmd/yagura failed: %s\n", strings.TrimSpace(string(out)))
	} else {
		defer os.Remove(bin)
		m := runCmd(bin, "trail", "hunt", "--dir", dir, "--since", "2000-01-01", "--known-accounts", strings.Join(accounts, ","), "--format", "json", "-q")
		row("yagura trail hunt (the binary, --format json)", m, "")
		m = runCmd(bin, "trail", "search", "--dir", dir, "--since", "2000-01-01", "--event-name", "ConsoleLogin", "--format", "jsonl", "-q")
		row("yagura trail search (the binary, --format jsonl)", m, "")
	}

	fmt.Println()
	fmt.Println("  wall-clock ratios (what a user sees now, on this machine's current load):")
	z := results[fmt.Sprintf("zcat > /dev/null (%d processes)", cores)]
	z1 := results["zcat > /dev/null (1 process)"]
	hunt := results[fmt.Sprintf("yagura trail hunt (%d built-in rules)", len(rules))]
	search := results["yagura trail search --event-name ConsoleLogin"]
	fmt.Printf("  hunt   / zcat (%d cores)   = %.2f   (target ≥ 0.60)\n", cores, hunt/z)
	fmt.Printf("  search / zcat (%d cores)   = %.2f\n", cores, search/z)
	fmt.Printf("  hunt   / zcat (1 core)    = %.2f\n", hunt/z1)
	if jq, ok := results[fmt.Sprintf("zcat | jq eventName==ConsoleLogin (%d pipes)", cores)]; ok {
		fmt.Printf("  search / zcat|jq          = %.1fx\n", search/jq)
	}
	// CPU cost ratios do not depend on what else the machine runs: with every core free, each
	// reader's throughput is cores × (MB per CPU-second).
	fmt.Println("  CPU-cost ratios (throughput with all cores free = cores x MB per CPU-s):")
	zc := cpuRate["zcat > /dev/null (1 process)"]
	hc := cpuRate[fmt.Sprintf("yagura trail hunt (%d built-in rules)", len(rules))]
	sc := cpuRate["yagura trail search --event-name ConsoleLogin"]
	fmt.Printf("  hunt   / zcat             = %.2f   (target ≥ 0.60)\n", hc/zc)
	fmt.Printf("  search / zcat             = %.2f\n", sc/zc)
	if jq, ok := cpuRate[fmt.Sprintf("zcat | jq eventName==ConsoleLogin (%d pipes)", cores)]; ok {
		fmt.Printf("  search / zcat|jq          = %.1fx\n", sc/jq)
	}
}

// measure is a run's wall-clock time and the CPU time it used (user + system, children
// included for external commands).
type measure struct{ wall, cpu time.Duration }

func cpuChildren() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var accounts = []string{"111111111111", "222222222222", "333333333333", "444444444444"}

func runReader(dir string, fn func(*trail.Event) bool) (measure, *trail.Stats) {
	var matched atomic.Int64
	r := &trail.Reader{Source: &trail.DirSource{Roots: []string{dir}}}
	runtime.GC()
	c0 := procstat.CPU()
	t0 := time.Now()
	st, err := r.Run(context.Background(), func(e *trail.Event) error {
		if fn(e) {
			matched.Add(1)
		}
		return nil
	})
	m := measure{wall: time.Since(t0), cpu: procstat.CPU() - c0}
	if err != nil {
		fatal(err)
	}
	if len(st.Bad) > 0 {
		fatal(fmt.Errorf("unreadable: %v", st.Bad[0]))
	}
	st.Matched = matched.Load()
	return m, st
}

// split deals files to n lists.
func split(files []string, n int) [][]string {
	out := make([][]string, n)
	for i, f := range files {
		out[i%n] = append(out[i%n], f)
	}
	return out
}

// runCmd runs a command with its output discarded.
func runCmd(name string, args ...string) measure {
	c0 := cpuChildren()
	t0 := time.Now()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fatal(fmt.Errorf("%s: %w", name, err))
	}
	return measure{wall: time.Since(t0), cpu: cpuChildren() - c0}
}

func runZcat(files []string, procs int) measure {
	c0 := cpuChildren()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, part := range split(files, procs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("zcat", part...)
			devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			defer devnull.Close()
			cmd.Stdout = devnull
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fatal(fmt.Errorf("zcat: %w", err))
			}
		}()
	}
	wg.Wait()
	return measure{wall: time.Since(t0), cpu: cpuChildren() - c0}
}

func runJQ(files []string, procs int) (measure, int) {
	c0 := cpuChildren()
	t0 := time.Now()
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, part := range split(files, procs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			zcat := exec.Command("zcat", part...)
			jq := exec.Command("jq", "-c", `.Records[] | select(.eventName == "ConsoleLogin")`)
			pipe, err := zcat.StdoutPipe()
			if err != nil {
				fatal(err)
			}
			jq.Stdin = pipe
			out, err := jq.StdoutPipe()
			if err != nil {
				fatal(err)
			}
			if err := zcat.Start(); err != nil {
				fatal(err)
			}
			if err := jq.Start(); err != nil {
				fatal(err)
			}
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			n := 0
			for sc.Scan() {
				n++
			}
			if err := jq.Wait(); err != nil {
				fatal(fmt.Errorf("jq: %w", err))
			}
			zcat.Wait()
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	return measure{wall: time.Since(t0), cpu: cpuChildren() - c0}, int(total.Load())
}

// generate writes files of about 1000 events each until size bytes of JSON exist.
func generate(dir string, size int64, workers int) (files []string, raw, gz int64) {
	const perFile = 1000
	var mu sync.Mutex
	var produced atomic.Int64
	var wg sync.WaitGroup
	var seq atomic.Int64
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	regions := []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var buf []byte
			for produced.Load() < size {
				n := seq.Add(1)
				acct := accounts[int(n)%len(accounts)]
				region := regions[int(n/4)%len(regions)]
				ts := base.Add(time.Duration(n) * 20 * time.Second)
				buf = append(buf[:0], `{"Records":[`...)
				for i := 0; i < perFile; i++ {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = appendEvent(buf, rng, acct, region, ts.Add(time.Duration(i)*time.Millisecond*50))
				}
				buf = append(buf, "]}"...)
				key := fmt.Sprintf("AWSLogs/o-bench12345/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%06d.json.gz", acct, region, ts.Format("2006/01/02"), acct, region, ts.Format("20060102T1504Z"), n)
				p := filepath.Join(dir, filepath.FromSlash(key))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					fatal(err)
				}
				f, err := os.Create(p)
				if err != nil {
					fatal(err)
				}
				zw := gzip.NewWriter(f)
				zw.Write(buf)
				if err := zw.Close(); err != nil {
					fatal(err)
				}
				info, _ := f.Stat()
				f.Close()
				produced.Add(int64(len(buf)))
				mu.Lock()
				files = append(files, p)
				raw += int64(len(buf))
				gz += info.Size()
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	return files, raw, gz
}

// The mix follows what busy organizations log: mostly reads by roles and services, some writes,
// a little console activity, and rare security-relevant changes.
var mix = []struct {
	weight       int
	name, source string
	params       string
	errorCode    string
}{
	{22, "AssumeRole", "sts.amazonaws.com", `{"roleArn":"arn:aws:iam::%A:role/deploy","roleSessionName":"s%N","durationSeconds":3600}`, ""},
	{14, "GetObject", "s3.amazonaws.com", `{"bucketName":"data-%A","Host":"data-%A.s3.amazonaws.com","key":"logs/2026/%N.parquet"}`, ""},
	{10, "Decrypt", "kms.amazonaws.com", `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::data-%A/%N"}}`, ""},
	{9, "DescribeInstances", "ec2.amazonaws.com", `{"instancesSet":{"items":[{"instanceId":"i-%N"}]},"filterSet":{}}`, ""},
	{8, "GetCallerIdentity", "sts.amazonaws.com", `null`, ""},
	{7, "PutObject", "s3.amazonaws.com", `{"bucketName":"data-%A","key":"in/%N.json","x-amz-server-side-encryption":"aws:kms"}`, ""},
	{6, "CreateLogStream", "logs.amazonaws.com", `{"logGroupName":"/aws/lambda/fn-%N","logStreamName":"2026/03/01/[$LATEST]%N"}`, ""},
	{5, "ListBuckets", "s3.amazonaws.com", `{"Host":"s3.amazonaws.com"}`, ""},
	{5, "GetObject", "s3.amazonaws.com", `{"bucketName":"secret-%A","key":"k/%N"}`, "AccessDenied"},
	{4, "DescribeSecurityGroups", "ec2.amazonaws.com", `{"securityGroupSet":{},"filterSet":{"items":[{"name":"vpc-id","valueSet":{"items":[{"value":"vpc-%N"}]}}]}}`, ""},
	{3, "UpdateItem", "dynamodb.amazonaws.com", `{"tableName":"orders","key":{"pk":{"S":"%N"}}}`, ""},
	{2, "ConsoleLogin", "signin.amazonaws.com", `null`, ""},
	{2, "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-%N","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}}`, ""},
	{1, "AttachRolePolicy", "iam.amazonaws.com", `{"roleName":"app-%N","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`, ""},
	{1, "CreateAccessKey", "iam.amazonaws.com", `{"userName":"ci-%N"}`, ""},
}

var totalWeight = func() int {
	t := 0
	for _, m := range mix {
		t += m.weight
	}
	return t
}()

func appendEvent(b []byte, rng *rand.Rand, acct, region string, ts time.Time) []byte {
	x := rng.IntN(totalWeight * 100)
	pick := mix[0]
	for _, m := range mix {
		if x < m.weight*100 {
			pick = m
			break
		}
		x -= m.weight * 100
	}
	n := strconv.FormatUint(rng.Uint64()%1e12, 36)
	// Rare security events: 1 in 20000 opens a group to the world, 1 in 50000 stops a trail.
	params := pick.params
	name, source := pick.name, pick.source
	switch r := rng.IntN(100000); {
	case r < 5:
		name, source, params = "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", `{"groupId":"sg-%N","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`
	case r < 7:
		name, source, params = "StopLogging", "cloudtrail.amazonaws.com", `{"name":"org-trail"}`
	}
	params = strings.ReplaceAll(strings.ReplaceAll(params, "%A", acct), "%N", n)
	user := "role/deploy"
	idType := "AssumedRole"
	if name == "ConsoleLogin" || rng.IntN(10) == 0 {
		user, idType = "user/u"+strconv.Itoa(rng.IntN(50)), "IAMUser"
	}
	ip := fmt.Sprintf("%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
	b = append(b, `{"eventVersion":"1.09","userIdentity":{"type":"`...)
	b = append(b, idType...)
	b = append(b, `","principalId":"AROA`...)
	b = append(b, strings.ToUpper(n)...)
	b = append(b, `:session","arn":"arn:aws:sts::`...)
	b = append(b, acct...)
	b = append(b, ':')
	b = append(b, user...)
	b = append(b, `","accountId":"`...)
	b = append(b, acct...)
	b = append(b, `","accessKeyId":"ASIA`...)
	b = append(b, strings.ToUpper(n)...)
	b = append(b, `","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::`...)
	b = append(b, acct...)
	b = append(b, `:role/deploy","accountId":"`...)
	b = append(b, acct...)
	b = append(b, `","userName":"deploy"},"attributes":{"creationDate":"`...)
	b = ts.AppendFormat(b, time.RFC3339)
	b = append(b, `","mfaAuthenticated":"false"}}},"eventTime":"`...)
	b = ts.AppendFormat(b, time.RFC3339)
	b = append(b, `","eventSource":"`...)
	b = append(b, source...)
	b = append(b, `","eventName":"`...)
	b = append(b, name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, region...)
	b = append(b, `","sourceIPAddress":"`...)
	b = append(b, ip...)
	b = append(b, `","userAgent":"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux api/`...)
	b = append(b, source[:strings.IndexByte(source, '.')]...)
	b = append(b, `#1.0",`...)
	if pick.errorCode != "" && name == pick.name {
		b = append(b, `"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation",`...)
	}
	b = append(b, `"requestParameters":`...)
	b = append(b, params...)
	if name == "ConsoleLogin" {
		mfa := "Yes"
		if rng.IntN(20) == 0 {
			mfa = "No"
		}
		b = append(b, `,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"`...)
		b = append(b, mfa...)
		b = append(b, `"}`...)
	} else {
		b = append(b, `,"responseElements":null`...)
	}
	b = append(b, `,"requestID":"`...)
	b = append(b, n...)
	b = append(b, `-req","eventID":"`...)
	b = append(b, n...)
	b = append(b, `-evt","readOnly":`...)
	if strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	b = append(b, `,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"`...)
	b = append(b, acct...)
	b = append(b, `","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
	b = append(b, source...)
	b = append(b, `"}}`...)
	return b
}

func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSuffix(u, suf.s), suf.m
			break
		}
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return int64(f * float64(mult)), nil
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d B", n)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
