package rpc

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
)

// JSON-RPC error codes used beside the standard ones.
const (
	codeServerError   = -32000 // geth's code for transaction and state errors
	codeInvalidParams = -32602
	codeReverted      = 3 // execution reverted, with data (EIP-1474 as geth uses it)
)

// Sentinel errors of the RPC layer.
var (
	ErrBlockNotFound = errors.New("header not found")
	ErrRangeTooLarge = errors.New("block range too large")
	ErrTooManyLogs   = errors.New("query returned too many logs")
)

// rpcError is an error with a JSON-RPC code, and optional data.
type rpcError struct {
	code int
	msg  string
	data any
}

func (e *rpcError) Error() string  { return e.msg }
func (e *rpcError) ErrorCode() int { return e.code }
func (e *rpcError) ErrorData() any { return e.data }

func invalidParams(format string, args ...any) error {
	return &rpcError{code: codeInvalidParams, msg: fmt.Sprintf(format, args...)}
}

// revertError reports a reverted call with its return data, as geth does:
// "execution reverted: <reason>" with code 3 and the data in hex.
func revertError(ret []byte) error {
	msg := vm.ErrExecutionReverted.Error()
	if reason, err := abi.UnpackRevert(ret); err == nil {
		msg += ": " + reason
	}
	return &rpcError{code: codeReverted, msg: msg, data: hexutil.Encode(ret)}
}

func keccak(b []byte) []byte { return crypto.Keccak256(b) }
