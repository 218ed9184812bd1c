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
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/yagura-dev/yagura/internal/collect"
	"github.com/yagura-dev/yagura/internal/native"
	"github.com/yagura-dev/yagura/internal/native/iamname"
)

func init() {
	collect.Register(&collect.Collector{
		Name:    "trustedadvisor.checks",
		Service: "trustedadvisor",
		Global:  true,
		Actions: append([]string{"support:DescribeTrustedAdvisorChecks", "support:DescribeTrustedAdvisorCheckResult"}, iamname.Actions...),
		Run:     collectChecks,
	})
}

// SecurityCategory is the Trusted Advisor category whose checks are collected.
const SecurityCategory = "security"

// collectChecks lists the security checks and reads each one's result. Neither call is
// paginated: a check result carries all its flagged resources.
func collectChecks(ctx context.Context, t *collect.Target, sink collect.Sink) error {
	c := newClient(t.Config, t.Partition)
	names := iamname.New(t.Config) // IAM checks name users without their path
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
			f := native.FromTrustedAdvisor(t.Partition, t.AccountID, check, &res.Result.FlaggedResources[j])
			names.Resolve(ctx, f)
			if err := sink.PutFinding(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// client speaks the Support API's AWS JSON 1.1 protocol. The AWS SDK for Go's Support module is
// not among the modules this project can use, so each call is assembled from the SDK's own
// parts, as a generated client assembles it: a smithy middleware stack with the configuration's
// retryer (retry.NewAttemptMiddleware, "Retry"), SigV4 signing on every attempt, the
// configuration's HTTP client, and the configuration's APIOptions. The last matter: they carry
// awsx.Limiter's middleware, so every attempt takes a token from the account's "support" bucket
// and is counted in the scan's and the task's call statistics, like any SDK call.
type client struct {
	cfg      aws.Config
	region   string
	endpoint string
	signer   *v4.Signer
}

// ServiceID is the Support API's SDK service id, which awsx.ClassOf maps to the "support"
// rate-limit class.
const ServiceID = "Support"

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

// call makes one Support API call through the middleware stack and decodes its answer into out.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	stack := middleware.NewStack(op, smithyhttp.NewStackRequest)
	if err := stack.Serialize.Add(middleware.SerializeMiddlewareFunc("yaguraSupportSerialize",
		func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
			req := in.Request.(*smithyhttp.Request)
			u, err := url.Parse(c.endpoint + "/")
			if err != nil {
				return middleware.SerializeOutput{}, middleware.Metadata{}, err
			}
			req.URL, req.Method = u, http.MethodPost
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AWSSupport_20130415."+op)
			if req, err = req.SetStream(bytes.NewReader(body)); err != nil {
				return middleware.SerializeOutput{}, middleware.Metadata{}, err
			}
			in.Request = req
			return next.HandleSerialize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	var retryer aws.Retryer = aws.NopRetryer{}
	if c.cfg.Retryer != nil {
		retryer = c.cfg.Retryer()
	}
	if err := stack.Finalize.Add(retry.NewAttemptMiddleware(retryer, smithyhttp.RequestCloner), middleware.After); err != nil {
		return err
	}
	// Signed after the retry loop and the rate limiter (which APIOptions insert right after
	// "Retry"), so that every attempt carries a fresh signature.
	sum := sha256.Sum256(body)
	if err := stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("yaguraSupportSign",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req := in.Request.(*smithyhttp.Request)
			creds, err := c.cfg.Credentials.Retrieve(ctx)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("credentials: %w", err)
			}
			if err := c.signer.SignHTTP(ctx, creds, req.Request, hex.EncodeToString(sum[:]), "support", c.region, time.Now()); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After); err != nil {
		return err
	}
	if err := stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("yaguraSupportDeserialize",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			o, md, err := next.HandleDeserialize(ctx, in)
			if err != nil {
				return o, md, err
			}
			resp, ok := o.RawResponse.(*smithyhttp.Response)
			if !ok {
				return o, md, fmt.Errorf("unexpected transport response %T", o.RawResponse)
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if err != nil {
				return o, md, err
			}
			if resp.StatusCode >= 300 {
				// Wrapped as the SDK wraps service errors: the retryer reads the status code
				// (5xx) and the API error's code (throttling), awsx.Classify the code.
				return o, md, &awshttp.ResponseError{RequestID: resp.Header.Get("X-Amzn-Requestid"),
					ResponseError: &smithyhttp.ResponseError{Response: resp, Err: apiError(resp.Response, data)}}
			}
			if err := json.Unmarshal(data, out); err != nil {
				return o, md, fmt.Errorf("decoding answer: %w", err)
			}
			return o, md, nil
		}), middleware.After); err != nil {
		return err
	}
	for _, fn := range c.cfg.APIOptions {
		if err := fn(stack); err != nil {
			return err
		}
	}
	ctx = middleware.ClearStackValues(ctx)
	ctx = middleware.WithServiceID(ctx, ServiceID)
	ctx = middleware.WithOperationName(ctx, op)
	httpClient := c.cfg.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	handler := middleware.DecorateHandler(smithyhttp.NewClientHandler(httpClient), stack)
	if _, _, err := handler.Handle(ctx, in); err != nil {
		return &smithy.OperationError{ServiceID: ServiceID, OperationName: op, Err: err}
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
