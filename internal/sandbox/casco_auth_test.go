package sandbox_test

import (
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"

	"github.com/golang-jwt/jwt/v5"
)

func TestCascoAuthenticate(t *testing.T) {
	t.Parallel()
	srv, clk := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv)

	// A real HS256 JWT whose exp is the clock + 5 minutes, and expires_at
	// the same instant in Bucharest local time (EET, UTC+2 in November).
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(tk.Token, claims)
	if err != nil || tok.Method.Alg() != "HS256" {
		t.Fatalf("token: %v, alg %v", err, tok.Header["alg"])
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || !exp.Time.Equal(clk.Now().Add(5*time.Minute)) {
		t.Errorf("exp: got %v, want %v", exp, clk.Now().Add(5*time.Minute))
	}
	if sub, _ := claims.GetSubject(); sub != sandbox.CascoDemoAccount {
		t.Errorf("sub: got %q", sub)
	}
	if tk.ExpiresAt != "2026-11-01 12:05:00" {
		t.Errorf("expires_at: got %q, want 2026-11-01 12:05:00 (Bucharest, no offset)", tk.ExpiresAt)
	}
	if len(tk.RefreshToken) < 32 || tk.RefreshToken == tk.Token {
		t.Errorf("refresh_token: %q", tk.RefreshToken)
	}

	t.Run("summer time and another TTL", func(t *testing.T) {
		summer := time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC)
		s2, _ := startCasco(t, sandbox.Options{Now: func() time.Time { return summer }, CascoTokenTTL: time.Hour})
		if got := demoLogin(t, s2).ExpiresAt; got != "2026-07-02 01:30:00" {
			t.Errorf("expires_at: got %q, want 2026-07-02 01:30:00 (EEST, next local day)", got)
		}
	})
	t.Run("JSON and form bodies", func(t *testing.T) {
		var got tokens
		mustCascoOK(t, do(t, "POST", srv.CascoURL+"/auth", `{"account":"transilvania","password":"ardeal-casco-2026"}`, jsonBody()), &got)
		mustCascoOK(t, do(t, "POST", srv.CascoURL+"/auth", "account=demo&password=demo-casco-2026", header("Content-Type", "application/x-www-form-urlencoded")), &got)
		if got.Token == "" {
			t.Error("no token")
		}
	})
	t.Run("missing credentials", func(t *testing.T) {
		f := wantCascoError(t, do(t, "POST", srv.CascoURL+"/auth", ""), 400, "VALIDATION_ERROR")
		wantFields(t, f, map[string]string{"account": "The account field is required.", "password": "The password field is required."})
		f = wantCascoError(t, do(t, "POST", srv.CascoURL+"/auth?account=demo", "", romanian()), 400, "VALIDATION_ERROR")
		wantFields(t, f, map[string]string{"password": "Câmpul password este obligatoriu."})
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/auth", "{not json", jsonBody()), 400, "Malformed JSON body.")
	})
	t.Run("wrong credentials", func(t *testing.T) {
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/auth?account=demo&password=ardeal-casco-2026", ""), 401, "Invalid credentials")
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/auth?account=nobody&password=x", "", romanian()), 401, "Date de autentificare invalide")
	})
	t.Run("method not allowed", func(t *testing.T) {
		r := do(t, "PUT", srv.CascoURL+"/auth", "")
		wantCascoError(t, r, 405, "Method PUT is not allowed here; allowed: POST, PATCH, DELETE.")
		if r.header.Get("Allow") != "POST, PATCH, DELETE" {
			t.Errorf("Allow: %q", r.header.Get("Allow"))
		}
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/nowhere", ""), 404, "No route matches GET /casco/nowhere.")
	})
}

func TestCascoTokenHeader(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv)
	other, _ := startCasco(t, sandbox.Options{})
	foreign := demoLogin(t, other).Token // same claims shape, another sandbox's key
	parts := strings.Split(tk.Token, ".")
	forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "demo", "exp": time.Now().Add(time.Hour).Unix()})
	forgedTok, _ := forged.SignedString([]byte("guess"))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "demo"})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	url := srv.CascoURL + "/nomenclature/county"
	mustCascoOK(t, do(t, "GET", url, "", token(tk.Token)), nil)
	for name, opts := range map[string][]reqOpt{
		"none":                 nil,
		"Authorization Bearer": {header("Authorization", "Bearer "+tk.Token)},
		"Token: Bearer":        {token("Bearer " + tk.Token)},
		"refresh token":        {token("Refresh " + tk.RefreshToken)},
		"refresh as token":     {token(tk.RefreshToken)},
		"tampered payload":     {token(parts[0] + "." + parts[1] + "x." + parts[2])},
		"tampered signature":   {token(parts[0] + "." + parts[1] + "." + strings.ToUpper(parts[2]))},
		"other sandbox":        {token(foreign)},
		"forged":               {token(forgedTok)},
		"alg none":             {token(noneTok)},
	} {
		t.Run(name, func(t *testing.T) {
			wantCascoError(t, do(t, "GET", url, "", opts...), 401, "Unauthorized")
		})
	}
}

func TestCascoTokenExpiryAndRenewal(t *testing.T) {
	t.Parallel()
	srv, clk := startCasco(t, sandbox.Options{CascoTokenTTL: 2 * time.Minute, CascoRefreshTTL: 10 * time.Minute})
	url := srv.CascoURL + "/nomenclature/vehicle-make"
	tk := demoLogin(t, srv)

	clk.Add(2*time.Minute - time.Second)
	mustCascoOK(t, do(t, "GET", url, "", token(tk.Token)), nil)
	clk.Add(time.Second)
	wantCascoError(t, do(t, "GET", url, "", token(tk.Token)), 401, "Unauthorized")

	// Renewal after expiry: a new pair; the old refresh token is spent.
	var next tokens
	mustCascoOK(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+tk.RefreshToken)), &next)
	if next.Token == tk.Token || next.RefreshToken == tk.RefreshToken {
		t.Fatal("renewal must issue a new token and refresh token")
	}
	if next.ExpiresAt != clk.Now().In(bucharest()).Add(2*time.Minute).Format("2006-01-02 15:04:05") {
		t.Errorf("expires_at: got %q", next.ExpiresAt)
	}
	mustCascoOK(t, do(t, "GET", url, "", token(next.Token)), nil)
	wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+tk.RefreshToken)), 401, "Invalid refresh token")
	wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+tk.RefreshToken), romanian()), 401, "Token de reînnoire invalid")

	// Rotation keeps the previous access token until its own exp.
	var third tokens
	mustCascoOK(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+next.RefreshToken)), &third)
	mustCascoOK(t, do(t, "GET", url, "", token(next.Token)), nil)

	// The third-party form: the old JWT in Token, the refresh token in the body.
	var fourth tokens
	mustCascoOK(t, do(t, "PATCH", srv.CascoURL+"/auth", `{"refresh_token":"`+third.RefreshToken+`"}`, token(next.Token), jsonBody()), &fourth)
	wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+third.RefreshToken)), 401, "Invalid refresh token")

	for name, opts := range map[string][]reqOpt{
		"no header":      nil,
		"empty":          {token("Refresh ")},
		"unknown":        {token("Refresh abc")},
		"access token":   {token("Refresh " + fourth.Token)},
		"jwt, no body":   {token(fourth.Token)},
		"wrong scheme":   {token("Bearer " + fourth.RefreshToken)},
		"bracketed form": {token("Refresh [" + fourth.RefreshToken + "]")},
	} {
		t.Run(name, func(t *testing.T) {
			wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", opts...), 401, "Invalid refresh token")
		})
	}

	t.Run("refresh token expires", func(t *testing.T) {
		clk.Add(10 * time.Minute)
		wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+fourth.RefreshToken)), 401, "Invalid refresh token")
	})
}

func TestCascoDeauthenticate(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	url := srv.CascoURL + "/nomenclature/county"
	first := demoLogin(t, srv)
	var second tokens
	mustCascoOK(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+first.RefreshToken)), &second)
	other := demoLogin(t, srv) // another session of the same account

	r := do(t, "DELETE", srv.CascoURL+"/auth", "", token(second.Token))
	mustCascoOK(t, r, nil)
	if string(r.body) != `{"error":false,"status":200,"data":[]}` {
		t.Errorf("body: %s", r.body)
	}
	wantCascoError(t, do(t, "GET", url, "", token(second.Token)), 401, "Unauthorized")
	wantCascoError(t, do(t, "GET", url, "", token(first.Token)), 401, "Unauthorized") // the same session's older token
	wantCascoError(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+second.RefreshToken)), 401, "Invalid refresh token")
	wantCascoError(t, do(t, "DELETE", srv.CascoURL+"/auth", "", token(second.Token)), 401, "Unauthorized")
	wantCascoError(t, do(t, "DELETE", srv.CascoURL+"/auth", ""), 401, "Unauthorized")
	mustCascoOK(t, do(t, "GET", url, "", token(other.Token)), nil)
}

func TestCascoExpireTokensFault(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	url := srv.CascoURL + "/nomenclature/county"
	tk := demoLogin(t, srv)
	r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"expire_casco_tokens":true}`)
	if r.status != 200 || strings.Contains(string(r.body), "expire_casco_tokens") {
		t.Fatalf("PUT faults: %d %s", r.status, r.body)
	}
	wantCascoError(t, do(t, "GET", url, "", token(tk.Token)), 401, "Unauthorized")
	var next tokens
	mustCascoOK(t, do(t, "PATCH", srv.CascoURL+"/auth", "", token("Refresh "+tk.RefreshToken)), &next)
	mustCascoOK(t, do(t, "GET", url, "", token(next.Token)), nil)
	srv.Sandbox.ExpireCascoTokens()
	wantCascoError(t, do(t, "GET", url, "", token(next.Token)), 401, "Unauthorized")
	if n := srv.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Errorf("renew calls: got %d, want 1", n)
	}
	if n := srv.Sandbox.Calls(sandbox.RouteCascoCounties); n != 3 {
		t.Errorf("county calls: got %d, want 3", n)
	}
}
