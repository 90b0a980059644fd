package daemon

import (
	"context"
	"log/slog"
	"time"
)

// retainEvery is how often retention runs.
const retainEvery = time.Hour

// scheduler publishes: it runs the engine's Tick when a slot opens, a
// retry or cutoff is due, or it is poked (an extract was taken, the
// configuration changed), and retention every hour. Only it publishes, so
// publications never overlap.
type scheduler struct {
	e     *Engine
	log   *slog.Logger
	grace time.Duration
	kick  chan bool // true: also apply retention
}

func newScheduler(e *Engine, log *slog.Logger, grace time.Duration) *scheduler {
	return &scheduler{e: e, log: log, grace: grace, kick: make(chan bool, 1)}
}

// Poke asks for a round soon; it never blocks.
func (s *scheduler) Poke(retain bool) {
	select {
	case s.kick <- retain:
	default: // a round is already asked for; it sees the same state
	}
}

// Run runs rounds until ctx is done. The stop abandons an outbox operation
// in progress (the engine's context); Run waits up to the grace for the
// round to end.
func (s *scheduler) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.loop(ctx)
	}()
	<-ctx.Done()
	waitGrace(done, s.grace, s.log, "a publication was still in progress; it is finished or rolled back at the next start")
	return nil
}

func (s *scheduler) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	retain := time.NewTicker(retainEvery)
	defer retain.Stop()
	doRetain := true
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.kick:
			doRetain = doRetain || r
		case <-timer.C:
		case <-retain.C:
			doRetain = true
		}
		if ctx.Err() != nil {
			return
		}
		if doRetain {
			s.e.Retain()
			doRetain = false
		}
		timer.Reset(time.Until(s.e.Tick()))
	}
}
