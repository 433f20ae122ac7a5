// Package acl is ZooKeeper 3.8.0's authentication and authorization for the
// client server: auth packets (Policy.Auth), a connection's identities in
// Java's order (AuthInfo, IPID), permission checks (Policy.Check,
// Policy.GetACL), ACL fixup for create and setACL (Policy.Fixup), whoAmI
// (Policy.WhoAmI) and which permission each opcode needs (Required).
//
// It follows ZooKeeperServer.checkACL and processPacket,
// PrepRequestProcessor.fixupACL/removeDuplicates/pRequest2Txn,
// FinalRequestProcessor, ServerCnxn/NIOServerCnxn (authInfo),
// auth.DigestAuthenticationProvider, auth.IPAuthenticationProvider,
// auth.ProviderRegistry and util.AuthUtil of release 3.8.0. Only the
// built-in ip and digest providers exist (no SASL, x509 or
// zookeeper.authProvider.* plug-ins); zookeeper.enableEagerACLCheck (off by
// default) is not modelled.
//
// # Checks per opcode, in the order Java makes them
//
// The first failing check is the answer. "P" is the request path, "parent"
// its parent; NONODE of the znode whose ACL is checked always comes before
// NOAUTH.
//
//	create, create2, createContainer, createTTL (prep):
//	    create mode / TTL (BADARGUMENTS, UNIMPLEMENTED), session,
//	    parent path (BADARGUMENTS), Fixup (INVALIDACL), parent exists (NONODE),
//	    CREATE on parent (NOAUTH), then sequence suffix, path (BADARGUMENTS),
//	    P exists (NODEEXISTS: an existing P without CREATE is NOAUTH), ephemeral
//	    parent, quota.
//	delete (prep): parent path (BADARGUMENTS, also for /, /zookeeper, ...),
//	    parent exists (NONODE), DELETE on parent (NOAUTH), P exists (NONODE: a
//	    missing P under a parent without DELETE is NOAUTH), version, children.
//	setData (prep): path, P exists (NONODE), WRITE on P (NOAUTH), quota, version.
//	setACL (prep): path, Fixup of the new ACL (INVALIDACL), P exists (NONODE),
//	    ADMIN on P (NOAUTH), aversion.
//	check (prep; in multi, and a top-level check before it fails to reply):
//	    path, P exists (NONODE), READ on P (NOAUTH), version (BADVERSION).
//	reconfig (prep): RECONFIGDISABLED, session, the membership checks
//	    (BADARGUMENTS, NEWCONFIGNOQUORUM, ...), then WRITE on /zookeeper/config
//	    (NOAUTH; its ACL is world:anyone READ, so in practice super or skipACL).
//	multi (prep): each op in order as above against the pending state; the
//	    first failure fails the whole multi.
//	getData, getChildren, getChildren2, getAllChildrenNumber (final):
//	    P exists (NONODE), READ on P (NOAUTH).
//	getACL (final): P exists (NONODE), READ or ADMIN on P (NOAUTH); without
//	    ADMIN digest ids in the reply are masked (Policy.GetACL).
//	multiRead (final): each getData/getChildren op as above, each failing
//	    alone (an ErrorResult in its place).
//	exists (only BADARGUMENTS for a NUL in P), sync, ping, setWatches,
//	    setWatches2, checkWatches, removeWatches, addWatch, getEphemerals,
//	    whoAmI, createSession, closeSession, auth, sasl: no permission check.
//	    (addWatch and setWatches therefore let anyone watch any path in 3.8.0.)
//
// # Identities
//
// A connection starts with ("ip", its peer address) and gains identities
// from auth packets: ("digest", "user:base64(sha1(user:password))"), plus
// ("super", "") when that digest equals the configured super digest. They
// are never removed while the connection lives. A reconnecting client
// re-sends its auth packets; identities are not part of the session.
package acl
