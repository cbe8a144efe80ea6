package main

import (
	"errors"
	"fmt"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cookiestore"
	"github.com/djsession/djsession/pyvalue"
)

func codecCommands() []*command {
	return []*command{
		{name: "encode", protocol: true, run: cmdEncode,
			summary: "SessionBase.encode of the configured engine and serializer (signed_cookies: the cookie)",
			stdin:   `{"data": {...}, "tagged": bool (optional: $-tagged Python values, pickle only)}`,
			stdout:  `{"session_data": str}`},
		{name: "decode", protocol: true, run: cmdDecode,
			summary: "SessionBase.decode: what Django turns into an empty session gives valid:false",
			stdin:   `{"session_data": str}`,
			stdout:  `{"data": {...}, "valid": bool}`},
	}
}

// sessionDataField returns stdin's "data" dict, untagged when the input
// says "tagged": true (values a pickled session can hold).
func sessionDataField(in *pyvalue.Dict, name string, required bool) (*pyvalue.Dict, error) {
	d, err := dictField(in, name, required)
	if err != nil {
		return nil, err
	}
	if tagged, _ := in.Get("tagged"); tagged == true {
		u, err := fromTagged(d)
		if err != nil {
			return nil, usagef("%q: %v", name, err)
		}
		d = u.(*pyvalue.Dict)
	}
	return d, nil
}

// settingsAndInput is the preamble of a command that takes no arguments:
// the settings, as load reads and checks them, then the stdin object.
func (e *env) settingsAndInput(load func() (*djangosession.Settings, error)) (*djangosession.Settings, *pyvalue.Dict, error) {
	if err := e.wantArgs(0, 0); err != nil {
		return nil, nil, err
	}
	s, err := load()
	if err != nil {
		return nil, nil, err
	}
	in, err := e.readInput()
	if err != nil {
		return nil, nil, err
	}
	return s, in, nil
}

func (e *env) codec(s *djangosession.Settings) (*djangosession.Codec, error) {
	return djangosession.NewCodec(s, djangosession.WithLogger(e.logger()))
}

func cmdEncode(e *env) error {
	s, in, err := e.settingsAndInput(e.storeSettings)
	if err != nil {
		return err
	}
	data, err := sessionDataField(in, "data", true)
	if err != nil {
		return err
	}
	var out string
	if isCookieEngine(s) {
		st, err := cookiestore.New(s)
		if err != nil {
			return err
		}
		out, err = st.Encode(data)
		if err != nil {
			return err
		}
	} else {
		c, err := e.codec(s)
		if err != nil {
			return err
		}
		if out, err = c.Encode(data); err != nil {
			return err
		}
	}
	return e.emit(obj("session_data", out))
}

func cmdDecode(e *env) error {
	s, in, err := e.settingsAndInput(e.storeSettings)
	if err != nil {
		return err
	}
	v, _ := in.Get("session_data")
	text, ok := v.(string)
	if !ok {
		return usagef(`stdin needs "session_data" (a string)`)
	}
	var data *pyvalue.Dict
	if isCookieEngine(s) {
		// The cookie engine's decode is its load: signature, salt and
		// SESSION_COOKIE_AGE all count.
		st, err := cookiestore.New(s)
		if err != nil {
			return err
		}
		r := &djangosession.Record{Key: text}
		switch err := st.Load(e.ctx, r); {
		case err == nil:
			data = r.Data
		case errors.Is(err, djangosession.ErrNotFound):
			fmt.Fprintf(e.stderr, "djsession: cookie rejected: %v\n", err)
		default:
			return err
		}
	} else {
		c, err := e.codec(s)
		if err != nil {
			return err
		}
		data, err = c.Decode(text)
		if err != nil {
			var de *djangosession.DecodeError
			if errors.As(err, &de) && de.Raises {
				// Django 3.2 lets an exception out of decode() here.
				return &kindError{"exception", err}
			}
			if !errors.As(err, &de) {
				return err
			}
			fmt.Fprintf(e.stderr, "djsession: %v\n", err)
			data = nil
		}
	}
	if data == nil {
		return e.emit(obj("data", pyvalue.NewDict(0), "valid", false))
	}
	return e.emit(obj("data", toTagged(data), "valid", true))
}
