// Package mutelist accepts known risks: a YAML list of entries that match findings by account,
// check or control, region, resource (glob or regex) and resource tags, each with a reason and
// an optional expiry. Muted findings keep their status and carry muted: true and the reason;
// entries past their expiry stop muting and say so.
package mutelist

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Entry is one mute.
type Entry struct {
	Reason    string            `yaml:"reason"`
	Expires   string            `yaml:"expires,omitempty"` // 2006-01-02 or RFC 3339
	Accounts  []string          `yaml:"accounts,omitempty"`
	Checks    []string          `yaml:"checks,omitempty"`
	Controls  []string          `yaml:"controls,omitempty"`
	Regions   []string          `yaml:"regions,omitempty"`
	Resources []string          `yaml:"resources,omitempty"` // glob, or "re:" + regular expression
	Tags      map[string]string `yaml:"tags,omitempty"`      // every key=value must be on the resource (value glob)

	expires time.Time
	res     []*regexp.Regexp // compiled "re:" patterns, nil entries for globs
}

// List is a parsed mutelist.
type List struct {
	Mutes []*Entry `yaml:"mutes"`
}

// Load reads a mutelist file.
func Load(file string) (*List, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	l, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return l, nil
}

// Parse reads a mutelist document and validates every entry: a reason is required, and an entry
// must say what it matches so that an empty entry cannot mute everything by accident.
func Parse(b []byte) (*List, error) {
	var l List
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("mutelist: %w", err)
	}
	for i, e := range l.Mutes {
		if strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("mutelist entry %d: reason is required", i+1)
		}
		if len(e.Accounts)+len(e.Checks)+len(e.Controls)+len(e.Regions)+len(e.Resources)+len(e.Tags) == 0 {
			return nil, fmt.Errorf("mutelist entry %d (%s): matches nothing specific; list accounts, checks, controls, regions, resources or tags", i+1, e.Reason)
		}
		if e.Expires != "" {
			t, err := parseTime(e.Expires)
			if err != nil {
				return nil, fmt.Errorf("mutelist entry %d: expires: %w", i+1, err)
			}
			e.expires = t
		}
		e.res = make([]*regexp.Regexp, len(e.Resources))
		for j, r := range e.Resources {
			if p, ok := strings.CutPrefix(r, "re:"); ok {
				re, err := regexp.Compile(p)
				if err != nil {
					return nil, fmt.Errorf("mutelist entry %d: resource regex: %w", i+1, err)
				}
				e.res[j] = re
			} else if _, err := path.Match(r, ""); err != nil {
				return nil, fmt.Errorf("mutelist entry %d: resource glob %q: %w", i+1, r, err)
			}
		}
	}
	return &l, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		// A date mutes through the end of that day (UTC).
		return t.Add(24*time.Hour - time.Nanosecond), nil
	}
	return time.Parse(time.RFC3339, s)
}

// glob matches s against a pattern where * spans any characters (including "/" and ":", which
// ARNs are full of).
func glob(pattern, s string) bool {
	if v, ok := globCache.Load(pattern); ok {
		return v.(*regexp.Regexp).MatchString(s)
	}
	re := regexp.MustCompile("^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".") + "$")
	globCache.Store(pattern, re)
	return re.MatchString(s)
}

// globCache keeps compiled globs: a mutelist is applied to every finding of a listing.
var globCache sync.Map

func anyGlob(patterns []string, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// Matches reports whether the entry covers a finding whose resource has tags.
func (e *Entry) Matches(f *finding.Finding, tags map[string]string) bool {
	if !anyGlob(e.Accounts, f.AccountID) || !anyGlob(e.Regions, f.Region) || !anyGlob(e.Checks, f.CheckID) {
		return false
	}
	if len(e.Controls) > 0 {
		ok := false
		for _, c := range f.Controls {
			if anyGlob(e.Controls, c) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(e.Resources) > 0 {
		ok := false
		for i, p := range e.Resources {
			if e.res[i] != nil && e.res[i].MatchString(f.ResourceARN) || e.res[i] == nil && glob(p, f.ResourceARN) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for k, v := range e.Tags {
		got, has := tags[k]
		if !has || !glob(v, got) {
			return false
		}
	}
	return true
}

// NeedsTags reports whether any entry matches on tags (so callers know to look them up).
func (l *List) NeedsTags() bool {
	for _, e := range l.Mutes {
		if len(e.Tags) > 0 {
			return true
		}
	}
	return false
}

// Apply marks f muted by the first live entry that matches. A matching entry that has expired
// does not mute; the finding's mute_reason says which mute expired, so nobody wonders why a
// known risk came back. It returns the entry that matched, if any.
func (l *List) Apply(f *finding.Finding, tags map[string]string, now time.Time) *Entry {
	if l == nil {
		return nil
	}
	var expired *Entry
	for _, e := range l.Mutes {
		if !e.Matches(f, tags) {
			continue
		}
		if e.ExpiredAt(now) {
			if expired == nil {
				expired = e
			}
			continue
		}
		f.Muted, f.MuteReason = true, e.Reason
		if !e.expires.IsZero() {
			f.MuteReason += " (until " + e.Expires + ")"
		}
		return e
	}
	if expired != nil {
		f.Muted = false
		f.MuteReason = "mute expired on " + expired.Expires + ": " + expired.Reason
		return expired
	}
	return nil
}

// ExpiredAt reports whether the entry has an expiry and is past it at now.
func (e *Entry) ExpiredAt(now time.Time) bool { return !e.expires.IsZero() && now.After(e.expires) }

// Expired lists the entries that are past their expiry at now, for warnings.
func (l *List) Expired(now time.Time) []*Entry {
	var out []*Entry
	for _, e := range l.Mutes {
		if e.ExpiredAt(now) {
			out = append(out, e)
		}
	}
	return out
}
