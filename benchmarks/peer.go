package benchmarks

import "context"

// Pool is one peer's pool, seen through the calls the scenarios make. Every
// job a Pool runs calls the work function given to the peer's New.
// A Pool is used from one goroutine at a time, except that Go may be
// called from many goroutines at once (the burst scenario does).
type Pool interface {
	// Go runs one job and keeps no handle to it. Peers whose Go waits for
	// admission (Peer.Blocking) block here while limit jobs run.
	Go(ctx context.Context) error
	// Submit runs one job and returns a handle to wait on. Peers without a
	// handle of their own return a channel made for the job, the usual
	// idiom, and their handle's Wait may be called once.
	Submit(ctx context.Context) (Handle, error)
	// Wait blocks until every job given to Go so far has finished. Every
	// call to Go must have returned before Wait is called. The pool
	// stays usable.
	Wait()
	// Close waits for the jobs given to Go and releases the pool's
	// goroutines. Handles from Submit must have been waited for.
	Close()
}

// Handle is the join handle Submit returns.
type Handle interface {
	Wait() error
}

// Resulter is implemented by the pools of peers that hand back a typed
// value per job. The job's value is 1.
type Resulter interface {
	SubmitResult(ctx context.Context) (ResultHandle, error)
}

// ResultHandle is the handle of a job that returns an int.
type ResultHandle interface {
	Wait() (int, error)
}

// Peer is one way to run jobs with a limit.
type Peer struct {
	Name string
	// New makes a pool that runs at most limit jobs at once (unless
	// Unbounded), each calling work.
	New func(limit int, work func()) Pool
	// Blocking peers wait in Go until a job may start, so the jobs they
	// have not started yet are goroutines of their callers, parked.
	// Non-blocking peers keep such jobs in a queue of their own.
	Blocking bool
	// Unbounded peers ignore the limit: plain goroutines, the reference
	// for what a job costs without any pool. They are never "the best
	// peer" in RESULTS.md.
	Unbounded bool
}

// Peers is every peer, weir first.
var Peers = []Peer{
	{Name: "weir", New: func(limit int, work func()) Pool { return NewWeir(limit, work) }},
	{Name: "ants", New: NewAnts, Blocking: true},
	{Name: "pond", New: NewPond},
	{Name: "conc", New: NewConc, Blocking: true},
	{Name: "xsync", New: NewXSync, Blocking: true},
	{Name: "errgroup", New: NewErrgroup, Blocking: true},
	{Name: "workerpool", New: NewWorkerpool},
	{Name: "chansem", New: NewChanSem, Blocking: true},
	{Name: "goroutines", New: NewGoroutines, Unbounded: true},
}

// Sem is a counting semaphore with weights, as golang.org/x/sync's.
type Sem interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// SemPeer is one semaphore implementation.
type SemPeer struct {
	Name string
	New  func(size int64) Sem
	// Weighted is false for semaphores that support only weight 1.
	Weighted bool
}

// SemPeers is every semaphore, weir first.
var SemPeers = []SemPeer{
	{Name: "weir", New: NewWeirSem, Weighted: true},
	{Name: "xsync", New: NewXSyncSem, Weighted: true},
	{Name: "chansem", New: NewChanSemSem},
}

// chanHandle is the handle of peers that have none: a channel made for
// one job, received from once.
type chanHandle chan error

func (c chanHandle) Wait() error { return <-c }

// doneHandle is the handle of a job that has already finished.
type doneHandle struct{}

func (doneHandle) Wait() error { return nil }
