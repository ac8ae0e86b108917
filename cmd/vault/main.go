// Command vault keeps a group's shared passwords in an encrypted file, each
// readable only by the members it is shared with. See the README for the
// commands, exit codes and security model.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
