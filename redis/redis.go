// Package redis keeps passkeyd's sessions in Redis, for deployments that
// run several instances and would rather not put session traffic on the
// database. Users, passkeys and pending ceremonies stay in the database.
//
// It is a thin layer over github.com/alexedwards/scs/goredisstore and
// github.com/redis/go-redis: it parses the URL, checks that Redis answers,
// and closes the client.
package redis

import (
	"context"
	"fmt"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	goredis "github.com/redis/go-redis/v9"
)

// keyPrefix keeps passkeyd's session keys apart from anything else in the
// same Redis database.
const keyPrefix = "passkeyd:session:"

// Sessions is a session store in Redis.
type Sessions struct {
	client *goredis.Client
	store  *goredisstore.RedisStore
}

// Open connects to the Redis at url ("redis://HOST:PORT/N", with
// "rediss://" for TLS and an optional user and password) and checks that
// it answers within ctx.
func Open(ctx context.Context, url string) (*Sessions, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	// Without this the client ignores a context's deadline on the socket
	// and waits out its own read (3 s) and dial (5 s) timeouts: /healthz's
	// 2 s bound would not hold while Redis hangs.
	opts.ContextTimeoutEnabled = true
	client := goredis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: %s does not answer: %w", opts.Addr, err)
	}
	store := goredisstore.NewWithPrefix(client, keyPrefix)
	return &Sessions{client: client, store: store}, nil
}

// Store returns the scs session store.
func (s *Sessions) Store() scs.Store { return s.store }

// Ping reports whether Redis answers.
func (s *Sessions) Ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// Close closes the connection pool.
func (s *Sessions) Close() error { return s.client.Close() }
