package indexsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"backoffice/apiclient"
	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/index"
)

// run is one tenant's sync through one key, while this instance holds
// the lease. Its SyncState is kept in st and saved after every step, so
// that another instance (or this one after a restart) resumes from it.
type run struct {
	s           *Syncer
	key, tenant string
	st          index.SyncState
}

// sync brings the tenant up to date, then keeps it live until ctx ends,
// the key's tenant changes, or a step fails.
func (r *run) sync(ctx context.Context) error {
	s := r.s
	st, err := s.cfg.Store.SyncState(ctx, r.tenant)
	if err != nil {
		return fmt.Errorf("read sync state: %w", err)
	}
	st.Tenant = r.tenant
	r.st = st
	if r.st.Full || r.st.FullDone.IsZero() {
		if err := r.full(ctx, r.st.Full); err != nil {
			return err
		}
	}
	for {
		if t, owner := s.current(r.key); !owner || t != r.tenant {
			return errTenantChanged{}
		}
		now := s.cfg.Now()
		reconcile := r.st.FullDone.Add(s.cfg.ReconcileEvery)
		if !now.Before(reconcile) {
			if err := r.full(ctx, false); err != nil {
				return err
			}
			continue
		}
		poll := r.st.Polled.Add(s.cfg.PollEvery)
		if !now.Before(poll) {
			if err := r.poll(ctx); err != nil {
				return err
			}
			continue
		}
		next := poll
		if reconcile.Before(next) {
			next = reconcile
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.changed[r.key]:
			t.Stop()
			return errTenantChanged{}
		case <-s.pokes[r.key]:
			t.Stop()
			if err := r.poll(ctx); err != nil {
				return err
			}
		case <-t.C:
		}
	}
}

// full runs a full sync: every row the upstream shows, oldest first.
// With resume it continues the unfinished one in st from its cursor and
// keeps its start; otherwise it starts a new one. At the end, rows not
// seen since the start are deleted: they are gone upstream.
//
// Rows are written fullSyncBatch at a time (one transaction, then the
// cursor after them), and a pager reads the next pages while a batch is
// written, so that the upstream's time and the index's overlap. Memory
// stays bounded by one batch and readAheadPages pages, whatever the
// upstream holds.
func (r *run) full(ctx context.Context, resume bool) error {
	s := r.s
	if !resume {
		// Whole seconds, so that a store keeping coarser instants than
		// ours never counts a row seen in the first second as unseen.
		r.st.FullStarted = s.cfg.Now().Truncate(time.Second)
		r.st.Full, r.st.Cursor, r.st.Done, r.st.Total = true, "", 0, 0
		if err := r.save(ctx); err != nil {
			return err
		}
		s.log.Info("full sync starts", slog.String("tenant", r.tenant))
	} else {
		s.log.Info("full sync resumes", slog.String("tenant", r.tenant), slog.Int("done", r.st.Done), slog.Int("total", r.st.Total))
	}
	began := time.Now()
	restarts := 0
	b := batch{cursor: r.st.Cursor}
	var ahead *pager
	defer func() { ahead.stop() }()
	for {
		params := kasko.ListParams{Sort: "created_at", Limit: s.cfg.PageSize, OffsetPolicyID: b.cursor}
		page, err := ahead.take(params)
		if err != nil {
			ahead.stop()
			ahead = nil
			page, err = r.list(ctx, params)
		}
		if err != nil {
			// What was read so far is kept, also when the sync is being
			// stopped: a restart resumes after it.
			if ferr := r.flushOnStop(ctx, &b); ferr != nil {
				return errors.Join(err, ferr)
			}
			if r.st.Cursor != "" && errors.Is(err, apiclient.ErrBadRequest) && restarts < maxCursorRestarts {
				// The cursor's row is gone upstream, so there is no
				// "after it" any more: start over, keeping the start
				// time, so rows seen so far still count as seen.
				restarts++
				s.log.Info("full sync cursor gone upstream; starting over", slog.String("tenant", r.tenant))
				r.st.Cursor, r.st.Done = "", 0
				b.cursor = ""
				if err := r.save(ctx); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if err := r.switchIfResolved(page.Policies); err != nil {
			return err
		}
		rows, last := r.rows(page)
		full := len(rows) > 0 && len(rows) >= pageLimit(page.PolicyPage, s.cfg.PageSize)
		if full && last == "" {
			return errors.New("a list page without insurer policy ids cannot be followed")
		}
		b.add(rows, last, page.Meta.Total)
		if full && ahead == nil {
			ahead = r.startPager(ctx, kasko.ListParams{Sort: "created_at", Limit: s.cfg.PageSize, OffsetPolicyID: b.cursor})
		}
		// A reconciliation can take long: keep the head live meanwhile.
		// The first full sync ends with the newest rows anyway.
		pollNow := full && !r.st.FullDone.IsZero() && r.pollDue()
		if !full || pollNow || len(b.rows) >= fullSyncBatch || time.Since(b.flushed) >= fullSyncFlushEvery {
			if err := r.flush(ctx, &b); err != nil {
				return err
			}
		}
		if !full {
			break
		}
		if pollNow {
			if err := r.poll(ctx); err != nil {
				return err
			}
		}
	}
	deleted, err := s.cfg.Store.DeleteUnseen(ctx, r.tenant, r.st.FullStarted)
	if err != nil {
		return fmt.Errorf("delete unseen rows: %w", err)
	}
	r.st.Full, r.st.Cursor = false, ""
	r.st.FullDone = s.cfg.Now()
	if err := r.save(ctx); err != nil {
		return err
	}
	s.log.Info("full sync done", slog.String("tenant", r.tenant), slog.Int("rows", r.st.Done),
		slog.Int("deleted", deleted), slog.Duration("took", time.Since(began)))
	return nil
}

// fullSyncBatch is how many rows a full sync writes in one transaction
// (ten pages): each commit writes the pages of a dozen B-trees and the
// text index's new segment, so fewer, larger commits write less.
const fullSyncBatch = 1000

// fullSyncFlushEvery also ends a batch: the list shows a first sync's
// rows as they come (the first page's at once, the flush time starting
// at zero) rather than after a thousand of them, however slowly pages
// arrive.
const fullSyncFlushEvery = 500 * time.Millisecond

// batch is a full sync's rows read but not written yet, and where the
// sync stands after them.
type batch struct {
	rows    []index.Row
	flushed time.Time // when the batch was last written
	cursor  string    // the insurer policy id after the last row read
	total   int
	read    bool // a page was read since the last flush
}

func (b *batch) add(rows []index.Row, last string, total int) {
	b.rows = append(b.rows, rows...)
	if last != "" {
		b.cursor = last
	}
	b.total, b.read = total, true
}

// flush writes the batch's rows, then saves the cursor after them.
func (r *run) flush(ctx context.Context, b *batch) error {
	if !b.read {
		return nil
	}
	if len(b.rows) > 0 {
		if err := r.s.cfg.Store.Upsert(ctx, b.rows); err != nil {
			return fmt.Errorf("upsert rows: %w", err)
		}
	}
	r.st.Cursor = b.cursor
	r.st.Done += len(b.rows)
	r.st.Total = b.total
	r.st.Error = ""
	clear(b.rows)
	b.rows, b.read, b.flushed = b.rows[:0], false, time.Now()
	return r.save(ctx)
}

// flushOnStop flushes the batch, given a few seconds more when ctx has
// ended (a shutdown), so that rows already read are not asked for again.
func (r *run) flushOnStop(ctx context.Context, b *batch) error {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), flushOnStopWithin)
		defer cancel()
	}
	return r.flush(ctx, b)
}

// flushOnStopWithin bounds the write of a batch when the sync stops.
const flushOnStopWithin = 5 * time.Second

// pager reads a full sync's next pages ahead of it, in a goroutine of
// its own, each page's cursor taken from the page before, up to
// readAheadPages waiting. Each request is a single attempt: the first
// failure ends the pager, and the sync asks for that page again itself,
// with its retries and error records, so that only the sync's own
// goroutine ever touches its state.
type pager struct {
	cancel context.CancelFunc
	pages  chan pagerPage
	done   chan struct{}
}

type pagerPage struct {
	params kasko.ListParams
	page   listed
	err    error
}

// readAheadPages bounds the pages read but not taken: enough to keep
// the upstream busy while a batch is written, a few hundred kilobytes
// of decoded policies each.
const readAheadPages = 3

func (r *run) startPager(ctx context.Context, from kasko.ListParams) *pager {
	ctx, cancel := context.WithCancel(ctx)
	p := &pager{cancel: cancel, pages: make(chan pagerPage, readAheadPages), done: make(chan struct{})}
	client := r.s.cfg.Client.WithKey(r.key)
	limit := r.s.cfg.PageSize
	go func() {
		defer close(p.done)
		defer close(p.pages)
		params := from
		for {
			if err := r.s.lim.wait(ctx); err != nil {
				return
			}
			got := pagerPage{params: params, page: listed{seen: r.s.cfg.Now()}}
			got.page.PolicyPage, got.err = client.ListPolicies(ctx, params)
			select {
			case p.pages <- got:
			case <-ctx.Done():
				return
			}
			if got.err != nil {
				return
			}
			last := ""
			for i := range got.page.Policies {
				if id := got.page.Policies[i].InsurerPolicyID; id != "" {
					last = id
				}
			}
			if last == "" || len(got.page.Policies) < pageLimit(got.page.PolicyPage, limit) {
				return
			}
			params.OffsetPolicyID = last
		}
	}()
	return p
}

// take returns the next page read ahead when it is the one asked for
// (params); any other answer is an error, after which the caller stops
// the pager and reads params itself.
func (p *pager) take(params kasko.ListParams) (listed, error) {
	if p == nil {
		return listed{}, errNoReadAhead
	}
	got, ok := <-p.pages
	if !ok || got.params != params || (got.err == nil && got.page.PolicyPage == nil) {
		return listed{}, errNoReadAhead
	}
	return got.page, got.err
}

// stop ends the pager and drops what it read.
func (p *pager) stop() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}

var errNoReadAhead = errors.New("no page read ahead")

// poll reads the head of the list (newest first). When every row of a
// page is new, more may be behind it (a burst since the last poll), so it
// reads on, up to MaxBurstPages.
func (r *run) poll(ctx context.Context) error {
	s := r.s
	cursor := ""
	for range s.cfg.MaxBurstPages {
		page, err := r.list(ctx, kasko.ListParams{Sort: "-created_at", Limit: s.cfg.PageSize, OffsetPolicyID: cursor})
		if err != nil {
			if cursor != "" && errors.Is(err, apiclient.ErrBadRequest) {
				break // the cursor row vanished meanwhile; the next poll goes on
			}
			return err
		}
		if err := r.switchIfResolved(page.Policies); err != nil {
			return err
		}
		// Only new and changed rows are written: rewriting the head of
		// the list every poll would move the tenant's change counter,
		// and with it drop every total, count and list kept for it. A
		// row's last sighting matters to reconciliation alone, whose
		// full pass writes every row.
		allNew := len(page.Policies) > 0
		fresh := page
		fresh.PolicyPage = &kasko.PolicyPage{Meta: page.Meta, RequestID: page.RequestID}
		for i := range page.Policies {
			p := &page.Policies[i]
			stored, err := s.cfg.Store.Get(ctx, r.tenant, p.ID)
			switch {
			case err == nil:
				allNew = false
				if sameRow(stored, rowOf(p, r.tenant, page.seen, s.zones.load)) {
					continue
				}
			case !errors.Is(err, index.ErrNotFound):
				return fmt.Errorf("read row: %w", err)
			}
			fresh.Policies = append(fresh.Policies, *p)
		}
		if err := r.store(ctx, fresh); err != nil {
			return err
		}
		n, last := len(page.Policies), ""
		for i := range page.Policies {
			if id := page.Policies[i].InsurerPolicyID; id != "" {
				last = id
			}
		}
		if !allNew || n < pageLimit(page.PolicyPage, s.cfg.PageSize) || last == "" {
			break
		}
		cursor = last
	}
	r.st.Polled = s.cfg.Now()
	r.st.Error = ""
	return r.save(ctx)
}

// pollDue reports a head poll that is due or was asked for.
func (r *run) pollDue() bool {
	select {
	case <-r.s.pokes[r.key]:
		return true
	default:
	}
	return !r.s.cfg.Now().Before(r.st.Polled.Add(r.s.cfg.PollEvery))
}

// list reads one page. Its rows count as seen when the request was sent:
// a webhook's refetch that began later saw the same or a newer version,
// and the store keeps the later-seen row, so a slow page never undoes it.
func (r *run) list(ctx context.Context, p kasko.ListParams) (page listed, err error) {
	err = r.s.call(ctx, r, r.key, func(ctx context.Context, c *kasko.Client) error {
		page.seen = r.s.cfg.Now()
		pp, err := c.ListPolicies(ctx, p)
		if err == nil {
			page.PolicyPage = pp
		}
		return err
	})
	return page, err
}

type listed struct {
	*kasko.PolicyPage
	seen time.Time
}

// rows are a page's rows and its last insurer policy id (the cursor
// after them).
func (r *run) rows(page listed) ([]index.Row, string) {
	ps := page.Policies
	rows := make([]index.Row, 0, len(ps))
	last := ""
	for i := range ps {
		rows = append(rows, rowOf(&ps[i], r.tenant, page.seen, r.s.zones.load))
		if ps[i].InsurerPolicyID != "" {
			last = ps[i].InsurerPolicyID
		}
	}
	return rows, last
}

// store upserts a page's rows.
func (r *run) store(ctx context.Context, page listed) error {
	rows, _ := r.rows(page)
	if len(rows) == 0 {
		return nil
	}
	if err := r.s.cfg.Store.Upsert(ctx, rows); err != nil {
		return fmt.Errorf("upsert rows: %w", err)
	}
	return nil
}

// switchIfResolved moves a key that saw no policy so far to its
// distributor's tenant as soon as a page shows one; the digest tenant
// holds no rows, only its sync state, which goes.
func (r *run) switchIfResolved(ps []kasko.Policy) error {
	if !isKeyTenant(r.tenant) {
		return nil
	}
	d := distributorOf(ps)
	if d == "" {
		return nil
	}
	r.s.setTenant(r.key, TenantOf(r.key, d))
	return errTenantChanged{}
}

func pageLimit(p *kasko.PolicyPage, asked int) int {
	if p.Meta.Limit > 0 && p.Meta.Limit < asked {
		return p.Meta.Limit
	}
	return asked
}

func (r *run) save(ctx context.Context) error {
	if err := r.s.cfg.Store.SaveSyncState(ctx, r.st); err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	return nil
}

// recordError keeps the failure in the tenant's sync state, for the
// operator; it never holds a key (errors are redacted, keys masked).
func (r *run) recordError(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || r.st.Tenant == "" {
		return
	}
	r.st.Error = errorText(err)
	if err := r.save(ctx); err != nil {
		r.s.log.Warn("sync state not saved", slog.String("tenant", r.tenant), slog.String("error", err.Error()))
	}
}

// sameRow reports whether the stored row a says what b says, apart from
// when each was seen. Instants are compared as the stores keep them
// (UTC, whole microseconds); a field a store cleans differently makes
// the rows differ, which costs one write, never a lost change.
func sameRow(a, b index.Row) bool {
	a.SeenAt, b.SeenAt = time.Time{}, time.Time{}
	for _, t := range []*time.Time{&a.CreatedAt, &a.StartDate, &a.EndDate, &a.TerminationDate, &b.CreatedAt, &b.StartDate, &b.EndDate, &b.TerminationDate} {
		if !t.IsZero() {
			*t = t.UTC().Truncate(time.Microsecond)
		}
	}
	return a == b
}
