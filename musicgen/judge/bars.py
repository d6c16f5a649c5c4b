"""How many inner bars of a corpus add up to their meter, from the command line.

    python -m musicgen.judge.bars ../shared/data/nottingham/ABC_cleaned             # the shares
    python -m musicgen.judge.bars ../shared/data/nottingham/ABC_cleaned --show 5    # and the first wrong bars

The counting is :func:`musicgen.abcnotation.rhythm.corpus_bar_report`; this module only reads the
files (:func:`musicgen.data.corpus.read_tunes`) and prints.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from musicgen.abcnotation.rhythm import analyse, corpus_bar_report
from musicgen.data.corpus import read_tunes


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m musicgen.judge.bars ABC_FILES_OR_FOLDERS [--show N]", file=sys.stderr)
        return 2
    show = 0
    if "--show" in paths:
        i = paths.index("--show")
        show, paths = int(paths[i + 1]), paths[:i] + paths[i + 2 :]
    tunes = read_tunes(paths)
    rep = corpus_bar_report(tunes)
    print(
        f"{rep['tunes']} tunes: {rep['inner_bars_correct']}/{rep['inner_bars']} inner bars correct "
        f"({rep['inner_bar_share']:.2%}); every inner bar correct in {rep['tunes_all_correct']} tunes "
        f"({rep['tune_share']:.2%})"
    )
    for tune in tunes:
        for bar in analyse(tune).checked:
            if show > 0 and not bar.correct:
                show -= 1
                print(f"  {tune.splitlines()[1][:30]:<30} {bar.duration!s:>6} vs {bar.expected!s:<5} {bar.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
