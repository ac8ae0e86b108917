package vault

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"testing/cryptotest"
	"time"
)

// fullReminders makes the lists of Reminders anew from the index, as if
// nothing were kept.
func fullReminders(t *testing.T, v *Vault) [remindLists][]string {
	t.Helper()
	var out [remindLists][]string
	err := v.view(func(r *reader) error {
		if r.me() == nil {
			return nil
		}
		lists, err := r.reminders()
		for i, l := range lists {
			out[i] = l.names()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func reminderNames(r Reminders) [remindLists][]string {
	return [remindLists][]string{r.Overdue, r.RotateNow, r.Pending, r.Waiting, r.Reencrypt}
}

// TestRemindersPatched is a property test: members make random changes
// (secrets added, set, trashed, restored, purged, rotated in two phases,
// shared and unshared, their rotation date moved; members added, removed,
// moved between groups; the review held; days pass), and after each one
// every member's next command brings its kept reminders up to date. The
// answer must always be the one made from scratch. VAULT_REMINDER_RUNS=N
// runs more seeds.
func TestRemindersPatched(t *testing.T) {
	runs, steps := 3, 60
	if testing.Short() || raceEnabled {
		runs, steps = 1, 40
	}
	if n, err := strconv.Atoi(os.Getenv("VAULT_REMINDER_RUNS")); err == nil {
		runs = n
	}
	for run := range runs {
		seed := uint64(run + 1)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, seed)
			remindersRun(t, seed, steps)
		})
	}
}

func remindersRun(t *testing.T, seed uint64, steps int) {
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	g := newGroup(t, Classic, "alice", "bob", "carol")
	g.do("alice", func(v *Vault) {
		for _, n := range []string{"bob", "carol"} {
			if _, err := v.EditMember(n, MemberEdit{AddGroups: []string{"ops"}}); err != nil {
				t.Fatal(err)
			}
		}
	})
	active := []string{"alice", "bob", "carol"}
	pick := func(l []string) string { return l[rng.IntN(len(l))] }
	var secrets []string
	added := 0
	patched, checks := 0, 0
	check := func() {
		for _, who := range active {
			g.do(who, func(v *Vault) {
				got, err := v.Reminders()
				if err != nil {
					t.Fatalf("%s's reminders: %v", who, err)
				}
				want := fullReminders(t, v)
				if !reflect.DeepEqual(reminderNames(got), want) {
					t.Fatalf("%s's reminders, kept and brought up to date:\n%v\nmade anew:\n%v", who, reminderNames(got), want)
				}
				again, err := v.Reminders()
				if err != nil || !reflect.DeepEqual(reminderNames(again), want) {
					t.Fatalf("%s's reminders asked again: %v, %v", who, reminderNames(again), err)
				}
				patched += v.remindersPatched
				checks++
			})
		}
	}
	for step := range steps {
		who := pick(active)
		var what string
		g.do(who, func(v *Vault) {
			name := "none"
			if len(secrets) > 0 {
				name = pick(secrets)
			}
			var err error
			switch k := rng.IntN(16); k {
			case 0, 1:
				name = fmt.Sprintf("secret-%02d", added)
				added++
				share := []string{pick([]string{"@ops", "alice", "bob", "carol", "@ops"})}
				_, err = v.Add(NewSecret{Name: name, Share: share, LastRotated: g.clock.t.AddDate(0, 0, -rng.IntN(400))}, NewValue([]byte(name)))
				if err == nil {
					secrets = append(secrets, name)
				}
				what = "add " + name
			case 2:
				_, err = v.Set(name, NewValue(fmt.Appendf(nil, "%d", step)))
				what = "set " + name
			case 3:
				err, what = v.Remove(name), "trash "+name
			case 4:
				err, what = v.Restore(name), "restore "+name
			case 5:
				_, err = v.StartRotation(name, NewValue([]byte("next")))
				what = "start rotating " + name
			case 6:
				_, err = v.ConfirmRotation(name)
				what = "confirm " + name
			case 7:
				_, _, err = v.AbortRotation(name)
				what = "abort " + name
			case 8:
				m := pick(active)
				_, err = v.Share(name, []string{m})
				what = "share " + name + " with " + m
			case 9:
				m := pick(active)
				_, err = v.Unshare(name, []string{m})
				what = "unshare " + name + " from " + m
			case 10:
				at := g.clock.t.AddDate(0, 0, -rng.IntN(400))
				_, err = v.Edit(name, SecretEdit{LastRotated: &at})
				what = "move the rotation date of " + name
			case 11:
				if slices.Contains(active, "dave") {
					_, err = v.RemoveMember("dave", true, nil)
					what = "remove dave"
					if err == nil {
						active = slices.DeleteFunc(active, func(s string) bool { return s == "dave" })
					}
				} else {
					id := g.member("dave", Classic)
					_, err = v.AddMember(NewMember{Name: "dave", PublicKey: id.PublicKey(), Groups: []string{"ops"}})
					what = "add dave"
					if err == nil {
						active = append(active, "dave")
					}
				}
			case 12:
				m := pick([]string{"bob", "carol"})
				e := MemberEdit{AddGroups: []string{"ops"}}
				if rng.IntN(2) == 0 {
					e = MemberEdit{RemoveGroups: []string{"ops"}}
				}
				_, err = v.EditMember(m, e)
				what = fmt.Sprintf("move %s: %+v", m, e)
			case 13:
				err, what = v.MarkReviewed(), "review"
			case 14:
				err, what = v.Purge(name), "purge "+name
			case 15:
				d := time.Duration(rng.IntN(72)) * time.Hour
				g.clock.t = g.clock.t.Add(d)
				what = fmt.Sprint("wait ", d)
			}
			if err != nil {
				what += fmt.Sprintf(" (refused: %v)", err)
			}
		})
		t.Logf("step %d: %s by %s", step, what, who)
		check()
	}
	if patched == 0 {
		t.Fatalf("none of %d answers was brought up to date from a kept one", checks)
	}
	t.Logf("%d of %d answers brought up to date from a kept one", patched, checks)
}

// TestRemindersReplicaRolledBack: when this machine's copy is put back to
// an older state and changed again, a kept answer made from the newer
// state is not brought up to date as if it were the same copy.
func TestRemindersReplicaRolledBack(t *testing.T) {
	g := newGroup(t, Classic, "alice", "bob")
	old := g.clock.t.AddDate(-1, 0, 0)
	var rep string
	g.do("alice", func(v *Vault) {
		for _, n := range []string{"one", "two"} {
			if _, err := v.Add(NewSecret{Name: n, Share: []string{"bob"}, LastRotated: old}, NewValue([]byte(n))); err != nil {
				t.Fatal(err)
			}
		}
		rep = v.repPath
	})
	savedRep, savedFile := mustRead(t, rep), mustRead(t, g.path)
	restore := func() {
		// Written anew, the file is read again on the next open: the same
		// transactions happen either way.
		for p, b := range map[string][]byte{rep: savedRep, g.path: savedFile} {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	restore()
	g.do("alice", func(v *Vault) {
		// "one" is rotated, and the answer kept says so.
		if _, err := v.Set("one", NewValue([]byte("new"))); err != nil {
			t.Fatal(err)
		}
		if r, err := v.Reminders(); err != nil || !slices.Equal(r.Overdue, []string{"two"}) {
			t.Fatalf("after rotating one: %+v, %v", r, err)
		}
	})
	// The copy and the file go back to before (a backup), then "two" is
	// rotated instead: the same number of transactions as the kept answer
	// saw.
	restore()
	g.do("alice", func(v *Vault) {
		if _, err := v.Set("two", NewValue([]byte("new"))); err != nil {
			t.Fatal(err)
		}
		r, err := v.Reminders()
		if err != nil || !slices.Equal(r.Overdue, []string{"one"}) || !reflect.DeepEqual(reminderNames(r), fullReminders(t, v)) {
			t.Fatalf("after the copy went back and two was rotated: %v (%v)", reminderNames(r), err)
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
