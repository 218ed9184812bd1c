package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/yagura-dev/yagura/internal/scan"
)

// progress shows a scan's counters: a live status line on a terminal, a log line every few
// seconds otherwise. Log lines written meanwhile clear the status line first.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	live  bool
	shown bool
	stats *scan.Stats
	stop  chan struct{}
	done  chan struct{}
	log   *slog.Logger
}

func newProgress(out io.Writer, live bool, stats *scan.Stats) *progress {
	return &progress{out: out, live: live, stats: stats, stop: make(chan struct{}), done: make(chan struct{})}
}

// Write lets the logger print through the progress display.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.out, "\r\033[K")
		p.shown = false
	}
	return p.out.Write(b)
}

func (p *progress) start() {
	go func() {
		defer close(p.done)
		interval := 10 * time.Second
		if p.live {
			interval = 200 * time.Millisecond
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.render()
			}
		}
	}()
}

func (p *progress) finish() {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	if p.shown {
		fmt.Fprint(p.out, "\r\033[K")
		p.shown = false
	}
	p.mu.Unlock()
}

func (p *progress) line() string {
	s := p.stats
	elapsed := time.Since(s.Started)
	done, total := s.TasksDone.Load(), s.Tasks.Load()
	eta := "?"
	if done > 0 && total >= done {
		eta = fmtDuration(time.Duration(float64(elapsed) / float64(done) * float64(total-done)))
	}
	return fmt.Sprintf("accounts %d/%d · regions %d · tasks %d/%d · failed %d · API calls %d · throttled %d · elapsed %s · ETA %s",
		s.AccountsDone.Load(), s.Accounts.Load(), s.Regions.Load(), done, total, s.Failed.Load(),
		s.Calls(), s.Throttles(), fmtDuration(elapsed), eta)
}

func (p *progress) render() {
	line := p.line()
	if !p.live {
		if p.log != nil {
			p.log.Info("progress: " + line)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.out, "\r\033[K"+line)
	p.shown = true
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
