// Package inventory defines the resource record every collector produces and the relationships
// between resources; checks, risk analysis and search read these records.
package inventory

import (
	"encoding/json"
	"time"
)

// Resource is one AWS resource as collected. Config holds the resource in the AWS API's own JSON
// shape (the SDK output struct marshalled to JSON), with extra attributes read by follow-up calls
// added as top-level keys (see docs/resource-types.md).
type Resource struct {
	ARN         string            `json:"arn"`
	Type        string            `json:"type"` // CloudFormation naming, e.g. AWS::EC2::SecurityGroup
	AccountID   string            `json:"account_id"`
	Region      string            `json:"region"` // "global" for global resources
	Name        string            `json:"name"`
	Tags        map[string]string `json:"tags,omitempty"`
	Config      json.RawMessage   `json:"config"`
	CollectedAt time.Time         `json:"collected_at"`
	// Errors maps an attribute that could not be read (e.g. "Policy") to the reason, so that
	// checks needing that attribute report ERROR instead of guessing.
	Errors map[string]string `json:"errors,omitempty"`
}

// Relationship is a directed edge between two resources, e.g. instance -uses-> security group.
type Relationship struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Relationship kinds.
const (
	RelUsesSecurityGroup  = "uses-security-group"
	RelInSubnet           = "in-subnet"
	RelInVPC              = "in-vpc"
	RelRoutesVia          = "routes-via"      // route table -> gateway
	RelAssociatedWith     = "associated-with" // route table / NACL -> subnet
	RelHasInstanceProfile = "has-instance-profile"
	RelAssumesRole        = "assumes-role" // instance profile -> role
	RelForwardsTo         = "forwards-to"  // load balancer -> listener -> target group -> target
	RelEncryptedBy        = "encrypted-by"
	RelDeliversTo         = "delivers-to" // trail -> bucket
	RelAttachedTo         = "attached-to"
)

// Sink receives what collectors produce. Implementations stream to the store; a collector never
// accumulates a whole account in memory.
type Sink interface {
	PutResource(r *Resource) error
	PutRelationship(rel Relationship) error
}

// MarshalConfig is a convenience for collectors: the SDK struct (or a map merging extra
// attributes) as JSON.
func MarshalConfig(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}
