package casco

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"backoffice/apiclient"
)

// Renewals shares token renewals between the processes that serve one
// partner. The CascoApi rotates the refresh token on every PATCH /auth
// and refuses a spent one; two dashboard instances renewing the same
// login at once would otherwise make the second one's partner sign in
// again. A renewal is named by its refresh token: exactly one process
// claims it and renews, the others adopt the tokens it stored; and a
// session resumed later from the spent pair (a stale copy of the session)
// adopts them too instead of spending it again.
type Renewals interface {
	// Claim makes the caller the one to renew the refresh token named by
	// key (won), or reports that another process does or did.
	Claim(ctx context.Context, key string) (won bool, err error)
	// Result returns the tokens the renewal named by key produced: done
	// false while it runs; ErrNoRenewal when there is none (it failed and
	// was released, or expired), so that the caller may claim it.
	Result(ctx context.Context, key string) (t Tokens, done bool, err error)
	// Finish keeps the tokens a claimed renewal produced.
	Finish(ctx context.Context, key string, t Tokens) error
	// Release forgets a claimed renewal that failed, so that another
	// caller may try.
	Release(ctx context.Context, key string) error
}

// ErrNoRenewal: no renewal of that refresh token is claimed or kept.
var ErrNoRenewal = errors.New("casco: no such renewal")

// ShareRenewals makes the client coordinate its renewals through r, with
// every other process using the same store. Call it before the client
// serves (it is not synchronized with calls in flight).
func (c *Client) ShareRenewals(r Renewals) { c.renewals = r }

// renewalPoll is how often a process that lost a renewal's claim looks
// for the winner's tokens.
const renewalPoll = 50 * time.Millisecond

// renewOnce renews refresh token rt (digest its SHA-256), through the
// shared renewals when there are some. A store that fails is logged and
// passed over: renewing alone works for this process, at worst costing
// another instance's partner a second sign-in, which is what happens
// without a shared store anyway.
func (c *Client) renewOnce(ctx context.Context, rt string, digest []byte) (Tokens, error) {
	if c.renewals == nil {
		return c.refresh(ctx, rt)
	}
	key := hex.EncodeToString(digest)
	deadline := c.now().Add(c.cfg.Timeout + 2*time.Second)
	for {
		won, err := c.renewals.Claim(ctx, key)
		if err != nil {
			c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "casco: shared renewal store failed; renewing alone",
				slog.String("error", apiclient.Redact(err.Error())))
			return c.refresh(ctx, rt)
		}
		if won {
			t, err := c.refresh(ctx, rt)
			if err != nil {
				if rerr := c.renewals.Release(ctx, key); rerr != nil {
					c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "casco: releasing a failed renewal failed",
						slog.String("error", apiclient.Redact(rerr.Error())))
				}
				return t, err
			}
			if ferr := c.renewals.Finish(ctx, key, t); ferr != nil {
				c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "casco: keeping renewed tokens for other instances failed",
					slog.String("error", apiclient.Redact(ferr.Error())))
			}
			return t, nil
		}
		t, claimAgain, err := c.awaitRenewal(ctx, key, deadline)
		if !claimAgain {
			return t, err
		}
	}
}

// awaitRenewal waits for another process's renewal of key. claimAgain
// reports that it failed (and was released): the caller may claim it.
func (c *Client) awaitRenewal(ctx context.Context, key string, deadline time.Time) (t Tokens, claimAgain bool, err error) {
	for {
		t, done, err := c.renewals.Result(ctx, key)
		switch {
		case errors.Is(err, ErrNoRenewal):
			return Tokens{}, true, nil
		case err != nil:
			return Tokens{}, false, apiclient.TransportError(upstream, "PATCH /auth", err)
		case done:
			return t, false, nil
		}
		if c.now().After(deadline) {
			// The winner died mid-renewal: its claim stays until it
			// expires, and nobody knows whether the refresh token is spent.
			return Tokens{}, false, apiclient.TransportError(upstream, "PATCH /auth", errors.New("a renewal by another instance did not finish"))
		}
		select {
		case <-ctx.Done():
			return Tokens{}, false, apiclient.TransportError(upstream, "PATCH /auth", ctx.Err())
		case <-time.After(renewalPoll):
		}
	}
}
