package l1

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
)

// InitConfig describes a node home to create for joining a network.
type InitConfig struct {
	Home      string
	Moniker   string
	Genesis   string        // the network's genesis.json, copied into the home
	Peers     []string      // id@host:port of nodes to dial
	P2P       string        // listen address for peers, host:port
	RPC       string        // Ethereum JSON-RPC listen address
	BlockTime time.Duration // longest time between blocks, when idle
	BlockGap  time.Duration // pause after each block (default DefaultBlockGap)
}

// InitResult says who the new node is.
type InitResult struct {
	NodeID       string // for other nodes' peer lists: NodeID@host:port
	ConsensusKey []byte // ed25519 public key, to register with `cairn stake`
}

// InitHome creates a node home: keys (files 0600), config.toml,
// cairn.toml and the network's genesis. It refuses a home that already has a
// genesis, so keys and chain data are never overwritten.
func InitHome(c InitConfig) (*InitResult, error) {
	cc := CometConfig(c.Home, c.Moniker, c.P2P, c.Peers, c.BlockTime, cmp.Or(c.BlockGap, DefaultBlockGap))
	if _, err := os.Stat(cc.GenesisFile()); err == nil {
		return nil, fmt.Errorf("%s already has a genesis: refusing to overwrite a node home", c.Home)
	}
	genesis, err := os.ReadFile(c.Genesis)
	if err != nil {
		return nil, fmt.Errorf("read genesis: %w", err)
	}
	if _, _, err := readGenesisBytes(genesis); err != nil {
		return nil, err
	}
	pv, key, err := loadOrGenKeys(cc)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(
		os.WriteFile(cc.GenesisFile(), genesis, 0o600),
		WriteSettings(c.Home, Settings{RPC: c.RPC}),
	); err != nil {
		return nil, err
	}
	writeCometConfig(cc)
	return &InitResult{NodeID: string(key.ID()), ConsensusKey: pv.Key.PubKey.Bytes()}, nil
}

// loadOrGenKeys makes a home's directories and loads its validator key and
// node key, creating them (0600) when absent.
func loadOrGenKeys(cc *cmtcfg.Config) (*privval.FilePV, *p2p.NodeKey, error) {
	if err := EnsureDirs(cc); err != nil {
		return nil, nil, err
	}
	pv := privval.LoadOrGenFilePV(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	key, err := p2p.LoadOrGenNodeKey(cc.NodeKeyFile())
	if err != nil {
		return nil, nil, err
	}
	return pv, key, nil
}
