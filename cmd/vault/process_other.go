//go:build !linux

package main

// hardenProcess does nothing outside Linux: there is no portable way to
// keep a process out of core dumps.
func hardenProcess() {}
