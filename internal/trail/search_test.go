package trail

import (
	"fmt"
	"testing"
)

// TestCounterKeysSurviveBufferReuse decodes several files through one reused buffer, as the
// reader does, and checks that counted values are not rewritten by later files.
func TestCounterKeysSurviveBufferReuse(t *testing.T) {
	d := newDecoder()
	c := &Counter{Field: "recipientAccountId"}
	buf := make([]byte, 0, 4096)
	for i := 0; i < 6; i++ {
		acct := fmt.Sprintf("%012d", i%2)
		buf = append(buf[:0], fmt.Sprintf(`{"Records":[{"recipientAccountId":%q},{"recipientAccountId":%q}]}`, acct, acct)...)
		if _, err := d.decodeFile(buf, "k", func(e *Event) error { c.Add(e); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	res := c.Result()
	if len(res) != 2 || res[0] != (Count{"000000000000", 6}) || res[1] != (Count{"000000000001", 6}) {
		t.Fatalf("%+v", res)
	}
}

func TestFilter(t *testing.T) {
	rec := `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","awsRegion":"us-east-1","recipientAccountId":"111111111111","errorCode":"Failed","sourceIPAddress":"2001:db8::7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/Alice","userName":"Alice","accessKeyId":"AKIA1"}}`
	cases := []struct {
		f    Filter
		want bool
	}{
		{Filter{EventNames: []string{"consolelogin"}}, true},
		{Filter{EventNames: []string{"Console*"}, Regions: []string{"us-*"}}, true},
		{Filter{EventNames: []string{"GetObject"}}, false},
		{Filter{Principals: []string{"alice"}}, true},
		{Filter{Principals: []string{"*:user/alice"}}, true},
		{Filter{Principals: []string{"bob"}}, false},
		{Filter{AccessKeys: []string{"AKIA1"}}, true},
		{Filter{SourceIPs: []string{"2001:db8::/32"}}, true},
		{Filter{SourceIPs: []string{"10.0.0.0/8", "2001:db8::7"}}, true},
		{Filter{SourceIPs: []string{"10.0.0.0/8"}}, false},
		{Filter{ErrorCodes: []string{"Failed"}, Accounts: []string{"111111111111"}, EventSources: []string{"signin.amazonaws.com"}}, true},
		{Filter{Accounts: []string{"222222222222"}}, false},
	}
	for i, c := range cases {
		f := c.f
		if err := f.Compile(); err != nil {
			t.Fatal(err)
		}
		decodeOne(t, rec, func(e *Event) {
			if got := f.Match(e); got != c.want {
				t.Errorf("case %d %+v: got %v", i, c.f, got)
			}
		})
	}
}
