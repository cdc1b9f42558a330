package quotes

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// Quote is a draft as the CASCO workflow works with it: the stored
// draft, its decoded step forms, its offers and the policies issued
// from them. Load reads one, Save and Commit store its forms.
type Quote struct {
	Account string
	Draft   Draft
	Vehicle VehicleForm
	Owner   OwnerForm
	Cover   CoverForm
	Offers  []Offer
	// Asks are the insurers still being asked for offers.
	Asks     []Ask
	Policies []Policy
	// Unreadable names the steps whose stored form could not be decoded
	// (an older shape): they start afresh; the caller logs it.
	Unreadable []string
}

// StepsInOrder lists the steps a broker can open, in order (Steps
// without StepDone, which is a state rather than a page).
func StepsInOrder() []string {
	return []string{StepVehicle, StepOwner, StepCover, StepOffers, StepPolicy}
}

// NextStep is the step after step. The policy step (and anything
// unknown) leads back to the offers: a policy is reached by choosing an
// offer, never by moving on from a step.
func NextStep(step string) string {
	steps := StepsInOrder()
	for i, s := range steps[:len(steps)-1] {
		if s == step {
			return steps[i+1]
		}
	}
	return StepOffers
}

// Locked reports whether a policy was issued from the quote, which then
// no longer changes.
func (q *Quote) Locked() bool { return len(q.Policies) > 0 }

// GoodOffers are the offers that can become a policy: the providers'
// failures are kept beside them only to be shown.
func (q *Quote) GoodOffers() []Offer {
	var out []Offer
	for _, o := range q.Offers {
		if o.Error == "" && o.OfferID != "" {
			out = append(out, o)
		}
	}
	return out
}

// Offer returns the good offer with upstream id id.
func (q *Quote) Offer(id string) (Offer, bool) {
	for _, o := range q.GoodOffers() {
		if o.OfferID == id {
			return o, true
		}
	}
	return Offer{}, false
}

// Progress is the step the broker has reached: the first form not done,
// the offers once the three forms are, and StepDone with a policy
// (whatever the forms say, as they no longer matter).
func (q *Quote) Progress() string {
	switch {
	case q.Locked():
		return StepDone
	case !q.Vehicle.Done:
		return StepVehicle
	case !q.Owner.Done:
		return StepOwner
	case !q.Cover.Done:
		return StepCover
	default:
		return StepOffers
	}
}

// Reachable reports whether step can be opened: each step needs the
// ones before it done, and the policy step an offer to convert. A
// locked quote opens every step, to be read.
func (q *Quote) Reachable(step string) bool {
	switch step {
	case StepVehicle:
		return true
	case StepOwner:
		return q.Vehicle.Done || q.Locked()
	case StepCover:
		return q.Vehicle.Done && q.Owner.Done || q.Locked()
	case StepOffers:
		return q.Vehicle.Done && q.Owner.Done && q.Cover.Done || q.Locked()
	case StepPolicy:
		return q.Locked() || q.Reachable(StepOffers) && len(q.GoodOffers()) > 0
	}
	return false
}

// Title names the draft in the history: vehicle, plate, holder
// ("Dacia Logan · B-123-ABC · Ion Popescu"), cut to MaxTitle bytes,
// which SaveDraft would otherwise refuse. The history adds the date and
// the insurers asked, in the viewer's language.
func (q *Quote) Title() string {
	var parts []string
	if v := strings.TrimSpace(q.Vehicle.Make + " " + q.Vehicle.Model); v != "" {
		parts = append(parts, v)
	}
	if q.Vehicle.Plate != "" {
		parts = append(parts, q.Vehicle.Plate)
	}
	if h := q.HolderName(); h != "" {
		parts = append(parts, h)
	}
	return truncate(strings.Join(parts, " · "), MaxTitle)
}

// Contents is the step forms' input, without their state: when it
// changes, offers made for the old input no longer apply, but marking a
// step done or keeping an upstream message changes nothing asked.
func (q *Quote) Contents() string {
	v, o, c := q.Vehicle, q.Owner, q.Cover
	v.StepState, o.StepState, c.StepState = StepState{}, StepState{}, StepState{}
	b, _ := json.Marshal([]any{v, o, c}) // plain strings and slices: cannot fail
	return string(b)
}

// HolderName is the policyholder's name, as an audit entry records it.
func (q *Quote) HolderName() string {
	if q.Owner.IsCompany() {
		return q.Owner.CompanyName
	}
	return strings.TrimSpace(q.Owner.FirstName + " " + q.Owner.LastName)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Load reads the account's draft id with everything attached to it. A
// draft of another account, or an id that cannot be one, is
// ErrNotFound: a link to either must look the same.
func Load(ctx context.Context, s Store, account, id string) (*Quote, error) {
	d, err := s.GetDraft(ctx, account, id)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	q := &Quote{Account: account, Draft: d}
	if !decodeForm(d.Vehicle, &q.Vehicle) {
		q.Unreadable = append(q.Unreadable, StepVehicle)
	}
	if !decodeForm(d.Owner, &q.Owner) {
		q.Unreadable = append(q.Unreadable, StepOwner)
	}
	if !decodeForm(d.Cover, &q.Cover) {
		q.Unreadable = append(q.Unreadable, StepCover)
	}
	if q.Offers, q.Asks, err = s.Answers(ctx, account, id); err != nil {
		return nil, err
	}
	if q.Policies, err = s.Policies(ctx, account, id); err != nil {
		return nil, err
	}
	return q, nil
}

// decodeForm decodes a stored step form into out, reporting whether it
// could. A form of an older shape leaves out zero, so that the step
// starts afresh rather than the draft being lost; decoding into a copy
// keeps the fields json.Unmarshal fills before it meets the mismatch
// from passing for the broker's input.
func decodeForm[T any](raw json.RawMessage, out *T) bool {
	if len(raw) == 0 {
		return true
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	*out = v
	return true
}

// Save stores q's step forms, title and step as the draft version
// q.Draft.Version, and makes q.Draft the saved draft. A stale version is
// ErrConflict.
func Save(ctx context.Context, s Store, q *Quote) error {
	d := q.Draft
	var err error
	if d.Vehicle, err = json.Marshal(q.Vehicle); err != nil {
		return err
	}
	if d.Owner, err = json.Marshal(q.Owner); err != nil {
		return err
	}
	if d.Cover, err = json.Marshal(q.Cover); err != nil {
		return err
	}
	d.Step, d.Title = q.Progress(), q.Title()
	saved, err := s.SaveDraft(ctx, d)
	if err != nil {
		return err
	}
	q.Draft = saved
	return nil
}

// Commit applies a step's posted input (set) and saves it, when the
// form was filled from the stored version. Otherwise, or when another
// save got there first, it reports a conflict: q is reloaded as stored,
// with the posted input applied on top for the page to show (not
// saved), so nothing typed is lost and nothing saved elsewhere is
// overwritten unseen. Input that differs from what offers were asked
// for drops the offers; a locked quote keeps them, as its policy came
// from one.
func Commit(ctx context.Context, s Store, q *Quote, version int, set func(*Quote)) (conflict bool, err error) {
	before := q.Contents()
	set(q)
	if version == q.Draft.Version {
		err := Save(ctx, s, q)
		if err == nil {
			// The offers, and the answers still awaited, were for the
			// contents before.
			if (len(q.Offers) > 0 || len(q.Asks) > 0) && !q.Locked() && q.Contents() != before {
				if err := s.ReplaceOffers(ctx, q.Account, q.Draft.ID, nil); err != nil {
					return false, err
				}
				q.Offers, q.Asks = nil, nil
			}
			return false, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
	}
	fresh, err := Load(ctx, s, q.Account, q.Draft.ID)
	if err != nil {
		return false, err
	}
	*q = *fresh
	set(q)
	return true, nil
}

// maxAttempts bounds the saves Settle and KeepUpstreamMessages try
// against concurrent ones: a draft saved that often meanwhile is being
// edited, and the caller reports the conflict instead.
const maxAttempts = 3

// Settle saves the draft's step and title as they now are (done, once a
// policy is recorded), reading it again first and again if another save
// came first. q becomes the draft as stored.
func Settle(ctx context.Context, s Store, q *Quote) error {
	for attempt := 1; ; attempt++ {
		fresh, err := Load(ctx, s, q.Account, q.Draft.ID)
		if err != nil {
			return err
		}
		*q = *fresh
		if q.Draft.Step == q.Progress() && q.Draft.Title == q.Title() {
			return nil
		}
		err = Save(ctx, s, q)
		if err == nil || !errors.Is(err, ErrConflict) || attempt == maxAttempts {
			return err
		}
	}
}

// KeepUpstreamMessages stores the CascoApi's messages (step → form field
// → message) on their steps, which are no longer done until saved
// again, and returns the first of those steps, for the broker to be
// sent to (StepCover when msgs names none). A concurrent save is met by
// reading the draft again and applying the messages on top.
func KeepUpstreamMessages(ctx context.Context, s Store, q *Quote, msgs map[string]map[string]string) (firstStep string, err error) {
	for attempt := 1; ; attempt++ {
		if m, ok := msgs[StepVehicle]; ok {
			q.Vehicle.Upstream, q.Vehicle.Done = m, false
		}
		if m, ok := msgs[StepOwner]; ok {
			q.Owner.Upstream, q.Owner.Done = m, false
		}
		if m, ok := msgs[StepCover]; ok {
			q.Cover.Upstream, q.Cover.Done = m, false
		}
		err := Save(ctx, s, q)
		if err == nil || !errors.Is(err, ErrConflict) || attempt == maxAttempts {
			for _, st := range []string{StepVehicle, StepOwner, StepCover} {
				if _, ok := msgs[st]; ok {
					return st, err
				}
			}
			return StepCover, err
		}
		fresh, lerr := Load(ctx, s, q.Account, q.Draft.ID)
		if lerr != nil {
			return "", lerr
		}
		*q = *fresh
	}
}
