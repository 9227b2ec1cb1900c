package zkrollup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// record is one line of the operator's journal: an accepted op, or the
// sealing of the oldest Seal pending ops into the next batch.
type record struct {
	Op   *Op `json:"op,omitempty"`
	Seal int `json:"seal,omitempty"`
}

// journal is the operator's append-only log. An op is in it, synced to
// disk, before the operator tells its sender it was accepted; replaying it
// rebuilds the operator's trees, batches and account indexes.
type journal struct {
	f *os.File
}

// openJournal opens (or creates) dir/journal and returns its records. A
// torn last line, from a crash mid-write, is cut off: its op was never
// acknowledged. dir "" keeps no journal.
func openJournal(dir string) (*journal, []record, error) {
	if dir == "" {
		return &journal{}, nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "journal"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	var out []record
	var good int64
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a line without its newline is torn
		}
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		var rec record
		if err := json.Unmarshal(bytes.TrimSpace(line), &rec); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("zk journal: record %d: %w", len(out), err)
		}
		out = append(out, rec)
		good += int64(len(line))
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, err
	}
	return &journal{f: f}, out, nil
}

// Append writes a record and syncs it.
func (j *journal) Append(r record) error {
	if j.f == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

// Close closes the journal.
func (j *journal) Close() error {
	if j.f == nil {
		return nil
	}
	return j.f.Close()
}
