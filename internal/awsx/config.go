// Package awsx builds AWS SDK configurations for yagura: the standard credential chain, emulator
// endpoints, retries that survive throttling storms, client-side rate limits per account, region
// and API class, and assume-role fan-out with automatic credential refresh.
package awsx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options say how to reach AWS. Every field is optional.
type Options struct {
	Profile     string
	Region      string // home region; default AWS_REGION, then us-east-1
	EndpointURL string // send every call here (moto, LocalStack, a test proxy)
	MaxAttempts int    // per API call, throttling retries included; default 12
}

// DefaultRegion is used when neither the flags nor the environment name one; global services
// (IAM, Organizations) answer there in the aws partition.
const DefaultRegion = "us-east-1"

// Load returns the SDK configuration for the caller's own credentials.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	opts = append(opts, config.WithRetryer(func() aws.Retryer { return NewRetryer(o.MaxAttempts) }))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || u.Host == "" {
			return aws.Config{}, fmt.Errorf("invalid --endpoint-url %q", o.EndpointURL)
		}
		cfg.BaseEndpoint = aws.String(strings.TrimRight(o.EndpointURL, "/"))
		// The SDK may put an account id or a bucket into the host name (S3 Control, host
		// prefixes); an emulator on one address cannot resolve those, so every request is sent
		// to the endpoint's own host. cfg.HTTPClient stays the SDK's buildable client underneath,
		// so AWS_CA_BUNDLE keeps working.
		cfg.HTTPClient = &pinnedHostClient{next: cfg.HTTPClient, host: u.Host}
	}
	return cfg, nil
}

// NewRetryer retries throttling and transient errors with short jittered exponential backoff and
// without the SDK's client-side retry quota, which would otherwise turn a throttling storm into
// failed tasks ("retry quota exceeded").
func NewRetryer(maxAttempts int) aws.Retryer {
	if maxAttempts <= 0 {
		maxAttempts = 12
	}
	return throttleAwareRetryer{RetryerV2: retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.RateLimiter = ratelimit.None
		so.Backoff = jitterBackoff{base: 100 * time.Millisecond, max: 5 * time.Second}
	}), otherAttempts: min(maxAttempts, 4)}
}

// throttleAwareRetryer gives throttling errors every attempt (the call will succeed once the
// bucket refills) but other transient errors (5xx, timeouts) only a few, so an endpoint that
// always fails does not hold a task for a minute.
type throttleAwareRetryer struct {
	aws.RetryerV2
	otherAttempts int
}

func (r throttleAwareRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !IsThrottle(err) && attempt >= r.otherAttempts {
		return 0, err
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay is "full jitter": uniform in [0, min(max, base·2^attempt)).
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceil := b.base << min(attempt, 16)
	if ceil > b.max || ceil <= 0 {
		ceil = b.max
	}
	return time.Duration(rand.Int64N(int64(ceil))) + time.Millisecond, nil
}

// pinnedHostClient rewrites "<prefix>.HOST" to "HOST" for emulator endpoints.
type pinnedHostClient struct {
	next aws.HTTPClient
	host string
}

func (c *pinnedHostClient) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Host != c.host && strings.HasSuffix(req.URL.Host, "."+c.host) {
		req.URL.Host = c.host
		req.Host = c.host
	}
	return c.next.Do(req)
}

// IsEmulator reports whether cfg points at an endpoint override rather than real AWS.
func IsEmulator(cfg aws.Config) bool { return cfg.BaseEndpoint != nil }

// S3Options applies what S3 needs against an emulator: path-style addressing.
func S3Options(cfg aws.Config) func(*s3.Options) {
	return func(o *s3.Options) {
		if IsEmulator(cfg) {
			o.UsePathStyle = true
		}
	}
}
