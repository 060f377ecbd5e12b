"""Where a result list stops being relevant: `cutoff=auto` ends it at a clear drop in the score curve.

The rule is a gap rule: of the gaps between consecutive scores (best first), the widest ends the list when it is at
least GAP_RATIO times the median gap and at least MIN_GAP of cosine. The median is the curve's own pace of decline,
so the rule needs no absolute threshold (CLIP's text-to-image cosines sit near 0.3 and image-to-image near 0.8,
so one number could not serve both); a flat or steadily falling curve has no gap that stands out and keeps all k.
"""

from collections.abc import Sequence
from statistics import median

GAP_RATIO = 4.0
MIN_GAP = 0.005  # a step of cosine under this is no change of relevance anyone sees, however steady the rest
MIN_KEPT = 1


def relevance_cutoff(scores: Sequence[float]) -> int:
    """How many of these best-first scores to keep."""
    if len(scores) < 3:
        return len(scores)
    gaps = [better - worse for better, worse in zip(scores, scores[1:], strict=False)]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    stands_out = gaps[widest] >= MIN_GAP and gaps[widest] >= GAP_RATIO * median(gaps)
    return max(MIN_KEPT, widest + 1) if stands_out else len(scores)
