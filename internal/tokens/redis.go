package tokens

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"backoffice/internal/sqlstore"
)

// DefaultNamespace starts every Redis key of the store unless another
// is configured.
const DefaultNamespace = "backoffice:tokens:"

// Redis is a Store on a Redis server, shared by every instance using
// the same server and namespace. Each record is a hash that Redis
// expires by itself (PEXPIREAT); whatever must be atomic (claiming,
// creating with the owner's bound) is one Lua script, and "now" in the
// scripts is the server's TIME, the one clock all instances share.
//
// Keys, after the namespace:
//
//	r:<key>    hash: owner, kind, subject, state, created, expires
//	           (Unix microseconds), claimed, finished ("1"), result
//	o:<owner>  sorted set of the owner's keys by created
//	x:<owner>  sorted set of the same keys by expires
//
// The two sorted sets expire with the owner's longest-lived record. The
// scripts reach record and index keys they derive themselves, which a
// single server (or a primary with replicas) allows and Redis Cluster
// does not.
type Redis struct {
	c     redis.UniversalClient
	ns    string
	owned bool
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on c with keys under namespace (""
// means DefaultNamespace). Close leaves c open: it is the caller's,
// and may be shared (with the session store, say).
func NewRedis(c redis.UniversalClient, namespace string) *Redis {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Redis{c: c, ns: namespace}
}

// openRedis connects to url and checks that the server answers.
func openRedis(ctx context.Context, url, namespace string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("tokens: REDIS_URL: %s", redactUserinfo(err.Error()))
	}
	c := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("tokens: redis at %s: %w", opts.Addr, err)
	}
	s := NewRedis(c, namespace)
	s.owned = true
	return s, nil
}

// redactUserinfo hides what lies between "://" and "@" in an error
// message: go-redis may quote the URL it could not parse, password
// included.
func redactUserinfo(msg string) string {
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.LastIndex(msg[i+3:], "@"); j >= 0 {
			return msg[:i+3] + "REDACTED" + msg[i+3+j:]
		}
	}
	return msg
}

func (s *Redis) recordKey(key string) string   { return s.ns + "r:" + key }
func (s *Redis) byCreated(owner string) string { return s.ns + "o:" + owner }
func (s *Redis) byExpiry(owner string) string  { return s.ns + "x:" + owner }

// micros is t as the hashes and sorted sets keep it.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// expiryMillis is PEXPIREAT's argument for an expiry: rounded up, so
// that Redis never drops a record before its Expires.
func expiryMillis(t time.Time) string {
	us := t.UnixMicro()
	return strconv.FormatInt((us+999)/1000, 10)
}

// luaCommon is what the scripts share. Numbers are formatted with
// %.0f: Lua's own number-to-string conversion would turn a Unix time in
// microseconds into 1.7e+15.
const luaCommon = `
local function fmt(n) return string.format('%.0f', n) end
local function clock()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- created returns a creation time for KEYS[2]'s owner: now, or just
-- after the owner's newest, so that "newest" is a strict order.
local function created(now)
	local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
	if #last == 2 and tonumber(last[2]) >= now then return tonumber(last[2]) + 1 end
	return now
end
local function zrem(key, members)
	for i = 1, #members, 500 do
		redis.call('ZREM', key, unpack(members, i, math.min(i + 499, #members)))
	end
end
-- keepUntil makes an index outlive its records: PEXPIREAT NX sets a
-- first expiry, GT only ever extends it.
local function keepUntil(key, ms)
	redis.call('PEXPIREAT', key, ms, 'NX')
	redis.call('PEXPIREAT', key, ms, 'GT')
end
-- put writes the record (ARGV: key, owner, kind, subject, state,
-- expires us, expires ms) created at c, claimed at claimed (or not),
-- and lists it in its owner's indexes KEYS[2] and KEYS[3], which forget
-- the members that expired by now.
local function put(now, c, claimed)
	redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'kind', ARGV[3], 'subject', ARGV[4], 'state', ARGV[5],
		'created', fmt(c), 'expires', ARGV[6])
	if claimed then redis.call('HSET', KEYS[1], 'claimed', fmt(claimed)) end
	redis.call('PEXPIREAT', KEYS[1], ARGV[7])
	local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', fmt(now))
	if #dead > 0 then
		redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', fmt(now))
		zrem(KEYS[2], dead)
	end
	redis.call('ZADD', KEYS[2], fmt(c), ARGV[1])
	redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
	keepUntil(KEYS[2], ARGV[7])
	keepUntil(KEYS[3], ARGV[7])
end
`

// createScript: KEYS record, owner by created, owner by expiry; ARGV
// as put's, then perOwner and the record key prefix. 0: the key exists.
var createScript = redis.NewScript(luaCommon + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = clock()
put(now, created(now), nil)
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[8])
if over > 0 then
	local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
	for _, m in ipairs(old) do
		-- A key reused after it expired may be another owner's now.
		local rk = ARGV[9] .. m
		if redis.call('HGET', rk, 'owner') == ARGV[2] then redis.call('DEL', rk) end
	end
	redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
	zrem(KEYS[3], old)
end
return 1
`)

// claimNewScript: KEYS and ARGV as put's, then the namespace. 1: won.
// An unclaimed record is replaced, and leaves its owner's indexes when
// the new one is another owner's.
var claimNewScript = redis.NewScript(luaCommon + `
local old = redis.call('HMGET', KEYS[1], 'created', 'claimed', 'owner')
if old[2] then return 0 end
if old[1] then
	redis.call('DEL', KEYS[1])
	if old[3] ~= ARGV[2] then
		redis.call('ZREM', ARGV[8] .. 'o:' .. old[3], ARGV[1])
		redis.call('ZREM', ARGV[8] .. 'x:' .. old[3], ARGV[1])
	end
end
local now = clock()
local c = created(now)
put(now, c, c)
return 1
`)

// claimScript: KEYS record. -1: no record; HSETNX's 1 for the winner.
var claimScript = redis.NewScript(luaCommon + `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return -1 end
local won = redis.call('HSETNX', KEYS[1], 'claimed', fmt(clock()))
-- Out of the owner's bound: a write under way is not an open form.
if won == 1 then redis.call('ZREM', ARGV[1] .. 'o:' .. owner, ARGV[2]) end
return won
`)

// setStateScript: KEYS record; ARGV state. 0: no record (a bare HSET
// would create one).
var setStateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 1
`)

// finishScript: KEYS record; ARGV result, expires us ("": keep),
// expires ms, namespace, key. -1: no record; -2: not claimed.
var finishScript = redis.NewScript(luaCommon + `
local h = redis.call('HMGET', KEYS[1], 'created', 'claimed', 'owner')
if not h[1] then return -1 end
if not h[2] then return -2 end
redis.call('HSET', KEYS[1], 'result', ARGV[1], 'finished', '1')
if ARGV[2] ~= '' then
	redis.call('HSET', KEYS[1], 'expires', ARGV[2])
	redis.call('PEXPIREAT', KEYS[1], ARGV[3])
	local bye = ARGV[4] .. 'x:' .. h[3]
	redis.call('ZADD', bye, 'XX', ARGV[2], ARGV[5])
	keepUntil(ARGV[4] .. 'o:' .. h[3], ARGV[3])
	keepUntil(bye, ARGV[3])
end
return 1
`)

// releaseScript: KEYS record; ARGV namespace, key. -1: no record; -2:
// finished. A released record is an open form again: back in its
// owner's bound.
var releaseScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'created', 'finished', 'claimed', 'owner')
if not h[1] then return -1 end
if h[2] then return -2 end
if not h[3] then return 1 end
redis.call('HDEL', KEYS[1], 'claimed')
if h[4] ~= '' then
	local idx = ARGV[1] .. 'o:' .. h[4]
	redis.call('ZADD', idx, h[1], ARGV[2])
	local ttl = redis.call('PTTL', KEYS[1])
	if ttl > redis.call('PTTL', idx) then redis.call('PEXPIRE', idx, ttl) end
end
return 1
`)

// findScript: KEYS owner by created; ARGV owner, kind, subject, record
// key prefix. The owner's newest matching unclaimed record's hash, as
// HGETALL gives it, or nothing. The index is bounded by Create's
// perOwner, so the walk is short.
var findScript = redis.NewScript(`
local keys = redis.call('ZREVRANGE', KEYS[1], 0, -1)
for _, k in ipairs(keys) do
	local rk = ARGV[4] .. k
	local h = redis.call('HMGET', rk, 'owner', 'kind', 'subject', 'claimed')
	if h[1] == ARGV[1] and h[2] == ARGV[2] and h[3] == ARGV[3] and not h[4] then
		local all = redis.call('HGETALL', rk)
		table.insert(all, 'key')
		table.insert(all, k)
		return all
	end
end
return {}
`)

// run runs a script returning an integer.
func (s *Redis) run(ctx context.Context, sc *redis.Script, what string, keys []string, args ...any) (int64, error) {
	n, err := sc.Run(ctx, s.c, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("tokens: %s (Redis): %w", what, err)
	}
	return n, nil
}

// putArgs are the script arguments put reads.
func putArgs(r Record) []any {
	return []any{r.Key, r.Owner, r.Kind, r.Subject, r.State, micros(r.Expires), expiryMillis(r.Expires)}
}

// Create implements Store.
func (s *Redis) Create(ctx context.Context, r Record, perOwner int) error {
	rec, err := checkRecord(r, sqlstore.Instant(time.Now()))
	if err != nil {
		return err
	}
	if err := checkPerOwner(perOwner); err != nil {
		return err
	}
	args := append(putArgs(rec), perOwner, s.ns+"r:")
	n, err := s.run(ctx, createScript, "creating a record", []string{s.recordKey(rec.Key), s.byCreated(rec.Owner), s.byExpiry(rec.Owner)}, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return invalid("key exists")
	}
	return nil
}

// Find implements Store.
func (s *Redis) Find(ctx context.Context, owner, kind, subject string) (Record, bool, error) {
	if err := checkFind(owner, kind, subject); err != nil {
		return Record{}, false, err
	}
	res, err := findScript.Run(ctx, s.c, []string{s.byCreated(owner)}, owner, kind, subject, s.ns+"r:").StringSlice()
	if err != nil {
		return Record{}, false, fmt.Errorf("tokens: finding a record (Redis): %w", err)
	}
	if len(res) == 0 {
		return Record{}, false, nil
	}
	h := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		h[res[i]] = res[i+1]
	}
	r, err := parseHash(h["key"], h)
	if err != nil {
		return Record{}, false, err
	}
	return r, true, nil
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, err
	}
	h, err := s.c.HGetAll(ctx, s.recordKey(key)).Result()
	if err != nil {
		return Record{}, fmt.Errorf("tokens: reading a record (Redis): %w", err)
	}
	if len(h) == 0 {
		return Record{}, ErrNotFound
	}
	return parseHash(key, h)
}

// parseHash reads a record's hash.
func parseHash(key string, h map[string]string) (Record, error) {
	r := Record{Key: key, Owner: h["owner"], Kind: h["kind"], Subject: h["subject"], State: cloneState([]byte(h["state"]))}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"created", &r.Created}, {"expires", &r.Expires}, {"claimed", &r.Claimed}} {
		v, ok := h[f.name]
		if !ok {
			continue
		}
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("tokens: stored %s %q: %w", f.name, v, err)
		}
		*f.t = time.UnixMicro(us).UTC()
	}
	if h["finished"] != "" {
		r.Result = cloneResult([]byte(h["result"]))
	}
	return r, nil
}

// SetState implements Store.
func (s *Redis) SetState(ctx context.Context, key string, state []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	n, err := s.run(ctx, setStateScript, "setting a state", []string{s.recordKey(key)}, cloneState(state))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Claim implements Store.
func (s *Redis) Claim(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	n, err := s.run(ctx, claimScript, "claiming a record", []string{s.recordKey(key)}, s.ns, key)
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, ErrNotFound
	}
	return n == 1, nil
}

// ClaimNew implements Store.
func (s *Redis) ClaimNew(ctx context.Context, r Record) (bool, error) {
	rec, err := checkRecord(r, sqlstore.Instant(time.Now()))
	if err != nil {
		return false, err
	}
	args := append(putArgs(rec), s.ns)
	n, err := s.run(ctx, claimNewScript, "claiming a new record", []string{s.recordKey(rec.Key), s.byCreated(rec.Owner), s.byExpiry(rec.Owner)}, args...)
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Finish implements Store.
func (s *Redis) Finish(ctx context.Context, key string, result []byte, expires time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkResult(result); err != nil {
		return err
	}
	expUs, expMs := "", ""
	if !expires.IsZero() {
		exp, err := checkExpires(expires, sqlstore.Instant(time.Now()))
		if err != nil {
			return err
		}
		expUs, expMs = micros(exp), expiryMillis(exp)
	}
	n, err := s.run(ctx, finishScript, "finishing a record", []string{s.recordKey(key)}, cloneResult(result), expUs, expMs, s.ns, key)
	if err != nil {
		return err
	}
	switch n {
	case -1:
		return ErrNotFound
	case -2:
		return invalid("finishing a record that is not claimed")
	}
	return nil
}

// Release implements Store.
func (s *Redis) Release(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	n, err := s.run(ctx, releaseScript, "releasing a record", []string{s.recordKey(key)}, s.ns, key)
	if err != nil {
		return err
	}
	switch n {
	case -1:
		return ErrNotFound
	case -2:
		return invalid("releasing a finished record")
	}
	return nil
}

// Close implements Store: it closes the client Open made, and leaves
// one given to NewRedis to its owner.
func (s *Redis) Close() error {
	if s.owned {
		return s.c.Close()
	}
	return nil
}
