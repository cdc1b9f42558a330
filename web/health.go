package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream is one configured upstream, probed by /readyz.
type Upstream struct {
	Name string // "kasko", "push", "casco"
	URL  string // its base URL
}

// health answers /healthz (the process is alive) and /readyz (every
// configured upstream answers HTTP at all: any status proves the host,
// TLS and routing work, without spending a credential).
type health struct {
	upstreams []Upstream
	// stores are what the dashboard itself writes to (the audit log),
	// checked by /readyz: an instance that cannot record must not serve.
	stores  map[string]func(context.Context) error
	client  *http.Client
	timeout time.Duration
	// draining is set when the instance is shutting down: /readyz says
	// so at once, so that a balancer stops sending it work while the
	// requests and writes in flight finish.
	draining atomic.Bool
}

type probeResult struct {
	OK        bool   `json:"ok"`
	Status    int    `json:"status,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

func (h *health) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	results := make(map[string]probeResult, len(h.upstreams))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range h.upstreams {
		wg.Go(func() {
			res := h.probe(ctx, u.URL)
			mu.Lock()
			results[u.Name] = res
			mu.Unlock()
		})
	}
	stores := make(map[string]probeResult, len(h.stores))
	for name, check := range h.stores {
		wg.Go(func() {
			start := time.Now()
			res := probeResult{OK: true}
			if err := check(ctx); err != nil {
				// The check logs the cause; whoever asks /readyz learns
				// only that the store is unavailable.
				res = probeResult{Error: "unavailable"}
			}
			res.LatencyMS = time.Since(start).Milliseconds()
			mu.Lock()
			stores[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	status, code := "ok", http.StatusOK
	for _, res := range results {
		if !res.OK {
			status, code = "unavailable", http.StatusServiceUnavailable
		}
	}
	for _, res := range stores {
		if !res.OK {
			status, code = "unavailable", http.StatusServiceUnavailable
		}
	}
	body := map[string]any{"status": status, "upstreams": results}
	if len(stores) > 0 {
		body["stores"] = stores
	}
	writeJSON(w, code, body)
}

func (h *health) probe(ctx context.Context, url string) probeResult {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return probeResult{Error: "invalid upstream URL"}
	}
	resp, err := h.client.Do(req)
	latency := time.Since(start).Milliseconds()
	if err != nil {
		msg := "unreachable"
		if ctx.Err() != nil {
			msg = "timeout"
		}
		return probeResult{LatencyMS: latency, Error: msg}
	}
	resp.Body.Close()
	return probeResult{OK: resp.StatusCode < 500, Status: resp.StatusCode, LatencyMS: latency}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
