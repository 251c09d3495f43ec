package sshworker

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/muster-sh/muster/internal/testhosts"
	"golang.org/x/crypto/ssh"
)

func TestResolveAlgorithms(t *testing.T) {
	def := ssh.SupportedAlgorithms().KeyExchanges
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(def), func(s string) bool { return slices.Contains(drop, s) })
	}
	for _, tc := range []struct {
		value string
		want  []string
	}{
		{"", nil},
		{"curve25519-sha256", []string{"curve25519-sha256"}},
		// ssh(1)'s default first choice, unknown to x/crypto, is left out
		{"sntrup761x25519-sha512@openssh.com,curve25519-sha256,ecdh-sha2-nistp256", []string{"curve25519-sha256", "ecdh-sha2-nistp256"}},
		{"ecdh-sha2-nistp*", []string{"ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521"}},
		{"-ecdh-sha2-*", without("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521")},
		{"^ecdh-sha2-nistp521", append([]string{"ecdh-sha2-nistp521"}, without("ecdh-sha2-nistp521")...)},
		{"+diffie-hellman-group1-sha1", append(slices.Clone(def), "diffie-hellman-group1-sha1")},
		{"+curve25519-sha256", def},
	} {
		got, err := resolveAlgorithms("KexAlgorithms", tc.value)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("KexAlgorithms %q: got %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}
	if got, err := resolveAlgorithms("Ciphers", "aes128-ctr,nosuch-cipher"); err != nil || !slices.Equal(got, []string{"aes128-ctr"}) {
		t.Errorf("Ciphers: got %v, %v", got, err)
	}
	if got, err := resolveAlgorithms("MACs", "-hmac-sha1*"); err != nil || len(got) == 0 || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "hmac-sha1") }) {
		t.Errorf("MACs -hmac-sha1*: got %v, %v", got, err)
	}
	for _, v := range []string{"sntrup761x25519-sha512@openssh.com", "-*"} {
		_, err := resolveAlgorithms("KexAlgorithms", v)
		var ue *UnsupportedOptionError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), v) {
			t.Errorf("KexAlgorithms %q: %v, want an *UnsupportedOptionError naming it", v, err)
		}
	}
	for _, v := range []string{"+", "+-curve25519-sha256", "a,,b", "curve25519-sha256, ecdh-sha2-nistp256", "x[", "x\\y"} {
		_, err := resolveAlgorithms("KexAlgorithms", v)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Value != v {
			t.Errorf("KexAlgorithms %q: %v, want an *OptionError", v, err)
		}
	}
	// the -o form is checked when options are parsed
	if _, err := ParseOptions([]string{"-o", "KexAlgorithms=sntrup761x25519-sha512@openssh.com"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("-o KexAlgorithms=sntrup761x25519-sha512@openssh.com: %v, want ErrUnsupported", err)
	}
}

func FuzzResolveAlgorithms(f *testing.F) {
	for _, s := range []string{"curve25519-sha256", "+a,b", "-ecdh-*", "^aes*", "?", "", "x[", ",,"} {
		f.Add(s)
	}
	_, known := algorithmKeywords["KexAlgorithms"]()
	f.Fuzz(func(t *testing.T, v string) {
		got, err := resolveAlgorithms("KexAlgorithms", v)
		if err != nil {
			var oe *OptionError
			var ue *UnsupportedOptionError
			if !errors.As(err, &oe) && !errors.As(err, &ue) {
				t.Fatalf("%q: error %v of type %T", v, err, err)
			}
			return
		}
		if v != "" && len(got) == 0 {
			t.Fatalf("%q: an empty list without an error", v)
		}
		for i, a := range got {
			if !slices.Contains(known, a) || slices.Contains(got[:i], a) {
				t.Fatalf("%q: %v holds %q twice or unknown", v, got, a)
			}
		}
	})
}

// TestAlgorithmsHonoured connects to a host whose sshd offers one key
// exchange and one cipher: the client's defaults include them; lists that
// leave them out fail to agree, lists that keep them connect.
func TestAlgorithmsHonoured(t *testing.T) {
	cl := testhosts.StartT(t, 1, testhosts.Options{FirstAddr: 57,
		ExtraConfig: "KexAlgorithms ecdh-sha2-nistp384\nCiphers aes256-ctr"})
	ctx := testCtx(t)
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-o", "KexAlgorithms=curve25519-sha256,ecdh-sha2-nistp384"}, true},
		{[]string{"-o", "KexAlgorithms=-ecdh-sha2-*"}, false},
		{[]string{"-o", "Ciphers=aes128-ctr,aes256-ctr"}, true},
		{[]string{"-o", "Ciphers=-aes256*"}, false},
	} {
		c := newClient(t, cl, nil, tc.args...)
		st, err := c.Run(ctx, "node1", "exit 4", RunOptions{})
		switch {
		case tc.ok && (err != nil || st.Code != 4):
			t.Errorf("%q: %+v %v, want exit code 4", tc.args, st, err)
		case !tc.ok && err == nil:
			t.Errorf("%q: connected, want no algorithm in common", tc.args)
		case !tc.ok && !strings.Contains(err.Error(), "no common algorithm"):
			t.Errorf("%q: %v, want no algorithm in common", tc.args, err)
		}
		c.Close()
	}
}
