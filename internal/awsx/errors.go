package awsx

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Outcome of an API call as coverage records it.
const (
	OutcomeOK        = "ok"
	OutcomeDenied    = "denied"
	OutcomeThrottled = "throttled"
	OutcomeError     = "error"
	OutcomeSkipped   = "skipped" // the service or region is not enabled or not subscribed
)

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true,
	"BandwidthLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"EC2ThrottledException": true, "PriorRequestNotComplete": true,
	"LimitExceededException": true,
}

var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"AuthorizationError": true, "UnauthorizedAccess": true, "AuthFailure": true,
	"InvalidClientTokenId": true, "UnrecognizedClientException": true, "ExpiredToken": true,
	"ExpiredTokenException": true, "Forbidden": true, "AccessDeniedForDependencyException": true,
	"UnauthorizedException": true, "AWSOrganizationsNotInUseException": false,
}

var notEnabledCodes = map[string]bool{
	"OptInRequired": true, "SubscriptionRequiredException": true,
	"InvalidAccessException":               true, // Security Hub: "not subscribed to AWS Security Hub"
	"BadRequestException":                  false,
	"NoSuchConfigurationRecorderException": true,
}

// ErrorCode returns the AWS error code of err, or "".
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsThrottle reports whether err is an AWS throttling error.
func IsThrottle(err error) bool {
	if throttleCodes[ErrorCode(err)] {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusTooManyRequests
}

// IsDenied reports whether err says the caller lacks permission.
func IsDenied(err error) bool {
	if deniedCodes[ErrorCode(err)] {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden && ErrorCode(err) == ""
}

// Classify maps an error from a collection to a coverage outcome and a one-line reason that
// never contains credentials (AWS error messages do not; request signatures are not included).
func Classify(err error) (outcome, reason string) {
	if err == nil {
		return OutcomeOK, ""
	}
	code := ErrorCode(err)
	msg := shortMessage(err)
	var maxAttempts *retry.MaxAttemptsError
	switch {
	case errors.Is(err, context.Canceled):
		return OutcomeError, "interrupted: the scan was cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeError, "timed out"
	case IsThrottle(err):
		reason = "throttled: " + msg
		if errors.As(err, &maxAttempts) {
			reason = "throttled after retries: " + msg
		}
		return OutcomeThrottled, reason
	case IsDenied(err):
		return OutcomeDenied, "access denied: " + msg
	case notEnabledCodes[code]:
		return OutcomeSkipped, "not enabled: " + msg
	}
	return OutcomeError, msg
}

func shortMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		m := ae.ErrorMessage()
		if m == "" {
			return ae.ErrorCode()
		}
		return ae.ErrorCode() + ": " + oneLine(m)
	}
	return oneLine(err.Error())
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
