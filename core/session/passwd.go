package session

import "bytes"

// SuperSecret is ZooKeeperServer.superSecret, mixed into the seed of every
// session password.
const SuperSecret int64 = 0xB3415C00

// PasswdLen is the length of a session password (ConnectResponse.passwd).
const PasswdLen = 16

// GeneratePasswd returns the password of session id exactly as a Java
// server computes it (ZooKeeperServer.generatePasswd): 16 bytes of
// java.util.Random(id ^ SuperSecret).nextBytes. Passwords are not stored:
// every server recomputes them from the id, which is what lets a client
// move between Java servers and this one. They are no secret from anyone
// who knows the id.
func GeneratePasswd(id int64) [PasswdLen]byte {
	var p [PasswdLen]byte
	NewJavaRandom(id ^ SuperSecret).NextBytes(p[:])
	return p
}

// AppendPasswd appends GeneratePasswd(id) to dst.
func AppendPasswd(dst []byte, id int64) []byte {
	p := GeneratePasswd(id)
	return append(dst, p[:]...)
}

// CheckPasswd reports whether passwd is the password of session id, as
// ZooKeeperServer.checkPasswd: id must be non-zero and passwd exactly the
// 16 bytes of GeneratePasswd(id) (a nil, short or long password fails).
func CheckPasswd(id int64, passwd []byte) bool {
	if id == 0 {
		return false
	}
	p := GeneratePasswd(id)
	return bytes.Equal(passwd, p[:])
}
