package chain

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// DevMnemonic is the well-known test mnemonic of Hardhat, Anvil and Foundry.
// Its keys are public: never use them outside a development chain.
const DevMnemonic = "test test test test test test test test test test test junk"

// DevAccounts is how many accounts of DevMnemonic development chains fund.
const DevAccounts = 10

// DevKey derives account i of DevMnemonic at m/44'/60'/0'/0/i (BIP-39 seed
// without passphrase, BIP-32 derivation), as Anvil and Hardhat do.
func DevKey(i uint32) *ecdsa.PrivateKey {
	key, err := DeriveKey(DevMnemonic, "", []uint32{44 | hardened, 60 | hardened, 0 | hardened, 0, i})
	if err != nil {
		panic(err) // the mnemonic and path are fixed and valid
	}
	return key
}

// DevAddress is the address of DevKey(i).
func DevAddress(i uint32) common.Address { return crypto.PubkeyToAddress(DevKey(i).PublicKey) }

const hardened = 1 << 31

// DeriveKey derives the secp256k1 key at path from a BIP-39 mnemonic. Path
// elements with the high bit set are hardened.
func DeriveKey(mnemonic, passphrase string, path []uint32) (*ecdsa.PrivateKey, error) {
	seed, err := pbkdf2.Key(sha512.New, mnemonic, []byte("mnemonic"+passphrase), 2048, 64)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha512.New, []byte("Bitcoin seed"))
	mac.Write(seed)
	sum := mac.Sum(nil)
	n := crypto.S256().Params().N
	k, chainCode := new(big.Int).SetBytes(sum[:32]), sum[32:]
	for _, idx := range path {
		var data []byte
		if idx&hardened != 0 {
			data = append([]byte{0}, common.LeftPadBytes(k.Bytes(), 32)...)
		} else {
			priv, err := crypto.ToECDSA(common.LeftPadBytes(k.Bytes(), 32))
			if err != nil {
				return nil, err
			}
			data = crypto.CompressPubkey(&priv.PublicKey)
		}
		data = binary.BigEndian.AppendUint32(data, idx)
		mac := hmac.New(sha512.New, chainCode)
		mac.Write(data)
		sum := mac.Sum(nil)
		il := new(big.Int).SetBytes(sum[:32])
		if il.Cmp(n) >= 0 {
			return nil, fmt.Errorf("bip32: invalid child at index %d", idx)
		}
		k = il.Add(il, k).Mod(il, n)
		if k.Sign() == 0 {
			return nil, fmt.Errorf("bip32: zero child key at index %d", idx)
		}
		chainCode = sum[32:]
	}
	return crypto.ToECDSA(common.LeftPadBytes(k.Bytes(), 32))
}
