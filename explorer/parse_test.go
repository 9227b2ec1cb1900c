package explorer

import "testing"

// FuzzRoutes: the route parsers take any path segment, never panic, and
// what they accept is well formed.
func FuzzRoutes(f *testing.F) {
	for _, s := range []string{"12", "0x1f", "0x" + "ab" + "00000000000000000000000000000000000000000000000000000000000000", "xyz", "", "0x", "-1", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, h, isHash, err := parseBlockID(s); err == nil && isHash && len(s) != 66 {
			t.Fatalf("%q read as hash %s", s, h)
		}
		if _, err := parseHash(s); err == nil && len(s) != 66 {
			t.Fatalf("%q read as a hash", s)
		}
		if _, err := parseAddress(s); err == nil && len(s) != 42 {
			t.Fatalf("%q read as an address", s)
		}
		_ = layerKey(s)
	})
}
