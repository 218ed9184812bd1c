// Package faultproxy is a loopback HTTP proxy placed in front of an AWS emulator for tests,
// benchmarks and the demo (which answers the reads moto lacks through it). It behaves like AWS's own front door where the emulator does not: per-call latency,
// token-bucket throttling per account, region and API class, random throttling storms, and
// injected errors (a refused AssumeRole, a denied action) in each service's real wire format.
package faultproxy

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// Call describes one request as the proxy understands it.
type Call struct {
	Service   string // signing name from the Authorization header, e.g. ec2, sts, s3
	Region    string
	AccountID string // resolved from the access key (assumed-role keys are learned from AssumeRole)
	Action    string // Action form field, X-Amz-Target operation, or "METHOD /path" for REST APIs
	Class     string // throttling class, as awsx.ClassOf names them
	Form      url.Values
	Request   *http.Request
}

// Fault is an injected answer: when Match returns true the proxy answers with Status and Body
// instead of forwarding.
type Fault struct {
	Match       func(c *Call) bool
	Status      int
	Body        string
	ContentType string
	Header      map[string]string
}

// Proxy forwards to Target.
type Proxy struct {
	Target      *url.URL
	Latency     time.Duration         // added to every call
	Limits      map[string]awsx.Limit // per-class buckets; nil disables throttling
	StormRate   float64               // fraction of calls refused with a throttling error
	DefaultAcct string                // account of keys the proxy has not seen issued (base credentials)
	// Memo, when set, answers the calls it selects from memory once the target has answered
	// them; several proxies may share one.
	Memo *Memo
	// Timeline keeps the time of every forwarded call per bucket (see Times), so a benchmark
	// can tell a bucket that started late from one left idle.
	Timeline bool

	mu      sync.Mutex
	faults  []Fault
	keys    map[string]string // access key id -> account
	buckets map[string]*rate.Limiter
	served  map[string]int64 // account|region|class -> calls forwarded
	times   map[string][]time.Time
	refused map[string]int64 // account|region|class -> calls refused by its bucket or the storm
	// accountLatency adds latency to one account's calls (a slow or distant account).
	accountLatency map[string]time.Duration
	// held blocks one account's calls until its channel is closed (a hung account).
	held map[string]chan struct{}

	Calls     atomic.Int64
	Throttled atomic.Int64
	Injected  atomic.Int64
	Memoized  atomic.Int64 // calls answered from memory

	upstreamNanos, upstreamCalls atomic.Int64

	rp     *httputil.ReverseProxy
	server *http.Server
	URL    string
}

// Start listens on a free loopback port in front of target.
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{Target: u, keys: map[string]string{}, buckets: map[string]*rate.Limiter{}, served: map[string]int64{}, DefaultAcct: "123456789012"}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	p.rp.ModifyResponse = p.learnKeys
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + l.Addr().String()
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(l)
	return p, nil
}

// SetAccountLatency makes every call of one account slower by d.
func (p *Proxy) SetAccountLatency(account string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accountLatency == nil {
		p.accountLatency = map[string]time.Duration{}
	}
	p.accountLatency[account] = d
}

// HoldAccount makes every call of one account wait until release is called (or the caller gives
// up): an account that hangs, for tests that must not depend on how fast the machine is.
func (p *Proxy) HoldAccount(account string) (release func()) {
	ch := make(chan struct{})
	p.mu.Lock()
	if p.held == nil {
		p.held = map[string]chan struct{}{}
	}
	p.held[account] = ch
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.held, account)
			p.mu.Unlock()
			close(ch)
		})
	}
}

// Served returns how many calls were forwarded per account|region|class bucket.
func (p *Proxy) Served() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.served)
}

// Times returns when each call was forwarded, per account|region|class bucket (with Timeline).
func (p *Proxy) Times() map[string][]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]time.Time, len(p.times))
	for k, v := range p.times {
		out[k] = append([]time.Time(nil), v...)
	}
	return out
}

// Refused returns how many calls were refused as throttled, per account|region|class bucket.
func (p *Proxy) Refused() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.refused)
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.server.Close() }

// AddFault installs an injected answer; faults are tried in order.
func (p *Proxy) AddFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// ClearFaults removes every injected answer.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

var credRE = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	c := &Call{Request: r}
	if m := credRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.Region, c.Service = m[2], m[3]
		p.mu.Lock()
		acct, ok := p.keys[m[1]]
		p.mu.Unlock()
		if !ok {
			acct = p.DefaultAcct
		}
		c.AccountID = acct
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		c.Form, _ = url.ParseQuery(string(body))
		c.Action = c.Form.Get("Action")
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if _, op, ok := strings.Cut(t, "."); ok {
			c.Action = op
		}
	}
	if c.Action == "" {
		c.Action = r.Method + " " + r.URL.Path
	}
	c.Class = p.classOf(c)
	p.Calls.Add(1)
	p.mu.Lock()
	extra := p.accountLatency[c.AccountID]
	hold := p.held[c.AccountID]
	p.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if d := p.Latency + extra; d > 0 {
		time.Sleep(d)
	}

	p.mu.Lock()
	faults := append([]Fault(nil), p.faults...)
	p.mu.Unlock()
	for _, f := range faults {
		if f.Match(c) {
			p.Injected.Add(1)
			writeAnswer(w, f)
			return
		}
	}
	if p.throttle(c) {
		p.Throttled.Add(1)
		p.mu.Lock()
		if p.refused == nil {
			p.refused = map[string]int64{}
		}
		p.refused[c.AccountID+"|"+c.Region+"|"+c.Class]++
		p.mu.Unlock()
		writeAnswer(w, ThrottleFault(c))
		return
	}
	p.mu.Lock()
	bucketKey := c.AccountID + "|" + c.Region + "|" + c.Class
	p.served[bucketKey]++
	if p.Timeline {
		if p.times == nil {
			p.times = map[string][]time.Time{}
		}
		p.times[bucketKey] = append(p.times[bucketKey], time.Now())
	}
	p.mu.Unlock()
	memoKey := ""
	if p.Memo != nil && p.Memo.Select(c) {
		// The action is part of the key: JSON protocols name it in a header, not the body.
		memoKey = c.AccountID + "|" + c.Region + "|" + c.Service + "|" + c.Action + "|" + r.Method + " " + r.URL.RequestURI() + "|" + string(body)
		if rec := p.Memo.get(memoKey); rec != nil {
			p.Memoized.Add(1)
			rec.replay(w)
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	began := time.Now()
	if memoKey == "" {
		p.rp.ServeHTTP(w, r)
	} else {
		rec := &recorded{header: http.Header{}}
		p.rp.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			p.Memo.put(memoKey, rec)
		}
		rec.replay(w)
	}
	p.upstreamNanos.Add(int64(time.Since(began)))
	p.upstreamCalls.Add(1)
}

// Memo keeps the target's answers to the calls Select picks, keyed by account, region, service,
// action, request line and body: a benchmark whose warm-up run fills it then measures the modelled
// limits and latency, not how fast an emulator computes its answers. Failed answers are not kept.
type Memo struct {
	Select func(c *Call) bool

	mu      sync.Mutex
	answers map[string]*recorded
}

// Len is the number of answers kept.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.answers)
}

func (m *Memo) get(key string) *recorded {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.answers[key]
}

func (m *Memo) put(key string, rec *recorded) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.answers == nil {
		m.answers = map[string]*recorded{}
	}
	m.answers[key] = rec
}

// recorded is an answer kept by a Memo; it is also the ResponseWriter that records it.
type recorded struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorded) Header() http.Header { return r.header }
func (r *recorded) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorded) WriteHeader(status int) { r.status = status }

func (r *recorded) replay(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(r.body.Bytes())
}

// MeanUpstream is the mean time the target took to answer a forwarded call.
func (p *Proxy) MeanUpstream() time.Duration {
	n := p.upstreamCalls.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(p.upstreamNanos.Load() / n)
}

func (p *Proxy) classOf(c *Call) string {
	if c.Service == "ec2" {
		paginated := false
		for k := range c.Form {
			if k == "MaxResults" || k == "NextToken" || strings.HasPrefix(k, "Filter.") {
				paginated = true
			}
		}
		if !strings.HasPrefix(c.Action, "Describe") && !strings.HasPrefix(c.Action, "Get") {
			return "ec2:mutating"
		}
		if paginated {
			return "ec2:nonmutating"
		}
		return "ec2:unpaginated"
	}
	return awsx.ClassOf(c.Service, c.Action, nil)
}

// throttle draws from the call's bucket (when limits are set) and applies the storm rate.
func (p *Proxy) throttle(c *Call) bool {
	if p.StormRate > 0 && rand.Float64() < p.StormRate {
		return true
	}
	if p.Limits == nil {
		return false
	}
	lim, ok := p.Limits[c.Class]
	if !ok {
		if svc, _, cut := strings.Cut(c.Class, ":"); cut {
			lim, ok = p.Limits[svc]
		}
		if !ok {
			lim, ok = p.Limits["*"]
		}
		if !ok {
			return false
		}
	}
	key := c.AccountID + "|" + c.Region + "|" + c.Class
	p.mu.Lock()
	b, found := p.buckets[key]
	if !found {
		b = rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)
		p.buckets[key] = b
	}
	p.mu.Unlock()
	return !b.Allow()
}

// learnKeys records which account the credentials issued by AssumeRole belong to.
func (p *Proxy) learnKeys(resp *http.Response) error {
	req := resp.Request
	if resp.StatusCode != 200 || req == nil || !strings.Contains(req.Header.Get("Authorization"), "/sts/aws4_request") {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID string `xml:"AccessKeyId"`
			}
			AssumedRoleUser struct {
				Arn string
			}
		} `xml:"AssumeRoleResult"`
	}
	if xml.Unmarshal(body, &out) != nil || out.Result.Credentials.AccessKeyID == "" {
		return nil
	}
	parts := strings.Split(out.Result.AssumedRoleUser.Arn, ":")
	if len(parts) > 4 {
		p.mu.Lock()
		p.keys[out.Result.Credentials.AccessKeyID] = parts[4]
		p.mu.Unlock()
	}
	return nil
}

func writeAnswer(w http.ResponseWriter, f Fault) {
	ct := f.ContentType
	if ct == "" {
		ct = "text/xml"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range f.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(f.Status)
	io.WriteString(w, f.Body)
}

// QueryError is the error body of query-protocol services (STS, IAM, Auto Scaling…).
func QueryError(code, message string) string {
	return fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`, code, xmlEscape(message))
}

// EC2Error is EC2's error body.
func EC2Error(code, message string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>`, code, xmlEscape(message))
}

// S3Error is S3's error body.
func S3Error(code, message string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>0000</RequestId></Error>`, code, xmlEscape(message))
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// DenyAssumeRole refuses AssumeRole into account with STS's real AccessDenied answer.
func DenyAssumeRole(account string) Fault {
	return Fault{
		Match: func(c *Call) bool {
			return c.Service == "sts" && c.Action == "AssumeRole" && strings.Contains(c.Form.Get("RoleArn"), ":"+account+":")
		},
		Status: 403,
		Body:   QueryError("AccessDenied", "User: arn:aws:iam::123456789012:user/yagura is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"+account+":role/missing"),
	}
}

// ThrottleFault answers c with its service's throttling error.
func ThrottleFault(c *Call) Fault {
	switch {
	case c.Service == "ec2":
		return Fault{Status: 503, Body: EC2Error("RequestLimitExceeded", "Request limit exceeded.")}
	case c.Service == "s3":
		return Fault{Status: 503, Body: S3Error("SlowDown", "Please reduce your request rate.")}
	case c.Request != nil && c.Request.Header.Get("X-Amz-Target") != "":
		return Fault{Status: 400, ContentType: "application/x-amz-json-1.1", Body: `{"__type":"ThrottlingException","message":"Rate exceeded"}`}
	case c.Form != nil:
		return Fault{Status: 400, Body: QueryError("Throttling", "Rate exceeded")}
	default: // REST-JSON services
		return Fault{Status: 429, ContentType: "application/json", Header: map[string]string{"x-amzn-ErrorType": "TooManyRequestsException"}, Body: `{"message":"Rate exceeded"}`}
	}
}
