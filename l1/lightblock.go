package l1

import (
	"cmp"
	"fmt"
	"sync"

	sm "github.com/cometbft/cometbft/state"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/cairn-dev/cairn/rpc"
)

// lightStates opens CometBFT's state store once, for the validator sets
// light blocks carry.
type lightStates struct {
	once  sync.Once
	store sm.Store
	err   error
}

// LightBlock implements rpc.LightBlockServer: the signed header at height
// (0: the newest, with the commit this node saw; older ones with the
// canonical commit of the block after) and the validators that signed it.
func (n *Node) LightBlock(height uint64) (*rpc.LightBlock, error) {
	if n.comet == nil {
		return nil, fmt.Errorf("light block: node not started")
	}
	n.light.once.Do(func() {
		env, err := n.comet.ConfigureRPC()
		if err != nil {
			n.light.err = err
			return
		}
		n.light.store = env.StateStore
	})
	if n.light.err != nil {
		return nil, fmt.Errorf("light block: %w", n.light.err)
	}
	bs := n.comet.BlockStore()
	top := bs.Height()
	h := cmp.Or(int64(height), top) // 0: the newest
	if h <= 0 || h > top {
		return nil, fmt.Errorf("light block: no block %d (newest is %d)", h, top)
	}
	meta := bs.LoadBlockMeta(h)
	if meta == nil {
		return nil, fmt.Errorf("light block: block %d pruned", h)
	}
	commit := bs.LoadBlockCommit(h)
	if h == top {
		commit = bs.LoadSeenCommit(h)
	}
	if commit == nil {
		return nil, fmt.Errorf("light block: no commit for block %d yet", h)
	}
	vals, err := n.light.store.LoadValidators(h)
	if err != nil {
		return nil, fmt.Errorf("light block: validators at %d: %w", h, err)
	}
	sh := (&cmttypes.SignedHeader{Header: &meta.Header, Commit: commit}).ToProto()
	shb, err := sh.Marshal()
	if err != nil {
		return nil, err
	}
	vp, err := vals.ToProto()
	if err != nil {
		return nil, err
	}
	vb, err := vp.Marshal()
	if err != nil {
		return nil, err
	}
	return &rpc.LightBlock{Height: hexutil.Uint64(h), SignedHeader: shb, Validators: vb}, nil
}
