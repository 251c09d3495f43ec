package nodesetcmd

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// compatCorpus returns the deterministic corpus of invocations compared
// with ClusterShell's nodeset: hand-picked cases for every option and
// error path, then generated ones (random node sets, operators, options,
// standard input, malformed input) from a fixed seed.
func compatCorpus() []compatCase {
	var cases []compatCase
	add := func(args ...string) { cases = append(cases, compatCase{args: args}) }
	addIn := func(stdin string, args ...string) {
		s := stdin
		cases = append(cases, compatCase{args: args, stdin: &s})
	}
	addLoose := func(args ...string) { cases = append(cases, compatCase{args: args, loose: true}) }

	// --- option parsing -------------------------------------------------
	add()
	add("n1")
	add("-f")
	add("-c")
	add("-e")
	add("-f", "n1", "n2")
	add("-fe", "n1")
	add("-f", "-c", "n1")
	add("-f", "-r", "n1")
	add("-l", "-f")
	add("-f", "-L", "n1")
	add("--fold", "n[1-3]")
	add("--fo", "n[1-3]")
	add("--f", "n[1-3]")
	add("--ex", "n[1-3]")
	add("--co", "n[1-3]")
	add("--cou", "n[1-3]")
	add("--con", "-f", "n[1-3]")
	add("--s=3", "-f", "n[1-9]")
	add("--sp=3", "-f", "n[1-9]")
	add("--spl", "3", "-f", "n[1-9]")
	add("--split", "-f", "n[1-9]")
	add("--split=x", "-f", "n[1-9]")
	add("--split=", "-f", "n[1-9]")
	add("--split=0x3", "-f", "n[1-9]")
	add("--split=0b11", "-f", "n[1-9]")
	add("--split=0b", "-f", "n[1-9]")
	add("--split=010", "-f", "n[1-20]")
	add("--split=09", "-f", "n[1-20]")
	add("--split=0o3", "-f", "n[1-20]")
	add("--split= 3", "-f", "n[1-20]")
	add("--split=+3", "-f", "n[1-20]")
	add("--split=-3", "-f", "n[1-20]")
	add("--split=1_0", "-f", "n[1-20]")
	add("--split=1__0", "-f", "n[1-20]")
	add("--split=3.0", "-f", "n[1-20]")
	add("--split=99999999999999999999999", "-c", "n[1-3]")
	add("--fold=yes", "n1")
	add("--nosuch", "n1")
	add("-z", "n1")
	add("-fz", "n1")
	add("-v")
	add("-v", "-f", "n1")
	add("--version")
	add("--vers")
	add("--version", "-z")
	add("-f", "--version")
	addLoose("-h")
	addLoose("--help")
	addLoose("--he")
	addLoose("-fh", "n1")
	add("-f", "--", "n1", "n2")
	add("-f", "--", "-x", "n1")
	add("--", "-f", "n1")
	add("-f", "-", "n1")
	add("-f", "n1", "--", "n2")
	add("-f", "n1", "-x")
	add("-f", "n1", "-i")
	add("-f", "n1", "-X")
	add("-f", "n[1-5]", "--exclude", "n2")
	add("-f", "n[1-5]", "--excl", "n2")
	add("-f", "n[1-5]", "-xn2")
	add("-f", "-xn2", "n[1-5]")
	add("-fxn2", "n[1-5]")
	add("-fx", "n2", "n[1-5]")
	add("-fS", "x")
	add("-eS:", "n[1-3]")
	add("-eS", ":", "n[1-3]")
	add("-e", "-S")
	add("-e", "--separator")
	add("-e", "--separator=", "n[1-3]")
	add("-e", "--sep=,", "n[1-3]")
	add("-s")
	add("-s", "-x", "-f", "n1")
	add("-s", "", "-f", "n1")
	add("-s=local", "-f", "n1")
	add("--groupsource=", "-f", "n1")
	add("--groupsource=-", "-f", "n1")
	add("--groupsource", "local", "-f", "@adm")
	add("--groups", "local", "-f", "@adm")
	add("--group", "local", "-f", "@adm")
	add("--groupsources")
	add("--list-sources")
	add("--list-s")
	add("--list-sources", "-q")
	add("--list-sources", "-s", "yml")
	add("--list-sources", "-f")
	add("--list")
	add("--list-a")
	add("-f", "-x", "n1")
	add("-f", "-q", "-x", "n1")
	add("-e", "-S", "-f", "n[1-2]")
	add("-e", "n[1-3]", "-S")
	add("-f", "n1", "-f")
	add("-f", "-d", "n[1-2]")
	add("-fd", "n[1-2]")
	add("--debug", "-c", "n[1-2]")
	add("-f", "-I")
	add("-f", "--axis")
	add("-f", "--autostep")
	add("-f", "-O")
	add("-R")
	add("-R", "1-3")

	// --- commands and modes ---------------------------------------------
	add("-c", "n[1-10]")
	add("-c", "n[1-10]", "n[5-20]")
	add("-c", "")
	add("-f", "")
	add("-e", "")
	add("-e", "", "")
	add("-f", "", "n1")
	add("-c", "n[1-100000]")
	add("-c", "da[1-1000]c[1-1000]")
	add("-f", "n[1-100000]!n[2-99999]")
	add("-e", "n[1-3]", "m[01-03]")
	add("-e", "n[1-3,10-12]")
	add("-e", "-S", "\\n", "n[1-3]")
	add("-e", "-S", "\\t", "n[1-3]")
	add("-e", "-S", ", ", "n[1-3]")
	add("-e", "-S", "", "n[1-3]")
	add("-e", "-S", "\\\\", "n[1-3]")
	add("-e", "-S", "\\", "n[1-3]")
	add("-e", "-S", "'", "n[1-3]")
	add("-e", "-S", "''", "n[1-3]")
	add("-e", "-S", "\"", "n[1-3]")
	add("-e", "-S", "'''", "n[1-3]")
	add("-e", "-S", "a''' '''b", "n[1-3]")
	add("-e", "-S", "a'''#", "n[1-3]")
	add("-e", "-S", "a''' x '''b", "n[1-3]")
	add("-e", "-S", "a'''+'''b", "n[1-3]")
	add("-e", "-S", "\\x41", "n[1-3]")
	add("-e", "-S", "\\x4", "n[1-3]")
	add("-e", "-S", "\\101", "n[1-3]")
	add("-e", "-S", "\\0", "n[1-3]")
	add("-e", "-S", "\\u00e9", "n[1-3]")
	add("-e", "-S", "\\U0001F600", "n[1-3]")
	add("-e", "-S", "\\U00110000", "n[1-3]")
	add("-e", "-S", "\\d", "n[1-3]")
	add("-e", "-S", "\\ud800", "n[1-3]")
	add("-e", "-S", "\\ud800", "n1")
	add("-f", "-S", "\\x4", "n[1-3]")
	add("-c", "-S", "'", "n[1-3]")
	add("-e", "-S", "é", "n[1-3]")
	add("-e", "-S", "\\a\\b\\f\\v\\r", "n[1-2]")

	// --- output formats -------------------------------------------------
	for _, f := range []string{"%s", "%s-ipmi", "pre-%s", "%s%%", "%%", "%", "%d", "%5d", "%-5d|", "%05d",
		"%x", "%#x", "%#X", "%o", "%#o", "%e", "%E", "%f", "%.2f", "%g", "%G", "%c", "%r", "%a", "%10s|",
		"%-10s|", "%.2s", "%(a)s", "%*d", "%s%s", "x", "%z", "%5%", "%+d", "% d", "%i", "%u", "%ld", "[%s]",
		"%s\\n", "%.0e", "%#g", "%10.3f"} {
		add("-c", "-O", f, "n[1-42]")
		add("-e", "-O", f, "n[1-3]")
		add("-f", "-O", f, "n[1-3]")
		add("-R", "-f", "-O", f, "1-3")
	}
	add("-c", "-O", "%c", "n[1-3]")
	add("-c", "-O", "%c", "")
	add("-c", "-O", "%e", "n[1-3000000]")
	add("-c", "-O", "%g", "n[1-3000000]")
	add("-e", "-O", "%c", "a", "b")
	add("-f", "-O", "%s-ipmi", "n[1-3]", "m1")
	add("-f", "-O", "%s,", "n[1-3]")
	add("-f", "-O", "%s[", "n[1-3]")
	add("-f", "-O", "%s-[1-2]", "n[1-3]")
	add("-f", "-O", "%s-bmc", "--split=2", "n[1-6]")
	add("-r", "-O", "<%s>", "node[1-32]")
	add("-e", "-O", "%s:", "-S", "", "n[1-3]")
	add("--output-format=%s.", "-e", "n[1-3]")
	add("--output=%s.", "-e", "n[1-3]")

	// --- operations -----------------------------------------------------
	add("-f", "n[1-10]", "-x", "n[2-5]")
	add("-f", "n[1-10]", "-i", "n[2-5,20]")
	add("-f", "n[1-10]", "-X", "n[5-15]")
	add("-f", "n[1-10]", "--intersection", "n[2-5]")
	add("-f", "n[1-10]", "--xor", "n[5-15]")
	add("-f", "n[1-10]", "-x", "n[2-5]", "-i", "n[1-4]", "-X", "n[9-12]")
	add("-f", "n[1-10]", "-x", "n2", "n20", "-x", "n3")
	add("-f", "-x", "n2", "n[1-5]")
	add("-f", "-i", "n[1-4]", "n[1-3]")
	add("-f", "-X", "n[2-5]", "-i", "n[1-4]", "-x", "n2", "n[1-3]")
	add("-f", "-q", "-X", "n[2-5]", "-i", "n[1-4]", "-x", "n2", "n[1-3]")
	add("-f", "n[1-3]", "-X", "n[2-5]", "-i", "n[1-4]")
	add("-f", "n[1-10]", "-x", "")
	add("-f", "n[1-10]", "-i", "")
	add("-f", "n[1-10]", "-x", "n1\nn2")
	add("-f", "n1\nn2,n3")
	add("-f", "n1\rn2")
	add("-f", "n1\r\nn2")
	add("-f", "n1\vn2\fn3")
	add("-f", "n1\x1cn2")
	add("-f", "n1 n2")
	add("-f", " n1 , n2 ")
	add("-f", "n1\tn2")
	add("-f", "n[1-10]!n[2-3],n3")
	add("-f", "n[1-10],n3!n[2-3]")
	add("-f", "n[1-3]&n[2-5]^n[4-6]")
	add("-f", "n[1-3]^n[2-5]")
	add("-f", "n1,,n2")
	add("-f", "n1!")
	add("-f", "!n1")
	add("-f", ",n1")
	add("-f", "n1,")
	add("-f", "&")
	add("-c", "-i", "n1")
	add("-c", "-x", "n1", "-i", "n2")
	add("-c", "-q", "-x", "n1")

	// --- syntax -----------------------------------------------------------
	for _, s := range []string{
		"node[08-11]", "n[01-9]", "n[1-09]", "n9 n010 n10 n0010", "n[1-10/3]", "n[1-10/0]", "n[1-10/-1]",
		"da[1-2]c[1-4]", "da1c1 da1c2 da2c1 da2c2 da3c1", "node-00[1-6]0", "n[1-4/2]0", "n[-2-1]", "n-1 n-2",
		"a,b,1,2,n1,10", "1 2 3 10 011", "[1-3]", "[1-3]a", "n[1-3]a[4-5]b", "x[2000-2001]c[0-1]s[0-1]b[0-1]",
		"n[1-", "n]1", "n[1-2]]", "n[[1-2]", "n[3-1]", "n[a-b]", "n[]", "n[,]", "n[1,,2]", "n[1--2]", "n[-]",
		"n[1-1000000000]", "n[1-1000000001]", "n[0-99999999999]", "n[1,1,1]",
		"n[5,3,1]", "n[001-003,1-3]", "n[1-3]-[4-5]", "n1.ib", "n[1-2].ib[3-4]", "n[1-2]x[3-4]y[5-6]z",
		"@", "@@", "@nosuch", "@nosrc:x", "@local:", "@:x", "@*", "@local:*", "@yml:*", "@roles:*",
		"@@local", "@@yml", "@@roles", "@@nosrc", "@adm", "@adm,@login", "@rack[1-2]", "@rack[1-3]",
		"@compute!@gpu", "@yml:cpu", "@yml:gpu&@compute", "@roles:front", "@rev:even", "@rev:low^@rev:odd",
		"@nolist:any", "@nolist:*", "node*", "node*[1-2]", "*", "?", "n?", "n[1-2]*", "web0?", "@adm*",
		"n#1", "n 1", "n$1", "n%1", "n:1", "n;1", "n=1", "é1 é2", "N1 n1", "n001 n1 n01",
		"n0 n00 n000", "n[0-3] n[00-03]", "n[09-11]", "n[9-11] n[09-11]", "n[098-101]", "n1c01 n1c02 n2c01",
		"a1b1 a1b2 a2b1 a2b2 a2b3", "a[1-3]b[1-3]!a2b2", "a[1-3]b[1-3]c[1-2]!a2b2c1", "-n1", "n-[1-3]",
		"n[1-3]-", "n[1-3]-2", "x[1-2][3-4]", "x[1-2]5[3-4]", "10[1-2]", "1[0-2]0", "0[1-2]", "[01-02]",
		"n[1,3-5,7-11/2]", "n[1-11/2,2-12/2]", "n[00-10/5]",
	} {
		add("-f", s)
		add("-c", s)
	}
	// ClusterShell's indexes are Python integers of any size; ours are
	// int64 (a documented limitation of package nodeset).
	for _, s := range []string{"n[99999999999999999999]", "n99999999999999999999"} {
		for _, cmd := range []string{"-f", "-c"} {
			cases = append(cases, compatCase{args: []string{cmd, s}, known: "indexes beyond int64"})
		}
	}
	for _, s := range []string{"n[1-10/3]", "n[08-11]", "da[1-2]c[1-2]", "n[-2-1]", "@rack[1-2]", "n[1-3]-[4-5]",
		"a,b,1,2,n1,10", "@yml:gpu", "@@roles", "n9 n010 n10 n0010", "n[1-2].ib[3-4]"} {
		add("-e", s)
	}

	// --- range sets -------------------------------------------------------
	for _, s := range []string{"1-10", "1,3,5-9", "1-10/3", "01-10", "5,-3--1,0", "-5--2", "1-3,01-03",
		"9,010,10,0010", "", "a", "1-", "3-1", "1-10/0", "0-1000000", "1,1,2", "001", "1-3/2,2-4/2", "[1-3]",
		"1 2 3", "1 ,2", "-1", "--1", "1e3", " 1", "0x10"} {
		add("-R", "-f", s)
		add("-R", "-e", s)
		add("-R", "-c", s)
	}
	add("-R", "-f", "1-10", "-x", "3-5")
	add("-R", "-f", "1-10", "-i", "3-5,20")
	add("-R", "-f", "1-10", "-X", "5-15")
	add("-R", "-f", "--autostep=3", "1,3,5,7")
	add("-R", "-f", "--autostep=auto", "1,3,5,7,8")
	add("-R", "-f", "--split=3", "1-10")
	add("-R", "-f", "--contiguous", "1-3,5,7-9")
	add("-R", "-e", "-I", "2-4", "1-10")
	add("-R", "-f", "--axis=1", "1-10")
	add("-R", "-a", "-f")
	add("-R", "-r", "1-3")
	add("-R", "-s", "local", "-f", "1-3")
	add("-R", "-q", "-s", "local", "-f", "1-3")
	add("-R", "-s", "nosuch", "-f", "1-3")
	add("-R", "-l")
	add("-R", "-f", "@adm")
	add("-R", "-f", "1-3", "-")
	add("-Rf", "1-3", "4-6")
	add("--rangeset", "--fold", "1-3", "4-6")

	// --- autostep, split, contiguous, slice, axis, pick -----------------
	for _, a := range []string{"1", "2", "3", "4", "5", "0", "-1", "auto", "50%", "100%", "0%", "1e2%", "x",
		"%", "10%x", "auto%", "inf%", "nan%", " 3", "3 ", "+3", "3.5", "1_0", "0x3", "-50%", "33.3%"} {
		add("-f", "--autostep="+a, "n1", "n3", "n5", "n7", "n8")
		add("-e", "--autostep="+a, "n[1-7/2]")
	}
	add("-f", "--autostep=3", "n[1-20/3]", "m[1-2]")
	add("-f", "--autostep=auto", "n[1-9/2]c[1-9/4]")
	add("-f", "--autostep=2", "n[1-9/2]c[1-9/4]")
	add("-f", "--autostep", "3", "n[1-9/2]")
	add("-c", "--autostep=3", "n[1-9/2]")
	for _, n := range []string{"0", "1", "2", "3", "4", "7", "100", "-1"} {
		add("-f", "--split="+n, "n[1-10]")
		add("-e", "--split="+n, "n[1-10]")
		add("-c", "--split="+n, "n[1-10]")
		add("-f", "--split="+n, "da[1-3]c[1-3]")
	}
	add("-f", "--split=3", "")
	add("-c", "--split=3", "")
	add("-f", "--split=2", "--contiguous", "n1")
	add("-f", "--contiguous", "n[1-3,5,7-8]")
	add("-e", "--contiguous", "n[1-3,5,7-8]")
	add("-c", "--contiguous", "n[1-3,5,7-8]")
	add("-f", "--contiguous", "n[1-3]", "m[1-2,4]")
	add("-f", "--contiguous", "n[01-03,5,007-008]")
	add("-f", "--contiguous", "da[1-2]c[1-2]")
	add("-f", "--contiguous", "")
	for _, s := range []string{"0", "1", "0-2", "5-20", "0-8/2", "-1", "1,3,5", "9", "10", "100", "x", "", "3-1",
		"0-100/10", "2-3,7"} {
		add("-e", "-I", s, "n[1-10]")
		add("-f", "--slice="+s, "n[1-10]", "m[1-2]")
	}
	add("-c", "-I", "0-4", "da[1-3]c[1-3]")
	add("-R", "-f", "-I", "1-2", "5-10")
	for _, a := range []string{"1", "2", "3", "-1", "-2", "0", "1-2", "2-3", "1,3", "x", "-x", "", "4", "-4",
		"0-1", "--1", "1-3/2"} {
		add("-f", "--axis="+a, "da[1-2]c[1-2]", "da3c1")
		add("-f", "--axis="+a, "x[1-2]c[1-3]s[1-2]", "x3c1s1")
	}
	add("-f", "--axis=1", "n[1-3]")
	add("-e", "--axis=1", "da1c1")
	add("-c", "--axis=1", "da1c1")
	// values at and beyond the integer limits
	add("-f", "--split=9223372036854775807", "n[1-3]")
	add("-f", "--autostep=99999999999999999999", "n1", "n3", "n5")
	add("-f", "--autostep=-99999999999999999999", "n1", "n3", "n5")
	add("-e", "-I", "0-999999999", "n[1-3]")
	add("-f", "-I", "-999999999-5", "n[1-9]")
	add("-c", "--pick=99999999999999999999", "n[1-3]")
	add("-f", "--axis=99999999999", "a1b1")
	add("-f", "--axis=-99", "a1b1")
	for _, p := range []string{"0", "1", "3", "10", "11", "-2", "x"} {
		add("-c", "--pick="+p, "n[1-10]")
	}
	add("-f", "--pick=20", "n[1-10]")
	addLoose("-f", "--pick=3", "n[1-10]")

	// --- groups -----------------------------------------------------------
	for _, l := range []string{"-l", "-ll", "-lll", "-llll", "-L", "-LL", "-LLL", "-lL"} {
		add(l)
		add(l, "-s", "yml")
		add(l, "-s", "roles", "-G")
		add(l, "-s", "rev")
		add(l, "-s", "nolist")
		add(l, "-s", "nosuch")
		add(l, "-G")
		add(l, "node[1-20]")
		add(l, "-s", "yml", "node[28-30]")
		add(l, "-G", "-s", "yml", "node[28-30],gpu1")
		add(l, "-s", "rev", "x[1-4]")
		add(l, "-s", "rev", "x[1-20]")
		add(l, "-a")
		add(l, "nomatch1")
		add(l, "-x", "node1")
		add(l, "-q")
	}
	add("-l", "-R")
	add("--list", "--list", "-s", "yml")
	add("--list-all", "--list-all")
	for _, s := range []string{"node[1-32]", "node[1-16]", "node[1-17]", "node[1-32],mgmt[1-2]", "mgmt[1-2],login[1-2],node[1-32],io[1-4],web[01-04]",
		"node[29-32]", "web[01-04],db1", "io[1-4],node[29-32]", "x[1-20]", "x[2-20/2]", "x[1-5]", "x[1-6]", "nomatch[1-3]", ""} {
		add("-r", s)
		add("-r", "-s", "yml", s)
		add("-r", "-s", "roles", "-G", s)
		add("-r", "-s", "rev", s)
	}
	add("-r", "-s", "nolist", "m[1-3]")
	add("-r", "-s", "nosuch", "n1")
	add("-r", "--split=2", "node[1-32],io[1-4]")
	add("-r", "-q", "node[1-32]")
	add("-a", "-f")
	add("-a", "-c")
	add("-a", "-e")
	add("-a", "-r")
	add("-a", "-f", "-s", "yml")
	add("-a", "-f", "-s", "roles")
	add("-a", "-f", "-s", "rev")
	add("-a", "-f", "-s", "nolist")
	add("-a", "-f", "-s", "nosuch")
	add("-a", "-f", "-x", "@compute")
	add("-a", "-f", "extra1")
	add("-a", "-c", "-i", "@yml:gpu")
	add("-s", "yml", "-f", "@gpu")
	add("-s", "yml", "-f", "@local:adm,@gpu")
	add("-s", "roles", "-e", "@*")
	add("-s", "rev", "-f", "@even")
	add("-s", "nosuch", "-f", "n1")
	add("-s", "nosuch", "-c", "n1")
	add("-G", "-f", "@adm")
	add("-d", "-f", "@adm")
	add("-d", "-c", "@yml:gpu")
	add("--groupsconf=/nonexistent/groups.conf", "-f", "n1")
	add("--groupsconf=/nonexistent/groups.conf", "-f", "@adm")
	add("--groupsconf=/nonexistent/groups.conf", "--list-sources")
	// {CFGDIR} is replaced with the test's configuration directory.
	add("--groupsconf={CFGDIR}/alt/groups.conf", "--list-sources")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-f", "@alpha")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-f", "@adm")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-f", "@beta:x")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-ll")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-LL")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-r", "a[1-4],b[1-2]")
	add("--groupsconf={CFGDIR}/alt/groups.conf", "-a", "-c")
	add("--groupsconf", "{CFGDIR}/alt/groups.conf", "-s", "beta", "-f", "@x")
	add("--groupsc={CFGDIR}/alt/groups.conf", "-f", "@alpha", "n1")
	add("--groupsconf={CFGDIR}/bad/groups.conf", "-f", "n1")
	add("--groupsconf={CFGDIR}/bad/groups.conf", "-f", "@x")
	add("--groupsconf={CFGDIR}/bad/groups.conf", "--list-sources")
	add("--groupsconf={CFGDIR}", "-f", "@x")

	// --- standard input ---------------------------------------------------
	addIn("n1\nn2\nn3\n", "-f")
	addIn("n1 n2\n# comment\nn5 #x\n", "-f")
	addIn("n1,n2", "-f")
	addIn("n1,n2\n", "-f")
	addIn("n1\r\nn2\r\n", "-f")
	addIn("n1\rn2\r", "-f")
	addIn("", "-f")
	addIn("\n\n\n", "-c")
	addIn("#only\n", "-c")
	addIn("n[1-5]\n", "-f", "-x", "-")
	addIn("n3\n", "-f", "n[1-5]", "-x", "-")
	addIn("n3\n", "-f", "n[1-5]", "-i", "-")
	addIn("n3 n9\n", "-f", "n[1-5]", "-X", "-")
	addIn("n3\n", "-f", "-x", "-", "n[1-5]")
	addIn("n3\n", "-f", "-i", "-", "n[1-5]")
	addIn("n3\n", "-f", "-X", "-", "n[1-5]")
	addIn("n3\n", "-f", "n[1-5]", "-")
	addIn("n3\n", "-f", "-", "n[7-8]")
	addIn("n3\n", "-f", "-", "-")
	addIn("n3\n", "-f", "n1", "-x")
	addIn("n[1-3]\n", "-e")
	addIn("n[1-3]\n", "-c")
	addIn("n[1-3]\n", "-e", "-R")
	addIn("1-3 5\n", "-e", "-R")
	addIn("1-3 5", "-e", "-R")
	addIn("n[1-\n", "-f")
	addIn("n1 n[1-\n", "-c")
	addIn("n1\tn2\v n3\f\n", "-f")
	addIn("n1\u00a0n2\n", "-f")
	addIn("n1\u2028n2\n", "-f")
	addIn("n1\x1cn2\n", "-f")
	addIn("n1\x85n2\n", "-f")
	addIn("n1#n2\n", "-f")
	addIn("#\n", "-f")
	addIn("n1 # n2 \n n3", "-f")
	addIn("@adm\n@yml:gpu\n", "-f")
	addIn("node[1-32]\n", "-r")
	addIn("node1\n", "-l")
	addIn("node1\n", "-a", "-c")
	addIn("é1\né2\n", "-f")
	addIn("\xff\xfe\n", "-f")
	addIn("n1\x00n2\n", "-f")
	addIn("n1 n3 n5 n7\n", "-f", "--autostep=auto")
	addIn("n1\n", "-f", "--split=2")

	// --- generated cases ----------------------------------------------------
	r := rand.New(rand.NewPCG(1, 9))
	for range 260 {
		cases = append(cases, compatCase{args: genCommand(r, genNodeSetArgs(r))})
	}
	for range 110 {
		names := genExpanded(r)
		in := genStdin(r, names)
		args := []string{"-f"}
		switch r.IntN(6) {
		case 0:
			args = []string{"-c"}
		case 1:
			args = []string{"-e"}
		case 2:
			args = append(args, "--autostep="+pick(r, "3", "auto", "50%", "2"))
		case 3:
			args = append(args, "-x", genNodeSet(r))
		}
		cases = append(cases, compatCase{args: args, stdin: &in})
	}
	for range 140 {
		s := mutate(r, genNodeSet(r))
		cases = append(cases, compatCase{args: []string{pick(r, "-f", "-c", "-e"), s}})
	}
	for range 60 {
		s := mutate(r, genRangeSet(r))
		cases = append(cases, compatCase{args: []string{"-R", pick(r, "-f", "-c", "-e"), s}})
	}
	for range 60 {
		cases = append(cases, compatCase{args: genCommand(r, []string{genRangeSet(r)}, "-R")})
	}
	for range 50 {
		cases = append(cases, compatCase{args: genOptionSoup(r)})
	}
	return cases
}

func pick(r *rand.Rand, choices ...string) string { return choices[r.IntN(len(choices))] }

var genPrefixes = []string{"node", "n", "da", "x", "ab-", "c", "r1n", "", "node-", "compute", "n.", "N"}

// genNum returns a number for index position, padded at times.
func genNum(r *rand.Rand, lo, hi, pad int) string {
	n := lo + r.IntN(hi-lo+1)
	return fmt.Sprintf("%0*d", pad, n)
}

// genRangeItems returns the content of a bracket: items with optional
// padding and steps.
func genRangeItems(r *rand.Rand) string {
	pad := 0
	if r.IntN(4) == 0 {
		pad = 2 + r.IntN(2)
	}
	var items []string
	for range 1 + r.IntN(3) {
		p := pad
		if r.IntN(8) == 0 {
			p = r.IntN(4)
		}
		a := r.IntN(60)
		switch r.IntN(4) {
		case 0:
			items = append(items, fmt.Sprintf("%0*d", p, a))
		case 1:
			step := 2 + r.IntN(4)
			items = append(items, fmt.Sprintf("%0*d-%0*d/%d", p, a, p, a+r.IntN(40), step))
		default:
			items = append(items, fmt.Sprintf("%0*d-%0*d", p, a, p, a+r.IntN(40)))
		}
	}
	return strings.Join(items, ",")
}

// genElem returns one node set element: a group, or a name with 0-3
// bracketed or plain numeric dimensions.
func genElem(r *rand.Rand) string {
	if r.IntN(9) == 0 {
		return pick(r, "@adm", "@compute", "@gpu", "@rack[1-2]", "@yml:gpu", "@yml:cpu", "@roles:front", "@rev:even",
			"@io", "@roles:*", "@@roles", "@login", "@web")
	}
	var b strings.Builder
	b.WriteString(genPrefixes[r.IntN(len(genPrefixes))])
	dims := 1
	switch r.IntN(6) {
	case 0:
		dims = 2
	case 1:
		dims = 3
	}
	for d := range dims {
		if d > 0 {
			b.WriteString(pick(r, "c", "s", "-", "p", "."))
		}
		if r.IntN(3) == 0 {
			b.WriteString(genNum(r, 0, 99, r.IntN(3)))
		} else {
			b.WriteString("[" + genRangeItems(r) + "]")
		}
	}
	if r.IntN(8) == 0 {
		b.WriteString(pick(r, "-ib", "a", ".eth0", "z9"))
	}
	return b.String()
}

// genNodeSet returns a node set string with operators.
func genNodeSet(r *rand.Rand) string {
	s := genElem(r)
	for range r.IntN(3) {
		op := ","
		switch r.IntN(6) {
		case 0:
			op = "!"
		case 1:
			op = "&"
		case 2:
			op = "^"
		}
		s += op + genElem(r)
	}
	return s
}

// genNodeSetArgs returns one to three positional node set arguments.
func genNodeSetArgs(r *rand.Rand) []string {
	var out []string
	for range 1 + r.IntN(3) {
		out = append(out, genNodeSet(r))
	}
	return out
}

// genCommand wraps positional arguments in a command and options.
func genCommand(r *rand.Rand, positional []string, extra ...string) []string {
	args := append([]string(nil), extra...)
	cmd := pick(r, "-f", "-f", "-f", "-e", "-c", "-r")
	if len(extra) > 0 && cmd == "-r" {
		cmd = "-f"
	}
	args = append(args, cmd)
	if r.IntN(3) == 0 {
		args = append(args, "--autostep="+pick(r, "2", "3", "4", "auto", "50%", "1"))
	}
	switch r.IntN(7) {
	case 0:
		args = append(args, "--split="+strconv.Itoa(1+r.IntN(5)))
	case 1:
		args = append(args, "--contiguous")
	case 2:
		args = append(args, "-I", pick(r, "0-3", "1,5-9", "0-20/3", "2"))
	case 3:
		if cmd == "-f" && len(extra) == 0 {
			args = append(args, "--axis="+pick(r, "1", "2", "-1", "1-2", "3"))
		}
	}
	if cmd == "-e" && r.IntN(3) == 0 {
		args = append(args, "-S", pick(r, ",", "\\n", ":", ""))
	}
	if r.IntN(8) == 0 {
		args = append(args, "-O", pick(r, "%s-ipmi", "[%s]", "%s"))
	}
	if r.IntN(5) == 0 {
		args = append(args, pick(r, "-x", "-i", "-X"), positional[0])
	}
	args = append(args, positional...)
	if r.IntN(4) == 0 {
		args = append(args, pick(r, "-x", "-i", "-X"), genNodeSetOrRange(r, len(extra) > 0))
	}
	return args
}

func genNodeSetOrRange(r *rand.Rand, rangeset bool) string {
	if rangeset {
		return genRangeSet(r)
	}
	return genNodeSet(r)
}

// genRangeSet returns a RangeSet string, negatives included.
func genRangeSet(r *rand.Rand) string {
	s := genRangeItems(r)
	if r.IntN(5) == 0 {
		s += fmt.Sprintf(",-%d--%d", 3+r.IntN(5), 1+r.IntN(2))
	}
	return s
}

// genExpanded returns expanded node names for standard input: one or two
// patterns (1-D or 2-D), scattered indexes, mixed padding at times.
func genExpanded(r *rand.Rand) []string {
	var names []string
	for range 1 + r.IntN(2) {
		prefix := genPrefixes[r.IntN(len(genPrefixes)-1)]
		pad := 0
		if r.IntN(4) == 0 {
			pad = 3
		}
		if r.IntN(3) == 0 {
			for range 5 + r.IntN(40) {
				names = append(names, fmt.Sprintf("%s%0*dc%d", prefix, pad, r.IntN(8), r.IntN(5)))
			}
			continue
		}
		n := 5 + r.IntN(200)
		step := 1 + r.IntN(3)
		for i := range n {
			if r.IntN(5) == 0 {
				continue
			}
			names = append(names, fmt.Sprintf("%s%0*d", prefix, pad, i*step))
		}
	}
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	return names
}

// genStdin lays names out as nodeset reads them: several per line,
// comments, blank lines, CRLF and a missing final newline at times.
func genStdin(r *rand.Rand, names []string) string {
	var b strings.Builder
	nl := "\n"
	if r.IntN(10) == 0 {
		nl = "\r\n"
	}
	for i, n := range names {
		b.WriteString(n)
		switch {
		case i == len(names)-1:
		case r.IntN(4) == 0:
			b.WriteString(" ")
		case r.IntN(10) == 0:
			b.WriteString(" # comment" + nl)
		case r.IntN(10) == 0:
			b.WriteString(nl + nl)
		default:
			b.WriteString(nl)
		}
	}
	if r.IntN(5) != 0 {
		b.WriteString(nl)
	}
	return b.String()
}

// mutate damages a node set string to exercise parse errors.
func mutate(r *rand.Rand, s string) string {
	if s == "" {
		return "["
	}
	rs := []rune(s)
	i := r.IntN(len(rs))
	switch r.IntN(5) {
	case 0: // delete a character
		return string(rs[:i]) + string(rs[i+1:])
	case 1: // insert a special character
		return string(rs[:i]) + pick(r, "[", "]", ",", "-", "/", "!", "@", "0", " ", "^", "&", "*") + string(rs[i:])
	case 2: // duplicate a chunk
		j := i + r.IntN(len(rs)-i)
		return string(rs[:j]) + string(rs[i:j]) + string(rs[j:])
	case 3: // swap two characters
		j := r.IntN(len(rs))
		rs[i], rs[j] = rs[j], rs[i]
		return string(rs)
	}
	return s + pick(r, "[", "]", ",", "!", "-", "/2", "[1-2]", "@")
}

// genOptionSoup builds a random mix of options, including unknown and
// malformed ones, to compare the option parsers.
func genOptionSoup(r *rand.Rand) []string {
	pool := []string{"-f", "-e", "-c", "-r", "-l", "-L", "-R", "-a", "-q", "-G", "-d", "-x", "-i", "-X", "-S", "-O",
		"-I", "-s", "--split", "--split=2", "--contiguous", "--axis=1", "--autostep=2", "--fo", "--ex", "--co",
		"--", "-", "n[1-4]", "n2", "-fS", "-eS,", "-xn1", "-Rf", "-fe", "--sep=,", "--s", "--list-sources",
		"-v", "--nope", "-sx", "-syml", "--groupsource=yml", "%s", "1-3"}
	n := 1 + r.IntN(6)
	var args []string
	for range n {
		args = append(args, pool[r.IntN(len(pool))])
	}
	return args
}
