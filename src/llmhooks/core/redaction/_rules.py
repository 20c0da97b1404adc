"""The built-in rules: which key names hold secrets, and which text shapes are secrets.

Text is scanned in two steps (``_text.py``): ``anchors``, a cheap pattern run over the
lowercased text, finds the few places where a secret could start; ``secrets`` is then
tried only there. Every match of ``secrets`` contains a match of ``anchors`` starting at
most ``ANCHOR_BACK`` characters after its own start (a test checks it on every example).

Every pattern runs in linear time: a quantified run is never followed by something that
makes the engine give back and re-scan it (possessive ``{8,}+`` before a literal), and
start positions are restricted so one run is entered once (a JWT cannot start inside
another base64url run, which made text of ``-eyJ...`` runs quadratic).
"""

from __future__ import annotations

import functools
import re

__all__ = ["ANCHOR_BACK", "ANCHOR_LONGEST", "MIN_LEN", "WEAK_KEYS", "Rules", "kept_indexes", "rules"]

# a value under a key matching this (``re.search``) is replaced whatever it looks like
_KEY_PATTERN = (
    r"(?i:api[-_ ]?key|apikey|secret|passw(?:or)?d|passphrase|passcode|authori[sz]ation|cookie"
    r"|credential|private[-_ ]?key|access[-_ ]?key|session[-_ ]?(?:id|key)"
    r"|(?:ssh|encryption|signing|master|license|account|subscription|webhook)[-_ ]?key"
    r"|database[-_ ]?url|db[-_ ]?url|connection[-_ ]?string|conn[-_ ]?str"
    r"|(?:mfa|otp|totp|2fa|verification)[-_ ]?code"
    r"|(?:^|[-_. ])(?:auth|token|pwd|pw|pass|bearer|signature|jwt|dsn|otp|totp|pin)$)"
    r"|(?-i:[a-z0-9](?:Token|Auth|Pwd|Pw|Pass|Jwt|Dsn|Otp|Pin)$)"
)

# key names whose value is replaced only when it looks like a credential: ``key`` names a
# secret in many APIs but, as often, a dict key, a sort key or a setting ("theme")
WEAK_KEYS = frozenset({"key"})
# a credential-looking value: 12+ characters, no spaces or name separators, letters and digits
_CREDENTIAL_LIKE = r"(?=[^\s.:]*[0-9])(?=[^\s.:]*[A-Za-z])[^\s.:]{12,}"

# names announcing a secret in text ("password=...", '"api_key": "..."'), lowercase;
# each starts with a literal so that the anchor scan stays fast
_NAMES = (
    r"passw(?:or)?d",
    r"pwd",
    r"api[-_]?(?:key|secret)",
    r"private[-_]?key",
    r"secret[-_]?(?:access[-_]?)?key",
)
# ...and names that count only as the last part of a longer one (GITHUB_TOKEN, client_secret)
_SUFFIX_NAMES = (r"token", r"secret")
_HEADER_NAMES = (r"authorization", r"cookie")
_QUERY_NAMES = (
    r"api[-_]?key|apikey|access[-_]?token|refresh[-_]?token|id[-_]?token|auth[-_]?token|token|secret"
    r"|client[-_]?secret|password|passwd|pwd|sig|signature|key|auth|jwt|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential"
)
_FLAG_NAMES = (
    r"api[-_]?key|apikey|key|token|secret|passw(?:or)?d|pass|pwd|pw|auth|credentials?|jwt|dsn|otp|pin"
    r"|bearer|cookie"
)

_B64URL = r"[A-Za-z0-9_\-]"
_TOKEN = r"[A-Za-z0-9._~+/\-]"
# after a name: its closing quote, then ":" or "=". Runs an anchor goes through are bounded
# (here and in flag names), so that a long text can be scanned in overlapping pieces.
_SEP = r"(?:\\?[\"'])?[ \t]{0,32}[:=]"
# a quoted value runs to its closing quote (backslash escapes allowed); an unquoted one to
# the next space or separator
_QUOTED = r"(?:(?!(?P={q}))(?:\\.|[^\\\r\n]))+"


def _key_value(group: str, quote: str, name: str, unquoted: str, scheme: str = "") -> str:
    return (
        rf"(?P<{group}>{name}{_SEP}[ \t]*(?P<{quote}>\\?[\"'])?{scheme})"
        rf"(?({quote}){_QUOTED.format(q=quote)}|{unquoted})"
    )


_NAME = "|".join(_NAMES)
_SUFFIX = "|".join(_SUFFIX_NAMES)
_HEADER = "|".join(_HEADER_NAMES)

# (pattern, name of the group kept in front of the replacement or None); compiled ASCII, so
# that case-insensitive parts match exactly what ``str.lower`` maps onto the anchors
_SECRET_PATTERNS: tuple[tuple[str, str | None], ...] = (
    (r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", None),
    # any token after "Bearer" that is not a plain lowercase word ("the bearer of")
    (rf"(?P<kb>\b(?i:bearer)[ \t]+)(?=[a-z]*[A-Z0-9._~+/=\-]|[a-z]{{20}}){_TOKEN}+=*", "kb"),
    (r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b", None),
    (r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", None),
    (r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", None),
    (r"\bAIza[0-9A-Za-z_\-]{35}", None),
    # a JWT starts where no base64url run does, so text made of "-eyJ..." runs stays linear
    (rf"(?<!{_B64URL})eyJ{_B64URL}{{8,}}+\.{_B64URL}{{8,}}+(?:\.{_B64URL}*+){{1,3}}", None),
    (r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}", None),
    (r"\bhf_[A-Za-z0-9]{30,}", None),
    (r"\b(?:gsk_|xai-)[A-Za-z0-9]{20,}", None),
    # to the END line, or to the end of the text when it is missing (fail closed)
    (
        r"-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[^-]|-(?!----END))*+"
        r"(?:-----END[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        None,
    ),
    # the password of scheme://user:pass@host, up to the last "@" of the authority
    (r"(?P<ku>://[^\s:/?#]*:)[^\s/?#]+(?=@)", "ku"),
    (rf"(?P<kq>[?&;](?i:{_QUERY_NAMES})=)[^&;#\s\"']+", "kq"),
    # "Authorization: Basic ...", "Cookie: a=1; b=2": the header's value to the end of the line
    (
        _key_value(
            "kh",
            "qh",
            rf"(?<![A-Za-z0-9])(?i:{_HEADER})",
            r"[^\r\n\"']+",
            r"(?:(?i:basic|bearer|token|digest|negotiate|ntlm|apikey)[ \t]+)?",  # the scheme is kept
        ),
        "kh",
    ),
    # password=... (libpq), "api_key": "...", DB_PASSWORD=..., GITHUB_TOKEN=..., clientSecret: ...
    (
        _key_value(
            "kv",
            "qv",
            rf"(?:(?<![A-Za-z0-9])(?i:{_NAME})|(?<=[A-Za-z0-9][-_])(?i:{_SUFFIX})"
            r"|(?<=[a-z0-9])(?:Token|Secret))",
            r"[^\s\"',;&]+",
        ),
        "kv",
    ),
    # command lines: --api-key VALUE, --api-key=VALUE, ['--token', 'VALUE']
    (
        rf"(?P<kf>(?<![\w-])--(?:[A-Za-z0-9]{{1,32}}[-_]){{0,8}}(?i:{_FLAG_NAMES})"
        r"(?:=|[\"']?,?[ \t]+[\"']?)(?!-))"
        r"[^\s\"',]+",
        "kf",
    ),
    # curl -u user:password
    (r"(?P<ku2>(?<![\w-])(?:-u|--user)(?:[ \t]+|=)[\"']?[^\s:\"']+:)[^\s\"']+", "ku2"),
)


# run over ``text.lower()``, whose positions are those of the text: each branch begins
# with a literal, and few of them with a common letter, so the engine skips most positions
# in C. A group names the family of rules an anchor starts, for its offset (ANCHOR_BACK).
_ANCHORS = (
    # ordered by how often the first letter starts an English word or follows one, so that
    # the engine, which tries the branches in turn at each candidate, leaves early
    rf"c(?P<cret>ret{_SEP})"
    rf"|w(?P<pw>(?:ord|d){_SEP})"
    r"|f(?P<hf>_)"
    r"|y(?P<jwt>j)"
    r"|g(?P<gh>h[pousr]_|ithub_pat_)"
    r"|b(?P<bearer>earer[ \t])"
    rf"|k(?:(?P<sk>-)|(?P<k_>_)|(?P<kv_key>ey{_SEP})|(?P<kv_ken>en{_SEP})|(?P<cookie>ie{_SEP}))"
    r"|x(?P<x>ox|ai-)"
    r"|:(?P<url>//)"
    rf"|-(?P<dash>----begin|-(?:[a-z0-9]{{1,32}}[-_]){{0,8}}(?:{_FLAG_NAMES})(?:=|[\"']?,?[ \t])"
    r"|u[ \t=]|-user[ \t=])"
    rf"|\?(?P<q1>(?:{_QUERY_NAMES})=)|&(?P<q2>(?:{_QUERY_NAMES})=)|;(?P<q3>(?:{_QUERY_NAMES})=)"
    rf"|z(?P<authz>ation{_SEP})"
)
# run over the text itself: the uppercase AWS and Google key prefixes
_CASED_ANCHORS = r"A(?:KIA|SIA|GPA|IDA|ROA|Iza)"
ANCHOR_LONGEST = 512  # no anchor match is longer
# how many characters before its anchor a match of each family can start
ANCHOR_BACK = {
    "bearer": 0, "gh": 0, "x": 0, "jwt": 1, "sk": 1, "k_": 2, "kv_key": 14, "kv_ken": 2, "cookie": 3,
    "hf": 1, "dash": 0, "url": 0, "q1": 0, "q2": 0, "q3": 0, "authz": 8, "pw": 4, "cret": 6,
}  # fmt: skip
MIN_LEN = 5  # no built-in pattern matches a shorter string ("pwd=x")


class Rules:
    """The compiled patterns (compiled on first use: it takes milliseconds, and
    ``import llmhooks`` must stay fast)."""

    __slots__ = ("anchors", "cased_anchors", "credential_like", "key", "secrets")

    def __init__(self) -> None:
        self.key = re.compile(_KEY_PATTERN)
        self.credential_like = re.compile(_CREDENTIAL_LIKE, re.ASCII)
        self.secrets = re.compile("|".join(p for p, _ in _SECRET_PATTERNS), re.ASCII)
        self.anchors = re.compile(_ANCHORS)
        self.cased_anchors = re.compile(_CASED_ANCHORS)


@functools.cache
def rules() -> Rules:
    """The compiled built-in rules."""
    return Rules()


@functools.cache
def kept_indexes() -> frozenset[int]:
    """Indexes, in ``rules().secrets``, of the groups kept in front of the replacement."""
    groups = rules().secrets.groupindex
    return frozenset(groups[k] for _, k in _SECRET_PATTERNS if k)
