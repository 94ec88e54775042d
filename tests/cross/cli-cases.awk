# cli-cases.awk - the bad-input cases of tests/cli.rs (the `cases` list of
# bad_input_is_refused_and_changes_nothing) as shell words, for tests/cross/check.sh.
#
# Usage: awk -f tests/cross/cli-cases.awk tests/cli.rs
#
# Prints one case per line: the text stderr must contain, then the arguments. String literals
# become $'...' words (Rust's escapes \n, \r, \t, \\, \", \' and \xHH mean the same there);
# the test's variables root and file become "$root" and "$file", which check.sh defines.
# Anything else in the list (another variable, another escape, a nested expression) is an
# error, so a case the shell cannot reproduce is never silently skipped.
function word(s,   out, i, c) {
	out = "$'"
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\") {
			c = substr(s, i, 2)
			if (c !~ /^\\[ntr\\"'x]$/) { bad = "unsupported escape " c; return "" }
			out = out c
			i++
		} else if (c == "'") {
			out = out "\\'"
		} else {
			out = out c
		}
	}
	return out "'"
}
/fn bad_input_is_refused_and_changes_nothing/ { infn = 1 }
infn && !inlist && /let cases: .* = &\[ *$/ { inlist = 1; next }
inlist && /^ *\]; *$/ { inlist = 0; infn = 0; next }
inlist { text = text $0 "\n" }
END {
	n = length(text); depth = 0; nargs = 0; cases = 0
	for (i = 1; i <= n && bad == ""; i++) {
		c = substr(text, i, 1)
		if (c ~ /[ \t\n,&]/) continue
		if (substr(text, i, 2) == "//") { while (i <= n && substr(text, i, 1) != "\n") i++; continue }
		if (c == "(") { if (depth++ != 0) bad = "nested ("; args = ""; expected = ""; inargs = 0; continue }
		if (c == "[") { inargs = 1; continue }
		if (c == "]") { inargs = 0; continue }
		if (c == ")") {
			if (--depth != 0 || expected == "") { bad = "unbalanced case"; break }
			print expected args; cases++; continue
		}
		if (c == "\"") {
			s = ""
			for (i++; i <= n; i++) {
				c = substr(text, i, 1)
				if (c == "\\") { s = s substr(text, i, 2); i++; continue }
				if (c == "\"") break
				s = s c
			}
			w = word(s)
			if (inargs) args = args " " w; else expected = w
			continue
		}
		if (c ~ /[A-Za-z_]/) {
			id = ""
			while (substr(text, i, 1) ~ /[A-Za-z0-9_]/) id = id substr(text, i++, 1)
			i--
			if (id != "root" && id != "file") { bad = "unknown variable " id; break }
			if (inargs) args = args " \"$" id "\""; else bad = "variable as expected text"
			continue
		}
		bad = "unexpected " c
	}
	if (bad != "") { print "cannot read the case list: " bad > "/dev/stderr"; exit 1 }
	if (cases == 0) { print "no cases found" > "/dev/stderr"; exit 1 }
}
