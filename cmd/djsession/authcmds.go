package main

import (
	"github.com/djsession/djsession/djangosession"
)

func authCommands() []*command {
	return []*command{
		{name: "login-session", args: "USER_ID PASSWORD_HASH", protocol: true, run: cmdLoginSession,
			summary: "a session as django.contrib.auth.login() leaves it, saved",
			stdout:  `{"session_key": str}`},
		{name: "verify-auth", args: "KEY PASSWORD_HASH", protocol: true, run: cmdVerifyAuth,
			summary: "would get_user() accept KEY for a user with this password field? (flush on mismatch, as Django)",
			stdout:  `{"accepted": bool, "rotated": bool, "flushed": bool, "session_key_after": str|null}`},
	}
}

func cmdLoginSession(e *env) error {
	if err := e.wantArgs(2, 2); err != nil {
		return err
	}
	se, err := e.openSessions()
	if err != nil {
		return err
	}
	defer se.close()
	sess := se.manager.Session("")
	if err := djangosession.Login(e.ctx, sess, e.args[0], e.args[1], ""); err != nil {
		return err
	}
	return e.saveAndEmitKey(sess)
}

func cmdVerifyAuth(e *env) error {
	key, se, err := e.keyedSessions(2, 2)
	if err != nil {
		return err
	}
	defer se.close()
	sess := se.manager.Session(key)
	res, err := djangosession.VerifyAuth(e.ctx, sess, e.args[1])
	if err != nil {
		return err
	}
	// SessionMiddleware saves a modified, non-empty session (a rotated
	// hash); a flushed one has nothing left to save.
	if sess.Modified() && !sess.IsEmpty() {
		if err := sess.Save(e.ctx); err != nil {
			return err
		}
	}
	var after any
	if k := sess.Key(); k != "" {
		after = k
	}
	return e.emit(obj("accepted", res.Accepted, "rotated", res.Rotated, "flushed", res.Flushed, "session_key_after", after))
}
