package main

func storeCommands() []*command {
	cmds := codecCommands()
	cmds = append(cmds,
		&command{name: "migrate", protocol: true, run: cmdMigrate,
			summary: "create django_session in DATABASES.default as Django's migration does (idempotent)",
			stdout:  `{"ok": true}`},
	)
	cmds = append(cmds, sessionCommands()...)
	cmds = append(cmds, authCommands()...)
	return cmds
}

func cmdMigrate(e *env) error {
	if err := e.wantArgs(0, 0); err != nil {
		return err
	}
	s, err := e.storeSettings()
	if err != nil {
		return err
	}
	// Django's "migrate sessions" creates the table in DATABASES.default
	// whatever SESSION_ENGINE says; so does this.
	st, err := openDB(e.ctx, e, s)
	if err != nil {
		return err
	}
	defer st.close()
	if err := st.db.Migrate(e.ctx); err != nil {
		return err
	}
	return e.emit(obj("ok", true))
}
