"""Go's RE2 syntax as cloudflared compiles an ingress rule's `path` (plugins/module_utils/_re2.py).

The cases come from Go's regexp/syntax grammar and from where cloudflared 2026.8.2 was seen to
disagree with Python's `re` (issue 23): each refused pattern with the words of Go's complaint.
"""

from __future__ import annotations

import pytest

from ansible_collections.stagecraft.webapp.plugins.module_utils._re2 import re2_syntax_error

ACCEPTED = [
    "", "^/api/", r"\.(jpg|png|css|js)$", r"^/v\d+/\pL+\z", r"\p{Greek}", r"\p{^Greek}", r"\PL", r"\p{Lu}", r"\p{Letter}",
    r"\p{uppercase letter}", r"\p{Any}", r"\p{ASCII}", r"[[:alpha:]]+", r"[[:^space:]]", r"[\d\pL_-]", r"[]a]", r"[^]a]", "[a-]",
    r"\Qa.b*c\E", r"\Qno end", r"(?i)x(?s:y)", r"(?i-s:x)", "(?)", "(?U)a+", "a*?", "a{,5}", "a{2}", "a{2,}", "a{1000}",
    "(a{10}){100}", "((a{10}){10}){10}", "(a*){1000}", "x{0}{", "^*", "$+", r"\b?", "(?P<v>a)(?P<v>b)", "(?<v>a)(?<v>b)",
    r"\x41\x{10FFFF}\101\0", r"\_\-\/\.", r"\a\f\n\r\t\v", "a|", "(|a)*", "()",
]

REFUSED = {
    r"\Z": r"invalid escape sequence `\Z` (RE2 writes the end of the text as \z)",
    r"\u00e9": r"invalid escape sequence `\u`",
    r"\C": r"invalid escape sequence `\C`",
    r"\p{Foo}": r"invalid character class range `\p{Foo}`",
    r"\pX": r"invalid character class range `\pX`",
    r"\p": r"invalid character class range `\p`",
    r"[\p{Klingon}]": r"invalid character class range `\p{Klingon}`",
    "[[:foo:]]": "invalid character class range `[:foo:]`",
    "a{1001}": "invalid repeat count `{1001}`",
    "a{2,1}": "invalid repeat count `{2,1}`",
    "((a{1000}){1000})": "invalid repeat count `{1000}`",
    "(a{2}){1000}": "invalid repeat count `{1000}`",
    "((a{10}){10}){11}": "invalid repeat count `{11}`",
    r"\x{110000}": r"invalid escape sequence `\x{110000}`",
    r"\x{}": r"invalid escape sequence `\x{}`",
    r"\xZ1": r"invalid escape sequence `\xZ1`",
    r"\1": r"invalid escape sequence `\1` (RE2 has no backreferences)",
    r"\8": r"invalid escape sequence `\8`",
    r"[\b]": r"invalid escape sequence `\b`",
    r"\é": r"invalid escape sequence `\é`",
    "(?=a)": "invalid or unsupported Perl syntax `(?=` (RE2 has no lookahead)",
    "(?!a)": "invalid or unsupported Perl syntax `(?!` (RE2 has no lookahead)",
    "(?<=a)b": "invalid named capture `(?<=a)b` (RE2 has no lookbehind)",
    "(?P=v)": "invalid or unsupported Perl syntax `(?P` (RE2 has no backreferences",
    "(?>a)": "invalid or unsupported Perl syntax `(?>` (RE2 has no atomic groups)",
    "(?#x)": "invalid or unsupported Perl syntax `(?#`",
    "(?i-)": "invalid or unsupported Perl syntax `(?i-)`",
    "(?P<a-b>x)": "invalid named capture `(?P<a-b>`",
    "(?<>x)": "invalid named capture `(?<>`",
    "a**": "invalid nested repetition operator `**`",
    "a*+": "invalid nested repetition operator `*+`",
    "a{2}{3}": "invalid nested repetition operator `{2}{3}`",
    "a*??": "invalid nested repetition operator `*??`",
    "*a": "missing argument to repetition operator `*`",
    "(*)": "missing argument to repetition operator `*`",
    "a|*": "missing argument to repetition operator `*`",
    "(?i)*": "missing argument to repetition operator `*`",
    "{2}": "missing argument to repetition operator `{2}`",
    "(a": "missing closing ) `(a`",
    "a)": "unexpected ) `a)`",
    "[a": "missing closing ] `[a`",
    "[z-a]": "invalid character class range `z-a`",
    "a\\": "trailing backslash at end of expression ``",
}


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_go_accepts(pattern):
    assert re2_syntax_error(pattern) is None


@pytest.mark.parametrize("pattern", REFUSED)
def test_go_refuses_with_its_own_words(pattern):
    error = re2_syntax_error(pattern)
    assert error is not None and error.startswith(REFUSED[pattern]), error
