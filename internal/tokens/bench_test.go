package tokens_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/redistest"
	"backoffice/internal/tokens"
)

// BenchmarkClaim is one form's life per op: Create (with the owner's
// bound), Claim, Finish. A backend that is not installed is skipped.
func BenchmarkClaim(b *testing.B) {
	for _, bb := range []struct {
		name string
		open func(b *testing.B) tokens.Store
	}{
		{"memory", func(*testing.B) tokens.Store { return tokens.NewMemory() }},
		{"sqlite", func(b *testing.B) tokens.Store {
			return mustOpen(b, tokens.Config{Path: filepath.Join(b.TempDir(), "tokens.db")})
		}},
		{"postgres", func(b *testing.B) tokens.Store {
			return mustOpen(b, tokens.Config{DatabaseURL: pgtest.Start(b).NewDatabase(b)})
		}},
		{"redis", func(b *testing.B) tokens.Store {
			return mustOpen(b, tokens.Config{RedisURL: redistest.Start(b)})
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			s := bb.open(b)
			exp := time.Now().Add(time.Hour)
			result := []byte(`{"status":303,"header":{"Location":["/policies/P1"]}}`)
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("bench-%d", i)
				i++
				if err := s.Create(ctx, record(key, "bench-session", "cancel", "P1@3", exp), 20); err != nil {
					b.Fatal(err)
				}
				if won, err := s.Claim(ctx, key); err != nil || !won {
					b.Fatalf("Claim = %v, %v", won, err)
				}
				if err := s.Finish(ctx, key, result, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
