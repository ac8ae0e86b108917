//go:build !linux

package vault

import (
	"errors"
	"net"
	"os"
)

var errAgentUnsupported = errors.New("the agent needs Linux (it checks its peers' credentials)")

func checkPeer(*net.UnixConn) error { return errAgentUnsupported }

func lockAgentFile(string) (*os.File, error) { return nil, errAgentUnsupported }
