package gatewaysim

import (
	"net/http"
	"time"
)

// sessionIDHeader carries a 2025 session's id.
const sessionIDHeader = "Mcp-Session-Id"

// mcpSession is what the Gateway knows of a 2025 session (Options.Sessions)
// beyond go-sdk's handler: when it ends and whose it is.
type mcpSession struct {
	expires time.Time   // absolute: the opening initialize + SessionTimeout
	subject string      // the sub of the token that opened it
	timer   *time.Timer // ends it on the real clock
}

// checkSession applies the Gateway's rules to a request on a 2025 session
// before go-sdk's handler sees it: past its timeout the session is ended
// and the request gets HTTP 404, as for a dropped one; on another
// subject's session it gets 404 too. It reports whether the request may
// go on; ids the emulator does not know are go-sdk's to refuse.
func (s *Sim) checkSession(w http.ResponseWriter, r *http.Request, subject string) bool {
	id := r.Header.Get(sessionIDHeader)
	if id == "" {
		return true
	}
	now := s.now()
	s.mu.Lock()
	sess := s.mcpSessions[id]
	s.mu.Unlock()
	switch {
	case sess == nil:
		return true
	case !now.Before(sess.expires):
		s.expireSession(id)
	case sess.subject != subject:
		// A guess: the facts say a session is bound to the verified
		// identity but not how a stranger is refused. The MCP security
		// guidance keys sessions by user and session id, which makes
		// another user's request miss the session: 404, the answer to an
		// unknown session, which also tells nothing about the session.
		s.mu.Lock()
		s.counts.SessionsRefused++
		s.mu.Unlock()
	default:
		return true
	}
	http.Error(w, "session not found", http.StatusNotFound) // go-sdk's answer to an unknown session
	return false
}

// recordNewSession wraps the writer of a request without a session id so
// that the session go-sdk opens for it (an initialize) is recorded with
// its subject and its absolute expiry when the answer's header goes out.
func (s *Sim) recordNewSession(w http.ResponseWriter, subject string) http.ResponseWriter {
	return &headerHook{ResponseWriter: w, hook: func(h http.Header, status int) {
		id := h.Get(sessionIDHeader)
		if id == "" || status != http.StatusOK {
			return
		}
		sess := &mcpSession{expires: s.now().Add(s.opts.SessionTimeout), subject: subject}
		sess.timer = time.AfterFunc(s.opts.SessionTimeout, func() { s.expireSession(id) })
		s.mu.Lock()
		s.mcpSessions[id] = sess
		s.mu.Unlock()
	}}
}

// expireSession ends a session at its timeout.
func (s *Sim) expireSession(id string) {
	s.mu.Lock()
	sess := s.mcpSessions[id]
	delete(s.mcpSessions, id)
	if sess != nil {
		s.counts.SessionsExpired++
	}
	s.mu.Unlock()
	if sess == nil {
		return
	}
	sess.timer.Stop()
	for _, ss := range s.sessions() {
		if ss.ID() == id {
			ss.Close()
		}
	}
}

// forgetSessions drops the records of every session (DropSessions, Close).
func (s *Sim) forgetSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.mcpSessions {
		sess.timer.Stop()
		delete(s.mcpSessions, id)
	}
}

// headerHook calls hook once, just before the response header is written.
type headerHook struct {
	http.ResponseWriter
	hook  func(http.Header, int)
	wrote bool
}

func (w *headerHook) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		w.hook(w.Header(), status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerHook) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush and Unwrap keep SSE streaming and http.ResponseController working.
func (w *headerHook) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *headerHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }
