package difftest

// JVMFlags are the system properties every Java server of the ensemble
// under test needs: TTL nodes (createTTL) are only served with extended
// types enabled, and the container/TTL reaper is pushed out to a day so that
// it never deletes a container or TTL node in the middle of a stream (it
// would do so at a moment unrelated to the stream, so the two namespaces
// would differ for a while).
var JVMFlags = []string{
	"-Dzookeeper.extendedTypesEnabled=true",
	"-Dznode.container.checkIntervalMs=86400000",
}

// Properties are the zoo.cfg lines the ensemble under test needs: all four
// letter words (for the harness's probes), and a maxSessionTimeout that
// admits the 30 s sessions of the stream (with the ensemble harness's 200 ms
// tick the default maximum is 4 s, which a loaded machine can stall past
// between two barriers; an expired session would delete its ephemerals on
// one side only), and forceSync=no: an fsync per txn would double the run
// time on a shared disk without making the comparison any stronger.
var Properties = map[string]string{"4lw.commands.whitelist": "*", "maxSessionTimeout": "60000", "forceSync": "no"}
