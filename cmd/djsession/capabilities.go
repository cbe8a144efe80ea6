package main

// implementationName identifies this side of an interoperability test.
const implementationName = "djsession-go"

// cmdCapabilities reports what this build really supports. Every list is
// computed from what is wired (the engine table, the serializer table, the
// registered SQL drivers, the subcommand table), so it cannot claim more
// than the code does.
func cmdCapabilities(e *env) error {
	if err := e.wantArgs(0, 0); err != nil {
		return err
	}
	return e.emit(obj(
		"implementation", implementationName,
		"engines", strings2any(engineNames()),
		"serializers", strings2any(serializerNames()),
		"cache_backends", strings2any(cacheBackendNames()),
		"databases", strings2any(databaseNames()),
		"secret_key_fallbacks", true,
		"hashing_algorithms", []any{"sha256", "sha1"},
		"subcommands", strings2any(protocolNames()),
		"http", true,
	))
}

func strings2any(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
