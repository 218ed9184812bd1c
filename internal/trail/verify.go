package trail

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Verdicts of digest and log files. They follow `aws cloudtrail validate-logs`, plus what that
// command cannot see: moved log files, log files no digest covers, and gaps in the chain.
const (
	Valid     = "valid"
	Modified  = "modified"  // log hash or digest signature does not match
	Missing   = "missing"   // deleted: referenced but not found
	Moved     = "moved"     // found under another key than the one recorded
	Invalid   = "invalid"   // unreadable, wrong format, unknown public key
	Uncovered = "uncovered" // log file present but listed in no digest
	Pending   = "pending"   // log file newer than the newest digest (not yet digested)
)

// KeyProvider returns CloudTrail's public keys (fingerprint → DER PKCS#1) valid in a range.
type KeyProvider interface {
	PublicKeys(ctx context.Context, region string, start, end time.Time) (map[string][]byte, error)
}

// CloudTrailKeys asks CloudTrail ListPublicKeys in the digest's region.
type CloudTrailKeys struct {
	Config  aws.Config
	Options []func(*cloudtrail.Options)
}

func (k *CloudTrailKeys) PublicKeys(ctx context.Context, region string, start, end time.Time) (map[string][]byte, error) {
	opts := append([]func(*cloudtrail.Options){func(o *cloudtrail.Options) { o.Region = region }}, k.Options...)
	c := cloudtrail.NewFromConfig(k.Config, opts...)
	out := map[string][]byte{}
	in := &cloudtrail.ListPublicKeysInput{StartTime: &start, EndTime: &end}
	for {
		page, err := c.ListPublicKeys(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("cloudtrail ListPublicKeys in %s: %w", region, err)
		}
		for _, pk := range page.PublicKeyList {
			out[aws.ToString(pk.Fingerprint)] = pk.Value
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// parsePublicKey accepts the DER bytes the SDK hands over and, because the AWS CLI base64-decodes
// the API's Value once more, also DER that is itself base64 text.
func parsePublicKey(v []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(v); err == nil {
		return k, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(v)))
	if err != nil {
		return nil, errors.New("unable to load PKCS #1 key")
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("unable to load PKCS #1 key")
	}
	return k, nil
}

// FileResult is the verdict on one digest or log file.
type FileResult struct {
	Location string `json:"location"`
	Verdict  string `json:"verdict"`
	Detail   string `json:"detail,omitempty"`
}

// Gap is a period without digests: validation or logging was off, or digests were removed
// at the chain's start.
type Gap struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ChainReport is the verdict on one account, region and trail.
type ChainReport struct {
	Account string         `json:"account_id"`
	Region  string         `json:"region"`
	Trail   string         `json:"trail"`
	Counts  map[string]int `json:"counts"` // "digest valid", "log modified", ...
	Digests []FileResult   `json:"digests"`
	Logs    []FileResult   `json:"logs"`
	Gaps    []Gap          `json:"gaps,omitempty"`
}

// OK says whether everything in the chain could be proven.
func (c *ChainReport) OK() bool {
	for _, r := range c.Digests {
		if r.Verdict != Valid {
			return false
		}
	}
	for _, r := range c.Logs {
		if r.Verdict != Valid && r.Verdict != Pending {
			return false
		}
	}
	return true
}

// VerifyReport is the result of a verification run.
type VerifyReport struct {
	Bucket string         `json:"bucket"`
	Since  time.Time      `json:"since"`
	Until  time.Time      `json:"until"`
	Chains []*ChainReport `json:"chains"`
}

func (r *VerifyReport) OK() bool {
	for _, c := range r.Chains {
		if !c.OK() {
			return false
		}
	}
	return true
}

// Verifier validates the digest chain of an archive bucket exactly as CloudTrail defines it
// (and as `aws cloudtrail validate-logs` implements it).
type Verifier struct {
	S3      S3API
	Bucket  string
	Window  Window
	Keys    KeyProvider
	Workers int
	Now     func() time.Time
}

type digestFile struct {
	key      string
	info     KeyInfo
	chain    string
	backfill bool
	present  bool
	parsed   bool     // the digest was read and decoded
	sum      [32]byte // SHA-256 of the inflated digest; the bytes themselves are not kept
	sig      string
	sigAlg   string
	fields   map[string]json.RawMessage
	d        digestJSON
	verdict  string // set by validate
	detail   string
}

type digestJSON struct {
	DigestStartTime            string  `json:"digestStartTime"`
	DigestEndTime              string  `json:"digestEndTime"`
	DigestS3Bucket             string  `json:"digestS3Bucket"`
	DigestS3Object             string  `json:"digestS3Object"`
	DigestPublicKeyFingerprint string  `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm   string  `json:"digestSignatureAlgorithm"`
	PreviousDigestS3Bucket     *string `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object     *string `json:"previousDigestS3Object"`
	PreviousDigestHashValue    *string `json:"previousDigestHashValue"`
	PreviousDigestSignature    *string `json:"previousDigestSignature"`
	LogFiles                   []struct {
		S3Bucket  string `json:"s3Bucket"`
		S3Object  string `json:"s3Object"`
		HashValue string `json:"hashValue"`
	} `json:"logFiles"`
}

var requiredDigestKeys = []string{"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature", "digestEndTime", "digestStartTime"}

func (v *Verifier) loc(bucket, key string) string { return "s3://" + bucket + "/" + key }

// Run verifies every digest chain in the window.
func (v *Verifier) Run(ctx context.Context) (*VerifyReport, error) {
	now := time.Now().UTC()
	if v.Now != nil {
		now = v.Now()
	}
	w := v.Window
	if w.Until.IsZero() {
		w.Until = now
	}
	if w.Since.IsZero() {
		w.Since = w.Until.Add(-24 * time.Hour)
	}
	src := &S3Source{Client: v.S3, Bucket: v.Bucket}
	// Digests are written up to an hour after the logs they cover; look two hours past the
	// window so that no log delivered inside it lacks its digest.
	dw := w
	dw.Until = w.Until.Add(2 * time.Hour)
	chains := map[string][]*digestFile{}
	err := src.List(ctx, dw, KindDigests, func(o Object) error {
		ki, ok := ParseKey(o.Key)
		if !ok || !ki.Digest {
			return nil
		}
		m := digestNameRE.FindStringSubmatch(ki.Name)
		if m == nil {
			return nil
		}
		if ki.Time.Before(w.Since) || ki.Time.After(dw.Until) {
			return nil
		}
		chain := ki.Account + "|" + ki.Region + "|" + m[3] + "|" + m[4]
		chains[chain] = append(chains[chain], &digestFile{key: o.Key, info: ki, chain: chain, backfill: m[6] != "", present: true})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Log files present in the window, to find moved and uncovered ones.
	logs := map[string]map[string][]string{} // account → base name → keys (any region folder)
	err = src.List(ctx, w, KindLogs, func(o Object) error {
		ki, ok := ParseKey(o.Key)
		if !ok || (!ki.Time.IsZero() && ki.Time.After(w.Until)) {
			return nil
		}
		if logs[ki.Account] == nil {
			logs[ki.Account] = map[string][]string{}
		}
		logs[ki.Account][ki.Name] = append(logs[ki.Account][ki.Name], o.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}

	rep := &VerifyReport{Bucket: v.Bucket, Since: w.Since, Until: w.Until}
	names := make([]string, 0, len(chains))
	for c := range chains {
		names = append(names, c)
	}
	sort.Strings(names)
	keys := &keyCache{p: v.Keys, start: w.Since.Add(-time.Hour), end: dw.Until.Add(2 * time.Hour), m: map[string]map[string]*rsa.PublicKey{}}
	covered := map[string]bool{}
	seenAR := map[string]bool{}
	for _, name := range names {
		ds := chains[name]
		sort.Slice(ds, func(i, j int) bool { return ds[i].info.Time.Before(ds[j].info.Time) })
		cr := v.verifyChain(ctx, ds, keys, covered, logs)
		rep.Chains = append(rep.Chains, cr)
		seenAR[cr.Account+"|"+cr.Region] = true
	}
	// Log files that no digest lists.
	var latest = map[string]time.Time{}
	for _, name := range names {
		for _, d := range chains[name] {
			ar := d.info.Account + "|" + d.info.Region
			if t, err := time.Parse(time.RFC3339, d.d.DigestEndTime); err == nil && t.After(latest[ar]) {
				latest[ar] = t
			}
		}
	}
	for _, byName := range logs {
		for _, ks := range byName {
			for _, k := range ks {
				if covered[k] {
					continue
				}
				ki, _ := ParseKey(k)
				ar := ki.Account + "|" + ki.Region
				var cr *ChainReport
				for _, c := range rep.Chains {
					if c.Account+"|"+c.Region == ar {
						cr = c
						break
					}
				}
				if cr == nil {
					cr = &ChainReport{Account: ki.Account, Region: ki.Region, Counts: map[string]int{}}
					rep.Chains = append(rep.Chains, cr)
				}
				verdict, detail := Uncovered, "listed in no digest file"
				if lt := latest[ar]; !ki.Time.IsZero() && ki.Time.After(lt) && now.Sub(ki.Time) < 2*time.Hour {
					verdict, detail = Pending, "newer than the newest digest file; CloudTrail digests hourly"
				}
				cr.Logs = append(cr.Logs, FileResult{Location: v.loc(v.Bucket, k), Verdict: verdict, Detail: detail})
				cr.Counts["log "+verdict]++
			}
		}
	}
	sort.Slice(rep.Chains, func(i, j int) bool {
		a, b := rep.Chains[i], rep.Chains[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Trail < b.Trail
	})
	for _, c := range rep.Chains {
		sort.SliceStable(c.Logs, func(i, j int) bool { return c.Logs[i].Location < c.Logs[j].Location })
	}
	return rep, nil
}

type keyCache struct {
	p          KeyProvider
	start, end time.Time
	mu         sync.Mutex
	m          map[string]map[string]*rsa.PublicKey
	errs       map[string]error
}

func (k *keyCache) get(ctx context.Context, region, fp string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[region]; !ok {
		raw, err := k.p.PublicKeys(ctx, region, k.start, k.end)
		if err != nil {
			return nil, err
		}
		k.m[region] = map[string]*rsa.PublicKey{}
		for f, v := range raw {
			if pk, err := parsePublicKey(v); err == nil {
				k.m[region][f] = pk
			}
		}
	}
	pk := k.m[region][fp]
	if pk == nil {
		return nil, fmt.Errorf("public key not found in region %s for fingerprint %s", region, fp)
	}
	return pk, nil
}

func (v *Verifier) fetch(ctx context.Context, bucket, key string) (body []byte, meta map[string]string, err error) {
	out, err := v.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return b, out.Metadata, err
}

func isNotFound(err error) bool {
	var nsk *s3types.NoSuchKey
	return errors.As(err, &nsk) || strings.Contains(err.Error(), "NoSuchKey") || strings.Contains(err.Error(), "StatusCode: 404")
}

func inflate(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// load fetches and validates one digest file as validate-logs does: gzip+JSON, signature
// metadata, required keys, recorded location, public key by fingerprint, RSA signature.
func (v *Verifier) load(ctx context.Context, d *digestFile, keys *keyCache) {
	body, meta, err := v.fetch(ctx, v.Bucket, d.key)
	if err != nil {
		if isNotFound(err) {
			d.present, d.verdict, d.detail = false, Missing, "not found"
			return
		}
		d.verdict, d.detail = Invalid, err.Error()
		return
	}
	raw, err := inflate(body)
	if err == nil {
		err = json.Unmarshal(raw, &d.fields)
	}
	if err == nil {
		err = json.Unmarshal(raw, &d.d)
	}
	if err != nil {
		d.verdict, d.detail = Invalid, "invalid format"
		return
	}
	d.parsed, d.sum = true, sha256.Sum256(raw)
	defer func() { d.fields = nil }() // only needed for the required-keys check
	d.sig, d.sigAlg = meta["signature"], meta["signature-algorithm"]
	if d.sig == "" || d.sigAlg == "" {
		d.verdict, d.detail = Modified, "signature verification failed: no signature metadata"
		return
	}
	for _, k := range requiredDigestKeys {
		if _, ok := d.fields[k]; !ok {
			d.verdict, d.detail = Invalid, "invalid format"
			return
		}
	}
	if d.d.DigestS3Bucket != v.Bucket || d.d.DigestS3Object != d.key {
		d.verdict, d.detail = Moved, "has been moved from its original location s3://"+d.d.DigestS3Bucket+"/"+d.d.DigestS3Object
		return
	}
	if !strings.EqualFold(d.sigAlg, "SHA256withRSA") {
		d.verdict, d.detail = Invalid, "unsupported signature algorithm "+d.sigAlg
		return
	}
	pk, err := keys.get(ctx, d.info.Region, d.d.DigestPublicKeyFingerprint)
	if err != nil {
		d.verdict, d.detail = Invalid, err.Error()
		return
	}
	sig, err := hex.DecodeString(d.sig)
	if err == nil {
		h := sha256.Sum256(stringToSign(&d.d, raw))
		err = rsa.VerifyPKCS1v15(pk, crypto.SHA256, h[:], sig)
	}
	if err != nil {
		d.verdict, d.detail = Modified, "signature verification failed"
		return
	}
	d.verdict = Valid
}

// stringToSign is CloudTrail's: end time, bucket/key, SHA-256 of the inflated digest, previous
// signature ("null" for the first digest of a chain).
func stringToSign(d *digestJSON, inflated []byte) []byte {
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	sum := sha256.Sum256(inflated)
	return []byte(d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev)
}

func (v *Verifier) workers() int {
	if v.Workers > 0 {
		return v.Workers
	}
	return 8
}

func (v *Verifier) verifyChain(ctx context.Context, ds []*digestFile, keys *keyCache, covered map[string]bool, logs map[string]map[string][]string) *ChainReport {
	parts := strings.SplitN(ds[0].chain, "|", 4)
	cr := &ChainReport{Account: parts[0], Region: parts[1], Trail: parts[2], Counts: map[string]int{}}
	parallel(ctx, len(ds), v.workers(), func(i int) { v.load(ctx, ds[i], keys) })
	byKey := map[string]*digestFile{}
	for _, d := range ds {
		byKey[d.key] = d
		if d.parsed {
			for _, lf := range d.d.LogFiles {
				covered[lf.S3Object] = true
			}
		}
	}
	add := func(d *digestFile, verdict, detail string) {
		cr.Digests = append(cr.Digests, FileResult{Location: v.loc(v.Bucket, d.key), Verdict: verdict, Detail: detail})
		cr.Counts["digest "+verdict]++
	}
	// Walk the chain newest to oldest as validate-logs does, following previousDigestS3Object;
	// a pointer to an absent digest means it was deleted.
	var regular []*digestFile
	for _, d := range ds {
		if d.backfill {
			add(d, d.verdict, d.detail)
			continue
		}
		regular = append(regular, d)
	}
	reported := map[string]bool{}
	for i := len(regular) - 1; i >= 0; i-- {
		d := regular[i]
		if reported[d.key] {
			continue
		}
		reported[d.key] = true
		add(d, d.verdict, d.detail)
		if d.verdict != Valid {
			continue
		}
		prevKey := d.d.PreviousDigestS3Object
		if prevKey == nil || d.d.PreviousDigestS3Bucket == nil {
			if i > 0 {
				older := regular[i-1]
				from := older.info.Time
				if t, err := time.Parse(time.RFC3339, older.d.DigestEndTime); err == nil {
					from = t
				}
				to, _ := time.Parse(time.RFC3339, d.d.DigestStartTime)
				cr.Gaps = append(cr.Gaps, Gap{From: from, To: to})
			}
			continue
		}
		prev := byKey[*prevKey]
		if prev == nil {
			// Not listed: deleted, unless it lies before the window.
			ki, ok := ParseKey(*prevKey)
			if !ok || !ki.Time.Before(v.Window.Since) || v.Window.Since.IsZero() {
				if *d.d.PreviousDigestS3Bucket != v.Bucket {
					continue // chain continues in another bucket; out of scope
				}
				if _, _, err := v.fetch(ctx, v.Bucket, *prevKey); err != nil && isNotFound(err) {
					cr.Digests = append(cr.Digests, FileResult{Location: v.loc(v.Bucket, *prevKey), Verdict: Missing, Detail: "not found"})
					cr.Counts["digest "+Missing]++
				}
			}
			continue
		}
		// Beyond validate-logs: the link itself must match what the newer digest recorded.
		if prev.parsed && prev.verdict == Valid {
			if d.d.PreviousDigestHashValue != nil && *d.d.PreviousDigestHashValue != hex.EncodeToString(prev.sum[:]) ||
				d.d.PreviousDigestSignature != nil && *d.d.PreviousDigestSignature != prev.sig {
				prev.verdict, prev.detail = Modified, "does not match the hash and signature recorded by the next digest "+d.key
			}
		}
	}
	// Log files of valid digests.
	type job struct {
		bucket, key, hash string
	}
	var jobs []job
	for _, d := range ds {
		if d.verdict != Valid {
			continue
		}
		for _, lf := range d.d.LogFiles {
			jobs = append(jobs, job{lf.S3Bucket, lf.S3Object, lf.HashValue})
		}
	}
	res := make([]FileResult, len(jobs))
	parallel(ctx, len(jobs), v.workers(), func(i int) {
		j := jobs[i]
		r := FileResult{Location: v.loc(j.bucket, j.key), Verdict: Valid}
		sum, err := v.hashLog(ctx, j.bucket, j.key)
		switch {
		case err != nil && isNotFound(err):
			r.Verdict, r.Detail = Missing, "not found"
			for _, other := range logs[cr.Account][baseName(j.key)] {
				if other != j.key {
					r.Verdict, r.Detail = Moved, "found at s3://"+j.bucket+"/"+other
				}
			}
		case errors.Is(err, errLogFormat):
			r.Verdict, r.Detail = Invalid, "invalid format"
		case err != nil:
			r.Verdict, r.Detail = Invalid, err.Error()
		case sum != j.hash:
			r.Verdict, r.Detail = Modified, "hash value doesn't match"
		}
		res[i] = r
	})
	for _, r := range res {
		cr.Logs = append(cr.Logs, r)
		cr.Counts["log "+r.Verdict]++
	}
	// Moved logs' new keys are accounted for; do not call them uncovered too.
	for _, r := range res {
		if r.Verdict == Moved {
			covered[strings.TrimPrefix(r.Detail, "found at s3://"+v.Bucket+"/")] = true
		}
	}
	return cr
}

var errLogFormat = errors.New("invalid format")

// hashLog streams a log file through gunzip into SHA-256: CloudTrail hashes the uncompressed
// bytes. Nothing of the file is kept in memory.
func (v *Verifier) hashLog(ctx context.Context, bucket, key string) (string, error) {
	out, err := v.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	zr, err := gzip.NewReader(out.Body)
	if err != nil {
		return "", errLogFormat
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return "", errLogFormat
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// QuietS3 stops the SDK from logging each GetObject whose response carries no checksum
// (emulators, older objects): the archive verifies its own hashes.
func QuietS3(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }

// parallel runs fn(0..n-1) on at most w goroutines.
func parallel(ctx context.Context, n, w int, fn func(int)) {
	var wg sync.WaitGroup
	ch := make(chan int)
	for range min(n, w) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		ch <- i
	}
	close(ch)
	wg.Wait()
}
