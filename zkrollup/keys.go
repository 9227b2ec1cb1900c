package zkrollup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/logger"
)

// gnark logs through its own zerolog logger to stdout; Cairn logs with
// slog, so the wing silences it and reports compile, setup and proving
// itself.
func init() { logger.Disable() }

// Keys are the batch circuit of one size, compiled, with its Groth16 keys.
//
// The keys come from a setup run on this machine, whose randomness (the
// "toxic waste") this process saw: whoever keeps it can forge proofs. That
// is fine for a devnet and tests; a real deployment needs keys from a
// multi-party ceremony, where one honest participant suffices.
type Keys struct {
	Slots, Depth int
	Hash         [32]byte // SHA-256 of the compiled constraint system
	CS           constraint.ConstraintSystem
	PK           groth16.ProvingKey
	VK           groth16.VerifyingKey
	VKBytes      []byte // the verifying key as the L1 contract takes it
	// SetupTime is how long the setup took, compiling included; 0 when the
	// keys came from the cache.
	SetupTime time.Duration
}

// Compile compiles the batch circuit of slots ops over a tree of depth and
// returns it with its hash.
func Compile(slots, depth int) (constraint.ConstraintSystem, [32]byte, error) {
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, NewBatchCircuit(slots, depth))
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	if _, err := cs.WriteTo(h); err != nil {
		return nil, [32]byte{}, err
	}
	return cs, [32]byte(h.Sum(nil)), nil
}

// DefaultKeyDir is where keys are cached unless a caller says otherwise.
func DefaultKeyDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "cairn", "zk-keys")
}

// LoadKeys returns the keys of the circuit for slots and depth, read from
// dir/<circuit hash>/ when an earlier setup stored them there, or made by a
// new setup and stored (atomically) for the next run.
func LoadKeys(dir string, slots, depth int, log *slog.Logger) (*Keys, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	cs, hash, err := Compile(slots, depth)
	if err != nil {
		return nil, fmt.Errorf("compile the batch circuit: %w", err)
	}
	k := &Keys{Slots: slots, Depth: depth, Hash: hash, CS: cs}
	at := filepath.Join(dir, hex.EncodeToString(hash[:8]))
	log.Info("zk circuit compiled", "slots", slots, "depth", depth, "constraints", cs.GetNbConstraints(), "hash", hex.EncodeToString(hash[:8]), "took", time.Since(start).Round(time.Millisecond))
	if err := k.read(at); err == nil {
		log.Info("zk keys loaded from cache", "dir", at, "took", time.Since(start).Round(time.Millisecond))
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Warn("zk key cache unreadable; running the setup again", "dir", at, "err", err)
	}
	log.Info("zk setup running (once per circuit; cached afterwards)", "constraints", cs.GetNbConstraints())
	if k.PK, k.VK, err = groth16.Setup(cs); err != nil {
		return nil, fmt.Errorf("groth16 setup: %w", err)
	}
	var vk bytes.Buffer
	if _, err := k.VK.WriteTo(&vk); err != nil {
		return nil, err
	}
	k.VKBytes = vk.Bytes()
	if err := k.write(at); err != nil {
		log.Warn("zk keys not cached", "dir", at, "err", err)
	}
	k.SetupTime = time.Since(start)
	log.Info("zk setup done", "took", k.SetupTime.Round(time.Millisecond))
	return k, nil
}

func (k *Keys) read(dir string) error {
	vk, err := os.ReadFile(filepath.Join(dir, "vk"))
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, "pk"))
	if err != nil {
		return err
	}
	defer f.Close()
	k.VK, k.PK = groth16.NewVerifyingKey(ecc.BN254), groth16.NewProvingKey(ecc.BN254)
	if _, err := k.VK.ReadFrom(bytes.NewReader(vk)); err != nil {
		return fmt.Errorf("verifying key: %w", err)
	}
	// The proving key is this machine's own output: read it raw, unchecked.
	if _, err := k.PK.UnsafeReadFrom(bufio.NewReaderSize(f, 1<<20)); err != nil {
		return fmt.Errorf("proving key: %w", err)
	}
	k.VKBytes = vk
	return nil
}

func (k *Keys) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	put := func(name string, write func(io.Writer) error) error {
		tmp, err := os.CreateTemp(dir, name+".tmp*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		w := bufio.NewWriterSize(tmp, 1<<20)
		if err := write(w); err != nil {
			tmp.Close()
			return err
		}
		if err := w.Flush(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	// The proving key first: a reader finds the verifying key only once both are whole.
	if err := put("pk", func(w io.Writer) error { _, err := k.PK.WriteRawTo(w); return err }); err != nil {
		return err
	}
	return put("vk", func(w io.Writer) error { _, err := w.Write(k.VKBytes); return err })
}

// Prove proves a batch assignment and returns the proof as the L1 contract
// takes it.
func (k *Keys) Prove(a *BatchCircuit) ([]byte, error) {
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := groth16.Prove(k.CS, k.PK, w)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := proof.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
