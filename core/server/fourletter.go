package server

import (
	"bufio"
	"net"
)

// FourLetter answers four-letter words (core/fourletter implements it).
// Only the first four bytes of a connection that has not completed a
// handshake can be a word: they arrive where the first frame's length would.
type FourLetter interface {
	// IsWord reports whether word (the first four bytes, big-endian) is a
	// four-letter word this server knows (whitelisted or not: the answer
	// to a known word outside the whitelist is the handler's business).
	// It must not block.
	IsWord(word uint32) bool
	// Serve answers word on nc and returns; the server closes nc
	// afterwards. rd holds whatever the client sent after the word (stmk's
	// mask). It runs on the connection's reader goroutine and may block on
	// nc (the server has set no deadline beyond the sessionless timeout).
	Serve(word uint32, nc net.Conn, rd *bufio.Reader)
}
