package vault

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"filippo.io/age"

	"github.com/mutual-aid-vault/vault/vault/internal/agentwire"
)

// The agent holds one unlocked identity in a process of its own and
// answers, over a Unix socket, the two things the store needs a secret key
// for: unwrapping the file key of an age header (the client sends the
// header's recipient stanzas, the agent returns the file key) and signing
// an operation body. The secret key never leaves the agent. Peers of
// another user are refused by their socket credentials, on top of the
// socket's folder (0700) and the socket itself (0600).
//
// It locks (stops answering, drops the key, and the process holding it is
// meant to exit) after an idle time, when asked, when its identity file
// changes, or when its owner calls [Agent.Lock] (on a signal).

// DefaultAgentIdle is how long an agent waits, unused, before it locks.
const DefaultAgentIdle = 15 * time.Minute

// AgentSocket returns the socket path of the agent for the identity file
// at identityPath, in dir: one agent per identity file, named by a hash of
// the file's absolute path.
func AgentSocket(identityPath, dir string) (string, error) {
	abs, err := filepath.Abs(identityPath)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte("vault agent v1\x00" + abs))
	return filepath.Join(dir, "agent-"+hex.EncodeToString(sum[:8])+".sock"), nil
}

// AgentOptions configures [ListenAgent].
type AgentOptions struct {
	// Socket is where to listen ([AgentSocket] names it). Its folder is
	// created 0700 if missing, and must be the user's own and private.
	Socket string
	// IdentityPath is the identity file the key was read from: the agent
	// locks when it is replaced or removed, and says it in its status.
	IdentityPath string
	// Idle is how long the agent waits unused before it locks. Zero means
	// DefaultAgentIdle.
	Idle time.Duration
	// connIdle is how long a connection may sit between requests before
	// the agent closes it; zero means agentConnTimeout (tests shorten it).
	connIdle time.Duration
}

// Agent is a listening agent. Serve it, and Lock it on a signal.
type Agent struct {
	opts    AgentOptions
	ln      *net.UnixListener
	lock    *os.File
	stamp   fileID
	started time.Time
	pid     int

	mu       sync.Mutex
	id       *Identity // nil once locked
	deadline time.Time
	timer    *time.Timer
	reason   string
	done     chan struct{}
	// conns are the connections being served: a client keeps one open
	// for all its requests, and locking ends them all. accepted counts
	// them (for tests).
	conns    map[*net.UnixConn]struct{}
	accepted atomic.Int64
}

// fileID tells whether a file was replaced or changed.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func statID(path string) (fileID, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: info.Size(), mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), uint64(st.Ino)
	}
	return id, nil
}

// ListenAgent starts listening at opts.Socket for id. It returns an error
// wrapping [ErrAgentRunning] when an agent already holds the socket.
func ListenAgent(id *Identity, opts AgentOptions) (*Agent, error) {
	if id == nil || id.agent != nil || id.secret == "" {
		return nil, errors.New("an agent needs an identity unlocked in this process")
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultAgentIdle
	}
	if err := privateDir(filepath.Dir(opts.Socket)); err != nil {
		return nil, err
	}
	lock, err := lockAgentFile(opts.Socket + ".lock")
	if err != nil {
		return nil, err
	}
	// The lock says no agent runs here: a socket left by one that died is
	// stale.
	if err := os.Remove(opts.Socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: opts.Socket, Net: "unix"})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("cannot listen at %s: %w", opts.Socket, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(opts.Socket, 0o600); err != nil {
		ln.Close()
		lock.Close()
		return nil, err
	}
	a := &Agent{opts: opts, ln: ln, lock: lock, id: id, started: time.Now(), pid: os.Getpid(), done: make(chan struct{}), conns: map[*net.UnixConn]struct{}{}}
	if opts.IdentityPath != "" {
		if a.stamp, err = statID(opts.IdentityPath); err != nil {
			a.Lock("")
			return nil, err
		}
	}
	a.deadline = a.started.Add(opts.Idle)
	a.timer = time.AfterFunc(opts.Idle, a.idle)
	return a, nil
}

// privateDir makes sure dir exists, belongs to this user and is 0700.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errorf(ErrInsecureFile, "the agent's folder %s belongs to another user", dir)
	}
	if info.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// idle locks the agent if it has not been used since the timer was set.
func (a *Agent) idle() {
	a.mu.Lock()
	left := time.Until(a.deadline)
	if a.id != nil && left > 0 {
		a.timer.Reset(left)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.Lock(fmt.Sprintf("idle for %s", a.opts.Idle))
}

// used pushes the idle lock back.
func (a *Agent) used() {
	a.deadline = time.Now().Add(a.opts.Idle)
}

// Lock stops the agent: it stops listening, removes its socket and drops
// the key. reason is what [Agent.Serve] returns. Only the first call
// counts.
func (a *Agent) Lock(reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.id == nil {
		return
	}
	// Go cannot promise that no copy of a key is left in memory (age's
	// types hold theirs privately); the signing key at least is ours to
	// clear, and the process holding the agent exits right after.
	clear(a.id.sign)
	a.id = nil
	a.reason = reason
	// Connections waiting for their next request end now; one being
	// answered ends once its answer is written (serveConn).
	for conn := range a.conns {
		conn.SetReadDeadline(time.Now())
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.ln.Close()
	a.lock.Close()
	close(a.done)
}

// Serve answers requests until the agent locks, and returns why it did.
func (a *Agent) Serve() string {
	var wg sync.WaitGroup
	for {
		conn, err := a.ln.AcceptUnix()
		if err != nil {
			select {
			case <-a.done:
				wg.Wait()
				return a.reason
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			a.Lock(fmt.Sprintf("cannot accept connections: %v", err))
			continue
		}
		a.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serveConn(conn)
		}()
	}
}

// Done is closed when the agent has locked.
func (a *Agent) Done() <-chan struct{} { return a.done }

// agentConnTimeout bounds how long a connection may sit between requests.
const agentConnTimeout = 30 * time.Second

func (a *Agent) serveConn(conn *net.UnixConn) {
	defer conn.Close()
	if err := checkPeer(conn); err != nil {
		_ = agentwire.WriteFrame(conn, agentwire.Response{Error: err.Error(), Code: agentwire.CodeRefused})
		return
	}
	a.mu.Lock()
	a.conns[conn] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.conns, conn)
		a.mu.Unlock()
	}()
	for {
		// Under the lock, so that Lock either sees this deadline (and
		// cuts it short) or comes first (and the loop ends here).
		a.mu.Lock()
		locked := a.id == nil
		conn.SetDeadline(time.Now().Add(cmp.Or(a.opts.connIdle, agentConnTimeout)))
		a.mu.Unlock()
		if locked {
			return
		}
		b, err := agentwire.ReadFrame(conn, agentwire.MaxRequest)
		if err != nil {
			// A client that went away, a connection that sat idle or
			// that locking cut short end quietly: a client keeps its
			// connection, and would read an answer to a question it has
			// not asked yet. A malformed request is answered.
			var ne net.Error
			if !errors.Is(err, io.EOF) && !errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				_ = agentwire.WriteFrame(conn, agentwire.Response{Error: err.Error(), Code: agentwire.CodeBadRequest})
			}
			return
		}
		req, err := agentwire.DecodeRequest(b)
		var resp agentwire.Response
		if err != nil {
			resp = agentwire.Response{Error: err.Error(), Code: agentwire.CodeBadRequest}
		} else {
			resp = a.handle(req)
		}
		if err := agentwire.WriteFrame(conn, resp); err != nil {
			return
		}
		if req.Op == agentwire.OpLock {
			a.Lock("locked by 'vault lock'")
			return
		}
	}
}

func (a *Agent) handle(req agentwire.Request) agentwire.Response {
	if req.Op == agentwire.OpHello && a.opts.IdentityPath != "" {
		if now, err := statID(a.opts.IdentityPath); err != nil || now != a.stamp {
			a.Lock("the identity file changed")
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.id
	if id == nil {
		return agentwire.Response{Error: "the agent locked", Code: agentwire.CodeLocked}
	}
	switch req.Op {
	case agentwire.OpHello:
		return a.describe(id)
	case agentwire.OpStatus, agentwire.OpLock:
		return a.describe(id)
	case agentwire.OpUnwrap:
		a.used()
		stanzas := make([]*age.Stanza, len(req.Stanzas))
		for i, s := range req.Stanzas {
			stanzas[i] = &age.Stanza{Type: s.Type, Args: s.Args, Body: s.Body}
		}
		key, err := id.id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			return agentwire.Response{Error: "no stanza is for this identity", Code: agentwire.CodeNoMatch}
		}
		if err != nil {
			return agentwire.Response{Error: err.Error()}
		}
		return agentwire.Response{FileKey: key}
	case agentwire.OpSign:
		a.used()
		return agentwire.Response{Signature: ed25519.Sign(id.signingKey(), req.Message)}
	}
	return agentwire.Response{Error: "unknown request", Code: agentwire.CodeBadRequest}
}

func (a *Agent) describe(id *Identity) agentwire.Response {
	return agentwire.Response{PublicKey: id.PublicKey(), Kind: string(id.kind), IdentityPath: a.opts.IdentityPath,
		PID: a.pid, IdleMillis: a.opts.Idle.Milliseconds(), LeftMillis: max(time.Until(a.deadline), 0).Milliseconds(),
		Started: a.started.UTC().Format(time.RFC3339)}
}

// AgentInfo is what an agent says about itself.
type AgentInfo struct {
	// PublicKey is the member key line of the identity it holds.
	PublicKey string
	Kind      Kind
	// IdentityPath is the identity file it was unlocked from.
	IdentityPath string
	// PID is the agent's process.
	PID int
	// Idle is its idle time; Left how long until it locks if unused.
	Idle, Left time.Duration
	Started    time.Time
}

func infoOf(r agentwire.Response) AgentInfo {
	started, _ := time.Parse(time.RFC3339, r.Started)
	return AgentInfo{PublicKey: r.PublicKey, Kind: Kind(r.Kind), IdentityPath: r.IdentityPath, PID: r.PID,
		Idle: time.Duration(r.IdleMillis) * time.Millisecond, Left: time.Duration(r.LeftMillis) * time.Millisecond, Started: started}
}

// agentClient asks the agent at socket. It keeps one connection for all
// its requests (a command makes three or four); the agent may have closed
// it meanwhile (it locked, or the connection sat idle), and then a
// request is made once more on a new connection.
type agentClient struct {
	socket string
	mu     sync.Mutex
	conn   net.Conn
}

// agentTimeout bounds one request.
const agentTimeout = 30 * time.Second

func (c *agentClient) call(req agentwire.Request) (agentwire.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		kept := c.conn != nil
		if !kept {
			conn, err := net.DialTimeout("unix", c.socket, 2*time.Second)
			if err != nil {
				return agentwire.Response{}, errorf(ErrNoAgent, "no agent answers at %s", c.socket)
			}
			c.conn = conn
		}
		resp, err := c.roundTrip(req)
		if err != nil {
			c.conn.Close()
			c.conn = nil
			if kept && attempt == 0 && req.Op != agentwire.OpLock {
				continue
			}
			return resp, err
		}
		// The agent ends the connection after these.
		if resp.Code == agentwire.CodeLocked || resp.Code == agentwire.CodeRefused || req.Op == agentwire.OpLock {
			c.conn.Close()
			c.conn = nil
		}
		switch resp.Code {
		case agentwire.CodeLocked:
			return resp, errorf(ErrAgentLocked, "the agent locked; unlock again")
		case agentwire.CodeRefused:
			return resp, fmt.Errorf("the agent refused this process: %s", resp.Error)
		}
		return resp, nil
	}
}

// roundTrip sends one request on the connection and reads the answer.
func (c *agentClient) roundTrip(req agentwire.Request) (agentwire.Response, error) {
	c.conn.SetDeadline(time.Now().Add(agentTimeout))
	// A refused peer gets its answer before it is done writing: read it
	// even when the write failed.
	werr := agentwire.WriteFrame(c.conn, req)
	b, err := agentwire.ReadFrame(c.conn, agentwire.MaxResponse)
	if err != nil {
		if werr != nil {
			return agentwire.Response{}, fmt.Errorf("cannot talk to the agent: %w", werr)
		}
		return agentwire.Response{}, fmt.Errorf("the agent did not answer: %w", err)
	}
	return agentwire.DecodeResponse(b)
}

// Unwrap implements [age.Identity] by asking the agent.
func (c *agentClient) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	req := agentwire.Request{Op: agentwire.OpUnwrap, Stanzas: make([]agentwire.Stanza, len(stanzas))}
	for i, s := range stanzas {
		req.Stanzas[i] = agentwire.Stanza{Type: s.Type, Args: s.Args, Body: s.Body}
	}
	resp, err := c.call(req)
	if err != nil {
		return nil, err
	}
	if resp.Code == agentwire.CodeNoMatch {
		return nil, age.ErrIncorrectIdentity
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("agent: %s", resp.Error)
	}
	return resp.FileKey, nil
}

func (c *agentClient) sign(msg []byte) ([]byte, error) {
	resp, err := c.call(agentwire.Request{Op: agentwire.OpSign, Message: msg})
	if err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("agent: %s", resp.Error)
	}
	if len(resp.Signature) != ed25519.SignatureSize {
		return nil, errors.New("agent: malformed signature")
	}
	return resp.Signature, nil
}

// DialAgent returns the identity held by the agent at socket, or an error
// wrapping [ErrNoAgent] when none answers (or [ErrAgentLocked] when it is
// locking). The identity unwraps and signs through the agent, one request
// at a time; its secret key is never in this process.
func DialAgent(socket string) (*Identity, error) {
	// No socket, no agent: one system call, where dialing sets up the
	// network poller first (half a millisecond of every command run
	// without an agent).
	if info, err := os.Lstat(socket); err != nil || info.Mode().Type() != fs.ModeSocket {
		return nil, errorf(ErrNoAgent, "no agent answers at %s", socket)
	}
	c := &agentClient{socket: socket}
	resp, err := c.call(agentwire.Request{Op: agentwire.OpHello})
	if err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("agent: %s", resp.Error)
	}
	k, err := ParseMemberKey(resp.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Identity{id: c, public: k.Age, kind: k.Kind, signPub: k.Sign, agent: c}, nil
}

// AgentStatus asks the agent at socket about itself.
func AgentStatus(socket string) (AgentInfo, error) {
	resp, err := (&agentClient{socket: socket}).call(agentwire.Request{Op: agentwire.OpStatus})
	if err != nil {
		return AgentInfo{}, err
	}
	return infoOf(resp), nil
}

// LockAgent asks the agent at socket to lock, and returns what it held.
func LockAgent(socket string) (AgentInfo, error) {
	resp, err := (&agentClient{socket: socket}).call(agentwire.Request{Op: agentwire.OpLock})
	if err != nil {
		return AgentInfo{}, err
	}
	return infoOf(resp), nil
}

// maxHandOff bounds a hand-off frame: one secret key line.
const maxHandOff = 8 << 10

// HandOff writes id's secret key to w for an agent process this one
// starts: w must be a pipe or socket pair to that child, never a file.
// The child reads it with [TakeHandOff].
func HandOff(w io.Writer, id *Identity) error {
	if id.secret == "" {
		return errors.New("this identity's secret key is not in this process")
	}
	b := make([]byte, 4+len(id.secret))
	b[0], b[1], b[2], b[3] = byte(len(id.secret)>>24), byte(len(id.secret)>>16), byte(len(id.secret)>>8), byte(len(id.secret))
	copy(b[4:], id.secret)
	_, err := w.Write(b)
	clear(b)
	return err
}

// TakeHandOff reads an identity written by [HandOff].
func TakeHandOff(r io.Reader) (*Identity, error) {
	b, err := agentwire.ReadFrame(r, maxHandOff)
	if err != nil {
		return nil, fmt.Errorf("cannot read the identity handed over: %w", err)
	}
	defer clear(b)
	return parseIdentity(b)
}
