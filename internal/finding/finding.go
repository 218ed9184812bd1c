// Package finding is the one model every source of findings is normalized into: yagura's own
// checks, the native AWS security services and CloudTrail detections.
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Status is the result of evaluating one control on one resource. It is honest: ERROR when the
// input could not be read, never a guess.
type Status string

const (
	Pass  Status = "PASS"
	Fail  Status = "FAIL"
	Error Status = "ERROR"
)

// Severity orders findings; the zero value is informational.
type Severity int

const (
	Informational Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"informational", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "informational"
	}
	return severityNames[s]
}

// ParseSeverity accepts the names above (any case) and the short forms info/crit.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "informational", "info", "none":
		return Informational, nil
	case "low":
		return Low, nil
	case "medium", "moderate":
		return Medium, nil
	case "high":
		return High, nil
	case "critical", "crit":
		return Critical, nil
	}
	return 0, fmt.Errorf("unknown severity %q (informational, low, medium, high, critical)", s)
}

func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *Severity) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseSeverity(str)
	*s = v
	return err
}

// Lifecycle of a finding across scans.
const (
	LifecycleNew      = "new"
	LifecycleOpen     = "open"
	LifecycleResolved = "resolved"
)

// Risk is filled in by the risk package once a finding is scored.
type Risk struct {
	Score   float64            `json:"score"`
	Reason  string             `json:"reason"`
	Factors map[string]float64 `json:"factors,omitempty"`
	Path    []string           `json:"path,omitempty"`
}

// Finding is one result: a check on a resource, or one finding of a native service.
type Finding struct {
	ID           string          `json:"id"`
	CheckID      string          `json:"check_id"`
	Controls     []string        `json:"controls"`
	Source       string          `json:"source"`
	Sources      []string        `json:"sources,omitempty"`
	SourceID     string          `json:"source_id,omitempty"`
	Status       Status          `json:"status"`
	Severity     Severity        `json:"severity"`
	AccountID    string          `json:"account_id"`
	Region       string          `json:"region"`
	ResourceARN  string          `json:"resource_arn"`
	ResourceType string          `json:"resource_type"`
	Title        string          `json:"title"`
	Detail       string          `json:"detail"`
	Evidence     json.RawMessage `json:"evidence,omitempty"`
	Remediation  string          `json:"remediation,omitempty"`
	FirstSeen    time.Time       `json:"first_seen"`
	LastSeen     time.Time       `json:"last_seen"`
	Lifecycle    string          `json:"lifecycle"`
	Stale        bool            `json:"stale,omitempty"`
	StaleReason  string          `json:"stale_reason,omitempty"`
	Muted        bool            `json:"muted,omitempty"`
	MuteReason   string          `json:"mute_reason,omitempty"`
	Risk         *Risk           `json:"risk,omitempty"`
	// Collector names the scan task (collector or check input) whose success is required before
	// this finding may be called resolved. Not part of the public JSON.
	Collector string `json:"-"`
}

// StableID derives a finding ID that stays the same across scans for the same problem.
// Every check result gets one, so it hashes a single buffer (on the stack for the usual sizes)
// and hex-encodes only the 12 bytes it keeps.
func StableID(parts ...string) string {
	var stack [512]byte
	buf := stack[:0]
	for _, p := range parts {
		buf = append(buf, p...)
		buf = append(buf, 0)
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:12])
}
