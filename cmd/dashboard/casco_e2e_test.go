package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ledongthuc/pdf"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// expireCascoTokens makes every CascoApi access token issued so far
// answer 401 (the sandbox's fault switch); refresh tokens keep working.
func expireCascoTokens(t *testing.T, d *started) {
	t.Helper()
	putFaults(t, d, `{"expire_casco_tokens": true}`)
}

// putFaults changes the sandbox's faults named in body (JSON).
func putFaults(t *testing.T, d *started, body string) {
	t.Helper()
	m := sandboxInfoLine.FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no sandbox address in the start-up log:\n%s", d.logs)
	}
	req, err := http.NewRequest(http.MethodPut, m[1]+"/faults", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /_sandbox/faults = %d", resp.StatusCode)
	}
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

// download fetches href in the page (with the page's cookies) and
// returns the Content-Type, the Content-Disposition and the body.
func download(t *testing.T, b *browsertest.Browser, href string) (string, string, []byte) {
	t.Helper()
	got := browsertest.Get(t, b, chromedp.Evaluate[[]string](`fetch(`+jsString(href)+`).then(async r => {
		const bytes = new Uint8Array(await r.arrayBuffer());
		let bin = ""; for (const c of bytes) bin += String.fromCharCode(c);
		return [r.headers.get("Content-Type") || "", r.headers.get("Content-Disposition") || "", btoa(bin)];
	})`, chromedp.EvalAwaitPromise))
	body, err := base64.StdEncoding.DecodeString(got[2])
	if err != nil {
		t.Fatal(err)
	}
	return got[0], got[1], body
}

// pdfPlainText is a PDF's text, as the pure-Go reader extracts it.
func pdfPlainText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("pdf: %v", err)
	}
	rd, err := r.GetPlainText()
	if err != nil {
		t.Fatalf("pdf text: %v", err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rd); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestBrowserCascoQuoteToPolicy: the demo partner signs in, runs a quote
// from the VIN to a policy (dependent lists by htmx, the identification
// helper), downloads both PDFs, and the CascoApi tokens expire twice on
// the way without anyone typing anything again.
func TestBrowserCascoQuoteToPolicy(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 180*time.Second)

	signInPartner(t, b, d.url)
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="new-quote"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-vin`)),
	)
	b.WaitReady(t)
	b.Axe(t, "vehicle step, empty")

	// Step 1: make, then its models by htmx; identify; continue.
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-vin`), "wvwzzz1kz8w006165"),
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
		chromedp.Click(chromedp.CSS(`[data-testid="identify"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="vehicle-code"]`)),
	)
	if code := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="vehicle-code"]`))); !strings.Contains(code, "TOY-COROLLA-2020-1800-P") {
		t.Errorf("vehicle code = %q", code)
	}
	screenshot(t, b, "casco-vehicle")
	b.Axe(t, "vehicle step, identified")
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-cnp`)),
	)
	b.WaitReady(t)
	b.Axe(t, "owner step, empty")

	// Step 2: the form follows the kind of holder and the country (htmx
	// asks the server again, nothing is saved yet); then a person in
	// Cluj, the county's localities by htmx.
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "stefan.turcanu@example.com"),
		chromedp.Click(chromedp.CSS(`[data-testid="kind-company"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-cui`)),
		chromedp.Click(chromedp.CSS(`[data-testid="kind-person"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-cnp`)),
		pickOption(`#f-country`, "DE"),
		chromedp.WaitVisible(chromedp.CSS(`#f-city`)),
		pickOption(`#f-country`, "RO"),
		chromedp.WaitVisible(chromedp.CSS(`#f-county`)),
	)
	b.WaitSettled(t)
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#f-email`))); v != "stefan.turcanu@example.com" {
		t.Errorf("email after switching the form = %q", v)
	}
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-cnp`), "1900515123454"),
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
	// A wrong CNP check digit is caught on the field, the rest kept.
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-cnp"]`)))
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#f-email`))); v != "stefan.turcanu@example.com" {
		t.Errorf("email after the error = %q", v)
	}
	screenshot(t, b, "casco-owner-error")
	b.Axe(t, "owner step, with errors")
	b.Do(t,
		chromedp.SetValue(chromedp.CSS(`#f-cnp`), cnpFor("190051512345")),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-start_date`)),
	)
	b.WaitReady(t)

	// Step 3: the defaults, with the README's deductibles; a start in the
	// past is refused first.
	b.Axe(t, "cover step, empty")
	loc, _ := time.LoadLocation("Europe/Bucharest")
	start := time.Now().In(loc).AddDate(0, 0, 10).Format(time.DateOnly)
	b.Do(t,
		chromedp.SetValue(chromedp.CSS(`#f-start_date`), time.Now().In(loc).AddDate(0, 0, -3).Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	b.WaitReady(t)
	b.Axe(t, "cover step, with errors")
	// Saved, the cover asks the insurers at once (slow ones here, and
	// Allianz refusing): the offers page shows them being asked, and the
	// answers arrive by polling, without a reload.
	putFaults(t, d, `{"latency": "1200ms", "casco_unavailable": ["allianz"]}`)
	b.Do(t,
		chromedp.SetValue(chromedp.CSS(`#f-start_date`), start),
		pickOption(`#f-partial`, "500"),
		pickOption(`#f-total`, "20"),
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ask-offers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#offers-table[data-polling="true"] [data-testid="offer-asking"]`)),
	)
	screenshot(t, b, "casco-offers-arriving")
	b.Axe(t, "offers being asked")
	b.Do(t,
		chromedp.WaitVisible(chromedp.CSS(`#offers-table[data-polling="false"] td[data-provider="groupama"][data-testid="offer-premium"]`)),
		chromedp.WaitVisible(chromedp.CSS(`td[data-provider="allianz"] [data-testid="offer-retry"]`)),
	)
	b.Axe(t, "offers with a failed insurer")
	asked := sandboxCalls(t, d, sandbox.RouteCascoOffer)
	if asked != 4 {
		t.Errorf("the cover asked %d times, want 4 (one per insurer)", asked)
	}
	// Try again asks Allianz alone, which answers now.
	putFaults(t, d, `{"latency": "0s", "casco_unavailable": []}`)
	b.Do(t,
		chromedp.Click(chromedp.CSS(`td[data-provider="allianz"] [data-testid="offer-retry"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#offers-table[data-polling="false"] td[data-provider="allianz"][data-testid="offer-premium"]`)),
	)
	if n := sandboxCalls(t, d, sandbox.RouteCascoOffer); n != asked+1 {
		t.Errorf("Try again asked %d times, want 1", n-asked)
	}

	// The tokens expire; asking for offers renews them on the way.
	expireCascoTokens(t, d)
	// The table is already there: wait for the page the POST leads to,
	// which lacks the mark set on this one.
	b.Do(t,
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.before = "ask"`),
		chromedp.Click(chromedp.CSS(`[data-testid="ask-offers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body:not([data-before]) [data-testid="offers"]`)),
	)
	b.WaitReady(t)
	screenshot(t, b, "casco-offers")
	premium := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`td[data-provider="groupama"][data-testid="offer-premium"]`)))
	if !strings.Contains(premium, "5,123.25") {
		t.Errorf("groupama premium = %q, want 5,123.25", premium)
	}
	offerHref := browsertest.Get(t, b, chromedp.Evaluate[string](`document.querySelector('td[data-provider="groupama"] [data-testid="offer-pdf"]').getAttribute('href')`))
	ct, cd, body := download(t, b, offerHref)
	if ct != "application/pdf" || !strings.HasPrefix(cd, "attachment") || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("offer PDF: %q %q %q", ct, cd, body[:min(len(body), 8)])
	}
	if text := pdfPlainText(t, body); !strings.Contains(text, "WVWZZZ1KZ8W006165") || !strings.Contains(text, "Toyota Corolla") || !strings.Contains(text, "CJ12ABC") {
		t.Errorf("offer PDF lacks the vehicle:\n%s", text)
	}

	// Step 5: the groupama offer, paid by broker receipt.
	b.Do(t,
		chromedp.Click(chromedp.CSS(`td[data-provider="groupama"] [data-testid="choose-offer"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-method`)),
	)
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#f-amount`))); v != "5123.25" {
		t.Errorf("amount filled in = %q", v)
	}
	b.WaitReady(t)
	b.Axe(t, "policy step, payment form")
	// Without the receipt's number the payment is refused, the rest kept.
	b.Do(t,
		pickOption(`#f-method`, "broker receipt"),
		chromedp.Click(chromedp.CSS(`[data-testid="convert"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	b.WaitReady(t)
	b.Axe(t, "policy step, payment refused")
	if n := sandboxCalls(t, d, sandbox.RouteCascoPolicy); n != 0 {
		t.Errorf("a refused payment reached the insurer (%d conversions)", n)
	}
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-document_number`), "CH-000042"),
		chromedp.DoubleClick(chromedp.CSS(`[data-testid="convert"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-issued"]`)),
	)
	screenshot(t, b, "casco-policy")
	b.Axe(t, "policy issued")
	series := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-series"]`)))
	number := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-number"]`)))
	if series != "GRP/CL" || len(number) != 9 {
		t.Errorf("policy = %q %q", series, number)
	}
	// Expired again: the policy's PDF still comes.
	expireCascoTokens(t, d)
	policyHref := browsertest.Get(t, b, chromedp.Evaluate[string](`document.querySelector('[data-testid="policy-pdf"]').getAttribute('href')`))
	ct, cd, body = download(t, b, policyHref)
	if ct != "application/pdf" || !strings.Contains(cd, "casco-policy-GRP-CL-"+number) || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("policy PDF: %q %q %q", ct, cd, body[:min(len(body), 8)])
	}
	if text := pdfPlainText(t, body); !strings.Contains(text, number) || !strings.Contains(text, "Toyota Corolla") || !strings.Contains(text, "WVWZZZ1KZ8W006165") {
		t.Errorf("policy PDF lacks the policy number or the vehicle:\n%s", text)
	}
	if n := sandboxCalls(t, d, sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("the sandbox received %d conversions, want exactly 1", n)
	}
	if n := sandboxCalls(t, d, sandbox.RouteCascoRenew); n < 2 {
		t.Errorf("the sandbox renewed the token %d times, want at least once per expiry", n)
	}
	if n := sandboxCalls(t, d, sandbox.RouteCascoAuth); n != 1 {
		t.Errorf("the partner signed in %d times, want once", n)
	}

	// The history has it, done, with the policy's PDF.
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="nav-casco"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="history-row"]`)),
	)
	if step := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="history-step"]`))); step != "Policy issued" {
		t.Errorf("history step = %q", step)
	}
	screenshot(t, b, "casco-history")
	b.Axe(t, "history with an issued policy")
	// The only 422 is the CNP typo.
	if p := b.ProblemsExcept("status of 422"); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}

// signInPartner signs the demo partner in on the CASCO tab and waits for
// the quotes' history.
func signInPartner(t *testing.T, b *browsertest.Browser, base string) {
	t.Helper()
	b.Do(t,
		chromedp.Navigate(base+"/signin?tab=casco"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="partner-form"] #account`)),
		chromedp.SendKeys(chromedp.CSS(`#account`), sandbox.CascoDemoAccount),
		chromedp.SendKeys(chromedp.CSS(`#password`), sandbox.CascoDemoPassword),
		chromedp.Submit(chromedp.CSS(`#account`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="new-quote"]`)),
	)
}

// cnpFor completes the first twelve digits of a CNP with its check
// digit.
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
