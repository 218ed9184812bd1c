package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestCSVSafeNeutralizesFormulas(t *testing.T) {
	cases := map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+1":                     "'+1+1",
		"-2":                       "'-2",
		"@SUM(A1)":                 "'@SUM(A1)",
		"  =1":                     "'  =1",
		"sg-123":                   "sg-123",
		"":                         "",
	}
	for in, want := range cases {
		if got := CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
	var b bytes.Buffer
	if err := CSV(&b, []string{"name"}, [][]string{{"=cmd|' /C calc'!A0"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\"'=cmd|' /C calc'!A0\"") && !strings.Contains(b.String(), "'=cmd") {
		t.Fatalf("formula not neutralized: %q", b.String())
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, []string{"NAME"}, [][]string{{"evil\x1b[31mred\nnext"}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b") {
		t.Fatalf("escape sequence reached the terminal: %q", out)
	}
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("newline inside a cell split the row: %q", out)
	}
}

func TestCheckFormat(t *testing.T) {
	if err := CheckFormat("json", FormatTable, FormatJSON); err != nil {
		t.Fatal(err)
	}
	if err := CheckFormat("xml", FormatTable, FormatJSON); err == nil {
		t.Fatal("xml accepted")
	}
}
