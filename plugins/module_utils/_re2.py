# Copyright (c) 2026, Stagecraft maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Whether Go's regexp package (RE2 syntax, Perl flags) compiles a pattern, without Go.

cloudflared compiles an ingress rule's `path` with Go's `regexp.Compile`. `re2_syntax_error(pattern)`
walks the pattern the way Go's regexp/syntax parser does and returns its complaint ("invalid escape
sequence", "`\\Z`") or None. It checks syntax only and builds no matcher.

Why a parser of our own rather than a binding of Google's C++ RE2 (google-re2 on PyPI): the C++
library and Go's package disagree exactly where users trip. C++ RE2 accepts `\\C` and refuses
duplicate group names; Go refuses `\\C` and accepts duplicate names; their Unicode tables and
class-name spellings differ too. A binding would also be a compiled dependency on the controller
and in the execution environment. What Go refuses that Python's `re` accepts (`\\Z`, `\\u`, `\\C`,
unknown `\\p{..}`, unknown `[[:foo:]]`, counts over 1000 also when nested, `\\x{110000}`, lookaround,
backreferences) and what Go accepts that Python refuses (`\\z`, `\\Q..\\E`, `(?<name>`, duplicate
names, `^*`, `{,5}` as literal text) all follow from the grammar below.
"""

from __future__ import annotations

MAX_REPEAT = 1000  # Go's maxRepeat: any {n,m}, and the product of nested counts
MAX_RUNE = 0x10FFFF

PERL_CLASSES = frozenset("dDsSwW")
POSIX_CLASSES = frozenset(("alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
                           "upper", "word", "xdigit"))
# Go's unicode.Categories keys (two-letter categories, their one-letter groups, LC and Cn), and the
# special names regexp/syntax adds.
UNICODE_CATEGORIES = frozenset((
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl", "No",
    "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
    "Any", "Assigned", "Ascii", "Lc",
))
# The long names of the general categories (Unicode's PropertyValueAliases), which Go accepts
# ignoring case, "_", "-" and spaces.
UNICODE_CATEGORY_ALIASES = (
    "Cased_Letter", "Close_Punctuation", "Combining_Mark", "Connector_Punctuation", "Control", "Currency_Symbol",
    "Dash_Punctuation", "Decimal_Number", "Enclosing_Mark", "Final_Punctuation", "Format", "Initial_Punctuation", "Letter",
    "Letter_Number", "Line_Separator", "Lowercase_Letter", "Mark", "Math_Symbol", "Modifier_Letter", "Modifier_Symbol",
    "Nonspacing_Mark", "Number", "Open_Punctuation", "Other", "Other_Letter", "Other_Number", "Other_Punctuation",
    "Other_Symbol", "Paragraph_Separator", "Private_Use", "Punctuation", "Separator", "Space_Separator", "Spacing_Mark",
    "Surrogate", "Symbol", "Titlecase_Letter", "Unassigned", "Uppercase_Letter", "cntrl", "digit", "punct",
)
# Unicode's scripts (Scripts.txt, Unicode 16), as Go's unicode.Scripts names them. They are compared
# by their canonical form like the aliases, which accepts a spelling or two Go may not (the
# host-side `ingress validate` has the last word there).
UNICODE_SCRIPTS = (
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan", "Balinese", "Bamum", "Bassa_Vah", "Batak",
    "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid", "Canadian_Aboriginal", "Carian",
    "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian", "Common", "Coptic", "Cuneiform", "Cypriot",
    "Cypro_Minoan", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan", "Egyptian_Hieroglyphs",
    "Elbasan", "Elymaic", "Ethiopic", "Garay", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati",
    "Gunjala_Gondi", "Gurmukhi", "Gurung_Khema", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew",
    "Hiragana", "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi",
    "Kannada", "Katakana", "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi",
    "Kirat_Rai", "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian", "Mahajani",
    "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin", "Meetei_Mayek",
    "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Modi", "Mongolian", "Mro", "Multani", "Myanmar",
    "Nabataean", "Nag_Mundari", "Nandinagari", "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham",
    "Ol_Chiki", "Ol_Onal", "Old_Hungarian", "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian",
    "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Oriya", "Osage", "Osmanya", "Pahawh_Hmong", "Palmyrene",
    "Pau_Cin_Hau", "Phags_Pa", "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada",
    "Shavian", "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese", "Sunuwar",
    "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangsa", "Tangut",
    "Telugu", "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Todhri", "Toto", "Tulu_Tigalari", "Ugaritic", "Vai",
    "Vithkuqi", "Wancho", "Warang_Citi", "Yezidi", "Yi", "Zanabazar_Square",
)

# Go's error codes (regexp/syntax ErrorCode), the words cloudflared prints.
INVALID_CLASS_RANGE = "invalid character class range"
INVALID_ESCAPE = "invalid escape sequence"
INVALID_NAMED_CAPTURE = "invalid named capture"
INVALID_PERL_OP = "invalid or unsupported Perl syntax"
INVALID_REPEAT_OP = "invalid nested repetition operator"
INVALID_REPEAT_SIZE = "invalid repeat count"
MISSING_BRACKET = "missing closing ]"
MISSING_PAREN = "missing closing )"
MISSING_REPEAT_ARGUMENT = "missing argument to repetition operator"
TRAILING_BACKSLASH = "trailing backslash at end of expression"
UNEXPECTED_PAREN = "unexpected )"

# What a Python or PCRE habit means in RE2, for the message.
HINTS = {
    "\\Z": "RE2 writes the end of the text as \\z",
    "\\u": "RE2 writes a code point as \\x{2028}",
    "\\U": "RE2 writes a code point as \\x{1F600}",
    "\\C": "RE2 in Go has no single-byte escape",
    "(?=": "RE2 has no lookahead",
    "(?!": "RE2 has no lookahead",
    "(?<=": "RE2 has no lookbehind",
    "(?<!": "RE2 has no lookbehind",
    "(?P": "RE2 has no backreferences; a named group is (?P<name>...) or (?<name>...)",
    "(?>": "RE2 has no atomic groups",
    "(?#": "RE2 has no comments",
}


class Re2SyntaxError(ValueError):
    """Go's complaint: `code` (its ErrorCode text) about `expr` (the part of the pattern at fault)."""

    def __init__(self, code, expr):
        super().__init__(code, expr)
        self.code = code
        self.expr = expr

    def __str__(self):
        hint = HINTS.get(self.expr) or HINTS.get(self.expr[:4]) or (HINTS.get(self.expr[:3]) if self.code == INVALID_PERL_OP else None)
        if self.code == INVALID_ESCAPE and self.expr[1:2].isdigit():
            hint = "RE2 has no backreferences"
        return "{0} `{1}`{2}".format(self.code, self.expr, " ({0})".format(hint) if hint else "")


def _canonical(name):
    """A Unicode class name as Go looks it up: no "_", "-" or spaces, first letter upper, rest lower."""
    letters = [char for char in name if char not in "_- "]
    return "".join(letters[:1]).upper() + "".join(letters[1:]).lower()


UNICODE_NAMES = frozenset(_canonical(name) for name in UNICODE_CATEGORY_ALIASES + UNICODE_SCRIPTS) | UNICODE_CATEGORIES


class _Node:
    """A parsed piece: enough of Go's tree to check nested repeat counts."""

    __slots__ = ("low", "high", "subs")

    def __init__(self, subs=(), low=None, high=None):
        self.subs = list(subs)
        self.low = low  # a counted repeat {low,high} (high -1: no upper bound); None otherwise
        self.high = high


def _repeat_is_valid(node, budget):
    """Go's repeatIsValid: the nested counts stay within `budget` copies of the innermost piece."""
    if node.low is not None:
        count = node.high if node.high != -1 else node.low
        if count == 0:
            return True
        if count > budget:
            return False
        if count > 0:
            budget //= count
    return all(_repeat_is_valid(sub, budget) for sub in node.subs)


LEFT_PAREN = "("
VERTICAL_BAR = "|"


class _Parser:
    def __init__(self, pattern):
        self.pattern = pattern
        self.stack = []  # _Node, or the markers LEFT_PAREN and VERTICAL_BAR

    def parse(self):
        pattern, position, last_repeat = self.pattern, 0, None
        while position < len(pattern):
            char = pattern[position]
            repeat = None
            if char == "(":
                position = self._open_group(position)
            elif char == "|":
                self.stack.append(VERTICAL_BAR)
                position += 1
            elif char == ")":
                self._close_group()
                position += 1
            elif char == "[":
                position = self._class(position)
                self.stack.append(_Node())
            elif char in "*+?":
                repeat = position
                position = self._repeat(position, position + 1, last_repeat, None, None)
            elif char == "{" and self._counts(position) is not None:
                low, high, end = self._counts(position)
                if low < 0 or low > MAX_REPEAT or high > MAX_REPEAT or (high >= 0 and low > high):
                    raise Re2SyntaxError(INVALID_REPEAT_SIZE, pattern[position:end])
                repeat = position
                position = self._repeat(position, end, last_repeat, low, high)
            elif char == "\\":
                position = self._backslash(position)
            else:  # a literal, ".", "^", "$", or a "{" that starts no count
                self.stack.append(_Node())
                position += 1
            last_repeat = repeat
        self._collect()
        if LEFT_PAREN in self.stack:
            raise Re2SyntaxError(MISSING_PAREN, pattern)

    def _open_group(self, position):
        pattern = self.pattern
        if not pattern.startswith("(?", position):
            self.stack.append(LEFT_PAREN)
            return position + 1
        if pattern.startswith("(?P<", position) or pattern.startswith("(?<", position):
            start = position + (4 if pattern[position + 2] == "P" else 3)
            end = pattern.find(">", position)
            if end < 0:
                raise Re2SyntaxError(INVALID_NAMED_CAPTURE, pattern[position:])
            name = pattern[start:end]
            if not name or not all(char == "_" or (char.isascii() and char.isalnum()) for char in name):
                raise Re2SyntaxError(INVALID_NAMED_CAPTURE, pattern[position:end + 1])
            self.stack.append(LEFT_PAREN)  # Go accepts a name used twice
            return end + 1
        # Flags (i, m, s, U, one "-" followed by at least one flag), then ":" (a group) or ")".
        cursor, negated, saw_flag = position + 2, False, False
        while cursor < len(pattern):
            char = pattern[cursor]
            cursor += 1
            if char in "imsU":
                saw_flag = True
            elif char == "-" and not negated:
                negated, saw_flag = True, False
            elif char in ":)" and (saw_flag or not negated):
                if char == ":":
                    self.stack.append(LEFT_PAREN)
                return cursor
            else:
                break
        raise Re2SyntaxError(INVALID_PERL_OP, pattern[position:cursor])

    def _collect(self):
        """Everything above the innermost "(" as one node (Go's concat and alternate), "(" left in place."""
        subs = []
        while self.stack and self.stack[-1] is not LEFT_PAREN:
            item = self.stack.pop()
            if item is not VERTICAL_BAR:
                subs.append(item)
        self.stack.append(_Node(subs))

    def _close_group(self):
        self._collect()
        if len(self.stack) < 2:
            raise Re2SyntaxError(UNEXPECTED_PAREN, self.pattern)
        group = self.stack.pop()
        self.stack.pop()
        self.stack.append(group)

    def _counts(self, position):
        """(low, high, end) of a {n}, {n,} or {n,m} at `position` (high -1: unbounded; a number over
        10^8 reads -1 as Go's does), or None when it is no count and "{" is a literal."""
        low, cursor = self._number(position + 1)
        if low is None or cursor >= len(self.pattern):
            return None
        high = low
        if self.pattern[cursor] == ",":
            cursor += 1
            if self.pattern.startswith("}", cursor):
                high = -1
            else:
                high, cursor = self._number(cursor)
                if high is None:
                    return None
                if high < 0:
                    low = -1
        if not self.pattern.startswith("}", cursor):
            return None
        return low, high, cursor + 1

    def _number(self, position):
        end = position
        while end < len(self.pattern) and self.pattern[end] in "0123456789":
            end += 1
        digits = self.pattern[position:end]
        if not digits or (len(digits) > 1 and digits[0] == "0"):
            return None, position
        return (int(digits) if len(digits) <= 8 else -1), end

    def _repeat(self, start, end, last_repeat, low, high):
        """Apply *, +, ? or {low,high} (from `start` to `end`) to the piece on top of the stack."""
        if end < len(self.pattern) and self.pattern[end] == "?":
            end += 1  # non-greedy
        if last_repeat is not None:
            raise Re2SyntaxError(INVALID_REPEAT_OP, self.pattern[last_repeat:end])
        if not self.stack or not isinstance(self.stack[-1], _Node):
            raise Re2SyntaxError(MISSING_REPEAT_ARGUMENT, self.pattern[start:end])
        node = _Node([self.stack[-1]], low, high)
        self.stack[-1] = node
        if low is not None and (low >= 2 or high >= 2) and not _repeat_is_valid(node, MAX_REPEAT):
            raise Re2SyntaxError(INVALID_REPEAT_SIZE, self.pattern[start:end])
        return end

    def _backslash(self, position):
        pattern = self.pattern
        letter = pattern[position + 1:position + 2]
        if letter == "C":
            raise Re2SyntaxError(INVALID_ESCAPE, pattern[position:position + 2])
        if letter == "Q":
            end = pattern.find("\\E", position + 2)
            literal_end = len(pattern) if end < 0 else end
            self.stack.extend(_Node() for char in pattern[position + 2:literal_end])
            return len(pattern) if end < 0 else end + 2
        if letter and letter in "AbBz" + "".join(PERL_CLASSES):
            self.stack.append(_Node())
            return position + 2
        if letter in ("p", "P"):
            position = self._unicode_class(position)
        else:
            position = self._escape(position)[1]
        self.stack.append(_Node())
        return position

    def _unicode_class(self, position):
        """The end of a \\pX, \\p{Name} or \\P{^Name} at `position`, if Go knows the name."""
        pattern = self.pattern
        if pattern.startswith("{", position + 2):
            end = pattern.find("}", position)
            if end < 0:
                raise Re2SyntaxError(INVALID_CLASS_RANGE, pattern[position:])
            name, end = pattern[position + 3:end], end + 1
        else:
            end = min(position + 3, len(pattern))
            name = pattern[position + 2:end]
        if _canonical(name[1:] if name.startswith("^") else name) not in UNICODE_NAMES:
            raise Re2SyntaxError(INVALID_CLASS_RANGE, pattern[position:end])
        return end

    def _escape(self, position):
        """(code point, end) of a single-character escape at `position` (a backslash)."""
        pattern = self.pattern
        if position + 1 >= len(pattern):
            raise Re2SyntaxError(TRAILING_BACKSLASH, "")
        char, cursor = pattern[position + 1], position + 2
        if char in "01234567":
            digits = char
            while len(digits) < 3 and cursor < len(pattern) and pattern[cursor] in "01234567":
                digits += pattern[cursor]
                cursor += 1
            if char != "0" and len(digits) == 1:
                raise Re2SyntaxError(INVALID_ESCAPE, pattern[position:cursor])  # \1 would be a backreference
            return int(digits, 8), cursor
        if char == "x":
            return self._hex_escape(position)
        controls = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
        if char in controls:
            return controls[char], cursor
        if ord(char) < 128 and not char.isalnum():
            return ord(char), cursor
        raise Re2SyntaxError(INVALID_ESCAPE, pattern[position:cursor])

    def _hex_escape(self, position):
        pattern = self.pattern
        if pattern.startswith("{", position + 2):
            end = pattern.find("}", position + 3)
            digits = pattern[position + 3:end] if end > 0 else ""
            if digits and all(char in "0123456789abcdefABCDEF" for char in digits) and int(digits, 16) <= MAX_RUNE:
                return int(digits, 16), end + 1
            bad_end = end + 1 if end > 0 else len(pattern)
            raise Re2SyntaxError(INVALID_ESCAPE, pattern[position:bad_end])
        digits = pattern[position + 2:position + 4]
        if len(digits) == 2 and all(char in "0123456789abcdefABCDEF" for char in digits):
            return int(digits, 16), position + 4
        raise Re2SyntaxError(INVALID_ESCAPE, pattern[position:position + 4])

    def _class(self, position):
        """The end of the bracketed class starting at `position`."""
        pattern = self.pattern
        cursor = position + 1
        if pattern.startswith("^", cursor):
            cursor += 1
        first = True  # "]" and "-" are literals first in a class
        while first or not pattern.startswith("]", cursor):
            if cursor >= len(pattern):
                raise Re2SyntaxError(MISSING_BRACKET, pattern[position:])
            first = False
            if pattern.startswith("[:", cursor) and pattern.find(":]", cursor + 2) >= 0:
                end = pattern.find(":]", cursor + 2)
                name = pattern[cursor + 2:end]
                if (name[1:] if name.startswith("^") else name) not in POSIX_CLASSES:
                    raise Re2SyntaxError(INVALID_CLASS_RANGE, pattern[cursor:end + 2])
                cursor = end + 2
                continue
            if pattern.startswith("\\p", cursor) or pattern.startswith("\\P", cursor):
                cursor = self._unicode_class(cursor)
                continue
            if pattern.startswith("\\", cursor) and pattern[cursor + 1:cursor + 2] in PERL_CLASSES:
                cursor += 2
                continue
            low, end = self._class_char(cursor, position)
            if pattern.startswith("-", end) and end + 1 < len(pattern) and pattern[end + 1] != "]":
                high, end = self._class_char(end + 1, position)
                if high < low:
                    raise Re2SyntaxError(INVALID_CLASS_RANGE, pattern[cursor:end])
            cursor = end
        return cursor + 1

    def _class_char(self, position, class_start):
        if position >= len(self.pattern):
            raise Re2SyntaxError(MISSING_BRACKET, self.pattern[class_start:])
        if self.pattern[position] == "\\":
            return self._escape(position)
        return ord(self.pattern[position]), position + 1


def re2_syntax_error(pattern):
    """What Go's regexp.Compile says about `pattern` (a str), or None when it compiles."""
    try:
        _Parser(pattern).parse()
    except Re2SyntaxError as exc:
        return str(exc)
    return None
