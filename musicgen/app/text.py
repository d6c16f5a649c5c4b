r"""Text from the model, a primer or the address bar, made safe for the page's Markdown: shown as text.

    st.subheader(plain(title))                       # never a link, an image, a colour or an icon
    st.error(f"Nothing was composed: {plain(str(e))}.")
    st.html(code_html(abc))                          # a block of code with a Copy button (its HTML escaped)

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

import html
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


# ---------------------------------------------------------------- code blocks

CODE_STYLE = """<style>
/* A block of code (code_html): st.code's look, without its highlighter's 1.5 MB of script. */
.mg-code { position: relative; margin-bottom: 1rem; }
.mg-code pre {
  margin: 0; padding: 1rem 3.5rem 1rem 1rem; border-radius: 0.5rem; background: #f0f2f6; color: #31333f;
  font-family: "Source Code Pro", monospace; font-size: 0.875rem; line-height: 1.5; overflow-x: auto;
}
.mg-code pre.mg-wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
.mg-code .mg-copy {
  position: absolute; top: 0.4rem; right: 0.4rem; padding: 0.1rem 0.5rem; border-radius: 0.4rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.2); background: #fff; color: #31333f; font: inherit; font-size: 0.8rem;
}
.mg-code .mg-copy:hover { border-color: #9c4a2f; color: #9c4a2f; }
</style>"""

# One handler for every code block's Copy button (installed once a page): the clipboard where the page may write it
# (a secure address: https, localhost), else the browser's copy of a selection; the button says what happened.
COPY_SCRIPT = """<script>
if (!window.mgCopy) {
  window.mgCopy = true;
  const said = (button, text) => { button.textContent = text; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
  const bySelection = (text) => {
    const area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    try { return document.execCommand("copy"); } catch (e) { return false; } finally { area.remove(); }
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".mg-copy");
    if (!button) return;
    const text = button.parentElement.querySelector("code").textContent;
    const done = (ok) => said(button, ok ? "Copied" : "Select and copy");
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(() => done(true), () => done(bySelection(text)));
    else done(bySelection(text));
  });
}
</script>"""

_CODE = re.compile(r"<pre[^>]*><code>(.*?)</code></pre>", re.S)


def code_html(text: str, wrap: bool = False, label: str = "the text") -> str:
    """``text`` as a block of code for ``st.html``: shown exactly (escaped, the final newline dropped as ``st.code``
    drops it), with a Copy button (:data:`COPY_SCRIPT`; ``label`` names what it copies for screen readers);
    ``wrap``: long lines wrap. Styled by :data:`CODE_STYLE`.

    >>> code_html("X:1\\nT:<b>&</b>\\n")
    '<div class="mg-code"><pre><code>X:1\\nT:&lt;b&gt;&amp;&lt;/b&gt;</code></pre><button type="button" class="mg-copy" aria-label="Copy the text">Copy</button></div>'
    >>> code_text(code_html("X:1\\nT:<b>&</b>\\n", wrap=True))
    'X:1\\nT:<b>&</b>'
    """
    pre = '<pre class="mg-wrap">' if wrap else "<pre>"
    code = html.escape(text.rstrip("\n"), quote=False)
    button = f'<button type="button" class="mg-copy" aria-label="Copy {html.escape(label)}">Copy</button>'
    return f'<div class="mg-code">{pre}<code>{code}</code></pre>{button}</div>'


def code_text(markup: str) -> str | None:
    """The text of the first block of :func:`code_html` in ``markup`` (None: there is none)."""
    found = _CODE.search(markup)
    return None if found is None else html.unescape(found[1])
