// Package trustedadvisor collects the results of Trusted Advisor's security checks through the
// AWS Support API as yagura findings. Accounts without a Business, Enterprise On-Ramp or
// Enterprise support plan get SubscriptionRequiredException, which the scan records as a
// skipped task with that reason: the account simply has no Trusted Advisor results to read.
package trustedadvisor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "trustedadvisor.checks",
		Service: "trustedadvisor",
		Global:  true,
		Actions: []string{"support:DescribeTrustedAdvisorChecks", "support:DescribeTrustedAdvisorCheckResult"},
		Run:     collectChecks,
	})
}

// SecurityCategory is the Trusted Advisor category whose checks are collected.
const SecurityCategory = "security"

// collectChecks lists the security checks and reads each one's result. Neither call is
// paginated: a check result carries all its flagged resources.
func collectChecks(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := newClient(t.Config, t.Partition)
	var checks struct {
		Checks []native.TACheck `json:"checks"`
	}
	if err := c.call(ctx, "DescribeTrustedAdvisorChecks", map[string]string{"language": "en"}, &checks); err != nil {
		return err
	}
	for i := range checks.Checks {
		check := &checks.Checks[i]
		if !strings.EqualFold(check.Category, SecurityCategory) {
			continue
		}
		var res struct {
			Result *native.TACheckResult `json:"result"`
		}
		if err := c.call(ctx, "DescribeTrustedAdvisorCheckResult", map[string]string{"checkId": check.ID, "language": "en"}, &res); err != nil {
			return err
		}
		if res.Result == nil {
			continue
		}
		for j := range res.Result.FlaggedResources {
			if err := sink.PutFinding(native.FromTrustedAdvisor(t.AccountID, check, &res.Result.FlaggedResources[j])); err != nil {
				return err
			}
		}
	}
	return nil
}

// client speaks the Support API's AWS JSON 1.1 protocol. The AWS SDK for Go's Support module
// is not among the modules this project can use, so the two calls are made by hand: signed
// with the SDK's SigV4 signer, sent through the configuration's HTTP client (so emulator
// endpoints, proxies and CA bundles apply) answered errors turned into smithy API errors
// (so awsx.Classify sees their codes) and retried with the configuration's retryer. These calls
// do not pass through the SDK's middleware, so the client-side rate limiter does not pace them
// and the task's call statistics do not count them; Trusted Advisor needs one call per
// security check, about twenty per account.
type client struct {
	cfg      aws.Config
	region   string
	endpoint string
	signer   *v4.Signer
}

// newClient picks the Support API's single endpoint of the partition (us-east-1 in aws), or the
// configured endpoint override.
func newClient(cfg aws.Config, partition string) *client {
	region := "us-east-1"
	switch partition {
	case "aws-cn":
		region = "cn-north-1"
	case "aws-us-gov":
		region = "us-gov-west-1"
	}
	endpoint := "https://support." + region + ".amazonaws.com"
	if partition == "aws-cn" {
		endpoint += ".cn"
	}
	if cfg.BaseEndpoint != nil {
		endpoint = strings.TrimRight(aws.ToString(cfg.BaseEndpoint), "/")
	}
	return &client{cfg: cfg, region: region, endpoint: endpoint, signer: v4.NewSigner()}
}

// call makes one Support API call, retrying what the configuration's retryer retries
// (throttling, transient errors) with its backoff, as the SDK clients do.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	var retryer aws.Retryer
	if c.cfg.Retryer != nil {
		retryer = c.cfg.Retryer()
	}
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, op, in, out)
		if err == nil || retryer == nil || attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) {
			return err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func (c *client) once(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSSupport_20130415."+op)
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("support %s: credentials: %w", op, err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "support", c.region, time.Now()); err != nil {
		return err
	}
	httpClient := c.cfg.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("support %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("support %s: %w", op, err)
	}
	if resp.StatusCode >= 300 {
		return apiError(resp, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("support %s: decoding answer: %w", op, err)
	}
	return nil
}

// apiError reads an AWS JSON 1.1 error: the code in the x-amzn-ErrorType header or the body's
// __type ("com.amazonaws.support#SubscriptionRequiredException" or a bare name, possibly with a
// ":url" suffix), the message in "message" or "Message".
func apiError(resp *http.Response, data []byte) error {
	var body struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(data, &body)
	code := resp.Header.Get("X-Amzn-Errortype")
	if code == "" {
		code = body.Type
	}
	if code == "" {
		code = body.Code
	}
	if i := strings.Index(code, ":"); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := body.Message
	if msg == "" {
		msg = body.Message2
	}
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}
