package sweep

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTP is a workload that sends one request to a URL per call. A
// response with a status of 400 or more counts as an error.
type HTTP struct {
	URL    string
	Method string // "" means GET
	Client *http.Client
}

// NewHTTP returns an HTTP workload for url whose client keeps up to
// conns connections open (use the largest limit of the sweep, so that
// connections are reused rather than opened per request) and gives up on
// a request after timeout (0: no timeout).
func NewHTTP(url string, conns int, timeout time.Duration) *HTTP {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	return &HTTP{URL: url, Client: &http.Client{Transport: t, Timeout: timeout}}
}

// Do sends the request, reads the whole body and closes it.
func (h *HTTP) Do(ctx context.Context) error {
	method := h.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL, nil)
	if err != nil {
		return err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("sweep: %s %s: %s", method, h.URL, resp.Status)
	}
	return err
}

// Close closes the client's idle connections.
func (h *HTTP) Close() {
	if h.Client != nil {
		h.Client.CloseIdleConnections()
	}
}

// String returns the method and URL.
func (h *HTTP) String() string {
	m := h.Method
	if m == "" {
		m = http.MethodGet
	}
	return m + " " + h.URL
}
