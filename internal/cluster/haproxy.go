package cluster

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// ServedBy is the response header in which the balancer names the
// instance that answered (its Instance.Name), so that a client can see
// the requests alternate.
const ServedBy = "X-Served-By"

// haproxyConfig is the balancer: round robin over the instances with no
// stickiness at all, so that consecutive requests of one browser land on
// different instances (what the shared stores must survive). An instance
// is taken out when /readyz fails twice; a request whose connection is
// refused (an instance killed since the last check) is sent again, to
// another instance (redispatch). Only a refused connection is retried:
// a request that reached an instance is never sent twice by the
// balancer, so a doubled write is the dashboard's own.
func haproxyConfig(port int, stats string, servers []Instance, check time.Duration) string {
	ms := check.Milliseconds()
	var b strings.Builder
	fmt.Fprintf(&b, `global
    log stdout format raw local0
    maxconn 512
    stats socket %s mode 600 level admin
    hard-stop-after 10s

defaults
    mode http
    log global
    # One line per request: when it began (%%tr, in UTC: TZ is set; not
    # %%Ts, when its keep-alive connection was accepted), the instance that
    # answered it, and how it ended (a C in term: the browser went away
    # first).
    log-format "request start=%%tr srv=%%s status=%%ST method=%%HM path=%%HP term=%%tsc retries=%%rc ms=%%Ta"
    # A browser that gives up a request closes its connection: pass that
    # on to the instance, as other proxies do (nginx by default), instead
    # of waiting for an answer nobody will read. The instance then sees
    # its request's context cancelled mid-write, the case to survive.
    option abortonclose
    # Connections a browser opens ahead and closes unused are no requests.
    option dontlognull
    # The instances count failed sign-ins per client address: they read it
    # from X-Forwarded-For, trusting only this balancer (TRUSTED_PROXIES).
    option forwardfor
    option redispatch
    retries 3
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    # /readyz probes every upstream, and fault injection may slow them.
    timeout check 4s

frontend web
    bind 127.0.0.1:%d
    default_backend dashboards

backend dashboards
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header %s %%s
    default-server check inter %dms fastinter %dms downinter %dms fall 2 rise 2
`, stats, port, ServedBy, ms, ms, ms)
	for _, s := range servers {
		fmt.Fprintf(&b, "    server %s %s\n", s.Name, strings.TrimPrefix(s.URL, "http://"))
	}
	return b.String()
}

// Request is one request as the balancer logged it.
type Request struct {
	// Start is when the balancer accepted it (millisecond precision).
	Start time.Time
	// Server is the instance that answered, or "<NOSRV>" when none did.
	Server string
	Status int // -1 when no answer came back (the browser left first)
	Method string
	Path   string
	// Term is HAProxy's termination state: "----" for a normal end; a
	// first letter C means the client aborted, S the server.
	Term    string
	Retries string
	Millis  int
}

// parseRequest reads a line of the log format above.
func parseRequest(line string) (Request, bool) {
	if !strings.HasPrefix(line, "request ") {
		return Request{}, false
	}
	var r Request
	for _, f := range strings.Fields(line)[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "start":
			r.Start, _ = time.Parse("02/Jan/2006:15:04:05.000", v)
		case "srv":
			r.Server = v
		case "status":
			r.Status, _ = strconv.Atoi(v)
		case "method":
			r.Method = v
		case "path":
			r.Path = v
		case "term":
			r.Term = v
		case "retries":
			r.Retries = v
		case "ms":
			r.Millis, _ = strconv.Atoi(v)
		}
	}
	return r, true
}

// ServerState is an instance as the balancer sees it.
type ServerState struct {
	Name   string
	Status string // UP, DOWN, "UP 1/2" (going down)…
	// Sessions is the number of requests the balancer sent it.
	Sessions int
}

// serverStates asks HAProxy's stats socket for the backend's servers.
func serverStates(socket string) ([]ServerState, error) {
	conn, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("show stat\n")); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(conn)
	var cols map[string]int
	var out []ServerState
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# ") {
			cols = map[string]int{}
			for i, name := range strings.Split(strings.TrimPrefix(line, "# "), ",") {
				cols[name] = i
			}
			continue
		}
		f := strings.Split(line, ",")
		if cols == nil || len(f) <= cols["status"] || f[cols["pxname"]] != "dashboards" {
			continue
		}
		name := f[cols["svname"]]
		if name == "BACKEND" || name == "FRONTEND" {
			continue
		}
		n, _ := strconv.Atoi(f[cols["stot"]])
		out = append(out, ServerState{Name: name, Status: f[cols["status"]], Sessions: n})
	}
	return out, sc.Err()
}
