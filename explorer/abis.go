package explorer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/cairn-dev/cairn/channels"
	"github.com/cairn-dev/cairn/l1/staking"
	"github.com/cairn-dev/cairn/rollup"
	"github.com/cairn-dev/cairn/sidechain"
	"github.com/cairn-dev/cairn/zkrollup"
)

// Decoding calls and logs: Cairn's own contracts are known by address on
// every layer they live on; any other contract's ABI a user may upload
// (POST /abi/{layer}/{addr}), kept in the index. Decoded values are
// rendered as text by html/template, so an uploaded ABI's names and a
// call's strings are escaped like everything else.

// knownContract is a Cairn system contract.
type knownContract struct {
	name   string
	abi    *abi.ABI
	layers []string // the layers (their path segments) it lives on
}

// known are Cairn's system contracts, by address. The addresses are fixed,
// and a layer that does not run the contract has no code there.
var known = map[common.Address]knownContract{
	staking.Address:               {"staking", &staking.ABI, []string{"l1", "sidechain"}},
	rollup.PortalAddress:          {"optimistic rollup portal", &rollup.PortalABI, []string{"l1"}},
	rollup.OutputsAddress:         {"optimistic rollup outputs", &rollup.OutputsABI, []string{"l1"}},
	rollup.MessagePasserAddress:   {"L2 message passer", &rollup.MessagePasserABI, []string{"optimistic-rollup"}},
	zkrollup.VerifierAddress:      {"ZK rollup verifier", &zkrollup.VerifierABI, []string{"l1"}},
	channels.AdjudicatorAddress:   {"payment-channel adjudicator", &channels.AdjudicatorABI, []string{"l1"}},
	sidechain.LightL1Address:      {"light-client bridge (L1 half)", &sidechain.LightABI, []string{"l1"}},
	sidechain.LightSideAddress:    {"light-client bridge (sidechain half)", &sidechain.LightABI, []string{"sidechain"}},
	sidechain.MultisigL1Address:   {"multisig bridge (L1 half)", &sidechain.MultisigABI, []string{"l1"}},
	sidechain.MultisigSideAddress: {"multisig bridge (sidechain half)", &sidechain.MultisigABI, []string{"sidechain"}},
}

// maxABI bounds an uploaded ABI's JSON.
const maxABI = 64 << 10

// Call is a decoded transaction input.
type Call struct {
	Contract string // the contract's name, or "uploaded ABI"
	Method   string
	Args     []Arg
}

// Arg is one decoded argument or event field.
type Arg struct {
	Name, Type, Value string
}

// Log is a receipt's log, decoded where its contract is known.
type Log struct {
	Address common.Address
	Event   string // "" when not decoded
	Args    []Arg
	Topics  []common.Hash
	Data    hexutil.Bytes
}

// contractABI is the ABI for a on layer: Cairn's own, or one uploaded.
func (e *Explorer) contractABI(layer string, a common.Address) (string, *abi.ABI) {
	if k, ok := known[a]; ok && slices.Contains(k.layers, layer) {
		return k.name, k.abi
	}
	raw, err := e.idx.abiFor(layer, a)
	if err != nil || raw == nil {
		return "", nil
	}
	parsed, err := abi.JSON(bytes.NewReader(raw))
	if err != nil {
		return "", nil
	}
	return "uploaded ABI", &parsed
}

// decodeCall decodes a call's input, or returns nil.
func (e *Explorer) decodeCall(layer string, to *common.Address, input []byte) *Call {
	if to == nil || len(input) < 4 {
		return nil
	}
	name, a := e.contractABI(layer, *to)
	if a == nil {
		return nil
	}
	m, err := a.MethodById(input[:4])
	if err != nil {
		return &Call{Contract: name, Method: fmt.Sprintf("unknown method 0x%x", input[:4])}
	}
	c := &Call{Contract: name, Method: m.Name}
	vals, err := m.Inputs.Unpack(input[4:])
	if err != nil {
		c.Args = []Arg{{Name: "error", Value: "the arguments do not decode: " + err.Error()}}
		return c
	}
	for i, in := range m.Inputs {
		c.Args = append(c.Args, Arg{Name: in.Name, Type: in.Type.String(), Value: formatValue(vals[i])})
	}
	return c
}

// rpcLog is a log as eth_getTransactionReceipt gives it.
type rpcLog struct {
	Address common.Address `json:"address"`
	Topics  []common.Hash  `json:"topics"`
	Data    hexutil.Bytes  `json:"data"`
}

func (l rpcLog) toTypes() *types.Log {
	return &types.Log{Address: l.Address, Topics: l.Topics, Data: l.Data}
}

// decodeLogs decodes a receipt's logs.
func (e *Explorer) decodeLogs(layer string, logs []rpcLog) []Log {
	var out []Log
	for _, l := range logs {
		d := Log{Address: l.Address, Topics: l.Topics, Data: l.Data}
		if _, a := e.contractABI(layer, l.Address); a != nil && len(l.Topics) > 0 {
			if ev, err := a.EventByID(l.Topics[0]); err == nil {
				d.Event = ev.Name
				d.Args = decodeEvent(ev, l)
			}
		}
		out = append(out, d)
	}
	return out
}

// decodeEvent decodes an event's indexed fields from its topics and the
// rest from its data.
func decodeEvent(ev *abi.Event, l rpcLog) []Arg {
	var args []Arg
	topic := 1
	var plain abi.Arguments
	for _, in := range ev.Inputs {
		if !in.Indexed {
			plain = append(plain, in)
			continue
		}
		v := "?"
		if topic < len(l.Topics) {
			v = indexedValue(in.Type, l.Topics[topic])
			topic++
		}
		args = append(args, Arg{Name: in.Name, Type: in.Type.String(), Value: v})
	}
	vals, err := plain.Unpack(l.Data)
	if err != nil {
		return append(args, Arg{Name: "error", Value: "the data does not decode: " + err.Error()})
	}
	for i, in := range plain {
		args = append(args, Arg{Name: in.Name, Type: in.Type.String(), Value: formatValue(vals[i])})
	}
	return args
}

// indexedValue reads one indexed field: values of static types are in the
// topic; dynamic ones are only their hash.
func indexedValue(t abi.Type, topic common.Hash) string {
	switch t.T {
	case abi.AddressTy:
		return common.BytesToAddress(topic[:]).Hex()
	case abi.IntTy, abi.UintTy:
		return topic.Big().String()
	case abi.BoolTy:
		return fmt.Sprint(topic.Big().Sign() != 0)
	}
	return topic.Hex()
}

// formatValue writes a decoded value as text: byte strings in hex, the
// rest as Go prints them.
func formatValue(v any) string {
	switch x := v.(type) {
	case []byte:
		if len(x) > 256 {
			return hexutil.Encode(x[:256]) + fmt.Sprintf("… (%d bytes)", len(x))
		}
		return hexutil.Encode(x)
	case [32]byte:
		return common.Hash(x).Hex()
	case common.Address:
		return x.Hex()
	}
	s := fmt.Sprint(v)
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}

// abiKey is where an uploaded ABI is kept.
func abiKey(layer string, a common.Address) []byte { return append([]byte("abi/"+layer+"/"), a[:]...) }

func (x *index) abiFor(layer string, a common.Address) ([]byte, error) {
	v, closer, err := x.db.Get(abiKey(layer, a))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

func (x *index) putABI(layer string, a common.Address, raw []byte) error {
	return x.db.Set(abiKey(layer, a), raw, pebble.Sync)
}

// uploadABI takes an ABI's JSON for a contract (a form's "abi" field or
// the body), checks that it parses, and keeps it. Cairn's own contracts
// cannot be overridden. Only a same-origin form may post.
func (e *Explorer) uploadABI(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		e.tmpl.ExecuteTemplate(w, "error", map[string]any{"Status": status, "Error": msg, "Layers": e.layers})
	}
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
		fail(http.StatusForbidden, "an ABI may be uploaded only from the explorer's own pages")
		return
	}
	l, err := e.layerOf(r)
	if err != nil {
		fail(http.StatusNotFound, err.Error())
		return
	}
	a, err := parseAddress(r.PathValue("addr"))
	if err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := known[a]; ok {
		fail(http.StatusBadRequest, "this is one of Cairn's own contracts: its ABI is built in")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxABI+4096)
	var raw []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err = r.ParseForm(); err == nil {
			raw = []byte(r.PostFormValue("abi"))
		}
	} else {
		raw, err = io.ReadAll(r.Body)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || len(raw) > maxABI {
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("an ABI may be at most %d bytes", maxABI))
		return
	}
	if err != nil {
		fail(http.StatusBadRequest, "the upload could not be read: "+err.Error())
		return
	}
	if _, err := abi.JSON(bytes.NewReader(raw)); err != nil {
		fail(http.StatusBadRequest, "not an ABI: "+err.Error())
		return
	}
	// Kept compacted, so what is stored is what parsed.
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		fail(http.StatusBadRequest, "not JSON: "+err.Error())
		return
	}
	if err := e.idx.putABI(l.Key, a, buf.Bytes()); err != nil {
		fail(http.StatusInternalServerError, "the ABI could not be kept: "+err.Error())
		return
	}
	http.Redirect(w, r, "/"+l.Key+"/address/"+a.Hex(), http.StatusSeeOther)
}

// methodNames lists an ABI's methods, for an address page.
func methodNames(a *abi.ABI) []string {
	var out []string
	for name := range a.Methods {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// nameMethods names each transaction's method from its recipient's ABI.
func (e *Explorer) nameMethods(layer string, txs []addressTx) {
	for i := range txs {
		t := &txs[i]
		if t.Selector == ([4]byte{}) {
			continue
		}
		if _, a := e.contractABI(layer, t.To); a != nil {
			if m, err := a.MethodById(t.Selector[:]); err == nil {
				t.Method = m.Name
			}
		}
	}
}
