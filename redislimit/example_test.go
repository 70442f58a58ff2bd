package redislimit_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/weir-go/weir/redislimit"
)

func ExampleSemaphore_Acquire() {
	mr, _ := miniredis.Run() // a real deployment connects to its Redis
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()

	sem, err := redislimit.New(rdb, "payments-api", 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sem.Close()

	ctx := context.Background()
	lease, err := sem.Acquire(ctx, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = sem.TryAcquire(ctx, 2)
	fmt.Println(err)
	// Run the work under lease.Context(): it ends if the lease is lost.
	lease.Release()
	st, _ := sem.Stats(ctx)
	fmt.Println("in use:", st.InUse, "of", st.Limit)
	// Output:
	// redislimit: no capacity
	// in use: 0 of 3
}

// The seam a pool admits through. A Lease fits SharedLease as it is; a
// three-line adapter makes a Semaphore a SharedLimit.
type (
	SharedLimit interface {
		Acquire(ctx context.Context, weight int64) (SharedLease, error)
	}
	SharedLease interface {
		Context() context.Context
		Release()
	}
)

type shared struct{ s *redislimit.Semaphore }

func (a shared) Acquire(ctx context.Context, w int64) (SharedLease, error) {
	l, err := a.s.Acquire(ctx, w)
	if err != nil {
		return nil, err // never a typed nil inside the interface
	}
	return l, nil
}

var _ SharedLimit = shared{}

func Example_sharedLimit() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	sem, _ := redislimit.New(rdb, "api", 1)
	defer sem.Close()

	var limit SharedLimit = shared{sem}
	lease, err := limit.Acquire(context.Background(), 1)
	fmt.Println(err, lease.Context().Err())
	lease.Release()
	fmt.Println(lease.Context().Err())
	// Output:
	// <nil> <nil>
	// context canceled
}
