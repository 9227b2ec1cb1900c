package explorer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/devnet"
)

// With the channel network and the sidechain running, the explorer shows
// the channels (as their nodes and the adjudicator hold them, and the
// graph) and the sidechain's bridges (each light client's standing, and
// the relayers' header updates on both chains).
func TestChannelAndBridgePages(t *testing.T) {
	d, err := devnet.Start(devnet.Config{Validators: 1, BlockTime: 100 * time.Millisecond, ZK: devnet.ZKOptions{RPCPort: -1},
		Channels: devnet.ChannelsOptions{RPCPort: 0}, Sidechain: devnet.SidechainOptions{RPCPort: 0}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	url := d.Explorer.URL()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, body := get(t, url+"/"); !strings.Contains(body, `href="/payment-channels/"`) || !strings.Contains(body, `href="/sidechain/l1/bridges"`) {
		t.Fatal("the home page does not link the channels and the bridges")
	}
	code, body := get(t, url+"/payment-channels/")
	if code != http.StatusOK {
		t.Fatalf("channels: %d %s", code, body)
	}
	for _, want := range []string{"<svg", "<line", d.Channels.Nodes[0].Address().Hex(), "open"} {
		if !strings.Contains(body, want) {
			t.Errorf("the channels page lacks %q", want)
		}
	}
	if n := strings.Count(body, "<line"); n != len(d.Channels.Channels) {
		t.Errorf("the graph draws %d channels, want %d", n, len(d.Channels.Channels))
	}
	// The relayers update each light client: their transactions appear.
	for {
		code, body = get(t, url+"/sidechain/l1/bridges")
		if code == http.StatusOK && strings.Count(body, ">update<") >= 2 && strings.Contains(body, "on the sidechain") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the bridges page never showed both clients' updates: %d\n%s", code, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if code, _ := get(t, url+"/api/payment-channels/"); code != http.StatusOK {
		t.Errorf("the channels page's JSON twin: %d", code)
	}
}
