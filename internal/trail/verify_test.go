package trail

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/mototest"
)

const (
	testBucket   = "org-trail-archive"
	testTrail    = "org-trail"
	testTrailARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
)

// ctStub answers the CloudTrail calls moto lacks, in the JSON 1.1 wire format, and proxies
// everything else (S3, Organizations) to moto, so one endpoint serves yagura and the AWS CLI.
type ctStub struct {
	keys   []*rsa.PublicKey
	moto   *httputil.ReverseProxy
	calls  map[string]int
	bucket string
}

func fingerprint(pk *rsa.PublicKey) string {
	s := md5.Sum(x509.MarshalPKCS1PublicKey(pk))
	return hex.EncodeToString(s[:])
}

func (s *ctStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	// The Go SDK sends "CloudTrail_20131101.Op", botocore
	// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.Op".
	i := strings.Index(target, "CloudTrail_20131101.")
	if i < 0 {
		s.moto.ServeHTTP(lowerMeta{w}, r)
		return
	}
	op := target[i+len("CloudTrail_20131101."):]
	s.calls[op]++
	trail := map[string]any{"Name": testTrail, "S3BucketName": s.bucket, "TrailARN": testTrailARN, "HomeRegion": "us-east-1",
		"IsOrganizationTrail": true, "IsMultiRegionTrail": true, "LogFileValidationEnabled": true}
	var out any
	switch op {
	case "ListPublicKeys":
		var list []map[string]any
		for _, pk := range s.keys {
			der := x509.MarshalPKCS1PublicKey(pk)
			// Value is a blob: base64 of the DER key on the wire. The AWS CLI keeps blobs as
			// base64 text and decodes them itself; the Go SDK hands over the DER bytes.
			list = append(list, map[string]any{
				"Value":             base64.StdEncoding.EncodeToString(der),
				"ValidityStartTime": time.Now().Add(-30 * 24 * time.Hour).Unix(),
				"ValidityEndTime":   time.Now().Add(30 * 24 * time.Hour).Unix(),
				"Fingerprint":       fingerprint(pk),
			})
		}
		out = map[string]any{"PublicKeyList": list}
	case "DescribeTrails":
		out = map[string]any{"trailList": []any{trail}}
	case "GetTrail":
		out = map[string]any{"Trail": trail}
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"UnsupportedOperationException","message":"%s"}`, op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// lowerMeta restores S3's lower-case user metadata names: moto title-cases them ("Signature"),
// and validate-logs looks up metadata["signature"].
type lowerMeta struct{ http.ResponseWriter }

func (l lowerMeta) WriteHeader(code int) {
	h := l.Header()
	for k, v := range h {
		if strings.HasPrefix(k, "X-Amz-Meta-") {
			delete(h, k)
			h[strings.ToLower(k)] = v
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l lowerMeta) Write(b []byte) (int, error) { return l.ResponseWriter.Write(b) }

// startMoto is mototest.New without AWS_PROFILE="" in moto's environment: moto (boto3 inside)
// then fails every NoSuchKey answer with a 500 ("config profile () could not be found"), and
// a deleted object is exactly what these tests look for.
func startMoto(t *testing.T) string {
	t.Helper()
	mototest.SetTestEnv(t)
	os.Unsetenv("AWS_PROFILE") // t.Setenv above restores it after the test
	if u := os.Getenv("TRAIL_MOTO_URL"); u != "" {
		return u // debugging: reuse a running moto_server
	}
	s, err := mototest.Start(context.Background(), "")
	if errors.Is(err, mototest.ErrMissing) {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.URL
}

type archive struct {
	t        *testing.T
	s3       *s3.Client
	orgID    string
	key      *rsa.PrivateKey
	base     time.Time
	digests  map[string][]string // account → digest keys, oldest first
	logs     map[string][]string // digest key → its log keys
	endpoint string
	stub     *ctStub
	lastSig  string
}

func newArchiveEnv(t *testing.T) *archive {
	motoURL := startMoto(t)
	u, _ := url.Parse(motoURL)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// moto title-cases user metadata names ("Signature"); real S3 returns them lower-case, and
	// validate-logs looks up metadata["signature"]. Restore S3's behaviour on the way back.
	stub := &ctStub{keys: []*rsa.PublicKey{&key.PublicKey}, moto: proxy, calls: map[string]int{}, bucket: testBucket}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	org, err := organizations.NewFromConfig(cfg).CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	a := &archive{t: t, s3: s3.NewFromConfig(cfg, awsx.S3Options(cfg), QuietS3), orgID: aws.ToString(org.Organization.Id), key: key,
		base: time.Now().UTC().Truncate(time.Hour).Add(-8 * time.Hour), digests: map[string][]string{}, logs: map[string][]string{},
		endpoint: srv.URL, stub: stub}
	if _, err := a.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *archive) put(key string, body []byte, meta map[string]string) {
	a.t.Helper()
	_, err := a.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		a.t.Fatal(err)
	}
}

func (a *archive) del(key string) {
	a.t.Helper()
	if _, err := a.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)}); err != nil {
		a.t.Fatal(err)
	}
}

func (a *archive) orgLogKey(acct, region string, ts time.Time, uniq string) string {
	return "AWSLogs/" + a.orgID + "/" + acct + "/CloudTrail/" + region + "/" + ts.Format("2006/01/02") + "/" +
		acct + "_CloudTrail_" + region + "_" + ts.Format("20060102T1504Z") + "_" + uniq + ".json.gz"
}

func (a *archive) digestKey(acct, region string, end time.Time) string {
	return "AWSLogs/" + a.orgID + "/" + acct + "/CloudTrail-Digest/" + region + "/" + end.Format("2006/01/02") + "/" +
		acct + "_CloudTrail-Digest_" + region + "_" + testTrail + "_us-east-1_" + end.Format("20060102T150405Z") + ".json.gz"
}

// sign produces the metadata CloudTrail stores beside a digest.
func sign(t *testing.T, key *rsa.PrivateKey, d map[string]any, inflated []byte) string {
	prev := "null"
	if p, ok := d["previousDigestSignature"].(string); ok {
		prev = p
	}
	sum := sha256.Sum256(inflated)
	s := fmt.Sprintf("%s\n%s/%s\n%s\n%s", d["digestEndTime"], d["digestS3Bucket"], d["digestS3Object"], hex.EncodeToString(sum[:]), prev)
	h := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// build writes n hourly digests, each covering two log files, for acct in region, starting
// from hours after the archive's base time with a fresh chain (the first digest has no previous).
func (a *archive) build(acct, region string, from, n int) {
	var prevKey, prevSig, prevHash any
	for i := from; i < from+n; i++ {
		start := a.base.Add(time.Duration(i)*time.Hour + 31*time.Second)
		end := start.Add(time.Hour)
		var logFiles []map[string]any
		for j, off := range []time.Duration{10 * time.Minute, 40 * time.Minute} {
			ts := start.Add(off)
			lk := a.orgLogKey(acct, region, ts, fmt.Sprintf("u%d%d", i, j))
			body := records(a.t, ev("DescribeInstances", "ec2.amazonaws.com", acct, region, ts.Add(-2*time.Minute), nil))
			a.put(lk, gz(a.t, body), nil)
			sum := sha256.Sum256(body)
			logFiles = append(logFiles, map[string]any{"s3Bucket": testBucket, "s3Object": lk, "hashValue": hex.EncodeToString(sum[:]), "hashAlgorithm": "SHA-256",
				"newestEventTime": ts.Format(time.RFC3339), "oldestEventTime": ts.Format(time.RFC3339)})
		}
		dk := a.digestKey(acct, region, end)
		d := map[string]any{
			"awsAccountId": acct, "digestStartTime": start.Format(time.RFC3339), "digestEndTime": end.Format(time.RFC3339),
			"digestS3Bucket": testBucket, "digestS3Object": dk, "digestPublicKeyFingerprint": fingerprint(&a.key.PublicKey),
			"digestSignatureAlgorithm": "SHA256withRSA", "previousDigestS3Bucket": nil, "previousDigestS3Object": prevKey,
			"previousDigestHashValue": prevHash, "previousDigestHashAlgorithm": "SHA-256", "previousDigestSignature": prevSig, "logFiles": logFiles,
		}
		if prevKey != nil {
			d["previousDigestS3Bucket"] = testBucket
		}
		a.putDigest(dk, d, a.key)
		for _, lf := range logFiles {
			a.logs[dk] = append(a.logs[dk], lf["s3Object"].(string))
		}
		a.digests[acct] = append(a.digests[acct], dk)
		raw, _ := json.Marshal(d)
		sum := sha256.Sum256(raw)
		prevKey, prevHash, prevSig = dk, hex.EncodeToString(sum[:]), any(a.lastSig)
	}
}

func (a *archive) putDigest(dk string, d map[string]any, key *rsa.PrivateKey) {
	raw, err := json.Marshal(d)
	if err != nil {
		a.t.Fatal(err)
	}
	a.lastSig = sign(a.t, key, d, raw)
	a.put(dk, gz(a.t, raw), map[string]string{"signature": a.lastSig, "signature-algorithm": "SHA256withRSA"})
}

func (a *archive) verify(t *testing.T) *VerifyReport {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsx.Load(ctx, awsx.Options{Region: "us-east-1", EndpointURL: a.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{S3: s3.NewFromConfig(cfg, awsx.S3Options(cfg), QuietS3), Bucket: testBucket, Keys: &CloudTrailKeys{Config: cfg},
		Window: Window{Since: a.base, Until: time.Now().UTC()}}
	rep, err := v.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// verdicts flattens a report to location → verdict.
func verdicts(rep *VerifyReport) map[string]string {
	m := map[string]string{}
	for _, c := range rep.Chains {
		for _, r := range c.Digests {
			m[r.Location] = r.Verdict
		}
		for _, r := range c.Logs {
			m[r.Location] = r.Verdict
		}
	}
	return m
}

func details(rep *VerifyReport) map[string]string {
	m := map[string]string{}
	for _, c := range rep.Chains {
		for _, r := range append(c.Digests, c.Logs...) {
			m[r.Location] = r.Detail
		}
	}
	return m
}

func loc(k string) string { return "s3://" + testBucket + "/" + k }

// validateLogs runs the AWS CLI's own validator against the same endpoint and returns
// location → "valid" or the text after INVALID:.
func (a *archive) validateLogs(t *testing.T, acct string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aws CLI missing")
		}
		t.Skip("aws CLI missing")
	}
	cmd := exec.Command("aws", "cloudtrail", "validate-logs", "--trail-arn", testTrailARN, "--account-id", acct,
		"--start-time", a.base.Format(time.RFC3339), "--verbose", "--region", "us-east-1")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_PROFILE=") && !strings.HasPrefix(e, "AWS_SESSION_TOKEN=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "AWS_ENDPOINT_URL="+a.endpoint, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("validate-logs exit %v\n%s\n%s", err, stdout.String(), stderr.String())
	m := map[string]string{}
	sc := bufio.NewScanner(io2(stdout, stderr))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 || (f[0] != "Digest file" && f[0] != "Log file") {
			continue
		}
		v := strings.TrimSpace(f[2])
		if strings.HasPrefix(v, "INVALID: ") {
			v = strings.TrimPrefix(v, "INVALID: ")
		}
		m[f[1]] = v
	}
	if len(m) == 0 {
		t.Fatalf("validate-logs reported nothing")
	}
	return m
}

func io2(a, b bytes.Buffer) *bytes.Reader { return bytes.NewReader(append(a.Bytes(), b.Bytes()...)) }

// cliVerdict maps validate-logs' wording to yagura's verdicts.
func cliVerdict(s string) string {
	switch {
	case s == "valid":
		return Valid
	case s == "not found":
		return Missing
	case strings.HasPrefix(s, "hash value"), strings.HasPrefix(s, "signature verification failed"):
		return Modified
	case strings.Contains(s, "moved"):
		return Moved
	}
	return Invalid
}

func TestVerifyDigestChainAgainstAWSCLI(t *testing.T) {
	a := newArchiveEnv(t)
	accts := []string{"111111111111", "222222222222"}
	for _, acct := range accts {
		a.build(acct, "us-east-1", 0, 6)
	}
	rep := a.verify(t)
	if !rep.OK() {
		t.Fatalf("untouched archive not valid: %+v", verdicts(rep))
	}
	got := verdicts(rep)
	if len(got) != 2*6*3 {
		t.Errorf("want 36 files checked, got %d", len(got))
	}
	for _, acct := range accts {
		for k, v := range a.validateLogs(t, acct) {
			if got[k] != cliVerdict(v) {
				t.Errorf("untouched %s: yagura %q, validate-logs %q", k, got[k], v)
			}
		}
	}

	// Tamper with account A: modify a log of digest 0, delete a log of digest 1, delete digest 2,
	// re-sign digest 4 with another key.
	A := accts[0]
	ds := a.digests[A]
	modified, deleted := a.logs[ds[0]][0], a.logs[ds[1]][1]
	a.put(modified, gz(t, records(t, ev("Nothing", "x", A, "us-east-1", a.base, nil))), nil)
	a.del(deleted)
	a.del(ds[2])
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	{
		out, err := a.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(ds[4])})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(out.Body)
		raw, _ := inflate(buf.Bytes())
		var d map[string]any
		json.Unmarshal(raw, &d)
		a.putDigest(ds[4], d, other)
	}
	want := map[string]string{loc(modified): Modified, loc(deleted): Missing, loc(ds[2]): Missing, loc(ds[4]): Modified}
	rep = a.verify(t)
	if rep.OK() {
		t.Fatal("tampered archive reported OK")
	}
	got = verdicts(rep)
	for k, v := range got {
		w, ok := want[k]
		if !ok {
			w = Valid
			// The logs of the deleted digest are no longer covered by any digest.
			for _, l := range a.logs[ds[2]] {
				if k == loc(l) {
					w = Uncovered
				}
			}
		}
		if v != w {
			t.Errorf("%s: got %s want %s (%s)", k, v, w, details(rep)[k])
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q want %s", k, got[k], w)
		}
	}
	cli := a.validateLogs(t, A)
	var disagree []string
	for k, v := range cli {
		if got[k] != cliVerdict(v) {
			disagree = append(disagree, fmt.Sprintf("%s: yagura %q, validate-logs %q", k, got[k], v))
		}
	}
	sort.Strings(disagree)
	for _, d := range disagree {
		t.Error(d)
	}
	for k, w := range want {
		if cliVerdict(cli[k]) != w {
			t.Errorf("validate-logs on %s: %q, want %s", k, cli[k], w)
		}
	}
	// Account B untouched.
	for _, c := range rep.Chains {
		if c.Account == accts[1] && !c.OK() {
			t.Errorf("account B: %+v", c)
		}
	}
}

// TestVerifyGapsMovedUncovered covers what validate-logs does not report: a gap where
// validation was off, a log file moved to another key, a log file no digest lists, and a
// digest copied away from where CloudTrail wrote it.
func TestVerifyGapsMovedUncovered(t *testing.T) {
	a := newArchiveEnv(t)
	acct := "333333333333"
	a.build(acct, "us-east-1", 0, 3) // chain 1: hours 0-3
	a.build(acct, "us-east-1", 5, 2) // validation off for two hours, chain 2: hours 5-7
	ds := a.digests[acct]
	ctx := context.Background()
	get := func(k string) ([]byte, map[string]string) {
		out, err := a.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(out.Body)
		return b.Bytes(), out.Metadata
	}
	// Move a log file of digest 1 to another region's folder, same name.
	moved := a.logs[ds[1]][0]
	body, _ := get(moved)
	movedTo := strings.Replace(moved, "/CloudTrail/us-east-1/", "/CloudTrail/us-west-2/", 1)
	a.put(movedTo, body, nil)
	a.del(moved)
	// A log file nobody digested, inside chain 1's hours.
	extra := a.orgLogKey(acct, "us-east-1", a.base.Add(90*time.Minute), "injected")
	a.put(extra, gz(t, records(t, ev("DeleteTrail", "cloudtrail.amazonaws.com", acct, "us-east-1", a.base.Add(89*time.Minute), nil))), nil)
	// Copy digest 0 next to itself under another name, and delete the original.
	dbody, meta := get(ds[0])
	copied := strings.Replace(ds[0], "31Z.json.gz", "32Z.json.gz", 1)
	a.put(copied, dbody, meta)
	a.del(ds[0])

	rep := a.verify(t)
	got := verdicts(rep)
	want := map[string]string{loc(movedTo): Moved, loc(moved): Moved, loc(extra): Uncovered, loc(copied): Moved, loc(ds[0]): Missing}
	for k, w := range want {
		if got[k] != w && !(k == loc(movedTo) && got[k] == "") {
			t.Errorf("%s: got %q want %s", k, got[k], w)
		}
	}
	if got[loc(movedTo)] != "" {
		t.Errorf("the moved log's new key must not also count as uncovered: %s", got[loc(movedTo)])
	}
	for k, v := range got {
		if _, special := want[k]; !special && v != Valid {
			// The logs of the deleted digest 0 are no longer covered by any valid digest.
			covered := false
			for _, l := range a.logs[ds[0]] {
				covered = covered || loc(l) == k
			}
			if !(covered && v == Uncovered) {
				t.Errorf("%s: %s (%s)", k, v, details(rep)[k])
			}
		}
	}
	var gaps []Gap
	for _, c := range rep.Chains {
		gaps = append(gaps, c.Gaps...)
	}
	if len(gaps) != 1 || !gaps[0].From.Equal(a.base.Add(3*time.Hour+31*time.Second)) || !gaps[0].To.Equal(a.base.Add(5*time.Hour+31*time.Second)) {
		t.Errorf("gaps %+v", gaps)
	}
	if rep.OK() {
		t.Error("report OK despite moved and uncovered files")
	}
	// validate-logs agrees on everything it can see; a moved log is "not found" to it.
	for k, v := range a.validateLogs(t, acct) {
		c := cliVerdict(v)
		if k == loc(moved) && c == Missing && got[k] == Moved {
			continue
		}
		if got[k] != c {
			t.Errorf("%s: yagura %q, validate-logs %q", k, got[k], v)
		}
	}
}
