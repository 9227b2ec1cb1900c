package lab

import (
	"context"
	"testing"
	"time"
)

// A small run of the channel benchmark: every figure is there and
// consistent, and every adjudicator call was measured.
func TestRunChannels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunChannels(ctx, ChannelsConfig{Payments: 400, Routed: 40, Workers: 16, LoneTrips: 20, DisputeWindow: 60})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Figures) != 5 || res.FsyncsPerSecond <= 0 {
		t.Fatalf("figures: %+v", res)
	}
	for _, f := range res.Figures {
		if f.PerSecond <= 0 || f.P99 < f.P50 || f.FsyncsPerPayment <= 0 {
			t.Errorf("%s: %+v", f.Name, f)
		}
	}
	// One at a time, each payment is four fsyncs (two at each end); with
	// many in flight they share them.
	if lone, pair := res.Figures[1].FsyncsPerPayment, res.Figures[0].FsyncsPerPayment; pair >= lone {
		t.Errorf("%.2f fsyncs a payment in flight, %.2f one at a time: nothing was shared", pair, lone)
	}
	for _, call := range []string{"open", "fund", "cooperative close", "unilateral close", "challenge", "reveal a preimage", "conclude", "settle an HTLC"} {
		if res.Gas[call] == 0 {
			t.Errorf("no gas for %s", call)
		}
	}
}
