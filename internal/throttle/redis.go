package throttle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/redis/go-redis/v9"
)

// RedisConfig says where the Redis counters are.
type RedisConfig struct {
	// URL is REDIS_URL (redis://…).
	URL string
	// Prefix starts every key; instances sharing counters must share
	// it. Empty: "backoffice:throttle".
	Prefix string
	// Log hears when Redis fails and the counting falls back to this
	// instance's memory, and when it comes back.
	Log *slog.Logger
}

// redisTimeout bounds each Redis call: a sign-in waits for it, and a
// Redis that does not answer that fast is treated as down.
const redisTimeout = 250 * time.Millisecond

// OpenRedis counts in Redis, shared by every instance on the same
// server and prefix (httprate-redis: INCRBY and EXPIRE in one
// transaction per failure, one MGET per check). While Redis fails, the
// counting goes on in this instance's memory, and goes back to Redis as
// soon as it answers again; so an outage weakens the throttle to one
// instance's view rather than switching it off. It fails when Redis
// does not answer at start-up.
func OpenRedis(ctx context.Context, cfg RedisConfig, l Limits, opts ...Option) (*Counting, error) {
	ro, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, errors.New("throttle: REDIS_URL is not a redis:// URL")
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = 2*redisTimeout, redisTimeout, redisTimeout
	// A retry would double the wait of a sign-in on a Redis that is gone;
	// the fallback answers instead.
	ro.MaxRetries, ro.DialerRetries = -1, 1
	client := redis.NewClient(ro)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("throttle: Redis does not answer: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "backoffice:throttle"
	}
	counter := httprateredis.NewCounter(&httprateredis.Config{
		Client:       client,
		PrefixKey:    cfg.Prefix,
		WindowLength: l.Window,
		OnError: func(err error) {
			log.Error("sign-in throttle: Redis failed", slog.Any("error", err))
		},
		OnFallbackChange: func(activated bool) {
			if activated {
				log.Error("sign-in throttle: counting in this instance's memory until Redis answers again")
			} else {
				log.Info("sign-in throttle: counting in Redis again")
			}
		},
	})
	lim, err := New(counter, l, opts...)
	if err != nil {
		client.Close()
		return nil, err
	}
	lim.close = client.Close
	return lim, nil
}
