// Package mototest starts a private moto_server for a test (or for `yagura demo`) on a free
// loopback port, and builds SDK configurations that talk to it.
package mototest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/yagura-dev/yagura/internal/awsx"
)

// ErrMissing says moto is not installed.
var ErrMissing = errors.New("moto_server is not on PATH: install it with `pip install 'moto[server]'` (yagura's tests and demo run the AWS emulator moto)")

// Server is a running moto_server.
type Server struct {
	URL  string
	Port int
	cmd  *exec.Cmd
}

// Start launches moto_server on a free loopback port and waits until it answers. logPath, when
// not empty, receives the server's output.
func Start(ctx context.Context, logPath string) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMissing
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Env = motoEnv()
		if logPath != "" {
			f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err == nil {
				cmd.Stdout, cmd.Stderr = f, f
			}
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start moto_server: %w", err)
		}
		s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, cmd: cmd}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if err := s.waitReady(ctx, exited); err != nil {
			s.Stop()
			lastErr = err
			continue
		}
		return s, nil
	}
	return nil, lastErr
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("moto_server exited at start (port %d)", s.Port)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto_server did not answer on port %d within 60s", s.Port)
}

// Stop ends the server and its children.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 50; i++ {
			if syscall.Kill(s.cmd.Process.Pid, 0) != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}

// Reset drops all of the emulator's state.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// motoEnv is this process's environment without empty AWS_ variables, which boto treats as set.
func motoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") && v == "" {
			continue
		}
		env = append(env, kv)
	}
	// AWS managed policies (AdministratorAccess, ReadOnlyAccess…) exist in every real account.
	return append(env, "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SetTestEnv points the AWS SDK's environment at fake credentials so nothing can reach real
// AWS from a test, whatever the developer's machine has configured.
func SetTestEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "") // registers the restore at the end of the test
		os.Unsetenv(k)  // an empty AWS_PROFILE would make boto (inside moto) look for profile ""
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// New starts a moto server for one test and stops it when the test ends. Without moto the test
// fails in CI (CI is set) and is skipped elsewhere, so a missing emulator never passes silently
// in CI.
func New(t testing.TB) *Server {
	t.Helper()
	SetTestEnv(t)
	// YAGURA_MOTO_LOG=FILE keeps the emulator's log for debugging a test.
	s, err := Start(context.Background(), os.Getenv("YAGURA_MOTO_LOG"))
	if errors.Is(err, ErrMissing) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Config returns an SDK configuration for the given region (default us-east-1) talking to the
// server with the caller's (management account's) test credentials.
func (s *Server) Config(t testing.TB, region string) aws.Config {
	t.Helper()
	if region == "" {
		region = "us-east-1"
	}
	cfg, err := awsx.Load(context.Background(), awsx.Options{Region: region, EndpointURL: s.URL})
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}
