package pickle_compat_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/pyvalue"
)

func ExampleLoads() {
	// A session dict as Django 4.x pickles it into the cache.
	b, _ := hex.DecodeString("80059576000000000000007d94288c0d5f617574685f757365725f6964948c0131948c047768656e948c086461746574" +
		"696d65948c086461746574696d65949394430a07e70b0e160d140000009468048c0874696d657a6f6e6594939468048c" +
		"0974696d6564656c74619493944b004b004b00879452948594529486945294752e")
	v, err := pickle_compat.Loads(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pickle_compat.Describe(v))
	// Output:
	// {
	//     '_auth_user_id': '1',
	//     'when': datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc),
	// }
}

func ExampleDumps() {
	d := pyvalue.NewDict(1)
	d.Set("a", int64(1))
	b, _ := pickle_compat.Dumps(d, 5)
	fmt.Printf("%x\n", b)
	// Output: 8005950a000000000000007d948c0161944b01732e
}

func ExampleDecoder_strictGlobals() {
	evil := []byte("cos\nsystem\n(S'touch /tmp/pwned'\ntR.")
	// By default the global is kept as an inert object, never resolved.
	v, _ := pickle_compat.Loads(evil)
	fmt.Println(pyvalue.Repr(v))
	// StrictGlobals refuses it.
	d := pickle_compat.Decoder{StrictGlobals: true}
	_, err := d.Loads(evil)
	fmt.Println(errors.Is(err, pickle_compat.ErrGlobal), err)
	// Output:
	// <os.system('touch /tmp/pwned')>
	// true pickle_compat: global os.system is not allowed
}

func ExampleSerializer() {
	s := pickle_compat.Serializer{} // protocol 5, as Django's PickleSerializer on CPython 3.8+
	d := pyvalue.NewDict(1)
	d.Set("cart", []any{int64(1), int64(2)})
	b, _ := s.Dumps(d)
	v, _ := s.Loads(b)
	fmt.Println(pyvalue.Repr(v))
	// Output: {'cart': [1, 2]}
}
