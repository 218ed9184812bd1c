package risk

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/yagura-dev/yagura/internal/finding"
)

// Weights of the score's factors (docs/risk.md). The score is the weighted mean of the factors,
// each in [0,1], times 100, so weights are relative: doubling all of them changes nothing.
type Weights struct {
	Severity       float64 `yaml:"severity" json:"severity"`
	Exploitability float64 `yaml:"exploitability" json:"exploitability"`
	Exposure       float64 `yaml:"exposure" json:"exposure"`
	BlastRadius    float64 `yaml:"blast_radius" json:"blast_radius"`
	Environment    float64 `yaml:"environment" json:"environment"`
	Data           float64 `yaml:"data" json:"data"`
}

// DefaultWeights sum to 100, so each weight reads as the points its factor can add.
var DefaultWeights = Weights{Severity: 30, Exploitability: 15, Exposure: 20, BlastRadius: 15, Environment: 10, Data: 10}

// Factor names as they appear in finding.Risk.Factors.
const (
	FSeverity       = "severity"
	FExploitability = "exploitability"
	FExposure       = "exposure"
	FBlastRadius    = "blast_radius"
	FEnvironment    = "environment"
	FData           = "data"
)

func (w Weights) of(f string) float64 {
	switch f {
	case FSeverity:
		return w.Severity
	case FExploitability:
		return w.Exploitability
	case FExposure:
		return w.Exposure
	case FBlastRadius:
		return w.BlastRadius
	case FEnvironment:
		return w.Environment
	case FData:
		return w.Data
	}
	return 0
}

var factorOrder = []string{FSeverity, FExploitability, FExposure, FBlastRadius, FEnvironment, FData}

// ParseWeights reads weights from a YAML file path, or from "name=value,..." pairs; factors not
// named keep their default.
func ParseWeights(s string) (Weights, error) {
	w := DefaultWeights
	if s == "" {
		return w, nil
	}
	if b, err := os.ReadFile(s); err == nil {
		if err := yaml.Unmarshal(b, &w); err != nil {
			return w, fmt.Errorf("weights file %s: %w", s, err)
		}
		return w, w.validate()
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return w, fmt.Errorf("weights: %q is neither a file nor name=value", kv)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return w, fmt.Errorf("weights: %s: %w", k, err)
		}
		switch strings.ReplaceAll(strings.TrimSpace(k), "-", "_") {
		case FSeverity:
			w.Severity = f
		case FExploitability:
			w.Exploitability = f
		case FExposure:
			w.Exposure = f
		case FBlastRadius, "blast":
			w.BlastRadius = f
		case FEnvironment, "env":
			w.Environment = f
		case FData:
			w.Data = f
		default:
			return w, fmt.Errorf("weights: unknown factor %q (severity, exploitability, exposure, blast_radius, environment, data)", k)
		}
	}
	return w, w.validate()
}

func (w Weights) validate() error {
	sum := 0.0
	for _, f := range factorOrder {
		if w.of(f) < 0 {
			return fmt.Errorf("weights: %s is negative", f)
		}
		sum += w.of(f)
	}
	if sum <= 0 {
		return fmt.Errorf("weights: all zero")
	}
	return nil
}

// SeverityFactor maps a severity to [0,1].
func SeverityFactor(s finding.Severity) float64 {
	return [...]float64{0.05, 0.25, 0.5, 0.75, 1}[min(max(int(s), 0), 4)]
}

// Exploitability reads how usable a finding's weakness is from its evidence: 1 when known to be
// exploited in the wild, 0.8 when a public exploit exists, otherwise the EPSS probability; an
// active GuardDuty threat counts 0.7.
func Exploitability(f *finding.Finding) (float64, string) {
	best, why := 0.0, ""
	set := func(v float64, w string) {
		if v > best {
			best, why = v, w
		}
	}
	if len(f.Evidence) > 0 {
		var ev struct {
			ExploitAvailable   string   `json:"exploitAvailable"`
			Epss               *float64 `json:"epss"`
			LastKnownExploitAt *string  `json:"lastKnownExploitAt"`
			Vulnerabilities    []struct {
				Id                   string
				ExploitAvailable     string
				EpssScore            *float64
				LastKnownExploitedAt *string
			}
			Exploitability *float64 `json:"exploitability"`
			Weakness       string   `json:"weakness"`
		}
		if json.Unmarshal(f.Evidence, &ev) == nil {
			if ev.LastKnownExploitAt != nil && *ev.LastKnownExploitAt != "" {
				set(1, "known exploited")
			}
			if strings.EqualFold(ev.ExploitAvailable, "YES") {
				set(0.8, "exploit available")
			}
			if ev.Epss != nil {
				set(*ev.Epss, fmt.Sprintf("EPSS %.2f", *ev.Epss))
			}
			for _, v := range ev.Vulnerabilities {
				if v.LastKnownExploitedAt != nil && *v.LastKnownExploitedAt != "" {
					set(1, v.Id+" known exploited")
				}
				if strings.EqualFold(v.ExploitAvailable, "YES") {
					set(0.8, v.Id+" exploit available")
				}
				if v.EpssScore != nil {
					set(*v.EpssScore, fmt.Sprintf("%s EPSS %.2f", v.Id, *v.EpssScore))
				}
			}
			if ev.Exploitability != nil {
				set(*ev.Exploitability, ev.Weakness)
			}
		}
	}
	if hasSource(f, "guardduty") && f.Status == finding.Fail {
		set(0.7, "active GuardDuty threat")
	}
	return best, why
}

func hasSource(f *finding.Finding, s string) bool {
	if f.Source == s {
		return true
	}
	for _, x := range f.Sources {
		if x == s {
			return true
		}
	}
	return false
}

// EnvironmentFactor rates an environment tag value: production 1, staging-like 0.6,
// development-like 0.2, anything else (or unknown) 0.5.
func EnvironmentFactor(env string) float64 {
	switch strings.ToLower(env) {
	case "prod", "production", "prd", "live":
		return 1
	case "staging", "stage", "stg", "uat", "preprod", "pre-prod", "qa", "shared":
		return 0.6
	case "dev", "development", "test", "testing", "sandbox", "sbx", "lab":
		return 0.2
	}
	return 0.5
}

type part struct {
	name  string
	value float64
	why   string
}

// compose turns factor values into a Risk: score, factors and the one-line reason naming the
// factors that contributed most.
func compose(w Weights, parts []part, path []string) *finding.Risk {
	total, sum := 0.0, 0.0
	factors := map[string]float64{}
	for _, p := range parts {
		wt := w.of(p.name)
		total += wt
		sum += wt * p.value
		factors[p.name] = math.Round(p.value*100) / 100
	}
	score := 0.0
	if total > 0 {
		score = math.Round(sum/total*1000) / 10
	}
	sorted := append([]part{}, parts...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return w.of(sorted[i].name)*sorted[i].value > w.of(sorted[j].name)*sorted[j].value
	})
	var whys []string
	for _, p := range sorted {
		if p.why != "" && p.value > 0 && w.of(p.name) > 0 {
			whys = append(whys, p.why)
		}
		if len(whys) == 4 {
			break
		}
	}
	return &finding.Risk{Score: score, Reason: strings.Join(whys, "; "), Factors: factors, Path: path}
}
