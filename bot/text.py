"""Chinese text: jieba segmentation, search terms, TF-IDF keywords, extractive summaries and CJK line repair.

The :class:`Tokenizer` owns a private ``jieba.Tokenizer`` (never the global one), so the domain user dictionary
does not leak into other users of jieba. Loading the dictionaries takes a second or two; the application calls
:meth:`Tokenizer.initialize` once, off the event loop. The line-repair helpers (``despace_cjk``, ``reflow``,
``split_sentences``, ...) are plain functions shared by the document readers and the letter parser.

Pure: imports nothing from telegram, sqlalchemy or apscheduler.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import operator
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

__all__ = [
    "Tokenizer",
    "default_userdict",
    "despace_cjk",
    "index_words_of",
    "is_boilerplate",
    "is_heading",
    "is_page_number",
    "reflow",
    "shared_tokenizer",
    "split_sentences",
]

logger = logging.getLogger(__name__)

# Han ideographs (with extension A and compatibility ideographs) and the CJK/full-width punctuation blocks.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007"
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\u2018\u2019\u201c\u201d\u2026\u2014"
_CJK = _HAN + _CJK_PUNCT

_SPACED_PAIR = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_SPACED_DIGITS = re.compile(r"(?<=\d) (?=\d)")
_HAN_PAIR = re.compile(f"[{_HAN}](?=[{_HAN}])")
_SPACE_NEAR_PUNCT = re.compile(f" *([{_CJK_PUNCT}]) *")
_MULTI_SPACE = re.compile(r"[ \t\u00a0\u3000]+")

_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－_·•]*(?:第\s*)?\d{1,3}\s*(?:页)?(?:\s*[/／]\s*\d{1,3}|\s*共\s*\d{1,3}\s*页)?[\s\-—–－_·•]*$"
    r"|^[\s\-—–－_]*第\s*\d{1,3}\s*页\s*[,，]?\s*共\s*\d{1,3}\s*页[\s\-—–－_]*$"
    r"|^[\s\-—–－_]*[-—–－]\s*\d{1,3}\s*[-—–－][\s\-—–－_]*$"
)

_HEADING = re.compile(
    r"^\s*(?:[一二三四五六七八九十]{1,3}\s*[、.．]"
    r"|[（(]\s*[一二三四五六七八九十]{1,3}\s*[）)]"
    r"|\d{1,2}\s*[、．](?!\d)"
    r"|\d{1,2}\.(?!\d)"
    r"|[（(]\s*\d{1,2}\s*[）)])"
)
_QUOTED_TITLE = re.compile(r"《([^《》]{4,120})》")
_TERMINAL = "。！？；：!?;:"
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")

_BOILERPLATE = [
    re.compile(p)
    for p in (
        r"^(?:尊敬的)?[\u4e00-\u9fff·、，, ]{1,40}(?:代表|委员|同志)们?\s*[：:]",
        r"^[\u4e00-\u9fff（）()、]{2,30}[：:]$",
        r"感谢(?:您|你|各位|你们)?(?:对|长期|一直|的)",
        r"^(?:衷心|再次|非常|十分|诚挚)?(?:感谢|谢谢)",
        r"欢迎.{0,20}(?:批评|指导|监督|关心)",
        r"(?:继续|一如既往|今后).{0,12}(?:关心|关注|支持).{0,12}(?:工作|发展)",
        r"(?:现将|现就|现把|特将|兹将).{0,20}(?:答复|函复|回复|函告|反馈)如下",
        r"(?:答复|函复|回复|函告|反馈)如下",
        r"收悉",
        r"^(?:特此|专此|此复|以上)(?:函复|答复|复函|回复|意见)?",
        r"^此致|^敬礼",
        r"如有(?:意见|问题|疑问|不同意见).{0,16}(?:联系|反馈|沟通)",
        r"^(?:联系人|联系电话|联系地址|联系方式|联系单位|邮政编码|邮编|承办人|经办人|签发人|领导签发|签发|"
        r"办理结果|类别|抄送|抄报|附件|电话|地址|承办负责人|责任领导)",
        r"此件.{0,4}公开|不予公开|依申请公开|主动公开|^[（(]?(?:不)?公开[）)]?$",
        r"^\s*(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,3}\s*月\s*"
        r"[\d一二三四五六七八九十]{1,3}\s*日\s*$",
        r"如下[：:。]?$",
        r"^[^。！？]{0,30}[\d一二三四五六七八九十]+\s*届[^。！？]{0,14}[\d一二三四五六七八九十]+\s*次(?:全体)?会议$",
        r"^[^。！？]{0,80}(?:答复|复函|会办意见|分办意见|的函)$",
        r"^[^。！？]{0,20}第\s*\d+\s*号",
        r"[〔\[【]\s*(?:19|20)\d{2}\s*[〕\]】]\s*第?\s*\d+\s*号",
    )
]

# Words too common in reply letters to be keywords or to link sentences in the summary ranking.
_STOPWORD_TEXT = """
建议 代表 答复 办理 工作 进行 相关 目前 推进 开展 加强 情况 单位 部门 我们 您们 提出
收悉 感谢 关于 通过 以及 主要 方面 积极 持续 进一步 同时 继续 已经 根据 结合 做好 推动
完善 提供 实施 组织 形成 部分 具体 各类 一是 二是 三是 四是 五是 六是 截至 截止 我区
本区 区委 区政府 领导 认真 研究 意见 下一步 联系人 联系电话 联系地址 邮政编码 此件 公开
发布 如下 现将 有关 问题 重点 今后 不断 切实 努力 充分 作为 其中 对于 由于 为了 以便
以及 已经 正在 将会 能够 可以 需要 包括 还是 或者 并且 而且 但是 因此 所以 如果 这个
那个 这些 那些 一些 一个 自己 他们 她们 你们 各位 尊敬 收到 来信 来函 函复 复函 答复如下
代表建议 政协提案 提案 议案 委员 会议 届人大 次会议 解决 采纳 或者 上述 该项 此外 另外
一方面 另一方面 今年 去年 明年 年度 以来 期间 当前 近年来 同志 进一步加强 有效 相应 各项
相关部门 有关部门 单位 上海市 长宁区 我市 全市 全区 我局 我委 我部 我办 我厅 我委已 我委将
我局已 我局将 我部将 会同 涉及 高度重视
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
#: jieba.analyse.tfidf.STOP_WORDS, copied so that jieba.analyse (and its 100 MB of posseg tables) is never imported
_JIEBA_STOP_WORDS = frozenset(
    [
        "the",
        "of",
        "is",
        "and",
        "to",
        "in",
        "that",
        "we",
        "for",
        "an",
        "are",
        "by",
        "be",
        "as",
        "on",
        "with",
        "can",
        "if",
        "from",
        "which",
        "you",
        "it",
        "this",
        "then",
        "at",
        "have",
        "all",
        "not",
        "one",
        "has",
        "or",
    ]
)
_QUERY_STOPWORD_TEXT = "的 了 和 与 及 或 在 是 对 等 把 被 为 之 也 就 都 而 并 其 着 吧 呢 吗 啊"
_QUERY_STOPWORDS = frozenset(_QUERY_STOPWORD_TEXT.split())
_INDEX_WORD = re.compile(r"[^\W_]+")
#: index words are cut to this many characters (a run of digits or letters can be arbitrarily long)
MAX_INDEX_WORD = 64
_NUMERIC = re.compile(r"[\d０-９]|^[〇零一二三四五六七八九十百千万亿两第]+$")


@functools.cache
def shared_tokenizer() -> Tokenizer:
    """One jieba tokenizer per process: the bot's and the search index's. Its dictionaries are read-only once
    loaded, and loading costs 1-2 s; built on first call, never at import."""
    return Tokenizer(default_userdict())


def default_userdict() -> Path:
    """Return the path of the domain user dictionary shipped in ``config/userdict.txt``."""
    return Path(__file__).resolve().parent.parent / "config" / "userdict.txt"


def index_words_of(tokens: Iterable[str]) -> list[str]:
    """Tokens reduced to index words, as `Tokenizer.index_words` makes them (for terms cut elsewhere)."""
    return [w[:MAX_INDEX_WORD] for t in tokens for w in _INDEX_WORD.findall(t.lower())]


def despace_cjk(line: str) -> str:
    """Remove PDF-style spaces inside Chinese text, keeping spaces that separate fields.

    A line whose Han characters are mostly spaced out ("长 宁 区") loses every space between CJK characters
    and between digits ("0 1 8");
    otherwise only spaces next to CJK punctuation go, so "解决或采纳 签发人" and "安西路 35号" stay as printed.
    """
    line = _MULTI_SPACE.sub(" ", line).strip()
    if " " not in line:
        return line
    spaced = len(_SPACED_PAIR.findall(line))
    if spaced >= 2 and spaced >= len(_HAN_PAIR.findall(line)):
        line = _SPACED_DIGITS.sub("", _SPACED_PAIR.sub("", line))
    return _SPACE_NEAR_PUNCT.sub(r"\1", line)


def is_page_number(line: str) -> bool:
    """Tell whether a line is page-break debris such as "- 2 -", "—3—", "第 2 页 共 5 页" or "2/5"."""
    return bool(_PAGE_NUMBER.match(line)) and any(ch.isdigit() for ch in line)


def is_heading(line: str) -> bool:
    """Tell whether a line starts with an outline marker: 一、 （一） 1、 (1)."""
    return bool(_HEADING.match(line))


def _width(line: str) -> float:
    """Printed width with ASCII as 1/2 and CJK as 1, from the UTF-8 length (1 byte vs 3) to stay cheap."""
    n = len(line)
    return 0.5 * n + (len(line.encode("utf-8")) - n) / 4


def reflow(lines: Sequence[str]) -> list[str]:
    """Join hard-wrapped lines back into paragraphs.

    A line continues into the next one when it does not end a sentence and is about as wide as the text's
    typical full line (measured with CJK characters as 1 and ASCII as 1/2); a short line ends its paragraph.
    Outline headings must be nearly full-width to continue, and a heading never continues a paragraph.
    """
    kept = [line.strip() for line in lines if line.strip()]
    if not kept:
        return []
    widths = sorted(_width(line) for line in kept)
    full = widths[int(0.75 * (len(widths) - 1))]
    if full < 12:
        return kept
    paragraphs: list[str] = []
    current = previous = kept[0]
    single = True  # the paragraph so far is one line, so a heading there is still a heading
    for line in kept[1:]:
        threshold = 0.9 if single and is_heading(previous) else 0.7
        if previous[-1] not in _TERMINAL and _width(previous) >= threshold * full and not is_heading(line):
            current += line
            single = False
        else:
            paragraphs.append(current)
            current, single = line, True
        previous = line
    paragraphs.append(current)
    return paragraphs


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at 。！？； and paragraph ends, after joining hard-wrapped lines."""
    sentences: list[str] = []
    for paragraph in reflow([despace_cjk(line) for line in text.splitlines()]):
        sentences.extend(part.strip() for part in _SENTENCE_END.split(paragraph) if part.strip())
    return sentences


def is_boilerplate(sentence: str) -> bool:
    """Tell whether a sentence is letter furniture rather than content.

    Salutations, 感谢您对…, 现将…答复如下, 收悉, contact and label lines, publication notes, date lines and
    outline headings carry nothing a summary should repeat.
    """
    s = sentence.strip()
    if any(p.search(s) for p in _BOILERPLATE):
        return True
    return is_heading(s) and len(s) <= 40 and s[-1] not in "。！？；"


def _clean_sentence(sentence: str) -> str:
    s = _HEADING.sub("", sentence, count=1).strip()
    if s and s[-1] in "；;，,：:":
        s = s[:-1] + "。"
    elif s and s[-1] not in "。！？!?”）)":
        s += "。"
    return s


def _textrank(token_sets: Sequence[frozenset[str]], damping: float = 0.85, rounds: int = 40) -> list[float]:
    """Score sentences by TextRank (Mihalcea & Tarau 2004) over token-overlap similarity, in plain Python.

    The similarity of two sentences is their shared words over log|S1| + log|S2|; scores are PageRank on that
    weighted graph, iterated until they move by less than 1e-4.
    """
    n = len(token_sets)
    if n == 0:
        return []
    logs = [math.log(len(s)) if len(s) > 1 else 0.0 for s in token_sets]
    edges: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        a = token_sets[i]
        if not a:
            continue
        for j in range(i + 1, n):
            common = len(a & token_sets[j])
            if common:
                weight = common / ((logs[i] + logs[j]) or 1.0)
                edges[i].append((j, weight))
                edges[j].append((i, weight))
    out_weight = [sum(w for _, w in e) for e in edges]
    sources = [[j for j, _ in e] for e in edges]
    shares = [[damping * w / out_weight[j] for j, w in e] for e in edges]
    scores = [1.0] * n
    for _ in range(rounds):
        get = scores.__getitem__
        new = [(1 - damping) + sum(map(operator.mul, shares[i], map(get, sources[i]))) for i in range(n)]
        delta = max(abs(x - y) for x, y in zip(new, scores, strict=True))
        scores = new
        if delta < 1e-4:
            break
    return scores


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _rank_sentences(sets: Sequence[frozenset[str]], title: frozenset[str], idf: Callable[[str], float]) -> list[float]:
    """Blend TextRank centrality with overlap with the proposal title and a lead bias.

    Reply letters state the outcome early (the 办理概述) and about the title's subject; plain TextRank alone
    favours clusters of parallel sentences (lists of 专项行动) that say little about the outcome. Title overlap
    is weighted by IDF, so sharing 科创街区 counts for more than sharing 企业.
    """
    central = _textrank(sets)
    top = max(central) or 1.0
    overlaps = [sum(idf(w) for w in s & title) for s in sets]
    most = max(overlaps) or 1.0
    return [0.5 * central[i] / top + 0.3 * overlaps[i] / most + 0.3 / (1 + i / 4) for i in range(len(sets))]


_MAX_DIGEST_CHARS: Final = 60_000
_MAX_RANKED_SENTENCES: Final = 300
_PREFIX: Final = 1.0  # a log-probability is never positive, so 1.0 marks "a prefix of a word, not a word"


class _Segmenter:
    """jieba's precise mode (``cut(HMM=True)``) with the DAG and the best route computed in one fused loop.

    It gives exactly jieba's tokens (the tests compare them) about 1.5x faster, which is what lets letter
    parsing reach its throughput target; jieba's own code builds a DAG dict and a generator per character.
    """

    _HAN_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
    _SKIP = re.compile("(\r\n|\\s)")

    def __init__(self, jieba_tokenizer: Any, hmm_cut: Any) -> None:
        self._freq: dict[str, int] = jieba_tokenizer.FREQ
        self._log_total = math.log(jieba_tokenizer.total)
        self._hmm_cut = hmm_cut
        self._logp: dict[str, float] = {}  # bounded by the dictionary: only words and prefixes are cached

    def cut(self, text: str) -> list[str]:
        out: list[str] = []
        for block in self._HAN_BLOCK.split(text):
            if not block:
                continue
            if self._HAN_BLOCK.match(block):
                self._cut_block(block, out)
            else:
                for piece in self._SKIP.split(block):
                    if self._SKIP.match(piece):
                        out.append(piece)
                    else:
                        out.extend(piece)
        return out

    def _cut_block(self, s: str, out: list[str]) -> None:
        freq, logp, log_total = self._freq, self._logp, self._log_total
        n = len(s)
        score = [0.0] * (n + 1)
        route = [0] * (n + 1)
        for start in range(n - 1, -1, -1):
            best = -math.inf
            end = -1
            i = start + 1
            frag = s[start]
            while True:
                # One dict hit per step once warm: log P(word), or _PREFIX for a prefix that is not a word.
                lp = logp.get(frag)
                if lp is None:
                    f = freq.get(frag)
                    if f is None:
                        break
                    lp = logp[frag] = math.log(f) - log_total if f else _PREFIX
                if lp is not _PREFIX:
                    candidate = lp + score[i]
                    if candidate >= best:  # jieba's max() over (score, end) prefers the longer word on ties
                        best, end = candidate, i - 1
                if i >= n:
                    break
                i += 1
                frag = s[start:i]
            if end < 0:
                best, end = math.log(freq.get(s[start]) or 1) - log_total + score[start + 1], start
            score[start] = best
            route[start] = end
        buf = ""
        x = 0
        while x < n:
            y = route[x] + 1
            if y - x == 1:
                buf += s[x]
            else:
                if buf:
                    self._flush(buf, out)
                    buf = ""
                out.append(s[x:y])
            x = y
        if buf:
            self._flush(buf, out)

    def cut_for_search(self, text: str) -> list[str]:
        """jieba's search mode: every word, preceded by its dictionary 2-grams and 3-grams."""
        freq = self._freq
        out: list[str] = []
        for word in self.cut(text):
            if len(word) > 2:
                out.extend(word[i : i + 2] for i in range(len(word) - 1) if freq.get(word[i : i + 2]))
            if len(word) > 3:
                out.extend(word[i : i + 3] for i in range(len(word) - 2) if freq.get(word[i : i + 3]))
            out.append(word)
        return out

    def _flush(self, buf: str, out: list[str]) -> None:
        if len(buf) == 1:
            out.append(buf)
        elif not self._freq.get(buf):
            out.extend(self._hmm_cut(buf))
        else:
            out.extend(buf)


class Tokenizer:
    """jieba, loaded once, with the domain user dictionary and a TF-IDF table bound to the same segmenter."""

    def __init__(self, userdict: Path | None = None) -> None:
        self._userdict = userdict
        self._lock = threading.Lock()
        self._segmenter: _Segmenter | None = None
        self._idf: dict[str, float] = {}
        self._median_idf = 0.0
        self._stopwords: frozenset[str] = _STOPWORDS

    @property
    def initialized(self) -> bool:
        """True once the dictionaries are loaded."""
        return self._segmenter is not None

    def initialize(self) -> None:
        """Load jieba's dictionary and the user dictionary. Idempotent and thread-safe; slow (1-2 s).

        The IDF table (about 40 MB) loads on first use of `keywords` or `summarize`, and `jieba.analyse` is never
        imported (it drags in `jieba.posseg`'s tables, another 100 MB): the look-up path stays small.
        """
        with self._lock:
            if self._segmenter is not None:
                return
            jieba: Any = importlib.import_module("jieba")
            jieba.setLogLevel(logging.WARNING)
            finalseg: Any = importlib.import_module("jieba.finalseg")
            private = jieba.Tokenizer()
            private.initialize()
            if self._userdict is not None:
                private.load_userdict(str(self._userdict))
            self._segmenter = _Segmenter(private, finalseg.cut)
            logger.debug("jieba initialized (user dictionary: %s)", self._userdict)

    def _load_idf(self) -> None:
        """jieba's IDF table, read straight from its data file (as `jieba.analyse.TFIDF` would read it)."""
        with self._lock:
            if self._idf:
                return
            jieba: Any = importlib.import_module("jieba")
            path = Path(jieba.__file__).resolve().parent / "analyse" / "idf.txt"
            idf: dict[str, float] = {}
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    word, _, value = line.strip().partition(" ")
                    if word and value:
                        idf[word] = float(value)
            values = sorted(idf.values())
            self._median_idf = values[len(values) // 2] if values else 0.0
            self._stopwords = _STOPWORDS | _JIEBA_STOP_WORDS
            self._idf = idf

    def _ready(self) -> _Segmenter:
        if self._segmenter is None:
            self.initialize()
        assert self._segmenter is not None
        return self._segmenter

    def cut(self, text: str) -> list[str]:
        """Segment text in jieba's precise mode, dropping whitespace and punctuation tokens."""
        return [t for t in self._ready().cut(text) if _is_word(t)]

    def cut_for_search(self, text: str) -> list[str]:
        """Segment text for an index: jieba's search mode, latin lower-cased, no whitespace or punctuation."""
        return [t.strip().lower() for t in self._ready().cut_for_search(text) if _is_word(t)]

    def index_words(self, text: str) -> list[str]:
        """Search-mode tokens as a full-text index stores them: runs of letters and digits, lower-cased.

        ``1+11`` gives ``1`` and ``11``, so no index word ever holds quotes, operators or brackets.
        """
        findall = _INDEX_WORD.findall
        return [w[:MAX_INDEX_WORD] for t in self._ready().cut_for_search(text.lower()) for w in findall(t)]

    def search_terms(self, text: str) -> list[str]:
        """Query terms for full-text search: search-mode tokens, de-duplicated in order, function words dropped."""
        tokens = list(dict.fromkeys(self.cut_for_search(text)))
        content = [t for t in tokens if t not in _QUERY_STOPWORDS]
        return content or tokens

    def _content_tokens(self, sentence: str) -> list[str]:
        if not self._idf:
            self._load_idf()
        stopwords = self._stopwords
        return [
            t
            for t in self._ready().cut(sentence)
            if len(t) >= 2 and t not in stopwords and _is_word(t) and not _NUMERIC.search(t)
        ]

    def _idf_of(self, word: str) -> float:
        if not self._idf:
            self._load_idf()
        return self._idf.get(word, self._median_idf)

    def _rank_keywords(self, tokens: Iterable[str], k: int) -> list[str]:
        """TF-IDF exactly as ``jieba.analyse.TFIDF.extract_tags`` weighs it, over already-filtered tokens."""
        if not self._idf:
            self._load_idf()
        tf: dict[str, float] = {}
        for token in tokens:
            tf[token] = tf.get(token, 0.0) + 1.0
        weights = {t: n * self._idf.get(t, self._median_idf) for t, n in tf.items()}
        return sorted(weights, key=lambda t: -weights[t])[:k]

    def keywords(self, text: str, k: int = 8) -> list[str]:
        """The k strongest TF-IDF keywords (jieba's IDF table); numbers, stopwords and boilerplate excluded."""
        return self.digest(text, limit=0, k=k)[1]

    def summarize(self, text: str, limit: int = 120) -> str:
        """An extractive summary of at most ``limit`` characters; see :meth:`digest`."""
        return self.digest(text, limit=limit, k=0)[0]

    def digest(self, text: str, *, limit: int = 120, k: int = 8, title: str = "") -> tuple[str, list[str]]:
        """Summary and keywords from one segmentation pass.

        Sentences are split at 。！？； and paragraph ends and boilerplate is dropped. The rest are ranked with
        TextRank on token overlap, nudged towards sentences that share words with ``title`` or come early, and
        the best are kept in their original order while they fit in ``limit`` characters. If even the best
        sentence is too long it is cut and ends with "…". Keywords are TF-IDF over the same tokens and the title;
        without a ``title``, the first 《…》 near the start stands in.
        """
        self._ready()
        if not title and (quoted := _QUOTED_TITLE.search(text[:400])):
            title = quoted.group(1)
        # Letters are a few thousand characters; the caps keep a pathological upload (10 MB of text) from
        # turning the quadratic ranking or the segmentation into minutes of work.
        candidates = [s for s in split_sentences(text[:_MAX_DIGEST_CHARS]) if not is_boilerplate(s)]
        tokens = [self._content_tokens(s) for s in candidates]
        title_tokens = self._content_tokens(title) if title else []
        keywords = self._rank_keywords([t for ts in tokens for t in ts] + title_tokens, k) if k > 0 else []
        pool = [i for i, s in enumerate(candidates) if len(s) >= 10][:_MAX_RANKED_SENTENCES]
        if not pool or limit <= 0:
            return "", keywords
        sets = [frozenset(tokens[i]) for i in pool]
        scores = _rank_sentences(sets, frozenset(title_tokens), self._idf_of)
        ranked = sorted(range(len(pool)), key=lambda r: -scores[r])
        chosen: list[int] = []
        total = 0
        for r in ranked:
            if any(_jaccard(sets[r], sets[c]) > 0.35 for c in chosen):
                continue  # a near-duplicate of a chosen sentence adds nothing (maximal marginal relevance)
            sentence = _clean_sentence(candidates[pool[r]])
            if total + len(sentence) <= limit:
                chosen.append(r)
                total += len(sentence)
            if total >= 0.8 * limit:
                break
        if not chosen:
            best = _clean_sentence(candidates[pool[ranked[0]]])
            return best[: max(limit - 1, 0)] + "…", keywords
        return "".join(_clean_sentence(candidates[pool[r]]) for r in sorted(chosen)), keywords


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)
