package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxMessageSize bounds one newline-delimited message read from the client.
// A longer line is discarded and answered with an error; the session goes on.
const MaxMessageSize = 64 << 20

// stdioConn is the MCP connection to the desktop client: newline-delimited
// JSON-RPC on stdin and stdout. Unlike the SDK's StdioTransport it survives
// bad input: a line that is not JSON gets a parse error, a line that is not
// a JSON-RPC message gets an invalid-request error, and reading goes on.
// Every message written is scrubbed of secrets first, so nothing that leaves
// toward the client can carry one.
type stdioConn struct {
	in    io.Reader
	out   io.Writer
	scrub *Scrubber
	// intercept, if set, may take a request before it reaches the SDK's
	// server; it reports whether it did (and then answers it itself, on
	// the connection it is given).
	intercept func(*stdioConn, *jsonrpc.Request) bool

	writeMu sync.Mutex

	pendingMu sync.Mutex
	// early is the id of the request answered early (answerEarly) whose
	// answer from the SDK is still to come, and then dropped; not valid
	// when there is none.
	early     jsonrpc.ID
	earlyDone chan struct{} // closed when the SDK's answer to early is written (dropped)
	pending   map[any]bool  // ids of requests read and not yet answered
	owed      int           // answers not yet written (drain waits for them)
	answered  chan struct{} // signalled when owed shrinks

	incoming  chan readResult
	closed    chan struct{}
	closeOnce sync.Once
}

type readResult struct {
	msg jsonrpc.Message
	err error
}

func newStdioConn(in io.Reader, out io.Writer, scrub *Scrubber, intercept func(*stdioConn, *jsonrpc.Request) bool) *stdioConn {
	c := &stdioConn{
		in:        in,
		out:       out,
		scrub:     scrub,
		intercept: intercept,
		incoming:  make(chan readResult),
		closed:    make(chan struct{}),
		pending:   make(map[any]bool),
		answered:  make(chan struct{}, 1),
	}
	go c.readLoop()
	return c
}

// Connect implements mcp.Transport; the connection is its own transport.
func (c *stdioConn) Connect(context.Context) (mcp.Connection, error) { return c, nil }

func (c *stdioConn) readLoop() {
	r := bufio.NewReaderSize(c.in, 64<<10)
	for {
		line, err := readLine(r, MaxMessageSize)
		if len(bytes.TrimSpace(line)) > 0 || errors.Is(err, errTooLarge) {
			msg, rerr := c.decode(line, err)
			if rerr != nil {
				// Answer the client and read on.
				if werr := c.writeRaw(rerr); werr != nil {
					c.deliver(readResult{err: werr})
					return
				}
			} else {
				req, isReq := msg.(*jsonrpc.Request)
				if isReq && req.IsCall() && !c.track(req.ID) {
					// A second request with the id of one still in
					// flight: answering it would answer the first.
					id, _ := json.Marshal(req.ID.Raw())
					if werr := c.writeRaw(errorResponse(id, codeInvalidRequest, "request id already in use")); werr != nil {
						c.deliver(readResult{err: werr})
						return
					}
					continue
				}
				if isReq && c.intercept != nil && c.intercept(c, req) {
					continue
				}
				if !c.deliver(readResult{msg: msg}) {
					return
				}
			}
		}
		if err != nil && !errors.Is(err, errTooLarge) {
			if err == io.EOF {
				c.drain()
			}
			c.deliver(readResult{err: err}) // io.EOF ends the session
			return
		}
	}
}

// track records that request id awaits an answer. It reports false when a
// request with the same id awaits one already.
func (c *stdioConn) track(id jsonrpc.ID) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if c.pending[id.Raw()] {
		return false
	}
	c.pending[id.Raw()] = true
	c.owed++
	return true
}

// drainTimeout bounds how long requests read before stdin ended may take to
// be answered before the session closes.
const drainTimeout = time.Second

// drain waits until every request read so far has been answered, or
// drainTimeout has passed, so that a client that writes its requests and
// closes stdin still gets its answers.
func (c *stdioConn) drain() {
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	for {
		c.pendingMu.Lock()
		n := c.owed
		c.pendingMu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-c.answered:
		case <-deadline.C:
			return
		case <-c.closed:
			return
		}
	}
}

func (c *stdioConn) deliver(r readResult) bool {
	select {
	case c.incoming <- r:
		return true
	case <-c.closed:
		return false
	}
}

var errTooLarge = errors.New("message too large")

// readLine reads one line without its newline. A line longer than max is
// consumed to its end and reported as errTooLarge.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			if err == io.EOF {
				return nil, err
			}
			return nil, errTooLarge
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			buf = append(buf, chunk...)
			continue
		}
		if buf == nil {
			// Copy out of the reader's buffer, which the next read reuses.
			buf = bytes.Clone(chunk)
		} else {
			buf = append(buf, chunk...)
		}
		return bytes.TrimSuffix(buf, []byte{'\n'}), err
	}
}

// JSON-RPC error codes for input that never became a request.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
)

// decode turns one line into a message, or into the error response that
// answers it.
func (c *stdioConn) decode(line []byte, readErr error) (jsonrpc.Message, []byte) {
	if errors.Is(readErr, errTooLarge) {
		return nil, errorResponse(nil, codeInvalidRequest, "message larger than 64 MiB")
	}
	line = bytes.TrimSpace(line)
	msg, err := decodeMessage(line)
	var syntax *json.SyntaxError
	switch {
	case err == nil:
		return msg, nil
	case errors.As(err, &syntax):
		return nil, errorResponse(nil, codeParseError, "parse error: not a JSON value")
	case line[0] == '[':
		return nil, errorResponse(nil, codeInvalidRequest, "JSON-RPC batches are not supported")
	}
	return nil, errorResponse(requestID(line), codeInvalidRequest, "invalid JSON-RPC message")
}

// decodeMessage decodes one JSON-RPC message as the SDK's decoder does
// (the SDK's allocates a 32 KiB buffer per message): a message in the plain
// shape as bytes (fastMessage), any other with encoding/json.
func decodeMessage(line []byte) (jsonrpc.Message, error) {
	if validJSON(line) {
		if msg, ok := fastMessage(line); ok {
			return msg, nil
		}
	}
	return decodeMessageJSON(line)
}

// decodeMessageJSON is decodeMessage with encoding/json.
func decodeMessageJSON(line []byte) (jsonrpc.Message, error) {
	var w struct {
		Version string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   *jsonrpc.Error  `json:"error"`
	}
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, err
	}
	if w.Version != "2.0" {
		return nil, errors.New("not JSON-RPC 2.0")
	}
	var rawID any
	if len(w.ID) > 0 {
		if err := json.Unmarshal(w.ID, &rawID); err != nil {
			return nil, err
		}
	}
	id, err := jsonrpc.MakeID(rawID)
	if err != nil {
		return nil, err
	}
	switch {
	case w.Method != nil:
		return &jsonrpc.Request{ID: id, Method: *w.Method, Params: w.Params}, nil
	case !id.IsValid() || (w.Result == nil && w.Error == nil):
		return nil, errors.New("neither a request nor a response")
	case w.Error != nil:
		return &jsonrpc.Response{ID: id, Error: w.Error}, nil
	}
	return &jsonrpc.Response{ID: id, Result: w.Result}, nil
}

// requestID returns the id of a JSON object when it has a usable one.
func requestID(line []byte) json.RawMessage {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(line, &probe) != nil || len(probe.ID) == 0 {
		return nil
	}
	switch probe.ID[0] {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return probe.ID
	}
	return nil
}

func errorResponse(id json.RawMessage, code int, message string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message}})
	return b
}

// Read implements mcp.Connection.
func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-c.incoming:
		return r.msg, r.err
	case <-c.closed:
		return nil, io.EOF
	}
}

// Write implements mcp.Connection.
func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := encodeMessage(msg)
	if err != nil {
		return err
	}
	r, isResp := msg.(*jsonrpc.Response)
	if isResp && c.dropEarly(r.ID) {
		// Answered already (answerEarly): the id is free, the answer paid.
		c.release(r.ID)
		c.paid()
		return nil
	}
	if isResp {
		// The id is free again before the client can see the answer and
		// send a new request with it.
		c.release(r.ID)
	}
	err = c.writeRaw(data)
	if isResp {
		c.paid()
	}
	return err
}

// answerEarly answers request id with result now, for the SDK's server,
// which is handling the request too: its answer, when it comes, is dropped
// (Write). The id stays in use, and the answer owed, until then, as if the
// SDK had answered. done is closed when the SDK's answer, a result or an
// error, has come: the SDK has handled the request. It reports false (and
// a nil done) if an early answer is pending already.
func (c *stdioConn) answerEarly(id jsonrpc.ID, result json.RawMessage) (done <-chan struct{}, ok bool) {
	data, ok := encodeResult(id, "", result)
	c.pendingMu.Lock()
	if !ok || c.early.IsValid() {
		c.pendingMu.Unlock()
		return nil, false
	}
	c.early = id
	c.earlyDone = make(chan struct{})
	done = c.earlyDone
	c.pendingMu.Unlock()
	_ = c.writeRaw(data)
	return done, true
}

// dropEarly reports whether an answer to id is the SDK's to a request
// answered early, and forgets that request.
func (c *stdioConn) dropEarly(id jsonrpc.ID) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if !c.early.IsValid() || c.early != id {
		return false
	}
	c.early = jsonrpc.ID{}
	close(c.earlyDone)
	c.earlyDone = nil
	return true
}

// forget marks request id as never to be answered (it was cancelled).
func (c *stdioConn) forget(id jsonrpc.ID) {
	c.release(id)
	c.paid()
}

// settle records that a request read is not owed an answer when stdin
// ends, though its id stays in use until released: an open subscription,
// which ends when the client cancels it.
func (c *stdioConn) settle() { c.paid() }

// release frees request id for a new request.
func (c *stdioConn) release(id jsonrpc.ID) {
	c.pendingMu.Lock()
	delete(c.pending, id.Raw())
	c.pendingMu.Unlock()
}

// paid records that one answer owed has been written, or never will be.
func (c *stdioConn) paid() {
	c.pendingMu.Lock()
	c.owed = max(0, c.owed-1)
	c.pendingMu.Unlock()
	select {
	case c.answered <- struct{}{}:
	default:
	}
}

// encodeMessage encodes msg for the wire. A successful response is put
// together around its result, which the SDK has already encoded: encoding the
// message as a whole would validate and copy that result again, a cost that
// grows with its size (a large tools/list, a big tool result).
func encodeMessage(msg jsonrpc.Message) ([]byte, error) {
	if r, ok := msg.(*jsonrpc.Response); ok && r.Error == nil && len(r.Result) > 0 && r.ID.IsValid() {
		if b, ok := encodeResult(r.ID, "", r.Result); ok {
			return b, nil
		}
	}
	return jsonrpc.EncodeMessage(msg)
}

// encodeResult puts a successful response together around its result, with
// first (encoded members, or "") spliced in as the result's first members
// when the result is an object: the result is copied once, into the
// message. It reports false when id cannot be encoded.
func encodeResult(id jsonrpc.ID, first string, result json.RawMessage) ([]byte, bool) {
	idb, err := encodeID(id)
	if err != nil {
		return nil, false
	}
	open := -1 // the index of the result's '{', when first is spliced in
	if first != "" {
		if i := skipSpace(result, 0); i < len(result) && result[i] == '{' {
			open = i
		}
	}
	// One more byte for the newline writeRaw adds.
	b := make([]byte, 0, len(result)+len(idb)+len(first)+len(`{"jsonrpc":"2.0","id":,"result":,}`)+1)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, idb...)
	b = append(b, `,"result":`...)
	if open < 0 {
		b = append(b, result...)
	} else {
		b = append(b, result[:open+1]...)
		b = append(b, first...)
		if j := skipSpace(result, open+1); j < len(result) && result[j] != '}' {
			b = append(b, ',')
		}
		b = append(b, result[open+1:]...)
	}
	return append(b, '}'), true
}

// encodeID encodes a request's id as json.Marshal(id.Raw()) does: most
// clients number their requests, and a number needs no reflection.
func encodeID(id jsonrpc.ID) ([]byte, error) {
	if n, ok := id.Raw().(int64); ok {
		return strconv.AppendInt(make([]byte, 0, 20), n, 10), nil
	}
	return json.Marshal(id.Raw())
}

// writeResult answers request id with result and first spliced in (see
// encodeResult), as Write answers with a response.
func (c *stdioConn) writeResult(id jsonrpc.ID, first string, result json.RawMessage) error {
	if len(result) >= pieceSize {
		if ok, err := c.writeResultPieces(id, first, result); ok {
			return err
		}
	}
	data, ok := encodeResult(id, first, result)
	if !ok {
		return c.Write(context.Background(), &jsonrpc.Response{ID: id, Result: result})
	}
	c.release(id)
	err := c.writeRaw(data)
	c.paid()
	return err
}

// pieceSize is the size from which a result is written after its
// message's head rather than copied into the message (encodeResult): the
// copy of a large result cost more than its scrubbing (about 0.8 ms per
// MB), two more writes much less.
const pieceSize = 64 << 10

// writeResultPieces is writeResult for a large result: the message's head,
// the result, and its end are written one after the other (under the write
// lock, so nothing comes between them), each scrubbed as writeRaw scrubs a
// message: the id and the result, each a JSON value, scrubbed whole (the
// rest of the message is the proxy's own). It reports false, having
// written nothing, when id cannot be encoded.
func (c *stdioConn) writeResultPieces(id jsonrpc.ID, first string, result json.RawMessage) (ok bool, err error) {
	idb, err := encodeID(id)
	if err != nil {
		return false, nil
	}
	if bytes.IndexByte(result, '\n') >= 0 || bytes.IndexByte(result, '\r') >= 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, result); err != nil {
			return true, err
		}
		result = buf.Bytes()
	}
	result = c.scrub.ScrubJSON(result)
	head := make([]byte, 0, len(idb)+len(first)+64)
	head = append(head, `{"jsonrpc":"2.0","id":`...)
	head = append(head, c.scrub.ScrubJSON(idb)...)
	head = append(head, `,"result":`...)
	body := result
	if first != "" {
		if i := skipSpace(result, 0); i < len(result) && result[i] == '{' {
			head = append(head, result[:i+1]...)
			head = append(head, first...)
			if j := skipSpace(result, i+1); j < len(result) && result[j] != '}' {
				head = append(head, ',')
			}
			body = result[i+1:]
		}
	}
	c.release(id)
	defer c.paid()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	select {
	case <-c.closed:
		return true, io.ErrClosedPipe
	default:
	}
	for _, b := range [][]byte{head, body, []byte("}\n")} {
		if _, err := c.out.Write(b); err != nil {
			return true, err
		}
	}
	return true, nil
}

// writeRaw scrubs one encoded message and writes it with its newline. A
// message carrying bytes from the Gateway may be pretty-printed: it is
// compacted, since a newline inside it would end it early on the wire.
func (c *stdioConn) writeRaw(data []byte) error {
	if bytes.IndexByte(data, '\n') >= 0 || bytes.IndexByte(data, '\r') >= 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			return err
		}
		data = buf.Bytes()
	}
	data = append(c.scrub.ScrubJSON(data), '\n')
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	select {
	case <-c.closed:
		return io.ErrClosedPipe
	default:
	}
	_, err := c.out.Write(data)
	return err
}

// Close implements mcp.Connection. It does not close stdin or stdout, which
// belong to the process; a blocked read of stdin is abandoned.
func (c *stdioConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// SessionID implements mcp.Connection.
func (c *stdioConn) SessionID() string { return "" }
