package pool

import "errors"

// The errors a Pool returns. Context errors are returned unchanged, so
// errors.Is(err, context.DeadlineExceeded) works; the others wrap one of
// these sentinels, so errors.Is(err, pool.ErrClosed) works.
var (
	// ErrClosed: the pool is shutting down or shut down. Submit, TrySubmit,
	// Do and Resize return it after Shutdown or Close began, and a
	// submitter waiting for admission when shutdown begins gets it too. A
	// job that a forced shutdown stops before it runs ends with an error
	// matching both ErrClosed and job.ErrCanceled.
	ErrClosed = errors.New("pool: closed")

	// ErrQueueFull: as many submitters as WithMaxWaiting allows already
	// wait for admission, so this one is turned away at once
	// (backpressure instead of unbounded memory).
	ErrQueueFull = errors.New("pool: queue full")

	// ErrFull: TrySubmit could not have the job's weight without waiting.
	ErrFull = errors.New("pool: no capacity")

	// ErrWeightExceedsLimit: the job's weight is above the pool's limit, so
	// it could never run. A submitter waiting for admission gets it when a
	// Resize lowers the limit below its weight.
	ErrWeightExceedsLimit = errors.New("pool: weight exceeds limit")

	// ErrInvalidWeight: a job's weight is below 1.
	ErrInvalidWeight = errors.New("pool: invalid weight")

	// ErrInvalidLimit: New or Resize was given a limit below 1.
	ErrInvalidLimit = errors.New("pool: invalid limit")

	// ErrNilJob: the job (or function) submitted is nil, including a nil
	// job.Func.
	ErrNilJob = errors.New("pool: nil job")

	// ErrNilContext: a nil context.Context was passed.
	ErrNilContext = errors.New("pool: nil context")

	// ErrInvalidOption: an Option passed to New is invalid, such as a
	// nil logger or a negative WithMaxWaiting.
	ErrInvalidOption = errors.New("pool: invalid option")
)
