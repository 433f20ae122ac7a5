package loadgen

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Paths returns the n znode paths a load over prefix uses:
// prefix/n000000, prefix/n000001, ...
func Paths(prefix string, n int) []string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("%s/n%06d", prefix, i)
	}
	return ps
}

// Setup is a set of znodes created for a load, through one server, by
// CreateZnodes; Remove deletes them.
type Setup struct {
	Addr   string // the server they were created through
	Prefix string
	Paths  []string
	// created are the prefix's ancestors that CreateZnodes created, and
	// Remove removes (deepest first) when they are empty.
	created []string
}

// connect opens a go-zookeeper session to addr and waits until it has one
// (at most 15 s).
func connect(ctx context.Context, addr string) (*zk.Conn, error) {
	c, events, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c, nil
			}
		case <-t.C:
			c.Close()
			return nil, fmt.Errorf("no session with %s within 15 s", addr)
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// CreateZnodes creates prefix (and any missing ancestor) and n children
// holding dataSize bytes each, through addr, in multis of 100 from 8
// goroutines. prefix must not exist yet: it is the caller's to remove, and
// a leftover from an interrupted run is reported rather than reused.
// progress, if set, gets the number created so far.
func CreateZnodes(ctx context.Context, addr, prefix string, n, dataSize int, progress func(done, total int)) (*Setup, error) {
	if !strings.HasPrefix(prefix, "/") || prefix == "/" || strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("prefix %q: want an absolute znode path other than /", prefix)
	}
	c, err := connect(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("setup through %s: %w", addr, err)
	}
	defer c.Close()
	s := &Setup{Addr: addr, Prefix: prefix, Paths: Paths(prefix, n)}
	var ancestors []string
	for p := path.Dir(prefix); p != "/"; p = path.Dir(p) {
		ancestors = append(ancestors, p)
	}
	acl := zk.WorldACL(zk.PermAll)
	for i := len(ancestors) - 1; i >= 0; i-- {
		_, err := c.Create(ancestors[i], nil, 0, acl)
		switch {
		case err == nil:
			s.created = append(s.created, ancestors[i])
		case !errors.Is(err, zk.ErrNodeExists):
			return nil, fmt.Errorf("create %s: %w", ancestors[i], err)
		}
	}
	if _, err := c.Create(prefix, nil, 0, acl); err != nil {
		if errors.Is(err, zk.ErrNodeExists) {
			err = fmt.Errorf("%w (left by an interrupted run? remove it, e.g. with zkCli.sh deleteall %s, or choose another --prefix)", err, prefix)
		}
		s.removeAncestors(c)
		return nil, fmt.Errorf("create %s: %w", prefix, err)
	}
	data := make([]byte, dataSize)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	err = batches(ctx, s.Paths, progress, func(ps []string) error {
		ops := make([]any, len(ps))
		for i, p := range ps {
			ops[i] = &zk.CreateRequest{Path: p, Data: data, Acl: acl}
		}
		_, err := c.Multi(ops...)
		return err
	})
	if err != nil {
		rmErr := s.remove(ctx, c, nil)
		return nil, errors.Join(fmt.Errorf("create the znodes under %s: %w", prefix, err), rmErr)
	}
	return s, nil
}

// batches calls f on slices of up to 100 paths from 8 goroutines; it
// stops at the first error.
func batches(ctx context.Context, paths []string, progress func(done, total int), f func([]string) error) error {
	const size, workers = 100, 8
	work := make(chan []string)
	var (
		mu    sync.Mutex
		done  int
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ps := range work {
				err := f(ps)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				done += len(ps)
				if progress != nil {
					progress(done, len(paths))
				}
				mu.Unlock()
			}
		}()
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	for i := 0; i < len(paths) && !failed() && ctx.Err() == nil; i += size {
		work <- paths[i:min(i+size, len(paths))]
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// Remove deletes the znodes, the prefix, and the ancestors CreateZnodes
// created (those still empty), through the server they were created
// through. Znodes already gone are not an error.
func (s *Setup) Remove(ctx context.Context, progress func(done, total int)) error {
	c, err := connect(ctx, s.Addr)
	if err != nil {
		return fmt.Errorf("remove %s through %s: %w", s.Prefix, s.Addr, err)
	}
	defer c.Close()
	return s.remove(ctx, c, progress)
}

func (s *Setup) remove(ctx context.Context, c *zk.Conn, progress func(done, total int)) error {
	children, _, err := c.Children(s.Prefix)
	if errors.Is(err, zk.ErrNoNode) {
		s.removeAncestors(c)
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", s.Prefix, err)
	}
	paths := make([]string, len(children))
	for i, ch := range children {
		paths[i] = s.Prefix + "/" + ch
	}
	err = batches(ctx, paths, progress, func(ps []string) error {
		ops := make([]any, len(ps))
		for i, p := range ps {
			ops[i] = &zk.DeleteRequest{Path: p, Version: -1}
		}
		_, err := c.Multi(ops...)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete the znodes under %s: %w", s.Prefix, err)
	}
	if err := c.Delete(s.Prefix, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("delete %s: %w", s.Prefix, err)
	}
	s.removeAncestors(c)
	return nil
}

func (s *Setup) removeAncestors(c *zk.Conn) {
	for i := len(s.created) - 1; i >= 0; i-- {
		c.Delete(s.created[i], -1) // NOTEMPTY: someone else uses it now
	}
}

// Visible reports how many children prefix has as seen through addr after
// a sync (so that a lagging follower or observer has caught up with the
// leader): -1 when prefix does not exist there (a different ensemble).
func Visible(ctx context.Context, addr, prefix string) (int, error) {
	c, err := connect(ctx, addr)
	if err != nil {
		return 0, fmt.Errorf("check %s through %s: %w", prefix, addr, err)
	}
	defer c.Close()
	if _, err := c.Sync(prefix); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return 0, fmt.Errorf("sync %s through %s: %w", prefix, addr, err)
	}
	ok, st, err := c.Exists(prefix)
	if err != nil {
		return 0, fmt.Errorf("exists %s through %s: %w", prefix, addr, err)
	}
	if !ok {
		return -1, nil
	}
	return int(st.NumChildren), nil
}
