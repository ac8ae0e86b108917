package vault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"testing/cryptotest"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mutual-aid-vault/vault/vault/internal/fold"
	"github.com/mutual-aid-vault/vault/vault/internal/oplog"
)

// TestCopiesConverge is the property test on real files: a group works on
// several copies of the vault file (each member on their own machine and
// copy), and the copies travel in random pairs the ways sync tools move
// them (one side kept and a conflict copy left, one side simply replacing
// the other). At the end, after every copy has met every other:
//
//   - every copy shows the same state and the same log;
//   - no change any machine saw is lost;
//   - no removed member can read a value written by someone who had seen
//     the removal;
//   - every value ever stored is still in its secret's history.
func TestCopiesConverge(t *testing.T) {
	runs, steps := 4, 36
	if testing.Short() || raceEnabled {
		runs, steps = 2, 24
	}
	if n, err := strconv.Atoi(os.Getenv("VAULT_PROPERTY_RUNS")); err == nil {
		runs = n
	}
	for run := range runs {
		seed := uint64(run + 1)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			// Keys and IDs come from crypto/rand: seeding it makes a run
			// reproducible with -run TestCopiesConverge/SEED.
			cryptotest.SetGlobalRandom(t, seed)
			convergeRun(t, seed, steps)
		})
	}
}

type psim struct {
	t      *testing.T
	g      *group
	rng    *rand.Rand
	copies []string            // the copies' paths
	home   map[string]int      // which copy each member works on
	sets   map[oplog.Hash]bool // every value blob a member stored
	clock  time.Duration
}

func convergeRun(t *testing.T, seed uint64, steps int) {
	t.Logf("seed %d", seed)
	names := []string{"alice", "ben", "cleo", "dee"}
	g := newGroup(t, Classic, names...)
	s := &psim{t: t, g: g, rng: rand.New(rand.NewPCG(seed, 99)), home: map[string]int{}, sets: map[oplog.Hash]bool{}}
	g.do("alice", func(v *Vault) {
		if _, err := v.EditMember("ben", MemberEdit{Admin: ptr(true), AddGroups: []string{"intake"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.EditMember("cleo", MemberEdit{AddGroups: []string{"intake"}}); err != nil {
			t.Fatal(err)
		}
	})
	for range 3 {
		p := filepath.Join(t.TempDir(), "vault.db")
		copyPlain(t, g.path, p)
		s.copies = append(s.copies, p)
	}
	for i, n := range names {
		s.home[n] = i % 3
	}
	for range steps {
		s.clock += time.Hour
		g.clock.t = g.clock.t.Add(time.Hour)
		switch r := s.rng.IntN(10); {
		case r < 2:
			s.travel()
		default:
			s.act(names[s.rng.IntN(len(names))])
		}
	}
	// Every machine runs a command on its copy (that is when it puts back
	// what it saw and a copy lacks: a removed member's machine too, before
	// it refuses them), then every copy meets every other, through
	// conflict copies, until all hold the same.
	for _, n := range names {
		s.open(n, s.home[n])
	}
	for range 2 {
		// Members do the chores left to them (keys an admin hands out,
		// re-encryptions), as their next change or sync would.
		for _, n := range names {
			if v, err := Open(s.copies[s.home[n]], s.g.opts(n)); err == nil {
				if _, err := v.Maintain(); err != nil {
					t.Fatalf("%s's chores: %v", n, err)
				}
				v.Close()
			}
		}
		for a := range s.copies {
			for b := range s.copies {
				if a != b {
					s.conflict(a, b)
					s.open(s.ownerOf(b), b)
				}
			}
		}
	}
	s.check(names)
}

func ptr[T any](v T) *T { return &v }

// ownerOf returns a member still in the group who works on copy c, or
// another active member.
func (s *psim) ownerOf(c int) string {
	for _, n := range []string{"alice", "ben", "cleo", "dee"} {
		if s.home[n] == c && s.active(n) {
			return n
		}
	}
	for _, n := range []string{"alice", "ben", "cleo", "dee"} {
		if s.active(n) {
			return n
		}
	}
	s.t.Fatal("nobody left")
	return ""
}

func (s *psim) active(name string) bool {
	v, err := Open(s.g.path, s.g.opts(name))
	if err == nil {
		v.Close()
		return true
	}
	return !errors.Is(err, ErrNotMember)
}

// open opens copy c as name (taking in conflict copies), and closes it.
func (s *psim) open(name string, c int) {
	o := s.g.opts(name)
	v, err := Open(s.copies[c], o)
	if err != nil {
		if errors.Is(err, ErrNotMember) {
			return
		}
		s.t.Fatalf("open copy %d as %s: %v", c, name, err)
	}
	v.Close()
}

// travel moves one copy onto another the way sync tools do.
func (s *psim) travel() {
	a, b := s.rng.IntN(3), s.rng.IntN(3)
	if a == b {
		return
	}
	if s.rng.IntN(2) == 0 {
		s.conflict(a, b)
	} else {
		// The tool keeps a's side: b's file is replaced. b's machines put
		// back what they saw at their next command.
		copyPlain(s.t, s.copies[a], s.copies[b])
	}
}

// conflict leaves copy a beside copy b as a sync tool's conflict copy.
func (s *psim) conflict(a, b int) {
	dir := filepath.Dir(s.copies[b])
	copyPlain(s.t, s.copies[a], filepath.Join(dir, fmt.Sprintf("vault.sync-conflict-%d-%d.db", a, s.rng.IntN(1<<30))))
}

// act makes one random change as name on their copy.
func (s *psim) act(name string) {
	path := s.copies[s.home[name]]
	v, err := Open(path, s.g.opts(name))
	if err != nil {
		if errors.Is(err, ErrNotMember) {
			return
		}
		s.t.Fatalf("%s opens copy %d: %v", name, s.home[name], err)
	}
	defer v.Close()
	list, err := v.List(false)
	if err != nil {
		s.t.Fatal(err)
	}
	var mine []string
	for _, x := range list {
		if x.CanRead {
			mine = append(mine, x.Name)
		}
	}
	pick := func() string {
		if len(mine) == 0 {
			return ""
		}
		return mine[s.rng.IntN(len(mine))]
	}
	me, _ := v.Me()
	val := NewValue(fmt.Appendf(nil, "%s-%d", name, s.rng.IntN(1e6)))
	switch k := s.rng.IntN(9); {
	case k < 3:
		share := []string{"@intake"}
		if s.rng.IntN(2) == 0 {
			share = nil
		}
		_, err = v.Add(NewSecret{Name: fmt.Sprintf("s%d", s.rng.IntN(8)), Share: share}, val)
	case k == 3 && pick() != "":
		_, err = v.Set(pick(), val)
	case k == 4 && pick() != "":
		n := pick()
		if _, err = v.StartRotation(n, val); err == nil && s.rng.IntN(2) == 0 {
			_, err = v.ConfirmRotation(n)
		}
	case k == 5 && pick() != "":
		_, err = v.Share(pick(), []string{[]string{"alice", "ben", "cleo", "dee"}[s.rng.IntN(4)]})
	case k == 6 && me.Admin:
		victim := []string{"cleo", "dee"}[s.rng.IntN(2)]
		_, err = v.RemoveMember(victim, true, nil)
	case k == 7 && me.Admin:
		_, err = v.EditMember([]string{"cleo", "dee"}[s.rng.IntN(2)], MemberEdit{AddGroups: []string{"cash"}})
	default:
		_, err = v.Maintain()
	}
	// Refusals the program makes before writing are fine (a name taken, a
	// member already gone, a pending rotation); anything else is not.
	if err != nil && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) &&
		!errors.Is(err, ErrNotReader) && !errors.Is(err, ErrLastAdmin) && !errors.Is(err, ErrNotAdmin) {
		s.t.Fatalf("%s: %v", name, err)
	}
}

// check opens every copy as an active member and checks the properties.
func (s *psim) check(names []string) {
	t := s.t
	var logs [][]Event
	var seen = map[oplog.ID]bool{}
	var auth *fold.Auth
	var secrets []*fold.Secret
	var ops map[oplog.ID]*oplog.Op
	for c := range s.copies {
		owner := s.ownerOf(c)
		v, err := Open(s.copies[c], s.g.opts(owner))
		if err != nil {
			t.Fatalf("final open of copy %d as %s: %v", c, owner, err)
		}
		l, err := v.Log(0)
		if err != nil {
			t.Fatal(err)
		}

		logs = append(logs, l)
		if auth == nil {
			auth, _ = v.authState()
			v.view(func(r *reader) error {
				return r.ix.Each(func(x *fold.Secret) error { secrets = append(secrets, x); return nil })
			})
			ops = s.g.insiderOf(v).ops()
		}
		v.Close()
	}
	for c := 1; c < len(logs); c++ {
		if len(logs[c]) != len(logs[0]) {
			t.Fatalf("copy %d has %d changes, copy 0 has %d", c, len(logs[c]), len(logs[0]))
		}
		for i := range logs[0] {
			if logs[c][i].ID != logs[0][i].ID || logs[c][i].Rejected != logs[0][i].Rejected {
				t.Fatalf("copy %d differs from copy 0 at change %d: %+v / %+v", c, i, logs[c][i], logs[0][i])
			}
		}
	}
	for _, e := range logs[0] {
		var id oplog.ID
		if err := id.UnmarshalText([]byte(e.ID)); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
	}
	// Every change any machine's copy holds is in the final log.
	for _, n := range names {
		for _, id := range replicaOps(t, s.g, n) {
			if !seen[id] {
				op := ops[id]
				kind := "?"
				if op != nil {
					kind = op.Body.Kind
				}
				t.Fatalf("a change %s's machine saw is lost: %s %s", n, id.Short(), kind)
			}
		}
	}
	// No removed member reads a value written by someone who had seen the
	// removal, and every value stored is in history.
	parents := map[oplog.ID][]oplog.ID{}
	for id, op := range ops {
		parents[id] = op.Body.Parents
	}
	graph := oplog.Order(parents, nil)
	removals := map[fold.MemberID]int{}
	for _, m := range auth.Members {
		if m.Removed != nil {
			if i, ok := graph.Index(m.Removed.Op); ok {
				removals[m.ID] = i
			}
		}
	}
	inHistory := map[oplog.Hash]bool{}
	for _, x := range secrets {
		for _, ver := range x.Versions {
			inHistory[ver.Blob] = true
			vi, ok := graph.Index(ver.Op)
			if !ok {
				continue
			}
			for m, ri := range removals {
				if slices.Contains(ver.Readers, m) && graph.IsAncestor(ri, vi) {
					t.Fatalf("%s: a value written after its writer saw a removal is readable by the removed member", x.Name)
				}
			}
		}
	}
	for _, op := range ops {
		p, err := fold.Decode(op.Body.Kind, op.Body.Payload)
		if err != nil {
			continue
		}
		if sv, ok := p.(*fold.SecretValue); ok && logsAccepted(logs[0], op.ID) && !inHistory[sv.Value.Blob] && !anyPurged(secrets, sv.Secret) {
			if !reencrypted(secrets, sv.Secret, op.ID) {
				t.Fatalf("a stored value is missing from its history")
			}
		}
	}
}

func logsAccepted(l []Event, id oplog.ID) bool {
	for _, e := range l {
		if e.ID == id.String() {
			return e.Rejected == ""
		}
	}
	return false
}

func anyPurged(ss []*fold.Secret, id fold.SecretID) bool {
	for _, x := range ss {
		if x.ID == id {
			return x.Purged != nil
		}
	}
	return false
}

// reencrypted reports whether the version op wrote is in history with
// another age file (re-encrypted for new readers): the same value.
func reencrypted(ss []*fold.Secret, id fold.SecretID, op oplog.ID) bool {
	for _, x := range ss {
		if x.ID == id {
			return x.Version(op) != nil
		}
	}
	return false
}

// insiderOf reads a vault's file with the keys of the member who opened it.
func (g *group) insiderOf(v *Vault) *insider {
	return &insider{t: g.t, g: &group{t: g.t, path: v.path}, keys: v.keys, vault: v.vaultID}
}

// replicaOps lists the changes member name's machine holds, for every vault
// it has a copy of.
func replicaOps(t *testing.T, g *group, name string) []oplog.ID {
	var out []oplog.ID
	matches, _ := filepath.Glob(filepath.Join(g.state[name], "vaults", "*", "replica.db"))
	for _, m := range matches {
		db, err := bolt.Open(m, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		db.View(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bOps)).ForEach(func(k, _ []byte) error {
				if tx.Bucket([]byte(bBad)).Get(k) == nil {
					var id oplog.ID
					copy(id[:], k)
					out = append(out, id)
				}
				return nil
			})
		})
		db.Close()
	}
	return out
}

func copyPlain(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}
