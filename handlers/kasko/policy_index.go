package kasko

import (
	"context"
	"time"

	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/internal/indexsync"
)

// indexPolicy writes a policy the upstream just showed through to the
// index: a row that differs from the live policy is corrected on sight.
// Only a secret key's view is written (a public key's lacks the email
// and data the row keeps), and only for a tenant the index covers: the
// index holds no rows of tenants it does not sync. A failure costs
// freshness, never the page.
func (h *Handlers) indexPolicy(ctx context.Context, pol *kaskoapi.Policy) {
	u := currentUser(ctx)
	if h.index == nil || u == nil || u.ReadOnly() || pol == nil || pol.IsWithheld("email") {
		return
	}
	tv, err := h.views.get(ctx, h.index, u.Tenant, h.now())
	if err != nil || tv.sync.FullStarted.IsZero() && tv.sync.FullDone.IsZero() {
		return
	}
	// Written on a context of its own: a browser that leaves must not
	// undo what the upstream already said.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexWriteTimeout)
	defer cancel()
	if err := indexsync.Refresh(ctx, h.index, u.Tenant, pol, h.now()); err != nil {
		h.core.Log.WarnContext(ctx, "policy index: write-through failed", "policy", pol.ID, "err", err)
	}
	// This instance's next list shows the row at once.
	h.views.forget(u.Tenant)
}

// pokeIndex asks the sync for the head of the user's list now (a policy
// was just created here). Another instance's sync finds it by its next
// poll or by the webhook.
func (h *Handlers) pokeIndex(ctx context.Context) {
	if h.poke != nil {
		if u := currentUser(ctx); u != nil {
			h.poke(u.Tenant)
		}
	}
}

// indexWriteTimeout bounds a write-through: one row in a local index.
const indexWriteTimeout = 5 * time.Second
