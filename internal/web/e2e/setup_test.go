package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yagura-dev/yagura/internal/awsx"
	_ "github.com/yagura-dev/yagura/internal/collect/ec2" // the collectors the dashboard steps need (see demoServices)
	_ "github.com/yagura-dev/yagura/internal/collect/iam"
	_ "github.com/yagura-dev/yagura/internal/collect/s3"
	_ "github.com/yagura-dev/yagura/internal/collect/securityhub"
	"github.com/yagura-dev/yagura/internal/demo"
	"github.com/yagura-dev/yagura/internal/mototest"
	"github.com/yagura-dev/yagura/internal/pipeline"
	"github.com/yagura-dev/yagura/internal/scan"
	"github.com/yagura-dev/yagura/internal/store"
	"github.com/yagura-dev/yagura/internal/web"
)

// demoServices are the services scanned: those holding the planted weaknesses the steps look at
// (security groups and web-1 in ec2, web-admin in iam, the confidential bucket in s3, the CVE
// behind the attack path in securityhub), so that one scan of one region keeps the test inside
// its time budget on a 2-core machine. (The demo has no load balancer: elbv2 would add four
// empty collections per account.)
var demoServices = []string{"ec2", "iam", "s3", "securityhub"}

// chromiumPath finds Debian's chromium. A browser test that silently skips in CI proves
// nothing, so CI fails without it; elsewhere the test is skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is not on PATH (apt-get install chromium): %v", err)
		}
		t.Skipf("chromium is not on PATH: %v", err)
	}
	return p
}

// scannedDemo seeds the demo organization into a fresh moto, scans it into a new database and
// runs the same pipeline as `yagura scan` (checks, control merge, network index, risk analysis).
func scannedDemo(t *testing.T, ctx context.Context) (*demo.Org, *store.DB, int64) {
	t.Helper()
	srv := mototest.New(t)
	cfg := srv.Config(t, demo.Regions[0])
	began := time.Now()
	org, err := demo.Seed(ctx, cfg)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	seeded := time.Now()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// An emulator has no AWS rate limits: lift the buckets, as `yagura demo` does.
	limits := map[string]awsx.Limit{}
	for class := range awsx.DefaultLimits {
		limits[class] = awsx.Limit{Rate: 1000, Burst: 1000}
	}
	s := &scan.Scanner{DB: db, Base: cfg}
	pipeline.Install(s, pipeline.Options{})
	res, err := s.Run(ctx, scan.Options{RoleName: demo.RoleName, Regions: demo.Regions[:1], Services: demoServices, RateLimits: limits})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	t.Logf("demo seeded in %s, scanned in %s (scan %d %s: %d accounts, %d tasks %v)", seeded.Sub(began).Round(time.Millisecond),
		time.Since(seeded).Round(time.Millisecond), res.ScanID, res.Status, res.Accounts, res.Tasks, res.ByOutcome)
	if res.Reason != "" {
		// Name the failed collections: a gap that widens shows here first.
		cov, err := db.CoverageOf(ctx, res.ScanID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cov {
			if c.Status != store.CoverageOK {
				t.Logf("scan gap: %s %s %s %s: %s", c.AccountID, c.Region, c.Collector, c.Status, c.Reason)
			}
		}
	}
	return org, db, res.ScanID
}

// serve runs the dashboard in-process on a free loopback port until the test ends.
func serve(t *testing.T, db *store.DB, token string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- web.Serve(ctx, db, "127.0.0.1:0", web.Options{Token: token}, func(u string) { ready <- u })
	}()
	select {
	case u := <-ready:
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return strings.TrimSuffix(u, "/")
	case err := <-done:
		stop()
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		stop()
		t.Fatal("the dashboard did not start within 10s")
	}
	return ""
}

// browser starts one headless Chromium for the whole test. The page only ever talks to the
// loopback dashboard: no proxy, no background networking, and every host name fails to
// resolve (the dashboard's URL is an IP literal).
func browser(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	path := chromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers give /dev/shm 64 MB
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()),
	)
	// chromedp reports protocol errors from its own goroutines, which may outlive the test by a
	// moment; logging through t after the test ended panics.
	var mu sync.Mutex
	ended := false
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("chromedp: "+format, args...)
		}
	}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(logf))
	// Cleanups run last-in first-out: the browser is closed before its profile directory goes.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// screenshotDir is where the steps' screenshots go, kept after the test for a person (or CI) to
// look at: $YAGURA_E2E_SCREENSHOTS when set, else yagura-e2e/<test name> in the temporary
// directory, emptied first so that it holds only this run's pictures.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("YAGURA_E2E_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "yagura-e2e", t.Name())
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	return dir
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// shot writes a full-page PNG of the current page as DIR/NAME.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if !bytes.HasPrefix(img, pngMagic) {
		t.Errorf("screenshot %s is not a PNG", name)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		t.Error(err)
	}
}

func randomToken(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// console records what the pages write to the browser console: a script error or a Content
// Security Policy violation (a blocked script or style) shows there and nowhere else.
type console struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *console {
	c := &console{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// errors are the error messages and exceptions so far, except the browser's own note of an
// HTTP error status on the pages the test provokes one (expected lists the statuses) and of the
// missing /favicon.ico.
func (c *console) errors(expected ...string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" && (strings.HasSuffix(m.URL, "/favicon.ico") ||
			slices.ContainsFunc(expected, func(s string) bool { return strings.Contains(m.Text, "status of "+s) })) {
			continue // the dashboard has no icon, and browsers ask for one on every site
		}
		out = append(out, m.String()+" ("+m.URL+")")
	}
	return out
}
