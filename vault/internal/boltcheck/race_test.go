//go:build race

package boltcheck

// raceEnabled makes slow tests do less under the race detector.
const raceEnabled = true
