package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/browsertest"
	"backoffice/internal/cluster"
	"backoffice/internal/sandbox"
	"backoffice/internal/testenv"
)

// Bounds: the build of the two programs (with the race detector under
// make test, a minute or more on a cold cache), the start of the
// cluster, and then everything the test does with it, every wait
// included. Warm, the whole test takes under a minute on 2 cores.
const (
	buildBudget = 5 * time.Minute
	startBudget = 90 * time.Second
	runBudget   = 210 * time.Second
)

// slow is the sandbox's latency while a write is submitted twice: long
// enough that the browser gives up the first request before its answer.
const slow = "1500ms"

// TestClusterWritesOnceAcrossInstances runs two dashboard instances
// behind HAProxy (round robin, no stickiness), with sessions in Redis and
// the audit log, quote history and form tokens in PostgreSQL, and drives
// Chromium through the balancer. Consecutive requests land on different
// instances, so every form is opened on one instance and sent to the
// other; with the upstream slowed down, each write is submitted twice,
// the browser abandoning the first request. Each write reaches the
// upstream exactly once, and a flow survives an instance killed with
// SIGKILL between two steps without signing in again.
func TestClusterWritesOnceAcrossInstances(t *testing.T) {
	began := time.Now()
	for _, tool := range []string{"haproxy", "redis-server"} {
		_, err := exec.LookPath(tool)
		testenv.Require(t, err == nil, tool, "install Debian's "+tool+" package (.ci/run does)")
	}
	pg := pgtest.Start(t)
	dir := t.TempDir()

	buildCtx, cancel := context.WithTimeout(context.Background(), buildBudget)
	defer cancel()
	bin := filepath.Join(dir, "bin")
	if err := cluster.Build(buildCtx, bin, raceEnabled); err != nil {
		t.Fatalf("building the programs: %v", err)
	}
	built := time.Now()
	startCtx, cancel := context.WithTimeout(context.Background(), startBudget)
	defer cancel()
	c, err := cluster.Start(startCtx, cluster.Options{Dir: dir, Binaries: bin, DatabaseURL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	start := c.Mark()
	t.Cleanup(func() {
		report(t, c, start)
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the cluster: %v", err)
		}
		t.Logf("wall time: %s (build %s)", time.Since(began).Round(100*time.Millisecond), built.Sub(began).Round(100*time.Millisecond))
	})
	var names []string
	for _, in := range c.Instances {
		names = append(names, in.Name+" "+in.URL)
	}
	t.Logf("cluster up in %s (race detector: %v): balancer %s, instances %s, sandbox %s",
		time.Since(began).Round(100*time.Millisecond), raceEnabled, c.URL, strings.Join(names, ", "), c.SandboxURL)

	ctx, cancel := context.WithTimeout(context.Background(), runBudget)
	defer cancel()
	b := browsertest.New(t, runBudget)
	f := &flows{c: c, b: b, ctx: ctx}

	t.Run("balancer alternates", f.alternation)
	t.Run("cancel", f.cancel)
	t.Run("one index, one sync", f.index)
	t.Run("push", f.push)
	t.Run("casco", func(t *testing.T) { f.casco(t, -1) })
	// The instance killed is the one syncing the index: the lease must
	// pass on.
	t.Run("casco with an instance killed", func(t *testing.T) { f.casco(t, f.holder) })
	t.Run("the index sync passes on", f.takeover)
}

// takeover: with the lease holder dead, another instance takes the
// index sync lease once the dead one's runs out (30 s).
func (f *flows) takeover(t *testing.T) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		for i, in := range f.c.Instances {
			if i == f.holder {
				continue
			}
			log, err := os.ReadFile(in.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(log), `"msg":"index sync lease taken"`) {
				t.Logf("%s took the index sync over", in.Name)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no instance took the index sync over within 60 s of the holder's death")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// flows holds what every flow drives.
type flows struct {
	c   *cluster.Cluster
	b   *browsertest.Browser
	ctx context.Context
	// partner is set once the browser's session holds a CascoApi login.
	partner bool
	// holder is the instance holding the index sync lease.
	holder int
}

// index: the instances share the PostgreSQL index and exactly one of
// them syncs it (the lease); a search through the balancer finds by name
// on either instance, and the cancellation just made shows in the
// cancelled list (the webhook reached whichever instance the balancer
// chose).
func (f *flows) index(t *testing.T) {
	f.signInKey(t)
	list := f.c.URL + "/policies?" + url.Values{"q": {"janis berzins"}, "status": {"cancelled"}}.Encode()
	deadline := time.Now().Add(30 * time.Second)
	// Two answers in a row: the balancer alternates, so both instances
	// read the row from the one index.
	for inRow := 0; inRow < 2; {
		f.do(t, chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS(`[data-testid="range"]`)))
		ids := browsertest.Get(t, f.b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="policy-row"] td:first-child')].map(td => td.textContent.trim())`))
		if len(ids) == 1 && ids[0] == sandbox.FixtureInsurerPolicyID {
			inRow++
			continue
		}
		inRow = 0
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled fixture is not listed through the balancer: %q", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
	holders := 0
	for i, in := range f.c.Instances {
		log, err := os.ReadFile(in.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(log), `"msg":"index sync lease taken"`); n > 0 {
			holders++
			f.holder = i
			t.Logf("%s took the index sync lease (%d times)", in.Name, n)
		}
	}
	if holders != 1 {
		t.Errorf("%d instances took the index sync lease, want exactly 1", holders)
	}
}

// alternation sends requests one after the other through the balancer:
// they must alternate between the instances, by the balancer's header
// and by each instance's own access log.
func (f *flows) alternation(t *testing.T) {
	const n = 10
	m := f.c.Mark()
	var seq []string
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, f.c.URL+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		seq = append(seq, resp.Header.Get(cluster.ServedBy))
	}
	t.Logf("%d consecutive requests were served by %v", n, seq)
	for i := 1; i < n; i++ {
		if seq[i] == seq[i-1] || seq[i] == "" {
			t.Fatalf("requests %d and %d were both served by %q: the balancer does not alternate (%v)", i, i+1, seq[i], seq)
		}
	}
	for i, in := range f.c.Instances {
		got := 0
		for _, l := range f.c.Access(m, i) {
			if l.Method == http.MethodGet && l.Path == "/healthz" {
				got++
			}
		}
		if got != n/len(f.c.Instances) {
			t.Errorf("%s logged %d of the %d requests, want %d", in.Name, got, n, n/len(f.c.Instances))
		}
		t.Logf("%s's access log: %d of the %d requests", in.Name, got, n)
	}
}

// cancel: staff cancel the well-known policy, the confirmation sent twice
// while the upstream is slow; one cancel request reaches it, and the
// audit log has the attempt and its outcome.
func (f *flows) cancel(t *testing.T) {
	b, c := f.b, f.c
	m, before := c.Mark(), f.calls(t)
	f.signInKey(t)
	detail := c.URL + "/policies/" + sandbox.FixturePolicyID
	f.do(t, chromedp.Navigate(detail), chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel-open"]`)))
	b.WaitReady(t)
	f.do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-open"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#cancel-reason`)),
	)
	b.WaitSettled(t)
	f.do(t,
		chromedp.SetValue(chromedp.CSS(`#cancel-reason`), "customer_request"),
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-review"]`)),
	)
	f.waitFor(t, 15*time.Second, `[data-testid="cancel-confirm"]`)
	b.WaitSettled(t)

	f.setLatency(t, slow)
	f.resubmit(t, `[data-testid="cancel-review-form"]`, `[data-testid="cancel-confirm"]`)
	f.waitFor(t, 20*time.Second, `[data-testid="cancel-progress"]`, `[data-testid="status"].status-cancelled`)
	f.setLatency(t, "0s")
	// The panel follows the cancellation until the policy page shows it.
	f.waitFor(t, 30*time.Second, `[data-testid="status"].status-cancelled`)

	calls := delta(before, f.calls(t))
	f.logFlow(t, m, calls)
	f.checkResubmitted(t, m, "/policies/"+sandbox.FixturePolicyID+"/cancel")
	if n := calls[sandbox.RouteCancelPolicy]; n != 1 {
		t.Errorf("the sandbox received %d cancel requests for %s, want exactly 1", n, sandbox.FixturePolicyID)
	}

	// The audit log, read through the balancer: one attempt, accepted,
	// then its completion (newest first), nothing else for the policy.
	f.do(t, chromedp.Navigate(c.URL+"/audit?policy="+sandbox.FixturePolicyID))
	f.waitFor(t, 15*time.Second, `[data-testid="audit-table"]`)
	doc := f.document(t)
	var outcomes []string
	doc.Find(`[data-testid="audit-row"]`).Each(func(_ int, row *goquery.Selection) {
		o, _ := row.Find(`[data-testid="audit-outcome-badge"]`).Attr("data-outcome")
		outcomes = append(outcomes, o+" ("+strings.TrimSpace(row.Find(`[data-testid="audit-action"]`).Text())+", upstream "+strings.TrimSpace(row.Find(`[data-testid="audit-upstream-status"]`).Text())+")")
	})
	t.Logf("audit log of %s: %q", sandbox.FixturePolicyID, outcomes)
	if len(outcomes) != 2 || !strings.HasPrefix(outcomes[0], "completed ") || !strings.HasPrefix(outcomes[1], "accepted ") {
		t.Errorf("audit outcomes = %q, want [completed accepted]: one attempt and its end", outcomes)
	}
}

// push: staff create a policy through the push API, the form sent twice
// while the upstream is slow; one push reaches it.
func (f *flows) push(t *testing.T) {
	b, c := f.b, f.c
	m, before := c.Mark(), f.calls(t)
	f.signInKey(t)
	f.do(t, chromedp.Navigate(c.URL+"/policies/new"), chromedp.WaitVisible(chromedp.CSS(`#f-first_name`)))
	b.WaitReady(t)
	f.do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-first_name`), "Erika"),
		chromedp.SendKeys(chromedp.CSS(`#f-last_name`), "Clusterova"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "erika.cluster@example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-start_date`), time.Now().AddDate(0, 0, 10).Format(time.DateOnly)),
		chromedp.SendKeys(chromedp.CSS(`#f-vin`), "WVWZZZ1KZ8W006165"),
	)
	f.setLatency(t, slow)
	f.resubmit(t, `[data-testid="new-policy-form"]`, `[data-testid="push-submit"]`)
	f.waitFor(t, 20*time.Second, `[data-testid="push-result"]`, `[data-testid="push-policy-link"]`)
	f.setLatency(t, "0s")
	f.waitFor(t, 30*time.Second, `[data-testid="push-policy-link"]`)
	id := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="push-policy-link"]`)))

	calls := delta(before, f.calls(t))
	f.logFlow(t, m, calls)
	f.checkResubmitted(t, m, "/policies/new")
	t.Logf("created %s", id)
	if n := calls[sandbox.RoutePush]; n != 1 {
		t.Errorf("the sandbox received %d pushes, want exactly 1", n)
	}
}

// casco: the demo partner runs a quote from the VIN to a policy, the
// last step (offer to policy) sent twice while the upstream is slow: one
// conversion, and the page ends on the issued policy. With kill >= 0,
// instance kill dies (SIGKILL) after the policyholder step: the quote
// goes on through the other instance, without signing in again.
func (f *flows) casco(t *testing.T, kill int) {
	b, c := f.b, f.c
	f.signInPartner(t)
	m, before := c.Mark(), f.calls(t)

	f.do(t, chromedp.Navigate(c.URL+"/casco"))
	f.waitFor(t, 15*time.Second, `[data-testid="new-quote"]`)
	f.do(t, chromedp.Click(chromedp.CSS(`[data-testid="new-quote"]`)))
	f.waitFor(t, 15*time.Second, `#f-vin`)
	b.WaitReady(t)

	// Vehicle.
	f.do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-vin`), "WVWZZZ1KZ8W006165"),
		pickOption(`#f-make`, "Toyota"),
		chromedp.WaitReady(chromedp.CSS(`#f-model option[value="Corolla"]`)),
		pickOption(`#f-model`, "Corolla"),
		pickOption(`#f-vehicle_type`, "M1"),
		pickOption(`#f-fuel`, "petrol"),
		chromedp.SendKeys(chromedp.CSS(`#f-year`), "2020"),
		chromedp.SendKeys(chromedp.CSS(`#f-power`), "103"),
		chromedp.SendKeys(chromedp.CSS(`#f-displacement`), "1800"),
		chromedp.SendKeys(chromedp.CSS(`#f-seats`), "5"),
		chromedp.SendKeys(chromedp.CSS(`#f-market_value`), "100000"),
		pickOption(`#f-registration`, "registered"),
		chromedp.SendKeys(chromedp.CSS(`#f-plate`), "CJ 12 ABC"),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
	)
	f.waitFor(t, 15*time.Second, `#f-cnp`)
	b.WaitReady(t)

	// Policyholder: a person in Cluj.
	f.do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "stefan.turcanu@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-cnp`), cnpFor("190051512345")),
		chromedp.SendKeys(chromedp.CSS(`#f-first_name`), "Ștefan"),
		chromedp.SendKeys(chromedp.CSS(`#f-last_name`), "Țurcanu"),
		chromedp.SetValue(chromedp.CSS(`#f-birth_date`), "1990-05-15"),
		pickOption(`#f-id_type`, "CI"),
		chromedp.SendKeys(chromedp.CSS(`#f-id_number`), "CJ123456"),
		chromedp.SendKeys(chromedp.CSS(`#f-phone`), "0712345678"),
		pickOption(`#f-county`, "CJ"),
		chromedp.WaitReady(chromedp.CSS(`#f-locality option[value="CLUJ-NAPOCA"]`)),
		pickOption(`#f-locality`, "CLUJ-NAPOCA"),
		chromedp.SendKeys(chromedp.CSS(`#f-street`), "Principală"),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
	)
	f.waitFor(t, 15*time.Second, `#f-start_date`)
	b.WaitReady(t)

	var killed time.Time
	if kill >= 0 {
		killed = time.Now()
		if err := c.Kill(kill); err != nil {
			t.Fatalf("killing %s: %v", c.Instances[kill].Name, err)
		}
		states, _ := c.ServerStates()
		t.Logf("killed %s with SIGKILL after the policyholder step; the balancer sees %v", c.Instances[kill].Name, states)
	}

	// Cover, with the README's deductibles.
	loc, err := time.LoadLocation("Europe/Bucharest")
	if err != nil {
		t.Fatal(err)
	}
	f.do(t,
		chromedp.SetValue(chromedp.CSS(`#f-start_date`), time.Now().In(loc).AddDate(0, 0, 10).Format(time.DateOnly)),
		pickOption(`#f-partial`, "500"),
		pickOption(`#f-total`, "20"),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
	)
	// Offers: saving the cover asks every insurer once, and the page
	// polls (any instance) until the answers are in.
	f.waitFor(t, 20*time.Second, `td[data-provider="groupama"] [data-testid="choose-offer"]`)
	b.WaitReady(t)
	asked := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('th[data-testid="offer-provider"]').length`))
	f.do(t, chromedp.Click(chromedp.CSS(`td[data-provider="groupama"] [data-testid="choose-offer"]`)))
	f.waitFor(t, 15*time.Second, `#f-method`)
	b.WaitReady(t)

	// Policy, paid by broker receipt; the form sent twice, slowly.
	f.do(t,
		pickOption(`#f-method`, "broker receipt"),
		chromedp.SendKeys(chromedp.CSS(`#f-document_number`), "CH-000042"),
	)
	f.setLatency(t, slow)
	f.resubmit(t, `[data-testid="policy-form"]`, `[data-testid="convert"]`)
	f.waitFor(t, 30*time.Second, `[data-testid="policy-issued"]`)
	f.setLatency(t, "0s")
	series := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-series"]`)))
	number := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-number"]`)))

	calls := delta(before, f.calls(t))
	f.logFlow(t, m, calls)
	f.checkResubmitted(t, m, "/policy")
	t.Logf("issued %s %s", series, number)
	if series != "GRP/CL" || len(number) != 9 {
		t.Errorf("the issued policy shows %q %q, want series GRP/CL and a 9-digit number", series, number)
	}
	if n := calls[sandbox.RouteCascoPolicy]; n != 1 {
		t.Errorf("the sandbox received %d conversions, want exactly 1", n)
	}
	if n := calls[sandbox.RouteCascoOffer]; n != asked {
		t.Errorf("the sandbox received %d offer requests for %d insurers, want one each", n, asked)
	}
	if n := calls[sandbox.RouteCascoAuth]; n != 0 {
		t.Errorf("the partner signed in %d times during the quote, want none", n)
	}
	if kill >= 0 {
		survivors := 0
		for _, r := range c.Requests(m) {
			if strings.HasPrefix(r.Path, "/signin") {
				t.Errorf("the browser was sent to %s %s during the quote: the session did not survive %s", r.Method, r.Path, c.Instances[kill].Name)
			}
			if r.Start.After(killed) {
				if r.Server == c.Instances[kill].Name {
					t.Errorf("%s %s was answered by %s after it was killed", r.Method, r.Path, r.Server)
				}
				survivors++
			}
		}
		t.Logf("after the kill, %d requests went to the surviving instance", survivors)
	}
}

// signInKey signs the browser in with the staff test key, through the
// balancer (the sign-in page lists no demo key outside sandbox mode).
func (f *flows) signInKey(t *testing.T) {
	t.Helper()
	f.do(t,
		chromedp.Navigate(f.c.URL+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#key`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), sandbox.KeyASecretTest),
	)
	// Signed in already, the sign-in page shows the badge too.
	f.leaving(t)
	f.do(t, chromedp.Submit(chromedp.CSS(`#key`)))
	f.waitFor(t, 15*time.Second, `[data-testid="user-badge"]`)
}

// signInPartner signs the demo partner in, once per browser session.
func (f *flows) signInPartner(t *testing.T) {
	t.Helper()
	if f.partner {
		return
	}
	f.do(t,
		chromedp.Navigate(f.c.URL+"/signin?tab=casco"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="partner-form"] #account`)),
		chromedp.SendKeys(chromedp.CSS(`#account`), sandbox.CascoDemoAccount),
		chromedp.SendKeys(chromedp.CSS(`#password`), sandbox.CascoDemoPassword),
		chromedp.Submit(chromedp.CSS(`#account`)),
	)
	f.waitFor(t, 15*time.Second, `[data-testid="new-quote"]`)
	f.partner = true
}

// resubmit sends a form twice, 200 ms apart, as the browser's own form
// submissions: the second replaces the first, whose request the browser
// abandons while its answer is still on the way (the person who clicks,
// sees nothing happen, and clicks again, or reloads).
func (f *flows) resubmit(t *testing.T, form, button string) {
	t.Helper()
	ok := browsertest.Get(t, f.b, chromedp.Evaluate[bool](`(() => {
		const f = document.querySelector(`+jsString(form)+`), b = f && f.querySelector(`+jsString(button)+`);
		if (!b) return false;
		window.__leaving = true;
		// htmx sends the forms it enhances itself, one request at a time,
		// dropping a second: stopped on its way down, the event never
		// reaches htmx, and the browser submits natively.
		window.addEventListener('submit', e => e.stopPropagation(), true);
		f.requestSubmit(b);
		setTimeout(() => f.requestSubmit(b), 200);
		return true;
	})()`))
	if !ok {
		t.Fatalf("no %s in %s to submit:\n%s", button, form, f.page(t))
	}
	// The second submission leaves from this document: let it go.
	time.Sleep(400 * time.Millisecond)
}

// checkResubmitted checks that the balancer saw the form's two POSTs,
// the first given up by the browser, and logs where each went.
func (f *flows) checkResubmitted(t *testing.T, m cluster.Mark, suffix string) {
	t.Helper()
	var posts []cluster.Request
	for _, r := range f.c.Requests(m) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, suffix) {
			posts = append(posts, r)
		}
	}
	var desc []string
	for _, p := range posts {
		desc = append(desc, fmt.Sprintf("%s→%s status %d term %s in %dms", p.Path, p.Server, p.Status, p.Term, p.Millis))
	}
	t.Logf("POSTs of the form: %s", strings.Join(desc, "; "))
	if len(posts) < 2 {
		t.Errorf("the balancer saw %d POSTs ending in %s, want the two submissions", len(posts), suffix)
		return
	}
	last2 := posts[len(posts)-2:]
	if !strings.HasPrefix(last2[0].Term, "C") {
		t.Errorf("the first submission ended %q, want a browser abort (C…): the test did not abandon it", last2[0].Term)
	}
}

// waitFor waits until the page has an element matching any of sels, and
// fails with what the page shows instead. It polls, because the page may
// be between two documents; a document marked by leaving never counts.
func (f *flows) waitFor(t *testing.T, timeout time.Duration, sels ...string) {
	t.Helper()
	var quoted []string
	for _, s := range sels {
		quoted = append(quoted, jsString(s))
	}
	// An error page, or a bare text answer, is where the flow ends.
	js := `(() => {
		if (window.__leaving || document.readyState === "loading") return "";
		if ([` + strings.Join(quoted, ",") + `].some(s => !!document.querySelector(s))) return "found";
		if (document.querySelector('[data-testid="error-status"]') || document.contentType === "text/plain") return "error";
		return "";
	})()`
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(f.b.Ctx, 2*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		cancel()
		if err == nil && state == "found" {
			return
		}
		if err == nil && state == "error" {
			t.Fatalf("waiting for %v, the browser landed on an error:\n%s", sels, f.page(t))
		}
		if time.Now().After(deadline) || f.ctx.Err() != nil {
			t.Fatalf("waited %s for %v (last error: %v); the browser shows:\n%s", timeout, sels, err, f.page(t))
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// do runs browser actions in order, each call bounded (a WaitVisible
// would otherwise wait for as long as the whole test may run), and fails
// with what the page shows.
func (f *flows) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(f.b.Ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v; the browser shows:\n%s", err, f.page(t))
	}
}

// leaving marks the current document as the one about to be left: what
// it shows does not answer a waitFor.
func (f *flows) leaving(t *testing.T) {
	t.Helper()
	browsertest.Get(t, f.b, chromedp.Evaluate[bool](`window.__leaving = true`))
}

// page is what the browser shows, for failure messages: where it is,
// its alerts and errors, and the start of the main content.
func (f *flows) page(t *testing.T) string {
	ctx, cancel := context.WithTimeout(f.b.Ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[location.href, document.title,
		...[...document.querySelectorAll('[role=alert], .alert, .error')].map(e => "alert: " + e.innerText.trim()).filter(s => s !== "alert: "),
		((document.querySelector('main') || document.body || {}).innerText || "").trim().slice(0, 600)].join("\n")`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// document parses the current page.
func (f *flows) document(t *testing.T) *goquery.Document {
	t.Helper()
	html := browsertest.Get(t, f.b, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(html))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// setLatency slows every upstream answer down by d, until the flow ends
// at the latest.
func (f *flows) setLatency(t *testing.T, d string) {
	t.Helper()
	if err := f.c.SetFaults(f.ctx, map[string]any{"latency": d}); err != nil {
		t.Fatalf("sandbox faults: %v", err)
	}
	t.Cleanup(func() {
		// A flow that failed halfway must not slow the next one down.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.c.SetFaults(ctx, map[string]any{"latency": "0s"})
	})
}

func (f *flows) calls(t *testing.T) map[string]int {
	t.Helper()
	calls, err := f.c.Calls(f.ctx)
	if err != nil {
		t.Fatalf("sandbox calls: %v", err)
	}
	return calls
}

// logFlow records what the flow sent upstream and how its requests
// spread over the instances.
func (f *flows) logFlow(t *testing.T, m cluster.Mark, calls map[string]int) {
	t.Helper()
	t.Logf("upstream calls: %s", formatCounts(calls))
	t.Logf("requests through the balancer: %s", spread(f.c.Requests(m)))
	for i, in := range f.c.Instances {
		var posts []string
		for _, l := range f.c.Access(m, i) {
			if l.Method == http.MethodPost {
				posts = append(posts, fmt.Sprintf("%s:%d", l.Path, l.Status))
			}
		}
		t.Logf("%s answered the POSTs %s", in.Name, strings.Join(posts, ", "))
	}
}

// report logs the whole run: the upstream calls per route, the spread of
// the requests, the balancer's view, and anything alarming an instance
// printed.
func report(t *testing.T, c *cluster.Cluster, m cluster.Mark) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if calls, err := c.Calls(ctx); err == nil {
		t.Logf("sandbox calls over the whole run: %s", formatCounts(calls))
	}
	t.Logf("all requests through the balancer: %s", spread(c.Requests(m)))
	for i, in := range c.Instances {
		t.Logf("%s's own access log: %d requests (health checks included)", in.Name, len(c.Access(m, i)))
		errorLines := 0
		for _, l := range c.Output(m, i) {
			if strings.Contains(l, "DATA RACE") || strings.HasPrefix(l, "panic:") {
				t.Errorf("%s printed %q (see %s)", in.Name, l, in.LogPath)
			}
			if strings.Contains(l, `"level":"ERROR"`) && errorLines < 10 {
				errorLines++
				t.Logf("%s logged: %s", in.Name, l)
			}
		}
	}
	states, err := c.ServerStates()
	t.Logf("the balancer's view at the end: %v %v", states, err)
	if t.Failed() {
		t.Logf("logs: %s (HAProxy: %s)", c.Dir+"/logs", c.BalancerLog)
	}
}

// spread counts requests per instance, and lists the writes (POSTs)
// with the instance that took each.
func spread(reqs []cluster.Request) string {
	per := map[string]int{}
	var posts []string
	redispatched := 0
	for _, r := range reqs {
		per[r.Server]++
		if strings.HasPrefix(r.Retries, "+") {
			redispatched++
		}
		if r.Method == http.MethodPost {
			posts = append(posts, fmt.Sprintf("%s→%s:%d(%s)", r.Path, r.Server, r.Status, r.Term))
		}
	}
	return fmt.Sprintf("%d requests %s, %d redispatched after a refused connection; POSTs in order (term C…: the browser gave up): %s",
		len(reqs), formatCounts(per), redispatched, strings.Join(posts, ", "))
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// delta is what the sandbox counted between two readings.
func delta(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// pickOption chooses value in a select the way a person does: the
// change event fires, so htmx loads the lists that depend on it.
func pickOption(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(` + jsString(sel) + `); s.value = ` + jsString(value) +
		`; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// cnpFor completes the first twelve digits of a CNP with its check digit.
func cnpFor(first12 string) string {
	const key = "279146358279"
	sum := 0
	for i := range 12 {
		sum += int(first12[i]-'0') * int(key[i]-'0')
	}
	check := sum % 11
	if check == 10 {
		check = 1
	}
	return first12 + string(rune('0'+check))
}
