// Package report writes rows for people and programs: aligned tables for terminals, JSON and
// JSON Lines, and CSV that is safe to open in a spreadsheet. Finding-specific encoders (OCSF,
// ASFF, SARIF) live beside these.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Formats a command may accept.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// CheckFormat returns an error unless f is one of allowed.
func CheckFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return fmt.Errorf("unknown --format %q (one of: %s)", f, strings.Join(allowed, ", "))
}

// JSON writes v indented, with HTML characters left as they are (the output is data, not HTML).
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// JSONLines writes each element of a slice on its own line.
func JSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// Table writes aligned columns. Cell text is made terminal-safe: resource names and tags are
// chosen by whoever can tag a resource, and must not move the cursor or recolour the screen.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	write := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, TerminalSafe(c))
		}
		fmt.Fprint(tw, "\n")
	}
	write(header)
	for _, r := range rows {
		write(r)
	}
	return tw.Flush()
}

// TerminalSafe replaces control characters (escape sequences, tabs, newlines) with visible
// escapes and truncates very long cells.
func TerminalSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteRune(' ')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 200 {
		out = out[:197] + "..."
	}
	return out
}

// CSV writes rows with every cell neutralized against formula injection.
func CSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		safe := make([]string, len(r))
		for i, c := range r {
			safe[i] = CSVSafe(c)
		}
		if err := cw.Write(safe); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe prefixes a cell that a spreadsheet would evaluate as a formula (starting with = + - @,
// or a tab or carriage return followed by one) with a single quote, as OWASP recommends.
func CSVSafe(s string) string {
	t := strings.TrimLeft(s, " \t\r\n")
	if t == "" {
		return s
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r', '|', '%':
		return "'" + s
	}
	return s
}
