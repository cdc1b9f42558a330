package apiclient_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"backoffice/apiclient"
)

type call struct {
	status int
	err    error
}

func observing(t *testing.T) (*apiclient.Config, *[]call) {
	t.Helper()
	var calls []call
	c := apiclient.NewConfig("ua", time.Second)
	if err := apiclient.WithObserver(func(upstream, op string, status int, d time.Duration, err error) {
		if upstream != "kasko" || op != "GET /x" || d < 0 {
			t.Errorf("observer: got %s %s %v", upstream, op, d)
		}
		calls = append(calls, call{status, err})
	})(&c); err != nil {
		t.Fatal(err)
	}
	return &c, &calls
}

func TestAttempt(t *testing.T) {
	t.Run("first end wins", func(t *testing.T) {
		c, calls := observing(t)
		a := c.Begin("kasko", "GET /x")
		e := &apiclient.Error{StatusCode: 409, Kind: apiclient.ErrConflict}
		a.End(200, e)
		a.End(200, nil)
		if len(*calls) != 1 || (*calls)[0] != (call{409, e}) {
			t.Errorf("got %+v, want one call with the error's status 409", *calls)
		}
	})
	t.Run("watched body ends at close", func(t *testing.T) {
		c, calls := observing(t)
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok"))}
		c.Begin("kasko", "GET /x").Watch(resp)
		_, _ = io.ReadAll(resp.Body)
		if len(*calls) != 0 {
			t.Fatalf("before Close: got %+v, want none", *calls)
		}
		resp.Body.Close()
		resp.Body.Close()
		if len(*calls) != 1 || (*calls)[0] != (call{200, nil}) {
			t.Errorf("got %+v, want one 200 nil", *calls)
		}
	})
	t.Run("read error is a transport failure", func(t *testing.T) {
		c, calls := observing(t)
		boom := errors.New("connection reset")
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(iotest.ErrReader(boom))}
		c.Begin("kasko", "GET /x").Watch(resp)
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(*calls) != 1 || (*calls)[0].status != 200 || !errors.Is((*calls)[0].err, boom) || !errors.Is((*calls)[0].err, apiclient.ErrUnavailable) {
			t.Errorf("got %+v, want one 200 ErrUnavailable wrapping the read error", *calls)
		}
	})
	t.Run("unusable answer", func(t *testing.T) {
		c, calls := observing(t)
		resp := &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("<html>"))}
		c.Begin("kasko", "GET /x").Watch(resp)
		e := &apiclient.Error{StatusCode: 200, Kind: apiclient.ErrInvalidResponse}
		apiclient.EndAttempt(resp, e)
		resp.Body.Close()
		if len(*calls) != 1 || (*calls)[0] != (call{200, e}) {
			t.Errorf("got %+v, want one 200 with the invalid-response error", *calls)
		}
	})
	t.Run("no observer", func(t *testing.T) {
		c := apiclient.NewConfig("ua", time.Second)
		a := c.Begin("kasko", "GET /x")
		if a != nil {
			t.Fatalf("Begin without an observer: got %v, want nil", a)
		}
		body := io.NopCloser(strings.NewReader(""))
		resp := &http.Response{StatusCode: 200, Body: body}
		a.Watch(resp)
		a.End(200, nil)
		apiclient.EndAttempt(resp, nil)
		apiclient.EndAttempt(nil, nil)
		if resp.Body != body {
			t.Error("Watch without an observer replaced the body")
		}
	})
}
