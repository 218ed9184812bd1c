package awsx

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Limit is a token bucket: Rate tokens per second, up to Burst at once.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) String() string { return fmt.Sprintf("%g/%d", l.Rate, l.Burst) }

// DefaultLimits are client-side buckets modelled on AWS's documented API throttling, keyed by API
// class (see ClassOf). Each account × region has its own set of buckets, as in AWS.
var DefaultLimits = map[string]Limit{
	// EC2: non-mutating actions bucket 100, refill 20/s; unfiltered and unpaginated
	// non-mutating actions bucket 50, refill 10/s.
	"ec2:nonmutating":         {Rate: 20, Burst: 100},
	"ec2:unpaginated":         {Rate: 10, Burst: 50},
	"ec2:mutating":            {Rate: 5, Burst: 50},
	"securityhub:GetFindings": {Rate: 3, Burst: 6},
	"securityhub":             {Rate: 10, Burst: 30},
	"guardduty":               {Rate: 10, Burst: 20},
	"inspector2":              {Rate: 10, Burst: 20},
	"iam":                     {Rate: 10, Burst: 20},
	"organizations":           {Rate: 5, Burst: 10},
	"sts":                     {Rate: 10, Burst: 20},
	"s3":                      {Rate: 50, Burst: 100},
	"support":                 {Rate: 2, Burst: 5},
	"*":                       {Rate: 10, Burst: 20}, // every other service: conservative
}

// ParseLimit reads "CLASS=RATE/BURST", e.g. "securityhub:GetFindings=3/6".
func ParseLimit(s string) (string, Limit, error) {
	class, spec, ok := strings.Cut(s, "=")
	r, b, ok2 := strings.Cut(spec, "/")
	if !ok || !ok2 || class == "" {
		return "", Limit{}, fmt.Errorf("rate limit %q: want CLASS=RATE/BURST, e.g. ec2:nonmutating=20/100", s)
	}
	rv, err1 := strconv.ParseFloat(r, 64)
	bv, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || rv <= 0 || bv < 1 {
		return "", Limit{}, fmt.Errorf("rate limit %q: rate must be > 0 and burst ≥ 1", s)
	}
	return class, Limit{Rate: rv, Burst: bv}, nil
}

// ClassOf names the throttling bucket an API call draws from. EC2 distinguishes paginated or
// filtered reads from unfiltered, unpaginated ones, as its documentation does.
func ClassOf(service, operation string, input any) string {
	svc := strings.ToLower(strings.ReplaceAll(service, " ", ""))
	switch svc {
	case "ec2":
		if !isReadOperation(operation) {
			return "ec2:mutating"
		}
		if hasField(input, "MaxResults") || hasField(input, "Filters") || hasField(input, "NextToken") {
			return "ec2:nonmutating"
		}
		return "ec2:unpaginated"
	case "securityhub":
		if operation == "GetFindings" {
			return "securityhub:GetFindings"
		}
	}
	return svc
}

func isReadOperation(op string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Search"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// hasField reports whether the input struct has a non-nil, non-empty field of that name.
func hasField(input any, name string) bool {
	v := reflect.ValueOf(input)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return false
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return false
	}
	switch f.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !f.IsNil()
	case reflect.Slice, reflect.Map:
		return f.Len() > 0
	}
	return !f.IsZero()
}

// Limiter holds the token buckets of a scan and counts what went through them.
type Limiter struct {
	mu      sync.Mutex
	limits  map[string]Limit
	buckets map[string]*rate.Limiter

	Calls     atomic.Int64
	Throttles atomic.Int64
}

// NewLimiter uses DefaultLimits with the given overrides.
func NewLimiter(overrides map[string]Limit) *Limiter {
	l := &Limiter{limits: map[string]Limit{}, buckets: map[string]*rate.Limiter{}}
	for k, v := range DefaultLimits {
		l.limits[k] = v
	}
	for k, v := range overrides {
		l.limits[k] = v
	}
	return l
}

// LimitFor returns the bucket parameters of a class.
func (l *Limiter) LimitFor(class string) Limit {
	if lim, ok := l.limits[class]; ok {
		return lim
	}
	if svc, _, ok := strings.Cut(class, ":"); ok {
		if lim, ok := l.limits[svc]; ok {
			return lim
		}
	}
	return l.limits["*"]
}

func (l *Limiter) bucket(account, region, class string) *rate.Limiter {
	key := account + "|" + region + "|" + class
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		lim := l.LimitFor(class)
		b = rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)
		l.buckets[key] = b
	}
	return b
}

// TaskStats counts the API calls of one task; put it into the context with WithTaskStats.
type TaskStats struct {
	Calls     atomic.Int64
	Throttles atomic.Int64
}

type taskStatsKey struct{}

// WithTaskStats returns a context whose API calls are counted into s.
func WithTaskStats(ctx context.Context, s *TaskStats) context.Context {
	return context.WithValue(ctx, taskStatsKey{}, s)
}

type classKey struct{}

// Yielder is a task's hold on a scheduler slot. The rate limiter yields it while the task sleeps
// (waiting for a token, or backing off after a throttled call) and resumes it before the next
// call, so a task asleep on a bucket does not keep other tasks from working.
type Yielder interface {
	Yield()
	Resume(ctx context.Context)
}

type yielderKey struct{}

// WithYielder returns a context whose API calls lend y while they sleep.
func WithYielder(ctx context.Context, y Yielder) context.Context {
	return context.WithValue(ctx, yielderKey{}, y)
}

// yieldAfter is the shortest sleep worth lending the slot for.
const yieldAfter = 10 * time.Millisecond

// waitToken takes a token from b, lending the task's slot when the wait is long.
func waitToken(ctx context.Context, b *rate.Limiter, y Yielder) error {
	r := b.Reserve()
	if !r.OK() {
		return fmt.Errorf("rate limiter: no token can ever be granted")
	}
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	if y != nil && d >= yieldAfter {
		y.Yield()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// Attach adds the rate-limiting and counting middleware for one account and region to cfg.
// Every attempt, retries included, waits for a token, so retries cannot overflow a bucket.
// Global services are limited in the region the client is configured with.
func (l *Limiter) Attach(cfg *aws.Config, account string) {
	region := cfg.Region
	cfg.APIOptions = append(append([]func(*middleware.Stack) error{}, cfg.APIOptions...), func(st *middleware.Stack) error {
		err := st.Initialize.Add(middleware.InitializeMiddlewareFunc("yaguraClassify",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				class := ClassOf(middleware.GetServiceID(ctx), middleware.GetOperationName(ctx), in.Parameters)
				ctx = middleware.WithStackValue(ctx, classKey{}, class)
				out, md, err := next.HandleInitialize(ctx, in)
				// The operation may end asleep (retries given up after a throttled attempt):
				// the task carries on holding its slot.
				if y, _ := ctx.Value(yielderKey{}).(Yielder); y != nil {
					y.Resume(ctx)
				}
				return out, md, err
			}), middleware.Before)
		if err != nil {
			return err
		}
		return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("yaguraRateLimit",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				class, _ := middleware.GetStackValue(ctx, classKey{}).(string)
				y, _ := ctx.Value(yielderKey{}).(Yielder)
				if err := waitToken(ctx, l.bucket(account, region, class), y); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				if y != nil {
					y.Resume(ctx)
				}
				stats, _ := ctx.Value(taskStatsKey{}).(*TaskStats)
				l.Calls.Add(1)
				if stats != nil {
					stats.Calls.Add(1)
				}
				out, md, err := next.HandleFinalize(ctx, in)
				if err != nil && IsThrottle(err) {
					if y != nil {
						y.Yield() // the retryer backs off before the next attempt
					}
					l.Throttles.Add(1)
					if stats != nil {
						stats.Throttles.Add(1)
					}
				}
				return out, md, err
			}), "Retry", middleware.After)
	})
}
