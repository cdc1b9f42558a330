package kasko

import (
	"strconv"
	"testing"
)

func TestRegionCacheIsBounded(t *testing.T) {
	c := newRegionCache()
	big := make([]byte, regionCacheBytes/16)
	for i := range 40 {
		c.put(strconv.Itoa(i), region{html: big})
		if i == 5 {
			// Used: it stays while older, unused entries go.
			if _, ok := c.get("0"); !ok {
				t.Fatal("entry 0 is gone before the bound")
			}
		}
	}
	if c.bytes > regionCacheBytes {
		t.Errorf("the cache holds %d bytes, more than %d", c.bytes, regionCacheBytes)
	}
	if _, ok := c.get("1"); ok {
		t.Error("the oldest unused entry is still there")
	}
	if _, ok := c.get("39"); !ok {
		t.Error("the newest entry is gone")
	}
	for i := range regionCacheEntries + 10 {
		c.put("small"+strconv.Itoa(i), region{html: []byte("x")})
	}
	if n := c.order.Len(); n > regionCacheEntries || n != len(c.byKey) {
		t.Errorf("%d entries (%d keys), bound %d", n, len(c.byKey), regionCacheEntries)
	}
	// A region larger than an eighth of the bound is not kept at all.
	c.put("huge", region{html: make([]byte, regionCacheBytes/4)})
	if _, ok := c.get("huge"); ok {
		t.Error("a huge region was kept")
	}
}
