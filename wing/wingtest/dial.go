package wingtest

import (
	"testing"

	"github.com/ethereum/go-ethereum/ethclient"
)

// Dial connects to a JSON-RPC server for a test, closed when it ends.
func Dial(t testing.TB, url string) *ethclient.Client {
	t.Helper()
	c, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
