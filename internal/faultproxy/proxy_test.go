package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// send makes an EC2-style query call signed with a made-up key (the proxy only reads the header).
func send(url, body string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	code, answer, err := send(url, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, answer
}

// Memoized calls reach the target once per distinct request; later copies are answered from
// memory, still after the proxy's own throttling; calls it does not select always go through.
func TestMemoizeAnswersRepeatsFromMemory(t *testing.T) {
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), "Fail") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, "<answer>"+string(b)+"</answer>")
	}))
	defer upstream.Close()
	p, err := Start(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Memo = &Memo{Select: func(c *Call) bool { return strings.HasPrefix(c.Action, "Describe") }}

	for i := 0; i < 3; i++ {
		if code, body := post(t, p.URL, "Action=DescribeVpcs&Version=2016-11-15"); code != 200 || body != "<answer>Action=DescribeVpcs&Version=2016-11-15</answer>" {
			t.Fatalf("call %d: %d %q", i, code, body)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("target answered %d identical memoized calls, want 1", n)
	}
	post(t, p.URL, "Action=DescribeVpcs&Version=2016-11-15&NextToken=2")
	post(t, p.URL, "Action=RunInstances&Version=2016-11-15")
	post(t, p.URL, "Action=RunInstances&Version=2016-11-15")
	if n := hits.Load(); n != 4 {
		t.Fatalf("target answered %d calls, want 4 (a new page and two unmemoized calls)", n)
	}
	// A failed answer is not kept.
	post(t, p.URL, "Action=DescribeFail")
	if code, _ := post(t, p.URL, "Action=DescribeFail"); code != 500 || hits.Load() != 6 {
		t.Fatalf("failed answers were memoized: code %d, %d hits", code, hits.Load())
	}
	if p.Memoized.Load() != 2 || p.Memo.Len() != 2 {
		t.Fatalf("Memoized = %d, %d answers kept; want 2 and 2", p.Memoized.Load(), p.Memo.Len())
	}
	// JSON protocols name the action in a header: same body, different actions, two answers.
	p.Memo.Select = func(*Call) bool { return true }
	for _, target := range []string{"AWSOrganizationsV20161128.DescribeOrganization", "AWSOrganizationsV20161128.ListAccounts"} {
		req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := hits.Load(); n != 8 {
		t.Fatalf("target answered %d calls, want 8: two JSON actions with one body were taken for one call", n)
	}
}

// A held account's calls wait until released; other accounts' calls go through meanwhile.
func TestHoldAccount(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()
	p, err := Start(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	release := p.HoldAccount(p.DefaultAcct)
	done := make(chan struct{})
	go func() {
		send(p.URL, "Action=DescribeVpcs")
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("a held account's call went through")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the call stayed held after release")
	}
}
