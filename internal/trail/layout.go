package trail

import (
	"path"
	"regexp"
	"strings"
	"time"
)

// KeyInfo is what the documented key layout says about an object:
// [prefix/]AWSLogs/[o-id/]ACCOUNT/CloudTrail[-Digest]/REGION/YYYY/MM/DD/FILE.
type KeyInfo struct {
	Prefix  string // everything before AWSLogs/ without the trailing slash
	OrgID   string
	Account string
	Digest  bool // CloudTrail-Digest rather than CloudTrail
	Region  string
	Day     time.Time
	Time    time.Time // from the file name, zero when absent
	Name    string    // base name
}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	// 123456789012_CloudTrail_us-east-1_20240102T0305Z_abcdEFGH1234.json.gz
	logNameRE = regexp.MustCompile(`^\d{12}_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json(\.gz)?$`)
	// 123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240102T030512Z.json.gz
	digestNameRE = regexp.MustCompile(`^(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)(_backfill)?\.json\.gz$`)
)

// ParseKey reads the layout of key; ok is false when the key does not follow it.
func ParseKey(key string) (KeyInfo, bool) {
	var ki KeyInfo
	idx := -1
	if strings.HasPrefix(key, "AWSLogs/") {
		idx = 0
	} else if j := strings.Index(key, "/AWSLogs/"); j >= 0 {
		idx = j + 1
		ki.Prefix = key[:j]
	}
	if idx < 0 {
		return ki, false
	}
	parts := strings.Split(key[idx+len("AWSLogs/"):], "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
		ki.OrgID = parts[0]
		parts = parts[1:]
	}
	// ACCOUNT, CloudTrail, REGION, YYYY, MM, DD, FILE
	if len(parts) != 7 || !accountRE.MatchString(parts[0]) {
		return ki, false
	}
	ki.Account = parts[0]
	switch parts[1] {
	case "CloudTrail":
	case "CloudTrail-Digest":
		ki.Digest = true
	default:
		return ki, false
	}
	ki.Region = parts[2]
	d, err := time.Parse("2006/01/02", parts[3]+"/"+parts[4]+"/"+parts[5])
	if err != nil {
		return ki, false
	}
	ki.Day = d
	ki.Name = parts[6]
	if ki.Digest {
		if m := digestNameRE.FindStringSubmatch(ki.Name); m != nil {
			ki.Time, _ = time.Parse("20060102T150405Z", m[5])
		}
	} else if m := logNameRE.FindStringSubmatch(ki.Name); m != nil {
		ki.Time, _ = time.Parse("20060102T1504Z", m[1])
	}
	return ki, true
}

// basePrefix is "[prefix/]AWSLogs/[o-id/]".
func basePrefix(prefix, orgID string) string {
	p := "AWSLogs/"
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		p = prefix + "/" + p
	}
	if orgID != "" {
		p += orgID + "/"
	}
	return p
}

// dayPrefix is the listing prefix of one account, region and day.
func dayPrefix(base, account, kind, region string, day time.Time) string {
	return base + account + "/" + kind + "/" + region + "/" + day.Format("2006/01/02") + "/"
}

// days lists the UTC days touched by [since, until].
func days(since, until time.Time) []time.Time {
	var out []time.Time
	d := time.Date(since.Year(), since.Month(), since.Day(), 0, 0, 0, 0, time.UTC)
	for ; !d.After(until); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

func baseName(key string) string { return path.Base(key) }
