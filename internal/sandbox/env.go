package sandbox

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OptionsFromEnv reads the SANDBOX_* variables. Unset variables keep the
// defaults (SANDBOX_CANCEL_DELAY defaults to DefaultCancelDelay here, unlike
// a zero Options). A bad value is an error naming its variable.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{CancelDelay: DefaultCancelDelay}
	var err error
	parseInt := func(name string, dst *int64) {
		if v := getenv(name); v != "" && err == nil {
			n, e := strconv.ParseInt(v, 10, 64)
			if e != nil {
				err = fmt.Errorf("%s: %q is not an integer", name, v)
				return
			}
			*dst = n
		}
	}
	parseDur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" && err == nil {
			d, e := time.ParseDuration(v)
			if e != nil || d < 0 {
				err = fmt.Errorf("%s: %q is not a non-negative Go duration (e.g. 2s, 150ms)", name, v)
				return
			}
			*dst = d
		}
	}
	parseRate := func(name string, dst *float64) {
		if v := getenv(name); v != "" && err == nil {
			r, e := strconv.ParseFloat(v, 64)
			if e != nil || r < 0 || r > 1 {
				err = fmt.Errorf("%s: %q is not a rate between 0 and 1", name, v)
				return
			}
			*dst = r
		}
	}
	parseInt("SANDBOX_SEED", &o.Seed)
	var n int64
	parseInt("SANDBOX_POLICIES", &n)
	if err == nil && n != 0 && n < MinPolicies {
		err = fmt.Errorf("SANDBOX_POLICIES: must be at least %d", MinPolicies)
	}
	o.Policies = int(n)
	if v := getenv("SANDBOX_REFERENCE_DATE"); v != "" && err == nil {
		d, e := time.Parse(time.DateOnly, v)
		switch {
		case e != nil:
			err = fmt.Errorf("SANDBOX_REFERENCE_DATE: %q is not a YYYY-MM-DD date", v)
		case d.Before(earliestReferenceDate):
			err = fmt.Errorf("SANDBOX_REFERENCE_DATE: must not be before %s", earliestReferenceDate.Format(time.DateOnly))
		}
		// 00:00 UTC, as the default (today) is: pinning today's date gives
		// the data an unpinned sandbox holds today.
		o.ReferenceDate = d
	}
	parseDur("SANDBOX_CANCEL_DELAY", &o.CancelDelay)
	parseDur("SANDBOX_ASSET_TTL", &o.AssetURLTTL)
	if v := getenv("SANDBOX_BASE_URL"); v != "" && err == nil {
		u, e := url.Parse(v)
		if e != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			err = fmt.Errorf("SANDBOX_BASE_URL: %q is not a scheme://host[:port] URL", v)
		}
		o.BaseURL = v
	}
	parseDur("SANDBOX_LATENCY", &o.Faults.Latency)
	parseRate("SANDBOX_ERROR_RATE", &o.Faults.ErrorRate)
	parseRate("SANDBOX_MALFORMED_RATE", &o.Faults.MalformedRate)
	parseDur("SANDBOX_CASCO_TOKEN_TTL", &o.CascoTokenTTL)
	if err == nil && o.CascoTokenTTL != 0 && o.CascoTokenTTL < time.Second {
		err = fmt.Errorf("SANDBOX_CASCO_TOKEN_TTL: must be at least 1s")
	}
	parseDur("SANDBOX_CASCO_REFRESH_TTL", &o.CascoRefreshTTL)
	tokenTTL := o.CascoTokenTTL
	if tokenTTL == 0 {
		tokenTTL = DefaultCascoTokenTTL
	}
	if err == nil && o.CascoRefreshTTL != 0 && o.CascoRefreshTTL < tokenTTL {
		err = fmt.Errorf("SANDBOX_CASCO_REFRESH_TTL: must be at least SANDBOX_CASCO_TOKEN_TTL")
	}
	parseDur("SANDBOX_CASCO_OFFER_TTL", &o.CascoOfferTTL)
	if v := getenv("SANDBOX_CASCO_UNAVAILABLE"); v != "" && err == nil {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.Faults.CascoUnavailable = append(o.Faults.CascoUnavailable, p)
			}
		}
		if e := (Faults{CascoUnavailable: o.Faults.CascoUnavailable}).validate(); e != nil {
			err = fmt.Errorf("SANDBOX_CASCO_UNAVAILABLE: %v", e)
		}
	}
	if v := getenv("SANDBOX_FAIL_CANCELLATIONS"); v != "" && err == nil {
		b, e := strconv.ParseBool(v)
		if e != nil {
			err = fmt.Errorf("SANDBOX_FAIL_CANCELLATIONS: %q is not a boolean", v)
		}
		o.Faults.FailCancellations = b
	}
	if v := getenv("SANDBOX_WEBHOOK_DUPLICATES"); v != "" && err == nil {
		b, e := strconv.ParseBool(v)
		if e != nil {
			err = fmt.Errorf("SANDBOX_WEBHOOK_DUPLICATES: %q is not a boolean", v)
		}
		o.Faults.WebhookDuplicates = b
	}
	if v := getenv("SANDBOX_WEBHOOKS"); v != "" && err == nil {
		o.Webhooks, err = parseWebhooks(v)
	}
	parseDur("SANDBOX_WEBHOOK_RETRY_BASE", &o.WebhookRetryBase)
	parseDur("SANDBOX_WEBHOOK_TIMEOUT", &o.WebhookTimeout)
	parseDur("SANDBOX_WEBHOOK_SCAN_INTERVAL", &o.WebhookScanInterval)
	if err == nil && o.WebhookScanInterval != 0 && o.WebhookScanInterval < time.Millisecond {
		err = fmt.Errorf("SANDBOX_WEBHOOK_SCAN_INTERVAL: must be at least 1ms")
	}
	if err != nil {
		return Options{}, err
	}
	return o, nil
}

// parseWebhooks reads "sk_…=http://…,sk_…=http://…"; a URL holding a comma
// must be registered with POST /_sandbox/webhooks instead.
func parseWebhooks(v string) ([]WebhookConfig, error) {
	keys, _ := demoKeys()
	var out []WebhookConfig
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, u, ok := strings.Cut(item, "=")
		key, u = strings.TrimSpace(key), strings.TrimSpace(u)
		if !ok {
			return nil, fmt.Errorf("SANDBOX_WEBHOOKS: %q is not secret_key=url", item)
		}
		if k, known := keys[key]; !known || k.public {
			return nil, fmt.Errorf("SANDBOX_WEBHOOKS: %q is not a demo secret key", key)
		}
		if !validWebhookURL(u) {
			return nil, fmt.Errorf("SANDBOX_WEBHOOKS: %q is not an absolute http or https URL", u)
		}
		out = append(out, WebhookConfig{SecretKey: key, URL: u})
	}
	if len(out) > MaxWebhooks {
		return nil, fmt.Errorf("SANDBOX_WEBHOOKS: at most %d endpoints", MaxWebhooks)
	}
	return out, nil
}
