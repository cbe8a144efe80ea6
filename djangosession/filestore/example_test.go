package filestore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/filestore"
	"github.com/djsession/djsession/pyvalue"
)

// A session written here is a file Django's file engine reads, and the
// other way round, when both use the same SESSION_FILE_PATH and SECRET_KEY.
func Example() {
	dir, _ := os.MkdirTemp("", "sessions")
	defer os.RemoveAll(dir)
	s, _ := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
		"SESSION_ENGINE": "django.contrib.sessions.backends.file",
		"SESSION_FILE_PATH": "` + dir + `"}`))
	st, err := filestore.New(s)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	ctx := context.Background()

	data := pyvalue.NewDict(1)
	data.Set("cart", []any{int64(3), int64(5)})
	w := djangosession.Record{Key: "m6uj0nuawggrscuya2wedl48vybajmrr", Data: data}
	if err := st.Save(ctx, &w, true); err != nil {
		fmt.Println(err)
		return
	}
	name, _ := st.FileName(w.Key)
	fmt.Println(name)

	r := djangosession.Record{Key: w.Key}
	if err := st.Load(ctx, &r); err != nil {
		fmt.Println(err)
		return
	}
	cart, _ := r.Data.Get("cart")
	fmt.Println(cart)

	// Keys Django's file engine refuses are refused before any file access.
	err = st.Load(ctx, &djangosession.Record{Key: "../../etc/passwd"})
	fmt.Println(err != nil)
	// Output:
	// sessionidm6uj0nuawggrscuya2wedl48vybajmrr
	// [3 5]
	// true
}
