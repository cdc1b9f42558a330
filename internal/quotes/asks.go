package quotes

import (
	"slices"
	"time"
)

// AskBound is how long an insurer may be asked before its column shows
// it as failed (no answer): longer than any ask is let run, so that an
// ask left behind by an instance that stopped mid-ask ends too.
const AskBound = 60 * time.Second

// Ask is an insurer being asked for offers for a draft: its answer is
// awaited. Asks live in the store, so that every instance serving the
// draft's offers page sees them.
type Ask struct {
	Provider string
	// Token names the request that asked; only the answer of the
	// provider's latest request is kept (FinishAsk).
	Token string
	// StartedAt is when the provider was asked (UTC, microseconds).
	StartedAt time.Time
}

// Stale reports whether the ask has waited longer than AskBound at now.
func (a Ask) Stale(now time.Time) bool { return now.Sub(a.StartedAt) > AskBound }

// checkProviders validates the providers of StartAsks: at least one,
// each a name, none twice, at most MaxOffers.
func checkProviders(providers []string) error {
	if len(providers) == 0 {
		return invalid("no provider to ask")
	}
	if len(providers) > MaxOffers {
		return tooLarge("%d providers, at most %d", len(providers), MaxOffers)
	}
	for i, p := range providers {
		if err := checkName("provider", p, false); err != nil {
			return err
		}
		if slices.Contains(providers[:i], p) {
			return invalid("provider %q appears twice", p)
		}
	}
	return nil
}

// checkAnswer validates FinishAsk's offers: each is the provider's.
func checkAnswer(provider, token string, offers []Offer) error {
	if err := checkName("provider", provider, false); err != nil {
		return err
	}
	if err := checkName("ask token", token, false); err != nil {
		return err
	}
	for i, o := range offers {
		if o.Provider != provider {
			return invalid("offer %d is %q's, not %q's", i, o.Provider, provider)
		}
	}
	return nil
}
