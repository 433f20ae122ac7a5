// Package snapshot reads and writes the files a Java ZooKeeper 3.8 server
// keeps in its data directory, and the snapshot body a leader streams to a
// learner in a SNAP sync:
//
//   - snapshot.<hexzxid>[.gz|.snappy]: FileHeader, the snapshot body
//     (sessions, ACL cache, nodes in pre-order, "/" terminator), seal #1
//     (Adler-32 of everything before it), an optional digest block and
//     seal #2. See SnapshotFile, SnapshotWriter, FindSnapshots and
//     NewestValidSnapshot.
//   - log.<hexzxid>: FileHeader and checksummed txn entries, usually followed
//     by a zero-filled preallocated tail. See LogFile, LogReader and
//     LogWriter. Txn bodies are not decoded here: entries carry the TxnHeader
//     fields and the raw entry bytes.
//   - acceptedEpoch / currentEpoch: decimal text (ReadEpochFile).
//
// The snapshot body alone, as sent on the quorum port after a SNAP packet,
// is read with BodyReader and written with BodyWriter.
//
// A whole data directory (newest valid snapshot plus the txn logs after it)
// is rebuilt into a tree by RestoreTree, with Java's file selection and
// stricter checks (gaps, digests), and into a storage engine by Restore.
// DumpTree writes the one-line-per-znode listing used to compare trees from
// any source; InspectFile and InspectDir describe a snapshot or a directory.
//
// # Errors
//
// Every error about file or stream content is an *Error carrying the file
// name (empty for bare streams), the byte offset and what was being read; it
// wraps one of the sentinel errors below, so test with errors.Is. Offsets in
// compressed snapshots count bytes of the uncompressed stream (the stream the
// checksums cover). Errors from the operating system are wrapped unchanged.
//
// Decoders never panic on malformed input and never allocate based on an
// unchecked count: vectors are read element by element with capped
// preallocation, and every buffer or string length is checked against a
// limit (Options.MaxLength, default jute.DefaultMaxLength) before anything
// is allocated for it.
//
// # Deliberate differences from Java's readers
//
// The readers are slightly stricter than Java where Java would accept
// content no Java writer produces: negative session or ACL-cache counts,
// a null ACL vector, a null node path, a seal whose string is not "/",
// log entries shorter than a TxnHeader, and a snappy chunk length cut short
// are errors here. Java also stops a log file silently where a txn body
// fails to decode; bodies are not decoded here, so that case cannot arise.
package snapshot
