//go:build race

package vault

// raceEnabled lets slow randomised tests do fewer rounds under the race
// detector, which makes them several times slower.
const raceEnabled = true
