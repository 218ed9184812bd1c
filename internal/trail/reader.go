package trail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Window selects part of an archive. Zero values mean "all".
type Window struct {
	Prefix   string // key prefix before AWSLogs/
	OrgID    string // o-... for organization trails; discovered when empty
	Accounts []string
	Regions  []string
	Since    time.Time
	Until    time.Time
}

func (w Window) wantAccount(a string) bool {
	return len(w.Accounts) == 0 || slices.Contains(w.Accounts, a)
}
func (w Window) wantRegion(r string) bool {
	return len(w.Regions) == 0 || slices.Contains(w.Regions, r)
}

// logSlack is how far a log file's delivery time (in its name) may lie after the events it holds;
// CloudTrail delivers about every 5 minutes, so 1 hour is generous and keeps the window exact
// once records are filtered by eventTime.
const logSlack = time.Hour

// wantObject filters by the key's layout; keys without the layout are always read.
func (w Window) wantObject(key string) bool {
	ki, ok := ParseKey(key)
	if !ok {
		return true
	}
	if !w.wantAccount(ki.Account) || !w.wantRegion(ki.Region) {
		return false
	}
	if !ki.Time.IsZero() {
		if !w.Since.IsZero() && ki.Time.Before(w.Since) {
			return false
		}
		if !w.Until.IsZero() && ki.Time.After(w.Until.Add(logSlack)) {
			return false
		}
	}
	return true
}

// Object is one log file in an archive.
type Object struct {
	Key  string
	Size int64
}

// Source is an archive: S3 or a directory with the same layout.
type Source interface {
	// List calls fn for each log file (CloudTrail or CloudTrail-Digest, per kind) in w.
	List(ctx context.Context, w Window, kind string, fn func(Object) error) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Location names an object for people: s3://bucket/key or a path.
	Location(key string) string
}

const (
	KindLogs    = "CloudTrail"
	KindDigests = "CloudTrail-Digest"
)

// S3API is the part of the S3 client the archive uses.
type S3API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Source reads an archive bucket.
type S3Source struct {
	Client S3API
	Bucket string
}

func (s *S3Source) Location(key string) string { return "s3://" + s.Bucket + "/" + key }

func (s *S3Source) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// children lists the "directories" directly under prefix.
func (s *S3Source) children(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: &s.Bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
		}
	}
	return out, nil
}

// bases returns the [prefix/]AWSLogs/[o-id/] prefixes to read and the accounts under each.
func (s *S3Source) bases(ctx context.Context, w Window) (map[string][]string, error) {
	out := map[string][]string{}
	root := basePrefix(w.Prefix, "")
	var orgs []string
	if w.OrgID != "" {
		orgs = []string{w.OrgID}
	} else {
		kids, err := s.children(ctx, root)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if strings.HasPrefix(k, "o-") {
				orgs = append(orgs, k)
			} else if accountRE.MatchString(k) && w.wantAccount(k) && len(w.Accounts) == 0 {
				out[root] = append(out[root], k)
			}
		}
		if len(w.Accounts) > 0 {
			out[root] = w.Accounts
		}
	}
	for _, o := range orgs {
		b := basePrefix(w.Prefix, o)
		if len(w.Accounts) > 0 {
			out[b] = w.Accounts
			continue
		}
		kids, err := s.children(ctx, b)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if accountRE.MatchString(k) {
				out[b] = append(out[b], k)
			}
		}
	}
	return out, nil
}

func (s *S3Source) List(ctx context.Context, w Window, kind string, fn func(Object) error) error {
	bases, err := s.bases(ctx, w)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(bases))
	for b := range bases {
		keys = append(keys, b)
	}
	sort.Strings(keys)
	for _, b := range keys {
		for _, acct := range bases[b] {
			regions := w.Regions
			if len(regions) == 0 {
				if regions, err = s.children(ctx, b+acct+"/"+kind+"/"); err != nil {
					return err
				}
			}
			for _, region := range regions {
				var prefixes []string
				if w.Since.IsZero() {
					prefixes = []string{b + acct + "/" + kind + "/" + region + "/"}
				} else {
					until := w.Until
					if until.IsZero() {
						until = time.Now().UTC()
					}
					for _, d := range days(w.Since, until.Add(logSlack)) {
						prefixes = append(prefixes, dayPrefix(b, acct, kind, region, d))
					}
				}
				for _, pfx := range prefixes {
					p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: &s.Bucket, Prefix: aws.String(pfx)})
					for p.HasMorePages() {
						page, err := p.NextPage(ctx)
						if err != nil {
							return fmt.Errorf("list s3://%s/%s: %w", s.Bucket, pfx, err)
						}
						for _, o := range page.Contents {
							k := aws.ToString(o.Key)
							if !strings.HasSuffix(k, ".json.gz") && !strings.HasSuffix(k, ".json") {
								continue
							}
							if kind == KindLogs && !w.wantObject(k) {
								continue
							}
							if err := fn(Object{Key: k, Size: aws.ToInt64(o.Size)}); err != nil {
								return err
							}
						}
					}
				}
			}
		}
	}
	return nil
}

// DirSource reads local files: directories are walked, files are read as given. Keys are
// slash-separated paths relative to each root (or the file's own path).
type DirSource struct {
	Roots []string
	mu    sync.RWMutex      // List fills files while readers open them
	files map[string]string // key → path
}

func (d *DirSource) path(key string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p, ok := d.files[key]; ok {
		return p
	}
	return key
}

func (d *DirSource) Location(key string) string { return d.path(key) }

func (d *DirSource) Open(_ context.Context, key string) (io.ReadCloser, error) {
	return os.Open(d.path(key))
}

// add records key → p, or p itself as the key when two roots share a relative path.
func (d *DirSource) add(key, p string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.files == nil {
		d.files = map[string]string{}
	}
	if old, dup := d.files[key]; dup && old != p {
		key = filepath.ToSlash(p)
	}
	d.files[key] = p
	return key
}

func (d *DirSource) List(ctx context.Context, w Window, kind string, fn func(Object) error) error {
	for _, root := range d.Roots {
		st, err := os.Stat(root)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			key := d.add(filepath.ToSlash(root), root)
			if err := fn(Object{Key: key, Size: st.Size()}); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if e.IsDir() || !(strings.HasSuffix(p, ".json.gz") || strings.HasSuffix(p, ".json")) {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			key := filepath.ToSlash(rel)
			ki, laid := ParseKey(key)
			if laid {
				if (kind == KindDigests) != ki.Digest {
					return nil
				}
				if kind == KindLogs && !w.wantObject(key) {
					return nil
				}
				if kind == KindDigests && (!w.wantAccount(ki.Account) || !w.wantRegion(ki.Region)) {
					return nil
				}
			} else if kind == KindDigests {
				return nil
			}
			key = d.add(key, p)
			info, _ := e.Info()
			var size int64
			if info != nil {
				size = info.Size()
			}
			return fn(Object{Key: key, Size: size})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BadObject is an object that could not be read; the run goes on without it.
type BadObject struct {
	Key string `json:"key"`
	Err string `json:"error"`
}

// Stats count what a run read.
type Stats struct {
	Objects int64       `json:"objects"`
	Bytes   int64       `json:"bytes"` // uncompressed JSON
	Records int64       `json:"records"`
	Matched int64       `json:"matched"`
	Bad     []BadObject `json:"bad_objects,omitempty"`
}

// Reader streams the events of an archive window through fn on Workers goroutines at once
// (default: one per CPU). fn must be safe for concurrent use and must not keep the *Event.
type Reader struct {
	Source  Source
	Window  Window
	Workers int
	// MaxObjectBytes bounds one decompressed object, which bounds memory to about
	// Workers × MaxObjectBytes; bigger objects are reported bad. Default 1 GiB.
	MaxObjectBytes int64
}

// Run reads every log object in the window. Unreadable objects are reported in Stats.Bad and
// skipped; an error return means the archive could not be listed or fn failed.
func (r *Reader) Run(ctx context.Context, fn func(*Event) error) (*Stats, error) {
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	limit := r.MaxObjectBytes
	if limit <= 0 {
		limit = 1 << 30
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var st Stats
	var mu sync.Mutex
	var fnErr error
	since, until := "", ""
	if !r.Window.Since.IsZero() {
		since = r.Window.Since.UTC().Format(time.RFC3339)
	}
	if !r.Window.Until.IsZero() {
		until = r.Window.Until.UTC().Format(time.RFC3339)
	}
	objs := make(chan Object, 256)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := newDecoder()
			var buf bytes.Buffer
			var gz gunzipper
			var br *bufio.Reader
			for o := range objs {
				if ctx.Err() != nil {
					continue
				}
				data, err := r.load(ctx, o.Key, &buf, &gz, &br, limit)
				if err == nil {
					atomic.AddInt64(&st.Bytes, int64(len(data)))
					var n int
					n, err = dec.decodeFile(data, o.Key, func(e *Event) error {
						// ISO-8601 UTC times of one format compare as strings.
						if since != "" && e.EventTime < since || until != "" && e.EventTime > until {
							return nil
						}
						if err := fn(e); err != nil {
							return &callbackError{err}
						}
						return nil
					})
					atomic.AddInt64(&st.Records, int64(n))
					var cbe *callbackError
					if errors.As(err, &cbe) {
						mu.Lock()
						if fnErr == nil {
							fnErr = cbe.err
						}
						mu.Unlock()
						cancel()
						continue
					}
				}
				atomic.AddInt64(&st.Objects, 1)
				if err != nil {
					mu.Lock()
					st.Bad = append(st.Bad, BadObject{Key: r.Source.Location(o.Key), Err: err.Error()})
					mu.Unlock()
				}
			}
		}()
	}
	listErr := r.Source.List(ctx, r.Window, KindLogs, func(o Object) error {
		select {
		case objs <- o:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(objs)
	wg.Wait()
	sort.Slice(st.Bad, func(i, j int) bool { return st.Bad[i].Key < st.Bad[j].Key })
	if fnErr != nil {
		return &st, fnErr
	}
	if listErr != nil {
		return &st, listErr
	}
	return &st, ctx.Err()
}

type callbackError struct{ err error }

func (c *callbackError) Error() string { return c.err.Error() }

// load reads an object fully, gunzipping when it starts with the gzip magic.
func (r *Reader) load(ctx context.Context, key string, buf *bytes.Buffer, gz *gunzipper, br **bufio.Reader, limit int64) ([]byte, error) {
	rc, err := r.Source.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if *br == nil {
		*br = bufio.NewReaderSize(rc, 256<<10)
	} else {
		(*br).Reset(rc)
	}
	buf.Reset()
	if magic, _ := (*br).Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if err := gz.inflate(*br, buf, limit); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	n, err := buf.ReadFrom(io.LimitReader(*br, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("object larger than %d bytes uncompressed", limit)
	}
	return buf.Bytes(), nil
}

// OrgIDs lists the organization ids (o-...) under [prefix/]AWSLogs/.
func (s *S3Source) OrgIDs(ctx context.Context, prefix string) ([]string, error) {
	kids, err := s.children(ctx, basePrefix(prefix, ""))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range kids {
		if strings.HasPrefix(k, "o-") {
			out = append(out, k)
		}
	}
	return out, nil
}
