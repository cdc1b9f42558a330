package savedviews_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/savedviews"
)

var ctx = context.Background()

func mustOpen(t testing.TB, cfg savedviews.Config) savedviews.Store {
	t.Helper()
	s, err := savedviews.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	testStore(t, func(t *testing.T) savedviews.Config {
		return savedviews.Config{Path: filepath.Join(t.TempDir(), "savedviews.db")}
	})
}

// TestPostgres runs against a real server: a throwaway one started here,
// or AUDIT_TEST_DATABASE_URL's.
func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	testStore(t, func(t *testing.T) savedviews.Config {
		return savedviews.Config{DatabaseURL: srv.NewDatabase(t)}
	})
}

// testStore is the contract every backend keeps. newConfig gives each
// subtest an empty database.
func testStore(t *testing.T, newConfig func(t *testing.T) savedviews.Config) {
	t.Run("create, list, get, delete", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, newConfig(t))
		a, err := s.Create(ctx, "tenant-a", "  Paid in EUR  ", "status=paid&currency=eur&sort=-premium&size=50")
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Paid in EUR" || a.Tenant != "tenant-a" || len(a.ID) != 18 || a.Created.IsZero() {
			t.Errorf("Create = %+v", a)
		}
		b, err := s.Create(ctx, "tenant-a", "<b>all</b> & \"more\"", "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "tenant-a", a.ID)
		if err != nil || got.Name != a.Name || got.State != a.State || !got.Created.Equal(a.Created) {
			t.Errorf("Get = %+v, %v; want %+v", got, err, a)
		}
		list, err := s.List(ctx, "tenant-a")
		if err != nil {
			t.Fatal(err)
		}
		if names := viewNames(list); names != "<b>all</b> & \"more\"|Paid in EUR" {
			t.Errorf("List = %s, want both, by name, markup kept as text", names)
		}
		if err := s.Delete(ctx, "tenant-a", b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "tenant-a", b.ID); !errors.Is(err, savedviews.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "tenant-a", b.ID); !errors.Is(err, savedviews.ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		for _, id := range []string{"", "x", "../etc", strings.Repeat("z", 18), "' OR 1=1 --"} {
			if _, err := s.Get(ctx, "tenant-a", id); !errors.Is(err, savedviews.ErrNotFound) {
				t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
			}
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, newConfig(t))
		a, err := s.Create(ctx, "tenant-a", "Mine", "q=x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "tenant-b", a.ID); !errors.Is(err, savedviews.ErrNotFound) {
			t.Errorf("B reads A's view: %v", err)
		}
		if err := s.Delete(ctx, "tenant-b", a.ID); !errors.Is(err, savedviews.ErrNotFound) {
			t.Errorf("B deletes A's view: %v", err)
		}
		if list, err := s.List(ctx, "tenant-b"); err != nil || len(list) != 0 {
			t.Errorf("B lists %v, %v; want none", viewNames(list), err)
		}
		// The same name is free in another tenant.
		if _, err := s.Create(ctx, "tenant-b", "MINE", "q=y"); err != nil {
			t.Errorf("B cannot use a name A uses: %v", err)
		}
		if _, err := s.Get(ctx, "tenant-a", a.ID); err != nil {
			t.Errorf("A's view after B's attempts: %v", err)
		}
		if _, err := s.Create(ctx, "", "No tenant", ""); !errors.Is(err, savedviews.ErrInvalid) {
			t.Errorf("Create without a tenant: %v", err)
		}
	})

	t.Run("bad names", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, newConfig(t))
		if _, err := s.Create(ctx, "t", "Paid", ""); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			want error
		}{
			{"", savedviews.ErrNameEmpty},
			{"   \t ", savedviews.ErrNameEmpty},
			{strings.Repeat("é", savedviews.MaxNameRunes+1), savedviews.ErrNameLong},
			{"two\nlines", savedviews.ErrNameControl},
			{"bell\a", savedviews.ErrNameControl},
			{"bad \xff utf-8", savedviews.ErrNameControl},
			{"invoice\u202Egpj.exe", savedviews.ErrNameFormat},
			{"Paid\u200B", savedviews.ErrNameFormat},
			{"\u2066isolate\u2069", savedviews.ErrNameFormat},
			{"bom\ufeff", savedviews.ErrNameFormat},
			{"PAID", savedviews.ErrDuplicate},
			{" paid ", savedviews.ErrDuplicate},
		} {
			if _, err := s.Create(ctx, "t", tt.name, ""); !errors.Is(err, tt.want) {
				t.Errorf("Create(%q): %v, want %v", tt.name, err, tt.want)
			}
		}
		if _, err := s.Create(ctx, "t", strings.Repeat("é", savedviews.MaxNameRunes), ""); err != nil {
			t.Errorf("a name of exactly %d characters: %v", savedviews.MaxNameRunes, err)
		}
		if _, err := s.Create(ctx, "t", "Long state", strings.Repeat("q", savedviews.MaxStateBytes+1)); !errors.Is(err, savedviews.ErrStateLong) {
			t.Errorf("a state past the bound: %v", err)
		}
		if list, _ := s.List(ctx, "t"); len(list) != 2 {
			t.Errorf("%d views kept, want 2: %s", len(list), viewNames(list))
		}
	})

	t.Run("bound per tenant", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, newConfig(t))
		// Created concurrently: the bound holds under a race too.
		var wg sync.WaitGroup
		errs := make(chan error, savedviews.MaxPerTenant+10)
		for i := range savedviews.MaxPerTenant + 10 {
			wg.Go(func() {
				_, err := s.Create(ctx, "t", fmt.Sprintf("View %03d", i), "q=x")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		full := 0
		for err := range errs {
			switch {
			case errors.Is(err, savedviews.ErrFull):
				full++
			case err != nil:
				t.Errorf("Create: %v", err)
			}
		}
		if full != 10 {
			t.Errorf("%d creates refused as full, want 10", full)
		}
		list, err := s.List(ctx, "t")
		if err != nil || len(list) != savedviews.MaxPerTenant {
			t.Errorf("List: %d views, %v; want %d", len(list), err, savedviews.MaxPerTenant)
		}
		// Another tenant is not full; a delete makes room.
		if _, err := s.Create(ctx, "other", "View", ""); err != nil {
			t.Errorf("another tenant: %v", err)
		}
		if err := s.Delete(ctx, "t", list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "t", "After a delete", ""); err != nil {
			t.Errorf("after a delete: %v", err)
		}
	})

	t.Run("two instances", func(t *testing.T) {
		t.Parallel()
		cfg := newConfig(t)
		one, two := mustOpen(t, cfg), mustOpen(t, cfg)
		v, err := one.Create(ctx, "t", "Shared", "q=x")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := two.Get(ctx, "t", v.ID); err != nil || got.Name != "Shared" {
			t.Errorf("the other instance reads %+v, %v", got, err)
		}
		if _, err := two.Create(ctx, "t", "shared", ""); !errors.Is(err, savedviews.ErrDuplicate) {
			t.Errorf("the other instance saves a duplicate: %v", err)
		}
	})
}

func viewNames(vs []savedviews.View) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	return strings.Join(names, "|")
}
