package gateway

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// batchConn lets the connection's writer send everything it has queued in one system call:
// between begin and end, writes (frames from the WebSocket library, and control frames written
// concurrently) collect in a buffer that end writes at once. Outside a batch it passes writes
// straight through, so the handshake and lone control frames are never held back, and an idle
// connection keeps no buffer. A broadcast to a room is then one write per recipient however many
// frames are waiting, and per-frame syscalls — the largest cost under load — disappear.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

// maxBatch bounds the buffer; a larger batch is written in several calls.
const maxBatch = 64 << 10

var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return b.Conn.Write(p)
	}
	if len(b.buf)+len(p) > maxBatch {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBatch {
			return b.Conn.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	if b.buf == nil {
		b.buf = (*batchBufs.Get().(*[]byte))[:0]
	}
	b.mu.Unlock()
}

// end writes the batch and returns the buffer to the pool.
func (b *batchConn) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	err := b.flushLocked()
	if b.buf != nil && cap(b.buf) <= maxBatch {
		buf := b.buf[:0]
		batchBufs.Put(&buf)
	}
	b.buf = nil
	return err
}

func (b *batchConn) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// batchingWriter hands the WebSocket upgrader a batchConn when it hijacks the connection.
type batchingWriter struct {
	http.ResponseWriter
	conn *batchConn
}

func (w *batchingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &batchConn{Conn: c}
	return w.conn, rw, nil
}

func (w *batchingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
