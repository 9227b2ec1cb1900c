package da

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/ethereum/go-ethereum/crypto"
)

func testCommittee(t *testing.T, n, threshold int) (*Committee, []*Member, *CommitteeClient) {
	t.Helper()
	c := &Committee{Threshold: threshold}
	var members []*Member
	var urls []string
	for i := range n {
		k := NewBLSKey([]byte{byte(i)})
		c.Members = append(c.Members, k.PK)
		dir := ""
		if i%2 == 1 {
			dir = t.TempDir() // some members on disk, some in memory
		}
		m, err := NewMember(k, 901, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		members, urls = append(members, m), append(urls, m.URL())
	}
	return c, members, NewCommitteeClient(c, 901, urls)
}

// Four of five members sign; the certificate is 73 bytes and verifies,
// and any member serves the data back.
func TestCommitteeCertifies(t *testing.T) {
	c, members, client := testCommittee(t, 5, 4)
	members[2].Silent.Store(true)
	data := []byte("a batch of frames")
	cert, err := client.Certify(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	raw := cert.Marshal()
	if len(raw) != CertSize || CertSize != 73 {
		t.Fatalf("certificate of %d bytes", len(raw))
	}
	back, err := ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(back, 901); err != nil {
		t.Fatal(err)
	}
	if back.Signers != 0b11011 {
		t.Fatalf("signers %b", back.Signers)
	}
	got, err := client.Fetch(context.Background(), crypto.Keccak256Hash(data))
	if err != nil || string(got) != string(data) {
		t.Fatalf("fetched %q, %v", got, err)
	}
	// Another chain, other data, or a signer claimed who did not sign.
	if err := c.Verify(back, 902); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("another chain: %v", err)
	}
	forged := *back
	forged.DataHash[0] ^= 1
	if err := c.Verify(&forged, 901); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("another hash: %v", err)
	}
	forged = *back
	forged.Signers = 0b11111
	if err := c.Verify(&forged, 901); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("a signer added: %v", err)
	}
	forged.Signers = 0b111111
	if err := c.Verify(&forged, 901); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("a signer beyond the committee: %v", err)
	}
}

// Two members down: three signatures are under the threshold of four.
func TestCommitteeWithoutQuorum(t *testing.T) {
	_, members, client := testCommittee(t, 5, 4)
	members[0].Silent.Store(true)
	members[4].Silent.Store(true)
	if _, err := client.Certify(context.Background(), []byte("x")); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("certified without a quorum: %v", err)
	}
}

// A committee whose every member withholds: the data is gone.
func TestCommitteeWithholds(t *testing.T) {
	_, members, client := testCommittee(t, 3, 2)
	data := []byte("withheld")
	if _, err := client.Certify(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		m.Withhold.Store(true)
	}
	if _, err := client.Fetch(context.Background(), crypto.Keccak256Hash(data)); !errors.Is(err, ErrDataWithheld) {
		t.Fatalf("fetch from a withholding committee: %v", err)
	}
	members[1].Withhold.Store(false)
	if _, err := client.Fetch(context.Background(), crypto.Keccak256Hash(data)); err != nil {
		t.Fatalf("one honest member: %v", err)
	}
}

func TestCommitteeJSON(t *testing.T) {
	c, _, _ := testCommittee(t, 2, 2)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Committee
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Members) != 2 || !back.Members[1].Equal(&c.Members[1]) || back.Threshold != 2 {
		t.Fatalf("round trip %s", raw)
	}
	if err := json.Unmarshal([]byte(`{"members":["00"],"threshold":1}`), &back); err == nil {
		t.Fatal("a malformed key was read")
	}
}

// FuzzParseCertificate: any bytes parse or are refused, never panic; a
// parsed certificate verifies or is refused.
func FuzzParseCertificate(f *testing.F) {
	k := NewBLSKey([]byte{1})
	c := &Committee{Members: []bn254.G2Affine{k.PK}, Threshold: 1}
	sig, _ := k.Sign(CertMessage(901, [32]byte{}))
	f.Add((&Certificate{Signers: 1, Sig: sig}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		cert, err := ParseCertificate(b)
		if err != nil {
			return
		}
		c.Verify(cert, 901)
	})
}
