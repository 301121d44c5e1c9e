package flagops

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Event string // "message" when the stream gave no event: field
	Data  string // data: lines joined with "\n"
	ID    string // last id: seen so far (ids persist across events, as in EventSource)
}

// sseReader reads text/event-stream following the WHATWG EventSource algorithm. Written here
// rather than pulled in as a dependency because the format is small. One deliberate difference:
// an event with an event: name but no data is still dispatched, so a bare "event: reset" is not
// lost.
type sseReader struct {
	scanner *bufio.Scanner
	lastID  string
	retryMS int // reconnection delay the server asked for with retry:, 0 if none
	// onLine is called for every line read, comments included (liveness for idle detection).
	onLine func()
}

func newSSEReader(r io.Reader, lastID string, onLine func()) *sseReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 1<<20)
	s.Split(scanSSELines)
	return &sseReader{scanner: s, lastID: lastID, onLine: onLine}
}

// next returns the next event; io.EOF when the stream ended cleanly.
func (r *sseReader) next() (sseEvent, error) {
	var name string
	var data []string
	hasData := false
	for r.scanner.Scan() {
		if r.onLine != nil {
			r.onLine()
		}
		line := r.scanner.Text()
		if line == "" {
			if hasData || name != "" {
				if name == "" {
					name = "message"
				}
				return sseEvent{Event: name, Data: strings.Join(data, "\n"), ID: r.lastID}, nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // comment, e.g. ": ping"
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data = append(data, value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				r.lastID = value
			}
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				r.retryMS = ms
			}
		}
	}
	if err := r.scanner.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF // an unterminated last event is dropped, as the spec says
}

// scanSSELines splits on "\r\n", "\n" or "\r", the three line ends SSE allows.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil // a trailing "\r" may be half of "\r\n": wait for more
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
