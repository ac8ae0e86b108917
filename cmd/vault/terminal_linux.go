package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminalDevice returns the device number of the terminal f is, even when
// f is /dev/tty, which stands for whichever terminal controls the process.
func terminalDevice(f *os.File) (uint32, bool) {
	dev, err := unix.IoctlGetUint32(int(f.Fd()), unix.TIOCGDEV)
	return dev, err == nil
}

// echoOff turns off echo, as term.ReadPassword does for one line: lines
// are still edited and Ctrl-C still stops the process.
func echoOff(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// dropTypedAhead drops what was typed and not read yet.
func dropTypedAhead(fd int) error {
	return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH)
}

// readHidden reads one line from the terminal f, whose echo holdTTY has
// turned off, into one buffer (see readSecretLine).
func readHidden(f *os.File) ([]byte, error) { return readSecretLine(f) }
