package policy

import (
	"encoding/json"
	"testing"
)

func mustParse(t *testing.T, s string) *Document {
	t.Helper()
	d, err := Parse(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseShapes(t *testing.T) {
	// A single statement object, single strings, and a policy stored as a JSON string.
	d := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}`)
	if len(d.Statement) != 1 || d.Statement[0].Action[0] != "s3:GetObject" || !d.Statement[0].Principal.IsWildcard() {
		t.Fatalf("%+v", d)
	}
	d = mustParse(t, `"{\"Statement\":[{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":[\"arn:aws:iam::1:root\"]},\"NotAction\":\"s3:*\",\"Resource\":\"*\"}]}"`)
	if !d.Statement[0].HasNotPrincipal || d.Statement[0].NotAction[0] != "s3:*" {
		t.Fatalf("%+v", d)
	}
	if _, err := Parse(json.RawMessage(`{"Statement":[1]}`)); err == nil {
		t.Fatal("malformed statement accepted")
	}
}

func TestGrantsFullAdmin(t *testing.T) {
	cases := map[string]bool{
		`{"Effect":"Allow","Action":"*","Resource":"*"}`:                      true,
		`{"Effect":"Allow","Action":"*:*","Resource":"*"}`:                    true,
		`{"Effect":"Allow","Action":["s3:GetObject","*:*"],"Resource":["*"]}`: true,
		`{"Effect":"Allow","Action":"*:*","NotResource":"arn:aws:s3:::b"}`:    true,
		`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`:               true,
		`{"Effect":"Allow","Action":"iam:*","Resource":"*"}`:                  false,
		`{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}`:       false,
		`{"Effect":"Deny","Action":"*","Resource":"*"}`:                       false,
		`{"Effect":"Allow","Action":"s?:*","Resource":"*"}`:                   false,
	}
	for st, want := range cases {
		d := mustParse(t, `{"Statement":[`+st+`]}`)
		if got := len(d.GrantsFullAdmin()) > 0; got != want {
			t.Errorf("%s: %v, want %v", st, got, want)
		}
	}
}

func TestMatchAction(t *testing.T) {
	cases := []struct {
		p, a string
		want bool
	}{
		{"s3:Get*", "s3:GetObject", true}, {"S3:get*", "s3:GetObject", true}, {"s3:Get*", "s3:PutObject", false},
		{"s3:*Object", "s3:DeleteObject", true}, {"s3:?etObject", "s3:GetObject", true}, {"*", "kms:Decrypt", true},
	}
	for _, c := range cases {
		if MatchAction(c.p, c.a) != c.want {
			t.Errorf("%s vs %s", c.p, c.a)
		}
	}
}

func TestS3PublicReadWrite(t *testing.T) {
	d := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:PutObject"],"Resource":"*"}]}`)
	r := S3Public(d)
	if !r.Public || r.Read || !r.Write {
		t.Fatalf("write-only grant: %+v", r)
	}
	d = mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}`)
	if S3Public(d).Public {
		t.Fatal("fixed aws:SourceAccount should make it non-public")
	}
	d = mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`)
	if r := S3Public(d); r.Public || len(r.Notes) != 1 {
		t.Fatalf("public IP range: %+v", r)
	}
	d = mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/7"}}}]}`)
	if !S3Public(d).Public {
		t.Fatal("a /7 is broader than /8 and counts as public")
	}
}

func TestDeniesInsecureTransportAndCrossAccount(t *testing.T) {
	d := mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`)
	if !d.DeniesInsecureTransport() {
		t.Fatal("boolean false value not understood")
	}
	d = mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:root","111122223333"]},"Action":"s3:GetObject","Resource":"*"}]}`)
	if got := d.CrossAccount("111122223333"); len(got) != 1 || got[0] != "444455556666" {
		t.Fatalf("cross account: %v", got)
	}
}
