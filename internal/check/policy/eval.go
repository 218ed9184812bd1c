package policy

import (
	"fmt"
	"strings"
)

// MatchResource reports whether a Resource pattern of a policy (* and ?) covers resource r.
// ARNs compare case-sensitively, as IAM does. When r itself contains wildcards it is matched as
// a literal string, so "arn:aws:s3:::b/*" covers the pattern "arn:aws:s3:::b/*" (all objects of
// b) and "arn:aws:s3:::b/reports/*" does not.
func MatchResource(pattern, r string) bool { return wildMatch(pattern, r) }

// overlaps reports whether two resource patterns may name a common resource. Either covering
// the other is the test: cheap, and exact for the shapes policies use (a prefix and a "*").
func overlaps(a, b string) bool { return wildMatch(a, b) || wildMatch(b, a) }

// MayApply reports whether the statement's resource element names some of the resources r
// stands for (r may be a pattern: "arn:aws:s3:::b/*", or "*" for "some resource"). This is the
// test for an Allow: a grant of part of r is a grant.
func (s *Statement) MayApply(r string) bool {
	if len(s.NotResource) > 0 {
		for _, p := range s.NotResource {
			if MatchResource(p, r) {
				return false // every resource r names is excluded
			}
		}
		return true
	}
	for _, p := range s.Resource {
		if overlaps(p, r) {
			return true
		}
	}
	return false
}

// AppliesToAll reports whether the statement's resource element covers every resource r stands
// for. This is the test for a Deny: a deny of part of r leaves the rest allowed.
func (s *Statement) AppliesToAll(r string) bool {
	if len(s.NotResource) > 0 {
		for _, p := range s.NotResource {
			if overlaps(p, r) {
				return false // some of r is excluded from the deny
			}
		}
		return true
	}
	for _, p := range s.Resource {
		if MatchResource(p, r) {
			return true
		}
	}
	return false
}

// Named is a parsed policy and the name evidence calls it by.
type Named struct {
	Name string
	Doc  *Document
}

// Layer is a set of policies that must allow a request: the principal's identity policies, its
// permissions boundary, or the service control policies attached to one level of the
// organization (root, an OU, the account). Kind and Where name it in evidence, e.g. "SCP"
// "attached to OU Prod".
type Layer struct {
	Kind, Where string
	Policies    []Named
}

// Decision is the outcome of evaluating one request.
type Decision struct {
	Allowed bool
	// AllowedBy names the first layer's policy whose statement allows the request.
	AllowedBy string
	// RemovedBy says which deny, boundary or SCP took away what the first layer allows; empty
	// when the first layer allows nothing to begin with.
	RemovedBy string
}

// Evaluate applies AWS's evaluation logic for a request inside one account: an explicit Deny in
// any layer wins; otherwise every layer must have an Allow (the first layer is the identity
// policies, whose allow is the grant; the others only bound it). The answer is an upper bound:
// an Allow with conditions counts, a Deny with conditions is not applied (its context, e.g. the
// caller's IP or MFA, is unknown here), a Deny of only some of the resources r stands for does
// not deny r. r may be a resource pattern ("arn:aws:s3:::b/*") or "*" for "some resource".
func Evaluate(action, r string, layers ...Layer) Decision {
	var d Decision
	if len(layers) == 0 {
		return d
	}
	for _, p := range layers[0].Policies {
		if st := p.Doc.allowing(action, r); st != nil {
			d.AllowedBy = p.Name
			break
		}
	}
	if d.AllowedBy == "" {
		return d
	}
	for _, l := range layers {
		for _, p := range l.Policies {
			if st := p.Doc.denying(action, r); st != nil {
				d.RemovedBy = fmt.Sprintf("explicit deny in %s %s%s%s", l.Kind, p.Name, sidSuffixOf(st), where(l))
				return d
			}
		}
	}
	for _, l := range layers[1:] {
		allowed := false
		for _, p := range l.Policies {
			if p.Doc.allowing(action, r) != nil {
				allowed = true
				break
			}
		}
		if !allowed {
			names := make([]string, 0, len(l.Policies))
			for _, p := range l.Policies {
				names = append(names, p.Name)
			}
			d.RemovedBy = fmt.Sprintf("%s %s%s does not allow %s", l.Kind, strings.Join(names, ", "), where(l), action)
			return d
		}
	}
	d.Allowed = true
	return d
}

func where(l Layer) string {
	if l.Where == "" {
		return ""
	}
	return " " + l.Where
}

func sidSuffixOf(s *Statement) string {
	if s.Sid == "" {
		return ""
	}
	return " (statement " + s.Sid + ")"
}

// allowing returns the first Allow statement granting action on some of r.
func (d *Document) allowing(action, r string) *Statement {
	if d == nil {
		return nil
	}
	for i := range d.Statement {
		s := &d.Statement[i]
		// Resource first: it rules out most statements without lower-casing actions.
		if strings.EqualFold(s.Effect, "Allow") && s.MayApply(r) && s.Allows(action) {
			return s
		}
	}
	return nil
}

// denying returns the first unconditional Deny statement covering action on all of r.
func (d *Document) denying(action, r string) *Statement {
	if d == nil {
		return nil
	}
	for i := range d.Statement {
		s := &d.Statement[i]
		if strings.EqualFold(s.Effect, "Deny") && len(s.Condition) == 0 && s.AppliesToAll(r) && s.coversAll(action) {
			return s
		}
	}
	return nil
}

// coversAll reports whether the statement's action element names every action a stands for (a
// may be a pattern, "iam:*"): a NotAction that excludes part of a does not.
func (s *Statement) coversAll(a string) bool {
	if len(s.NotAction) > 0 {
		for _, p := range s.NotAction {
			if MatchAction(p, a) || MatchAction(a, p) {
				return false
			}
		}
		return true
	}
	return s.Allows(a)
}
