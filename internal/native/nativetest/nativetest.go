// Package nativetest serves AWS APIs that moto lacks from httptest servers in the services'
// real wire formats, for the native-findings collectors' tests.
package nativetest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/awsx"
	"github.com/yagura-dev/yagura/internal/mototest"
)

// Request is one call the server received.
type Request struct {
	Method, Path, Target string // Target: the X-Amz-Target operation of JSON-protocol APIs
	Query                string
	Header               http.Header
	Body                 map[string]any
	Form                 url.Values // the body of query-protocol APIs (IAM, STS): Action=GetUser&UserName=…
}

// Server is an httptest server that records the calls it answered.
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	calls []Request
}

// Calls returns the calls answered so far.
func (s *Server) Calls() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.calls...)
}

// Serve starts a server whose handler gets each request with its decoded JSON body, and a
// configuration (test credentials, region) pointed at it.
func Serve(t *testing.T, region string, h func(w http.ResponseWriter, r Request)) (*Server, aws.Config) {
	t.Helper()
	mototest.SetTestEnv(t)
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		b, _ := io.ReadAll(hr.Body)
		req := Request{Method: hr.Method, Path: hr.URL.Path, Query: hr.URL.RawQuery, Header: hr.Header}
		if tgt := hr.Header.Get("X-Amz-Target"); tgt != "" {
			req.Target = tgt[strings.LastIndex(tgt, ".")+1:]
		}
		if len(b) > 0 {
			_ = json.Unmarshal(b, &req.Body)
		}
		if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			req.Form, _ = url.ParseQuery(string(b))
		}
		s.mu.Lock()
		s.calls = append(s.calls, req)
		s.mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(s.Close)
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: region, EndpointURL: s.URL, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// JSON writes a 200 answer.
func JSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, body)
}

// Error writes an error the way AWS's JSON protocols (REST-JSON and JSON 1.1) do: the code in
// the x-amzn-ErrorType header and in the body's __type, the text in message.
func Error(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	_, _ = w.Write(b)
}

// XML writes a 200 answer of a query-protocol API (IAM, STS).
func XML(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, body)
}

// XMLError writes an error the way query-protocol APIs do.
func XMLError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>`+code+`</Code><Message>`+message+
		`</Message></Error><RequestId>4f3c0d2e-0000-0000-0000-000000000000</RequestId></ErrorResponse>`)
}

// IAMUser answers IAM GetUser with the user NAME at PATH (e.g. "/ops/") of account.
func IAMUser(w http.ResponseWriter, account, path, name string) {
	XML(w, `<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Path>`+path+`</Path>
		<UserName>`+name+`</UserName><UserId>AIDA`+strings.ToUpper(name)+`</UserId><Arn>arn:aws:iam::`+account+`:user`+path+name+`</Arn>
		<CreateDate>2026-01-01T00:00:00Z</CreateDate></User></GetUserResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetUserResponse>`)
}
