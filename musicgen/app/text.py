r"""Text from the model, a primer or the address bar, made safe for the page's Markdown: shown as text.

    st.subheader(plain(title))                       # never a link, an image, a colour or an icon
    st.error(f"Nothing was composed: {plain(str(e))}.")

Streamlit renders headings, captions, warnings, errors, radio and button labels as Markdown
(GitHub-flavoured, with emoji shortcodes, ``:red[...]`` colours and ``$...$`` mathematics). A
title like ``[Log in](http://host/phish) ![i](http://host/t.png)`` would be a live link and an
image fetched from that host. :func:`plain` backslash-escapes every ASCII punctuation character
(CommonMark makes each one literal so), and puts an invisible word joiner (U+2060) where an address
or a shortcode would begin: between a ``:`` and a ``/`` (``http://``), after ``www`` before a ``.``,
after ``@`` before a name, and after the first colon of ``:name:``. GitHub-flavoured Markdown turns
bare addresses (``http://…``, ``www.…``, ``name@host.org``) into links by searching the parsed text,
where escapes are gone, and the joiner keeps those searches (and emoji shortcodes) from matching; text
without them (``4:00``) gets none. Raw HTML is escaped by the same rule (``<`` is punctuation).

>>> plain("[Log in](http://h/p) ![i](x.png)")
'\\[Log in\\]\\(http\\:\u2060\\/\\/h\\/p\\) \\!\\[i\\]\\(x\\.png\\)'
>>> plain("Www.example.org me@example.org :smile: $x$ <b>")
'Www\u2060\\.example\\.org me\\@\u2060example\\.org \\:\u2060smile\\: \\$x\\$ \\<b\\>'
>>> plain("The Lark's Reel, in D, at 4:00"), plain("")
("The Lark\\'s Reel\\, in D\\, at 4\\:00", '')
"""

from __future__ import annotations

import re

JOINER = "\u2060"  # WORD JOINER: invisible, and no line break at it
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation: CommonMark lets a backslash make each literal
# where an address or a shortcode would begin, in escaped text: ":" before "/", "www" before ".", "@" before a
# name, the first ":" of ":name:" (after escaping, "_", "+" and "-" carry a backslash)
_LINK_START = re.compile(r"\\:(?=\\/)|(?i:www)(?=\\\.)|\\@(?=\w)|\\:(?=(?:[A-Za-z0-9]|\\[_+-])(?:\w|\\[_+-])*\\:)")


def plain(text: str) -> str:
    """``text`` as Markdown that shows exactly ``text`` (see the module docstring), with no link or image."""
    escaped = _PUNCTUATION.sub(lambda m: "\\" + m[0], text)
    return _LINK_START.sub(lambda m: m[0] + JOINER, escaped)


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """What a reader sees of :func:`plain`'s Markdown: escapes and joiners gone (the tests read the page so).

    >>> text = "[x](http://h/i.png) a@b.org *Reel* \\\\ 1. <i>"
    >>> shown(plain(text)) == text
    True
    """
    return _ESCAPED.sub(r"\1", markdown).replace(JOINER, "")
