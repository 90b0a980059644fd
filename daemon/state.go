package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"leverance/internal/fsutil"
)

// State is what the daemon must remember across restarts. It is stored as
// one JSON file, replaced atomically (temp, fsync, rename, fsync directory)
// on every change; it holds no CPR number.
type State struct {
	Version int `json:"version"`
	// Since is the first delivery day the daemon is responsible for (the day
	// it first started); earlier slots are never considered.
	Since string `json:"since"`
	// Slots holds every slot that is finished: delivered or omitted.
	Slots map[SlotKey]*SlotState `json:"slots"`
	// Intents are publications decided but maybe not finished.
	Intents map[SlotKey]*Intent `json:"intents,omitempty"`
	// Basis is, per vendor, the extract behind the last daglige-beskeder
	// delivered to it (B of docs/rules.md#the-daily-messages).
	Basis map[string]ExtractRef `json:"basis"`
	// Published is, per as-of date (YYYYMMDD), the revision of the extract
	// whose products were published: later revisions are not published.
	Published map[string]int `json:"published"`
}

// ExtractRef names one accepted extract.
type ExtractRef struct {
	AsOf     string `json:"as_of"` // YYYYMMDD
	Revision int    `json:"revision"`
}

func (r ExtractRef) String() string { return fmt.Sprintf("%s_r%d", r.AsOf, r.Revision) }

// SlotState is a finished slot.
type SlotState struct {
	Status   string    `json:"status"` // "leveret" or "udeladt"
	Time     time.Time `json:"time"`
	Outcome  string    `json:"outcome"`
	File     string    `json:"file,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Size     int64     `json:"size,omitempty"`
	Input    string    `json:"input,omitempty"` // ExtractRef
	Attempts int       `json:"attempts,omitempty"`
}

// Intent is a publication whose files are staged in the outbox under
// temporary names. Recovery rolls it forward (commits what is left), or back
// when nothing was committed and the cutoff has passed.
type Intent struct {
	Time     time.Time    `json:"time"`
	Input    ExtractRef   `json:"input"`
	Files    []StagedFile `json:"files"`
	SHA256   string       `json:"sha256"`
	Size     int64        `json:"size"`
	Attempts int          `json:"attempts"`
}

// StagedFile is a file staged in an outbox.
type StagedFile struct {
	Tmp  string `json:"tmp"`
	Name string `json:"name"`
}

const stateVersion = 1

func newState(since string) *State {
	return &State{Version: stateVersion, Since: since, Slots: map[SlotKey]*SlotState{},
		Intents: map[SlotKey]*Intent{}, Basis: map[string]ExtractRef{}, Published: map[string]int{}}
}

// loadState reads the state file; a missing one gives a fresh state.
func loadState(path, since string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newState(since), nil
	}
	if err != nil {
		return nil, err
	}
	s := newState(since)
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("%s: state version %d, this program knows %d", path, s.Version, stateVersion)
	}
	if s.Slots == nil {
		s.Slots = map[SlotKey]*SlotState{}
	}
	if s.Intents == nil {
		s.Intents = map[SlotKey]*Intent{}
	}
	if s.Basis == nil {
		s.Basis = map[string]ExtractRef{}
	}
	if s.Published == nil {
		s.Published = map[string]int{}
	}
	return s, nil
}

func (s *State) save(path string) error {
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(data, '\n'), 0o640)
}
